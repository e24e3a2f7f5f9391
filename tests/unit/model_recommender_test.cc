// Unit tests of model/ModelRecommender: the learning shortcut (Learn skips
// the gather-and-score when MayBeCandidate says the chosen item cannot be
// among the user's previous candidates; that test must never say no to an
// item the gather offers, so a candidate source added to GatherItems and
// forgotten in MayBeCandidate fails here), the carted-item source and the
// complement lift.
#include "model/model_recommender.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

// The model, its embeddings and per-user states, fed as the pipeline feeds
// them (learn from the sequence before the event, then extend it).
struct Shop {
  Shop() : items(iopt), emb(model::EmbeddingOptions{}, iopt.type_weight) {}
  model::Event Apply(const std::string& user, model::ItemId item, model::CategoryId cat, model::EventType type) {
    model::UserState& u = users[user];
    const model::Event e{item, cat, type, ts += 1000};
    items.Learn(e, u.recent);
    emb.Learn(e, u.recent, items.item(item).count);
    u.Apply(e, uopt, iopt.type_weight);
    return e;
  }
  const model::Recommendation* Listed(model::ModelRecommender& rec, const std::string& user,
                                      const model::Event& trigger) {
    rec.Recommend(users[user], trigger, list);
    for (const auto& r : list)
      if (r.item == last_item) return &r;
    return nullptr;
  }
  model::ItemModelOptions iopt;
  model::UserOptions uopt;
  model::ItemModel items;
  model::EmbeddingModel emb;
  std::map<std::string, model::UserState> users;
  std::vector<model::Recommendation> list;
  model::ItemId last_item = model::kNoId;
  int64_t ts = 1'700'000'000'000;
};

using model::EventType;

TEST(ModelRecommenderLists, CartedItemComesBackUntilBought) {
  Shop shop;
  for (int u = 0; u < 20; ++u)
    for (model::ItemId i = 1; i <= 6; ++i) shop.Apply("b" + std::to_string(u), i, 0, EventType::kView);
  model::ModelRecommender rec(shop.items, shop.emb, model::RecommendOptions{});
  shop.last_item = 2;
  shop.Apply("u", 1, 0, EventType::kView);
  const model::Event cart = shop.Apply("u", 2, 0, EventType::kCart);
  // The carted trigger itself is listed, with its reason.
  const model::Recommendation* r = shop.Listed(rec, "u", cart);
  ASSERT_NE(r, nullptr) << "the carted trigger is not listed";
  EXPECT_EQ(r->reason, model::Reason::kInCart);
  // Still there while the user browses on...
  const model::Event view = shop.Apply("u", 3, 0, EventType::kView);
  r = shop.Listed(rec, "u", view);
  ASSERT_NE(r, nullptr) << "the carted item is dropped after a view";
  EXPECT_EQ(r->reason, model::Reason::kInCart);
  // ...and gone once bought.
  const model::Event buy = shop.Apply("u", 2, 0, EventType::kPurchase);
  EXPECT_EQ(shop.Listed(rec, "u", buy), nullptr);
  const model::Event after = shop.Apply("u", 4, 0, EventType::kView);
  EXPECT_EQ(shop.Listed(rec, "u", after), nullptr);

  // Control: with the source off, the carted trigger is excluded like any
  // other trigger.
  model::RecommendOptions off;
  off.in_cart_candidates = 0;
  model::ModelRecommender rec_off(shop.items, shop.emb, off);
  shop.last_item = 5;
  const model::Event cart5 = shop.Apply("v", 5, 0, EventType::kCart);
  EXPECT_EQ(shop.Listed(rec_off, "v", cart5), nullptr);
  EXPECT_NE(shop.Listed(rec, "v", cart5), nullptr);
}

// Phones are followed by the hub category (popular with everyone) more
// often than by cases, but cases follow phones far above their base rate:
// by lift cases are the complement, by raw transition share the hub.
TEST(ModelRecommenderLists, ComplementsRankByLiftOverTheBaseRate) {
  constexpr model::CategoryId kPhones = 0, kCases = 1, kHub = 2;
  Shop shop;
  for (int u = 0; u < 200; ++u)
    for (int k = 0; k < 5; ++k)
      shop.Apply("h" + std::to_string(u), 100 + static_cast<model::ItemId>(k), kHub, EventType::kView);
  for (int u = 0; u < 30; ++u) {
    const std::string user = "p" + std::to_string(u);
    shop.Apply(user, 1, kPhones, EventType::kPurchase);
    if (u % 5 < 3) shop.Apply(user, 100, kHub, EventType::kView);
    else shop.Apply(user, 10, kCases, EventType::kView);
  }
  std::vector<model::TopList<model::CategoryId>::Entry> out;
  model::ModelRecommender lift(shop.items, shop.emb, model::RecommendOptions{});
  lift.Complements(kPhones, shop.ts, 2, out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].key, kCases);
  model::RecommendOptions raw_opt;
  raw_opt.complement_lift = false;
  model::ModelRecommender raw(shop.items, shop.emb, raw_opt);
  raw.Complements(kPhones, shop.ts, 2, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, kHub);
}

}  // namespace
}  // namespace recstream
