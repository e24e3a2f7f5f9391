// Unit tests of state::UserStore: write-back of dirty users, LRU eviction
// beyond capacity (only after a commit), erase (forget_user: the marker row),
// the in-memory mode (db == nullptr), and corrupt rows.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.h"
#include "model/options.h"
#include "model/types.h"
#include "model/user_state.h"
#include "state/db.h"
#include "state/model_codec.h"
#include "state/user_store.h"

namespace recstream::state {
namespace {

namespace fs = std::filesystem;
using model::UserState;

using testing_util::TempDir;

std::unique_ptr<StateDb> Open(const TempDir& dir) {
  StateOptions opt;
  opt.dir = dir.str();
  std::unique_ptr<StateDb> db;
  auto s = StateDb::Open(opt, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

// Applies n events derived from seed, the way the pipeline changes a user.
void ApplyEvents(UserState& u, int seed, int n) {
  model::UserOptions opt;
  opt.history_length = 8;
  opt.purchases_kept = 4;
  opt.affinity_categories = 5;
  const std::array<double, model::kEventTypeCount> weight{1, 2, 4, 3, 8};
  for (int i = 0; i < n; ++i) {
    const int k = seed * 131 + i;
    model::Event e{static_cast<model::ItemId>(k % 97), static_cast<model::CategoryId>(k % 7),
                   static_cast<model::EventType>(k % model::kEventTypeCount),
                   1'700'000'000'000 + static_cast<int64_t>(seed) * 1'000'000 + i * 1000};
    u.Apply(e, opt, weight);
    u.RememberEventId(static_cast<uint64_t>(k) * 0x9e3779b97f4a7c15ULL, 6);
  }
}

UserState Expected(int seed, int n) {
  UserState u;
  ApplyEvents(u, seed, n);
  return u;
}

// The codec is deterministic and bit-exact, so equal bytes == identical state.
std::string Bytes(const UserState& u) {
  std::string out;
  EncodeUser(u, out);
  return out;
}

std::string UserKey(int i) { return "user-" + std::to_string(i); }

// Flush + commit + AfterCommit, as the pipeline's checkpoint does.
void Checkpoint(UserStore& store, StateDb& db) {
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  auto s = db.Commit(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  store.AfterCommit();
}

std::set<std::string> CachedUsers(const UserStore& store) {
  std::set<std::string> users;
  store.ForEachCached([&](int32_t, std::string_view k, const UserState&) { users.insert(std::string(k)); });
  return users;
}

// The row of user in the users column family, "<missing>" if none.
std::string Row(const StateDb& db, const std::string& user) {
  std::string v;
  auto s = db.Get(Cf::kUsers, db.user_keys().Key(0, user), &v);
  if (s.IsNotFound()) return "<missing>";
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

// The marker Erase leaves: empty state, forgotten at `at`.
std::string Marker(int64_t at) {
  UserState u;
  u.forgotten_at_ms = at;
  return Bytes(u);
}
// Expected(seed, n) after a forget at `at`: the new profile keeps the time.
UserState ExpectedAfterForget(int seed, int n, int64_t at) {
  UserState u;
  u.forgotten_at_ms = at;
  ApplyEvents(u, seed, n);
  return u;
}
int64_t LastTs(int seed, int n) { return Expected(seed, n).last()->ts_ms; }

UserState* MustGet(UserStore& store, const std::string& user) {
  UserState* u = nullptr;
  auto s = store.Get(0, user, &u);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(u, nullptr);
  return u;
}

// ---------------------------------------------------------------------------
// In-memory mode

TEST(StateUserStoreTest, InMemoryUnknownUserIsEmpty) {
  UserStore store(nullptr, 10);
  UserState* u = MustGet(store, "nobody");
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->empty());
  EXPECT_EQ(Bytes(*u), Bytes(UserState{}));
  EXPECT_EQ(store.misses(), 1u);
  EXPECT_EQ(store.hits(), 0u);
  EXPECT_EQ(store.cached(), 1u);
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 0u) << "in-memory mode writes nothing";
}

TEST(StateUserStoreTest, InMemoryKeepsEveryUserAndNeverEvicts) {
  UserStore store(nullptr, 2);
  for (int i = 0; i < 50; ++i) {
    ApplyEvents(*MustGet(store, UserKey(i)), i, 3 + i % 5);
    store.MarkDirty(0, UserKey(i));
  }
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 0u);
  store.AfterCommit();
  EXPECT_EQ(store.cached(), 50u) << "capacity does not apply without a database";
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Bytes(*MustGet(store, UserKey(i))), Bytes(Expected(i, 3 + i % 5))) << i;
  EXPECT_EQ(store.misses(), 50u);
  EXPECT_EQ(store.hits(), 50u);

  size_t visited = 0;
  store.ForEachCached([&](int32_t, std::string_view k, const UserState& u) {
    ++visited;
    EXPECT_FALSE(u.empty()) << k;
  });
  EXPECT_EQ(visited, 50u);
}

TEST(StateUserStoreTest, InMemoryEraseForgetsTheUser) {
  UserStore store(nullptr, 10);
  ApplyEvents(*MustGet(store, "a"), 1, 4);
  store.MarkDirty(0, "a");
  ApplyEvents(*MustGet(store, "b"), 2, 4);
  store.MarkDirty(0, "b");
  store.AfterCommit();

  EXPECT_TRUE(store.Erase(0, "a", 0).ok());
  // Immediately: the user reads as empty, a marker of the erasure.
  EXPECT_TRUE(MustGet(store, "a")->empty());
  store.AfterCommit();
  EXPECT_EQ(CachedUsers(store), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(Bytes(*MustGet(store, "a")), Marker(LastTs(1, 4)));
  EXPECT_EQ(Bytes(*MustGet(store, "b")), Bytes(Expected(2, 4)));
}

// ---------------------------------------------------------------------------
// With a database

TEST(StateUserStoreTest, DirtyUsersAreWrittenOnFlushAndReadBackIdentical) {
  TempDir tmp;
  {
    auto db = Open(tmp);
    ASSERT_NE(db, nullptr);
    UserStore store(db.get(), 100);
    for (int i = 0; i < 3; ++i) {
      ApplyEvents(*MustGet(store, UserKey(i)), i, 10 + i);
      store.MarkDirty(0, UserKey(i));
    }
    MustGet(store, "reader-only");  // read, never changed: not written
    rocksdb::WriteBatch batch;
    store.Flush(batch);
    EXPECT_EQ(batch.Count(), 3u);
    ASSERT_TRUE(db->Commit(batch).ok());
    store.AfterCommit();
    // The rows hold exactly the encoded state.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(Row(*db, UserKey(i)), Bytes(Expected(i, 10 + i)));
    EXPECT_EQ(Row(*db, "reader-only"), "<missing>");
  }
  // A fresh store on the reopened database reads them back identical.
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 100);
  for (int i = 0; i < 3; ++i) {
    UserState* u = MustGet(store, UserKey(i));
    EXPECT_EQ(Bytes(*u), Bytes(Expected(i, 10 + i)));
    const UserState want = Expected(i, 10 + i);
    EXPECT_EQ(u->recent, want.recent);
    EXPECT_EQ(u->purchases, want.purchases);
    EXPECT_EQ(u->seen_event_ids, want.seen_event_ids);
    EXPECT_EQ(u->seen_next, want.seen_next);
    EXPECT_EQ(u->events, want.events);
  }
  EXPECT_EQ(store.misses(), 3u);
}

TEST(StateUserStoreTest, OnlyChangedUsersAreWrittenAndOnlyOnce) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 100);
  ApplyEvents(*MustGet(store, "a"), 1, 2);
  store.MarkDirty(0, "a");
  store.MarkDirty(0, "a");
  ApplyEvents(*MustGet(store, "a"), 1, 0);
  store.MarkDirty(0, "a");
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 1u);
  ASSERT_TRUE(db->Commit(batch).ok());
  store.AfterCommit();

  // Clean after the commit: the next flush writes nothing.
  MustGet(store, "a");
  rocksdb::WriteBatch next;
  store.Flush(next);
  EXPECT_EQ(next.Count(), 0u);
}

TEST(StateUserStoreTest, ChangesAcrossBatchesAccumulate) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 1);
  for (int batch = 0; batch < 4; ++batch) {
    // "a" was evicted by the previous commit (capacity 1, "other" is newer):
    // every batch reloads it from its written-back row and extends it.
    ApplyEvents(*MustGet(store, "a"), 100 + batch, 3);
    store.MarkDirty(0, "a");
    MustGet(store, "other");
    store.MarkDirty(0, "other");
    Checkpoint(store, *db);
    EXPECT_EQ(CachedUsers(store), (std::set<std::string>{"other"}));
  }
  UserState want;
  for (int batch = 0; batch < 4; ++batch) ApplyEvents(want, 100 + batch, 3);
  EXPECT_EQ(Row(*db, "a"), Bytes(want));
  UserStore fresh(db.get(), 10);
  EXPECT_EQ(Bytes(*MustGet(fresh, "a")), Bytes(want));
}

TEST(StateUserStoreTest, LruEvictsBeyondCapacityOnlyAfterCommit) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 3);
  for (int i = 0; i < 6; ++i) {
    ApplyEvents(*MustGet(store, UserKey(i)), i, 5);
    store.MarkDirty(0, UserKey(i));
  }
  // Dirty users are never dropped before they are durable.
  EXPECT_EQ(store.cached(), 6u);
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 6u);
  EXPECT_EQ(store.cached(), 6u);
  ASSERT_TRUE(db->Commit(batch).ok());
  store.AfterCommit();
  EXPECT_EQ(store.cached(), 3u);
  EXPECT_EQ(CachedUsers(store), (std::set<std::string>{UserKey(3), UserKey(4), UserKey(5)}));

  // The evicted users were written back and come back identical on a miss.
  const uint64_t misses = store.misses();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Bytes(*MustGet(store, UserKey(i))), Bytes(Expected(i, 5))) << i;
  EXPECT_EQ(store.misses(), misses + 3);
  store.AfterCommit();
  EXPECT_EQ(CachedUsers(store), (std::set<std::string>{UserKey(0), UserKey(1), UserKey(2)}));
}

TEST(StateUserStoreTest, GetRefreshesRecency) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 2);
  MustGet(store, "a");
  MustGet(store, "b");
  MustGet(store, "c");
  MustGet(store, "a");  // a is now the most recent; b the least
  EXPECT_EQ(store.hits(), 1u);
  EXPECT_EQ(store.misses(), 3u);
  store.AfterCommit();
  EXPECT_EQ(CachedUsers(store), (std::set<std::string>{"a", "c"}));
}

TEST(StateUserStoreTest, CapacityZeroKeepsNothingAfterCommit) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 0);
  ApplyEvents(*MustGet(store, "a"), 3, 3);
  store.MarkDirty(0, "a");
  Checkpoint(store, *db);
  EXPECT_EQ(store.cached(), 0u);
  EXPECT_EQ(Bytes(*MustGet(store, "a")), Bytes(Expected(3, 3)));
}

TEST(StateUserStoreTest, PointersStayValidUntilAfterCommit) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 1);
  UserState* a = MustGet(store, "a");
  ApplyEvents(*a, 1, 3);
  store.MarkDirty(0, "a");
  // Many more users than the capacity, enough to rehash the map several times.
  for (int i = 0; i < 2000; ++i) MustGet(store, UserKey(i));
  EXPECT_EQ(MustGet(store, "a"), a);
  EXPECT_EQ(Bytes(*a), Bytes(Expected(1, 3)));
  Checkpoint(store, *db);
  EXPECT_EQ(Row(*db, "a"), Bytes(Expected(1, 3)));
}

TEST(StateUserStoreTest, EraseReplacesTheUsersRowWithAMarker) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 10);
  ApplyEvents(*MustGet(store, "gone"), 1, 5);
  store.MarkDirty(0, "gone");
  ApplyEvents(*MustGet(store, "kept"), 2, 5);
  store.MarkDirty(0, "kept");
  Checkpoint(store, *db);
  ASSERT_NE(Row(*db, "gone"), "<missing>");

  EXPECT_TRUE(store.Erase(0, "gone", 0).ok());
  EXPECT_TRUE(MustGet(store, "gone")->empty()) << "erased state is visible at once";
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 1u);
  ASSERT_TRUE(db->Commit(batch).ok());
  store.AfterCommit();
  EXPECT_EQ(Row(*db, "gone"), Marker(LastTs(1, 5))) << "the row is the marker: forgotten after the last event";
  EXPECT_EQ(Row(*db, "kept"), Bytes(Expected(2, 5)));
  EXPECT_EQ(store.TakeErasedKeys(), std::vector<std::string>{db->user_keys().Key(0, "gone")});

  UserStore fresh(db.get(), 10);
  EXPECT_TRUE(MustGet(fresh, "gone")->empty());
  EXPECT_EQ(MustGet(fresh, "gone")->forgotten_at_ms, LastTs(1, 5));
}

TEST(StateUserStoreTest, EraseOfUncachedUserReplacesTheRow) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  {
    UserStore writer(db.get(), 10);
    ApplyEvents(*MustGet(writer, "u"), 4, 4);
    writer.MarkDirty(0, "u");
    Checkpoint(writer, *db);
  }
  UserStore store(db.get(), 10);  // cold cache
  EXPECT_TRUE(store.Erase(0, "u", 0).ok());
  Checkpoint(store, *db);
  EXPECT_EQ(Row(*db, "u"), Marker(LastTs(4, 4))) << "the row was loaded to find the user's last event";
  EXPECT_TRUE(MustGet(store, "u")->empty());
}

TEST(StateUserStoreTest, EraseAfterChangeInSameBatchLeavesOnlyTheMarker) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 10);
  ApplyEvents(*MustGet(store, "u"), 1, 3);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);
  ApplyEvents(*MustGet(store, "u"), 2, 3);
  store.MarkDirty(0, "u");
  EXPECT_TRUE(store.Erase(0, "u", 0).ok());
  Checkpoint(store, *db);
  EXPECT_EQ(Row(*db, "u"), Marker(LastTs(2, 3)));
  EXPECT_TRUE(MustGet(store, "u")->empty());
}

TEST(StateUserStoreTest, ErasedUserCanComeBackInALaterBatch) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 10);
  ApplyEvents(*MustGet(store, "u"), 1, 3);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);
  EXPECT_TRUE(store.Erase(0, "u", 0).ok());
  Checkpoint(store, *db);
  UserState* u = MustGet(store, "u");
  ASSERT_TRUE(u->empty());
  ApplyEvents(*u, 7, 2);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);
  EXPECT_EQ(Row(*db, "u"), Bytes(ExpectedAfterForget(7, 2, LastTs(1, 3))));
}

// forget_user then an event of the same user in one batch: the row written is
// the user's new state (which remembers the erasure), not the marker.
TEST(StateUserStoreTest, EventAfterEraseInSameBatchIsKept) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 10);
  ApplyEvents(*MustGet(store, "u"), 1, 5);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);

  // One batch: forget_user, then a fresh event of the same user.
  EXPECT_TRUE(store.Erase(0, "u", 0).ok());
  UserState* u = MustGet(store, "u");
  ASSERT_TRUE(u->empty());
  ApplyEvents(*u, 8, 1);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);

  EXPECT_EQ(Row(*db, "u"), Bytes(ExpectedAfterForget(8, 1, LastTs(1, 5)))) << "the event after forget_user was lost";
  EXPECT_EQ(Bytes(*MustGet(store, "u")), Bytes(ExpectedAfterForget(8, 1, LastTs(1, 5))));
}

// Same case, in-memory mode (eval, tests).
TEST(StateUserStoreTest, InMemoryEventAfterEraseInSameBatchIsKept) {
  UserStore store(nullptr, 10);
  ApplyEvents(*MustGet(store, "u"), 1, 5);
  store.MarkDirty(0, "u");
  store.AfterCommit();
  EXPECT_TRUE(store.Erase(0, "u", 0).ok());
  ApplyEvents(*MustGet(store, "u"), 8, 1);
  store.MarkDirty(0, "u");
  store.AfterCommit();
  EXPECT_EQ(Bytes(*MustGet(store, "u")), Bytes(ExpectedAfterForget(8, 1, LastTs(1, 5))));
}

TEST(StateUserStoreTest, DropCacheDiscardsUncommittedChanges) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  UserStore store(db.get(), 10);
  ApplyEvents(*MustGet(store, "u"), 1, 3);
  store.MarkDirty(0, "u");
  Checkpoint(store, *db);

  ApplyEvents(*MustGet(store, "u"), 2, 3);  // a batch whose commit failed
  store.MarkDirty(0, "u");
  EXPECT_TRUE(store.Erase(0, "v", 0).ok());
  store.DropCache();
  EXPECT_EQ(store.cached(), 0u);
  rocksdb::WriteBatch batch;
  store.Flush(batch);
  EXPECT_EQ(batch.Count(), 0u) << "nothing dirty survives DropCache";
  // The next read is the last committed state.
  EXPECT_EQ(Bytes(*MustGet(store, "u")), Bytes(Expected(1, 3)));
}

TEST(StateUserStoreTest, CorruptRowIsCorruption) {
  TempDir tmp;
  auto db = Open(tmp);
  ASSERT_NE(db, nullptr);
  std::string good;
  EncodeUser(Expected(1, 3), good);
  for (const std::string& bad : {std::string(), std::string("\xff") + "rest" /* unknown version */, good.substr(0, good.size() - 1),
                                 good + "x"}) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(db->handle(Cf::kUsers), db->user_keys().Key(0, "bad"), bad).ok());
    ASSERT_TRUE(db->Commit(batch).ok());
    UserStore store(db.get(), 10);
    UserState* u = nullptr;
    auto s = store.Get(0, "bad", &u);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(store.cached(), 0u) << "an unreadable row is not cached as an empty user";
    // Other users are unaffected.
    EXPECT_TRUE(MustGet(store, "fine")->empty());
    // Asked to, the store resets the user and hands back the row's bytes;
    // the reset is dirty, so the next Flush replaces the row.
    std::string row;
    ASSERT_TRUE(store.Get(0, "bad", &u, &row).ok());
    EXPECT_EQ(row, bad);
    EXPECT_TRUE(u->empty());
    rocksdb::WriteBatch out;
    store.Flush(out);
    EXPECT_EQ(out.Count(), 1u);
  }
}

}  // namespace
}  // namespace recstream::state
