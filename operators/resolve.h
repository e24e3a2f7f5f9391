// Resolve ids: the event's item and category in the model's ids, found
// without creating any (a new id is admitted by dedupe, once the event is
// accepted). An event that omits category_id needs an item the catalog or an
// earlier event told the category of; otherwise it is a dead letter.
#pragma once

#include "model/item_model.h"
#include "operators/message.h"
#include "state/dictionary.h"

namespace recstream::operators {

class ResolveOperator final : public stream::Processor<ParsedEvent, EventMessage> {
 public:
  explicit ResolveOperator(PipelineMetrics& metrics) : metrics_(metrics) {}
  std::string_view name() const override { return "resolve"; }
  Status Process(ParsedEvent& pe) override;

 protected:
  Status OnInit() override;

 private:
  PipelineMetrics& metrics_;
  const model::ItemModel* model_ = nullptr;
  state::IdDictionary* item_ids_ = nullptr;
  state::IdDictionary* category_ids_ = nullptr;
  EventMessage msg_;
};

}  // namespace recstream::operators
