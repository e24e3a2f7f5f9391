// Codecs of the model's persisted rows: user state, item rows, category rows,
// the global ranking. Decode* return false on a corrupt or unknown-version row.
#pragma once

#include <string>
#include <string_view>

#include "model/item_model.h"
#include "model/user_state.h"

namespace recstream::state {

inline constexpr uint8_t kUserFormat = 1;
inline constexpr uint8_t kItemFormat = 1;
inline constexpr uint8_t kCategoryFormat = 1;
inline constexpr uint8_t kGlobalFormat = 1;

void EncodeUser(const model::UserState& u, std::string& out);
bool DecodeUser(std::string_view in, model::UserState& u);
void EncodeItem(const model::ItemRow& r, std::string& out);
bool DecodeItem(std::string_view in, model::ItemRow& r);
void EncodeCategory(const model::CategoryRow& r, std::string& out);
bool DecodeCategory(std::string_view in, model::CategoryRow& r);
void EncodeGlobal(const model::TopList<model::ItemId>& top, uint64_t version, std::string& out);
bool DecodeGlobal(std::string_view in, model::TopList<model::ItemId>& top, uint64_t& version);

}  // namespace recstream::state
