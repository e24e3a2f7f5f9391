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

// Converts times into log-space increments for one half-life. The time is
// whatever clock the owner chose, in the half-life's unit: event time in ms,
// or an activity clock (events seen by the model, by one item, by one user;
// see ItemModelOptions::activity_clock).
class DecayClock {
 public:
  // REQUIRES: half_life > 0.
  DecayClock(double half_life, double origin) : inv_tau_(std::log(2.0) / half_life), origin_(origin) {}

  // The log-space increment of weight w observed at time t.
  double Increment(double weight, double t) const { return std::log(weight) + (t - origin_) * inv_tau_; }
  // The decayed value at time t of a counter holding log value l.
  double ValueAt(double l, double t) const {
    if (l == kLogZero) return 0.0;
    return std::exp(l - (t - origin_) * inv_tau_);
  }
  double origin() const { return origin_; }

 private:
  double inv_tau_;
  double origin_;
};

}  // namespace recstream::model
