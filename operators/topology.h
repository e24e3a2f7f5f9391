// The recommendation topology: the one place that states the stages an
// input record passes, in order.
//
//   parse -> control -> resolve -> dedupe -> learn -> sequence -> recommend
//   -> publish
//
// parse (parse.h): JSON into ParsedEvent, or a dead letter.
// control (control.h): catalog messages and forget_user requests.
// resolve (resolve.h): the event's ids in the model's ids, none created.
// dedupe (dedupe.h): drops a repeated event_id; admits the event's new ids.
// learn (learn.h): the item-side model learns from the event.
// sequence (sequence.h): the event joins the user's state.
// recommend (recommend.h): the user's new list (deferred under backlog).
// publish (publish.h): the list, or a tombstone, to the output topic.
//
// The operators find the task's stores by name (message.h, stores::) in
// Init; scorers, options and metrics are handed to them here.
#pragma once

#include <memory>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/model_recommender.h"
#include "model/recommender.h"
#include "operators/metrics.h"
#include "operators/options.h"
#include "state/db.h"
#include "state/dictionary.h"
#include "state/user_store.h"
#include "stream/processor.h"

namespace recstream::operators {

// The task's stores, registered in stores (which owns them) under the names
// of message.h; db null: in memory only.
struct TaskStores {
  state::UserStore* users;
  model::ItemModel* model;
  model::EmbeddingModel* embedding;
  state::IdDictionary* item_ids;
  state::IdDictionary* category_ids;
};
TaskStores AddRecommendationStores(stream::StateStores& stores, const PipelineOptions& opt, state::StateDb* db);

struct TopologyParts {
  const PipelineOptions& options;
  PipelineMetrics& metrics;
  model::Recommender& scorer;                // the one that serves
  model::ModelRecommender* model_scorer;     // null: the rules scorer serves
  PipelineObserver* const& observer;         // read at every event
};

std::unique_ptr<stream::Topology> BuildRecommendationTopology(const TopologyParts& parts);

}  // namespace recstream::operators
