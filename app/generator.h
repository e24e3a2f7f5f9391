// Generator: a simulated shop that writes events in the input schema, with a
// planted structure the model should recover. Two worlds:
//
// World::kSimple (the default; its output for a seed never changes):
//  - categories have `complements` planted complement categories; a buyer in
//    category c next shops, with probability complement_follow, in one of c's
//    complements (phone -> case, charger, earphones);
//  - item popularity is long-tailed (Zipf) within each category;
//  - each user has a few interest categories.
//
// World::kHard (`gen --world hard`; GeneratorOptions::Hard() has its
// defaults), the same kind of structure buried in what makes real shops hard:
//  - categories are grouped into departments (category c is in department
//    c % departments); a user is interested in 2-3 departments and in a few
//    categories of each;
//  - category popularity is Zipf too (over a seeded random ranking), and the
//    `hubs` most popular categories are visited by everyone: they follow
//    every category by base rate alone, have no complements and are nobody's
//    complement (the trap of raw transition counts);
//  - 2-4 complements per category, each with its own strength (weight),
//    mostly in the category's department; the category right after a
//    purchase is, with probability complement_follow, a complement chosen by
//    those weights;
//  - a user's events come in sessions (seconds apart within, hours between);
//    within a session the user re-views items, now and then jumps to an
//    unrelated random category (noise), and carts items that are mostly
//    bought a few events later, in the same or the next session;
//  - event ids include the seed, so streams of two seeds can be mixed.
//
// Deterministic for a seed (own PRNG and distributions: identical on every
// platform). Events come out in time order, one user's events in order.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace recstream::app {

enum class World {
  kSimple,  // the original shop; byte-identical output for a seed
  kHard,    // departments, category Zipf, hubs, sessions, noise, cart-then-buy
};

struct GeneratorOptions {
  // Which shop. Default: kSimple. Hard() gives the hard world's defaults.
  World world = World::kSimple;

  // --- Both worlds ---
  uint64_t seed = 42;
  size_t users = 5000;              // Default: 5000 (hard world: 20000)
  size_t items = 20000;             // Default: 20000 (hard world: 30000); split evenly over the categories
  size_t categories = 40;           // Default: 40 (hard world: 120)
  double zipf_s = 1.1;              // item popularity exponent within a category. Default: 1.1
  double complement_follow = 0.7;   // P(next category is a complement | purchase). Default: 0.7 (hard world: 0.5)
  double cart_rate = 0.12;          // P(cart | view). Default: 0.12 (hard world: P(a browsing step carts), 0.1)
  // Simple: P(purchase | cart), per event while an item is carted. Hard: P(a
  // carted item is bought at all; the rest are abandoned). Default: 0.5 (hard world: 0.7)
  double purchase_rate = 0.5;
  int64_t start_ts_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

  // --- Simple world only ---
  size_t complements = 3;           // planted complements per category. Default: 3
  size_t interests = 3;             // interest categories per user. Default: 3
  double mean_gap_ms = 20;          // mean time between two events of the shop. Default: 20

  // --- Hard world only ---
  size_t departments = 8;           // departments; category c is in department c % departments. Default: 8
  size_t user_departments_min = 2;  // departments a user is interested in: uniform in [min, max]. Default: 2
  size_t user_departments_max = 3;  // Default: 3
  // Interest categories per user department, drawn by popularity; a browsing
  // segment picks among a user's interests by the square root of it. Default: 3
  size_t department_interests = 3;
  double category_zipf_s = 1.0;     // category popularity exponent over a seeded ranking. Default: 1.0
  size_t hubs = 3;                  // the most popular categories: no complements, nobody's complement. Default: 3
  double hub_visit = 0.2;           // P(a new browsing segment is in a hub; by sqrt of popularity). Default: 0.2
  size_t complements_min = 2;       // complements per category: uniform in [min, max]. Default: 2
  size_t complements_max = 4;       // Default: 4
  double complement_same_department = 0.8;  // P(a complement is drawn from the category's department). Default: 0.8
  double noise = 0.1;               // P(per step, a jump to a uniformly random category for 1-2 events). Default: 0.1
  double repeat_view = 0.25;        // P(a browsing step re-views an item seen earlier in the session). Default: 0.25
  double cart_buy_step = 0.25;      // P(per step, buying a carted item, 2+ events after carting it). Default: 0.25
  double direct_purchase_rate = 0.01;  // P(a browsing step buys an item without carting it). Default: 0.01
  double session_events = 8;        // mean events per session (geometric, at least 1). Default: 8
  double session_gap_mean_ms = 4 * 3'600'000.0;  // mean gap between sessions beyond the minimum, for a user of
                                                 // average activity (busier users: shorter). Default: 4 h
  int64_t session_gap_min_ms = 30 * 60'000;  // minimum gap between two sessions of a user. Default: 30 min
  double event_gap_mean_ms = 15'000;  // mean gap between two events of a session (exponential). Default: 15 s
  double user_activity_s = 0.5;     // user activity exponent (user u's rate ~ (u+1)^-s). Default: 0.5

  // The hard world's defaults (world = kHard, 20000 users, 30000 items, 120
  // categories, complement_follow 0.5, cart_rate 0.1, purchase_rate 0.7).
  static GeneratorOptions Hard();
};

struct GeneratedEvent {
  std::string event_id, user_id, item_id, category_id, type;
  int64_t ts_ms;
  std::string ToJson() const;
};

// Operation: construct, then Next() as often as wanted (an endless stream).
// Concurrency: none; one thread uses a generator at a time.
class Generator {
 public:
  explicit Generator(const GeneratorOptions& opt);
  GeneratedEvent Next();
  // The planted complements of category index c (as category ids "cNN").
  // Hard world: 2-4 per category, none for hubs.
  const std::vector<std::vector<size_t>>& complements() const { return complements_; }
  // The strength of each planted complement (parallel to complements(), each
  // category's weights sum to 1). Simple world: equal weights.
  const std::vector<std::vector<double>>& complement_weights() const { return complement_weights_; }
  // Hard world: the hub categories, most popular first (empty in the simple world).
  const std::vector<size_t>& hubs() const { return hubs_; }
  // Hard world: the department of category c.
  size_t department(size_t c) const { return c % opt_.departments; }
  // The options in effect (categories and departments clamped to what works).
  const GeneratorOptions& options() const { return opt_; }
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
  struct CartEntry {
    size_t item;
    uint64_t session;  // the user's session in which it was carted
    int events_since;  // the user's events since it was carted
  };
  struct HardUser {
    std::vector<size_t> interests;
    std::vector<double> interest_cdf;  // popularity-weighted, cumulative, ends at 1
    double gap_mean_ms = 0;            // exponential part of the gap between sessions
    uint64_t session = 0;              // sessions started
    int session_left = 0;              // events left in the current session
    int64_t current = -1;              // category of the browsing segment
    int views_left = 0;                // events left in the segment
    int64_t last_item = -1;            // last item viewed in the segment
    int64_t follow = -1;               // category just bought: the next event follows it
    std::vector<size_t> seen;          // items viewed this session (repeat views)
    std::vector<CartEntry> cart;       // carted items that will be bought
  };
  uint64_t Rand();
  double Uniform() { return static_cast<double>(Rand() >> 11) * 0x1.0p-53; }
  size_t Below(size_t n) { return static_cast<size_t>(Uniform() * static_cast<double>(n)) % n; }
  double Exponential(double mean) { return -std::log(1.0 - Uniform()) * mean; }
  size_t PickItem(size_t category);
  size_t PickCategory(UserState& u);
  GeneratedEvent NextSimple();

  void InitHard();
  GeneratedEvent NextHard();
  // Index drawn with probability weights[i] / sum (linear scan; small n).
  size_t PickWeighted(const std::vector<double>& weights);
  // Index drawn from a cumulative, unnormalised weight vector (binary search).
  // REQUIRES: !cdf.empty(), cdf.back() > 0.
  size_t PickCdf(const std::vector<double>& cdf);
  void StartSegment(HardUser& u, size_t category, int events);
  size_t PickSegmentCategory(HardUser& u);

  GeneratorOptions opt_;
  uint64_t state_;
  std::vector<std::vector<size_t>> complements_;
  std::vector<std::vector<double>> complement_weights_;
  std::vector<double> zipf_cdf_;  // shared shape: items ranked within a category
  size_t items_per_category_;
  std::vector<UserState> users_;
  std::vector<double> user_cdf_;  // user activity is long-tailed too
  int64_t now_ms_;
  uint64_t next_id_ = 0;

  // Hard world.
  std::vector<double> category_weight_;  // Zipf popularity of each category
  std::vector<size_t> hubs_;
  std::vector<double> hub_weight_;       // parallel to hubs_
  std::vector<HardUser> hard_users_;
  // Next event time of every user: a min-heap of (ts, user).
  std::vector<std::pair<int64_t, size_t>> heap_;
  std::string id_prefix_;                // "e<seed>-"
};

}  // namespace recstream::app
