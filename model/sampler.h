// Negative sampling over a changing distribution.
//
// FenwickSampler keeps one integer weight per slot in a Fenwick (binary
// indexed) tree: setting a weight, appending a slot and drawing a slot with
// probability weight / total are all O(log n), so the popularity^0.75
// distribution of the trainer follows the stream event by event without the
// O(n) rebuild of a unigram table. Integer weights make the sums exact: the
// tree is the same whatever order the weights were set in (a restored model
// draws exactly what the uninterrupted one would).
//
// SplitMix64 is the random source: tiny, fast, and reproducible from a
// counter, so training is a pure function of the event sequence.
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace recstream::model {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : x_(seed) {}
  uint64_t Next() {
    uint64_t z = (x_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t x_;
};

class FenwickSampler {
 public:
  size_t size() const { return weights_.size(); }
  uint64_t total() const { return total_; }
  uint64_t weight(size_t slot) const { return weights_[slot]; }

  // Sets the weight of slot, appending slots (weight 0) up to it as needed.
  void Set(size_t slot, uint64_t w) {
    while (weights_.size() <= slot) Append();
    const uint64_t old = weights_[slot];
    if (w == old) return;
    weights_[slot] = w;
    total_ = total_ - old + w;
    // Unsigned wrap-around makes the subtraction exact.
    for (size_t i = slot + 1; i <= tree_.size(); i += i & (~i + 1)) tree_[i - 1] = tree_[i - 1] - old + w;
  }

  // A slot drawn with probability weight / total, or SIZE_MAX when every
  // weight is zero. r is a uniform 64-bit random number.
  size_t Sample(uint64_t r) const {
    if (total_ == 0) return SIZE_MAX;
    uint64_t rest = r % total_;
    size_t pos = 0;  // slots skipped so far
    size_t step = 1;
    while (step * 2 <= tree_.size()) step *= 2;
    for (; step > 0; step /= 2) {
      if (pos + step <= tree_.size() && tree_[pos + step - 1] <= rest) {
        pos += step;
        rest -= tree_[pos - 1];
      }
    }
    return pos;  // rest < weights_[pos], so weights_[pos] > 0
  }

  void Clear() {
    weights_.clear();
    tree_.clear();
    total_ = 0;
  }

 private:
  // Appends slot n = size() with weight 0: node n (1-based) covers
  // (n - lowbit(n), n], the sum of its children's nodes.
  void Append() {
    weights_.push_back(0);
    const size_t n = weights_.size();
    uint64_t sum = 0;
    const size_t low = n & (~n + 1);
    for (size_t child = n - 1; child > n - low; child -= child & (~child + 1)) sum += tree_[child - 1];
    tree_.push_back(sum);
  }

  std::vector<uint64_t> weights_;
  std::vector<uint64_t> tree_;
  uint64_t total_ = 0;
};

}  // namespace recstream::model
