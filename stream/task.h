// Task: the loop every processor instance runs over the partitions it owns:
//
//   poll a batch -> Process (operators; outputs queued to the sink)
//   -> await delivery of the outputs -> Checkpoint (one WriteBatch: state +
//   next offsets) -> Commit offsets to Kafka (async, advisory)
//
// Why outputs are delivered before the checkpoint: a crash between the two
// then re-processes the batch from the previous checkpoint and publishes the
// same lists again (at-least-once output, state applied exactly once). The
// other order would lose the outputs of the last batch on a crash.
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
};

struct TaskStats {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t coalesced_windows = 0;  // windows that deferred their lists
};

class Task {
 public:
  Task(RecordSource& source, RecordSink& sink, BatchProcessor& processor, TaskOptions opt)
      : source_(source), sink_(sink), processor_(processor), opt_(opt) {}

  // Runs until stop is set, the source is exhausted, or a fatal error (returned; nothing of the failed batch is checkpointed).
  Status Run(const std::atomic<bool>& stop);
  // One poll-process-checkpoint round; sets *got to the records handled.
  Status RunOnce(size_t* got);
  const TaskStats& stats() const { return stats_; }

 private:
  RecordSource& source_;
  RecordSink& sink_;
  BatchProcessor& processor_;
  TaskOptions opt_;
  TaskStats stats_;
  std::vector<Record> batch_;
  std::vector<TopicPartitionOffset> next_;
  void AddNextOffsets();
};

}  // namespace recstream::stream
