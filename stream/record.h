// The record types that cross the stream boundary, and the narrow interfaces
// of the outside world: RecordSource (Kafka consumer, file reader) and
// RecordSink (Kafka producer, file writer). Operators see only these.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stream/status.h"

namespace recstream::stream {

// One input message. The views stay valid until the source's next Poll().
struct Record {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // message timestamp; 0 when the source has none
  std::string_view key;
  std::string_view value;
  bool value_null = false;   // a Kafka tombstone (no value at all)
  // The bytes as they arrived when the source converted them (a CSV row);
  // empty when value is the original.
  std::string_view original;
  std::string_view original_bytes() const { return original.empty() ? value : original; }
  // A record longer than its source keeps (a file line past the source's
  // line bound) holds only a prefix; these give the whole record's size and
  // FNV-1a 64 hash. 0: the record is whole.
  uint64_t whole_size = 0;
  uint64_t whole_fnv1a64 = 0;
  size_t size() const { return whole_size != 0 ? whole_size : value.size(); }
};

struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // the next offset to read
};
inline constexpr int64_t kNoStoredOffset = -1;

struct Header {
  std::string_view name;
  std::string_view value;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Appends up to max records to out (cleared first), waiting up to timeout
  // for the first one. Records of one partition come in offset order.
  virtual Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) = 0;
  // Records that the state up to these offsets is durable (Kafka: async
  // commit to the group). Best effort: the truth is in the state store.
  virtual Status Commit(const std::vector<TopicPartitionOffset>& next) = 0;
  // True when a finite source (a file) has nothing more to give.
  virtual bool exhausted() const { return false; }
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Queues one message; value == nullopt produces a tombstone.
  virtual Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                         std::span<const Header> headers = {}) = 0;
  // Serves delivery reports until every queued message is delivered or the
  // timeout passes. An error if any delivery failed since the last call.
  virtual Status AwaitDelivery(std::chrono::milliseconds timeout) = 0;
  // Serves delivery reports without blocking.
  virtual void Poll() {}
  // Where the sink's own output stands, for a sink whose output belongs to
  // the checkpoint (a file: bytes written, as a pseudo-partition): appended
  // to the input offsets of each checkpoint, so that a resume can cut what
  // was written after it. Kafka sinks have none.
  virtual void AppendPositions(std::vector<TopicPartitionOffset>& out) const {}
};

// Counts what is produced and discards it: `eval` (which reads the lists
// through the pipeline's observer) and tests that only drive a pipeline.
class CountingSink final : public RecordSink {
 public:
  Status Produce(std::string_view, std::string_view, std::optional<std::string_view>,
                 std::span<const Header>) override {
    ++produced;
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  uint64_t produced = 0;
};

}  // namespace recstream::stream
