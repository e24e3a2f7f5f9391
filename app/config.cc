#include "app/config.h"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>

#include <filesystem>
#include <functional>
#include <limits>
#include <algorithm>
#include <map>
#include <sstream>

#include "app/default_toml.h"

extern char** environ;

namespace recstream::app {
namespace {

using Setter = std::function<Status(const toml::node&, const std::string& key)>;

Status Bad(const std::string& key, const std::string& what) {
  return Status::InvalidArgument("config key '" + key + "': " + what);
}

Setter String(std::string* dst) {
  return [dst](const toml::node& n, const std::string& key) {
    auto v = n.value<std::string>();
    if (!v || !n.is_string()) return Bad(key, "expected a string");
    *dst = *v;
    return Status::OK();
  };
}

Setter Bool(bool* dst) {
  return [dst](const toml::node& n, const std::string& key) {
    if (!n.is_boolean()) return Bad(key, "expected true or false");
    *dst = *n.value<bool>();
    return Status::OK();
  };
}

template <typename T>
Setter Int(T* dst, int64_t lo, int64_t hi) {
  return [dst, lo, hi](const toml::node& n, const std::string& key) {
    if (!n.is_integer()) return Bad(key, "expected an integer");
    const int64_t v = *n.value<int64_t>();
    if (v < lo || v > hi) return Bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    *dst = static_cast<T>(v);
    return Status::OK();
  };
}

// A number (integer or float) scaled into dst, e.g. seconds -> ms.
Setter Real(double* dst, double lo, double hi, double scale = 1.0) {
  return [=](const toml::node& n, const std::string& key) {
    if (!n.is_number()) return Bad(key, "expected a number");
    const double v = *n.value<double>();
    if (!(v >= lo && v <= hi)) {
      std::ostringstream os;
      os << "must be between " << lo << " and " << hi;
      return Bad(key, os.str());
    }
    *dst = v * scale;
    return Status::OK();
  };
}

Setter Millis(std::chrono::milliseconds* dst, int64_t lo, int64_t hi) {
  return [=](const toml::node& n, const std::string& key) {
    if (!n.is_integer()) return Bad(key, "expected an integer (milliseconds)");
    const int64_t v = *n.value<int64_t>();
    if (v < lo || v > hi) return Bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    *dst = std::chrono::milliseconds(v);
    return Status::OK();
  };
}

// A size given in MiB, stored in bytes.
Setter Mebibytes(size_t* dst, int64_t lo, int64_t hi) {
  return [=](const toml::node& n, const std::string& key) {
    if (!n.is_integer() || *n.value<int64_t>() < lo || *n.value<int64_t>() > hi)
      return Bad(key, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
    *dst = static_cast<size_t>(*n.value<int64_t>()) << 20;
    return Status::OK();
  };
}

Setter GapSeconds(int64_t* dst) {
  return [dst](const toml::node& n, const std::string& key) {
    if (!n.is_number()) return Bad(key, "expected a number (seconds)");
    const double v = *n.value<double>();
    if (!(v > 0 && v <= 365.0 * 86400)) return Bad(key, "must be in (0, 31536000]");
    *dst = static_cast<int64_t>(v * 1000);
    return Status::OK();
  };
}

// Pass-through sections: any key, value rendered as the string the
// underlying library expects.
Setter PassThrough(std::map<std::string, std::string>* dst, std::string name) {
  return [dst, name](const toml::node& n, const std::string& key) {
    std::string v;
    if (auto s = n.value<std::string>(); n.is_string()) v = *s;
    else if (n.is_boolean()) v = *n.value<bool>() ? "true" : "false";
    else if (n.is_integer()) v = std::to_string(*n.value<int64_t>());
    else if (n.is_floating_point()) {
      // Shortest text that reads back as the same double (no lost digits).
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *n.value<double>());
      v.assign(buf, ec == std::errc() ? end : buf);
    } else return Bad(key, "expected a string, number or boolean");
    (*dst)[name] = v;
    return Status::OK();
  };
}

struct Registry {
  std::map<std::string, Setter> keys;
  // Sections whose keys pass through, and where they go.
  std::map<std::string, std::map<std::string, std::string>*> maps;
  std::map<std::string, std::unordered_map<std::string, std::string>*> umaps;
};

Registry Build(Config& c) {
  Registry r;
  auto& k = r.keys;
  auto& p = c.pipeline;
  constexpr int64_t kMaxI = std::numeric_limits<int32_t>::max();
  k["kafka.brokers"] = String(&c.kafka_brokers);
  k["kafka.group_id"] = String(&c.kafka.group_id);
  k["kafka.client_id"] = String(&c.kafka.client_id);
  k["kafka.embedded_partitions"] = Int(&c.embedded_partitions, 1, 256);
  k["kafka.offset_out_of_range"] = [&c](const toml::node& n, const std::string& key) {
    const auto v = n.value<std::string>();
    if (!n.is_string() || (*v != "fail" && *v != "reset")) return Bad(key, "expected \"fail\" or \"reset\"");
    c.kafka.offset_out_of_range =
        *v == "reset" ? stream::KafkaOptions::OutOfRange::kReset : stream::KafkaOptions::OutOfRange::kFail;
    return Status::OK();
  };
  k["topics.events"] = String(&p.topics.events);
  k["topics.items"] = String(&p.topics.items);
  k["topics.recommendations"] = String(&p.topics.recommendations);
  k["topics.dead_letters"] = String(&p.topics.dead_letters);
  k["state.dir"] = String(&c.state.dir);
  k["state.sync"] = Bool(&c.state.sync);
  k["state.block_cache_mb"] = Mebibytes(&c.state.block_cache_bytes, 1, 1 << 20);
  k["state.memtable_budget_mb"] = Mebibytes(&c.state.memtable_budget_bytes, 1, 1 << 20);
  k["state.wal_budget_mb"] = Mebibytes(&c.state.wal_budget_bytes, 1, 1 << 20);
  k["state.user_cache_entries"] = Int(&p.user_cache_entries, 1, kMaxI);
  k["state.user_key_secret_file"] = String(&c.state.user_key_secret_file);
  k["state.erasure_interval_s"] = [&p](const toml::node& n, const std::string& key) {
    if (!n.is_integer() || *n.value<int64_t>() < 0 || *n.value<int64_t>() > 86'400)
      return Bad(key, "expected an integer between 0 and 86400 (seconds)");
    p.erasure_interval_ms = *n.value<int64_t>() * 1000;
    return Status::OK();
  };
  k["processing.batch_max_events"] = Int(&c.task.max_batch, 1, 1'000'000);
  k["processing.poll_timeout_ms"] = Millis(&c.task.poll_timeout, 1, 60'000);
  k["processing.delivery_timeout_ms"] = Millis(&c.task.delivery_timeout, 100, 3'600'000);
  k["processing.coalesce_ms"] = Millis(&c.task.coalesce, 0, 3'600'000);
  k["processing.checkpoint_interval_ms"] = Millis(&c.task.checkpoint_interval, 0, 3'600'000);
  k["processing.checkpoint_max_events"] = Int(&c.task.checkpoint_max_records, 1, 100'000'000);
  k["processing.shutdown_timeout_s"] = Real(&c.shutdown_timeout_s, 1, 3600);
  k["input.max_message_bytes"] = Int(&p.parse.max_message_bytes, 64, 64 << 20);
  k["input.max_id_bytes"] = Int(&p.parse.max_id_bytes, 1, 65536);
  k["input.max_json_depth"] = Int(&p.parse.max_json_depth, 2, 1024);
  k["input.max_future_skew_s"] = [&p](const toml::node& n, const std::string& key) {
    // Bounded (and NaN refused) so that the conversion to ms cannot overflow.
    if (!n.is_number() || !(*n.value<double>() >= 0 && *n.value<double>() <= 1e10))
      return Bad(key, "expected a number of seconds between 0 and 1e10");
    p.parse.max_future_skew_ms = static_cast<int64_t>(*n.value<double>() * 1000);
    return Status::OK();
  };
  k["input.min_ts_ms"] = Int(&p.parse.min_ts_ms, 0, 4'102'444'800'000);  // up to 2100
  k["user.history_length"] = Int(&p.user.history_length, 1, 1000);
  k["user.purchases_kept"] = Int(&p.user.purchases_kept, 0, 1000);
  k["user.affinity_categories"] = Int(&p.user.affinity_categories, 1, 1000);
  k["user.affinity_half_life_s"] = Real(&p.user.affinity_half_life_ms, 1, 1e9, 1000);
  k["user.affinity_half_life_events"] = Real(&p.user.affinity_half_life_events, 1, 1e12);
  k["user.dedupe_window"] = Int(&p.user.dedupe_window, 0, 4096);
  auto& m = p.items;
  // One switch for every decay, item side and user side alike.
  k["model.clock"] = [&p](const toml::node& n, const std::string& key) {
    auto v = n.value<std::string>();
    if (!n.is_string() || (*v != "events" && *v != "event_time"))
      return Bad(key, "expected \"events\" or \"event_time\"");
    p.items.activity_clock = p.user.activity_clock = *v == "events";
    return Status::OK();
  };
  k["model.popularity_half_life_events"] = Real(&m.popularity_half_life_events, 1, 1e12);
  k["model.cooccurrence_half_life_events"] = Real(&m.cooccurrence_half_life_events, 1, 1e12);
  k["model.transition_half_life_events"] = Real(&m.transition_half_life_events, 1, 1e12);
  k["model.popularity_half_life_s"] = Real(&m.popularity_half_life_ms, 1, 1e9, 1000);
  k["model.cooccurrence_half_life_s"] = Real(&m.cooccurrence_half_life_ms, 1, 1e9, 1000);
  k["model.transition_half_life_s"] = Real(&m.transition_half_life_ms, 1, 1e9, 1000);
  k["model.window"] = Int(&m.window, 1, 100);
  k["model.max_gap_s"] = GapSeconds(&m.max_gap_ms);
  k["model.cooccurrence_neighbours"] = Int(&m.cooccurrence_neighbours, 1, 1000);
  k["model.transition_successors"] = Int(&m.transition_successors, 1, 10000);
  k["model.category_top_items"] = Int(&m.category_top_items, 1, 10000);
  k["model.global_top_items"] = Int(&m.global_top_items, 1, 10000);
  const char* types[] = {"view", "click", "cart", "fav", "purchase"};
  for (int i = 0; i < model::kEventTypeCount; ++i)
    k[std::string("model.weight_") + types[i]] = Real(&m.type_weight[i], 1e-6, 1e6);
  auto& rc = p.recommend;
  auto& em = p.embedding;
  k["embedding.dim"] = Int(&em.dim, 2, 1024);
  k["embedding.window"] = Int(&em.window, 1, 100);
  k["embedding.negatives"] = Int(&em.negatives, 0, 100);
  k["embedding.learning_rate"] = Real(&em.learning_rate, 1e-6, 10);
  k["embedding.adagrad_initial"] = Real(&em.adagrad_initial, 1e-9, 1e6);
  k["embedding.category_context"] = Bool(&em.category_context);
  k["embedding.category_pair_weight"] = Real(&em.category_pair_weight, 0, 100);
  k["embedding.admit_after"] = Int(&em.admit_after, 1, 1'000'000);
  k["user.expire_after_s"] = [&p](const toml::node& n, const std::string& key) {
    if (!n.is_number() || !(*n.value<double>() >= 0) || *n.value<double>() > 1e10)
      return Bad(key, "expected a number of seconds in [0, 1e10] (0: never)");
    p.user.expire_after_ms = static_cast<int64_t>(*n.value<double>() * 1000);
    return Status::OK();
  };
  k["embedding.expire_after_s"] = [&em](const toml::node& n, const std::string& key) {
    if (!n.is_number() || !(*n.value<double>() > 0) || *n.value<double>() > 1e10)
      return Bad(key, "expected a number of seconds in (0, 1e10]");
    em.expire_after_ms = static_cast<int64_t>(*n.value<double>() * 1000);
    return Status::OK();
  };
  k["embedding.max_item_rows"] = Int(&em.max_item_rows, 1, kMaxI);
  k["embedding.long_term_rate"] = Real(&em.long_term_rate, 0, 1);
  k["embedding.attention_recency"] = Real(&em.attention_recency, 1e-6, 1);
  k["embedding.long_term_weight"] = Real(&em.long_term_weight, 0, 100);
  k["embedding.seed"] = Int(&em.seed, 0, std::numeric_limits<int64_t>::max());
  k["recommend.scorer"] = [&rc](const toml::node& n, const std::string& key) {
    auto v = n.value<std::string>();
    if (!n.is_string() || (*v != "rules" && *v != "model")) return Bad(key, "expected \"rules\" or \"model\"");
    rc.use_model = *v == "model";
    return Status::OK();
  };
  k["recommend.k"] = Int(&rc.k, 1, 1000);
  k["recommend.max_per_category"] = Int(&rc.max_per_category, 1, 1000);
  k["recommend.complement_categories"] = Int(&rc.complement_categories, 0, 1000);
  k["recommend.items_per_category"] = Int(&rc.items_per_category, 1, 10000);
  k["recommend.history_candidates"] = Int(&rc.history_candidates, 0, 1000);
  k["recommend.pool_items"] = Int(&rc.pool_items, 0, 100000);
  k["recommend.cooccurrence_weight"] = Real(&rc.cooccurrence_weight, 0, 1e6);
  k["recommend.complement_weight"] = Real(&rc.complement_weight, 0, 1e6);
  k["recommend.same_category_weight"] = Real(&rc.same_category_weight, 0, 1e6);
  k["recommend.popular_weight"] = Real(&rc.popular_weight, 0, 1e6);
  k["recommend.transition_smoothing"] = Real(&rc.transition_smoothing, 0, 1e9);
  k["recommend.embedding_weight"] = Real(&rc.embedding_weight, 0, 1e6);
  k["recommend.ranker_learning_rate"] = Real(&rc.ranker_learning_rate, 0, 10);
  k["recommend.ranker_cross_category_weight"] = Real(&rc.ranker_cross_category_weight, 0, 1000);
  k["recommend.ranker_full_updates"] = Int(&rc.ranker_full_updates, 0, kMaxI);
  k["recommend.ranker_sample_every"] = Int(&rc.ranker_sample_every, 1, 1'000'000);
  k["recommend.complement_embedding_share"] = Real(&rc.complement_embedding_share, 0, 1);
  k["recommend.mmr_lambda"] = Real(&rc.mmr_lambda, 0, 1);
  k["recommend.complement_lift"] = Bool(&rc.complement_lift);
  k["recommend.complement_prior"] = Real(&rc.complement_prior, 0, 1e9);
  k["recommend.complement_min_weight"] = Real(&rc.complement_min_weight, 0, 1e9);
  k["recommend.after_purchase_prior"] = Real(&rc.after_purchase_prior, 0, 1e9);
  k["recommend.after_purchase_min_events"] = Real(&rc.after_purchase_min_events, 0, 1e9);
  k["recommend.in_cart_candidates"] = Int(&rc.in_cart_candidates, 0, 1000);
  k["log.level"] = String(&c.log_level);
  k["log.format"] = String(&c.log_format);
  k["admin.port"] = Int(&c.admin.port, 0, 65535);
  k["admin.address"] = String(&c.admin.address);
  k["admin.token_file"] = String(&c.admin.token_file);
  k["admin.lists_kept"] = Int(&c.admin.lists_kept, 0, 10'000'000);
  r.maps["kafka.consumer"] = &c.kafka.consumer;
  r.maps["kafka.producer"] = &c.kafka.producer;
  r.umaps["rocksdb.db"] = &c.state.db_options;
  r.umaps["rocksdb.cf"] = &c.state.cf_options;
  return r;
}

Status ApplyNode(Registry& r, const std::string& key, const toml::node& n) {
  if (auto it = r.keys.find(key); it != r.keys.end()) return it->second(n, key);
  const auto dot = key.rfind('.');
  if (dot != std::string::npos) {
    const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    // librdkafka names contain dots themselves: match the longest section.
    for (auto& [sec, dst] : r.maps) {
      if (key.rfind(sec + ".", 0) == 0) return PassThrough(dst, key.substr(sec.size() + 1))(n, key);
    }
    for (auto& [sec, dst] : r.umaps) {
      if (key.rfind(sec + ".", 0) == 0) {
        std::map<std::string, std::string> tmp;
        Status s = PassThrough(&tmp, key.substr(sec.size() + 1))(n, key);
        if (s.ok()) (*dst)[tmp.begin()->first] = tmp.begin()->second;
        return s;
      }
    }
    (void)section;
    (void)name;
  }
  return Status::InvalidArgument("unknown config key '" + key + "'");
}

Status Walk(Registry& r, const toml::table& t, const std::string& prefix) {
  for (const auto& [k, node] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const bool passthrough = r.maps.count(key) || r.umaps.count(key);
    if (node.is_table() && !r.keys.count(key)) {
      if (passthrough) {
        // Flatten: librdkafka's own dotted names may be written as nested tables.
        std::function<Status(const toml::table&, const std::string&)> flat = [&](const toml::table& tt,
                                                                                 const std::string& pre) {
          for (const auto& [kk, nn] : tt) {
            const std::string full = pre + "." + std::string(kk.str());
            Status s = nn.is_table() ? flat(*nn.as_table(), full) : ApplyNode(r, full, nn);
            if (!s.ok()) return s;
          }
          return Status::OK();
        };
        Status s = flat(*node.as_table(), key);
        if (!s.ok()) return s;
        continue;
      }
      Status s = Walk(r, *node.as_table(), key);
      if (!s.ok()) return s;
      continue;
    }
    Status s = ApplyNode(r, key, node);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status Validate(const Config& c) {
  const auto& p = c.pipeline;
  const std::string levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const auto& l : levels) level_ok |= c.log_level == l;
  if (!level_ok) return Bad("log.level", "expected one of trace, debug, info, warn, error, critical, off");
  if (c.log_format != "text" && c.log_format != "json") return Bad("log.format", "expected \"text\" or \"json\"");
  if (c.kafka_brokers.empty()) return Bad("kafka.brokers", "must not be empty (\"embedded\" or host:port,...)");
  if (p.topics.events.empty()) return Bad("topics.events", "must not be empty");
  if (p.topics.recommendations.empty()) return Bad("topics.recommendations", "must not be empty");
  if (p.topics.dead_letters.empty()) return Bad("topics.dead_letters", "must not be empty");
  {
    const std::string* t[] = {&p.topics.events, &p.topics.items, &p.topics.recommendations, &p.topics.dead_letters};
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j)
        if (!t[i]->empty() && *t[i] == *t[j])
          return Bad("topics", "events, items (when set), recommendations and dead_letters must be different topics ('" +
                                   *t[i] + "' twice)");
  }
  for (const auto& [k, _] : c.kafka.consumer)
    if (const auto owner = stream::ManagedConsumerKey(k); !owner.empty())
      return Bad("kafka.consumer." + k, "cannot be set: " + std::string(owner));
  for (const auto& [k, _] : c.kafka.producer)
    if (const auto owner = stream::ManagedProducerKey(k); !owner.empty())
      return Bad("kafka.producer." + k, "cannot be set: " + std::string(owner));
  if (c.state.dir.empty()) return Bad("state.dir", "must not be empty");
  if (c.admin.address.empty()) return Bad("admin.address", "must not be empty (an IP address to bind)");
  return Status::OK();
}

}  // namespace

namespace {

// A node's value as TOML text ("v = X" without "v = ").
std::string TomlText(const toml::node& n) {
  toml::table t;
  n.visit([&](const auto& v) { t.insert_or_assign("v", v); });
  std::ostringstream os;
  os << t;
  std::string text = os.str();
  if (text.rfind("v = ", 0) == 0) text.erase(0, 4);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A --set or environment value: TOML, or a bare word taken as a string.
toml::table ParseValue(const std::string& value) {
  try {
    return toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    return toml::table{{"v", value}};
  }
}

}  // namespace

std::string EnvConfigKey(std::string_view name) {
  constexpr std::string_view kPrefix = "RECSTREAM_";
  if (!name.starts_with(kPrefix)) return "";
  name.remove_prefix(kPrefix.size());
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t sep = name.find("__", at);
    std::string part(name.substr(at, sep == std::string_view::npos ? std::string_view::npos : sep - at));
    for (char& c : part) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    parts.push_back(std::move(part));
    if (sep == std::string_view::npos) break;
    at = sep + 2;
  }
  if (parts.size() < 2) return "";  // no "__": not a config variable (RECSTREAM_BINARY, ...)
  for (const auto& p : parts)
    if (p.empty()) return "";
  std::string key = parts[0];
  const bool librdkafka = parts[0] == "kafka" && (parts[1] == "consumer" || parts[1] == "producer");
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string p = parts[i];
    if (librdkafka && i >= 2) std::replace(p.begin(), p.end(), '_', '.');
    key += "." + p;
  }
  return key;
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

std::string_view DefaultToml() { return kDefaultToml; }

Status LoadConfig(const std::string& path, const std::vector<std::string>& overrides, Config* out,
                  const std::vector<std::string>* environment, std::vector<ConfigSource>* sources) {
  Config c;
  Registry r = Build(c);
  // key -> (value, origin) of the last setting.
  std::map<std::string, std::pair<std::string, std::string>> set;
  if (!path.empty()) {
    // toml++ reads a directory as an empty file: the defaults would run
    // silently in place of the operator's settings.
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st))
      return Status::InvalidArgument("config file " + path + ": does not exist");
    if (std::filesystem::is_directory(st))
      return Status::InvalidArgument("config file " + path + ": is a directory, not a TOML file");
    toml::table t;
    try {
      t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << "config file " << path << ": " << e.description() << " at line " << e.source().begin.line;
      return Status::InvalidArgument(os.str());
    }
    Status s = Walk(r, t, "");
    if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
    if (sources != nullptr) {
      std::function<void(const toml::table&, const std::string&)> note = [&](const toml::table& tt,
                                                                            const std::string& pre) {
        for (const auto& [k, n] : tt) {
          const std::string key = pre.empty() ? std::string(k.str()) : pre + "." + std::string(k.str());
          if (n.is_table()) note(*n.as_table(), key);
          else set[key] = {TomlText(n), "file " + path};
        }
      };
      note(t, "");
    }
  }
  if (environment != nullptr) {
    std::vector<std::pair<std::string, std::string>> vars;  // sorted: a stable order of application
    for (const auto& entry : *environment) {
      const auto eq = entry.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = entry.substr(0, eq);
      if (name.rfind("RECSTREAM_", 0) != 0 || name.find("__") == std::string::npos) continue;
      vars.emplace_back(name, entry.substr(eq + 1));
    }
    std::sort(vars.begin(), vars.end());
    for (const auto& [name, value] : vars) {
      const std::string key = EnvConfigKey(name);
      if (key.empty()) return Status::InvalidArgument("environment " + name + ": not a config key");
      toml::table t = ParseValue(value);
      Status s = ApplyNode(r, key, *t.get("v"));
      if (!s.ok()) return Status::InvalidArgument("environment " + name + ": " + s.message());
      set[key] = {TomlText(*t.get("v")), "env " + name};
    }
  }
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("--set expects key=value, got '" + o + "'");
    const std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    toml::table t = ParseValue(value);
    Status s = ApplyNode(r, key, *t.get("v"));
    if (!s.ok()) return Status::InvalidArgument("--set " + o + ": " + s.message());
    set[key] = {TomlText(*t.get("v")), "--set"};
  }
  Status s = Validate(c);
  if (!s.ok()) return s;
  c.kafka.brokers = c.kafka_brokers;
  // The store's compaction drops what the pipeline would reset on reading.
  c.state.user_expire_after_ms = c.pipeline.user.expire_after_ms;
  if (sources != nullptr) {
    sources->clear();
    toml::table defaults;
    try {
      defaults = toml::parse(kDefaultToml);
    } catch (const toml::parse_error&) {
    }
    std::map<std::string, std::pair<std::string, std::string>> all = set;
    for (const auto& [key, _] : r.keys) {
      if (all.count(key)) continue;
      const auto node = defaults.at_path(key);
      all[key] = {node ? TomlText(*node.node()) : "(built in)", "default"};
    }
    for (auto& [key, vo] : all) {
      // Secrets never reach a terminal or a CI log: the origin is enough.
      const bool secret = key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
                          key.ends_with("key.pem") || key.ends_with("token");
      sources->push_back({key, secret ? "'(redacted)'" : vo.first, vo.second});
    }
  }
  *out = std::move(c);
  return Status::OK();
}

std::vector<std::string> ConfigKeys() {
  Config c;
  Registry r = Build(c);
  std::vector<std::string> keys;
  for (const auto& [k, _] : r.keys) keys.push_back(k);
  return keys;
}

}  // namespace recstream::app
