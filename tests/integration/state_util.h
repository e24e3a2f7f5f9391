// Test helpers that run a processor on a thread and look at what it left behind: the events applied
// per user in its RocksDB state, its stored offsets, and the trigger event_id
// of every list on the output topic.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/generator.h"
#include "app/processor.h"
#include "state/db.h"
#include "state/model_codec.h"
#include "tests/integration/kafka_util.h"

namespace recstream::testing {

// Runs proc->Run on a thread of its own until Join() (or destruction, so a
// failed ASSERT does not leave a joinable thread behind).
class Running {
 public:
  explicit Running(app::Processor& p) : t_([this, &p] {
    result_ = p.Run(stop_);
    done_ = true;
  }) {}
  ~Running() { Join().PermitUncheckedError(); }
  bool done() const { return done_.load(); }
  // Asks the task to stop after its batch in flight, waits, returns Run's status.
  Status Join() {
    stop_ = true;
    if (t_.joinable()) t_.join();
    return result_;
  }

 private:
  std::atomic<bool> stop_{false}, done_{false};
  Status result_;
  std::thread t_;
};

struct StoredState {
  bool ok = false;
  uint64_t events = 0;   // sum over users of the events applied to them
  uint64_t users = 0;
  int64_t offsets = 0;   // sum of the stored next offsets
};

// Opens the (closed) state store at dir and sums what it holds.
inline StoredState ReadStoredState(const std::string& dir) {
  StoredState out;
  state::StateOptions so;
  so.dir = dir;
  std::unique_ptr<state::StateDb> db;
  if (!state::StateDb::Open(so, &db).ok()) return out;
  bool decoded = true;
  auto s = db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
    model::UserState u;
    decoded = decoded && state::DecodeUser(v.ToStringView(), u);
    out.events += u.events;
    ++out.users;
    return true;
  });
  state::OffsetMap offsets;
  if (!s.ok() || !decoded || !db->LoadOffsets(&offsets).ok()) return out;
  for (const auto& [tp, next] : offsets) out.offsets += next;
  out.ok = true;
  return out;
}

// trigger.event_id -> number of lists published for it.
inline std::map<std::string, int> ListsPerTrigger(const std::vector<Message>& lists) {
  std::map<std::string, int> out;
  simdjson::dom::parser parser;
  for (const auto& m : lists) {
    if (!m.value) continue;
    simdjson::dom::element doc;
    std::string_view id;
    if (parser.parse(*m.value).get(doc) != simdjson::SUCCESS || doc["trigger"]["event_id"].get(id) != simdjson::SUCCESS)
      continue;
    ++out[std::string(id)];
  }
  return out;
}

// n generated shop events (key = user id), event_ids prefixed so that
// several batches of one test never share an id.
inline std::vector<std::pair<std::string, std::optional<std::string>>> GeneratedEvents(
    size_t n, uint64_t seed, const std::string& id_prefix, std::vector<std::string>* ids = nullptr) {
  app::GeneratorOptions g;
  g.seed = seed;
  g.users = 300;
  g.items = 3000;
  g.categories = 12;
  app::Generator gen(g);
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (size_t i = 0; i < n; ++i) {
    auto e = gen.Next();
    e.event_id = id_prefix + e.event_id;
    if (ids) ids->push_back(e.event_id);
    out.emplace_back(e.user_id, e.ToJson());
  }
  return out;
}

}  // namespace recstream::testing
