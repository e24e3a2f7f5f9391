// Typed settings of the model. The app fills them from the TOML file
// (configs/default.toml documents each key); the model never reads config.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "model/types.h"

namespace recstream::model {

struct UserOptions {
  // Events kept per user (the sequence the model sees). Default: 20.
  size_t history_length = 20;
  // Purchased items remembered and excluded from lists. Default: 20.
  size_t purchases_kept = 20;
  // Categories kept in the decayed affinity. Default: 16.
  size_t affinity_categories = 16;
  // Which clock the affinity decays on: true, the user's own events (the
  // half-life below in events); false, event time. Set together with
  // ItemModelOptions::activity_clock (config key model.clock). Default: true.
  bool activity_clock = true;
  // Half-life of the category affinity on the user's own events. Default: 10.
  double affinity_half_life_events = 10;
  // Half-life of the category affinity in event time. Default: 1 day.
  double affinity_half_life_ms = 86'400'000;
  // Recent event_ids remembered per user for de-duplication. Default: 32.
  size_t dedupe_window = 32;
  // A user idle this long (event time: their last event, or when they were
  // forgotten, to the next event) starts over from empty state; on disk the
  // row is removed by compaction once the stream's time is past it. 0:
  // never. Default: 0 (opt-in until its effect on the evaluation logs is
  // measured; 7776000 s = 90 days is the intended default).
  int64_t expire_after_ms = 0;
};

struct ItemModelOptions {
  // Which clock the statistics decay on. true: activity — popularity and
  // category transitions age with the events the model has learned, an
  // item's co-occurrence list with that item's own events (the *_events
  // half-lives). false: event time (the *_ms half-lives). A shop with a
  // hundred purchases a day and an eleven-year review log fit no single
  // event-time default; on the activity clock one default serves the three
  // evaluation logs (docs/EVALUATION.md). Default: true.
  bool activity_clock = true;
  // Activity-clock half-lives. Defaults: popularity 50000 events of the
  // model, co-occurrence 50 events of the item, transitions 200000 events of
  // the model.
  double popularity_half_life_events = 50'000;
  double cooccurrence_half_life_events = 50;
  double transition_half_life_events = 200'000;
  // Event-time half-lives. Defaults: popularity 1 day, co-occurrence and
  // transitions 7 days.
  double popularity_half_life_ms = 86'400'000;
  double cooccurrence_half_life_ms = 7 * 86'400'000.0;
  double transition_half_life_ms = 7 * 86'400'000.0;
  // Previous events of the user an event pairs with. Default: 5.
  size_t window = 5;
  // Events further apart than this do not pair. Default: 1 day.
  int64_t max_gap_ms = 86'400'000;
  // Neighbours kept per item. Default: 64 (32 cost MovieLens 0.008 HR@20
  // over all events and nothing elsewhere, for 12 % less CPU per event,
  // docs/EVALUATION.md).
  size_t cooccurrence_neighbours = 64;
  // Successor categories kept per category. Default: 64.
  size_t transition_successors = 64;
  // Popular items kept per category, and globally. Default: 100, 200.
  size_t category_top_items = 100;
  size_t global_top_items = 200;
  // Weight of each event type (view, click, cart, fav, purchase).
  // Default: 1, 2, 4, 3, 8.
  std::array<double, kEventTypeCount> type_weight{1.0, 2.0, 4.0, 3.0, 8.0};
};

struct EmbeddingOptions {
  // Vector dimension of items and categories. Default: 64.
  size_t dim = 64;
  // Earlier events of the user that predict the next one. Default: 3.
  // Negative samples per positive pair. Default: 2. (5 and 5 cost three
  // times the row updates for no hit rate on the four evaluation logs,
  // docs/PERFORMANCE.md.)
  size_t window = 3;
  size_t negatives = 2;
  // Base learning rate of row-wise AdaGrad. Default: 0.1.
  double learning_rate = 0.1;
  // Initial AdaGrad accumulator (bounds the first steps). Default: 0.1.
  double adagrad_initial = 0.1;
  // Category tokens in the context (Meta-Prod2Vec). Default: true.
  bool category_context = true;
  // Weight of the category-token pairs relative to item pairs. Default: 0.5.
  double category_pair_weight = 0.5;
  // An item gets its own vectors once seen this many times. Default: 2.
  uint32_t admit_after = 2;
  // Item rows idle this long (event time) are freed. Default: 30 days.
  int64_t expire_after_ms = 30 * 86'400'000LL;
  // Item rows kept at most; beyond it new items are not admitted until rows
  // expire (they are scored by their category). Default: 1000000.
  size_t max_item_rows = 1'000'000;
  // Weight of the newest event in the user's long-term vector. Default: 0.1.
  double long_term_rate = 0.1;
  // User vector: attention prior of an event one step older. Default: 0.8.
  double attention_recency = 0.8;
  // Share of the long-term vector in the user vector. Default: 0.3.
  double long_term_weight = 0.3;
  // Seed of the initial vectors and negative draws. Default: 1.
  uint64_t seed = 1;
};

struct RecommendOptions {
  // Which scorer ranks the lists: "rules" (co-occurrence + learned category
  // transitions + popularity, CrossCategoryRecommender) or "model" (the
  // online embedding model, ModelRecommender; its vectors are trained only
  // when it is on). Default: model — it beats both baselines and the rules
  // on MovieLens and Taobao (docs/EVALUATION.md).
  bool use_model = true;
  // List length K. Default: 20.
  size_t k = 20;
  // At most this many items of one category in a list. Default: 10 (6 cost
  // hit rate on every evaluation log; 20 costs cross-category hit rate on
  // the shops, docs/EVALUATION.md).
  size_t max_per_category = 10;
  // Complement categories searched for candidates. Default: 3 (with 20
  // items each: ahead of 6 x 10 after purchases on the generator's shops at
  // the same candidate count, docs/EVALUATION.md).
  size_t complement_categories = 3;
  // Items considered per candidate category. Default: 14 (20 added at most
  // 0.0004 HR@20 on the four evaluation logs for 5 % more CPU per event; 10
  // lost 0.002 on the generator and Taobao, docs/EVALUATION.md).
  size_t items_per_category = 14;
  // Model scorer: the user's own most recent distinct items offered as
  // candidates (its learned blend decides whether returning to them is
  // likely; 0 never offers them). Default: 10.
  size_t history_candidates = 10;
  // Model scorer: each candidate category also offers its items_per_category
  // best by user-vector score among its this many most popular (0: only the
  // most popular). Default: 0 (50 added at most 0.001 HR@20 on the
  // evaluation logs for a sixth of the event's cost, docs/PERFORMANCE.md).
  size_t pool_items = 0;
  // Weights of the score components.
  double cooccurrence_weight = 1.0;  // Default: 1.0
  double complement_weight = 0.3;    // Default: 0.3
  double same_category_weight = 0.1; // Default: 0.1
  double popular_weight = 0.1;       // Default: 0.1
  // Additive smoothing of category transitions (pseudo-count). Default: 1.0.
  double transition_smoothing = 1.0;
  // Initial weight of the user-vector score in the model scorer's learned
  // blend (model/ranker.h). Default: 1.0.
  double embedding_weight = 1.0;
  // AdaGrad learning rate of that blend's weights; 0 keeps the initial
  // weights. Default: 0.05.
  double ranker_learning_rate = 0.05;
  // How much more a choice outside the trigger's category counts in that
  // learning than one inside it. Default: 3.0.
  double ranker_cross_category_weight = 3.0;
  // The blend learns from every event whose item the previous list could
  // have held until it has taken ranker_full_updates steps, then from those
  // of one event in ranker_sample_every (the events learned by the model,
  // counted: the same events on a restart). Its 18 weights settle within
  // the first steps, and each step gathers and scores the previous list's
  // candidates again, a third of the event's cost when every event learns.
  // Defaults: 20000, 4.
  size_t ranker_full_updates = 20'000;
  size_t ranker_sample_every = 4;
  // Complement score of a category pair: this share from the embedding
  // (category -> category affinity), the rest from transition counts.
  // Default: 0.3.
  double complement_embedding_share = 0.0;
  // Diversification (MMR): relevance vs. novelty; 1 = relevance only.
  // Default: 0.85.
  double mmr_lambda = 1.0;
  // Complement categories by lift over the base rate (true) or by the raw
  // transition share P(b | a) (false: popular categories then follow
  // everything). Lift: P~(b | a) / P(b), P(b) the category's share of the
  // catalog's decayed popularity, P~(b | a) shrunk towards P(b) by
  // complement_prior pseudo-weight; categories are ranked by the excess
  // P~(b | a) - P(b). Default: true.
  bool complement_lift = true;
  // Pseudo-weight of that shrinkage, in transition weight (a view -> view
  // step weighs 1, cart -> purchase 32). Default: 20.
  double complement_prior = 20;
  // A successor whose decayed transition weight is below this is no
  // complement (the significance floor). Default: 4.
  double complement_min_weight = 4;
  // After a purchase the categories that followed purchases in the
  // trigger's category (ItemModel's after_purchase counts, one per event)
  // add their own lift scores, with this prior and floor in events.
  // Defaults: 5, 2.
  double after_purchase_prior = 5;
  double after_purchase_min_events = 2;
  // Model scorer: the user's carted or faved items not bought since offered
  // (reason "in_cart"), the trigger itself when it is such an event; at most
  // this many, newest first; 0 never offers them. Default: 5.
  size_t in_cart_candidates = 5;
};

}  // namespace recstream::model
