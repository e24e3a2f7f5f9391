#include "app/json_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include "stream/json_writer.h"

namespace recstream::app {

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since = msg.time.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  const auto level = spdlog::level::to_string_view(msg.level);
  std::string line;
  stream::JsonWriter w(line);
  w.BeginObject()
      .Key("ts")
      .String(ts)
      .Key("level")
      .String(std::string_view(level.data(), level.size()))
      .Key("logger")
      .String(std::string_view(msg.logger_name.data(), msg.logger_name.size()))
      .Key("msg")
      .String(std::string_view(msg.payload.data(), msg.payload.size()))
      .Key("thread")
      .Int(static_cast<int64_t>(msg.thread_id))
      .EndObject();
  line.push_back('\n');
  dest.append(line.data(), line.data() + line.size());
}

}  // namespace recstream::app
