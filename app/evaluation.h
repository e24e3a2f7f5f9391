// Evaluation: the prequential (test-then-train) protocol of DESIGN §4. For
// every event, the lists in force for the user before it (the ones published
// after the user's previous event) are scored against the event's item, then
// the event trains the model. The product's recommender and two baselines —
// recency-decayed popularity and item co-occurrence — are scored in the same
// run. The baselines (model/baselines.h) keep their own counts, learned from
// the same events: their standard forms, untouched by the model's settings.
//
// Slices of the scored events (each a subset of "all"):
//   cross-category        the event's category differs from the user's
//                         previous event's
//   after purchase        the user's previous event was a purchase: the list
//                         scored is the one shown right after the purchase
//   x-cat after purchase  both of the above
//   purchase              the scored event itself is a purchase
// With a warm-up (WarmUp), events before it train every method unscored.
//
// Concurrency: called on the pipeline thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/baselines.h"
#include "model/recommender.h"
#include "operators/pipeline.h"
#include "state/dictionary.h"

namespace recstream::app {

class Evaluation final : public operators::PipelineObserver {
 public:
  // recstream, popularity, popularity-decayed, co-occurrence, cooc+transitions
  static constexpr int kMethods = 5;
  enum Group { kAll, kCrossCategory, kAfterPurchase, kCrossAfterPurchase, kPurchase, kGroups };
  static const char* MethodName(int m);
  static const char* GroupName(int g);

  Evaluation(const model::ItemModel& model, const model::BaselineOptions& baselines);

  // Scores only the events of records after the first `records` records
  // that `metrics` counts (the warm-up trains every method unscored).
  void WarmUp(uint64_t records, const operators::PipelineMetrics* metrics) {
    warmup_records_ = records;
    metrics_ = metrics;
  }

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

  // --- Series for the visual report (app/report.h) ---
  // Scored events (group "all") in consecutive windows of kWindowEvents, with
  // every method's hits in the window: HR@K over the stream.
  static constexpr uint64_t kWindowEvents = 100;
  struct Window {
    uint64_t n = 0;
    std::array<double, kMethods> hits{};
  };
  const std::vector<Window>& windows() const { return windows_; }
  // Per-event processing time — what the pipeline does between BeforeApply
  // and AfterApply: learn, extend the sequence, compute recstream's list
  // (parsing and batch I/O excluded). Log-scale histogram: bucket b counts
  // times in [LatencyBucketNs(b), LatencyBucketNs(b + 1)) ns.
  static constexpr int kLatencyBucketsPerOctave = 4;
  static double LatencyBucketNs(size_t b);
  const std::vector<uint64_t>& latency_histogram() const { return latency_; }
  // The ns below which a fraction q of the events were processed (bucket
  // resolution); 0 when nothing was measured.
  double LatencyQuantileNs(double q) const;
  // Items in method m's lists per category id, and lists per number of
  // distinct categories (index = categories in the list).
  const std::vector<uint64_t>& list_items_by_category(int m) const { return items_by_category_[m]; }
  const std::vector<uint64_t>& categories_per_list(int m) const { return categories_per_list_[m]; }
  // Event time of the newest event seen (ms).
  int64_t last_ts_ms() const { return last_ts_ms_; }

 private:
  void Prequential(std::string_view user_id, const model::UserState& user, const model::Event& e);
  void Record(int method, std::span<const model::Recommendation> list);

  const model::ItemModel& model_;
  size_t k_;
  std::array<std::unique_ptr<model::Baseline>, kMethods - 1> baselines_;
  uint64_t warmup_records_ = 0;
  const operators::PipelineMetrics* metrics_ = nullptr;
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
  // Report series (see the accessors).
  std::vector<Window> windows_;
  std::vector<uint64_t> latency_;
  std::chrono::steady_clock::time_point before_done_{};
  std::array<std::vector<uint64_t>, kMethods> items_by_category_, categories_per_list_;
  int64_t last_ts_ms_ = 0;
};

}  // namespace recstream::app
