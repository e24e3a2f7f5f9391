// ItemModel: the item-side statistics learned from the stream — item catalog
// and popularity, item co-occurrence, category->category transitions and the
// popular items of each category.
//
// Concurrency: one writer (the processing thread); readers on that thread.
// Lifecycle: rows are created on first use; state/ restores them on start and
// persists the rows named by the dirty lists after each batch.
// Limits: every list is bounded by ItemModelOptions; rows grow with distinct
// items and categories (expiry arrives with the online model).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/decay.h"
#include "model/options.h"
#include "model/top_list.h"
#include "model/types.h"
#include "model/user_state.h"

namespace recstream::model {

struct ItemRow {
  CategoryId category = kNoId;
  bool active = true;
  uint32_t count = 0;          // events seen
  int64_t last_ts_ms = 0;
  double log_pop = kLogZero;   // forward-decayed popularity
  TopList<ItemId> neighbours;  // decayed co-occurrence (Space-Saving insertion)
};

struct CategoryRow {
  double log_pop = kLogZero;       // forward-decayed popularity
  double log_out = kLogZero;       // total outgoing transition weight
  TopList<CategoryId> successors;  // decayed transitions to other categories
  TopList<ItemId> top_items;       // most popular active items
  // What a user did next after buying in this category: the events that
  // immediately followed a purchase (each weighs 1, on transition_clock),
  // all of them in log_after_purchase, those in another category by
  // category in after_purchase. P(b | purchase in a) without the browsing
  // between categories that dilutes `successors`.
  double log_after_purchase = kLogZero;
  TopList<CategoryId> after_purchase;
};

class ItemModel {
 public:
  explicit ItemModel(const ItemModelOptions& opt);

  const ItemModelOptions& options() const { return opt_; }
  const DecayClock& pop_clock() const { return pop_clock_; }
  const DecayClock& cooc_clock() const { return cooc_clock_; }
  const DecayClock& transition_clock() const { return transition_clock_; }
  // The time of the model-wide clocks (popularity, transitions): the events
  // learned on the activity clock, else the event time ts_ms.
  double Now(int64_t ts_ms) const {
    return opt_.activity_clock ? static_cast<double>(version_) : static_cast<double>(ts_ms);
  }
  // The time of row's co-occurrence list: its own events on the activity
  // clock, else the event time ts_ms.
  double ItemNow(const ItemRow& row, int64_t ts_ms) const {
    return opt_.activity_clock ? static_cast<double>(row.count) : static_cast<double>(ts_ms);
  }

  bool HasItem(ItemId id) const { return id < items_.size() && items_[id].category != kNoId; }
  const ItemRow& item(ItemId id) const { return items_[id]; }
  bool HasCategory(CategoryId id) const { return id < categories_.size(); }
  const CategoryRow& category(CategoryId id) const { return categories_[id]; }
  size_t item_count() const { return items_.size(); }
  size_t category_count() const { return categories_.size(); }
  const TopList<ItemId>& global_top() const { return global_top_; }
  // The decayed popularity of the whole catalog (on pop_clock, the sum of
  // every category's log_pop): the base rate P(c) = pop(c) / total of the
  // complement lift.
  double log_pop_total() const { return log_pop_total_; }

  // Learns from event e of a user whose earlier events are history (oldest
  // first, e not included). REQUIRES: e.item and e.category valid ids.
  void Learn(const Event& e, std::span<const UserEvent> history);

  // Catalog update: sets the item's category and active flag.
  void UpdateCatalog(ItemId item, CategoryId category, bool active);

  // Events learned since the model was created (restored with the state).
  uint64_t version() const { return version_; }

  // A stamp of category c's top_items: it takes a new value, never used
  // before by this model, whenever the list changes (an item's weight set,
  // an item added or removed, the row restored), so a reader may cache what
  // it derives from the list under the stamp and trust it while the stamp
  // holds. 0 for an id without a row. Not persisted (a restored row takes a
  // fresh stamp); only meaningful against the same ItemModel object.
  uint64_t pool_stamp(CategoryId c) const { return c < pool_stamps_.size() ? pool_stamps_[c] : 0; }

  // --- persistence (state/) ---
  const std::vector<ItemId>& dirty_items() const { return dirty_items_; }
  const std::vector<CategoryId>& dirty_categories() const { return dirty_categories_; }
  bool global_dirty() const { return global_dirty_; }
  void ClearDirty();
  void RestoreItem(ItemId id, ItemRow row);
  void RestoreCategory(CategoryId id, CategoryRow row);
  // log_pop_total NaN (a row written before it was kept): summed from the
  // restored categories, so RestoreCategory must come first.
  void RestoreGlobal(TopList<ItemId> top, uint64_t version, double log_pop_total);

 private:
  ItemRow& MutableItem(ItemId id);
  CategoryRow& MutableCategory(CategoryId id);
  void RefreshRankings(ItemId id, const ItemRow& row);
  // REQUIRES: c has a row. Gives c's top_items a new pool_stamp.
  void TouchPool(CategoryId c) { pool_stamps_[c] = ++pool_changes_; }
  double Weight(EventType t) const { return opt_.type_weight[static_cast<int>(t)]; }

  ItemModelOptions opt_;
  DecayClock pop_clock_, cooc_clock_, transition_clock_;
  std::vector<ItemRow> items_;
  std::vector<CategoryRow> categories_;
  TopList<ItemId> global_top_;
  uint64_t version_ = 0;
  double log_pop_total_ = kLogZero;
  std::vector<ItemId> dirty_items_;
  std::vector<CategoryId> dirty_categories_;
  std::vector<uint8_t> item_dirty_flag_, category_dirty_flag_;
  std::vector<uint64_t> pool_stamps_;  // by category id; see pool_stamp()
  uint64_t pool_changes_ = 0;          // the last stamp handed out
  bool global_dirty_ = false;
  // Scratch for Learn (no allocation per event once warm).
  std::vector<ItemId> seen_items_;
  std::vector<CategoryId> seen_categories_;
};

}  // namespace recstream::model
