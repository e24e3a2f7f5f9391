// Status: an error as a value (the event path never throws). OK carries no
// allocation; an error carries a code and a message for the log.
#pragma once

#include <string>
#include <utility>

namespace recstream {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk = 0, kInvalidArgument, kIoError, kKafkaError, kCorruption, kTimedOut, kAborted };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status IoError(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status Kafka(std::string m) { return Status(Code::kKafkaError, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status TimedOut(std::string m) { return Status(Code::kTimedOut, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }
  // For the rare place that deliberately drops an error: makes it greppable.
  void PermitUncheckedError() const {}

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace recstream
