// Micro-benchmarks of the event path, on events from the sample-shop
// generator: parse, the whole pipeline step, and its parts (state update,
// training step, candidate scoring, serialisation). Figures only: nothing
// here asserts a timing.
//
//   cmake --build build --target micro_bench && build/bench/micro_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "app/generator.h"
#include "operators/parse.h"
#include "operators/pipeline.h"
#include "operators/publish.h"
#include "state/model_codec.h"

namespace recstream {
namespace {

const stream::ManualClock kFrozenClock(4'000'000'000'000);  // generated_ts stands still

struct Corpus {
  std::vector<std::string> keys, values;
};

const Corpus& Events() {
  static const Corpus corpus = [] {
    app::GeneratorOptions g;
    g.seed = 7;
    app::Generator gen(g);
    Corpus c;
    for (int i = 0; i < 200'000; ++i) {
      auto e = gen.Next();
      c.keys.push_back(e.user_id);
      c.values.push_back(e.ToJson());
    }
    return c;
  }();
  return corpus;
}

// Counts what the pipeline produces; drops the bytes.
class NullSink final : public stream::RecordSink {
 public:
  Status Produce(std::string_view, std::string_view, std::optional<std::string_view> value,
                 std::span<const stream::Header>) override {
    bytes += value ? value->size() : 0;
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  size_t bytes = 0;
};

std::vector<stream::Record> Records(size_t begin, size_t n) {
  const Corpus& c = Events();
  std::vector<stream::Record> out(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = (begin + i) % c.values.size();
    out[i].topic = "events";
    out[i].offset = static_cast<int64_t>(begin + i);
    out[i].key = c.keys[j];
    out[i].value = c.values[j];
  }
  return out;
}

void BM_Parse(benchmark::State& st) {
  const Corpus& c = Events();
  operators::Parser parser(operators::ParseOptions{});
  operators::ParsedEvent pe;
  std::string detail;
  size_t i = 0, bytes = 0;
  for (auto _ : st) {
    stream::Record r;
    r.topic = "events";
    r.value = c.values[i];
    bytes += r.value.size();
    auto reject = parser.Parse(r, false, 4'000'000'000'000, pe, detail);
    benchmark::DoNotOptimize(reject);
    if (++i == c.values.size()) i = 0;
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Parse);

// The whole event path in memory: parse, learn, sequence, recommend (K = 20),
// serialise. The model warms up on the first 100k events before timing.
void BM_PipelineEvent(benchmark::State& st) {
  operators::PipelineOptions opt;
  std::unique_ptr<operators::Pipeline> p;
  if (!operators::Pipeline::Create(opt, nullptr, &p).ok()) {
    st.SkipWithError("pipeline");
    return;
  }
  p->set_clock(kFrozenClock);
  NullSink sink;
  constexpr size_t kBatch = 500;
  size_t next = 0;
  for (; next < 100'000; next += kBatch) (void)p->Process(Records(next, kBatch), sink);
  for (auto _ : st) {
    st.PauseTiming();
    auto batch = Records(next, kBatch);
    next += kBatch;
    st.ResumeTiming();
    Status s = p->Process(batch, sink);
    if (!s.ok()) st.SkipWithError(s.ToString().c_str());
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * kBatch));
}
BENCHMARK(BM_PipelineEvent)->Unit(benchmark::kMicrosecond);

// The pipeline warmed on the first 100k events, and the next 10k events
// resolved against its dictionaries, with a copy of each one's user state:
// the inputs of the per-part benchmarks below.
struct Warm {
  std::unique_ptr<operators::Pipeline> p;
  struct Sample {
    std::string user;
    model::Event e;
    model::UserState state;
    std::string item, category;
  };
  std::vector<Sample> samples;
};

const Warm& WarmModel() {
  static const Warm* warm = [] {
    auto* w = new Warm;
    if (!operators::Pipeline::Create(operators::PipelineOptions{}, nullptr, &w->p).ok()) return w;
    w->p->set_clock(kFrozenClock);
    NullSink sink;
    for (size_t next = 0; next < 100'000; next += 500) (void)w->p->Process(Records(next, 500), sink);
    operators::Parser parser(operators::ParseOptions{});
    operators::ParsedEvent pe;
    std::string detail;
    for (const auto& r : Records(100'000, 10'000)) {
      if (parser.Parse(r, false, 4'000'000'000'000, pe, detail) != operators::Reject::kNone) continue;
      const model::ItemId item = w->p->item_ids().Find(pe.item_id);
      const model::CategoryId cat = w->p->category_ids().Find(pe.category_id);
      if (item == model::kNoId || cat == model::kNoId) continue;
      model::UserState* u = nullptr;
      if (!w->p->users().Get(0, pe.user_id, &u).ok() || u == nullptr) continue;
      w->samples.push_back({std::string(pe.user_id), model::Event{item, cat, pe.type, pe.ts_ms}, *u,
                            std::string(pe.item_id), std::string(pe.category_id)});
    }
    return w;
  }();
  return *warm;
}

// State update: the user's sequence, affinity and dedupe ring take the
// event, then the row is encoded as it is written to RocksDB.
void BM_StateUpdate(benchmark::State& st) {
  const Warm& w = WarmModel();
  if (w.samples.empty()) return st.SkipWithError("no samples");
  const auto& opt = w.p->options();
  std::vector<model::UserState> states;
  for (const auto& s : w.samples) states.push_back(s.state);
  std::string row;
  size_t i = 0, bytes = 0;
  for (auto _ : st) {
    model::UserState& u = states[i];
    u.Apply(w.samples[i].e, opt.user, opt.items.type_weight);
    row.clear();
    state::EncodeUser(u, row);
    bytes += row.size();
    benchmark::DoNotOptimize(row.data());
    if (++i == states.size()) i = 0;
  }
  st.SetItemsProcessed(st.iterations());
  st.counters["row_bytes"] = static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(1, st.iterations()));
}
BENCHMARK(BM_StateUpdate);

// Training step: one skip-gram update with negative sampling (64 dims by
// default) against the user's recent events, on its own embedding model that
// was first warmed with the same samples.
void BM_TrainingStep(benchmark::State& st) {
  const Warm& w = WarmModel();
  if (w.samples.empty()) return st.SkipWithError("no samples");
  const auto& opt = w.p->options();
  model::EmbeddingModel emb(opt.embedding, opt.items.type_weight);
  auto seen = [&](model::ItemId item) { return w.p->model().HasItem(item) ? w.p->model().item(item).count : 1u; };
  for (int round = 0; round < 3; ++round)
    for (const auto& s : w.samples) emb.Learn(s.e, s.state.recent, seen(s.e.item));
  size_t i = 0;
  for (auto _ : st) {
    const auto& s = w.samples[i];
    emb.Learn(s.e, s.state.recent, seen(s.e.item));
    if (++i == w.samples.size()) i = 0;
  }
  st.SetItemsProcessed(st.iterations());
  st.counters["dim"] = static_cast<double>(emb.dim());
}
BENCHMARK(BM_TrainingStep);

// Candidate scoring: the model scorer's list (K = 20) for a user and trigger
// on the warm model (gather, score, diversify).
void BM_Recommend(benchmark::State& st) {
  Warm& w = const_cast<Warm&>(WarmModel());
  if (w.samples.empty()) return st.SkipWithError("no samples");
  std::vector<model::Recommendation> out;
  size_t i = 0, n = 0;
  for (auto _ : st) {
    const auto& s = w.samples[i];
    w.p->recommender_model().Recommend(s.state, s.e, out);
    n += out.size();
    if (++i == w.samples.size()) i = 0;
  }
  st.SetItemsProcessed(st.iterations());
  st.counters["list_len"] = static_cast<double>(n) / static_cast<double>(std::max<int64_t>(1, st.iterations()));
}
BENCHMARK(BM_Recommend)->Unit(benchmark::kMicrosecond);

// Serialisation: one output message (the list of K = 20 with its trigger)
// into the reused buffer.
void BM_Serialize(benchmark::State& st) {
  Warm& w = const_cast<Warm&>(WarmModel());
  if (w.samples.empty()) return st.SkipWithError("no samples");
  std::vector<std::vector<model::Recommendation>> lists(std::min<size_t>(w.samples.size(), 1000));
  for (size_t j = 0; j < lists.size(); ++j) w.p->recommender_model().Recommend(w.samples[j].state, w.samples[j].e, lists[j]);
  operators::ListSerializer ser(w.p->item_ids(), w.p->category_ids());
  size_t i = 0, bytes = 0;
  for (auto _ : st) {
    const auto& s = w.samples[i];
    const operators::Trigger t{"e1234567", s.item, s.category, s.e.type, s.e.ts_ms};
    const std::string_view json = ser.Serialize(s.user, 4'000'000'000'000, 17, t, lists[i]);
    bytes += json.size();
    benchmark::DoNotOptimize(json.data());
    if (++i == lists.size()) i = 0;
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Serialize);

}  // namespace
}  // namespace recstream

BENCHMARK_MAIN();
