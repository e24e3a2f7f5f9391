// Recommenders: turn the item model and a user's state into a ranked,
// diversified list. CrossCategoryRecommender is the product's scorer; the
// baselines exist so that `recstream eval` measures it against something.
//
// Seam: operators hold a `Recommender&`; the online embedding model plugs in
// as another implementation. Concurrency: an instance keeps scratch buffers,
// so one instance per thread. No heap allocation per call once warm.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "model/item_model.h"
#include "model/options.h"
#include "model/user_state.h"

namespace recstream::model {

// Why an item is in a list (output contract `reason`).
// kRecentlyViewed (an item from the user's own recent events, offered again
// by the model scorer when its blend has learned that users return to them)
// was added after the first four, kInCart (an item the user carted or faved
// and has not bought) after it; both are documented in the README.
enum class Reason : uint8_t {
  kComplement = 0,
  kBoughtTogether = 1,
  kSimilar = 2,
  kPopular = 3,
  kRecentlyViewed = 4,
  kInCart = 5,
};
inline constexpr int kReasonCount = 6;
std::string_view ReasonName(Reason r);

struct Recommendation {
  ItemId item = kNoId;
  CategoryId category = kNoId;
  float score = 0;
  Reason reason = Reason::kPopular;
};

// True when item may not appear in a list for this user and trigger: the
// trigger item itself, an unknown or inactive item, or one the user bought.
inline bool Excluded(const ItemModel& m, const UserState& user, const Event& trigger, ItemId item) {
  if (item == trigger.item || !m.HasItem(item) || !m.item(item).active) return true;
  return user.HasPurchased(item);
}

// Orders a list by score, best first, keeping the order of equal scores: an
// insertion sort, stable like std::stable_sort but without its temporary
// buffer (a heap allocation per list); lists hold K items.
inline void SortByScore(std::vector<Recommendation>& out) {
  for (size_t i = 1; i < out.size(); ++i)
    for (size_t j = i; j > 0 && out[j].score > out[j - 1].score; --j) std::swap(out[j], out[j - 1]);
}

// Visits the co-occurrence neighbours of the user's n most recent distinct
// known items, newest first: visit(rank, entry, strongest weight of that
// item's list), rank 0 being the newest (the trigger).
template <class Visit>
void ForRecentNeighbours(const ItemModel& m, const UserState& user, int n, Visit&& visit) {
  int used = 0;
  ItemId prev = kNoId;
  for (auto it = user.recent.rbegin(); it != user.recent.rend() && used < n; ++it) {
    if (it->item == prev || !m.HasItem(it->item)) continue;
    prev = it->item;
    const auto& nb = m.item(it->item).neighbours;
    const double top = nb.MaxWeight();
    for (const auto& e : nb.entries()) visit(used, e, top);
    ++used;
  }
}

class Recommender {
 public:
  virtual ~Recommender() = default;
  // Fills out (cleared first) with at most k items for the user whose newest
  // event is trigger (already applied to user). Items the user bought are
  // never recommended, nor inactive items, nor the trigger item — except, by
  // ModelRecommender, a carted trigger (reason kInCart).
  virtual void Recommend(const UserState& user, const Event& trigger,
                         std::vector<Recommendation>& out) = 0;
};

// Decayed item co-occurrence + learned category complements + popularity in
// category, blended into one score, then a per-category quota.
class CrossCategoryRecommender final : public Recommender {
 public:
  CrossCategoryRecommender(const ItemModel& model, const RecommendOptions& opt);
  void Recommend(const UserState& user, const Event& trigger,
                 std::vector<Recommendation>& out) override;

 private:
  struct Candidate {
    ItemId item;
    float parts[kReasonCount];
  };
  void AddCategory(CategoryId c, double weight, Reason reason);
  void AddComplements(CategoryId from, double weight, int64_t ts);

  const ItemModel& model_;
  RecommendOptions opt_;
  std::vector<Candidate> cands_;
  std::vector<TopList<CategoryId>::Entry> cat_scratch_;
  std::vector<TopList<ItemId>::Entry> item_scratch_;
  TopList<CategoryId> cat_scores_;
  std::vector<std::pair<CategoryId, uint32_t>> quota_;
};

// Baseline: recency-decayed global popularity.
class PopularityRecommender final : public Recommender {
 public:
  PopularityRecommender(const ItemModel& model, size_t k) : model_(model), k_(k) {}
  void Recommend(const UserState& user, const Event& trigger,
                 std::vector<Recommendation>& out) override;

 private:
  const ItemModel& model_;
  size_t k_;
  std::vector<TopList<ItemId>::Entry> scratch_;
};

// Baseline: items that co-occur with the trigger item, then popular items.
class CooccurrenceRecommender final : public Recommender {
 public:
  CooccurrenceRecommender(const ItemModel& model, size_t k) : model_(model), k_(k) {}
  void Recommend(const UserState& user, const Event& trigger,
                 std::vector<Recommendation>& out) override;

 private:
  const ItemModel& model_;
  size_t k_;
  std::vector<TopList<ItemId>::Entry> scratch_;
};

}  // namespace recstream::model
