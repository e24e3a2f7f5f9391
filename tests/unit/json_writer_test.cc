// Unit tests of stream/JsonWriter's numbers: the output lists carry them, so
// they must read back as the value written, in the format promised.
#include "stream/json_writer.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace recstream::stream {
namespace {

std::string Write(double v, int digits) {
  std::string out;
  JsonWriter(out).Number(v, digits);
  return out;
}

std::string WriteInt(int64_t v) {
  std::string out;
  JsonWriter(out).Int(v);
  return out;
}

// The reference: printf's fixed notation with trailing zeros trimmed.
std::string Reference(double v, int digits) {
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

TEST(JsonWriterNumber, MatchesPrintfFixedNotationTrimmed) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-12, 12), digits(0, 8);
  for (int i = 0; i < 20000; ++i) {
    const double v = mantissa(rng) * std::pow(10.0, exponent(rng));
    const int d = digits(rng);
    ASSERT_EQ(Write(v, d), Reference(v, d)) << v << " with " << d << " digits";
  }
}

TEST(JsonWriterNumber, EdgeCases) {
  EXPECT_EQ(Write(0.5, 4), "0.5");
  EXPECT_EQ(Write(1.0, 4), "1");
  EXPECT_EQ(Write(0.00004, 4), "0");
  EXPECT_EQ(Write(0.00005, 4), Reference(0.00005, 4));
  EXPECT_EQ(Write(-0.0, 4), "0");
  EXPECT_EQ(Write(-0.00001, 4), "0");
  EXPECT_EQ(Write(std::numeric_limits<double>::quiet_NaN(), 4), "0");
  EXPECT_EQ(Write(std::numeric_limits<double>::infinity(), 4), "0");
  EXPECT_EQ(Write(std::numeric_limits<double>::max(), 4), Reference(std::numeric_limits<double>::max(), 4));
  EXPECT_EQ(Write(-std::numeric_limits<double>::max(), 17), Reference(-std::numeric_limits<double>::max(), 17));
  EXPECT_EQ(Write(123456789.123456789, 0), "123456789");
}

TEST(JsonWriterInt, FullRangeAndSeparators) {
  EXPECT_EQ(WriteInt(0), "0");
  EXPECT_EQ(WriteInt(-42), "-42");
  EXPECT_EQ(WriteInt(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(WriteInt(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  std::string out;
  JsonWriter w(out);
  w.BeginArray().Int(1).Number(2.25, 4).Int(-3).EndArray();
  EXPECT_EQ(out, "[1,2.25,-3]");
}

std::string Quote(std::string_view v) {
  std::string out;
  JsonWriter::AppendString(out, v);
  return out;
}

TEST(JsonWriterString, EscapesBetweenPlainRuns) {
  EXPECT_EQ(Quote(""), R"("")");
  EXPECT_EQ(Quote("item-42"), R"("item-42")");
  EXPECT_EQ(Quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quote("\"\"ab\n\r\tcd\x01"), R"("\"\"ab\n\r\tcd\u0001")");
  EXPECT_EQ(Quote(std::string_view("x\0y", 3)), R"("x\u0000y")");
  // Valid UTF-8 passes through; each invalid byte becomes U+FFFD.
  EXPECT_EQ(Quote("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
  EXPECT_EQ(Quote("a\xff" "b\xc3"), "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"");
  EXPECT_EQ(Quote("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // a surrogate
}

TEST(JsonWriterString, PlainAsciiIsCopiedAsIs) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> ch(0x20, 0x7e), len(0, 80);
  for (int i = 0; i < 2000; ++i) {
    std::string v(static_cast<size_t>(len(rng)), ' ');
    for (char& c : v) {
      c = static_cast<char>(ch(rng));
      if (c == '"' || c == '\\') c = '_';
    }
    ASSERT_EQ(Quote(v), "\"" + v + "\"");
  }
}

}  // namespace
}  // namespace recstream::stream
