// Unit tests of model/ModelRecommender's learning shortcut: Learn skips the
// gather-and-score when MayBeCandidate says the chosen item cannot be among
// the user's previous candidates. That test must never say no to an item
// the gather offers; a candidate source added to GatherItems and forgotten
// in MayBeCandidate fails here.
#include "model/model_recommender.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "app/generator.h"
#include "operators/pipeline.h"
#include "tests/unit/shop_util.h"

namespace recstream {
namespace {

// Before each event is applied, asks a second scorer over the pipeline's
// model both questions about the chosen item.
class CandidateProbe final : public operators::PipelineObserver {
 public:
  explicit CandidateProbe(model::ModelRecommender& rec) : rec_(rec) {}
  void BeforeApply(std::string_view, const model::UserState& user, const model::Event& e) override {
    const model::UserEvent* last = user.last();
    if (last == nullptr) return;
    const model::Event trigger{last->item, last->category, last->type, last->ts_ms};
    const bool is = rec_.IsCandidate(user, trigger, e.item);
    const bool may = rec_.MayBeCandidate(user, trigger, e.item);
    ++checked;
    candidates += is;
    passed += may;
    missed += is && !may;
  }
  void AfterApply(std::string_view, const model::UserState&, const model::Event&,
                  std::span<const model::Recommendation>) override {}

  size_t checked = 0, candidates = 0, passed = 0, missed = 0;

 private:
  model::ModelRecommender& rec_;
};

TEST(ModelRecommenderLearn, PretestNeverRejectsAGatheredCandidate) {
  app::GeneratorOptions g;
  g.seed = 5;
  g.users = 400;
  g.items = 3000;
  g.categories = 20;
  app::Generator gen(g);
  operators::PipelineOptions opt;
  std::unique_ptr<operators::Pipeline> p = testing::MemoryPipeline(opt);
  ASSERT_NE(p, nullptr);
  model::ModelRecommender probe_rec(p->model(), p->embedding(), opt.recommend);
  CandidateProbe probe(probe_rec);
  p->set_observer(&probe);
  testing::CountingSink sink;
  ASSERT_TRUE(testing::FeedShop(*p, gen, 12'000, 500, sink));
  std::printf("events with a previous event %zu: chosen item a candidate %zu, pretest passed %zu, missed %zu\n",
              probe.checked, probe.candidates, probe.passed, probe.missed);
  EXPECT_EQ(probe.missed, 0u);
  // Both sides of the test occur: it is not vacuous, and it spares work.
  EXPECT_GT(probe.candidates, probe.checked / 20);
  EXPECT_LT(probe.passed, probe.checked);
}

}  // namespace
}  // namespace recstream
