// Generator: a simulated shop that writes events in the input schema, with a
// planted structure the model should recover:
//  - categories have `complements` planted complement categories; a buyer in
//    category c next shops, with probability complement_follow, in one of c's
//    complements (phone -> case, charger, earphones);
//  - item popularity is long-tailed (Zipf) within each category;
//  - each user has a few interest categories.
// Deterministic for a seed (own PRNG and distributions: identical on every
// platform). Events come out in time order, one user's events in order.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace recstream::app {

struct GeneratorOptions {
  uint64_t seed = 42;
  size_t users = 5000;
  size_t items = 20000;
  size_t categories = 40;
  size_t complements = 3;         // planted complements per category
  size_t interests = 3;           // interest categories per user
  double zipf_s = 1.1;            // item popularity exponent
  double complement_follow = 0.7; // P(next category is a complement | purchase)
  double cart_rate = 0.12;        // P(cart | view)
  double purchase_rate = 0.5;     // P(purchase | cart)
  int64_t start_ts_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  double mean_gap_ms = 20;        // mean time between two events of the shop
};

struct GeneratedEvent {
  std::string event_id, user_id, item_id, category_id, type;
  int64_t ts_ms;
  std::string ToJson() const;
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& opt);
  GeneratedEvent Next();
  // The planted complements of category index c (as category ids "cNN").
  const std::vector<std::vector<size_t>>& complements() const { return complements_; }
  static std::string CategoryName(size_t c);

 private:
  struct UserState {
    std::vector<size_t> interests;
    int64_t current = -1;       // category being browsed
    int64_t last_purchase = -1; // category of the last purchase
    int views_left = 0;
    bool carted = false;
    size_t carted_item = 0;
  };
  uint64_t Rand();
  double Uniform() { return static_cast<double>(Rand() >> 11) * 0x1.0p-53; }
  size_t Below(size_t n) { return static_cast<size_t>(Uniform() * static_cast<double>(n)) % n; }
  size_t PickItem(size_t category);
  size_t PickCategory(UserState& u);

  GeneratorOptions opt_;
  uint64_t state_;
  std::vector<std::vector<size_t>> complements_;
  std::vector<double> zipf_cdf_;  // shared shape: items ranked within a category
  size_t items_per_category_;
  std::vector<UserState> users_;
  std::vector<double> user_cdf_;  // user activity is long-tailed too
  int64_t now_ms_;
  uint64_t next_id_ = 0;
};

}  // namespace recstream::app
