#include "model/baselines.h"

#include <algorithm>
#include <cmath>

namespace recstream::model {

namespace {

// Neighbours kept per item by the co-occurrence baselines: the exact 100
// strongest, five times a list of 20, so a list summed over three items
// is not cut short by the cap.
constexpr size_t kNeighbours = 100;
// Successor categories kept per category (the list uses the first 3).
constexpr size_t kSuccessorsKept = 8;

template <typename V>
void GrowTo(std::vector<V>& v, size_t id, const V& fill) {
  if (id >= v.size()) v.resize(std::max(id + 1, v.size() * 2), fill);
}

bool InList(const std::vector<Recommendation>& out, ItemId item) {
  for (const auto& r : out)
    if (r.item == item) return true;
  return false;
}

}  // namespace

PopularityBaseline::PopularityBaseline(const ItemModel& catalog, const BaselineOptions& opt, bool decayed)
    : catalog_(catalog),
      opt_(opt),
      decayed_(decayed),
      per_event_(decayed ? std::log(2.0) / std::max(opt.half_life_events, 1.0) : 0),
      top_(opt.k + opt.purchases_kept + 1) {}

void PopularityBaseline::Learn(const UserState&, const Event& e) {
  GrowTo(score_, e.item, decayed_ ? kLogZero : 0.0);
  double& s = score_[e.item];
  s = decayed_ ? LogAddExp(s, static_cast<double>(events_) * per_event_) : s + 1;
  ++events_;
  top_.Update(e.item, s);
}

void PopularityBaseline::Recommend(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) {
  out.clear();
  const auto& top = top_.entries();
  if (top.empty()) return;
  const double best = top.front().score;
  for (const auto& t : top) {
    if (out.size() >= opt_.k) break;
    if (Excluded(catalog_, user, trigger, t.key)) continue;
    const double rel = decayed_ ? std::exp(t.score - best) : t.score / best;
    out.push_back({t.key, catalog_.item(t.key).category, static_cast<float>(rel), Reason::kPopular});
  }
}

CooccurrenceBaseline::CooccurrenceBaseline(const ItemModel& catalog, const BaselineOptions& opt, bool transitions)
    : catalog_(catalog),
      opt_(opt),
      transitions_(transitions),
      ranked_(opt.k + opt.purchases_kept + 1),
      popular_(ranked_) {
  if (opt_.reserved == 0) opt_.reserved = std::max<size_t>(1, opt_.k / 4);
  opt_.reserved = std::min(opt_.reserved, opt_.k);
}

int CooccurrenceBaseline::LastItems(const UserState& user, ItemId skip, ItemId* out) const {
  int n = 0;
  for (auto it = user.recent.rbegin(); it != user.recent.rend() && n < kLastItems; ++it) {
    if (it->item == skip || it->item == kNoId) continue;
    if (std::find(out, out + n, it->item) != out + n) continue;
    out[n++] = it->item;
  }
  return n;
}

void CooccurrenceBaseline::Bump(ItemId from, ItemId to) {
  const double c = ++pairs_[PairKey(from, to)];
  GrowTo(neighbours_, from, GrowingTop<ItemId>(kNeighbours));
  neighbours_[from].Update(to, c);
}

void CooccurrenceBaseline::Learn(const UserState& user, const Event& e) {
  GrowTo(item_count_, e.item, 0.0);
  const double count = ++item_count_[e.item];
  popular_.Update(e.item, count);
  ItemId last[kLastItems];
  const int n = LastItems(user, e.item, last);
  for (int i = 0; i < n; ++i) {
    Bump(last[i], e.item);
    Bump(e.item, last[i]);
  }
  if (!transitions_ || e.category == kNoId) return;
  GrowTo(category_popular_, e.category, GrowingTop<ItemId>(ranked_));
  category_popular_[e.category].Update(e.item, count);
  const UserEvent* prev = user.last();
  if (prev != nullptr && prev->type == EventType::kPurchase && prev->category != kNoId &&
      prev->category != e.category) {
    const double c = ++next_[PairKey(prev->category, e.category)];
    GrowTo(successors_, prev->category, GrowingTop<CategoryId>(kSuccessorsKept));
    successors_[prev->category].Update(e.category, c);
  }
}

bool CooccurrenceBaseline::Offer(const UserState& user, const Event& trigger, ItemId item, float score,
                                 Reason reason, std::vector<Recommendation>& out) const {
  if (Excluded(catalog_, user, trigger, item) || InList(out, item)) return false;
  out.push_back({item, catalog_.item(item).category, score, reason});
  return true;
}

void CooccurrenceBaseline::Recommend(const UserState& user, const Event& trigger,
                                     std::vector<Recommendation>& out) {
  out.clear();
  // Co-visitation: neighbours of the last items, summed with weights
  // 1, 1/2, 1/4 (newest first), best first, ties on the smaller id.
  scored_.clear();
  ItemId last[kLastItems];
  const int n = LastItems(user, kNoId, last);
  for (int r = 0; r < n; ++r) {
    if (last[r] >= neighbours_.size()) continue;
    const double w = std::ldexp(1.0, -r);
    for (const auto& nb : neighbours_[last[r]].entries()) scored_.push_back({nb.key, w * nb.score});
  }
  std::sort(scored_.begin(), scored_.end(), [](const Scored& a, const Scored& b) { return a.item < b.item; });
  size_t w = 0;
  for (size_t i = 0; i < scored_.size(); ++i) {
    if (w > 0 && scored_[w - 1].item == scored_[i].item) scored_[w - 1].score += scored_[i].score;
    else scored_[w++] = scored_[i];
  }
  scored_.resize(w);
  std::sort(scored_.begin(), scored_.end(), [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  const double best = scored_.empty() ? 1 : scored_.front().score;

  // Reserved slots after a purchase: round-robin over the strongest
  // successor categories, each offering its most popular items in order.
  reserved_.clear();
  if (transitions_ && trigger.type == EventType::kPurchase && trigger.category < successors_.size()) {
    const auto& succ = successors_[trigger.category].entries();
    const size_t cats = std::min<size_t>(succ.size(), kSuccessors);
    size_t next[kSuccessors] = {};
    for (bool progress = true; progress && reserved_.size() < opt_.reserved;) {
      progress = false;
      for (size_t c = 0; c < cats && reserved_.size() < opt_.reserved; ++c) {
        const CategoryId cat = succ[c].key;
        if (cat >= category_popular_.size()) continue;
        const auto& items = category_popular_[cat].entries();
        while (next[c] < items.size()) {
          const auto& it = items[next[c]++];
          const float score = static_cast<float>(succ[c].score / succ.front().score * it.score / items.front().score);
          if (Offer(user, trigger, it.key, score, Reason::kComplement, reserved_)) {
            progress = true;
            break;
          }
        }
      }
    }
  }

  const size_t head = opt_.k - reserved_.size();
  for (const auto& s : scored_) {
    if (out.size() >= head) break;
    if (InList(reserved_, s.item)) continue;
    Offer(user, trigger, s.item, static_cast<float>(s.score / best), Reason::kBoughtTogether, out);
  }
  for (const auto& r : reserved_) out.push_back(r);
  for (const auto& s : scored_) {
    if (out.size() >= opt_.k) break;
    Offer(user, trigger, s.item, static_cast<float>(s.score / best), Reason::kBoughtTogether, out);
  }
  const auto& pop = popular_.entries();
  for (const auto& p : pop) {
    if (out.size() >= opt_.k) break;
    Offer(user, trigger, p.key, static_cast<float>(p.score / pop.front().score), Reason::kPopular, out);
  }
}

}  // namespace recstream::model
