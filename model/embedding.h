// EmbeddingModel: item and category embeddings trained online, event by
// event, by skip-gram with negative sampling over each user's sequence, with
// category tokens in the context (Meta-Prod2Vec), so items and categories
// share one space.
//
// Every token has an input vector (what it says about what comes next) and an
// output vector (how it is predicted). For an event e (item i, category c)
// after the user's earlier events j (item i_j, category c_j, distance d):
//
//   in[i_j]  -> out[i]    item predicts the next item
//   in[i_j]  -> outc[c]   item predicts the next category
//   inc[c_j] -> out[i]    category predicts the next item
//   inc[c_j] -> outc[c]   category predicts the next category (complements)
//   in[i]    -> outc[c]   an item predicts its own category (ties the spaces)
//
// each with `negatives` negatives drawn over popularity^0.75 (FenwickSampler),
// weighted by event type and 1/d. Rows learn at their own pace: row-wise
// AdaGrad (one accumulator per vector). A user vector u (UserEncoder) lives
// in the input space, so u . out[x] scores candidate item x and
// inc[a] . outc[b] is the embedding side of the a -> b complement.
//
// Lifecycle and memory: an item gets a row only once it has been seen
// `admit_after` times (before that, and after its row expires, it is scored
// by its category's vectors: cold start). Rows idle for `expire_after_ms` of
// event time are freed by an incremental sweep and reused. Category rows are
// few and kept. Rows changed since the last checkpoint are listed for
// state/ to persist.
//
// Determinism: randomness comes from SplitMix64 seeded by (seed, updates),
// and `updates` is persisted, so training is a pure function of the event
// sequence — a replay after a crash reproduces the same rows.
//
// Concurrency: one writer; readers on the same thread. No heap allocation per
// event once the tables have grown.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/options.h"
#include "model/sampler.h"
#include "model/types.h"
#include "model/user_state.h"

namespace recstream::model {

// One table of rows, each [in (dim) | out (dim)], plus per-row bookkeeping,
// and binary16 copies of the in and out vectors (model/half.h) in two
// tables of their own, for scoring: whoever writes a row's in or out calls
// SyncIn or SyncOut after it.
class EmbeddingTable {
 public:
  struct Meta {
    uint32_t owner = kNoId;  // the item or category id; kNoId when the row is free
    uint32_t count = 0;      // events of the owner seen
    int64_t last_ts_ms = 0;  // event time of the last update
    float g2_in = 0, g2_out = 0;  // AdaGrad accumulators
  };

  explicit EmbeddingTable(size_t dim) : dim_(dim) {}
  size_t dim() const { return dim_; }
  size_t rows() const { return meta_.size(); }
  float* in(uint32_t row) { return &data_[static_cast<size_t>(row) * 2 * dim_]; }
  float* out(uint32_t row) { return in(row) + dim_; }
  const float* in(uint32_t row) const { return &data_[static_cast<size_t>(row) * 2 * dim_]; }
  const float* out(uint32_t row) const { return in(row) + dim_; }
  Meta& meta(uint32_t row) { return meta_[row]; }
  const Meta& meta(uint32_t row) const { return meta_[row]; }
  const uint16_t* in16(uint32_t row) const { return &in16_[static_cast<size_t>(row) * dim_]; }
  const uint16_t* out16(uint32_t row) const { return &out16_[static_cast<size_t>(row) * dim_]; }
  void SyncIn(uint32_t row);
  void SyncOut(uint32_t row);

  // A zeroed row owned by owner: the lowest free row, else a new one. Lowest
  // first makes the layout a function of which rows are live, so a restored
  // table allocates exactly as the uninterrupted one would.
  uint32_t Allocate(uint32_t owner);
  void Free(uint32_t row);
  // Makes row exist (restore), growing the table; rows created free.
  void Ensure(uint32_t row);
  // Rebuilds the free list from the owners (after a restore).
  void RebuildFreeList();

 private:
  size_t dim_;
  std::vector<float> data_;
  std::vector<uint16_t> in16_, out16_;  // binary16 copies, dim per row
  std::vector<Meta> meta_;
  std::vector<uint32_t> free_;  // a min-heap of free rows
};

class EmbeddingModel {
 public:
  static constexpr uint32_t kNoRow = UINT32_MAX;

  EmbeddingModel(const EmbeddingOptions& opt, const std::array<double, kEventTypeCount>& type_weight);

  const EmbeddingOptions& options() const { return opt_; }
  size_t dim() const { return opt_.dim; }

  // Trains on event e of a user whose earlier events are history (oldest
  // first, e not included). seen: how many events of e.item the catalog has
  // counted, e included (admission).
  void Learn(const Event& e, std::span<const UserEvent> history, uint32_t seen);

  // Vectors used for scoring. An item without a row answers with its
  // category's vectors; a category without a row with zeros.
  const float* ItemIn(ItemId item, CategoryId category) const;
  const float* ItemOut(ItemId item, CategoryId category) const;
  const float* CategoryIn(CategoryId c) const;
  const float* CategoryOut(CategoryId c) const;
  // The same vectors in binary16 (what the scorer reads; model/half.h).
  const uint16_t* ItemIn16(ItemId item, CategoryId category) const;
  const uint16_t* ItemOut16(ItemId item, CategoryId category) const;
  bool HasItemRow(ItemId item) const { return item < item_row_.size() && item_row_[item] != kNoRow; }
  // The item's own output vector, nullptr when it has no row (inline: the
  // scorer's search over the category pools calls it per pool item).
  const uint16_t* ItemOut16IfRow(ItemId item) const {
    const uint32_t r = ItemRow(item);
    return r == kNoRow ? nullptr : items_.out16(r);
  }
  bool HasCategoryRow(CategoryId c) const { return CategoryRowOf(c) != kNoRow; }
  size_t live_item_rows() const { return live_items_; }
  size_t category_rows() const { return categories_.rows(); }

  // The logistic of inc[a] . outc[b]: how strongly the embedding predicts
  // category b after category a.
  double CategoryAffinity(CategoryId a, CategoryId b) const;

  // Moves the user's long-term vector towards the event's item input vector
  // (an exponential moving average weighted by event type).
  void UpdateLongTerm(UserState& user, const Event& e) const;

  uint64_t updates() const { return updates_; }

  // --- persistence (state/) ---
  struct RowView {
    uint32_t id;  // item or category id
    const EmbeddingTable::Meta* meta;
    const float* in;
    const float* out;
  };
  const std::vector<ItemId>& dirty_items() const { return dirty_items_; }
  const std::vector<CategoryId>& dirty_categories() const { return dirty_categories_; }
  // The row of a dirty id; meta == nullptr when it has no row any more
  // (expired): state/ deletes it.
  RowView ItemRowView(ItemId item) const;
  RowView CategoryRowView(CategoryId c) const;
  void ClearDirty();
  // REQUIRES: in and out have dim() values; row is the row it had.
  void RestoreItem(ItemId item, uint32_t row, const EmbeddingTable::Meta& meta, std::span<const float> in,
                   std::span<const float> out);
  void RestoreCategory(CategoryId c, const EmbeddingTable::Meta& meta, std::span<const float> in,
                       std::span<const float> out);
  // The model-wide counters (persisted with every checkpoint).
  struct Globals {
    uint64_t updates = 0;
    uint32_t item_table_rows = 0;  // high-water mark of the item table
    uint32_t sweep_cursor = 0;
  };
  Globals globals() const { return {updates_, static_cast<uint32_t>(items_.rows()), sweep_cursor_}; }
  void RestoreGlobals(const Globals& g);
  // After the Restore* calls: rebuilds free lists and samplers.
  void FinishRestore();
  uint32_t item_row_index(ItemId item) const { return ItemRow(item); }

 private:
  uint32_t ItemRow(ItemId item) const { return item < item_row_.size() ? item_row_[item] : kNoRow; }
  // Category rows are indexed by category id (dense and few).
  uint32_t CategoryRowOf(CategoryId c) const {
    return c < categories_.rows() && categories_.meta(c).owner != kNoId ? c : kNoRow;
  }
  uint32_t EnsureCategory(CategoryId c);
  uint32_t AdmitItem(ItemId item, CategoryId c, int64_t ts);
  void MarkItem(ItemId item);
  void MarkCategory(CategoryId c);
  static uint64_t SamplerWeight(uint32_t count);
  // One positive pair (center input vector, target output vector) and its
  // negatives drawn from `sampler` (over the target table's rows).
  // REQUIRES: both rows live.
  void TrainPair(EmbeddingTable& ct, uint32_t center, bool center_is_item, EmbeddingTable& tt, uint32_t target,
                 bool target_is_item, const FenwickSampler& sampler, double weight, SplitMix64& rng);
  void MarkRow(bool is_item, uint32_t row);
  void Sweep(int64_t now_ms);

  EmbeddingOptions opt_;
  std::array<double, kEventTypeCount> type_weight_;
  double mean_type_weight_;
  EmbeddingTable items_, categories_;
  std::vector<uint32_t> item_row_;  // item id -> row
  FenwickSampler item_sampler_, category_sampler_;  // indexed by row
  size_t live_items_ = 0;
  uint64_t updates_ = 0;
  uint32_t sweep_cursor_ = 0;
  std::vector<ItemId> dirty_items_;
  std::vector<CategoryId> dirty_categories_;
  std::vector<uint8_t> item_dirty_, category_dirty_;  // by id
  // Scratch (no allocation per event once warm).
  std::vector<float> grad_center_;
  std::vector<float> zeros_;
  std::vector<uint16_t> zeros16_;
};

}  // namespace recstream::model
