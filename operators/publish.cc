#include "operators/publish.h"

#include "operators/message.h"
#include "stream/json_writer.h"

namespace recstream::operators {

std::string_view ListSerializer::Serialize(std::string_view user_id, int64_t generated_ts, uint64_t model_version,
                                           const Trigger& trigger, std::span<const model::Recommendation> list) {
  buf_.clear();
  stream::JsonWriter w(buf_);
  w.BeginObject();
  w.Key("user_id").String(user_id);
  w.Key("generated_ts").Int(generated_ts);
  w.Key("model_version").Int(static_cast<int64_t>(model_version));
  w.Key("trigger").BeginObject();
  if (!trigger.event_id.empty()) w.Key("event_id").String(trigger.event_id);
  w.Key("item_id").String(trigger.item_id);
  w.Key("category_id").String(trigger.category_id);
  w.Key("type").String(model::EventTypeName(trigger.type));
  w.Key("ts").Int(trigger.ts_ms);
  w.EndObject();
  w.Key("items").BeginArray();
  for (const auto& r : list) {
    // K items a list: the keys and the reason (fixed names) are appended
    // without the escaping scan.
    w.BeginObject();
    w.PlainKey("item_id").String(items_.Name(r.item));
    w.PlainKey("category_id").String(categories_.Name(r.category));
    w.PlainKey("score").Number(r.score, 4);
    w.PlainKey("reason").PlainString(model::ReasonName(r.reason));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf_;
}

Status PublishOperator::OnInit() {
  model::ItemModel* m = nullptr;
  state::IdDictionary* items = nullptr;
  state::IdDictionary* categories = nullptr;
  Status s = context().GetStore(stores::kItemModel, &m);
  if (s.ok()) s = context().GetStore(stores::kItemIds, &items);
  if (s.ok()) s = context().GetStore(stores::kCategoryIds, &categories);
  if (!s.ok()) return s;
  model_ = m;
  serializer_ = std::make_unique<ListSerializer>(*items, *categories);
  return Status::OK();
}

Status PublishOperator::Process(ListMessage& m) {
  if (m.tombstone) return context().Produce(topic_, m.user_id, std::nullopt);
  const auto t = PipelineMetrics::StageClock::now();
  const int64_t now_ms = context().clock().WallMs();
  const std::string_view json = serializer_->Serialize(m.user_id, now_ms, model_->version(), m.trigger, m.list);
  // A list forwarded while its record is in process (not a window's end).
  if (context().has_record() && context().record().timestamp_ms > 0)
    metrics_.event_to_list.Observe(std::chrono::milliseconds(now_ms - context().record().timestamp_ms));
  metrics_.lists_published.fetch_add(1, std::memory_order_relaxed);
  Status s = context().Produce(topic_, m.user_id, json);
  metrics_.AddStageTime(PipelineMetrics::kPublish, t);
  return s;
}

}  // namespace recstream::operators
