// Config: the whole typed configuration of a recstream process, loaded from
// one TOML file (configs/default.toml documents every key with its default)
// and overridden by `--set key=value` on the command line.
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
  // [admin]: the admin HTTP server of `run` (app/admin_server.h).
  AdminOptions admin;
  std::string kafka_brokers = "embedded";
};

// Loads path (empty: defaults only), then applies overrides ("key=value",
// value in TOML syntax, bare words taken as strings). Validates the result.
Status LoadConfig(const std::string& path, const std::vector<std::string>& overrides, Config* out);

// Every registered key (for docs and the test that default.toml documents
// them all), as "section.key".
std::vector<std::string> ConfigKeys();

}  // namespace recstream::app
