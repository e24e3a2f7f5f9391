// ModelRecommender: the product's scorer (DESIGN §3, "Candidates and
// ranking"), on top of the online embedding model.
//
//   1. Complement categories of the trigger's category (and of the user's
//      strongest affinities), by lift over the base rate: P(b | a) from
//      decayed transitions, shrunk towards b's share of all activity P(b)
//      (complement_prior), ranked by the excess P~(b | a) - P(b), a floor on
//      the evidence (complement_min_weight). After a purchase the same from
//      what users did right after buying in a (CategoryRow::after_purchase).
//      Optionally blended with the embedding's category affinity.
//   2. Candidates, each source bounded: the popular items of those
//      categories, of the user's affinity categories and of the trigger's
//      own category; the co-occurrence neighbours of the last 3 items; the
//      user's own recent items; what the user carted or faved and has not
//      bought (the carted trigger included); the global top as a fallback.
//   3. One blended score per candidate: a log-linear Ranker over features
//      (co-occurrence with the trigger, with the earlier items and summed,
//      the complement score and lift of its category, the user's affinity
//      for it, same category as the trigger, trend, count, in the cart, and
//      the user-vector score u . out[x] of the UserEncoder). Its weights are
//      learned online (Learn): before each event is applied, the candidates
//      of the user's previous list are ranked again and the blend moves
//      towards the item the user actually chose. (Keeping the shown list's
//      features instead would spare that second gather, but they would have
//      to be persisted per user for a restart to continue bit for bit.)
//   4. The list: score order under a per-category quota (MMR over the best
//      3K by cosine of the input vectors when mmr_lambda < 1); the user's
//      purchases, the trigger (unless carted) and inactive items are
//      dropped; a reason per item (the component that contributed most;
//      in_cart whenever the item is in the cart).
//
// A new user (no history) is served by the trigger category's complements;
// a new item is scored by its category's vectors (EmbeddingModel).
//
// Concurrency: scratch buffers; one instance per thread. No allocation per
// call once warm.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/options.h"
#include "model/ranker.h"
#include "model/recommender.h"
#include "model/user_encoder.h"

namespace recstream::model {

// A set of ids that empties in O(1): each id carries the round it was last
// inserted in, and Clear starts a new round (all stamps are reset only when
// the round counter wraps). Grows to the largest id inserted.
class IdRound {
 public:
  void Clear() {
    if (++now_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0u);
      now_ = 1;
    }
  }
  // True when id was not yet in this round (it is now).
  bool Insert(uint32_t id) {
    if (id >= stamp_.size()) stamp_.resize(std::max<size_t>(id + 1, stamp_.size() * 2), 0);
    if (stamp_[id] == now_) return false;
    stamp_[id] = now_;
    return true;
  }
  void Erase(uint32_t id) {
    if (Contains(id)) stamp_[id] = 0;
  }
  bool Contains(uint32_t id) const { return id < stamp_.size() && stamp_[id] == now_; }
  size_t capacity() const { return stamp_.size(); }

 private:
  std::vector<uint32_t> stamp_;
  uint32_t now_ = 1;
};

class ModelRecommender final : public Recommender {
 public:
  ModelRecommender(const ItemModel& items, const EmbeddingModel& embeddings, const RecommendOptions& opt);
  void Recommend(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) override;

  // Learns the blend from `next`, the event about to be applied to user (the
  // state before it): one Ranker step when next's item is among the
  // candidates of the list for the user's previous event. Returns whether it
  // was (the candidate recall, counted by the caller).
  bool Learn(const UserState& user, const Event& next);

  // The two tests behind Learn, public so that a test can hold one to the
  // other: whether item is among the candidates gathered for user and
  // trigger (by gathering them), and the cheap test Learn runs first, which
  // must answer true whenever IsCandidate does.
  bool IsCandidate(const UserState& user, const Event& trigger, ItemId item);
  bool MayBeCandidate(const UserState& user, const Event& trigger, ItemId item);

  // The complement categories of `from` at time ts, best first, with their
  // blended scores in (0, 1]; at most n, `from` itself excluded.
  void Complements(CategoryId from, int64_t ts, size_t n, std::vector<TopList<CategoryId>::Entry>& out);

  const UserEncoder& encoder() const { return encoder_; }
  const Ranker& ranker() const { return ranker_; }
  Ranker& mutable_ranker() { return ranker_; }

 private:
  struct Candidate {
    ItemId item;
    float parts[kReasonCount];  // by Reason: where it came from (names the reason)
    Features f;
    float total;
    // u . out[item], when AddPool already computed it (the same value Score
    // would: same vectors, same function).
    float dot = 0;
    bool has_dot = false;
    bool excluded = false;  // Score: Excluded(...) for this call's user and trigger
    CategoryId category = kNoId;  // Score: the item's category (Select reads it again)
  };
  // The candidate of item in this call, appended (zeroed) when new. Sources
  // add their parts and raise features (the strongest evidence wins); the
  // reference holds until the next Offer.
  Candidate& Offer(ItemId item);
  bool Offered(ItemId item) const { return item < slots_.size() && slots_[item].stamp == stamp_; }
  // Adds the complement scores of from's successors, times weight, to
  // cat_scores_; record_lift: also their log lift into lift_of_.
  void AddComplementScores(CategoryId from, double weight, int64_t ts, bool record_lift);
  // The same from what followed a purchase in from (CategoryRow::
  // after_purchase), weight 1, lift recorded; for a purchase trigger.
  void AddAfterPurchaseScores(CategoryId from, int64_t ts);
  // Both: the complement score of each of successors (of from; log_total
  // their total weight) into cat_scores_ (see RecommendOptions::
  // complement_lift).
  void AddSuccessorScores(CategoryId from, const TopList<CategoryId>& successors, double log_total, double weight,
                          double prior, double min_weight, int64_t ts, bool record_lift);
  void RecordLift(CategoryId c, double log_lift);
  // Excluded(), except for the trigger itself when the user carted or faved
  // it (in_cart_candidates): what this scorer may not list.
  // REQUIRES: MarkPurchases(user) for this call's user.
  bool Hidden(const Event& trigger, ItemId item) const;
  void AddPool(CategoryId c, double weight, Reason reason);
  // Category c's pool as AddPool draws on it: its pool_n heaviest items,
  // the items_per_category most popular of them first (in no particular
  // order, as std::nth_element leaves them), and per item
  // sqrt(exp(log_weight - top)), top being the heaviest. Cached per category
  // under ItemModel::pool_stamp, so it is recomputed only after the
  // category's list changed. REQUIRES: items_.HasCategory(c).
  struct PoolSplit {
    uint64_t stamp = UINT64_MAX;  // the pool_stamp it was computed at; MAX: never
    size_t popular = 0;           // entries [0, popular) are the popular part
    std::vector<TopList<ItemId>::Entry> items;
    std::vector<double> flat;     // by entry: sqrt(exp(log_weight - top))
    // top_items.MaxWeight(), cached apart (Score needs it for categories it
    // draws no pool from) under its own stamp.
    uint64_t max_stamp = UINT64_MAX;
    double max_weight = 0;
  };
  PoolSplit& PoolSlot(CategoryId c);
  const PoolSplit& PoolOf(CategoryId c);
  // items_.category(c).top_items.MaxWeight(), cached like PoolOf.
  // REQUIRES: items_.HasCategory(c).
  double CategoryMaxWeight(CategoryId c);
  // Candidates and their features for user (trigger being the newest event):
  // first the categories they are drawn from (comp_scratch_, cat_scratch_,
  // comp_of_; MayBeCandidate computes them too), then the items (cands_).
  void SelectCategories(const UserState& user, const Event& trigger);
  void GatherItems(const UserState& user, const Event& trigger);
  // Features, total and exclusion of every candidate.
  void Score(const UserState& user, const Event& trigger);
  void Select(const UserState& user, const Event& trigger, std::vector<Recommendation>& out);

  const ItemModel& items_;
  const EmbeddingModel& emb_;
  RecommendOptions opt_;
  UserEncoder encoder_;
  Ranker ranker_;
  std::vector<float> user_vec_;
  std::vector<Candidate> cands_;  // distinct items, in the order first offered
  struct Slot {
    uint32_t stamp = 0;  // == stamp_: index is valid for this call
    uint32_t index = 0;  // into cands_
  };
  std::vector<Slot> slots_;  // by item id
  uint32_t stamp_ = 0;
  // Complement scores of this call by category: a dense accumulator (a
  // stamp per category id and the ids touched) where a TopList's linear
  // search per Add cost a scan of up to every category for each of the
  // ~250 successors a call visits. Same sums, in the same order.
  class CategoryScores {
   public:
    void clear();
    void Add(CategoryId c, double log_increment);
    void Remove(CategoryId c);
    // The n heaviest, heaviest first, ties on the smaller id (TopList::Top).
    void Top(size_t n, std::vector<TopList<CategoryId>::Entry>& out) const;

   private:
    IdRound seen_;                 // the categories added this call
    std::vector<double> weight_;   // by category id, valid where seen_
    std::vector<CategoryId> keys_;
  };
  CategoryScores cat_scores_;
  std::vector<TopList<CategoryId>::Entry> cat_scratch_, comp_scratch_;
  // GatherItems: the order of items_.global_top()'s entries at the previous
  // call (indices into its entries). The list's weights change a little per
  // event, so an insertion sort from the previous order is close to linear,
  // where sorting the whole list afresh per call was 5 % of the event path.
  std::vector<uint32_t> global_order_;
  // Per call: a stamp by item id for the user's purchases (Hidden's test,
  // once per candidate, was a scan of up to purchases_kept items each).
  IdRound purchased_;
  void MarkPurchases(const UserState& user);
  bool Purchased(ItemId item) const { return purchased_.Contains(item); }
  std::vector<TopList<ItemId>::Entry> item_scratch_;
  std::vector<std::pair<CategoryId, uint32_t>> quota_;
  std::vector<float> unit_;       // normalised input vectors of the selected items
  std::vector<float> max_sim_;    // per shortlisted candidate
  std::vector<uint8_t> taken_;
  // Select: the shortlist's order by key (12 bytes) rather than by moving
  // the candidates themselves (~90 bytes each).
  struct Ranked {
    float total;
    ItemId item;
    uint32_t index;  // into cands_
  };
  std::vector<Ranked> ranked_;
  std::vector<float> relevance_;        // Select: per shortlisted candidate
  std::vector<uint32_t> quota_index_;   // Select: into quota_
  std::vector<float> comp_of_;             // complement feature by category id
  std::vector<CategoryId> comp_touched_;   // entries of comp_of_ to reset
  std::vector<float> lift_of_;             // kComplementLift feature by category id
  std::vector<CategoryId> lift_touched_;   // entries of lift_of_ to reset
  std::vector<Features> features_;         // Learn: the candidates' features
  std::vector<std::pair<float, uint32_t>> by_vector_;  // AddPool: (u . out, index)
  std::vector<PoolSplit> pools_;                        // by category id; see PoolOf
  static constexpr double kUnset = 1e300;
  // Score: what a candidate's features take from its category, computed once
  // per category and call (top == kUnset: not yet this call).
  struct CategoryInfo {
    double top = kUnset;  // strongest item weight of the category
    float affinity = 0;   // the kAffinity feature
  };
  std::vector<CategoryInfo> cat_info_;        // by category id
  std::vector<CategoryId> cat_info_touched_;  // entries of cat_info_ to reset
};

}  // namespace recstream::model
