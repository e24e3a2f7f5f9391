// Recommend: the user's new list from the newest state, triggered by the
// event. Under backlog (the context is coalescing) the list waits for the
// end of the window — its kWindowEnd punctuation — and a newer event of the
// same user in the window replaces the trigger, so each user gets one list
// per window, from the newest state; every event still changed state and
// model. A forget_user request drops the user's deferred list and goes on as
// a tombstone.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "model/recommender.h"
#include "operators/message.h"
#include "state/dictionary.h"
#include "state/user_store.h"

namespace recstream::operators {

class PipelineObserver;

class RecommendOperator final : public stream::Processor<EventMessage, ListMessage> {
 public:
  // offset_as_event_id: a trigger without event_id carries the record's
  // offset instead (replay: the line number).
  RecommendOperator(model::Recommender& scorer, bool offset_as_event_id, PipelineObserver* const& observer,
                    PipelineMetrics& metrics)
      : scorer_(scorer), offset_as_event_id_(offset_as_event_id), observer_(observer), metrics_(metrics) {}
  std::string_view name() const override { return "recommend"; }
  Status Process(EventMessage& m) override;
  // Lists deferred in the current window.
  size_t deferred() const { return pending_.size(); }

 protected:
  Status OnInit() override;

 private:
  Status EndOfWindow();

  model::Recommender& scorer_;
  bool offset_as_event_id_;
  PipelineObserver* const& observer_;
  PipelineMetrics& metrics_;
  state::UserStore* users_ = nullptr;
  state::IdDictionary* category_ids_ = nullptr;
  // The newest event of each user touched in the window. Strings are copies:
  // the records of the window's first polls are gone by its end.
  struct Pending {
    std::string user_id, event_id, item_id;
    model::Event event;
    int32_t partition = 0;  // where the user's state is
  };
  std::vector<Pending> pending_;
  std::unordered_map<std::string, size_t, state::StringHash, std::equal_to<>> pending_index_;
  std::vector<model::Recommendation> list_;
  std::string offset_text_;
};

}  // namespace recstream::operators
