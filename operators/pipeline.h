// Pipeline: the recommendation task. It owns the task's stores (users, item
// model, embeddings, id dictionaries — stream::StateStores), the scorers over
// them, and the topology of operators that every input record passes
// (topology.h: parse -> control -> resolve -> dedupe -> learn -> sequence ->
// recommend -> publish), and drives the topology for the task loop:
//   - BatchProcessor: Process runs each record of a batch through the
//     topology; BeginWindow/EndWindow bracket a processing window (coalescing
//     under backlog ends in the kWindowEnd punctuation); Checkpoint writes
//     one RocksDB WriteBatch holding every changed row and the next offsets.
//   - AssignmentListener: a partition resumes from the offset stored with the
//     state.
//
// Concurrency: one thread (the task's) drives a Pipeline; metrics() may be
// read from any thread. Lifecycle: Create() restores the stores from the
// StateDb; after a failed batch (Abandon) the pipeline refuses further work,
// because memory is ahead of the store — the process restarts from the store.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/model_recommender.h"
#include "model/recommender.h"
#include "operators/message.h"
#include "operators/metrics.h"
#include "operators/options.h"
#include "operators/topology.h"
#include "state/db.h"
#include "state/dictionary.h"
#include "state/eraser.h"
#include "state/model_store.h"
#include "state/user_store.h"
#include "stream/clock.h"
#include "stream/kafka.h"
#include "stream/processor.h"
#include "stream/task.h"

namespace recstream::operators {

class Pipeline final : public stream::BatchProcessor, public stream::AssignmentListener {
 public:
  // db may be null: state lives in memory only (eval, tests). clock: the
  // wall clock of generated_ts and of the future-timestamp bound.
  static Status Create(const PipelineOptions& opt, state::StateDb* db, std::unique_ptr<Pipeline>* out,
                       const stream::Clock& clock = stream::SystemClock::Instance());
  ~Pipeline() override;

  Status Process(std::span<const stream::Record> batch, stream::RecordSink& sink) override;
  Status Checkpoint(const std::vector<stream::TopicPartitionOffset>& next) override;
  void Abandon() override { abandoned_ = true; }
  void BeginWindow(bool coalesce) override;
  Status EndWindow(stream::RecordSink& sink) override;
  void OnAssigned(std::vector<stream::TopicPartitionOffset>& partitions) override;
  void OnRevoked(const std::vector<stream::TopicPartitionOffset>& partitions) override;

  // The next offset stored for (topic, partition), or kNoStoredOffset.
  int64_t StoredOffset(const std::string& topic, int32_t partition) const;

  void set_observer(PipelineObserver* o) { observer_ = o; }
  // Must outlive the pipeline (tests and benches: a stopped ManualClock).
  void set_clock(const stream::Clock& clock) { context_.set_clock(clock); }
  // The stages, in order ("parse -> control -> ...").
  std::string Describe() const { return topology_->Describe(); }

  const PipelineMetrics& metrics() const { return metrics_; }
  const model::ItemModel& model() const { return *task_.model; }
  const model::EmbeddingModel& embedding() const { return *task_.embedding; }
  model::Recommender& recommender() { return *active_; }
  // The model scorer (also when the rules scorer is active: its category
  // complements come from the same transition counts).
  model::ModelRecommender& recommender_model() { return *model_recommender_; }
  const state::IdDictionary& item_ids() const { return *task_.item_ids; }
  const state::IdDictionary& category_ids() const { return *task_.category_ids; }
  state::UserStore& users() { return *task_.users; }
  // forget_user's erasure compaction; null without a StateDb.
  state::Eraser* eraser() { return eraser_.get(); }
  const PipelineOptions& options() const { return opt_; }

 private:
  Pipeline(const PipelineOptions& opt, state::StateDb* db, const stream::Clock& clock);

  PipelineOptions opt_;
  state::StateDb* db_;
  std::unique_ptr<state::ModelStore> model_store_;
  // The task's stores (owned by stores_; operators look them up by name).
  stream::StateStores stores_;
  TaskStores task_;  // the same stores, typed
  // The scorers, over the stores.
  std::unique_ptr<model::CrossCategoryRecommender> rules_;
  std::unique_ptr<model::ModelRecommender> model_recommender_;
  model::Recommender* active_;
  PipelineMetrics metrics_;
  PipelineObserver* observer_ = nullptr;
  stream::ProcessorContext context_;
  std::unique_ptr<stream::Topology> topology_;
  state::OffsetMap offsets_;
  bool abandoned_ = false;
  std::vector<int32_t> revoked_;  // users of these partitions leave the cache after the next checkpoint
  std::unique_ptr<state::Eraser> eraser_;  // declared last: destroyed (and its last run done) first
  rocksdb::WriteBatch checkpoint_batch_;  // Checkpoint's, reused
};

// Stable 64-bit FNV-1a (persisted: the de-duplication ring stores it).
inline uint64_t HashEventId(std::string_view id) { return stream::Fnv1a64(id); }

}  // namespace recstream::operators
