// The admin HTTP server in front of a real processor (embedded broker,
// RocksDB on disk), spoken to over raw TCP sockets: the good endpoints
// against what the output topic holds, and a barrage of malformed, oversized,
// slow and random requests that must each get a 4xx (or a closed connection)
// while the server and the pipeline carry on.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "app/admin_server.h"
#include "app/config.h"
#include "app/generator.h"
#include "app/processor.h"
#include "stream/embedded_broker.h"
#include "tests/integration/kafka_util.h"
#include "tests/integration/subprocess_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ConsumeAll;
using testing::ProduceAll;
using testing::WaitFor;
using Messages = std::vector<std::pair<std::string, std::optional<std::string>>>;

constexpr int kPartitions = 4;

// ------------------------------------------------------------ raw sockets

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;  // the server may close early (e.g. after a 431): fine
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the peer closes or `timeout` passes; *closed tells which.
std::string ReadUntilClose(int fd, std::chrono::milliseconds timeout, bool* closed = nullptr) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (closed) *closed = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {  // EOF, or a reset after the server closed with unread input
      if (closed) *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Sends raw bytes, half-closes (so a keep-alive server sees the end) and
// returns everything the server answered.
std::string Exchange(uint16_t port, std::string_view request, std::chrono::milliseconds timeout = 10s) {
  const int fd = Connect(port);
  if (fd < 0) return "connect failed";
  SendAll(fd, request);
  ::shutdown(fd, SHUT_WR);
  std::string out = ReadUntilClose(fd, timeout);
  ::close(fd);
  return out;
}

// Status codes of every response in a (possibly pipelined) answer.
std::vector<int> Statuses(const std::string& answer) {
  std::vector<int> out;
  static const std::regex status_line("HTTP/1\\.1 (\\d{3}) ");
  for (std::sregex_iterator it(answer.begin(), answer.end(), status_line), end; it != end; ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

struct Response {
  int status = 0;
  std::string head, body;
};

Response Get(uint16_t port, const std::string& target) {
  const std::string answer =
      Exchange(port, "GET " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  Response r;
  const auto st = Statuses(answer);
  if (st.size() == 1) r.status = st[0];
  const size_t split = answer.find("\r\n\r\n");
  if (split != std::string::npos) {
    r.head = answer.substr(0, split);
    r.body = answer.substr(split + 4);
  }
  return r;
}

std::string PercentEncodeAll(std::string_view s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%%%02X", c);
    out += buf;
  }
  return out;
}

// ------------------------------------------------- Prometheus text parsing

// Parses the text exposition format line by line; fails the test on any
// line that is not a HELP, a TYPE or a well-formed sample of a declared
// family, or on a family whose samples are not contiguous. Returns
// "name{labels}" -> value.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::map<std::string, std::string> types;
  std::set<std::string> helps, finished;
  std::string current;
  static const std::regex help_re("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");
  static const std::regex type_re("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
  static const std::regex sample_re(
      "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\""
      "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\")*\\})? (\\S+)");
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the exposition ends with a line feed";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    std::smatch m;
    if (std::regex_match(line, m, help_re)) {
      EXPECT_TRUE(helps.insert(m[1]).second) << "second HELP for " << m[1];
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      EXPECT_FALSE(types.count(m[1])) << "second TYPE for " << m[1];
      EXPECT_TRUE(helps.count(m[1])) << "TYPE before HELP for " << m[1];
      types[m[1]] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "not a Prometheus line: '" << line << "'";
      continue;
    }
    const std::string name = m[1], labels = m[2], value = m[3];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (!types.count(family) && name.size() > sfx.size() && name.ends_with(sfx) &&
          types.count(name.substr(0, name.size() - sfx.size())) &&
          types[name.substr(0, name.size() - sfx.size())] == "histogram")
        family = name.substr(0, name.size() - sfx.size());
    }
    EXPECT_TRUE(types.count(family)) << "sample without a TYPE: " << line;
    if (family != current) {
      EXPECT_FALSE(finished.count(family)) << "samples of " << family << " are not contiguous";
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    double v = 0;
    if (value == "+Inf") v = INFINITY;
    else if (value == "-Inf") v = -INFINITY;
    else if (value == "NaN") v = NAN;
    else {
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      EXPECT_EQ(*end, '\0') << "bad value in '" << line << "'";
    }
    EXPECT_FALSE(out.count(name + labels)) << "duplicate sample " << name << labels;
    out[name + labels] = v;
  }
  return out;
}

// ------------------------------------------------------------------ fixture

class AdminHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start().ok());
    config_.embedded_partitions = kPartitions;
    const auto& t = config_.pipeline.topics;
    for (const auto& name : {t.events, t.items, t.recommendations, t.dead_letters})
      ASSERT_TRUE(broker_.CreateTopic(name, kPartitions).ok());
    dir_ = fs::path(::testing::TempDir()) /
           ("recstream-admin-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    config_.state.dir = (dir_ / "state").string();
    config_.kafka.brokers = broker_.bootstrap();
    config_.task.max_batch = 100;
    config_.kafka.consumer["session.timeout.ms"] = "3000";
    config_.kafka.consumer["heartbeat.interval.ms"] = "500";
    config_.admin.port = 0;  // any free port
    config_.admin.request_timeout = 1000ms;
    config_.admin.max_connections = 16;
  }
  void TearDown() override {
    StopProcessor();
    fs::remove_all(dir_);
  }

  // Opens the processor and its admin server; the task loop is not running yet.
  void OpenProcessor() {
    Status s = app::Processor::Open(config_, broker_.bootstrap(), &proc_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = app::AdminServer::Start(config_.admin, *proc_, &admin_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    port_ = admin_->port();
  }
  void RunProcessor() {
    thread_ = std::thread([this] { run_status_ = proc_->Run(stop_); });
  }
  void StopProcessor() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
    if (admin_) admin_->Stop();
    if (proc_) proc_->Close();
    admin_.reset();
    proc_.reset();
  }

  static Messages Generated(uint64_t n, uint64_t seed, std::vector<app::GeneratedEvent>* events = nullptr) {
    app::GeneratorOptions g;
    g.seed = seed;
    g.users = 100;
    g.items = 1000;
    g.categories = 10;
    app::Generator gen(g);
    Messages out;
    for (uint64_t i = 0; i < n; ++i) {
      auto e = gen.Next();
      e.event_id = "s" + std::to_string(seed) + "-" + e.event_id;
      out.emplace_back(e.user_id, e.ToJson());
      if (events) events->push_back(e);
    }
    return out;
  }

  // The last message per key on the recommendations topic (one user = one partition: the highest offset).
  std::map<std::string, std::string> LastLists(size_t expected) {
    const auto lists = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions, expected);
    EXPECT_EQ(lists.size(), expected);
    std::map<std::string, std::pair<int64_t, std::string>> last;
    for (const auto& m : lists) {
      if (!m.value) continue;
      auto& l = last[m.key];
      if (l.second.empty() || m.offset > l.first) l = {m.offset, *m.value};
    }
    std::map<std::string, std::string> out;
    for (auto& [k, v] : last) out[k] = v.second;
    return out;
  }

  stream::EmbeddedBroker broker_;
  app::Config config_;
  fs::path dir_;
  std::unique_ptr<app::Processor> proc_;
  std::unique_ptr<app::AdminServer> admin_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Status run_status_;
};

TEST(AdminHelpers, PercentDecode) {
  std::string out;
  EXPECT_TRUE(app::PercentDecode("u%2F1%20x+y", out));
  EXPECT_EQ(out, "u/1 x+y");
  EXPECT_TRUE(app::PercentDecode("%e2%82%ac", out));
  EXPECT_EQ(out, "\xe2\x82\xac");
  for (const char* bad : {"%", "%4", "%zz", "a%g0", "%%"}) EXPECT_FALSE(app::PercentDecode(bad, out)) << bad;
}

TEST_F(AdminHttpTest, EndpointsAgreeWithTheOutputTopicAndReadinessFollowsAssignment) {
  OpenProcessor();
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
  EXPECT_EQ(Get(port_, "/readyz").status, 503) << "no partition assignment before the task loop polls";

  std::vector<app::GeneratedEvent> events;
  Messages msgs = Generated(600, 7, &events);
  msgs.emplace_back("junk", "not json");
  msgs.emplace_back("junk", "{\"user_id\":");
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, msgs));
  RunProcessor();
  ASSERT_TRUE(WaitFor([&] { return Get(port_, "/readyz").status == 200; }, 60s));
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= msgs.size(); }, 60s));

  // Every user's list as served equals the newest message for that user on the
  // output topic, byte for byte.
  const auto last = LastLists(600);
  ASSERT_FALSE(last.empty());
  size_t checked = 0;
  for (const auto& [user, json] : last) {
    const Response r = Get(port_, "/v1/users/" + (checked % 2 ? PercentEncodeAll(user) : user) + "/recommendations");
    EXPECT_EQ(r.status, 200) << user;
    EXPECT_NE(r.head.find("Content-Type: application/json"), std::string::npos);
    EXPECT_EQ(r.body, json) << user;
    ++checked;
  }
  EXPECT_EQ(checked, last.size());
  EXPECT_EQ(Get(port_, "/v1/users/nobody-ever/recommendations").status, 404);
  EXPECT_EQ(Get(port_, "/v1/users/nobody-ever/state").status, 404);

  // The state of one user: its event count and newest event.
  std::map<std::string, std::vector<const app::GeneratedEvent*>> by_user;
  for (const auto& e : events) by_user[e.user_id].push_back(&e);
  const auto& [user, evs] = *by_user.begin();
  const Response st = Get(port_, "/v1/users/" + user + "/state");
  ASSERT_EQ(st.status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(st.body).get(doc), simdjson::SUCCESS) << st.body;
  int64_t n = 0;
  ASSERT_EQ(doc["events"].get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, static_cast<int64_t>(evs.size()));
  simdjson::dom::array recent;
  ASSERT_EQ(doc["recent"].get(recent), simdjson::SUCCESS);
  ASSERT_GT(recent.size(), 0u);
  std::string_view newest_item;
  ASSERT_EQ(recent.at(recent.size() - 1)["item_id"].get(newest_item), simdjson::SUCCESS);
  EXPECT_EQ(newest_item, evs.back()->item_id);

  // Metrics: well-formed text, and the numbers of this run.
  std::map<std::string, double> m;
  // Lag comes from the watermarks of librdkafka's next fetch response: wait for them.
  ASSERT_TRUE(WaitFor(
      [&] {
        m = ParseMetrics(Get(port_, "/metrics").body);
        int lag_samples = 0;
        double lag = 0;
        for (const auto& [k, v] : m)
          if (k.starts_with("recstream_consumer_lag{topic=\"events\"")) ++lag_samples, lag += v;
        return lag_samples == kPartitions && lag == 0;
      },
      30s))
      << "every events partition reports a lag of 0 once everything is checkpointed";
  EXPECT_EQ(m["recstream_records_in_total{topic=\"events\"}"], static_cast<double>(msgs.size()));
  EXPECT_EQ(m["recstream_records_in_total{topic=\"items\"}"], 0);
  EXPECT_EQ(m["recstream_records_out_total{topic=\"recommendations\"}"], 600);
  EXPECT_EQ(m["recstream_records_out_total{topic=\"events.dlq\"}"], 2);
  EXPECT_EQ(m["recstream_dead_letters_total{reason=\"invalid_json\"}"], 2);
  EXPECT_EQ(m["recstream_dead_letters_total{reason=\"duplicate\"}"], 0);
  EXPECT_EQ(m["recstream_lists_published_total"], 600);
  EXPECT_EQ(m["recstream_events_applied_total"], 600);
  EXPECT_EQ(m["recstream_ready"], 1);
  EXPECT_EQ(m["recstream_assigned_partitions"], kPartitions) << "the events; the catalog is read outside the group";
  EXPECT_EQ(m["recstream_catalog_caught_up"], 1);
  EXPECT_GE(m["recstream_model_version"], 600);
  EXPECT_GT(m["recstream_state_keys{cf=\"users\"}"], 0);
  EXPECT_GT(m["recstream_user_cache_hits_total"] + m["recstream_user_cache_misses_total"], 0);
  EXPECT_GE(m["recstream_user_cache_hit_ratio"], 0);
  EXPECT_LE(m["recstream_user_cache_hit_ratio"], 1);
  // The histogram: cumulative buckets, +Inf equal to the count, one
  // observation per round that handled records.
  const double count = m["recstream_batch_duration_seconds_count"];
  EXPECT_GE(count, 602.0 / config_.task.max_batch);
  EXPECT_EQ(count, static_cast<double>(proc_->batch_latency().count()));
  EXPECT_EQ(m["recstream_batch_duration_seconds_bucket{le=\"+Inf\"}"], count);
  double prev = 0;
  for (double le : app::LatencyHistogram::kBounds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", le);
    const std::string key = std::string("recstream_batch_duration_seconds_bucket{le=\"") + buf + "\"}";
    ASSERT_TRUE(m.count(key)) << key;
    EXPECT_GE(m[key], prev);
    prev = m[key];
  }
  EXPECT_GT(m["recstream_batch_duration_seconds_sum"], 0);

  // Shutdown: not ready once the task loop has stopped; alive until the end.
  stop_ = true;
  thread_.join();
  EXPECT_EQ(Get(port_, "/readyz").status, 503);
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
}

TEST_F(AdminHttpTest, AUserNoLongerKeptGetsTheListRecomputedFromStoredState) {
  config_.admin.lists_kept = 0;  // always recompute
  OpenProcessor();
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(300, 3)));
  RunProcessor();
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= 300; }, 60s));
  // One more event, the newest of all: nothing changes the model after it,
  // so a list recomputed from the stored state ranks exactly as the published one.
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events,
                         {{"fresh user/1", R"({"user_id":"fresh user/1","item_id":"i9","category_id":"c03",)"
                                           R"("type":"purchase","ts":1700000000000,"event_id":"last-one"})"}}));
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().lists_published.load() >= 301; }, 60s));
  const auto last = LastLists(301);
  ASSERT_TRUE(last.count("fresh user/1"));
  const std::string& published = last.at("fresh user/1");

  const Response r = Get(port_, "/v1/users/fresh%20user%2F1/recommendations");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser p1, p2;
  simdjson::dom::element a, b;
  ASSERT_EQ(p1.parse(published).get(a), simdjson::SUCCESS);
  ASSERT_EQ(p2.parse(r.body).get(b), simdjson::SUCCESS) << r.body;
  EXPECT_EQ(simdjson::to_string(a["items"]), simdjson::to_string(b["items"]));
  EXPECT_EQ(simdjson::to_string(a["user_id"]), simdjson::to_string(b["user_id"]));
  EXPECT_EQ(simdjson::to_string(a["model_version"]), simdjson::to_string(b["model_version"]));
  for (const char* f : {"item_id", "category_id", "type", "ts"})
    EXPECT_EQ(simdjson::to_string(a["trigger"][f]), simdjson::to_string(b["trigger"][f])) << f;
  EXPECT_EQ(b["trigger"]["event_id"].error(), simdjson::NO_SUCH_FIELD) << "the event id is not kept in state";
  EXPECT_NE(simdjson::to_string(b["items"]), "[]");
}

TEST_F(AdminHttpTest, TheLastListsKeptAreTheMostRecentlyPublishedOnesByteForByte) {
  // 300 lists of 100 users cycle a 5-entry cache many times over (its
  // entries are reused in place once full); then 5 fresh users, one at a
  // time, are the 5 most recently published.
  config_.admin.lists_kept = 5;
  OpenProcessor();
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(300, 4)));
  RunProcessor();
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().lists_published.load() >= 300; }, 60s));
  std::vector<std::string> fresh;
  for (int i = 0; i < 5; ++i) {
    fresh.push_back("fresh-" + std::to_string(i));
    const std::string json = R"({"user_id":")" + fresh.back() + R"(","item_id":"i9","category_id":"c03",)" +
                             R"("type":"purchase","ts":1700000000000,"event_id":"f)" + std::to_string(i) + R"("})";
    ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, {{fresh.back(), json}}));
    ASSERT_TRUE(WaitFor([&] { return proc_->metrics().lists_published.load() >= 301u + i; }, 60s));
  }
  const auto last = LastLists(305);
  for (const auto& user : fresh) {
    ASSERT_TRUE(last.count(user)) << user;
    const Response r = Get(port_, "/v1/users/" + user + "/recommendations");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, last.at(user)) << user << ": not the published list";
  }
  // A user of the first 300 fell out of the cache: recomputed, so the
  // trigger has no event_id (state does not keep it).
  const std::string old_user = Generated(1, 4).front().first;
  const Response r = Get(port_, "/v1/users/" + old_user + "/recommendations");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(last.count(old_user));
  EXPECT_NE(r.body, last.at(old_user));
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
  EXPECT_EQ(doc["trigger"]["event_id"].error(), simdjson::NO_SUCH_FIELD);
  std::string_view user_id;
  ASSERT_EQ(doc["user_id"].get(user_id), simdjson::SUCCESS);
  EXPECT_EQ(user_id, old_user);
}

// A broker outage holds the processing loop in its checkpoint (awaiting the
// outputs' delivery, up to processing.delivery_timeout_ms). The admin server
// must not wait with it: /metrics and /healthz answer at once from what the
// loop last published, and a user lookup answers 503 after kAdminStateWait
// instead of hanging. Two brokers: the events (and the group) on broker 1,
// the lists on broker 2, which goes down.
TEST_F(AdminHttpTest, ABrokerOutageHoldingTheProcessingLoopDoesNotHoldTheAdminServer) {
  stream::EmbeddedBroker two;
  ASSERT_TRUE(two.Start(2).ok());
  const auto& t = config_.pipeline.topics;
  for (const auto& name : {t.events, t.items, t.recommendations, t.dead_letters})
    ASSERT_TRUE(two.CreateTopic(name, kPartitions).ok());
  for (int p = 0; p < kPartitions; ++p) {
    for (const auto& name : {t.events, t.items, t.dead_letters}) ASSERT_TRUE(two.SetLeader(name, p, 1).ok());
    ASSERT_TRUE(two.SetLeader(t.recommendations, p, 2).ok());
  }
  ASSERT_TRUE(two.SetGroupCoordinator(config_.kafka.group_id, 1).ok());
  config_.kafka.brokers = two.bootstrap();
  Status s = app::Processor::Open(config_, two.bootstrap(), &proc_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(app::AdminServer::Start(config_.admin, *proc_, &admin_).ok());
  port_ = admin_->port();
  RunProcessor();
  std::vector<app::GeneratedEvent> events;
  ASSERT_TRUE(ProduceAll(two.bootstrap(), t.events, Generated(50, 7, &events)));
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().lists_published.load() >= 50; }, 60s));
  std::this_thread::sleep_for(2s);  // delivered and checkpointed (an idle input checkpoints at once)

  ASSERT_TRUE(two.SetBrokerDown(2, true).ok());
  const uint64_t before = proc_->metrics().records_in.load();
  ASSERT_TRUE(ProduceAll(two.bootstrap(), t.events, Generated(20, 8)));
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= before + 20; }, 60s));
  std::this_thread::sleep_for(500ms);  // the loop is in its checkpoint, awaiting delivery to broker 2

  auto timed = [&](const std::string& target, Response* r) {
    const auto t0 = std::chrono::steady_clock::now();
    *r = Get(port_, target);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  };
  Response r;
  const auto metrics_ms = timed("/metrics", &r);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("recstream_model_version"), std::string::npos);
  const auto health_ms = timed("/healthz", &r);
  EXPECT_EQ(r.status, 200);
  const auto user_ms = timed("/v1/users/" + events.front().user_id + "/state", &r);
  std::printf("[ admin ] loop held by an outage: /metrics %lld ms, /healthz %lld ms, /v1/users %lld ms (%d)\n",
              static_cast<long long>(metrics_ms.count()), static_cast<long long>(health_ms.count()),
              static_cast<long long>(user_ms.count()), r.status);
  // Generous bounds: each would last the outage if it waited for the loop.
  EXPECT_LT(metrics_ms.count(), 1500);
  EXPECT_LT(health_ms.count(), 1500);
  EXPECT_LT(user_ms.count(), app::kAdminStateWait.count() + 1500);
  EXPECT_EQ(r.status, 503) << "the loop was still awaiting delivery: " << r.body;

  ASSERT_TRUE(two.SetBrokerDown(2, false).ok());
  EXPECT_EQ(ConsumeAll(two.bootstrap(), t.recommendations, kPartitions, 70).size(), 70u)
      << "every list, the outage's included";
  StopProcessor();
}

// promtool, or "" (skip); in CI its absence is a failure.
std::string Promtool() {
  const std::string promtool = testing::FindExecutable("promtool");
  if (promtool.empty() && testing::InCi())
    ADD_FAILURE() << "promtool missing in CI (scripts/setup.sh installs Debian's prometheus)";
  return promtool;
}

// configs/prometheus/alerts.yml is valid, and its unit tests (which alert
// fires on which series, and which does not) pass.
TEST(PrometheusRules, AlertRulesCheckAndTheirUnitTestsPass) {
  const std::string promtool = Promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found (Debian package prometheus)";
  const std::string dir = std::string(RECSTREAM_SOURCE_DIR) + "/configs/prometheus/";
  auto r = testing::RunProcess({promtool, "check", "rules", dir + "alerts.yml"}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // promtool resolves rule_files against the test file's directory.
  r = testing::RunProcess({promtool, "test", "rules", dir + "alerts_test.yml"}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << r.out;
}

// The families an operator's dashboards expect beside recstream's own:
// the process (CPU, memory, descriptors, start time), the build, RocksDB's
// compaction debt and stalls. The whole page passes `promtool check
// metrics` (Debian's prometheus package, installed by scripts/setup.sh;
// required in CI, skipped elsewhere when absent).
TEST_F(AdminHttpTest, MetricsIncludeProcessBuildAndRocksDbFamiliesAndPassPromtool) {
  config_.kafka.consumer["statistics.interval.ms"] = "200";
  config_.kafka.producer["statistics.interval.ms"] = "200";
  OpenProcessor();
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(200, 5)));
  RunProcessor();
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= 200; }, 60s));
  // librdkafka's statistics arrive every statistics.interval.ms.
  std::string text;
  EXPECT_TRUE(WaitFor(
      [&] {
        text = Get(port_, "/metrics").body;
        return text.find("recstream_kafka_broker_up{client=\"producer\"") != std::string::npos &&
               text.find("recstream_kafka_broker_up{client=\"consumer\"") != std::string::npos &&
               text.find("recstream_kafka_producer_queue_messages ") != std::string::npos;
      },
      30s))
      << text;
  const auto m = ParseMetrics(text);
  EXPECT_GT(m.at("process_cpu_seconds_total"), 0.0);
  for (const auto& [name, v] : m) {
    if (name.rfind("recstream_kafka_broker_up{", 0) == 0) {
      EXPECT_EQ(v, 1.0) << name;
    }
    if (name.rfind("recstream_kafka_broker_rtt_avg_seconds{", 0) == 0) {
      EXPECT_GE(v, 0.0) << name;
      EXPECT_LT(v, 5.0) << name;
    }
  }
  EXPECT_GT(m.at("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(m.at("process_virtual_memory_bytes"), m.at("process_resident_memory_bytes"));
  EXPECT_GE(m.at("process_open_fds"), 3.0);
  EXPECT_GT(m.at("process_max_fds"), m.at("process_open_fds"));
  const double start = m.at("process_start_time_seconds");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(now - start, 600.0) << "started during this test, not at boot";
  EXPECT_GE(now - start, 0.0);
  EXPECT_NE(text.find("recstream_build_info{version=\"0.1.0\",commit=\""), std::string::npos);
  // Every list of the test's events had a record with a timestamp: each one
  // is observed, within the test's minute.
  EXPECT_EQ(m.at("recstream_event_to_list_seconds_count"), m.at("recstream_lists_published_total"));
  EXPECT_GT(m.at("recstream_event_to_list_seconds_count"), 0.0);
  EXPECT_LT(m.at("recstream_event_to_list_seconds_sum") / m.at("recstream_event_to_list_seconds_count"), 60.0);
  EXPECT_EQ(m.at("recstream_event_to_list_seconds_bucket{le=\"+Inf\"}"), m.at("recstream_event_to_list_seconds_count"));
  for (const char* name : {"recstream_state_sst_bytes", "recstream_state_pending_compaction_bytes",
                           "recstream_state_write_stopped", "recstream_state_delayed_write_rate_bytes"})
    EXPECT_EQ(m.count(name), 1u) << name;
  StopProcessor();
  // Every family the alert rules and the Grafana dashboard use is on the
  // page (a rename breaks this, not silently the alerts or a panel).
  auto read = [](const std::string& rel) {
    std::ifstream in(std::string(RECSTREAM_SOURCE_DIR) + "/" + rel);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  auto exported = [&](const std::string& name) {
    if (text.find("# TYPE " + name + " ") != std::string::npos) return true;
    static const std::regex suffix("_(bucket|sum|count)$");
    const std::string family = std::regex_replace(name, suffix, "");
    return family != name && text.find("# TYPE " + family + " histogram") != std::string::npos;
  };
  static const std::regex family("\\b(recstream|process)_[a-z0-9_]+");
  for (const auto& [file, at_least] : {std::pair<std::string, size_t>{"configs/prometheus/alerts.yml", 8},
                                       {"configs/grafana/dashboards/recstream.json", 25}}) {
    const std::string body = read(file);
    ASSERT_FALSE(body.empty()) << file;
    std::set<std::string> used;
    for (std::sregex_iterator it(body.begin(), body.end(), family), end; it != end; ++it) used.insert(it->str());
    for (const auto& name : used) EXPECT_TRUE(exported(name)) << name << " is in " << file << " but not on /metrics";
    EXPECT_GE(used.size(), at_least) << file;
  }
  // The dashboard is one Grafana JSON model: every panel but a row queries
  // something, panel ids are unique, and each sits in the 24-column grid.
  {
    simdjson::dom::parser parser;
    simdjson::dom::element dash;
    ASSERT_EQ(parser.parse(read("configs/grafana/dashboards/recstream.json")).get(dash), simdjson::SUCCESS);
    std::string_view uid;
    EXPECT_EQ(dash["uid"].get(uid), simdjson::SUCCESS);
    simdjson::dom::array panels;
    ASSERT_EQ(dash["panels"].get(panels), simdjson::SUCCESS);
    std::set<int64_t> ids;
    size_t queried = 0;
    for (simdjson::dom::element panel : panels) {
      int64_t id = 0, x = 0, w = 0;
      std::string_view type;
      ASSERT_EQ(panel["id"].get(id), simdjson::SUCCESS);
      EXPECT_TRUE(ids.insert(id).second) << "panel id " << id << " twice";
      ASSERT_EQ(panel["type"].get(type), simdjson::SUCCESS);
      ASSERT_EQ(panel["gridPos"]["x"].get(x), simdjson::SUCCESS);
      ASSERT_EQ(panel["gridPos"]["w"].get(w), simdjson::SUCCESS);
      EXPECT_LE(x + w, 24) << "panel " << id;
      if (type == "row") continue;
      simdjson::dom::array targets;
      ASSERT_EQ(panel["targets"].get(targets), simdjson::SUCCESS) << "panel " << id;
      EXPECT_GT(targets.size(), 0u) << "panel " << id;
      for (simdjson::dom::element t : targets) {
        std::string_view expr;
        ASSERT_EQ(t["expr"].get(expr), simdjson::SUCCESS) << "panel " << id;
        EXPECT_NE(expr.find("job=\"recstream\""), std::string_view::npos) << "panel " << id << ": " << expr;
        ++queried;
      }
    }
    EXPECT_GE(queried, 25u);
  }

  const std::string promtool = Promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found (Debian package prometheus)";
  fs::create_directories(dir_);
  const fs::path page = dir_ / "metrics.txt";
  std::ofstream(page) << text;
  const auto r = testing::RunProcess({promtool, "check", "metrics"}, 30s, page.string());
  EXPECT_EQ(r.exit_code, 0) << "promtool check metrics: " << r.out;
  // The compose deployment's Prometheus configuration (it loads alerts.yml).
  const auto c = testing::RunProcess(
      {promtool, "check", "config", std::string(RECSTREAM_SOURCE_DIR) + "/configs/prometheus/prometheus.yml"}, 30s);
  EXPECT_EQ(c.exit_code, 0) << "promtool check config: " << c.out;
  // And the check can fail: a counter without _total is a lint problem.
  const fs::path bad = dir_ / "bad.txt";
  std::ofstream(bad) << "# HELP x_requests A counter.\n# TYPE x_requests counter\nx_requests 1\n";
  EXPECT_NE(testing::RunProcess({promtool, "check", "metrics"}, 30s, bad.string()).exit_code, 0);
}

// admin.token_file: per-user data needs the bearer token; probes and
// metrics do not. A bad token file stops the start with a clear error.
TEST_F(AdminHttpTest, UserEndpointsAskForTheBearerTokenWhenOneIsSet) {
  fs::create_directories(dir_);
  const fs::path token = dir_ / "token";
  std::ofstream(token) << "s3cret-Token_1\n";
  config_.admin.token_file = token.string();
  OpenProcessor();
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(50, 3)));
  RunProcessor();
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= 50; }, 60s));
  const auto ask = [&](const std::string& path, const std::string& auth) {
    const std::string answer = Exchange(port_, "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + auth +
                                                   "Connection: close\r\n\r\n");
    const auto st = Statuses(answer);
    return st.size() == 1 ? st[0] : 0;
  };
  const std::string user = "/v1/users/" + PercentEncodeAll(LastLists(50).begin()->first) + "/state";
  EXPECT_EQ(ask(user, ""), 401);
  EXPECT_NE(Exchange(port_, "GET " + user + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .find("WWW-Authenticate: Bearer"),
            std::string::npos);
  EXPECT_EQ(ask(user, "Authorization: Bearer s3cret-Token_\r\n"), 401) << "a prefix of the token";
  EXPECT_EQ(ask(user, "Authorization: Bearer s3cret-Token_12\r\n"), 401);
  EXPECT_EQ(ask(user, "Authorization: Basic s3cret-Token_1\r\n"), 401);
  EXPECT_EQ(ask(user, "Authorization: Bearer s3cret-Token_1\r\n"), 200);
  EXPECT_EQ(ask("/v1/users/nobody/recommendations", "Authorization: Bearer s3cret-Token_1\r\n"), 404);
  EXPECT_EQ(ask("/v1/users/nobody/recommendations", ""), 401) << "no answer says whether a user exists";
  EXPECT_EQ(ask("/healthz", ""), 200);
  EXPECT_EQ(ask("/metrics", ""), 200);

  std::unique_ptr<app::AdminServer> other;
  std::ofstream(token) << "  \n";
  app::AdminOptions opt;
  opt.token_file = token.string();
  Status s = app::AdminServer::Start(opt, *proc_, &other);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("is empty"), std::string::npos) << s.ToString();
  opt.token_file = (dir_ / "missing").string();
  s = app::AdminServer::Start(opt, *proc_, &other);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("missing"), std::string::npos) << s.ToString();
  StopProcessor();
}

TEST_F(AdminHttpTest, HostileRequestsGet4xxAndNeitherServerNorPipelineFalls) {
  OpenProcessor();
  RunProcessor();
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(200, 5)));
  ASSERT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= 200; }, 60s));

  const std::string big(20000, 'a');
  std::string many_headers = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 300; ++i) many_headers += "X-H" + std::to_string(i) + ": " + std::string(60, 'v') + "\r\n";
  many_headers += "\r\n";
  const std::vector<std::pair<std::string, int>> cases = {
      {"GARBAGE\r\n\r\n", 400},
      {std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 9), 400},
      {"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"GET /metrics\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400},
      {std::string("GET /healthz HTTP/1.1\r\nX: a\0b\r\n\r\n", 34), 400},
      {"GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400},
      {"GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /v1/users/%zz/recommendations HTTP/1.1\r\n\r\n", 400},
      {"GET /v1/users/%/state HTTP/1.1\r\n\r\n", 400},
      {"GET /v1/users/abc%4/state HTTP/1.1\r\n\r\n", 400},
      {"GET /v1/users//recommendations HTTP/1.1\r\n\r\n", 400},
      {"GET /v1/users/" + std::string(300, 'u') + "/state HTTP/1.1\r\n\r\n", 400},
      {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405},
      {"DELETE /v1/users/u1/state HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"GET /healthz HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'), 413},
      {"GET /" + std::string(4000, 'p') + " HTTP/1.1\r\n\r\n", 414},
      {"GET /" + big + " HTTP/1.1\r\n\r\n", 431},
      {"GET /metrics HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n", 431},
      {many_headers, 431},
      {"GET /nope HTTP/1.1\r\n\r\n", 404},
      {"GET /v1/users/u1 HTTP/1.1\r\n\r\n", 404},
      {"GET /v1/users/u1/other HTTP/1.1\r\n\r\n", 404},
      {"GET /v1/users/nobody/recommendations?x=%zz HTTP/1.1\r\n\r\n", 404},
      {"GET /v1/users/%00/state HTTP/1.1\r\n\r\n", 404},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\n", 400},  // half a request, then EOF
  };
  for (const auto& [request, expected] : cases) {
    const std::string answer = Exchange(port_, request);
    const auto st = Statuses(answer);
    ASSERT_EQ(st.size(), 1u) << "request: " << request.substr(0, 80) << "\nanswer: " << answer.substr(0, 200);
    EXPECT_EQ(st[0], expected) << "request: " << request.substr(0, 80) << "\nanswer: " << answer.substr(0, 200);
  }

  // Random bytes: a 4xx, or nothing at all for bytes that end before a
  // request could start — never a crash, never a 2xx or 5xx.
  std::mt19937_64 rng(42);
  for (int i = 0; i < 300; ++i) {
    std::string junk(1 + rng() % 3000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 3 == 0) junk = "GET /" + junk;  // get past the method, into the target and headers
    if (i % 2 == 0) junk += "\r\n\r\n";
    for (int s : Statuses(Exchange(port_, junk))) {
      EXPECT_GE(s, 400) << i;
      EXPECT_LT(s, 500) << i;
    }
  }

  // Keep-alive: two requests in one write, two answers on one connection.
  EXPECT_EQ(Statuses(Exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")),
            (std::vector<int>{200, 200}));

  // Slowloris: a request trickled byte by byte is cut off at request_timeout
  // (1 s here), however active it looks, and others are served meanwhile.
  {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    bool closed = false;
    for (int i = 0; i < 40 && !closed; ++i) {
      if (!SendAll(fd, "X")) break;
      if (i == 2) {
        EXPECT_EQ(Get(port_, "/healthz").status, 200) << "served while a slow client holds a connection";
      }
      ReadUntilClose(fd, 100ms, &closed);
    }
    if (!closed) ReadUntilClose(fd, 3s, &closed);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(closed);
    EXPECT_GE(secs, 0.9);
    EXPECT_LT(secs, 3.5);
    ::close(fd);
  }
  // An idle connection (no byte at all) is closed too.
  {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    bool closed = false;
    EXPECT_EQ(ReadUntilClose(fd, 4s, &closed), "");
    EXPECT_TRUE(closed);
    ::close(fd);
  }
  // 200 slow clients, each holding a connection with half a request, more
  // than max_connections (16). They once made the server refuse every new
  // connection, health probes included (87 % failed). Now the oldest one
  // still waiting for its request makes room: every probe is answered, and
  // the server holds at most 16 connections whatever the clients do.
  {
    std::vector<int> fds;
    for (int i = 0; i < 200; ++i) {
      const int fd = Connect(port_);
      ASSERT_GE(fd, 0);
      SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
      fds.push_back(fd);
    }
    int answered = 0;
    for (int i = 0; i < 20; ++i) {
      answered += Get(port_, "/healthz").status == 200;
      SendAll(fds[static_cast<size_t>(180 + i)], "X");  // the newest slow ones still trickle
    }
    EXPECT_EQ(answered, 20) << "health probes refused behind slow clients";
    int open = 0;
    for (int fd : fds) {
      bool closed = false;
      ReadUntilClose(fd, 10ms, &closed);
      open += !closed;
    }
    EXPECT_LE(open, 16) << "connections held beyond max_connections";
    for (int fd : fds) ::close(fd);
    EXPECT_EQ(Get(port_, "/healthz").status, 200);
  }

  // Still alive, still processing.
  EXPECT_EQ(Get(port_, "/readyz").status, 200);
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(50, 6)));
  EXPECT_TRUE(WaitFor([&] { return proc_->metrics().records_in.load() >= 250; }, 60s));
  const auto m = ParseMetrics(Get(port_, "/metrics").body);
  EXPECT_EQ(m.at("recstream_records_in_total{topic=\"events\"}"), 250);
}

}  // namespace
}  // namespace recstream
