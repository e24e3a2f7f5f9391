// Publish: serialises a user's list into the output contract (DESIGN §1):
//   {"user_id","generated_ts","model_version","trigger":{...},"items":[...]}
// into a reused buffer (no allocation once warm). Pure function of its inputs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "model/recommender.h"
#include "state/dictionary.h"

namespace recstream::operators {

struct Trigger {
  std::string_view event_id;  // empty: omitted
  std::string_view item_id;
  std::string_view category_id;
  model::EventType type = model::EventType::kView;
  int64_t ts_ms = 0;
};

class ListSerializer {
 public:
  ListSerializer(const state::IdDictionary& items, const state::IdDictionary& categories)
      : items_(items), categories_(categories) {}
  // Returns a view of the JSON, valid until the next call.
  std::string_view Serialize(std::string_view user_id, int64_t generated_ts, uint64_t model_version,
                             const Trigger& trigger, std::span<const model::Recommendation> list);

 private:
  const state::IdDictionary& items_;
  const state::IdDictionary& categories_;
  std::string buf_;
};

}  // namespace recstream::operators
