// Unit tests of app/config: configs/default.toml documents exactly the
// registered keys and their built-in defaults; --set overrides; every bad
// input is an error naming the key (or the line); pass-through sections.
#include "app/config.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace recstream::app {
namespace {

const std::string kDefaultToml = std::string(RECSTREAM_SOURCE_DIR) + "/configs/default.toml";
const std::set<std::string> kPassThroughSections = {"kafka.consumer", "kafka.producer", "rocksdb.db", "rocksdb.cf"};

std::string Str(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Every registered key -> the value it controls in a Config, as text. Keeps
// the defaults comparison honest: a key added to config.cc needs a line here,
// or EveryKeyIsReadableFromConfig below fails and names it.
std::map<std::string, std::function<std::string(const Config&)>> Fields() {
  std::map<std::string, std::function<std::string(const Config&)>> f;
  auto S = [](auto get) { return [get](const Config& c) { return std::string(get(c)); }; };
  auto N = [](auto get) {
    return [get](const Config& c) {
      const auto v = get(c);
      if constexpr (std::is_floating_point_v<decltype(v)>) return Str(v);
      else return std::to_string(v);
    };
  };
  f["kafka.brokers"] = S([](const Config& c) { return c.kafka_brokers; });
  f["kafka.group_id"] = S([](const Config& c) { return c.kafka.group_id; });
  f["kafka.client_id"] = S([](const Config& c) { return c.kafka.client_id; });
  f["kafka.embedded_partitions"] = N([](const Config& c) { return c.embedded_partitions; });
  f["kafka.offset_out_of_range"] = [](const Config& c) {
    return std::string(c.kafka.offset_out_of_range == stream::KafkaOptions::OutOfRange::kReset ? "reset" : "fail");
  };
  f["topics.events"] = S([](const Config& c) { return c.pipeline.topics.events; });
  f["topics.items"] = S([](const Config& c) { return c.pipeline.topics.items; });
  f["topics.recommendations"] = S([](const Config& c) { return c.pipeline.topics.recommendations; });
  f["topics.dead_letters"] = S([](const Config& c) { return c.pipeline.topics.dead_letters; });
  f["state.dir"] = S([](const Config& c) { return c.state.dir; });
  f["state.sync"] = N([](const Config& c) { return c.state.sync; });
  f["state.block_cache_mb"] = N([](const Config& c) { return c.state.block_cache_bytes; });
  f["state.memtable_budget_mb"] = N([](const Config& c) { return c.state.memtable_budget_bytes; });
  f["state.wal_budget_mb"] = N([](const Config& c) { return c.state.wal_budget_bytes; });
  f["state.user_cache_entries"] = N([](const Config& c) { return c.pipeline.user_cache_entries; });
  f["state.user_key_secret_file"] = S([](const Config& c) { return c.state.user_key_secret_file; });
  f["user.expire_after_s"] = N([](const Config& c) { return c.pipeline.user.expire_after_ms; });
  f["state.erasure_interval_s"] = N([](const Config& c) { return c.pipeline.erasure_interval_ms; });
  f["processing.batch_max_events"] = N([](const Config& c) { return c.task.max_batch; });
  f["processing.poll_timeout_ms"] = N([](const Config& c) { return c.task.poll_timeout.count(); });
  f["processing.delivery_timeout_ms"] = N([](const Config& c) { return c.task.delivery_timeout.count(); });
  f["processing.shutdown_timeout_s"] = N([](const Config& c) { return c.shutdown_timeout_s; });
  f["processing.coalesce_ms"] = N([](const Config& c) { return c.task.coalesce.count(); });
  f["processing.checkpoint_interval_ms"] = N([](const Config& c) { return c.task.checkpoint_interval.count(); });
  f["processing.checkpoint_max_events"] = N([](const Config& c) { return c.task.checkpoint_max_records; });
  f["input.max_message_bytes"] = N([](const Config& c) { return c.pipeline.parse.max_message_bytes; });
  f["input.max_id_bytes"] = N([](const Config& c) { return c.pipeline.parse.max_id_bytes; });
  f["input.max_json_depth"] = N([](const Config& c) { return c.pipeline.parse.max_json_depth; });
  f["input.max_future_skew_s"] = N([](const Config& c) { return c.pipeline.parse.max_future_skew_ms; });
  f["user.history_length"] = N([](const Config& c) { return c.pipeline.user.history_length; });
  f["user.purchases_kept"] = N([](const Config& c) { return c.pipeline.user.purchases_kept; });
  f["user.affinity_categories"] = N([](const Config& c) { return c.pipeline.user.affinity_categories; });
  f["user.affinity_half_life_s"] = N([](const Config& c) { return c.pipeline.user.affinity_half_life_ms; });
  f["user.affinity_half_life_events"] =
      N([](const Config& c) { return c.pipeline.user.affinity_half_life_events; });
  f["model.clock"] = [](const Config& c) {
    // One key sets both flags; a mismatch would show as a third value.
    const auto& p = c.pipeline;
    if (p.items.activity_clock != p.user.activity_clock) return std::string("mixed");
    return std::string(p.items.activity_clock ? "events" : "event_time");
  };
  f["model.popularity_half_life_events"] =
      N([](const Config& c) { return c.pipeline.items.popularity_half_life_events; });
  f["model.cooccurrence_half_life_events"] =
      N([](const Config& c) { return c.pipeline.items.cooccurrence_half_life_events; });
  f["model.transition_half_life_events"] =
      N([](const Config& c) { return c.pipeline.items.transition_half_life_events; });
  f["user.dedupe_window"] = N([](const Config& c) { return c.pipeline.user.dedupe_window; });
  f["model.popularity_half_life_s"] = N([](const Config& c) { return c.pipeline.items.popularity_half_life_ms; });
  f["model.cooccurrence_half_life_s"] =
      N([](const Config& c) { return c.pipeline.items.cooccurrence_half_life_ms; });
  f["model.transition_half_life_s"] = N([](const Config& c) { return c.pipeline.items.transition_half_life_ms; });
  f["model.window"] = N([](const Config& c) { return c.pipeline.items.window; });
  f["model.max_gap_s"] = N([](const Config& c) { return c.pipeline.items.max_gap_ms; });
  f["model.cooccurrence_neighbours"] = N([](const Config& c) { return c.pipeline.items.cooccurrence_neighbours; });
  f["model.transition_successors"] = N([](const Config& c) { return c.pipeline.items.transition_successors; });
  f["model.category_top_items"] = N([](const Config& c) { return c.pipeline.items.category_top_items; });
  f["model.global_top_items"] = N([](const Config& c) { return c.pipeline.items.global_top_items; });
  f["model.weight_view"] = N([](const Config& c) { return c.pipeline.items.type_weight[0]; });
  f["model.weight_click"] = N([](const Config& c) { return c.pipeline.items.type_weight[1]; });
  f["model.weight_cart"] = N([](const Config& c) { return c.pipeline.items.type_weight[2]; });
  f["model.weight_fav"] = N([](const Config& c) { return c.pipeline.items.type_weight[3]; });
  f["model.weight_purchase"] = N([](const Config& c) { return c.pipeline.items.type_weight[4]; });
  f["embedding.dim"] = N([](const Config& c) { return c.pipeline.embedding.dim; });
  f["embedding.window"] = N([](const Config& c) { return c.pipeline.embedding.window; });
  f["embedding.negatives"] = N([](const Config& c) { return c.pipeline.embedding.negatives; });
  f["embedding.learning_rate"] = N([](const Config& c) { return c.pipeline.embedding.learning_rate; });
  f["embedding.adagrad_initial"] = N([](const Config& c) { return c.pipeline.embedding.adagrad_initial; });
  f["embedding.category_context"] = N([](const Config& c) { return c.pipeline.embedding.category_context; });
  f["embedding.category_pair_weight"] =
      N([](const Config& c) { return c.pipeline.embedding.category_pair_weight; });
  f["embedding.admit_after"] = N([](const Config& c) { return c.pipeline.embedding.admit_after; });
  f["embedding.expire_after_s"] = N([](const Config& c) { return c.pipeline.embedding.expire_after_ms; });
  f["embedding.max_item_rows"] = N([](const Config& c) { return c.pipeline.embedding.max_item_rows; });
  f["embedding.long_term_rate"] = N([](const Config& c) { return c.pipeline.embedding.long_term_rate; });
  f["embedding.attention_recency"] = N([](const Config& c) { return c.pipeline.embedding.attention_recency; });
  f["embedding.long_term_weight"] = N([](const Config& c) { return c.pipeline.embedding.long_term_weight; });
  f["embedding.seed"] = N([](const Config& c) { return c.pipeline.embedding.seed; });
  f["recommend.scorer"] = S([](const Config& c) { return c.pipeline.recommend.use_model ? "model" : "rules"; });
  f["recommend.k"] = N([](const Config& c) { return c.pipeline.recommend.k; });
  f["recommend.max_per_category"] = N([](const Config& c) { return c.pipeline.recommend.max_per_category; });
  f["recommend.complement_categories"] =
      N([](const Config& c) { return c.pipeline.recommend.complement_categories; });
  f["recommend.items_per_category"] = N([](const Config& c) { return c.pipeline.recommend.items_per_category; });
  f["recommend.history_candidates"] = N([](const Config& c) { return c.pipeline.recommend.history_candidates; });
  f["recommend.pool_items"] = N([](const Config& c) { return c.pipeline.recommend.pool_items; });
  f["recommend.cooccurrence_weight"] = N([](const Config& c) { return c.pipeline.recommend.cooccurrence_weight; });
  f["recommend.complement_weight"] = N([](const Config& c) { return c.pipeline.recommend.complement_weight; });
  f["recommend.same_category_weight"] =
      N([](const Config& c) { return c.pipeline.recommend.same_category_weight; });
  f["recommend.popular_weight"] = N([](const Config& c) { return c.pipeline.recommend.popular_weight; });
  f["recommend.transition_smoothing"] =
      N([](const Config& c) { return c.pipeline.recommend.transition_smoothing; });
  f["recommend.embedding_weight"] = N([](const Config& c) { return c.pipeline.recommend.embedding_weight; });
  f["recommend.ranker_learning_rate"] = N([](const Config& c) { return c.pipeline.recommend.ranker_learning_rate; });
  f["recommend.ranker_cross_category_weight"] = N([](const Config& c) { return c.pipeline.recommend.ranker_cross_category_weight; });
  f["recommend.ranker_full_updates"] = N([](const Config& c) { return static_cast<double>(c.pipeline.recommend.ranker_full_updates); });
  f["recommend.ranker_sample_every"] = N([](const Config& c) { return static_cast<double>(c.pipeline.recommend.ranker_sample_every); });
  f["recommend.complement_embedding_share"] =
      N([](const Config& c) { return c.pipeline.recommend.complement_embedding_share; });
  f["recommend.mmr_lambda"] = N([](const Config& c) { return c.pipeline.recommend.mmr_lambda; });
  f["recommend.complement_lift"] = N([](const Config& c) { return c.pipeline.recommend.complement_lift; });
  f["recommend.complement_prior"] = N([](const Config& c) { return c.pipeline.recommend.complement_prior; });
  f["recommend.complement_min_weight"] =
      N([](const Config& c) { return c.pipeline.recommend.complement_min_weight; });
  f["recommend.after_purchase_prior"] = N([](const Config& c) { return c.pipeline.recommend.after_purchase_prior; });
  f["recommend.after_purchase_min_events"] =
      N([](const Config& c) { return c.pipeline.recommend.after_purchase_min_events; });
  f["recommend.in_cart_candidates"] = N([](const Config& c) { return c.pipeline.recommend.in_cart_candidates; });
  f["recommend.scorer"] = [](const Config& c) { return std::string(c.pipeline.recommend.use_model ? "model" : "rules"); };
  f["log.level"] = S([](const Config& c) { return c.log_level; });
  f["admin.port"] = N([](const Config& c) { return c.admin.port; });
  f["admin.address"] = S([](const Config& c) { return c.admin.address; });
  f["input.min_ts_ms"] = N([](const Config& c) { return c.pipeline.parse.min_ts_ms; });
  f["log.format"] = S([](const Config& c) { return c.log_format; });
  f["admin.token_file"] = S([](const Config& c) { return c.admin.token_file; });
  f["admin.lists_kept"] = N([](const Config& c) { return c.admin.lists_kept; });
  return f;
}

// A private temp dir with helpers to write config files into it.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("recstream-config-test-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const auto p = dir_ / ("c" + std::to_string(files_++) + ".toml");
    std::ofstream(p) << text;
    return p.string();
  }
  Status Load(const std::string& text, const std::vector<std::string>& overrides = {}, Config* out = nullptr) {
    Config c;
    return LoadConfig(Write(text), overrides, out ? out : &c);
  }

  std::filesystem::path dir_;
  int files_ = 0;
};

// Flattens a parsed TOML document into "section.key" leaves.
void Leaves(const toml::table& t, const std::string& prefix, std::set<std::string>& keys,
            std::set<std::string>& sections) {
  for (const auto& [k, node] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (node.is_table()) {
      sections.insert(key);
      if (kPassThroughSections.count(key)) continue;  // any name is valid there
      Leaves(*node.as_table(), key, keys, sections);
    } else {
      keys.insert(key);
    }
  }
}

TEST(ConfigKeys, DefaultTomlDocumentsExactlyTheRegisteredKeys) {
  toml::table t;
  ASSERT_NO_THROW(t = toml::parse_file(kDefaultToml)) << kDefaultToml;
  std::set<std::string> in_file, sections;
  Leaves(t, "", in_file, sections);
  const auto registered_list = ConfigKeys();
  const std::set<std::string> registered(registered_list.begin(), registered_list.end());
  EXPECT_EQ(registered.size(), registered_list.size()) << "ConfigKeys() lists a key twice";
  EXPECT_GT(registered.size(), 40u);
  for (const auto& k : registered) EXPECT_EQ(in_file.count(k), 1u) << k << " is missing from default.toml";
  for (const auto& k : in_file) EXPECT_EQ(registered.count(k), 1u) << k << " in default.toml is not a key";
  // The pass-through sections are documented too.
  for (const auto& s : kPassThroughSections) EXPECT_EQ(sections.count(s), 1u) << "[" << s << "] missing";
}

TEST(ConfigKeys, EveryKeyIsReadableFromConfig) {
  const auto fields = Fields();
  for (const auto& k : ConfigKeys()) EXPECT_EQ(fields.count(k), 1u) << k << " has no entry in Fields()";
  for (const auto& [k, _] : fields) {
    bool found = false;
    for (const auto& r : ConfigKeys()) found |= r == k;
    EXPECT_TRUE(found) << k << " is not a registered key";
  }
}

TEST(LoadConfig, DefaultTomlGivesTheBuiltInDefaults) {
  Config from_file, from_nothing;
  const Config built_in;
  ASSERT_TRUE(LoadConfig(kDefaultToml, {}, &from_file).ok());
  ASSERT_TRUE(LoadConfig("", {}, &from_nothing).ok());
  for (const auto& [key, get] : Fields()) {
    EXPECT_EQ(get(from_file), get(built_in)) << key;
    EXPECT_EQ(get(from_nothing), get(built_in)) << key;
  }
  EXPECT_TRUE(from_file.kafka.consumer.empty());
  EXPECT_TRUE(from_file.kafka.producer.empty());
  EXPECT_TRUE(from_file.state.db_options.empty());
  EXPECT_TRUE(from_file.state.cf_options.empty());
  EXPECT_EQ(from_file.kafka.brokers, "embedded");  // the bootstrap list follows kafka.brokers
}

TEST_F(ConfigTest, SetOverridesFileAndDefaultsWithUnitsApplied) {
  Config c;
  const std::string file = Write("[recommend]\nk = 3\n[log]\nlevel = \"warn\"\n");
  const Status s = LoadConfig(file,
                              {"recommend.k=9", "log.level=debug", "topics.events=\"clicks\"", "state.sync=true",
                               "model.max_gap_s=1.5", "user.affinity_half_life_s=3600",
                               "processing.poll_timeout_ms=7", "state.block_cache_mb=2",
                               "kafka.brokers=localhost:9092", "model.weight_view=0.5", "topics.items="},
                              &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.pipeline.recommend.k, 9u);  // --set wins over the file
  EXPECT_EQ(c.log_level, "debug");        // a bare word is a string
  EXPECT_EQ(c.pipeline.topics.events, "clicks");
  EXPECT_TRUE(c.state.sync);
  EXPECT_EQ(c.pipeline.items.max_gap_ms, 1500);
  EXPECT_EQ(c.pipeline.user.affinity_half_life_ms, 3'600'000.0);
  EXPECT_EQ(c.task.poll_timeout.count(), 7);
  EXPECT_EQ(c.state.block_cache_bytes, 2u << 20);
  EXPECT_EQ(c.kafka_brokers, "localhost:9092");
  EXPECT_EQ(c.kafka.brokers, "localhost:9092");
  EXPECT_EQ(c.pipeline.items.type_weight[0], 0.5);
  EXPECT_EQ(c.pipeline.topics.items, "");  // "" disables the catalog topic
  // Untouched keys keep their defaults.
  EXPECT_EQ(c.pipeline.recommend.max_per_category, Config{}.pipeline.recommend.max_per_category);

  // The file alone sets what it names.
  Config f;
  ASSERT_TRUE(LoadConfig(file, {}, &f).ok());
  EXPECT_EQ(f.pipeline.recommend.k, 3u);
  EXPECT_EQ(f.log_level, "warn");
}

// Expects an InvalidArgument whose message mentions every needle.
void ExpectError(const Status& s, const std::vector<std::string>& needles) {
  ASSERT_FALSE(s.ok()) << "expected an error mentioning " << needles.front();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  for (const auto& n : needles) EXPECT_NE(s.message().find(n), std::string::npos) << s.message() << " lacks " << n;
}

// Containers configure through the environment: RECSTREAM_<SECTION>__<KEY>,
// between the file and --set. config check reports each key's origin.
TEST_F(ConfigTest, EnvironmentOverridesSitBetweenTheFileAndSet) {
  EXPECT_EQ(EnvConfigKey("RECSTREAM_KAFKA__BROKERS"), "kafka.brokers");
  EXPECT_EQ(EnvConfigKey("RECSTREAM_RECOMMEND__MAX_PER_CATEGORY"), "recommend.max_per_category");
  EXPECT_EQ(EnvConfigKey("RECSTREAM_KAFKA__CONSUMER__SESSION_TIMEOUT_MS"), "kafka.consumer.session.timeout.ms");
  EXPECT_EQ(EnvConfigKey("RECSTREAM_ROCKSDB__DB__MAX_BACKGROUND_JOBS"), "rocksdb.db.max_background_jobs");
  EXPECT_EQ(EnvConfigKey("RECSTREAM_BINARY"), "") << "no __: not a config variable";
  EXPECT_EQ(EnvConfigKey("RECSTREAM_A____B"), "");
  EXPECT_EQ(EnvConfigKey("OTHER_KAFKA__BROKERS"), "");

  const std::string file = Write("[recommend]\nk = 3\nmax_per_category = 2\n[log]\nlevel = \"warn\"\n");
  const std::vector<std::string> env = {"PATH=/usr/bin", "RECSTREAM_RECOMMEND__K=5", "RECSTREAM_LOG__LEVEL=error",
                                        "RECSTREAM_KAFKA__CONSUMER__SESSION_TIMEOUT_MS=6000",
                                        "RECSTREAM_KAFKA__PRODUCER__SASL_PASSWORD=hunter2",
                                        "RECSTREAM_BINARY=/x"};
  Config c;
  std::vector<ConfigSource> sources;
  Status s = LoadConfig(file, {"log.level=debug"}, &c, &env, &sources);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.pipeline.recommend.k, 5u) << "env wins over the file";
  EXPECT_EQ(c.pipeline.recommend.max_per_category, 2u) << "the file wins over the default";
  EXPECT_EQ(c.log_level, "debug") << "--set wins over env";
  EXPECT_EQ(c.kafka.consumer.at("session.timeout.ms"), "6000");
  std::map<std::string, ConfigSource> by_key;
  for (const auto& src : sources) by_key[src.key] = src;
  EXPECT_EQ(by_key.at("recommend.k").origin, "env RECSTREAM_RECOMMEND__K");
  EXPECT_EQ(by_key.at("recommend.k").value, "5");
  EXPECT_EQ(by_key.at("recommend.max_per_category").origin, "file " + file);
  EXPECT_EQ(by_key.at("log.level").origin, "--set");
  EXPECT_EQ(by_key.at("kafka.consumer.session.timeout.ms").origin,
            "env RECSTREAM_KAFKA__CONSUMER__SESSION_TIMEOUT_MS");
  EXPECT_EQ(c.kafka.producer.at("sasl.password"), "hunter2");
  EXPECT_EQ(by_key.at("kafka.producer.sasl.password").value, "'(redacted)'") << "config check prints no secret";
  EXPECT_EQ(by_key.at("admin.port").origin, "default");
  EXPECT_EQ(by_key.at("admin.port").value, "0") << "a default shows default.toml's value";
  for (const auto& key : ConfigKeys()) EXPECT_EQ(by_key.count(key), 1u) << key << " missing from the sources";

  // A variable naming no key, or with a bad value, is an error naming it.
  const std::vector<std::string> unknown = {"RECSTREAM_RECOMMEND__KK=1"};
  ExpectError(LoadConfig("", {}, &c, &unknown), {"RECSTREAM_RECOMMEND__KK", "recommend.kk"});
  const std::vector<std::string> bad = {"RECSTREAM_RECOMMEND__K=ten"};
  ExpectError(LoadConfig("", {}, &c, &bad), {"RECSTREAM_RECOMMEND__K", "recommend.k"});
}

TEST_F(ConfigTest, UnknownKeyIsAnErrorNamingIt) {
  ExpectError(Load("[user]\nhistory_lenght = 3\n"), {"user.history_lenght"});
  ExpectError(Load("[nonsense]\nx = 1\n"), {"nonsense.x"});
  ExpectError(Load("toplevel = 1\n"), {"toplevel"});
  Config c;
  ExpectError(LoadConfig("", {"recommend.kk=3"}, &c), {"recommend.kk"});
  ExpectError(LoadConfig("", {"recommend.k"}, &c), {"recommend.k", "key=value"});
  // The pass-through prefix must match a whole section name.
  ExpectError(Load("[kafka.consumerx]\na = 1\n"), {"kafka.consumerx.a"});
}

TEST_F(ConfigTest, BadValueTypeIsAnErrorNamingTheKey) {
  ExpectError(Load("[recommend]\nk = \"ten\"\n"), {"recommend.k"});
  ExpectError(Load("[recommend]\nk = 2.5\n"), {"recommend.k"});
  ExpectError(Load("[state]\nsync = 1\n"), {"state.sync"});
  ExpectError(Load("[topics]\nevents = 5\n"), {"topics.events"});
  ExpectError(Load("[model]\nweight_view = \"heavy\"\n"), {"model.weight_view"});
  ExpectError(Load("[processing]\npoll_timeout_ms = 1.5\n"), {"processing.poll_timeout_ms"});
  ExpectError(Load("[kafka.consumer]\n\"session.timeout.ms\" = [1, 2]\n"), {"kafka.consumer.session.timeout.ms"});
  Config c;
  ExpectError(LoadConfig("", {"state.sync=maybe"}, &c), {"state.sync"});
  ExpectError(LoadConfig("", {"user.history_length=many"}, &c), {"user.history_length"});
}

TEST_F(ConfigTest, OutOfRangeValueIsAnErrorNamingTheKey) {
  ExpectError(Load("[recommend]\nk = 0\n"), {"recommend.k"});
  ExpectError(Load("[user]\nhistory_length = -1\n"), {"user.history_length"});
  ExpectError(Load("[kafka]\nembedded_partitions = 1000\n"), {"kafka.embedded_partitions"});
  ExpectError(Load("[kafka]\noffset_out_of_range = \"skip\"\n"), {"kafka.offset_out_of_range", "\"reset\""});
  ExpectError(Load("[model]\nmax_gap_s = 0\n"), {"model.max_gap_s"});
  ExpectError(Load("[model]\nweight_purchase = 0\n"), {"model.weight_purchase"});
  ExpectError(Load("[model]\npopularity_half_life_s = nan\n"), {"model.popularity_half_life_s"});
  ExpectError(Load("[state]\nblock_cache_mb = 0\n"), {"state.block_cache_mb"});
  ExpectError(Load("[state]\nwal_budget_mb = -5\n"), {"state.wal_budget_mb"});
  ExpectError(Load("[state]\nerasure_interval_s = -1\n"), {"state.erasure_interval_s"});
  ExpectError(Load("[state]\nerasure_interval_s = 1.5\n"), {"state.erasure_interval_s"});
  ExpectError(Load("[state]\nmemtable_budget_mb = \"big\"\n"), {"state.memtable_budget_mb"});
  ExpectError(Load("[input]\nmax_future_skew_s = -1\n"), {"input.max_future_skew_s"});
  ExpectError(Load("[log]\nlevel = \"verbose\"\n"), {"log.level"});
  ExpectError(Load("[kafka]\nbrokers = \"\"\n"), {"kafka.brokers"});
  ExpectError(Load("[topics]\ndead_letters = \"events\"\n"), {"topics"});
  Config c;
  ExpectError(LoadConfig("", {"processing.batch_max_events=0"}, &c), {"processing.batch_max_events"});
  ExpectError(LoadConfig("", {"user.dedupe_window=5000"}, &c), {"user.dedupe_window"});
}

TEST_F(ConfigTest, MalformedTomlIsAnErrorNamingTheLine) {
  ExpectError(Load("[user]\nhistory_length = 3\n[recommend\nk = 2\n"), {"line 3"});
  ExpectError(Load("[user]\nhistory_length = = 3\n"), {"line 2"});
  Config c;
  const Status missing = LoadConfig((dir_ / "absent.toml").string(), {}, &c);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.ToString().find("does not exist"), std::string::npos) << missing.ToString();
  // A directory read as TOML is an empty file: the defaults would run in
  // place of the operator's settings.
  const Status dir = LoadConfig(dir_.string(), {}, &c);
  EXPECT_FALSE(dir.ok()) << "a directory as --config ran with the defaults";
  EXPECT_NE(dir.ToString().find("is a directory"), std::string::npos) << dir.ToString();
}

TEST_F(ConfigTest, PassThroughSectionsAcceptAnyNameAsText) {
  Config c;
  const Status s = Load(
      "[kafka.consumer]\n\"session.timeout.ms\" = 45000\nfetch.wait.max.ms = 10\n"
      "[kafka.producer]\n\"compression.type\" = \"zstd\"\n\"batch.num.messages\" = 500\n"
      "[rocksdb.db]\nmax_background_jobs = 4\n"
      "[rocksdb.cf]\nwrite_buffer_size = \"67108864\"\n",
      {"kafka.producer.linger.ms=20", "rocksdb.cf.num_levels=5"}, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.kafka.consumer, (std::map<std::string, std::string>{{"session.timeout.ms", "45000"},
                                                                   {"fetch.wait.max.ms", "10"}}));
  EXPECT_EQ(c.kafka.producer, (std::map<std::string, std::string>{{"compression.type", "zstd"},
                                                                   {"batch.num.messages", "500"},
                                                                   {"linger.ms", "20"}}));
  EXPECT_EQ(c.state.db_options.at("max_background_jobs"), "4");
  EXPECT_EQ(c.state.cf_options.at("write_buffer_size"), "67108864");
  EXPECT_EQ(c.state.cf_options.at("num_levels"), "5");
  EXPECT_EQ(c.state.db_options.size(), 1u);
  EXPECT_EQ(c.state.cf_options.size(), 2u);
}

// The client keys recstream's guarantees rest on cannot be passed through
// (overriding group.id and enable.auto.commit once left state reflecting half
// of the events): the error names the key and what owns it, from a file and
// from --set; the keys around them still pass.
TEST_F(ConfigTest, ManagedClientKeysAreRefusedNamingTheirOwner) {
  ExpectError(Load("[kafka.consumer]\n\"group.id\" = \"other\"\n"), {"kafka.consumer.group.id", "kafka.group_id"});
  ExpectError(Load("[kafka.consumer]\nenable.auto.commit = true\n"),
              {"kafka.consumer.enable.auto.commit", "commits them after each checkpoint"});
  ExpectError(Load("[kafka.consumer]\n\"enable.auto.offset.store\" = true\n"), {"enable.auto.offset.store"});
  ExpectError(Load("[kafka.consumer]\n\"partition.assignment.strategy\" = \"range\"\n"),
              {"partition.assignment.strategy", "cooperative-sticky"});
  ExpectError(Load("[kafka.consumer]\n\"bootstrap.servers\" = \"h:9092\"\n"), {"kafka.brokers"});
  ExpectError(Load("[kafka.producer]\n\"enable.idempotence\" = false\n"),
              {"kafka.producer.enable.idempotence", "idempotent"});
  ExpectError(Load("[kafka.producer]\n\"client.id\" = \"x\"\n"), {"kafka.client_id"});
  Config c;
  ExpectError(LoadConfig("", {"kafka.consumer.group.id=x"}, &c), {"kafka.consumer.group.id", "kafka.group_id"});
  // What recstream merely defaults stays overridable.
  ASSERT_TRUE(Load("[kafka.consumer]\n\"auto.offset.reset\" = \"latest\"\n"
                   "[kafka.producer]\npartitioner = \"consistent_random\"\n\"linger.ms\" = 1\n",
                   {}, &c)
                  .ok());
  EXPECT_EQ(c.kafka.producer.at("partitioner"), "consistent_random");
}

// Regression: a floating-point value in a pass-through section was once
// rendered at 6 significant digits (0.0123456789 -> "0.0123457"); the option
// the library receives must keep every digit.
TEST_F(ConfigTest, PassThroughFloatsKeepTheirDigits) {
  Config c;
  const Status s = Load("[rocksdb.cf]\nmemtable_prefix_bloom_size_ratio = 0.0123456789\n"
                        "[rocksdb.db]\nbytes_per_sync = 67108864.0\n",
                        {}, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_DOUBLE_EQ(std::stod(c.state.cf_options.at("memtable_prefix_bloom_size_ratio")), 0.0123456789);
  EXPECT_DOUBLE_EQ(std::stod(c.state.db_options.at("bytes_per_sync")), 67108864.0);
}

// Regression: max_future_skew_s once had no upper bound and a `v < 0` check
// that let nan through, so inf, nan and 1e300 were accepted and the
// conversion to int64 milliseconds was undefined behaviour.
TEST_F(ConfigTest, MaxFutureSkewRejectsValuesThatDoNotFitInMilliseconds) {
  ExpectError(Load("[input]\nmax_future_skew_s = inf\n"), {"input.max_future_skew_s"});
  ExpectError(Load("[input]\nmax_future_skew_s = nan\n"), {"input.max_future_skew_s"});
  ExpectError(Load("[input]\nmax_future_skew_s = 1e300\n"), {"input.max_future_skew_s"});
}

// Regression: Validate() once compared only dead_letters and recommendations
// against events. With topics.items equal to topics.events every event is
// taken for a catalog update (no list is ever published); with dead_letters
// equal to recommendations rejected input lands on the compacted output topic
// keyed by user and can overwrite a user's list.
TEST_F(ConfigTest, AllTopicsMustDiffer) {
  ExpectError(Load("[topics]\nitems = \"events\"\n"), {"topics"});
  ExpectError(Load("[topics]\ndead_letters = \"recommendations\"\n"), {"topics"});
  ExpectError(Load("[topics]\nitems = \"recommendations\"\n"), {"topics"});
}

}  // namespace
}  // namespace recstream::app
