#include "operators/recommend.h"

#include "operators/pipeline.h"

namespace recstream::operators {

Status RecommendOperator::OnInit() {
  Status s = context().GetStore(stores::kUsers, &users_);
  if (s.ok()) s = context().GetStore(stores::kCategoryIds, &category_ids_);
  if (s.ok()) context().Schedule(stream::Punctuation::kWindowEnd, {}, [this] { return EndOfWindow(); });
  return s;
}

Status RecommendOperator::Process(EventMessage& m) {
  const ParsedEvent& pe = *m.parsed;
  if (m.forget()) {
    if (auto it = pending_index_.find(pe.user_id); it != pending_index_.end()) {
      pending_[it->second].user_id.clear();  // no list after the tombstone
      pending_index_.erase(it);
    }
    ListMessage out{pe.user_id, {}, {}, /*tombstone=*/true};
    return Forward(out);
  }
  std::string_view event_id = pe.event_id;
  if (event_id.empty() && offset_as_event_id_) {
    offset_text_ = std::to_string(context().record().offset);
    event_id = offset_text_;
  }
  if (context().coalescing()) {
    auto [it, fresh] = pending_index_.try_emplace(std::string(pe.user_id), pending_.size());
    if (fresh) pending_.push_back({std::string(pe.user_id), {}, {}, m.event, context().partition()});
    else metrics_.lists_coalesced.fetch_add(1, std::memory_order_relaxed);
    Pending& p = pending_[it->second];
    p.event_id.assign(event_id);
    p.item_id.assign(pe.item_id);
    p.event = m.event;
    return Status::OK();
  }
  const auto t = PipelineMetrics::StageClock::now();
  scorer_.Recommend(*m.user, m.event, list_);
  metrics_.AddStageTime(PipelineMetrics::kRecommend, t);
  if (observer_ != nullptr) observer_->AfterApply(pe.user_id, *m.user, m.event, list_);
  ListMessage out{pe.user_id, Trigger{event_id, pe.item_id, category_ids_->Name(m.event.category), pe.type, pe.ts_ms},
                  list_};
  return Forward(out);
}

Status RecommendOperator::EndOfWindow() {
  Status s;
  for (const Pending& p : pending_) {
    if (p.user_id.empty()) continue;  // forgotten within the window
    model::UserState* user = nullptr;
    if (auto rs = users_->Get(p.partition, p.user_id, &user); !rs.ok()) return Status::Corruption("user state: " + rs.ToString());
    const auto t = PipelineMetrics::StageClock::now();
    scorer_.Recommend(*user, p.event, list_);
    metrics_.AddStageTime(PipelineMetrics::kRecommend, t);
    ListMessage out{p.user_id,
                    Trigger{p.event_id, p.item_id, category_ids_->Name(p.event.category), p.event.type, p.event.ts_ms},
                    list_};
    s = Forward(out);
    if (!s.ok()) break;
  }
  pending_.clear();
  pending_index_.clear();
  return s;
}

}  // namespace recstream::operators
