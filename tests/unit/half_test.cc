// The binary16 scoring copies (model/half.h): conversion rounds as IEEE
// says, the vector paths agree with the scalar one bit for bit, the dot
// product is as close to float's as binary16 allows, and the embedding
// model keeps every copy equal to its float vector through training and
// restore.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "model/embedding.h"
#include "model/half.h"
#include "model/sampler.h"

namespace recstream::model {
namespace {

TEST(Half, ConvertsAndRoundsToNearestEven) {
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF) << "the largest finite binary16";
  EXPECT_EQ(FloatToHalf(1e6f), 0x7C00) << "overflow is infinity";
  EXPECT_EQ(FloatToHalf(1e-9f), 0x0000) << "underflow is zero";
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001) << "the smallest subnormal";
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even one.
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  for (float f : {0.5f, -0.25f, 3.140625f, 1024.0f}) EXPECT_EQ(HalfToFloat(FloatToHalf(f)), f) << f;
}

std::vector<float> RandomFloats(size_t n, uint64_t seed, float scale) {
  SplitMix64 rng(seed);
  std::vector<float> v(n);
  for (float& f : v) f = scale * (static_cast<float>(rng.Next() % 2'000'001) / 1e6f - 1.0f);
  return v;
}

// Lengths that exercise the 16-wide, the 8-wide and the scalar tail.
const size_t kLengths[] = {0, 1, 7, 8, 13, 16, 24, 37, 64, 128};

TEST(Half, VectorPathsAgreeWithTheScalarConversion) {
  for (size_t n : kLengths) {
    const std::vector<float> src = RandomFloats(n, 3 + n, 4.0f);
    std::vector<uint16_t> h(n);
    ToHalf(src.data(), h.data(), n);
    std::vector<float> back(n);
    FromHalf(h.data(), back.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[i], FloatToHalf(src[i])) << "n " << n << " i " << i;
      ASSERT_EQ(back[i], HalfToFloat(h[i])) << "n " << n << " i " << i;
      // binary16 keeps 11 significant bits: relative error at most 2^-11.
      ASSERT_LE(std::fabs(back[i] - src[i]), std::ldexp(std::fabs(src[i]), -11) + 1e-7f);
    }
  }
}

TEST(Half, DotProductMatchesTheExactOneOfTheRoundedVector) {
  for (size_t n : kLengths) {
    const std::vector<float> u = RandomFloats(n, 100 + n, 1.0f);
    const std::vector<float> v = RandomFloats(n, 200 + n, 1.0f);
    std::vector<uint16_t> h(n);
    ToHalf(v.data(), h.data(), n);
    double exact = 0, magnitude = 0;  // of u . half(v), in double
    for (size_t i = 0; i < n; ++i) {
      exact += static_cast<double>(u[i]) * HalfToFloat(h[i]);
      magnitude += std::fabs(static_cast<double>(u[i]) * HalfToFloat(h[i]));
    }
    // Summed in float, in whatever order: float's rounding, no more.
    EXPECT_NEAR(DotHalf(u.data(), h.data(), n), exact, 1e-6 * (magnitude + 1)) << "n " << n;
  }
}

void ExpectCopiesMatch(const EmbeddingModel& m, ItemId items, CategoryId categories) {
  const size_t dim = m.dim();
  std::vector<uint16_t> want(dim);
  for (ItemId i = 0; i < items; ++i) {
    for (CategoryId c = 0; c < categories; ++c) {
      ToHalf(m.ItemIn(i, c), want.data(), dim);
      ASSERT_EQ(0, std::memcmp(want.data(), m.ItemIn16(i, c), dim * 2)) << "in, item " << i << " category " << c;
      ToHalf(m.ItemOut(i, c), want.data(), dim);
      ASSERT_EQ(0, std::memcmp(want.data(), m.ItemOut16(i, c), dim * 2)) << "out, item " << i << " category " << c;
    }
    if (m.HasItemRow(i)) ASSERT_EQ(m.ItemOut16IfRow(i), m.ItemOut16(i, 0));
    else ASSERT_EQ(m.ItemOut16IfRow(i), nullptr);
  }
}

TEST(Half, EmbeddingCopiesFollowTrainingExpiryAndRestore) {
  EmbeddingOptions opt;
  opt.dim = 24;  // not a multiple of 16: the tails too
  opt.admit_after = 2;
  opt.expire_after_ms = 200;
  constexpr std::array<double, kEventTypeCount> weights{1, 2, 4, 3, 8};
  EmbeddingModel a(opt, weights);
  SplitMix64 rng(9);
  std::vector<UserEvent> h;
  std::vector<uint32_t> seen(60, 0);
  for (int t = 0; t < 2000; ++t) {
    const ItemId item = static_cast<ItemId>(rng.Next() % 60);
    const Event e{item, item % 5, static_cast<EventType>(rng.Next() % kEventTypeCount), t};
    a.Learn(e, h, ++seen[item]);
    if (h.size() > 6) h.erase(h.begin());
    h.push_back({e.item, e.category, e.type, e.ts_ms});
  }
  ASSERT_GT(a.live_item_rows(), 10u);
  ExpectCopiesMatch(a, 60, 6);  // category 5 has no row: zeros in both

  EmbeddingModel b(opt, weights);
  b.RestoreGlobals(a.globals());
  for (ItemId i = 0; i < 60; ++i) {
    auto r = a.ItemRowView(i);
    if (r.meta) b.RestoreItem(i, a.item_row_index(i), *r.meta, {r.in, 24}, {r.out, 24});
  }
  for (CategoryId c = 0; c < 5; ++c) {
    auto r = a.CategoryRowView(c);
    if (r.meta) b.RestoreCategory(c, *r.meta, {r.in, 24}, {r.out, 24});
  }
  b.FinishRestore();
  ExpectCopiesMatch(b, 60, 6);
}

}  // namespace
}  // namespace recstream::model
