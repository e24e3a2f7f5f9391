// Micro-benchmarks of the event path, on events from the sample-shop
// generator. Figures only: nothing here asserts a timing.
//
//   cmake --build build --target micro_bench && build/bench/micro_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "app/generator.h"
#include "operators/parse.h"
#include "operators/pipeline.h"

namespace recstream {
namespace {

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
  p->set_clock([] { return int64_t{4'000'000'000'000}; });
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

}  // namespace
}  // namespace recstream

BENCHMARK_MAIN();
