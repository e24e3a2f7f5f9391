#include "app/processor.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <thread>

#include "state/model_codec.h"
#include "stream/json_writer.h"

namespace recstream::app {

namespace {
int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Per-topic counters for a fixed set of topic names (the configured ones);
// anything else counts under "other". Written by the task thread, read anywhere.
class TopicCounters {
 public:
  void Add(const std::string& topic) {
    if (!topic.empty()) names_.push_back(topic);
  }
  void Count(std::string_view topic, uint64_t n = 1) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == topic) {
        counts_[i].fetch_add(n, std::memory_order_relaxed);
        return;
      }
    }
    counts_[kMax - 1].fetch_add(n, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < names_.size(); ++i) fn(std::string_view(names_[i]), counts_[i].load(std::memory_order_relaxed));
    if (const uint64_t other = counts_[kMax - 1].load(std::memory_order_relaxed); other > 0) fn("other", other);
  }

 private:
  static constexpr size_t kMax = 8;
  std::vector<std::string> names_;  // fixed before the first Count
  std::array<std::atomic<uint64_t>, kMax> counts_{};
};
}  // namespace

// ------------------------------------------------------------------ probes

namespace {

// librdkafka's statistics (STATISTICS.md) of the consumer and the producer:
// round trips per broker, whether each broker is up, the requests waiting to
// be served, the producer's queue. Nothing before the first statistics
// event (statistics.interval.ms after start).
void WriteKafkaStatistics(PromWriter& w, const std::string& consumer, const std::string& producer) {
  struct Broker {
    std::string client, name;
    double rtt_avg, rtt_p99;
    bool up;
  };
  std::vector<Broker> brokers;
  std::vector<std::pair<std::string, double>> replyq;
  double queue_messages = -1, queue_bytes = -1;
  simdjson::dom::parser parser;
  for (const auto& [client, json] : {std::pair<std::string, const std::string*>{"consumer", &consumer},
                                     std::pair<std::string, const std::string*>{"producer", &producer}}) {
    simdjson::dom::element doc;
    if (json->empty() || parser.parse(*json).get(doc) != simdjson::SUCCESS) continue;
    int64_t v = 0;
    if (doc["replyq"].get(v) == simdjson::SUCCESS) replyq.emplace_back(client, static_cast<double>(v));
    if (client == "producer") {
      if (doc["msg_cnt"].get(v) == simdjson::SUCCESS) queue_messages = static_cast<double>(v);
      if (doc["msg_size"].get(v) == simdjson::SUCCESS) queue_bytes = static_cast<double>(v);
    }
    simdjson::dom::object bs;
    if (doc["brokers"].get(bs) != simdjson::SUCCESS) continue;
    for (auto [name, b] : bs) {
      int64_t nodeid = -1, avg = 0, p99 = 0;
      std::string_view state;
      if (b["nodeid"].get(nodeid) != simdjson::SUCCESS || nodeid < 0) continue;  // bootstrap entries
      // A missing field (an older librdkafka) reads as 0 / not up.
      if (b["rtt"]["avg"].get(avg) != simdjson::SUCCESS) avg = 0;
      if (b["rtt"]["p99"].get(p99) != simdjson::SUCCESS) p99 = 0;
      if (b["state"].get(state) != simdjson::SUCCESS) state = {};
      brokers.push_back({client, std::string(name), static_cast<double>(avg) / 1e6, static_cast<double>(p99) / 1e6,
                         state == "UP"});
    }
  }
  std::string labels;
  const auto broker_labels = [&](const Broker& b) {
    labels.clear();
    PromWriter::Label(labels, "client", b.client);
    PromWriter::Label(labels, "broker", b.name);
    return labels;
  };
  w.Family("recstream_kafka_broker_rtt_avg_seconds", "gauge",
           "librdkafka: mean request round trip to the broker over the last statistics window.");
  for (const auto& b : brokers) w.Sample("recstream_kafka_broker_rtt_avg_seconds", broker_labels(b), b.rtt_avg);
  w.Family("recstream_kafka_broker_rtt_p99_seconds", "gauge",
           "librdkafka: p99 request round trip to the broker over the last statistics window.");
  for (const auto& b : brokers) w.Sample("recstream_kafka_broker_rtt_p99_seconds", broker_labels(b), b.rtt_p99);
  w.Family("recstream_kafka_broker_up", "gauge", "librdkafka: 1 while the connection to the broker is up.");
  for (const auto& b : brokers) w.Sample("recstream_kafka_broker_up", broker_labels(b), b.up ? 1.0 : 0.0);
  w.Family("recstream_kafka_replyq", "gauge", "librdkafka: operations waiting for the application to serve them.");
  for (const auto& [client, v] : replyq) {
    labels.clear();
    PromWriter::Label(labels, "client", client);
    w.Sample("recstream_kafka_replyq", labels, v);
  }
  if (queue_messages >= 0) {
    w.Family("recstream_kafka_producer_queue_messages", "gauge",
             "librdkafka: messages in the producer's queues, not yet delivered.");
    w.Sample("recstream_kafka_producer_queue_messages", "", queue_messages);
    w.Family("recstream_kafka_producer_queue_bytes", "gauge", "librdkafka: bytes of those messages.");
    w.Sample("recstream_kafka_producer_queue_bytes", "", queue_bytes);
  }
}

}  // namespace

void WriteHistogram(PromWriter& w, std::string_view name, std::string_view help, const LatencyHistogram& h) {
  using B = LatencyHistogram;
  w.Family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  // Read the count last-bucket-first so that, under concurrent observation,
  // the cumulative buckets never exceed _count.
  uint64_t cumulative = 0;
  std::array<uint64_t, B::kBounds.size() + 1> b{};
  const uint64_t count = h.count();
  for (size_t i = 0; i < b.size(); ++i) b[i] = h.bucket(i);
  for (size_t i = 0; i < B::kBounds.size(); ++i) {
    cumulative += b[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", B::kBounds[i]);
    std::string labels;
    PromWriter::Label(labels, "le", le);
    w.Sample(bucket, labels, std::min(cumulative, count));
  }
  w.Sample(bucket, "le=\"+Inf\"", count);
  w.Sample(std::string(name) + "_sum", "", static_cast<double>(h.sum_ns()) / 1e9);
  w.Sample(std::string(name) + "_count", "", count);
}

// Counts the records the task polls, per input topic.
class Processor::CountingSource final : public stream::RecordSource {
 public:
  CountingSource(stream::RecordSource& inner, const operators::Topics& t) : inner_(inner) {
    in.Add(t.events);
    in.Add(t.items);
  }
  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<stream::Record>& out) override {
    Status s = inner_.Poll(max, timeout, out);
    for (const auto& r : out) in.Count(r.topic);
    return s;
  }
  Status Commit(const std::vector<stream::TopicPartitionOffset>& next) override { return inner_.Commit(next); }
  bool exhausted() const override { return inner_.exhausted(); }

  TopicCounters in;

 private:
  stream::RecordSource& inner_;
};

// Counts the messages produced per output topic and keeps the last list
// published for the most recently active users (AdminOptions::lists_kept).
//
// Why keep the last list for GET /recommendations: the output topic's
// contract is "the latest message per user is the truth", so the truest
// answer is that message, byte for byte (same trigger with its event_id,
// same generated_ts and model_version). Recomputing would rank with a model
// that has moved on since, and cannot echo the trigger's event_id (state
// keeps only its hash). Memory stays bounded by an LRU; a user who fell out
// of it (or after a restart) gets a list recomputed from the stored state
// with the last event as trigger (Processor::UserRecommendations).
class Processor::RecordingSink final : public stream::RecordSink {
 public:
  RecordingSink(stream::KafkaSink& inner, const operators::Topics& t, size_t capacity)
      : inner_(inner), recommendations_(t.recommendations), capacity_(capacity) {
    out.Add(t.recommendations);
    out.Add(t.dead_letters);
  }
  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const stream::Header> headers) override {
    Status s = inner_.Produce(topic, key, value, headers);
    if (!s.ok()) return s;
    out.Count(topic);
    if (topic == recommendations_) Remember(key, value);
    return s;
  }
  Status AwaitDelivery(std::chrono::milliseconds timeout) override { return inner_.AwaitDelivery(timeout); }
  void Poll() override { inner_.Poll(); }

  // REQUIRES: state_mu_ held (the task thread writes under it).
  const std::string* LastList(std::string_view user) {
    auto it = lists_.find(std::string(user));
    return it == lists_.end() ? nullptr : &it->second.json;
  }

  TopicCounters out;

 private:
  struct Entry {
    std::string json;
    std::list<std::string>::iterator lru;
  };
  void Remember(std::string_view key, std::optional<std::string_view> value) {
    if (capacity_ == 0) return;
    scratch_.assign(key);
    auto it = lists_.find(scratch_);
    if (!value) {  // a tombstone (forget_user): the user has no list any more
      if (it != lists_.end()) {
        lru_.erase(it->second.lru);
        lists_.erase(it);
      }
      return;
    }
    if (it != lists_.end()) {
      it->second.json.assign(*value);
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return;
    }
    if (lists_.size() >= capacity_) {
      // Full: the least recently published entry becomes this one, its map
      // node, strings and list node reused (no allocation once warm; a list
      // is published per event, mostly for users not in the map).
      auto node = lists_.extract(lru_.back());
      node.key().assign(scratch_);
      node.mapped().json.assign(*value);
      lru_.back().assign(scratch_);
      lru_.splice(lru_.begin(), lru_, std::prev(lru_.end()));
      node.mapped().lru = lru_.begin();
      lists_.insert(std::move(node));
      return;
    }
    lru_.push_front(scratch_);
    lists_.emplace(scratch_, Entry{std::string(*value), lru_.begin()});
  }

  stream::KafkaSink& inner_;
  std::string recommendations_;
  size_t capacity_;
  std::unordered_map<std::string, Entry> lists_;
  std::list<std::string> lru_;  // front: most recently published
  std::string scratch_;
};

// Forwards assignments to the pipeline (stored offsets) and tracks readiness.
class Processor::ReadinessListener final : public stream::AssignmentListener {
 public:
  explicit ReadinessListener(stream::AssignmentListener& inner) : inner_(inner) {}
  void OnAssigned(std::vector<stream::TopicPartitionOffset>& partitions) override {
    inner_.OnAssigned(partitions);
    size_t resumed = 0;
    for (const auto& tp : partitions) resumed += tp.offset != stream::kNoStoredOffset;
    owned.fetch_add(static_cast<int>(partitions.size()), std::memory_order_relaxed);
    assigned.store(true, std::memory_order_release);
    spdlog::debug("state: {} partition(s) assigned, {} resume at stored offsets; {} owned", partitions.size(), resumed,
                 owned.load(std::memory_order_relaxed));
  }
  void OnRevoked(const std::vector<stream::TopicPartitionOffset>& partitions) override {
    // Make everything processed durable first: the source then commits it
    // to the group, and the next owner starts right after it.
    if (before_revoke) before_revoke().PermitUncheckedError();  // a failure stops the task's next round
    inner_.OnRevoked(partitions);
    owned.fetch_sub(static_cast<int>(partitions.size()), std::memory_order_relaxed);
    spdlog::debug("state: {} partition(s) revoked; {} owned", partitions.size(), owned.load(std::memory_order_relaxed));
  }
  // The group handed this instance its first assignment (possibly empty, when
  // there are more instances than partitions) and the stored offsets were applied.
  std::atomic<bool> assigned{false};
  std::atomic<int> owned{0};
  std::function<Status()> before_revoke;  // set once the task exists

 private:
  stream::AssignmentListener& inner_;
};

// --------------------------------------------------------------- lifecycle

Status Processor::Open(const Config& config, const std::string& bootstrap, std::unique_ptr<Processor>* out) {
  std::unique_ptr<Processor> p(new Processor());
  p->config_ = config;
  p->config_.kafka.brokers = bootstrap;
  auto s = state::StateDb::Open(config.state, &p->db_);
  if (!s.ok()) return Status::IoError("state store " + config.state.dir + ": " + s.ToString());
  Status st = operators::Pipeline::Create(config.pipeline, p->db_.get(), &p->pipeline_);
  if (!st.ok()) return st;
  st = stream::KafkaSink::Create(p->config_.kafka, &p->sink_);
  if (!st.ok()) return st;
  // The group splits the events between instances; the catalog is a global
  // table every instance reads in full, before it serves.
  p->readiness_ = std::make_unique<ReadinessListener>(*p->pipeline_);
  st = stream::KafkaSource::Create(p->config_.kafka, {config.pipeline.topics.events}, p->readiness_.get(),
                                   &p->source_);
  if (!st.ok()) return st;
  stream::RecordSource* input = p->source_.get();
  if (!config.pipeline.topics.items.empty()) {
    operators::Pipeline* pipeline = p->pipeline_.get();
    st = stream::GlobalTableSource::Create(
        p->config_.kafka, config.pipeline.topics.items,
        [pipeline](const std::string& topic, int32_t partition) { return pipeline->StoredOffset(topic, partition); },
        &p->catalog_);
    if (!st.ok()) return st;
    p->input_ = std::make_unique<stream::GlobalAndGroupSource>(*p->catalog_, *p->source_);
    input = p->input_.get();
  }
  p->counting_source_ = std::make_unique<CountingSource>(*input, config.pipeline.topics);
  p->recording_sink_ = std::make_unique<RecordingSink>(*p->sink_, config.pipeline.topics, config.admin.lists_kept);
  p->task_ = std::make_unique<stream::Task>(*p->counting_source_, *p->recording_sink_, *p->pipeline_, config.task);
  p->readiness_->before_revoke = [task = p->task_.get()] { return task->CheckpointNow(); };
  *out = std::move(p);
  return Status::OK();
}

Processor::~Processor() { Close(); }

Status Processor::Run(const std::atomic<bool>& stop) {
  // Task::Run's loop, with the round under state_mu_ (admin requests read
  // state between rounds) and its latency observed.
  Status s;
  while (!stop.load(std::memory_order_relaxed)) {
    // Hand the mutex to a waiting request before taking it again: without
    // this the loop, which re-locks at once, could starve it indefinitely.
    while (waiting_.load(std::memory_order_acquire) > 0 && !stop.load(std::memory_order_relaxed))
      std::this_thread::yield();
    size_t got = 0;
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::timed_mutex> lock(state_mu_);
      s = task_->RunOnce(&got);
      RefreshSnapshot();
    }
    if (!s.ok()) break;
    if (got > 0) batch_latency_.Observe(std::chrono::steady_clock::now() - t0);
    if (got == 0 && counting_source_->exhausted()) break;
  }
  if (s.ok()) {
    // What was processed since the last checkpoint (stopped between two).
    std::lock_guard<std::timed_mutex> lock(state_mu_);
    s = task_->CheckpointNow();
    RefreshSnapshot();
  }
  finished_.store(true, std::memory_order_release);
  if (!s.ok()) {
    spdlog::error("processing stopped: {} (what was not checkpointed is re-read after a restart)", s.ToString());
    return s;
  }
  return recording_sink_->AwaitDelivery(config_.task.delivery_timeout);
}

void Processor::Close() {
  if (source_) {
    readiness_->assigned.store(false, std::memory_order_release);
    source_->Close();
    if (catalog_) catalog_->Close();
    std::lock_guard<std::mutex> lock(snapshot_mu_);  // WriteMetrics reads source_
    source_.reset();
  }
  if (sink_) {
    const int left = sink_->Flush(std::chrono::milliseconds(static_cast<int64_t>(config_.shutdown_timeout_s * 1000)));
    if (left > 0) spdlog::error("shutdown: {} output message(s) still queued", left);
    std::lock_guard<std::mutex> lock(snapshot_mu_);  // and sink_
    sink_.reset();
  }
}

// ------------------------------------------------------------ admin backend

std::unique_lock<std::timed_mutex> Processor::LockBetweenRounds(std::chrono::milliseconds wait) {
  waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock<std::timed_mutex> lock(state_mu_, wait);
  waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

void Processor::RefreshSnapshot() {
  // On the loop's thread, state_mu_ held. The offsets change only with a
  // checkpoint: copied then, not every round.
  const auto& users = pipeline_->users();
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  Snapshot& sn = snapshot_;
  sn.user_hits = users.hits();
  sn.user_misses = users.misses();
  sn.users_cached = users.cached();
  sn.model_version = pipeline_->model().version();
  sn.items = pipeline_->item_ids().size();
  sn.categories = pipeline_->category_ids().size();
  const int owned = readiness_->owned.load(std::memory_order_relaxed);
  if ((sn.checkpoints != task_->stats().checkpoints || sn.owned != owned) && source_) {
    sn.checkpoints = task_->stats().checkpoints;
    sn.owned = owned;
    sn.stored_offsets.clear();
    for (const auto& t : source_->Assignment())
      sn.stored_offsets[{t.topic, t.partition}] = pipeline_->StoredOffset(t.topic, t.partition);
  }
}

bool Processor::Ready() {
  // Not ready before the first assignment, and no longer once Close() left
  // the group (a load balancer drains the instance during shutdown).
  // Nor before the catalog is read up to where it stood at start-up.
  return readiness_->assigned.load(std::memory_order_acquire) && !finished_.load(std::memory_order_acquire) &&
         (catalog_ == nullptr || catalog_->caught_up());
}


bool Processor::LoadUser(std::string_view user, model::UserState& state, bool* corrupt) {
  *corrupt = false;
  // A user's state is kept under the partition of their events: look in
  // each events partition this instance owns (the admin thread holds the
  // loop between rounds, so the assignment does not change meanwhile).
  std::vector<int32_t> partitions;
  if (source_) {
    for (const auto& t : source_->Assignment())
      if (t.topic == config_.pipeline.topics.events) partitions.push_back(t.partition);
  }
  std::string key, row;
  for (int32_t p : partitions) {
    // The cache first: it holds users changed since the last checkpoint.
    if (const model::UserState* cached = pipeline_->users().Peek(p, user)) {
      if (cached->empty()) continue;
      state = *cached;
      return true;
    }
    db_->user_keys().Key(p, user, &key);
    auto s = db_->Get(state::Cf::kUsers, key, &row);
    if (s.IsNotFound()) continue;
    if (!s.ok() || !state::DecodeUser(row, state)) {
      *corrupt = true;
      return false;
    }
    if (!state.empty()) return true;
  }
  return false;
}

AdminBackend::Lookup Processor::UserRecommendations(std::string_view user, std::string& json) {
  if (user.size() > config_.pipeline.parse.max_id_bytes) return Lookup::kBadId;  // no such id can exist
  auto lock = LockBetweenRounds(kAdminStateWait);
  if (!lock.owns_lock()) return Lookup::kBusy;
  if (const std::string* last = recording_sink_->LastList(user)) {
    json = *last;
    return Lookup::kFound;
  }
  // Not among the recently published lists: recompute from the stored state
  // with the user's last event as trigger (its event_id is not kept, so the
  // trigger has none), ranked by the current model.
  model::UserState state;
  bool corrupt = false;
  if (!LoadUser(user, state, &corrupt)) return corrupt ? Lookup::kError : Lookup::kUnknownUser;
  const model::UserEvent& last = *state.last();
  const auto& items = pipeline_->item_ids();
  const auto& cats = pipeline_->category_ids();
  if (last.item >= items.size() || last.category >= cats.size()) return Lookup::kError;
  const model::Event e{last.item, last.category, last.type, last.ts_ms};
  std::vector<model::Recommendation> list;
  pipeline_->recommender().Recommend(state, e, list);
  operators::ListSerializer serializer(items, cats);
  const operators::Trigger trigger{"", items.Name(last.item), cats.Name(last.category), last.type, last.ts_ms};
  json = serializer.Serialize(user, WallClockMs(), pipeline_->model().version(), trigger, list);
  return Lookup::kFound;
}

AdminBackend::Lookup Processor::UserState(std::string_view user, std::string& json) {
  if (user.size() > config_.pipeline.parse.max_id_bytes) return Lookup::kBadId;
  auto lock = LockBetweenRounds(kAdminStateWait);
  if (!lock.owns_lock()) return Lookup::kBusy;
  model::UserState state;
  bool corrupt = false;
  if (!LoadUser(user, state, &corrupt)) return corrupt ? Lookup::kError : Lookup::kUnknownUser;
  const auto& items = pipeline_->item_ids();
  const auto& cats = pipeline_->category_ids();
  auto item_name = [&](model::ItemId i) { return i < items.size() ? std::string_view(items.Name(i)) : "?"; };
  auto cat_name = [&](model::CategoryId c) { return c < cats.size() ? std::string_view(cats.Name(c)) : "?"; };
  json.clear();
  stream::JsonWriter w(json);
  w.BeginObject().Key("user_id").String(user).Key("events").Int(static_cast<int64_t>(state.events));
  w.Key("recent").BeginArray();  // oldest first
  for (const auto& e : state.recent) {
    w.BeginObject().Key("item_id").String(item_name(e.item)).Key("category_id").String(cat_name(e.category));
    w.Key("type").String(model::EventTypeName(e.type)).Key("ts").Int(e.ts_ms).EndObject();
  }
  w.EndArray().Key("affinity").BeginArray();  // strongest first; weights are decayed, in log space
  std::vector<model::TopList<model::CategoryId>::Entry> top;
  state.affinity.Top(state.affinity.entries().size(), top);
  for (const auto& a : top)
    w.BeginObject().Key("category_id").String(cat_name(a.key)).Key("log_weight").Number(a.log_weight, 6).EndObject();
  w.EndArray().Key("purchases").BeginArray();
  for (auto i : state.purchases) w.String(item_name(i));
  w.EndArray();
  w.Key("event_ids_remembered").Int(static_cast<int64_t>(
      std::count_if(state.seen_event_ids.begin(), state.seen_event_ids.end(), [](uint64_t h) { return h != 0; })));
  w.Key("long_term_vector_dims").Int(static_cast<int64_t>(state.long_term.size()));
  w.Key("model_version").Int(static_cast<int64_t>(pipeline_->model().version()));
  w.EndObject();
  return Lookup::kFound;
}

void Processor::WriteMetrics(std::string& out) {
  PromWriter w(out);
  std::string labels;
  const auto& m = pipeline_->metrics();
  auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    w.Family(name, "counter", help);
    w.Sample(name, "", v);
  };
  auto gauge = [&](std::string_view name, std::string_view help, double v) {
    w.Family(name, "gauge", help);
    w.Sample(name, "", v);
  };

  w.Family("recstream_records_in_total", "counter", "Records read from an input topic.");
  counting_source_->in.ForEach([&](std::string_view topic, uint64_t n) {
    labels.clear();
    PromWriter::Label(labels, "topic", topic);
    w.Sample("recstream_records_in_total", labels, n);
  });
  w.Family("recstream_records_out_total", "counter",
           "Messages produced to an output topic (lists, tombstones, dead letters).");
  recording_sink_->out.ForEach([&](std::string_view topic, uint64_t n) {
    labels.clear();
    PromWriter::Label(labels, "topic", topic);
    w.Sample("recstream_records_out_total", labels, n);
  });
  counter("recstream_events_applied_total", "Events applied to user state and the model.", m.events_applied.load());
  counter("recstream_lists_published_total", "Recommendation lists produced.", m.lists_published.load());
  counter("recstream_tombstones_total", "forget_user tombstones produced.", m.tombstones.load());
  counter("recstream_users_expired_total",
          "Users idle past user.expire_after_s who started over from empty state at their next event.",
          m.users_expired.load());
  counter("recstream_user_rows_expired_total",
          "User rows RocksDB's compaction dropped as idle past user.expire_after_s (since start).",
          db_->user_rows_expired());
  if (const state::Eraser* e = pipeline_->eraser()) {
    counter("recstream_erasures_total",
            "forget_user erasures done on disk: the user's older rows flushed and compacted away.", e->erased());
    gauge("recstream_erasures_pending", "forget_user erasures waiting for the next erasure compaction.",
          static_cast<double>(e->pending()));
    counter("recstream_erasure_errors_total", "Erasure compactions RocksDB refused (retried).", e->errors());
  }
  counter("recstream_catalog_updates_total", "Catalog messages applied.", m.catalog_updates.load());
  counter("recstream_batches_total", "Batches checkpointed (state and offsets in one RocksDB write).",
          m.batches.load());
  counter("recstream_checkpoint_errors_total", "Checkpoints RocksDB refused (the processor stops).",
          m.checkpoint_errors.load());
  counter("recstream_lists_coalesced_total",
          "Lists not computed: a newer event of the same user in the coalescing window superseded them.",
          m.lists_coalesced.load());
  counter("recstream_dead_letters_truncated_total",
          "Dead letters whose payload (over 512 KiB) or key (over 4 KiB) was cut to fit the producer (headers recstream.original.*).",
          m.dead_letters_truncated.load());
  counter("recstream_ranker_updates_total", "Learning steps of the model scorer's blend.", m.ranker_updates.load());
  w.Family("recstream_stage_seconds_total", "counter", "Processing-thread time per pipeline stage.");
  for (size_t st = 0; st < operators::PipelineMetrics::kStageCount; ++st) {
    labels.clear();
    PromWriter::Label(labels, "stage", operators::PipelineMetrics::StageName(st));
    w.Sample("recstream_stage_seconds_total", labels, static_cast<double>(m.stage_ns[st].load()) / 1e9);
  }
  w.Family("recstream_dead_letters_total", "counter", "Input records sent to the dead-letter topic, by reason.");
  for (size_t r = 1; r < static_cast<size_t>(operators::Reject::kCount); ++r) {
    labels.clear();
    PromWriter::Label(labels, "reason", operators::RejectName(static_cast<operators::Reject>(r)));
    w.Sample("recstream_dead_letters_total", labels, m.dead_letters[r].load());
  }
  WriteHistogram(w, "recstream_batch_duration_seconds",
                 "One task round with records: poll, process, await delivery, checkpoint, commit.", batch_latency_);
  WriteHistogram(w, "recstream_event_to_list_seconds",
                 "From an event's message timestamp to its list being produced (Kafka queueing included).",
                 m.event_to_list);
  gauge("recstream_ready", "1 once partition assignments are restored and the catalog read (as /readyz).",
        Ready() ? 1 : 0);
  gauge("recstream_catalog_caught_up", "1 once the catalog (a global table) is read up to its end at start-up.",
        catalog_ == nullptr || catalog_->caught_up() ? 1 : 0);
  gauge("recstream_assigned_partitions", "Input partitions this instance owns.", readiness_->owned.load());

  // RocksDB's estimates are thread-safe reads of its own counters.
  w.Family("recstream_state_live_data_bytes", "gauge", "RocksDB estimate-live-data-size per column family.");
  std::string keys_samples;
  PromWriter keys(keys_samples);
  for (int cf = 0; cf < static_cast<int>(state::Cf::kCount); ++cf) {
    uint64_t bytes = 0, n = 0;
    db_->raw()->GetIntProperty(db_->handle(static_cast<state::Cf>(cf)), "rocksdb.estimate-live-data-size", &bytes);
    db_->raw()->GetIntProperty(db_->handle(static_cast<state::Cf>(cf)), "rocksdb.estimate-num-keys", &n);
    labels.clear();
    PromWriter::Label(labels, "cf", state::CfName(static_cast<state::Cf>(cf)));
    w.Sample("recstream_state_live_data_bytes", labels, bytes);
    keys.Sample("recstream_state_keys", labels, n);
  }
  w.Family("recstream_state_keys", "gauge", "RocksDB estimate-num-keys per column family.");
  out.append(keys_samples);
  // Compaction debt and write stalls: a stall holds the checkpoint.
  uint64_t sst = 0, pending = 0, stopped = 0, delayed = 0, running = 0;
  for (int cf = 0; cf < static_cast<int>(state::Cf::kCount); ++cf) {
    uint64_t v = 0;
    auto* h = db_->handle(static_cast<state::Cf>(cf));
    if (db_->raw()->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) sst += v;
    if (db_->raw()->GetIntProperty(h, "rocksdb.estimate-pending-compaction-bytes", &v)) pending += v;
  }
  db_->raw()->GetIntProperty("rocksdb.is-write-stopped", &stopped);
  db_->raw()->GetIntProperty("rocksdb.actual-delayed-write-rate", &delayed);
  db_->raw()->GetIntProperty("rocksdb.num-running-compactions", &running);
  gauge("recstream_state_sst_bytes", "Bytes of RocksDB's SST files, all column families.", static_cast<double>(sst));
  gauge("recstream_state_pending_compaction_bytes",
        "RocksDB's estimate of bytes compaction must rewrite to reach its targets (writes slow past a limit).",
        static_cast<double>(pending));
  gauge("recstream_state_running_compactions", "RocksDB compactions running now.", static_cast<double>(running));
  gauge("recstream_state_write_stopped", "1 while RocksDB stops writes (a stall: checkpoints wait).",
        stopped != 0 ? 1 : 0);
  gauge("recstream_state_delayed_write_rate_bytes",
        "The rate RocksDB slows writes to while it delays them, bytes/s (0: no delay).",
        static_cast<double>(delayed));
  WriteProcessMetrics(w);
  std::lock_guard<std::mutex> lock(snapshot_mu_);  // source_ and snapshot_
  counter("recstream_offset_resets_total",
          "Partitions resumed at the log start because their stored offset was outside the log, or gone on "
          "past records deleted before they were read (kafka.offset_out_of_range = \"reset\").",
          source_ ? source_->offset_resets() : 0);
  counter("recstream_offset_reset_skipped_records_total",
          "Records skipped by those resets: deleted by retention before this instance read them.",
          source_ ? source_->records_skipped() : 0);
  WriteKafkaStatistics(w, source_ ? source_->Statistics() : std::string(), sink_ ? sink_->Statistics() : std::string());
  counter("recstream_partitions_started_without_state_total",
          "Partitions assigned with no state in state.dir that resumed at the group's committed offset "
          "(a new or wiped state dir, or a partition moved here).",
          source_ ? source_->started_without_state() : 0);

  // The rest is the processing loop's, as of its last round (never waits
  // for the loop: a round may be stuck on the broker).
  const Snapshot& sn = snapshot_;
  counter("recstream_user_cache_hits_total", "User state lookups served by the in-memory cache.", sn.user_hits);
  counter("recstream_user_cache_misses_total", "User state lookups that went to RocksDB.", sn.user_misses);
  const uint64_t lookups = sn.user_hits + sn.user_misses;
  gauge("recstream_user_cache_hit_ratio", "Hits over lookups since start (0 before any lookup).",
        lookups == 0 ? 0.0 : static_cast<double>(sn.user_hits) / static_cast<double>(lookups));
  gauge("recstream_user_cache_entries", "Users held in memory.", static_cast<double>(sn.users_cached));
  gauge("recstream_model_version", "Version of the item model (one step per applied event).",
        static_cast<double>(sn.model_version));
  gauge("recstream_items", "Items known to the model.", static_cast<double>(sn.items));
  gauge("recstream_categories", "Categories known to the model.", static_cast<double>(sn.categories));

  // Lag: the high watermark librdkafka cached from its last fetch response
  // minus the offset this instance has checkpointed (what a restart would
  // resume from); no broker round trip per scrape.
  w.Family("recstream_consumer_lag", "gauge",
           "Records of an owned partition not yet checkpointed: high watermark minus the checkpointed offset.");
  if (source_) {
    for (const auto& p : source_->Positions()) {
      if (p.high < 0) continue;  // no fetch response yet
      auto it = sn.stored_offsets.find({p.topic, p.partition});
      int64_t from = it == sn.stored_offsets.end() ? stream::kNoStoredOffset : it->second;
      if (from == stream::kNoStoredOffset) from = p.position >= 0 ? p.position : std::max<int64_t>(p.low, 0);
      labels.clear();
      PromWriter::Label(labels, "topic", p.topic);
      PromWriter::Label(labels, "partition", std::to_string(p.partition));
      w.Sample("recstream_consumer_lag", labels, static_cast<uint64_t>(std::max<int64_t>(p.high - from, 0)));
    }
  }
}

}  // namespace recstream::app
