#include "operators/control.h"

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
    case ParsedEvent::Kind::kForgetUser:
      users_->Erase(pe.user_id);
      metrics_.tombstones.fetch_add(1, std::memory_order_relaxed);
      return Forward(pe);
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
