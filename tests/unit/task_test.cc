// The task loop's checkpoints (stream/task.h): a checkpoint may cover several
// batches (processing.checkpoint_interval_ms, checkpoint_max_events), always
// after the outputs it covers were delivered; the input going idle, a
// revocation (CheckpointNow from inside a poll) and the end of Run checkpoint
// at once. Fakes only: what is checked is the order of calls and the offsets
// each checkpoint carries.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "stream/task.h"

namespace recstream {
namespace {

// Everything the task asks of its parts, in order: "process N", "await",
// "checkpoint OFFSET", "commit OFFSET".
using Log = std::vector<std::string>;

// Serves `polls[i]` records on the i-th poll (0: an empty poll), one
// partition, consecutive offsets; `during_poll` runs inside a poll, as
// librdkafka's rebalance callback does.
class ScriptedSource final : public stream::RecordSource {
 public:
  ScriptedSource(std::vector<size_t> polls, Log& log) : polls_(std::move(polls)), log_(log) {}
  Status Poll(size_t max, std::chrono::milliseconds, std::vector<stream::Record>& out) override {
    out.clear();
    const size_t i = polled_++;
    if (during_poll && i == during_poll_index) during_poll();
    const size_t n = i < polls_.size() ? std::min(max, polls_[i]) : 0;
    for (size_t k = 0; k < n; ++k) {
      stream::Record r;
      r.topic = "events";
      r.partition = 0;
      r.offset = next_offset_++;
      r.value = "{}";
      out.push_back(r);
    }
    return Status::OK();
  }
  Status Commit(const std::vector<stream::TopicPartitionOffset>& next) override {
    log_.push_back("commit " + std::to_string(next.at(0).offset));
    return Status::OK();
  }
  bool exhausted() const override { return polled_ >= polls_.size(); }

  std::function<void()> during_poll;
  size_t during_poll_index = 0;

 private:
  std::vector<size_t> polls_;
  Log& log_;
  size_t polled_ = 0;
  int64_t next_offset_ = 0;
};

class LoggingSink final : public stream::RecordSink {
 public:
  explicit LoggingSink(Log& log) : log_(log) {}
  Status Produce(std::string_view, std::string_view, std::optional<std::string_view>,
                 std::span<const stream::Header>) override {
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override {
    log_.push_back("await");
    return Status::OK();
  }

 private:
  Log& log_;
};

class LoggingProcessor final : public stream::BatchProcessor {
 public:
  explicit LoggingProcessor(Log& log) : log_(log) {}
  Status Process(std::span<const stream::Record> batch, stream::RecordSink&) override {
    log_.push_back("process " + std::to_string(batch.size()));
    return Status::OK();
  }
  Status Checkpoint(const std::vector<stream::TopicPartitionOffset>& next) override {
    log_.push_back("checkpoint " + std::to_string(next.at(0).offset));
    if (fail_checkpoints) return Status::IoError("refused");
    return Status::OK();
  }
  void Abandon() override { log_.push_back("abandon"); }
  bool fail_checkpoints = false;

 private:
  Log& log_;
};

struct Rig {
  explicit Rig(std::vector<size_t> polls, stream::TaskOptions opt)
      : source(std::move(polls), log), sink(log), processor(log), task(source, sink, processor, opt, clock) {}
  Status Round() {
    size_t got = 0;
    return task.RunOnce(&got);
  }
  Log log;
  stream::ManualClock clock;  // moves only when a test moves it
  ScriptedSource source;
  LoggingSink sink;
  LoggingProcessor processor;
  stream::Task task;
};

stream::TaskOptions Options(std::chrono::milliseconds interval, size_t max_records = 1'000'000) {
  stream::TaskOptions o;
  o.max_batch = 10;
  o.checkpoint_interval = interval;
  o.checkpoint_max_records = max_records;
  return o;
}

TEST(TaskCheckpoints, EveryBatchWhenTheIntervalIsZero) {
  Rig rig({10, 10, 4}, Options(std::chrono::milliseconds(0)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "await", "checkpoint 10", "commit 10", "process 10", "await",
                          "checkpoint 20", "commit 20", "process 4", "await", "checkpoint 24", "commit 24"}));
  EXPECT_EQ(rig.task.stats().checkpoints, 3u);
}

TEST(TaskCheckpoints, OneCheckpointCoversTheBatchesOfTheIntervalAndAnIdlePollWritesIt) {
  Rig rig({10, 10, 10, 0}, Options(std::chrono::hours(1)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 10"})) << "nothing is due yet";
  EXPECT_EQ(rig.task.pending_records(), 30u);
  ASSERT_TRUE(rig.Round().ok());  // the empty poll: the input is idle
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 10", "await", "checkpoint 30", "commit 30"}));
  EXPECT_EQ(rig.task.pending_records(), 0u);
  ASSERT_TRUE(rig.Round().ok());  // idle again, nothing new: no second checkpoint
  EXPECT_EQ(rig.task.stats().checkpoints, 1u);
}

TEST(TaskCheckpoints, CheckpointMaxRecordsBoundsWhatACheckpointCovers) {
  Rig rig({10, 10, 10, 10, 10}, Options(std::chrono::hours(1), 25));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 10", "await", "checkpoint 30", "commit 30",
                          "process 10", "process 10"}));
}

TEST(TaskCheckpoints, TheIntervalElapsingMakesACheckpointDue) {
  Rig rig({10, 10, 10}, Options(std::chrono::milliseconds(20)));
  ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10"}));
  rig.clock.Advance(std::chrono::milliseconds(19));
  ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10"})) << "19 ms of a 20 ms interval: not due";
  rig.clock.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(rig.Round().ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 10", "await", "checkpoint 30", "commit 30"}));
}

TEST(TaskCheckpoints, ARevocationInsideAPollCheckpointsWhatWasProcessedBeforeIt) {
  Rig rig({10, 10, 10}, Options(std::chrono::hours(1)));
  rig.source.during_poll_index = 2;
  rig.source.during_poll = [&] { EXPECT_TRUE(rig.task.CheckpointNow().ok()); };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rig.Round().ok());
  // The hand-over checkpoint carries the first two batches only, and comes
  // before the third is processed.
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "await", "checkpoint 20", "commit 20", "process 10"}));
}

TEST(TaskCheckpoints, ARevocationInsideACoalescingWindowIsCheckpointedAtTheWindowsEnd) {
  stream::TaskOptions opt = Options(std::chrono::hours(1));
  opt.coalesce = std::chrono::hours(1);  // the window lasts while polls come back full
  Rig rig({10, 10, 3}, opt);
  rig.source.during_poll_index = 1;  // the window's second poll
  rig.source.during_poll = [&] { EXPECT_TRUE(rig.task.CheckpointNow().ok()); };
  ASSERT_TRUE(rig.Round().ok());
  // Not inside the window (its lists are not published yet): right after it.
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 3", "await", "checkpoint 23", "commit 23"}));
}

TEST(TaskCheckpoints, AFailedCheckpointInsideAPollStopsTheNextRound) {
  Rig rig({10, 10, 10}, Options(std::chrono::hours(1)));
  rig.source.during_poll_index = 1;
  rig.source.during_poll = [&] {
    rig.processor.fail_checkpoints = true;
    EXPECT_FALSE(rig.task.CheckpointNow().ok());
  };
  ASSERT_TRUE(rig.Round().ok());
  EXPECT_FALSE(rig.Round().ok()) << "the round whose poll saw the failure must not go on";
  EXPECT_FALSE(rig.Round().ok()) << "nor any later one";
  EXPECT_EQ(rig.log, (Log{"process 10", "await", "checkpoint 10", "abandon"}));
}

TEST(TaskCheckpoints, RunCheckpointsWhatItProcessedBeforeReturning) {
  Rig rig({10, 10, 7}, Options(std::chrono::hours(1)));
  std::atomic<bool> stop{false};
  ASSERT_TRUE(rig.task.Run(stop).ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 7", "await", "checkpoint 27", "commit 27", "await"}));
}

TEST(TaskCheckpoints, ARunStoppedBetweenBatchesStillCheckpoints) {
  Rig rig({10, 10, 10, 10}, Options(std::chrono::hours(1)));
  std::atomic<bool> stop{false};
  rig.source.during_poll_index = 2;
  rig.source.during_poll = [&] { stop = true; };  // SIGTERM while the third batch is polled
  ASSERT_TRUE(rig.task.Run(stop).ok());
  EXPECT_EQ(rig.log, (Log{"process 10", "process 10", "process 10", "await", "checkpoint 30", "commit 30", "await"}));
}

}  // namespace
}  // namespace recstream
