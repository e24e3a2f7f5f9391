#include "stream/embedded_broker.h"

// clang-format off
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
// clang-format on

namespace recstream::stream {

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_) rd_kafka_destroy(handle_);
}

Status EmbeddedBroker::Start(int brokers) {
  if (cluster_) return Status::InvalidArgument("embedded broker already started");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock cluster; keep it quiet about having no
  // bootstrap servers of its own.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!handle_) return Status::Kafka(std::string("embedded broker: ") + err);
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (!cluster_) return Status::Kafka("embedded broker: cannot create mock cluster");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  return Status::OK();
}

Status EmbeddedBroker::CreateTopic(const std::string& name, int partitions) {
  if (!cluster_) return Status::InvalidArgument("embedded broker not started");
  const auto e = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    return Status::Kafka("create topic " + name + ": " + rd_kafka_err2str(e));
  return Status::OK();
}

Status EmbeddedBroker::SetBrokerDown(int broker_id, bool down) {
  if (!cluster_) return Status::InvalidArgument("embedded broker not started");
  const auto e = down ? rd_kafka_mock_broker_set_down(cluster_, broker_id)
                      : rd_kafka_mock_broker_set_up(cluster_, broker_id);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Kafka(rd_kafka_err2str(e));
  return Status::OK();
}

Status EmbeddedBroker::SetLeader(const std::string& topic, int partition, int broker_id) {
  if (!cluster_) return Status::InvalidArgument("embedded broker not started");
  const auto e = rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Kafka(rd_kafka_err2str(e));
  return Status::OK();
}

Status EmbeddedBroker::SetGroupCoordinator(const std::string& group, int broker_id) {
  if (!cluster_) return Status::InvalidArgument("embedded broker not started");
  const auto e = rd_kafka_mock_coordinator_set(cluster_, "group", group.c_str(), broker_id);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Kafka(rd_kafka_err2str(e));
  return Status::OK();
}

}  // namespace recstream::stream
