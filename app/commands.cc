#include "app/commands.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "app/evaluation.h"
#include "app/processor.h"
#include "app/report.h"
#include "state/db.h"
#include "stream/dead_letter.h"
#include "stream/embedded_broker.h"
#include "stream/file_io.h"
#include "stream/json_writer.h"

namespace recstream::app {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::atomic<int> g_stop_signal{0};

extern "C" void OnSignal(int sig) {
  // The first signal asks for a clean stop; a second one (an impatient user,
  // or a supervisor's escalation) ends the process now. Only
  // async-signal-safe calls here.
  if (StopFlag().exchange(true)) {
    static const char msg[] = "recstream: second signal: exiting now\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(128 + sig);
  }
  g_stop_signal.store(sig);
}

const char* SignalName(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

// A private temporary directory, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const char* prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status StartEmbedded(const Config& config, stream::EmbeddedBroker& broker) {
  Status s = broker.Start();
  const auto& t = config.pipeline.topics;
  for (const std::string& name : {t.events, t.items, t.recommendations, t.dead_letters}) {
    if (!s.ok()) break;
    if (!name.empty()) s = broker.CreateTopic(name, config.embedded_partitions);
  }
  return s;
}

constexpr std::string_view kReplayInputKey = "replay.input";

// A state dir remembers the input it replays (its first bytes, up to 64
// KiB: their length and FNV-1a hash, and the path for the message). Lines
// are numbered per file, so resuming with another file would skip its first
// lines as if they were done: that is refused. A file that grew (appended
// to) keeps its first bytes and is the same input.
Status CheckReplayInput(state::StateDb& db, const stream::FileSource& source, const std::string& path,
                        const std::string& dir, bool resuming) {
  std::string stored;
  const auto gs = db.Get(state::Cf::kMeta, std::string(kReplayInputKey), &stored);
  if (!gs.ok() && !gs.IsNotFound()) return Status::IoError("state store: " + gs.ToString());
  const std::string_view head = source.head();
  if (resuming && gs.ok()) {
    unsigned long long len = 0, hash = 0;
    int used = 0;
    if (std::sscanf(stored.c_str(), "1 %llu %llx %n", &len, &hash, &used) < 2)
      return Status::Corruption("state dir " + dir + ": unreadable replay.input record");
    const std::string was = stored.substr(static_cast<size_t>(used));
    if (head.size() < len || stream::Fnv1a64(head.substr(0, len)) != hash)
      return Status::InvalidArgument("--state-dir " + dir + " holds the replay of another input (" + was +
                                     "): its first " + std::to_string(len) + " bytes differ from " + path +
                                     "'s, and resuming would skip this file's first lines as done. Use a new "
                                     "--state-dir for a new input (or delete this one to start over)");
    return Status::OK();
  }
  if (resuming) spdlog::warn("replay: {} was written by an older recstream: resuming without checking the input", dir);
  rocksdb::WriteBatch batch;
  char text[64];
  std::snprintf(text, sizeof text, "1 %zu %016llx ", head.size(),
                static_cast<unsigned long long>(stream::Fnv1a64(head)));
  batch.Put(db.handle(state::Cf::kMeta), std::string(kReplayInputKey), std::string(text) + path);
  if (const auto cs = db.Commit(batch); !cs.ok()) return Status::IoError("state store: " + cs.ToString());
  return Status::OK();
}

// A file line is kept whole up to the larger of the two bounds that read
// it: a line the parser may accept is never cut, and a cut one still fills
// its dead letter.
size_t MaxLineBytes(const Config& config) {
  return std::max(config.pipeline.parse.max_message_bytes, config.pipeline.dead_letter_max_bytes);
}

void PrintDeadLetters(const operators::PipelineMetrics& m, std::FILE* to) {
  for (size_t r = 1; r < static_cast<size_t>(operators::Reject::kCount); ++r) {
    const uint64_t n = m.dead_letters[r].load();
    if (n > 0)
      std::fprintf(to, "  dead letters %-14s %llu\n", std::string(operators::RejectName(static_cast<operators::Reject>(r))).c_str(),
                   static_cast<unsigned long long>(n));
  }
}

// Stops a process that does not shut down in time (a wedged broker call).
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(double seconds)
      : thread_([this, seconds] {
          while (!done_.load()) {
            if (StopFlag().load()) {
              const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
              while (!done_.load() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
              if (!done_.load()) {
                spdlog::critical("shutdown did not finish within {} s; exiting", seconds);
                std::_Exit(3);
              }
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~ShutdownWatchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

std::atomic<bool>& StopFlag() {
  static std::atomic<bool> flag{false};
  return flag;
}

int StopSignal() { return g_stop_signal.load(); }

void InstallSignalHandlers() {
  (void)StopFlag();  // its static is initialised before a handler can touch it
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int RunCommand(Config config) {
  stream::EmbeddedBroker broker;
  std::string bootstrap = config.kafka.brokers;
  if (bootstrap == "embedded") {
    // Its topics start empty here and it deletes only past its cap: a
    // partition that does not start at 0 lost events (KafkaOptions).
    config.kafka.log_starts_at_zero = true;
    Status s = StartEmbedded(config, broker);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    bootstrap = broker.bootstrap();
    std::printf("embedded broker listening at %s\n", bootstrap.c_str());
    std::fflush(stdout);
  }
  InstallSignalHandlers();
  std::unique_ptr<Processor> proc;
  Status s = Processor::Open(config, bootstrap, &proc);
  if (!s.ok()) {
    spdlog::error("start-up failed: {}", s.ToString());
    return 1;
  }
  // The admin server reads the processor: started after it, stopped before it closes.
  std::unique_ptr<AdminServer> admin;
  if (config.admin.port != 0) {
    s = AdminServer::Start(config.admin, *proc, &admin);
    if (!s.ok()) {
      spdlog::error("start-up failed: {}", s.ToString());
      return 1;
    }
    spdlog::info("admin: http://{}:{}/ (metrics, healthz, readyz, v1/users/ID/recommendations, v1/users/ID/state)",
                 config.admin.address, admin->port());
  }
  spdlog::info("processing {} -> {} (group {}, brokers {}, state {}, scorer {})", config.pipeline.topics.events,
               config.pipeline.topics.recommendations, config.kafka.group_id, bootstrap, config.state.dir,
               config.pipeline.recommend.use_model ? "model" : "rules");
  ShutdownWatchdog watchdog(config.shutdown_timeout_s);
  s = proc->Run(StopFlag());
  if (StopFlag().load()) spdlog::info("shutdown: stop requested; the batch in flight is checkpointed");
  const auto& m = proc->metrics();
  if (admin) admin->Stop();
  proc->Close();
  spdlog::info("shutdown: left the group, producer flushed");
  std::fprintf(stderr, "recstream: %llu records, %llu events applied, %llu lists, %llu dead letters\n",
               static_cast<unsigned long long>(m.records_in.load()), static_cast<unsigned long long>(m.events_applied.load()),
               static_cast<unsigned long long>(m.lists_published.load()),
               static_cast<unsigned long long>(m.dead_letters_total()));
  if (!s.ok()) {
    spdlog::error("stopped on error: {}", s.ToString());
    return 1;
  }
  return 0;
}

int BrokerCommand(const Config& config) {
  stream::EmbeddedBroker broker;
  Status s = StartEmbedded(config, broker);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  InstallSignalHandlers();
  std::printf("%s\n", broker.bootstrap().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "embedded broker at %s; topics %s, %s, %s, %s (%d partitions); Ctrl-C stops it\n",
               broker.bootstrap().c_str(), config.pipeline.topics.events.c_str(), config.pipeline.topics.items.c_str(),
               config.pipeline.topics.recommendations.c_str(), config.pipeline.topics.dead_letters.c_str(),
               config.embedded_partitions);
  while (!StopFlag().load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

int ReplayCommand(Config config, const ReplayArgs& args) {
  stream::FileFormat format;
  if (!stream::ParseFileFormat(args.format, &format)) {
    spdlog::error("--format must be auto, jsonl, csv, taobao or movielens");
    return 2;
  }
  std::unique_ptr<stream::FileSource> source;
  Status s = stream::FileSource::Open(args.input, format, &source, MaxLineBytes(config));
  if (s.ok() && args.output.empty()) s = Status::InvalidArgument("--output is required");
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  std::string dlq = args.dead_letters;
  if (dlq.empty()) {
    // OUTPUT.dlq.jsonl beside a regular output file. Beside stdout ("-") or
    // a device or pipe (/dev/null, a FIFO) there is no such place ("./-.dlq.jsonl",
    // "/dev/null.dlq.jsonl"): the default is then recstream.dlq.jsonl in the
    // working directory, said in the log.
    std::error_code ec;
    const bool special = args.output == "-" || (std::filesystem::exists(args.output, ec) &&
                                                !std::filesystem::is_regular_file(args.output, ec));
    dlq = special ? "recstream.dlq.jsonl" : args.output + ".dlq.jsonl";
    if (special) spdlog::info("replay: dead letters go to {} (--dlq names another file)", dlq);
  }
  // Without --state-dir the replay starts from empty state in a private
  // directory; with it, state persists and a rerun resumes after the last
  // checkpointed line.
  TempDir tmp("recstream-replay-");
  config.state.dir = args.state_dir.empty() ? tmp.path() : args.state_dir;
  config.pipeline.offset_as_event_id = true;
  std::unique_ptr<state::StateDb> db;
  auto rs = state::StateDb::Open(config.state, &db);
  if (!rs.ok()) {
    spdlog::error("state store {}: {}", config.state.dir, rs.ToString());
    return 1;
  }
  std::unique_ptr<operators::Pipeline> pipeline;
  s = operators::Pipeline::Create(config.pipeline, db.get(), &pipeline);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const int64_t next = pipeline->StoredOffset("file", 0);
  const bool resuming = next != stream::kNoStoredOffset;
  if (s = CheckReplayInput(*db, *source, args.input, config.state.dir, resuming); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  stream::FileSink::Resume resume;
  resume.output_bytes = pipeline->StoredOffset(std::string(stream::kFileOutputPosition), 0);
  resume.dead_letter_bytes = pipeline->StoredOffset(std::string(stream::kFileDeadLetterPosition), 0);
  std::unique_ptr<stream::FileSink> sink;
  s = stream::FileSink::Open(args.output, dlq, config.pipeline.topics.recommendations,
                             config.pipeline.topics.dead_letters, &sink, resuming ? &resume : nullptr);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  if (resuming) {
    source->SeekTo(next);
    spdlog::info("replay resumes at line {}: {} and {} are cut to their checkpoint and appended to", next,
                 args.output, dlq);
  }
  InstallSignalHandlers();
  stream::Task task(*source, *sink, *pipeline, config.task);
  const auto t0 = Clock::now();
  std::atomic<bool> done{false};
  std::thread progress([&] {
    auto last = Clock::now();
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Seconds(last) >= 2.0 && !done.load()) {
        last = Clock::now();
        const double n = static_cast<double>(pipeline->metrics().records_in.load());
        std::fprintf(stderr, "replay: %.0f records, %.0f/s\n", n, n / Seconds(t0));
      }
    }
  });
  s = task.Run(StopFlag());
  done.store(true);
  progress.join();
  const double secs = Seconds(t0);
  const auto& m = pipeline->metrics();
  std::fprintf(stderr, "replay: %llu records in %.2f s (%.0f/s): %llu lists, %llu tombstones, %llu dead letters -> %s\n",
               static_cast<unsigned long long>(m.records_in.load()), secs, static_cast<double>(m.records_in.load()) / secs,
               static_cast<unsigned long long>(m.lists_published.load()),
               static_cast<unsigned long long>(m.tombstones.load()), static_cast<unsigned long long>(m.dead_letters_total()),
               dlq.c_str());
  PrintDeadLetters(m, stderr);
  if (!s.ok()) {
    spdlog::error("replay stopped: {}", s.ToString());
    return 1;
  }
  if (StopSignal() != 0) {
    std::fprintf(stderr,
                 "replay: interrupted by %s: the output holds the first %llu records' messages only%s\n",
                 SignalName(StopSignal()), static_cast<unsigned long long>(m.records_in.load()),
                 args.state_dir.empty() ? "" : "; the same command resumes from --state-dir");
    return InterruptedExitCode();
  }
  return 0;
}


namespace {

// The records a file source yields (dead letters included), read once.
Status CountRecords(const std::string& path, stream::FileFormat format, size_t max_line_bytes, uint64_t* n) {
  std::unique_ptr<stream::FileSource> source;
  if (Status s = stream::FileSource::Open(path, format, &source, max_line_bytes); !s.ok()) return s;
  std::vector<stream::Record> batch;
  *n = 0;
  while (!source->exhausted()) {
    batch.clear();
    if (Status s = source->Poll(4096, std::chrono::milliseconds(0), batch); !s.ok()) return s;
    *n += batch.size();
  }
  return Status::OK();
}

}  // namespace

int EvalCommand(Config config, const EvalArgs& args) {
  stream::FileFormat format;
  if (!stream::ParseFileFormat(args.format, &format)) {
    spdlog::error("--format must be auto, jsonl, csv, taobao or movielens");
    return 2;
  }
  std::unique_ptr<stream::FileSource> source;
  Status s = stream::FileSource::Open(args.input, format, &source, MaxLineBytes(config));
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  // State in memory: evaluation measures the model, not the disk.
  std::unique_ptr<operators::Pipeline> pipeline;
  s = operators::Pipeline::Create(config.pipeline, nullptr, &pipeline);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  model::BaselineOptions baselines;
  baselines.k = config.pipeline.recommend.k;
  baselines.purchases_kept = config.pipeline.user.purchases_kept;
  baselines.half_life_events = args.baseline_half_life_events;
  Evaluation eval(pipeline->model(), baselines);
  uint64_t warmup_records = 0;
  if (args.warmup > 0) {
    // A first pass counts the records, so that the warm-up is a share of them.
    if (args.input == "-") {
      spdlog::error("--warmup needs a file (it counts the records first), not standard input");
      return 2;
    }
    uint64_t records = 0;
    if (Status c = CountRecords(args.input, format, MaxLineBytes(config), &records); !c.ok()) {
      spdlog::error("{}", c.ToString());
      return 2;
    }
    warmup_records = static_cast<uint64_t>(args.warmup * static_cast<double>(records));
  }
  eval.WarmUp(warmup_records, &pipeline->metrics());
  pipeline->set_observer(&eval);
  stream::CountingSink sink;
  InstallSignalHandlers();
  stream::Task task(*source, sink, *pipeline, config.task);
  const auto t0 = Clock::now();
  auto last = t0;
  size_t got = 0;
  do {
    s = task.RunOnce(&got);
    if (Seconds(last) >= 2.0) {
      last = Clock::now();
      const double n = static_cast<double>(pipeline->metrics().records_in.load());
      std::fprintf(stderr, "eval: %.0f events, %.0f/s\n", n, n / Seconds(t0));
    }
  } while (s.ok() && !(got == 0 && source->exhausted()) && !StopFlag().load());
  if (!s.ok()) {
    spdlog::error("eval stopped: {}", s.ToString());
    return 1;
  }
  const double secs = Seconds(t0);
  const auto& m = pipeline->metrics();
  const bool interrupted = StopSignal() != 0;
  if (args.json) {
    // The same figures as the table, for scripts and CI dashboards.
    std::string out;
    stream::JsonWriter w(out);
    w.BeginObject();
    w.Key("input").String(args.input);
    w.Key("scorer").String(config.pipeline.recommend.use_model ? "model" : "rules");
    w.Key("complete").Bool(!interrupted);
    w.Key("k").Int(static_cast<int64_t>(eval.k()));
    w.Key("records").Int(static_cast<int64_t>(m.records_in.load()));
    w.Key("events_applied").Int(static_cast<int64_t>(m.events_applied.load()));
    w.Key("dead_letters").Int(static_cast<int64_t>(m.dead_letters_total()));
    w.Key("warmup_records").Int(static_cast<int64_t>(warmup_records));
    w.Key("users").Int(static_cast<int64_t>(pipeline->users().cached()));
    w.Key("items").Int(static_cast<int64_t>(pipeline->item_ids().size()));
    w.Key("categories").Int(static_cast<int64_t>(pipeline->category_ids().size()));
    w.Key("seconds").Number(secs, 3);
    w.Key("events_per_second").Number(static_cast<double>(m.records_in.load()) / secs, 0);
    w.Key("methods").BeginObject();
    for (int method = 0; method < Evaluation::kMethods; ++method) {
      w.Key(Evaluation::MethodName(method)).BeginObject();
      for (int g = 0; g < Evaluation::kGroups; ++g) {
        const auto& sc = eval.score(method, g);
        static constexpr const char* kGroupKeys[Evaluation::kGroups] = {
            "all", "cross_category", "after_purchase", "cross_category_after_purchase", "purchase"};
        w.Key(kGroupKeys[g]).BeginObject();
        w.Key("events").Int(static_cast<int64_t>(sc.n));
        w.Key("hr").Number(sc.hr(), 6);
        w.Key("ndcg").Number(sc.ndcg_mean(), 6);
        w.EndObject();
      }
      w.Key("categories_per_list").Number(eval.mean_categories(method), 4);
      w.Key("coverage").Number(eval.coverage(method, pipeline->item_ids().size()), 6);
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    std::printf("%s\n", out.c_str());
    if (interrupted) return InterruptedExitCode();
    return 0;
  }
  if (interrupted)
    std::printf("INTERRUPTED by %s: partial results, over the first %llu records of the input only\n",
                SignalName(StopSignal()), static_cast<unsigned long long>(m.records_in.load()));
  std::printf("recstream eval: %s (scorer: %s)\n", args.input.c_str(),
              config.pipeline.recommend.use_model ? "model" : "rules");
  std::printf("events %llu (applied %llu, dead letters %llu), users %zu, items %zu, categories %zu\n",
              static_cast<unsigned long long>(m.records_in.load()), static_cast<unsigned long long>(m.events_applied.load()),
              static_cast<unsigned long long>(m.dead_letters_total()), pipeline->users().cached(),
              pipeline->item_ids().size(), pipeline->category_ids().size());
  if (warmup_records > 0)
    std::printf("warm-up: the first %llu records (%.0f %%) trained every method unscored\n",
                static_cast<unsigned long long>(warmup_records), args.warmup * 100);
  std::printf("%s", eval.Table(pipeline->item_ids().size()).c_str());
  if (config.pipeline.recommend.use_model) {
    // What the model scorer's blend learned (model/ranker.h): the weight of
    // each feature after m.ranker_updates steps.
    const auto& ranker = pipeline->recommender_model().ranker();
    std::printf("model blend after %llu steps:", static_cast<unsigned long long>(ranker.updates()));
    for (size_t i = 0; i < model::kFeatureCount; ++i)
      std::printf(" %s=%.2f", std::string(model::FeatureName(static_cast<model::Feature>(i))).c_str(),
                  static_cast<double>(ranker.weights()[i]));
    std::printf("\n");
  }
  std::printf("throughput: %.0f events/s on one thread (pipeline + every method's list), %.2f s\n",
              static_cast<double>(m.records_in.load()) / secs, secs);
  PrintDeadLetters(m, stdout);
  if (!args.report_dir.empty()) {
    s = WriteReport(args.report_dir, eval, *pipeline,
                    ReportInfo{args.input, config.pipeline.recommend.use_model, secs, m.records_in.load()});
    if (!s.ok()) {
      spdlog::error("report: {}", s.ToString());
      return 1;
    }
    std::printf("report: %s/index.html%s\n", args.report_dir.c_str(), interrupted ? " (partial)" : "");
  }
  if (interrupted) {
    std::printf("INTERRUPTED: the figures above cover part of the input\n");
    return InterruptedExitCode();
  }
  return 0;
}

int GenCommand(const GenArgs& args) {
  std::FILE* out = args.output == "-" ? stdout : std::fopen(args.output.c_str(), "wb");
  if (!out) {
    spdlog::error("cannot open {}", args.output);
    return 2;
  }
  Generator gen(args.gen);
  for (uint64_t i = 0; i < args.events; ++i) {
    const std::string line = gen.Next().ToJson();
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
  }
  const bool ok = std::fflush(out) == 0 && !std::ferror(out);
  if (out != stdout) std::fclose(out);
  if (!ok) {
    spdlog::error("write to {} failed", args.output);
    return 1;
  }
  return 0;
}

namespace {

struct ShownList {
  std::string user, trigger_item, trigger_category, trigger_type;
  std::vector<std::tuple<std::string, std::string, double, std::string>> items;
};

// Reads every message of the recommendations topic (as a storefront would)
// until `expected` lists arrived or the timeout passed.
std::vector<ShownList> ReadLists(const Config& config, const std::string& bootstrap, uint64_t expected,
                                 double timeout_s) {
  stream::KafkaOptions ko = config.kafka;
  ko.brokers = bootstrap;
  ko.group_id = "recstream-demo-reader";
  ko.client_id = "recstream-demo-reader";
  // A long demo overflows the embedded broker's cap on the output topic;
  // the reader shows what is left (the summary says how many).
  ko.log_starts_at_zero = false;
  std::unique_ptr<stream::KafkaSource> reader;
  std::vector<ShownList> lists;
  if (!stream::KafkaSource::Create(ko, {config.pipeline.topics.recommendations}, nullptr, &reader).ok()) return lists;
  simdjson::dom::parser parser;
  std::vector<stream::Record> batch;
  const auto t0 = Clock::now();
  while (lists.size() < expected && Seconds(t0) < timeout_s) {
    if (!reader->Poll(1000, std::chrono::milliseconds(200), batch).ok()) break;
    for (const auto& r : batch) {
      if (r.value_null) continue;
      simdjson::dom::element doc;
      if (parser.parse(r.value.data(), r.value.size()).get(doc)) continue;
      ShownList l;
      std::string_view sv;
      if (!doc["user_id"].get(sv)) l.user = sv;
      auto trig = doc["trigger"];
      if (!trig["item_id"].get(sv)) l.trigger_item = sv;
      if (!trig["category_id"].get(sv)) l.trigger_category = sv;
      if (!trig["type"].get(sv)) l.trigger_type = sv;
      simdjson::dom::array items;
      if (!doc["items"].get(items)) {
        for (auto it : items) {
          std::string_view id, cat, reason;
          double score = 0;
          if (it["item_id"].get(id) || it["category_id"].get(cat) || it["reason"].get(reason) ||
              it["score"].get(score))
            continue;
          l.items.emplace_back(std::string(id), std::string(cat), score, std::string(reason));
        }
      }
      lists.push_back(std::move(l));
    }
  }
  reader->Close();
  return lists;
}

}  // namespace

int DemoCommand(Config config, const DemoArgs& args) {
  TempDir tmp("recstream-demo-");
  config.state.dir = tmp.path() + "/state";
  stream::EmbeddedBroker broker;
  Status s = StartEmbedded(config, broker);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::printf("recstream demo: embedded Kafka broker at %s, state in %s\n", broker.bootstrap().c_str(),
              config.state.dir.c_str());

  // 1. A shop's events, produced to the events topic by a separate producer,
  //    plus a few malformed messages that must end up as dead letters.
  Generator gen(args.gen);
  {
    stream::KafkaOptions ko = config.kafka;
    ko.brokers = broker.bootstrap();
    ko.client_id = "recstream-demo-shop";
    std::unique_ptr<stream::KafkaSink> shop;
    s = stream::KafkaSink::Create(ko, &shop);
    for (uint64_t i = 0; s.ok() && i < args.events; ++i) {
      const auto e = gen.Next();
      const std::string json = e.ToJson();
      s = shop->Produce(config.pipeline.topics.events, e.user_id, json);
    }
    const char* bad[] = {R"({"user_id":"u1","item_id":"i1","type":"view","ts":)",
                         R"({"user_id":"u2","item_id":"i2","category_id":"c01","type":"teleport","ts":1767225600000})",
                         "not json at all"};
    for (const char* b : bad)
      if (s.ok()) s = shop->Produce(config.pipeline.topics.events, "bad", b);
    if (s.ok()) s = shop->AwaitDelivery(std::chrono::seconds(60));
    if (!s.ok()) {
      spdlog::error("producing sample events: {}", s.ToString());
      return 1;
    }
  }
  const uint64_t produced = args.events + 3;
  std::printf("produced %llu sample events (%zu users, %zu items, %zu categories) and 3 malformed messages\n",
              static_cast<unsigned long long>(args.events), args.gen.users, args.gen.items, args.gen.categories);

  // 2. The processor, until it has consumed everything. The broker's
  // topics started empty: events it dropped past its cap stop the processor
  // with the count (KafkaOptions::log_starts_at_zero) instead of vanishing.
  config.kafka.log_starts_at_zero = true;
  std::unique_ptr<Processor> proc;
  s = Processor::Open(config, broker.bootstrap(), &proc);
  if (!s.ok()) {
    spdlog::error("start-up failed: {}", s.ToString());
    return 1;
  }
  InstallSignalHandlers();
  std::atomic<bool> stop{false};
  Status run_status;
  std::atomic<bool> worker_done{false};
  std::thread worker([&] {
    run_status = proc->Run(stop);
    worker_done = true;
  });
  const auto t0 = Clock::now();
  Clock::time_point first{};
  while (proc->metrics().records_in.load() < produced && Seconds(t0) < 300 && !StopFlag().load() &&
         !worker_done.load()) {
    if (first == Clock::time_point{} && proc->metrics().records_in.load() > 0) first = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (first == Clock::time_point{}) first = t0;
  const double busy = Seconds(first);
  stop.store(true);
  worker.join();
  const auto& m = proc->metrics();
  const uint64_t lists_published = m.lists_published.load();
  proc->Close();
  if (!run_status.ok()) {
    spdlog::error("processor stopped: {}", run_status.ToString());
    return 1;
  }

  // 3. What a storefront sees on the recommendations topic.
  const auto lists = ReadLists(config, broker.bootstrap(), lists_published, 60);
  size_t shown = 0, purchase_lists = 0, cross_ok = 0, in_complement = 0, items_total = 0;
  double cats_sum = 0;
  for (auto it = lists.rbegin(); it != lists.rend(); ++it) {
    std::set<std::string> cats, other;
    for (const auto& [id, cat, score, reason] : it->items) {
      cats.insert(cat);
      if (cat != it->trigger_category) other.insert(cat);
    }
    cats_sum += static_cast<double>(cats.size());
    if (it->trigger_type != "purchase") continue;
    ++purchase_lists;
    if (other.size() >= 2) ++cross_ok;
    // The generator planted the complements of category cNN.
    const size_t c = static_cast<size_t>(std::atoi(it->trigger_category.c_str() + 1));
    std::set<std::string> planted;
    if (c < gen.complements().size())
      for (size_t d : gen.complements()[c]) planted.insert(Generator::CategoryName(d));
    for (const auto& item : it->items) {
      ++items_total;
      if (planted.count(std::get<1>(item))) ++in_complement;
    }
    if (shown < args.show && !it->items.empty()) {
      ++shown;
      std::string planted_list;
      for (const auto& p : planted) planted_list += (planted_list.empty() ? "" : " ") + p;
      std::printf("\nuser %s bought %s (category %s; planted complements: %s) -> %zu items in %zu categories:\n",
                  it->user.c_str(), it->trigger_item.c_str(), it->trigger_category.c_str(), planted_list.c_str(),
                  it->items.size(), cats.size());
      for (size_t i = 0; i < it->items.size() && i < 8; ++i) {
        const auto& [id, cat, score, reason] = it->items[i];
        std::printf("  %2zu. %-8s %-5s %6.3f  %s%s\n", i + 1, id.c_str(), cat.c_str(), score, reason.c_str(),
                    planted.count(cat) ? "  (complement)" : "");
      }
      if (it->items.size() > 8) std::printf("      ... %zu more\n", it->items.size() - 8);
    }
  }
  std::printf("\nsummary\n");
  std::printf("  events consumed      %llu in %.2f s (%.0f/s, one processing thread, embedded broker)\n",
              static_cast<unsigned long long>(m.records_in.load()), busy, static_cast<double>(m.records_in.load()) / busy);
  std::printf("  events applied       %llu\n", static_cast<unsigned long long>(m.events_applied.load()));
  std::printf("  lists published      %llu (read back from topic '%s': %zu)\n",
              static_cast<unsigned long long>(lists_published), config.pipeline.topics.recommendations.c_str(),
              lists.size());
  PrintDeadLetters(m, stdout);
  std::printf("  categories per list  %.2f on average\n", lists.empty() ? 0.0 : cats_sum / static_cast<double>(lists.size()));
  if (purchase_lists > 0) {
    std::printf("  after a purchase     %.1f%% of lists hold >= 2 categories besides the trigger's; "
                "%.1f%% of their items are in a planted complement category\n",
                100.0 * static_cast<double>(cross_ok) / static_cast<double>(purchase_lists),
                items_total ? 100.0 * static_cast<double>(in_complement) / static_cast<double>(items_total) : 0.0);
  }
  if (StopSignal() != 0) {
    std::printf("  INTERRUPTED by %s after %llu of %llu events: the summary is partial\n", SignalName(StopSignal()),
                static_cast<unsigned long long>(m.records_in.load()), static_cast<unsigned long long>(produced));
    return InterruptedExitCode();
  }
  return lists.size() == lists_published ? 0 : 1;
}

}  // namespace recstream::app
