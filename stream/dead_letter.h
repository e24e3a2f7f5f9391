// Dead letters: a rejected input record goes, with its original bytes, to the
// dead-letter topic, with headers that say why and where it came from:
//   recstream.reason, recstream.detail,
//   recstream.source.topic, recstream.source.partition, recstream.source.offset
// A dead letter is bounded: a message near the broker's limit (or a key as
// large) would otherwise be copied past the producer's message.max.bytes,
// fail to produce, stop the processor and stop it again on every restart (a
// poison pill). Such a payload keeps its first max_payload_bytes bytes, a
// key its first max_key_bytes; headers recstream.original.size /
// recstream.original.fnv1a64 (and .key_size / .key_fnv1a64) give the
// original size and a hash of the whole (FNV-1a 64, 16 hex digits), so it
// can be matched with the source record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stream/record.h"

namespace recstream::stream {

struct DeadLetterOptions {
  std::string topic = "events.dlq";
  size_t max_payload_bytes = 512 * 1024;
  size_t max_key_bytes = 4096;
};

// Stable 64-bit FNV-1a (persisted where event ids are remembered). `h`
// continues a hash over earlier bytes.
inline constexpr uint64_t kFnv1a64Basis = 1469598103934665603ULL;
uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnv1a64Basis);

// Queues r's dead letter on sink; *truncated (optional) says whether its
// payload or key was cut.
Status ProduceDeadLetter(RecordSink& sink, const DeadLetterOptions& opt, const Record& r, std::string_view reason,
                         std::string_view detail, bool* truncated = nullptr);

}  // namespace recstream::stream
