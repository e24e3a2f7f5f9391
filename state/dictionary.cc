#include "state/dictionary.h"

#include "state/codec.h"

namespace recstream::state {

uint32_t IdDictionary::Intern(std::string_view name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

void IdDictionary::Flush(StateDb& db, rocksdb::WriteBatch& batch) {
  std::string key, value;
  for (size_t id = pending_from_; id < names_.size(); ++id) {
    key.assign(1, prefix_);
    key.append(names_[id]);
    value.clear();
    Writer(value).Varint(id);
    batch.Put(db.handle(Cf::kDict), key, value).PermitUncheckedError();
  }
}

rocksdb::Status IdDictionary::Load(const StateDb& db) {
  ids_.clear();
  names_.clear();
  std::vector<std::pair<uint32_t, std::string>> rows;
  bool corrupt = false;
  auto s = db.Scan(Cf::kDict, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    if (k.empty() || k[0] != prefix_) return true;
    uint64_t id;
    Reader r(v.ToStringView());
    if (!r.Varint(id) || !r.at_end() || id >= UINT32_MAX) {
      corrupt = true;
      return false;
    }
    rows.emplace_back(static_cast<uint32_t>(id), std::string(k.data() + 1, k.size() - 1));
    return true;
  });
  if (!s.ok()) return s;
  names_.resize(rows.size());
  std::vector<bool> seen(rows.size(), false);
  for (auto& [id, name] : rows) {
    if (id >= rows.size() || seen[id]) {
      corrupt = true;
      break;
    }
    seen[id] = true;
    names_[id] = std::move(name);
  }
  if (corrupt) {
    names_.clear();
    return rocksdb::Status::Corruption(std::string("id dictionary '") + prefix_ + "' is not dense");
  }
  for (uint32_t id = 0; id < names_.size(); ++id) ids_.emplace(names_[id], id);
  pending_from_ = names_.size();
  return rocksdb::Status::OK();
}

}  // namespace recstream::state
