#include "app/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace recstream::app {

const char* Evaluation::MethodName(int m) {
  switch (m) {
    case 0: return "recstream";
    case 1: return "popularity";
    case 2: return "popularity-decayed";
    case 3: return "co-occurrence";
    case 4: return "cooc+transitions";
  }
  return "?";
}

const char* Evaluation::GroupName(int g) {
  switch (g) {
    case kAll: return "all";
    case kCrossCategory: return "cross-category";
    case kAfterPurchase: return "after purchase";
    case kCrossAfterPurchase: return "x-cat after purchase";
    case kPurchase: return "purchase";
  }
  return "?";
}

Evaluation::Evaluation(const model::ItemModel& model, const model::BaselineOptions& baselines)
    : model_(model), k_(baselines.k) {
  baselines_[0] = std::make_unique<model::PopularityBaseline>(model, baselines, false);
  baselines_[1] = std::make_unique<model::PopularityBaseline>(model, baselines, true);
  baselines_[2] = std::make_unique<model::CooccurrenceBaseline>(model, baselines, false);
  baselines_[3] = std::make_unique<model::CooccurrenceBaseline>(model, baselines, true);
}

void Evaluation::BeforeApply(std::string_view user_id, const model::UserState& user, const model::Event& e) {
  if (metrics_ == nullptr || metrics_->records_in.load(std::memory_order_relaxed) > warmup_records_)
    Prequential(user_id, user, e);
  for (auto& b : baselines_) b->Learn(user, e);
  last_ts_ms_ = std::max(last_ts_ms_, e.ts_ms);
  // Last: the clock measures the pipeline's work, not the scoring above.
  before_done_ = std::chrono::steady_clock::now();
}

void Evaluation::Prequential(std::string_view user_id, const model::UserState& user, const model::Event& e) {
  const model::UserEvent* last = user.last();
  if (last == nullptr) return;  // no list in force yet
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  const bool cross = last->category != e.category;
  const bool after_purchase = last->type == model::EventType::kPurchase;
  const bool groups[kGroups] = {true, cross, after_purchase, cross && after_purchase,
                                e.type == model::EventType::kPurchase};
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
  for (int m = 1; m < kMethods; ++m) {
    baselines_[m - 1]->Recommend(user, e, scratch_);
    store(m, scratch_);
  }
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
  char line[320];
  auto header = [&](const char* metric, bool extras) {
    std::snprintf(line, sizeof line, "%-18s | %8s | %14s | %14s | %20s | %8s", metric, GroupName(kAll),
                  GroupName(kCrossCategory), GroupName(kAfterPurchase), GroupName(kCrossAfterPurchase),
                  GroupName(kPurchase));
    out += line;
    if (extras) {
      std::snprintf(line, sizeof line, " | %9s | %8s", "cats/list", "coverage");
      out += line;
    }
    out += "\n" + std::string(extras ? 124 : 101, '-') + "\n";
  };
  auto rows = [&](bool ndcg) {
    for (int m = 0; m < kMethods; ++m) {
      const auto& s = scores_[m];
      auto v = [&](int g) { return ndcg ? s[g].ndcg_mean() : s[g].hr(); };
      std::snprintf(line, sizeof line, "%-18s | %8.4f | %14.4f | %14.4f | %20.4f | %8.4f", MethodName(m), v(kAll),
                    v(kCrossCategory), v(kAfterPurchase), v(kCrossAfterPurchase), v(kPurchase));
      out += line;
      if (!ndcg) {
        std::snprintf(line, sizeof line, " | %9.2f | %8.4f", mean_categories(m), coverage(m, items_seen));
        out += line;
      }
      out += "\n";
    }
  };
  header("HR@K", true);
  rows(false);
  header("NDCG@K", false);
  rows(true);
  std::snprintf(line, sizeof line,
                "scored events (K = %zu): all %llu, cross-category %llu, after purchase %llu, x-cat after purchase "
                "%llu, purchase %llu\n",
                k_, static_cast<unsigned long long>(scores_[0][kAll].n),
                static_cast<unsigned long long>(scores_[0][kCrossCategory].n),
                static_cast<unsigned long long>(scores_[0][kAfterPurchase].n),
                static_cast<unsigned long long>(scores_[0][kCrossAfterPurchase].n),
                static_cast<unsigned long long>(scores_[0][kPurchase].n));
  out += line;
  return out;
}

}  // namespace recstream::app
