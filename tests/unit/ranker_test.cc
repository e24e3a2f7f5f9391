// The model scorer's learned blend (model/ranker.h): its gradient against
// finite differences, that learning moves the chosen candidate up, and that
// the persisted row restores it exactly. Also the gradient check of the
// embedding trainer's skip-gram step (model/embedding.h).
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <vector>

#include "model/embedding.h"
#include "model/ranker.h"
#include "model/sampler.h"
#include "state/model_codec.h"

namespace recstream::model {
namespace {

std::vector<Features> RandomCandidates(size_t n, SplitMix64& rng) {
  std::vector<Features> c(n);
  for (auto& f : c)
    for (auto& x : f) x = static_cast<float>(rng.Next() % 1000) / 1000.0f;
  return c;
}

TEST(Ranker, GradientMatchesFiniteDifferences) {
  SplitMix64 rng(11);
  for (int trial = 0; trial < 5; ++trial) {
    const auto c = RandomCandidates(7, rng);
    std::array<float, kFeatureCount> w{};
    for (auto& x : w) x = static_cast<float>(static_cast<int>(rng.Next() % 400) - 200) / 100.0f;
    const size_t pos = rng.Next() % c.size();
    std::array<float, kFeatureCount> grad{};
    Ranker::Gradient(c, pos, w, grad);
    for (size_t i = 0; i < kFeatureCount; ++i) {
      const float h = 1e-2f;
      auto plus = w, minus = w;
      plus[i] += h;
      minus[i] -= h;
      const double numeric = (Ranker::Loss(c, pos, plus) - Ranker::Loss(c, pos, minus)) / (2.0 * h);
      EXPECT_NEAR(grad[i], numeric, 2e-3) << "feature " << FeatureName(static_cast<Feature>(i)) << ", trial " << trial;
    }
  }
}

TEST(Ranker, LearnsWhichFeaturePredictsTheChoice) {
  // The chosen candidate is always the one with the highest embedding
  // feature; the co-occurrence features (weighted most at the start) are
  // noise. The blend must come to rank the chosen one first.
  Ranker r(RankerOptions{0.3, 0.0});
  SplitMix64 rng(5);
  const auto emb = static_cast<size_t>(Feature::kEmbedding);
  auto episode = [&](std::vector<Features>& c) {
    c = RandomCandidates(20, rng);
    size_t best = 0;
    for (size_t i = 1; i < c.size(); ++i)
      if (c[i][emb] > c[best][emb]) best = i;
    return best;
  };
  auto ranked_first = [&](int n) {
    int first = 0;
    std::vector<Features> c;
    for (int e = 0; e < n; ++e) {
      const size_t best = episode(c);
      size_t top = 0;
      for (size_t i = 1; i < c.size(); ++i)
        if (r.Score(c[i]) > r.Score(c[top])) top = i;
      first += top == best;
    }
    return first;
  };
  const int before = ranked_first(200);
  std::vector<Features> c;
  for (int e = 0; e < 5000; ++e) {
    const size_t best = episode(c);
    r.Learn(c, best);
  }
  EXPECT_EQ(r.updates(), 5000u);
  EXPECT_TRUE(r.dirty());
  const int after = ranked_first(200);
  EXPECT_LT(before, 60) << "the initial blend should not already know";
  EXPECT_GT(after, 150) << "before " << before;
  std::printf("ranked first: %d of 200 before learning, %d after\n", before, after);
  EXPECT_GT(r.weights()[emb], 3.0f);
}

TEST(Ranker, ZeroLearningRateKeepsTheInitialBlend) {
  Ranker r(RankerOptions{0.0, 2.0});
  const auto w0 = r.weights();
  SplitMix64 rng(1);
  const auto c = RandomCandidates(10, rng);
  r.Learn(c, 3);
  EXPECT_EQ(r.weights(), w0);
  EXPECT_EQ(r.weights()[static_cast<size_t>(Feature::kEmbedding)], 2.0f);
  EXPECT_FALSE(r.dirty());
}

TEST(Ranker, PersistedRowRestoresTheBlendExactly) {
  Ranker a(RankerOptions{});
  SplitMix64 rng(9);
  for (int i = 0; i < 50; ++i) a.Learn(RandomCandidates(12, rng), static_cast<size_t>(i % 12));
  std::string row;
  state::EncodeRanker(a.snapshot(), row);
  Ranker::Snapshot snap;
  size_t features = 0;
  ASSERT_TRUE(state::DecodeRanker(row, snap, features));
  ASSERT_EQ(features, kFeatureCount);
  Ranker b(RankerOptions{});
  b.Restore(snap);
  EXPECT_EQ(b.weights(), a.weights());
  EXPECT_EQ(b.updates(), a.updates());
  // Both continue identically.
  SplitMix64 r1(3), r2(3);
  const auto c1 = RandomCandidates(12, r1);
  const auto c2 = RandomCandidates(12, r2);
  a.Learn(c1, 4);
  b.Learn(c2, 4);
  EXPECT_EQ(b.weights(), a.weights());
  // Corrupt rows are refused, never misread.
  for (size_t cut = 0; cut < row.size(); ++cut)
    EXPECT_FALSE(state::DecodeRanker(std::string_view(row).substr(0, cut), snap, features)) << cut;
  std::string bad = row;
  bad[0] = 99;
  EXPECT_FALSE(state::DecodeRanker(bad, snap, features));
}

// The skip-gram trainer's step on one positive pair, checked against finite
// differences of its loss L = -w log sigma(v . t): AdaGrad moves each vector
// by lr / sqrt(g2) times the negative gradient, both taken at the old values.
TEST(EmbeddingTrainer, SkipGramStepFollowsTheLossGradient) {
  EmbeddingOptions opt;
  opt.dim = 4;
  opt.window = 1;
  opt.negatives = 0;
  opt.category_context = false;
  opt.admit_after = 1;
  opt.learning_rate = 0.1;
  const std::array<double, kEventTypeCount> weights{1, 2, 4, 3, 8};
  EmbeddingModel m(opt, weights);
  const ItemId j = 1, i = 2;
  const CategoryId c = 0;
  std::vector<UserEvent> history;
  auto event = [&](ItemId item, int64_t ts) {
    const Event e{item, c, EventType::kView, ts};
    m.Learn(e, history, 1);
    history.push_back({item, c, EventType::kView, ts});
    if (history.size() > 1) history.erase(history.begin());
  };
  // Warm up so that neither vector is zero (output vectors start at 0).
  event(j, 1000);
  event(i, 2000);
  event(j, 3000);
  const size_t d = opt.dim;
  std::vector<double> v(m.ItemIn(j, c), m.ItemIn(j, c) + d), t(m.ItemOut(i, c), m.ItemOut(i, c) + d);
  const float g2_in = m.ItemRowView(j).meta->g2_in, g2_out = m.ItemRowView(i).meta->g2_out;
  const double w = 1.0 / ((1 + 2 + 4 + 3 + 8) / 5.0);  // a view, distance 1
  auto loss = [&](const std::vector<double>& a, const std::vector<double>& b) {
    double dot = 0;
    for (size_t k = 0; k < d; ++k) dot += a[k] * b[k];
    return -w * std::log(1.0 / (1.0 + std::exp(-dot)));
  };
  ASSERT_GT(std::abs(loss(v, t)), 0);
  event(i, 4000);  // trains (j -> i) once more
  const double h = 1e-5;
  for (size_t k = 0; k < d; ++k) {
    auto vp = v, vm = v, tp = t, tm = t;
    vp[k] += h;
    vm[k] -= h;
    tp[k] += h;
    tm[k] -= h;
    const double dv = (loss(vp, t) - loss(vm, t)) / (2 * h);
    const double dt = (loss(v, tp) - loss(v, tm)) / (2 * h);
    const double step_v = m.ItemIn(j, c)[k] - v[k];
    const double step_t = m.ItemOut(i, c)[k] - t[k];
    EXPECT_NEAR(step_v, -opt.learning_rate / std::sqrt(g2_in) * dv, 1e-5) << "input vector, dim " << k;
    EXPECT_NEAR(step_t, -opt.learning_rate / std::sqrt(g2_out) * dt, 1e-5) << "output vector, dim " << k;
    EXPECT_NE(step_v, 0.0);
  }
}

}  // namespace
}  // namespace recstream::model
