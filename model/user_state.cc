#include "model/user_state.h"

#include <algorithm>

namespace recstream::model {

bool UserState::HasPurchased(ItemId item) const {
  return std::find(purchases.begin(), purchases.end(), item) != purchases.end();
}

bool UserState::SawEventId(uint64_t hash) const {
  return std::find(seen_event_ids.begin(), seen_event_ids.end(), hash) != seen_event_ids.end();
}

void UserState::RememberEventId(uint64_t hash, size_t window) {
  if (window == 0) return;
  if (seen_event_ids.size() < window) {
    seen_event_ids.push_back(hash);
    seen_next = static_cast<uint32_t>(seen_event_ids.size() % window);
    return;
  }
  if (seen_event_ids.size() > window) seen_event_ids.resize(window);
  seen_event_ids[seen_next % window] = hash;
  seen_next = static_cast<uint32_t>((seen_next + 1) % window);
}

void UserState::Apply(const Event& e, const UserOptions& opt,
                      const std::array<double, kEventTypeCount>& type_weight) {
  if (opt.history_length > 0) {
    // Trim to the limit (a state restored under a larger limit may be longer).
    if (recent.size() >= opt.history_length)
      recent.erase(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(opt.history_length - 1));
    recent.push_back({e.item, e.category, e.type, e.ts_ms});
  }
  // The affinity ages with the user's own events (or event time): a user who
  // comes back after a month starts where they left off.
  const DecayClock clock(opt.activity_clock ? opt.affinity_half_life_events : opt.affinity_half_life_ms, 0);
  const double now = opt.activity_clock ? static_cast<double>(events) : static_cast<double>(e.ts_ms);
  affinity.Add(e.category, clock.Increment(type_weight[static_cast<int>(e.type)], now), opt.affinity_categories);
  if (e.type == EventType::kPurchase && opt.purchases_kept > 0 && !HasPurchased(e.item)) {
    if (purchases.size() >= opt.purchases_kept)
      purchases.erase(purchases.begin(), purchases.end() - static_cast<std::ptrdiff_t>(opt.purchases_kept - 1));
    purchases.push_back(e.item);
  }
  ++events;
}

}  // namespace recstream::model
