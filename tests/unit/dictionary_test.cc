// Unit tests of state::IdDictionary: dense ids in order of first appearance,
// stable across Flush/commit/reopen/Load, incremental flushes, prefixes that
// keep dictionaries apart in the shared column family, and corruption checks.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.h"
#include "state/codec.h"
#include "state/db.h"
#include "state/dictionary.h"

namespace recstream::state {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kUnknown = UINT32_MAX;

using testing_util::TempDir;

std::unique_ptr<StateDb> Open(const TempDir& dir) {
  StateOptions opt;
  opt.dir = dir.str();
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(opt, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

// Flush + commit + ClearPending, as the pipeline's checkpoint does.
void Checkpoint(StateDb& db, IdDictionary& dict) {
  rocksdb::WriteBatch batch;
  dict.Flush(db, batch);
  auto s = db.Commit(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  dict.ClearPending();
}

void PutRaw(StateDb& db, const std::string& key, const std::string& value) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(db.handle(Cf::kDict), key, value).ok());
  ASSERT_TRUE(db.Commit(batch).ok());
}

std::string VarintBytes(uint64_t v) {
  std::string s;
  Writer(s).Varint(v);
  return s;
}

std::vector<std::string> OddNames() {
  return {
      "",                        // empty
      std::string("\0", 1),      // a lone NUL
      std::string("a\0b", 3),    // embedded NUL
      "a",                       // a prefix of the previous one
      "A",                       // case matters
      "caf\xc3\xa9",             // UTF-8
      std::string(10'000, 'x'),  // long
      "\xff\xfe",                // not UTF-8
      "12345",                   // numeric ids are strings too
      " 12345",
  };
}

TEST(StateDictionaryTest, InternAssignsDenseIdsInOrderOfFirstAppearance) {
  IdDictionary dict('i');
  EXPECT_EQ(dict.size(), 0u);
  EXPECT_EQ(dict.Find("b"), kUnknown);
  EXPECT_EQ(dict.size(), 0u) << "Find must not assign";
  EXPECT_EQ(dict.Intern("b"), 0u);
  EXPECT_EQ(dict.Intern("a"), 1u);
  EXPECT_EQ(dict.Intern("b"), 0u);
  EXPECT_EQ(dict.Intern("c"), 2u);
  EXPECT_EQ(dict.Intern("a"), 1u);
  EXPECT_EQ(dict.size(), 3u);
  EXPECT_EQ(dict.Find("a"), 1u);
  EXPECT_EQ(dict.Find("c"), 2u);
  EXPECT_EQ(dict.Find("d"), kUnknown);
  EXPECT_EQ(dict.Name(0), "b");
  EXPECT_EQ(dict.Name(1), "a");
  EXPECT_EQ(dict.Name(2), "c");
}

TEST(StateDictionaryTest, ManyIdsStayStableAsTheDictionaryGrows) {
  IdDictionary dict('i');
  for (uint32_t i = 0; i < 20'000; ++i) ASSERT_EQ(dict.Intern("item-" + std::to_string(i)), i);
  // Growth (rehashing, vector reallocation) did not disturb any mapping.
  for (uint32_t i = 0; i < 20'000; ++i) {
    ASSERT_EQ(dict.Find("item-" + std::to_string(i)), i);
    ASSERT_EQ(dict.Name(i), "item-" + std::to_string(i));
  }
}

TEST(StateDictionaryTest, OddNamesGetDistinctIds) {
  IdDictionary dict('c');
  const auto names = OddNames();
  for (uint32_t i = 0; i < names.size(); ++i) EXPECT_EQ(dict.Intern(names[i]), i) << i;
  for (uint32_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(dict.Find(names[i]), i);
    EXPECT_EQ(dict.Name(i), names[i]);
  }
}

TEST(StateDictionaryTest, InMemoryFlushWritesNewEntriesOnly) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  IdDictionary dict('i');
  dict.Intern("a");
  dict.Intern("b");
  dict.Intern("c");
  {
    rocksdb::WriteBatch batch;
    dict.Flush(*db, batch);
    EXPECT_EQ(batch.Count(), 3u);
    // Without ClearPending (the commit may have failed) the rows are offered again.
    rocksdb::WriteBatch again;
    dict.Flush(*db, again);
    EXPECT_EQ(again.Count(), 3u);
  }
  dict.ClearPending();
  {
    rocksdb::WriteBatch batch;
    dict.Flush(*db, batch);
    EXPECT_EQ(batch.Count(), 0u);
  }
  dict.Intern("b");  // known: nothing new
  dict.Intern("d");
  dict.Intern("e");
  {
    rocksdb::WriteBatch batch;
    dict.Flush(*db, batch);
    EXPECT_EQ(batch.Count(), 2u);
  }
}

TEST(StateDictionaryTest, IdsArePersistedAndReloaded) {
  TempDir tmp;
  std::vector<std::string> names = OddNames();
  for (int i = 0; i < 1000; ++i) names.push_back("name-" + std::to_string(i * 7919 % 1000));
  // Dedupe while keeping first-appearance order: the expected ids.
  std::vector<std::string> expected;
  {
    IdDictionary dict('i');
    for (const auto& n : names) {
      const uint32_t id = dict.Intern(n);
      if (id == expected.size()) expected.push_back(n);
      ASSERT_EQ(expected[id], n);
    }
    auto db = Open(tmp);
    ASSERT_NE(db, nullptr);
    Checkpoint(*db, dict);
  }
  auto db = Open(tmp);  // reopened database
  ASSERT_NE(db, nullptr);
  IdDictionary dict('i');
  auto s = dict.Load(*db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(dict.size(), expected.size());
  for (uint32_t id = 0; id < expected.size(); ++id) {
    EXPECT_EQ(dict.Name(id), expected[id]) << id;
    EXPECT_EQ(dict.Find(expected[id]), id) << id;
  }
  // A loaded dictionary has nothing pending and keeps numbering after the end.
  rocksdb::WriteBatch batch;
  dict.Flush(*db, batch);
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(dict.Intern(expected[5]), 5u);
  EXPECT_EQ(dict.Intern("brand-new"), expected.size());
}

TEST(StateDictionaryTest, NumberingContinuesAcrossSeveralRestarts) {
  TempDir tmp;
  for (int run = 0; run < 3; ++run) {
    auto db = Open(tmp);
    ASSERT_NE(db, nullptr);
    IdDictionary dict('i');
    ASSERT_TRUE(dict.Load(*db).ok());
    ASSERT_EQ(dict.size(), static_cast<size_t>(run * 2));
    for (int k = 0; k < run * 2; ++k) EXPECT_EQ(dict.Find("run" + std::to_string(k / 2) + "-" + std::to_string(k % 2)), static_cast<uint32_t>(k));
    EXPECT_EQ(dict.Intern("run" + std::to_string(run) + "-0"), static_cast<uint32_t>(run * 2));
    EXPECT_EQ(dict.Intern("run" + std::to_string(run) + "-1"), static_cast<uint32_t>(run * 2 + 1));
    Checkpoint(*db, dict);
  }
}

TEST(StateDictionaryTest, PrefixesKeepDictionariesApart) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  {
    IdDictionary items('i'), categories('c');
    EXPECT_EQ(items.Intern("shared"), 0u);
    EXPECT_EQ(items.Intern("only-item"), 1u);
    EXPECT_EQ(categories.Intern("only-category"), 0u);
    EXPECT_EQ(categories.Intern("shared"), 1u);
    rocksdb::WriteBatch batch;
    items.Flush(*db, batch);
    categories.Flush(*db, batch);
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  IdDictionary items('i'), categories('c'), other('x');
  ASSERT_TRUE(items.Load(*db).ok());
  ASSERT_TRUE(categories.Load(*db).ok());
  ASSERT_TRUE(other.Load(*db).ok());
  EXPECT_EQ(items.size(), 2u);
  EXPECT_EQ(items.Find("shared"), 0u);
  EXPECT_EQ(items.Find("only-item"), 1u);
  EXPECT_EQ(items.Find("only-category"), kUnknown);
  EXPECT_EQ(categories.size(), 2u);
  EXPECT_EQ(categories.Find("shared"), 1u);
  EXPECT_EQ(categories.Find("only-category"), 0u);
  EXPECT_EQ(categories.Find("only-item"), kUnknown);
  EXPECT_EQ(other.size(), 0u);
}

TEST(StateDictionaryTest, LoadOfEmptyDatabaseIsEmpty) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  IdDictionary dict('i');
  ASSERT_TRUE(dict.Load(*db).ok());
  EXPECT_EQ(dict.size(), 0u);
  EXPECT_EQ(dict.Intern("first"), 0u);
}

TEST(StateDictionaryTest, LoadReplacesUnflushedMemory) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  IdDictionary dict('i');
  dict.Intern("persisted");
  Checkpoint(*db, dict);
  dict.Intern("memory-only");
  ASSERT_TRUE(dict.Load(*db).ok());
  EXPECT_EQ(dict.size(), 1u);
  EXPECT_EQ(dict.Find("persisted"), 0u);
  EXPECT_EQ(dict.Find("memory-only"), kUnknown);
  EXPECT_EQ(dict.Intern("next"), 1u);
}

TEST(StateDictionaryTest, NonDenseOrMalformedRowsAreCorruption) {
  struct Case {
    const char* what;
    std::vector<std::pair<std::string, std::string>> rows;
  };
  const std::vector<Case> cases = {
      {"gap in ids", {{"ia", VarintBytes(0)}, {"ib", VarintBytes(2)}}},
      {"does not start at 0", {{"ia", VarintBytes(1)}}},
      {"duplicate id", {{"ia", VarintBytes(0)}, {"ib", VarintBytes(0)}}},
      {"empty value", {{"ia", ""}}},
      {"truncated varint", {{"ia", "\x80"}}},
      {"trailing bytes", {{"ia", VarintBytes(0) + "x"}}},
      {"id out of 32-bit range", {{"ia", VarintBytes(UINT32_MAX)}}},
      {"id far out of range", {{"ia", VarintBytes(1ULL << 40)}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    auto db = Open(tmp);
    ASSERT_NE(db, nullptr);
    for (const auto& [k, v] : c.rows) PutRaw(*db, k, v);
    IdDictionary dict('i');
    dict.Intern("in-memory");
    auto s = dict.Load(*db);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(dict.size(), 0u) << "a failed load leaves no half-loaded names";
    EXPECT_EQ(dict.Find("a"), kUnknown);
    // Other dictionaries in the family are not affected by this one's rows.
    IdDictionary categories('c');
    EXPECT_TRUE(categories.Load(*db).ok());
  }
}

}  // namespace
}  // namespace recstream::state
