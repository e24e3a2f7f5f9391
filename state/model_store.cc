#include "state/model_store.h"

#include <algorithm>

#include "state/model_codec.h"

namespace recstream::state {
namespace {
constexpr const char* kGlobalKey = "model.global";
constexpr const char* kEmbeddingKey = "embedding.global";
constexpr const char* kRankerKey = "ranker";

uint32_t ParseIdKey(const rocksdb::Slice& k) {
  if (k.size() != 4) return UINT32_MAX;
  uint32_t id = 0;
  for (size_t i = 0; i < 4; ++i) id = (id << 8) | static_cast<uint8_t>(k[i]);
  return id;
}
}  // namespace

const std::vector<uint32_t>& ModelStore::Sorted(const std::vector<uint32_t>& ids) {
  // Ids in order are keys in order (IdKey is big-endian): RocksDB's memtable
  // (a skip list) inserts a sorted run by continuing from the previous key
  // instead of searching from the top for each.
  sorted_.assign(ids.begin(), ids.end());
  std::sort(sorted_.begin(), sorted_.end());
  return sorted_;
}

std::string ModelStore::IdKey(uint32_t id) {
  std::string k(4, '\0');  // big-endian: rows scan in id order
  for (int i = 0; i < 4; ++i) k[i] = static_cast<char>((id >> (24 - 8 * i)) & 0xff);
  return k;
}

rocksdb::Status ModelStore::Load(model::ItemModel& model, IdDictionary& items, IdDictionary& categories) {
  auto s = items.Load(db_);
  if (!s.ok()) return s;
  s = categories.Load(db_);
  if (!s.ok()) return s;
  bool corrupt = false;
  s = db_.Scan(Cf::kItems, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    model::ItemRow row;
    const uint32_t id = ParseIdKey(k);
    if (id == UINT32_MAX || id >= items.size() || !DecodeItem(v.ToStringView(), row)) return !(corrupt = true);
    model.RestoreItem(id, std::move(row));
    return true;
  });
  if (!s.ok()) return s;
  s = db_.Scan(Cf::kCategories, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    model::CategoryRow row;
    const uint32_t id = ParseIdKey(k);
    if (id == UINT32_MAX || id >= categories.size() || !DecodeCategory(v.ToStringView(), row))
      return !(corrupt = true);
    model.RestoreCategory(id, std::move(row));
    return true;
  });
  if (!s.ok()) return s;
  if (corrupt) return rocksdb::Status::Corruption("unreadable item or category row");
  std::string v;
  s = db_.Get(Cf::kMeta, kGlobalKey, &v);
  if (s.IsNotFound()) return rocksdb::Status::OK();
  if (!s.ok()) return s;
  model::TopList<model::ItemId> top;
  uint64_t version = 0;
  double log_pop_total = 0;
  if (!DecodeGlobal(v, top, version, log_pop_total))
    return rocksdb::Status::Corruption("unreadable model.global row");
  model.RestoreGlobal(std::move(top), version, log_pop_total);
  return rocksdb::Status::OK();
}

void ModelStore::Flush(const model::ItemModel& model, IdDictionary& items, IdDictionary& categories,
                       rocksdb::WriteBatch& batch) {
  items.Flush(db_, batch);
  categories.Flush(db_, batch);
  for (model::ItemId id : Sorted(model.dirty_items())) {
    EncodeItem(model.item(id), scratch_);
    batch.Put(db_.handle(Cf::kItems), IdKey(id), scratch_).PermitUncheckedError();
  }
  for (model::CategoryId id : Sorted(model.dirty_categories())) {
    EncodeCategory(model.category(id), scratch_);
    batch.Put(db_.handle(Cf::kCategories), IdKey(id), scratch_).PermitUncheckedError();
  }
  if (model.global_dirty()) {
    EncodeGlobal(model.global_top(), model.version(), model.log_pop_total(), scratch_);
    batch.Put(db_.handle(Cf::kMeta), kGlobalKey, scratch_).PermitUncheckedError();
  }
}

rocksdb::Status ModelStore::LoadEmbeddings(model::EmbeddingModel& model) {
  std::string v;
  auto s = db_.Get(Cf::kMeta, kEmbeddingKey, &v);
  if (s.IsNotFound()) return rocksdb::Status::OK();  // a new database
  if (!s.ok()) return s;
  model::EmbeddingModel::Globals g;
  size_t dim = 0;
  if (!DecodeEmbeddingGlobals(v, g, dim)) return rocksdb::Status::Corruption("unreadable embedding.global row");
  if (dim != model.dim())
    return rocksdb::Status::InvalidArgument("embedding.dim is " + std::to_string(model.dim()) +
                                            " but the state was written with " + std::to_string(dim) +
                                            ": use the same value or a fresh state.dir");
  model.RestoreGlobals(g);
  std::vector<float> in(dim), out(dim);
  bool corrupt = false;
  s = db_.Scan(Cf::kVectors, [&](const rocksdb::Slice& k, const rocksdb::Slice& val) {
    model::EmbeddingTable::Meta meta;
    uint32_t row = 0;
    const uint32_t id = k.size() == 5 ? ParseIdKey(rocksdb::Slice(k.data() + 1, 4)) : UINT32_MAX;
    if (id == UINT32_MAX || !DecodeVectorRow(val.ToStringView(), dim, row, meta, in, out)) return !(corrupt = true);
    if (k[0] == 'i') {
      if (row >= g.item_table_rows) return !(corrupt = true);
      model.RestoreItem(id, row, meta, in, out);
    } else if (k[0] == 'c') {
      model.RestoreCategory(id, meta, in, out);
    } else {
      return !(corrupt = true);
    }
    return true;
  });
  if (!s.ok()) return s;
  if (corrupt) return rocksdb::Status::Corruption("unreadable embedding row");
  model.FinishRestore();
  return rocksdb::Status::OK();
}

rocksdb::Status ModelStore::LoadRanker(model::Ranker& ranker, bool* restored) {
  *restored = false;
  std::string v;
  auto s = db_.Get(Cf::kMeta, kRankerKey, &v);
  if (s.IsNotFound()) return rocksdb::Status::OK();
  if (!s.ok()) return s;
  model::Ranker::Snapshot snap;
  size_t features = 0;
  if (!DecodeRanker(v, snap, features)) return rocksdb::Status::Corruption("unreadable ranker row");
  if (features != model::kFeatureCount) return rocksdb::Status::OK();
  ranker.Restore(snap);
  *restored = true;
  return rocksdb::Status::OK();
}

void ModelStore::FlushRanker(const model::Ranker& ranker, rocksdb::WriteBatch& batch) {
  if (!ranker.dirty()) return;
  EncodeRanker(ranker.snapshot(), scratch_);
  batch.Put(db_.handle(Cf::kMeta), kRankerKey, scratch_).PermitUncheckedError();
}

void ModelStore::FlushEmbeddings(const model::EmbeddingModel& model, rocksdb::WriteBatch& batch) {
  auto put = [&](char kind, const model::EmbeddingModel::RowView& r) {
    std::string key = kind + IdKey(r.id);
    if (r.meta == nullptr) {
      batch.Delete(db_.handle(Cf::kVectors), key).PermitUncheckedError();
      return;
    }
    const uint32_t row = kind == 'i' ? model.item_row_index(r.id) : r.id;
    EncodeVectorRow(row, *r.meta, r.in, r.out, model.dim(), scratch_);
    batch.Put(db_.handle(Cf::kVectors), key, scratch_).PermitUncheckedError();
  };
  for (model::ItemId id : Sorted(model.dirty_items())) put('i', model.ItemRowView(id));
  for (model::CategoryId id : Sorted(model.dirty_categories())) put('c', model.CategoryRowView(id));
  if (!model.dirty_items().empty() || !model.dirty_categories().empty()) {
    EncodeEmbeddingGlobals(model.globals(), model.dim(), scratch_);
    batch.Put(db_.handle(Cf::kMeta), kEmbeddingKey, scratch_).PermitUncheckedError();
  }
}

}  // namespace recstream::state
