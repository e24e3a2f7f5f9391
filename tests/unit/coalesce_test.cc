// Coalescing under backlog (processing.coalesce_ms, DESIGN §2): while the
// input is behind, every event still changes state and model, but each user
// gets one list per window, from the newest state, triggered by the user's
// newest event; a caught-up input gets a list per event.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <simdjson.h>

#include "app/generator.h"
#include "operators/pipeline.h"
#include "state/model_codec.h"
#include "stream/task.h"
#include "tests/unit/shop_util.h"

namespace recstream {
namespace {

// Serves prepared messages, at most `max` per poll (a backlog: every poll is
// full until the end).
class VectorSource final : public stream::RecordSource {
 public:
  explicit VectorSource(std::vector<std::pair<std::string, std::string>> msgs) : msgs_(std::move(msgs)) {}
  Status Poll(size_t max, std::chrono::milliseconds, std::vector<stream::Record>& out) override {
    out.clear();
    while (out.size() < max && next_ < msgs_.size()) {
      stream::Record r;
      r.topic = "events";
      r.offset = static_cast<int64_t>(next_);
      r.key = msgs_[next_].first;
      r.value = msgs_[next_].second;
      out.push_back(r);
      ++next_;
    }
    return Status::OK();
  }
  Status Commit(const std::vector<stream::TopicPartitionOffset>&) override { return Status::OK(); }
  bool exhausted() const override { return next_ >= msgs_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> msgs_;
  size_t next_ = 0;
};

// Keeps every list: user -> (trigger event_id, items) in production order.
class ListSink final : public stream::RecordSink {
 public:
  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const stream::Header>) override {
    if (topic != "recommendations" || !value) return Status::OK();
    simdjson::dom::element doc;
    EXPECT_FALSE(parser_.parse(value->data(), value->size()).get(doc));
    std::string_view event_id;
    EXPECT_FALSE(doc["trigger"]["event_id"].get(event_id));
    last_trigger[std::string(key)] = std::string(event_id);
    ++lists;
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  std::map<std::string, std::string> last_trigger;
  uint64_t lists = 0;

 private:
  simdjson::dom::parser parser_;
};

struct StreamRun {
  ListSink sink;
  std::unique_ptr<operators::Pipeline> pipeline;
  stream::TaskStats stats;
};

void RunStream(const std::vector<std::pair<std::string, std::string>>& msgs, std::chrono::milliseconds coalesce,
               size_t max_batch, StreamRun& run) {
  operators::PipelineOptions opt;
  run.pipeline = testing::MemoryPipeline(opt);
  ASSERT_NE(run.pipeline, nullptr);
  VectorSource source(msgs);
  stream::TaskOptions topt;
  topt.max_batch = max_batch;
  topt.coalesce = coalesce;
  stream::Task task(source, run.sink, *run.pipeline, topt);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(task.Run(stop).ok());
  run.stats = task.stats();
}

TEST(Coalescing, OneListPerUserPerWindowFromTheNewestStateAndNothingSkipped) {
  app::GeneratorOptions g;
  g.users = 40;
  g.items = 2000;
  g.categories = 10;
  app::Generator gen(g);
  std::vector<std::pair<std::string, std::string>> msgs;
  std::map<std::string, std::string> last_event_of;
  for (int i = 0; i < 6000; ++i) {
    const auto e = gen.Next();
    msgs.emplace_back(e.user_id, e.ToJson());
    last_event_of[e.user_id] = e.event_id;
  }
  StreamRun plain, coalesced;
  RunStream(msgs, std::chrono::milliseconds(0), 200, plain);
  // A window of an hour: it closes when the input is caught up, i.e. at the
  // last, partial poll; every full poll before it joins the one window.
  RunStream(msgs, std::chrono::milliseconds(3'600'000), 200, coalesced);

  const auto& pm = plain.pipeline->metrics();
  const auto& cm = coalesced.pipeline->metrics();
  EXPECT_EQ(pm.events_applied.load(), 6000u);
  EXPECT_EQ(cm.events_applied.load(), 6000u) << "every event changes state, coalesced or not";
  EXPECT_EQ(plain.sink.lists, 6000u);
  EXPECT_EQ(cm.lists_published.load() + cm.lists_coalesced.load(), 6000u);
  EXPECT_LE(coalesced.sink.lists, 2u * last_event_of.size()) << "one list per user and window";
  EXPECT_GE(coalesced.stats.coalesced_windows, 1u);
  std::printf("[ coalesce ] 6000 events, %zu users: %llu lists without coalescing, %llu with (%llu coalesced)\n",
              last_event_of.size(), static_cast<unsigned long long>(plain.sink.lists),
              static_cast<unsigned long long>(coalesced.sink.lists),
              static_cast<unsigned long long>(cm.lists_coalesced.load()));
  // Every user's newest list is triggered by the user's newest event.
  EXPECT_EQ(coalesced.sink.last_trigger, last_event_of);
  EXPECT_EQ(plain.sink.last_trigger, last_event_of);
  // State is the same with and without coalescing, byte for byte.
  for (const auto& [user, _] : last_event_of) {
    model::UserState* a = nullptr;
    model::UserState* b = nullptr;
    ASSERT_TRUE(plain.pipeline->users().Get(0, user, &a).ok());
    ASSERT_TRUE(coalesced.pipeline->users().Get(0, user, &b).ok());
    std::string ea, eb;
    state::EncodeUser(*a, ea);
    state::EncodeUser(*b, eb);
    EXPECT_EQ(ea, eb) << user;
  }
  EXPECT_EQ(plain.pipeline->model().version(), coalesced.pipeline->model().version());
  EXPECT_EQ(plain.pipeline->recommender_model().ranker().weights(),
            coalesced.pipeline->recommender_model().ranker().weights());
}

TEST(Coalescing, ACaughtUpInputGetsAListPerEvent) {
  app::Generator gen(app::GeneratorOptions{});
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 300; ++i) {
    const auto e = gen.Next();
    msgs.emplace_back(e.user_id, e.ToJson());
  }
  StreamRun run;
  // Polls never come back full (500 > 300): the input is never behind.
  RunStream(msgs, std::chrono::milliseconds(1000), 500, run);
  EXPECT_EQ(run.sink.lists, 300u);
  EXPECT_EQ(run.pipeline->metrics().lists_coalesced.load(), 0u);
  EXPECT_EQ(run.stats.coalesced_windows, 0u);
}

}  // namespace
}  // namespace recstream
