// ParseOperator: the source of the recommendation topology. Each input
// record is parsed (Parser, parse.h) and forwarded, or sent to the dead
// letters with its Reject reason. Kept apart from the parser so that the
// parser builds alone (the fuzz target, tests/fuzz).
#pragma once

#include <string>

#include "operators/parse.h"
#include "stream/processor.h"

namespace recstream::operators {

struct PipelineMetrics;

// The source of the topology: each record parsed and forwarded, or sent to
// the dead letters. Records of `catalog_topic` are catalog messages.
class ParseOperator final : public stream::Processor<const stream::Record, ParsedEvent> {
 public:
  ParseOperator(const ParseOptions& opt, std::string catalog_topic, PipelineMetrics& metrics)
      : parser_(opt), catalog_topic_(std::move(catalog_topic)), metrics_(metrics) {}
  std::string_view name() const override { return "parse"; }
  Status Process(const stream::Record& r) override;

 private:
  Parser parser_;
  std::string catalog_topic_;  // empty: no catalog topic
  PipelineMetrics& metrics_;
  ParsedEvent parsed_;
  std::string detail_;
};

}  // namespace recstream::operators
