#include "stream/task.h"

#include <spdlog/spdlog.h>

namespace recstream::stream {

void Task::AddNextOffsets() {
  // Next offset per (topic, partition): records of a partition are ordered.
  for (const Record& r : batch_) {
    bool found = false;
    for (auto& n : next_) {
      if (n.partition == r.partition && n.topic == r.topic) {
        n.offset = std::max(n.offset, r.offset + 1);
        found = true;
        break;
      }
    }
    if (!found) next_.push_back({std::string(r.topic), r.partition, r.offset + 1});
  }
}

Status Task::RunOnce(size_t* got) {
  *got = 0;
  if (!failed_.ok()) return failed_;
  Status s = source_.Poll(opt_.max_batch, opt_.poll_timeout, batch_);
  if (!s.ok()) return s;
  if (!failed_.ok()) return failed_;  // CheckpointNow failed inside the poll (a revocation)
  sink_.Poll();
  if (batch_.empty()) {
    // Idle: make what was processed durable now rather than at the interval.
    return pending_records_ > 0 || checkpoint_asked_ ? Checkpoint() : Status::OK();
  }

  // A full poll means more is waiting: the input is behind.
  const bool coalesce = opt_.coalesce.count() > 0 && batch_.size() >= opt_.max_batch;
  const auto start = clock_.Steady();
  const auto window_end = start + opt_.coalesce;
  if (pending_records_ == 0) first_pending_ = start;
  processor_.BeginWindow(coalesce);
  in_window_ = true;
  size_t records = 0;
  for (;;) {
    s = processor_.Process(batch_, sink_);
    if (!s.ok()) break;
    AddNextOffsets();
    records += batch_.size();
    if (!coalesce || batch_.size() < opt_.max_batch || clock_.Steady() >= window_end) break;
    s = source_.Poll(opt_.max_batch, std::chrono::milliseconds(0), batch_);
    if (!s.ok() || batch_.empty()) break;
  }
  if (s.ok()) s = processor_.EndWindow(sink_);
  in_window_ = false;
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  pending_records_ += records;
  stats_.batches++;
  stats_.records += records;
  if (coalesce) stats_.coalesced_windows++;
  *got = records;
  const bool due = checkpoint_asked_ || opt_.checkpoint_interval.count() == 0 ||
                   pending_records_ >= opt_.checkpoint_max_records ||
                   clock_.Steady() - first_pending_ >= opt_.checkpoint_interval;
  return due ? Checkpoint() : Status::OK();
}

Status Task::Checkpoint() {
  checkpoint_asked_ = false;
  if (pending_records_ == 0 && next_.empty()) return Status::OK();
  Status s = sink_.AwaitDelivery(opt_.delivery_timeout);
  positions_ = next_;
  sink_.AppendPositions(positions_);
  if (s.ok()) s = processor_.Checkpoint(positions_);
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  source_.Commit(next_).PermitUncheckedError();  // advisory; logged by the source
  next_.clear();
  pending_records_ = 0;
  stats_.checkpoints++;
  return Status::OK();
}

Status Task::CheckpointNow() {
  if (!failed_.ok()) return failed_;
  if (in_window_) {
    checkpoint_asked_ = true;
    return Status::OK();
  }
  Status s = Checkpoint();
  if (!s.ok()) failed_ = s;
  return s;
}

Status Task::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    size_t got = 0;
    Status s = RunOnce(&got);
    if (!s.ok()) return s;
    if (got == 0 && source_.exhausted()) break;
  }
  Status s = CheckpointNow();
  if (!s.ok()) return s;
  return sink_.AwaitDelivery(opt_.delivery_timeout);
}

}  // namespace recstream::stream
