#include "state/user_store.h"

#include <algorithm>

#include "state/model_codec.h"

namespace recstream::state {

std::string_view UserStore::MapKey(int32_t partition, std::string_view user) const {
  lookup_.resize(4);
  UserKeys::PutPartition(partition, lookup_.data());
  lookup_.append(user);
  return lookup_;
}

UserStore::Node* UserStore::Insert(std::string_view map_key, model::UserState state) {
  Node* n = &*map_.emplace(std::string(map_key), Entry{std::move(state), {}, {}, false}).first;
  lru_.push_front(n);
  n->second.lru = lru_.begin();
  return n;
}

const model::UserState* UserStore::Peek(int32_t partition, std::string_view user) const {
  auto it = map_.find(MapKey(partition, user));
  return it == map_.end() ? nullptr : &it->second.state;
}

rocksdb::Status UserStore::Get(int32_t partition, std::string_view user, model::UserState** out,
                               std::string* corrupt_row) {
  const std::string_view key = MapKey(partition, user);
  auto it = map_.find(key);
  if (it != map_.end()) {
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    last_ = &*it;
    *out = &it->second.state;
    return rocksdb::Status::OK();
  }
  ++misses_;
  model::UserState state;
  bool reset = false;
  std::string row_key;
  if (db_ != nullptr) {
    db_->user_keys().Key(partition, user, &row_key);
    auto s = db_->Get(Cf::kUsers, row_key, &scratch_);
    if (s.ok()) {
      if (!DecodeUser(scratch_, state)) {
        if (corrupt_row == nullptr) return rocksdb::Status::Corruption("unreadable user state row");
        *corrupt_row = scratch_;
        state = model::UserState{};
        reset = true;
        ++rows_reset_;
      }
    } else if (!s.IsNotFound()) {
      return s;
    }
  }
  last_ = Insert(key, std::move(state));
  last_->second.row_key = std::move(row_key);
  if (reset) MarkDirty(last_);
  *out = &last_->second.state;
  return rocksdb::Status::OK();
}

void UserStore::MarkDirty(Node* n) {
  if (n->second.dirty) return;
  n->second.dirty = true;
  dirty_.push_back(n);
}

void UserStore::MarkDirty(int32_t partition, std::string_view user) {
  // The user of the last Get (every event's case): no key to build.
  if (last_ != nullptr && UserOf(last_->first) == user && PartitionOf(last_->first) == partition)
    return MarkDirty(last_);
  auto it = map_.find(MapKey(partition, user));
  if (it != map_.end()) MarkDirty(&*it);
}

rocksdb::Status UserStore::Erase(int32_t partition, std::string_view user, int64_t forgotten_at_ms) {
  std::string ignored;  // an unreadable row is replaced by the marker all the same
  model::UserState* u = nullptr;
  if (auto s = Get(partition, user, &u, &ignored); !s.ok()) return s;
  const int64_t at = std::max(forgotten_at_ms, u->last_activity_ms());
  *u = model::UserState{};
  u->forgotten_at_ms = at;
  MarkDirty(last_);
  if (db_ != nullptr) erased_keys_.push_back(last_->second.row_key);
  return rocksdb::Status::OK();
}

void UserStore::Flush(rocksdb::WriteBatch& batch) {
  if (db_ == nullptr) return;
  // In key order: RocksDB's memtable (a skip list) inserts a sorted run by
  // continuing from the previous key instead of searching from the top.
  std::sort(dirty_.begin(), dirty_.end(),
            [](const Node* a, const Node* b) { return a->second.row_key < b->second.row_key; });
  for (const Node* n : dirty_) {
    EncodeUser(n->second.state, scratch_);
    batch.Put(db_->handle(Cf::kUsers), n->second.row_key, scratch_).PermitUncheckedError();
  }
}

void UserStore::Evict(Node* n) {
  lru_.erase(n->second.lru);
  map_.erase(map_.find(n->first));  // by iterator: n->first dies with the node
}

void UserStore::AfterCommit() {
  last_ = nullptr;
  for (Node* n : dirty_) n->second.dirty = false;
  dirty_.clear();
  if (db_ == nullptr) return;
  while (map_.size() > capacity_ && !lru_.empty()) {
    Node* n = lru_.back();
    Evict(n);
  }
}

void UserStore::DropCache() {
  map_.clear();
  lru_.clear();
  dirty_.clear();
  last_ = nullptr;
}

void UserStore::DropPartitions(std::span<const int32_t> partitions) {
  if (partitions.empty()) return;
  last_ = nullptr;
  for (auto it = lru_.begin(); it != lru_.end();) {
    Node* n = *it++;
    if (n->second.dirty) continue;  // written with the next Flush, then evictable
    if (std::find(partitions.begin(), partitions.end(), PartitionOf(n->first)) != partitions.end()) Evict(n);
  }
}

}  // namespace recstream::state
