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
  // Half-life of the category affinity. Default: 1 day.
  double affinity_half_life_ms = 86'400'000;
  // Recent event_ids remembered per user for de-duplication. Default: 32.
  size_t dedupe_window = 32;
};

struct ItemModelOptions {
  // Half-life of item popularity and of co-occurrence. Default: 1 day.
  double popularity_half_life_ms = 86'400'000;
  double cooccurrence_half_life_ms = 7 * 86'400'000.0;
  // Half-life of category transition counts. Default: 7 days.
  double transition_half_life_ms = 7 * 86'400'000.0;
  // Previous events of the user an event pairs with. Default: 5.
  size_t window = 5;
  // Events further apart than this do not pair. Default: 1 day.
  int64_t max_gap_ms = 86'400'000;
  // Neighbours kept per item. Default: 32.
  size_t cooccurrence_neighbours = 32;
  // Successor categories kept per category. Default: 64.
  size_t transition_successors = 64;
  // Popular items kept per category, and globally. Default: 100, 200.
  size_t category_top_items = 100;
  size_t global_top_items = 200;
  // Weight of each event type (view, click, cart, fav, purchase).
  // Default: 1, 2, 4, 3, 8.
  std::array<double, kEventTypeCount> type_weight{1.0, 2.0, 4.0, 3.0, 8.0};
};

struct RecommendOptions {
  // List length K. Default: 20.
  size_t k = 20;
  // At most this many items of one category in a list. Default: 6.
  size_t max_per_category = 6;
  // Complement categories searched for candidates. Default: 6.
  size_t complement_categories = 6;
  // Items considered per candidate category. Default: 20.
  size_t items_per_category = 20;
  // Weights of the score components.
  double cooccurrence_weight = 1.0;  // Default: 1.0
  double complement_weight = 0.3;    // Default: 0.3
  double same_category_weight = 0.1; // Default: 0.1
  double popular_weight = 0.1;       // Default: 0.1
  // Additive smoothing of category transitions (pseudo-count). Default: 1.0.
  double transition_smoothing = 1.0;
};

}  // namespace recstream::model
