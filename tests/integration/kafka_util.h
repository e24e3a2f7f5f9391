// Test helpers that talk to a broker with plain librdkafka clients, separate
// from recstream's own source and sink: what an outside producer writes and
// what a storefront reads.
#pragma once

#include <sys/wait.h>

#include <cstdio>
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

// Waits until pred() holds or the timeout passes; returns pred().
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return pred();
}

}  // namespace recstream::testing
