#include "operators/topology.h"

#include "operators/control.h"
#include "operators/dedupe.h"
#include "operators/learn.h"
#include "operators/parse_operator.h"
#include "operators/publish.h"
#include "operators/recommend.h"
#include "operators/resolve.h"
#include "operators/sequence.h"

namespace recstream::operators {

TaskStores AddRecommendationStores(stream::StateStores& stores, const PipelineOptions& opt, state::StateDb* db) {
  TaskStores t;
  t.users = stores.Add(std::string(stores::kUsers), std::make_unique<state::UserStore>(db, opt.user_cache_entries));
  t.model = stores.Add(std::string(stores::kItemModel), std::make_unique<model::ItemModel>(opt.items));
  t.embedding = stores.Add(std::string(stores::kEmbeddings),
                           std::make_unique<model::EmbeddingModel>(opt.embedding, opt.items.type_weight));
  t.item_ids = stores.Add(std::string(stores::kItemIds), std::make_unique<state::IdDictionary>('i'));
  t.category_ids = stores.Add(std::string(stores::kCategoryIds), std::make_unique<state::IdDictionary>('c'));
  return t;
}

std::unique_ptr<stream::Topology> BuildRecommendationTopology(const TopologyParts& p) {
  const PipelineOptions& o = p.options;
  auto t = std::make_unique<stream::Topology>();
  t->Source<ParseOperator>(o.parse, o.topics.items, p.metrics)
      .Then<ControlOperator>(p.metrics)
      .Then<ResolveOperator>(p.metrics)
      .Then<DedupeOperator>(o.user.expire_after_ms, p.metrics)
      .Then<LearnOperator>(p.model_scorer, p.observer, p.metrics)
      .Then<SequenceOperator>(o.user, o.items.type_weight, p.model_scorer != nullptr, p.metrics)
      .Then<RecommendOperator>(p.scorer, o.offset_as_event_id, p.observer, p.metrics)
      .Then<PublishOperator>(o.topics.recommendations, p.metrics);
  return t;
}

}  // namespace recstream::operators
