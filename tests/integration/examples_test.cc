// examples/ as a user runs them: the Python producer (confluent-kafka)
// writes events to a broker, the real `recstream run` processes them, and
// the Python consumer reads the recommendations topic. Every produced event
// must come back as a list triggered by it. The broker is the embedded one
// (librdkafka's mock cluster, in this process), which speaks the real Kafka
// protocol to the Python client over TCP.
//
// Skipped, saying why, when python3 or its confluent_kafka module (Debian's
// python3-confluent-kafka) is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "stream/embedded_broker.h"
#include "tests/integration/subprocess_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FindExecutable;
using testing::RunProcess;

constexpr int kPartitions = 4;

// A python3 that can import confluent_kafka: Debian's first (the package
// installs into the system interpreter), then whatever PATH offers. Sets
// *why when there is none.
std::string FindPython(std::string* why) {
  bool any = false;
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    const std::string py = FindExecutable(candidate);
    if (py.empty()) continue;
    any = true;
    if (RunProcess({py, "-c", "import confluent_kafka"}, 30s).exit_code == 0) return py;
  }
  *why = any ? "python3 lacks the confluent_kafka module (Debian package python3-confluent-kafka; "
               "scripts/setup.sh installs it)"
             : "python3 not found";
  return "";
}

struct ShownList {
  std::string user, event_id, items;
};

// Parses the consumer's lines: "user U | trigger E TYPE ITEM in CAT | ITEMS".
std::vector<ShownList> ParseLists(const std::string& out) {
  std::vector<ShownList> lists;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(" | trigger ");
    const size_t b = line.find(" | ", a + 1);
    if (line.rfind("user ", 0) != 0 || a == std::string::npos || b == std::string::npos) continue;
    ShownList l;
    l.user = line.substr(5, a - 5);
    const std::string trigger = line.substr(a + 11, b - a - 11);
    l.event_id = trigger.substr(0, trigger.find(' '));
    l.items = line.substr(b + 3);
    lists.push_back(l);
  }
  return lists;
}

class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = FindPython(&why_);
    if (python_.empty()) return;
    ASSERT_TRUE(broker_.Start().ok());
    for (const char* t : {"events", "items", "recommendations", "events.dlq"})
      ASSERT_TRUE(broker_.CreateTopic(t, kPartitions).ok());
    dir_ = fs::path(::testing::TempDir()) / ("recstream-examples-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (processor_ > 0) {
      ::kill(processor_, SIGKILL);
      testing::WaitProcess(processor_, 10s);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Example(const char* name) const { return (fs::path(RECSTREAM_SOURCE_DIR) / "examples" / name).string(); }

  void StartProcessor() {
    processor_ = testing::StartProcess({RECSTREAM_BINARY, "run", "--set", "kafka.brokers=" + broker_.bootstrap(),
                                        "--set", "state.dir=" + (dir_ / "state").string(), "--set", "log.level=warn"});
    ASSERT_GT(processor_, 0);
  }

  // Reads `expected` lists with the Python consumer, then stops the
  // processor (it must exit 0 on SIGTERM).
  std::vector<ShownList> ConsumeLists(size_t expected) {
    const auto r = RunProcess({python_, Example("consumer.py"), "--bootstrap", broker_.bootstrap(), "--max",
                               std::to_string(expected), "--timeout", "90"},
                              120s);
    EXPECT_EQ(r.exit_code, 0);
    ::kill(processor_, SIGTERM);
    EXPECT_EQ(testing::WaitProcess(processor_, 40s), 0);
    processor_ = -1;
    return ParseLists(r.out);
  }

  std::string python_, why_;
  stream::EmbeddedBroker broker_;
  fs::path dir_;
  pid_t processor_ = -1;
};

TEST_F(ExamplesTest, GeneratedEventsThroughThePythonProducerComeBackAsListsToThePythonConsumer) {
  if (python_.empty()) GTEST_SKIP() << why_;
  // `recstream gen | producer.py`, with a line no producer can key mixed in.
  const fs::path events = dir_ / "events.jsonl";
  constexpr int kEvents = 300;
  ASSERT_EQ(RunProcess({RECSTREAM_BINARY, "gen", "-n", std::to_string(kEvents), "--users", "30", "--seed", "3", "-o",
                        events.string()},
                       60s)
                .exit_code,
            0);
  std::map<std::string, std::string> user_of;  // event_id -> user_id, from the file
  {
    std::ifstream in(events);
    std::string line;
    while (std::getline(in, line)) {
      auto field = [&](const std::string& key) {
        const size_t at = line.find("\"" + key + "\":\"") + key.size() + 4;
        return line.substr(at, line.find('"', at) - at);
      };
      user_of[field("event_id")] = field("user_id");
    }
  }
  ASSERT_EQ(user_of.size(), static_cast<size_t>(kEvents));
  std::ofstream(events, std::ios::app) << "this is not an event\n";

  const auto produced = RunProcess({python_, Example("producer.py"), "--bootstrap", broker_.bootstrap()}, 60s,
                                   events.string());
  ASSERT_EQ(produced.exit_code, 0);
  StartProcessor();
  const auto lists = ConsumeLists(kEvents);

  ASSERT_EQ(lists.size(), static_cast<size_t>(kEvents));
  std::map<std::string, const ShownList*> by_event;
  for (const auto& l : lists) by_event[l.event_id] = &l;
  for (const auto& [event_id, user] : user_of) {
    auto it = by_event.find(event_id);
    ASSERT_NE(it, by_event.end()) << "no list triggered by " << event_id;
    EXPECT_EQ(it->second->user, user) << event_id;
  }
  // Past the cold start, lists carry items.
  size_t non_empty = 0;
  for (const auto& l : lists) non_empty += l.items != "(empty)";
  EXPECT_GT(non_empty, lists.size() / 2);
}

TEST_F(ExamplesTest, ThePythonProducerCanGenerateItsOwnShop) {
  if (python_.empty()) GTEST_SKIP() << why_;
  constexpr int kEvents = 200;
  const auto produced = RunProcess({python_, Example("producer.py"), "--bootstrap", broker_.bootstrap(),
                                    "--generate", std::to_string(kEvents)},
                                   60s);
  ASSERT_EQ(produced.exit_code, 0);
  StartProcessor();
  const auto lists = ConsumeLists(kEvents);
  ASSERT_EQ(lists.size(), static_cast<size_t>(kEvents));
  std::map<std::string, int> seen;
  for (const auto& l : lists) seen[l.event_id]++;
  for (int i = 0; i < kEvents; ++i) EXPECT_EQ(seen["py" + std::to_string(i)], 1) << "py" << i;
}

}  // namespace
}  // namespace recstream
