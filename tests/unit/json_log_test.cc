// log.format = "json": every line a JSON object a log shipper can index,
// whatever the message holds.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>

#include "app/json_log.h"

namespace recstream::app {
namespace {

TEST(JsonLogFormatter, EachLineIsAnObjectWithTimeLevelAndTheMessageEscaped) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("recstream", sink);
  logger.set_formatter(std::make_unique<JsonLogFormatter>());
  logger.set_level(spdlog::level::debug);
  const std::string tricky = std::string("quote \" backslash \\ newline \n tab \t nul ") + '\0' + " bad \xff utf8";
  logger.warn("kafka: events[{}]: {}", 3, tricky);
  logger.debug("second");
  logger.flush();

  std::istringstream lines(out.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
  std::string_view level, msg, ts, name;
  ASSERT_EQ(doc["level"].get(level), simdjson::SUCCESS);
  EXPECT_EQ(level, "warning");
  ASSERT_EQ(doc["logger"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "recstream");
  ASSERT_EQ(doc["msg"].get(msg), simdjson::SUCCESS);
  EXPECT_EQ(msg.substr(0, 13), "kafka: events");
  EXPECT_NE(msg.find("quote \" backslash \\ newline \n tab"), std::string_view::npos) << msg;
  EXPECT_NE(msg.find(std::string_view("nul \0 bad", 9)), std::string_view::npos) << "the NUL survives, escaped";
  ASSERT_EQ(doc["ts"].get(ts), simdjson::SUCCESS);
  // UTC with milliseconds, within a minute of now.
  ASSERT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts.back(), 'Z');
  std::tm tm{};
  ASSERT_NE(::strptime(std::string(ts.substr(0, 19)).c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  const auto logged = static_cast<long long>(::timegm(&tm));
  const auto now = static_cast<long long>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_LE(std::llabs(now - logged), 60) << ts;
  int64_t thread = 0;
  EXPECT_EQ(doc["thread"].get(thread), simdjson::SUCCESS);
  ASSERT_TRUE(std::getline(lines, line));
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
  std::string_view second;
  ASSERT_EQ(doc["msg"].get(second), simdjson::SUCCESS);
  EXPECT_EQ(second, "second");
  EXPECT_FALSE(std::getline(lines, line)) << "one line per message";
}

}  // namespace
}  // namespace recstream::app
