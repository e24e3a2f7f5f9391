// Forward-decayed counters kept in log space.
//
// A counter that decays with half-life H is stored as L = log(sum_k w_k *
// exp((t_k - t0) / tau)), tau = H / ln 2. Its value at time t is
// exp(L - (t - t0) / tau). Adding an observation never touches other counters,
// and two counters compare by L alone, at any time: rankings need no rescans
// and the result is a pure function of the events (deterministic on replay).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace recstream::model {

inline constexpr double kLogZero = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)) without overflow.
inline double LogAddExp(double a, double b) {
  if (a == kLogZero) return b;
  if (b == kLogZero) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}

// Converts event times into log-space increments for one half-life.
class DecayClock {
 public:
  // REQUIRES: half_life_ms > 0.
  DecayClock(double half_life_ms, int64_t origin_ms)
      : inv_tau_(std::log(2.0) / half_life_ms), origin_ms_(origin_ms) {}

  // The log-space increment of weight w observed at time t.
  double Increment(double weight, int64_t t_ms) const {
    return std::log(weight) + static_cast<double>(t_ms - origin_ms_) * inv_tau_;
  }
  // The decayed value at time t of a counter holding log value l.
  double ValueAt(double l, int64_t t_ms) const {
    if (l == kLogZero) return 0.0;
    return std::exp(l - static_cast<double>(t_ms - origin_ms_) * inv_tau_);
  }
  int64_t origin_ms() const { return origin_ms_; }

 private:
  double inv_tau_;
  int64_t origin_ms_;
};

}  // namespace recstream::model
