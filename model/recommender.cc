#include "model/recommender.h"

#include <algorithm>
#include <cmath>

namespace recstream::model {

std::string_view ReasonName(Reason r) {
  switch (r) {
    case Reason::kComplement: return "complement";
    case Reason::kBoughtTogether: return "bought_together";
    case Reason::kSimilar: return "similar";
    case Reason::kPopular: return "popular";
    case Reason::kRecentlyViewed: return "recently_viewed";
    case Reason::kInCart: return "in_cart";
  }
  return "popular";
}

namespace {

// Fills out from a ranked list of entries, skipping exclusions, until k.
void FillFrom(const ItemModel& m, const UserState& user, const Event& trigger,
              const std::vector<TopList<ItemId>::Entry>& ranked, Reason reason, size_t k,
              std::vector<Recommendation>& out) {
  if (ranked.empty()) return;
  const double top = ranked.front().log_weight;
  for (const auto& e : ranked) {
    if (out.size() >= k) return;
    if (Excluded(m, user, trigger, e.key)) continue;
    bool dup = false;
    for (const auto& r : out) dup |= r.item == e.key;
    if (dup) continue;
    out.push_back({e.key, m.item(e.key).category, static_cast<float>(std::exp(e.log_weight - top)), reason});
  }
}

}  // namespace

CrossCategoryRecommender::CrossCategoryRecommender(const ItemModel& model, const RecommendOptions& opt)
    : model_(model), opt_(opt) {}

void CrossCategoryRecommender::AddCategory(CategoryId c, double weight, Reason reason) {
  if (!model_.HasCategory(c) || weight <= 0) return;
  model_.category(c).top_items.Top(opt_.items_per_category, item_scratch_);
  if (item_scratch_.empty()) return;
  const double top = item_scratch_.front().log_weight;
  for (const auto& e : item_scratch_) {
    // Square root flattens the long tail a little within a category.
    const double s = weight * std::sqrt(std::exp(e.log_weight - top));
    Candidate cand{e.key, {0, 0, 0, 0}};
    cand.parts[static_cast<int>(reason)] = static_cast<float>(s);
    cands_.push_back(cand);
  }
}

void CrossCategoryRecommender::AddComplements(CategoryId from, double weight, int64_t ts) {
  if (!model_.HasCategory(from)) return;
  const CategoryRow& row = model_.category(from);
  if (row.successors.empty()) return;
  const auto& clock = model_.transition_clock();
  const double now = model_.Now(ts);
  // P(next category | from), shrunk towards 0 for rarely seen categories.
  const double denom = clock.ValueAt(row.log_out, now) + opt_.transition_smoothing;
  for (const auto& s : row.successors.entries()) {
    const double p = clock.ValueAt(s.log_weight, now) / denom;
    if (p > 0) cat_scores_.Add(s.key, std::log(weight * p), SIZE_MAX);
  }
}

void CrossCategoryRecommender::Recommend(const UserState& user, const Event& trigger,
                                         std::vector<Recommendation>& out) {
  out.clear();
  cands_.clear();
  cat_scores_.clear();

  // 1. Items bought/viewed together with the trigger and the two events
  //    before it, each earlier one counting half as much.
  ForRecentNeighbours(model_, user, 3, [&](int rank, const TopList<ItemId>::Entry& e, double top) {
    Candidate cand{e.key, {0, 0, 0, 0}};
    cand.parts[static_cast<int>(Reason::kBoughtTogether)] =
        static_cast<float>(std::ldexp(opt_.cooccurrence_weight, -rank) * std::sqrt(std::exp(e.log_weight - top)));
    cands_.push_back(cand);
  });

  // 2. Complement categories of the trigger's category, then of the user's
  //    strongest affinities (weighted by affinity share).
  AddComplements(trigger.category, 1.0, trigger.ts_ms);
  user.affinity.Top(3, cat_scratch_);
  if (!cat_scratch_.empty()) {
    const double top = cat_scratch_.front().log_weight;
    for (const auto& a : cat_scratch_) {
      if (a.key == trigger.category) continue;
      AddComplements(a.key, 0.5 * std::exp(a.log_weight - top), trigger.ts_ms);
    }
  }
  cat_scores_.Remove(trigger.category);
  cat_scores_.Top(opt_.complement_categories, cat_scratch_);
  if (!cat_scratch_.empty()) {
    const double top = cat_scratch_.front().log_weight;
    for (const auto& c : cat_scratch_)
      AddCategory(c.key, opt_.complement_weight * std::exp(c.log_weight - top), Reason::kComplement);
  }

  // 3. Popular items of the trigger's own category (a few, by quota) and of
  //    the catalog as a whole, so that no list is ever short.
  AddCategory(trigger.category, opt_.same_category_weight, Reason::kPopular);
  model_.global_top().Top(opt_.k * 2, item_scratch_);
  if (!item_scratch_.empty()) {
    const double top = item_scratch_.front().log_weight;
    for (const auto& e : item_scratch_) {
      Candidate cand{e.key, {0, 0, 0, 0}};
      cand.parts[static_cast<int>(Reason::kPopular)] =
          static_cast<float>(opt_.popular_weight * std::exp(e.log_weight - top));
      cands_.push_back(cand);
    }
  }

  // Merge duplicates: sum the parts per item.
  std::sort(cands_.begin(), cands_.end(), [](const Candidate& a, const Candidate& b) { return a.item < b.item; });
  size_t w = 0;
  for (size_t r = 0; r < cands_.size(); ++r) {
    if (w > 0 && cands_[w - 1].item == cands_[r].item) {
      for (int i = 0; i < kReasonCount; ++i) cands_[w - 1].parts[i] += cands_[r].parts[i];
    } else {
      cands_[w++] = cands_[r];
    }
  }
  cands_.resize(w);
  auto total = [](const Candidate& c) {
    float sum = 0;
    for (float p : c.parts) sum += p;
    return sum;
  };
  std::sort(cands_.begin(), cands_.end(), [&](const Candidate& a, const Candidate& b) {
    const float ta = total(a), tb = total(b);
    return ta != tb ? ta > tb : a.item < b.item;
  });

  // Diversify: at most max_per_category per category; if the quota leaves the
  // list short, a second pass fills it in score order.
  quota_.clear();
  for (int pass = 0; pass < 2 && out.size() < opt_.k; ++pass) {
    for (const Candidate& c : cands_) {
      if (out.size() >= opt_.k) break;
      if (Excluded(model_, user, trigger, c.item)) continue;
      const CategoryId cat = model_.item(c.item).category;
      if (pass == 0) {
        auto q = std::find_if(quota_.begin(), quota_.end(), [&](const auto& p) { return p.first == cat; });
        if (q == quota_.end()) {
          quota_.push_back({cat, 0});
          q = quota_.end() - 1;
        }
        if (q->second >= opt_.max_per_category) continue;
        q->second++;
      } else {
        bool dup = false;
        for (const auto& r : out) dup |= r.item == c.item;
        if (dup) continue;
      }
      int best = 0;
      for (int i = 1; i < kReasonCount; ++i)
        if (c.parts[i] > c.parts[best]) best = i;
      out.push_back({c.item, cat, total(c), static_cast<Reason>(best)});
    }
  }
  // The second pass appends below the first: keep the list ordered by score.
  SortByScore(out);
}

void PopularityRecommender::Recommend(const UserState& user, const Event& trigger,
                                      std::vector<Recommendation>& out) {
  out.clear();
  model_.global_top().Top(k_ * 2, scratch_);
  FillFrom(model_, user, trigger, scratch_, Reason::kPopular, k_, out);
}

void CooccurrenceRecommender::Recommend(const UserState& user, const Event& trigger,
                                        std::vector<Recommendation>& out) {
  out.clear();
  if (model_.HasItem(trigger.item)) {
    model_.item(trigger.item).neighbours.Top(k_ * 2, scratch_);
    FillFrom(model_, user, trigger, scratch_, Reason::kBoughtTogether, k_, out);
  }
  model_.global_top().Top(k_ * 2, scratch_);
  FillFrom(model_, user, trigger, scratch_, Reason::kPopular, k_, out);
}

}  // namespace recstream::model
