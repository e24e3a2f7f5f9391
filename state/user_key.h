// UserKeys: where a user's row lives in the `users` column family.
//
//   key = partition (4 bytes, big-endian) + HMAC-SHA256(secret, user_id)[0..16)
//
// The raw user id never reaches RocksDB (not in the WAL, the table files or
// the MANIFEST's boundary keys), so erasing a user's row and compacting it
// away leaves nothing that names them; the partition prefix keeps a
// partition's users together, so a partition's state is one key range.
// 128 bits: a collision (two users sharing a row) is ~1e-26 likely at 1e6
// users. The secret is the state's (StateDb): every instance that is to read
// the same state must use the same one (`state.user_key_secret_file`).
//
// Concurrency: immutable after construction; Key() may be called from any
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace recstream::state {

class UserKeys {
 public:
  static constexpr size_t kHashBytes = 16;
  static constexpr size_t kKeyBytes = 4 + kHashBytes;
  static constexpr size_t kMinSecretBytes = 16;

  explicit UserKeys(std::string secret = {});

  // Writes the row key of (partition, user) into *out (kKeyBytes bytes).
  void Key(int32_t partition, std::string_view user, std::string* out) const;
  std::string Key(int32_t partition, std::string_view user) const {
    std::string k;
    Key(partition, user, &k);
    return k;
  }
  // The partition a row key belongs to; -1 for a key of another length.
  static int32_t PartitionOf(std::string_view key);
  // The 4-byte big-endian partition prefix of a row key (UserStore's cache
  // keys start with it too): written at out, read from the first 4 bytes.
  static void PutPartition(int32_t partition, char* out) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((static_cast<uint32_t>(partition) >> (24 - 8 * i)) & 0xff);
  }
  static int32_t ReadPartition(std::string_view prefix) {
    uint32_t p = 0;
    for (int i = 0; i < 4; ++i) p = (p << 8) | static_cast<uint8_t>(prefix[i]);
    return static_cast<int32_t>(p);
  }
  // The first key of a partition's range and the first key past it.
  static std::string PartitionBegin(int32_t partition);

  // A short, non-secret name of the secret (hex of 8 bytes of its SHA-256):
  // stored with the state, so that another secret is refused at start-up.
  static std::string Fingerprint(std::string_view secret);
  // 32 random bytes from the system's generator; false if it failed.
  static bool NewSecret(std::string* out);

 private:
  // HMAC's inner and outer hash states after their key block, computed
  // once: a key then costs two SHA-256 compressions and two state copies
  // (0.3 µs, against 1.5 µs for OpenSSL's one-shot HMAC, which fetches the
  // digest and hashes the key every call).
  struct Pads;
  std::shared_ptr<const Pads> pads_;
};

}  // namespace recstream::state
