#include "stream/dead_letter.h"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace recstream::stream {

uint64_t Fnv1a64(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Status ProduceDeadLetter(RecordSink& sink, const DeadLetterOptions& opt, const Record& r, std::string_view reason,
                         std::string_view detail, bool* truncated) {
  const std::string partition = std::to_string(r.partition);
  const std::string offset = std::to_string(r.offset);
  Header headers[9] = {
      {"recstream.reason", reason},
      {"recstream.detail", detail},
      {"recstream.source.topic", r.topic},
      {"recstream.source.partition", partition},
      {"recstream.source.offset", offset},
  };
  size_t n = 5;
  // Cuts bytes to bound, adding two headers (original size and hash) whose
  // values live in text[0] and text[1].
  std::string texts[4];
  // whole_size/whole_hash: the record is already a prefix of one this long.
  auto cut = [&](std::string_view& bytes, size_t bound, const char* size_name, const char* hash_name,
                 std::string* text, uint64_t whole_size = 0, uint64_t whole_hash = 0) {
    if (bytes.size() <= bound && whole_size == 0) return false;
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(whole_size != 0 ? whole_hash : Fnv1a64(bytes)));
    text[0] = std::to_string(whole_size != 0 ? whole_size : bytes.size());
    text[1] = hash;
    headers[n++] = {size_name, text[0]};
    headers[n++] = {hash_name, text[1]};
    bytes = bytes.substr(0, std::min(bound, bytes.size()));
    return true;
  };
  std::string_view value = r.value_null ? std::string_view() : r.original_bytes();
  std::string_view key = r.key;
  const bool cut_value =
      cut(value, opt.max_payload_bytes, "recstream.original.size", "recstream.original.fnv1a64", &texts[0],
          r.value_null ? 0 : r.whole_size, r.whole_fnv1a64);
  const bool cut_key =
      cut(key, opt.max_key_bytes, "recstream.original.key_size", "recstream.original.key_fnv1a64", &texts[2]);
  if (truncated != nullptr) *truncated = cut_value || cut_key;
  std::optional<std::string_view> payload;
  if (!r.value_null) payload = value;
  return sink.Produce(opt.topic, key, payload, std::span<const Header>(headers, n));
}

}  // namespace recstream::stream
