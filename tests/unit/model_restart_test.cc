// With the model scorer on, a processor that stops and restarts from its
// RocksDB state publishes exactly the lists an uninterrupted one publishes:
// the embedding rows, the samplers and the random draws all come back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/generator.h"
#include "operators/pipeline.h"
#include "state/db.h"

namespace recstream {
namespace {

class ValueSink final : public stream::RecordSink {
 public:
  Status Produce(std::string_view topic, std::string_view, std::optional<std::string_view> value,
                 std::span<const stream::Header>) override {
    if (value) values.emplace_back(*value);
    return Status::OK();
  }
  Status AwaitDelivery(std::chrono::milliseconds) override { return Status::OK(); }
  std::vector<std::string> values;
};

struct Events {
  std::vector<std::string> keys, values;
};

Events Generate(size_t n) {
  app::GeneratorOptions g;
  g.seed = 5;
  g.users = 300;
  g.items = 3000;
  g.categories = 12;
  app::Generator gen(g);
  Events ev;
  for (size_t i = 0; i < n; ++i) {
    auto e = gen.Next();
    ev.keys.push_back(e.user_id);
    ev.values.push_back(e.ToJson());
  }
  return ev;
}

// Feeds events [from, to) in batches of 250, checkpointing each batch.
void Feed(operators::Pipeline& p, const Events& ev, size_t from, size_t to, ValueSink& sink) {
  std::vector<stream::Record> batch;
  for (size_t b = from; b < to; b += 250) {
    batch.clear();
    for (size_t i = b; i < std::min(to, b + 250); ++i) {
      stream::Record r;
      r.topic = "events";
      r.offset = static_cast<int64_t>(i);
      r.key = ev.keys[i];
      r.value = ev.values[i];
      batch.push_back(r);
    }
    ASSERT_TRUE(p.Process(batch, sink).ok());
    ASSERT_TRUE(p.Checkpoint({{"events", 0, static_cast<int64_t>(std::min(to, b + 250))}}).ok());
  }
}

class ModelRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::filesystem::temp_directory_path() / ("recstream-model-restart-" + std::to_string(::getpid()));
    std::filesystem::remove_all(base_);
    opt_.recommend.use_model = true;
    opt_.embedding.admit_after = 1;
    opt_.embedding.expire_after_ms = 60'000;  // rows expire and are reused during the run
    opt_.user_cache_entries = 50;             // users are evicted and reloaded too
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  std::unique_ptr<operators::Pipeline> Open(const std::string& name, std::unique_ptr<state::StateDb>* db) {
    state::StateOptions so;
    so.dir = (base_ / name).string();
    EXPECT_TRUE(state::StateDb::Open(so, db).ok());
    std::unique_ptr<operators::Pipeline> p;
    const Status s = operators::Pipeline::Create(opt_, db->get(), &p);
    EXPECT_TRUE(s.ok()) << s.ToString();
    static const stream::ManualClock frozen(1'767'225'600'000);
    p->set_clock(frozen);
    return p;
  }

  std::filesystem::path base_;
  operators::PipelineOptions opt_;
};

TEST_F(ModelRestartTest, RestartedProcessorPublishesTheSameListsAsAnUninterruptedOne) {
  const Events ev = Generate(6000);
  ValueSink straight, restarted;
  {
    std::unique_ptr<state::StateDb> db;
    auto p = Open("straight", &db);
    ASSERT_NE(p, nullptr);
    Feed(*p, ev, 0, ev.values.size(), straight);
  }
  for (size_t stop : {0, 1750, 3500, 5250}) {
    std::unique_ptr<state::StateDb> db;
    auto p = Open("restarted", &db);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(p->StoredOffset("events", 0), stop == 0 ? stream::kNoStoredOffset : static_cast<int64_t>(stop));
    Feed(*p, ev, stop, stop == 5250 ? ev.values.size() : stop + 1750, restarted);
  }
  ASSERT_EQ(straight.values.size(), ev.values.size());
  ASSERT_EQ(restarted.values.size(), straight.values.size());
  size_t differ = 0;
  for (size_t i = 0; i < straight.values.size(); ++i) differ += straight.values[i] != restarted.values[i];
  EXPECT_EQ(differ, 0u) << "first difference: " << [&] {
    for (size_t i = 0; i < straight.values.size(); ++i)
      if (straight.values[i] != restarted.values[i]) return straight.values[i] + "\nvs\n" + restarted.values[i];
    return std::string();
  }();
}

TEST_F(ModelRestartTest, ChangingTheDimensionOfAnExistingStateIsAClearError) {
  const Events ev = Generate(300);
  ValueSink sink;
  {
    std::unique_ptr<state::StateDb> db;
    auto p = Open("dim", &db);
    ASSERT_NE(p, nullptr);
    Feed(*p, ev, 0, ev.values.size(), sink);
  }
  opt_.embedding.dim = 32;
  state::StateOptions so;
  so.dir = (base_ / "dim").string();
  std::unique_ptr<state::StateDb> db;
  ASSERT_TRUE(state::StateDb::Open(so, &db).ok());
  std::unique_ptr<operators::Pipeline> p;
  const Status s = operators::Pipeline::Create(opt_, db.get(), &p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("embedding.dim"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace recstream
