#include "operators/parse_operator.h"

#include "operators/message.h"

namespace recstream::operators {

Status ParseOperator::Process(const stream::Record& r) {
  metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
  const bool catalog = !catalog_topic_.empty() && r.topic == catalog_topic_;
  const auto t = PipelineMetrics::StageClock::now();
  const Reject rej = parser_.Parse(r, catalog, context().now_ms(), parsed_, detail_);
  metrics_.AddStageTime(PipelineMetrics::kParse, t);
  if (rej != Reject::kNone) return DeadLetter(context(), metrics_, rej, detail_);
  return Forward(parsed_);
}

}  // namespace recstream::operators
