// log.format = "json": one JSON object per log line, for log shippers
// (Loki, Elasticsearch, CloudWatch) that index fields instead of parsing
// text: {"ts":"2026-12-07T12:00:00.123Z","level":"info","logger":"recstream",
// "msg":"...","thread":1234}. ts is UTC with milliseconds; msg is escaped
// (control bytes as \u00XX, invalid UTF-8 replaced by U+FFFD) so that every
// line parses whatever a message holds.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace recstream::app {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace recstream::app
