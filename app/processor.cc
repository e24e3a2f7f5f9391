#include "app/processor.h"

#include <spdlog/spdlog.h>

namespace recstream::app {

Status Processor::Open(const Config& config, const std::string& bootstrap, std::unique_ptr<Processor>* out) {
  std::unique_ptr<Processor> p(new Processor());
  p->config_ = config;
  p->config_.kafka.brokers = bootstrap;
  auto s = state::StateDb::Open(config.state, &p->db_);
  if (!s.ok()) return Status::IoError("state store " + config.state.dir + ": " + s.ToString());
  Status st = operators::Pipeline::Create(config.pipeline, p->db_.get(), &p->pipeline_);
  if (!st.ok()) return st;
  st = stream::KafkaSink::Create(p->config_.kafka, &p->sink_);
  if (!st.ok()) return st;
  std::vector<std::string> topics{config.pipeline.topics.events};
  if (!config.pipeline.topics.items.empty()) topics.push_back(config.pipeline.topics.items);
  st = stream::KafkaSource::Create(p->config_.kafka, topics, p->pipeline_.get(), &p->source_);
  if (!st.ok()) return st;
  p->task_ = std::make_unique<stream::Task>(*p->source_, *p->sink_, *p->pipeline_, config.task);
  *out = std::move(p);
  return Status::OK();
}

Processor::~Processor() { Close(); }

Status Processor::Run(const std::atomic<bool>& stop) { return task_->Run(stop); }

void Processor::Close() {
  if (source_) {
    source_->Close();
    source_.reset();
  }
  if (sink_) {
    const int left = sink_->Flush(std::chrono::milliseconds(static_cast<int64_t>(config_.shutdown_timeout_s * 1000)));
    if (left > 0) spdlog::error("shutdown: {} output message(s) still queued", left);
    sink_.reset();
  }
}

}  // namespace recstream::app
