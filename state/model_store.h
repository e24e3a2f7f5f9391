// ModelStore: persists the item-side model (item and category rows, the
// global ranking, the id dictionaries) and restores it at start-up.
//
// Flush() writes exactly the rows the model marked dirty since the last
// commit, so a batch costs what it changed, not the size of the model.
// Concurrency: processing thread only.
#pragma once

#include <rocksdb/write_batch.h>

#include "model/embedding.h"
#include "model/item_model.h"
#include "model/ranker.h"
#include "state/db.h"
#include "state/dictionary.h"

namespace recstream::state {

class ModelStore {
 public:
  explicit ModelStore(StateDb& db) : db_(db) {}

  // Loads everything into model and the dictionaries (empty on a new db).
  rocksdb::Status Load(model::ItemModel& model, IdDictionary& items, IdDictionary& categories);
  // Writes the model's dirty rows and the dictionaries' new entries.
  void Flush(const model::ItemModel& model, IdDictionary& items, IdDictionary& categories,
             rocksdb::WriteBatch& batch);

  // The embedding model: rows in the `vectors` column family, counters in
  // `meta`. A database written with another embedding.dim is an error (the
  // rows cannot be reinterpreted): start from a fresh state dir.
  rocksdb::Status LoadEmbeddings(model::EmbeddingModel& model);
  void FlushEmbeddings(const model::EmbeddingModel& model, rocksdb::WriteBatch& batch);

  // The model scorer's learned blend, in `meta`. *restored: false on a new
  // database or when the row was written with another feature set (logged;
  // the blend starts from its initial weights).
  rocksdb::Status LoadRanker(model::Ranker& ranker, bool* restored);
  void FlushRanker(const model::Ranker& ranker, rocksdb::WriteBatch& batch);

  static std::string IdKey(uint32_t id);

 private:
  // A sorted copy of ids, valid until the next call.
  const std::vector<uint32_t>& Sorted(const std::vector<uint32_t>& ids);
  StateDb& db_;
  std::string scratch_;
  std::vector<uint32_t> sorted_;
};

}  // namespace recstream::state
