// A state store that stops accepting writes (disk full, failing disk) while
// the processor runs on the embedded broker. RocksDB's file system is
// wrapped by FaultEnv; once it fails the WAL, the next checkpoint fails.
// Expected: the task stops with an error, the error is counted in the
// metrics, neither the stored nor the committed offsets move past the last
// good checkpoint; a processor restarted on a healthy disk then applies every
// event exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <numeric>

#include "app/config.h"
#include "app/processor.h"
#include "stream/embedded_broker.h"
#include "tests/integration/fault_env.h"
#include "tests/integration/kafka_util.h"
#include "tests/integration/state_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::CommittedOffsets;
using testing::WaitFor;

constexpr int kPartitions = 4;
constexpr size_t kBefore = 1000, kAfter = 1000;

int64_t Sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

TEST(CheckpointFaultTest, FailedStateWriteStopsWithoutMovingOffsetsAndARestartAppliesEveryEventOnce) {
  stream::EmbeddedBroker broker;
  ASSERT_TRUE(broker.Start().ok());
  app::Config config;
  config.pipeline.topics.items = "";
  const auto& t = config.pipeline.topics;
  for (const auto& name : {t.events, t.recommendations, t.dead_letters})
    ASSERT_TRUE(broker.CreateTopic(name, kPartitions).ok());
  const fs::path dir = fs::path(::testing::TempDir()) / ("recstream-fault-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  config.state.dir = (dir / "state").string();
  config.kafka.group_id = "fault";
  config.task.max_batch = 100;
  // See embedded_broker_test.cc: a restart in the same group on the mock
  // cluster waits about session.timeout.ms.
  config.kafka.consumer["session.timeout.ms"] = "3000";
  config.kafka.consumer["heartbeat.interval.ms"] = "500";
  const std::string bootstrap = broker.bootstrap();
  auto committed = [&] { return CommittedOffsets(bootstrap, "fault", t.events, kPartitions); };

  std::vector<std::string> ids;
  ASSERT_TRUE(testing::ProduceAll(bootstrap, t.events, testing::GeneratedEvents(kBefore, 1, "a-", &ids)));

  testing::FaultEnv env;
  app::Config faulty = config;
  faulty.state.env = &env;
  std::unique_ptr<app::Processor> proc;
  ASSERT_TRUE(app::Processor::Open(faulty, bootstrap, &proc).ok());
  auto running = std::make_unique<testing::Running>(*proc);
  // Healthy disk: everything produced so far is checkpointed and committed.
  ASSERT_TRUE(WaitFor([&] { return Sum(committed()) == static_cast<int64_t>(kBefore); }, std::chrono::seconds(60)));
  const std::vector<int64_t> good = committed();
  const uint64_t batches_before = proc->metrics().batches.load();

  env.set_failing(true);
  ASSERT_TRUE(testing::ProduceAll(bootstrap, t.events, testing::GeneratedEvents(kAfter, 2, "b-", &ids)));
  const bool stopped = WaitFor([&] { return running->done(); }, std::chrono::seconds(60));
  Status run = running->Join();
  running.reset();
  ASSERT_TRUE(stopped) << "the processor kept running on a failing state store";
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.ToString().find("checkpoint"), std::string::npos) << run.ToString();
  EXPECT_EQ(proc->metrics().checkpoint_errors.load(), 1u);
  EXPECT_EQ(proc->metrics().batches.load(), batches_before) << "a checkpoint succeeded on the failing disk";
  EXPECT_GE(env.failures(), 1);
  for (int p = 0; p < kPartitions; ++p)
    EXPECT_EQ(proc->pipeline().StoredOffset(t.events, p), good[p]) << "partition " << p;
  proc->Close();  // leaves the group: commits its last checkpoint again, no further
  EXPECT_EQ(committed(), good);
  const uint64_t applied_first = proc->metrics().events_applied.load();
  proc.reset();
  {
    // What survived on disk: the last good checkpoint, nothing of the failed batch.
    const auto st = testing::ReadStoredState(config.state.dir);
    ASSERT_TRUE(st.ok);
    EXPECT_EQ(st.offsets, static_cast<int64_t>(kBefore));
    EXPECT_EQ(st.events, kBefore);
  }

  // A healthy disk again: a restarted processor picks up where the last good
  // checkpoint left off.
  ASSERT_TRUE(app::Processor::Open(config, bootstrap, &proc).ok());
  running = std::make_unique<testing::Running>(*proc);
  const bool caught_up = WaitFor([&] { return Sum(committed()) == static_cast<int64_t>(kBefore + kAfter); },
                                 std::chrono::seconds(90));
  run = running->Join();
  running.reset();
  ASSERT_TRUE(caught_up);
  EXPECT_TRUE(run.ok()) << run.ToString();
  EXPECT_EQ(proc->metrics().checkpoint_errors.load(), 0u);
  EXPECT_EQ(proc->metrics().dead_letters_total(), 0u) << "an event was seen as a duplicate: it had been applied";
  const uint64_t applied_second = proc->metrics().events_applied.load();
  proc->Close();
  proc.reset();

  const auto st = testing::ReadStoredState(config.state.dir);
  ASSERT_TRUE(st.ok);
  EXPECT_EQ(st.events, kBefore + kAfter) << "an event was applied twice or lost";
  EXPECT_EQ(st.offsets, static_cast<int64_t>(kBefore + kAfter));
  // Outputs: at least once. The lists of the failed batch were delivered
  // before its checkpoint failed, so they appear again after the restart.
  const int64_t published = testing::TotalHighWatermark(bootstrap, t.recommendations, kPartitions);
  const auto lists = testing::ConsumeAll(bootstrap, t.recommendations, kPartitions, static_cast<size_t>(published));
  const auto per_trigger = testing::ListsPerTrigger(lists);
  size_t missing = 0, repeated = 0;
  for (const auto& id : ids) {
    auto it = per_trigger.find(id);
    missing += it == per_trigger.end();
    if (it != per_trigger.end()) repeated += it->second - 1;
  }
  std::printf("[ fault ] events %zu, applied in memory before the fault %llu, after the restart %llu, stored %llu, "
              "lists %zu (repeats of the failed batch %zu), WAL writes refused %d\n",
              ids.size(), static_cast<unsigned long long>(applied_first),
              static_cast<unsigned long long>(applied_second), static_cast<unsigned long long>(st.events),
              lists.size(), repeated, env.failures());
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(applied_second, kBefore + kAfter - kBefore) << "the restart re-applied checkpointed events";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recstream
