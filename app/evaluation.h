// Evaluation: the prequential (test-then-train) protocol of DESIGN §4. For
// every event, the lists in force for the user before it (the ones published
// after the user's previous event) are scored against the event's item, then
// the event trains the model. The product's recommender and two baselines —
// recency-decayed popularity and item co-occurrence — are scored in the same
// run, on the same model state.
//
// Concurrency: called on the pipeline thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/recommender.h"
#include "operators/pipeline.h"
#include "state/dictionary.h"

namespace recstream::app {

class Evaluation final : public operators::PipelineObserver {
 public:
  static constexpr int kMethods = 3;  // recstream, co-occurrence, popularity
  static constexpr int kGroups = 3;   // all, cross-category, after purchase
  static const char* MethodName(int m);

  Evaluation(const model::ItemModel& model, size_t k);

  void BeforeApply(std::string_view user_id, const model::UserState& user, const model::Event& e) override;
  void AfterApply(std::string_view user_id, const model::UserState& user, const model::Event& e,
                  std::span<const model::Recommendation> list) override;

  struct Score {
    uint64_t n = 0;
    double hits = 0, ndcg = 0;
    double hr() const { return n ? hits / static_cast<double>(n) : 0; }
    double ndcg_mean() const { return n ? ndcg / static_cast<double>(n) : 0; }
  };
  const Score& score(int method, int group) const { return scores_[method][group]; }
  double mean_categories(int method) const {
    return lists_[method] ? static_cast<double>(categories_sum_[method]) / static_cast<double>(lists_[method]) : 0;
  }
  double coverage(int method, size_t items_seen) const;
  size_t k() const { return k_; }
  // The metrics table, as printed by `recstream eval`.
  std::string Table(size_t items_seen) const;

 private:
  void Record(int method, std::span<const model::Recommendation> list);

  const model::ItemModel& model_;
  size_t k_;
  model::PopularityRecommender popularity_;
  model::CooccurrenceRecommender cooccurrence_;
  struct UserLists {
    std::array<std::vector<model::ItemId>, kMethods> lists;
  };
  std::unordered_map<std::string, UserLists, state::StringHash, std::equal_to<>> users_;
  std::array<std::array<Score, kGroups>, kMethods> scores_{};
  std::array<uint64_t, kMethods> lists_{}, categories_sum_{};
  std::array<std::vector<uint8_t>, kMethods> recommended_;  // item id -> seen in a list
  std::array<uint64_t, kMethods> distinct_{};
  std::vector<model::Recommendation> scratch_;
  std::vector<model::CategoryId> cats_;
};

}  // namespace recstream::app
