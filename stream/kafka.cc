#include "stream/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace recstream::stream {
namespace {

Status Apply(RdKafka::Conf* conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK)
    return Status::InvalidArgument("kafka property '" + name + "': " + err);
  return Status::OK();
}

Status ApplyAll(RdKafka::Conf* conf, const std::map<std::string, std::string>& props) {
  for (const auto& [k, v] : props) {
    Status s = Apply(conf, k, v);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

class KafkaSource::Rebalancer final : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  explicit Rebalancer(AssignmentListener* l) : listener_(l) {}
  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    std::vector<TopicPartitionOffset> tps;
    for (auto* p : parts) tps.push_back({p->topic(), p->partition(), kNoStoredOffset});
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (listener_) listener_->OnAssigned(tps);
      for (size_t i = 0; i < parts.size(); ++i) {
        parts[i]->set_offset(tps[i].offset == kNoStoredOffset ? RdKafka::Topic::OFFSET_INVALID : tps[i].offset);
      }
      spdlog::info("kafka: assigned {} partition(s)", parts.size());
      if (cooperative) {
        if (auto* e = c->incremental_assign(parts)) {
          spdlog::error("kafka: incremental_assign failed: {}", e->str());
          delete e;
        }
      } else {
        c->assign(parts);
      }
    } else {
      for (auto& t : tps) revoked.push_back(t);
      if (listener_) listener_->OnRevoked(tps);
      spdlog::info("kafka: revoked {} partition(s)", parts.size());
      if (cooperative) {
        if (auto* e = c->incremental_unassign(parts)) {
          spdlog::error("kafka: incremental_unassign failed: {}", e->str());
          delete e;
        }
      } else {
        c->unassign();
      }
    }
  }
  void event_cb(RdKafka::Event& ev) override {
    switch (ev.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (ev.fatal()) spdlog::critical("kafka: fatal error: {}", ev.str());
        else spdlog::warn("kafka: {}", ev.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        if (ev.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) spdlog::warn("kafka: {} {}", ev.fac(), ev.str());
        else spdlog::debug("kafka: {} {}", ev.fac(), ev.str());
        break;
      default:
        break;
    }
  }
  std::vector<TopicPartitionOffset> revoked;  // during the current poll

 private:
  AssignmentListener* listener_;
};

Status KafkaSource::Create(const KafkaOptions& opt, const std::vector<std::string>& topics,
                           AssignmentListener* listener, std::unique_ptr<KafkaSource>* out) {
  std::unique_ptr<KafkaSource> src(new KafkaSource());
  src->rebalancer_ = std::make_unique<Rebalancer>(listener);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : std::map<std::string, std::string>{
           {"bootstrap.servers", opt.brokers},
           {"group.id", opt.group_id},
           {"client.id", opt.client_id},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           {"partition.assignment.strategy", "cooperative-sticky"},
           {"auto.offset.reset", "earliest"},
           {"enable.partition.eof", "false"},
       }) {
    Status s = Apply(conf.get(), k, v);
    if (!s.ok()) return s;
  }
  Status s = ApplyAll(conf.get(), opt.consumer);
  if (!s.ok()) return s;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(src->rebalancer_.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(src->rebalancer_.get()), err) != RdKafka::Conf::CONF_OK)
    return Status::Kafka(err);
  src->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!src->consumer_) return Status::Kafka("cannot create consumer: " + err);
  if (auto e = src->consumer_->subscribe(topics); e != RdKafka::ERR_NO_ERROR)
    return Status::Kafka("subscribe: " + RdKafka::err2str(e));
  *out = std::move(src);
  return Status::OK();
}

KafkaSource::~KafkaSource() { Close(); }

void KafkaSource::Close() {
  if (closed_ || !consumer_) return;
  closed_ = true;
  held_.clear();
  consumer_->close();
}

Status KafkaSource::Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) {
  out.clear();
  held_.clear();
  rebalancer_->revoked.clear();
  int wait_ms = static_cast<int>(timeout.count());
  while (out.size() < max) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait_ms));
    wait_ms = 0;  // after the first message, take only what is already there
    if (!m) break;
    const auto err = m->err();
    if (err == RdKafka::ERR__TIMED_OUT) break;
    if (err == RdKafka::ERR__PARTITION_EOF) continue;
    if (err != RdKafka::ERR_NO_ERROR) {
      if (err == RdKafka::ERR__FATAL) return Status::Kafka("consumer fatal error: " + m->errstr());
      // Unknown topics and transport errors are retried by librdkafka.
      spdlog::warn("kafka: consume: {}", m->errstr());
      break;
    }
    Record r;
    // The C name is owned by the topic handle the message references.
    const auto* raw = static_cast<const rd_kafka_message_t*>(m->c_ptr());
    r.topic = rd_kafka_topic_name(raw->rkt);
    r.partition = m->partition();
    r.offset = m->offset();
    const auto ts = m->timestamp();
    r.timestamp_ms = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? 0 : ts.timestamp;
    if (m->key_pointer()) r.key = std::string_view(static_cast<const char*>(m->key_pointer()), m->key_len());
    if (m->payload()) r.value = std::string_view(static_cast<const char*>(m->payload()), m->len());
    else r.value_null = true;
    out.push_back(r);
    held_.push_back(std::move(m));
  }
  if (!rebalancer_->revoked.empty()) {
    // Partitions left us mid-poll: their records belong to the new owner.
    std::erase_if(out, [&](const Record& r) {
      for (const auto& t : rebalancer_->revoked)
        if (t.partition == r.partition && t.topic == r.topic) return true;
      return false;
    });
  }
  return Status::OK();
}

Status KafkaSource::Commit(const std::vector<TopicPartitionOffset>& next) {
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto& t : next) parts.push_back(RdKafka::TopicPartition::create(t.topic, t.partition, t.offset));
  const auto err = consumer_->commitAsync(parts);
  RdKafka::TopicPartition::destroy(parts);
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::debug("kafka: commit: {}", RdKafka::err2str(err));
    return Status::Kafka(RdKafka::err2str(err));
  }
  return Status::OK();
}

std::vector<TopicPartitionOffset> KafkaSource::Assignment() const {
  std::vector<RdKafka::TopicPartition*> parts;
  std::vector<TopicPartitionOffset> out;
  if (consumer_->assignment(parts) == RdKafka::ERR_NO_ERROR)
    for (auto* p : parts) out.push_back({p->topic(), p->partition(), p->offset()});
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

class KafkaSink::Reporter final : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Reporter(KafkaSink* sink) : sink_(sink) {}
  void dr_cb(RdKafka::Message& m) override {
    sink_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      last_error = m.errstr();
    } else {
      ++sink_->delivered_;
    }
  }
  void event_cb(RdKafka::Event& ev) override {
    if (ev.type() == RdKafka::Event::EVENT_ERROR) {
      if (ev.fatal()) {
        ++failed;
        last_error = "fatal: " + ev.str();
      }
      spdlog::warn("kafka producer: {}", ev.str());
    } else if (ev.type() == RdKafka::Event::EVENT_LOG &&
               ev.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
      spdlog::warn("kafka producer: {} {}", ev.fac(), ev.str());
    }
  }
  uint64_t failed = 0;
  std::string last_error;

 private:
  KafkaSink* sink_;
};

Status KafkaSink::Create(const KafkaOptions& opt, std::unique_ptr<KafkaSink>* out) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink());
  sink->reporter_ = std::make_unique<Reporter>(sink.get());
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [k, v] : std::map<std::string, std::string>{
           {"bootstrap.servers", opt.brokers},
           {"client.id", opt.client_id},
           {"enable.idempotence", "true"},
           {"linger.ms", "5"},
           {"compression.type", "lz4"},
       }) {
    Status s = Apply(conf.get(), k, v);
    if (!s.ok()) return s;
  }
  Status s = ApplyAll(conf.get(), opt.producer);
  if (!s.ok()) return s;
  std::string err;
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(sink->reporter_.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(sink->reporter_.get()), err) != RdKafka::Conf::CONF_OK)
    return Status::Kafka(err);
  sink->producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!sink->producer_) return Status::Kafka("cannot create producer: " + err);
  *out = std::move(sink);
  return Status::OK();
}

KafkaSink::~KafkaSink() {
  if (producer_) {
    const int left = Flush(std::chrono::milliseconds(10000));
    if (left > 0) spdlog::error("kafka: {} message(s) undelivered at shutdown", left);
  }
}

Status KafkaSink::Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                          std::span<const Header> headers) {
  for (int attempt = 0;; ++attempt) {
    RdKafka::Headers* hs = nullptr;
    if (!headers.empty()) {
      hs = RdKafka::Headers::create();
      for (const auto& h : headers) hs->add(std::string(h.name), h.value.data(), h.value.size());
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    const auto err = producer_->produce(
        std::string(topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0,
        key.data(), key.size(), 0, hs, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return Status::OK();  // headers now owned by librdkafka
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    delete hs;
    if (err != RdKafka::ERR__QUEUE_FULL || attempt > 1000)
      return Status::Kafka("produce to " + std::string(topic) + ": " + RdKafka::err2str(err));
    producer_->poll(10);  // the queue drains as reports are served
  }
}

void KafkaSink::Poll() { producer_->poll(0); }

Status KafkaSink::AwaitDelivery(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  producer_->poll(0);
  while (in_flight_.load(std::memory_order_relaxed) > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status::TimedOut(std::to_string(in_flight_.load()) + " message(s) not delivered in time");
    producer_->poll(static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  if (reporter_->failed > 0) {
    const auto n = reporter_->failed;
    reporter_->failed = 0;
    return Status::Kafka(std::to_string(n) + " delivery failure(s), last: " + reporter_->last_error);
  }
  return Status::OK();
}

int KafkaSink::Flush(std::chrono::milliseconds timeout) {
  producer_->flush(static_cast<int>(timeout.count()));
  return producer_->outq_len();
}

}  // namespace recstream::stream
