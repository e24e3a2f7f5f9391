#include "stream/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <thread>

namespace recstream::stream {
namespace {

Status Apply(RdKafka::Conf* conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK)
    return Status::InvalidArgument("kafka property '" + name + "': " + err);
  return Status::OK();
}

// A property recstream sets on a client. With an owner it is managed: a
// pass-through value for it is refused, naming the owner (ManagedKey).
struct Setting {
  const char* name;
  std::string value;
  const char* owner = nullptr;  // null: a default that pass-through may override
};

constexpr const char* kBrokersOwner = "set kafka.brokers instead";
constexpr const char* kClientIdOwner = "set kafka.client_id instead";

std::vector<Setting> ConsumerSettings(const KafkaOptions& opt) {
  constexpr const char* kOffsets = "recstream stores offsets with its state and commits them after each checkpoint";
  return {
      {"bootstrap.servers", opt.brokers, kBrokersOwner},
      {"group.id", opt.group_id, "set kafka.group_id instead"},
      {"client.id", opt.client_id, kClientIdOwner},
      {"enable.auto.commit", "false", kOffsets},
      {"enable.auto.offset.store", "false", kOffsets},
      {"partition.assignment.strategy", "cooperative-sticky",
       "recstream uses cooperative-sticky; its hand-over commits on revocation rely on it"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false", "recstream reads partitions without end-of-partition events"},
      // Broker round trips and queue depths for /metrics (0 turns them off).
      {"statistics.interval.ms", "5000"},
  };
}

std::vector<Setting> ProducerSettings(const KafkaOptions& opt) {
  return {
      {"bootstrap.servers", opt.brokers, kBrokersOwner},
      {"client.id", opt.client_id, kClientIdOwner},
      {"enable.idempotence", "true",
       "recstream's producer is idempotent: a retry must not reorder or duplicate a user's lists"},
      // Java's partitioner (murmur2; keyless messages spread at random), so
      // a user's lists share a partition number with the same key in topics
      // written by Java clients, Kafka Streams or ksqlDB (a downstream join
      // needs that). librdkafka's own default (consistent_random, CRC32)
      // would not.
      {"partitioner", "murmur2_random"},
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"statistics.interval.ms", "5000"},
  };
}

std::string_view ManagedKey(const std::vector<Setting>& settings, std::string_view name) {
  if (name == "metadata.broker.list") return kBrokersOwner;  // librdkafka's alias of bootstrap.servers
  for (const auto& st : settings)
    if (st.owner != nullptr && name == st.name) return st.owner;
  return {};
}

// recstream's settings, then the pass-through ones (which win, managed keys
// refused).
Status Configure(RdKafka::Conf* conf, const std::vector<Setting>& settings,
                 const std::map<std::string, std::string>& props, const char* section) {
  for (const auto& st : settings) {
    Status s = Apply(conf, st.name, st.value);
    if (!s.ok()) return s;
  }
  for (const auto& [k, v] : props) {
    if (const std::string_view owner = ManagedKey(settings, k); !owner.empty())
      return Status::InvalidArgument("[" + std::string(section) + "] " + k + " cannot be set: " + std::string(owner));
    Status s = Apply(conf, k, v);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

// A record viewing m (valid while m is held).
// The latest statistics JSON of one client (EVENT_STATS), read by /metrics.
class LatestStatistics {
 public:
  void Set(std::string json) {
    std::lock_guard<std::mutex> lock(mu_);
    json_ = std::move(json);
  }
  std::string Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return json_;
  }

 private:
  mutable std::mutex mu_;
  std::string json_;
};

Record ViewOf(RdKafka::Message& m) {  // librdkafka's getters are not const
  Record r;
  // The C name is owned by the topic handle the message references.
  const auto* raw = static_cast<const rd_kafka_message_t*>(m.c_ptr());
  r.topic = rd_kafka_topic_name(raw->rkt);
  r.partition = m.partition();
  r.offset = m.offset();
  const auto ts = m.timestamp();
  r.timestamp_ms = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? 0 : ts.timestamp;
  if (m.key_pointer()) r.key = std::string_view(static_cast<const char*>(m.key_pointer()), m.key_len());
  if (m.payload()) r.value = std::string_view(static_cast<const char*>(m.payload()), m.len());
  else r.value_null = true;
  return r;
}

}  // namespace

std::string_view ManagedConsumerKey(std::string_view name) { return ManagedKey(ConsumerSettings({}), name); }
std::string_view ManagedProducerKey(std::string_view name) { return ManagedKey(ProducerSettings({}), name); }

class KafkaSource::Rebalancer final : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  Rebalancer(AssignmentListener* l, KafkaOptions::OutOfRange policy, bool log_starts_at_zero)
      : listener_(l), policy_(policy), log_starts_at_zero_(log_starts_at_zero) {}
  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    in_callback = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{in_callback};
    std::vector<TopicPartitionOffset> tps;
    for (auto* p : parts) tps.push_back({p->topic(), p->partition(), kNoStoredOffset});
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (listener_) listener_->OnAssigned(tps);
      ResumeAtNewest(c, tps);
      CheckInRange(c, tps);
      if (assigns_to_wait > 0) --assigns_to_wait;
      for (size_t i = 0; i < parts.size(); ++i) {
        // No stored and no committed offset: the start (auto.offset.reset).
        parts[i]->set_offset(tps[i].offset == kNoStoredOffset ? RdKafka::Topic::OFFSET_INVALID : tps[i].offset);
        checkpointed.erase({tps[i].topic, tps[i].partition});  // from an earlier ownership
        const int64_t next = tps[i].offset != kNoStoredOffset ? tps[i].offset : log_starts_at_zero_ ? 0 : -1;
        Expect(tps[i].topic, tps[i].partition, next);
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
      for (auto& t : tps) {
        revoked.push_back(t);
        std::erase_if(expected, [&](const Expected& e) { return e.partition == t.partition && e.topic == t.topic; });
      }
      if (listener_) listener_->OnRevoked(tps);
      // Hand over: the next owner starts from the group's committed offset,
      // so commit what this instance checkpointed, synchronously, before
      // letting go (the periodic commits are asynchronous, up to a second
      // behind, and may still be in flight). Lost partitions (session expired) are already
      // someone else's: a commit would be rejected.
      if (!c->assignment_lost()) CommitCheckpointed(c, tps);
      for (const auto& t : tps) checkpointed.erase({t.topic, t.partition});
      // librdkafka's cooperative flow: REVOKE, then ASSIGN of what this round
      // added (possibly nothing), then a second join round ending in another
      // ASSIGN. A lost assignment is followed by one join round only.
      assigns_to_wait = !cooperative ? 0 : c->assignment_lost() ? 1 : 2;
      revoked_at = std::chrono::steady_clock::now();
      spdlog::info("kafka: revoked {} partition(s){}", parts.size(), c->assignment_lost() ? " (lost)" : "");
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
      case RdKafka::Event::EVENT_STATS:
        stats.Set(ev.str());
        break;
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
  // Inside rebalance_cb: a listener may checkpoint there (KafkaSource::Commit
  // is then called); the hand-over commit follows synchronously, so no
  // asynchronous one is sent from inside the callback.
  bool in_callback = false;
  // Next offset of the last checkpoint per owned partition (KafkaSource::Commit).
  std::map<std::pair<std::string, int32_t>, int64_t> checkpointed;
  // Between a cooperative revocation and the assign callback that ends the
  // rebalance. librdkafka before the fix of its issue #4059 (PR #4908, 2025;
  // Debian 12 ships 2.0.2) treats a
  // commit refused with ILLEGAL_GENERATION in this window as a lost
  // assignment: the remaining partitions go without their hand-over commit
  // and their next owner re-applies what this instance had processed.
  bool between_rounds() const {
    // A bound, in case a librdkafka version calls back differently.
    return assigns_to_wait > 0 && std::chrono::steady_clock::now() - revoked_at < std::chrono::seconds(60);
  }
  int assigns_to_wait = 0;
  std::chrono::steady_clock::time_point revoked_at{};
  // An offset out of range under kFail: the next Poll returns it.
  Status failed;
  std::atomic<uint64_t> offset_resets{0}, records_skipped{0}, started_without_state{0};
  LatestStatistics stats;

  // The next offset each owned partition should hand out (-1: unknown
  // until its first record).
  struct Expected {
    std::string topic;
    int32_t partition;
    int64_t next;
  };
  std::vector<Expected> expected;
  void Expect(const std::string& topic, int32_t partition, int64_t next) {
    for (auto& e : expected)
      if (e.partition == partition && e.topic == topic) {
        e.next = next;
        return;
      }
    expected.push_back({topic, partition, next});
  }

  // A record further on than the partition's next offset: a gap. Gaps are
  // normal (transaction markers, compaction) unless the log now starts past
  // the expected offset: then records were deleted before this instance read
  // them (librdkafka's auto.offset.reset jumped over them, silently). The
  // low watermark is the one of the fetch response that carried this record.
  // Returns false when the policy is to stop (failed is set).
  bool CheckContinuity(RdKafka::KafkaConsumer* c, const Record& m) {
    Expected* e = nullptr;
    for (auto& x : expected)
      if (x.partition == m.partition && x.topic == m.topic) e = &x;
    if (e == nullptr) return true;
    const int64_t want = e->next;
    e->next = m.offset + 1;
    if (want < 0 || m.offset <= want) return true;
    int64_t low = -1, high = -1;
    c->get_watermark_offsets(std::string(m.topic), m.partition, &low, &high);
    if (low <= want) return true;
    const int64_t lost = std::min(low, m.offset) - want;
    const std::string what = "kafka: " + std::string(m.topic) + "[" + std::to_string(m.partition) + "]: " +
                             std::to_string(lost) + " record(s) from offset " + std::to_string(want) +
                             " were deleted before this instance read them (the log now starts at " +
                             std::to_string(low) + "; retention, or the embedded broker's cap of 5 MiB per " +
                             "partition, overtook the consumer)";
    if (policy_ == KafkaOptions::OutOfRange::kFail) {
      if (failed.ok())
        failed = Status::Kafka(what + "; stopping. Set kafka.offset_out_of_range = \"reset\" to go on without them");
      spdlog::error("{}", what);
      return false;
    }
    spdlog::warn("{}; offset_out_of_range = reset: going on at {}", what, m.offset);
    offset_resets.fetch_add(1, std::memory_order_relaxed);
    records_skipped.fetch_add(static_cast<uint64_t>(lost), std::memory_order_relaxed);
    return true;
  }

 private:
  // Without this check librdkafka applies auto.offset.reset to an offset
  // outside the log, silently: a recreated topic would be read from its
  // start with state that belongs to the old one, and records lost to
  // retention would be skipped with no trace. (Retention that overtakes the
  // consumer later, while it lags, is still reset by librdkafka silently.)
  void CheckInRange(RdKafka::KafkaConsumer* c, std::vector<TopicPartitionOffset>& tps) {
    for (auto& t : tps) {
      if (t.offset == kNoStoredOffset) continue;
      int64_t low = -1, high = -1;
      if (const auto e = c->query_watermark_offsets(t.topic, t.partition, &low, &high, 10000);
          e != RdKafka::ERR_NO_ERROR) {
        spdlog::warn("kafka: {}[{}]: reading the log's range failed ({}); resuming at {} unchecked", t.topic,
                     t.partition, RdKafka::err2str(e), t.offset);
        continue;
      }
      if (t.offset >= low && t.offset <= high) continue;
      const bool past_end = t.offset > high;
      const std::string what =
          std::string("kafka: ") + t.topic + "[" + std::to_string(t.partition) + "]: the stored offset " +
          std::to_string(t.offset) + (past_end ? " is past the log end " + std::to_string(high) +
                                                     " (the topic was deleted and recreated, or the state is from "
                                                     "another cluster)"
                                               : " is before the log start " + std::to_string(low) +
                                                     " (retention deleted records this instance never read)");
      if (policy_ == KafkaOptions::OutOfRange::kFail) {
        if (failed.ok())
          failed = Status::Kafka(what + "; stopping. Set kafka.offset_out_of_range = \"reset\" to resume at the "
                                        "log start, or point state.dir at the state of this topic");
        spdlog::error("{}", what);
        continue;
      }
      const uint64_t skipped = past_end ? 0 : static_cast<uint64_t>(low - t.offset);
      spdlog::warn("{}; offset_out_of_range = reset: resuming at the log start {}{}", what, low,
                   past_end ? "" : ", skipping " + std::to_string(skipped) + " record(s)");
      t.offset = low;
      offset_resets.fetch_add(1, std::memory_order_relaxed);
      records_skipped.fetch_add(skipped, std::memory_order_relaxed);
    }
  }

  // A stored offset behind the group's committed one means another instance
  // owned the partition meanwhile and processed past it: resuming at the
  // stored offset would apply those events a second time. The committed
  // offset is never ahead for any other reason (commits follow checkpoints),
  // so the newer of the two is where this instance resumes. State does not
  // follow partitions yet (no changelog topic): the partition's users go on
  // from this instance's older state.
  //
  // A partition with no stored offset resumes at the group's committed one
  // when there is one (else at its start), with none of its earlier state:
  // said in the log and counted, since a wiped state dir looks like this.
  void ResumeAtNewest(RdKafka::KafkaConsumer* c, std::vector<TopicPartitionOffset>& tps) {
    std::vector<RdKafka::TopicPartition*> q;
    for (const auto& t : tps) q.push_back(RdKafka::TopicPartition::create(t.topic, t.partition));
    if (q.empty()) return;
    if (const auto e = c->committed(q, 10000); e != RdKafka::ERR_NO_ERROR) {
      spdlog::warn("kafka: reading the group's committed offsets failed ({}); resuming at stored offsets",
                   RdKafka::err2str(e));
    } else {
      for (auto* p : q) {
        if (p->err() != RdKafka::ERR_NO_ERROR || p->offset() < 0) continue;
        for (auto& t : tps) {
          if (t.partition != p->partition() || t.topic != p->topic()) continue;
          if (t.offset == kNoStoredOffset) {
            spdlog::warn("kafka: {}[{}]: no state of this partition in state.dir; resuming at the group's "
                         "committed offset {} without the state built before it (a new or wiped state dir, or a "
                         "partition that moved from another instance: state does not follow partitions yet)",
                         t.topic, t.partition, p->offset());
            started_without_state.fetch_add(1, std::memory_order_relaxed);
            t.offset = p->offset();
          } else if (p->offset() > t.offset) {
            spdlog::warn("kafka: {}[{}]: the group committed offset {}, past this instance's stored {}: another "
                         "instance processed it meanwhile; resuming at {}",
                         t.topic, t.partition, p->offset(), t.offset, p->offset());
            t.offset = p->offset();
          }
        }
      }
    }
    RdKafka::TopicPartition::destroy(q);
  }

  void CommitCheckpointed(RdKafka::KafkaConsumer* c, const std::vector<TopicPartitionOffset>& tps) {
    std::vector<RdKafka::TopicPartition*> out;
    for (const auto& t : tps)
      if (auto it = checkpointed.find({t.topic, t.partition}); it != checkpointed.end())
        out.push_back(RdKafka::TopicPartition::create(t.topic, t.partition, it->second));
    if (out.empty()) return;
    auto e = c->commitSync(out);
    for (const auto* p : out)
      if (e == RdKafka::ERR_NO_ERROR && p->err() != RdKafka::ERR_NO_ERROR) e = p->err();
    if (e != RdKafka::ERR_NO_ERROR)
      spdlog::warn("kafka: committing revoked partitions failed: {} (the next owner may re-read a batch)",
                   RdKafka::err2str(e));
    else
      for (const auto* p : out) spdlog::info("kafka: {}[{}] handed over at {}", p->topic(), p->partition(), p->offset());
    RdKafka::TopicPartition::destroy(out);
  }

  AssignmentListener* listener_;
  KafkaOptions::OutOfRange policy_;
  bool log_starts_at_zero_;
};

Status KafkaSource::Create(const KafkaOptions& opt, const std::vector<std::string>& topics,
                           AssignmentListener* listener, std::unique_ptr<KafkaSource>* out) {
  std::unique_ptr<KafkaSource> src(new KafkaSource());
  src->commit_interval_ = opt.commit_interval;
  src->rebalancer_ = std::make_unique<Rebalancer>(listener, opt.offset_out_of_range, opt.log_starts_at_zero);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  Status s = Configure(conf.get(), ConsumerSettings(opt), opt.consumer, "kafka.consumer");
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
  if (!rebalancer_->failed.ok()) return rebalancer_->failed;
  MaybeCommit();  // the last checkpoint of an idle stream still reaches the group
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
    const Record r = ViewOf(*m);
    if (!rebalancer_->CheckContinuity(consumer_.get(), r)) break;
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
  if (!rebalancer_->failed.ok()) {
    out.clear();  // assigned in this poll, out of range: nothing of it is processed
    return rebalancer_->failed;
  }
  return Status::OK();
}

uint64_t KafkaSource::offset_resets() const { return rebalancer_->offset_resets.load(std::memory_order_relaxed); }
uint64_t KafkaSource::records_skipped() const { return rebalancer_->records_skipped.load(std::memory_order_relaxed); }
std::string KafkaSource::Statistics() const { return rebalancer_->stats.Get(); }
uint64_t KafkaSource::started_without_state() const {
  return rebalancer_->started_without_state.load(std::memory_order_relaxed);
}

Status KafkaSource::Commit(const std::vector<TopicPartitionOffset>& next) {
  for (const auto& t : next) rebalancer_->checkpointed[{t.topic, t.partition}] = t.offset;
  commit_pending_ = true;
  MaybeCommit();
  return Status::OK();
}

void KafkaSource::MaybeCommit() {
  if (!commit_pending_ || closed_ || rebalancer_->in_callback || rebalancer_->between_rounds()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_commit_ < commit_interval_) return;
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto& [tp, next] : rebalancer_->checkpointed)
    parts.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, next));
  const auto err = consumer_->commitAsync(parts);
  RdKafka::TopicPartition::destroy(parts);
  // Advisory: a failed commit is retried with newer offsets next interval.
  if (err != RdKafka::ERR_NO_ERROR) spdlog::debug("kafka: commit: {}", RdKafka::err2str(err));
  last_commit_ = now;
  commit_pending_ = false;
}

std::vector<KafkaSource::PartitionPosition> KafkaSource::Positions() const {
  std::vector<PartitionPosition> out;
  std::vector<RdKafka::TopicPartition*> parts;
  if (closed_ || consumer_->assignment(parts) != RdKafka::ERR_NO_ERROR) return out;
  consumer_->position(parts);  // per-partition offsets; an error leaves them invalid
  for (auto* p : parts) {
    PartitionPosition pp{p->topic(), p->partition(), p->offset() >= 0 ? p->offset() : -1};
    int64_t low = -1, high = -1;
    if (consumer_->get_watermark_offsets(p->topic(), p->partition(), &low, &high) == RdKafka::ERR_NO_ERROR) {
      pp.low = low;
      pp.high = high;
    }
    out.push_back(std::move(pp));
  }
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

std::vector<TopicPartitionOffset> KafkaSource::Assignment() const {
  std::vector<RdKafka::TopicPartition*> parts;
  std::vector<TopicPartitionOffset> out;
  if (consumer_->assignment(parts) == RdKafka::ERR_NO_ERROR)
    for (auto* p : parts) out.push_back({p->topic(), p->partition(), p->offset()});
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

// ------------------------------------------------------------ global table

Status GlobalTableSource::Create(const KafkaOptions& opt, std::string topic, StoredOffset stored,
                                 std::unique_ptr<GlobalTableSource>* out) {
  std::unique_ptr<GlobalTableSource> src(new GlobalTableSource());
  src->topic_ = std::move(topic);
  src->stored_ = std::move(stored);
  // A consumer of its own, assigned (never subscribed): it joins no group.
  // librdkafka's KafkaConsumer wants a group.id all the same; this one is
  // never used for a join or a commit.
  KafkaOptions own = opt;
  own.group_id = opt.group_id + ".global." + src->topic_;
  own.client_id = opt.client_id + "-global";
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  Status s = Configure(conf.get(), ConsumerSettings(own), opt.consumer, "kafka.consumer");
  if (!s.ok()) return s;
  src->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!src->consumer_) return Status::Kafka("cannot create the global table's consumer: " + err);
  s = src->Discover();
  if (!s.ok()) return s;
  *out = std::move(src);
  return Status::OK();
}

GlobalTableSource::~GlobalTableSource() { Close(); }

void GlobalTableSource::Close() {
  if (closed_ || !consumer_) return;
  closed_ = true;
  held_.clear();
  consumer_->close();
}

Status GlobalTableSource::Discover() {
  next_discovery_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer_.get(), topic_, nullptr, err));
  if (!handle) return Status::Kafka("global table " + topic_ + ": " + err);
  RdKafka::Metadata* raw = nullptr;
  const auto e = consumer_->metadata(false, handle.get(), &raw, 10000);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  std::vector<int32_t> found;
  if (e == RdKafka::ERR_NO_ERROR) {
    for (const auto* t : *md->topics())
      if (t->topic() == topic_ && t->err() == RdKafka::ERR_NO_ERROR)
        for (const auto* p : *t->partitions()) found.push_back(p->id());
  }
  if (found.empty() && progress_.empty()) {
    spdlog::warn("kafka: global table {}: no partitions found ({}); looking again in 30 s", topic_,
                 e == RdKafka::ERR_NO_ERROR ? "no such topic yet" : RdKafka::err2str(e));
    UpdateCaughtUp();
    return Status::OK();
  }
  std::vector<RdKafka::TopicPartition*> add;
  for (int32_t p : found) {
    if (progress_.count(p)) continue;
    int64_t low = 0, high = 0;
    if (consumer_->query_watermark_offsets(topic_, p, &low, &high, 10000) != RdKafka::ERR_NO_ERROR) high = 0;
    const int64_t from = stored_ ? stored_(topic_, p) : kNoStoredOffset;
    progress_[p] = {high, from == kNoStoredOffset ? low : from};
    add.push_back(RdKafka::TopicPartition::create(topic_, p,
                                                  from == kNoStoredOffset ? RdKafka::Topic::OFFSET_BEGINNING : from));
  }
  if (!add.empty()) {
    if (auto* ae = consumer_->incremental_assign(add)) {
      const std::string what = ae->str();
      delete ae;
      RdKafka::TopicPartition::destroy(add);
      return Status::Kafka("global table " + topic_ + ": assign: " + what);
    }
    spdlog::info("kafka: global table {}: reading {} more partition(s), {} in all", topic_, add.size(),
                 progress_.size());
    RdKafka::TopicPartition::destroy(add);
  }
  UpdateCaughtUp();
  return Status::OK();
}

void GlobalTableSource::UpdateCaughtUp() {
  if (caught_up()) return;
  for (const auto& [p, pr] : progress_)
    if (pr.second < pr.first) return;
  spdlog::info("kafka: global table {} caught up ({} partition(s))", topic_, progress_.size());
  caught_up_.store(true, std::memory_order_release);
}

Status GlobalTableSource::Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) {
  out.clear();
  held_.clear();
  if (closed_) return Status::OK();
  if (std::chrono::steady_clock::now() >= next_discovery_) {
    if (Status s = Discover(); !s.ok()) spdlog::warn("kafka: {}", s.ToString());
  }
  int wait_ms = static_cast<int>(timeout.count());
  while (out.size() < max) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait_ms));
    wait_ms = 0;
    if (!m || m->err() == RdKafka::ERR__TIMED_OUT) break;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      if (m->err() == RdKafka::ERR__FATAL) return Status::Kafka("global table consumer: " + m->errstr());
      spdlog::warn("kafka: global table {}: {}", topic_, m->errstr());
      break;
    }
    const Record r = ViewOf(*m);
    if (auto it = progress_.find(r.partition); it != progress_.end())
      it->second.second = std::max(it->second.second, r.offset + 1);
    out.push_back(r);
    held_.push_back(std::move(m));
  }
  UpdateCaughtUp();
  return Status::OK();
}

Status GlobalAndGroupSource::Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) {
  if (!global_.caught_up()) return global_.Poll(max, timeout, out);
  Status s = global_.Poll(max, std::chrono::milliseconds(0), out);
  if (!s.ok() || out.size() >= max) return s;
  s = group_.Poll(max - out.size(), out.empty() ? timeout : std::chrono::milliseconds(0), group_records_);
  out.insert(out.end(), group_records_.begin(), group_records_.end());
  return s;
}

Status GlobalAndGroupSource::Commit(const std::vector<TopicPartitionOffset>& next) {
  group_next_.clear();
  for (const auto& t : next)
    if (t.topic != global_.topic()) group_next_.push_back(t);
  return group_next_.empty() ? Status::OK() : group_.Commit(group_next_);
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
    if (ev.type() == RdKafka::Event::EVENT_STATS) {
      stats.Set(ev.str());
    } else if (ev.type() == RdKafka::Event::EVENT_ERROR) {
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
  LatestStatistics stats;

 private:
  KafkaSink* sink_;
};

std::string KafkaSink::Statistics() const { return reporter_->stats.Get(); }

Status KafkaSink::Create(const KafkaOptions& opt, std::unique_ptr<KafkaSink>* out) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink());
  sink->reporter_ = std::make_unique<Reporter>(sink.get());
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  Status s = Configure(conf.get(), ProducerSettings(opt), opt.producer, "kafka.producer");
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

RdKafka::Topic* KafkaSink::TopicHandle(std::string_view topic, Status* error) {
  for (const auto& [name, handle] : topics_)
    if (name == topic) return handle.get();
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(producer_.get(), std::string(topic), nullptr, err));
  if (!handle) {
    *error = Status::Kafka("topic " + std::string(topic) + ": " + err);
    return nullptr;
  }
  topics_.emplace_back(std::string(topic), std::move(handle));
  return topics_.back().second.get();
}

Status KafkaSink::Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                          std::span<const Header> headers) {
  Status error;
  RdKafka::Topic* handle = headers.empty() ? TopicHandle(topic, &error) : nullptr;
  if (!error.ok()) return error;
  for (int attempt = 0;; ++attempt) {
    RdKafka::Headers* hs = nullptr;
    if (!headers.empty()) {
      hs = RdKafka::Headers::create();
      for (const auto& h : headers) hs->add(std::string(h.name), h.value.data(), h.value.size());
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    char* payload = value ? const_cast<char*>(value->data()) : nullptr;
    const size_t len = value ? value->size() : 0;
    // Headers (dead letters only) need the by-name call; lists take the handle.
    const auto err = handle != nullptr
                         ? producer_->produce(handle, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                              payload, len, key.data(), key.size(), nullptr)
                         : producer_->produce(std::string(topic), RdKafka::Topic::PARTITION_UA,
                                              RdKafka::Producer::RK_MSG_COPY, payload, len, key.data(), key.size(),
                                              0, hs, nullptr);
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
