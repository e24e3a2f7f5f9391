#include "model/model_recommender.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace recstream::model {

namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-std::clamp(x, -12.0f, 12.0f))); }

}  // namespace

ModelRecommender::ModelRecommender(const ItemModel& items, const EmbeddingModel& embeddings,
                                   const RecommendOptions& opt)
    : items_(items),
      emb_(embeddings),
      opt_(opt),
      encoder_(embeddings, items.options().type_weight),
      user_vec_(embeddings.dim()) {}

void ModelRecommender::AddComplementScores(CategoryId from, double weight, int64_t ts) {
  if (!items_.HasCategory(from) || weight <= 0) return;
  const CategoryRow& row = items_.category(from);
  const auto& clock = items_.transition_clock();
  // P(next category | from), shrunk towards 0 for rarely seen categories.
  const double denom = clock.ValueAt(row.log_out, ts) + opt_.transition_smoothing;
  const double share = opt_.complement_embedding_share;
  for (const auto& s : row.successors.entries()) {
    if (s.key == from) continue;
    const double p = clock.ValueAt(s.log_weight, ts) / denom;
    const double blend = (1.0 - share) * p + share * emb_.CategoryAffinity(from, s.key);
    if (blend > 0) cat_scores_.Add(s.key, std::log(weight * blend), SIZE_MAX);
  }
}

void ModelRecommender::Complements(CategoryId from, int64_t ts, size_t n,
                                   std::vector<TopList<CategoryId>::Entry>& out) {
  cat_scores_.clear();
  AddComplementScores(from, 1.0, ts);
  cat_scores_.Top(n, out);
  for (auto& e : out) e.log_weight = std::exp(e.log_weight);
}

void ModelRecommender::AddPool(CategoryId c, double weight, Reason reason) {
  if (!items_.HasCategory(c) || weight <= 0) return;
  items_.category(c).top_items.Top(opt_.items_per_category, item_scratch_);
  if (item_scratch_.empty()) return;
  const double top = item_scratch_.front().log_weight;
  for (const auto& e : item_scratch_) {
    Candidate cand{e.key, {0, 0, 0, 0}, 0};
    // The square root flattens the long tail a little within the pool.
    cand.parts[static_cast<int>(reason)] = static_cast<float>(weight * std::sqrt(std::exp(e.log_weight - top)));
    cands_.push_back(cand);
  }
}

void ModelRecommender::Recommend(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) {
  out.clear();
  cands_.clear();
  encoder_.Encode(user, trigger, user_vec_.data());

  // 1. Items bought or viewed together with the trigger and the two distinct
  //    items before it.
  {
    double w = opt_.cooccurrence_weight;
    int used = 0;
    ItemId prev = kNoId;
    for (auto it = user.recent.rbegin(); it != user.recent.rend() && used < 3; ++it) {
      if (it->item == prev || !items_.HasItem(it->item)) continue;
      prev = it->item;
      const auto& nb = items_.item(it->item).neighbours;
      const double top = nb.MaxWeight();
      for (const auto& e : nb.entries()) {
        Candidate cand{e.key, {0, 0, 0, 0}, 0};
        cand.parts[static_cast<int>(Reason::kBoughtTogether)] =
            static_cast<float>(w * std::sqrt(std::exp(e.log_weight - top)));
        cands_.push_back(cand);
      }
      w *= 0.5;
      ++used;
    }
  }

  // 2. Complement categories of the trigger's category and of the user's
  //    strongest affinities; the affinity categories themselves.
  cat_scores_.clear();
  AddComplementScores(trigger.category, 1.0, trigger.ts_ms);
  user.affinity.Top(3, cat_scratch_);
  double aff_top = cat_scratch_.empty() ? 0 : cat_scratch_.front().log_weight;
  for (const auto& a : cat_scratch_) {
    if (a.key == trigger.category) continue;
    AddComplementScores(a.key, 0.5 * std::exp(a.log_weight - aff_top), trigger.ts_ms);
  }
  cat_scores_.Remove(trigger.category);
  cat_scores_.Top(opt_.complement_categories, comp_scratch_);
  if (!comp_scratch_.empty()) {
    const double top = comp_scratch_.front().log_weight;
    for (const auto& c : comp_scratch_)
      AddPool(c.key, opt_.complement_weight * std::exp(c.log_weight - top), Reason::kComplement);
  }
  for (const auto& a : cat_scratch_) {
    if (a.key == trigger.category) continue;
    AddPool(a.key, opt_.same_category_weight * std::exp(a.log_weight - aff_top), Reason::kSimilar);
  }

  // 3. The trigger's own category and the catalog's most popular items, so
  //    that no list is ever short.
  AddPool(trigger.category, opt_.same_category_weight, Reason::kSimilar);
  items_.global_top().Top(opt_.k * 2, item_scratch_);
  if (!item_scratch_.empty()) {
    const double top = item_scratch_.front().log_weight;
    for (const auto& e : item_scratch_) {
      Candidate cand{e.key, {0, 0, 0, 0}, 0};
      cand.parts[static_cast<int>(Reason::kPopular)] =
          static_cast<float>(opt_.popular_weight * std::exp(e.log_weight - top));
      cands_.push_back(cand);
    }
  }

  Score();
  Select(user, trigger, out);
}

void ModelRecommender::Score() {
  // Merge duplicates: sum the parts per item.
  std::sort(cands_.begin(), cands_.end(), [](const Candidate& a, const Candidate& b) { return a.item < b.item; });
  size_t w = 0;
  for (size_t r = 0; r < cands_.size(); ++r) {
    if (w > 0 && cands_[w - 1].item == cands_[r].item) {
      for (int i = 0; i < kReasonCount; ++i) cands_[w - 1].parts[i] += cands_[r].parts[i];
    } else {
      cands_[w++] = cands_[r];
    }
  }
  cands_.resize(w);

  // Skip-gram with negative sampling learns u . out[x] ~ PMI(context, x) -
  // log(negatives), negatives drawn over count^0.75: adding 0.75 log count
  // back gives the log of P(x | context) up to a constant. A softmax over the
  // candidates turns it into a share in (0, 1], on the scale of the other
  // parts. The share goes to the part that brought the candidate in (its
  // pool), so that the reason names where the item came from.
  const auto dim = static_cast<Eigen::Index>(emb_.dim());
  ConstVec u(user_vec_.data(), dim);
  float max_logit = -1e30f;
  for (Candidate& c : cands_) {
    const bool known = items_.HasItem(c.item);
    const CategoryId cat = known ? items_.item(c.item).category : kNoId;
    const float count = known ? static_cast<float>(items_.item(c.item).count) : 0.0f;
    c.total = u.dot(ConstVec(emb_.ItemOut(c.item, cat), dim)) + 0.75f * std::log1p(count);
    max_logit = std::max(max_logit, c.total);
  }
  for (Candidate& c : cands_) {
    int pool = 0;
    for (int i = 1; i < kReasonCount; ++i)
      if (c.parts[i] > c.parts[pool]) pool = i;
    c.parts[pool] += static_cast<float>(opt_.embedding_weight) * std::exp(c.total - max_logit);
    c.total = c.parts[0] + c.parts[1] + c.parts[2] + c.parts[3];
  }
}

void ModelRecommender::Select(const UserState& user, const Event& trigger, std::vector<Recommendation>& out) {
  const size_t k = opt_.k;
  auto by_total = [](const Candidate& a, const Candidate& b) {
    return a.total != b.total ? a.total > b.total : a.item < b.item;
  };
  // Shortlist: the best 3K (excluded items moved out first).
  size_t n = 0;
  for (size_t i = 0; i < cands_.size(); ++i)
    if (!Excluded(items_, user, trigger, cands_[i].item)) cands_[n++] = cands_[i];
  cands_.resize(n);
  const size_t m = std::min(n, 3 * k);
  std::partial_sort(cands_.begin(), cands_.begin() + static_cast<std::ptrdiff_t>(m), cands_.end(), by_total);
  if (m == 0) return;

  const auto dim = static_cast<Eigen::Index>(emb_.dim());
  unit_.resize(m * emb_.dim());
  for (size_t i = 0; i < m; ++i) {
    const ItemId item = cands_[i].item;
    Eigen::Map<Eigen::VectorXf> v(&unit_[i * emb_.dim()], dim);
    v = ConstVec(emb_.ItemIn(item, items_.item(item).category), dim);
    const float norm = v.norm();
    if (norm > 0) v /= norm;
  }
  max_sim_.assign(m, 0.0f);
  taken_.assign(m, 0);
  quota_.clear();
  const float top = cands_[0].total > 0 ? cands_[0].total : 1.0f;
  const float lambda = static_cast<float>(opt_.mmr_lambda);
  auto quota_of = [&](CategoryId cat) -> uint32_t& {
    for (auto& q : quota_)
      if (q.first == cat) return q.second;
    quota_.push_back({cat, 0});
    return quota_.back().second;
  };
  auto take = [&](size_t i) {
    const Candidate& c = cands_[i];
    taken_[i] = 1;
    const CategoryId cat = items_.item(c.item).category;
    ++quota_of(cat);
    int best = 0;
    for (int r = 1; r < kReasonCount; ++r)
      if (c.parts[r] > c.parts[best]) best = r;
    Reason reason = static_cast<Reason>(best);
    // An item of another category reached through the complement pools is a
    // complement even when co-occurrence also vouches for it.
    if (reason == Reason::kBoughtTogether && cat != trigger.category && c.parts[0] > 0) reason = Reason::kComplement;
    out.push_back({c.item, cat, c.total, reason});
    ConstVec chosen(&unit_[i * emb_.dim()], dim);
    for (size_t j = 0; j < m; ++j)
      if (!taken_[j]) max_sim_[j] = std::max(max_sim_[j], chosen.dot(ConstVec(&unit_[j * emb_.dim()], dim)));
  };
  // MMR under the quota.
  while (out.size() < k) {
    size_t best = SIZE_MAX;
    float best_value = 0;
    for (size_t i = 0; i < m; ++i) {
      if (taken_[i] || quota_of(items_.item(cands_[i].item).category) >= opt_.max_per_category) continue;
      const float value = lambda * (cands_[i].total / top) - (1.0f - lambda) * max_sim_[i];
      if (best == SIZE_MAX || value > best_value) {
        best = i;
        best_value = value;
      }
    }
    if (best == SIZE_MAX) break;
    take(best);
  }
  // Short (few categories): fill by score, quota or not.
  for (size_t i = 0; i < m && out.size() < k; ++i)
    if (!taken_[i]) take(i);
  for (size_t i = m; i < n && out.size() < k; ++i) {
    const Candidate& c = cands_[i];
    out.push_back({c.item, items_.item(c.item).category, c.total, Reason::kPopular});
  }
  // MMR may trade a little score for novelty: publish in score order.
  std::stable_sort(out.begin(), out.end(),
                   [](const Recommendation& a, const Recommendation& b) { return a.score > b.score; });
}

}  // namespace recstream::model
