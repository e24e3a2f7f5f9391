#include "model/model_recommender.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <Eigen/Core>

#include "model/half.h"

namespace recstream::model {

namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;

// A log ratio (<= 0) mapped to [0, 1]: 1 at the top, 0 at e^-10 below it.
inline float LogScale(double log_ratio) {
  return static_cast<float>(std::clamp(1.0 + log_ratio / 10.0, 0.0, 1.0));
}

// The count feature, log1p(count) / 10: a table for the common small counts
// (log1pf per candidate was 5% of the event path), the function above it.
inline float CountFeature(uint32_t count) {
  static constexpr size_t kTable = 1024;
  static const std::array<float, kTable> table = [] {
    std::array<float, kTable> t{};
    for (size_t i = 0; i < kTable; ++i) t[i] = std::log1p(static_cast<float>(i)) / 10.0f;
    return t;
  }();
  return count < kTable ? table[count] : std::log1p(static_cast<float>(count)) / 10.0f;
}

inline void Set(Features& f, Feature k, float v) { f[static_cast<size_t>(k)] = v; }
// A feature offered by more than one source keeps its strongest evidence.
inline void SetMax(Features& f, Feature k, float v) {
  float& x = f[static_cast<size_t>(k)];
  x = std::max(x, v);
}
inline float Get(const Features& f, Feature k) { return f[static_cast<size_t>(k)]; }

}  // namespace

ModelRecommender::ModelRecommender(const ItemModel& items, const EmbeddingModel& embeddings,
                                   const RecommendOptions& opt)
    : items_(items),
      emb_(embeddings),
      opt_(opt),
      encoder_(embeddings, items.options().type_weight),
      ranker_(RankerOptions{opt.ranker_learning_rate, opt.embedding_weight}),
      user_vec_(embeddings.dim()) {}

void ModelRecommender::CategoryScores::clear() {
  keys_.clear();
  seen_.Clear();
}

void ModelRecommender::CategoryScores::Add(CategoryId c, double log_increment) {
  if (seen_.Insert(c)) {
    if (c >= weight_.size()) weight_.resize(seen_.capacity(), kLogZero);
    weight_[c] = log_increment;
    keys_.push_back(c);
  } else {
    weight_[c] = LogAddExp(weight_[c], log_increment);
  }
}

void ModelRecommender::CategoryScores::Remove(CategoryId c) {
  if (!seen_.Contains(c)) return;
  seen_.Erase(c);
  keys_.erase(std::find(keys_.begin(), keys_.end(), c));
}

void ModelRecommender::CategoryScores::Top(size_t n, std::vector<TopList<CategoryId>::Entry>& out) const {
  out.clear();
  for (CategoryId c : keys_) out.push_back({c, weight_[c]});
  n = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(),
                    [](const auto& a, const auto& b) {
                      return a.log_weight != b.log_weight ? a.log_weight > b.log_weight : a.key < b.key;
                    });
  out.resize(n);
}

void ModelRecommender::MarkPurchases(const UserState& user) {
  purchased_.Clear();
  for (ItemId item : user.purchases) purchased_.Insert(item);
}

void ModelRecommender::AddComplementScores(CategoryId from, double weight, int64_t ts, bool record_lift) {
  if (!items_.HasCategory(from) || weight <= 0) return;
  const CategoryRow& row = items_.category(from);
  AddSuccessorScores(from, row.successors, row.log_out, weight, opt_.complement_prior, opt_.complement_min_weight,
                     ts, record_lift);
}

void ModelRecommender::AddAfterPurchaseScores(CategoryId from, int64_t ts) {
  if (!items_.HasCategory(from)) return;
  const CategoryRow& row = items_.category(from);
  AddSuccessorScores(from, row.after_purchase, row.log_after_purchase, 1.0, opt_.after_purchase_prior,
                     opt_.after_purchase_min_events, ts, true);
}

void ModelRecommender::AddSuccessorScores(CategoryId from, const TopList<CategoryId>& successors, double log_total,
                                          double weight, double prior, double min_weight, int64_t ts,
                                          bool record_lift) {
  const auto& clock = items_.transition_clock();
  const double now = items_.Now(ts);
  const double out = clock.ValueAt(log_total, now);
  const double share = opt_.complement_embedding_share;
  const bool lift = opt_.complement_lift && items_.log_pop_total() > kLogZero;
  // The significance floor in log space: most successors fall below it,
  // and are dropped without an exp each.
  const double log_floor = lift && min_weight > 0 ? clock.Increment(min_weight, now) : kLogZero;
  for (const auto& s : successors.entries()) {
    if (s.key == from || !items_.HasCategory(s.key)) continue;
    if (s.log_weight < log_floor) continue;
    const double n = clock.ValueAt(s.log_weight, now);
    double score;
    if (lift) {
      // Lift over the base rate: a category that follows everything because
      // it is popular everywhere scores its excess over its share, not its
      // share. Both ratios are clock-free (each of one decay clock).
      if (n < min_weight) continue;
      const double base = std::exp(items_.category(s.key).log_pop - items_.log_pop_total());
      const double p = (n + prior * base) / (out + prior);
      score = p - base;
      if (score <= 0) continue;
      if (record_lift) RecordLift(s.key, std::log(p / base));
    } else {
      // P(next category | from), shrunk towards 0 for rarely seen categories.
      score = n / (out + opt_.transition_smoothing);
    }
    const double blend = share > 0 ? (1.0 - share) * score + share * emb_.CategoryAffinity(from, s.key) : score;
    if (blend > 0) cat_scores_.Add(s.key, std::log(weight * blend));
  }
}

void ModelRecommender::RecordLift(CategoryId c, double log_lift) {
  if (c >= lift_of_.size()) lift_of_.resize(std::max<size_t>(c + 1, lift_of_.size() * 2), 0.0f);
  if (lift_of_[c] == 0) lift_touched_.push_back(c);
  lift_of_[c] = std::max(lift_of_[c], static_cast<float>(std::clamp(log_lift / 5.0, 1e-6, 1.0)));
}

void ModelRecommender::Complements(CategoryId from, int64_t ts, size_t n,
                                   std::vector<TopList<CategoryId>::Entry>& out) {
  cat_scores_.clear();
  AddComplementScores(from, 1.0, ts, false);
  cat_scores_.Top(n, out);
  for (auto& e : out) e.log_weight = std::exp(e.log_weight);
}

ModelRecommender::PoolSplit& ModelRecommender::PoolSlot(CategoryId c) {
  if (c >= pools_.size()) pools_.resize(std::max<size_t>(c + 1, items_.category_count()));
  return pools_[c];
}

double ModelRecommender::CategoryMaxWeight(CategoryId c) {
  PoolSplit& p = PoolSlot(c);
  const uint64_t stamp = items_.pool_stamp(c);
  if (p.max_stamp != stamp) {
    p.max_weight = items_.category(c).top_items.MaxWeight();
    p.max_stamp = stamp;
  }
  return p.max_weight;
}

const ModelRecommender::PoolSplit& ModelRecommender::PoolOf(CategoryId c) {
  PoolSplit& p = PoolSlot(c);
  const uint64_t stamp = items_.pool_stamp(c);
  if (p.stamp == stamp) return p;
  // The category's most popular items_per_category, plus the rest of its
  // wider pool (its bounded popularity list) for AddPool's search by user
  // vector. Only the popular part needs to be known as such, not ordered: a
  // partition (linear) instead of TopList::Top's sort of the whole pool.
  const auto& pool = items_.category(c).top_items.entries();
  item_scratch_.assign(pool.begin(), pool.end());
  auto heavier = [](const TopList<ItemId>::Entry& a, const TopList<ItemId>::Entry& b) {
    return a.log_weight != b.log_weight ? a.log_weight > b.log_weight : a.key < b.key;
  };
  const size_t pool_n = std::max<size_t>(1, std::max(opt_.items_per_category, opt_.pool_items));
  if (item_scratch_.size() > pool_n) {
    std::nth_element(item_scratch_.begin(), item_scratch_.begin() + static_cast<std::ptrdiff_t>(pool_n - 1),
                     item_scratch_.end(), heavier);
    item_scratch_.resize(pool_n);
  }
  p.items.assign(item_scratch_.begin(), item_scratch_.end());
  p.popular = std::min(opt_.items_per_category, p.items.size());
  p.flat.clear();
  p.stamp = stamp;
  if (p.popular == 0) return p;
  std::nth_element(p.items.begin(), p.items.begin() + static_cast<std::ptrdiff_t>(p.popular - 1), p.items.end(),
                   heavier);
  double top = p.items.front().log_weight;
  for (size_t i = 1; i < p.popular; ++i) top = std::max(top, p.items[i].log_weight);
  // The square root flattens the long tail a little within the pool.
  for (const auto& e : p.items) p.flat.push_back(std::sqrt(std::exp(e.log_weight - top)));
  return p;
}

void ModelRecommender::AddPool(CategoryId c, double weight, Reason reason) {
  if (!items_.HasCategory(c) || weight <= 0) return;
  // The pool's popular part, plus as many more from the rest chosen by the
  // user vector: a brute-force search over a bounded pool, exact and cheap
  // at this size.
  const PoolSplit& p = PoolOf(c);
  if (p.items.empty()) return;
  auto add = [&](size_t i, const float* dot) {
    Candidate& cand = Offer(p.items[i].key);
    cand.parts[static_cast<int>(reason)] += static_cast<float>(weight * p.flat[i]);
    if (dot != nullptr) {
      cand.dot = *dot;
      cand.has_dot = true;
    }
  };
  for (size_t i = 0; i < p.popular; ++i) add(i, nullptr);
  if (p.items.size() == p.popular) return;
  const size_t dim = emb_.dim();
  by_vector_.clear();
  for (size_t i = p.popular; i < p.items.size(); ++i) {
    const uint16_t* out = emb_.ItemOut16IfRow(p.items[i].key);
    if (out == nullptr) continue;  // a cold item would only echo its category
    by_vector_.push_back({DotHalf(user_vec_.data(), out, dim), static_cast<uint32_t>(i)});
  }
  const size_t extra = std::min(opt_.items_per_category, by_vector_.size());
  std::partial_sort(by_vector_.begin(), by_vector_.begin() + static_cast<std::ptrdiff_t>(extra), by_vector_.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (size_t i = 0; i < extra; ++i) add(by_vector_[i].second, &by_vector_[i].first);
}

void ModelRecommender::Recommend(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) {
  out.clear();
  MarkPurchases(user);
  SelectCategories(user, trigger);
  GatherItems(user, trigger);
  Score(user, trigger);
  Select(user, trigger, out);
}

bool ModelRecommender::Learn(const UserState& user, const Event& next) {
  const UserEvent* last = user.last();
  if (last == nullptr || !items_.HasItem(next.item)) return false;
  // Past its first steps the blend learns from a deterministic sample of the
  // events (the model's event count: the same on a restart). Lists shown
  // after a purchase are rare and are where the complement weights are
  // learned: those always teach.
  if (ranker_.updates() >= opt_.ranker_full_updates && opt_.ranker_sample_every > 1 &&
      last->type != EventType::kPurchase && items_.version() % opt_.ranker_sample_every != 0)
    return false;
  const Event trigger{last->item, last->category, last->type, last->ts_ms};
  MarkPurchases(user);
  // An item the list could not have held teaches the ranking nothing.
  if (Hidden(trigger, next.item)) return false;
  // Most events choose an item the previous list could not have held; a
  // cheap, exact test (every source of candidates checked, without scoring)
  // spares them the whole gather-and-score.
  if (!MayBeCandidate(user, trigger, next.item)) return false;  // also selects the categories
  GatherItems(user, trigger);
  Score(user, trigger);
  features_.clear();
  size_t positive = SIZE_MAX;
  for (const Candidate& c : cands_) {
    if (c.excluded) continue;
    if (c.item == next.item) positive = features_.size();
    features_.push_back(c.f);
  }
  if (positive == SIZE_MAX) return false;
  // The product's point is the list that reaches across categories: a choice
  // outside the trigger's category teaches the blend more.
  ranker_.Learn(features_, positive,
                next.category != trigger.category ? static_cast<float>(opt_.ranker_cross_category_weight) : 1.0f);
  return true;
}

bool ModelRecommender::Hidden(const Event& trigger, ItemId item) const {
  // Excluded(), with the purchases marked by MarkPurchases.
  const bool excluded = item == trigger.item || !items_.HasItem(item) || !items_.item(item).active || Purchased(item);
  if (!excluded) return false;
  // The carted (or faved) trigger itself is the one exception to "never the
  // trigger", since buying it is the likeliest next step (the in-cart source
  // always offers it: it is the user's newest event).
  const bool carted_trigger = opt_.in_cart_candidates > 0 && item == trigger.item &&
                              (trigger.type == EventType::kCart || trigger.type == EventType::kFav) &&
                              items_.HasItem(item) && items_.item(item).active && !Purchased(item);
  return !carted_trigger;
}

bool ModelRecommender::IsCandidate(const UserState& user, const Event& trigger, ItemId item) {
  MarkPurchases(user);
  SelectCategories(user, trigger);
  GatherItems(user, trigger);
  for (const Candidate& c : cands_)
    if (c.item == item) return true;
  return false;
}

bool ModelRecommender::MayBeCandidate(const UserState& user, const Event& trigger, ItemId item) {
  SelectCategories(user, trigger);
  // Mirrors GatherItems, source by source, each test a superset of it.
  bool found = false;
  ForRecentNeighbours(items_, user, 3, [&](int, const TopList<ItemId>::Entry& e, double) { found |= e.key == item; });
  if (found) return true;
  if (opt_.history_candidates > 0 || opt_.in_cart_candidates > 0)
    for (const UserEvent& r : user.recent)
      if (r.item == item) return true;
  for (const auto& e : items_.global_top().entries())
    if (e.key == item) return true;
  // AddPool offers items of PoolOf(c) only (a subset of the category's list).
  const auto in_pool = [&](CategoryId c) {
    if (!items_.HasCategory(c)) return false;
    for (const auto& e : PoolOf(c).items)
      if (e.key == item) return true;
    return false;
  };
  if (in_pool(trigger.category)) return true;
  for (const auto& c : comp_scratch_)
    if (in_pool(c.key)) return true;
  for (const auto& a : cat_scratch_)
    if (in_pool(a.key)) return true;
  return false;
}

void ModelRecommender::SelectCategories(const UserState& user, const Event& trigger) {
  // Complement categories of the trigger's category and of the user's
  // strongest affinities (cat_scratch_: those affinities themselves).
  cat_scores_.clear();
  for (CategoryId c : lift_touched_) lift_of_[c] = 0;
  lift_touched_.clear();
  AddComplementScores(trigger.category, 1.0, trigger.ts_ms, true);
  if (trigger.type == EventType::kPurchase) AddAfterPurchaseScores(trigger.category, trigger.ts_ms);
  user.affinity.Top(3, cat_scratch_);
  const double aff_top = cat_scratch_.empty() ? 0 : cat_scratch_.front().log_weight;
  for (const auto& a : cat_scratch_) {
    if (a.key == trigger.category) continue;
    AddComplementScores(a.key, 0.5 * std::exp(a.log_weight - aff_top), trigger.ts_ms, false);
  }
  cat_scores_.Remove(trigger.category);
  cat_scores_.Top(opt_.complement_categories, comp_scratch_);
  for (CategoryId c : comp_touched_) comp_of_[c] = 0;
  comp_touched_.clear();
  if (comp_scratch_.empty()) return;
  const double top = comp_scratch_.front().log_weight;
  for (const auto& c : comp_scratch_) {
    if (c.key >= comp_of_.size()) comp_of_.resize(std::max<size_t>(c.key + 1, comp_of_.size() * 2), 0.0f);
    // Floor above 0: a complement category at all is worth something.
    comp_of_[c.key] = std::max(LogScale(c.log_weight - top), 0.05f);
    comp_touched_.push_back(c.key);
  }
}

ModelRecommender::Candidate& ModelRecommender::Offer(ItemId item) {
  if (item >= slots_.size()) slots_.resize(std::max<size_t>(item + 1, slots_.size() * 2));
  Slot& slot = slots_[item];
  if (slot.stamp == stamp_) return cands_[slot.index];
  slot = {stamp_, static_cast<uint32_t>(cands_.size())};
  Candidate& c = cands_.emplace_back();
  c.item = item;
  return c;
}

void ModelRecommender::GatherItems(const UserState& user, const Event& trigger) {
  cands_.clear();
  if (++stamp_ == 0) {  // wrapped: forget every slot
    std::fill(slots_.begin(), slots_.end(), Slot{});
    stamp_ = 1;
  }
  encoder_.Encode(user, trigger, user_vec_.data());

  // 1. Items bought or viewed together with the trigger and the two distinct
  //    items before it.
  //    (Offering only the 16, 32 or 48 heaviest neighbours of the earlier
  //    items cost MovieLens 0.010, 0.004, 0.002 HR@20: their whole lists
  //    carry the summed evidence.)
  //    The earlier items add their evidence to every candidate already
  //    offered, but offer new ones only from the neighbours within a tenth of
  //    their strongest (the rest of their lists added at most 0.0004 HR@20
  //    on the four evaluation logs for a third more candidates).
  const double log_tenth = std::log(0.1);
  ForRecentNeighbours(items_, user, 3, [&](int rank, const TopList<ItemId>::Entry& e, double top) {
    if (rank > 0 && e.log_weight - top < log_tenth && !Offered(e.key)) return;
    Candidate& cand = Offer(e.key);
    const double rel = e.log_weight - top - (rank > 1 ? std::log(2.0) : 0.0);
    cand.parts[static_cast<int>(Reason::kBoughtTogether)] +=
        static_cast<float>(std::ldexp(opt_.cooccurrence_weight, -rank) * std::exp(0.5 * (e.log_weight - top)));
    if (rank == 0) {
      SetMax(cand.f, Feature::kCoocTrigger, 1);
      SetMax(cand.f, Feature::kCoocTriggerLog, LogScale(rel));
    } else {
      SetMax(cand.f, Feature::kCoocRecent, 1);
      SetMax(cand.f, Feature::kCoocRecentLog, LogScale(rel));
    }
  });

  // 2. The user's own recent items (not the trigger): people return to what
  //    they looked at.
  {
    size_t used = 0;
    float recency = 1.0f;
    for (auto it = user.recent.rbegin(); it != user.recent.rend() && used < opt_.history_candidates; ++it) {
      if (it->item == trigger.item || !items_.HasItem(it->item)) continue;
      bool repeat = false;
      for (auto j = user.recent.rbegin(); j != it && !repeat; ++j) repeat = j->item == it->item;
      if (repeat) continue;
      Candidate& cand = Offer(it->item);
      cand.parts[static_cast<int>(Reason::kRecentlyViewed)] += 0.5f * recency;
      SetMax(cand.f, Feature::kHistory, 1);
      SetMax(cand.f, Feature::kHistoryRecency, recency);
      recency *= 0.8f;
      ++used;
    }
  }

  // 2b. What the user carted or faved and has not bought since, newest
  //     first, the trigger included: buying a carted item is the most common
  //     next purchase.
  if (opt_.in_cart_candidates > 0) {
    size_t used = 0;
    float recency = 1.0f;
    for (auto it = user.recent.rbegin(); it != user.recent.rend() && used < opt_.in_cart_candidates;
         ++it, recency *= 0.8f) {
      if ((it->type != EventType::kCart && it->type != EventType::kFav) || !items_.HasItem(it->item) ||
          Purchased(it->item))
        continue;
      bool repeat = false;
      for (auto j = user.recent.rbegin(); j != it && !repeat; ++j)
        repeat = j->item == it->item && (j->type == EventType::kCart || j->type == EventType::kFav);
      if (repeat) continue;
      Candidate& cand = Offer(it->item);
      cand.parts[static_cast<int>(Reason::kInCart)] += recency;
      SetMax(cand.f, Feature::kInCart, 1);
      SetMax(cand.f, Feature::kInCartRecency, recency);
      ++used;
    }
  }

  // 3. The pools of the complement categories and of the affinity
  //    categories (SelectCategories chose both).
  if (!comp_scratch_.empty()) {
    const double top = comp_scratch_.front().log_weight;
    for (const auto& c : comp_scratch_)
      AddPool(c.key, opt_.complement_weight * std::exp(c.log_weight - top), Reason::kComplement);
  }
  const double aff_top = cat_scratch_.empty() ? 0 : cat_scratch_.front().log_weight;
  for (const auto& a : cat_scratch_) {
    if (a.key == trigger.category) continue;
    AddPool(a.key, opt_.same_category_weight * std::exp(a.log_weight - aff_top), Reason::kSimilar);
  }

  // 4. The trigger's own category and the catalog's most popular items, so
  //    that no list is ever short.
  AddPool(trigger.category, opt_.same_category_weight, Reason::kSimilar);
  {
    const auto& global = items_.global_top().entries();
    if (global_order_.size() != global.size()) {
      global_order_.resize(global.size());
      for (size_t i = 0; i < global.size(); ++i) global_order_[i] = static_cast<uint32_t>(i);
    }
    auto heavier = [&](uint32_t a, uint32_t b) {
      const auto& x = global[a];
      const auto& y = global[b];
      return x.log_weight != y.log_weight ? x.log_weight > y.log_weight : x.key < y.key;
    };
    for (size_t i = 1; i < global_order_.size(); ++i)
      for (size_t j = i; j > 0 && heavier(global_order_[j], global_order_[j - 1]); --j)
        std::swap(global_order_[j], global_order_[j - 1]);
    item_scratch_.clear();
    // A fallback: K/2 of them (40 added no hit rate on the four evaluation
    // logs), up to 2K when the other sources offered fewer than 2K.
    const size_t want = cands_.size() < 2 * opt_.k ? 2 * opt_.k : opt_.k / 2;
    for (size_t i = 0; i < global_order_.size() && i < want; ++i) item_scratch_.push_back(global[global_order_[i]]);
  }
  if (!item_scratch_.empty()) {
    const double top = item_scratch_.front().log_weight;
    for (const auto& e : item_scratch_) {
      Offer(e.key).parts[static_cast<int>(Reason::kPopular)] +=
          static_cast<float>(opt_.popular_weight * std::exp(e.log_weight - top));
    }
  }
}

void ModelRecommender::Score(const UserState& user, const Event& trigger) {
  // The features every candidate has, wherever it came from. u . out[x] is
  // what skip-gram with negative sampling learns as log P(x | context) up to
  // the popularity term; count and trend carry the popularity separately.
  const size_t dim = emb_.dim();
  const double trend_top = items_.global_top().MaxWeight();
  const double aff_top = user.affinity.MaxWeight();
  // What a candidate takes from its category (the strongest item, a scan of
  // its bounded list, and the user's affinity, a scan of the user's), looked
  // up once per category rather than once per candidate.
  for (CategoryId c : cat_info_touched_) cat_info_[c].top = kUnset;
  cat_info_touched_.clear();
  auto category_info = [&](CategoryId cat) {
    CategoryInfo info;
    if (cat < cat_info_.size() && cat_info_[cat].top != kUnset) return cat_info_[cat];
    const double aff = user.affinity.WeightOf(cat);
    info.affinity = aff > kLogZero ? LogScale(aff - aff_top) : 0.0f;
    if (!items_.HasCategory(cat)) {
      info.top = kLogZero;
      return info;
    }
    info.top = CategoryMaxWeight(cat);
    if (cat >= cat_info_.size()) cat_info_.resize(std::max<size_t>(cat + 1, cat_info_.size() * 2));
    cat_info_[cat] = info;
    cat_info_touched_.push_back(cat);
    return info;
  };
  for (Candidate& c : cands_) {
    const ItemRow& row = items_.item(c.item);
    const CategoryId cat = row.category;
    c.category = cat;
    const CategoryInfo info = category_info(cat);
    c.excluded = Hidden(trigger, c.item);
    Set(c.f, Feature::kComplement, cat < comp_of_.size() ? comp_of_[cat] : 0.0f);
    Set(c.f, Feature::kComplementLift, cat < lift_of_.size() ? lift_of_[cat] : 0.0f);
    // The evidence of all three items at once (Offer sums this part), not
    // only the strongest: the baseline's sum over the last 3 items.
    Set(c.f, Feature::kCoocSum,
        opt_.cooccurrence_weight > 0
            ? c.parts[static_cast<int>(Reason::kBoughtTogether)] / static_cast<float>(opt_.cooccurrence_weight)
            : 0.0f);
    // After a purchase the next step is more often a complement than a
    // substitute: the blend learns how much more.
    Set(c.f, Feature::kComplementAfterPurchase,
        trigger.type == EventType::kPurchase ? Get(c.f, Feature::kComplement) : 0.0f);
    Set(c.f, Feature::kAffinity, info.affinity);
    Set(c.f, Feature::kSameCategory, cat == trigger.category ? 1.0f : 0.0f);
    Set(c.f, Feature::kTrend, row.log_pop > kLogZero ? LogScale(row.log_pop - trend_top) : 0.0f);
    const double cat_top = info.top;
    Set(c.f, Feature::kCategoryTrend,
        row.log_pop > kLogZero && cat_top > kLogZero ? LogScale(std::min(0.0, row.log_pop - cat_top)) : 0.0f);
    Set(c.f, Feature::kCount, CountFeature(row.count));
    // A quarter to a third of the candidates (Taobao, MovieLens) come from
    // AddPool's search, which computed this very dot product already.
    const float dot = c.has_dot ? c.dot : DotHalf(user_vec_.data(), emb_.ItemOut16(c.item, cat), dim);
    Set(c.f, Feature::kEmbedding, std::clamp(dot, -10.0f, 10.0f) / 10.0f);
  }
  // Scored in a pass of its own: a vector load of the features just stored
  // one by one stalls on store forwarding (a sixth of this function's time
  // when it followed them directly).
  for (Candidate& c : cands_) c.total = ranker_.Score(c.f);
}

void ModelRecommender::Select(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) {
  const size_t k = opt_.k;
  auto by_total = [](const Ranked& a, const Ranked& b) {
    return a.total != b.total ? a.total > b.total : a.item < b.item;
  };
  // Shortlist: the best 3K (excluded items left out first).
  ranked_.clear();
  for (size_t i = 0; i < cands_.size(); ++i)
    if (!cands_[i].excluded)
      ranked_.push_back({cands_[i].total, cands_[i].item, static_cast<uint32_t>(i)});
  const size_t n = ranked_.size();
  const size_t m = std::min(n, 3 * k);
  if (m == 0) return;
  // The best m, then those in order: linear selection and a sort of m,
  // where a partial sort kept a heap of m over all n.
  if (m < n) std::nth_element(ranked_.begin(), ranked_.begin() + static_cast<std::ptrdiff_t>(m - 1), ranked_.end(), by_total);
  std::sort(ranked_.begin(), ranked_.begin() + static_cast<std::ptrdiff_t>(m), by_total);

  const auto dim = static_cast<Eigen::Index>(emb_.dim());
  // MMR needs the shortlist's vectors; mmr_lambda = 1 (relevance only)
  // spares their m loads and m * K dot products.
  const bool mmr = opt_.mmr_lambda < 1.0;
  if (mmr) {
    unit_.resize(m * emb_.dim());
    for (size_t i = 0; i < m; ++i) {
      const ItemId item = ranked_[i].item;
      Eigen::Map<Eigen::VectorXf> v(&unit_[i * emb_.dim()], dim);
      FromHalf(emb_.ItemIn16(item, items_.item(item).category), v.data(), emb_.dim());
      const float norm = v.norm();
      if (norm > 0) v /= norm;
    }
  }
  if (mmr) max_sim_.assign(m, 0.0f);
  taken_.assign(m, 0);
  const float top = ranked_[0].total;
  const float lambda = static_cast<float>(opt_.mmr_lambda);
  // Per shortlisted candidate, once: its relevance in (0, 1] (the softmax
  // share relative to the best) and the quota counter of its category.
  relevance_.resize(m);
  quota_index_.resize(m);
  quota_.clear();
  for (size_t i = 0; i < m; ++i) {
    if (mmr) relevance_[i] = std::exp(ranked_[i].total - top);
    const CategoryId cat = cands_[ranked_[i].index].category;
    size_t q = 0;
    while (q < quota_.size() && quota_[q].first != cat) ++q;
    if (q == quota_.size()) quota_.push_back({cat, 0});
    quota_index_[i] = static_cast<uint32_t>(q);
  }
  auto take = [&](size_t i) {
    const Candidate& c = cands_[ranked_[i].index];
    taken_[i] = 1;
    const CategoryId cat = quota_[quota_index_[i]].first;
    ++quota_[quota_index_[i]].second;
    int best = 0;
    for (int r = 1; r < kReasonCount; ++r)
      if (c.parts[r] > c.parts[best]) best = r;
    Reason reason = static_cast<Reason>(best);
    // An item of another category reached through the complement pools is a
    // complement even when co-occurrence also vouches for it.
    if (reason == Reason::kBoughtTogether && cat != trigger.category && c.parts[0] > 0) reason = Reason::kComplement;
    // An item still in the user's cart says so, whatever else vouches for it.
    if (c.parts[static_cast<int>(Reason::kInCart)] > 0) reason = Reason::kInCart;
    out.push_back({c.item, cat, mmr ? relevance_[i] : std::exp(ranked_[i].total - top), reason});
    if (!mmr) return;
    ConstVec chosen(&unit_[i * emb_.dim()], dim);
    for (size_t j = 0; j < m; ++j)
      if (!taken_[j]) max_sim_[j] = std::max(max_sim_[j], chosen.dot(ConstVec(&unit_[j * emb_.dim()], dim)));
  };
  // MMR under the quota (by score alone, one pass, when mmr is off).
  for (size_t i = 0; !mmr && i < m && out.size() < k; ++i)
    if (quota_[quota_index_[i]].second < opt_.max_per_category) take(i);
  while (mmr && out.size() < k) {
    size_t best = SIZE_MAX;
    float best_value = 0;
    for (size_t i = 0; i < m; ++i) {
      if (taken_[i] || quota_[quota_index_[i]].second >= opt_.max_per_category) continue;
      const float value = lambda * relevance_[i] - (1.0f - lambda) * max_sim_[i];
      if (best == SIZE_MAX || value > best_value) {
        best = i;
        best_value = value;
      }
    }
    if (best == SIZE_MAX) break;
    take(best);
  }
  // Short (few categories): fill by score, quota or not.
  for (size_t i = 0; i < m && out.size() < k; ++i)
    if (!taken_[i]) take(i);
  for (size_t i = m; i < n && out.size() < k; ++i) {
    const Ranked& c = ranked_[i];
    out.push_back({c.item, cands_[c.index].category, std::exp(c.total - top), Reason::kPopular});
  }
  // MMR may trade a little score for novelty: publish in score order.
  SortByScore(out);
}

}  // namespace recstream::model
