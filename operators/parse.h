// Parse: the parser of the first operator (ParseOperator, parse_operator.h).
// Turns one input record (JSON bytes) into a ParsedEvent of the input contract (DESIGN §1), or a rejection reason for the
// dead-letter topic. simdjson On-Demand; the message is copied once into a
// padded buffer, string fields are views into the parser (valid until the
// next Parse call).
//
// Never throws, never crashes on input: every malformed message maps to one
// Reject code (the machine-readable `reason` of the dead letter).
// Concurrency: one Parser per thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "model/types.h"
#include "stream/record.h"

namespace recstream::operators {

// Dead-letter reasons. Names (RejectName) are the contract; append only.
enum class Reject : uint8_t {
  kNone = 0,
  kNullValue,      // a message with no value (Kafka tombstone) on an input topic
  kOversized,      // larger than input.max_message_bytes
  kInvalidJson,    // not JSON (truncated, garbage, trailing bytes)
  kInvalidUtf8,    // bytes that are not UTF-8
  kTooDeep,        // nesting deeper than input.max_json_depth
  kNotObject,      // valid JSON but not an object
  kMissingField,   // a required field is absent (detail names it)
  kWrongType,      // a field of the wrong JSON type (detail names it)
  kBadId,          // an empty, oversized or negative id
  kUnknownType,    // `type` is not an event type, alias or control type
  kBadTimestamp,   // before input.min_ts_ms (0, seconds for ms), or too far in the future
  kUnknownItem,    // category_id omitted and the catalog does not know the item
  kDuplicate,      // an event_id already applied for this user
  kStateCorrupt,   // the user's stored row was unreadable: reset (the row is the payload)
  kForgottenUser,  // an event of a forgotten user at or before the time it was forgotten (no payload)
  kCount
};
std::string_view RejectName(Reject r);

struct ParseOptions {
  size_t max_message_bytes = 64 * 1024;      // Default: 64 KiB
  size_t max_id_bytes = 256;                 // Default: 256 bytes
  size_t max_json_depth = 16;                // Default: 16
  int64_t max_future_skew_ms = 86'400'000;   // Default: 1 day past "now"
  // Earlier timestamps are rejected: 0 (an unset field) and seconds sent
  // where milliseconds are meant would otherwise date events to 1970 and
  // expire or outweigh everything. Default: 1990-01-01T00:00:00Z.
  int64_t min_ts_ms = 631'152'000'000;
};

struct ParsedEvent {
  enum class Kind : uint8_t { kEvent, kForgetUser, kCatalog };
  Kind kind = Kind::kEvent;
  std::string_view user_id;
  std::string_view item_id;
  std::string_view category_id;  // empty when omitted
  std::string_view event_id;     // empty when absent
  model::EventType type = model::EventType::kView;
  int64_t ts_ms = 0;
  bool active = true;            // catalog messages
};

class Parser {
 public:
  explicit Parser(const ParseOptions& opt);

  // Parses r. catalog: the record comes from the catalog (items) topic.
  // now_ms bounds future timestamps. On rejection, detail says what was wrong.
  Reject Parse(const stream::Record& r, bool catalog, int64_t now_ms, ParsedEvent& out, std::string& detail);

 private:
  Reject ReadId(simdjson::ondemand::value v, std::string& storage, std::string_view& out,
                std::string_view field, std::string& detail);
  Reject Validate(simdjson::ondemand::value v, size_t depth, std::string& detail);
  Reject WrongType(simdjson::ondemand::value v, std::string message, std::string& detail);
  Reject ValidateScalarDocument(simdjson::ondemand::document& doc, simdjson::ondemand::json_type t,
                                std::string& detail);

  ParseOptions opt_;
  simdjson::ondemand::parser parser_;
  std::string buf_;  // padded copy of the message
  std::string user_buf_, item_buf_, category_buf_, event_buf_;  // integer ids as text
};

}  // namespace recstream::operators
