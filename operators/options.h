// The options of the recommendation topology, and the observer hook that
// evaluation uses to watch every applied event.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/options.h"
#include "model/recommender.h"
#include "model/user_state.h"
#include "operators/parse.h"

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
  // forget_user: the older versions of erased users' rows are flushed and
  // compacted off the disk at most this often (state/eraser.h); 0: after
  // every checkpoint that erased. Default: 60 s.
  int64_t erasure_interval_ms = 60'000;
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

}  // namespace recstream::operators
