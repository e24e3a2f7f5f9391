#include "operators/pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

namespace recstream::operators {

uint64_t HashEventId(std::string_view id) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {
using SteadyClock = std::chrono::steady_clock;

// Adds the time since `since` to a stage counter and restarts the stopwatch.
inline void Lap(PipelineMetrics& m, PipelineMetrics::Stage stage, SteadyClock::time_point& since) {
  const auto now = SteadyClock::now();
  m.stage_ns[stage].fetch_add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - since).count()),
                              std::memory_order_relaxed);
  since = now;
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Pipeline::Pipeline(const PipelineOptions& opt, state::StateDb* db)
    : opt_(opt),
      db_(db),
      model_(opt.items),
      embedding_(opt.embedding, opt.items.type_weight),
      users_(db, opt.user_cache_entries),
      parser_(opt.parse),
      rules_(model_, opt.recommend),
      model_recommender_(model_, embedding_, opt.recommend),
      active_(opt.recommend.use_model ? static_cast<model::Recommender*>(&model_recommender_) : &rules_),
      serializer_(item_ids_, category_ids_),
      now_ms_(WallClockMs) {}

Status Pipeline::Create(const PipelineOptions& opt, state::StateDb* db, std::unique_ptr<Pipeline>* out) {
  std::unique_ptr<Pipeline> p(new Pipeline(opt, db));
  if (db != nullptr) {
    p->model_store_ = std::make_unique<state::ModelStore>(*db);
    auto s = p->model_store_->Load(p->model_, p->item_ids_, p->category_ids_);
    if (!s.ok()) return Status::Corruption("loading the model from the state store: " + s.ToString());
    s = p->model_store_->LoadEmbeddings(p->embedding_);
    if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
    if (!s.ok()) return Status::Corruption("loading the embeddings from the state store: " + s.ToString());
    bool ranker_restored = false;
    s = p->model_store_->LoadRanker(p->model_recommender_.mutable_ranker(), &ranker_restored);
    if (!s.ok()) return Status::Corruption("loading the ranker from the state store: " + s.ToString());
    if (ranker_restored)
      spdlog::info("state: restored the model scorer's blend ({} updates)", p->model_recommender_.ranker().updates());
    s = db->LoadOffsets(&p->offsets_);
    if (!s.ok()) return Status::Corruption("loading stored offsets: " + s.ToString());
    spdlog::info("state: restored {} items ({} with vectors), {} categories, model version {}, {} stored offsets",
                 p->item_ids_.size(), p->embedding_.live_item_rows(), p->category_ids_.size(), p->model_.version(),
                 p->offsets_.size());
  }
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

void Pipeline::OnRevoked(const std::vector<stream::TopicPartitionOffset>&) {
  // Cached users may belong to the revoked partitions and could come back
  // stale after another instance owned them: start cold. Callbacks run inside
  // a poll, between batches; the processor checkpoints before it gets here
  // (Task::CheckpointNow), so usually every cached user is clean. Users not
  // checkpointed yet (inside a coalescing window, or without that hook) are
  // kept until the next checkpoint.
  if (coalescing_ || users_.dirty_count() > 0) drop_cache_after_checkpoint_ = true;
  else users_.DropCache();
}

void Pipeline::BeginWindow(bool coalesce) {
  coalescing_ = coalesce;
  pending_.clear();
  pending_index_.clear();
}

Status Pipeline::EndWindow(stream::RecordSink& sink) {
  coalescing_ = false;
  Status s;
  for (const Pending& p : pending_) {
    if (!s.ok()) break;
    if (p.user_id.empty()) continue;  // forgotten within the window
    model::UserState* user = nullptr;
    if (auto rs = users_.Get(p.user_id, &user); !rs.ok()) return Status::Corruption("user state: " + rs.ToString());
    auto t = SteadyClock::now();
    active_->Recommend(*user, p.event, list_);
    Lap(metrics_, PipelineMetrics::kRecommend, t);
    const Trigger trigger{p.event_id, p.item_id, category_ids_.Name(p.event.category), p.event.type, p.event.ts_ms};
    s = Publish(p.user_id, trigger, sink);
  }
  pending_.clear();
  pending_index_.clear();
  return s;
}

Status Pipeline::Process(std::span<const stream::Record> batch, stream::RecordSink& sink) {
  if (abandoned_) return Status::Aborted("pipeline abandoned after a failed batch; restart from the state store");
  batch_now_ms_ = now_ms_();
  for (const auto& r : batch) {
    Status s = ProcessRecord(r, sink);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status Pipeline::DeadLetter(const stream::Record& r, Reject reason, std::string_view detail,
                            stream::RecordSink& sink) {
  metrics_.CountDeadLetter(reason);
  const std::string partition = std::to_string(r.partition);
  const std::string offset = std::to_string(r.offset);
  // A dead letter is bounded: a message near the broker's limit (or a key
  // as large) would otherwise be copied past the producer's
  // message.max.bytes, fail to produce, stop the processor and stop it again
  // on every restart (a poison pill). Such a payload keeps its first
  // dead_letter_max_bytes bytes, a key its first kDeadLetterMaxKeyBytes;
  // headers give the original size and a hash of the whole (FNV-1a 64, hex)
  // so it can be matched with the source record.
  stream::Header headers[9] = {
      {"recstream.reason", RejectName(reason)},
      {"recstream.detail", detail},
      {"recstream.source.topic", r.topic},
      {"recstream.source.partition", partition},
      {"recstream.source.offset", offset},
  };
  size_t n = 5;
  // Cuts bytes to bound, adding two headers (original size and hash) whose
  // values live in text[0] and text[1].
  std::string texts[4];
  auto cut = [&](std::string_view& bytes, size_t bound, const char* size_name, const char* hash_name,
                 std::string* text) {
    if (bytes.size() <= bound) return false;
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(HashEventId(bytes)));
    text[0] = std::to_string(bytes.size());
    text[1] = hash;
    headers[n++] = {size_name, text[0]};
    headers[n++] = {hash_name, text[1]};
    bytes = bytes.substr(0, bound);
    return true;
  };
  std::string_view value = r.value_null ? std::string_view() : r.original_bytes();
  std::string_view key = r.key;
  const bool cut_value =
      cut(value, opt_.dead_letter_max_bytes, "recstream.original.size", "recstream.original.fnv1a64", &texts[0]);
  const bool cut_key =
      cut(key, kDeadLetterMaxKeyBytes, "recstream.original.key_size", "recstream.original.key_fnv1a64", &texts[2]);
  if (cut_value || cut_key) metrics_.dead_letters_truncated.fetch_add(1, std::memory_order_relaxed);
  std::optional<std::string_view> payload;
  if (!r.value_null) payload = value;
  return sink.Produce(opt_.topics.dead_letters, key, payload, std::span<const stream::Header>(headers, n));
}

Status Pipeline::ProcessRecord(const stream::Record& r, stream::RecordSink& sink) {
  metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
  const bool catalog = !opt_.topics.items.empty() && r.topic == opt_.topics.items;
  auto t = SteadyClock::now();
  Reject rej = parser_.Parse(r, catalog, batch_now_ms_, parsed_, detail_);
  Lap(metrics_, PipelineMetrics::kParse, t);
  if (rej != Reject::kNone) return DeadLetter(r, rej, detail_, sink);
  const ParsedEvent& pe = parsed_;

  switch (pe.kind) {
    case ParsedEvent::Kind::kCatalog: {
      model::ItemId item = item_ids_.Find(pe.item_id);
      model::CategoryId cat = model::kNoId;
      if (!pe.category_id.empty()) cat = category_ids_.Intern(pe.category_id);
      else if (item != model::kNoId && model_.HasItem(item)) cat = model_.item(item).category;
      if (cat == model::kNoId) return DeadLetter(r, Reject::kUnknownItem, "category_id omitted for an unknown item", sink);
      if (item == model::kNoId) item = item_ids_.Intern(pe.item_id);
      model_.UpdateCatalog(item, cat, pe.active);
      metrics_.catalog_updates.fetch_add(1, std::memory_order_relaxed);
      return Status::OK();
    }
    case ParsedEvent::Kind::kForgetUser: {
      users_.Erase(pe.user_id);
      if (auto it = pending_index_.find(pe.user_id); it != pending_index_.end()) {
        pending_[it->second].user_id.clear();  // no list after the tombstone
        pending_index_.erase(it);
      }
      metrics_.tombstones.fetch_add(1, std::memory_order_relaxed);
      return sink.Produce(opt_.topics.recommendations, pe.user_id, std::nullopt);
    }
    case ParsedEvent::Kind::kEvent:
      return ApplyEvent(r, pe, sink);
  }
  return Status::OK();
}

Status Pipeline::ApplyEvent(const stream::Record& r, const ParsedEvent& pe, stream::RecordSink& sink) {
  // Resolve ids without creating any before the event is known to be good.
  model::ItemId item = item_ids_.Find(pe.item_id);
  model::CategoryId cat = model::kNoId;
  if (!pe.category_id.empty()) cat = category_ids_.Find(pe.category_id);
  else if (item != model::kNoId && model_.HasItem(item)) cat = model_.item(item).category;
  else return DeadLetter(r, Reject::kUnknownItem, "category_id omitted and the catalog does not know the item", sink);

  model::UserState* user = nullptr;
  if (auto s = users_.Get(pe.user_id, &user); !s.ok()) return Status::Corruption("user state: " + s.ToString());
  const uint64_t id_hash = pe.event_id.empty() ? 0 : HashEventId(pe.event_id);
  if (!pe.event_id.empty() && user->SawEventId(id_hash))
    return DeadLetter(r, Reject::kDuplicate, "event_id already applied for this user", sink);

  if (!r.key.empty() && r.key != pe.user_id) metrics_.key_mismatch.fetch_add(1, std::memory_order_relaxed);
  if (item == model::kNoId) item = item_ids_.Intern(pe.item_id);
  if (cat == model::kNoId) cat = category_ids_.Intern(pe.category_id);
  const model::Event e{item, cat, pe.type, pe.ts_ms};

  auto t = SteadyClock::now();
  if (observer_) observer_->BeforeApply(pe.user_id, *user, e);
  // The model scorer's blend learns which of the user's candidates was chosen.
  if (opt_.recommend.use_model && model_recommender_.Learn(*user, e))
    metrics_.ranker_updates.fetch_add(1, std::memory_order_relaxed);
  // Learn from the sequence as it was before e, then extend it.
  model_.Learn(e, user->recent);
  if (opt_.recommend.use_model) embedding_.Learn(e, user->recent, model_.item(item).count);
  user->Apply(e, opt_.user, opt_.items.type_weight);
  if (opt_.recommend.use_model) embedding_.UpdateLongTerm(*user, e);
  if (!pe.event_id.empty()) user->RememberEventId(id_hash, opt_.user.dedupe_window);
  users_.MarkDirty(pe.user_id);
  metrics_.events_applied.fetch_add(1, std::memory_order_relaxed);
  Lap(metrics_, PipelineMetrics::kLearn, t);

  Trigger trigger{pe.event_id, pe.item_id, category_ids_.Name(cat), pe.type, pe.ts_ms};
  if (trigger.event_id.empty() && opt_.offset_as_event_id) {
    offset_text_ = std::to_string(r.offset);
    trigger.event_id = offset_text_;
  }
  if (coalescing_) {
    // The list waits for the end of the window; a newer event of the same
    // user in the window replaces this one as its trigger.
    auto [it, fresh] = pending_index_.try_emplace(std::string(pe.user_id), pending_.size());
    if (fresh) pending_.push_back({std::string(pe.user_id), {}, {}, e});
    else metrics_.lists_coalesced.fetch_add(1, std::memory_order_relaxed);
    Pending& p = pending_[it->second];
    p.event_id.assign(trigger.event_id);
    p.item_id.assign(pe.item_id);
    p.event = e;
    return Status::OK();
  }
  active_->Recommend(*user, e, list_);
  Lap(metrics_, PipelineMetrics::kRecommend, t);
  if (observer_) observer_->AfterApply(pe.user_id, *user, e, list_);
  return Publish(pe.user_id, trigger, sink);
}

Status Pipeline::Publish(std::string_view user_id, const Trigger& trigger, stream::RecordSink& sink) {
  auto t = SteadyClock::now();
  const std::string_view json = serializer_.Serialize(user_id, now_ms_(), model_.version(), trigger, list_);
  metrics_.lists_published.fetch_add(1, std::memory_order_relaxed);
  Status s = sink.Produce(opt_.topics.recommendations, user_id, json);
  Lap(metrics_, PipelineMetrics::kPublish, t);
  return s;
}

Status Pipeline::Checkpoint(const std::vector<stream::TopicPartitionOffset>& next) {
  if (abandoned_) return Status::Aborted("pipeline abandoned");
  auto t = SteadyClock::now();
  if (db_ != nullptr) {
    // One batch reused: built afresh per checkpoint, it grew by doubling
    // into new pages every time (the kernel zeroing them was ~10 % of the
    // processing thread in e2e_bench).
    rocksdb::WriteBatch& batch = checkpoint_batch_;
    batch.Clear();
    users_.Flush(batch);
    model_store_->Flush(model_, item_ids_, category_ids_, batch);
    model_store_->FlushEmbeddings(embedding_, batch);
    model_store_->FlushRanker(model_recommender_.ranker(), batch);
    for (const auto& tp : next) db_->PutOffset(batch, tp.topic, tp.partition, tp.offset);
    auto s = db_->Commit(batch);
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
  users_.AfterCommit();
  model_.ClearDirty();
  embedding_.ClearDirty();
  model_recommender_.mutable_ranker().ClearDirty();
  item_ids_.ClearPending();
  category_ids_.ClearPending();
  if (drop_cache_after_checkpoint_) {
    users_.DropCache();
    drop_cache_after_checkpoint_ = false;
  }
  metrics_.batches.fetch_add(1, std::memory_order_relaxed);
  Lap(metrics_, PipelineMetrics::kCheckpoint, t);
  return Status::OK();
}

}  // namespace recstream::operators
