#include "app/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace recstream::app {

const char* Evaluation::MethodName(int m) {
  switch (m) {
    case 0: return "recstream";
    case 1: return "co-occurrence";
    case 2: return "popularity";
  }
  return "?";
}

Evaluation::Evaluation(const model::ItemModel& model, size_t k)
    : model_(model), k_(k), popularity_(model, k), cooccurrence_(model, k) {}

void Evaluation::BeforeApply(std::string_view user_id, const model::UserState& user, const model::Event& e) {
  Prequential(user_id, user, e);
  last_ts_ms_ = std::max(last_ts_ms_, e.ts_ms);
  // Last: the clock measures the pipeline's work, not the scoring above.
  before_done_ = std::chrono::steady_clock::now();
}

void Evaluation::Prequential(std::string_view user_id, const model::UserState& user, const model::Event& e) {
  const model::UserEvent* last = user.last();
  if (last == nullptr) return;  // no list in force yet
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  const bool groups[kGroups] = {true, last->category != e.category, last->type == model::EventType::kPurchase};
  const size_t window = scores_[0][0].n / kWindowEvents;
  if (window >= windows_.size()) windows_.resize(window + 1);
  windows_[window].n++;
  for (int m = 0; m < kMethods; ++m) {
    const auto& list = it->second.lists[m];
    double hit = 0, gain = 0;
    for (size_t rank = 0; rank < list.size() && rank < k_; ++rank) {
      if (list[rank] == e.item) {
        hit = 1;
        gain = 1.0 / std::log2(static_cast<double>(rank) + 2.0);
        break;
      }
    }
    windows_[window].hits[m] += hit;
    for (int g = 0; g < kGroups; ++g) {
      if (!groups[g]) continue;
      scores_[m][g].n++;
      scores_[m][g].hits += hit;
      scores_[m][g].ndcg += gain;
    }
  }
}

void Evaluation::Record(int method, std::span<const model::Recommendation> list) {
  auto& seen = recommended_[method];
  cats_.clear();
  for (const auto& r : list) {
    if (r.item >= seen.size()) seen.resize(std::max<size_t>(r.item + 1, seen.size() * 2), 0);
    if (!seen[r.item]) {
      seen[r.item] = 1;
      ++distinct_[method];
    }
    if (std::find(cats_.begin(), cats_.end(), r.category) == cats_.end()) cats_.push_back(r.category);
    auto& by_cat = items_by_category_[method];
    if (r.category != model::kNoId) {
      if (r.category >= by_cat.size()) by_cat.resize(r.category + 1, 0);
      by_cat[r.category]++;
    }
  }
  auto& per_list = categories_per_list_[method];
  if (cats_.size() >= per_list.size()) per_list.resize(cats_.size() + 1, 0);
  per_list[cats_.size()]++;
  lists_[method]++;
  categories_sum_[method] += cats_.size();
}

void Evaluation::AfterApply(std::string_view user_id, const model::UserState& user, const model::Event& e,
                            std::span<const model::Recommendation> list) {
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - before_done_).count();
  const size_t bucket = ns < 1 ? 0 : static_cast<size_t>(std::log2(ns) * kLatencyBucketsPerOctave);
  if (bucket >= latency_.size()) latency_.resize(bucket + 1, 0);
  latency_[bucket]++;
  auto it = users_.find(user_id);
  if (it == users_.end()) it = users_.emplace(std::string(user_id), UserLists{}).first;
  auto store = [&](int m, std::span<const model::Recommendation> l) {
    auto& dst = it->second.lists[m];
    dst.clear();
    for (const auto& r : l) dst.push_back(r.item);
    Record(m, l);
  };
  store(0, list);
  cooccurrence_.Recommend(user, e, scratch_);
  store(1, scratch_);
  popularity_.Recommend(user, e, scratch_);
  store(2, scratch_);
}

double Evaluation::LatencyBucketNs(size_t b) {
  return std::exp2(static_cast<double>(b) / kLatencyBucketsPerOctave);
}

double Evaluation::LatencyQuantileNs(double q) const {
  uint64_t total = 0;
  for (uint64_t c : latency_) total += c;
  if (total == 0) return 0;
  const double target = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t b = 0; b < latency_.size(); ++b) {
    seen += latency_[b];
    if (static_cast<double>(seen) >= target) return LatencyBucketNs(b + 1);
  }
  return LatencyBucketNs(latency_.size());
}

double Evaluation::coverage(int method, size_t items_seen) const {
  return items_seen ? static_cast<double>(distinct_[method]) / static_cast<double>(items_seen) : 0;
}

std::string Evaluation::Table(size_t items_seen) const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s | %-19s | %-19s | %-19s | %9s | %8s\n", "", "all events",
                "cross-category", "after purchase", "", "");
  out += line;
  std::snprintf(line, sizeof line, "%-14s | %8s %10s | %8s %10s | %8s %10s | %9s | %8s\n", "method", "HR@K", "NDCG@K",
                "HR@K", "NDCG@K", "HR@K", "NDCG@K", "cats/list", "coverage");
  out += line;
  out += std::string(108, '-') + "\n";
  for (int m = 0; m < kMethods; ++m) {
    const auto& s = scores_[m];
    std::snprintf(line, sizeof line, "%-14s | %8.4f %10.4f | %8.4f %10.4f | %8.4f %10.4f | %9.2f | %8.4f\n",
                  MethodName(m), s[0].hr(), s[0].ndcg_mean(), s[1].hr(), s[1].ndcg_mean(), s[2].hr(),
                  s[2].ndcg_mean(), mean_categories(m), coverage(m, items_seen));
    out += line;
  }
  std::snprintf(line, sizeof line, "scored events: all %llu, cross-category %llu, after purchase %llu (K = %zu)\n",
                static_cast<unsigned long long>(scores_[0][0].n), static_cast<unsigned long long>(scores_[0][1].n),
                static_cast<unsigned long long>(scores_[0][2].n), k_);
  out += line;
  return out;
}

}  // namespace recstream::app
