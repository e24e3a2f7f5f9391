#include "operators/control.h"

#include <algorithm>

namespace recstream::operators {

Status ControlOperator::OnInit() {
  Status s = context().GetStore(stores::kUsers, &users_);
  if (s.ok()) s = context().GetStore(stores::kItemModel, &model_);
  if (s.ok()) s = context().GetStore(stores::kItemIds, &item_ids_);
  if (s.ok()) s = context().GetStore(stores::kCategoryIds, &category_ids_);
  return s;
}

Status ControlOperator::Process(ParsedEvent& pe) {
  switch (pe.kind) {
    case ParsedEvent::Kind::kEvent:
      return Forward(pe);
    case ParsedEvent::Kind::kForgetUser: {
      // Forgotten as of the request's time (its ts, else the message's
      // timestamp); never before the user's last event (UserStore::Erase).
      const stream::Record& r = context().record();
      const int64_t at = pe.ts_ms > 0 ? pe.ts_ms : std::max<int64_t>(r.timestamp_ms, 0);
      if (auto s = users_->Erase(context().partition(), pe.user_id, at); !s.ok())
        return Status::Corruption("user state: " + s.ToString());
      metrics_.tombstones.fetch_add(1, std::memory_order_relaxed);
      return Forward(pe);
    }
    case ParsedEvent::Kind::kCatalog: {
      model::ItemId item = item_ids_->Find(pe.item_id);
      model::CategoryId cat = model::kNoId;
      if (!pe.category_id.empty()) cat = category_ids_->Intern(pe.category_id);
      else if (item != model::kNoId && model_->HasItem(item)) cat = model_->item(item).category;
      if (cat == model::kNoId)
        return DeadLetter(context(), metrics_, Reject::kUnknownItem, "category_id omitted for an unknown item");
      if (item == model::kNoId) item = item_ids_->Intern(pe.item_id);
      model_->UpdateCatalog(item, cat, pe.active);
      metrics_.catalog_updates.fetch_add(1, std::memory_order_relaxed);
      return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace recstream::operators
