// IdDictionary: external string ids (items, categories) <-> dense uint32 ids.
// Ids are handed out in order of first appearance and never reused. New
// entries are persisted with the batch that created them (Flush).
//
// Concurrency: single writer (the processing thread). Limits: 2^32-1 ids.
#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/db.h"

namespace recstream::state {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class IdDictionary {
 public:
  // prefix separates dictionaries in the shared dict column family.
  explicit IdDictionary(char prefix) : prefix_(prefix) {}

  // Returns the id of name, or UINT32_MAX when unknown.
  uint32_t Find(std::string_view name) const {
    auto it = ids_.find(name);
    return it == ids_.end() ? UINT32_MAX : it->second;
  }
  // Returns the id of name, assigning the next one when it is new.
  uint32_t Intern(std::string_view name);
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

  void Flush(StateDb& db, rocksdb::WriteBatch& batch);  // new entries
  void ClearPending() { pending_from_ = names_.size(); }
  // Loads every entry of this dictionary. Corruption if ids are not dense.
  rocksdb::Status Load(const StateDb& db);

 private:
  char prefix_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
  size_t pending_from_ = 0;
};

}  // namespace recstream::state
