// The processor API: how a stream job is written as small operators, in the
// manner of Kafka Streams' Processor API, for C++ and without allocation on
// the event path.
//
//   Operator<In>          one stage: Init (look up stores, schedule
//                         punctuations), Process(In&) for each message,
//                         Close. Typed by what it takes.
//   Processor<In, Out>    an operator with a downstream: Forward(Out&) hands
//                         a message to the next stage, synchronously, on the
//                         same thread (depth first, as Kafka Streams does).
//   ProcessorContext      what an operator sees of its task: the record in
//                         process (topic, partition, offset), the clock, the
//                         task's stores by name (type-checked), the sink for
//                         outputs, dead letters, and punctuation schedules.
//   StateStores           the task's stores: a task owns them, operators
//                         only look them up, so a store outlives any one
//                         operator and the task checkpoints them all at once.
//   Topology              the operators of a job in order, wired in one
//                         place: Topology::Source<A>(...).Then<B>(...)...;
//                         the compiler checks that each stage takes what the
//                         one before forwards.
//
// Concurrency: a topology, its context and its stores belong to one task and
// are driven by one thread; nothing here locks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "stream/clock.h"
#include "stream/dead_letter.h"
#include "stream/record.h"

namespace recstream::stream {

// A task's stores, owned here, found by name and type.
class StateStores {
 public:
  template <class T>
  T* Add(std::string name, std::unique_ptr<T> store) {
    T* raw = store.get();
    entries_.push_back({std::move(name), std::type_index(typeid(T)), std::shared_ptr<void>(std::move(store))});
    return raw;
  }
  // Null when there is no store of that name or it is of another type.
  template <class T>
  T* Find(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return e.type == std::type_index(typeid(T)) ? static_cast<T*>(e.ptr.get()) : nullptr;
    return nullptr;
  }
  // As Find, with an error that says what is missing or mismatched.
  template <class T>
  Status Get(std::string_view name, T** out) const {
    *out = Find<T>(name);
    if (*out != nullptr) return Status::OK();
    for (const Entry& e : entries_)
      if (e.name == name)
        return Status::InvalidArgument("store '" + std::string(name) + "' is a " + e.type.name() + ", not a " +
                                       typeid(T).name());
    return Status::InvalidArgument("no store named '" + std::string(name) + "'");
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    std::type_index type;
    std::shared_ptr<void> ptr;  // keeps T's deleter
  };
  std::vector<Entry> entries_;
};

enum class Punctuation : uint8_t {
  // Every `interval` of the task's clock, checked between batches.
  kWallClock,
  // At the end of each processing window (one batch, or under backlog the
  // batches polled back to back for processing.coalesce_ms), before its
  // outputs are awaited and it is checkpointed: what an operator deferred
  // within the window is forwarded here, so nothing deferred is ever lost.
  kWindowEnd,
};

// The per-task context every operator of a topology shares.
class ProcessorContext {
 public:
  using Punctuator = std::function<Status()>;

  ProcessorContext(StateStores& stores, const Clock& clock, DeadLetterOptions dead_letters)
      : stores_(stores), clock_(&clock), dead_letters_(std::move(dead_letters)) {}

  // --- what operators use ---
  // The record in process; only inside Process (a punctuation has none).
  const Record& record() const { return *record_; }
  bool has_record() const { return record_ != nullptr; }
  int32_t partition() const { return record_->partition; }
  const Clock& clock() const { return *clock_; }
  // The wall clock read once per batch: every record of a batch sees the
  // same "now" (future-timestamp bound, generated_ts).
  int64_t now_ms() const { return batch_now_ms_; }
  // Inside a coalescing window: the input is behind, and an operator may
  // defer outputs to its kWindowEnd punctuation.
  bool coalescing() const { return coalescing_; }
  template <class T>
  Status GetStore(std::string_view name, T** out) const {
    return stores_.Get(name, out);
  }
  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const Header> headers = {}) {
    return sink_->Produce(topic, key, value, headers);
  }
  // Sends the record in process to the dead-letter topic (stream/dead_letter.h).
  Status DeadLetter(std::string_view reason, std::string_view detail, bool* truncated = nullptr) {
    if (record_ == nullptr)  // a punctuation has no source record to dead-letter
      return Status::InvalidArgument("DeadLetter outside Process: no record in process");
    return ProduceDeadLetter(*sink_, dead_letters_, *record_, reason, detail, truncated);
  }
  // A dead letter of other bytes than the record's (a state row found
  // unreadable while processing it): `r` gives key, value and source.
  Status DeadLetterOf(const Record& r, std::string_view reason, std::string_view detail, bool* truncated = nullptr) {
    return ProduceDeadLetter(*sink_, dead_letters_, r, reason, detail, truncated);
  }
  void Schedule(Punctuation type, std::chrono::milliseconds interval, Punctuator fn) {
    schedules_.push_back({type, interval, clock_->Steady() + interval, std::move(fn)});
  }

  // --- what the task that drives the topology uses ---
  void BeginBatch(RecordSink& sink) {
    sink_ = &sink;
    batch_now_ms_ = clock_->WallMs();
  }
  void SetRecord(const Record* r) { record_ = r; }
  void set_coalescing(bool on) { coalescing_ = on; }
  void set_clock(const Clock& clock) { clock_ = &clock; }
  // Runs the punctuators of `type` (kWallClock: those due by the clock), in
  // the order they were scheduled; stops at the first error.
  Status Punctuate(Punctuation type) {
    record_ = nullptr;
    const auto now = clock_->Steady();
    for (Scheduled& s : schedules_) {
      if (s.type != type) continue;
      if (type == Punctuation::kWallClock) {
        if (now < s.next) continue;
        s.next = now + s.interval;
      }
      if (Status st = s.fn(); !st.ok()) return st;
    }
    return Status::OK();
  }

 private:
  struct Scheduled {
    Punctuation type;
    std::chrono::milliseconds interval;
    Clock::SteadyTime next;
    Punctuator fn;
  };
  StateStores& stores_;
  const Clock* clock_;
  DeadLetterOptions dead_letters_;
  RecordSink* sink_ = nullptr;
  const Record* record_ = nullptr;
  int64_t batch_now_ms_ = 0;
  bool coalescing_ = false;
  std::vector<Scheduled> schedules_;
};

class OperatorBase {
 public:
  virtual ~OperatorBase() = default;
  // The stage's name in logs and errors ("parse", "dedupe", ...).
  virtual std::string_view name() const = 0;
  Status Init(ProcessorContext& ctx) {
    ctx_ = &ctx;
    return OnInit();
  }
  virtual Status Close() { return Status::OK(); }

 protected:
  // Looks up stores and schedules punctuations; context() is set.
  virtual Status OnInit() { return Status::OK(); }
  ProcessorContext& context() const { return *ctx_; }

 private:
  ProcessorContext* ctx_ = nullptr;
};

template <class In>
class Operator : public OperatorBase {
 public:
  using Input = In;
  using Output = void;  // a Processor says what it forwards
  // An error is fatal to the batch (the task abandons it); a bad message is
  // a dead letter, not an error.
  virtual Status Process(In& in) = 0;
};

template <class In, class Out>
class Processor : public Operator<In> {
 public:
  using Output = Out;
  void ConnectTo(Operator<Out>* next) { next_ = next; }

 protected:
  Status Forward(Out& out) { return next_->Process(out); }

 private:
  Operator<Out>* next_ = nullptr;
};

class Topology;

// The open end of a topology under construction: the next operator must
// take M.
template <class M>
class Stage {
 public:
  template <class Op, class... Args>
  Stage<typename Op::Output> Then(Args&&... args);

 private:
  friend class Topology;
  template <class>
  friend class Stage;
  Stage(Topology* t, std::function<void(Operator<M>*)> connect) : topology_(t), connect_(std::move(connect)) {}
  Topology* topology_;
  std::function<void(Operator<M>*)> connect_;
};

class Topology {
 public:
  // The first operator: it takes the input records.
  template <class Op, class... Args>
  Stage<typename Op::Output> Source(Args&&... args) {
    static_assert(std::is_base_of_v<Operator<const Record>, Op>, "a source operator takes const stream::Record");
    Op* op = Append(std::make_unique<Op>(std::forward<Args>(args)...));
    source_ = op;
    return Open<Op>(op);
  }
  // Inits every operator in order; the first error names its stage.
  Status Init(ProcessorContext& ctx) {
    for (auto& n : nodes_)
      if (Status s = n->Init(ctx); !s.ok())
        return Status::InvalidArgument("operator '" + std::string(n->name()) + "': " + s.ToString());
    return Status::OK();
  }
  Status Process(const Record& r) { return source_->Process(r); }
  // Closes in reverse order; returns the first error, closing the rest.
  Status Close() {
    Status first;
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
      if (Status s = (*it)->Close(); !s.ok() && first.ok()) first = s;
    return first;
  }
  // The stages in order ("parse -> control -> ...").
  std::string Describe() const {
    std::string out;
    for (const auto& n : nodes_) {
      if (!out.empty()) out += " -> ";
      out += n->name();
    }
    return out;
  }

 private:
  template <class>
  friend class Stage;
  template <class Op>
  Op* Append(std::unique_ptr<Op> op) {
    Op* raw = op.get();
    nodes_.push_back(std::move(op));
    return raw;
  }
  template <class Op>
  Stage<typename Op::Output> Open(Op* op) {
    using Out = typename Op::Output;
    if constexpr (std::is_void_v<Out>) {
      return Stage<void>(this, nullptr);
    } else {
      return Stage<Out>(this, [op](Operator<Out>* next) { op->ConnectTo(next); });
    }
  }
  std::vector<std::unique_ptr<OperatorBase>> nodes_;
  Operator<const Record>* source_ = nullptr;
};

template <class M>
template <class Op, class... Args>
Stage<typename Op::Output> Stage<M>::Then(Args&&... args) {
  static_assert(!std::is_void_v<M>, "the topology already ends in a terminal operator");
  static_assert(std::is_base_of_v<Operator<M>, Op>, "this operator does not take what the stage before forwards");
  Op* op = topology_->Append(std::make_unique<Op>(std::forward<Args>(args)...));
  connect_(op);
  return topology_->Open<Op>(op);
}

}  // namespace recstream::stream
