// Test helpers that talk to a broker with plain librdkafka clients, separate
// from recstream's own source and sink: what an outside producer writes and
// what a storefront reads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace recstream::testing {

struct Message {
  std::string key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
  int32_t partition = 0;
  int64_t offset = 0;
};

// Produces every message (key, value; nullopt = tombstone) and waits for
// delivery. Returns false on any failure.
inline bool ProduceAll(const std::string& bootstrap, const std::string& topic,
                       const std::vector<std::pair<std::string, std::optional<std::string>>>& msgs) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("linger.ms", "1", err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) return false;
  for (const auto& [k, v] : msgs) {
    for (;;) {
      const auto e = p->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                v ? const_cast<char*>(v->data()) : nullptr, v ? v->size() : 0,
                                k.empty() ? nullptr : k.data(), k.size(), 0, nullptr);
      if (e == RdKafka::ERR_NO_ERROR) break;
      if (e != RdKafka::ERR__QUEUE_FULL) return false;
      p->poll(10);
    }
    p->poll(0);
  }
  return p->flush(30000) == RdKafka::ERR_NO_ERROR && p->outq_len() == 0;
}

// Reads a topic from the beginning of every partition until `expected`
// messages arrived or the timeout passed.
inline std::vector<Message> ConsumeAll(const std::string& bootstrap, const std::string& topic, int partitions,
                                       size_t expected, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "test-reader", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<Message> out;
  if (!c) return out;
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p)
    parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  c->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(100));
    if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
    Message msg;
    if (m->key()) msg.key = *m->key();
    if (m->payload()) msg.value = std::string(static_cast<const char*>(m->payload()), m->len());
    msg.partition = m->partition();
    msg.offset = m->offset();
    if (auto* hs = m->headers()) {
      for (const auto& h : hs->get_all())
        msg.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
    }
    out.push_back(std::move(msg));
  }
  c->close();
  return out;
}

// The group's committed offset per partition of topic (-1: none), read by a
// consumer that does not join the group.
inline std::vector<int64_t> CommittedOffsets(const std::string& bootstrap, const std::string& group,
                                             const std::string& topic, int partitions) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", group, err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<int64_t> out(partitions, -1);
  if (!c) return out;
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back(RdKafka::TopicPartition::create(topic, p));
  if (c->committed(tps, 10000) == RdKafka::ERR_NO_ERROR)
    for (int p = 0; p < partitions; ++p)
      if (tps[p]->err() == RdKafka::ERR_NO_ERROR) out[p] = tps[p]->offset();
  RdKafka::TopicPartition::destroy(tps);
  c->close();
  return out;
}

// Sum of the high watermarks of every partition of topic (-1 on error).
inline int64_t TotalHighWatermark(const std::string& bootstrap, const std::string& topic, int partitions) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) return -1;
  int64_t total = 0;
  for (int i = 0; i < partitions; ++i) {
    int64_t lo = 0, hi = 0;
    if (p->query_watermark_offsets(topic, i, &lo, &hi, 10000) != RdKafka::ERR_NO_ERROR) return -1;
    total += hi;
  }
  return total;
}

// A producer that stays up across calls, for streams produced while the test
// does other things (ProduceAll flushes and closes per call).
class StreamProducer {
 public:
  explicit StreamProducer(const std::string& bootstrap) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("linger.ms", "1", err);
    conf->set("enable.idempotence", "true", err);  // retries across an outage add no duplicates
    p_.reset(RdKafka::Producer::create(conf.get(), err));
  }
  bool Produce(const std::string& topic, const std::string& key, const std::string& value) {
    if (!p_) return false;
    for (;;) {
      const auto e = p_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
      if (e == RdKafka::ERR_NO_ERROR) break;
      if (e != RdKafka::ERR__QUEUE_FULL) return false;
      p_->poll(10);
    }
    p_->poll(0);
    return true;
  }
  // Waits for every delivery; false if some are still queued.
  bool Flush(std::chrono::milliseconds timeout) {
    return p_ && p_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR && p_->outq_len() == 0;
  }

 private:
  std::unique_ptr<RdKafka::Producer> p_;
};

// Port bases for the real-broker tests, one range of 1000 each so that tests
// run in parallel by ctest never collide. All lie below Linux's ephemeral
// range (32768-60999 by default): a port in it can be taken as the local
// port of any outgoing connection (another test's client) in the moment
// between the check below and the broker's bind, and the broker then exits
// at start-up (CI saw it once, 2026-12-02, with the outage test at 43000).
inline constexpr int kRealKafkaTestPorts = 27000;
inline constexpr int kCrashTestPorts = 28000;
inline constexpr int kRebalanceTestPorts = 29000;
inline constexpr int kOutageTestPorts = 30000;

// A port for a real broker (it also uses port + 1) that nothing listens on
// now, from [base, base + 1000); the pid spreads runs of the same test.
// `skip` moves past ports an earlier attempt failed on.
inline int FreeBrokerPort(int base, int skip = 0) {
  auto is_free = [](int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  };
  const int start = base + (static_cast<int>(::getpid() % 500) + 7 * skip) * 2 % 1000;
  for (int i = 0; i < 500; ++i) {
    const int port = base + (start - base + 2 * i) % 1000;
    if (is_free(port) && is_free(port + 1)) return port;
  }
  return start;
}

// Runs `scripts/kafka.sh ARGS` (the real-broker helper); returns its exit
// code (3: no java or mvn) and, in out, its stdout without the final newline.
inline int KafkaScript(const std::string& args, std::string* out) {
  const std::string cmd = std::string(RECSTREAM_SOURCE_DIR) + "/scripts/kafka.sh " + args + " </dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[512];
  std::string text;
  while (std::fgets(buf, sizeof buf, f) != nullptr) text += buf;
  const int status = ::pclose(f);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A real single-node broker for one test (scripts/kafka.sh), on a free port
// from FreeBrokerPort(port_base), its data under data_dir; stopped when the
// object goes. Start() returns kafka.sh's exit code: 3 means no Java or
// Maven here (skip), anything but 0 a failure.
class RealBroker {
 public:
  //
  // A start that fails is tried again, twice, on another port: a port can
  // still be taken between FreeBrokerPort's check and the JVM's bind (by a
  // process outside the test). A broker that cannot start for any other
  // reason fails all three, and kafka.sh prints why each time.
  int Start(int port_base, const std::string& data_dir) {
    int rc = -1;
    for (int attempt = 0; attempt < 3; ++attempt) {
      // A fresh data dir per attempt: the failed one may hold a half-made log.
      const std::string dir = attempt == 0 ? data_dir : data_dir + "-retry" + std::to_string(attempt);
      ::setenv("KAFKA_DATA_DIR", dir.c_str(), 1);
      port_ = FreeBrokerPort(port_base, attempt);
      rc = KafkaScript("start " + std::to_string(port_), &bootstrap_);
      if (rc == 0 || rc == 3) break;
    }
    started_ = rc == 0;
    return rc;
  }
  ~RealBroker() { Stop(); }
  void Stop() {
    if (started_) KafkaScript("stop " + std::to_string(port_), nullptr);
    started_ = false;
  }
  // Creates topic with the given partitions; true on success.
  bool CreateTopic(const std::string& topic, int partitions) const {
    return KafkaScript("tool topics --bootstrap-server " + bootstrap_ + " --create --topic " + topic +
                           " --partitions " + std::to_string(partitions) + " --replication-factor 1",
                       nullptr) == 0;
  }
  // SIGSTOP / SIGCONT the broker: it stays bound to its port but answers
  // nothing, as a stalled or partitioned broker does.
  bool Pause() const { return KafkaScript("pause " + std::to_string(port_), nullptr) == 0; }
  bool Resume() const { return KafkaScript("resume " + std::to_string(port_), nullptr) == 0; }
  const std::string& bootstrap() const { return bootstrap_; }
  int port() const { return port_; }

 private:
  int port_ = 0;
  std::string bootstrap_;
  bool started_ = false;
};

// Waits until pred() holds or the timeout passes; returns pred().
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return pred();
}

}  // namespace recstream::testing
