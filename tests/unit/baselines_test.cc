// The baselines of `recstream eval` (model/baselines.h) on a ten-event stream
// small enough to follow by hand, and the evaluation's figures for them
// (app/evaluation.h): each number below was computed on paper from the
// definitions in baselines.h, step by step in the comments.
//
// Items a..e get ids 0..4 and categories X, Y ids 0, 1 in order of first
// appearance; K = 2, so one reserved slot (max(1, K / 4)) after a purchase.
//
//   #   user  event          lists in force (pop | pop-decayed | cooc | cooc+trans)
//   E1  u1    view a X       -  (first event of u1: not scored)
//   E2  u1    view b X       []         | []      | []     | []      all miss
//   E3  u2    view a X       -
//   E4  u2    view b X       [b]        | [b]     | [b]    | [b]     all hit
//   E5  u1    view c Y       [a]        | [a]     | [a]    | [a]     all miss
//   E6  u1    purchase a X   [a,b]      | [b,a]   | [a,b]  | [a,b]   all hit (decayed at rank 2)
//   E7  u1    view d Y       [b,c]      | [c,b]   | [b,c]  | [b,c]   all miss
//   E8  u3    view e X       -
//   E9  u3    purchase e X   [a,b]      | [d,a]   | [a,b]  | [a,b]   all miss
//   E10 u3    view c Y       [a,b]      | [d,a]   | [a,b]  | [c,a]   cooc+trans hits: after E7 the
//                                                                    category after a purchase in X is Y,
//                                                                    whose most popular item is c
//
// Slices: cross-category E5 E6 E7 E10; after purchase E7 E10 (previous event
// a purchase), both E7 E10; purchase events E6 E9.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "app/evaluation.h"
#include "model/baselines.h"
#include "shop_util.h"

namespace recstream {
namespace {

struct Ev {
  const char* user;
  const char* item;
  const char* category;
  const char* type;
};
const Ev kStream[] = {
    {"u1", "a", "X", "view"}, {"u1", "b", "X", "view"},     {"u2", "a", "X", "view"},     {"u2", "b", "X", "view"},
    {"u1", "c", "Y", "view"}, {"u1", "a", "X", "purchase"}, {"u1", "d", "Y", "view"},     {"u3", "e", "X", "view"},
    {"u3", "e", "X", "purchase"}, {"u3", "c", "Y", "view"},
};

// The baselines driven directly, as the evaluation drives them.
class BaselinesTest : public ::testing::Test {
 protected:
  BaselinesTest() : model_(model::ItemModelOptions{}) {}
  static model::BaselineOptions Options() {
    model::BaselineOptions o;
    o.k = 2;
    o.half_life_events = 1;  // each event weighs twice the one before
    return o;
  }
  // Applies event i (0-based) to every baseline and the user's state.
  void Step(int i) {
    const Ev& ev = kStream[i];
    model::Event e{Id(items_, ev.item), Id(categories_, ev.category),
                   std::string(ev.type) == "purchase" ? model::EventType::kPurchase : model::EventType::kView,
                   1000 * (i + 1)};
    auto& user = users_[ev.user];
    for (auto* b : all()) b->Learn(user, e);
    model_.Learn(e, user.recent);
    user.Apply(e, model::UserOptions{}, model_.options().type_weight);
    last_ = e;
    last_user_ = ev.user;
  }
  // The list of baseline b for the user of the last step, as item names.
  std::string List(model::Baseline& b) {
    b.Recommend(users_[last_user_], last_, out_);
    std::string s;
    for (const auto& r : out_) s += items_[r.item];
    return s;
  }
  std::vector<model::Baseline*> all() { return {&pop_, &decayed_, &cooc_, &strong_}; }
  static uint32_t Id(std::vector<std::string>& names, const char* name) {
    for (uint32_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    names.push_back(name);
    return static_cast<uint32_t>(names.size() - 1);
  }

  model::ItemModel model_;
  model::BaselineOptions opt_ = Options();
  model::PopularityBaseline pop_{model_, opt_, false};
  model::PopularityBaseline decayed_{model_, opt_, true};
  model::CooccurrenceBaseline cooc_{model_, opt_, false};
  model::CooccurrenceBaseline strong_{model_, opt_, true};
  std::vector<std::string> items_, categories_;
  std::map<std::string, model::UserState> users_;
  model::Event last_;
  std::string last_user_;
  std::vector<model::Recommendation> out_;
};

TEST_F(BaselinesTest, ListsFollowTheDefinitionsStepByStep) {
  // Each row: the lists after event i for its user (pop, decayed, cooc, strong).
  const char* expected[][4] = {
      {"", "", "", ""},        // E1 u1 a: only a is known, and it is the trigger
      {"a", "a", "a", "a"},    // E2 u1 b: a (1) ties b (1), b is the trigger; cooc b->a
      {"b", "b", "b", "b"},    // E3 u2 a
      {"a", "a", "a", "a"},    // E4 u2 b: a 2, b 2
      {"ab", "ba", "ab", "ab"},// E5 u1 c: counts a2 b2 c1; decayed b (2+8) > a (1+4); cooc a 2, b 1.5
      {"bc", "cb", "bc", "bc"},// E6 u1 buys a: a excluded from now on; cooc b 3.5 > c 2.25
      {"bc", "cb", "bc", "bc"},// E7 u1 d
      {"ab", "da", "ab", "ab"},// E8 u3 e: e has no neighbours; popularity fills
      {"ab", "da", "ab", "ca"},// E9 u3 buys e: one slot for Y's top item c, then co-visitation/popular
      {"ab", "da", "ab", "ab"},// E10 u3 c
  };
  for (int i = 0; i < 10; ++i) {
    Step(i);
    EXPECT_EQ(List(pop_), expected[i][0]) << "popularity after E" << i + 1;
    EXPECT_EQ(List(decayed_), expected[i][1]) << "popularity-decayed after E" << i + 1;
    EXPECT_EQ(List(cooc_), expected[i][2]) << "co-occurrence after E" << i + 1;
    EXPECT_EQ(List(strong_), expected[i][3]) << "cooc+transitions after E" << i + 1;
  }
  for (const auto& r : out_) EXPECT_NE(items_[r.item], "c") << "the trigger is never recommended";
}

TEST(GrowingTopTest, KeepsTheExactBestUnderGrowingScores) {
  model::GrowingTop<uint32_t> top(2);
  top.Update(5, 1);
  top.Update(3, 1);  // ties break on the smaller key
  ASSERT_EQ(top.entries().size(), 2u);
  EXPECT_EQ(top.entries()[0].key, 3u);
  top.Update(9, 1);  // a tie with the worst does not displace it when its key is larger
  EXPECT_EQ(top.entries()[1].key, 5u);
  top.Update(9, 2);  // grown past both: first
  EXPECT_EQ(top.entries()[0].key, 9u);
  EXPECT_EQ(top.entries()[1].key, 3u);
  top.Update(1, 1);  // a tie with the worst (3) and a smaller key: in
  EXPECT_EQ(top.entries()[1].key, 1u);
}

// The same stream through the real eval path: pipeline, observer, table.
class EvaluationFiguresTest : public ::testing::Test {
 protected:
  std::unique_ptr<app::Evaluation> Run(uint64_t warmup_records) {
    operators::PipelineOptions opt;
    opt.recommend.k = 2;
    pipeline_ = testing::MemoryPipeline(opt);
    model::BaselineOptions b;
    b.k = 2;
    b.half_life_events = 1;
    auto eval = std::make_unique<app::Evaluation>(pipeline_->model(), b);
    eval->WarmUp(warmup_records, &pipeline_->metrics());
    pipeline_->set_observer(eval.get());
    std::vector<std::string> keys, values;
    for (int i = 0; i < 10; ++i) {
      const Ev& ev = kStream[i];
      keys.push_back(ev.user);
      values.push_back(std::string("{\"user_id\":\"") + ev.user + "\",\"item_id\":\"" + ev.item +
                       "\",\"category_id\":\"" + ev.category + "\",\"type\":\"" + ev.type +
                       "\",\"ts\":" + std::to_string(1'700'000'000'000 + 1000 * i) + "}");
    }
    std::vector<stream::Record> records(10);
    for (int i = 0; i < 10; ++i) {
      records[i].topic = "events";
      records[i].offset = i;
      records[i].key = keys[i];
      records[i].value = values[i];
    }
    stream::CountingSink sink;
    EXPECT_TRUE(pipeline_->Process(records, sink).ok());
    return eval;
  }
  std::unique_ptr<operators::Pipeline> pipeline_;
};

TEST_F(EvaluationFiguresTest, EachBaselinesHitRateMatchesTheHandComputedFigure) {
  using E = app::Evaluation;
  auto eval = Run(0);
  const int pop = 1, decayed = 2, cooc = 3, strong = 4;
  EXPECT_STREQ(E::MethodName(pop), "popularity");
  EXPECT_STREQ(E::MethodName(decayed), "popularity-decayed");
  EXPECT_STREQ(E::MethodName(cooc), "co-occurrence");
  EXPECT_STREQ(E::MethodName(strong), "cooc+transitions");
  // Scored: E2 E4 E5 E6 E7 E9 E10; slices as in the header comment.
  EXPECT_EQ(eval->score(0, E::kAll).n, 7u);
  EXPECT_EQ(eval->score(0, E::kCrossCategory).n, 4u);
  EXPECT_EQ(eval->score(0, E::kAfterPurchase).n, 2u);
  EXPECT_EQ(eval->score(0, E::kCrossAfterPurchase).n, 2u);
  EXPECT_EQ(eval->score(0, E::kPurchase).n, 2u);
  // Hits: E4 and E6 for all; E10 too for cooc+transitions.
  for (int m : {pop, decayed, cooc}) {
    EXPECT_DOUBLE_EQ(eval->score(m, E::kAll).hr(), 2.0 / 7) << E::MethodName(m);
    EXPECT_DOUBLE_EQ(eval->score(m, E::kCrossCategory).hr(), 1.0 / 4) << E::MethodName(m);
    EXPECT_DOUBLE_EQ(eval->score(m, E::kAfterPurchase).hr(), 0) << E::MethodName(m);
    EXPECT_DOUBLE_EQ(eval->score(m, E::kPurchase).hr(), 1.0 / 2) << E::MethodName(m);
  }
  EXPECT_DOUBLE_EQ(eval->score(strong, E::kAll).hr(), 3.0 / 7);
  EXPECT_DOUBLE_EQ(eval->score(strong, E::kCrossCategory).hr(), 2.0 / 4);
  EXPECT_DOUBLE_EQ(eval->score(strong, E::kCrossAfterPurchase).hr(), 1.0 / 2);
  // NDCG: every hit at rank 1 but decayed's at E6 (rank 2: 1 / log2 3).
  EXPECT_DOUBLE_EQ(eval->score(pop, E::kAll).ndcg_mean(), 2.0 / 7);
  EXPECT_DOUBLE_EQ(eval->score(decayed, E::kAll).ndcg_mean(), (1 + 1 / std::log2(3.0)) / 7);
  EXPECT_DOUBLE_EQ(eval->score(strong, E::kAll).ndcg_mean(), 3.0 / 7);
  const std::string table = eval->Table(5);
  for (const char* s : {"popularity-decayed", "cooc+transitions", "x-cat after purchase", "NDCG@K"})
    EXPECT_NE(table.find(s), std::string::npos) << s << "\n" << table;
}

TEST_F(EvaluationFiguresTest, WarmUpTrainsWithoutScoring) {
  using E = app::Evaluation;
  // The first 4 records train only: scored E5 E6 E7 E9 E10, hit E6 (E10 too
  // for cooc+transitions, which learned E1..E4 all the same).
  auto eval = Run(4);
  EXPECT_EQ(eval->score(1, E::kAll).n, 5u);
  EXPECT_DOUBLE_EQ(eval->score(1, E::kAll).hr(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(eval->score(4, E::kAll).hr(), 2.0 / 5);
}

}  // namespace
}  // namespace recstream
