// PipelineMetrics: the counters of one pipeline. Written by the processing
// thread, readable from any thread (relaxed atomics), e.g. by the admin
// endpoint or the summary printed at exit.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "operators/parse.h"

namespace recstream::operators {

// A latency histogram with fixed buckets, lock-free to observe and to read.
class LatencyHistogram {
 public:
  // Upper bounds in seconds (Prometheus `le`), ascending.
  static constexpr std::array<double, 16> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
  void Observe(std::chrono::nanoseconds d) {
    const double s = std::chrono::duration<double>(d).count();
    size_t i = 0;
    while (i < kBounds.size() && s > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(d.count() > 0 ? d.count() : 0), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Observations in bucket i (i == kBounds.size(): over every bound).
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t sum_ns() const { return sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> count_{0};
};

struct PipelineMetrics {
  using Counter = std::atomic<uint64_t>;
  Counter records_in{0};        // records read from the input topics
  Counter events_applied{0};    // events that changed state and the model
  Counter ranker_updates{0};    // model scorer: events whose item was among the user's candidates (a blend step)
  Counter lists_published{0};   // recommendation lists produced
  Counter tombstones{0};        // forget_user tombstones produced
  Counter users_expired{0};     // users idle past user.expire_after_s, started over
  std::atomic<int64_t> stream_time_ms{0};  // the newest event time applied
  Counter catalog_updates{0};   // catalog messages applied
  Counter key_mismatch{0};      // message key differed from user_id (user_id wins)
  Counter batches{0};           // checkpoints written
  Counter checkpoint_errors{0}; // checkpoints RocksDB refused (the processor stops; offsets stay put)
  std::array<Counter, static_cast<size_t>(Reject::kCount)> dead_letters{};
  // Dead letters whose payload or key was cut to fit the producer
  // (PipelineOptions::dead_letter_max_bytes; headers recstream.original.*).
  Counter dead_letters_truncated{0};
  // Lists not computed because a newer event of the same user in the same
  // coalescing window superseded them (processing.coalesce_ms).
  Counter lists_coalesced{0};
  // From the event's message timestamp (its producer's clock, or the
  // broker's under LogAppendTime) to its list being produced: the freshness
  // a storefront sees, Kafka queueing included. Lists published at the end
  // of a coalescing window and records without a timestamp are not observed.
  LatencyHistogram event_to_list;
  // Processing-thread time per stage, in nanoseconds (steady clock): parse
  // (simdjson + validation), learn (item model, embeddings, the scorer's
  // blend step, user state), recommend (candidates, scoring, diversification),
  // publish (serialisation + handing the message to the sink), checkpoint
  // (the RocksDB WriteBatch and its commit).
  enum Stage : size_t { kParse = 0, kLearn, kRecommend, kPublish, kCheckpoint, kStageCount };
  std::array<Counter, kStageCount> stage_ns{};
  static const char* StageName(size_t s) {
    static const char* const names[] = {"parse", "learn", "recommend", "publish", "checkpoint"};
    return s < kStageCount ? names[s] : "?";
  }

  uint64_t dead_letters_total() const {
    uint64_t n = 0;
    for (const auto& c : dead_letters) n += c.load(std::memory_order_relaxed);
    return n;
  }
  void CountDeadLetter(Reject r) { dead_letters[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed); }

  // Adds the time since `since` to a stage. An operator stops its watch
  // before it forwards: forwarding runs the stages after it.
  using StageClock = std::chrono::steady_clock;
  void AddStageTime(Stage stage, StageClock::time_point since) {
    stage_ns[stage].fetch_add(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(StageClock::now() - since).count()),
        std::memory_order_relaxed);
  }
};

}  // namespace recstream::operators
