#include "state/model_codec.h"

#include <limits>

#include "state/codec.h"

namespace recstream::state {
namespace {

template <typename Key>
void PutList(Writer& w, const model::TopList<Key>& list) {
  w.Varint(list.size());
  for (const auto& e : list.entries()) {
    w.Varint(e.key);
    w.Double(e.log_weight);
  }
}

template <typename Key>
bool GetList(Reader& r, model::TopList<Key>& list) {
  size_t n;
  if (!r.Count(n, 9)) return false;
  auto& entries = list.mutable_entries();
  entries.clear();
  entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    typename model::TopList<Key>::Entry e{};
    if (!r.VarintAs(e.key) || !r.Double(e.log_weight)) return false;
    entries.push_back(e);
  }
  return true;
}

bool Finish(const Reader& r) { return r.ok() && r.at_end(); }

}  // namespace

void EncodeUser(const model::UserState& u, std::string& out) {
  out.clear();
  Writer w(out);
  w.U8(kUserFormat);
  w.Varint(u.events);
  w.Varint(u.recent.size());
  int64_t prev_ts = 0;
  for (const auto& e : u.recent) {
    w.Varint(e.item);
    w.Varint(e.category);
    w.U8(static_cast<uint8_t>(e.type));
    // Delta, small for a time-ordered sequence; two's-complement arithmetic
    // (unsigned) so that extreme neighbours cannot overflow.
    w.SignedVarint(static_cast<int64_t>(static_cast<uint64_t>(e.ts_ms) - static_cast<uint64_t>(prev_ts)));
    prev_ts = e.ts_ms;
  }
  PutList(w, u.affinity);
  w.Varint(u.purchases.size());
  for (auto p : u.purchases) w.Varint(p);
  w.Varint(u.seen_event_ids.size());
  for (auto h : u.seen_event_ids) w.Fixed64(h);
  w.Varint(u.seen_next);
  w.Varint(u.long_term.size());
  w.Floats(u.long_term);
  w.Varint(static_cast<uint64_t>(u.forgotten_at_ms));
}

bool DecodeUser(std::string_view in, model::UserState& u) {
  Reader r(in);
  uint8_t version;
  if (!r.U8(version) || version < 1 || version > kUserFormat) return false;
  u = model::UserState{};
  size_t n;
  if (!r.Varint(u.events) || !r.Count(n, 4)) return false;
  u.recent.resize(n);
  int64_t ts = 0;
  for (auto& e : u.recent) {
    uint8_t type;
    int64_t delta;
    if (!r.VarintAs(e.item) || !r.VarintAs(e.category) || !r.U8(type) || !r.SignedVarint(delta)) return false;
    if (type >= model::kEventTypeCount) return false;
    e.type = static_cast<model::EventType>(type);
    ts = static_cast<int64_t>(static_cast<uint64_t>(ts) + static_cast<uint64_t>(delta));
    if (ts < 0) return false;  // event times are never negative: a corrupt row
    e.ts_ms = ts;
  }
  if (!GetList(r, u.affinity) || !r.Count(n, 1)) return false;
  u.purchases.resize(n);
  for (auto& p : u.purchases)
    if (!r.VarintAs(p)) return false;
  if (!r.Count(n, 8)) return false;
  u.seen_event_ids.resize(n);
  for (auto& h : u.seen_event_ids)
    if (!r.Fixed64(h)) return false;
  if (!r.VarintAs(u.seen_next)) return false;
  if (version >= 2) {
    if (!r.Count(n, sizeof(float))) return false;
    u.long_term.resize(n);
    if (!r.Floats(u.long_term)) return false;
  }
  if (version >= 3) {
    uint64_t at = 0;
    if (!r.Varint(at) || at > static_cast<uint64_t>(INT64_MAX)) return false;
    u.forgotten_at_ms = static_cast<int64_t>(at);
  }
  return Finish(r);
}

void EncodeItem(const model::ItemRow& row, std::string& out) {
  out.clear();
  Writer w(out);
  w.U8(kItemFormat);
  w.Varint(row.category);
  w.U8(row.active ? 1 : 0);
  w.Varint(row.count);
  w.SignedVarint(row.last_ts_ms);
  w.Double(row.log_pop);
  PutList(w, row.neighbours);
}

bool DecodeItem(std::string_view in, model::ItemRow& row) {
  Reader r(in);
  uint8_t version, active;
  if (!r.U8(version) || version != kItemFormat) return false;
  row = model::ItemRow{};
  if (!r.VarintAs(row.category) || !r.U8(active) || !r.VarintAs(row.count) || !r.SignedVarint(row.last_ts_ms) ||
      !r.Double(row.log_pop) || !GetList(r, row.neighbours))
    return false;
  row.active = active != 0;
  return Finish(r);
}

void EncodeCategory(const model::CategoryRow& row, std::string& out) {
  out.clear();
  Writer w(out);
  w.U8(kCategoryFormat);
  w.Double(row.log_pop);
  w.Double(row.log_out);
  PutList(w, row.successors);
  PutList(w, row.top_items);
  w.Double(row.log_after_purchase);
  PutList(w, row.after_purchase);
}

bool DecodeCategory(std::string_view in, model::CategoryRow& row) {
  Reader r(in);
  uint8_t version;
  if (!r.U8(version) || version < 1 || version > kCategoryFormat) return false;
  row = model::CategoryRow{};
  if (!r.Double(row.log_pop) || !r.Double(row.log_out) || !GetList(r, row.successors) ||
      !GetList(r, row.top_items))
    return false;
  if (version >= 2 && (!r.Double(row.log_after_purchase) || !GetList(r, row.after_purchase))) return false;
  return Finish(r);
}

void EncodeGlobal(const model::TopList<model::ItemId>& top, uint64_t version, double log_pop_total,
                  std::string& out) {
  out.clear();
  Writer w(out);
  w.U8(kGlobalFormat);
  w.Varint(version);
  w.Double(log_pop_total);
  PutList(w, top);
}

bool DecodeGlobal(std::string_view in, model::TopList<model::ItemId>& top, uint64_t& version,
                  double& log_pop_total) {
  Reader r(in);
  uint8_t v;
  if (!r.U8(v) || v < 1 || v > kGlobalFormat || !r.Varint(version)) return false;
  log_pop_total = std::numeric_limits<double>::quiet_NaN();
  if (v >= 2 && !r.Double(log_pop_total)) return false;
  if (!GetList(r, top)) return false;
  return Finish(r);
}

void EncodeVectorRow(uint32_t row, const model::EmbeddingTable::Meta& meta, const float* in, const float* out,
                     size_t dim, std::string& buf) {
  buf.clear();
  Writer w(buf);
  w.U8(kVectorFormat);
  w.Varint(row);
  w.Varint(meta.count);
  w.SignedVarint(meta.last_ts_ms);
  w.Float(meta.g2_in);
  w.Float(meta.g2_out);
  w.Floats({in, dim});
  w.Floats({out, dim});
}

bool DecodeVectorRow(std::string_view buf, size_t dim, uint32_t& row, model::EmbeddingTable::Meta& meta,
                     std::span<float> in, std::span<float> out) {
  Reader r(buf);
  uint8_t version;
  if (!r.U8(version) || version != kVectorFormat) return false;
  meta = {};
  if (!r.VarintAs(row) || !r.VarintAs(meta.count) || !r.SignedVarint(meta.last_ts_ms) || !r.Float(meta.g2_in) ||
      !r.Float(meta.g2_out))
    return false;
  if (in.size() != dim || out.size() != dim || !r.Floats(in) || !r.Floats(out)) return false;
  // AdaGrad divides by sqrt(g2): a row that is not positive is corrupt.
  if (!(meta.g2_in > 0) || !(meta.g2_out > 0)) return false;
  return Finish(r);
}

void EncodeEmbeddingGlobals(const model::EmbeddingModel::Globals& g, size_t dim, std::string& buf) {
  buf.clear();
  Writer w(buf);
  w.U8(kVectorFormat);
  w.Varint(dim);
  w.Varint(g.updates);
  w.Varint(g.item_table_rows);
  w.Varint(g.sweep_cursor);
}

bool DecodeEmbeddingGlobals(std::string_view buf, model::EmbeddingModel::Globals& g, size_t& dim) {
  Reader r(buf);
  uint8_t version;
  if (!r.U8(version) || version != kVectorFormat) return false;
  if (!r.VarintAs(dim) || !r.Varint(g.updates) || !r.VarintAs(g.item_table_rows) || !r.VarintAs(g.sweep_cursor))
    return false;
  return Finish(r);
}

void EncodeRanker(const model::Ranker::Snapshot& s, std::string& buf) {
  buf.clear();
  Writer w(buf);
  w.U8(kRankerFormat);
  w.Varint(model::kFeatureCount);
  w.Floats(s.weights);
  w.Floats(s.g2);
  w.Varint(s.updates);
}

bool DecodeRanker(std::string_view buf, model::Ranker::Snapshot& s, size_t& features) {
  Reader r(buf);
  uint8_t version;
  if (!r.U8(version) || version != kRankerFormat || !r.VarintAs(features)) return false;
  if (features != model::kFeatureCount) return true;  // readable, not usable
  if (!r.Floats(s.weights) || !r.Floats(s.g2) || !r.Varint(s.updates)) return false;
  return Finish(r);
}

}  // namespace recstream::state
