// Dedupe: loads the user's state. An event of a forgotten user that is not
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
  explicit DedupeOperator(PipelineMetrics& metrics) : metrics_(metrics) {}
  std::string_view name() const override { return "dedupe"; }
  Status Process(EventMessage& m) override;

 protected:
  Status OnInit() override;

 private:
  PipelineMetrics& metrics_;
  state::UserStore* users_ = nullptr;
  state::IdDictionary* item_ids_ = nullptr;
  state::IdDictionary* category_ids_ = nullptr;
  std::string corrupt_row_;  // an unreadable row found by the last Get
};

}  // namespace recstream::operators
