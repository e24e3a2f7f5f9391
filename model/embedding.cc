#include "model/embedding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include <Eigen/Core>

#include "model/half.h"

namespace recstream::model {

namespace {

using Vec = Eigen::Map<Eigen::VectorXf>;
using ConstVec = Eigen::Map<const Eigen::VectorXf>;

inline float Sigmoid(float x) {
  x = std::clamp(x, -12.0f, 12.0f);
  return 1.0f / (1.0f + std::exp(-x));
}

// Initial input vectors: uniform in [-0.5, 0.5) / dim, as word2vec does.
void RandomFill(float* v, size_t dim, SplitMix64& rng) {
  const double scale = 1.0 / static_cast<double>(dim);
  for (size_t i = 0; i < dim; ++i) v[i] = static_cast<float>((rng.Uniform() - 0.5) * scale);
}

}  // namespace

// --- EmbeddingTable ---

uint32_t EmbeddingTable::Allocate(uint32_t owner) {
  uint32_t row;
  if (!free_.empty()) {
    std::pop_heap(free_.begin(), free_.end(), std::greater<>());
    row = free_.back();
    free_.pop_back();
  } else {
    row = static_cast<uint32_t>(meta_.size());
    meta_.emplace_back();
    data_.resize(data_.size() + 2 * dim_, 0.0f);
    in16_.resize(in16_.size() + dim_, 0);
    out16_.resize(out16_.size() + dim_, 0);
  }
  std::fill_n(in(row), 2 * dim_, 0.0f);
  std::fill_n(&in16_[static_cast<size_t>(row) * dim_], dim_, uint16_t{0});  // binary16 zero is all bits 0
  std::fill_n(&out16_[static_cast<size_t>(row) * dim_], dim_, uint16_t{0});
  meta_[row] = Meta{};
  meta_[row].owner = owner;
  return row;
}

void EmbeddingTable::Free(uint32_t row) {
  meta_[row] = Meta{};
  free_.push_back(row);
  std::push_heap(free_.begin(), free_.end(), std::greater<>());
}

void EmbeddingTable::Ensure(uint32_t row) {
  if (row < meta_.size()) return;
  meta_.resize(static_cast<size_t>(row) + 1);
  data_.resize(meta_.size() * 2 * dim_, 0.0f);
  in16_.resize(meta_.size() * dim_, 0);
  out16_.resize(meta_.size() * dim_, 0);
}

void EmbeddingTable::SyncIn(uint32_t row) { ToHalf(in(row), &in16_[static_cast<size_t>(row) * dim_], dim_); }

void EmbeddingTable::SyncOut(uint32_t row) { ToHalf(out(row), &out16_[static_cast<size_t>(row) * dim_], dim_); }

void EmbeddingTable::RebuildFreeList() {
  free_.clear();
  for (uint32_t r = 0; r < meta_.size(); ++r)
    if (meta_[r].owner == kNoId) free_.push_back(r);
  std::make_heap(free_.begin(), free_.end(), std::greater<>());
}

// --- EmbeddingModel ---

EmbeddingModel::EmbeddingModel(const EmbeddingOptions& opt, const std::array<double, kEventTypeCount>& type_weight)
    : opt_(opt),
      type_weight_(type_weight),
      items_(opt.dim),
      categories_(opt.dim),
      grad_center_(opt.dim),
      zeros_(opt.dim, 0.0f),
      zeros16_(opt.dim, 0) {
  double sum = 0;
  for (double w : type_weight_) sum += w;
  mean_type_weight_ = sum / kEventTypeCount;
}

uint64_t EmbeddingModel::SamplerWeight(uint32_t count) {
  // popularity^0.75, scaled so that small counts keep their ratios.
  return static_cast<uint64_t>(std::llround(16.0 * std::pow(static_cast<double>(count), 0.75)));
}

void EmbeddingModel::MarkItem(ItemId item) {
  if (item >= item_dirty_.size()) item_dirty_.resize(static_cast<size_t>(item) + 1, 0);
  if (!item_dirty_[item]) {
    item_dirty_[item] = 1;
    dirty_items_.push_back(item);
  }
}

void EmbeddingModel::MarkCategory(CategoryId c) {
  if (c >= category_dirty_.size()) category_dirty_.resize(static_cast<size_t>(c) + 1, 0);
  if (!category_dirty_[c]) {
    category_dirty_[c] = 1;
    dirty_categories_.push_back(c);
  }
}

void EmbeddingModel::MarkRow(bool is_item, uint32_t row) {
  if (is_item) {
    MarkItem(items_.meta(row).owner);
  } else {
    MarkCategory(row);
  }
}

uint32_t EmbeddingModel::EnsureCategory(CategoryId c) {
  categories_.Ensure(c);
  auto& m = categories_.meta(c);
  if (m.owner == kNoId) {
    m.owner = c;
    m.g2_in = m.g2_out = static_cast<float>(opt_.adagrad_initial);
    SplitMix64 rng(opt_.seed ^ (0x5ca1ab1eULL + c));
    RandomFill(categories_.in(c), opt_.dim, rng);
    categories_.SyncIn(c);
  }
  return c;
}

uint32_t EmbeddingModel::AdmitItem(ItemId item, CategoryId c, int64_t ts) {
  if (live_items_ >= opt_.max_item_rows) return kNoRow;
  const uint32_t row = items_.Allocate(item);
  if (item >= item_row_.size()) item_row_.resize(static_cast<size_t>(item) + 1, kNoRow);
  item_row_[item] = row;
  ++live_items_;
  auto& m = items_.meta(row);
  m.g2_in = m.g2_out = static_cast<float>(opt_.adagrad_initial);
  m.last_ts_ms = ts;
  // Cold start: the item begins where its category is, plus a little noise so
  // that items of one category can drift apart.
  SplitMix64 rng(opt_.seed ^ (0x1bad5eedULL * (static_cast<uint64_t>(item) + 1)));
  RandomFill(items_.in(row), opt_.dim, rng);
  Vec(items_.in(row), static_cast<Eigen::Index>(opt_.dim)) +=
      ConstVec(categories_.in(c), static_cast<Eigen::Index>(opt_.dim));
  std::memcpy(items_.out(row), categories_.out(c), opt_.dim * sizeof(float));
  items_.SyncIn(row);
  items_.SyncOut(row);
  return row;
}

void EmbeddingModel::TrainPair(EmbeddingTable& ct, uint32_t center, bool center_is_item, EmbeddingTable& tt,
                               uint32_t target, bool target_is_item, const FenwickSampler& sampler, double weight,
                               SplitMix64& rng) {
  const auto dim = static_cast<Eigen::Index>(opt_.dim);
  Vec v(ct.in(center), dim);
  Vec grad(grad_center_.data(), dim);
  grad.setZero();
  const float lr = static_cast<float>(opt_.learning_rate);
  const float inv_dim = 1.0f / static_cast<float>(opt_.dim);
  // v (an input vector) changes only after the steps, which write output
  // vectors: its squared norm is the same for every step of the pair.
  const float v_norm2 = v.squaredNorm();
  auto step = [&](uint32_t trow, float label) {
    Vec t(tt.out(trow), dim);
    const float g = (label - Sigmoid(v.dot(t))) * static_cast<float>(weight);
    grad += g * t;
    auto& m = tt.meta(trow);
    t += (lr / std::sqrt(m.g2_out) * g) * v;
    m.g2_out += g * g * v_norm2 * inv_dim;  // the order of old: identical results
    tt.SyncOut(trow);
    MarkRow(target_is_item, trow);
  };
  step(target, 1.0f);
  for (size_t k = 0; k < opt_.negatives; ++k) {
    const size_t r = sampler.Sample(rng.Next());
    if (r == SIZE_MAX || r == target) continue;
    step(static_cast<uint32_t>(r), 0.0f);
  }
  auto& cm = ct.meta(center);
  v += (lr / std::sqrt(cm.g2_in)) * grad;
  cm.g2_in += grad.squaredNorm() * inv_dim;
  ct.SyncIn(center);
  MarkRow(center_is_item, center);
}

void EmbeddingModel::Learn(const Event& e, std::span<const UserEvent> history, uint32_t seen) {
  ++updates_;
  SplitMix64 rng(opt_.seed * 0x9e3779b97f4a7c15ULL ^ updates_);

  const uint32_t crow = EnsureCategory(e.category);
  {
    auto& m = categories_.meta(crow);
    ++m.count;
    m.last_ts_ms = std::max(m.last_ts_ms, e.ts_ms);
    category_sampler_.Set(crow, SamplerWeight(m.count));
    MarkCategory(crow);
  }
  uint32_t irow = ItemRow(e.item);
  if (irow == kNoRow && seen >= opt_.admit_after) irow = AdmitItem(e.item, e.category, e.ts_ms);
  if (irow != kNoRow) {
    auto& m = items_.meta(irow);
    m.count = std::max(m.count + 1, seen);
    m.last_ts_ms = std::max(m.last_ts_ms, e.ts_ms);
    item_sampler_.Set(irow, SamplerWeight(m.count));
    MarkItem(e.item);
  }

  const double tw = type_weight_[static_cast<int>(e.type)] / mean_type_weight_;
  const double cw = opt_.category_context ? opt_.category_pair_weight : 0.0;
  size_t distance = 0;
  for (auto j = history.rbegin(); j != history.rend() && distance < opt_.window; ++j) {
    ++distance;
    if (j->item == e.item) continue;  // a repeat says nothing about what follows
    const double w = tw / static_cast<double>(distance);
    const uint32_t jrow = ItemRow(j->item);
    const uint32_t jcrow = CategoryRowOf(j->category);
    if (jrow != kNoRow && irow != kNoRow)
      TrainPair(items_, jrow, true, items_, irow, true, item_sampler_, w, rng);
    if (cw <= 0) continue;
    if (jrow != kNoRow) TrainPair(items_, jrow, true, categories_, crow, false, category_sampler_, w * cw, rng);
    if (jcrow != kNoRow) {
      if (irow != kNoRow) TrainPair(categories_, jcrow, false, items_, irow, true, item_sampler_, w * cw, rng);
      TrainPair(categories_, jcrow, false, categories_, crow, false, category_sampler_, w * cw, rng);
    }
  }
  if (irow != kNoRow && cw > 0)
    TrainPair(items_, irow, true, categories_, crow, false, category_sampler_, tw * cw, rng);

  Sweep(e.ts_ms);
}

void EmbeddingModel::Sweep(int64_t now_ms) {
  // Two rows per event: a full pass over n rows takes n / 2 events, far
  // shorter than any sensible expiry.
  for (int i = 0; i < 2 && items_.rows() > 0; ++i) {
    if (sweep_cursor_ >= items_.rows()) sweep_cursor_ = 0;
    const uint32_t row = sweep_cursor_++;
    const auto& m = items_.meta(row);
    if (m.owner == kNoId || now_ms - m.last_ts_ms <= opt_.expire_after_ms) continue;
    const ItemId owner = m.owner;
    item_row_[owner] = kNoRow;
    item_sampler_.Set(row, 0);
    items_.Free(row);
    --live_items_;
    MarkItem(owner);
  }
}

const float* EmbeddingModel::CategoryIn(CategoryId c) const {
  const uint32_t r = CategoryRowOf(c);
  return r == kNoRow ? zeros_.data() : categories_.in(r);
}

const float* EmbeddingModel::CategoryOut(CategoryId c) const {
  const uint32_t r = CategoryRowOf(c);
  return r == kNoRow ? zeros_.data() : categories_.out(r);
}

const float* EmbeddingModel::ItemIn(ItemId item, CategoryId category) const {
  const uint32_t r = ItemRow(item);
  return r == kNoRow ? CategoryIn(category) : items_.in(r);
}

const float* EmbeddingModel::ItemOut(ItemId item, CategoryId category) const {
  const uint32_t r = ItemRow(item);
  return r == kNoRow ? CategoryOut(category) : items_.out(r);
}

const uint16_t* EmbeddingModel::ItemIn16(ItemId item, CategoryId category) const {
  const uint32_t r = ItemRow(item);
  if (r != kNoRow) return items_.in16(r);
  const uint32_t c = CategoryRowOf(category);
  return c == kNoRow ? zeros16_.data() : categories_.in16(c);
}

const uint16_t* EmbeddingModel::ItemOut16(ItemId item, CategoryId category) const {
  const uint32_t r = ItemRow(item);
  if (r != kNoRow) return items_.out16(r);
  const uint32_t c = CategoryRowOf(category);
  return c == kNoRow ? zeros16_.data() : categories_.out16(c);
}

double EmbeddingModel::CategoryAffinity(CategoryId a, CategoryId b) const {
  const auto dim = static_cast<Eigen::Index>(opt_.dim);
  return Sigmoid(ConstVec(CategoryIn(a), dim).dot(ConstVec(CategoryOut(b), dim)));
}

void EmbeddingModel::UpdateLongTerm(UserState& user, const Event& e) const {
  const auto dim = static_cast<Eigen::Index>(opt_.dim);
  if (user.long_term.size() != opt_.dim) user.long_term.assign(opt_.dim, 0.0f);
  // A heavier event moves the vector further: rate^(type weight / mean).
  const double tw = type_weight_[static_cast<int>(e.type)] / mean_type_weight_;
  const float rate = static_cast<float>(1.0 - std::pow(1.0 - opt_.long_term_rate, tw));
  Vec lt(user.long_term.data(), dim);
  lt = (1.0f - rate) * lt + rate * ConstVec(ItemIn(e.item, e.category), dim);
}

EmbeddingModel::RowView EmbeddingModel::ItemRowView(ItemId item) const {
  const uint32_t r = ItemRow(item);
  if (r == kNoRow) return {item, nullptr, nullptr, nullptr};
  return {item, &items_.meta(r), items_.in(r), items_.out(r)};
}

EmbeddingModel::RowView EmbeddingModel::CategoryRowView(CategoryId c) const {
  const uint32_t r = CategoryRowOf(c);
  if (r == kNoRow) return {c, nullptr, nullptr, nullptr};
  return {c, &categories_.meta(r), categories_.in(r), categories_.out(r)};
}

void EmbeddingModel::ClearDirty() {
  for (ItemId i : dirty_items_) item_dirty_[i] = 0;
  for (CategoryId c : dirty_categories_) category_dirty_[c] = 0;
  dirty_items_.clear();
  dirty_categories_.clear();
}

void EmbeddingModel::RestoreItem(ItemId item, uint32_t row, const EmbeddingTable::Meta& meta,
                                 std::span<const float> in, std::span<const float> out) {
  items_.Ensure(row);
  items_.meta(row) = meta;
  items_.meta(row).owner = item;
  std::memcpy(items_.in(row), in.data(), opt_.dim * sizeof(float));
  std::memcpy(items_.out(row), out.data(), opt_.dim * sizeof(float));
  items_.SyncIn(row);
  items_.SyncOut(row);
  if (item >= item_row_.size()) item_row_.resize(static_cast<size_t>(item) + 1, kNoRow);
  item_row_[item] = row;
}

void EmbeddingModel::RestoreCategory(CategoryId c, const EmbeddingTable::Meta& meta, std::span<const float> in,
                                     std::span<const float> out) {
  categories_.Ensure(c);
  categories_.meta(c) = meta;
  categories_.meta(c).owner = c;
  std::memcpy(categories_.in(c), in.data(), opt_.dim * sizeof(float));
  std::memcpy(categories_.out(c), out.data(), opt_.dim * sizeof(float));
  categories_.SyncIn(c);
  categories_.SyncOut(c);
}

void EmbeddingModel::RestoreGlobals(const Globals& g) {
  updates_ = g.updates;
  sweep_cursor_ = g.sweep_cursor;
  if (g.item_table_rows > 0) items_.Ensure(g.item_table_rows - 1);
}

void EmbeddingModel::FinishRestore() {
  items_.RebuildFreeList();
  item_sampler_.Clear();
  category_sampler_.Clear();
  live_items_ = 0;
  for (uint32_t r = 0; r < items_.rows(); ++r) {
    const auto& m = items_.meta(r);
    item_sampler_.Set(r, m.owner == kNoId ? 0 : SamplerWeight(m.count));
    live_items_ += m.owner != kNoId;
  }
  for (uint32_t c = 0; c < categories_.rows(); ++c) {
    const auto& m = categories_.meta(c);
    category_sampler_.Set(c, m.owner == kNoId ? 0 : SamplerWeight(m.count));
  }
}

}  // namespace recstream::model
