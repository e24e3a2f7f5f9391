// Dedupe: loads the user's state. A user idle past user.expire_after_s (from
// their last event, or the time they were forgotten, to this event) starts
// over from empty state: the same whether the row is still cached, on disk,
// or already dropped by compaction (StateOptions::user_expire_after_ms). An event of a forgotten user that is not
// newer than the time they were forgotten is a dead letter `forgotten_user`
// (without key or payload: it must not copy what was erased). An event whose
// event_id the user's state remembers (the last user.dedupe_window ids, kept
// with the state, so exactly-once holds across restarts and replays) is a
// dead letter `duplicate`. An accepted event is admitted: ids seen for the
// first time are created here, so no rejected event ever grows the
// dictionaries.
#pragma once

#include "operators/message.h"
#include "state/dictionary.h"
#include "state/user_store.h"

namespace recstream::operators {

class DedupeOperator final : public stream::Processor<EventMessage, EventMessage> {
 public:
  DedupeOperator(int64_t expire_after_ms, PipelineMetrics& metrics)
      : expire_after_ms_(expire_after_ms), metrics_(metrics) {}
  std::string_view name() const override { return "dedupe"; }
  Status Process(EventMessage& m) override;

 protected:
  Status OnInit() override;

 private:
  const int64_t expire_after_ms_;  // UserOptions::expire_after_ms; 0: never
  PipelineMetrics& metrics_;
  state::UserStore* users_ = nullptr;
  state::IdDictionary* item_ids_ = nullptr;
  state::IdDictionary* category_ids_ = nullptr;
  std::string corrupt_row_;  // an unreadable row found by the last Get
};

}  // namespace recstream::operators
