#include "model/ranker.h"

#include <algorithm>
#include <cmath>

namespace recstream::model {

std::string_view FeatureName(Feature f) {
  switch (f) {
    case Feature::kCoocTrigger: return "cooc_trigger";
    case Feature::kCoocTriggerLog: return "cooc_trigger_log";
    case Feature::kCoocRecent: return "cooc_recent";
    case Feature::kCoocRecentLog: return "cooc_recent_log";
    case Feature::kComplement: return "complement";
    case Feature::kAffinity: return "affinity";
    case Feature::kSameCategory: return "same_category";
    case Feature::kTrend: return "trend";
    case Feature::kCount: return "count";
    case Feature::kEmbedding: return "embedding";
    case Feature::kHistory: return "history";
    case Feature::kHistoryRecency: return "history_recency";
    case Feature::kCategoryTrend: return "category_trend";
    case Feature::kComplementAfterPurchase: return "complement_after_purchase";
    case Feature::kInCart: return "in_cart";
    case Feature::kInCartRecency: return "in_cart_recency";
    case Feature::kComplementLift: return "complement_lift";
    case Feature::kCoocSum: return "cooc_sum";
    case Feature::kCount_: break;
  }
  return "?";
}

namespace {

// A starting blend that already ranks sensibly before anything is learned:
// co-occurrence with the trigger first, then the earlier items, complement
// categories, the user's categories and what is popular now.
std::array<float, kFeatureCount> InitialWeights(const RankerOptions& opt) {
  std::array<float, kFeatureCount> w{};
  auto set = [&](Feature f, double v) { w[static_cast<size_t>(f)] = static_cast<float>(v); };
  set(Feature::kCoocTrigger, 3.0);
  set(Feature::kCoocTriggerLog, 2.0);
  set(Feature::kCoocRecent, 1.5);
  set(Feature::kCoocRecentLog, 1.0);
  set(Feature::kComplement, 1.5);
  set(Feature::kAffinity, 0.5);
  set(Feature::kSameCategory, 0.5);
  set(Feature::kTrend, 1.0);
  set(Feature::kCount, 0.5);
  set(Feature::kEmbedding, opt.embedding_weight);
  set(Feature::kHistory, 0.5);
  set(Feature::kHistoryRecency, 0.5);
  set(Feature::kCategoryTrend, 1.0);
  set(Feature::kComplementAfterPurchase, 1.0);
  // What a user carted and has not bought is the likeliest next purchase.
  set(Feature::kInCart, 1.0);
  set(Feature::kInCartRecency, 1.0);
  set(Feature::kComplementLift, 1.0);
  set(Feature::kCoocSum, 1.0);
  return w;
}

constexpr float kAdagradInitial = 0.1f;

float Dot(const Features& f, std::span<const float> w) {
  float s = 0;
  for (size_t i = 0; i < kFeatureCount; ++i) s += w[i] * f[i];
  return s;
}

float MaxScore(std::span<const Features> c, std::span<const float> w) {
  float m = -INFINITY;
  for (const auto& f : c) m = std::max(m, Dot(f, w));
  return m;
}

}  // namespace

Ranker::Ranker(const RankerOptions& opt) : opt_(opt), w_(InitialWeights(opt)) { g2_.fill(kAdagradInitial); }

double Ranker::Loss(std::span<const Features> c, size_t positive, std::span<const float> w) {
  const float m = MaxScore(c, w);
  double z = 0;
  for (const auto& f : c) z += std::exp(static_cast<double>(Dot(f, w) - m));
  return std::log(z) - static_cast<double>(Dot(c[positive], w) - m);
}

void Ranker::Gradient(std::span<const Features> c, size_t positive, std::span<const float> w,
                      std::span<float> grad) {
  // d/dw [log sum exp(s) - s_pos] = E_softmax[f] - f_pos.
  const float m = MaxScore(c, w);
  double z = 0;
  std::fill(grad.begin(), grad.end(), 0.0f);
  for (const auto& f : c) {
    const auto e = static_cast<float>(std::exp(static_cast<double>(Dot(f, w) - m)));
    z += e;
    for (size_t i = 0; i < kFeatureCount; ++i) grad[i] += e * f[i];
  }
  const auto inv = static_cast<float>(1.0 / z);
  for (size_t i = 0; i < kFeatureCount; ++i) grad[i] = grad[i] * inv - c[positive][i];
}

void Ranker::Learn(std::span<const Features> candidates, size_t positive, float weight) {
  if (opt_.learning_rate <= 0 || candidates.size() < 2 || !(weight > 0)) return;
  Gradient(candidates, positive, w_, grad_);
  for (float& g : grad_) g *= weight;
  const auto lr = static_cast<float>(opt_.learning_rate);
  for (size_t i = 0; i < kFeatureCount; ++i) {
    g2_[i] += grad_[i] * grad_[i];
    w_[i] -= lr / std::sqrt(g2_[i]) * grad_[i];
  }
  ++updates_;
  dirty_ = true;
}

void Ranker::Restore(const Snapshot& s) {
  w_ = s.weights;
  g2_ = s.g2;
  updates_ = s.updates;
  dirty_ = false;
}

}  // namespace recstream::model
