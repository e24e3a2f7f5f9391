// Eraser: makes a forget_user physical. Erasing a user writes a small marker
// over their row (state/user_store.h), but the older versions of the row stay
// in memtables, write-ahead log files and table files until RocksDB happens
// to rewrite them. The eraser, on its own thread, flushes every column family
// (the log files holding the old versions become obsolete and are deleted)
// and compacts the erased keys' ranges down to the last level, where only the
// marker survives. The row keys are keyed hashes, never the raw id, so the
// MANIFEST's boundary keys do not name anyone either.
//
// Pending keys are persisted in `meta` with the checkpoint that wrote the
// markers (PutPending), so a crash before the run does not forget them; a
// new Eraser loads them. Runs are rate-limited: at most one per `interval`
// (flushes and compactions are not free); interval 0 runs after every
// checkpoint that erased.
//
// Concurrency: Add, RunNow and the counters may be called from any thread;
// the run itself is on the eraser's thread (RocksDB is thread-safe).
// Lifecycle: the destructor runs what is pending, then joins the thread.
#pragma once

#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "state/db.h"

namespace recstream::state {

class Eraser {
 public:
  // Loads the keys a previous run left pending. interval: see above.
  Eraser(StateDb& db, std::chrono::milliseconds interval);
  ~Eraser();
  Eraser(const Eraser&) = delete;
  Eraser& operator=(const Eraser&) = delete;

  // Records keys as pending in the checkpoint's batch (before its commit).
  void PutPending(rocksdb::WriteBatch& batch, const std::vector<std::string>& keys) const;
  // Keys whose markers are durable (after the commit): erase them.
  void Add(std::vector<std::string> keys);
  // Runs the pending erasure on the calling thread, now.
  rocksdb::Status RunNow();

  uint64_t pending() const { return pending_count_.load(std::memory_order_relaxed); }
  uint64_t runs() const { return runs_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  uint64_t erased() const { return erased_.load(std::memory_order_relaxed); }

 private:
  static constexpr char kPendingPrefix[] = "erase/";
  void Loop();
  rocksdb::Status Run(std::vector<std::string> keys);

  StateDb& db_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::mutex run_mu_;  // one run at a time (the thread's or RunNow's)
  std::condition_variable cv_;
  std::vector<std::string> pending_;  // guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::atomic<uint64_t> pending_count_{0}, runs_{0}, errors_{0}, erased_{0};
  std::thread thread_;
};

}  // namespace recstream::state
