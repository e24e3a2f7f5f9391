#include "state/user_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace recstream::state {

struct UserKeys::Pads {
  EVP_MD_CTX* inner = EVP_MD_CTX_new();
  EVP_MD_CTX* outer = EVP_MD_CTX_new();
  ~Pads() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

UserKeys::UserKeys(std::string secret) {
  // RFC 2104: a key longer than the block is hashed first; then
  // H((K ^ opad) || H((K ^ ipad) || m)).
  constexpr size_t kBlock = 64;
  unsigned char key[kBlock] = {};
  if (secret.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
  } else {
    std::copy(secret.begin(), secret.end(), key);
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  auto pads = std::make_shared<Pads>();
  EVP_DigestInit_ex(pads->inner, EVP_sha256(), nullptr);
  EVP_DigestUpdate(pads->inner, ipad, kBlock);
  EVP_DigestInit_ex(pads->outer, EVP_sha256(), nullptr);
  EVP_DigestUpdate(pads->outer, opad, kBlock);
  pads_ = std::move(pads);
}

void UserKeys::Key(int32_t partition, std::string_view user, std::string* out) const {
  // One context per thread, reused: Key is const and may run on any thread.
  struct Scratch {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Scratch() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Scratch scratch;
  unsigned char inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(scratch.ctx, pads_->inner);
  EVP_DigestUpdate(scratch.ctx, user.data(), user.size());
  EVP_DigestFinal_ex(scratch.ctx, inner, &len);
  EVP_MD_CTX_copy_ex(scratch.ctx, pads_->outer);
  EVP_DigestUpdate(scratch.ctx, inner, sizeof inner);
  EVP_DigestFinal_ex(scratch.ctx, mac, &len);
  out->resize(kKeyBytes);
  PutPartition(partition, out->data());
  std::copy(mac, mac + kHashBytes, out->data() + 4);
}

int32_t UserKeys::PartitionOf(std::string_view key) { return key.size() == kKeyBytes ? ReadPartition(key) : -1; }

std::string UserKeys::PartitionBegin(int32_t partition) {
  std::string k(4, '\0');
  PutPartition(partition, k.data());
  return k;
}

std::string UserKeys::Fingerprint(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

bool UserKeys::NewSecret(std::string* out) {
  out->assign(32, '\0');
  return RAND_bytes(reinterpret_cast<unsigned char*>(out->data()), static_cast<int>(out->size())) == 1;
}

}  // namespace recstream::state
