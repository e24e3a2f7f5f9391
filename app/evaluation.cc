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
  const model::UserEvent* last = user.last();
  if (last == nullptr) return;  // no list in force yet
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  const bool groups[kGroups] = {true, last->category != e.category, last->type == model::EventType::kPurchase};
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
  }
  lists_[method]++;
  categories_sum_[method] += cats_.size();
}

void Evaluation::AfterApply(std::string_view user_id, const model::UserState& user, const model::Event& e,
                            std::span<const model::Recommendation> list) {
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
