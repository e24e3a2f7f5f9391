// TopologyTestDriver: runs a Topology the way a task does, without a broker,
// a state directory or a real clock — records piped in one at a time, outputs
// and dead letters kept in memory per topic, time moved by hand (as Kafka
// Streams' TopologyTestDriver). For the tests of one operator, end a
// topology with a Tap, which hands each message it receives to a function.
//
// Concurrency: one thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stream/clock.h"
#include "stream/processor.h"

namespace recstream::stream {

// A terminal operator that hands each message to fn.
template <class M>
class Tap final : public Operator<M> {
 public:
  explicit Tap(std::function<void(M&)> fn) : fn_(std::move(fn)) {}
  std::string_view name() const override { return "tap"; }
  Status Process(M& m) override {
    fn_(m);
    return Status::OK();
  }

 private:
  std::function<void(M&)> fn_;
};

struct TestOutput {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
  std::map<std::string, std::string> headers;
};

class TopologyTestDriver {
 public:
  TopologyTestDriver(Topology& topology, StateStores& stores, DeadLetterOptions dead_letters = {},
                     int64_t wall_ms = 1'767'225'600'000)
      : topology_(topology), clock_(wall_ms), context_(stores, clock_, std::move(dead_letters)) {}
  ~TopologyTestDriver() { topology_.Close().PermitUncheckedError(); }

  // Inits the topology's operators (they look up stores, schedule).
  Status Init() { return topology_.Init(context_); }

  // One input record; offsets count from 0 per (topic, partition). Inside a
  // window (BeginWindow) it is one more record of the window; outside, a
  // batch of its own, with its wall-clock punctuations after it.
  Status PipeInput(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                   int32_t partition = 0) {
    key_.assign(key);
    value_.assign(value.value_or(""));
    topic_.assign(topic);
    Record r;
    r.topic = topic_;
    r.partition = partition;
    r.offset = next_offset_[{topic_, partition}]++;
    r.key = key_;
    r.value = value_;
    r.value_null = !value.has_value();
    if (!in_window_) context_.BeginBatch(sink_);
    context_.SetRecord(&r);
    Status s = topology_.Process(r);
    context_.SetRecord(nullptr);
    if (s.ok() && !in_window_) s = context_.Punctuate(Punctuation::kWallClock);
    return s;
  }
  // A processing window of the records piped until EndWindow; coalesce: the
  // input is behind (operators may defer outputs to the window's end).
  void BeginWindow(bool coalesce) {
    in_window_ = true;
    context_.BeginBatch(sink_);
    context_.set_coalescing(coalesce);
  }
  Status EndWindow() {
    in_window_ = false;
    context_.set_coalescing(false);
    return context_.Punctuate(Punctuation::kWindowEnd);
  }
  // Moves both readings of the clock and runs the wall-clock punctuations
  // that came due.
  Status AdvanceWallClock(std::chrono::milliseconds by) {
    clock_.Advance(by);
    context_.BeginBatch(sink_);
    return context_.Punctuate(Punctuation::kWallClock);
  }

  // What was produced to topic since the last read, in order; consumed.
  std::vector<TestOutput> ReadOutput(std::string_view topic) {
    std::vector<TestOutput> out;
    auto it = sink_.topics.find(std::string(topic));
    if (it == sink_.topics.end()) return out;
    out.assign(std::make_move_iterator(it->second.begin()), std::make_move_iterator(it->second.end()));
    it->second.clear();
    return out;
  }
  ManualClock& clock() { return clock_; }
  ProcessorContext& context() { return context_; }

 private:
  struct MemorySink final : RecordSink {
    Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                   std::span<const Header> headers) override {
      TestOutput o;
      o.key.assign(key);
      if (value) o.value.emplace(*value);
      for (const Header& h : headers) o.headers[std::string(h.name)] = std::string(h.value);
      topics[std::string(topic)].push_back(std::move(o));
      return Status::OK();
    }
    Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
    std::map<std::string, std::deque<TestOutput>, std::less<>> topics;
  };
  Topology& topology_;
  ManualClock clock_;
  MemorySink sink_;
  ProcessorContext context_;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset_;
  std::string topic_, key_, value_;
  bool in_window_ = false;
};

}  // namespace recstream::stream
