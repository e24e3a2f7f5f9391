#include "state/user_store.h"

#include <algorithm>

#include "state/model_codec.h"

namespace recstream::state {

rocksdb::Status UserStore::Get(std::string_view user, model::UserState** out) {
  auto it = map_.find(user);
  if (it != map_.end()) {
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    *out = &it->second.state;
    return rocksdb::Status::OK();
  }
  ++misses_;
  model::UserState state;
  if (db_ != nullptr) {
    auto s = db_->Get(Cf::kUsers, rocksdb::Slice(user.data(), user.size()), &scratch_);
    if (s.ok()) {
      if (!DecodeUser(scratch_, state))
        return rocksdb::Status::Corruption("unreadable user state row");
    } else if (!s.IsNotFound()) {
      return s;
    }
  }
  lru_.emplace_front(user);
  auto [pos, inserted] = map_.emplace(lru_.front(), Entry{std::move(state), lru_.begin()});
  *out = &pos->second.state;
  return rocksdb::Status::OK();
}

void UserStore::MarkDirty(std::string_view user) {
  auto it = map_.find(user);
  if (it == map_.end()) return;
  // A user erased earlier in this batch (forget_user) and active again since
  // is written, not deleted.
  it->second.erased = false;
  if (it->second.dirty) return;
  it->second.dirty = true;
  dirty_.emplace_back(user);
}

void UserStore::Erase(std::string_view user) {
  auto it = map_.find(user);
  if (it == map_.end()) {
    lru_.emplace_front(user);
    it = map_.emplace(lru_.front(), Entry{model::UserState{}, lru_.begin()}).first;
  }
  it->second.state = model::UserState{};
  it->second.erased = true;
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_.emplace_back(user);
  }
}

void UserStore::Flush(rocksdb::WriteBatch& batch) {
  if (db_ == nullptr) return;
  // In key order: RocksDB's memtable (a skip list) inserts a sorted run by
  // continuing from the previous key instead of searching from the top.
  std::sort(dirty_.begin(), dirty_.end());
  for (const auto& key : dirty_) {
    auto it = map_.find(key);
    if (it == map_.end()) continue;
    if (it->second.erased) {
      batch.Delete(db_->handle(Cf::kUsers), key).PermitUncheckedError();
    } else {
      EncodeUser(it->second.state, scratch_);
      batch.Put(db_->handle(Cf::kUsers), key, scratch_).PermitUncheckedError();
    }
  }
}

void UserStore::AfterCommit() {
  for (const auto& key : dirty_) {
    auto it = map_.find(key);
    if (it == map_.end()) continue;
    it->second.dirty = false;
    if (it->second.erased) {
      lru_.erase(it->second.lru);
      map_.erase(it);
    }
  }
  dirty_.clear();
  if (db_ == nullptr) return;
  while (map_.size() > capacity_ && !lru_.empty()) {
    auto it = map_.find(lru_.back());
    lru_.pop_back();
    map_.erase(it);
  }
}

void UserStore::DropCache() {
  map_.clear();
  lru_.clear();
  dirty_.clear();
}

}  // namespace recstream::state
