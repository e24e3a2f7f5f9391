// The processor against a real Apache Kafka broker (KRaft, started by
// scripts/kafka.sh from jars fetched from Maven Central). Skipped, with the
// reason, only where Java or Maven is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "app/config.h"
#include "app/generator.h"
#include "app/processor.h"
#include "tests/integration/kafka_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::ConsumeAll;
using testing::ProduceAll;
using testing::WaitFor;

class RealKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = fs::path(::testing::TempDir()) / ("recstream-kafka-" + std::to_string(::getpid()));
    fs::remove_all(data_);
    const int rc = broker_.Start(testing::kRealKafkaTestPorts, (data_ / "kafka").string());
    if (rc == 3) GTEST_SKIP() << "no Java or Maven on this machine: the real-broker tests need both";
    ASSERT_EQ(rc, 0) << "scripts/kafka.sh start failed";
    bootstrap_ = broker_.bootstrap();
  }
  void TearDown() override {
    broker_.Stop();
    fs::remove_all(data_);
  }

  app::Config Config(const std::string& group) const {
    app::Config c;
    c.kafka_brokers = bootstrap_;
    c.kafka.group_id = group;
    c.pipeline.topics.items = "";  // no catalog topic: it would not exist
    c.state.dir = (data_ / ("state-" + group)).string();
    c.task.max_batch = 200;
    return c;
  }

  uint64_t RunUntil(uint64_t records, const app::Config& cfg) {
    std::unique_ptr<app::Processor> proc;
    Status s = app::Processor::Open(cfg, bootstrap_, &proc);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return 0;
    std::atomic<bool> stop{false};
    Status run;
    std::thread t([&] { run = proc->Run(stop); });
    WaitFor([&] { return proc->metrics().records_in.load() >= records; }, std::chrono::seconds(90));
    stop = true;
    t.join();
    EXPECT_TRUE(run.ok()) << run.ToString();
    const uint64_t got = proc->metrics().records_in.load();
    proc->Close();
    return got;
  }

  testing::RealBroker broker_;
  fs::path data_;
  std::string bootstrap_;
};

TEST_F(RealKafkaTest, EveryEventYieldsOneListAndARestartResumesWhereItStopped) {
  app::GeneratorOptions g;
  g.users = 200;
  app::Generator gen(g);
  std::vector<std::pair<std::string, std::optional<std::string>>> first, second;
  for (int i = 0; i < 1500; ++i) {
    auto e = gen.Next();
    (i < 1000 ? first : second).emplace_back(e.user_id, e.ToJson());
  }
  ASSERT_TRUE(ProduceAll(bootstrap_, "events", first));
  const app::Config cfg = Config("real");
  EXPECT_EQ(RunUntil(1000, cfg), 1000u);
  ASSERT_TRUE(ProduceAll(bootstrap_, "events", second));
  // The same group and state: resumes after the 1000 already applied.
  EXPECT_EQ(RunUntil(500, cfg), 500u);
  const auto lists = ConsumeAll(bootstrap_, "recommendations", 4, 1501, std::chrono::seconds(20));
  EXPECT_EQ(lists.size(), 1500u);
}

}  // namespace
}  // namespace recstream
