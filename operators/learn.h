// Learn: the item-side model learns from the event against the user's
// sequence as it was before it — co-occurrence and category transitions
// (model::ItemModel), the embeddings (model::EmbeddingModel) and the model
// scorer's blend, which learns which of the user's candidates was chosen.
// The observer (evaluation) sees the state in force before the event.
#pragma once

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/model_recommender.h"
#include "operators/message.h"

namespace recstream::operators {

class PipelineObserver;

class LearnOperator final : public stream::Processor<EventMessage, EventMessage> {
 public:
  // scorer: the model scorer, or null when the rules scorer serves (then no
  // embeddings are trained). observer: read at every event; may change.
  LearnOperator(model::ModelRecommender* scorer, PipelineObserver* const& observer, PipelineMetrics& metrics)
      : scorer_(scorer), observer_(observer), metrics_(metrics) {}
  std::string_view name() const override { return "learn"; }
  Status Process(EventMessage& m) override;

 protected:
  Status OnInit() override;

 private:
  model::ModelRecommender* scorer_;
  PipelineObserver* const& observer_;
  PipelineMetrics& metrics_;
  model::ItemModel* model_ = nullptr;
  model::EmbeddingModel* embedding_ = nullptr;
};

}  // namespace recstream::operators
