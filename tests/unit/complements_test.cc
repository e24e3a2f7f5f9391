// The complements the model learns from a generated shop recover the
// complements planted in it, and lists after a purchase reach into them.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/generator.h"
#include "operators/pipeline.h"
#include "tests/unit/shop_util.h"

namespace recstream {
namespace {

using testing::CountingSink;

// Counts, over lists published after a purchase, the items that fall in a
// planted complement of the purchase's category.
class PurchaseObserver final : public operators::PipelineObserver {
 public:
  PurchaseObserver(const app::Generator& gen, const operators::Pipeline*& p) : gen_(gen), p_(p) {}
  void BeforeApply(std::string_view, const model::UserState&, const model::Event&) override {}
  void AfterApply(std::string_view, const model::UserState&, const model::Event& e,
                  std::span<const model::Recommendation> list) override {
    if (e.type != model::EventType::kPurchase || list.empty()) return;
    const auto planted = Planted(e.category);
    size_t in = 0;
    for (const auto& r : list) in += planted.count(std::string(p_->category_ids().Name(r.category)));
    ++lists;
    with_complement += in > 0;
    items += list.size();
    complement_items += in;
  }
  std::set<std::string> Planted(model::CategoryId c) const {
    const std::string name(p_->category_ids().Name(c));
    std::set<std::string> out;
    for (size_t i = 0; i < gen_.complements().size(); ++i)
      if (app::Generator::CategoryName(i) == name)
        for (size_t d : gen_.complements()[i]) out.insert(app::Generator::CategoryName(d));
    return out;
  }
  size_t lists = 0, with_complement = 0, items = 0, complement_items = 0;

 private:
  const app::Generator& gen_;
  const operators::Pipeline*& p_;
};

void RunShop(bool use_model, double* precision, PurchaseObserver** obs_out, std::unique_ptr<PurchaseObserver>* keep) {
  app::GeneratorOptions g;
  g.seed = 99;
  g.users = 3000;
  g.items = 8000;
  g.categories = 30;
  app::Generator gen(g);
  operators::PipelineOptions opt;
  opt.recommend.use_model = use_model;
  std::unique_ptr<operators::Pipeline> p = testing::MemoryPipeline(opt);
  ASSERT_NE(p, nullptr);
  const operators::Pipeline* raw = p.get();
  *keep = std::make_unique<PurchaseObserver>(gen, raw);
  p->set_observer(keep->get());
  CountingSink sink;
  int64_t last_ts = 0;
  ASSERT_TRUE(testing::FeedShop(*p, gen, 200'000, 1000, sink, &last_ts));
  ASSERT_EQ(sink.produced, 200'000u);
  // Precision@3 of the learned complement categories, over every category.
  std::vector<model::TopList<model::CategoryId>::Entry> learned;
  size_t hits = 0, total = 0;
  for (model::CategoryId c = 0; c < p->category_ids().size(); ++c) {
    p->recommender_model().Complements(c, last_ts, 3, learned);
    const auto planted = (*keep)->Planted(c);
    for (const auto& e : learned) hits += planted.count(std::string(p->category_ids().Name(e.key)));
    total += 3;
  }
  *precision = static_cast<double>(hits) / static_cast<double>(total);
  *obs_out = keep->get();
}

TEST(LearnedComplements, RecoverThePlantedOnesAndReachPurchaseLists) {
  // The model scorer (the rules scorer shares the transition counts).
  for (bool use_model : {true}) {
    double precision = 0;
    PurchaseObserver* obs = nullptr;
    std::unique_ptr<PurchaseObserver> keep;
    RunShop(use_model, &precision, &obs, &keep);
    ASSERT_NE(obs, nullptr);
    std::printf("[ complements ] scorer=%s precision@3 %.3f; lists after a purchase %zu, with a complement item %.3f, "
                "complement items %.3f\n",
                use_model ? "model" : "rules", precision, obs->lists,
                static_cast<double>(obs->with_complement) / static_cast<double>(obs->lists),
                static_cast<double>(obs->complement_items) / static_cast<double>(obs->items));
    EXPECT_GE(precision, 0.8);
    EXPECT_GT(obs->lists, 1000u);
    EXPECT_GE(static_cast<double>(obs->with_complement) / static_cast<double>(obs->lists), 0.9);
    // 3 complements of 30 categories: by chance 10% of the items.
    EXPECT_GE(static_cast<double>(obs->complement_items) / static_cast<double>(obs->items), 0.2);
  }
}

}  // namespace
}  // namespace recstream
