#include "state/user_store.h"

#include <algorithm>

#include "state/model_codec.h"

namespace recstream::state {

UserStore::Node* UserStore::Insert(std::string_view user, model::UserState state) {
  Node* n = &*map_.emplace(std::string(user), Entry{std::move(state), {}}).first;
  lru_.push_front(n);
  n->second.lru = lru_.begin();
  return n;
}

rocksdb::Status UserStore::Get(std::string_view user, model::UserState** out, std::string* corrupt_row) {
  auto it = map_.find(user);
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
  if (db_ != nullptr) {
    auto s = db_->Get(Cf::kUsers, rocksdb::Slice(user.data(), user.size()), &scratch_);
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
  last_ = Insert(user, std::move(state));
  if (reset) MarkDirty(last_);
  *out = &last_->second.state;
  return rocksdb::Status::OK();
}

void UserStore::AddDirty(Node* n) {
  if (n->second.dirty) return;
  n->second.dirty = true;
  dirty_.push_back(n);
}

void UserStore::MarkDirty(Node* n) {
  // A user erased earlier in this batch (forget_user) and active again since
  // is written, not deleted.
  n->second.erased = false;
  AddDirty(n);
}

void UserStore::MarkDirty(std::string_view user) {
  if (last_ != nullptr && last_->first == user) return MarkDirty(last_);
  auto it = map_.find(user);
  if (it != map_.end()) MarkDirty(&*it);
}

void UserStore::Erase(std::string_view user) {
  auto it = map_.find(user);
  Node* n = it == map_.end() ? Insert(user, model::UserState{}) : &*it;
  last_ = n;
  n->second.state = model::UserState{};
  n->second.erased = true;
  AddDirty(n);
}

void UserStore::Flush(rocksdb::WriteBatch& batch) {
  if (db_ == nullptr) return;
  // In key order: RocksDB's memtable (a skip list) inserts a sorted run by
  // continuing from the previous key instead of searching from the top.
  std::sort(dirty_.begin(), dirty_.end(), [](const Node* a, const Node* b) { return a->first < b->first; });
  for (const Node* n : dirty_) {
    if (n->second.erased) {
      batch.Delete(db_->handle(Cf::kUsers), n->first).PermitUncheckedError();
    } else {
      EncodeUser(n->second.state, scratch_);
      batch.Put(db_->handle(Cf::kUsers), n->first, scratch_).PermitUncheckedError();
    }
  }
}

void UserStore::AfterCommit() {
  last_ = nullptr;
  for (Node* n : dirty_) {
    n->second.dirty = false;
    if (n->second.erased) {
      lru_.erase(n->second.lru);
      map_.erase(map_.find(n->first));  // by iterator: n->first dies with the node
    }
  }
  dirty_.clear();
  if (db_ == nullptr) return;
  while (map_.size() > capacity_ && !lru_.empty()) {
    const Node* n = lru_.back();
    lru_.pop_back();
    map_.erase(map_.find(n->first));
  }
}

void UserStore::DropCache() {
  map_.clear();
  lru_.clear();
  dirty_.clear();
  last_ = nullptr;
}

}  // namespace recstream::state
