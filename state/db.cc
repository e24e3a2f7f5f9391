#include "state/db.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/user_state.h"
#include "state/model_codec.h"

namespace recstream::state {

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kUsers: return "users";
    case Cf::kItems: return "items";
    case Cf::kCategories: return "categories";
    case Cf::kDict: return "dict";
    case Cf::kOffsets: return "offsets";
    case Cf::kMeta: return "meta";
    case Cf::kVectors: return "vectors";
    case Cf::kCount: break;
  }
  return "default";
}

// Drops user rows idle past the expiry: their last event (or the time they
// were forgotten) older than the stream's time minus user_expire_after_ms.
// Called on RocksDB's compaction threads: reads atomics only.
class StateDb::UserExpiry final : public rocksdb::CompactionFilter {
 public:
  UserExpiry(const std::atomic<int64_t>& stream_time, int64_t after_ms) : stream_time_(stream_time), after_ms_(after_ms) {}
  const char* Name() const override { return "recstream.UserExpiry"; }
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    const int64_t now = stream_time_.load(std::memory_order_relaxed);
    if (now <= 0) return false;
    model::UserState u;
    if (!DecodeUser(value.ToStringView(), u)) return false;  // the pipeline dead-letters it when read
    if (now - u.last_activity_ms() <= after_ms_) return false;
    expired_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  uint64_t expired() const { return expired_.load(std::memory_order_relaxed); }

 private:
  const std::atomic<int64_t>& stream_time_;
  const int64_t after_ms_;
  mutable std::atomic<uint64_t> expired_{0};
};

uint64_t StateDb::user_rows_expired() const { return user_expiry_ ? user_expiry_->expired() : 0; }

rocksdb::Status StateDb::Open(const StateOptions& opt, std::unique_ptr<StateDb>* out) {
  rocksdb::ConfigOptions cfg;
  cfg.ignore_unknown_options = false;
  cfg.input_strings_escaped = false;

  rocksdb::DBOptions db_opt;
  db_opt.create_if_missing = true;
  db_opt.create_missing_column_families = true;
  db_opt.max_background_jobs = 2;
  db_opt.db_write_buffer_size = opt.memtable_budget_bytes;
  db_opt.max_total_wal_size = opt.wal_budget_bytes;
  if (opt.env != nullptr) db_opt.env = opt.env;
  if (!opt.db_options.empty()) {
    rocksdb::DBOptions base = db_opt;
    auto s = rocksdb::GetDBOptionsFromMap(cfg, base, opt.db_options, &db_opt);
    if (!s.ok()) return rocksdb::Status::InvalidArgument("rocksdb.db: " + s.ToString());
  }

  rocksdb::ColumnFamilyOptions cf_opt;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(opt.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  // Most lookups on the event path are of users the processor has not seen
  // (or not since the cache let them go): a Bloom filter per table file
  // answers "not here" without reading its index and data blocks. 10 bits
  // per key: ~1 % false positives, 1.25 bytes per row.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_opt.compression = rocksdb::kLZ4Compression;
  if (!opt.cf_options.empty()) {
    rocksdb::ColumnFamilyOptions base = cf_opt;
    auto s = rocksdb::GetColumnFamilyOptionsFromMap(cfg, base, opt.cf_options, &cf_opt);
    if (!s.ok()) return rocksdb::Status::InvalidArgument("rocksdb.cf: " + s.ToString());
  }

  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) return rocksdb::Status::IOError("cannot create state dir " + opt.dir + ": " + ec.message());

  std::unique_ptr<StateDb> db(new StateDb());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_opt);
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    rocksdb::ColumnFamilyOptions o = cf_opt;
    if (static_cast<Cf>(i) == Cf::kUsers && opt.user_expire_after_ms > 0) {
      db->user_expiry_ = std::make_unique<UserExpiry>(db->stream_time_ms_, opt.user_expire_after_ms);
      o.compaction_filter = db->user_expiry_.get();
    }
    cfs.emplace_back(CfName(static_cast<Cf>(i)), o);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_opt, opt.dir, cfs, &handles, &raw);
  if (!s.ok()) return s;
  db->db_.reset(raw);
  // handles[0] is the default family, unused; keep it for clean destruction.
  db->handles_.assign(handles.begin() + 1, handles.end());
  db->handles_.push_back(handles[0]);
  db->write_options_.sync = opt.sync;
  if (auto fs = db->CheckFormatAndKeys(opt); !fs.ok()) return fs;
  *out = std::move(db);
  return rocksdb::Status::OK();
}

namespace {
constexpr char kFormatKey[] = "format";
constexpr char kSecretKey[] = "user-key-secret";
constexpr char kFingerprintKey[] = "user-key-fingerprint";
}  // namespace

rocksdb::Status StateDb::CheckFormatAndKeys(const StateOptions& opt) {
  rocksdb::WriteBatch batch;
  std::string v;
  auto s = Get(Cf::kMeta, kFormatKey, &v);
  if (s.IsNotFound()) {
    // No format row: a new state, or one written before formats were
    // recorded (format 1) — which has rows.
    for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[i]));
      it->SeekToFirst();
      if (it->Valid())
        return rocksdb::Status::InvalidArgument(
            "the state in " + opt.dir + " was written by an older recstream (state format 1, users keyed by their raw "
            "id); this version reads format " + std::to_string(kStateFormat) +
            ". Replay the input into a new state.dir, or remove " + opt.dir + " to start from empty state");
      if (!it->status().ok()) return it->status();
    }
    batch.Put(handle(Cf::kMeta), kFormatKey, std::to_string(kStateFormat)).PermitUncheckedError();
  } else if (!s.ok()) {
    return s;
  } else if (v != std::to_string(kStateFormat)) {
    return rocksdb::Status::InvalidArgument("the state in " + opt.dir + " has state format '" + v +
                                            "'; this recstream reads format " + std::to_string(kStateFormat) +
                                            " (a newer recstream wrote it, or it is damaged)");
  }

  std::string stored_secret, stored_fp;
  s = Get(Cf::kMeta, kSecretKey, &stored_secret);
  if (!s.ok() && !s.IsNotFound()) return s;
  s = Get(Cf::kMeta, kFingerprintKey, &stored_fp);
  if (!s.ok() && !s.IsNotFound()) return s;
  std::string secret;
  if (!opt.user_key_secret_file.empty()) {
    std::ifstream in(opt.user_key_secret_file, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || std::filesystem::is_directory(opt.user_key_secret_file))
      return rocksdb::Status::InvalidArgument("state.user_key_secret_file: cannot read " + opt.user_key_secret_file);
    secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.size() < UserKeys::kMinSecretBytes)
      return rocksdb::Status::InvalidArgument("state.user_key_secret_file: " + opt.user_key_secret_file + " holds " +
                                              std::to_string(secret.size()) + " bytes; at least " +
                                              std::to_string(UserKeys::kMinSecretBytes) + " are needed");
    const std::string fp = UserKeys::Fingerprint(secret);
    if (!stored_fp.empty() && stored_fp != fp)
      return rocksdb::Status::InvalidArgument(
          "the users in " + opt.dir + " are keyed with another secret (fingerprint " + stored_fp +
          (stored_secret.empty() ? "" : ", made with the state") + ") than state.user_key_secret_file's (" + fp +
          "): give the file it was made with, or a new state.dir");
    if (stored_fp.empty()) batch.Put(handle(Cf::kMeta), kFingerprintKey, fp).PermitUncheckedError();
  } else if (!stored_secret.empty()) {
    secret = stored_secret;
  } else if (!stored_fp.empty()) {
    return rocksdb::Status::InvalidArgument("the users in " + opt.dir +
                                            " are keyed with the secret of a state.user_key_secret_file (fingerprint " +
                                            stored_fp + "): set it");
  } else {
    if (!UserKeys::NewSecret(&secret))
      return rocksdb::Status::IOError("no random bytes for the users' key secret");
    batch.Put(handle(Cf::kMeta), kSecretKey, secret).PermitUncheckedError();
    batch.Put(handle(Cf::kMeta), kFingerprintKey, UserKeys::Fingerprint(secret)).PermitUncheckedError();
  }
  user_keys_ = UserKeys(secret);
  if (batch.Count() == 0) return rocksdb::Status::OK();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return db_->Write(sync, &batch);
}

StateDb::~StateDb() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

rocksdb::Status StateDb::Get(Cf cf, const rocksdb::Slice& key, std::string* value) const {
  return db_->Get(rocksdb::ReadOptions(), handle(cf), key, value);
}

rocksdb::Status StateDb::Commit(rocksdb::WriteBatch& batch) {
  return db_->Write(write_options_, &batch);
}

rocksdb::Status StateDb::Scan(Cf cf,
                              const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(cf)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (!fn(it->key(), it->value())) break;
  return it->status();
}

std::string StateDb::OffsetKey(const std::string& topic, int32_t partition) {
  std::string k = topic;
  k.push_back('\0');
  const auto p = static_cast<uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((p >> shift) & 0xff));
  return k;
}

void StateDb::PutOffset(rocksdb::WriteBatch& batch, const std::string& topic, int32_t partition, int64_t next) {
  std::string v(8, '\0');
  for (int i = 0; i < 8; ++i) v[i] = static_cast<char>((static_cast<uint64_t>(next) >> (8 * i)) & 0xff);
  batch.Put(handle(Cf::kOffsets), OffsetKey(topic, partition), v).PermitUncheckedError();
}

rocksdb::Status StateDb::LoadOffsets(OffsetMap* out) const {
  out->clear();
  bool corrupt = false;
  auto s = Scan(Cf::kOffsets, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    const auto zero = k.ToStringView().find('\0');
    if (zero == std::string_view::npos || k.size() != zero + 5 || v.size() != 8) {
      corrupt = true;
      return false;
    }
    uint32_t p = 0;
    for (size_t i = zero + 1; i < k.size(); ++i) p = (p << 8) | static_cast<uint8_t>(k[i]);
    uint64_t off = 0;
    for (int i = 7; i >= 0; --i) off = (off << 8) | static_cast<uint8_t>(v[i]);
    (*out)[{std::string(k.data(), zero), static_cast<int32_t>(p)}] = static_cast<int64_t>(off);
    return true;
  });
  if (s.ok() && corrupt) return rocksdb::Status::Corruption("offsets column family holds a malformed row");
  return s;
}

uint64_t StateDb::ApproximateBytes(Cf cf) const {
  uint64_t sst = 0, mem = 0;
  db_->GetIntProperty(handle(cf), rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  db_->GetIntProperty(handle(cf), rocksdb::DB::Properties::kCurSizeAllMemTables, &mem);
  return sst + mem;
}

}  // namespace recstream::state
