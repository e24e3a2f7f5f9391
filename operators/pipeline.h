// Pipeline: the stages an event passes, in order —
//
//   parse -> resolve ids -> dedupe -> learn (item model) -> sequence (user
//   state) -> recommend -> publish
//
// plus the two control paths (forget_user, catalog updates) and dead letters
// for every rejected record. Implements the task loop's BatchProcessor
// (Process + Checkpoint: one RocksDB WriteBatch holding every changed row and
// the next offsets) and the Kafka source's AssignmentListener (a partition
// resumes from the offset stored with the state).
//
// Concurrency: one thread (the task's) drives a Pipeline; metrics() may be
// read from any thread. Lifecycle: Create() restores the model from the
// StateDb; after a failed batch (Abandon) the pipeline refuses further work,
// because memory is ahead of the store — the process restarts from the store.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/model_recommender.h"
#include "model/recommender.h"
#include "operators/metrics.h"
#include "operators/parse.h"
#include "operators/publish.h"
#include "state/db.h"
#include "state/dictionary.h"
#include "state/model_store.h"
#include "state/user_store.h"
#include "stream/kafka.h"
#include "stream/task.h"

namespace recstream::operators {

struct Topics {
  std::string events = "events";               // Default: events
  std::string items = "items";                 // Default: items (catalog)
  std::string recommendations = "recommendations";  // Default: recommendations
  std::string dead_letters = "events.dlq";     // Default: events.dlq
};

struct PipelineOptions {
  Topics topics;
  ParseOptions parse;
  model::UserOptions user;
  model::ItemModelOptions items;
  model::EmbeddingOptions embedding;
  model::RecommendOptions recommend;
  // Users kept in memory in front of RocksDB. Default: 100000.
  size_t user_cache_entries = 100'000;
  // A record without event_id gets its source offset (the file line number)
  // as event_id in `trigger` (replay). Default: false.
  bool offset_as_event_id = false;
  // A dead letter keeps at most this much of the original payload, and
  // kDeadLetterMaxKeyBytes of its key, so that it always fits under the
  // producer's message.max.bytes (librdkafka's default: 1,000,000 bytes);
  // a longer one is cut, with its size and hash in headers. Default: 512 KiB.
  size_t dead_letter_max_bytes = 512 * 1024;
};
inline constexpr size_t kDeadLetterMaxKeyBytes = 4096;

// Sees every applied event (evaluation). Called on the processing thread.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // Before e is applied: user is the state in force (possibly empty).
  virtual void BeforeApply(std::string_view user_id, const model::UserState& user, const model::Event& e) = 0;
  // After e is applied and the user's new list computed.
  virtual void AfterApply(std::string_view user_id, const model::UserState& user, const model::Event& e,
                          std::span<const model::Recommendation> list) = 0;
};

class Pipeline final : public stream::BatchProcessor, public stream::AssignmentListener {
 public:
  // db may be null: state lives in memory only (eval, tests).
  static Status Create(const PipelineOptions& opt, state::StateDb* db, std::unique_ptr<Pipeline>* out);

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
  void set_clock(std::function<int64_t()> now_ms) { now_ms_ = std::move(now_ms); }

  const PipelineMetrics& metrics() const { return metrics_; }
  const model::ItemModel& model() const { return model_; }
  const model::EmbeddingModel& embedding() const { return embedding_; }
  model::Recommender& recommender() { return *active_; }
  // The model scorer (also when the rules scorer is active: its category
  // complements come from the same transition counts).
  model::ModelRecommender& recommender_model() { return model_recommender_; }
  const state::IdDictionary& item_ids() const { return item_ids_; }
  const state::IdDictionary& category_ids() const { return category_ids_; }
  state::UserStore& users() { return users_; }
  const PipelineOptions& options() const { return opt_; }

 private:
  Pipeline(const PipelineOptions& opt, state::StateDb* db);
  Status ProcessRecord(const stream::Record& r, stream::RecordSink& sink);
  Status ApplyEvent(const stream::Record& r, const ParsedEvent& pe, stream::RecordSink& sink);
  Status DeadLetter(const stream::Record& r, Reject reason, std::string_view detail, stream::RecordSink& sink);
  // Serialises list_ for user_id with its trigger and queues it on sink.
  Status Publish(std::string_view user_id, const Trigger& trigger, stream::RecordSink& sink);

  PipelineOptions opt_;
  state::StateDb* db_;
  std::unique_ptr<state::ModelStore> model_store_;
  state::IdDictionary item_ids_{'i'};
  state::IdDictionary category_ids_{'c'};
  model::ItemModel model_;
  model::EmbeddingModel embedding_;
  state::UserStore users_;
  Parser parser_;
  model::CrossCategoryRecommender rules_;
  model::ModelRecommender model_recommender_;
  model::Recommender* active_;
  ListSerializer serializer_;
  state::OffsetMap offsets_;
  PipelineMetrics metrics_;
  PipelineObserver* observer_ = nullptr;
  std::function<int64_t()> now_ms_;
  bool abandoned_ = false;
  // Coalescing window (Task::RunOnce): the newest event of each user touched,
  // whose list EndWindow publishes. Strings are copies: the records of the
  // window's first polls are gone by then.
  struct Pending {
    std::string user_id, event_id, item_id;
    model::Event event;
  };
  bool coalescing_ = false;
  bool drop_cache_after_checkpoint_ = false;
  std::vector<Pending> pending_;
  std::unordered_map<std::string, size_t, state::StringHash, std::equal_to<>> pending_index_;
  int64_t batch_now_ms_ = 0;
  rocksdb::WriteBatch checkpoint_batch_;  // Checkpoint's, reused
  // Scratch reused across records.
  ParsedEvent parsed_;
  std::string detail_, offset_text_;
  std::vector<model::Recommendation> list_;
};

// Stable 64-bit FNV-1a (persisted: the de-duplication ring stores it).
uint64_t HashEventId(std::string_view id);

}  // namespace recstream::operators
