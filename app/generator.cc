#include "app/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "stream/json_writer.h"

namespace recstream::app {
namespace {

bool Contains(const std::vector<size_t>& v, size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

constexpr int kTries = 64;  // rejection-sampling draws before giving up on a pick

}  // namespace

std::string GeneratedEvent::ToJson() const {
  std::string out;
  stream::JsonWriter w(out);
  w.BeginObject();
  w.Key("event_id").String(event_id);
  w.Key("user_id").String(user_id);
  w.Key("item_id").String(item_id);
  w.Key("category_id").String(category_id);
  w.Key("type").String(type);
  w.Key("ts").Int(ts_ms);
  w.EndObject();
  return out;
}

std::string Generator::CategoryName(size_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%02zu", c);
  return buf;
}

uint64_t Generator::Rand() {
  // splitmix64: tiny, fast, and the same on every platform.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Generator::Generator(const GeneratorOptions& opt) : opt_(opt), state_(opt.seed), now_ms_(opt.start_ts_ms) {
  if (opt_.world == World::kHard) {
    InitHard();
    return;
  }
  const size_t C = std::max<size_t>(opt_.categories, 2);
  opt_.categories = C;
  const size_t comps = std::min(opt_.complements, C - 1);
  complements_.resize(C);
  for (size_t c = 0; c < C; ++c) {
    while (complements_[c].size() < comps) {
      const size_t d = Below(C);
      if (d != c && std::find(complements_[c].begin(), complements_[c].end(), d) == complements_[c].end())
        complements_[c].push_back(d);
    }
  }
  items_per_category_ = std::max<size_t>(opt_.items / C, 1);
  zipf_cdf_.resize(items_per_category_);
  double sum = 0;
  for (size_t i = 0; i < items_per_category_; ++i) zipf_cdf_[i] = (sum += 1.0 / std::pow(i + 1.0, opt_.zipf_s));
  for (auto& x : zipf_cdf_) x /= sum;
  users_.resize(std::max<size_t>(opt_.users, 1));
  user_cdf_.resize(users_.size());
  sum = 0;
  for (size_t u = 0; u < users_.size(); ++u) {
    user_cdf_[u] = (sum += 1.0 / std::pow(u + 1.0, 0.5));
    auto& us = users_[u];
    while (us.interests.size() < std::min(opt_.interests, C)) {
      const size_t c = Below(C);
      if (std::find(us.interests.begin(), us.interests.end(), c) == us.interests.end()) us.interests.push_back(c);
    }
  }
  for (auto& x : user_cdf_) x /= sum;
  complement_weights_.resize(C);
  for (size_t c = 0; c < C; ++c)
    complement_weights_[c].assign(complements_[c].size(), 1.0 / static_cast<double>(complements_[c].size()));
}

size_t Generator::PickItem(size_t category) {
  const double r = Uniform();
  const size_t rank = static_cast<size_t>(std::lower_bound(zipf_cdf_.begin(), zipf_cdf_.end(), r) - zipf_cdf_.begin());
  return category * items_per_category_ + std::min(rank, items_per_category_ - 1);
}

size_t Generator::PickCategory(UserState& u) {
  if (u.last_purchase >= 0 && Uniform() < opt_.complement_follow) {
    const auto& comps = complements_[static_cast<size_t>(u.last_purchase)];
    if (!comps.empty()) return comps[Below(comps.size())];
  }
  if (Uniform() < 0.8) return u.interests[Below(u.interests.size())];
  return Below(opt_.categories);
}

GeneratedEvent Generator::Next() { return opt_.world == World::kHard ? NextHard() : NextSimple(); }

GeneratedEvent Generator::NextSimple() {
  const double r = Uniform();
  const size_t uid =
      std::min(static_cast<size_t>(std::lower_bound(user_cdf_.begin(), user_cdf_.end(), r) - user_cdf_.begin()),
               users_.size() - 1);
  UserState& u = users_[uid];
  // Exponential gaps: a Poisson stream of events.
  now_ms_ += static_cast<int64_t>(std::ceil(-std::log(1.0 - Uniform()) * opt_.mean_gap_ms));

  if (u.current < 0 || u.views_left <= 0) {
    u.current = static_cast<int64_t>(PickCategory(u));
    u.views_left = 2 + static_cast<int>(Below(6));
    u.carted = false;
  }
  const size_t cat = static_cast<size_t>(u.current);
  GeneratedEvent e;
  size_t item;
  if (u.carted && Uniform() < opt_.purchase_rate) {
    item = u.carted_item;
    e.type = "purchase";
    u.last_purchase = u.current;
    u.current = -1;  // the next event starts a new (likely complement) session
    u.carted = false;
  } else if (!u.carted && Uniform() < opt_.cart_rate) {
    item = PickItem(cat);
    e.type = "cart";
    u.carted = true;
    u.carted_item = item;
  } else {
    item = PickItem(cat);
    e.type = Uniform() < 0.3 ? "click" : "view";
    --u.views_left;
  }
  // The seed in the id: streams of two seeds sent to one topic (the docker
  // README's "more events") do not collide as duplicates; "s" keeps them
  // apart from the hard world's "e<seed>-<n>".
  e.event_id = "s" + std::to_string(opt_.seed) + "-" + std::to_string(next_id_++);
  e.user_id = "u" + std::to_string(uid);
  e.item_id = "i" + std::to_string(item);
  e.category_id = CategoryName(cat);
  e.ts_ms = now_ms_;
  return e;
}


// ---------------------------------------------------------------------------
// The hard world.

GeneratorOptions GeneratorOptions::Hard() {
  GeneratorOptions o;
  o.world = World::kHard;
  o.users = 20000;
  o.items = 30000;
  o.categories = 120;
  o.complement_follow = 0.5;
  o.cart_rate = 0.1;
  o.purchase_rate = 0.7;
  return o;
}

size_t Generator::PickCdf(const std::vector<double>& cdf) {
  const double r = Uniform() * cdf.back();
  const size_t i = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), r) - cdf.begin());
  return std::min(i, cdf.size() - 1);
}

size_t Generator::PickWeighted(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double r = Uniform() * total;
  size_t last = 0;  // the last index with a positive weight (rounding fallback)
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    if (r < weights[i]) return i;
    r -= weights[i];
    last = i;
  }
  return last;
}

void Generator::InitHard() {
  const size_t C = std::max<size_t>(opt_.categories, 2);
  opt_.categories = C;
  opt_.departments = std::clamp<size_t>(opt_.departments, 1, C);
  const size_t D = opt_.departments;
  opt_.hubs = std::min(opt_.hubs, C - 2);  // at least two categories left to complement each other
  const size_t H = opt_.hubs;
  id_prefix_ = "e" + std::to_string(opt_.seed) + "-";

  // Category popularity: Zipf over a seeded ranking (Fisher-Yates), so that
  // the category id says nothing about it. The top H ranks are the hubs.
  std::vector<size_t> by_rank(C);
  for (size_t c = 0; c < C; ++c) by_rank[c] = c;
  for (size_t i = C - 1; i > 0; --i) std::swap(by_rank[i], by_rank[Below(i + 1)]);
  category_weight_.assign(C, 0);
  for (size_t r = 0; r < C; ++r) category_weight_[by_rank[r]] = 1.0 / std::pow(r + 1.0, opt_.category_zipf_s);
  std::vector<bool> is_hub(C, false);
  for (size_t r = 0; r < H; ++r) {
    hubs_.push_back(by_rank[r]);
    hub_weight_.push_back(std::sqrt(category_weight_[by_rank[r]]));
    is_hub[by_rank[r]] = true;
  }
  std::vector<std::vector<size_t>> members(D);  // non-hub categories of each department
  for (size_t c = 0; c < C; ++c)
    if (!is_hub[c]) members[c % D].push_back(c);

  // Complements: kmin..kmax per non-hub category, mostly from its own
  // department, never a hub; the j-th drawn is about 1/j as strong, times a
  // random factor in [0.5, 1.5); weights normalised to sum 1. Drawn by
  // rejection (linear in the categories); a tiny shop may get fewer.
  std::vector<size_t> non_hubs;
  for (size_t c = 0; c < C; ++c)
    if (!is_hub[c]) non_hubs.push_back(c);
  complements_.assign(C, {});
  complement_weights_.assign(C, {});
  const size_t kmin = std::max<size_t>(1, std::min(opt_.complements_min, opt_.complements_max));
  const size_t kmax = std::max(kmin, opt_.complements_max);
  for (size_t c = 0; c < C; ++c) {
    if (is_hub[c]) continue;
    const auto& same = members[c % D];
    const size_t k = kmin + Below(kmax - kmin + 1);
    auto& comps = complements_[c];
    auto& w = complement_weights_[c];
    for (size_t j = 0; j < k; ++j) {
      bool from_same = Uniform() < opt_.complement_same_department;
      int64_t pick = -1;
      for (int pass = 0; pass < 2 && pick < 0; ++pass, from_same = !from_same)  // then the other pool
        for (int t = 0; t < kTries && pick < 0; ++t) {
          const size_t d = from_same ? same[Below(same.size())] : non_hubs[Below(non_hubs.size())];
          if (d != c && (from_same || d % D != c % D) && !Contains(comps, d)) pick = static_cast<int64_t>(d);
        }
      if (pick < 0) break;
      comps.push_back(static_cast<size_t>(pick));
      w.push_back((0.5 + Uniform()) / static_cast<double>(comps.size()));
    }
    double sum = 0;
    for (double x : w) sum += x;
    for (auto& x : w) x /= sum;
  }

  items_per_category_ = std::max<size_t>(opt_.items / C, 1);
  zipf_cdf_.resize(items_per_category_);
  double sum = 0;
  for (size_t i = 0; i < items_per_category_; ++i) zipf_cdf_[i] = (sum += 1.0 / std::pow(i + 1.0, opt_.zipf_s));
  for (auto& x : zipf_cdf_) x /= sum;

  // Users: long-tailed activity (the gap between sessions shrinks with it),
  // a few departments (popularity-weighted) and popular categories in each.
  const size_t U = std::max<size_t>(opt_.users, 1);
  hard_users_.resize(U);
  std::vector<double> activity(U);
  sum = 0;
  for (size_t u = 0; u < U; ++u) sum += activity[u] = 1.0 / std::pow(u + 1.0, opt_.user_activity_s);
  const double mean_activity = sum / static_cast<double>(U);
  // Cumulative popularity of the departments and of the categories in each.
  std::vector<std::vector<double>> member_cdf(D);
  std::vector<double> department_cdf(D);
  sum = 0;
  for (size_t d = 0; d < D; ++d) {
    double in = 0;
    for (size_t c : members[d]) member_cdf[d].push_back(in += category_weight_[c]);
    department_cdf[d] = (sum += in);
  }
  const size_t dmin = std::clamp<size_t>(opt_.user_departments_min, 1, D);
  const size_t dmax = std::clamp<size_t>(opt_.user_departments_max, dmin, D);
  heap_.reserve(U);
  std::vector<size_t> departments;
  for (size_t u = 0; u < U; ++u) {
    HardUser& us = hard_users_[u];
    us.gap_mean_ms = opt_.session_gap_mean_ms * mean_activity / activity[u];
    // Departments and categories without replacement, by rejection.
    departments.clear();
    const size_t nd = dmin + Below(dmax - dmin + 1);
    us.interests.reserve(nd * opt_.department_interests);
    for (size_t j = 0; j < nd; ++j)
      for (int t = 0; t < kTries; ++t) {
        const size_t d = PickCdf(department_cdf);
        if (Contains(departments, d)) continue;
        departments.push_back(d);
        break;
      }
    for (size_t d : departments) {
      const size_t want = std::min(opt_.department_interests, members[d].size());
      size_t got = 0;
      for (size_t t = 0; got < want && t < kTries * want; ++t) {
        const size_t c = members[d][PickCdf(member_cdf[d])];
        if (Contains(us.interests, c)) continue;
        us.interests.push_back(c);
        ++got;
      }
    }
    if (us.interests.empty()) us.interests.push_back(by_rank[H]);  // department_interests = 0
    sum = 0;
    us.interest_cdf.reserve(us.interests.size());
    for (size_t c : us.interests) us.interest_cdf.push_back(sum += std::sqrt(category_weight_[c]));
    for (auto& x : us.interest_cdf) x /= sum;
    const double first = std::ceil(Exponential(us.gap_mean_ms + static_cast<double>(opt_.session_gap_min_ms)));
    heap_.emplace_back(opt_.start_ts_ms + static_cast<int64_t>(first), u);
  }
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>());
}

void Generator::StartSegment(HardUser& u, size_t category, int events) {
  u.current = static_cast<int64_t>(category);
  u.views_left = events;
  u.last_item = -1;
}

size_t Generator::PickSegmentCategory(HardUser& u) {
  if (!hubs_.empty() && Uniform() < opt_.hub_visit) return hubs_[PickWeighted(hub_weight_)];
  const double r = Uniform();
  const size_t i = static_cast<size_t>(std::lower_bound(u.interest_cdf.begin(), u.interest_cdf.end(), r) -
                                       u.interest_cdf.begin());
  return u.interests[std::min(i, u.interests.size() - 1)];
}

GeneratedEvent Generator::NextHard() {
  // The user whose next event is earliest (ties: the lower user index).
  std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
  const auto [ts, uid] = heap_.back();
  HardUser& u = hard_users_[uid];
  const size_t C = opt_.categories;

  if (u.session_left <= 0) {  // a new session, of geometric length >= 1
    ++u.session;
    const double p_end = 1.0 / std::max(opt_.session_events, 1.0);
    double extra = 0;
    if (p_end < 1) extra = std::min(1000.0, std::floor(std::log(1.0 - Uniform()) / std::log(1.0 - p_end)));
    u.session_left = 1 + static_cast<int>(extra);
    u.current = -1;
    u.views_left = 0;
    u.last_item = -1;
    u.seen.clear();
    // Carted items are bought in the session they were carted in or the next.
    std::erase_if(u.cart, [&](const CartEntry& c) { return c.session + 1 < u.session; });
  }
  for (auto& c : u.cart) ++c.events_since;

  GeneratedEvent e;
  size_t item;
  bool purchase = false, viewed = false;
  auto buyable = std::find_if(u.cart.begin(), u.cart.end(), [](const CartEntry& c) { return c.events_since >= 2; });
  if (u.follow >= 0) {
    // Right after a purchase: a complement (by strength) or the usual choice.
    const size_t bought = static_cast<size_t>(u.follow);
    u.follow = -1;
    size_t cat;
    if (!complements_[bought].empty() && Uniform() < opt_.complement_follow)
      cat = complements_[bought][PickWeighted(complement_weights_[bought])];
    else
      cat = PickSegmentCategory(u);
    StartSegment(u, cat, 2 + static_cast<int>(Below(5)));
    item = PickItem(cat);
    viewed = true;
  } else if (buyable != u.cart.end() && Uniform() < opt_.cart_buy_step) {
    item = buyable->item;
    u.cart.erase(buyable);
    purchase = true;
  } else if (Uniform() < opt_.noise) {
    // A jump to an unrelated random category, for an event or two.
    size_t cat = Below(C);
    if (static_cast<int64_t>(cat) == u.current) cat = (cat + 1 + Below(C - 1)) % C;
    StartSegment(u, cat, 1 + static_cast<int>(Below(2)));
    item = PickItem(cat);
    viewed = true;
  } else {
    if (u.current < 0 || u.views_left <= 0) StartSegment(u, PickSegmentCategory(u), 2 + static_cast<int>(Below(5)));
    const size_t cat = static_cast<size_t>(u.current);
    const double r = Uniform();
    if (r < opt_.cart_rate && u.last_item >= 0) {
      // The item just looked at; bought later unless abandoned.
      item = static_cast<size_t>(u.last_item);
      e.type = "cart";
      u.last_item = -1;
      if (Uniform() < opt_.purchase_rate && u.cart.size() < 8) u.cart.push_back({item, u.session, 0});
    } else if (r >= opt_.cart_rate && r < opt_.cart_rate + opt_.direct_purchase_rate) {
      item = PickItem(cat);
      purchase = true;
    } else if (!u.seen.empty() && Uniform() < opt_.repeat_view) {
      item = u.seen[Below(u.seen.size())];
      viewed = true;
    } else {
      item = PickItem(cat);
      viewed = true;
    }
  }
  const size_t cat = item / items_per_category_;
  if (purchase) {
    e.type = "purchase";
    u.follow = complements_[cat].empty() ? -1 : static_cast<int64_t>(cat);  // a hub: nothing to follow
    u.current = -1;
    u.views_left = 0;
    u.last_item = -1;
  } else {
    --u.views_left;
  }
  if (viewed) {
    e.type = Uniform() < 0.3 ? "click" : "view";
    if (std::find(u.seen.begin(), u.seen.end(), item) == u.seen.end() && u.seen.size() < 64) u.seen.push_back(item);
    u.last_item = static_cast<int64_t>(item);
  }

  // When this user's next event comes: seconds later within the session,
  // at least session_gap_min_ms (plus an exponential part) after its end.
  --u.session_left;
  double gap = std::ceil(Exponential(opt_.event_gap_mean_ms));
  if (u.session_left <= 0)
    gap = static_cast<double>(opt_.session_gap_min_ms) + std::ceil(Exponential(u.gap_mean_ms));
  heap_.back() = {ts + static_cast<int64_t>(gap), uid};
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());

  e.event_id = id_prefix_ + std::to_string(next_id_++);
  e.user_id = "u" + std::to_string(uid);
  e.item_id = "i" + std::to_string(item);
  e.category_id = CategoryName(cat);
  e.ts_ms = ts;
  return e;
}

}  // namespace recstream::app
