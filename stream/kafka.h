// Kafka source and sink on librdkafka. The only place (with
// embedded_broker.cc) where librdkafka property names appear.
//
// KafkaSource: a consumer-group member with cooperative-sticky assignment,
// manual offsets (auto commit and auto offset store off). On assignment it
// asks its AssignmentListener where to start each partition (recstream's
// state store holds the truth) and resumes at the newer of that and the
// group's committed offset (newer: another instance owned the partition in
// between). On revocation it commits the last checkpointed offsets
// synchronously before letting the partitions go. Records of partitions
// revoked during a poll are dropped from that poll, so a batch only holds
// partitions still owned.
//
// KafkaSink: an idempotent producer (acks=all, no reordering on retry);
// delivery reports are served on every Poll()/AwaitDelivery(); QUEUE_FULL is
// handled by serving reports and retrying.
//
// Concurrency: each object belongs to the thread that drives it; listener
// callbacks run on that thread, inside Poll().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stream/record.h"

namespace RdKafka {
class KafkaConsumer;
class Producer;
class Topic;
class Message;
}  // namespace RdKafka

namespace recstream::stream {

struct KafkaOptions {
  std::string brokers;                  // bootstrap servers
  std::string group_id = "recstream";   // Default: recstream
  std::string client_id = "recstream";  // Default: recstream
  // How often the checkpointed offsets are committed to the group. RocksDB
  // holds the truth for this instance; the group's copy tells the next owner
  // of a partition where to start (revoked partitions are committed at once,
  // synchronously; none are sent during a cooperative rebalance, see
  // kafka.cc). Default: 1 s.
  std::chrono::milliseconds commit_interval{1000};
  // A partition whose stored offset lies outside its log when it is
  // assigned: past the log end (the topic was deleted and recreated, or the
  // state is from another cluster) or before the log start (retention
  // deleted records this instance never read). kFail: the source stops
  // with an error that names the partition, the offset and the log's range.
  // kReset: resume at the log start, with a warning and the counters
  // offset_resets() / records_skipped(). Default: kFail.
  // The same policy applies to records deleted while this instance is
  // assigned but behind (retention, or the embedded broker's cap, overtook
  // it): seen as a jump in offsets past the partition's log start.
  enum class OutOfRange : uint8_t { kFail, kReset };
  OutOfRange offset_out_of_range = OutOfRange::kFail;
  // The broker deletes nothing on its own schedule and its topics were
  // created empty by this process (the embedded broker): a partition read
  // from its start must begin at offset 0, and one that does not lost
  // records before anyone read them. Not a configuration key.
  bool log_starts_at_zero = false;
  // librdkafka properties by their own names, applied after recstream's
  // own. The keys recstream's guarantees rest on are refused (ManagedKey).
  std::map<std::string, std::string> consumer;
  std::map<std::string, std::string> producer;
};

// Who owns a librdkafka property that recstream sets itself, or empty when
// [kafka.consumer] / [kafka.producer] may set it. A pass-through value for a
// managed key is an error naming its owner: overriding group.id or the
// offset-commit settings would desynchronise Kafka's offsets and the state
// store, and the hand-over commits assume cooperative-sticky assignment.
std::string_view ManagedConsumerKey(std::string_view name);
std::string_view ManagedProducerKey(std::string_view name);

class AssignmentListener {
 public:
  virtual ~AssignmentListener() = default;
  // Partitions were assigned: set each offset to the stored next offset, or
  // leave kNoStoredOffset to start from the group's committed offset.
  virtual void OnAssigned(std::vector<TopicPartitionOffset>& partitions) = 0;
  // Partitions were revoked (the batch in flight is already checkpointed;
  // after the call the source commits the last checkpointed offsets of these
  // partitions synchronously, so their next owner starts right after them).
  virtual void OnRevoked(const std::vector<TopicPartitionOffset>& partitions) = 0;
};

class KafkaSource final : public RecordSource {
 public:
  static Status Create(const KafkaOptions& opt, const std::vector<std::string>& topics,
                       AssignmentListener* listener, std::unique_ptr<KafkaSource>* out);
  ~KafkaSource() override;

  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) override;
  Status Commit(const std::vector<TopicPartitionOffset>& next) override;
  // Leaves the group (revokes partitions through the listener).
  void Close();
  std::vector<TopicPartitionOffset> Assignment() const;
  // Where the consumer stands on each assigned partition (for the lag
  // metric): position = next offset it will hand out (-1 unknown); low/high
  // = the watermarks librdkafka cached from its last fetch response (-1
  // unknown). No broker round trip. Thread-safe (librdkafka calls only).
  struct PartitionPosition {
    std::string topic;
    int32_t partition = 0;
    int64_t position = -1, low = -1, high = -1;
  };
  std::vector<PartitionPosition> Positions() const;
  // Partitions resumed at the log start because their stored offset was out
  // of range (KafkaOptions::offset_out_of_range = kReset), and the records
  // that skipped (those retention deleted; a recreated topic skips none of
  // its own). Any thread.
  uint64_t offset_resets() const;
  uint64_t records_skipped() const;
  // Partitions assigned with no stored offset whose group had committed
  // one: they resumed there with none of their earlier state (a new or
  // wiped state.dir, or a partition that moved here). Any thread.
  uint64_t started_without_state() const;
  // librdkafka's latest statistics JSON (STATISTICS.md; every
  // statistics.interval.ms, 5 s by default), "" before the first. Any thread.
  std::string Statistics() const;

  class Rebalancer;  // librdkafka callback adapter (kafka.cc)

 private:
  KafkaSource() = default;
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<std::unique_ptr<RdKafka::Message>> held_;  // backing the views
  bool closed_ = false;
  // Asynchronous group commits, at most one per commit_interval_.
  void MaybeCommit();
  std::chrono::milliseconds commit_interval_{1000};
  std::chrono::steady_clock::time_point last_commit_{};
  bool commit_pending_ = false;
};

// A global table's source (as Kafka Streams' GlobalKTable): every partition
// of one topic, read by every instance with its own consumer, outside the
// group's assignment — the catalog, which each instance needs in full while
// the events are split between instances. It resumes each partition at the
// offset stored with the state (stored_offset; kNoStoredOffset: from the
// start) and never commits to a group: the state store holds its position.
// Partitions added to the topic later are found within a minute.
class GlobalTableSource final : public RecordSource {
 public:
  using StoredOffset = std::function<int64_t(const std::string& topic, int32_t partition)>;
  static Status Create(const KafkaOptions& opt, std::string topic, StoredOffset stored,
                       std::unique_ptr<GlobalTableSource>* out);
  ~GlobalTableSource() override;

  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) override;
  Status Commit(const std::vector<TopicPartitionOffset>&) override { return Status::OK(); }
  // Read up to the end each partition had when it was found: what the table
  // held at start-up has been handed out. Any thread.
  bool caught_up() const { return caught_up_.load(std::memory_order_acquire); }
  const std::string& topic() const { return topic_; }
  void Close();

 private:
  GlobalTableSource() = default;
  Status Discover();
  void UpdateCaughtUp();
  std::string topic_;
  StoredOffset stored_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<std::unique_ptr<RdKafka::Message>> held_;
  // Per partition: the end it had when found, and the next offset to read.
  std::map<int32_t, std::pair<int64_t, int64_t>> progress_;
  std::atomic<bool> caught_up_{false};
  std::chrono::steady_clock::time_point next_discovery_{};
  bool closed_ = false;
};

// The task's source when a global table is configured: until the table has
// caught up, only its records (the events wait, so that none is processed
// against a partial catalog); then both, the table's first. Offsets of the
// table's topic are not committed to the group.
class GlobalAndGroupSource final : public RecordSource {
 public:
  GlobalAndGroupSource(GlobalTableSource& global, RecordSource& group) : global_(global), group_(group) {}
  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) override;
  Status Commit(const std::vector<TopicPartitionOffset>& next) override;

 private:
  GlobalTableSource& global_;
  RecordSource& group_;
  std::vector<Record> group_records_;
  std::vector<TopicPartitionOffset> group_next_;
};

class KafkaSink final : public RecordSink {
 public:
  static Status Create(const KafkaOptions& opt, std::unique_ptr<KafkaSink>* out);
  ~KafkaSink() override;

  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const Header> headers = {}) override;
  Status AwaitDelivery(std::chrono::milliseconds timeout) override;
  void Poll() override;
  // Flushes on shutdown; returns the number of messages still undelivered.
  int Flush(std::chrono::milliseconds timeout);
  uint64_t delivered() const { return delivered_; }
  // As KafkaSource::Statistics, for the producer.
  std::string Statistics() const;

  class Reporter;  // delivery report callback (kafka.cc)

 private:
  KafkaSink() = default;
  // The handle of an output topic, created on first use: producing by name
  // looks the topic up (and allocates its name) on every message.
  RdKafka::Topic* TopicHandle(std::string_view topic, Status* error);
  std::unique_ptr<Reporter> reporter_;
  std::unique_ptr<RdKafka::Producer> producer_;
  // After producer_: destroyed before it.
  std::vector<std::pair<std::string, std::unique_ptr<RdKafka::Topic>>> topics_;
  std::atomic<int64_t> in_flight_{0};
  uint64_t delivered_ = 0;
  friend class Reporter;
};

}  // namespace recstream::stream
