// JsonWriter: appends compact JSON to a caller-owned string (reused across
// messages, so serialising allocates nothing once the buffer is warm).
// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are
// replaced by U+FFFD so that the output is always valid JSON.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace recstream::stream {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& BeginObject() { Sep(); out_.push_back('{'); first_ = true; return *this; }
  JsonWriter& EndObject() { out_.push_back('}'); first_ = false; return *this; }
  JsonWriter& BeginArray() { Sep(); out_.push_back('['); first_ = true; return *this; }
  JsonWriter& EndArray() { out_.push_back(']'); first_ = false; return *this; }
  JsonWriter& Key(std::string_view k) {
    Sep();
    AppendString(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  // A key that needs no escaping (a literal of the caller's): appended as
  // is, without AppendString's scan. REQUIRES: k has no '"', '\\', control
  // or non-ASCII byte.
  JsonWriter& PlainKey(std::string_view k) {
    Sep();
    out_.push_back('"');
    out_.append(k);
    out_.append("\":", 2);
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view v) { Sep(); AppendString(out_, v); return *this; }
  // A string value that needs no escaping (a fixed name); REQUIRES as PlainKey.
  JsonWriter& PlainString(std::string_view v) {
    Sep();
    out_.push_back('"');
    out_.append(v);
    out_.push_back('"');
    return *this;
  }
  JsonWriter& Int(int64_t v) {
    Sep();
    char buf[24];
    out_.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    return *this;
  }
  JsonWriter& Bool(bool v) { Sep(); out_.append(v ? "true" : "false"); return *this; }
  JsonWriter& Null() { Sep(); out_.append("null"); return *this; }
  // Fixed-point with up to `digits` decimals, trailing zeros trimmed.
  JsonWriter& Number(double v, int digits = 4);
  // Splices a value that is already JSON.
  JsonWriter& Raw(std::string_view json) { Sep(); out_.append(json); return *this; }

  static void AppendString(std::string& out, std::string_view s);

 private:
  void Sep() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

// Standard base64 (RFC 4648) of arbitrary bytes.
std::string Base64(std::string_view bytes);

}  // namespace recstream::stream
