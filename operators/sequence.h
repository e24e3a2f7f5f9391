// Sequence: the event joins the user's state — the recent sequence, the
// purchases kept, the long-term interest vector (model scorer) and the
// remembered event ids (dedupe) — and the user is marked for the next
// checkpoint.
#pragma once

#include <array>

#include "model/embedding.h"
#include "model/options.h"
#include "operators/message.h"
#include "state/user_store.h"

namespace recstream::operators {

class SequenceOperator final : public stream::Processor<EventMessage, EventMessage> {
 public:
  // long_term: keep the user's interest vector (the model scorer serves).
  using TypeWeights = std::array<double, model::kEventTypeCount>;
  SequenceOperator(const model::UserOptions& user, const TypeWeights& weights, bool long_term, PipelineMetrics& metrics)
      : user_opt_(user), weights_(weights), long_term_(long_term), metrics_(metrics) {}
  std::string_view name() const override { return "sequence"; }
  Status Process(EventMessage& m) override;

 protected:
  Status OnInit() override;

 private:
  model::UserOptions user_opt_;
  TypeWeights weights_;
  bool long_term_;
  PipelineMetrics& metrics_;
  state::UserStore* users_ = nullptr;
  model::EmbeddingModel* embedding_ = nullptr;
};

}  // namespace recstream::operators
