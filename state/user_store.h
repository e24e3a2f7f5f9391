// UserStore: per-user state behind a bounded LRU cache (random RocksDB gets
// alone top out near 64k/s per core; the cache keeps the hot users in memory).
//
// Writes are write-back: a changed user is marked dirty and written into the
// batch's WriteBatch by Flush(); only clean users are evicted, in
// AfterCommit(). Without a StateDb the store is purely in memory and never
// evicts (eval and tests). Memory: at most `capacity` users after a commit,
// plus the users changed until the next one (the task loop bounds those by
// processing.checkpoint_max_records).
//
// Concurrency: owned by one task; not thread-safe.
// Lifecycle: pointers returned by Get stay valid until AfterCommit().
#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/user_state.h"
#include "state/db.h"
#include "state/dictionary.h"

namespace recstream::state {

class UserStore {
 public:
  // db may be null (in-memory). capacity: users kept in memory. Default: 100k.
  UserStore(StateDb* db, size_t capacity) : db_(db), capacity_(capacity) {}

  // Finds the user's state, loading it from RocksDB on a miss; an unknown
  // user gets an empty state (not yet dirty). An unreadable row: Corruption,
  // or, with corrupt_row given, an empty state that replaces the row with
  // the next Flush, the row's bytes in *corrupt_row and rows_reset()
  // counting it: one damaged row must not stop the stream on every restart.
  rocksdb::Status Get(std::string_view user, model::UserState** out, std::string* corrupt_row = nullptr);
  // The cached state of user, or nullptr when not in memory; loads nothing
  // and leaves the LRU order alone (admin reads). An erased user is cached
  // empty.
  const model::UserState* Peek(std::string_view user) const {
    auto it = map_.find(user);
    return it == map_.end() ? nullptr : &it->second.state;
  }
  // Unreadable rows Get replaced with an empty state.
  uint64_t rows_reset() const { return rows_reset_; }
  // The user changed: write it with the next Flush.
  void MarkDirty(std::string_view user);
  // Erases the user (forget_user): deleted with the next Flush.
  void Erase(std::string_view user);

  // Writes dirty users and erasures into batch.
  void Flush(rocksdb::WriteBatch& batch);
  // The batch is durable: users are clean; evict down to capacity.
  void AfterCommit();
  // Drops everything cached (after a failed commit, memory is ahead of disk).
  void DropCache();

  // Visits every user in memory (in-memory mode: every user).
  template <typename Fn>
  void ForEachCached(Fn&& fn) const {
    for (const auto& [k, e] : map_) fn(k, e.state);
  }

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t cached() const { return map_.size(); }
  // Users changed (or erased) since the last AfterCommit.
  size_t dirty_count() const { return dirty_.size(); }

 private:
  struct Entry;
  using Map = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;
  // Elements of map_ by address: stable until erased, across rehashes (one
  // key lookup per event instead of one per Get, MarkDirty, Flush and
  // AfterCommit).
  using Node = Map::value_type;
  struct Entry {
    model::UserState state;
    std::list<Node*>::iterator lru;  // position in lru_
    bool dirty = false;
    bool erased = false;
  };
  Node* Insert(std::string_view user, model::UserState state);
  void MarkDirty(Node* n);
  void AddDirty(Node* n);  // queue n for the next Flush, once
  StateDb* db_;
  size_t capacity_;
  Map map_;
  std::list<Node*> lru_;  // front = most recently used
  std::vector<Node*> dirty_;
  uint64_t rows_reset_ = 0;
  Node* last_ = nullptr;  // the last Get or Erase (MarkDirty of the same user)
  std::string scratch_;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace recstream::state
