// Codecs of the model's persisted rows: user state, item rows, category rows,
// the global ranking. Decode* return false on a corrupt or unknown-version row.
#pragma once

#include <string>
#include <string_view>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/ranker.h"
#include "model/user_state.h"

namespace recstream::state {

// User format 2 adds the long-term user vector, 3 the time a forget_user
// erased the user; rows of formats 1 and 2 still decode.
inline constexpr uint8_t kUserFormat = 3;  // 3: forgotten_at_ms
inline constexpr uint8_t kVectorFormat = 1;
inline constexpr uint8_t kItemFormat = 1;
// 2 added what follows a purchase (CategoryRow::after_purchase); 1 is still
// read, with that list empty.
inline constexpr uint8_t kCategoryFormat = 2;
// 2 added the catalog's popularity total; 1 is still read (the total then
// comes back NaN and ItemModel::RestoreGlobal sums it from the categories).
inline constexpr uint8_t kGlobalFormat = 2;

void EncodeUser(const model::UserState& u, std::string& out);
bool DecodeUser(std::string_view in, model::UserState& u);
void EncodeItem(const model::ItemRow& r, std::string& out);
bool DecodeItem(std::string_view in, model::ItemRow& r);
void EncodeCategory(const model::CategoryRow& r, std::string& out);
bool DecodeCategory(std::string_view in, model::CategoryRow& r);
void EncodeGlobal(const model::TopList<model::ItemId>& top, uint64_t version, double log_pop_total,
                  std::string& out);
bool DecodeGlobal(std::string_view in, model::TopList<model::ItemId>& top, uint64_t& version,
                  double& log_pop_total);

// One embedding row: its row index (items), bookkeeping, input and output
// vectors of dim floats each.
void EncodeVectorRow(uint32_t row, const model::EmbeddingTable::Meta& meta, const float* in, const float* out,
                     size_t dim, std::string& buf);
bool DecodeVectorRow(std::string_view buf, size_t dim, uint32_t& row, model::EmbeddingTable::Meta& meta,
                     std::span<float> in, std::span<float> out);
void EncodeEmbeddingGlobals(const model::EmbeddingModel::Globals& g, size_t dim, std::string& buf);
// dim: the dimension the rows were written with.
bool DecodeEmbeddingGlobals(std::string_view buf, model::EmbeddingModel::Globals& g, size_t& dim);

// The model scorer's learned blend (model/ranker.h). features is the number
// of features the row was written with: a different build's feature set
// cannot be mapped onto this one's, and the caller starts the blend afresh.
inline constexpr uint8_t kRankerFormat = 1;
void EncodeRanker(const model::Ranker::Snapshot& s, std::string& buf);
bool DecodeRanker(std::string_view buf, model::Ranker::Snapshot& s, size_t& features);

}  // namespace recstream::state
