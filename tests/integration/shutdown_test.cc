// `recstream run` as an operator runs it: a separate process against a
// broker, stopped with SIGTERM or SIGINT. It must finish the batch,
// checkpoint, flush, commit and exit 0 — and what it leaves in RocksDB must
// be consistent: the stored offsets count exactly the events applied.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/generator.h"
#include "model/user_state.h"
#include "state/db.h"
#include "state/model_codec.h"
#include "stream/embedded_broker.h"
#include "tests/integration/kafka_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::ConsumeAll;
using testing::ProduceAll;
using Messages = std::vector<std::pair<std::string, std::optional<std::string>>>;
constexpr int kPartitions = 4;

class ShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start().ok());
    for (const char* t : {"events", "items", "recommendations", "events.dlq"})
      ASSERT_TRUE(broker_.CreateTopic(t, kPartitions).ok());
    dir_ = fs::path(::testing::TempDir()) / ("recstream-shutdown-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  void Produce(size_t n) {
    app::GeneratorOptions g;
    g.users = 300;
    app::Generator gen(g);
    Messages msgs;
    for (size_t i = 0; i < n; ++i) {
      auto e = gen.Next();
      msgs.emplace_back(e.user_id, e.ToJson());
    }
    ASSERT_TRUE(ProduceAll(broker_.bootstrap(), "events", msgs));
  }

  void Start() {
    const std::vector<std::string> args = {
        RECSTREAM_BINARY, "run", "--set", "kafka.brokers=" + broker_.bootstrap(),
        "--set", "state.dir=" + (dir_ / "state").string(),
        // Small batches: a signal lands in the middle of the stream.
        "--set", "processing.batch_max_events=100",
        "--set", "processing.shutdown_timeout_s=20",
        "--set", "log.level=warn"};
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }

  // Sends sig and waits (at most `limit`) for the exit; returns the exit
  // status, or -1 when the process did not exit normally in time.
  int StopWith(int sig, std::chrono::seconds limit, double* seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    ::kill(pid_, sig);
    int status = 0;
    while (std::chrono::steady_clock::now() - t0 < limit) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  // Events the stored offsets say were consumed, and events the stored user
  // states say were applied.
  void StoredCounts(int64_t* offsets, uint64_t* applied) {
    state::StateOptions so;
    so.dir = (dir_ / "state").string();
    std::unique_ptr<state::StateDb> db;
    ASSERT_TRUE(state::StateDb::Open(so, &db).ok());
    state::OffsetMap m;
    ASSERT_TRUE(db->LoadOffsets(&m).ok());
    *offsets = 0;
    for (const auto& [tp, next] : m)
      if (tp.first == "events") *offsets += next;
    *applied = 0;
    ASSERT_TRUE(db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
                    model::UserState u;
                    EXPECT_TRUE(state::DecodeUser(v.ToStringView(), u));
                    *applied += u.events;
                    return true;
                  }).ok());
  }

  stream::EmbeddedBroker broker_;
  fs::path dir_;
  pid_t pid_ = -1;
};

TEST_F(ShutdownTest, SigtermAfterCatchingUpExitsZeroWithEverythingCheckpointed) {
  Produce(2000);
  Start();
  const auto lists = ConsumeAll(broker_.bootstrap(), "recommendations", kPartitions, 2000, std::chrono::seconds(60));
  ASSERT_EQ(lists.size(), 2000u);
  double secs = 0;
  EXPECT_EQ(StopWith(SIGTERM, std::chrono::seconds(30), &secs), 0);
  std::printf("[ shutdown ] SIGTERM to exit: %.2f s\n", secs);
  int64_t offsets = 0;
  uint64_t applied = 0;
  StoredCounts(&offsets, &applied);
  EXPECT_EQ(offsets, 2000);
  EXPECT_EQ(applied, 2000u);
}

TEST_F(ShutdownTest, SigintMidStreamLeavesStateAndOffsetsConsistent) {
  Produce(30000);
  Start();
  // Wait until some lists are out, then interrupt while input remains.
  ASSERT_GE(ConsumeAll(broker_.bootstrap(), "recommendations", kPartitions, 500, std::chrono::seconds(60)).size(),
            500u);
  double secs = 0;
  EXPECT_EQ(StopWith(SIGINT, std::chrono::seconds(30), &secs), 0);
  int64_t offsets = 0;
  uint64_t applied = 0;
  StoredCounts(&offsets, &applied);
  std::printf("[ shutdown ] SIGINT after %lld of 30000 events, exit in %.2f s\n", static_cast<long long>(offsets),
              secs);
  EXPECT_GE(offsets, 500);
  EXPECT_EQ(applied, static_cast<uint64_t>(offsets)) << "state and offsets disagree";
  // Every list of an applied event was delivered before its checkpoint.
  EXPECT_GE(ConsumeAll(broker_.bootstrap(), "recommendations", kPartitions, static_cast<size_t>(offsets),
                       std::chrono::seconds(20))
                .size(),
            static_cast<size_t>(offsets));
}

}  // namespace
}  // namespace recstream
