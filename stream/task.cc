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
  Status s = source_.Poll(opt_.max_batch, opt_.poll_timeout, batch_);
  if (!s.ok()) return s;
  sink_.Poll();
  if (batch_.empty()) return Status::OK();

  // A full poll means more is waiting: the input is behind.
  const bool coalesce = opt_.coalesce.count() > 0 && batch_.size() >= opt_.max_batch;
  const auto window_end = std::chrono::steady_clock::now() + opt_.coalesce;
  processor_.BeginWindow(coalesce);
  next_.clear();
  size_t records = 0;
  for (;;) {
    s = processor_.Process(batch_, sink_);
    if (!s.ok()) break;
    AddNextOffsets();
    records += batch_.size();
    if (!coalesce || batch_.size() < opt_.max_batch || std::chrono::steady_clock::now() >= window_end) break;
    s = source_.Poll(opt_.max_batch, std::chrono::milliseconds(0), batch_);
    if (!s.ok() || batch_.empty()) break;
  }
  if (s.ok()) s = processor_.EndWindow(sink_);
  if (s.ok()) s = sink_.AwaitDelivery(opt_.delivery_timeout);
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  s = processor_.Checkpoint(next_);
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  source_.Commit(next_).PermitUncheckedError();  // advisory; logged by the source
  stats_.batches++;
  stats_.records += records;
  if (coalesce) stats_.coalesced_windows++;
  *got = records;
  return Status::OK();
}

Status Task::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    size_t got = 0;
    Status s = RunOnce(&got);
    if (!s.ok()) return s;
    if (got == 0 && source_.exhausted()) break;
  }
  return sink_.AwaitDelivery(opt_.delivery_timeout);
}

}  // namespace recstream::stream
