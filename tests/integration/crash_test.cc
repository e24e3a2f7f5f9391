// Crash safety on a real Apache Kafka broker: the processor (the real
// binary) is killed with SIGKILL at random points while it works through a
// generated stream, restarted each time, and finally compared with an
// uninterrupted run of the same stream: every user's state must be
// identical and every user's latest list the same, so no event was applied
// twice and none was skipped.
//
// One input partition: with several, the interleaving of partitions (and so
// the shared item model) differs from run to run even without crashes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/generator.h"
#include "operators/pipeline.h"
#include "state/db.h"
#include "state/model_codec.h"
#include "tests/integration/kafka_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::ProduceAll;
using testing::WaitFor;

// A consumer outside any group, for watermarks, committed offsets and reads.
class Reader {
 public:
  Reader(const std::string& bootstrap, const std::string& group) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", group, err);
    conf->set("enable.auto.commit", "false", err);
    c_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  }
  ~Reader() {
    if (c_) c_->close();
  }
  int64_t High(const std::string& topic, int32_t partition) {
    int64_t lo = 0, hi = -1;
    if (c_->query_watermark_offsets(topic, partition, &lo, &hi, 5000) != RdKafka::ERR_NO_ERROR) return -1;
    return hi;
  }
  // The group's committed offset of topic[partition] (-1 when none).
  int64_t Committed(const std::string& topic, int32_t partition) {
    std::vector<RdKafka::TopicPartition*> tp{RdKafka::TopicPartition::create(topic, partition)};
    int64_t off = -1;
    if (c_->committed(tp, 5000) == RdKafka::ERR_NO_ERROR && tp[0]->err() == RdKafka::ERR_NO_ERROR)
      off = tp[0]->offset();
    RdKafka::TopicPartition::destroy(tp);
    return off;
  }
  // Every message of topic (all partitions), up to the high watermarks.
  std::vector<testing::Message> ReadAll(const std::string& topic, int partitions) {
    std::vector<testing::Message> out;
    std::vector<RdKafka::TopicPartition*> parts;
    int64_t left = 0;
    for (int p = 0; p < partitions; ++p) {
      parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
      left += std::max<int64_t>(0, High(topic, p));
    }
    c_->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (static_cast<int64_t>(out.size()) < left && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(c_->consume(100));
      if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
      testing::Message msg;
      if (m->key()) msg.key = *m->key();
      if (m->payload()) msg.value = std::string(static_cast<const char*>(m->payload()), m->len());
      msg.partition = m->partition();
      msg.offset = m->offset();
      out.push_back(std::move(msg));
    }
    c_->unassign();
    return out;
  }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> c_;
};

class CollectingSink final : public stream::RecordSink {
 public:
  Status Produce(std::string_view, std::string_view key, std::optional<std::string_view> value,
                 std::span<const stream::Header>) override {
    if (value) last[std::string(key)] = std::string(*value);
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  std::map<std::string, std::string> last;  // user -> latest list
};

// The list without its wall-clock field.
std::string Stable(const std::string& json) {
  static constexpr std::string_view kField = "\"generated_ts\":";
  const size_t at = json.find(kField);
  if (at == std::string::npos) return json;
  size_t end = at + kField.size();
  while (end < json.size() && json[end] != ',') ++end;
  return json.substr(0, at) + json.substr(std::min(json.size(), end + 1));
}

TEST(CrashTest, KilledAndRestartedProcessorEndsExactlyWhereAnUninterruptedOneDoes) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("recstream-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  struct RemoveDir {
    fs::path dir;
    ~RemoveDir() { fs::remove_all(dir); }
  } remove_dir{dir};
  testing::RealBroker broker;  // declared after remove_dir: stopped first
  const int rc = broker.Start(testing::kCrashTestPorts, (dir / "kafka").string());
  if (rc == 3) GTEST_SKIP() << "no Java or Maven on this machine: the real-broker tests need both";
  ASSERT_EQ(rc, 0) << "scripts/kafka.sh start failed";
  const std::string bootstrap = broker.bootstrap();
  ASSERT_TRUE(broker.CreateTopic("events", 1));

  constexpr size_t kEvents = 80000;
  app::GeneratorOptions g;
  g.seed = 2026;
  g.users = 500;
  g.items = 5000;
  g.categories = 20;
  app::Generator gen(g);
  std::vector<std::pair<std::string, std::optional<std::string>>> msgs;
  for (size_t i = 0; i < kEvents; ++i) {
    auto e = gen.Next();
    msgs.emplace_back(e.user_id, e.ToJson());
  }
  ASSERT_TRUE(ProduceAll(bootstrap, "events", msgs));

  const std::string state_dir = (dir / "state").string();
  pid_t pid = -1;
  auto start = [&] {
    const std::vector<std::string> args = {
        RECSTREAM_BINARY, "run", "--set", "kafka.brokers=" + bootstrap, "--set", "kafka.group_id=crash",
        "--set", "state.dir=" + state_dir, "--set", "topics.items=",
        "--set", "processing.batch_max_events=250", "--set", "log.level=warn",
        // A killed member's session must end before the next one gets the
        // partition; 6 s is the broker's minimum.
        "--set", "kafka.consumer.session.timeout.ms=6000",
        "--set", "kafka.consumer.heartbeat.interval.ms=1000"};
    pid = ::fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  };
  Reader reader(bootstrap, "crash");  // same group id: reads its committed offsets
  std::mt19937_64 rng(static_cast<uint64_t>(::getpid()));
  int kills = 0;
  for (; kills < 5; ++kills) {
    start();
    ASSERT_GT(pid, 0);
    // Let it publish at least 300 more lists, then kill it a random moment later.
    const int64_t from = std::max<int64_t>(0, reader.High("recommendations", 0)) + [&] {
      int64_t s = 0;
      for (int p = 1; p < 4; ++p) s += std::max<int64_t>(0, reader.High("recommendations", p));
      return s;
    }();
    auto total_high = [&] {
      int64_t s = 0;
      for (int p = 0; p < 4; ++p) s += std::max<int64_t>(0, reader.High("recommendations", p));
      return s;
    };
    ASSERT_TRUE(WaitFor([&] { return total_high() >= from + 300; }, std::chrono::seconds(90)))
        << "no progress before kill " << kills + 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
    if (reader.Committed("events", 0) >= static_cast<int64_t>(kEvents)) break;  // finished before the kill
  }
  // Final run: until the group has committed the whole input, then stop it.
  start();
  ASSERT_TRUE(WaitFor([&] { return reader.Committed("events", 0) >= static_cast<int64_t>(kEvents); },
                      std::chrono::seconds(120)));
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // The uninterrupted run: the same events, in order, in memory.
  operators::PipelineOptions opt;
  opt.topics.items = "";
  std::unique_ptr<operators::Pipeline> ref;
  ASSERT_TRUE(operators::Pipeline::Create(opt, nullptr, &ref).ok());
  CollectingSink ref_sink;
  for (size_t b = 0; b < kEvents; b += 250) {
    std::vector<stream::Record> batch;
    for (size_t i = b; i < std::min(kEvents, b + 250); ++i) {
      stream::Record r;
      r.topic = "events";
      r.offset = static_cast<int64_t>(i);
      r.key = msgs[i].first;
      r.value = *msgs[i].second;
      batch.push_back(r);
    }
    ASSERT_TRUE(ref->Process(batch, ref_sink).ok());
    ASSERT_TRUE(ref->Checkpoint({{"events", 0, static_cast<int64_t>(std::min(kEvents, b + 250))}}).ok());
  }

  // Per-user state, byte for byte.
  state::StateOptions so;
  so.dir = state_dir;
  std::unique_ptr<state::StateDb> db;
  ASSERT_TRUE(state::StateDb::Open(so, &db).ok());
  size_t users = 0, state_differ = 0;
  uint64_t applied = 0;
  std::string mine;
  // Every user of the uninterrupted run, looked up by its row key; and no
  // other rows.
  std::string row;
  ref->users().ForEachCached([&](int32_t partition, std::string_view user, const model::UserState& u) {
    state::EncodeUser(u, mine);
    auto s = db->Get(state::Cf::kUsers, db->user_keys().Key(partition, user), &row);
    EXPECT_TRUE(s.ok()) << user << ": " << s.ToString();
    model::UserState stored;
    EXPECT_TRUE(state::DecodeUser(row, stored));
    applied += stored.events;
    state_differ += mine != row;
    ++users;
  });
  size_t rows = 0;
  ASSERT_TRUE(db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice&, const rocksdb::Slice&) {
                  ++rows;
                  return true;
                }).ok());
  EXPECT_EQ(rows, users) << "rows of users the uninterrupted run does not have";
  // The latest list of every user on the output topic.
  std::map<std::string, std::string> latest;
  size_t lists_total = 0;
  for (auto& m : reader.ReadAll("recommendations", 4))
    if (m.value) {
      latest[m.key] = *m.value;
      ++lists_total;
    }
  size_t list_differ = 0;
  for (const auto& [user, json] : ref_sink.last) {
    auto it = latest.find(user);
    list_differ += it == latest.end() || Stable(it->second) != Stable(json);
  }
  std::printf("[ crash ] kills %d, events %zu, lists on the output topic %zu (repeats after crashes included), "
              "users compared %zu, state differences %zu, list differences %zu, events applied %llu\n",
              kills, kEvents, lists_total, users, state_differ, list_differ,
              static_cast<unsigned long long>(applied));
  EXPECT_GE(kills, 5);
  EXPECT_EQ(users, ref_sink.last.size());
  EXPECT_EQ(state_differ, 0u);
  EXPECT_EQ(list_differ, 0u);
  EXPECT_EQ(applied, kEvents) << "an event was applied twice or skipped";
  EXPECT_GE(lists_total, kEvents) << "an event's list was lost (output is at least once)";
}

}  // namespace
}  // namespace recstream
