#include "model/user_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <Eigen/Core>

namespace recstream::model {

UserEncoder::UserEncoder(const EmbeddingModel& model, const std::array<double, kEventTypeCount>& type_weight)
    : model_(model) {
  double sum = 0;
  for (double w : type_weight) sum += w;
  const double mean = sum / kEventTypeCount;
  for (int t = 0; t < kEventTypeCount; ++t) log_type_prior_[t] = std::log(type_weight[t] / mean);
}

void UserEncoder::Encode(const UserState& user, const Event& trigger, float* out) {
  const auto dim = static_cast<Eigen::Index>(model_.dim());
  using ConstVec = Eigen::Map<const Eigen::VectorXf>;
  Eigen::Map<Eigen::VectorXf> u(out, dim);
  ConstVec q(model_.ItemIn(trigger.item, trigger.category), dim);
  const auto& opt = model_.options();
  const size_t n = user.recent.size();
  weights_.resize(n);
  if (n == 0) {
    u = q;
  } else {
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    const double log_recency = std::log(std::max(opt.attention_recency, 1e-6));
    double max_logit = -1e300;
    for (size_t j = 0; j < n; ++j) {
      const UserEvent& ev = user.recent[j];
      const double age = static_cast<double>(n - 1 - j);
      const double logit = q.dot(ConstVec(model_.ItemIn(ev.item, ev.category), dim)) * scale + age * log_recency +
                           log_type_prior_[static_cast<int>(ev.type)];
      weights_[j] = static_cast<float>(logit);
      max_logit = std::max(max_logit, logit);
    }
    double z = 0;
    for (float& w : weights_) {
      w = static_cast<float>(std::exp(w - max_logit));
      z += w;
    }
    u.setZero();
    for (size_t j = 0; j < n; ++j) {
      weights_[j] = static_cast<float>(weights_[j] / z);
      const UserEvent& ev = user.recent[j];
      u += weights_[j] * ConstVec(model_.ItemIn(ev.item, ev.category), dim);
    }
  }
  if (user.long_term.size() == static_cast<size_t>(dim))
    u += static_cast<float>(opt.long_term_weight) * ConstVec(user.long_term.data(), dim);
}

}  // namespace recstream::model
