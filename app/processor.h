// Processor: one recstream instance on Kafka — state store, pipeline, Kafka
// source and sink, and the task loop — assembled from a Config. It is also
// the admin server's backend (AdminBackend): metrics, readiness, and a user's
// current list and state.
//
// Lifecycle: Open() (opens RocksDB, restores the model, joins the group) ->
// Run(stop) on one thread until stop is set -> Close() (leaves the group,
// flushes the producer). Graceful shutdown: setting stop lets the batch in
// flight finish and checkpoint before Run returns.
//
// Concurrency: Run() drives the pipeline on its thread and holds state_mu_
// for each task round (poll -> process -> deliver -> checkpoint). The
// AdminBackend methods may be called from any thread. Ready and
// WriteMetrics never wait for the loop: they read atomics and a snapshot the
// loop refreshes after each round (snapshot_mu_, held for a copy), so a
// round stuck on the broker (up to processing.delivery_timeout_ms) cannot
// hold /metrics, nor /healthz behind it on the admin thread. The user
// lookups take state_mu_ between two rounds (a waiting request is handed the
// mutex before the next round starts, so requests cannot be starved by the
// loop, and hold it for one lookup only) and give up with kBusy after
// kAdminStateWait. Between rounds every change is checkpointed, so RocksDB
// holds each user's latest state.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "app/admin_server.h"
#include "app/config.h"
#include "operators/pipeline.h"
#include "state/db.h"
#include "stream/kafka.h"
#include "stream/task.h"

namespace recstream::app {

// How long a user lookup (/v1/users/...) waits for the processing loop to
// finish its round before it answers 503.
inline constexpr std::chrono::milliseconds kAdminStateWait{2000};

using operators::LatencyHistogram;
// Appends h as the Prometheus histogram `name` (cumulative buckets, +Inf,
// _sum, _count).
void WriteHistogram(PromWriter& w, std::string_view name, std::string_view help, const LatencyHistogram& h);

class Processor final : public AdminBackend {
 public:
  // bootstrap: the brokers to use (config's, or the embedded broker's).
  static Status Open(const Config& config, const std::string& bootstrap, std::unique_ptr<Processor>* out);
  ~Processor() override;

  Status Run(const std::atomic<bool>& stop);
  void Close();

  const operators::PipelineMetrics& metrics() const { return pipeline_->metrics(); }
  // REQUIRES: not while Run() is running on another thread.
  operators::Pipeline& pipeline() { return *pipeline_; }
  const stream::TaskStats& task_stats() const { return task_->stats(); }
  const LatencyHistogram& batch_latency() const { return batch_latency_; }

  // AdminBackend (any thread).
  bool Ready() override;
  void WriteMetrics(std::string& out) override;
  Lookup UserRecommendations(std::string_view user, std::string& json) override;
  Lookup UserState(std::string_view user, std::string& json) override;

  class CountingSource;
  class RecordingSink;
  class ReadinessListener;

 private:
  Processor() = default;
  // Takes state_mu_ ahead of the task loop's next round, waiting at most
  // `wait` (the lock does not own the mutex when it gave up).
  std::unique_lock<std::timed_mutex> LockBetweenRounds(std::chrono::milliseconds wait = std::chrono::hours(24));
  // What WriteMetrics reports of the loop's state (RefreshSnapshot, after
  // each round, under snapshot_mu_).
  struct Snapshot {
    uint64_t user_hits = 0, user_misses = 0, users_cached = 0, model_version = 0, items = 0, categories = 0;
    uint64_t checkpoints = ~uint64_t{0};  // of the offsets below
    int owned = -1;                        // partitions owned then
    std::map<std::pair<std::string, int32_t>, int64_t> stored_offsets;  // of the owned partitions
  };
  void RefreshSnapshot();
  // REQUIRES: state_mu_ held. False when the user has no stored state.
  bool LoadUser(std::string_view user, model::UserState& state, bool* corrupt);

  Config config_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<operators::Pipeline> pipeline_;
  std::unique_ptr<stream::KafkaSink> sink_;
  std::unique_ptr<stream::KafkaSource> source_;       // the events, through the group
  std::unique_ptr<stream::GlobalTableSource> catalog_;  // the whole catalog (null: no items topic)
  std::unique_ptr<stream::GlobalAndGroupSource> input_;  // both, when there is a catalog
  std::unique_ptr<CountingSource> counting_source_;
  std::unique_ptr<RecordingSink> recording_sink_;
  std::unique_ptr<ReadinessListener> readiness_;
  std::unique_ptr<stream::Task> task_;

  std::timed_mutex state_mu_;           // held by the task loop per round
  std::mutex snapshot_mu_;              // guards snapshot_ and source_ for WriteMetrics
  Snapshot snapshot_;
  std::atomic<int> waiting_{0};         // requests waiting for state_mu_
  std::atomic<bool> running_{false};    // Run() is looping
  std::atomic<bool> finished_{false};   // Run() returned (stopped or failed)
  LatencyHistogram batch_latency_;
};

}  // namespace recstream::app
