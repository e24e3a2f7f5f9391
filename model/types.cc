#include "model/types.h"

namespace recstream::model {

std::optional<EventType> ParseEventType(std::string_view name) {
  if (name == "view" || name == "pv") return EventType::kView;
  if (name == "click") return EventType::kClick;
  if (name == "cart") return EventType::kCart;
  if (name == "fav") return EventType::kFav;
  if (name == "purchase" || name == "buy") return EventType::kPurchase;
  return std::nullopt;
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kView: return "view";
    case EventType::kClick: return "click";
    case EventType::kCart: return "cart";
    case EventType::kFav: return "fav";
    case EventType::kPurchase: return "purchase";
  }
  return "view";
}

}  // namespace recstream::model
