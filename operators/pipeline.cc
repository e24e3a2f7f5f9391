#include "operators/pipeline.h"

#include <spdlog/spdlog.h>

namespace recstream::operators {

Pipeline::Pipeline(const PipelineOptions& opt, state::StateDb* db, const stream::Clock& clock)
    : opt_(opt),
      db_(db),
      task_(AddRecommendationStores(stores_, opt, db)),
      rules_(std::make_unique<model::CrossCategoryRecommender>(*task_.model, opt.recommend)),
      model_recommender_(std::make_unique<model::ModelRecommender>(*task_.model, *task_.embedding, opt.recommend)),
      active_(opt.recommend.use_model ? static_cast<model::Recommender*>(model_recommender_.get()) : rules_.get()),
      context_(stores_, clock,
               stream::DeadLetterOptions{opt.topics.dead_letters, opt.dead_letter_max_bytes, kDeadLetterMaxKeyBytes}) {
  topology_ = BuildRecommendationTopology(TopologyParts{
      opt_, metrics_, *active_, opt.recommend.use_model ? model_recommender_.get() : nullptr, observer_});
}

Pipeline::~Pipeline() {
  if (Status s = topology_->Close(); !s.ok()) spdlog::warn("closing the topology: {}", s.ToString());
}

Status Pipeline::Create(const PipelineOptions& opt, state::StateDb* db, std::unique_ptr<Pipeline>* out,
                        const stream::Clock& clock) {
  std::unique_ptr<Pipeline> p(new Pipeline(opt, db, clock));
  if (db != nullptr) {
    p->model_store_ = std::make_unique<state::ModelStore>(*db);
    p->eraser_ = std::make_unique<state::Eraser>(*db, std::chrono::milliseconds(opt.erasure_interval_ms));
    auto s = p->model_store_->Load(*p->task_.model, *p->task_.item_ids, *p->task_.category_ids);
    if (!s.ok()) return Status::Corruption("loading the model from the state store: " + s.ToString());
    s = p->model_store_->LoadEmbeddings(*p->task_.embedding);
    if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
    if (!s.ok()) return Status::Corruption("loading the embeddings from the state store: " + s.ToString());
    bool ranker_restored = false;
    s = p->model_store_->LoadRanker(p->model_recommender_->mutable_ranker(), &ranker_restored);
    if (!s.ok()) return Status::Corruption("loading the ranker from the state store: " + s.ToString());
    if (ranker_restored)
      spdlog::info("state: restored the model scorer's blend ({} updates)", p->model_recommender_->ranker().updates());
    s = db->LoadOffsets(&p->offsets_);
    if (!s.ok()) return Status::Corruption("loading stored offsets: " + s.ToString());
    spdlog::info("state: restored {} items ({} with vectors), {} categories, model version {}, {} stored offsets",
                 p->task_.item_ids->size(), p->task_.embedding->live_item_rows(), p->task_.category_ids->size(),
                 p->task_.model->version(), p->offsets_.size());
  }
  // After the stores are restored: an operator may read them in Init.
  if (Status s = p->topology_->Init(p->context_); !s.ok()) return Status::InvalidArgument("topology: " + s.ToString());
  *out = std::move(p);
  return Status::OK();
}

int64_t Pipeline::StoredOffset(const std::string& topic, int32_t partition) const {
  auto it = offsets_.find({topic, partition});
  return it == offsets_.end() ? stream::kNoStoredOffset : it->second;
}

void Pipeline::OnAssigned(std::vector<stream::TopicPartitionOffset>& partitions) {
  for (auto& tp : partitions) {
    tp.offset = StoredOffset(tp.topic, tp.partition);
    if (tp.offset != stream::kNoStoredOffset)
      spdlog::info("state: {}[{}] resumes at stored offset {}", tp.topic, tp.partition, tp.offset);
  }
}

void Pipeline::OnRevoked(const std::vector<stream::TopicPartitionOffset>& partitions) {
  // Cached users of the revoked partitions could come back stale after
  // another instance owned them: they leave the cache; the users of the
  // partitions kept stay warm. Callbacks run inside a poll, between batches;
  // the processor checkpoints before it gets here (Task::CheckpointNow), so
  // usually every cached user is clean. Users not checkpointed yet (inside a
  // coalescing window, or without that hook) leave after the next checkpoint.
  for (const auto& tp : partitions)
    if (tp.topic == opt_.topics.events) revoked_.push_back(tp.partition);
  if (context_.coalescing() || task_.users->dirty_count() > 0) return;
  task_.users->DropPartitions(revoked_);
  revoked_.clear();
}

void Pipeline::BeginWindow(bool coalesce) { context_.set_coalescing(coalesce); }

Status Pipeline::EndWindow(stream::RecordSink& sink) {
  context_.set_coalescing(false);
  context_.BeginBatch(sink);
  return context_.Punctuate(stream::Punctuation::kWindowEnd);
}

Status Pipeline::Process(std::span<const stream::Record> batch, stream::RecordSink& sink) {
  if (abandoned_) return Status::Aborted("pipeline abandoned after a failed batch; restart from the state store");
  context_.BeginBatch(sink);
  for (const auto& r : batch) {
    context_.SetRecord(&r);
    if (Status s = topology_->Process(r); !s.ok()) return s;
  }
  return context_.Punctuate(stream::Punctuation::kWallClock);
}

Status Pipeline::Checkpoint(const std::vector<stream::TopicPartitionOffset>& next) {
  if (abandoned_) return Status::Aborted("pipeline abandoned");
  const auto t = PipelineMetrics::StageClock::now();
  std::vector<std::string> erased = task_.users->TakeErasedKeys();
  if (db_ != nullptr) {
    // One batch reused: built afresh per checkpoint, it grew by doubling
    // into new pages every time (the kernel zeroing them was ~10 % of the
    // processing thread in e2e_bench).
    rocksdb::WriteBatch& batch = checkpoint_batch_;
    batch.Clear();
    task_.users->Flush(batch);
    model_store_->Flush(*task_.model, *task_.item_ids, *task_.category_ids, batch);
    model_store_->FlushEmbeddings(*task_.embedding, batch);
    model_store_->FlushRanker(model_recommender_->ranker(), batch);
    for (const auto& tp : next) db_->PutOffset(batch, tp.topic, tp.partition, tp.offset);
    eraser_->PutPending(batch, erased);
    auto s = db_->Commit(batch);
    if (s.ok()) db_->set_stream_time_ms(metrics_.stream_time_ms.load(std::memory_order_relaxed));
    if (!s.ok()) {
      // Nothing of this batch is durable and its offsets are not committed:
      // a restart re-reads it from Kafka. The in-memory state is now ahead
      // of the store, so this pipeline refuses further work.
      abandoned_ = true;
      metrics_.checkpoint_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("state: checkpoint of {} partition offset(s) failed, stopping: {}", next.size(), s.ToString());
      return Status::IoError("state checkpoint failed: " + s.ToString());
    }
  }
  for (const auto& tp : next) offsets_[{tp.topic, tp.partition}] = tp.offset;
  task_.users->AfterCommit();
  task_.model->ClearDirty();
  task_.embedding->ClearDirty();
  model_recommender_->mutable_ranker().ClearDirty();
  task_.item_ids->ClearPending();
  task_.category_ids->ClearPending();
  if (eraser_) eraser_->Add(std::move(erased));
  if (!revoked_.empty()) {
    task_.users->DropPartitions(revoked_);
    revoked_.clear();
  }
  metrics_.batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.AddStageTime(PipelineMetrics::kCheckpoint, t);
  return Status::OK();
}

}  // namespace recstream::operators
