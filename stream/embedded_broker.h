// EmbeddedBroker: librdkafka's in-process mock cluster, which speaks the real
// Kafka protocol on 127.0.0.1, so real clients (recstream's, kcat, Python's)
// connect to it. For tests and demos: it keeps everything in memory, does
// not compact, and its fetch slows down past ~100k messages per topic.
//
// Lifecycle: Start() binds the listeners; the destructor tears them down.
// Concurrency: the cluster runs on librdkafka's own threads; the methods here
// are called from one thread.
#pragma once

#include <memory>
#include <string>

#include "stream/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace recstream::stream {

class EmbeddedBroker {
 public:
  EmbeddedBroker() = default;
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // Starts a cluster of `brokers` brokers (Default: 1).
  Status Start(int brokers = 1);
  // Creates a topic (idempotent for an existing topic).
  Status CreateTopic(const std::string& name, int partitions);
  // Comma-separated bootstrap address, e.g. "127.0.0.1:39431".
  const std::string& bootstrap() const { return bootstrap_; }
  // Simulates an outage of one broker (1-based id), or its return.
  Status SetBrokerDown(int broker_id, bool down);
  // Moves a partition's leadership, and the group coordinator of `group`,
  // to one broker (1-based id): lets a test slow or stop one path only.
  Status SetLeader(const std::string& topic, int partition, int broker_id);
  Status SetGroupCoordinator(const std::string& group, int broker_id);

 private:
  rd_kafka_s* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace recstream::stream
