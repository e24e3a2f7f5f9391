// UserStore: per-user state behind a bounded LRU cache (random RocksDB gets
// alone top out near 64k/s per core; the cache keeps the hot users in memory).
//
// A user is found by (partition, user id): the partition of the record that
// carries them. The row key in RocksDB is the partition and a keyed hash of
// the id (state/user_key.h), so the raw id is never written, and a
// partition's users are one key range (DropPartitions, changelogs).
//
// Writes are write-back: a changed user is marked dirty and written into the
// batch's WriteBatch by Flush(); only clean users are evicted, in
// AfterCommit(). Without a StateDb the store is purely in memory and never
// evicts (eval and tests). Memory: at most `capacity` users after a commit,
// plus the users changed until the next one (the task loop bounds those by
// processing.checkpoint_max_records).
//
// forget_user (Erase) replaces the user's state with a marker: an empty state
// that remembers when the user was forgotten (UserState::forgotten_at_ms),
// so that an old event delivered again does not re-create the profile. The
// marker's key joins erased_keys() for the erasure compaction
// (state/eraser.h) that removes the older versions of the row from disk.
//
// Concurrency: owned by one task; not thread-safe.
// Lifecycle: pointers returned by Get stay valid until AfterCommit().
#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <list>
#include <span>
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
  rocksdb::Status Get(int32_t partition, std::string_view user, model::UserState** out,
                      std::string* corrupt_row = nullptr);
  // The cached state of the user, or nullptr when not in memory; loads
  // nothing and leaves the LRU order alone (admin reads).
  const model::UserState* Peek(int32_t partition, std::string_view user) const;
  // Unreadable rows Get replaced with an empty state.
  uint64_t rows_reset() const { return rows_reset_; }
  // The user changed: write it with the next Flush.
  void MarkDirty(int32_t partition, std::string_view user);
  // Erases the user (forget_user): their state becomes the marker of a user
  // forgotten at forgotten_at_ms (never earlier than their last event),
  // written with the next Flush. An unreadable row is simply replaced.
  rocksdb::Status Erase(int32_t partition, std::string_view user, int64_t forgotten_at_ms);

  // Writes dirty users into batch.
  void Flush(rocksdb::WriteBatch& batch);
  // The batch is durable: users are clean; evict down to capacity.
  void AfterCommit();
  // Drops everything cached (after a failed commit, memory is ahead of disk).
  void DropCache();
  // Drops the cached users of these partitions (revoked: another instance
  // may own them next). Call when none of them is dirty (after a commit).
  void DropPartitions(std::span<const int32_t> partitions);

  // Row keys of users erased since the last TakeErasedKeys, committed or not
  // (the pipeline takes them after the commit that wrote the markers).
  std::vector<std::string> TakeErasedKeys() { return std::move(erased_keys_); }

  // Visits every user in memory (in-memory mode: every user):
  // fn(partition, user id, state).
  template <typename Fn>
  void ForEachCached(Fn&& fn) const {
    for (const auto& [k, e] : map_) fn(PartitionOf(k), UserOf(k), e.state);
  }

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t cached() const { return map_.size(); }
  // Users changed (or erased) since the last AfterCommit.
  size_t dirty_count() const { return dirty_.size(); }

 private:
  struct Entry;
  // Keyed by the partition (4 bytes) and the user id.
  using Map = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;
  // Elements of map_ by address: stable until erased, across rehashes (one
  // key lookup per event instead of one per Get, MarkDirty, Flush and
  // AfterCommit).
  using Node = Map::value_type;
  struct Entry {
    model::UserState state;
    std::list<Node*>::iterator lru;  // position in lru_
    std::string row_key;             // in RocksDB (empty in-memory)
    bool dirty = false;
  };
  static int32_t PartitionOf(std::string_view map_key) { return UserKeys::ReadPartition(map_key); }
  static std::string_view UserOf(std::string_view map_key) { return map_key.substr(4); }
  // The map key of (partition, user), in lookup_.
  std::string_view MapKey(int32_t partition, std::string_view user) const;
  Node* Insert(std::string_view map_key, model::UserState state);
  void MarkDirty(Node* n);
  void Evict(Node* n);
  StateDb* db_;
  size_t capacity_;
  Map map_;
  std::list<Node*> lru_;  // front = most recently used
  std::vector<Node*> dirty_;
  std::vector<std::string> erased_keys_;
  uint64_t rows_reset_ = 0;
  Node* last_ = nullptr;  // the last Get or Erase (MarkDirty of the same user)
  std::string scratch_;
  mutable std::string lookup_;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace recstream::state
