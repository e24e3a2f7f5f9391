// Test scaffolding shared by the unit tests that drive a whole in-memory
// Pipeline with events of the generated shop (app/generator.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/generator.h"
#include "operators/pipeline.h"

namespace recstream::testing {

using stream::CountingSink;

// An in-memory pipeline (no state store) whose clock stands still, so that
// the lists' generated_ts are reproducible; null if Create fails.
inline std::unique_ptr<operators::Pipeline> MemoryPipeline(const operators::PipelineOptions& opt) {
  std::unique_ptr<operators::Pipeline> p;
  if (!operators::Pipeline::Create(opt, nullptr, &p).ok()) return nullptr;
  static const stream::ManualClock frozen(1'767'225'600'000);
  p->set_clock(frozen);
  return p;
}

// Feeds `events` generated events to p in batches of `batch` records (topic
// "events", offsets counting from 0), as the task loop would. Returns false
// if a batch fails; *last_ts (optional) receives the newest event time.
inline bool FeedShop(operators::Pipeline& p, app::Generator& gen, int events, int batch, stream::RecordSink& sink,
                     int64_t* last_ts = nullptr) {
  std::vector<std::string> keys, values;
  std::vector<stream::Record> records;
  for (int done = 0; done < events;) {
    keys.clear();
    values.clear();
    for (int i = 0; i < batch && done + i < events; ++i) {
      auto e = gen.Next();
      if (last_ts) *last_ts = e.ts_ms;
      keys.push_back(e.user_id);
      values.push_back(e.ToJson());
    }
    records.assign(keys.size(), {});
    for (size_t i = 0; i < keys.size(); ++i) {
      records[i].topic = "events";
      records[i].offset = done + static_cast<int64_t>(i);
      records[i].key = keys[i];
      records[i].value = values[i];
    }
    if (!p.Process(records, sink).ok()) return false;
    done += static_cast<int>(records.size());
  }
  return true;
}

}  // namespace recstream::testing
