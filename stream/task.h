// Task: the loop every processor instance runs over the partitions it owns:
//
//   poll a batch -> Process (operators; outputs queued to the sink)
//   ... more batches, until a checkpoint is due ...
//   -> await delivery of the outputs -> Checkpoint (one WriteBatch: state +
//   next offsets) -> Commit offsets to Kafka (async, advisory)
//
// Why outputs are delivered before the checkpoint: a crash between the two
// then re-processes the batches since the previous checkpoint and publishes
// the same lists again (at-least-once output, state applied exactly once).
// The other order would lose the outputs of the last batches on a crash.
//
// Why a checkpoint spans several batches (checkpoint_interval, as Kafka
// Streams' commit.interval.ms): a checkpoint writes every row the batches
// changed, and the hot rows (popular items, their embedding rows, the
// category rows) change in every batch; writing them once per interval
// instead of once per batch is most of a checkpoint's cost. Outputs are
// produced as each batch is processed (their delivery is awaited only before
// the checkpoint), so a longer interval costs no median freshness; what it
// costs is how much a crash re-processes (and re-publishes), and a longer
// stall of this thread while the checkpoint is written, which is the latency
// tail (docs/PERFORMANCE.md, Latency). A checkpoint also happens
// when the input is idle (nothing polled), after checkpoint_max_records,
// before partitions are revoked (CheckpointNow) and when Run returns.
//
// Concurrency: Run() occupies the calling thread; Stop() may be called from
// any thread (or a signal handler through the flag) and is honoured between
// batches, so the batch in flight always completes and is checkpointed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "stream/clock.h"
#include "stream/record.h"

namespace recstream::stream {

class BatchProcessor {
 public:
  virtual ~BatchProcessor() = default;
  // Applies every record; queues outputs and dead letters on sink. An error
  // is fatal: the batch must not be checkpointed.
  virtual Status Process(std::span<const Record> batch, RecordSink& sink) = 0;
  // Makes the batch's state changes and next offsets durable, atomically.
  virtual Status Checkpoint(const std::vector<TopicPartitionOffset>& next) = 0;
  // Called after a fatal error: in-memory state may be ahead of the store.
  virtual void Abandon() {}
  // A window of one or more batches checkpointed together. With coalesce
  // set the processor may defer outputs (one list per user, from the newest
  // state) until EndWindow, which queues them; the task calls it before
  // awaiting delivery and checkpointing, so nothing deferred is ever lost.
  virtual void BeginWindow(bool coalesce) {}
  virtual Status EndWindow(RecordSink& sink) { return Status::OK(); }
};

struct TaskOptions {
  size_t max_batch = 1000;                           // Default: 1000 records
  std::chrono::milliseconds poll_timeout{50};        // Default: 50 ms
  // Longer than a broker outage the processor should ride out; librdkafka
  // retries the messages meanwhile (message.timeout.ms, 300 s).
  std::chrono::milliseconds delivery_timeout{120000}; // Default: 120 s
  // Coalescing under backlog (DESIGN §2): when a poll comes back full (the
  // input is behind), keep polling and processing for up to this long, then
  // publish one list per user touched, from the newest state, and checkpoint
  // the whole window. 0 = every event gets its own list. Default: 0.
  std::chrono::milliseconds coalesce{0};
  // At most this long between a batch and the checkpoint that makes it
  // durable (0 = checkpoint every batch). Default: 1000 ms.
  std::chrono::milliseconds checkpoint_interval{1000};
  // ...and at most this many records: bounds what a checkpoint holds (the
  // dirty user states stay in memory until it, on top of the user cache) and
  // what a crash re-processes. Default: 50000.
  size_t checkpoint_max_records = 50'000;
};

struct TaskStats {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t coalesced_windows = 0;  // windows that deferred their lists
  uint64_t checkpoints = 0;
};

class Task {
 public:
  // clock: measures the checkpoint interval and the coalescing window (a
  // test passes a ManualClock and moves it instead of sleeping).
  Task(RecordSource& source, RecordSink& sink, BatchProcessor& processor, TaskOptions opt,
       const Clock& clock = SystemClock::Instance())
      : source_(source), sink_(sink), processor_(processor), opt_(opt), clock_(clock) {}

  // Runs until stop is set, the source is exhausted, or a fatal error
  // (returned; nothing since the last checkpoint is checkpointed). Checkpoints
  // what it processed before returning.
  Status Run(const std::atomic<bool>& stop);
  // One poll-process round, checkpointing when due (see above); sets *got to
  // the records handled.
  Status RunOnce(size_t* got);
  // Awaits delivery and checkpoints what was processed since the last
  // checkpoint (nothing to do: OK). Call it before the task stops, and from
  // the source's revocation callback so that the next owner of a partition
  // starts where this one stopped: inside a coalescing window (the callback
  // runs in the window's polls) the checkpoint is deferred to the window's
  // end. An error is also returned by the next RunOnce.
  Status CheckpointNow();
  // Records processed and not yet checkpointed.
  size_t pending_records() const { return pending_records_; }
  const TaskStats& stats() const { return stats_; }

 private:
  RecordSource& source_;
  RecordSink& sink_;
  BatchProcessor& processor_;
  TaskOptions opt_;
  const Clock& clock_;
  TaskStats stats_;
  std::vector<Record> batch_;
  // Next offsets of everything processed since the last checkpoint.
  std::vector<TopicPartitionOffset> next_;
  std::vector<TopicPartitionOffset> positions_;  // next_ and the sink's positions
  size_t pending_records_ = 0;
  Clock::SteadyTime first_pending_{};  // the oldest unchecked batch
  bool in_window_ = false;       // between BeginWindow and EndWindow
  bool checkpoint_asked_ = false;  // CheckpointNow inside a window
  Status failed_;                // a CheckpointNow failure, for the next RunOnce
  void AddNextOffsets();
  Status Checkpoint();
};

}  // namespace recstream::stream
