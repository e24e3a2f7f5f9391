// UserEncoder: the user vector — attention over the user's recent items with
// the trigger item as the query, recency and event type as priors, plus the
// slow-moving long-term vector:
//
//   logit_j = (q . k_j) / sqrt(dim) + age_j * log(attention_recency)
//             + log(type_weight_j / mean type weight)
//   a = softmax(logit),  u = sum_j a_j k_j + long_term_weight * long_term
//
// where q and k_j are input vectors (EmbeddingModel::ItemIn). u lives in the
// input space: u . out[x] scores candidate x.
//
// Concurrency: scratch buffers; one instance per thread. No allocation per
// call once warm.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "model/embedding.h"
#include "model/options.h"
#include "model/user_state.h"

namespace recstream::model {

class UserEncoder {
 public:
  UserEncoder(const EmbeddingModel& model, const std::array<double, kEventTypeCount>& type_weight);

  // Writes the user vector (dim() floats) for the user whose newest event is
  // trigger (already applied). A user with no history gets the trigger item's
  // vector.
  void Encode(const UserState& user, const Event& trigger, float* out);

  // The attention weights of the last Encode, one per event of user.recent
  // (oldest first); they sum to 1.
  std::span<const float> weights() const { return weights_; }

 private:
  const EmbeddingModel& model_;
  std::array<double, kEventTypeCount> log_type_prior_;
  std::vector<float> weights_;
};

}  // namespace recstream::model
