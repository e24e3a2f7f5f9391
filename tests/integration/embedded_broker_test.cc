// The processor on the embedded broker, seen from outside: events produced
// by a separate librdkafka producer, lists and dead letters read back from
// their topics by a separate consumer.
#include <gtest/gtest.h>

#include <random>
#include <simdjson.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "app/config.h"
#include "app/generator.h"
#include "app/processor.h"
#include "state/db.h"
#include "state/model_codec.h"
#include "stream/embedded_broker.h"
#include "tests/integration/kafka_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using testing::ConsumeAll;
using testing::ProduceAll;
using testing::WaitFor;
using Messages = std::vector<std::pair<std::string, std::optional<std::string>>>;

constexpr int kPartitions = 4;

class EmbeddedBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start().ok());
    config_.embedded_partitions = kPartitions;
    const auto& t = config_.pipeline.topics;
    for (const auto& name : {t.events, t.items, t.recommendations, t.dead_letters})
      ASSERT_TRUE(broker_.CreateTopic(name, kPartitions).ok());
    dir_ = fs::path(::testing::TempDir()) /
           ("recstream-it-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    config_.state.dir = (dir_ / "state").string();
    config_.kafka.brokers = broker_.bootstrap();
    // Small batches: several checkpoints even for small test streams.
    config_.task.max_batch = 200;
    // Tests restart processors in the same group. librdkafka's mock cluster
    // does not treat the group as empty after the old member leaves, so the
    // next join waits out a rebalance of about session.timeout.ms - 1 s
    // (measured: ~44 s with the 45 s default, ~4 s with 6 s). A short session
    // keeps each restart near 2 s; heartbeats come from librdkafka's own
    // thread, so a busy test machine does not expire it.
    config_.kafka.consumer["session.timeout.ms"] = "3000";
    config_.kafka.consumer["heartbeat.interval.ms"] = "500";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs a processor until it has read `records` records (or 60 s).
  // *metrics (optional) receives its Prometheus text after the run.
  uint64_t RunUntil(uint64_t records, app::Config cfg, stream::EmbeddedBroker* broker = nullptr,
                    std::string* metrics = nullptr) {
    std::unique_ptr<app::Processor> proc;
    Status s = app::Processor::Open(cfg, (broker ? *broker : broker_).bootstrap(), &proc);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return 0;
    std::atomic<bool> stop{false};
    Status run;
    std::thread t([&] { run = proc->Run(stop); });
    WaitFor([&] { return proc->metrics().records_in.load() >= records; }, std::chrono::seconds(60));
    stop = true;
    t.join();
    EXPECT_TRUE(run.ok()) << run.ToString();
    const uint64_t got = proc->metrics().records_in.load();
    if (metrics) proc->WriteMetrics(*metrics);
    proc->Close();
    return got;
  }

  // Runs a processor until its loop returns on its own (or 60 s): the status
  // it stopped with, and the records it read in *records_in.
  Status RunUntilItStops(const app::Config& cfg, stream::EmbeddedBroker& broker, uint64_t* records_in) {
    std::unique_ptr<app::Processor> proc;
    Status s = app::Processor::Open(cfg, broker.bootstrap(), &proc);
    if (!s.ok()) return s;
    std::atomic<bool> stop{false}, done{false};
    Status run;
    std::thread th([&] {
      run = proc->Run(stop);
      done = true;
    });
    WaitFor([&] { return done.load(); }, std::chrono::seconds(60));
    stop = true;
    th.join();
    *records_in = proc->metrics().records_in.load();
    proc->Close();
    return run;
  }

  static Messages Generated(uint64_t n, uint64_t seed, std::vector<app::GeneratedEvent>* events = nullptr) {
    app::GeneratorOptions g;
    g.seed = seed;
    g.users = 200;
    g.items = 2000;
    g.categories = 12;
    app::Generator gen(g);
    Messages out;
    for (uint64_t i = 0; i < n; ++i) {
      auto e = gen.Next();
      e.event_id = "s" + std::to_string(seed) + "-" + e.event_id;
      out.emplace_back(e.user_id, e.ToJson());
      if (events) events->push_back(e);
    }
    return out;
  }

  stream::EmbeddedBroker broker_;
  app::Config config_;
  fs::path dir_;
};

TEST_F(EmbeddedBrokerTest, EveryEventYieldsOneListKeyedByUserEchoingItsTrigger) {
  std::vector<app::GeneratedEvent> events;
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(1500, 1, &events)));
  EXPECT_EQ(RunUntil(1500, config_), 1500u);

  const auto lists = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions, 1500);
  ASSERT_EQ(lists.size(), 1500u);
  std::map<std::string, const app::GeneratedEvent*> by_id;
  for (const auto& e : events) by_id[e.event_id] = &e;
  simdjson::dom::parser parser;
  std::set<std::string> seen;
  size_t cross = 0;
  for (const auto& m : lists) {
    ASSERT_TRUE(m.value.has_value());
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(*m.value).get(doc), simdjson::SUCCESS) << *m.value;
    std::string_view user, event_id, trigger_cat;
    ASSERT_EQ(doc["user_id"].get(user), simdjson::SUCCESS);
    EXPECT_EQ(user, m.key);
    ASSERT_EQ(doc["trigger"]["event_id"].get(event_id), simdjson::SUCCESS);
    ASSERT_TRUE(by_id.count(std::string(event_id))) << event_id;
    const auto& e = *by_id[std::string(event_id)];
    EXPECT_EQ(e.user_id, m.key);
    std::string_view item;
    ASSERT_EQ(doc["trigger"]["item_id"].get(item), simdjson::SUCCESS);
    EXPECT_EQ(item, e.item_id);
    ASSERT_EQ(doc["trigger"]["category_id"].get(trigger_cat), simdjson::SUCCESS);
    int64_t ts = 0;
    ASSERT_EQ(doc["trigger"]["ts"].get(ts), simdjson::SUCCESS);
    EXPECT_EQ(ts, e.ts_ms);
    EXPECT_TRUE(seen.insert(std::string(event_id)).second) << "two lists for " << event_id;
    simdjson::dom::array items;
    ASSERT_EQ(doc["items"].get(items), simdjson::SUCCESS);
    std::set<std::string> other;
    for (auto it : items) {
      std::string_view cat, id, reason;
      ASSERT_EQ(it["category_id"].get(cat), simdjson::SUCCESS);
      ASSERT_EQ(it["item_id"].get(id), simdjson::SUCCESS);
      ASSERT_EQ(it["reason"].get(reason), simdjson::SUCCESS);
      // The trigger item comes back only as the item the user just carted.
      if (id == item) {
        EXPECT_EQ(e.type, "cart") << "the trigger item itself was recommended";
        EXPECT_EQ(reason, "in_cart");
      }
      if (cat != trigger_cat) other.insert(std::string(cat));
    }
    EXPECT_LE(items.size(), 20u);
    if (other.size() >= 2) ++cross;
  }
  // Once the model has seen some traffic, lists reach across categories.
  EXPECT_GT(cross, lists.size() * 9 / 10);
}

// Every malformed message of the corpus lands in the dead-letter topic with
// its original bytes, its source position and the reason its name promises;
// none of them changes state or produces a list.
TEST_F(EmbeddedBrokerTest, MalformedMessagesAreDeadLetteredWithTheirReason) {
  const fs::path corpus = fs::path(RECSTREAM_SOURCE_DIR) / "tests/data/malformed";
  Messages bad;
  std::vector<std::string> expected_reasons;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() != ".msg") continue;
    const std::string name = entry.path().filename().string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bad.emplace_back("k-" + name, bytes);
    expected_reasons.push_back(name.substr(0, name.find("__")));
  }
  ASSERT_GE(bad.size(), 50u) << "the malformed corpus is missing";
  // Not representable as files: a null value, and an event with an empty key
  // (accepted: the key is optional; user_id is the truth).
  bad.emplace_back("k-null", std::nullopt);
  expected_reasons.push_back("null_value");
  Messages all = bad;
  all.emplace_back("", R"({"user_id":"good","item_id":"i1","category_id":"c1","type":"view","ts":1767225600000})");
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, all));
  EXPECT_EQ(RunUntil(all.size(), config_), all.size());

  const auto dlq = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.dead_letters, kPartitions, bad.size());
  ASSERT_EQ(dlq.size(), bad.size());
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < bad.size(); ++i) index[bad[i].first] = i;
  std::map<std::string, int> per_reason;
  for (const auto& m : dlq) {
    ASSERT_TRUE(index.count(m.key)) << m.key;
    const size_t i = index[m.key];
    EXPECT_EQ(m.headers.at("recstream.reason"), expected_reasons[i]) << m.key << ": " << m.headers.at("recstream.detail");
    EXPECT_EQ(m.value, bad[i].second) << "original bytes not preserved for " << m.key;
    EXPECT_EQ(m.headers.at("recstream.source.topic"), config_.pipeline.topics.events);
    EXPECT_FALSE(m.headers.at("recstream.source.offset").empty());
    EXPECT_FALSE(m.headers.at("recstream.source.partition").empty());
    per_reason[m.headers.at("recstream.reason")]++;
  }
  const auto lists = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions, 2,
                                std::chrono::seconds(3));
  ASSERT_EQ(lists.size(), 1u) << "only the one good event may produce a list";
  EXPECT_EQ(lists[0].key, "good");
  for (const auto& [reason, n] : per_reason) std::printf("dead letters %-14s %d\n", reason.c_str(), n);
}

// Restart: the second processor joins under a new consumer-group name, so
// Kafka knows no committed offset for it and would start from the beginning;
// it must resume from the offsets stored with the state in RocksDB instead.
TEST_F(EmbeddedBrokerTest, RestartResumesFromStoredOffsetsWithNoEventAppliedTwice) {
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(800, 2)));
  app::Config first = config_;
  first.kafka.group_id = "restart-a";
  EXPECT_EQ(RunUntil(800, first), 800u);

  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(500, 3)));
  app::Config second = config_;
  second.kafka.group_id = "restart-b";
  EXPECT_EQ(RunUntil(500, second), 500u) << "the restarted processor re-read old events";

  // Every event was applied exactly once: the users' event counters sum to
  // the number of events produced.
  std::unique_ptr<state::StateDb> db;
  ASSERT_TRUE(state::StateDb::Open(config_.state, &db).ok());
  uint64_t applied = 0;
  size_t users = 0;
  ASSERT_TRUE(db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
                  model::UserState u;
                  EXPECT_TRUE(state::DecodeUser(v.ToStringView(), u));
                  applied += u.events;
                  ++users;
                  return true;
                }).ok());
  EXPECT_EQ(applied, 1300u);
  EXPECT_GT(users, 50u);
  state::OffsetMap offsets;
  ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
  int64_t next_sum = 0;
  for (const auto& [tp, next] : offsets)
    if (tp.first == config_.pipeline.topics.events) next_sum += next;
  EXPECT_EQ(next_sum, 1300);
  const auto lists = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions, 1301,
                                std::chrono::seconds(5));
  EXPECT_EQ(lists.size(), 1300u);
}

// The topic is deleted and recreated while the state stays: every stored
// offset lies past the new log's end. librdkafka alone would reset to the
// log start without a word and apply the new topic's events on top of the
// old topic's state.
TEST_F(EmbeddedBrokerTest, AStoredOffsetPastTheLogEndStopsTheProcessorUnlessResetIsAsked) {
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(400, 1)));
  ASSERT_EQ(RunUntil(400, config_), 400u);

  stream::EmbeddedBroker recreated;
  ASSERT_TRUE(recreated.Start().ok());
  const auto& t = config_.pipeline.topics;
  for (const auto& name : {t.events, t.items, t.recommendations, t.dead_letters})
    ASSERT_TRUE(recreated.CreateTopic(name, kPartitions).ok());
  ASSERT_TRUE(ProduceAll(recreated.bootstrap(), t.events, Generated(40, 2)));
  app::Config cfg = config_;
  cfg.kafka.brokers = recreated.bootstrap();
  {
    uint64_t read = 0;
    const Status run = RunUntilItStops(cfg, recreated, &read);
    EXPECT_FALSE(run.ok()) << "the processor went on with offsets outside the log";
    EXPECT_NE(run.ToString().find("past the log end"), std::string::npos) << run.ToString();
    EXPECT_NE(run.ToString().find("kafka.offset_out_of_range"), std::string::npos) << run.ToString();
    EXPECT_EQ(read, 0u) << "records of a partition out of range were processed";
  }

  cfg.kafka.offset_out_of_range = stream::KafkaOptions::OutOfRange::kReset;
  std::string metrics;
  EXPECT_EQ(RunUntil(40, cfg, &recreated, &metrics), 40u) << "reset: the new log is read from its start";
  EXPECT_NE(metrics.find("recstream_offset_resets_total " + std::to_string(kPartitions)), std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("recstream_offset_reset_skipped_records_total 0"), std::string::npos);
  EXPECT_EQ(ConsumeAll(recreated.bootstrap(), t.recommendations, kPartitions, 40).size(), 40u);
}

// librdkafka's mock cluster keeps at most 5 MiB per partition and drops the
// oldest records past it: 33,611 of 200,000 events once vanished before the
// processor read them while the lag read 0. The embedded broker's topics
// start empty, so a partition read from its start must begin at offset 0:
// one that does not lost records, and the processor stops, naming the loss
// (or, with offset_out_of_range = "reset", goes on and counts them).
TEST_F(EmbeddedBrokerTest, EventsTheEmbeddedBrokerDroppedStopTheProcessorInsteadOfVanishing) {
  // 7.5 MiB of incompressible events per partition.
  Messages events = Generated(30'000, 4);
  std::mt19937_64 rng(9);
  std::string pad(1024, 'a');
  for (auto& [key, value] : events) {
    for (char& c : pad) c = static_cast<char>('a' + rng() % 26);
    value->insert(value->size() - 1, ",\"pad\":\"" + pad + "\"");
  }
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, events));
  app::Config cfg = config_;
  cfg.kafka.log_starts_at_zero = true;  // as `run` and `demo` set it for the embedded broker
  {
    uint64_t read = 0;
    const Status run = RunUntilItStops(cfg, broker_, &read);
    EXPECT_FALSE(run.ok()) << "the processor went on over dropped events";
    EXPECT_NE(run.ToString().find("were deleted before this instance read them"), std::string::npos)
        << run.ToString();
    EXPECT_EQ(read, 0u);
  }
  cfg.kafka.offset_out_of_range = stream::KafkaOptions::OutOfRange::kReset;
  std::unique_ptr<app::Processor> proc;
  ASSERT_TRUE(app::Processor::Open(cfg, broker_.bootstrap(), &proc).ok());
  std::atomic<bool> stop{false};
  Status run;
  std::thread th([&] { run = proc->Run(stop); });
  const auto counter = [&](const std::string& name) {
    std::string m;
    proc->WriteMetrics(m);
    const auto at = m.find("\n" + name + " ");
    return at == std::string::npos ? uint64_t{0} : std::stoull(m.substr(at + name.size() + 2));
  };
  // Every event is either read or counted as lost.
  EXPECT_TRUE(WaitFor([&] { return proc->metrics().records_in.load() + counter("recstream_offset_reset_skipped_records_total") >= events.size(); },
                      std::chrono::seconds(60)));
  stop = true;
  th.join();
  EXPECT_TRUE(run.ok()) << run.ToString();
  const uint64_t skipped = counter("recstream_offset_reset_skipped_records_total");
  EXPECT_GT(skipped, 0u);
  EXPECT_EQ(proc->metrics().records_in.load() + skipped, events.size());
  EXPECT_EQ(counter("recstream_offset_resets_total"), static_cast<uint64_t>(kPartitions));
  proc->Close();
}

// A wiped state dir once resumed at the group's committed offsets with empty
// state and no word. It still resumes there (a new instance joining the
// group looks the same, and reprocessing the whole log is not always
// possible), but each such partition is logged and counted.
TEST_F(EmbeddedBrokerTest, AWipedStateDirResumesAtTheGroupsOffsetsAndSaysSo) {
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(400, 1)));
  std::string metrics;
  ASSERT_EQ(RunUntil(400, config_, nullptr, &metrics), 400u);
  EXPECT_NE(metrics.find("recstream_partitions_started_without_state_total 0"), std::string::npos)
      << "a first start has no committed offsets";
  fs::remove_all(config_.state.dir);
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, Generated(100, 2)));
  metrics.clear();
  EXPECT_EQ(RunUntil(100, config_, nullptr, &metrics), 100u) << "resumed at the committed offsets";
  EXPECT_NE(metrics.find("recstream_partitions_started_without_state_total " + std::to_string(kPartitions)),
            std::string::npos)
      << metrics.substr(0, 3000);
}

// Two instances in one group: the group splits the events between them, but
// each reads the whole catalog (a global table) before it serves. Events here
// omit category_id, so one processed before its item's catalog entry, or by
// an instance that lacks it, is a dead letter `unknown_item`.
TEST_F(EmbeddedBrokerTest, EveryInstanceOfAGroupReadsTheWholeCatalogBeforeServing) {
  const auto& t = config_.pipeline.topics;
  constexpr int kItems = 40, kEvents = 400;
  Messages catalog, events;
  for (int k = 0; k < kItems; ++k) {
    const std::string item = "cat-i" + std::to_string(k);
    catalog.emplace_back(item, R"({"item_id":")" + item + R"(","category_id":"cat-c)" + std::to_string(k % 5) +
                                   R"(","active":true})");
  }
  for (int n = 0; n < kEvents; ++n) {
    const std::string user = "u" + std::to_string(n % 50);
    events.emplace_back(user, R"({"user_id":")" + user + R"(","item_id":"cat-i)" + std::to_string(n % kItems) +
                                  R"(","type":"view","event_id":"ev)" + std::to_string(n) +
                                  R"(","ts":)" + std::to_string(1767225600000 + n) + "}");
  }
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), t.items, catalog));
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), t.events, events));

  std::unique_ptr<app::Processor> procs[2];
  for (int i = 0; i < 2; ++i) {
    app::Config cfg = config_;
    cfg.state.dir = (dir_ / ("instance" + std::to_string(i))).string();
    ASSERT_TRUE(app::Processor::Open(cfg, broker_.bootstrap(), &procs[i]).ok());
  }
  std::atomic<bool> stop{false};
  Status runs[2];
  std::thread threads[2];
  for (int i = 0; i < 2; ++i) threads[i] = std::thread([&, i] { runs[i] = procs[i]->Run(stop); });
  auto handled = [&] {
    uint64_t n = 0;
    for (auto& p : procs) n += p->metrics().events_applied.load() + p->metrics().dead_letters_total();
    return n;
  };
  WaitFor([&] { return handled() >= kEvents; }, std::chrono::seconds(90));
  stop = true;
  for (auto& th : threads) th.join();
  uint64_t applied = 0;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(runs[i].ok()) << runs[i].ToString();
    const auto& m = procs[i]->metrics();
    applied += m.events_applied.load();
    EXPECT_EQ(m.dead_letters_total(), 0u) << "instance " << i << " served events before it knew the catalog";
    EXPECT_EQ(m.catalog_updates.load(), static_cast<uint64_t>(kItems)) << "instance " << i;
    auto& pl = procs[i]->pipeline();
    for (int k = 0; k < kItems; ++k) {
      const model::ItemId id = pl.item_ids().Find("cat-i" + std::to_string(k));
      ASSERT_NE(id, model::kNoId) << "instance " << i << " lacks catalog item " << k;
      ASSERT_TRUE(pl.model().HasItem(id));
      EXPECT_EQ(pl.category_ids().Name(pl.model().item(id).category), "cat-c" + std::to_string(k % 5));
    }
    procs[i]->Close();
  }
  EXPECT_EQ(applied, static_cast<uint64_t>(kEvents)) << "the group split the events: each applied once";
}

TEST_F(EmbeddedBrokerTest, ForgetUserPublishesATombstoneAndErasesState) {
  Messages msgs = {
      {"alice", R"({"user_id":"alice","item_id":"i1","category_id":"c1","type":"purchase","ts":1767225600000})"},
      {"alice", R"({"user_id":"alice","type":"forget_user"})"},
  };
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, msgs));
  EXPECT_EQ(RunUntil(2, config_), 2u);
  const auto out = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].value.has_value());
  EXPECT_FALSE(out[1].value.has_value()) << "forget_user must produce a tombstone";
  EXPECT_EQ(out[1].key, "alice");
  std::unique_ptr<state::StateDb> db;
  ASSERT_TRUE(state::StateDb::Open(config_.state, &db).ok());
  // The only user row left is alice's marker: no events, forgotten as of
  // the request's message timestamp (it has no ts; later than her event),
  // and its key (partition + keyed hash) does not name her.
  size_t rows = 0;
  ASSERT_TRUE(db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                  model::UserState u;
                  EXPECT_TRUE(state::DecodeUser(v.ToStringView(), u));
                  EXPECT_TRUE(u.empty());
                  EXPECT_GT(u.forgotten_at_ms, 1767225600000);
                  EXPECT_EQ(k.ToString().find("alice"), std::string::npos);
                  ++rows;
                  return true;
                }).ok());
  EXPECT_EQ(rows, 1u);
}

TEST_F(EmbeddedBrokerTest, CatalogTopicDeactivatesItems) {
  // Train: many users view i1 then i2 (same category pair), so i2 is the
  // strongest neighbour of i1.
  Messages events;
  for (int u = 0; u < 30; ++u) {
    const std::string user = "u" + std::to_string(u);
    const int64_t ts = 1767225600000 + u * 1000;
    events.emplace_back(user, R"({"user_id":")" + user + R"(","item_id":"i1","category_id":"c1","type":"view","ts":)" +
                                  std::to_string(ts) + "}");
    events.emplace_back(user, R"({"user_id":")" + user + R"(","item_id":"i2","category_id":"c2","type":"view","ts":)" +
                                  std::to_string(ts + 1) + "}");
  }
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events, events));
  EXPECT_EQ(RunUntil(events.size(), config_), events.size());
  // Topics are not ordered with each other: apply the catalog update first.
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.items,
                         {{"i2", R"({"item_id":"i2","category_id":"c2","active":false})"}}));
  EXPECT_EQ(RunUntil(1, config_), 1u);
  ASSERT_TRUE(ProduceAll(broker_.bootstrap(), config_.pipeline.topics.events,
                         {{"z", R"({"user_id":"z","item_id":"i1","category_id":"c1","type":"view","ts":1767225700000})"}}));
  EXPECT_EQ(RunUntil(1, config_), 1u);
  const auto out = ConsumeAll(broker_.bootstrap(), config_.pipeline.topics.recommendations, kPartitions,
                              events.size() + 1);
  ASSERT_EQ(out.size(), events.size() + 1);
  bool i2_before = false;
  for (const auto& m : out) {
    if (m.key != "z" && m.value->find(R"({"item_id":"i2")") != std::string::npos) i2_before = true;
  }
  EXPECT_TRUE(i2_before) << "i2 should have been recommended while active";
  for (const auto& m : out) {
    if (m.key == "z") {
      EXPECT_EQ(m.value->find(R"({"item_id":"i2")"), std::string::npos) << *m.value;
    }
  }
}

}  // namespace
}  // namespace recstream
