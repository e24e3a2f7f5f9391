// The broker goes away for 30 s while events flow: a real Apache Kafka broker
// is frozen with SIGSTOP (`scripts/kafka.sh pause`: it keeps its port but
// answers nothing, like a stalled or cut-off broker) and continued with
// SIGCONT. The processor runs with the default configuration throughout and
// must ride it out: no fatal error, and afterwards every event applied
// exactly once with its list published.
//
// Why the defaults survive 30 s (configs/default.toml): the consumer's
// session.timeout.ms (45 s) outlasts the stall, so the group keeps its
// member; processing.delivery_timeout_ms (120 s) is how long a batch waits
// for its outputs to be acknowledged, and librdkafka's message.timeout.ms
// (300 s) how long it retries them; socket.timeout.ms (60 s) lets requests
// sent into the stall wait for their answers.
//
// Label `outage` (about 60 s with the broker start): `ctest -LE outage`.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <numeric>
#include <thread>

#include "app/config.h"
#include "app/processor.h"
#include "tests/integration/kafka_util.h"
#include "tests/integration/state_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::WaitFor;

constexpr int kPartitions = 4;

TEST(RealKafkaOutageTest, ThirtySecondBrokerStallLosesNothing) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("recstream-outage-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  testing::RealBroker broker;
  const int rc = broker.Start(testing::kOutageTestPorts, (dir / "kafka").string());
  if (rc == 3) GTEST_SKIP() << "no Java or Maven on this machine: the real-broker tests need both";
  ASSERT_EQ(rc, 0) << "scripts/kafka.sh start failed";
  app::Config config;  // defaults, as a user runs it
  config.pipeline.topics.items = "";
  config.kafka.group_id = "outage";
  config.state.dir = (dir / "state").string();
  const auto& t = config.pipeline.topics;
  for (const auto& name : {t.events, t.recommendations, t.dead_letters})
    ASSERT_TRUE(broker.CreateTopic(name, kPartitions)) << name;
  const std::string& bootstrap = broker.bootstrap();

  // A steady stream, about 200 events/s, before, during and after the stall.
  std::vector<std::string> ids;
  const auto events = testing::GeneratedEvents(20000, 7, "o-", &ids);
  std::atomic<bool> producing{true};
  std::atomic<size_t> produced{0};
  bool produce_ok = true;
  testing::StreamProducer producer(bootstrap);
  std::thread feed([&] {
    for (size_t i = 0; i < events.size() && producing; ++i) {
      if (!producer.Produce(t.events, events[i].first, *events[i].second)) {
        produce_ok = false;
        return;
      }
      produced = i + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  struct Joiner {
    std::atomic<bool>& flag;
    std::thread& t;
    ~Joiner() {
      flag = false;
      if (t.joinable()) t.join();
    }
  } join_feed{producing, feed};

  std::unique_ptr<app::Processor> proc;
  ASSERT_TRUE(app::Processor::Open(config, bootstrap, &proc).ok());
  auto running = std::make_unique<testing::Running>(*proc);
  ASSERT_TRUE(WaitFor([&] { return proc->metrics().events_applied.load() >= 500; }, std::chrono::seconds(60)))
      << "no events processed before the outage";

  ASSERT_TRUE(broker.Pause());
  const uint64_t applied_at_pause = proc->metrics().events_applied.load();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  const uint64_t applied_during = proc->metrics().events_applied.load() - applied_at_pause;
  const bool died_during = running->done();
  ASSERT_TRUE(broker.Resume());
  const auto resumed_at = std::chrono::steady_clock::now();
  EXPECT_FALSE(died_during) << "the processor stopped during the outage";

  // Events keep coming for a few seconds after the broker is back.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  producing = false;
  feed.join();
  ASSERT_TRUE(produce_ok);
  ASSERT_TRUE(producer.Flush(std::chrono::seconds(120))) << "the test's own producer could not deliver";
  const auto n = static_cast<int64_t>(produced.load());
  auto committed = [&] {
    const auto v = testing::CommittedOffsets(bootstrap, "outage", t.events, kPartitions);
    return std::accumulate(v.begin(), v.end(), int64_t{0});
  };
  const bool caught_up = WaitFor([&] { return committed() == n; }, std::chrono::seconds(120));
  const double recovery_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - resumed_at).count();
  Status run = running->Join();
  running.reset();
  EXPECT_TRUE(run.ok()) << run.ToString();
  ASSERT_TRUE(caught_up) << "committed " << committed() << " of " << n;
  const uint64_t applied = proc->metrics().events_applied.load();
  const uint64_t dead = proc->metrics().dead_letters_total();
  proc->Close();
  proc.reset();

  const auto st = testing::ReadStoredState(config.state.dir);
  ASSERT_TRUE(st.ok);
  const int64_t published = testing::TotalHighWatermark(bootstrap, t.recommendations, kPartitions);
  const auto lists = testing::ConsumeAll(bootstrap, t.recommendations, kPartitions, static_cast<size_t>(published));
  const auto per_trigger = testing::ListsPerTrigger(lists);
  size_t missing = 0, repeated = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto it = per_trigger.find(ids[static_cast<size_t>(i)]);
    missing += it == per_trigger.end();
    if (it != per_trigger.end()) repeated += it->second - 1;
  }
  std::printf("[ outage ] broker paused 30 s; events %lld, applied %llu (%llu while paused), stored %llu, lists %zu "
              "(repeated %zu, missing %zu), dead letters %llu, caught up %.1f s after resume\n",
              static_cast<long long>(n), static_cast<unsigned long long>(applied),
              static_cast<unsigned long long>(applied_during), static_cast<unsigned long long>(st.events),
              lists.size(), repeated, missing, static_cast<unsigned long long>(dead), recovery_s);
  EXPECT_EQ(applied, static_cast<uint64_t>(n)) << "an event was applied twice or lost";
  EXPECT_EQ(st.events, static_cast<uint64_t>(n));
  EXPECT_EQ(st.offsets, n);
  EXPECT_EQ(dead, 0u);
  EXPECT_EQ(missing, 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recstream
