#include "operators/learn.h"

#include "operators/pipeline.h"

namespace recstream::operators {

Status LearnOperator::OnInit() {
  Status s = context().GetStore(stores::kItemModel, &model_);
  if (s.ok()) s = context().GetStore(stores::kEmbeddings, &embedding_);
  return s;
}

Status LearnOperator::Process(EventMessage& m) {
  if (m.forget()) return Forward(m);
  const auto t = PipelineMetrics::StageClock::now();
  const model::Event& e = m.event;
  if (observer_ != nullptr) observer_->BeforeApply(m.user_id(), *m.user, e);
  if (scorer_ != nullptr && scorer_->Learn(*m.user, e)) metrics_.ranker_updates.fetch_add(1, std::memory_order_relaxed);
  model_->Learn(e, m.user->recent);
  if (scorer_ != nullptr) embedding_->Learn(e, m.user->recent, model_->item(e.item).count);
  metrics_.AddStageTime(PipelineMetrics::kLearn, t);
  return Forward(m);
}

}  // namespace recstream::operators
