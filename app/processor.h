// Processor: one recstream instance on Kafka — state store, pipeline, Kafka
// source and sink, and the task loop — assembled from a Config.
//
// Lifecycle: Open() (opens RocksDB, restores the model, joins the group) ->
// Run(stop) on one thread until stop is set -> Close() (leaves the group,
// flushes the producer). Graceful shutdown: setting stop lets the batch in
// flight finish and checkpoint before Run returns.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "app/config.h"
#include "operators/pipeline.h"
#include "state/db.h"
#include "stream/kafka.h"
#include "stream/task.h"

namespace recstream::app {

class Processor {
 public:
  // bootstrap: the brokers to use (config's, or the embedded broker's).
  static Status Open(const Config& config, const std::string& bootstrap, std::unique_ptr<Processor>* out);
  ~Processor();

  Status Run(const std::atomic<bool>& stop);
  void Close();

  const operators::PipelineMetrics& metrics() const { return pipeline_->metrics(); }
  operators::Pipeline& pipeline() { return *pipeline_; }
  const stream::TaskStats& task_stats() const { return task_->stats(); }

 private:
  Processor() = default;
  Config config_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<operators::Pipeline> pipeline_;
  std::unique_ptr<stream::KafkaSink> sink_;
  std::unique_ptr<stream::KafkaSource> source_;
  std::unique_ptr<stream::Task> task_;
};


}  // namespace recstream::app
