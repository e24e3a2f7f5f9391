#include "state/model_store.h"

#include "state/model_codec.h"

namespace recstream::state {
namespace {
constexpr const char* kGlobalKey = "model.global";

uint32_t ParseIdKey(const rocksdb::Slice& k) {
  if (k.size() != 4) return UINT32_MAX;
  uint32_t id = 0;
  for (size_t i = 0; i < 4; ++i) id = (id << 8) | static_cast<uint8_t>(k[i]);
  return id;
}
}  // namespace

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
  if (!DecodeGlobal(v, top, version)) return rocksdb::Status::Corruption("unreadable model.global row");
  model.RestoreGlobal(std::move(top), version);
  return rocksdb::Status::OK();
}

void ModelStore::Flush(const model::ItemModel& model, IdDictionary& items, IdDictionary& categories,
                       rocksdb::WriteBatch& batch) {
  items.Flush(db_, batch);
  categories.Flush(db_, batch);
  for (model::ItemId id : model.dirty_items()) {
    EncodeItem(model.item(id), scratch_);
    batch.Put(db_.handle(Cf::kItems), IdKey(id), scratch_).PermitUncheckedError();
  }
  for (model::CategoryId id : model.dirty_categories()) {
    EncodeCategory(model.category(id), scratch_);
    batch.Put(db_.handle(Cf::kCategories), IdKey(id), scratch_).PermitUncheckedError();
  }
  if (model.global_dirty()) {
    EncodeGlobal(model.global_top(), model.version(), scratch_);
    batch.Put(db_.handle(Cf::kMeta), kGlobalKey, scratch_).PermitUncheckedError();
  }
}

}  // namespace recstream::state
