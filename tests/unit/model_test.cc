// Unit tests of model/: forward decay, TopList, UserState, ItemModel, the
// cross-category recommender and the two baselines. No I/O, no state store.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/decay.h"
#include "model/item_model.h"
#include "model/options.h"
#include "model/recommender.h"
#include "model/top_list.h"
#include "model/types.h"
#include "model/user_state.h"

namespace recstream::model {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // a realistic epoch-ms origin
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 3'600'000;

// ---------------------------------------------------------------- decay

TEST(Decay, WeightHalvesAfterOneHalfLifeRelativeToNewerOne) {
  const DecayClock clock(/*half_life_ms=*/kHour, /*origin_ms=*/0);
  const double old_l = clock.Increment(1.0, kT0);
  const double new_l = clock.Increment(1.0, kT0 + kHour);
  // Valued at the newer time, the older observation counts half.
  EXPECT_NEAR(clock.ValueAt(old_l, kT0 + kHour), 0.5, 1e-9);
  EXPECT_NEAR(clock.ValueAt(new_l, kT0 + kHour), 1.0, 1e-9);
  // The ratio does not depend on when it is looked at.
  EXPECT_NEAR(std::exp(old_l - new_l), 0.5, 1e-9);
  EXPECT_NEAR(clock.ValueAt(old_l, kT0 + 3 * kHour) / clock.ValueAt(new_l, kT0 + 3 * kHour), 0.5, 1e-9);
  // Two half-lives: a quarter.
  EXPECT_NEAR(clock.ValueAt(old_l, kT0 + 2 * kHour), 0.25, 1e-9);
}

TEST(Decay, IncrementsAddUpInLogSpace) {
  const DecayClock clock(kHour, 0);
  double l = kLogZero;
  EXPECT_EQ(clock.ValueAt(l, kT0), 0.0);
  l = LogAddExp(l, clock.Increment(3.0, kT0));
  l = LogAddExp(l, clock.Increment(5.0, kT0));
  EXPECT_NEAR(clock.ValueAt(l, kT0), 8.0, 1e-9);
  // An observation one half-life later counts double against the earlier ones.
  l = LogAddExp(l, clock.Increment(2.0, kT0 + kHour));
  EXPECT_NEAR(clock.ValueAt(l, kT0 + kHour), 8.0 / 2 + 2.0, 1e-9);
  EXPECT_EQ(LogAddExp(kLogZero, kLogZero), kLogZero);
  EXPECT_EQ(LogAddExp(kLogZero, 1.5), 1.5);
  EXPECT_EQ(LogAddExp(1.5, kLogZero), 1.5);
}

TEST(Decay, LargeTimeSpansDoNotOverflow) {
  // 1 ms half-life over ~100 years of epoch time: exp((t - t0) / tau) would
  // be exp(2e12), far beyond a double. The log-space counters stay finite.
  const DecayClock clock(/*half_life_ms=*/1.0, /*origin_ms=*/0);
  const int64_t t_new = 3'155'760'000'000;  // ~2070
  const double old_l = clock.Increment(1000.0, kT0);
  const double new_l = clock.Increment(1.0, t_new);
  ASSERT_TRUE(std::isfinite(old_l));
  ASSERT_TRUE(std::isfinite(new_l));
  EXPECT_GT(new_l, old_l);  // the tiny recent weight beats the huge old one
  EXPECT_NEAR(clock.ValueAt(new_l, t_new), 1.0, 1e-3);
  EXPECT_EQ(clock.ValueAt(old_l, t_new), 0.0);  // underflows to 0, not NaN/inf
  const double sum = LogAddExp(old_l, new_l);
  EXPECT_TRUE(std::isfinite(sum));
  EXPECT_NEAR(clock.ValueAt(sum, t_new), 1.0, 1e-3);

  // The production half-life (1 day) over the same epoch-ms values: many
  // heavy increments accumulate without overflow.
  const DecayClock day(86'400'000.0, 0);
  double acc = kLogZero;
  for (int i = 0; i < 100'000; ++i) acc = LogAddExp(acc, day.Increment(8.0, t_new));
  EXPECT_TRUE(std::isfinite(acc));
  EXPECT_NEAR(day.ValueAt(acc, t_new), 800'000.0, 800'000.0 * 1e-6);
}

// ---------------------------------------------------------------- TopList

std::vector<uint32_t> Keys(const TopList<uint32_t>& list, size_t n = SIZE_MAX) {
  std::vector<TopList<uint32_t>::Entry> top;
  list.Top(n, top);
  std::vector<uint32_t> keys;
  for (const auto& e : top) keys.push_back(e.key);
  return keys;
}

TEST(TopList, KeepsTheBestKHeaviestFirst) {
  TopList<uint32_t> list;
  const double weights[] = {3, 1, 4, 1.5, 5, 9, 2, 6};
  for (uint32_t k = 0; k < 8; ++k) list.Add(k, std::log(weights[k]), /*capacity=*/3);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{5, 7, 4}));  // 9, 6, 5
  EXPECT_EQ(Keys(list, 2), (std::vector<uint32_t>{5, 7}));
  EXPECT_NEAR(list.MaxWeight(), std::log(9.0), 1e-12);
  // A lighter newcomer does not displace anyone.
  EXPECT_FALSE(list.Add(99, std::log(4.0), 3));
  EXPECT_EQ(list.WeightOf(99), kLogZero);
  // A heavier one replaces the lightest.
  EXPECT_TRUE(list.Add(98, std::log(5.5), 3));
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{5, 7, 98}));
}

TEST(TopList, SpaceSavingAlwaysAdmitsTheNewKeyAtTheLightestWeightPlusItsOwn) {
  TopList<uint32_t> list;
  EXPECT_TRUE(list.AddSpaceSaving(1, std::log(10.0), 2));
  EXPECT_TRUE(list.AddSpaceSaving(2, std::log(4.0), 2));
  // Full: key 3 (weight 1) takes key 2's place with 4 + 1 = 5, where Add
  // would have refused it.
  EXPECT_TRUE(list.AddSpaceSaving(3, 0.0, 2));
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{1, 3}));
  EXPECT_NEAR(list.WeightOf(3), std::log(5.0), 1e-12);
  // A present key accumulates as with Add.
  list.AddSpaceSaving(3, std::log(6.0), 2);
  EXPECT_NEAR(list.WeightOf(3), std::log(11.0), 1e-12);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{3, 1}));
  // A stream whose heavy key changes: after enough increments of key 9, it
  // leads, although each increment alone is lighter than every entry.
  for (int i = 0; i < 30; ++i) list.AddSpaceSaving(9, 0.0, 2);
  EXPECT_EQ(Keys(list, 1), (std::vector<uint32_t>{9}));
}

TEST(TopList, UpdatesAccumulateSetOverwritesRemoveDeletes) {
  TopList<uint32_t> list;
  list.Add(1, std::log(2.0), 4);
  list.Add(2, std::log(3.0), 4);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{2, 1}));
  list.Add(1, std::log(2.0), 4);  // 2 + 2 = 4 > 3
  EXPECT_NEAR(list.WeightOf(1), std::log(4.0), 1e-12);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(list.size(), 2u);  // no duplicate entry for key 1

  list.Set(1, std::log(1.0), 4);  // overwrite, not add
  EXPECT_NEAR(list.WeightOf(1), 0.0, 1e-12);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{2, 1}));

  EXPECT_TRUE(list.Remove(2));
  EXPECT_FALSE(list.Remove(2));
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{1}));
  list.clear();
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.MaxWeight(), kLogZero);
}

TEST(TopList, TiesBreakOnTheSmallerKey) {
  TopList<uint32_t> list;
  list.Add(5, 0.0, 2);
  list.Add(7, 0.0, 2);
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{5, 7}));
  // Full, equal weights: the smaller key wins the place of the larger one.
  EXPECT_TRUE(list.Add(3, 0.0, 2));
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{3, 5}));
  EXPECT_FALSE(list.Add(9, 0.0, 2));
  EXPECT_EQ(Keys(list), (std::vector<uint32_t>{3, 5}));
}

TEST(TopList, ContentAndOrderDoNotDependOnInsertionOrder) {
  // Distinct keys with ties; capacity below the number of keys.
  const std::vector<std::pair<uint32_t, double>> updates = {{4, 1.0}, {2, 1.0}, {6, 2.0},
                                                            {1, 0.5}, {3, 1.0}, {5, 2.0}};
  std::vector<size_t> order(updates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<uint32_t> first;
  int permutations = 0;
  do {
    TopList<uint32_t> list;
    for (size_t i : order) list.Add(updates[i].first, updates[i].second, 4);
    const auto keys = Keys(list);
    if (first.empty()) first = keys;
    ASSERT_EQ(keys, first) << "permutation " << permutations;
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 720);
  EXPECT_EQ(first, (std::vector<uint32_t>{5, 6, 2, 3}));
}

// ---------------------------------------------------------------- UserState

const std::array<double, kEventTypeCount> kWeights{1.0, 2.0, 4.0, 3.0, 8.0};

Event Ev(ItemId item, CategoryId cat, EventType type, int64_t ts) { return Event{item, cat, type, ts}; }

TEST(UserState, LastNKeepsTheNMostRecentOldestFirst) {
  UserOptions opt;
  opt.history_length = 3;
  UserState u;
  EXPECT_TRUE(u.empty());
  EXPECT_EQ(u.last(), nullptr);
  for (ItemId i = 0; i < 5; ++i) u.Apply(Ev(i, 0, EventType::kView, kT0 + i * 1000), opt, kWeights);
  ASSERT_EQ(u.recent.size(), 3u);
  EXPECT_EQ(u.recent[0], (UserEvent{2, 0, EventType::kView, kT0 + 2000}));
  EXPECT_EQ(u.recent[1].item, 3u);
  EXPECT_EQ(u.recent[2].item, 4u);
  ASSERT_NE(u.last(), nullptr);
  EXPECT_EQ(u.last()->item, 4u);
  EXPECT_EQ(u.events, 5u);
  EXPECT_FALSE(u.empty());
}

// Regression: Apply() once trimmed the sequence and the purchases by one
// element at most, so a state written under a larger user.history_length /
// user.purchases_kept (restored after the setting was lowered) stayed longer
// than the limit for ever ("at most history_length", user_state.h).
TEST(UserState, LoweredLimitsApplyToRestoredState) {
  UserOptions wide;
  wide.history_length = 6;
  wide.purchases_kept = 6;
  UserState u;
  for (ItemId i = 0; i < 6; ++i) u.Apply(Ev(i, 0, EventType::kPurchase, kT0 + i), wide, kWeights);
  UserOptions narrow = wide;
  narrow.history_length = 3;
  narrow.purchases_kept = 2;
  u.Apply(Ev(6, 0, EventType::kPurchase, kT0 + 6), narrow, kWeights);
  EXPECT_EQ(u.recent.size(), 3u);
  EXPECT_EQ(u.purchases, (std::vector<ItemId>{5, 6}));
}

TEST(UserState, CategoryAffinityDecaysInEventTime) {
  UserOptions opt;
  opt.activity_clock = false;
  opt.affinity_half_life_ms = kHour;
  const DecayClock clock(opt.affinity_half_life_ms, 0);
  std::vector<TopList<CategoryId>::Entry> top;

  // A purchase (weight 8) in category 1, then a view (weight 1) in category 2
  // two half-lives later: 8/4 = 2 > 1, category 1 still leads.
  UserState a;
  a.Apply(Ev(10, 1, EventType::kPurchase, kT0), opt, kWeights);
  a.Apply(Ev(20, 2, EventType::kView, kT0 + 2 * kHour), opt, kWeights);
  a.affinity.Top(2, top);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, 1u);
  EXPECT_NEAR(clock.ValueAt(a.affinity.WeightOf(1), kT0 + 2 * kHour), 2.0, 1e-9);
  EXPECT_NEAR(clock.ValueAt(a.affinity.WeightOf(2), kT0 + 2 * kHour), 1.0, 1e-9);

  // The same two events four half-lives apart: 8/16 < 1, the recent view leads.
  UserState b;
  b.Apply(Ev(10, 1, EventType::kPurchase, kT0), opt, kWeights);
  b.Apply(Ev(20, 2, EventType::kView, kT0 + 4 * kHour), opt, kWeights);
  b.affinity.Top(2, top);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, 2u);
}

TEST(UserState, CategoryAffinityAgesWithTheUsersOwnEvents) {
  UserOptions opt;  // the activity clock is the default
  ASSERT_TRUE(opt.activity_clock);
  opt.affinity_half_life_events = 1;
  const DecayClock clock(1.0, 0);
  // A purchase (weight 8) in category 1 a year before three views in
  // category 2: the year counts for nothing, the three events for three
  // half-lives. At the user's 4th event: 8/8 = 1 against 1/4 + 1/2 + 1.
  UserState u;
  u.Apply(Ev(10, 1, EventType::kPurchase, kT0), opt, kWeights);
  for (int i = 0; i < 3; ++i) u.Apply(Ev(20, 2, EventType::kView, kT0 + 365 * 24 * kHour + i), opt, kWeights);
  EXPECT_NEAR(clock.ValueAt(u.affinity.WeightOf(1), 3), 1.0, 1e-9);
  EXPECT_NEAR(clock.ValueAt(u.affinity.WeightOf(2), 3), 1.75, 1e-9);
  // The same events a second apart give the same weights.
  UserState v;
  v.Apply(Ev(10, 1, EventType::kPurchase, kT0), opt, kWeights);
  for (int i = 0; i < 3; ++i) v.Apply(Ev(20, 2, EventType::kView, kT0 + 1000 + i), opt, kWeights);
  EXPECT_EQ(v.affinity.WeightOf(1), u.affinity.WeightOf(1));
  EXPECT_EQ(v.affinity.WeightOf(2), u.affinity.WeightOf(2));
}

TEST(UserState, AffinityIsBoundedByAffinityCategories) {
  UserOptions opt;
  opt.affinity_categories = 2;
  UserState u;
  u.Apply(Ev(1, 1, EventType::kView, kT0), opt, kWeights);
  u.Apply(Ev(2, 2, EventType::kView, kT0 + 1), opt, kWeights);
  u.Apply(Ev(3, 3, EventType::kPurchase, kT0 + 2), opt, kWeights);
  EXPECT_EQ(u.affinity.size(), 2u);
  EXPECT_NE(u.affinity.WeightOf(3), kLogZero);  // the fresh purchase got in
}

TEST(UserState, RecentPurchasesAreBoundedAndUnique) {
  UserOptions opt;
  opt.purchases_kept = 2;
  UserState u;
  u.Apply(Ev(1, 0, EventType::kPurchase, kT0), opt, kWeights);
  u.Apply(Ev(9, 0, EventType::kView, kT0 + 1), opt, kWeights);
  u.Apply(Ev(8, 0, EventType::kCart, kT0 + 2), opt, kWeights);
  EXPECT_EQ(u.purchases, (std::vector<ItemId>{1}));  // views and carts are not purchases
  u.Apply(Ev(1, 0, EventType::kPurchase, kT0 + 3), opt, kWeights);
  EXPECT_EQ(u.purchases, (std::vector<ItemId>{1}));  // bought again: kept once
  u.Apply(Ev(2, 0, EventType::kPurchase, kT0 + 4), opt, kWeights);
  u.Apply(Ev(3, 0, EventType::kPurchase, kT0 + 5), opt, kWeights);
  EXPECT_EQ(u.purchases, (std::vector<ItemId>{2, 3}));  // the oldest fell out
  EXPECT_TRUE(u.HasPurchased(3));
  EXPECT_FALSE(u.HasPurchased(1));
  EXPECT_FALSE(u.HasPurchased(9));

  UserOptions none = opt;
  none.purchases_kept = 0;
  UserState v;
  v.Apply(Ev(1, 0, EventType::kPurchase, kT0), none, kWeights);
  EXPECT_TRUE(v.purchases.empty());
}

TEST(UserState, EventIdRingRemembersTheLastWindow) {
  UserState u;
  for (uint64_t h = 1; h <= 4; ++h) u.RememberEventId(h, 3);
  EXPECT_FALSE(u.SawEventId(1));  // overwritten by 4
  EXPECT_TRUE(u.SawEventId(2));
  EXPECT_TRUE(u.SawEventId(3));
  EXPECT_TRUE(u.SawEventId(4));
  EXPECT_EQ(u.seen_event_ids.size(), 3u);
  u.RememberEventId(5, 3);
  EXPECT_FALSE(u.SawEventId(2));
  EXPECT_TRUE(u.SawEventId(5));

  UserState off;
  off.RememberEventId(7, 0);  // window 0: de-duplication disabled
  EXPECT_FALSE(off.SawEventId(7));
}

// ---------------------------------------------------------------- ItemModel

// A shop in miniature: the model plus per-user states, fed like the pipeline
// feeds them (learn from the sequence before the event, then extend it).
struct World {
  explicit World(ItemModelOptions io = {}, UserOptions uo = {}) : iopt(io), uopt(uo), model(iopt) {}
  void Apply(const std::string& user, ItemId item, CategoryId cat, EventType type, int64_t ts) {
    UserState& u = users[user];
    const Event e = Ev(item, cat, type, ts);
    model.Learn(e, u.recent);
    u.Apply(e, uopt, iopt.type_weight);
  }
  ItemModelOptions iopt;
  UserOptions uopt;
  ItemModel model;
  std::map<std::string, UserState> users;
};

TEST(ItemModel, CooccurrenceIsSymmetric) {
  World w;
  w.Apply("u", 1, 0, EventType::kView, kT0);
  w.Apply("u", 2, 0, EventType::kCart, kT0 + 1000);
  ASSERT_TRUE(w.model.HasItem(1));
  ASSERT_TRUE(w.model.HasItem(2));
  const double w12 = w.model.item(1).neighbours.WeightOf(2);
  const double w21 = w.model.item(2).neighbours.WeightOf(1);
  ASSERT_NE(w12, kLogZero);
  EXPECT_EQ(w12, w21);
  // sqrt(view 1 * cart 4) at distance 0, on item 1's own clock.
  EXPECT_NEAR(w.model.cooc_clock().ValueAt(w12, w.model.ItemNow(w.model.item(1), kT0 + 1000)), 2.0, 1e-9);
  // An item never pairs with itself.
  w.Apply("u", 2, 0, EventType::kView, kT0 + 2000);
  EXPECT_EQ(w.model.item(2).neighbours.WeightOf(2), kLogZero);
}

TEST(ItemModel, NearerEventsPairStrongerWithinWindowAndGap) {
  ItemModelOptions io;
  io.window = 2;
  io.max_gap_ms = kHour;
  World w(io);
  w.Apply("u", 1, 0, EventType::kView, kT0);
  w.Apply("u", 2, 0, EventType::kView, kT0 + 1000);
  w.Apply("u", 3, 0, EventType::kView, kT0 + 2000);
  w.Apply("u", 4, 0, EventType::kView, kT0 + 3000);
  const auto& nb = w.model.item(4).neighbours;
  EXPECT_GT(nb.WeightOf(3), nb.WeightOf(2));  // distance 0 beats distance 1
  EXPECT_EQ(nb.WeightOf(1), kLogZero);        // beyond window = 2
  // More than max_gap later: no pairing at all.
  w.Apply("u", 5, 0, EventType::kView, kT0 + 3000 + kHour + 1);
  EXPECT_TRUE(w.model.item(5).neighbours.empty());
  EXPECT_EQ(w.model.item(4).neighbours.WeightOf(5), kLogZero);
}

TEST(ItemModel, CooccurrenceListsAgeWithTheirItemsOwnEvents) {
  ItemModelOptions io;
  io.cooccurrence_half_life_events = 1;
  World w(io);
  // Item 1 pairs with 2, then with 3 after three more events of item 1
  // (with item 4, another user): 2's weight is then 1/2^4 of a fresh one.
  w.Apply("a", 2, 0, EventType::kView, kT0);
  w.Apply("a", 1, 0, EventType::kView, kT0 + 1);
  for (int i = 0; i < 3; ++i) {
    w.Apply("b" + std::to_string(i), 1, 0, EventType::kView, kT0 + 2 + i);
  }
  w.Apply("c", 3, 0, EventType::kView, kT0 + 10);
  w.Apply("c", 1, 0, EventType::kView, kT0 + 11);
  const ItemRow& one = w.model.item(1);
  EXPECT_EQ(one.count, 5u);
  EXPECT_NEAR(std::exp(one.neighbours.WeightOf(2) - one.neighbours.WeightOf(3)), 1.0 / 16, 1e-12);
  // Item 2's list has aged by none of those events: its weight of 1 is as
  // fresh as when it was learned.
  const ItemRow& two = w.model.item(2);
  EXPECT_NEAR(w.model.cooc_clock().ValueAt(two.neighbours.WeightOf(1), w.model.ItemNow(two, 0)), 1.0, 1e-12);
}

TEST(ItemModel, PopularityAgesWithTheModelsEventsNotTheirTimes) {
  ItemModelOptions io;
  io.popularity_half_life_events = 2;
  World w(io);
  // Item 1 once, then item 2 twice a year later. The model's clock reads
  // the events learned before each: 0 for item 1, 1 and 2 for item 2; the
  // year counts for nothing. At clock 3, half-lives of 2 events apart.
  w.Apply("a", 1, 0, EventType::kView, kT0);
  w.Apply("b", 2, 0, EventType::kView, kT0 + 365 * 24 * kHour);
  w.Apply("c", 2, 0, EventType::kView, kT0 + 365 * 24 * kHour + 1);
  const auto& clock = w.model.pop_clock();
  const double now = w.model.Now(0);
  EXPECT_EQ(now, 3.0);
  EXPECT_NEAR(clock.ValueAt(w.model.item(1).log_pop, now), std::pow(2.0, -1.5), 1e-12);
  EXPECT_NEAR(clock.ValueAt(w.model.item(2).log_pop, now), std::pow(2.0, -1.0) + std::pow(2.0, -0.5), 1e-12);
}

TEST(ItemModel, PurchaseToPurchaseTransitionsWeighMostAndAreDirected) {
  constexpr CategoryId kPhones = 0, kCases = 1, kChargers = 2, kShoes = 3;
  ItemModelOptions io;
  io.activity_clock = false;  // exact weights: every pair learned at one event time
  World w(io);
  w.Apply("p2p", 1, kPhones, EventType::kPurchase, kT0);
  w.Apply("p2p", 11, kCases, EventType::kPurchase, kT0 + 1000);
  w.Apply("v2p", 2, kPhones, EventType::kView, kT0);
  w.Apply("v2p", 21, kChargers, EventType::kPurchase, kT0 + 1000);
  w.Apply("v2v", 3, kPhones, EventType::kView, kT0);
  w.Apply("v2v", 31, kShoes, EventType::kView, kT0 + 1000);

  const CategoryRow& phones = w.model.category(kPhones);
  const auto& clock = w.model.transition_clock();
  const int64_t t = kT0 + 1000;
  EXPECT_NEAR(clock.ValueAt(phones.successors.WeightOf(kCases), t), 64.0, 1e-6);   // 8 * 8
  EXPECT_NEAR(clock.ValueAt(phones.successors.WeightOf(kChargers), t), 8.0, 1e-6); // 1 * 8
  EXPECT_NEAR(clock.ValueAt(phones.successors.WeightOf(kShoes), t), 1.0, 1e-6);    // 1 * 1
  EXPECT_NEAR(clock.ValueAt(phones.log_out, t), 73.0, 1e-6);
  std::vector<TopList<CategoryId>::Entry> top;
  phones.successors.Top(3, top);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, kCases);
  EXPECT_EQ(top[1].key, kChargers);
  EXPECT_EQ(top[2].key, kShoes);
  // Asymmetric: nothing was learned from cases back to phones.
  EXPECT_TRUE(w.model.category(kCases).successors.empty());
  EXPECT_EQ(w.model.category(kCases).log_out, kLogZero);
  // Events in the same category are not transitions.
  w.Apply("same", 4, kPhones, EventType::kPurchase, kT0 + 2000);
  w.Apply("same", 5, kPhones, EventType::kPurchase, kT0 + 3000);
  EXPECT_EQ(phones.successors.WeightOf(kPhones), kLogZero);
}

// after_purchase holds what came right after a purchase, once per event:
// the next event only, any type; one in the same category counts in the
// total but names no successor.
TEST(ItemModel, AfterPurchaseCountsTheEventRightAfterAPurchase) {
  constexpr CategoryId kPhones = 0, kCases = 1, kChargers = 2;
  ItemModelOptions io;
  io.activity_clock = false;
  World w(io);
  w.Apply("a", 1, kPhones, EventType::kPurchase, kT0);
  w.Apply("a", 11, kCases, EventType::kView, kT0);
  w.Apply("a", 21, kChargers, EventType::kView, kT0);  // after a view: not counted
  w.Apply("b", 2, kPhones, EventType::kPurchase, kT0);
  w.Apply("b", 3, kPhones, EventType::kView, kT0);     // same category: total only
  w.Apply("c", 4, kPhones, EventType::kView, kT0);
  w.Apply("c", 22, kChargers, EventType::kView, kT0);  // after a view: not counted
  const CategoryRow& phones = w.model.category(kPhones);
  const auto& clock = w.model.transition_clock();
  EXPECT_NEAR(clock.ValueAt(phones.log_after_purchase, kT0), 2.0, 1e-9);
  EXPECT_NEAR(clock.ValueAt(phones.after_purchase.WeightOf(kCases), kT0), 1.0, 1e-9);
  EXPECT_EQ(phones.after_purchase.WeightOf(kChargers), kLogZero);
  EXPECT_EQ(phones.after_purchase.WeightOf(kPhones), kLogZero);
  EXPECT_TRUE(w.model.category(kCases).after_purchase.empty());
  // The catalog's popularity total is the sum of the categories'.
  double sum = kLogZero;
  for (CategoryId c = 0; c < w.model.category_count(); ++c) sum = LogAddExp(sum, w.model.category(c).log_pop);
  EXPECT_NEAR(w.model.log_pop_total(), sum, 1e-9);
}

TEST(ItemModel, PopularityByCategoryAndGlobally) {
  ItemModelOptions io;
  io.activity_clock = false;  // exact weights: events milliseconds apart
  World w(io);
  for (int i = 0; i < 3; ++i) w.Apply("a" + std::to_string(i), 1, 0, EventType::kPurchase, kT0 + i);
  w.Apply("b", 2, 0, EventType::kView, kT0 + 10);
  w.Apply("c", 3, 1, EventType::kCart, kT0 + 20);
  EXPECT_EQ(w.model.version(), 5u);
  EXPECT_EQ(w.model.item(1).count, 3u);
  EXPECT_EQ(w.model.item(1).category, 0u);

  std::vector<TopList<ItemId>::Entry> top;
  w.model.category(0).top_items.Top(10, top);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, 1u);
  EXPECT_EQ(top[1].key, 2u);
  w.model.category(1).top_items.Top(10, top);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].key, 3u);
  w.model.global_top().Top(10, top);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, 1u);  // 24
  EXPECT_EQ(top[1].key, 3u);  // 4
  EXPECT_EQ(top[2].key, 2u);  // 1
  EXPECT_NEAR(w.model.pop_clock().ValueAt(w.model.item(1).log_pop, kT0 + 2), 24.0, 1e-6);
  EXPECT_NEAR(w.model.pop_clock().ValueAt(w.model.category(0).log_pop, kT0 + 10), 25.0, 1e-5);

  // The item turns up under another category: it moves.
  w.Apply("d", 2, 1, EventType::kView, kT0 + 30);
  EXPECT_EQ(w.model.category(0).top_items.WeightOf(2), kLogZero);
  EXPECT_NE(w.model.category(1).top_items.WeightOf(2), kLogZero);
  EXPECT_EQ(w.model.item(2).category, 1u);
}

TEST(ItemModel, CatalogDeactivationRemovesFromRankingsAndReactivationRestores) {
  World w;
  w.Apply("a", 1, 0, EventType::kPurchase, kT0);
  w.Apply("b", 2, 0, EventType::kView, kT0);
  w.model.UpdateCatalog(1, 0, /*active=*/false);
  EXPECT_TRUE(w.model.HasItem(1));
  EXPECT_FALSE(w.model.item(1).active);
  EXPECT_EQ(w.model.category(0).top_items.WeightOf(1), kLogZero);
  EXPECT_EQ(w.model.global_top().WeightOf(1), kLogZero);
  // Events for an inactive item do not bring it back.
  w.Apply("c", 1, 0, EventType::kPurchase, kT0 + 1);
  EXPECT_EQ(w.model.global_top().WeightOf(1), kLogZero);
  w.model.UpdateCatalog(1, 0, /*active=*/true);
  EXPECT_NE(w.model.category(0).top_items.WeightOf(1), kLogZero);
  EXPECT_NE(w.model.global_top().WeightOf(1), kLogZero);

  // The catalog may introduce an item before any event.
  w.model.UpdateCatalog(7, 3, true);
  EXPECT_TRUE(w.model.HasItem(7));
  EXPECT_EQ(w.model.item(7).category, 3u);
  EXPECT_TRUE(w.model.HasCategory(3));
}

TEST(ItemModel, DirtyListsNameChangedRowsOnce) {
  World w;
  w.Apply("u", 1, 0, EventType::kView, kT0);
  w.Apply("u", 2, 1, EventType::kView, kT0 + 1);
  std::set<ItemId> items(w.model.dirty_items().begin(), w.model.dirty_items().end());
  EXPECT_EQ(items, (std::set<ItemId>{1, 2}));
  EXPECT_EQ(w.model.dirty_items().size(), 2u);
  EXPECT_TRUE(w.model.global_dirty());
  w.model.ClearDirty();
  EXPECT_TRUE(w.model.dirty_items().empty());
  EXPECT_TRUE(w.model.dirty_categories().empty());
  EXPECT_FALSE(w.model.global_dirty());
  w.Apply("v", 2, 1, EventType::kView, kT0 + 2);
  EXPECT_EQ(w.model.dirty_items(), (std::vector<ItemId>{2}));
}

// ---------------------------------------------------------------- recommenders

constexpr CategoryId kPhones = 0, kCases = 1, kChargers = 2, kShoes = 3;
// Items: phones 0-9, cases 10-19, chargers 20-29, shoes 30-39.
CategoryId CategoryOf(ItemId i) { return i / 10; }

// 40 buyers purchase a phone and then, a little later, a case (even buyers)
// or a charger (odd buyers); 20 browsers view shoes. Phones -> cases and
// phones -> chargers are the learned complements; shoes have none.
class RecommenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 40; ++i) {
      const std::string u = "t" + std::to_string(i);
      const int64_t ts = kT0 + i * kMinute;
      const ItemId phone = static_cast<ItemId>(i % 5);
      w.Apply(u, phone, kPhones, EventType::kPurchase, ts);
      const ItemId next = i % 2 == 0 ? 10 + static_cast<ItemId>(i % 5) : 20 + static_cast<ItemId>(i % 3);
      w.Apply(u, next, CategoryOf(next), EventType::kPurchase, ts + 30'000);
    }
    for (int i = 0; i < 20; ++i) {
      const std::string u = "s" + std::to_string(i);
      for (int k = 0; k < 3; ++k)
        w.Apply(u, 30 + static_cast<ItemId>(i % 5), kShoes, EventType::kView, kT0 + i * kMinute + k * 1000);
    }
  }

  // Applies the trigger to a user (as the pipeline does) and recommends.
  std::vector<Recommendation> After(Recommender& r, const std::string& user, ItemId item, EventType type,
                                    int64_t ts = kNow) {
    w.Apply(user, item, CategoryOf(item), type, ts);
    std::vector<Recommendation> out;
    r.Recommend(w.users[user], Ev(item, CategoryOf(item), type, ts), out);
    return out;
  }
  static const Recommendation* Find(const std::vector<Recommendation>& list, ItemId item) {
    for (const auto& r : list)
      if (r.item == item) return &r;
    return nullptr;
  }
  static std::map<CategoryId, int> PerCategory(const std::vector<Recommendation>& list) {
    std::map<CategoryId, int> n;
    for (const auto& r : list) n[r.category]++;
    return n;
  }

  static constexpr int64_t kNow = kT0 + 41 * kMinute;
  World w;
};

TEST_F(RecommenderTest, PurchaseInCategoryYieldsItsLearnedComplements) {
  CrossCategoryRecommender rec(w.model, RecommendOptions{});
  // A phone nobody bought before: no co-occurrence, only the category speaks.
  const auto list = After(rec, "x", 9, EventType::kPurchase);
  ASSERT_FALSE(list.empty());
  ASSERT_LE(list.size(), 20u);
  EXPECT_TRUE(list[0].category == kCases || list[0].category == kChargers)
      << "top item " << list[0].item << " in category " << list[0].category;
  EXPECT_EQ(list[0].reason, Reason::kComplement);
  int cases = 0, chargers = 0;
  for (const auto& r : list) {
    if (r.category == kCases && r.reason == Reason::kComplement) ++cases;
    if (r.category == kChargers && r.reason == Reason::kComplement) ++chargers;
  }
  EXPECT_EQ(cases, 5);     // every learned case
  EXPECT_EQ(chargers, 3);  // every learned charger
  // Every complement item ranks above every phone and every shoe.
  float worst_complement = 1e9f, best_other = 0;
  for (const auto& r : list) {
    if (r.category == kCases || r.category == kChargers) worst_complement = std::min(worst_complement, r.score);
    else best_other = std::max(best_other, r.score);
  }
  EXPECT_GT(worst_complement, best_other);
  for (size_t i = 1; i < list.size(); ++i) EXPECT_GE(list[i - 1].score, list[i].score) << "position " << i;

  // Control: a category without learned transitions yields no complement.
  const auto shoes = After(rec, "y", 35, EventType::kPurchase);
  ASSERT_FALSE(shoes.empty());
  for (const auto& r : shoes) EXPECT_NE(r.reason, Reason::kComplement) << "item " << r.item;
}

TEST_F(RecommenderTest, JustBoughtItemsAndTheTriggerAreExcluded) {
  CrossCategoryRecommender rec(w.model, RecommendOptions{});
  w.Apply("z", 10, kCases, EventType::kPurchase, kNow - 1000);
  // The case now co-occurs with phone 9 (strongest possible candidate), but
  // the user already owns it.
  const auto list = After(rec, "z", 9, EventType::kPurchase);
  ASSERT_NE(w.model.item(9).neighbours.WeightOf(10), kLogZero);
  EXPECT_EQ(Find(list, 10), nullptr);
  EXPECT_EQ(Find(list, 9), nullptr);
  EXPECT_NE(Find(list, 11), nullptr);  // other cases are still fine
  std::set<ItemId> unique;
  for (const auto& r : list) unique.insert(r.item);
  EXPECT_EQ(unique.size(), list.size()) << "duplicate items in the list";
}

TEST_F(RecommenderTest, PerCategoryQuotaIsRespected) {
  RecommendOptions opt;
  opt.k = 6;
  opt.max_per_category = 2;
  CrossCategoryRecommender rec(w.model, opt);
  const auto list = After(rec, "x", 9, EventType::kPurchase);
  ASSERT_EQ(list.size(), 6u);
  const auto per = PerCategory(list);
  EXPECT_GE(per.size(), 3u);
  for (const auto& [cat, n] : per) EXPECT_LE(n, 2) << "category " << cat;
}

TEST_F(RecommenderTest, QuotaNeverLeavesTheListShort) {
  RecommendOptions opt;
  opt.k = 10;
  opt.max_per_category = 1;  // 4 categories exist: the quota alone gives 4
  CrossCategoryRecommender rec(w.model, opt);
  const auto list = After(rec, "x", 9, EventType::kPurchase);
  EXPECT_EQ(list.size(), 10u);
  for (size_t i = 1; i < list.size(); ++i) EXPECT_GE(list[i - 1].score, list[i].score) << "position " << i;
}

TEST_F(RecommenderTest, EveryItemHasTheReasonOfItsStrongestSource) {
  CrossCategoryRecommender rec(w.model, RecommendOptions{});
  // Phone 0 was bought together with case 10 and chargers 20-22.
  const auto list = After(rec, "v", 0, EventType::kPurchase);
  const std::set<std::string_view> valid = {"complement", "bought_together", "similar", "popular"};
  for (const auto& r : list) {
    EXPECT_EQ(valid.count(ReasonName(r.reason)), 1u) << "item " << r.item;
    EXPECT_EQ(r.category, CategoryOf(r.item)) << "item " << r.item;
    EXPECT_GT(r.score, 0.0f) << "item " << r.item;
  }
  const Recommendation* together = Find(list, 10);
  const Recommendation* complement = Find(list, 11);
  const Recommendation* same_category = Find(list, 1);
  ASSERT_NE(together, nullptr);
  ASSERT_NE(complement, nullptr);
  ASSERT_NE(same_category, nullptr);
  EXPECT_EQ(together->reason, Reason::kBoughtTogether);
  EXPECT_EQ(complement->reason, Reason::kComplement);
  EXPECT_EQ(same_category->reason, Reason::kPopular);
  EXPECT_EQ(list[0].item, 10u);  // co-occurrence outweighs everything
}

TEST_F(RecommenderTest, InactiveItemsAreDropped) {
  CrossCategoryRecommender rec(w.model, RecommendOptions{});
  auto before = After(rec, "v", 0, EventType::kPurchase);
  ASSERT_NE(Find(before, 10), nullptr);
  w.model.UpdateCatalog(10, kCases, /*active=*/false);
  std::vector<Recommendation> after;
  rec.Recommend(w.users["v"], Ev(0, kPhones, EventType::kPurchase, kNow), after);
  EXPECT_EQ(Find(after, 10), nullptr);
  EXPECT_NE(Find(after, 11), nullptr);
  // A fresh user and trigger: still never recommended.
  const auto other = After(rec, "x", 9, EventType::kPurchase, kNow + 1000);
  EXPECT_EQ(Find(other, 10), nullptr);
}

TEST_F(RecommenderTest, OutputIsDeterministic) {
  CrossCategoryRecommender a(w.model, RecommendOptions{});
  CrossCategoryRecommender b(w.model, RecommendOptions{});
  w.Apply("x", 9, kPhones, EventType::kPurchase, kNow);
  const Event e = Ev(9, kPhones, EventType::kPurchase, kNow);
  std::vector<Recommendation> la, lb, la2;
  a.Recommend(w.users["x"], e, la);
  b.Recommend(w.users["x"], e, lb);
  a.Recommend(w.users["x"], e, la2);  // scratch reuse does not leak
  ASSERT_EQ(la.size(), lb.size());
  ASSERT_EQ(la.size(), la2.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i].item, lb[i].item);
    EXPECT_EQ(la[i].score, lb[i].score);
    EXPECT_EQ(la[i].item, la2[i].item);
  }
}

TEST_F(RecommenderTest, PopularityBaselineRanksByDecayedPopularity) {
  constexpr size_t kK = 8;
  PopularityRecommender rec(w.model, kK);
  w.Apply("p", 2, kPhones, EventType::kPurchase, kNow - 1000);
  const auto list = After(rec, "p", 31, EventType::kView);
  // Expected, computed independently: every active item by popularity,
  // minus the trigger and the user's purchases.
  std::vector<ItemId> eligible;
  for (ItemId i = 0; i < w.model.item_count(); ++i)
    if (w.model.HasItem(i) && w.model.item(i).active && i != 31 && i != 2) eligible.push_back(i);
  std::stable_sort(eligible.begin(), eligible.end(),
                   [&](ItemId a, ItemId b) { return w.model.item(a).log_pop > w.model.item(b).log_pop; });
  eligible.resize(kK);
  ASSERT_EQ(list.size(), kK);
  for (size_t i = 0; i < kK; ++i) {
    EXPECT_EQ(list[i].item, eligible[i]) << "position " << i;
    EXPECT_EQ(list[i].reason, Reason::kPopular);
  }
  for (size_t i = 1; i < list.size(); ++i) EXPECT_GE(list[i - 1].score, list[i].score);
}

TEST_F(RecommenderTest, CooccurrenceBaselineGivesNeighboursThenPopular) {
  constexpr size_t kK = 10;
  CooccurrenceRecommender rec(w.model, kK);
  const auto list = After(rec, "v", 0, EventType::kPurchase);
  ASSERT_EQ(list.size(), kK);
  // Phone 0's buyers bought case 10 (4x) and chargers 22 (2x), 20, 21.
  EXPECT_EQ(list[0].item, 10u);
  EXPECT_EQ(list[1].item, 22u);
  std::set<ItemId> together;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(list[i].reason, Reason::kBoughtTogether) << "position " << i;
    together.insert(list[i].item);
  }
  EXPECT_EQ(together, (std::set<ItemId>{10, 20, 21, 22}));
  std::set<ItemId> unique;
  for (size_t i = 0; i < list.size(); ++i) {
    unique.insert(list[i].item);
    if (i >= 4) {
      EXPECT_EQ(list[i].reason, Reason::kPopular) << "position " << i;
    }
    EXPECT_NE(list[i].item, 0u);
  }
  EXPECT_EQ(unique.size(), list.size());

  // An item nobody paired: popular items only, never short.
  const auto cold = After(rec, "x", 9, EventType::kView);
  ASSERT_EQ(cold.size(), kK);
  for (const auto& r : cold) EXPECT_EQ(r.reason, Reason::kPopular);
}

TEST(Types, EventTypeNamesAndAliases) {
  EXPECT_EQ(ParseEventType("pv"), EventType::kView);
  EXPECT_EQ(ParseEventType("buy"), EventType::kPurchase);
  EXPECT_EQ(ParseEventType("fav"), EventType::kFav);
  EXPECT_EQ(ParseEventType("Purchase"), std::nullopt);
  EXPECT_EQ(ParseEventType(""), std::nullopt);
  for (int t = 0; t < kEventTypeCount; ++t) {
    const auto type = static_cast<EventType>(t);
    EXPECT_EQ(ParseEventType(EventTypeName(type)), type);
  }
}

}  // namespace
}  // namespace recstream::model
