#include "stream/task.h"

#include <spdlog/spdlog.h>

namespace recstream::stream {

Status Task::RunOnce(size_t* got) {
  *got = 0;
  Status s = source_.Poll(opt_.max_batch, opt_.poll_timeout, batch_);
  if (!s.ok()) return s;
  sink_.Poll();
  if (batch_.empty()) return Status::OK();

  s = processor_.Process(batch_, sink_);
  if (s.ok()) s = sink_.AwaitDelivery(opt_.delivery_timeout);
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  // Next offset per (topic, partition): records of a partition are ordered.
  next_.clear();
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
  s = processor_.Checkpoint(next_);
  if (!s.ok()) {
    processor_.Abandon();
    return s;
  }
  source_.Commit(next_).PermitUncheckedError();  // advisory; logged by the source
  stats_.batches++;
  stats_.records += batch_.size();
  *got = batch_.size();
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
