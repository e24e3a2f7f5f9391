// Core value types shared by the model: dense ids, event types, events.
// Pure data; no I/O. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace recstream::model {

// Dense ids handed out by the id dictionaries (state/). Items and categories
// are numbered from 0 in order of first appearance.
using ItemId = uint32_t;
using CategoryId = uint32_t;
inline constexpr uint32_t kNoId = UINT32_MAX;

// The event types of the input contract (DESIGN §1). The numeric values are
// persisted in user state: append only, never renumber.
enum class EventType : uint8_t { kView = 0, kClick = 1, kCart = 2, kFav = 3, kPurchase = 4 };
inline constexpr int kEventTypeCount = 5;

// Parses a type name, aliases included (pv -> view, buy -> purchase).
std::optional<EventType> ParseEventType(std::string_view name);
std::string_view EventTypeName(EventType type);

// An event after parsing and id resolution: what the model consumes.
struct Event {
  ItemId item = kNoId;
  CategoryId category = kNoId;
  EventType type = EventType::kView;
  int64_t ts_ms = 0;  // event time, ms since epoch
};

}  // namespace recstream::model
