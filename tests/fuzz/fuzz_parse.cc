// libFuzzer target for the first operator every input byte meets:
// operators::Parser. Each input is parsed as an events-topic message and as a
// catalog message, by a parser with the default limits and by one with tiny
// limits (so the oversized / too-deep / id-length paths are reached by short
// inputs too). The sanitizers catch memory and undefined-behaviour errors;
// the checks below catch a parse that claims success for something the input
// contract (DESIGN §1) rejects.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "operators/parse.h"

namespace {

using recstream::operators::ParsedEvent;
using recstream::operators::ParseOptions;
using recstream::operators::Parser;
using recstream::operators::Reject;

// A fixed "now" (2023-11-14): the corpus README says no reason depends on it.
constexpr int64_t kNowMs = 1'700'000'000'000;

void Check(bool ok) {
  if (!ok) std::abort();  // libFuzzer reports the input as a crash
}

void ParseOne(Parser& parser, const ParseOptions& opt, std::string_view value, bool catalog) {
  recstream::stream::Record r;
  r.topic = catalog ? "items" : "events";
  r.timestamp_ms = kNowMs - 1000;
  r.key = "k";
  r.value = value;
  ParsedEvent out;
  std::string detail;
  const Reject rej = parser.Parse(r, catalog, kNowMs, out, detail);
  Check(rej < Reject::kCount);
  Check(!recstream::operators::RejectName(rej).empty());
  if (rej != Reject::kNone) return;
  Check(value.size() <= opt.max_message_bytes);
  auto id_ok = [&](std::string_view id) { return !id.empty() && id.size() <= opt.max_id_bytes; };
  switch (out.kind) {
    case ParsedEvent::Kind::kEvent:
      Check(!catalog);
      Check(id_ok(out.user_id) && id_ok(out.item_id));
      Check(out.category_id.size() <= opt.max_id_bytes && out.event_id.size() <= opt.max_id_bytes);
      Check(out.ts_ms >= 0 && out.ts_ms <= kNowMs + opt.max_future_skew_ms);
      break;
    case ParsedEvent::Kind::kForgetUser:
      Check(!catalog);
      Check(id_ok(out.user_id));
      break;
    case ParsedEvent::Kind::kCatalog:
      Check(catalog);
      Check(id_ok(out.item_id) && out.category_id.size() <= opt.max_id_bytes);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ParseOptions kDefault{};
  static const ParseOptions kTiny = [] {
    ParseOptions o;
    o.max_message_bytes = 512;
    o.max_id_bytes = 8;
    o.max_json_depth = 3;
    o.max_future_skew_ms = 0;
    return o;
  }();
  static Parser normal(kDefault), tiny(kTiny);
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  for (bool catalog : {false, true}) {
    ParseOne(normal, kDefault, value, catalog);
    ParseOne(tiny, kTiny, value, catalog);
  }
  return 0;
}
