#include "model/item_model.h"

#include <algorithm>
#include <cmath>

namespace recstream::model {

ItemModel::ItemModel(const ItemModelOptions& opt)
    : opt_(opt),
      pop_clock_(opt.activity_clock ? opt.popularity_half_life_events : opt.popularity_half_life_ms, 0),
      cooc_clock_(opt.activity_clock ? opt.cooccurrence_half_life_events : opt.cooccurrence_half_life_ms, 0),
      transition_clock_(opt.activity_clock ? opt.transition_half_life_events : opt.transition_half_life_ms, 0) {}

ItemRow& ItemModel::MutableItem(ItemId id) {
  if (id >= items_.size()) {
    items_.resize(id + 1);
    item_dirty_flag_.resize(id + 1, 0);
  }
  if (!item_dirty_flag_[id]) {
    item_dirty_flag_[id] = 1;
    dirty_items_.push_back(id);
  }
  return items_[id];
}

CategoryRow& ItemModel::MutableCategory(CategoryId id) {
  if (id >= categories_.size()) {
    categories_.resize(id + 1);
    category_dirty_flag_.resize(id + 1, 0);
    pool_stamps_.resize(id + 1, 0);
  }
  if (!category_dirty_flag_[id]) {
    category_dirty_flag_[id] = 1;
    dirty_categories_.push_back(id);
  }
  return categories_[id];
}

void ItemModel::RefreshRankings(ItemId id, const ItemRow& row) {
  CategoryRow& cat = MutableCategory(row.category);
  if (row.active) {
    if (cat.top_items.Set(id, row.log_pop, opt_.category_top_items)) TouchPool(row.category);
    if (global_top_.Set(id, row.log_pop, opt_.global_top_items)) global_dirty_ = true;
  } else {
    if (cat.top_items.Remove(id)) TouchPool(row.category);
    if (global_top_.Remove(id)) global_dirty_ = true;
  }
}

void ItemModel::Learn(const Event& e, std::span<const UserEvent> history) {
  const double we = Weight(e.type);
  {
    ItemRow& row = MutableItem(e.item);
    if (row.category != e.category && row.category != kNoId) {
      // The event carries a newer category for the item: move it.
      if (MutableCategory(row.category).top_items.Remove(e.item)) TouchPool(row.category);
    }
    row.category = e.category;
    row.count++;
    row.last_ts_ms = std::max(row.last_ts_ms, e.ts_ms);
    const double pop_inc = pop_clock_.Increment(we, Now(e.ts_ms));
    row.log_pop = LogAddExp(row.log_pop, pop_inc);
    CategoryRow& cat = MutableCategory(e.category);
    cat.log_pop = LogAddExp(cat.log_pop, pop_inc);
    log_pop_total_ = LogAddExp(log_pop_total_, pop_inc);
    RefreshRankings(e.item, row);
  }

  // Pair e with the user's recent events, nearest first; each distinct item
  // and category pairs once, at its nearest occurrence.
  seen_items_.clear();
  seen_categories_.clear();
  size_t distance = 0;
  for (auto it = history.rbegin(); it != history.rend() && distance < opt_.window; ++it, ++distance) {
    const UserEvent& p = *it;
    if (e.ts_ms - p.ts_ms > opt_.max_gap_ms) break;
    if (distance == 0 && p.type == EventType::kPurchase && p.category != kNoId) {
      const double inc = transition_clock_.Increment(1.0, Now(e.ts_ms));
      CategoryRow& from = MutableCategory(p.category);
      from.log_after_purchase = LogAddExp(from.log_after_purchase, inc);
      if (p.category != e.category) from.after_purchase.Add(e.category, inc, opt_.transition_successors);
    }
    const double w = std::sqrt(Weight(p.type) * we) / static_cast<double>(1 + distance);
    if (p.item != e.item && p.item < items_.size() &&
        std::find(seen_items_.begin(), seen_items_.end(), p.item) == seen_items_.end()) {
      seen_items_.push_back(p.item);
      // Each end's list ages on its own clock. Space-Saving insertion: a
      // list that only admitted increments heavier than its lightest entry
      // would freeze once its entries had accumulated weight.
      ItemRow& prev = MutableItem(p.item);
      prev.neighbours.AddSpaceSaving(e.item, cooc_clock_.Increment(w, ItemNow(prev, e.ts_ms)),
                                     opt_.cooccurrence_neighbours);
      ItemRow& cur = MutableItem(e.item);
      cur.neighbours.AddSpaceSaving(p.item, cooc_clock_.Increment(w, ItemNow(cur, e.ts_ms)),
                                    opt_.cooccurrence_neighbours);
    }
    if (p.category != e.category && p.category != kNoId &&
        std::find(seen_categories_.begin(), seen_categories_.end(), p.category) ==
            seen_categories_.end()) {
      seen_categories_.push_back(p.category);
      // Transitions weigh by both ends, so purchase -> purchase weighs most.
      const double inc =
          transition_clock_.Increment(Weight(p.type) * we / static_cast<double>(1 + distance), Now(e.ts_ms));
      CategoryRow& from = MutableCategory(p.category);
      from.successors.Add(e.category, inc, opt_.transition_successors);
      from.log_out = LogAddExp(from.log_out, inc);
    }
  }
  ++version_;
  global_dirty_ = true;
}

void ItemModel::UpdateCatalog(ItemId item, CategoryId category, bool active) {
  ItemRow& row = MutableItem(item);
  if (row.category != kNoId && row.category != category) {
    if (MutableCategory(row.category).top_items.Remove(item)) TouchPool(row.category);
  }
  row.category = category;
  row.active = active;
  if (row.log_pop != kLogZero || !active) RefreshRankings(item, row);
  else MutableCategory(category);
}

void ItemModel::ClearDirty() {
  for (ItemId id : dirty_items_) item_dirty_flag_[id] = 0;
  for (CategoryId id : dirty_categories_) category_dirty_flag_[id] = 0;
  dirty_items_.clear();
  dirty_categories_.clear();
  global_dirty_ = false;
}

void ItemModel::RestoreItem(ItemId id, ItemRow row) {
  if (id >= items_.size()) {
    items_.resize(id + 1);
    item_dirty_flag_.resize(id + 1, 0);
  }
  items_[id] = std::move(row);
}

void ItemModel::RestoreCategory(CategoryId id, CategoryRow row) {
  if (id >= categories_.size()) {
    categories_.resize(id + 1);
    category_dirty_flag_.resize(id + 1, 0);
    pool_stamps_.resize(id + 1, 0);
  }
  categories_[id] = std::move(row);
  TouchPool(id);
}

void ItemModel::RestoreGlobal(TopList<ItemId> top, uint64_t version, double log_pop_total) {
  global_top_ = std::move(top);
  version_ = version;
  log_pop_total_ = log_pop_total;
  if (std::isnan(log_pop_total)) {
    log_pop_total_ = kLogZero;
    for (const CategoryRow& c : categories_) log_pop_total_ = LogAddExp(log_pop_total_, c.log_pop);
  }
}

}  // namespace recstream::model
