// Per-user state: the recent sequence, a decayed category affinity, recent
// purchases and the event ids seen lately (for de-duplication).
//
// Owned by the task that owns the user's partition; never shared between
// threads. Persisted by state/user_codec with a version byte.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/options.h"
#include "model/top_list.h"
#include "model/types.h"

namespace recstream::model {

struct UserEvent {
  ItemId item = kNoId;
  CategoryId category = kNoId;
  EventType type = EventType::kView;
  int64_t ts_ms = 0;
  bool operator==(const UserEvent&) const = default;
};

struct UserState {
  std::vector<UserEvent> recent;       // oldest first, at most history_length
  TopList<CategoryId> affinity;        // decayed category affinity
  std::vector<ItemId> purchases;       // oldest first, at most purchases_kept
  std::vector<uint64_t> seen_event_ids;// ring of event-id hashes
  uint32_t seen_next = 0;              // next slot of the ring
  uint64_t events = 0;                 // events applied, ever
  std::vector<float> long_term;        // slow-moving user vector (empty until the first event)
  // When a forget_user erased the user (event time, ms; 0: never): an event
  // at or before it is a redelivery of what was erased, not new activity.
  int64_t forgotten_at_ms = 0;

  bool empty() const { return events == 0; }
  // The user's newest time: their last event, or when they were forgotten
  // (0: neither). Expiry counts idleness from it.
  int64_t last_activity_ms() const {
    return recent.empty() ? forgotten_at_ms : std::max(forgotten_at_ms, recent.back().ts_ms);
  }
  const UserEvent* last() const { return recent.empty() ? nullptr : &recent.back(); }
  bool HasPurchased(ItemId item) const;
  bool SawEventId(uint64_t hash) const;
  void RememberEventId(uint64_t hash, size_t window);
  // Appends the event to the sequence, affinity and purchases.
  void Apply(const Event& e, const UserOptions& opt, const std::array<double, kEventTypeCount>& type_weight);
};

}  // namespace recstream::model
