// End-to-end benchmark on a real Kafka broker (scripts/kafka.sh; the
// embedded librdkafka mock cluster when java or mvn are missing): generated
// shop events are produced to the events topic, an in-process app::Processor
// consumes them, and a separate consumer reads the recommendations topic.
// Prints throughput, CPU per event (by stage), event -> list latency, peak
// RSS and state bytes per user. With --ceilings it also measures the parts
// alone on the same broker and machine (simdjson parsing, RocksDB batched
// writes, librdkafka produce and consume), so recstream's own overhead shows
// as a ratio. Figures only: nothing here fails on timing.
//
//   e2e_bench -n 200000                  backlog: produce all, then process
//   e2e_bench -n 100000 --rate 20000     paced: produce at 20k/s while processing
//   e2e_bench --set processing.coalesce_ms=100 --ceilings
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>
#include <librdkafka/rdkafkacpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/config.h"
#include "app/generator.h"
#include "app/processor.h"
#include "operators/parse.h"
#include "state/db.h"
#include "stream/embedded_broker.h"
#include "tests/integration/kafka_util.h"

namespace recstream {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double TvSec(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }
// CPU seconds (user + system) of the whole process, or of the calling thread.
double CpuSeconds(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  return TvSec(ru.ru_utime) + TvSec(ru.ru_stime);
}
long PeakRssKiB() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
// The resident set now (VmRSS), not the peak; 0 where /proc is missing.
long CurrentRssKiB() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

struct Args {
  uint64_t events = 200'000;
  double rate = 0;  // events/s; 0 = backlog
  size_t users = 200'000, items = 100'000, categories = 200;
  std::vector<std::string> sets;
  int port = 0;             // 0: a free one from 19300
  std::string brokers;      // an already running broker (topics are created here)
  bool embedded = false;    // force the embedded broker
  bool ceilings = false;
  bool check_config = false;  // only validate the --set keys and exit (scripts/bench.sh)
  int partitions = 4;
  uint64_t rss_every = 0;  // print the resident set every this many events consumed
  bool no_read = false;    // do not read the lists back (long runs: no latency)
};

void Usage() {
  std::fprintf(stderr,
               "usage: e2e_bench [-n EVENTS] [--rate EVENTS_PER_S] [--users N] [--items N] [--categories N]\n"
               "                 [--set key=value ...] [--port PORT | --brokers HOST:PORT | --embedded]\n"
               "                 [--partitions N] [--ceilings] [--check-config] [--rss-every N] [--no-read]\n"
               "  -n            events to produce (default 200000)\n"
               "  --rate        produce at this rate while processing (paced, for latency); 0 = produce\n"
               "                everything first, then start the processor (backlog, for throughput). Default 0\n"
               "  --set         passed to the processor's Config, e.g. recommend.scorer=rules\n"
               "  --port        port of the real broker started with scripts/kafka.sh (default: a free one)\n"
               "  --brokers     use this running broker instead of starting one\n"
               "  --embedded    use librdkafka's in-process mock cluster instead of a real broker\n"
               "  --ceilings    also measure simdjson, RocksDB, librdkafka produce/consume alone\n"
               "  --check-config  exit 0 if the --set keys and values are valid, 2 if not; runs nothing\n"
               "  --rss-every   print the resident set (VmRSS) and the state directory's size every N events\n"
               "                consumed: memory and disk over a long run\n"
               "  --no-read     do not read the lists back: no latency figures, and the bench holds no list\n"
               "                (for runs of millions of events)\n");
}

bool ParseArgs(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (k == "--ceilings") a->ceilings = true;
    else if (k == "--check-config") a->check_config = true;
    else if (k == "--embedded") a->embedded = true;
    else if (k == "--no-read") a->no_read = true;
    else if (k == "-h" || k == "--help") return false;
    else if ((v = val()) == nullptr) return false;
    else if (k == "-n") a->events = std::strtoull(v, nullptr, 10);
    else if (k == "--rate") a->rate = std::strtod(v, nullptr);
    else if (k == "--users") a->users = std::strtoull(v, nullptr, 10);
    else if (k == "--items") a->items = std::strtoull(v, nullptr, 10);
    else if (k == "--categories") a->categories = std::strtoull(v, nullptr, 10);
    else if (k == "--set") a->sets.emplace_back(v);
    else if (k == "--port") a->port = std::atoi(v);
    else if (k == "--brokers") a->brokers = v;
    else if (k == "--partitions") a->partitions = std::max(1, std::atoi(v));
    else if (k == "--rss-every") a->rss_every = std::strtoull(v, nullptr, 10);
    else return false;
  }
  return a->events > 0 && a->users > 0 && a->items > 0 && a->categories > 0;
}

// Creates topics through the Kafka admin API (fast; the kafka.sh tool starts
// a JVM per call). An existing topic is fine.
bool CreateTopics(const std::string& bootstrap, const std::vector<std::string>& names, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return false;
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& n : names) topics.push_back(rd_kafka_NewTopic_new(n.c_str(), partitions, 1, err, sizeof err));
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), nullptr, q);
  bool ok = false;
  if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000)) {
    ok = rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** r = rd_kafka_CreateTopics_result_topics(res, &n);
      for (size_t i = 0; i < n; ++i) {
        const auto e = rd_kafka_topic_result_error(r[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          std::fprintf(stderr, "create topic %s: %s\n", rd_kafka_topic_result_name(r[i]), rd_kafka_err2str(e));
          ok = false;
        }
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  rd_kafka_destroy(rk);
  return ok;
}

std::unique_ptr<RdKafka::Producer> MakeProducer(const std::string& bootstrap) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("linger.ms", "5", err);
  conf->set("queue.buffering.max.messages", "1000000", err);
  return std::unique_ptr<RdKafka::Producer>(RdKafka::Producer::create(conf.get(), err));
}

bool Produce(RdKafka::Producer& p, const std::string& topic, const std::string& key, const std::string& value) {
  for (;;) {
    const auto e = p.produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                             const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
    if (e == RdKafka::ERR_NO_ERROR) break;
    if (e != RdKafka::ERR__QUEUE_FULL) return false;
    p.poll(5);
  }
  p.poll(0);
  return true;
}

// A consumer assigned to every partition of topic from the beginning.
std::unique_ptr<RdKafka::KafkaConsumer> MakeReader(const std::string& bootstrap, const std::string& topic,
                                                   int partitions) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "e2e-bench-reader", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("fetch.wait.max.ms", "5", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) return c;
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p)
    parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  c->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  return c;
}

// The value of "name": <integer> after position from in json (-1 if absent).
int64_t IntField(std::string_view json, std::string_view name, size_t from = 0) {
  std::string pat = "\"" + std::string(name) + "\":";
  const size_t at = json.find(pat, from);
  if (at == std::string_view::npos) return -1;
  return std::strtoll(json.data() + at + pat.size(), nullptr, 10);
}

struct OutList {
  std::string user;  // the message key (resolved to an index after the run)
  int64_t trigger_ts, generated_ts;
};

// Reads lists from the recommendations topic until stop is set and nothing
// came for a while, or `expected` (once known, > 0) arrived.
class OutputReader {
 public:
  // Disabled (--no-read): Run returns at once and lists stays empty.
  OutputReader(const std::string& bootstrap, const std::string& topic, int partitions, bool enabled)
      : c_(enabled ? MakeReader(bootstrap, topic, partitions) : nullptr) {}
  void Run(const std::atomic<bool>& produced_all, const std::atomic<uint64_t>& expected) {
    auto idle_since = Clock::now();
    while (c_) {
      std::unique_ptr<RdKafka::Message> m(c_->consume(20));
      if (m && m->err() == RdKafka::ERR_NO_ERROR && m->payload() != nullptr) {
        std::string_view v(static_cast<const char*>(m->payload()), m->len());
        const size_t trig = v.find("\"trigger\":");
        OutList l{m->key() ? *m->key() : std::string(), trig == std::string_view::npos ? -1 : IntField(v, "ts", trig),
                  IntField(v, "generated_ts")};
        lists.push_back(l);
        idle_since = Clock::now();
      }
      const uint64_t want = expected.load();
      if (produced_all.load() && want == 0) break;
      if (produced_all.load() && want > 0 && lists.size() >= want) break;
      if (produced_all.load() && want > 0 && Since(idle_since) > 10) break;  // lost lists: give up
    }
    cpu_s = CpuSeconds(RUSAGE_THREAD);
    if (c_) c_->close();
  }
  std::vector<OutList> lists;
  double cpu_s = 0;

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> c_;
};

double Pct(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return static_cast<double>(v[i]);
}

// Bytes under a RocksDB directory: all of it, and the write-ahead log
// (*.log) and table files (*.sst) apart, to tell WAL retention from data.
struct DirSize {
  uint64_t total = 0, wal = 0, sst = 0;
};
DirSize DirBytes(const std::string& dir) {
  DirSize n;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const uint64_t b = it->file_size(ec);
    n.total += b;
    const auto ext = it->path().extension();
    if (ext == ".log") n.wal += b;
    else if (ext == ".sst") n.sst += b;
  }
  return n;
}

std::string Fmt(double v) {
  char b[64];
  if (v >= 100) std::snprintf(b, sizeof b, "%.0f", v);
  else std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// ------------------------------------------------------------- ceilings

struct Corpus {
  std::vector<std::string> keys, values;
};

Corpus MakeCorpus(const Args& a, size_t n) {
  app::GeneratorOptions g;
  g.users = a.users;
  g.items = a.items;
  g.categories = a.categories;
  app::Generator gen(g);
  Corpus c;
  const int64_t now = WallMs();
  for (size_t i = 0; i < n; ++i) {
    auto e = gen.Next();
    e.ts_ms = now;
    c.keys.push_back(e.user_id);
    c.values.push_back(e.ToJson());
  }
  return c;
}

double CeilingParse(const Corpus& c) {
  operators::Parser parser(operators::ParseOptions{});
  operators::ParsedEvent pe;
  std::string detail;
  stream::Record r;
  r.topic = "events";
  size_t ok = 0;
  const double cpu0 = CpuSeconds(RUSAGE_THREAD);
  for (int round = 0; round < 3; ++round)
    for (const auto& v : c.values) {
      r.value = v;
      ok += parser.Parse(r, false, WallMs() + 1000, pe, detail) == operators::Reject::kNone;
    }
  const double cpu = CpuSeconds(RUSAGE_THREAD) - cpu0;
  std::printf("  simdjson parse alone     %12.0f events/CPU-s  (%zu of %zu parsed ok, 3 rounds, one thread)\n",
              static_cast<double>(ok) / cpu, ok, 3 * c.values.size());
  return static_cast<double>(ok) / cpu;
}

double CeilingRocksDb(const Corpus& c, const std::string& dir, size_t value_bytes) {
  state::StateOptions so;
  so.dir = dir;
  std::unique_ptr<state::StateDb> db;
  if (!state::StateDb::Open(so, &db).ok()) {
    std::printf("  rocksdb: cannot open %s\n", dir.c_str());
    return 0;
  }
  const std::string value(value_bytes, 'x');
  constexpr size_t kBatch = 1000;  // rows per commit, as processing.batch_max_events
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  const auto t0 = Clock::now();
  size_t rows = 0;
  for (size_t i = 0; i < c.keys.size(); i += kBatch) {
    rocksdb::WriteBatch b;
    for (size_t j = i; j < std::min(c.keys.size(), i + kBatch); ++j, ++rows)
      b.Put(db->handle(state::Cf::kUsers), c.keys[j], value);
    db->PutOffset(b, "events", 0, static_cast<int64_t>(i));
    if (!db->Commit(b).ok()) break;
  }
  const double wall = Since(t0), cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
  std::printf("  rocksdb batched writes   %12.0f rows/s, %.0f rows/CPU-s  (%zu rows of %zu B, %zu per WriteBatch)\n",
              static_cast<double>(rows) / wall, static_cast<double>(rows) / cpu, rows, value_bytes, kBatch);
  return static_cast<double>(rows) / wall;
}

void CeilingKafka(const Corpus& c, const std::string& bootstrap, const std::string& topic, int partitions,
                  double* produce_rate, double* consume_rate) {
  *produce_rate = *consume_rate = 0;
  auto p = MakeProducer(bootstrap);
  if (!p) return;
  double cpu0 = CpuSeconds(RUSAGE_SELF);
  auto t0 = Clock::now();
  for (size_t i = 0; i < c.values.size(); ++i)
    if (!Produce(*p, topic, c.keys[i], c.values[i])) return;
  p->flush(60000);
  double wall = Since(t0), cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
  *produce_rate = static_cast<double>(c.values.size()) / wall;
  std::printf("  librdkafka produce alone %12.0f events/s, %.0f events/CPU-s (client side)\n", *produce_rate,
              static_cast<double>(c.values.size()) / cpu);
  p.reset();
  auto r = MakeReader(bootstrap, topic, partitions);
  if (!r) return;
  size_t got = 0;
  // The clock starts at the first message: joining and the first fetch are
  // start-up, not throughput.
  const auto start = Clock::now();
  while (got == 0 && Since(start) < 60) {
    std::unique_ptr<RdKafka::Message> m(r->consume(100));
    if (m && m->err() == RdKafka::ERR_NO_ERROR) ++got;
  }
  cpu0 = CpuSeconds(RUSAGE_SELF);
  t0 = Clock::now();
  while (got > 0 && got < c.values.size() && Since(t0) < 120) {
    std::unique_ptr<RdKafka::Message> m(r->consume(100));
    if (m && m->err() == RdKafka::ERR_NO_ERROR) ++got;
  }
  --got;  // counted before the clock started
  wall = Since(t0);
  cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
  r->close();
  *consume_rate = static_cast<double>(got) / wall;
  std::printf("  librdkafka consume alone %12.0f events/s, %.0f events/CPU-s (client side; %zu read)\n",
              *consume_rate, static_cast<double>(got) / cpu, got);
}

// ------------------------------------------------------------------ main

int Main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) {
    Usage();
    return 2;
  }
  if (a.check_config) {
    app::Config c;
    Status s = app::LoadConfig("", a.sets, &c);
    if (!s.ok()) std::fprintf(stderr, "config: %s\n", s.ToString().c_str());
    return s.ok() ? 0 : 2;
  }
  const std::string tmp = (fs::temp_directory_path() / ("recstream-e2e-" + std::to_string(::getpid()))).string();
  fs::create_directories(tmp);

  // 1. The broker.
  std::string bootstrap, broker_kind;
  testing::RealBroker real;
  stream::EmbeddedBroker embedded;
  const std::string run_id = std::to_string(::getpid()) + "-" + std::to_string(WallMs() % 1000000);
  const std::string t_events = "bench-events-" + run_id, t_items = "bench-items-" + run_id,
                    t_recs = "bench-recs-" + run_id, t_dlq = "bench-dlq-" + run_id,
                    t_ceiling = "bench-ceiling-" + run_id;
  const std::vector<std::string> topics = {t_events, t_items, t_recs, t_dlq, t_ceiling};
  if (!a.brokers.empty()) {
    bootstrap = a.brokers;
    broker_kind = "real Kafka broker at " + bootstrap + " (given)";
  } else if (!a.embedded) {
    const int rc = real.Start(a.port > 0 ? a.port : 19300, tmp + "/kafka");
    if (rc == 0) {
      bootstrap = real.bootstrap();
      broker_kind = "real Kafka broker (scripts/kafka.sh) at " + bootstrap;
    } else if (rc == 3) {
      std::printf("java or mvn missing (scripts/kafka.sh exit 3): falling back to the EMBEDDED broker\n");
      a.embedded = true;
    } else {
      std::fprintf(stderr, "scripts/kafka.sh start failed (exit %d)\n", rc);
      return 1;
    }
  }
  if (a.embedded) {
    Status s = embedded.Start();
    for (const auto& t : topics)
      if (s.ok()) s = embedded.CreateTopic(t, a.partitions);
    if (!s.ok()) {
      std::fprintf(stderr, "embedded broker: %s\n", s.ToString().c_str());
      return 1;
    }
    bootstrap = embedded.bootstrap();
    broker_kind = "EMBEDDED broker (librdkafka mock cluster; not a real broker) at " + bootstrap;
  } else if (!CreateTopics(bootstrap, topics, a.partitions)) {
    std::fprintf(stderr, "creating topics on %s failed\n", bootstrap.c_str());
    return 1;
  }

  // 2. The processor's configuration.
  std::vector<std::string> overrides = {"kafka.brokers=" + bootstrap, "topics.events=" + t_events,
                                        "topics.items=" + t_items, "topics.recommendations=" + t_recs,
                                        "topics.dead_letters=" + t_dlq, "kafka.group_id=bench-" + run_id,
                                        "state.dir=" + tmp + "/state", "log.level=warn"};
  for (const auto& s : a.sets) overrides.push_back(s);
  app::Config config;
  spdlog::set_level(spdlog::level::warn);  // the processor's partition logs would bury the figures
  if (Status s = app::LoadConfig("", overrides, &config); !s.ok()) {
    std::fprintf(stderr, "config: %s\n", s.ToString().c_str());
    return 2;
  }

  const bool paced = a.rate > 0;
  std::printf("recstream e2e_bench: %s, %" PRIu64 " events, %s, generator %zu users / %zu items / %zu categories, "
              "%d partitions\n",
              broker_kind.c_str(), a.events,
              paced ? ("paced at " + Fmt(a.rate) + " events/s").c_str() : "backlog (all produced before start)",
              a.users, a.items, a.categories, a.partitions);
  for (const auto& s : a.sets) std::printf("  --set %s\n", s.c_str());

  app::GeneratorOptions g;
  g.users = a.users;
  g.items = a.items;
  g.categories = a.categories;
  app::Generator gen(g);
  std::unordered_map<std::string, uint32_t> user_index;
  std::vector<uint32_t> ev_user;
  std::vector<int64_t> ev_ts;
  ev_user.reserve(a.events);
  ev_ts.reserve(a.events);
  auto producer = MakeProducer(bootstrap);
  if (!producer) return 1;
  double producer_cpu = 0;
  std::atomic<bool> produced_all{false};
  std::atomic<uint64_t> expected{0};
  // Produces every event, stamping ts with the wall clock at production.
  auto produce = [&] {
    const double cpu0 = CpuSeconds(RUSAGE_THREAD);
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < a.events; ++i) {
      if (paced) {
        const auto due = t0 + std::chrono::duration<double>(static_cast<double>(i) / a.rate);
        if (Clock::now() < due) std::this_thread::sleep_until(due);
      }
      auto e = gen.Next();
      e.ts_ms = WallMs();
      const auto [it, fresh] = user_index.emplace(e.user_id, static_cast<uint32_t>(user_index.size()));
      ev_user.push_back(it->second);
      ev_ts.push_back(e.ts_ms);
      if (!Produce(*producer, t_events, e.user_id, e.ToJson())) {
        std::fprintf(stderr, "produce failed\n");
        break;
      }
    }
    producer->flush(60000);
    producer_cpu = CpuSeconds(RUSAGE_THREAD) - cpu0;
  };

  // 3. Backlog: produce all first. Paced: processor first, then produce.
  double produce_wall = 0;
  if (!paced) {
    const auto t0 = Clock::now();
    produce();
    produce_wall = Since(t0);
    std::printf("produced %" PRIu64 " events in %.2f s before starting the processor\n", a.events, produce_wall);
  }
  const long rss_before = PeakRssKiB();
  const double proc_cpu0 = CpuSeconds(RUSAGE_SELF);
  std::unique_ptr<app::Processor> proc;
  if (Status s = app::Processor::Open(config, bootstrap, &proc); !s.ok()) {
    std::fprintf(stderr, "processor: %s\n", s.ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  Status run_status;
  double processing_thread_cpu = 0;
  const auto run_t0 = Clock::now();
  std::thread worker([&] {
    run_status = proc->Run(stop);
    processing_thread_cpu = CpuSeconds(RUSAGE_THREAD);
  });
  // Lists are read while processing in the paced mode (the reader's time is
  // then part of the process's CPU, and subtracted), after it in backlog.
  OutputReader reader(bootstrap, t_recs, a.partitions, !a.no_read);
  std::thread reader_thread;
  if (paced) reader_thread = std::thread([&] { reader.Run(produced_all, expected); });
  double producer_cpu_paced = 0;
  std::thread producer_thread;
  // Paced: the stream starts once the processor owns its partitions (a real
  // broker delays the first group assignment by ~3 s), so latency is not
  // the group join.
  if (paced)
    for (auto t = Clock::now(); !proc->Ready() && Since(t) < 60;)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (paced) producer_thread = std::thread([&] {
    produce();
    producer_cpu_paced = producer_cpu;
  });
  const auto& m = proc->metrics();
  Clock::time_point first{};
  // --rss-every: the resident set and the state directory as the run goes,
  // to show that both level off.
  uint64_t next_sample = a.rss_every, last_count = 0, last_sample_n = 0;
  long rss_min_late = 0, rss_max = 0;  // rss_min_late: the least in the second half
  uint64_t disk_max = 0;
  auto last_progress = Clock::now(), last_sample = Clock::now();
  auto sample = [&](uint64_t n) {
    const long rss = CurrentRssKiB();
    const DirSize disk = DirBytes(tmp + "/state");
    rss_max = std::max(rss_max, rss);
    disk_max = std::max(disk_max, disk.total);
    if (n >= a.events / 2) rss_min_late = rss_min_late == 0 ? rss : std::min(rss_min_late, rss);
    std::printf("  %12" PRIu64 " events  RSS %8.1f MiB  state.dir %8.1f MiB (WAL %6.1f)  %8.0f events/s since the "
                "last line\n",
                n, static_cast<double>(rss) / 1024, static_cast<double>(disk.total) / 1048576,
                static_cast<double>(disk.wal) / 1048576,
                static_cast<double>(n - last_sample_n) / std::max(1e-9, Since(last_sample)));
    std::fflush(stdout);
    last_sample = Clock::now();
    last_sample_n = n;
  };
  if (a.rss_every > 0) std::printf("memory and disk as the run goes (VmRSS of the process; du of state.dir)\n");
  while (m.records_in.load() < a.events && run_status.ok()) {
    const uint64_t n = m.records_in.load();
    if (first == Clock::time_point{} && n > 0) first = Clock::now();
    if (n != last_count) {
      last_count = n;
      last_progress = Clock::now();
    }
    if (Since(last_progress) > 120) {  // stuck: report what was done
      std::fprintf(stderr, "no event consumed for 120 s; stopping at %" PRIu64 "\n", n);
      break;
    }
    if (a.rss_every > 0 && n >= next_sample) {
      sample(n);
      while (next_sample <= n) next_sample += a.rss_every;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (a.rss_every > 0 && m.records_in.load() > last_sample_n) sample(m.records_in.load());
  if (first == Clock::time_point{}) first = run_t0;
  const double busy = Since(first);
  // Coalesced lists may still be due: wait until the published count settles.
  uint64_t last = m.lists_published.load();
  for (auto t = Clock::now(); Since(t) < 1.0;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (m.lists_published.load() != last) {
      last = m.lists_published.load();
      t = Clock::now();
    }
  }
  stop.store(true);
  worker.join();
  if (paced) producer_thread.join();
  const uint64_t published = m.lists_published.load();
  const uint64_t coalesced = m.lists_coalesced.load();
  const uint64_t records = m.records_in.load(), applied = m.events_applied.load();
  std::array<uint64_t, operators::PipelineMetrics::kStageCount> stage{};
  for (size_t s = 0; s < stage.size(); ++s) stage[s] = m.stage_ns[s].load();
  const uint64_t dead = m.dead_letters_total();
  proc->Close();
  double proc_cpu = CpuSeconds(RUSAGE_SELF) - proc_cpu0;
  expected.store(published);
  produced_all.store(true);
  if (paced) reader_thread.join();
  else reader.Run(produced_all, expected);
  if (paced) proc_cpu -= producer_cpu_paced + reader.cpu_s;
  proc.reset();
  if (!run_status.ok()) std::fprintf(stderr, "processor stopped: %s\n", run_status.ToString().c_str());

  // 4. Latency: for every event, the first list of its user whose trigger is
  // at or after it (with coalescing, a later event's list covers it).
  std::vector<std::vector<const OutList*>> by_user(user_index.size());
  std::vector<int64_t> list_lat;
  for (const auto& l : reader.lists) {
    if (auto it = user_index.find(l.user); it != user_index.end()) by_user[it->second].push_back(&l);
    if (l.trigger_ts >= 0 && l.generated_ts >= 0) list_lat.push_back(l.generated_ts - l.trigger_ts);
  }
  std::vector<size_t> cursor(user_index.size(), 0);
  std::vector<int64_t> fresh, steady;  // steady: without the first 10% of events (start-up)
  fresh.reserve(ev_ts.size());
  uint64_t uncovered = 0;
  for (size_t i = 0; i < ev_ts.size(); ++i) {
    auto& cur = cursor[ev_user[i]];
    const auto& ls = by_user[ev_user[i]];
    while (cur < ls.size() && ls[cur]->trigger_ts < ev_ts[i]) ++cur;
    if (cur < ls.size()) {
      fresh.push_back(ls[cur]->generated_ts - ev_ts[i]);
      if (i >= ev_ts.size() / 10) steady.push_back(fresh.back());
    } else {
      ++uncovered;
    }
  }

  const DirSize state_size = DirBytes(tmp + "/state");
  const uint64_t state_bytes = state_size.total;
  // The users' rows alone (key + value), read back from the store: what a
  // user costs, apart from the model that all users share.
  uint64_t user_rows = 0, user_row_bytes = 0, users_cf_disk = 0;
  {
    state::StateOptions so;
    so.dir = tmp + "/state";
    std::unique_ptr<state::StateDb> db;
    if (state::StateDb::Open(so, &db).ok()) {
      (void)db->Scan(state::Cf::kUsers, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
        ++user_rows;
        user_row_bytes += k.size() + v.size();
        return true;
      });
      db->raw()->CompactRange(rocksdb::CompactRangeOptions(), db->handle(state::Cf::kUsers), nullptr, nullptr);
      users_cf_disk = db->ApproximateBytes(state::Cf::kUsers);
    }
  }
  const double cores_s = proc_cpu;
  std::printf("\nresults (%s)\n", paced ? "paced" : "backlog");
  std::printf("  events                   %" PRIu64 " consumed, %" PRIu64 " applied, %" PRIu64 " dead letters\n",
              records, applied, dead);
  std::printf("  wall                     %.2f s from the first record consumed to the last\n", busy);
  std::printf("  throughput               %.0f events/s\n", static_cast<double>(records) / busy);
  std::printf("  CPU                      %.2f s of the process while the processor ran%s\n", cores_s,
              paced ? " (minus the bench's producer and reader threads; their librdkafka threads stay in)"
                    : " (producer done before, reader after: processor, its librdkafka and RocksDB threads)");
  std::printf("  processing thread CPU    %.2f s\n", processing_thread_cpu);
  std::printf("  per core                 %.0f events per CPU-second (process), %.0f per processing-thread CPU-s\n",
              static_cast<double>(records) / cores_s, static_cast<double>(records) / processing_thread_cpu);
  uint64_t stage_total = 0;
  for (auto v : stage) stage_total += v;
  std::printf("  stage time per event     ");
  for (size_t s = 0; s < stage.size(); ++s)
    std::printf("%s %.2f us  ", operators::PipelineMetrics::StageName(s),
                records ? static_cast<double>(stage[s]) / 1e3 / static_cast<double>(records) : 0.0);
  std::printf("(sum %.2f us%s)\n", records ? static_cast<double>(stage_total) / 1e3 / static_cast<double>(records) : 0.0,
              stage_total == 0 ? "; stage timers not wired in this build" : "");
  std::printf("  processing thread/event  %.2f us CPU\n", records ? processing_thread_cpu * 1e6 / static_cast<double>(records) : 0.0);
  std::printf("  peak RSS                 %.1f MiB (ru_maxrss of the process; %.1f MiB before the processor)\n",
              static_cast<double>(PeakRssKiB()) / 1024, static_cast<double>(rss_before) / 1024);
  std::printf("  state on disk            %.1f MiB in %s, %zu distinct users -> %.0f bytes/user (du: SST+WAL+MANIFEST, "
              "users, model and embeddings)\n",
              static_cast<double>(state_bytes) / 1048576, "state.dir", user_index.size(),
              static_cast<double>(state_bytes) / static_cast<double>(std::max<size_t>(1, user_index.size())));
  std::printf("                           of which %.1f MiB write-ahead log, %.1f MiB tables (SST)\n",
              static_cast<double>(state_size.wal) / 1048576, static_cast<double>(state_size.sst) / 1048576);
  std::printf("  user rows                %" PRIu64 " rows, %.0f bytes/user (key + value as stored), %.0f bytes/user "
              "on disk after compacting the users column family (compressed SST)\n",
              user_rows, static_cast<double>(user_row_bytes) / static_cast<double>(std::max<uint64_t>(1, user_rows)),
              static_cast<double>(users_cf_disk) / static_cast<double>(std::max<uint64_t>(1, user_rows)));
  std::printf("  lists                    %" PRIu64 " published, %" PRIu64 " coalesced, %zu read back\n", published,
              coalesced, reader.lists.size());
  if (a.rss_every > 0)
    std::printf("  resident set             max %.1f MiB while processing, least %.1f MiB in the second half; "
                "state.dir max %.1f MiB (sampled every %" PRIu64 " events)\n",
                static_cast<double>(rss_max) / 1024, static_cast<double>(rss_min_late) / 1024,
                static_cast<double>(disk_max) / 1048576, a.rss_every);
  if (a.no_read) {
    std::printf("  latency                  not measured (--no-read)\n");
  } else {
    std::printf("  list latency             p50 %.0f  p99 %.0f  p999 %.0f  max %.0f ms (generated_ts - trigger.ts of "
                "each list; ms clock)\n",
                Pct(list_lat, 0.5), Pct(list_lat, 0.99), Pct(list_lat, 0.999), Pct(list_lat, 1.0));
    std::printf("  event -> list latency    p50 %.0f  p99 %.0f  p999 %.0f  max %.0f ms (each event to the first list "
                "of its user at or after it; %" PRIu64 " events not covered)%s\n",
                Pct(fresh, 0.5), Pct(fresh, 0.99), Pct(fresh, 0.999), Pct(fresh, 1.0), uncovered,
                paced ? "" : " [backlog: includes the wait before start]");
    std::printf("  after the first 10%%      p50 %.0f  p99 %.0f  p999 %.0f  max %.0f ms (event -> list, start-up "
                "excluded)\n",
                Pct(steady, 0.5), Pct(steady, 0.99), Pct(steady, 0.999), Pct(steady, 1.0));
  }
  std::printf("BENCH mode=%s events=%" PRIu64 " wall_s=%.2f events_per_s=%.0f cpu_s=%.2f events_per_cpu_s=%.0f "
              "thread_cpu_s=%.2f p50_ms=%.0f p99_ms=%.0f p999_ms=%.0f steady_p99_ms=%.0f rss_mib=%.0f state_bytes_per_user=%.0f "
              "user_row_bytes=%.0f user_disk_bytes=%.0f published=%" PRIu64 " coalesced=%" PRIu64 "\n",
              paced ? "paced" : "backlog", records, busy, static_cast<double>(records) / busy, cores_s,
              static_cast<double>(records) / cores_s, processing_thread_cpu, Pct(fresh, 0.5), Pct(fresh, 0.99),
              Pct(fresh, 0.999), Pct(steady, 0.99), static_cast<double>(PeakRssKiB()) / 1024,
              static_cast<double>(state_bytes) / static_cast<double>(std::max<size_t>(1, user_index.size())),
              static_cast<double>(user_row_bytes) / static_cast<double>(std::max<uint64_t>(1, user_rows)),
              static_cast<double>(users_cf_disk) / static_cast<double>(std::max<uint64_t>(1, user_rows)), published,
              coalesced);

  // 5. The parts alone, on the same machine and broker.
  if (a.ceilings) {
    std::printf("\nceilings (the parts alone, same broker, same messages)\n");
    const Corpus c = MakeCorpus(a, std::min<uint64_t>(a.events, 200'000));
    const double parse = CeilingParse(c);
    const size_t row = static_cast<size_t>(std::max<double>(
        64.0, static_cast<double>(user_row_bytes) / static_cast<double>(std::max<uint64_t>(1, user_rows))));
    const double rocks = CeilingRocksDb(c, tmp + "/ceiling-db", std::min<size_t>(row, 4096));
    double prod = 0, cons = 0;
    CeilingKafka(c, bootstrap, t_ceiling, a.partitions, &prod, &cons);
    const double e2e = static_cast<double>(records) / busy;
    std::printf("  recstream / part         parse %.3f  rocksdb %.3f  produce %.3f  consume %.3f  (e2e events/s "
                "over each part's rate)\n",
                e2e / parse, e2e / rocks, prod > 0 ? e2e / prod : 0.0, cons > 0 ? e2e / cons : 0.0);
    std::printf("CEILING parse_per_cpu_s=%.0f rocksdb_rows_per_s=%.0f produce_per_s=%.0f consume_per_s=%.0f\n", parse,
                rocks, prod, cons);
  }
  std::error_code ec;
  fs::remove_all(tmp + "/state", ec);
  fs::remove_all(tmp + "/ceiling-db", ec);
  return run_status.ok() ? 0 : 1;
}

}  // namespace
}  // namespace recstream

int main(int argc, char** argv) {
  const int rc = recstream::Main(argc, argv);  // the broker (if started) is stopped when Main returns
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("recstream-e2e-" + std::to_string(::getpid())), ec);
  return rc;
}
