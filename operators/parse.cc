#include "operators/parse.h"

#include <cstring>

namespace recstream::operators {

using simdjson::error_code;
namespace od = simdjson::ondemand;

std::string_view RejectName(Reject r) {
  switch (r) {
    case Reject::kNone: return "none";
    case Reject::kNullValue: return "null_value";
    case Reject::kOversized: return "oversized";
    case Reject::kInvalidJson: return "invalid_json";
    case Reject::kInvalidUtf8: return "invalid_utf8";
    case Reject::kTooDeep: return "too_deep";
    case Reject::kNotObject: return "not_object";
    case Reject::kMissingField: return "missing_field";
    case Reject::kWrongType: return "wrong_type";
    case Reject::kBadId: return "bad_id";
    case Reject::kUnknownType: return "unknown_type";
    case Reject::kBadTimestamp: return "bad_timestamp";
    case Reject::kUnknownItem: return "unknown_item";
    case Reject::kDuplicate: return "duplicate";
    case Reject::kStateCorrupt: return "state_corrupt";
    case Reject::kForgottenUser: return "forgotten_user";
    case Reject::kCount: break;
  }
  return "unknown";
}

namespace {

Reject FromSimdjson(error_code e, std::string& detail) {
  detail = simdjson::error_message(e);
  switch (e) {
    case error_code::UTF8_ERROR: return Reject::kInvalidUtf8;
    case error_code::DEPTH_ERROR: return Reject::kTooDeep;
    // A top-level value of the wrong shape is found by its type before any
    // getter runs (ValidateScalarDocument), so a getter's INCORRECT_TYPE
    // means a malformed literal (`tru`, `-`): not JSON.
    default: return Reject::kInvalidJson;
  }
}

}  // namespace

Reject Parser::ValidateScalarDocument(od::document& doc, od::json_type t, std::string& detail) {
  error_code e = error_code::SUCCESS;
  switch (t) {
    case od::json_type::array: {
      od::array a;
      e = doc.get_array().get(a);
      if (!e) {
        for (auto el : a) {
          od::value v;
          if ((e = std::move(el).get(v))) break;
          if (Reject r = Validate(v, 1, detail); r != Reject::kNone) return r;
        }
      }
      break;
    }
    case od::json_type::string: {
      std::string_view sv;
      e = doc.get_string().get(sv);
      break;
    }
    case od::json_type::number: {
      double d;
      e = doc.get_double().get(d);
      break;
    }
    case od::json_type::boolean: {
      bool b;
      e = doc.get_bool().get(b);
      break;
    }
    case od::json_type::null: {
      bool n = false;
      e = doc.is_null().get(n);
      if (!e && !n) e = error_code::N_ATOM_ERROR;
      break;
    }
    case od::json_type::object: break;
  }
  if (!e && doc.current_location().error() != error_code::OUT_OF_BOUNDS) e = error_code::TRAILING_CONTENT;
  if (e) {
    FromSimdjson(e, detail);
    return e == error_code::UTF8_ERROR ? Reject::kInvalidUtf8 : e == error_code::DEPTH_ERROR ? Reject::kTooDeep : Reject::kInvalidJson;
  }
  return Reject::kNone;
}

// Walks a value completely so that malformed JSON inside ignored fields is
// still caught (On-Demand alone would skip it unchecked).
Reject Parser::Validate(od::value v, size_t depth, std::string& detail) {
  if (depth >= opt_.max_json_depth) {
    detail = "nesting deeper than input.max_json_depth";
    return Reject::kTooDeep;
  }
  od::json_type t;
  if (auto e = v.type().get(t); e) return FromSimdjson(e, detail);
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o); e) return FromSimdjson(e, detail);
      for (auto f : o) {
        od::field field;
        if (auto e = std::move(f).get(field); e) return FromSimdjson(e, detail);
        std::string_view k;
        if (auto e = field.unescaped_key().get(k); e) return FromSimdjson(e, detail);
        if (Reject r = Validate(field.value(), depth + 1, detail); r != Reject::kNone) return r;
      }
      return Reject::kNone;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a); e) return FromSimdjson(e, detail);
      for (auto el : a) {
        od::value ev;
        if (auto e = std::move(el).get(ev); e) return FromSimdjson(e, detail);
        if (Reject r = Validate(ev, depth + 1, detail); r != Reject::kNone) return r;
      }
      return Reject::kNone;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s); e) return FromSimdjson(e, detail);
      return Reject::kNone;
    }
    case od::json_type::number: {
      double d;
      if (auto e = v.get_double().get(d); e) return FromSimdjson(e, detail);
      return Reject::kNone;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b); e) return FromSimdjson(e, detail);
      return Reject::kNone;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null); e || !is_null) {
        detail = "invalid literal";
        return Reject::kInvalidJson;
      }
      return Reject::kNone;
    }
  }
  return Reject::kInvalidJson;
}

Parser::Parser(const ParseOptions& opt) : opt_(opt) {
  // Capacity grows on demand up to the message limit; depth is fixed.
  // Capacity grows on demand; an allocation failure here surfaces again as an
  // error on the first Parse.
  (void)!parser_.allocate(4096, opt_.max_json_depth);
}

// A known field whose getter failed: malformed JSON if walking the value
// finds it so (getters do not advance on failure), else the wrong type.
Reject Parser::WrongType(od::value v, std::string message, std::string& detail) {
  if (Reject r = Validate(v, 1, detail); r != Reject::kNone) return r;
  detail = std::move(message);
  return Reject::kWrongType;
}

Reject Parser::ReadId(od::value v, std::string& storage, std::string_view& out, std::string_view field,
                      std::string& detail) {
  od::json_type t;
  if (auto e = v.type().get(t); e) return FromSimdjson(e, detail);
  if (t == od::json_type::string) {
    if (auto e = v.get_string().get(out); e) return FromSimdjson(e, detail);
  } else if (t == od::json_type::number) {
    int64_t n;
    if (v.get_int64().get(n) != error_code::SUCCESS) {
      uint64_t u;
      if (v.get_uint64().get(u) == error_code::SUCCESS) {
        detail = std::string(field) + " is out of range";
        return Reject::kBadId;
      }
      return WrongType(v, std::string(field) + " must be a string or an integer", detail);
    }
    if (n < 0) {
      detail = std::string(field) + " is negative";
      return Reject::kBadId;
    }
    storage = std::to_string(n);
    out = storage;
  } else {
    return WrongType(v, std::string(field) + " must be a string or an integer", detail);
  }
  if (out.empty() || out.size() > opt_.max_id_bytes) {
    detail = std::string(field) + (out.empty() ? " is empty" : " is longer than input.max_id_bytes");
    return Reject::kBadId;
  }
  return Reject::kNone;
}

Reject Parser::Parse(const stream::Record& r, bool catalog, int64_t now_ms, ParsedEvent& out, std::string& detail) {
  out = ParsedEvent{};
  detail.clear();
  if (r.value_null) {
    detail = "message has no value";
    return Reject::kNullValue;
  }
  if (r.size() > opt_.max_message_bytes) {
    detail = std::to_string(r.size()) + " bytes > input.max_message_bytes";
    return Reject::kOversized;
  }
  if (r.value.empty()) {
    detail = "empty message";
    return Reject::kInvalidJson;
  }
  buf_.resize(r.value.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buf_.data(), r.value.data(), r.value.size());
  if (r.value.size() > parser_.capacity()) {
    if (auto e = parser_.allocate(std::max(r.value.size(), 2 * parser_.capacity()), opt_.max_json_depth); e)
      return FromSimdjson(e, detail);
  }
  od::document doc;
  if (auto e = parser_.iterate(buf_.data(), r.value.size(), buf_.size()).get(doc); e) return FromSimdjson(e, detail);
  od::object obj;
  {
    od::json_type t;
    if (auto e = doc.type().get(t); e) return FromSimdjson(e, detail);
    if (t != od::json_type::object) {
      // Tell "valid JSON, wrong shape" from "not JSON" (On-Demand reads
      // scalars lazily: `nonsense` looks like a null until read).
      if (Reject r = ValidateScalarDocument(doc, t, detail); r != Reject::kNone) return r;
      detail = "top-level value is not an object";
      return Reject::kNotObject;
    }
    if (auto e = doc.get_object().get(obj); e) return FromSimdjson(e, detail);
  }

  bool has_user = false, has_item = false, has_type = false, has_ts = false;
  std::string_view type_name;
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field); e) return FromSimdjson(e, detail);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return FromSimdjson(e, detail);
    od::value v = field.value();
    Reject rej = Reject::kNone;
    if (key == "user_id") {
      rej = ReadId(v, user_buf_, out.user_id, key, detail);
      has_user = true;
    } else if (key == "item_id") {
      rej = ReadId(v, item_buf_, out.item_id, key, detail);
      has_item = true;
    } else if (key == "category_id") {
      rej = ReadId(v, category_buf_, out.category_id, key, detail);
    } else if (key == "event_id") {
      rej = ReadId(v, event_buf_, out.event_id, key, detail);
    } else if (key == "type") {
      if (v.get_string().get(type_name) != error_code::SUCCESS) return WrongType(v, "type must be a string", detail);
      has_type = true;
    } else if (key == "ts") {
      int64_t ts;
      if (v.get_int64().get(ts) != error_code::SUCCESS)
        return WrongType(v, "ts must be an integer (ms since epoch)", detail);
      out.ts_ms = ts;
      has_ts = true;
    } else if (key == "active") {
      bool a;
      if (v.get_bool().get(a) != error_code::SUCCESS) return WrongType(v, "active must be a boolean", detail);
      out.active = a;
    } else if (key == "__csv_error" && !r.original.empty()) {
      // The file source's marker for a CSV row it could not convert; only
      // records converted from a file carry it (Kafka messages cannot).
      std::string_view msg;
      if (v.get_string().get(msg) != error_code::SUCCESS) msg = "malformed row";
      detail = "CSV row: " + std::string(msg);
      return Reject::kMissingField;
    } else {
      // Unknown fields are ignored (forward compatible), but must be JSON.
      rej = Validate(v, 1, detail);
    }
    if (rej != Reject::kNone) return rej;
  }
  // Past the closing brace there must be nothing left but whitespace.
  if (doc.current_location().error() != error_code::OUT_OF_BOUNDS) {
    detail = "trailing content after the JSON object";
    return Reject::kInvalidJson;
  }

  if (catalog) {
    if (!has_item) {
      detail = "item_id";
      return Reject::kMissingField;
    }
    out.kind = ParsedEvent::Kind::kCatalog;
    return Reject::kNone;
  }
  if (!has_type) {
    detail = "type";
    return Reject::kMissingField;
  }
  if (!has_user) {
    detail = "user_id";
    return Reject::kMissingField;
  }
  if (type_name == "forget_user") {
    out.kind = ParsedEvent::Kind::kForgetUser;
    return Reject::kNone;
  }
  const auto type = model::ParseEventType(type_name);
  if (!type) {
    // At most 64 bytes, cut at a character boundary: the detail travels in
    // a header and must stay valid UTF-8.
    size_t n = std::min<size_t>(type_name.size(), 64);
    while (n > 0 && n < type_name.size() && (static_cast<unsigned char>(type_name[n]) & 0xC0) == 0x80) --n;
    detail = "type '" + std::string(type_name.substr(0, n)) + "' is not an event type";
    return Reject::kUnknownType;
  }
  out.type = *type;
  if (!has_item) {
    detail = "item_id";
    return Reject::kMissingField;
  }
  if (!has_ts) {
    if (r.timestamp_ms <= 0) {
      detail = "ts (and the message has no timestamp)";
      return Reject::kMissingField;
    }
    out.ts_ms = r.timestamp_ms;
  }
  if (out.ts_ms < opt_.min_ts_ms) {
    detail = out.ts_ms < 0 ? "ts is negative"
             : out.ts_ms > 0 && out.ts_ms * 1000 >= opt_.min_ts_ms && out.ts_ms < INT64_MAX / 1000
                 ? "ts is before input.min_ts_ms: seconds where milliseconds are meant?"
                 : "ts is before input.min_ts_ms";
    return Reject::kBadTimestamp;
  }
  if (out.ts_ms > now_ms + opt_.max_future_skew_ms) {
    detail = "ts is more than input.max_future_skew_ms in the future";
    return Reject::kBadTimestamp;
  }
  return Reject::kNone;
}

}  // namespace recstream::operators
