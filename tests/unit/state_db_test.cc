// Unit tests of state::StateDb on a real RocksDB in a fresh temporary
// directory: column families, atomic batches of state + offsets across
// close/reopen, offset rows per topic/partition, and the error paths of Open.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/unit/temp_dir.h"
#include "state/db.h"

namespace recstream::state {
namespace {

namespace fs = std::filesystem;

// A unique directory under the system temp dir, removed with everything in it.
using testing_util::TempDir;

// Every column family StateDb declares (the list grows with new concerns).
std::vector<Cf> AllCfs() {
  std::vector<Cf> all;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) all.push_back(static_cast<Cf>(i));
  return all;
}
const std::vector<Cf> kAllCfs = AllCfs();

std::unique_ptr<StateDb> OpenOrDie(const std::string& dir) {
  StateOptions opt;
  opt.dir = dir;
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(opt, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

std::string GetOr(const StateDb& db, Cf cf, const std::string& key, const std::string& missing = "<missing>") {
  std::string v;
  auto s = db.Get(cf, key, &v);
  if (s.IsNotFound()) return missing;
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

size_t CountRows(const StateDb& db, Cf cf) {
  size_t n = 0;
  auto s = db.Scan(cf, [&](const rocksdb::Slice&, const rocksdb::Slice&) {
    ++n;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

TEST(StateDbTest, CfNamesAreDistinctAndStable) {
  // The names are the on-disk identity of the families: never rename.
  EXPECT_STREQ(CfName(Cf::kUsers), "users");
  EXPECT_STREQ(CfName(Cf::kItems), "items");
  EXPECT_STREQ(CfName(Cf::kCategories), "categories");
  EXPECT_STREQ(CfName(Cf::kDict), "dict");
  EXPECT_STREQ(CfName(Cf::kOffsets), "offsets");
  EXPECT_STREQ(CfName(Cf::kMeta), "meta");
  std::set<std::string> names;
  for (Cf cf : kAllCfs) names.insert(CfName(cf));
  EXPECT_EQ(names.size(), kAllCfs.size());
  EXPECT_EQ(names.count(rocksdb::kDefaultColumnFamilyName), 0u);
}

TEST(StateDbTest, OpenCreatesMissingDirectoryAndColumnFamilies) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "nested" / "state";
  ASSERT_FALSE(fs::exists(dir));
  {
    auto db = OpenOrDie(dir.string());
    ASSERT_NE(db, nullptr);
    EXPECT_TRUE(fs::is_directory(dir));
    ASSERT_NE(db->raw(), nullptr);
    for (Cf cf : kAllCfs) {
      ASSERT_NE(db->handle(cf), nullptr) << CfName(cf);
      EXPECT_EQ(db->handle(cf)->GetName(), CfName(cf));
    }
    // Every family starts empty, but for the state's format and the users'
    // key secret in meta.
    for (Cf cf : kAllCfs) EXPECT_EQ(CountRows(*db, cf), cf == Cf::kMeta ? 3u : 0u) << CfName(cf);
    OffsetMap offsets{{{"stale", 0}, 1}};
    ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
    EXPECT_TRUE(offsets.empty()) << "LoadOffsets must clear its output";
  }
  // The families are really on disk (after close).
  std::vector<std::string> families;
  auto s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &families);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::set<std::string> got(families.begin(), families.end());
  std::set<std::string> want{rocksdb::kDefaultColumnFamilyName};
  for (Cf cf : kAllCfs) want.insert(CfName(cf));
  EXPECT_EQ(got, want);
}

TEST(StateDbTest, ColumnFamiliesAreSeparateKeySpaces) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  rocksdb::WriteBatch batch;
  for (Cf cf : kAllCfs) ASSERT_TRUE(batch.Put(db->handle(cf), "same-key", std::string("value-of-") + CfName(cf)).ok());
  ASSERT_TRUE(db->Commit(batch).ok());
  for (Cf cf : kAllCfs) {
    EXPECT_EQ(GetOr(*db, cf, "same-key"), std::string("value-of-") + CfName(cf));
    EXPECT_EQ(CountRows(*db, cf), cf == Cf::kMeta ? 4u : 1u);  // meta: + format, secret, fingerprint
  }
  // Nothing leaked into the default family.
  std::string v;
  EXPECT_TRUE(db->raw()->Get(rocksdb::ReadOptions(), db->raw()->DefaultColumnFamily(), "same-key", &v).IsNotFound());
}

TEST(StateDbTest, GetOfAbsentKeyIsNotFound) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  std::string v = "untouched";
  EXPECT_TRUE(db->Get(Cf::kUsers, "nobody", &v).IsNotFound());
}

TEST(StateDbTest, BatchWithStateAndOffsetsSurvivesCloseAndReopen) {
  TempDir tmp;
  {
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "u1", "state-1").ok());
    ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "u2", std::string("bin\0ary", 7)).ok());
    ASSERT_TRUE(batch.Put(db->handle(Cf::kItems), std::string("\x00\x00\x00\x01", 4), "item-row").ok());
    ASSERT_TRUE(batch.Put(db->handle(Cf::kMeta), "model.global", "global-row").ok());
    db->PutOffset(batch, "events", 0, 100);
    db->PutOffset(batch, "events", 1, 200);
    EXPECT_EQ(batch.Count(), 6u) << "PutOffset adds exactly one row to the batch";
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  {
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(GetOr(*db, Cf::kUsers, "u1"), "state-1");
    EXPECT_EQ(GetOr(*db, Cf::kUsers, "u2"), std::string("bin\0ary", 7));
    EXPECT_EQ(GetOr(*db, Cf::kItems, std::string("\x00\x00\x00\x01", 4)), "item-row");
    EXPECT_EQ(GetOr(*db, Cf::kMeta, "model.global"), "global-row");
    OffsetMap offsets;
    ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
    EXPECT_EQ(offsets, (OffsetMap{{{"events", 0}, 100}, {{"events", 1}, 200}}));

    // The reopened database takes further batches, which also survive.
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Delete(db->handle(Cf::kUsers), "u1").ok());
    ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "u3", "state-3").ok());
    db->PutOffset(batch, "events", 0, 150);
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  {
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(GetOr(*db, Cf::kUsers, "u1"), "<missing>");
    EXPECT_EQ(GetOr(*db, Cf::kUsers, "u3"), "state-3");
    EXPECT_EQ(CountRows(*db, Cf::kUsers), 2u);
    OffsetMap offsets;
    ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
    EXPECT_EQ(offsets, (OffsetMap{{{"events", 0}, 150}, {{"events", 1}, 200}}));
  }
}

TEST(StateDbTest, UncommittedBatchLeavesNoTrace) {
  TempDir tmp;
  {
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "u1", "state").ok());
    db->PutOffset(batch, "events", 0, 10);
    // Not committed: neither state nor offset is visible, now or after reopen.
    EXPECT_EQ(GetOr(*db, Cf::kUsers, "u1"), "<missing>");
    OffsetMap offsets;
    ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
    EXPECT_TRUE(offsets.empty());
  }
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountRows(*db, Cf::kUsers), 0u);
  EXPECT_EQ(CountRows(*db, Cf::kOffsets), 0u);
}

TEST(StateDbTest, SyncedCommitsSurviveReopen) {
  TempDir tmp;
  StateOptions opt;
  opt.dir = tmp.str();
  opt.sync = true;
  {
    std::unique_ptr<StateDb> db;
    ASSERT_TRUE(StateDb::Open(opt, &db).ok());
    for (int i = 0; i < 5; ++i) {
      rocksdb::WriteBatch batch;
      ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "u", std::to_string(i)).ok());
      db->PutOffset(batch, "events", 3, i + 1);
      ASSERT_TRUE(db->Commit(batch).ok());
    }
  }
  std::unique_ptr<StateDb> db;
  ASSERT_TRUE(StateDb::Open(opt, &db).ok());
  EXPECT_EQ(GetOr(*db, Cf::kUsers, "u"), "4");
  OffsetMap offsets;
  ASSERT_TRUE(db->LoadOffsets(&offsets).ok());
  EXPECT_EQ(offsets, (OffsetMap{{{"events", 3}, 5}}));
}

TEST(StateDbTest, OffsetsLoadBackPerTopicAndPartition) {
  TempDir tmp;
  const OffsetMap want = {
      {{"events", 0}, 0},
      {{"events", 1}, 1},
      {{"events", 255}, 1'000'000'000'000LL},
      {{"events", 256}, 42},
      {{"events", std::numeric_limits<int32_t>::max()}, std::numeric_limits<int64_t>::max()},
      {{"events2", 0}, 7},        // a topic whose name extends another's
      {{"ev", 0}, 8},             // and one that is a prefix of another's
      {{"events.dlq", 0}, -1},    // negative offsets round-trip too
      {{"", 5}, 9},               // an empty topic name is still a distinct key
      {{"items", -1}, 11},        // negative partition numbers are kept as is
      {{"t\xc3\xa9pic", 2}, 12},  // UTF-8
  };
  {
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    for (const auto& [tp, off] : want) db->PutOffset(batch, tp.first, tp.second, off);
    ASSERT_TRUE(db->Commit(batch).ok());
    OffsetMap got;
    ASSERT_TRUE(db->LoadOffsets(&got).ok());
    EXPECT_EQ(got, want);
  }
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  OffsetMap got{{{"left", 1}, 1}};
  ASSERT_TRUE(db->LoadOffsets(&got).ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(CountRows(*db, Cf::kOffsets), want.size());
}

TEST(StateDbTest, LaterOffsetOverwritesEarlierInSameBatch) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  rocksdb::WriteBatch batch;
  db->PutOffset(batch, "events", 0, 10);
  db->PutOffset(batch, "events", 0, 20);
  ASSERT_TRUE(db->Commit(batch).ok());
  OffsetMap got;
  ASSERT_TRUE(db->LoadOffsets(&got).ok());
  EXPECT_EQ(got, (OffsetMap{{{"events", 0}, 20}}));
}

TEST(StateDbTest, OffsetKeysSortByTopicThenPartitionNumber) {
  // Big-endian partition after a NUL separator: numeric order within a topic,
  // and a topic's rows never interleave with a longer topic's.
  EXPECT_EQ(StateDb::OffsetKey("t", 1), std::string("t\0\0\0\0\x01", 6));
  EXPECT_EQ(StateDb::OffsetKey("t", 0x01020304), std::string("t\0\x01\x02\x03\x04", 6));
  EXPECT_LT(StateDb::OffsetKey("a", 1), StateDb::OffsetKey("a", 2));
  EXPECT_LT(StateDb::OffsetKey("a", 2), StateDb::OffsetKey("a", 256));
  EXPECT_LT(StateDb::OffsetKey("a", 256), StateDb::OffsetKey("a", std::numeric_limits<int32_t>::max()));
  EXPECT_LT(StateDb::OffsetKey("a", std::numeric_limits<int32_t>::max()), StateDb::OffsetKey("ab", 0));
}

TEST(StateDbTest, MalformedOffsetRowIsCorruption) {
  struct Case {
    const char* what;
    std::string key, value;
  };
  const std::vector<Case> cases = {
      {"key without separator", "events", std::string(8, '\0')},
      {"partition too short", std::string("events\0\0\0\x01", 9), std::string(8, '\0')},
      {"partition too long", std::string("events\0\0\0\0\0\x01", 12), std::string(8, '\0')},
      {"value too short", StateDb::OffsetKey("events", 0), std::string(7, '\0')},
      {"value too long", StateDb::OffsetKey("events", 0), std::string(9, '\0')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    auto db = OpenOrDie(tmp.str());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    db->PutOffset(batch, "good", 0, 1);
    ASSERT_TRUE(batch.Put(db->handle(Cf::kOffsets), c.key, c.value).ok());
    ASSERT_TRUE(db->Commit(batch).ok());
    OffsetMap got;
    auto s = db->LoadOffsets(&got);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
}

TEST(StateDbTest, ScanVisitsRowsInKeyOrderAndStopsEarly) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  rocksdb::WriteBatch batch;
  for (const char* k : {"c", "a", "e", "b", "d"}) ASSERT_TRUE(batch.Put(db->handle(Cf::kDict), k, k).ok());
  ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "0", "other family").ok());
  ASSERT_TRUE(db->Commit(batch).ok());

  std::vector<std::string> seen;
  ASSERT_TRUE(db->Scan(Cf::kDict, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                  EXPECT_EQ(k.ToString(), v.ToString());
                  seen.push_back(k.ToString());
                  return true;
                }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  seen.clear();
  ASSERT_TRUE(db->Scan(Cf::kDict, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                  seen.push_back(k.ToString());
                  return seen.size() < 2;
                }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST(StateDbTest, ApproximateBytesGrowsWithData) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  ASSERT_NE(db, nullptr);
  const uint64_t before = db->ApproximateBytes(Cf::kUsers);
  rocksdb::WriteBatch batch;
  const std::string value(1024, 'v');
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), "user-" + std::to_string(i), value).ok());
  ASSERT_TRUE(db->Commit(batch).ok());
  EXPECT_GE(db->ApproximateBytes(Cf::kUsers), before + 500 * 1024);
}

TEST(StateDbTest, OpeningARegularFileIsAnError) {
  TempDir tmp;
  fs::create_directories(tmp.path());
  const fs::path file = tmp.path() / "not-a-dir";
  std::ofstream(file) << "just a file\n";
  ASSERT_TRUE(fs::is_regular_file(file));
  {
    StateOptions opt;
    opt.dir = file.string();
    std::unique_ptr<StateDb> db;
    auto s = StateDb::Open(opt, &db);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(db, nullptr);
  }
  {
    // A directory below a regular file cannot be created.
    StateOptions opt;
    opt.dir = (file / "state").string();
    std::unique_ptr<StateDb> db;
    auto s = StateDb::Open(opt, &db);
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_EQ(db, nullptr);
  }
  // The file is left as it was.
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "just a file");
}

TEST(StateDbTest, SecondOpenOfALockedDatabaseFails) {
  TempDir tmp;
  auto first = OpenOrDie(tmp.str());
  ASSERT_NE(first, nullptr);
  StateOptions opt;
  opt.dir = tmp.str();
  std::unique_ptr<StateDb> second;
  auto s = StateDb::Open(opt, &second);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(second, nullptr);
  // The first handle is unaffected.
  rocksdb::WriteBatch batch;
  first->PutOffset(batch, "events", 0, 1);
  EXPECT_TRUE(first->Commit(batch).ok());
}

TEST(StateDbTest, UnknownOrBadRocksDbOptionsAreInvalidArgument) {
  struct Case {
    const char* what;
    std::unordered_map<std::string, std::string> db, cf;
  };
  const std::vector<Case> cases = {
      {"unknown db option", {{"no_such_option", "1"}}, {}},
      {"bad db option value", {{"max_background_jobs", "many"}}, {}},
      {"unknown cf option", {}, {{"no_such_cf_option", "1"}}},
      {"bad cf option value", {}, {{"write_buffer_size", "big"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    StateOptions opt;
    opt.dir = tmp.str();
    opt.db_options = c.db;
    opt.cf_options = c.cf;
    std::unique_ptr<StateDb> db;
    auto s = StateDb::Open(opt, &db);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_EQ(db, nullptr);
  }
}

TEST(StateDbTest, PassThroughOptionsAreApplied) {
  TempDir tmp;
  StateOptions opt;
  opt.dir = tmp.str();
  opt.db_options = {{"max_background_jobs", "3"}};
  opt.cf_options = {{"write_buffer_size", "1048576"}};
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(opt, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(db->raw()->GetDBOptions().max_background_jobs, 3);
  for (Cf cf : kAllCfs) EXPECT_EQ(db->raw()->GetOptions(db->handle(cf)).write_buffer_size, 1048576u) << CfName(cf);
}

// A lookup of a user that no table file holds (the common case: a new
// user, or one the cache let go and RocksDB never had) is answered by the
// files' Bloom filters, not by reading their blocks.
TEST(StateDbTest, LookupsOfAbsentKeysAreAnsweredByBloomFilters) {
  TempDir tmp;
  auto db = OpenOrDie(tmp.str());
  rocksdb::WriteBatch b;
  for (int i = 0; i < 5000; ++i) b.Put(db->handle(Cf::kUsers), "user-" + std::to_string(i), std::string(100, 'v'));
  ASSERT_TRUE(db->Commit(b).ok());
  ASSERT_TRUE(db->raw()->Flush(rocksdb::FlushOptions(), db->handle(Cf::kUsers)).ok());
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  std::string v;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(db->Get(Cf::kUsers, "absent-" + std::to_string(i), &v).IsNotFound());
  const uint64_t filtered = rocksdb::get_perf_context()->bloom_sst_miss_count;
  ASSERT_TRUE(db->Get(Cf::kUsers, "user-42", &v).ok());
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  // 10 bits per key: about 1 % false positives.
  EXPECT_GE(filtered, 950u) << "lookups of absent keys that the filter answered";
}

// Checkpoints as the processor writes them: many large rows into one family
// and the offsets row, tiny, into another. Returns the write-ahead log's
// bytes on disk and the memtables' peak bytes (all families) seen between
// batches.
struct Footprint {
  uint64_t wal = 0, memtables = 0;
};
Footprint WriteCheckpoints(const StateOptions& opt, size_t batches) {
  std::unique_ptr<StateDb> db;
  EXPECT_TRUE(StateDb::Open(opt, &db).ok());
  if (!db) return {};
  std::mt19937_64 rng(3);
  std::string value(1000, 'x');
  Footprint f;
  rocksdb::WriteBatch b;
  for (size_t i = 0; i < batches; ++i) {
    b.Clear();
    for (int r = 0; r < 200; ++r) {
      for (auto& ch : value) ch = static_cast<char>('a' + rng() % 26);  // incompressible-ish
      b.Put(db->handle(Cf::kVectors), "row" + std::to_string(rng() % 100'000), value);
    }
    db->PutOffset(b, "events", 0, static_cast<int64_t>(i));
    EXPECT_TRUE(db->Commit(b).ok());
    uint64_t mem = 0;
    for (Cf cf : kAllCfs) {
      uint64_t m = 0;
      db->raw()->GetIntProperty(db->handle(cf), rocksdb::DB::Properties::kCurSizeAllMemTables, &m);
      mem += m;
    }
    f.memtables = std::max(f.memtables, mem);
  }
  // A log file goes once the flushes it waits for are done; they run in the
  // background, later on a loaded machine (CI, sanitizers): let them finish.
  for (int i = 0; i < 500; ++i) {
    uint64_t running = 0, pending = 0;
    db->raw()->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &running);
    for (Cf cf : kAllCfs) {
      uint64_t p = 0;
      db->raw()->GetIntProperty(db->handle(cf), rocksdb::DB::Properties::kMemTableFlushPending, &p);
      pending += p;
    }
    if (running == 0 && pending == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& e : fs::directory_iterator(opt.dir))
    if (e.path().extension() == ".log") f.wal += e.file_size();
  return f;
}

// The log and the memtables stay within their budgets (state.wal_budget_mb,
// state.memtable_budget_mb) while 40 MB are written, and without the budgets
// (RocksDB's own defaults) they would not: the test sees the difference.
TEST(StateDbTest, WriteAheadLogAndMemtablesStayWithinTheirBudgets) {
  constexpr size_t kBatches = 200;  // 200 x 200 rows x 1 kB = 40 MB
  TempDir bounded_dir, unbounded_dir;
  StateOptions bounded;
  bounded.dir = bounded_dir.str();
  bounded.wal_budget_bytes = 4 << 20;
  bounded.memtable_budget_bytes = 4 << 20;
  const Footprint b = WriteCheckpoints(bounded, kBatches);
  StateOptions unbounded;
  unbounded.dir = unbounded_dir.str();
  unbounded.wal_budget_bytes = 0;      // RocksDB: 4 x the memtables' sum
  unbounded.memtable_budget_bytes = 0;  // RocksDB: no total, 64 MiB per family
  const Footprint u = WriteCheckpoints(unbounded, kBatches);
  // A log file is deleted once its families are flushed; the budget is
  // checked as a write starts, so it may be passed by a file's worth.
  EXPECT_LT(b.wal, 12u << 20) << "unbounded: " << u.wal;
  EXPECT_LT(b.memtables, 10u << 20) << "unbounded: " << u.memtables;
  EXPECT_GT(u.wal, 30u << 20) << "without the budget the whole 40 MB stays in the log";
  EXPECT_GT(u.memtables, 30u << 20);
}

}  // namespace
}  // namespace recstream::state
