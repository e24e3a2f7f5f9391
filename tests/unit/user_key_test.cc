// Unit tests of where user rows live and how forget_user leaves the disk:
// state::UserKeys (partition + keyed hash), the state's format and secret
// checks in StateDb::Open, UserStore's partitions, and state::Eraser.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.h"
#include "model/user_state.h"
#include "state/db.h"
#include "state/eraser.h"
#include "state/model_codec.h"
#include "state/user_key.h"
#include "state/user_store.h"

namespace recstream::state {
namespace {

namespace fs = std::filesystem;
using model::UserState;

using testing_util::TempDir;

// Uncompressed table files: a test can then see whether bytes are on disk.
StateOptions Options(const std::string& dir) {
  StateOptions opt;
  opt.dir = dir;
  opt.cf_options["compression"] = "kNoCompression";
  return opt;
}

std::unique_ptr<StateDb> MustOpen(const StateOptions& opt) {
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(opt, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

// A user with a distinctive state (its event-id ring holds 8-byte values).
UserState Distinct(int seed) {
  UserState u;
  model::UserOptions opt;
  const std::array<double, model::kEventTypeCount> w{1, 2, 4, 3, 8};
  for (int i = 0; i < 6; ++i) {
    u.Apply(model::Event{static_cast<model::ItemId>(seed * 10 + i), 3, model::EventType::kClick,
                         1'700'000'000'000 + seed * 1000 + i},
            opt, w);
    u.RememberEventId(0xfeedfacecafe0000ULL + static_cast<uint64_t>(seed) * 977 + i, 16);
  }
  return u;
}

std::string Encoded(const UserState& u) {
  std::string s;
  EncodeUser(u, s);
  return s;
}

// Files under dir (recursively) that contain `needle`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(needle) != std::string::npos) out.push_back(e.path().filename().string());
  }
  return out;
}

void Checkpoint(UserStore& store, StateDb& db, Eraser* eraser = nullptr) {
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  auto erased = store.TakeErasedKeys();
  if (eraser != nullptr) eraser->PutPending(batch, erased);
  ASSERT_TRUE(db.Commit(batch).ok());
  store.AfterCommit();
  if (eraser != nullptr) eraser->Add(std::move(erased));
}

TEST(UserKeysTest, KeysArePartitionAndKeyedHashNeverTheId) {
  const UserKeys a("a secret of enough bytes"), b("another secret, also long");
  const std::string k = a.Key(7, "alice@example.com");
  ASSERT_EQ(k.size(), UserKeys::kKeyBytes);
  EXPECT_EQ(k.find("alice"), std::string::npos);
  EXPECT_EQ(UserKeys::PartitionOf(k), 7);
  EXPECT_EQ(k.substr(0, 4), UserKeys::PartitionBegin(7));
  EXPECT_EQ(a.Key(7, "alice@example.com"), k) << "stable";
  EXPECT_NE(a.Key(8, "alice@example.com"), k) << "the partition is part of the key";
  EXPECT_EQ(a.Key(8, "alice@example.com").substr(4), k.substr(4));
  EXPECT_NE(b.Key(7, "alice@example.com"), k) << "keyed: another secret, another key";
  EXPECT_NE(a.Key(7, "alice@example.co"), k);
  EXPECT_EQ(UserKeys::PartitionOf("short"), -1);
  // HMAC-SHA256 (RFC 4231, test case 2), first 16 bytes: the key is the
  // standard construction, reproducible by any tool.
  const std::string rfc = UserKeys("Jefe").Key(0, "what do ya want for nothing?");
  static constexpr unsigned char kMac[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                           0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7};
  EXPECT_EQ(rfc.substr(4), std::string(reinterpret_cast<const char*>(kMac), sizeof kMac));
}

TEST(StateFormatTest, AStateOfAnotherFormatIsRefusedWithWhatToDo) {
  TempDir tmp;
  {
    auto db = MustOpen(Options(tmp.str()));
    // What a recstream before formats were recorded left: rows, no format.
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Delete(db->handle(Cf::kMeta), "format").ok());
    ASSERT_TRUE(b.Put(db->handle(Cf::kUsers), "alice", "old row").ok());
    ASSERT_TRUE(db->Commit(b).ok());
  }
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(Options(tmp.str()), &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("older recstream"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("new state.dir"), std::string::npos) << s.ToString();
}

TEST(StateFormatTest, ANewerFormatIsRefused) {
  TempDir tmp;
  {
    auto db = MustOpen(Options(tmp.str()));
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(db->handle(Cf::kMeta), "format", "9").ok());
    ASSERT_TRUE(db->Commit(b).ok());
  }
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(Options(tmp.str()), &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("format '9'"), std::string::npos) << s.ToString();
}

TEST(StateFormatTest, TheSecretIsKeptWithTheStateOrGivenByAFileAndNeverSwapped) {
  TempDir tmp, other;
  std::string made_key;
  {
    auto db = MustOpen(Options(tmp.str()));
    made_key = db->user_keys().Key(0, "u");
  }
  {
    auto db = MustOpen(Options(tmp.str()));
    EXPECT_EQ(db->user_keys().Key(0, "u"), made_key) << "the made secret is kept with the state";
  }
  fs::create_directories(other.str());
  const std::string file = other.file("secret"), short_file = other.file("short");
  std::ofstream(file) << "0123456789abcdef0123456789abcdef\n";
  std::ofstream(short_file) << "too short";
  StateOptions with_file = Options(tmp.str());
  with_file.user_key_secret_file = file;
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(with_file, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << "a state made with its own secret, opened with a file's: " << s.ToString();
  EXPECT_NE(s.ToString().find("another secret"), std::string::npos) << s.ToString();

  // A state made with the file: two "instances" (dirs) key users alike.
  TempDir a, b;
  StateOptions oa = Options(a.str()), ob = Options(b.str());
  oa.user_key_secret_file = ob.user_key_secret_file = file;
  auto da = MustOpen(oa);
  auto dbb = MustOpen(ob);
  ASSERT_NE(da, nullptr);
  ASSERT_NE(dbb, nullptr);
  EXPECT_EQ(da->user_keys().Key(3, "alice"), dbb->user_keys().Key(3, "alice"));
  EXPECT_EQ(da->user_keys().Key(3, "alice").substr(4), UserKeys("0123456789abcdef0123456789abcdef").Key(3, "alice").substr(4))
      << "the file's trailing newline is not part of the secret";
  da.reset();
  s = StateDb::Open(Options(a.str()), &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << "made with a file, opened without: " << s.ToString();
  oa.user_key_secret_file = short_file;
  s = StateDb::Open(oa, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("at least 16"), std::string::npos) << s.ToString();
  oa.user_key_secret_file = other.file("missing");
  s = StateDb::Open(oa, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST(UserStorePartitionsTest, AUserIsKeptPerPartitionAndRevokingDropsOnlyThatPartition) {
  TempDir tmp;
  auto db = MustOpen(Options(tmp.str()));
  UserStore store(db.get(), 100);
  for (int p = 0; p < 3; ++p)
    for (int u = 0; u < 4; ++u) {
      UserState* s = nullptr;
      ASSERT_TRUE(store.Get(p, "shopper#" + std::to_string(u), &s).ok());
      *s = Distinct(p * 10 + u);
      store.MarkDirty(p, "shopper#" + std::to_string(u));
    }
  Checkpoint(store, *db);
  size_t rows = 0;
  std::set<int32_t> partitions;
  ASSERT_TRUE(db->Scan(Cf::kUsers, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                  EXPECT_EQ(k.ToString().find("shopper#"), std::string::npos) << "a row key holds the raw id";
                  partitions.insert(UserKeys::PartitionOf(k.ToStringView()));
                  ++rows;
                  return true;
                }).ok());
  EXPECT_EQ(rows, 12u) << "one row per (partition, user)";
  EXPECT_EQ(partitions, (std::set<int32_t>{0, 1, 2}));
  EXPECT_TRUE(FilesHolding(tmp.str(), "shopper#").empty()) << "no file names a user";

  const std::array<int32_t, 1> revoked{1};
  store.DropPartitions(revoked);
  EXPECT_EQ(store.cached(), 8u);
  EXPECT_EQ(store.Peek(1, "shopper#0"), nullptr);
  ASSERT_NE(store.Peek(0, "shopper#0"), nullptr);
  EXPECT_EQ(Encoded(*store.Peek(2, "shopper#3")), Encoded(Distinct(23)));
  UserState* back = nullptr;
  ASSERT_TRUE(store.Get(1, "shopper#2", &back).ok());
  EXPECT_EQ(Encoded(*back), Encoded(Distinct(12))) << "a dropped partition's users load again from disk";
}

// Disk holds only users active within user.expire_after_s: compaction drops
// a row whose last event (or forget) is older than the stream's time minus
// the expiry, and nothing before the stream's time is known.
TEST(UserExpiryTest, CompactionDropsRowsIdlePastTheExpiryOnlyOnceTheStreamTimeIsKnown) {
  TempDir tmp;
  StateOptions opt = Options(tmp.str());
  constexpr int64_t kDay = 86'400'000;
  opt.user_expire_after_ms = 10 * kDay;
  auto db = MustOpen(opt);
  UserStore store(db.get(), 100);
  const int64_t t0 = Distinct(0).last()->ts_ms;
  auto put = [&](const std::string& name, int seed) {
    UserState* s = nullptr;
    ASSERT_TRUE(store.Get(0, name, &s).ok());
    *s = Distinct(seed);
    store.MarkDirty(0, name);
  };
  put("idle", 0);
  put("active", 0);
  put("forgotten-late", 0);
  Checkpoint(store, *db);
  ASSERT_TRUE(store.Erase(0, "forgotten-late", t0 + 8 * kDay).ok());
  Checkpoint(store, *db);
  auto rows = [&] {
    ASSERT_TRUE(db->raw()->Flush(rocksdb::FlushOptions(), db->handle(Cf::kUsers)).ok());
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(db->raw()->CompactRange(co, db->handle(Cf::kUsers), nullptr, nullptr).ok());
  };
  rows();
  std::string v;
  EXPECT_TRUE(db->Get(Cf::kUsers, db->user_keys().Key(0, "idle"), &v).ok()) << "no stream time yet: kept";

  // "active" acts 5 days later; the stream is then 15 days past t0.
  UserState* a = nullptr;
  ASSERT_TRUE(store.Get(0, "active", &a).ok());
  a->Apply(model::Event{1, 1, model::EventType::kView, t0 + 5 * kDay}, model::UserOptions{},
           {1, 2, 4, 3, 8});
  store.MarkDirty(0, "active");
  Checkpoint(store, *db);
  db->set_stream_time_ms(t0 + 15 * kDay);
  rows();
  EXPECT_TRUE(db->Get(Cf::kUsers, db->user_keys().Key(0, "idle"), &v).IsNotFound()) << "idle 15 days > 10";
  EXPECT_TRUE(db->Get(Cf::kUsers, db->user_keys().Key(0, "active"), &v).ok()) << "idle 10 days: not past it";
  EXPECT_TRUE(db->Get(Cf::kUsers, db->user_keys().Key(0, "forgotten-late"), &v).ok())
      << "a marker counts from when the user was forgotten (7 days)";
  EXPECT_EQ(db->user_rows_expired(), 1u);
}

// The capability: after forget_user and the erasure run, no file of the
// state directory (write-ahead log, table files, MANIFEST, logs) holds the
// user's state any more; before the run it does (the check can fail).
TEST(EraserTest, AfterTheErasureNoFileOfTheStateHoldsTheForgottenUsersState) {
  TempDir tmp;
  auto db = MustOpen(Options(tmp.str()));
  Eraser eraser(*db, std::chrono::hours(1));  // runs only when asked (RunNow)
  UserStore store(db.get(), 100);
  const UserState alice = Distinct(1), bob = Distinct(2);
  for (const auto& [name, state] : {std::pair{"alice", alice}, std::pair{"bob", bob}}) {
    UserState* s = nullptr;
    ASSERT_TRUE(store.Get(0, name, &s).ok());
    *s = state;
    store.MarkDirty(0, name);
  }
  Checkpoint(store, *db, &eraser);
  // Part of the state in a table file, part in the log.
  ASSERT_TRUE(db->raw()->Flush(rocksdb::FlushOptions(), db->handle(Cf::kUsers)).ok());
  UserState* s = nullptr;
  ASSERT_TRUE(store.Get(0, "alice", &s).ok());
  s->RememberEventId(0xabcdef0123456789ULL, 16);
  const std::string alice_later = Encoded(*s);
  store.MarkDirty(0, "alice");
  Checkpoint(store, *db, &eraser);
  ASSERT_FALSE(FilesHolding(tmp.str(), Encoded(alice)).empty()) << "the test's probe must see the state first";
  ASSERT_FALSE(FilesHolding(tmp.str(), alice_later).empty());

  ASSERT_TRUE(store.Erase(0, "alice", 0).ok());
  Checkpoint(store, *db, &eraser);
  EXPECT_EQ(eraser.pending(), 1u);
  ASSERT_TRUE(eraser.RunNow().ok());
  EXPECT_EQ(eraser.pending(), 0u);
  EXPECT_EQ(eraser.runs(), 1u);
  EXPECT_EQ(eraser.erased(), 1u);
  for (const std::string& probe : {Encoded(alice), alice_later}) {
    const auto files = FilesHolding(tmp.str(), probe);
    EXPECT_TRUE(files.empty()) << "still on disk in " << files.front();
  }
  EXPECT_TRUE(FilesHolding(tmp.str(), "alice").empty());
  EXPECT_FALSE(FilesHolding(tmp.str(), Encoded(bob)).empty()) << "others' state is untouched";
  UserStore fresh(db.get(), 100);
  ASSERT_TRUE(fresh.Get(0, "alice", &s).ok());
  EXPECT_TRUE(s->empty());
  EXPECT_EQ(s->forgotten_at_ms, alice.last()->ts_ms) << "the marker stays: forgotten as of the last event";
  ASSERT_TRUE(fresh.Get(0, "bob", &s).ok());
  EXPECT_EQ(Encoded(*s), Encoded(bob));
}

// An erasure that was committed but not yet run survives a restart: the
// pending keys are stored with the checkpoint, and the next Eraser runs them.
TEST(EraserTest, PendingErasuresSurviveARestartAndRunOnTheirOwnThread) {
  TempDir tmp;
  const UserState carol = Distinct(3);
  {
    auto db = MustOpen(Options(tmp.str()));
    UserStore store(db.get(), 100);
    UserState* s = nullptr;
    ASSERT_TRUE(store.Get(2, "carol", &s).ok());
    *s = carol;
    store.MarkDirty(2, "carol");
    Checkpoint(store, *db);
    ASSERT_TRUE(db->raw()->Flush(rocksdb::FlushOptions(), db->handle(Cf::kUsers)).ok());
    // The checkpoint of the erasure, then a "crash" before any run (no
    // Eraser thread was ever told).
    ASSERT_TRUE(store.Erase(2, "carol", 0).ok());
    rocksdb::WriteBatch batch;
    store.Flush(batch);
    const auto keys = store.TakeErasedKeys();
    ASSERT_EQ(keys.size(), 1u);
    Eraser(*db, std::chrono::hours(1)).PutPending(batch, keys);
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  ASSERT_FALSE(FilesHolding(tmp.str(), Encoded(carol)).empty());
  auto db = MustOpen(Options(tmp.str()));
  {
    Eraser eraser(*db, std::chrono::milliseconds(0));
    EXPECT_EQ(eraser.pending(), 1u) << "loaded from the state";
    // Interval 0: the eraser's thread runs it without being asked.
    for (int i = 0; i < 500 && eraser.runs() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(eraser.runs(), 1u);
  }
  EXPECT_TRUE(FilesHolding(tmp.str(), Encoded(carol)).empty());
  Eraser again(*db, std::chrono::hours(1));
  EXPECT_EQ(again.pending(), 0u) << "done erasures are not run again";
}

}  // namespace
}  // namespace recstream::state
