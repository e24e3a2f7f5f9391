// Publish: the last operator. Serialises a user's list into the output
// contract (DESIGN §1):
//   {"user_id","generated_ts","model_version","trigger":{...},"items":[...]}
// into a reused buffer (no allocation once warm; ListSerializer is a pure
// function of its inputs) and produces it to the recommendations topic keyed
// by user_id; an erased user gets a tombstone (no value), which compaction
// keeps as the user's last word.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "model/item_model.h"
#include "model/recommender.h"
#include "state/dictionary.h"
#include "stream/processor.h"

namespace recstream::operators {

struct Trigger {
  std::string_view event_id;  // empty: omitted
  std::string_view item_id;
  std::string_view category_id;
  model::EventType type = model::EventType::kView;
  int64_t ts_ms = 0;
};

// A user's new list, or (tombstone) the user's erasure.
struct ListMessage {
  std::string_view user_id;
  Trigger trigger;
  std::span<const model::Recommendation> list;
  bool tombstone = false;
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

struct PipelineMetrics;

class PublishOperator final : public stream::Operator<ListMessage> {
 public:
  PublishOperator(std::string topic, PipelineMetrics& metrics) : topic_(std::move(topic)), metrics_(metrics) {}
  std::string_view name() const override { return "publish"; }
  Status Process(ListMessage& m) override;

 protected:
  Status OnInit() override;

 private:
  std::string topic_;
  PipelineMetrics& metrics_;
  const model::ItemModel* model_ = nullptr;  // model_version
  std::unique_ptr<ListSerializer> serializer_;
};

}  // namespace recstream::operators
