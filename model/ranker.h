// Ranker: the model scorer's one blended score, a log-linear function of a
// few features per candidate, with its weights learned online from the
// stream (DESIGN §3, "one blended score").
//
// Why learned and not hand-set: how much co-occurrence, complement
// categories, popularity and the user vector should count differs by shop —
// on MovieLens the neighbours of the last film predict best, on Taobao the
// complement categories and the trend carry more. A listwise objective
// learns it: for an event e of a user with history, the candidates the
// scorer would have ranked for the user's previous event are scored, and the
// softmax over them is pushed towards e's item when it is among them (a
// sampled-softmax step; the candidate set is the sample). Row-wise AdaGrad,
// like the embeddings.
//
// Determinism: the weights are a pure function of the events learned, in
// order; persisted with the model (state/ModelStore) so a restart continues.
// Concurrency: one writer; no allocation per call.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace recstream::model {

// Features of a candidate, each scaled to about [0, 1] (kEmbedding: [-1, 1]).
enum class Feature : uint8_t {
  kCoocTrigger = 0,   // 1 if a co-occurrence neighbour of the trigger item
  kCoocTriggerLog,    // its weight relative to the strongest neighbour, log-scaled
  kCoocRecent,        // 1 if a neighbour of one of the two items before the trigger
  kCoocRecentLog,     // that weight, log-scaled
  kComplement,        // complement score of the candidate's category, log-scaled
  kAffinity,          // the user's affinity for its category, log-scaled
  kSameCategory,      // 1 if in the trigger's category
  kTrend,             // decayed popularity relative to the most popular item, log-scaled
  kCount,             // log of the events seen for the item, /10
  kEmbedding,         // user vector . item output vector, /10, clipped
  kHistory,           // 1 if among the user's own recent items
  kHistoryRecency,    // how recent: 0.8^(distinct items since)
  kCategoryTrend,     // decayed popularity relative to its category's most popular item, log-scaled
  kComplementAfterPurchase,  // kComplement when the trigger is a purchase, else 0
  kInCart,            // 1 if the user carted or faved it and has not bought it since
  kInCartRecency,     // how recent that was: 0.8^(events since)
  kComplementLift,    // log lift of its category after the trigger's, /5, clipped to [0, 1]
  kCoocSum,           // co-occurrence summed over the trigger and the two items before it (1, 1/2, 1/4)
  kCount_,
};
inline constexpr size_t kFeatureCount = static_cast<size_t>(Feature::kCount_);
std::string_view FeatureName(Feature f);

using Features = std::array<float, kFeatureCount>;

struct RankerOptions {
  // AdaGrad base learning rate of the blend weights; 0 keeps the initial
  // weights. Default: 0.05.
  double learning_rate = 0.05;
  // Initial weight of the embedding feature. Default: 1.0.
  double embedding_weight = 1.0;
};

class Ranker {
 public:
  explicit Ranker(const RankerOptions& opt);

  float Score(const Features& f) const {
    float s = 0;
    for (size_t i = 0; i < kFeatureCount; ++i) s += w_[i] * f[i];
    return s;
  }

  // The softmax cross-entropy of `positive` among candidates (its gradient is
  // what Learn follows); scores must hold Score() of each candidate.
  static double Loss(std::span<const Features> candidates, size_t positive, std::span<const float> weights);
  // d Loss / d w into grad.
  static void Gradient(std::span<const Features> candidates, size_t positive, std::span<const float> weights,
                       std::span<float> grad);

  // One step towards ranking candidates[positive] first.
  // REQUIRES: positive < candidates.size().
  // weight scales the step (an example that counts more).
  void Learn(std::span<const Features> candidates, size_t positive, float weight = 1.0f);

  const std::array<float, kFeatureCount>& weights() const { return w_; }
  uint64_t updates() const { return updates_; }

  // --- persistence (state/) ---
  struct Snapshot {
    std::array<float, kFeatureCount> weights, g2;
    uint64_t updates = 0;
  };
  Snapshot snapshot() const { return {w_, g2_, updates_}; }
  void Restore(const Snapshot& s);
  bool dirty() const { return dirty_; }
  void ClearDirty() { dirty_ = false; }

 private:
  RankerOptions opt_;
  std::array<float, kFeatureCount> w_{}, g2_{}, grad_{};
  uint64_t updates_ = 0;
  bool dirty_ = false;
};

}  // namespace recstream::model
