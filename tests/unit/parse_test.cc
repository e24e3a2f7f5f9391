// Parser (operators/parse.h): the malformed-message corpus, the accepted forms
// of the input contract (DESIGN §1), and the limits of ParseOptions at their
// exact boundaries.
#include "operators/parse.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/types.h"
#include "stream/record.h"

namespace recstream::operators {
namespace {

namespace fs = std::filesystem;
using model::EventType;

constexpr int64_t kNow = 1'700'000'000'000;  // 2023-11-14, ms since epoch
constexpr int64_t kDay = 86'400'000;

std::string Nest(size_t n, std::string_view open, std::string_view close, std::string_view inner = "") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += open;
  s += inner;
  for (size_t i = 0; i < n; ++i) s += close;
  return s;
}

// A valid event with `extra` appended as more fields (extra starts with ',').
std::string Event(std::string_view extra = "") {
  return std::string(R"({"user_id":"u1","item_id":"i1","category_id":"c1","type":"view","ts":1700000000000)") +
         std::string(extra) + "}";
}

class ParseTest : public ::testing::Test {
 protected:
  Reject Parse(std::string_view value, bool catalog = false, int64_t message_ts = kNow, int64_t now = kNow) {
    stream::Record r;
    r.topic = catalog ? "items" : "events";
    r.partition = 3;
    r.offset = 17;
    r.timestamp_ms = message_ts;
    r.key = "key";
    r.value = value;
    return parser_.Parse(r, catalog, now, ev_, detail_);
  }
  // Rejection names read better in failure messages than enum values.
  std::string Name(std::string_view value, bool catalog = false, int64_t message_ts = kNow, int64_t now = kNow) {
    return std::string(RejectName(Parse(value, catalog, message_ts, now)));
  }

  ParseOptions opt_;
  Parser parser_{opt_};
  ParsedEvent ev_;
  std::string detail_;
};

using ParseCorpus = ParseTest;
using ParseEvent = ParseTest;
using ParseControl = ParseTest;
using ParseCatalog = ParseTest;
using ParseLimits = ParseTest;

// ---------------------------------------------------------------------------
// The corpus: every file is rejected with exactly the reason its name gives.

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(ParseCorpus, EveryFileIsRejectedWithTheReasonInItsName) {
  const fs::path dir = fs::path(RECSTREAM_SOURCE_DIR) / "tests" / "data" / "malformed";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::set<std::string> known;
  for (int i = static_cast<int>(Reject::kNone) + 1; i < static_cast<int>(Reject::kCount); ++i)
    known.insert(std::string(RejectName(static_cast<Reject>(i))));

  // The corpus must not depend on the clock: it is also replayed through a
  // live pipeline, so check it at a fixed "now" and at the real one.
  const int64_t wall_now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::map<std::string, int> per_reason;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".msg") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const size_t sep = name.find("__");
    ASSERT_NE(sep, std::string::npos) << "file name is not <reason>__<description>.msg";
    const std::string want = name.substr(0, sep);
    ASSERT_TRUE(known.count(want)) << "'" << want << "' is not a reject reason";
    const std::string bytes = ReadFile(entry.path());
    ASSERT_EQ(bytes.size(), entry.file_size());
    EXPECT_LE(bytes.size(), 70u * 1024);

    // One long-lived parser (as in production: state must not leak from the
    // previous message) and a fresh one must agree.
    EXPECT_EQ(Name(bytes), want) << "detail: " << detail_;
    EXPECT_FALSE(detail_.empty()) << "a rejection must say what was wrong";
    EXPECT_EQ(Name(bytes, false, wall_now, wall_now), want) << "now = wall clock; detail: " << detail_;
    Parser fresh{ParseOptions{}};
    stream::Record r;
    r.topic = "events";
    r.timestamp_ms = kNow;
    r.value = bytes;
    ParsedEvent ev;
    std::string detail;
    EXPECT_EQ(RejectName(fresh.Parse(r, false, kNow, ev, detail)), want) << "fresh parser; detail: " << detail;
    ++per_reason[want];
  }
  EXPECT_GE(files, 60u);
  // Every reason that stateless parsing can produce from bytes has files.
  // (null_value has no bytes; unknown_item and duplicate need state.)
  for (const char* reason : {"oversized", "invalid_json", "invalid_utf8", "too_deep", "not_object", "missing_field",
                             "wrong_type", "bad_id", "unknown_type", "bad_timestamp"}) {
    EXPECT_GE(per_reason[reason], 2) << "too few corpus files for " << reason;
  }
  EXPECT_EQ(per_reason.count("unknown_item"), 0u) << "the parser alone cannot tell unknown_item";
  EXPECT_EQ(per_reason.count("duplicate"), 0u) << "the parser alone cannot tell duplicate";
}

TEST_F(ParseCorpus, ParserStillWorksAfterEveryCorpusFile) {
  const fs::path dir = fs::path(RECSTREAM_SOURCE_DIR) / "tests" / "data" / "malformed";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".msg") continue;
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_NE(Parse(ReadFile(entry.path())), Reject::kNone);
    ASSERT_EQ(Parse(R"({"user_id":"after","item_id":7,"type":"cart","ts":1700000000001})"), Reject::kNone)
        << detail_;
    EXPECT_EQ(ev_.user_id, "after");
    EXPECT_EQ(ev_.item_id, "7");
    EXPECT_EQ(ev_.category_id, "");
    EXPECT_EQ(ev_.type, EventType::kCart);
    EXPECT_EQ(ev_.ts_ms, 1'700'000'000'001);
  }
}

TEST_F(ParseCorpus, TombstoneIsNullValueButEmptyValueIsInvalidJson) {
  stream::Record r;
  r.topic = "events";
  r.timestamp_ms = kNow;
  r.value_null = true;
  EXPECT_EQ(parser_.Parse(r, false, kNow, ev_, detail_), Reject::kNullValue);
  EXPECT_FALSE(detail_.empty());
  EXPECT_EQ(parser_.Parse(r, true, kNow, ev_, detail_), Reject::kNullValue);
  r.value_null = false;
  r.value = "";
  EXPECT_EQ(parser_.Parse(r, false, kNow, ev_, detail_), Reject::kInvalidJson);
}

TEST_F(ParseCorpus, RejectionDetailNamesTheField) {
  EXPECT_EQ(Parse(R"({"user_id":"u1","type":"view"})"), Reject::kMissingField);
  EXPECT_NE(detail_.find("item_id"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, 0), Reject::kMissingField);
  EXPECT_NE(detail_.find("ts"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":[1],"type":"view"})"), Reject::kWrongType);
  EXPECT_NE(detail_.find("item_id"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","category_id":-2,"type":"view"})"), Reject::kBadId);
  EXPECT_NE(detail_.find("category_id"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"clicked"})"), Reject::kUnknownType);
  EXPECT_NE(detail_.find("clicked"), std::string::npos) << detail_;
}

// ---------------------------------------------------------------------------
// Accepted events: every form of DESIGN §1.

TEST_F(ParseEvent, FullEventWithStringIds) {
  ASSERT_EQ(Parse(R"({"user_id":"u42","item_id":"i7","category_id":"phones","type":"purchase",)"
                  R"("ts":1700000000100,"event_id":"e9"})"),
            Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kEvent);
  EXPECT_EQ(ev_.user_id, "u42");
  EXPECT_EQ(ev_.item_id, "i7");
  EXPECT_EQ(ev_.category_id, "phones");
  EXPECT_EQ(ev_.event_id, "e9");
  EXPECT_EQ(ev_.type, EventType::kPurchase);
  EXPECT_EQ(ev_.ts_ms, 1'700'000'000'100);
}

TEST_F(ParseEvent, IntegerIdsBecomeTheirDecimalText) {
  ASSERT_EQ(Parse(R"({"user_id":42,"item_id":0,"category_id":9223372036854775807,"event_id":7,)"
                  R"("type":"view","ts":1700000000000})"),
            Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "42");
  EXPECT_EQ(ev_.item_id, "0");
  EXPECT_EQ(ev_.category_id, "9223372036854775807");
  EXPECT_EQ(ev_.event_id, "7");
  // Integer and string forms of one id are the same id.
  ASSERT_EQ(Parse(R"({"user_id":"42","item_id":"0","type":"view"})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id, "42");
  EXPECT_EQ(ev_.item_id, "0");
}

TEST_F(ParseEvent, EveryTypeAndAlias) {
  const std::vector<std::pair<std::string, EventType>> cases = {
      {"view", EventType::kView}, {"pv", EventType::kView},         {"click", EventType::kClick},
      {"cart", EventType::kCart}, {"fav", EventType::kFav},         {"purchase", EventType::kPurchase},
      {"buy", EventType::kPurchase}};
  for (const auto& [name, type] : cases) {
    SCOPED_TRACE(name);
    ASSERT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":")" + name + R"(","ts":1700000000000})"), Reject::kNone)
        << detail_;
    EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kEvent);
    EXPECT_EQ(ev_.type, type);
  }
}

TEST_F(ParseEvent, MissingTsFallsBackToTheMessageTimestamp) {
  ASSERT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, 1'699'999'999'123), Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.ts_ms, 1'699'999'999'123);
  // An explicit ts wins over the message timestamp.
  ASSERT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view","ts":1600000000000})", false, 1'699'999'999'123),
            Reject::kNone);
  EXPECT_EQ(ev_.ts_ms, 1'600'000'000'000);
  // Neither: nothing to go by.
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, 0), Reject::kMissingField);
  // With ts present, the message timestamp is not needed.
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view","ts":1600000000000})", false, 0), Reject::kNone);
}

TEST_F(ParseEvent, OptionalFieldsMayBeOmitted) {
  ASSERT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"click","ts":1700000000000})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.category_id, "");
  EXPECT_EQ(ev_.event_id, "");
  EXPECT_EQ(ev_.type, EventType::kClick);
}

TEST_F(ParseEvent, UnknownFieldsOfEveryJsonTypeAreIgnored) {
  ASSERT_EQ(Parse(Event(R"(,"session":"s1","n":-1.5e-3,"big":100000000000000000000,"ok":true,"no":false,)"
                        R"("nil":null,"tags":["a",1,[],{}],"meta":{"a":{"b":[null,{"c":"d"}]}},"":"empty key")")),
            Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "u1");
  EXPECT_EQ(ev_.item_id, "i1");
  EXPECT_EQ(ev_.category_id, "c1");
  // Unknown fields may come first, between and after the known ones.
  ASSERT_EQ(Parse(R"({"x":{"user_id":"nested"},"type":"fav","y":[1],"item_id":"i2","z":"w","user_id":"u2"})"),
            Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "u2");
  EXPECT_EQ(ev_.item_id, "i2");
  EXPECT_EQ(ev_.type, EventType::kFav);
}

// The file source marks a CSV row it could not convert with `__csv_error`;
// a Kafka message carrying that key is an ordinary event with an unknown field.
TEST_F(ParseEvent, CsvErrorMarkerCountsOnlyForRowsConvertedFromAFile) {
  const std::string forged = Event(R"(,"__csv_error":"forged")");
  ASSERT_EQ(Parse(forged), Reject::kNone) << detail_;
  stream::Record r;
  r.topic = "file";
  r.value = forged;
  r.original = "u1,i1,c1,view,not-a-number";
  EXPECT_EQ(parser_.Parse(r, false, kNow, ev_, detail_), Reject::kMissingField);
  EXPECT_NE(detail_.find("forged"), std::string::npos) << detail_;
}

// A malformed literal is not JSON, whether it sits in a known field or in
// an ignored one; a well-formed value of the wrong kind is wrong_type.
TEST_F(ParseEvent, MalformedLiteralsAreInvalidJsonNotWrongType) {
  EXPECT_EQ(Name(Event(R"(,"x":tru)")), "invalid_json");
  EXPECT_EQ(Name(Event(R"(,"x":[1,-])")), "invalid_json");
  EXPECT_EQ(Name(R"({"user_id":tru,"item_id":"i1","type":"view"})"), "invalid_json");
  EXPECT_EQ(Name(R"({"user_id":"u1","item_id":"i1","type":"view","ts":0123})"), "invalid_json");
  EXPECT_EQ(Name(R"({"user_id":"u1","item_id":"i1","type":"view","ts":"0123"})"), "wrong_type");
  EXPECT_EQ(Name(R"({"user_id":true,"item_id":"i1","type":"view"})"), "wrong_type");
  EXPECT_EQ(Name(R"({"user_id":18446744073709551615,"item_id":"i1","type":"view"})"), "bad_id");
}

// The detail of an unknown type is cut to 64 bytes at a character boundary.
TEST_F(ParseEvent, UnknownTypeDetailStaysValidUtf8) {
  std::string type(63, 'a');
  type += "\u00e9\u00e9";  // two 2-byte characters straddling byte 64
  ASSERT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":")" + type + R"("})"), Reject::kUnknownType);
  const std::string_view d = detail_;
  EXPECT_EQ(d.find('\xc3'), std::string_view::npos) << "a lone lead byte was left in the detail";
  EXPECT_NE(d.find(std::string(63, 'a')), std::string_view::npos);
}

TEST_F(ParseEvent, WhitespaceEscapesAndUnicode) {
  ASSERT_EQ(Parse(" \t\r\n{ \"user_id\" : \"u1\" ,\n \"item_id\":\"i1\", \"type\" :\"view\" }\r\n"), Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "u1");
  // Escaped keys are compared after unescaping; ids are unescaped.
  ASSERT_EQ(Parse(R"({"user\u005fid":"a\"b\\c\/d","item_id":"\u00e9\ud83d\ude00","type":"v\u0069ew"})"),
            Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "a\"b\\c/d");
  EXPECT_EQ(ev_.item_id, "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(ev_.type, EventType::kView);
  // Raw UTF-8 in ids.
  ASSERT_EQ(Parse("{\"user_id\":\"\xE7\x94\xA8\xE6\x88\xB7\",\"item_id\":\"i1\",\"type\":\"view\"}"), Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.user_id, "\xE7\x94\xA8\xE6\x88\xB7");
}

TEST_F(ParseEvent, ResultIsResetBetweenCalls) {
  ASSERT_EQ(Parse(Event(R"(,"event_id":"e1","active":false)")), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.event_id, "e1");
  EXPECT_EQ(ev_.category_id, "c1");
  ASSERT_EQ(Parse(R"({"user_id":"u2","item_id":"i2","type":"buy"})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id, "u2");
  EXPECT_EQ(ev_.event_id, "");
  EXPECT_EQ(ev_.category_id, "");
  EXPECT_TRUE(ev_.active);
  EXPECT_EQ(ev_.ts_ms, kNow);
  EXPECT_TRUE(detail_.empty());
}

// ---------------------------------------------------------------------------
// Control and catalog messages.

TEST_F(ParseControl, ForgetUser) {
  ASSERT_EQ(Parse(R"({"type":"forget_user","user_id":"u42"})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kForgetUser);
  EXPECT_EQ(ev_.user_id, "u42");
  // Integer user id; no item, category or timestamp needed.
  ASSERT_EQ(Parse(R"({"user_id":42,"type":"forget_user"})", false, 0), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kForgetUser);
  EXPECT_EQ(ev_.user_id, "42");
  // The user id is still validated.
  EXPECT_EQ(Parse(R"({"type":"forget_user"})"), Reject::kMissingField);
  EXPECT_EQ(Parse(R"({"type":"forget_user","user_id":""})"), Reject::kBadId);
  EXPECT_EQ(Parse(R"({"type":"forget_user","user_id":1.5})"), Reject::kWrongType);
  // Only the exact name is a control type.
  EXPECT_EQ(Parse(R"({"type":"Forget_User","user_id":"u42","item_id":"i1"})"), Reject::kUnknownType);
}

TEST_F(ParseCatalog, ItemWithCategoryAndActiveFlag) {
  ASSERT_EQ(Parse(R"({"item_id":"i1","category_id":"c1","active":false})", true), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kCatalog);
  EXPECT_EQ(ev_.item_id, "i1");
  EXPECT_EQ(ev_.category_id, "c1");
  EXPECT_FALSE(ev_.active);
  ASSERT_EQ(Parse(R"({"item_id":12,"category_id":3,"active":true,"title":"Phone case"})", true), Reject::kNone)
      << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kCatalog);
  EXPECT_EQ(ev_.item_id, "12");
  EXPECT_EQ(ev_.category_id, "3");
  EXPECT_TRUE(ev_.active);
}

TEST_F(ParseCatalog, ActiveDefaultsToTrueAndNoTypeOrUserIsNeeded) {
  ASSERT_EQ(Parse(R"({"item_id":"i1","category_id":"c1"})", true, 0), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.kind, ParsedEvent::Kind::kCatalog);
  EXPECT_TRUE(ev_.active);
  EXPECT_EQ(ev_.user_id, "");
  // The same message on the events topic lacks the event fields.
  EXPECT_EQ(Parse(R"({"item_id":"i1","category_id":"c1"})", false), Reject::kMissingField);
}

TEST_F(ParseCatalog, MalformedCatalogMessages) {
  EXPECT_EQ(Parse(R"({"category_id":"c1","active":true})", true), Reject::kMissingField);
  EXPECT_NE(detail_.find("item_id"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(R"({"item_id":"i1","category_id":"c1","active":"no"})", true), Reject::kWrongType);
  EXPECT_EQ(Parse(R"({"item_id":"i1","category_id":"c1","active":0})", true), Reject::kWrongType);
  EXPECT_EQ(Parse(R"({"item_id":"","category_id":"c1"})", true), Reject::kBadId);
  EXPECT_EQ(Parse(R"({"item_id":-1,"category_id":"c1"})", true), Reject::kBadId);
  EXPECT_EQ(Parse(R"([{"item_id":"i1"}])", true), Reject::kNotObject);
  EXPECT_EQ(Parse(R"({"item_id":"i1",)", true), Reject::kInvalidJson);
}

// ---------------------------------------------------------------------------
// Limits at their exact boundaries.

TEST_F(ParseLimits, IdOfExactlyMaxIdBytesIsAcceptedOneMoreIsNot) {
  ASSERT_EQ(opt_.max_id_bytes, 256u);
  const std::string at(256, 'a'), over(257, 'a');
  for (const std::string field : {"user_id", "item_id", "category_id", "event_id"}) {
    SCOPED_TRACE(field);
    const std::string base = R"({"user_id":"u","item_id":"i","category_id":"c","event_id":"e","type":"view",)";
    ASSERT_EQ(Parse(base + "\"" + field + "\":\"" + at + "\"}"), Reject::kNone) << detail_;
    const std::string_view got = field == "user_id"       ? ev_.user_id
                                 : field == "item_id"     ? ev_.item_id
                                 : field == "category_id" ? ev_.category_id
                                                          : ev_.event_id;
    EXPECT_EQ(got, at);
    EXPECT_EQ(Parse(base + "\"" + field + "\":\"" + over + "\"}"), Reject::kBadId);
    EXPECT_NE(detail_.find(field), std::string::npos) << detail_;
  }
  // The limit counts bytes after unescaping, not characters or source text.
  std::string e_acute_128, escaped_128;
  for (int i = 0; i < 128; ++i) {
    e_acute_128 += "\xC3\xA9";
    escaped_128 += "\\u00e9";
  }
  ASSERT_EQ(Parse(R"({"user_id":")" + e_acute_128 + R"(","item_id":"i","type":"view"})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id.size(), 256u);
  ASSERT_EQ(Parse(R"({"user_id":")" + escaped_128 + R"(","item_id":"i","type":"view"})"), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id, e_acute_128);
  EXPECT_EQ(Parse(R"({"user_id":")" + e_acute_128 + R"(x","item_id":"i","type":"view"})"), Reject::kBadId);
}

TEST_F(ParseLimits, CustomIdLimitAppliesToIntegerIdsToo) {
  ParseOptions opt;
  opt.max_id_bytes = 3;
  Parser p(opt);
  stream::Record r;
  r.topic = "events";
  r.timestamp_ms = kNow;
  const std::string ok = R"({"user_id":999,"item_id":"abc","type":"view"})";
  const std::string long_int = R"({"user_id":1000,"item_id":"abc","type":"view"})";
  const std::string long_str = R"({"user_id":999,"item_id":"abcd","type":"view"})";
  r.value = ok;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id, "999");
  r.value = long_int;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kBadId);
  r.value = long_str;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kBadId);
}

// A valid event padded (in an ignored field) to exactly `size` bytes.
std::string EventOfSize(size_t size) {
  const std::string head = R"({"user_id":"u1","item_id":"i1","type":"view","pad":")";
  const std::string tail = "\"}";
  return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

TEST_F(ParseLimits, MessageOfExactlyMaxBytesIsAcceptedOneMoreIsNot) {
  ASSERT_EQ(opt_.max_message_bytes, 64u * 1024);
  // Small first: the parser must grow its capacity for the big one.
  ASSERT_EQ(Parse(EventOfSize(100)), Reject::kNone) << detail_;
  const std::string at = EventOfSize(64 * 1024);
  ASSERT_EQ(at.size(), 65536u);
  ASSERT_EQ(Parse(at), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.user_id, "u1");
  EXPECT_EQ(Parse(EventOfSize(64 * 1024 + 1)), Reject::kOversized);
  // Whitespace counts too: the limit is on the raw bytes.
  EXPECT_EQ(Parse(at + "\n"), Reject::kOversized);
  // Back to small after the big ones.
  ASSERT_EQ(Parse(EventOfSize(200)), Reject::kNone) << detail_;

  ParseOptions opt;
  opt.max_message_bytes = 100;
  Parser p(opt);
  stream::Record r;
  r.topic = "events";
  r.timestamp_ms = kNow;
  const std::string s100 = EventOfSize(100), s101 = EventOfSize(101);
  r.value = s100;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kNone) << detail_;
  r.value = s101;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kOversized);
  // The size check comes first: oversized garbage is "oversized", not
  // "invalid_json" or "invalid_utf8".
  const std::string garbage(101, '\xFF');
  r.value = garbage;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kOversized);
}

TEST_F(ParseLimits, DepthLimitCountsTheTopLevelObject) {
  ASSERT_EQ(opt_.max_json_depth, 16u);
  // 16 levels of containers (the event object + 15) are accepted, 17 are not.
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(15, "[", "]"))), "none") << detail_;
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(16, "[", "]"))), "too_deep");
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(14, "{\"a\":", "}", "{}"))), "none") << detail_;
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(15, "{\"a\":", "}", "{}"))), "too_deep");
  // Scalars inside nested arrays are fine.
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(13, "[", "]", "[1,\"s\",null,true]"))), "none") << detail_;
  // A top-level array obeys the same limit before it is found not to be an
  // object.
  EXPECT_EQ(Name(Nest(16, "[", "]")), "not_object");
  EXPECT_EQ(Name(Nest(17, "[", "]")), "too_deep");
  // Far deeper (but under the size limit): a clean rejection, no crash.
  EXPECT_EQ(Name(Event(",\"x\":" + Nest(30000, "[", "]"))), "too_deep");
  EXPECT_EQ(Name(Nest(30000, "[", "]")), "too_deep");

  ParseOptions opt;
  opt.max_json_depth = 4;
  Parser p(opt);
  stream::Record r;
  r.topic = "events";
  r.timestamp_ms = kNow;
  const std::string ok = Event(",\"x\":" + Nest(3, "[", "]")), deep = Event(",\"x\":" + Nest(4, "[", "]"));
  r.value = ok;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kNone) << detail_;
  r.value = deep;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kTooDeep);
}

TEST_F(ParseLimits, FutureSkewBoundary) {
  ASSERT_EQ(opt_.max_future_skew_ms, kDay);
  const auto with_ts = [](int64_t ts) {
    return R"({"user_id":"u1","item_id":"i1","type":"view","ts":)" + std::to_string(ts) + "}";
  };
  ASSERT_EQ(Parse(with_ts(kNow + kDay)), Reject::kNone) << detail_;
  EXPECT_EQ(ev_.ts_ms, kNow + kDay);
  EXPECT_EQ(Parse(with_ts(kNow + kDay + 1)), Reject::kBadTimestamp);
  // Old events (a replay) are fine; negative ones are not.
  EXPECT_EQ(Parse(with_ts(1'000'000'000'000)), Reject::kNone) << detail_;
  EXPECT_EQ(Parse(with_ts(-1)), Reject::kBadTimestamp);
  // The boundary moves with "now".
  EXPECT_EQ(Parse(with_ts(kNow + kDay + 1), false, kNow, kNow + 1), Reject::kNone) << detail_;
  // A message timestamp used in place of ts obeys the same bound.
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, kNow + kDay), Reject::kNone);
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, kNow + kDay + 1),
            Reject::kBadTimestamp);

  ParseOptions opt;
  opt.max_future_skew_ms = 0;
  Parser p(opt);
  stream::Record r;
  r.topic = "events";
  r.timestamp_ms = kNow;
  const std::string at = with_ts(kNow), over = with_ts(kNow + 1);
  r.value = at;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kNone) << detail_;
  r.value = over;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kBadTimestamp);
}

// ts 0 (an unset field) and seconds sent for milliseconds dated events to
// 1970 and were accepted.
TEST_F(ParseLimits, TimestampsBeforeTheFloorAreRejectedAndSecondsAreNamed) {
  const auto with_ts = [](int64_t ts) {
    return R"({"user_id":"u1","item_id":"i1","type":"view","ts":)" + std::to_string(ts) + "}";
  };
  ASSERT_EQ(opt_.min_ts_ms, 631'152'000'000);
  EXPECT_EQ(Parse(with_ts(0)), Reject::kBadTimestamp);
  EXPECT_EQ(detail_, "ts is before input.min_ts_ms");
  EXPECT_EQ(Parse(with_ts(1'767'225'600)), Reject::kBadTimestamp) << "2026 in seconds";
  EXPECT_NE(detail_.find("seconds where milliseconds are meant"), std::string::npos) << detail_;
  EXPECT_EQ(Parse(with_ts(631'152'000'000 - 1)), Reject::kBadTimestamp);
  EXPECT_EQ(Parse(with_ts(631'152'000'000)), Reject::kNone) << detail_;
  // A message timestamp in place of ts obeys the floor too.
  EXPECT_EQ(Parse(R"({"user_id":"u1","item_id":"i1","type":"view"})", false, 5'000), Reject::kBadTimestamp);
  ParseOptions opt;
  opt.min_ts_ms = 0;  // the floor can be lowered for old data
  Parser p(opt);
  stream::Record r;
  r.topic = "events";
  const std::string zero = with_ts(0);
  r.value = zero;
  EXPECT_EQ(p.Parse(r, false, kNow, ev_, detail_), Reject::kNone) << detail_;
}

}  // namespace
}  // namespace recstream::operators
