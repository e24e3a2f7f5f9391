#include "app/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "stream/json_writer.h"

namespace recstream::app {

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

GeneratedEvent Generator::Next() {
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
  e.event_id = "e" + std::to_string(next_id_++);
  e.user_id = "u" + std::to_string(uid);
  e.item_id = "i" + std::to_string(item);
  e.category_id = CategoryName(cat);
  e.ts_ms = now_ms_;
  return e;
}

}  // namespace recstream::app
