#include "state/eraser.h"

#include <rocksdb/options.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace recstream::state {

namespace {
// Past this many keys one compaction of the whole family is cheaper than a
// range compaction per key (each may rewrite one file per level).
constexpr size_t kPerKeyCompactionLimit = 64;
}  // namespace

Eraser::Eraser(StateDb& db, std::chrono::milliseconds interval) : db_(db), interval_(interval) {
  const std::string_view prefix = kPendingPrefix;
  auto s = db_.Scan(Cf::kMeta, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    if (k.starts_with(rocksdb::Slice(prefix.data(), prefix.size())))
      pending_.emplace_back(k.data() + prefix.size(), k.size() - prefix.size());
    return true;
  });
  if (!s.ok()) spdlog::warn("state: reading pending erasures: {}", s.ToString());
  if (!pending_.empty()) spdlog::info("state: {} erased user row(s) still to be compacted away", pending_.size());
  pending_count_ = pending_.size();
  thread_ = std::thread([this] { Loop(); });
}

Eraser::~Eraser() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Eraser::PutPending(rocksdb::WriteBatch& batch, const std::vector<std::string>& keys) const {
  for (const auto& k : keys) batch.Put(db_.handle(Cf::kMeta), kPendingPrefix + k, "").PermitUncheckedError();
}

void Eraser::Add(std::vector<std::string> keys) {
  if (keys.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& k : keys) pending_.push_back(std::move(k));
    pending_count_ = pending_.size();
  }
  cv_.notify_all();
}

rocksdb::Status Eraser::RunNow() {
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys.swap(pending_);
    pending_count_ = 0;
  }
  return Run(std::move(keys));
}

void Eraser::Loop() {
  auto due = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
    if (!stop_) {
      // Rate limit: wait out the interval since the last run (stop ends the
      // wait: what is pending is run now, at shutdown).
      cv_.wait_until(lock, due, [&] { return stop_; });
    }
    std::vector<std::string> keys;
    keys.swap(pending_);
    pending_count_ = 0;
    const bool stop = stop_;
    lock.unlock();
    if (!keys.empty()) {
      auto s = Run(std::move(keys));
      // After a failure (the keys are pending again) at least 5 s, not a
      // busy retry.
      due = std::chrono::steady_clock::now() + (s.ok() ? interval_ : std::max<std::chrono::milliseconds>(interval_, std::chrono::seconds(5)));
      if (!s.ok()) spdlog::error("state: erasure of forgotten users failed (retried): {}", s.ToString());
    }
    if (stop) return;
    lock.lock();
  }
}

rocksdb::Status Eraser::Run(std::vector<std::string> keys) {
  if (keys.empty()) return rocksdb::Status::OK();
  std::lock_guard<std::mutex> run(run_mu_);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  rocksdb::DB* raw = db_.raw();
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) all.push_back(db_.handle(static_cast<Cf>(i)));
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  // Every family: a log file is deleted only once no family has unflushed
  // data in it.
  auto s = raw->Flush(fo, all);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.exclusive_manual_compaction = false;
  if (s.ok()) {
    if (keys.size() > kPerKeyCompactionLimit) {
      s = raw->CompactRange(co, db_.handle(Cf::kUsers), nullptr, nullptr);
    } else {
      for (const auto& k : keys) {
        const rocksdb::Slice key(k);
        s = raw->CompactRange(co, db_.handle(Cf::kUsers), &key, &key);
        if (!s.ok()) break;
      }
    }
  }
  if (s.ok()) {
    rocksdb::WriteBatch done;
    for (const auto& k : keys) done.Delete(db_.handle(Cf::kMeta), kPendingPrefix + k).PermitUncheckedError();
    s = db_.Commit(done);
  }
  if (!s.ok()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    Add(std::move(keys));  // the next run tries again
    return s;
  }
  runs_.fetch_add(1, std::memory_order_relaxed);
  erased_.fetch_add(keys.size(), std::memory_order_relaxed);
  return rocksdb::Status::OK();
}

}  // namespace recstream::state
