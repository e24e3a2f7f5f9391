#include "operators/sequence.h"

namespace recstream::operators {

Status SequenceOperator::OnInit() {
  Status s = context().GetStore(stores::kUsers, &users_);
  if (s.ok()) s = context().GetStore(stores::kEmbeddings, &embedding_);
  return s;
}

Status SequenceOperator::Process(EventMessage& m) {
  if (m.forget()) return Forward(m);
  const auto t = PipelineMetrics::StageClock::now();
  model::UserState& user = *m.user;
  user.Apply(m.event, user_opt_, weights_);
  if (long_term_) embedding_->UpdateLongTerm(user, m.event);
  if (!m.parsed->event_id.empty()) user.RememberEventId(m.event_id_hash, user_opt_.dedupe_window);
  users_->MarkDirty(context().partition(), m.user_id());
  if (m.event.ts_ms > metrics_.stream_time_ms.load(std::memory_order_relaxed))
    metrics_.stream_time_ms.store(m.event.ts_ms, std::memory_order_relaxed);
  metrics_.events_applied.fetch_add(1, std::memory_order_relaxed);
  metrics_.AddStageTime(PipelineMetrics::kLearn, t);
  return Forward(m);
}

}  // namespace recstream::operators
