// The whole pipeline without a broker: records in, produced messages out
// through a fake RecordSink, state in memory (db == nullptr) or in a real
// StateDb in a temp dir. Assertions are on what a consumer of the output
// topics sees: lists, dead letters with headers, tombstones, restarts.
#include "operators/pipeline.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace recstream::operators {
namespace {

constexpr int64_t kNow = 1'767'225'600'000;  // the pipeline's clock in every test
const stream::ManualClock kClock(kNow);  // stands still
constexpr int64_t kMinute = 60'000;

// ---------------------------------------------------------------- fakes

struct Produced {
  std::string topic, key;
  std::optional<std::string> value;  // nullopt: tombstone
  std::map<std::string, std::string> headers;
};

class CollectingSink final : public stream::RecordSink {
 public:
  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const stream::Header> headers) override {
    Produced p{std::string(topic), std::string(key), std::nullopt, {}};
    if (value) p.value = std::string(*value);
    for (const auto& h : headers) p.headers[std::string(h.name)] = std::string(h.value);
    out.push_back(std::move(p));
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  std::vector<Produced> Take() { return std::exchange(out, {}); }
  std::vector<Produced> out;
};

// Input records; owns the bytes the records' views point at. Offsets count
// up per (topic, partition) unless given.
class Input {
 public:
  Input& Add(std::string_view topic, std::string_view key, std::string_view value, int32_t partition = 0) {
    stream::Record r;
    r.topic = Keep(topic);
    r.key = Keep(key);
    r.value = Keep(value);
    r.partition = partition;
    r.offset = next_[{std::string(topic), partition}]++;
    records.push_back(r);
    return *this;
  }
  Input& Event(const std::string& json, const std::string& key = "", int32_t partition = 0) {
    return Add("events", key, json, partition);
  }
  Input& Catalog(const std::string& json) { return Add("items", "", json); }
  stream::Record& back() { return records.back(); }
  std::string_view Keep(std::string_view s) { return bytes_.emplace_back(s); }
  // The next offsets after everything added so far.
  std::vector<stream::TopicPartitionOffset> Next() const {
    std::vector<stream::TopicPartitionOffset> v;
    for (const auto& [tp, off] : next_) v.push_back({tp.first, tp.second, off});
    return v;
  }
  void Clear() { records.clear(); }  // keeps the offsets counting

  std::vector<stream::Record> records;

 private:
  std::deque<std::string> bytes_;
  std::map<std::pair<std::string, int32_t>, int64_t> next_;
};

std::string Ev(const std::string& user, const std::string& item, const std::string& category,
               const std::string& type, int64_t ts, const std::string& event_id = "") {
  std::string j = "{\"user_id\":\"" + user + "\",\"item_id\":\"" + item + "\"";
  if (!category.empty()) j += ",\"category_id\":\"" + category + "\"";
  j += ",\"type\":\"" + type + "\",\"ts\":" + std::to_string(ts);
  if (!event_id.empty()) j += ",\"event_id\":\"" + event_id + "\"";
  return j + "}";
}

// ---------------------------------------------------------------- output

struct ListItem {
  std::string item_id, category_id, reason;
  double score = 0;
};
struct List {
  std::string user_id;
  int64_t generated_ts = 0;
  int64_t model_version = 0;
  std::optional<std::string> trigger_event_id;
  std::string trigger_item_id, trigger_category_id, trigger_type;
  int64_t trigger_ts = 0;
  std::vector<ListItem> items;
  bool Has(const std::string& item) const {
    for (const auto& i : items)
      if (i.item_id == item) return true;
    return false;
  }
};

// Parses an output message against the contract (DESIGN §1); fails the test
// on any deviation.
List ParseList(const std::string& json) {
  List l;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc)) {
    ADD_FAILURE() << "not JSON: " << json;
    return l;
  }
  auto str = [&](simdjson::dom::element e, const char* key) {
    std::string_view v;
    EXPECT_EQ(e[key].get(v), simdjson::SUCCESS) << key << " in " << json;
    return std::string(v);
  };
  auto num = [&](simdjson::dom::element e, const char* key) {
    int64_t v = 0;
    EXPECT_EQ(e[key].get(v), simdjson::SUCCESS) << key << " in " << json;
    return v;
  };
  l.user_id = str(doc, "user_id");
  l.generated_ts = num(doc, "generated_ts");
  l.model_version = num(doc, "model_version");
  simdjson::dom::element trig;
  if (doc["trigger"].get(trig)) {
    ADD_FAILURE() << "no trigger: " << json;
    return l;
  }
  std::string_view eid;
  if (!trig["event_id"].get(eid)) l.trigger_event_id = std::string(eid);
  l.trigger_item_id = str(trig, "item_id");
  l.trigger_category_id = str(trig, "category_id");
  l.trigger_type = str(trig, "type");
  l.trigger_ts = num(trig, "ts");
  simdjson::dom::array items;
  if (doc["items"].get(items)) {
    ADD_FAILURE() << "no items array: " << json;
    return l;
  }
  for (simdjson::dom::element it : items) {
    ListItem li;
    li.item_id = str(it, "item_id");
    li.category_id = str(it, "category_id");
    li.reason = str(it, "reason");
    EXPECT_EQ(it["score"].get(li.score), simdjson::SUCCESS) << json;
    l.items.push_back(li);
  }
  return l;
}

const std::set<std::string> kReasons = {"complement", "bought_together", "similar", "popular", "recently_viewed", "in_cart"};

// ---------------------------------------------------------------- fixture

class PipelineTest : public ::testing::TestWithParam<bool> {
 protected:
  bool with_db() const { return GetParam(); }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (auto& c : name)
      if (c == '/') c = '_';
    dir_ = std::filesystem::temp_directory_path() / ("recstream-pipeline-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    pipeline_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // (Re)creates the pipeline with opt_; the store keeps what was checkpointed.
  void Open() {
    pipeline_.reset();
    db_.reset();
    if (with_db()) {
      state::StateOptions so;
      so.dir = dir_.string();
      auto s = state::StateDb::Open(so, &db_);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    Status s = Pipeline::Create(opt_, db_.get(), &pipeline_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    pipeline_->set_clock(kClock);
  }
  // Closes and reopens the state store (a process restart).
  void Reopen() {
    ASSERT_TRUE(with_db());
    Open();
  }

  // Processes the input's records as one batch, then checkpoints it.
  std::vector<Produced> Run(Input& in, bool checkpoint = true) {
    Status s = pipeline_->Process(in.records, sink_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (checkpoint) {
      s = pipeline_->Checkpoint(in.Next());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    in.Clear();
    return sink_.Take();
  }

  // Lists produced for the recommendations topic, in order.
  static std::vector<List> Lists(const std::vector<Produced>& out) {
    std::vector<List> v;
    for (const auto& p : out)
      if (p.topic == "recommendations" && p.value) v.push_back(ParseList(*p.value));
    return v;
  }

  model::UserState User(const std::string& id, int32_t partition = 0) {
    model::UserState* u = nullptr;
    auto s = pipeline_->users().Get(partition, id, &u);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return u ? *u : model::UserState{};
  }

  uint64_t DeadLetters(Reject r) const {
    return pipeline_->metrics().dead_letters[static_cast<size_t>(r)].load();
  }

  // Feeds two batches with a restart between them, and compares every output
  // of the second batch with an uninterrupted in-memory run.
  void ExpectRestartIsInvisible();

  // A small shop: buyers of phones go on to cases and chargers; others look
  // at shoes. Users b0..b9, s0..s4; ts spread over the last hour.
  void Warm(Input& in) {
    for (int i = 0; i < 10; ++i) {
      const std::string u = "b" + std::to_string(i);
      const int64_t ts = kNow - 60 * kMinute + i * kMinute;
      in.Event(Ev(u, "phone" + std::to_string(i % 3), "phones", "purchase", ts, u + "-1"), u);
      in.Event(Ev(u, (i % 2 ? "case" : "charger") + std::to_string(i % 4), i % 2 ? "cases" : "chargers",
                  "purchase", ts + 20'000, u + "-2"),
               u);
    }
    for (int i = 0; i < 5; ++i) {
      const std::string u = "s" + std::to_string(i);
      in.Event(Ev(u, "shoe" + std::to_string(i % 3), "shoes", "view", kNow - 30 * kMinute + i, u + "-1"), u);
    }
  }

  PipelineOptions opt_;
  std::filesystem::path dir_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<Pipeline> pipeline_;
  CollectingSink sink_;
};

// The category every item of Warm() and the tests below was given.
std::string CategoryOf(const std::string& item) {
  for (const char* c : {"phone", "case", "charger", "shoe"})
    if (item.rfind(c, 0) == 0) return std::string(c) + "s";
  if (item == "7") return "3";
  return "?";
}

// The tests that need a state store to restart from.
class StateDbPipelineTest : public PipelineTest {};

// ---------------------------------------------------------------- tests

TEST_P(PipelineTest, EveryValidEventGivesOneListKeyedByUserEchoingTheTrigger) {
  Input warm;
  Warm(warm);
  const auto warm_out = Run(warm);
  EXPECT_EQ(Lists(warm_out).size(), 25u);

  Input in;
  in.Event(Ev("u1", "phone1", "phones", "purchase", kNow - 5000, "e1"), "u1");
  in.Event(Ev("u2", "case1", "cases", "view", kNow - 4000, "e2"), "not-u2");  // user_id wins over the key
  in.Event(Ev("u3", "shoe1", "shoes", "buy", kNow - 3000, "e3"), "u3");  // alias
  in.Event(Ev("u4", "charger0", "chargers", "cart", kNow - 2000), "u4");  // no event_id
  in.Event("{\"user_id\":42,\"item_id\":7,\"category_id\":3,\"type\":\"pv\",\"ts\":" + std::to_string(kNow - 1000) +
               ",\"event_id\":\"e5\",\"extra\":{\"ignored\":[1,2]}}",
           "42");
  in.Event("{\"user_id\":\"u6\",\"item_id\":\"phone2\",\"type\":\"click\",\"event_id\":\"e6\"}", "u6");
  in.back().timestamp_ms = kNow - 500;  // no ts: the message timestamp is the event time
  const auto out = Run(in);

  ASSERT_EQ(out.size(), 6u);
  const std::vector<std::string> users = {"u1", "u2", "u3", "u4", "42", "u6"};
  const std::vector<std::optional<std::string>> ids = {"e1", "e2", "e3", std::nullopt, "e5", "e6"};
  const std::vector<std::string> items = {"phone1", "case1", "shoe1", "charger0", "7", "phone2"};
  const std::vector<std::string> cats = {"phones", "cases", "shoes", "chargers", "3", "phones"};
  const std::vector<std::string> types = {"purchase", "view", "purchase", "cart", "view", "click"};
  const std::vector<int64_t> ts = {kNow - 5000, kNow - 4000, kNow - 3000, kNow - 2000, kNow - 1000, kNow - 500};
  int64_t prev_version = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    EXPECT_EQ(out[i].topic, "recommendations");
    EXPECT_EQ(out[i].key, users[i]);
    ASSERT_TRUE(out[i].value.has_value());
    const List l = ParseList(*out[i].value);
    EXPECT_EQ(l.user_id, users[i]);
    EXPECT_EQ(l.generated_ts, kNow);
    EXPECT_GT(l.model_version, prev_version);
    prev_version = l.model_version;
    EXPECT_EQ(l.trigger_event_id, ids[i]);
    EXPECT_EQ(l.trigger_item_id, items[i]);
    EXPECT_EQ(l.trigger_category_id, cats[i]);
    EXPECT_EQ(l.trigger_type, types[i]);
    EXPECT_EQ(l.trigger_ts, ts[i]);
    EXPECT_FALSE(l.items.empty());
    EXPECT_LE(l.items.size(), opt_.recommend.k);
    std::set<std::string> seen;
    for (const auto& it : l.items) {
      // The trigger item comes back only when it was carted (not bought).
      if (it.item_id == items[i]) {
        EXPECT_EQ(types[i], "cart") << "the trigger item is recommended";
        EXPECT_EQ(it.reason, "in_cart");
      }
      EXPECT_EQ(kReasons.count(it.reason), 1u) << it.reason;
      EXPECT_TRUE(seen.insert(it.item_id).second) << it.item_id << " twice";
      EXPECT_GE(it.score, 0.0);
      EXPECT_EQ(it.category_id, CategoryOf(it.item_id)) << it.item_id;
    }
  }
  // A phone buyer is offered cases or chargers (the learned complements).
  const List phone = ParseList(*out[0].value);
  bool complement = false;
  for (const auto& it : phone.items) complement |= it.category_id == "cases" || it.category_id == "chargers";
  EXPECT_TRUE(complement) << *out[0].value;

  const auto& m = pipeline_->metrics();
  EXPECT_EQ(m.records_in.load(), 31u);
  EXPECT_EQ(m.events_applied.load(), 31u);
  EXPECT_EQ(m.lists_published.load(), 31u);
  EXPECT_EQ(m.dead_letters_total(), 0u);
  EXPECT_EQ(m.batches.load(), 2u);
  EXPECT_EQ(m.key_mismatch.load(), 1u);
}

TEST_P(PipelineTest, ReplayMayUseTheSourceOffsetAsEventId) {
  opt_.offset_as_event_id = true;
  Open();
  Input in;
  in.Event(Ev("u1", "i1", "c1", "view", kNow - 2000), "u1");
  in.Event(Ev("u1", "i2", "c1", "view", kNow - 1000, "own"), "u1");
  const auto lists = Lists(Run(in));
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].trigger_event_id, "0");
  EXPECT_EQ(lists[1].trigger_event_id, "own");  // a real event_id wins
}

TEST_P(PipelineTest, AbandonedPipelineRefusesWork) {
  Input in;
  in.Event(Ev("u1", "i1", "c1", "view", kNow), "u1");
  pipeline_->Abandon();
  EXPECT_FALSE(pipeline_->Process(in.records, sink_).ok());
  EXPECT_FALSE(pipeline_->Checkpoint(in.Next()).ok());
  EXPECT_TRUE(sink_.out.empty());
  EXPECT_EQ(pipeline_->StoredOffset("events", 0), stream::kNoStoredOffset);
}

TEST_P(PipelineTest, MalformedRecordsAreDeadLetteredWithReasonAndOriginalBytes) {
  Input in;
  in.Event("{not json", "u1", /*partition=*/2);
  in.back().offset = 17;
  in.Event("{\"user_id\":\"u1\",\"type\":\"view\",\"ts\":" + std::to_string(kNow) + "}", "u1");
  in.Event(Ev("u1", "i1", "c1", "teleport", kNow), "u1");
  in.Add("events", "u9", "", 0);
  in.back().value_null = true;  // a Kafka tombstone on the input
  in.Event("{\"user_id\":\"u1\",\"item_id\":\"i1\",\"category_id\":\"c1\",\"type\":\"view\",\"ts\":1}", "u1");
  in.back().original = "u1,i1,c1,pv";  // converted from a CSV row: the row is what gets dead-lettered
  in.back().value = "{\"user_id\":\"u1\",\"item_id\":\"\",\"type\":\"view\",\"ts\":1}";
  in.Event(Ev("u1", "i1", "c1", "view", kNow - 1000, "ok"), "u1");  // the stream goes on
  const auto out = Run(in);

  ASSERT_EQ(out.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE("dead letter " + std::to_string(i));
    EXPECT_EQ(out[i].topic, "events.dlq");
    EXPECT_EQ(out[i].headers.count("recstream.reason"), 1u);
    EXPECT_FALSE(out[i].headers.at("recstream.detail").empty());
    EXPECT_EQ(out[i].headers.at("recstream.source.topic"), "events");
  }
  EXPECT_EQ(out[0].key, "u1");
  EXPECT_EQ(out[0].value, "{not json");
  EXPECT_EQ(out[0].headers.at("recstream.reason"), "invalid_json");
  EXPECT_EQ(out[0].headers.at("recstream.source.partition"), "2");
  EXPECT_EQ(out[0].headers.at("recstream.source.offset"), "17");

  EXPECT_EQ(out[1].headers.at("recstream.reason"), "missing_field");
  EXPECT_NE(out[1].headers.at("recstream.detail").find("item_id"), std::string::npos);
  EXPECT_EQ(out[1].headers.at("recstream.source.partition"), "0");
  EXPECT_EQ(out[1].headers.at("recstream.source.offset"), "0");
  EXPECT_EQ(out[2].headers.at("recstream.reason"), "unknown_type");
  EXPECT_EQ(out[2].value, Ev("u1", "i1", "c1", "teleport", kNow));
  EXPECT_EQ(out[3].headers.at("recstream.reason"), "null_value");
  EXPECT_EQ(out[3].key, "u9");
  EXPECT_FALSE(out[3].value.has_value());
  EXPECT_EQ(out[4].headers.at("recstream.reason"), "bad_id");
  EXPECT_EQ(out[4].value, "u1,i1,c1,pv");

  EXPECT_EQ(out[5].topic, "recommendations");
  EXPECT_EQ(ParseList(*out[5].value).trigger_event_id, "ok");

  EXPECT_EQ(DeadLetters(Reject::kInvalidJson), 1u);
  EXPECT_EQ(DeadLetters(Reject::kMissingField), 1u);
  EXPECT_EQ(DeadLetters(Reject::kUnknownType), 1u);
  EXPECT_EQ(DeadLetters(Reject::kNullValue), 1u);
  EXPECT_EQ(DeadLetters(Reject::kBadId), 1u);
  EXPECT_EQ(pipeline_->metrics().dead_letters_total(), 5u);
  EXPECT_EQ(pipeline_->metrics().events_applied.load(), 1u);
  EXPECT_EQ(User("u1").events, 1u);  // rejected records left no trace
  EXPECT_TRUE(User("u9").empty());

  // Counters keep counting per reason.
  in.Event("[1,2,3]", "u1").Event("nonsense", "u1");
  const auto more = Run(in);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].headers.at("recstream.reason"), "not_object");
  EXPECT_EQ(more[1].headers.at("recstream.reason"), "invalid_json");
  EXPECT_EQ(DeadLetters(Reject::kInvalidJson), 2u);
  EXPECT_EQ(DeadLetters(Reject::kNotObject), 1u);
}

// A poison pill: a message of 999,909 bytes (a default broker accepts it)
// once made the dead letter copy it whole, past the producer's limit, and the
// processor stopped on it at every restart. Dead letters are bounded
// (payload and key) so that they fit under the producer's limit, and say
// what was cut.
TEST_P(PipelineTest, OversizedMessageGivesABoundedDeadLetterWithItsSizeAndHash) {
  const size_t bound = opt_.dead_letter_max_bytes;
  ASSERT_LT(bound + kDeadLetterMaxKeyBytes, 1'000'000u);
  std::string huge = Ev("u1", "i1", "c1", "view", kNow - 1000);
  huge.insert(huge.size() - 1, ",\"pad\":\"" + std::string(999'909 - huge.size() - 9, 'x') + "\"");
  ASSERT_EQ(huge.size(), 999'909u);
  const std::string huge_key(200'000, 'k');
  Input in;
  in.Event(huge, "u1").Add("events", huge_key, Ev("u2", "i1", "c1", "view", kNow - 900));
  in.Event(Ev("u3", "i2", "c1", "view", kNow - 800), "u3");
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 3u);
  const Produced& dl = out[0];
  EXPECT_EQ(dl.topic, "events.dlq");
  EXPECT_EQ(dl.headers.at("recstream.reason"), "oversized");
  ASSERT_TRUE(dl.value.has_value());
  EXPECT_EQ(dl.value->size(), bound);
  EXPECT_EQ(*dl.value, huge.substr(0, bound));
  EXPECT_EQ(dl.headers.at("recstream.original.size"), "999909");
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(HashEventId(huge)));
  EXPECT_EQ(dl.headers.at("recstream.original.fnv1a64"), hash);
  EXPECT_EQ(dl.key, "u1");
  EXPECT_EQ(dl.headers.count("recstream.original.key_size"), 0u);
  // The oversized key of a valid event does not matter (user_id wins): a list.
  EXPECT_EQ(out[1].topic, "recommendations");
  EXPECT_EQ(out[1].key, "u2");
  EXPECT_EQ(out[2].key, "u3");
  EXPECT_EQ(pipeline_->metrics().dead_letters_truncated.load(), 1u);

  // An oversized key on a rejected message is cut the same way.
  in.Add("events", huge_key, "not json");
  const auto more = Run(in);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].key.size(), kDeadLetterMaxKeyBytes);
  EXPECT_EQ(more[0].headers.at("recstream.original.key_size"), "200000");
  EXPECT_EQ(more[0].headers.count("recstream.original.key_fnv1a64"), 1u);
  EXPECT_EQ(*more[0].value, "not json");
  EXPECT_EQ(more[0].headers.count("recstream.original.size"), 0u);
  EXPECT_EQ(pipeline_->metrics().dead_letters_truncated.load(), 2u);
}

TEST_P(PipelineTest, DuplicateEventIdForTheSameUserIsDeadLettered) {
  Input in;
  in.Event(Ev("u1", "i1", "c1", "purchase", kNow - 3000, "e1"), "u1");
  in.Event(Ev("u1", "i2", "c1", "view", kNow - 2000, "e1"), "u1");  // same id, same user
  in.Event(Ev("u2", "i1", "c1", "view", kNow - 1000, "e1"), "u2");  // same id, other user: fine
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].topic, "recommendations");
  EXPECT_EQ(out[1].topic, "events.dlq");
  EXPECT_EQ(out[1].key, "u1");
  EXPECT_EQ(out[1].headers.at("recstream.reason"), "duplicate");
  EXPECT_EQ(out[1].value, Ev("u1", "i2", "c1", "view", kNow - 2000, "e1"));
  EXPECT_EQ(out[2].topic, "recommendations");
  EXPECT_EQ(out[2].key, "u2");
  EXPECT_EQ(User("u1").events, 1u);  // the duplicate changed nothing
  EXPECT_EQ(User("u1").recent.size(), 1u);

  // A later batch (after the checkpoint) still knows the id.
  in.Event(Ev("u1", "i1", "c1", "purchase", kNow - 3000, "e1"), "u1");
  in.Event(Ev("u1", "i3", "c1", "view", kNow, "e2"), "u1");
  const auto later = Run(in);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].headers.at("recstream.reason"), "duplicate");
  EXPECT_EQ(later[1].topic, "recommendations");
  EXPECT_EQ(DeadLetters(Reject::kDuplicate), 2u);
  EXPECT_EQ(User("u1").events, 2u);
}

TEST_P(PipelineTest, EventForAnUnknownItemWithoutCategoryIsUnknownItem) {
  Input in;
  in.Event("{\"user_id\":\"u1\",\"item_id\":\"mystery\",\"type\":\"view\",\"ts\":" + std::to_string(kNow) + "}", "u1");
  in.Event(Ev("u1", "known", "c1", "view", kNow - 2000), "u1");
  in.Event("{\"user_id\":\"u1\",\"item_id\":\"known\",\"type\":\"click\",\"ts\":" + std::to_string(kNow - 1000) + "}",
           "u1");
  in.Catalog("{\"item_id\":\"listed\",\"category_id\":\"c9\",\"active\":true}");
  in.Catalog("{\"item_id\":\"ghost\",\"active\":false}");  // no category, unknown: rejected too
  in.Event("{\"user_id\":\"u2\",\"item_id\":\"listed\",\"type\":\"view\",\"ts\":" + std::to_string(kNow) + "}", "u2");
  const auto out = Run(in);

  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].topic, "events.dlq");
  EXPECT_EQ(out[0].headers.at("recstream.reason"), "unknown_item");
  EXPECT_EQ(pipeline_->item_ids().Find("mystery"), UINT32_MAX) << "a rejected event created an id";
  // Once an event (or the catalog) gave the item a category, it may be omitted.
  const auto lists = Lists(out);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[1].trigger_item_id, "known");
  EXPECT_EQ(lists[1].trigger_category_id, "c1");
  EXPECT_EQ(out[3].topic, "events.dlq");
  EXPECT_EQ(out[3].headers.at("recstream.reason"), "unknown_item");
  EXPECT_EQ(out[3].headers.at("recstream.source.topic"), "items");
  EXPECT_EQ(lists[2].trigger_item_id, "listed");
  EXPECT_EQ(lists[2].trigger_category_id, "c9");
  EXPECT_EQ(DeadLetters(Reject::kUnknownItem), 2u);
  EXPECT_EQ(pipeline_->metrics().catalog_updates.load(), 1u);
}

TEST_P(PipelineTest, ForgetUserYieldsATombstoneAndErasesTheState) {
  Input in;
  Warm(in);
  in.Event(Ev("u1", "phone1", "phones", "purchase", kNow - 2000, "e1"), "u1");
  in.Event(Ev("u1", "case1", "cases", "view", kNow - 1000, "e2"), "u1");
  Run(in);
  ASSERT_EQ(User("u1").events, 2u);

  in.Event("{\"type\":\"forget_user\",\"user_id\":\"u1\"}", "u1");
  in.Event("{\"type\":\"forget_user\",\"user_id\":42}", "42");  // a user never seen
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].topic, "recommendations");
  EXPECT_EQ(out[0].key, "u1");
  EXPECT_FALSE(out[0].value.has_value()) << "not a tombstone: " << *out[0].value;
  EXPECT_EQ(out[1].key, "42");
  EXPECT_FALSE(out[1].value.has_value());
  EXPECT_EQ(pipeline_->metrics().tombstones.load(), 2u);

  auto expect_erased = [&] {
    const model::UserState u = User("u1");
    EXPECT_TRUE(u.empty());
    EXPECT_TRUE(u.recent.empty());
    EXPECT_TRUE(u.purchases.empty());
    EXPECT_TRUE(u.affinity.empty());
    EXPECT_TRUE(u.seen_event_ids.empty());
  };
  expect_erased();
  if (with_db()) {
    Reopen();
    expect_erased();
  }
  // No trace left: the old event id is new again, the old purchase may be
  // recommended again.
  in.Event(Ev("u1", "phone1", "phones", "view", kNow, "e1"), "u1");
  const auto again = Run(in);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].topic, "recommendations");
  EXPECT_EQ(User("u1").events, 1u);
}

// Forget means forget: an event of a forgotten user that is not newer than
// the erasure (a redelivery, a late duplicate) does not re-create the
// profile. It is dead-lettered as forgotten_user without key or payload; a
// newer event starts a new profile. With a state store, the erasure
// compaction runs after the checkpoint (interval 0) and empties its queue.
TEST_P(PipelineTest, AnOldEventOfAForgottenUserDoesNotRecreateTheProfile) {
  opt_.erasure_interval_ms = 0;
  Open();
  Input in;
  in.Event(Ev("u1", "i1", "c1", "view", kNow - 3000, "e1"), "u1");
  in.Event(Ev("u1", "i2", "c1", "purchase", kNow - 2000, "e2"), "u1");
  in.Event(Ev("u2", "i1", "c1", "view", kNow - 3000, "f1"), "u2");
  Run(in);
  in.Event("{\"type\":\"forget_user\",\"user_id\":\"u1\"}", "u1");
  // Forgotten as of an explicit time after the user's last event.
  in.Event("{\"type\":\"forget_user\",\"user_id\":\"u2\",\"ts\":" + std::to_string(kNow - 500) + "}", "u2");
  Run(in);
  EXPECT_EQ(User("u1").forgotten_at_ms, kNow - 2000) << "as of the last event erased";
  EXPECT_EQ(User("u2").forgotten_at_ms, kNow - 500);
  if (with_db()) {
    ASSERT_NE(pipeline_->eraser(), nullptr);
    for (int i = 0; i < 500 && pipeline_->eraser()->erased() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(pipeline_->eraser()->erased(), 2u) << "both erasures compacted away";
    EXPECT_EQ(pipeline_->eraser()->pending(), 0u);
    Reopen();
    EXPECT_EQ(pipeline_->eraser()->pending(), 0u) << "nothing left for the next process";
  }

  in.Event(Ev("u1", "i1", "c1", "view", kNow - 3000, "e1"), "u1");          // redelivered
  in.Event(Ev("u1", "i3", "c1", "view", kNow - 2000, "e9"), "u1");          // as old as the erasure
  in.Event(Ev("u2", "i2", "c1", "view", kNow - 700, "f2"), "u2");           // before u2's forget time
  in.Event(Ev("u1", "i3", "c1", "view", kNow - 100, "e10"), "u1");          // new activity
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].topic, "events.dlq") << i;
    EXPECT_EQ(out[i].headers.at("recstream.reason"), "forgotten_user") << i;
    EXPECT_TRUE(out[i].key.empty()) << "the dead letter names no one";
    EXPECT_FALSE(out[i].value.has_value() && !out[i].value->empty()) << "nor carries the event";
    EXPECT_TRUE(out[i].headers.count("recstream.source.offset")) << "but says where it was";
  }
  EXPECT_EQ(out[3].topic, "recommendations");
  EXPECT_EQ(DeadLetters(Reject::kForgottenUser), 3u);
  const model::UserState u1 = User("u1");
  EXPECT_EQ(u1.events, 1u) << "a new profile of the newer event only";
  EXPECT_EQ(u1.forgotten_at_ms, kNow - 2000) << "the new profile still keeps the erasure time";
  EXPECT_TRUE(User("u2").empty());
}

// A user idle past user.expire_after_s starts over at their next event, with
// and without a state store (the store's compaction only reclaims the disk).
TEST_P(PipelineTest, AUserIdlePastTheExpiryStartsOver) {
  constexpr int64_t kDay = 86'400'000;
  opt_.user.expire_after_ms = 10 * kDay;
  Open();
  Input in;
  in.Event(Ev("u1", "i1", "c1", "purchase", kNow - 40 * kDay, "e1"), "u1");
  in.Event(Ev("u1", "i2", "c1", "view", kNow - 31 * kDay, "e2"), "u1");  // 9 days on: kept
  Run(in);
  EXPECT_EQ(User("u1").events, 2u);
  EXPECT_EQ(pipeline_->metrics().users_expired.load(), 0u);
  if (with_db()) Reopen();
  in.Event(Ev("u1", "i3", "c1", "view", kNow - 20 * kDay, "e3"), "u1");  // 11 days idle
  in.Event(Ev("u1", "i1", "c1", "view", kNow - 20 * kDay + 1, "e1"), "u1");
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].topic, "recommendations") << "e1 is no duplicate: the old state is gone";
  const model::UserState u = User("u1");
  EXPECT_EQ(u.events, 2u);
  EXPECT_FALSE(u.HasPurchased(pipeline_->item_ids().Find("i1"))) << "the old purchase expired with the user";
  EXPECT_EQ(pipeline_->metrics().users_expired.load(), 1u);
  EXPECT_EQ(pipeline_->metrics().stream_time_ms.load(), kNow - 20 * kDay + 1);
}

// A rebalance that takes partition 1 away lets only that partition's users
// go from the cache (another instance may change them next); the users of
// the partitions kept stay warm. A user is kept per (partition, user).
TEST_P(StateDbPipelineTest, RevokingAPartitionDropsOnlyItsUsersFromTheCache) {
  Input in;
  in.Event(Ev("u0", "i1", "c1", "view", kNow - 3000, "a"), "u0", 0);
  in.Event(Ev("u1", "i2", "c1", "view", kNow - 2000, "b"), "u1", 1);
  Run(in);
  ASSERT_NE(pipeline_->users().Peek(0, "u0"), nullptr);
  ASSERT_NE(pipeline_->users().Peek(1, "u1"), nullptr);
  EXPECT_EQ(pipeline_->users().Peek(0, "u1"), nullptr) << "u1's state is under its own partition";
  pipeline_->OnRevoked({{"items", 1, 0}});
  EXPECT_NE(pipeline_->users().Peek(1, "u1"), nullptr) << "the catalog's partitions hold no users";
  pipeline_->OnRevoked({{"events", 1, 0}});
  EXPECT_EQ(pipeline_->users().Peek(1, "u1"), nullptr);
  ASSERT_NE(pipeline_->users().Peek(0, "u0"), nullptr) << "a kept partition's users stay warm";
  EXPECT_EQ(User("u1", 1).events, 1u) << "and the dropped ones load again from the store";
}

// A forget_user followed by an event of the same user in one batch: the
// state built by the event survives the checkpoint (the event id is still
// known, the purchase still excluded).
TEST_P(PipelineTest, EventAfterForgetUserInTheSameBatchIsKept) {
  Input in;
  in.Event(Ev("u1", "i1", "c1", "purchase", kNow - 3000, "e1"), "u1");
  Run(in);
  in.Event("{\"type\":\"forget_user\",\"user_id\":\"u1\"}", "u1");
  in.Event(Ev("u1", "i2", "c1", "purchase", kNow - 1000, "e2"), "u1");
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 2u);
  const model::UserState u = User("u1");
  EXPECT_EQ(u.events, 1u);
  ASSERT_EQ(u.recent.size(), 1u);
  EXPECT_TRUE(u.HasPurchased(pipeline_->item_ids().Find("i2")));
  in.Event(Ev("u1", "i2", "c1", "purchase", kNow - 1000, "e2"), "u1");
  const auto replay = Run(in);
  ASSERT_EQ(replay.size(), 1u);
  EXPECT_EQ(replay[0].topic, "events.dlq");
}

TEST_P(PipelineTest, DeactivatedItemDisappearsFromLaterLists) {
  Input in;
  Warm(in);
  in.Event(Ev("x", "phone0", "phones", "purchase", kNow - 5000, "x1"), "x");
  const auto before = Lists(Run(in));
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(before.back().items.empty());
  const ListItem victim = before.back().items.front();  // x's best item

  in.Catalog("{\"item_id\":\"" + victim.item_id + "\",\"category_id\":\"" + victim.category_id +
             "\",\"active\":false}");
  const auto cat_out = Run(in);
  EXPECT_TRUE(cat_out.empty()) << "a catalog update produced output";
  EXPECT_EQ(pipeline_->metrics().catalog_updates.load(), 1u);

  // x again (same category, new item) and fresh users: never again.
  in.Event(Ev("x", "phone2", "phones", "purchase", kNow - 4000, "x2"), "x");
  in.Event(Ev("y", "phone0", "phones", "purchase", kNow - 3000, "y1"), "y");
  in.Event(Ev("z", "phone1", "phones", "view", kNow - 2000, "z1"), "z");
  const auto after = Lists(Run(in));
  ASSERT_EQ(after.size(), 3u);
  for (const auto& l : after) {
    EXPECT_FALSE(l.items.empty());
    EXPECT_FALSE(l.Has(victim.item_id)) << "inactive " << victim.item_id << " recommended to " << l.user_id;
  }
  // Events about the inactive item itself are still applied (it stays known).
  in.Event(Ev("w", victim.item_id, victim.category_id, "view", kNow - 1000, "w1"), "w");
  const auto own = Lists(Run(in));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_FALSE(own[0].Has(victim.item_id));
}

TEST_P(PipelineTest, CheckpointStoresTheNextOffsets) {
  Input in;
  in.Event(Ev("u1", "i1", "c1", "view", kNow - 2000), "u1", 0);
  in.Event(Ev("u2", "i2", "c1", "view", kNow - 1000), "u2", 3);
  in.Event(Ev("u2", "i3", "c1", "view", kNow - 500), "u2", 3);
  in.Catalog("{\"item_id\":\"i4\",\"category_id\":\"c2\"}");
  EXPECT_EQ(pipeline_->StoredOffset("events", 0), stream::kNoStoredOffset);
  Run(in);
  EXPECT_EQ(pipeline_->StoredOffset("events", 0), 1);
  EXPECT_EQ(pipeline_->StoredOffset("events", 3), 2);
  EXPECT_EQ(pipeline_->StoredOffset("items", 0), 1);
  EXPECT_EQ(pipeline_->StoredOffset("events", 1), stream::kNoStoredOffset);
  std::vector<stream::TopicPartitionOffset> assigned = {{"events", 3, 0}, {"events", 1, 0}};
  pipeline_->OnAssigned(assigned);
  EXPECT_EQ(assigned[0].offset, 2);
  EXPECT_EQ(assigned[1].offset, stream::kNoStoredOffset);
}

// One unreadable user row once stopped the processor, on every restart (a
// poison pill in the state). It is dead-lettered as state_corrupt (key: the
// user, payload: the row's bytes), the user starts again from empty state,
// the event that found it is applied, and the next checkpoint replaces the row.
TEST_P(StateDbPipelineTest, ACorruptUserRowIsDeadLetteredAndResetInsteadOfStoppingTheStream) {
  Input in;
  Warm(in);
  Run(in);
  const std::string garbage = "\xff\x01garbage row";
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(db_->handle(state::Cf::kUsers), db_->user_keys().Key(0, "b1"), garbage).ok());
  ASSERT_TRUE(db_->Commit(batch).ok());
  Reopen();
  in.Event(Ev("b1", "shoe1", "shoes", "view", kNow - 1000, "b1-3"), "b1");
  in.Event(Ev("b2", "shoe1", "shoes", "view", kNow - 900, "b2-3"), "b2");
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].topic, "events.dlq");
  EXPECT_EQ(out[0].headers.at("recstream.reason"), "state_corrupt");
  EXPECT_EQ(out[0].key, "b1");
  EXPECT_EQ(out[0].value, garbage) << "the row's bytes, for forensics";
  EXPECT_EQ(out[0].headers.at("recstream.source.topic"), "events") << "where it was found";
  EXPECT_EQ(out[1].topic, "recommendations") << "the event itself is applied";
  EXPECT_EQ(out[1].key, "b1");
  EXPECT_EQ(out[2].key, "b2");
  EXPECT_EQ(DeadLetters(Reject::kStateCorrupt), 1u);
  EXPECT_EQ(User("b1").events, 1u) << "reset, then this event";
  EXPECT_EQ(User("b2").events, 3u) << "other users untouched";
  Reopen();
  EXPECT_EQ(User("b1").events, 1u) << "the checkpoint replaced the row";
  EXPECT_EQ(pipeline_->metrics().dead_letters[static_cast<size_t>(Reject::kStateCorrupt)].load(), 0u);
}

TEST_P(StateDbPipelineTest, ReopenRestoresOffsetsUserStateAndModel) {
  Input in;
  Warm(in);
  in.Event(Ev("u1", "phone1", "phones", "purchase", kNow - 3000, "e1"), "u1", 1);
  in.Event(Ev("u1", "case2", "cases", "view", kNow - 2000, "e2"), "u1", 1);
  in.Catalog("{\"item_id\":\"case3\",\"category_id\":\"cases\",\"active\":false}");
  Run(in);
  const auto next = in.Next();
  const model::UserState u1 = User("u1", 1);
  const uint64_t version = pipeline_->model().version();
  const size_t items = pipeline_->item_ids().size();
  const size_t categories = pipeline_->category_ids().size();
  const uint32_t phone2_count = pipeline_->model().item(pipeline_->item_ids().Find("phone2")).count;

  // A batch processed but never checkpointed (a crash before the commit).
  in.Event(Ev("u1", "phone2", "phones", "view", kNow - 1000, "e3"), "u1", 1);
  Run(in, /*checkpoint=*/false);

  Reopen();
  for (const auto& tp : next) EXPECT_EQ(pipeline_->StoredOffset(tp.topic, tp.partition), tp.offset) << tp.topic;
  EXPECT_EQ(pipeline_->StoredOffset("events", 1), 2);
  EXPECT_EQ(pipeline_->StoredOffset("events", 0), 25);
  EXPECT_EQ(pipeline_->StoredOffset("items", 0), 1);
  EXPECT_EQ(pipeline_->StoredOffset("events", 2), stream::kNoStoredOffset);

  const model::UserState back = User("u1", 1);
  EXPECT_EQ(back.events, u1.events);
  EXPECT_EQ(back.recent, u1.recent);
  EXPECT_EQ(back.purchases, u1.purchases);
  EXPECT_EQ(back.seen_event_ids, u1.seen_event_ids);
  ASSERT_EQ(back.affinity.size(), u1.affinity.size());
  EXPECT_EQ(pipeline_->model().version(), version);
  EXPECT_EQ(pipeline_->item_ids().size(), items);
  EXPECT_EQ(pipeline_->category_ids().size(), categories);
  const auto case3 = pipeline_->item_ids().Find("case3");
  ASSERT_NE(case3, UINT32_MAX);
  EXPECT_FALSE(pipeline_->model().item(case3).active);
  EXPECT_EQ(pipeline_->model().item(pipeline_->item_ids().Find("phone2")).count, phone2_count)
      << "an event of the uncheckpointed batch survived the restart";

  // The restored state behaves: e2 is a duplicate, e3 (lost with the crash) is new.
  in.Event(Ev("u1", "case2", "cases", "view", kNow - 2000, "e2"), "u1", 1);
  in.Event(Ev("u1", "phone2", "phones", "view", kNow - 1000, "e3"), "u1", 1);
  const auto out = Run(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].topic, "events.dlq");
  EXPECT_EQ(out[0].headers.at("recstream.reason"), "duplicate");
  EXPECT_EQ(out[1].topic, "recommendations");
  EXPECT_EQ(User("u1", 1).events, 3u);
}

// A restart between two batches changes nothing a consumer can see: the
// lists after a reopen equal those of an uninterrupted in-memory run.
TEST_P(StateDbPipelineTest, RestartedRunPublishesTheSameListsAsAnUninterruptedOne) { ExpectRestartIsInvisible(); }

TEST_P(StateDbPipelineTest, RestartedRunWithTheEmbeddingScorerPublishesTheSameLists) {
  opt_.recommend.use_model = true;
  Open();
  ExpectRestartIsInvisible();
}

void PipelineTest::ExpectRestartIsInvisible() {
  auto batch1 = [](Input& in) {
    for (int i = 0; i < 30; ++i) {
      const std::string u = "u" + std::to_string(i % 7);
      const std::string cat = "c" + std::to_string(i % 4);
      in.Event(Ev(u, cat + "-i" + std::to_string(i % 5), cat, i % 3 ? "view" : "purchase", kNow - 100'000 + i * 1000,
                  "a" + std::to_string(i)),
               u, i % 2);
    }
    in.Catalog("{\"item_id\":\"c1-i1\",\"category_id\":\"c1\",\"active\":false}");
  };
  auto batch2 = [](Input& in) {
    for (int i = 0; i < 20; ++i) {
      const std::string u = "u" + std::to_string(i % 9);
      const std::string cat = "c" + std::to_string((i + 1) % 4);
      in.Event(Ev(u, cat + "-i" + std::to_string(i % 6), cat, i % 4 ? "click" : "purchase", kNow - 50'000 + i * 1000,
                  "b" + std::to_string(i)),
               u, i % 2);
    }
  };

  // Reference: one pipeline, in memory, never restarted.
  std::unique_ptr<Pipeline> ref;
  ASSERT_TRUE(Pipeline::Create(opt_, nullptr, &ref).ok());
  ref->set_clock(kClock);
  CollectingSink ref_sink;
  Input r;
  batch1(r);
  ASSERT_TRUE(ref->Process(r.records, ref_sink).ok());
  ASSERT_TRUE(ref->Checkpoint(r.Next()).ok());
  r.Clear();
  ref_sink.Take();
  batch2(r);
  ASSERT_TRUE(ref->Process(r.records, ref_sink).ok());
  const auto expected = ref_sink.Take();

  Input in;
  batch1(in);
  Run(in);
  Reopen();
  batch2(in);
  const auto got = Run(in);
  ASSERT_EQ(got.size(), expected.size());
  size_t listed = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].key, expected[i].key) << i;
    EXPECT_EQ(got[i].value, expected[i].value) << i;
    if (got[i].value) listed += ParseList(*got[i].value).items.size();
  }
  EXPECT_GT(listed, 5 * got.size()) << "lists too short to compare anything";
}

// The state store with a one-user cache: every user goes through RocksDB
// between batches, and nothing a consumer sees changes.
TEST_P(StateDbPipelineTest, TinyUserCacheDoesNotChangeTheOutput) {
  opt_.user_cache_entries = 1;
  Reopen();
  std::unique_ptr<Pipeline> ref;
  ASSERT_TRUE(Pipeline::Create(opt_, nullptr, &ref).ok());
  ref->set_clock(kClock);
  CollectingSink ref_sink;
  for (int batch = 0; batch < 5; ++batch) {
    Input in;
    for (int i = 0; i < 12; ++i) {
      const int n = batch * 12 + i;
      const std::string u = "u" + std::to_string(n % 5);
      const std::string cat = "c" + std::to_string(n % 3);
      in.Event(Ev(u, cat + "-" + std::to_string(n % 7), cat, n % 4 ? "view" : "purchase", kNow - 100'000 + n * 500,
                  "e" + std::to_string(n)),
               u);
    }
    in.Event(Ev("u0", "c0-0", "c0", "view", kNow, "e0"), "u0");  // a duplicate from batch 0
    ASSERT_TRUE(ref->Process(in.records, ref_sink).ok());
    ASSERT_TRUE(ref->Checkpoint(in.Next()).ok());
    const auto expected = ref_sink.Take();
    const auto got = Run(in);
    ASSERT_EQ(got.size(), expected.size()) << "batch " << batch;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].topic, expected[i].topic) << batch << "/" << i;
      EXPECT_EQ(got[i].value, expected[i].value) << batch << "/" << i;
    }
    EXPECT_LE(pipeline_->users().cached(), 1u);
  }
  EXPECT_EQ(DeadLetters(Reject::kDuplicate), 5u);  // the repeated e0, once per batch
}

INSTANTIATE_TEST_SUITE_P(State, PipelineTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "StateDb" : "InMemory"; });
INSTANTIATE_TEST_SUITE_P(State, StateDbPipelineTest, ::testing::Values(true),
                         [](const ::testing::TestParamInfo<bool>&) { return "StateDb"; });

}  // namespace
}  // namespace recstream::operators
