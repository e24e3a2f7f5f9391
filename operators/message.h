// What the operators of the recommendation topology (topology.h) hand each
// other, and the names of the task's stores they look up.
//
//   parse ──ParsedEvent──> control ──ParsedEvent──> resolve ──EventMessage──>
//   dedupe ──> learn ──> sequence ──EventMessage──> recommend ──ListMessage──>
//   publish
//
// Views (ids, lists) are valid while the record that caused them is in
// process (or, from a punctuation, until Forward returns).
#pragma once

#include <span>
#include <string_view>

#include "model/recommender.h"
#include "model/types.h"
#include "model/user_state.h"
#include "operators/metrics.h"
#include "operators/parse.h"
#include "operators/publish.h"
#include "stream/processor.h"

namespace recstream::operators {

// The task's stores (operators/pipeline.h registers them; stream::StateStores).
namespace stores {
inline constexpr std::string_view kUsers = "users";              // state::UserStore
inline constexpr std::string_view kItemModel = "item-model";     // model::ItemModel
inline constexpr std::string_view kEmbeddings = "embeddings";    // model::EmbeddingModel
inline constexpr std::string_view kItemIds = "item-ids";         // state::IdDictionary
inline constexpr std::string_view kCategoryIds = "category-ids"; // state::IdDictionary
}  // namespace stores

// An event (or a forget_user request) after parse.
struct EventMessage {
  const ParsedEvent* parsed = nullptr;
  // Resolve: the known ids, kNoId for ids not seen yet (dedupe admits them
  // once the event is accepted, so a rejected event creates none).
  model::ItemId item = model::kNoId;
  model::CategoryId category = model::kNoId;
  // Dedupe on: the user's state (owned by the users store) and the event in
  // model ids.
  model::UserState* user = nullptr;
  uint64_t event_id_hash = 0;  // 0: the event has no event_id
  model::Event event;
  bool forget() const { return parsed->kind == ParsedEvent::Kind::kForgetUser; }
  std::string_view user_id() const { return parsed->user_id; }
};

// The dead letter of the record in process, counted under its reason.
inline Status DeadLetter(stream::ProcessorContext& ctx, PipelineMetrics& m, Reject reason, std::string_view detail) {
  m.CountDeadLetter(reason);
  bool truncated = false;
  Status s = ctx.DeadLetter(RejectName(reason), detail, &truncated);
  if (truncated) m.dead_letters_truncated.fetch_add(1, std::memory_order_relaxed);
  return s;
}

}  // namespace recstream::operators
