#include "operators/resolve.h"

namespace recstream::operators {

Status ResolveOperator::OnInit() {
  model::ItemModel* m = nullptr;
  Status s = context().GetStore(stores::kItemModel, &m);
  model_ = m;
  if (s.ok()) s = context().GetStore(stores::kItemIds, &item_ids_);
  if (s.ok()) s = context().GetStore(stores::kCategoryIds, &category_ids_);
  return s;
}

Status ResolveOperator::Process(ParsedEvent& pe) {
  msg_ = EventMessage{};
  msg_.parsed = &pe;
  if (pe.kind == ParsedEvent::Kind::kForgetUser) return Forward(msg_);
  msg_.item = item_ids_->Find(pe.item_id);
  if (!pe.category_id.empty()) msg_.category = category_ids_->Find(pe.category_id);
  else if (msg_.item != model::kNoId && model_->HasItem(msg_.item)) msg_.category = model_->item(msg_.item).category;
  else
    return DeadLetter(context(), metrics_, Reject::kUnknownItem,
                      "category_id omitted and the catalog does not know the item");
  return Forward(msg_);
}

}  // namespace recstream::operators
