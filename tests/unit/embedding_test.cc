// The online embedding model's parts: the negative sampler, the trainer,
// the user encoder, and that training is a pure function of the events
// (a model restored from its rows continues exactly as the original).
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <map>
#include <vector>

#include "model/embedding.h"
#include "model/sampler.h"
#include "model/user_encoder.h"

namespace recstream::model {
namespace {

constexpr std::array<double, kEventTypeCount> kWeights{1, 2, 4, 3, 8};

TEST(FenwickSampler, DrawsInProportionToWeights) {
  FenwickSampler s;
  const std::vector<uint64_t> w = {5, 0, 1, 10, 4, 0, 20};
  for (size_t i = 0; i < w.size(); ++i) s.Set(i, w[i]);
  ASSERT_EQ(s.total(), 40u);
  SplitMix64 rng(7);
  std::vector<double> hits(w.size(), 0);
  const int n = 400'000;
  for (int i = 0; i < n; ++i) {
    const size_t slot = s.Sample(rng.Next());
    ASSERT_LT(slot, w.size());
    hits[slot] += 1;
  }
  for (size_t i = 0; i < w.size(); ++i) {
    const double expected = static_cast<double>(w[i]) / 40.0;
    EXPECT_NEAR(hits[i] / n, expected, 0.005) << "slot " << i;
  }
}

TEST(FenwickSampler, FollowsUpdatesAndIsIndependentOfUpdateOrder) {
  FenwickSampler a, b;
  for (size_t i = 0; i < 100; ++i) a.Set(i, i + 1);
  a.Set(50, 0);
  a.Set(99, 1000);
  for (size_t i = 100; i-- > 0;) b.Set(i, i == 50 ? 0 : i == 99 ? 1000 : i + 1);
  ASSERT_EQ(a.total(), b.total());
  SplitMix64 ra(3), rb(3);
  for (int i = 0; i < 10'000; ++i) {
    const size_t x = a.Sample(ra.Next());
    ASSERT_EQ(x, b.Sample(rb.Next()));
    ASSERT_NE(x, 50u) << "a zero-weight slot was drawn";
  }
  FenwickSampler empty;
  EXPECT_EQ(empty.Sample(123), SIZE_MAX);
}

double Cosine(const float* a, const float* b, size_t dim) {
  Eigen::Map<const Eigen::VectorXf> x(a, static_cast<Eigen::Index>(dim)), y(b, static_cast<Eigen::Index>(dim));
  return x.dot(y) / (x.norm() * y.norm() + 1e-12);
}

// Users alternate between two "worlds": items 0-9 always follow each other,
// items 10-19 too; the worlds never mix. After training, an item is closer
// (input . output) to items of its own world than to the other world's.
TEST(EmbeddingModel, ItemsThatCooccurGetCloser) {
  EmbeddingOptions opt;
  opt.dim = 16;
  opt.admit_after = 1;
  EmbeddingModel m(opt, kWeights);
  SplitMix64 rng(11);
  std::map<ItemId, uint32_t> seen;
  int64_t ts = 1'700'000'000'000;
  for (int user = 0; user < 3000; ++user) {
    const ItemId base = (user % 2) * 10;
    std::vector<UserEvent> history;
    for (int step = 0; step < 6; ++step) {
      const ItemId item = base + static_cast<ItemId>(rng.Next() % 10);
      const Event e{item, base == 0 ? 0u : 1u, EventType::kView, ts++};
      m.Learn(e, history, ++seen[item]);
      history.push_back({e.item, e.category, e.type, e.ts_ms});
    }
  }
  double same = 0, other = 0;
  int n_same = 0, n_other = 0;
  for (ItemId a = 0; a < 20; ++a) {
    for (ItemId b = 0; b < 20; ++b) {
      if (a == b) continue;
      ASSERT_TRUE(m.HasItemRow(a));
      const double d = Eigen::Map<const Eigen::VectorXf>(m.ItemIn(a, a / 10), 16)
                           .dot(Eigen::Map<const Eigen::VectorXf>(m.ItemOut(b, b / 10), 16));
      if (a / 10 == b / 10) same += d, ++n_same;
      else other += d, ++n_other;
    }
  }
  EXPECT_GT(same / n_same, other / n_other + 1.0) << "same world " << same / n_same << ", other " << other / n_other;
  // The category vectors learned the same split.
  EXPECT_GT(m.CategoryAffinity(0, 0), m.CategoryAffinity(0, 1));
  EXPECT_GT(m.CategoryAffinity(1, 1), m.CategoryAffinity(1, 0));
}

TEST(EmbeddingModel, NewItemsStartFromTheirCategoryAndAreAdmittedOnlyOnceTheyRecur) {
  EmbeddingOptions opt;
  opt.dim = 8;
  opt.admit_after = 2;
  EmbeddingModel m(opt, kWeights);
  std::vector<UserEvent> h;
  m.Learn({1, 5, EventType::kView, 1000}, h, 1);
  EXPECT_FALSE(m.HasItemRow(1)) << "seen once: no row yet";
  EXPECT_TRUE(m.HasCategoryRow(5));
  EXPECT_EQ(m.ItemIn(1, 5), m.CategoryIn(5)) << "an item without a row is its category";
  m.Learn({1, 5, EventType::kView, 2000}, h, 2);
  ASSERT_TRUE(m.HasItemRow(1));
  EXPECT_GT(Cosine(m.ItemIn(1, 5), m.CategoryIn(5), 8), 0.3) << "a new row starts near its category";
  EXPECT_EQ(m.live_item_rows(), 1u);
}

TEST(EmbeddingModel, IdleRowsExpireAndTheirMemoryIsReused) {
  EmbeddingOptions opt;
  opt.dim = 4;
  opt.admit_after = 1;
  opt.expire_after_ms = 1000;
  EmbeddingModel m(opt, kWeights);
  std::vector<UserEvent> h;
  for (ItemId i = 0; i < 10; ++i) m.Learn({i, 0, EventType::kView, 0}, h, 1);
  EXPECT_EQ(m.live_item_rows(), 10u);
  // Much later, one item keeps being used; the sweep frees the idle ones.
  for (int t = 0; t < 20; ++t) m.Learn({42, 0, EventType::kView, 10'000 + t}, h, static_cast<uint32_t>(t + 1));
  EXPECT_EQ(m.live_item_rows(), 1u);
  EXPECT_TRUE(m.HasItemRow(42));
  EXPECT_FALSE(m.HasItemRow(3));
  // Freed rows show up as dirty ids with no row (state/ deletes them).
  bool deleted = false;
  for (ItemId i : m.dirty_items()) deleted |= i == 3 && m.ItemRowView(i).meta == nullptr;
  EXPECT_TRUE(deleted);
  EXPECT_LE(m.globals().item_table_rows, 11u) << "rows are reused, not appended";
}

TEST(EmbeddingModel, MemoryIsBoundedByMaxItemRows) {
  EmbeddingOptions opt;
  opt.dim = 4;
  opt.admit_after = 1;
  opt.max_item_rows = 5;
  EmbeddingModel m(opt, kWeights);
  std::vector<UserEvent> h;
  for (ItemId i = 0; i < 50; ++i) m.Learn({i, 0, EventType::kView, i}, h, 1);
  EXPECT_EQ(m.live_item_rows(), 5u);
}

// A model rebuilt from its rows (what state/ persists) continues exactly as
// the original: same draws, same vectors.
TEST(EmbeddingModel, RestoredModelContinuesBitForBit) {
  EmbeddingOptions opt;
  opt.dim = 8;
  opt.admit_after = 1;
  opt.expire_after_ms = 50;
  auto stream = [](int from, int to, EmbeddingModel& m) {
    SplitMix64 rng(5);
    std::vector<UserEvent> h;
    for (int i = 0; i < to; ++i) {
      const ItemId item = static_cast<ItemId>(rng.Next() % 40);
      const Event e{item, item % 4, static_cast<EventType>(rng.Next() % kEventTypeCount), i};
      if (h.size() > 5) h.erase(h.begin());
      if (i >= from) m.Learn(e, h, 3);
      h.push_back({e.item, e.category, e.type, e.ts_ms});
    }
  };
  EmbeddingModel a(opt, kWeights);
  stream(0, 300, a);
  // Copy every live row into b, as a restore from RocksDB would.
  EmbeddingModel b(opt, kWeights);
  b.RestoreGlobals(a.globals());
  for (ItemId i = 0; i < 40; ++i) {
    auto r = a.ItemRowView(i);
    if (r.meta) b.RestoreItem(i, a.item_row_index(i), *r.meta, {r.in, 8}, {r.out, 8});
  }
  for (CategoryId c = 0; c < 4; ++c) {
    auto r = a.CategoryRowView(c);
    if (r.meta) b.RestoreCategory(c, *r.meta, {r.in, 8}, {r.out, 8});
  }
  b.FinishRestore();
  stream(300, 600, a);
  stream(300, 600, b);
  for (ItemId i = 0; i < 40; ++i) {
    ASSERT_EQ(a.HasItemRow(i), b.HasItemRow(i)) << i;
    if (!a.HasItemRow(i)) continue;
    for (int d = 0; d < 8; ++d) {
      ASSERT_EQ(a.ItemIn(i, 0)[d], b.ItemIn(i, 0)[d]) << "item " << i;
      ASSERT_EQ(a.ItemOut(i, 0)[d], b.ItemOut(i, 0)[d]) << "item " << i;
    }
  }
}

TEST(UserEncoder, AttentionWeightsSumToOneAndFavourRecentHeavyRelevantEvents) {
  EmbeddingOptions opt;
  opt.dim = 8;
  opt.admit_after = 1;
  EmbeddingModel m(opt, kWeights);
  std::vector<UserEvent> h;
  for (ItemId i = 0; i < 4; ++i) m.Learn({i, i, EventType::kView, i}, h, 1);
  UserEncoder enc(m, kWeights);
  UserState u;
  u.recent = {{0, 0, EventType::kView, 0}, {1, 1, EventType::kView, 1}, {2, 2, EventType::kView, 2}};
  std::vector<float> vec(8);
  enc.Encode(u, {3, 3, EventType::kView, 3}, vec.data());
  auto w = enc.weights();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NEAR(w[0] + w[1] + w[2], 1.0, 1e-5);
  EXPECT_GT(w[2], w[1]) << "recency prior";
  EXPECT_GT(w[1], w[0]) << "recency prior";
  // A purchase outweighs a more recent view.
  u.recent[0].type = EventType::kPurchase;
  enc.Encode(u, {3, 3, EventType::kView, 3}, vec.data());
  EXPECT_GT(enc.weights()[0], enc.weights()[2]);
  // No history: the user vector is the trigger item's.
  UserState fresh;
  enc.Encode(fresh, {3, 3, EventType::kView, 3}, vec.data());
  for (int d = 0; d < 8; ++d) EXPECT_EQ(vec[d], m.ItemIn(3, 3)[d]);
}

}  // namespace
}  // namespace recstream::model
