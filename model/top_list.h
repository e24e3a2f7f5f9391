// TopList: a bounded list of (key, log-weight) pairs, the building block of
// every decayed, bounded statistic in the model (co-occurrence neighbours,
// category transitions, popular items per category, user affinities).
//
// Capacity is fixed at construction by the owner; operations are linear in the
// size (sizes are tens to a few hundred), with no allocation once the vector
// has reached its capacity. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "model/decay.h"

namespace recstream::model {

template <typename Key>
class TopList {
 public:
  struct Entry {
    Key key;
    double log_weight;
  };

  // Adds a log-space increment to key. When the list is full and key is
  // absent, key replaces the lightest entry only if the increment alone
  // outweighs it (so fresh evidence displaces stale, decayed entries).
  // Order is total (weight, then the smaller key wins), so the content is a
  // pure function of the updates. Returns true when the list changed.
  bool Add(Key key, double log_increment, size_t capacity) {
    for (auto& e : entries_) {
      if (e.key == key) {
        e.log_weight = LogAddExp(e.log_weight, log_increment);
        return true;
      }
    }
    return Insert(key, log_increment, capacity);
  }

  // Like Add, but when the list is full and key is absent, key takes the
  // lightest entry's place with that entry's weight plus the increment (the
  // Space-Saving rule of Metwally et al.: an overestimate bounded by the
  // lightest weight). New keys always enter, so the list follows a stream
  // whose heavy keys change; Add keeps the first keys that filled it once
  // their weights exceed any single increment.
  bool AddSpaceSaving(Key key, double log_increment, size_t capacity) {
    for (auto& e : entries_) {
      if (e.key == key) {
        e.log_weight = LogAddExp(e.log_weight, log_increment);
        return true;
      }
    }
    if (entries_.size() < capacity) {
      entries_.push_back({key, log_increment});
      return true;
    }
    if (entries_.empty()) return false;
    Entry& lightest = entries_[Lightest()];
    lightest = {key, LogAddExp(lightest.log_weight, log_increment)};
    return true;
  }

  // Sets key's weight (the caller owns the counter, e.g. item popularity).
  bool Set(Key key, double log_weight, size_t capacity) {
    for (auto& e : entries_) {
      if (e.key == key) {
        e.log_weight = log_weight;
        return true;
      }
    }
    return Insert(key, log_weight, capacity);
  }

  bool Remove(Key key) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].key == key) {
        entries_[i] = entries_.back();
        entries_.pop_back();
        return true;
      }
    }
    return false;
  }

  double WeightOf(Key key) const {
    for (const auto& e : entries_)
      if (e.key == key) return e.log_weight;
    return kLogZero;
  }

  // Largest log weight, kLogZero when empty.
  double MaxWeight() const {
    double m = kLogZero;
    for (const auto& e : entries_) m = std::max(m, e.log_weight);
    return m;
  }

  // Copies the n heaviest entries, heaviest first, into out (cleared first).
  // Ties break on the smaller key so that the order is deterministic.
  void Top(size_t n, std::vector<Entry>& out) const {
    out.assign(entries_.begin(), entries_.end());
    n = std::min(n, out.size());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(),
                      [](const Entry& a, const Entry& b) {
                        return a.log_weight != b.log_weight ? a.log_weight > b.log_weight
                                                            : a.key < b.key;
                      });
    out.resize(n);
  }

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& mutable_entries() { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  static bool Worse(const Entry& a, const Entry& b) {
    return a.log_weight != b.log_weight ? a.log_weight < b.log_weight : a.key > b.key;
  }
  // REQUIRES: !entries_.empty(). The index of the entry that goes first.
  size_t Lightest() const {
    size_t min_i = 0;
    for (size_t i = 1; i < entries_.size(); ++i)
      if (Worse(entries_[i], entries_[min_i])) min_i = i;
    return min_i;
  }
  bool Insert(Key key, double log_weight, size_t capacity) {
    if (entries_.size() < capacity) {
      entries_.push_back({key, log_weight});
      return true;
    }
    if (entries_.empty()) return false;
    const size_t min_i = Lightest();
    if (!Worse(entries_[min_i], Entry{key, log_weight})) return false;
    entries_[min_i] = {key, log_weight};
    return true;
  }

  std::vector<Entry> entries_;
};

}  // namespace recstream::model
