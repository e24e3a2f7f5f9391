#include "operators/dedupe.h"

namespace recstream::operators {

Status DedupeOperator::OnInit() {
  Status s = context().GetStore(stores::kUsers, &users_);
  if (s.ok()) s = context().GetStore(stores::kItemIds, &item_ids_);
  if (s.ok()) s = context().GetStore(stores::kCategoryIds, &category_ids_);
  return s;
}

Status DedupeOperator::Process(EventMessage& m) {
  if (m.forget()) return Forward(m);
  const ParsedEvent& pe = *m.parsed;
  const uint64_t resets = users_->rows_reset();
  if (auto s = users_->Get(context().partition(), pe.user_id, &m.user, &corrupt_row_); !s.ok())
    return Status::Corruption("user state: " + s.ToString());
  if (users_->rows_reset() != resets) {
    // The row is dead-lettered (key: the user, payload: its bytes, source:
    // the record that found it) and the user starts again from empty
    // state; this event is applied to it, not lost.
    stream::Record row = context().record();
    row.key = pe.user_id;
    row.value = corrupt_row_;
    row.original = {};
    row.value_null = false;
    row.whole_size = 0;
    metrics_.CountDeadLetter(Reject::kStateCorrupt);
    bool truncated = false;
    Status s = context().DeadLetterOf(row, RejectName(Reject::kStateCorrupt),
                                      "the user's stored state row (" + std::to_string(corrupt_row_.size()) +
                                          " bytes) is unreadable: reset to empty, the event applied to it",
                                      &truncated);
    if (truncated) metrics_.dead_letters_truncated.fetch_add(1, std::memory_order_relaxed);
    if (!s.ok()) return s;
  }
  if (expire_after_ms_ > 0) {
    const int64_t last = m.user->last_activity_ms();
    if (last > 0 && pe.ts_ms - last > expire_after_ms_) {
      *m.user = model::UserState{};
      metrics_.users_expired.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (m.user->forgotten_at_ms != 0 && pe.ts_ms <= m.user->forgotten_at_ms) {
    // A redelivery of what forget_user erased (its time is not after the
    // erasure): applying it would re-create the profile. The dead letter
    // carries neither the key nor the payload, only where it came from.
    stream::Record redacted = context().record();
    redacted.key = {};
    redacted.value = {};
    redacted.original = {};
    redacted.value_null = true;
    redacted.whole_size = 0;
    metrics_.CountDeadLetter(Reject::kForgottenUser);
    return context().DeadLetterOf(redacted, RejectName(Reject::kForgottenUser),
                                  "an event of a forgotten user, not after the time it was forgotten: dropped "
                                  "(key and payload withheld)");
  }
  m.event_id_hash = pe.event_id.empty() ? 0 : stream::Fnv1a64(pe.event_id);
  if (!pe.event_id.empty() && m.user->SawEventId(m.event_id_hash))
    return DeadLetter(context(), metrics_, Reject::kDuplicate, "event_id already applied for this user");

  const stream::Record& r = context().record();
  if (!r.key.empty() && r.key != pe.user_id) metrics_.key_mismatch.fetch_add(1, std::memory_order_relaxed);
  if (m.item == model::kNoId) m.item = item_ids_->Intern(pe.item_id);
  if (m.category == model::kNoId) m.category = category_ids_->Intern(pe.category_id);
  m.event = model::Event{m.item, m.category, pe.type, pe.ts_ms};
  return Forward(m);
}

}  // namespace recstream::operators
