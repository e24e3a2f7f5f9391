// Config: the whole typed configuration of a recstream process, loaded from
// one TOML file (configs/default.toml documents every key with its default),
// overridden by RECSTREAM_<SECTION>__<KEY> environment variables and then
// by `--set key=value` on the command line.
//
// Every key is registered once, with its type, bounds and documentation, in
// config.cc; an unknown key or a bad value is an error at start-up naming the
// key. librdkafka and RocksDB options pass through, by their own names, in
// [kafka.consumer], [kafka.producer], [rocksdb.db] and [rocksdb.cf].
#pragma once

#include <string>
#include <vector>

#include "app/admin_server.h"
#include "operators/pipeline.h"
#include "state/db.h"
#include "stream/kafka.h"
#include "stream/task.h"

namespace recstream::app {

struct Config {
  operators::PipelineOptions pipeline;
  stream::KafkaOptions kafka;
  // Partitions of each topic the embedded broker creates. Default: 4.
  int embedded_partitions = 4;
  state::StateOptions state;
  stream::TaskOptions task;
  // Seconds allowed for a graceful shutdown (finish batch, flush, commit).
  double shutdown_timeout_s = 30;
  std::string log_level = "info";
  // "text" (default): a timestamped line per message; "json": one JSON
  // object per line (app/json_log.h).
  std::string log_format = "text";
  // [admin]: the admin HTTP server of `run` (app/admin_server.h).
  AdminOptions admin;
  std::string kafka_brokers = "embedded";
};

// Where a key's effective value came from (config check).
struct ConfigSource {
  std::string key;
  std::string value;   // as TOML text; '(redacted)' for a secret (a password, secret, key.pem or token)
  std::string origin;  // "default", "file PATH", "env NAME", "--set"
};

// Loads, in this order, each later one winning: the defaults; path (empty:
// none); environment variables RECSTREAM_<SECTION>__<KEY>=value
// (environment: "NAME=value" entries, e.g. ProcessEnvironment(); null: none);
// overrides ("key=value"). Values in TOML syntax, a bare word taken as a
// string. Validates the result. sources (optional): every registered key,
// and every pass-through key set, with its value and origin, in key order.
Status LoadConfig(const std::string& path, const std::vector<std::string>& overrides, Config* out,
                  const std::vector<std::string>* environment = nullptr, std::vector<ConfigSource>* sources = nullptr);

// The config key an environment variable names, or "" when it names none:
// RECSTREAM_ then the key's parts, upper case, joined by "__"
// (RECSTREAM_KAFKA__BROKERS: kafka.brokers; RECSTREAM_RECOMMEND__K:
// recommend.k). Under KAFKA__CONSUMER / KAFKA__PRODUCER a single "_" is a
// dot of librdkafka's names (RECSTREAM_KAFKA__CONSUMER__SESSION_TIMEOUT_MS:
// kafka.consumer.session.timeout.ms); RocksDB's names keep theirs.
std::string EnvConfigKey(std::string_view name);

// The process's environment as "NAME=value" entries.
std::vector<std::string> ProcessEnvironment();

// configs/default.toml as built into the binary.
std::string_view DefaultToml();

// Every registered key (for docs and the test that default.toml documents
// them all), as "section.key".
std::vector<std::string> ConfigKeys();

}  // namespace recstream::app
