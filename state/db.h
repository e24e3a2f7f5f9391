// StateDb: the RocksDB database of one processor instance, one column family
// per concern. All writes of a processed batch — state rows and the consumed
// offsets — go through one WriteBatch (Commit), so state and input position
// never disagree.
//
// Concurrency: RocksDB is thread-safe; recstream writes from the processing
// thread only. Lifecycle: Open() at start-up, destroyed at shutdown.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "state/user_key.h"

namespace recstream::state {

// The layout of the state (row keys and encodings). Stored in `meta`; a
// state of another format is refused at start-up with an error that says
// what to do. 1: users keyed by their raw id (up to commit 3cabf30).
// 2: users keyed by partition + keyed hash (state/user_key.h).
inline constexpr int kStateFormat = 2;

struct StateOptions {
  // Directory of the database; created if missing. Default: ./recstream-state
  std::string dir = "recstream-state";
  // fsync the WAL on every batch commit. Default: false (the WAL survives a
  // process crash; only a machine crash can lose the last batches, which are
  // then re-read from Kafka because offsets are stored with them).
  bool sync = false;
  // Block cache shared by all column families, bytes. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // The memtables of all column families together, bytes (RocksDB's
  // db_write_buffer_size): past it the largest is flushed. Without it each
  // of the 8 families may hold 2 x write_buffer_size (64 MiB) in memory.
  // Default: 128 MiB.
  size_t memtable_budget_bytes = size_t{128} << 20;
  // The write-ahead log kept on disk, bytes (RocksDB's max_total_wal_size):
  // past it the families still holding the oldest log file are flushed so
  // that it can be deleted. Without it a family written rarely (offsets,
  // meta) keeps every log alive up to 4 x the memtables' sum, about 4 GB
  // (1M-event runs left 3-4.7 GB). Default: 256 MiB.
  size_t wal_budget_bytes = size_t{256} << 20;
  // RocksDB options passed through by their own names ([rocksdb.db] and
  // [rocksdb.cf] in the TOML file), e.g. max_background_jobs = "4"; they
  // are applied last, so they win over the typed options above.
  std::unordered_map<std::string, std::string> db_options;
  std::unordered_map<std::string, std::string> cf_options;
  // A file holding the secret of the users' row keys (state/user_key.h), at
  // least 16 bytes. Instances meant to read the same state (a moved disk, a
  // changelog restore) need the same file. Default: "" — a random secret is
  // made with the state and kept in it (its `meta` family).
  std::string user_key_secret_file;
  // User rows whose last event (or forget) is this much older than the
  // stream's time (set_stream_time_ms) are dropped by compaction; the
  // pipeline resets such a user when it reads them (UserOptions::
  // expire_after_ms, which the app copies here). 0: kept. Default: 0.
  int64_t user_expire_after_ms = 0;
  // The Env (file system, clock, threads) RocksDB runs on; not owned, must
  // outlive the StateDb. A test hook: fault tests plug in a wrapper that
  // fails writes on demand (as RocksDB's own tests do). Not settable from the
  // configuration file. Default: nullptr (rocksdb::Env::Default()).
  rocksdb::Env* env = nullptr;
};

enum class Cf : int { kUsers = 0, kItems, kCategories, kDict, kOffsets, kMeta, kVectors, kCount };

// (topic, partition) -> next offset to read.
using OffsetMap = std::map<std::pair<std::string, int32_t>, int64_t>;

class StateDb {
 public:
  // Opens or creates the database. A bad option name or value is an error.
  static rocksdb::Status Open(const StateOptions& opt, std::unique_ptr<StateDb>* out);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  rocksdb::Status Get(Cf cf, const rocksdb::Slice& key, std::string* value) const;
  // Applies the batch atomically (WAL first).
  rocksdb::Status Commit(rocksdb::WriteBatch& batch);
  // Calls fn for every row of a column family, in key order; stops early when
  // fn returns false.
  rocksdb::Status Scan(Cf cf, const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& fn) const;

  static std::string OffsetKey(const std::string& topic, int32_t partition);
  void PutOffset(rocksdb::WriteBatch& batch, const std::string& topic, int32_t partition, int64_t next);
  rocksdb::Status LoadOffsets(OffsetMap* out) const;

  // Approximate bytes on disk of a column family (SST + memtable).
  uint64_t ApproximateBytes(Cf cf) const;
  rocksdb::DB* raw() const { return db_.get(); }
  // The row keys of users in this state (its secret).
  const UserKeys& user_keys() const { return user_keys_; }
  // The newest event time applied (ms): compaction expires user rows
  // against it. 0 (unknown, e.g. right after a start): nothing expires.
  void set_stream_time_ms(int64_t t) { stream_time_ms_.store(t, std::memory_order_relaxed); }
  // User rows compaction removed as expired, since Open.
  uint64_t user_rows_expired() const;

 private:
  StateDb() = default;
  // Refuses a state of another format or user-key secret; records both in
  // a new state.
  rocksdb::Status CheckFormatAndKeys(const StateOptions& opt);
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  UserKeys user_keys_;
  std::atomic<int64_t> stream_time_ms_{0};
  class UserExpiry;
  std::unique_ptr<UserExpiry> user_expiry_;  // the users family's compaction filter
};

const char* CfName(Cf cf);

}  // namespace recstream::state
