// Control: the two requests that are not events. A catalog message (from the
// items topic) sets an item's category and whether it may be recommended; it
// stops here. A forget_user request erases the user's state and goes on, so
// that recommend drops a list it deferred for the user and publish writes
// the user's tombstone. Events pass through.
#pragma once

#include "model/item_model.h"
#include "operators/message.h"
#include "state/dictionary.h"
#include "state/user_store.h"

namespace recstream::operators {

class ControlOperator final : public stream::Processor<ParsedEvent, ParsedEvent> {
 public:
  explicit ControlOperator(PipelineMetrics& metrics) : metrics_(metrics) {}
  std::string_view name() const override { return "control"; }
  Status Process(ParsedEvent& pe) override;

 protected:
  Status OnInit() override;

 private:
  PipelineMetrics& metrics_;
  state::UserStore* users_ = nullptr;
  model::ItemModel* model_ = nullptr;
  state::IdDictionary* item_ids_ = nullptr;
  state::IdDictionary* category_ids_ = nullptr;
};

}  // namespace recstream::operators
