// Binary codecs for persisted rows. Every value starts with a format version
// byte; readers reject versions they do not know (never guess).
// Integers are LEB128 varints; doubles are their IEEE-754 bit pattern, so a
// decoded model is bit-identical to the one encoded (restarts are exact).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace recstream::state {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void SignedVarint(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Fixed64(uint64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  void Double(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    Fixed64(bits);
  }
  void Bytes(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  // Raw IEEE floats (the byte order of the machine: state is local).
  void Floats(std::span<const float> v) {
    if (v.empty()) return;
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  void Float(float v) { Floats({&v, 1}); }

 private:
  std::string& out_;
};

// Reads what Writer wrote. Every getter returns false on truncated or
// malformed input and leaves the reader failed; callers check ok() once.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t& v) {
    if (pos_ >= in_.size()) return Fail();
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return Fail();
  }
  template <typename T>
  bool VarintAs(T& v) {
    uint64_t x;
    if (!Varint(x)) return false;
    v = static_cast<T>(x);
    return true;
  }
  bool SignedVarint(int64_t& v) {
    uint64_t x;
    if (!Varint(x)) return false;
    v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
    return true;
  }
  bool Fixed64(uint64_t& v) {
    if (in_.size() - pos_ < 8) return Fail();
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Double(double& v) {
    uint64_t bits;
    if (!Fixed64(bits)) return false;
    std::memcpy(&v, &bits, 8);
    return true;
  }
  bool Floats(std::span<float> v) {
    const size_t n = v.size() * sizeof(float);
    if (in_.size() - pos_ < n) return Fail();
    if (n == 0) return true;  // v.data() may be null
    std::memcpy(v.data(), in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Float(float& v) { return Floats({&v, 1}); }
  bool Bytes(std::string_view& s) {
    uint64_t n;
    if (!Varint(n) || in_.size() - pos_ < n) return Fail();
    s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A count that must fit in what is left (guards allocation on corrupt rows).
  bool Count(size_t& n, size_t min_bytes_each) {
    uint64_t x;
    if (!Varint(x)) return false;
    if (x > (in_.size() - pos_) / (min_bytes_each ? min_bytes_each : 1)) return Fail();
    n = static_cast<size_t>(x);
    return true;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace recstream::state
