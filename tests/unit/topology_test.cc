// The processor API (stream/processor.h) and its test driver
// (stream/test_driver.h): wiring, store lookup, punctuation, dead letters —
// first with toy operators, then with the recommendation operators one or a
// few at a time (operators/topology.h). No sleeps: time is a ManualClock.
#include <gtest/gtest.h>

#include <simdjson.h>

#include <map>
#include <string>
#include <vector>

#include "model/model_recommender.h"
#include "operators/control.h"
#include "operators/dedupe.h"
#include "operators/parse_operator.h"
#include "operators/resolve.h"
#include "operators/topology.h"
#include "stream/test_driver.h"

namespace recstream {
namespace {

using stream::Punctuation;
using stream::TestOutput;
using Counts = std::map<std::string, int>;

// --- toy operators ---

class Upper final : public stream::Processor<const stream::Record, std::string> {
 public:
  std::string_view name() const override { return "upper"; }
  Status Process(const stream::Record& r) override {
    if (r.value.empty()) return context().DeadLetter("empty", "no value");
    s_.assign(r.value);
    for (char& c : s_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return Forward(s_);
  }

 private:
  std::string s_;
};

// Counts each word in the "counts" store; forwards "WORD:n". Under
// coalescing, forwards one "WORD:n" per word at the end of the window.
class Count final : public stream::Processor<std::string, std::string> {
 public:
  std::string_view name() const override { return "count"; }
  Status Process(std::string& w) override {
    const int n = ++(*counts_)[w];
    if (context().coalescing()) {
      deferred_[w] = n;
      return Status::OK();
    }
    out_ = w + ":" + std::to_string(n);
    return Forward(out_);
  }

 protected:
  Status OnInit() override {
    Status s = context().GetStore("counts", &counts_);
    if (s.ok())
      context().Schedule(Punctuation::kWindowEnd, {}, [this] {
        for (const auto& [w, n] : deferred_) {
          out_ = w + ":" + std::to_string(n);
          if (Status st = Forward(out_); !st.ok()) return st;
        }
        deferred_.clear();
        return Status::OK();
      });
    return s;
  }

 private:
  Counts* counts_ = nullptr;
  std::map<std::string, int> deferred_;
  std::string out_;
};

class Emit final : public stream::Operator<std::string> {
 public:
  std::string_view name() const override { return "emit"; }
  Status Process(std::string& s) override { return context().Produce("out", "", s); }
};

// Wants "counts" as the wrong type.
class WrongType final : public stream::Processor<std::string, std::string> {
 public:
  explicit WrongType(std::string store) : store_(std::move(store)) {}
  std::string_view name() const override { return "wrong"; }
  Status Process(std::string& s) override { return Forward(s); }

 protected:
  Status OnInit() override {
    std::vector<int>* v = nullptr;
    return context().GetStore(store_, &v);
  }

 private:
  std::string store_;
};

// Produces "tick N" from a wall-clock punctuation every second.
class Ticker final : public stream::Operator<const stream::Record> {
 public:
  std::string_view name() const override { return "ticker"; }
  Status Process(const stream::Record&) override { return Status::OK(); }

 protected:
  Status OnInit() override {
    context().Schedule(Punctuation::kWallClock, std::chrono::seconds(1), [this] {
      return context().Produce("ticks", "", "tick " + std::to_string(++ticks_));
    });
    return Status::OK();
  }

 private:
  int ticks_ = 0;
};

std::vector<std::string> Values(const std::vector<TestOutput>& out) {
  std::vector<std::string> v;
  for (const auto& o : out) v.push_back(o.value.value_or("<tombstone>"));
  return v;
}

struct Toy {
  Toy() { stores.Add("counts", std::make_unique<Counts>()); }
  stream::StateStores stores;
  stream::Topology topology;
};

TEST(ProcessorApi, ForwardsThroughTheStagesInTheOrderTheyAreWired) {
  Toy t;
  t.topology.Source<Upper>().Then<Count>().Then<Emit>();
  EXPECT_EQ(t.topology.Describe(), "upper -> count -> emit");
  stream::TopologyTestDriver d(t.topology, t.stores);
  ASSERT_TRUE(d.Init().ok());
  for (const char* w : {"a", "b", "a"}) ASSERT_TRUE(d.PipeInput("in", "", w).ok());
  EXPECT_EQ(Values(d.ReadOutput("out")), (std::vector<std::string>{"A:1", "B:1", "A:2"}));
  EXPECT_TRUE(d.ReadOutput("out").empty()) << "read once";
  EXPECT_EQ((*t.stores.Find<Counts>("counts"))["A"], 2) << "the store belongs to the task and outlives the records";
}

TEST(ProcessorApi, AStoreIsLookedUpByNameAndTypeAndAMismatchFailsInit) {
  {
    Toy t;
    t.topology.Source<Upper>().Then<WrongType>("counts").Then<Emit>();
    stream::TopologyTestDriver d(t.topology, t.stores);
    const Status s = d.Init();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find("operator 'wrong'"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("store 'counts' is a"), std::string::npos) << s.ToString();
  }
  {
    Toy t;
    t.topology.Source<Upper>().Then<WrongType>("nope").Then<Emit>();
    stream::TopologyTestDriver d(t.topology, t.stores);
    const Status s = d.Init();
    EXPECT_NE(s.ToString().find("no store named 'nope'"), std::string::npos) << s.ToString();
  }
  Toy t;
  EXPECT_NE(t.stores.Find<Counts>("counts"), nullptr);
  EXPECT_EQ(t.stores.Find<std::vector<int>>("counts"), nullptr);
}

TEST(ProcessorApi, AWindowEndPunctuationForwardsWhatTheWindowDeferred) {
  Toy t;
  t.topology.Source<Upper>().Then<Count>().Then<Emit>();
  stream::TopologyTestDriver d(t.topology, t.stores);
  ASSERT_TRUE(d.Init().ok());
  d.BeginWindow(/*coalesce=*/true);
  for (const char* w : {"a", "b", "a", "a"}) ASSERT_TRUE(d.PipeInput("in", "", w).ok());
  EXPECT_TRUE(d.ReadOutput("out").empty()) << "deferred to the window's end";
  ASSERT_TRUE(d.EndWindow().ok());
  EXPECT_EQ(Values(d.ReadOutput("out")), (std::vector<std::string>{"A:3", "B:1"}));
  d.BeginWindow(/*coalesce=*/false);  // a window of a caught-up input: nothing deferred
  ASSERT_TRUE(d.PipeInput("in", "", "b").ok());
  EXPECT_EQ(Values(d.ReadOutput("out")), (std::vector<std::string>{"B:2"}));
  ASSERT_TRUE(d.EndWindow().ok());
  EXPECT_TRUE(d.ReadOutput("out").empty());
}

TEST(ProcessorApi, AWallClockPunctuationFiresOnlyWhenTheClockSaysItIsDue) {
  stream::StateStores stores;
  stream::Topology topology;
  topology.Source<Ticker>();
  stream::TopologyTestDriver d(topology, stores);
  ASSERT_TRUE(d.Init().ok());
  ASSERT_TRUE(d.AdvanceWallClock(std::chrono::milliseconds(999)).ok());
  EXPECT_TRUE(d.ReadOutput("ticks").empty());
  ASSERT_TRUE(d.AdvanceWallClock(std::chrono::milliseconds(1)).ok());
  EXPECT_EQ(Values(d.ReadOutput("ticks")), (std::vector<std::string>{"tick 1"}));
  ASSERT_TRUE(d.PipeInput("in", "", "x").ok());  // between batches, not due yet
  EXPECT_TRUE(d.ReadOutput("ticks").empty());
  // A clock that jumps fires once and schedules the next a whole interval on
  // (no burst of missed ticks), as Kafka Streams' wall-clock punctuation.
  ASSERT_TRUE(d.AdvanceWallClock(std::chrono::milliseconds(3500)).ok());
  EXPECT_EQ(Values(d.ReadOutput("ticks")), (std::vector<std::string>{"tick 2"}));
  ASSERT_TRUE(d.AdvanceWallClock(std::chrono::milliseconds(999)).ok());
  EXPECT_TRUE(d.ReadOutput("ticks").empty());
}

TEST(ProcessorApi, ADeadLetterNamesItsReasonAndSourceAndIsBounded) {
  Toy t;
  t.topology.Source<Upper>().Then<Count>().Then<Emit>();
  stream::DeadLetterOptions dl;
  dl.topic = "dlq";
  stream::TopologyTestDriver d(t.topology, t.stores, dl);
  ASSERT_TRUE(d.Init().ok());
  ASSERT_TRUE(d.PipeInput("in", "k", "ok", 3).ok());
  ASSERT_TRUE(d.PipeInput("in", "k", "", 3).ok());
  const auto dead = d.ReadOutput("dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, "k");
  EXPECT_EQ(dead[0].headers.at("recstream.reason"), "empty");
  EXPECT_EQ(dead[0].headers.at("recstream.detail"), "no value");
  EXPECT_EQ(dead[0].headers.at("recstream.source.topic"), "in");
  EXPECT_EQ(dead[0].headers.at("recstream.source.partition"), "3");
  EXPECT_EQ(dead[0].headers.at("recstream.source.offset"), "1");

  // The bound, on the function every dead letter goes through.
  dl.max_payload_bytes = 4;
  struct One final : stream::RecordSink {
    Status Produce(std::string_view, std::string_view, std::optional<std::string_view> v,
                   std::span<const stream::Header> h) override {
      value = std::string(*v);
      for (const auto& x : h) headers[std::string(x.name)] = std::string(x.value);
      return Status::OK();
    }
    Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
    std::string value;
    std::map<std::string, std::string> headers;
  } sink;
  stream::Record r;
  r.topic = "in";
  r.value = "0123456789";
  bool truncated = false;
  ASSERT_TRUE(stream::ProduceDeadLetter(sink, dl, r, "oversized", "", &truncated).ok());
  EXPECT_TRUE(truncated);
  EXPECT_EQ(sink.value, "0123");
  EXPECT_EQ(sink.headers.at("recstream.original.size"), "10");
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(stream::Fnv1a64("0123456789")));
  EXPECT_EQ(sink.headers.at("recstream.original.fnv1a64"), hash);
}

// Dead-letters from its window-end punctuation, where no record is in process.
class LateRejecter final : public stream::Operator<const stream::Record> {
 public:
  std::string_view name() const override { return "late"; }
  Status Process(const stream::Record&) override { return Status::OK(); }

 protected:
  Status OnInit() override {
    context().Schedule(Punctuation::kWindowEnd, {}, [this] { return context().DeadLetter("late", ""); });
    return Status::OK();
  }
};

TEST(ProcessorApi, ADeadLetterWithoutARecordInProcessIsAnErrorNotACrash) {
  stream::StateStores stores;
  stream::Topology topology;
  topology.Source<LateRejecter>();
  stream::TopologyTestDriver d(topology, stores);
  ASSERT_TRUE(d.Init().ok());
  d.BeginWindow(false);
  ASSERT_TRUE(d.PipeInput("in", "", "x").ok());
  const Status s = d.EndWindow();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("no record in process"), std::string::npos) << s.ToString();
}

// --- the recommendation operators ---

std::string Ev(const std::string& user, const std::string& item, const std::string& category,
               const std::string& event_id, int64_t ts = 1'767'225'000'000) {
  std::string j = "{\"user_id\":\"" + user + "\",\"item_id\":\"" + item + "\"";
  if (!category.empty()) j += ",\"category_id\":\"" + category + "\"";
  j += ",\"type\":\"view\",\"ts\":" + std::to_string(ts);
  if (!event_id.empty()) j += ",\"event_id\":\"" + event_id + "\"";
  return j + "}";
}

struct Rec {
  Rec() : task(operators::AddRecommendationStores(stores, opt, nullptr)) {}
  operators::PipelineOptions opt;
  stream::StateStores stores;
  operators::TaskStores task;
  operators::PipelineMetrics metrics;
  operators::PipelineObserver* observer = nullptr;
  stream::Topology topology;
};

// The first stages, with a tap where learn would be.
struct Front : Rec {
  Front() {
    topology.Source<operators::ParseOperator>(opt.parse, "items", metrics)
        .Then<operators::ControlOperator>(metrics)
        .Then<operators::ResolveOperator>(metrics)
        .Then<operators::DedupeOperator>(int64_t{0}, metrics)
        .Then<stream::Tap<operators::EventMessage>>([this](operators::EventMessage& m) {
          tapped.push_back(std::string(m.user_id()) + (m.forget() ? " forget" : " " + std::to_string(m.event.item)));
        });
  }
  std::vector<std::string> tapped;
};

TEST(RecommendationOperators, DedupeRejectsARepeatedEventIdAndNoRejectedEventCreatesAnId) {
  Front f;
  stream::TopologyTestDriver d(f.topology, f.stores);
  ASSERT_TRUE(d.Init().ok());
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i1", "c1", "e1")).ok());
  ASSERT_EQ(f.tapped, (std::vector<std::string>{"u1 0"}));
  // Dedupe keeps no state of its own: the user's remembered ids are in the
  // users store, marked by sequence; mark it here as sequence would.
  model::UserState* u = nullptr;
  ASSERT_TRUE(f.task.users->Get(0, "u1", &u).ok());
  u->RememberEventId(stream::Fnv1a64("e1"), f.opt.user.dedupe_window);
  // The same event_id with an item and a category never seen.
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i-new", "c-new", "e1")).ok());
  EXPECT_EQ(f.tapped.size(), 1u);
  auto dead = d.ReadOutput("events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].headers.at("recstream.reason"), "duplicate");
  EXPECT_EQ(f.task.item_ids->Find("i-new"), model::kNoId) << "a rejected event admitted its item";
  EXPECT_EQ(f.task.category_ids->Find("c-new"), model::kNoId) << "a rejected event admitted its category";
  // Resolve: no category and an item nobody knows.
  ASSERT_TRUE(d.PipeInput("events", "u2", Ev("u2", "i-unknown", "", "e9")).ok());
  dead = d.ReadOutput("events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].headers.at("recstream.reason"), "unknown_item");
  EXPECT_EQ(f.metrics.dead_letters_total(), 2u);
}

TEST(RecommendationOperators, ControlAppliesTheCatalogAndPassesForgetUserOn) {
  Front f;
  stream::TopologyTestDriver d(f.topology, f.stores);
  ASSERT_TRUE(d.Init().ok());
  ASSERT_TRUE(d.PipeInput("items", "", "{\"item_id\":\"i7\",\"category_id\":\"c3\",\"active\":true}").ok());
  EXPECT_TRUE(f.tapped.empty()) << "a catalog message stops at control";
  const model::ItemId i7 = f.task.item_ids->Find("i7");
  ASSERT_NE(i7, model::kNoId);
  ASSERT_TRUE(f.task.model->HasItem(i7));
  EXPECT_EQ(f.task.category_ids->Name(f.task.model->item(i7).category), "c3");
  // Now an event may omit the category.
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i7", "", "e1")).ok());
  model::UserState* u = nullptr;
  ASSERT_TRUE(f.task.users->Get(0, "u1", &u).ok());
  u->RememberEventId(stream::Fnv1a64("e1"), f.opt.user.dedupe_window);  // as sequence would
  ASSERT_TRUE(d.PipeInput("events", "u1", "{\"type\":\"forget_user\",\"user_id\":\"u1\"}").ok());
  EXPECT_EQ(f.tapped, (std::vector<std::string>{"u1 " + std::to_string(i7), "u1 forget"}));
  ASSERT_NE(f.task.users->Peek(0, "u1"), nullptr) << "kept as an erasure for the next checkpoint";
  EXPECT_FALSE(f.task.users->Peek(0, "u1")->SawEventId(stream::Fnv1a64("e1"))) << "control erased the user";
  EXPECT_EQ(f.metrics.catalog_updates.load(), 1u);
  EXPECT_EQ(f.metrics.tombstones.load(), 1u);
}

// The whole topology, as operators/pipeline.h wires it, on the driver.
struct Whole : Rec {
  Whole()
      : scorer(*task.model, *task.embedding, opt.recommend),
        built(operators::BuildRecommendationTopology(
            operators::TopologyParts{opt, metrics, scorer, &scorer, observer})) {}
  model::ModelRecommender scorer;
  std::unique_ptr<stream::Topology> built;
};

struct List {
  std::string user, trigger_event;
  int64_t generated_ts = 0;
  bool tombstone = false;
};
std::vector<List> Lists(const std::vector<TestOutput>& out) {
  simdjson::dom::parser parser;
  std::vector<List> lists;
  for (const auto& o : out) {
    List l;
    l.user = o.key;
    if (!o.value) {
      l.tombstone = true;
    } else {
      simdjson::dom::element doc;
      EXPECT_FALSE(parser.parse(o.value->data(), o.value->size()).get(doc));
      std::string_view e;
      if (!doc["trigger"]["event_id"].get(e)) l.trigger_event = std::string(e);
      EXPECT_FALSE(doc["generated_ts"].get(l.generated_ts));
    }
    lists.push_back(l);
  }
  return lists;
}

TEST(RecommendationOperators, TheWholeTopologyPublishesAListPerEventStampedByTheClock) {
  Whole w;
  EXPECT_EQ(w.built->Describe(), "parse -> control -> resolve -> dedupe -> learn -> sequence -> recommend -> publish");
  stream::TopologyTestDriver d(*w.built, w.stores);
  ASSERT_TRUE(d.Init().ok());
  const int64_t t0 = d.clock().WallMs();
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i1", "c1", "e1")).ok());
  d.clock().Advance(std::chrono::milliseconds(5000));
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i2", "c1", "e2")).ok());
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i2", "c1", "e2")).ok());  // a duplicate: no list
  const auto lists = Lists(d.ReadOutput("recommendations"));
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].trigger_event, "e1");
  EXPECT_EQ(lists[0].generated_ts, t0);
  EXPECT_EQ(lists[1].trigger_event, "e2");
  EXPECT_EQ(lists[1].generated_ts, t0 + 5000);
  EXPECT_EQ(d.ReadOutput("events.dlq").size(), 1u);
  EXPECT_EQ(w.metrics.events_applied.load(), 2u);
  EXPECT_EQ(w.task.model->version(), 2u);
}

TEST(RecommendationOperators, UnderBacklogAUserGetsOneListPerWindowAndAForgetWins) {
  Whole w;
  stream::TopologyTestDriver d(*w.built, w.stores);
  ASSERT_TRUE(d.Init().ok());
  d.BeginWindow(/*coalesce=*/true);
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i1", "c1", "e1")).ok());
  ASSERT_TRUE(d.PipeInput("events", "u2", Ev("u2", "i2", "c2", "e2")).ok());
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i3", "c1", "e3")).ok());
  EXPECT_TRUE(d.ReadOutput("recommendations").empty());
  ASSERT_TRUE(d.EndWindow().ok());
  auto lists = Lists(d.ReadOutput("recommendations"));
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].user, "u1");
  EXPECT_EQ(lists[0].trigger_event, "e3") << "the user's newest event triggers the window's list";
  EXPECT_EQ(lists[1].user, "u2");
  EXPECT_EQ(w.metrics.lists_coalesced.load(), 1u);
  EXPECT_EQ(w.metrics.events_applied.load(), 3u) << "every event changed state";

  d.BeginWindow(/*coalesce=*/true);
  ASSERT_TRUE(d.PipeInput("events", "u1", Ev("u1", "i4", "c1", "e4")).ok());
  ASSERT_TRUE(d.PipeInput("events", "u1", "{\"type\":\"forget_user\",\"user_id\":\"u1\"}").ok());
  ASSERT_TRUE(d.EndWindow().ok());
  lists = Lists(d.ReadOutput("recommendations"));
  ASSERT_EQ(lists.size(), 1u) << "no list after the user's tombstone";
  EXPECT_TRUE(lists[0].tombstone);
}

}  // namespace
}  // namespace recstream
