// The recstream binary over files: replay (JSON Lines, CSV with a header,
// the Taobao layout), resuming from a state directory, and eval.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>

#include "app/generator.h"
#include "stream/dead_letter.h"
#include "tests/integration/subprocess_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr
};

Result RunCli(const std::string& args) {
  Result r;
  const std::string cmd = std::string(RECSTREAM_BINARY) + " " + args + " 2>&1";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> Lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Drops the one field that depends on the wall clock.
std::string WithoutGeneratedTs(const std::string& json) {
  const auto a = json.find("\"generated_ts\":");
  if (a == std::string::npos) return json;
  const auto b = json.find(',', a);
  return json.substr(0, a) + json.substr(b + 1);
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("recstream-replay-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    app::GeneratorOptions g;
    g.users = 300;
    g.items = 3000;
    g.categories = 15;
    app::Generator gen(g);
    for (int i = 0; i < 3000; ++i) events_.push_back(gen.Next());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path WriteJsonl(const std::string& name, size_t from, size_t to) {
    const fs::path p = dir_ / name;
    std::ofstream out(p);
    for (size_t i = from; i < to; ++i) out << events_[i].ToJson() << "\n";
    return p;
  }

  // n events of the default shop with this seed, as JSON Lines.
  fs::path WriteGenerated(const std::string& name, uint64_t seed, int n) {
    const fs::path p = dir_ / name;
    app::GeneratorOptions g;
    g.seed = seed;
    app::Generator gen(g);
    std::ofstream out(p);
    for (int i = 0; i < n; ++i) out << gen.Next().ToJson() << "\n";
    return p;
  }

  fs::path dir_;
  std::vector<app::GeneratedEvent> events_;
};

TEST_F(ReplayTest, JsonLinesGiveOneListPerEventInProductionOrder) {
  const auto in = WriteJsonl("events.jsonl", 0, events_.size());
  const auto out = dir_ / "out.jsonl";
  const Result r = RunCli("replay --input " + in.string() + " --output " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto lines = Lines(out);
  ASSERT_EQ(lines.size(), events_.size());
  simdjson::dom::parser parser;
  for (size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(lines[i]).get(doc), simdjson::SUCCESS);
    std::string_view id, user;
    ASSERT_EQ(doc["trigger"]["event_id"].get(id), simdjson::SUCCESS);
    ASSERT_EQ(doc["user_id"].get(user), simdjson::SUCCESS);
    EXPECT_EQ(id, events_[i].event_id);
    EXPECT_EQ(user, events_[i].user_id);
    int64_t version = 0;
    ASSERT_EQ(doc["model_version"].get(version), simdjson::SUCCESS);
    EXPECT_EQ(version, static_cast<int64_t>(i + 1)) << "model_version counts applied events";
  }
}

TEST_F(ReplayTest, TaobaoLayoutUsesLineNumbersAsEventIds) {
  const auto in = dir_ / "UserBehavior.csv";
  {
    std::ofstream out(in);
    for (size_t i = 0; i < 500; ++i) {
      const auto& e = events_[i];
      const char* type = e.type == "purchase" ? "buy" : e.type == "view" || e.type == "click" ? "pv" : e.type.c_str();
      out << e.user_id.substr(1) << "," << e.item_id.substr(1) << "," << e.category_id << "," << type << ","
          << e.ts_ms / 1000 << "\n";
    }
    out << "1,2,3,teleport,1511658000\n";  // unknown behaviour: a dead letter
    out << "1,2\n";                        // short row: a dead letter
  }
  const auto out = dir_ / "out.jsonl";
  const Result r = RunCli("replay --input " + in.string() + " --output " + out.string() + " --format taobao");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 500u);
  EXPECT_NE(lines[0].find(R"("event_id":"1")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[499].find(R"("event_id":"500")"), std::string::npos) << lines[499];
  EXPECT_NE(lines[0].find(R"("ts":)" + std::to_string(events_[0].ts_ms / 1000 * 1000)), std::string::npos);
  const auto dlq = Lines(fs::path(out.string() + ".dlq.jsonl"));
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_NE(dlq[0].find(R"("reason":"unknown_type")"), std::string::npos) << dlq[0];
  EXPECT_NE(dlq[0].find(R"("source.offset":"501")"), std::string::npos) << dlq[0];
  EXPECT_NE(dlq[1].find(R"("reason":"missing_field")"), std::string::npos) << dlq[1];
}

TEST_F(ReplayTest, CsvWithHeaderMatchesJsonLines) {
  const auto csv = dir_ / "events.csv";
  {
    std::ofstream out(csv);
    out << "event_id,user_id,item_id,category_id,type,ts,extra\n";
    for (size_t i = 0; i < 400; ++i) {
      const auto& e = events_[i];
      out << e.event_id << "," << e.user_id << "," << e.item_id << "," << e.category_id << "," << e.type << ","
          << e.ts_ms << ",\"ignored, quoted\"\n";
    }
  }
  const auto jsonl = WriteJsonl("events.jsonl", 0, 400);
  ASSERT_EQ(RunCli("replay -i " + csv.string() + " -o " + (dir_ / "a.jsonl").string()).code, 0);
  ASSERT_EQ(RunCli("replay -i " + jsonl.string() + " -o " + (dir_ / "b.jsonl").string()).code, 0);
  const auto a = Lines(dir_ / "a.jsonl"), b = Lines(dir_ / "b.jsonl");
  ASSERT_EQ(a.size(), 400u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(WithoutGeneratedTs(a[i]), WithoutGeneratedTs(b[i])) << i;
}

// With --state-dir, a replay stopped part-way and restarted produces exactly
// the outputs of one uninterrupted replay.
TEST_F(ReplayTest, ResumesFromStateDirLikeAnUninterruptedRun) {
  const auto full = WriteJsonl("full.jsonl", 0, 2000);
  const auto head = WriteJsonl("head.jsonl", 0, 1200);
  const auto state = dir_ / "state";
  ASSERT_EQ(RunCli("replay -i " + full.string() + " -o " + (dir_ / "once.jsonl").string()).code, 0);
  ASSERT_EQ(RunCli("replay -i " + head.string() + " -o " + (dir_ / "p1.jsonl").string() + " --state-dir " + state.string()).code, 0);
  const Result r = RunCli("replay -i " + full.string() + " -o " + (dir_ / "p2.jsonl").string() + " --state-dir " + state.string());
  ASSERT_EQ(r.code, 0) << r.out;
  auto once = Lines(dir_ / "once.jsonl");
  auto parts = Lines(dir_ / "p1.jsonl");
  const auto p2 = Lines(dir_ / "p2.jsonl");
  EXPECT_EQ(p2.size(), 800u) << "the restarted replay must skip what was checkpointed";
  parts.insert(parts.end(), p2.begin(), p2.end());
  ASSERT_EQ(parts.size(), once.size());
  for (size_t i = 0; i < once.size(); ++i) ASSERT_EQ(WithoutGeneratedTs(parts[i]), WithoutGeneratedTs(once[i])) << i;
}

// kill -9 during a replay into the same --output, three times, then a run
// to the end: the output equals one uninterrupted run's line for line (no
// list lost, none twice, no half-written line), because each checkpoint
// stores the output's size beside the input's line and a resume cuts the
// file back to it. The state dir then refuses another input (it would skip
// that file's first lines as done) and an output file that is not its own.
TEST_F(ReplayTest, KilledAndResumedIntoTheSameOutputEqualsOneRun) {
  const fs::path input = WriteGenerated("in.jsonl", 5, 100'000);
  const std::string bin = RECSTREAM_BINARY;
  const fs::path once = dir_ / "once.jsonl", out = dir_ / "out.jsonl", state = dir_ / "state";
  ASSERT_EQ(RunCli("replay -i " + input.string() + " -o " + once.string()).code, 0);
  const auto full_size = fs::file_size(once);
  int kills = 0;
  for (const double share : {0.2, 0.5, 0.8}) {
    const pid_t pid = testing::StartProcess(
        {bin, "replay", "-i", input.string(), "-o", out.string(), "--state-dir", state.string()});
    ASSERT_GT(pid, 0);
    const auto target = static_cast<uintmax_t>(share * static_cast<double>(full_size));
    bool ended = false;
    for (int i = 0; i < 2400; ++i) {
      std::error_code ec;
      if (fs::file_size(out, ec) >= target) break;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        ended = true;
        break;
      }
      ::usleep(5'000);
    }
    if (ended) break;  // it finished before the kill: nothing to resume
    ::kill(pid, SIGKILL);
    testing::WaitProcess(pid, std::chrono::seconds(30));
    ++kills;
  }
  EXPECT_GE(kills, 1) << "no kill landed mid-run";
  const Result r = RunCli("replay -i " + input.string() + " -o " + out.string() + " --state-dir " + state.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto a = Lines(once), b = Lines(out);
  ASSERT_EQ(b.size(), a.size()) << "lists lost or repeated after " << kills << " kill(s)";
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(WithoutGeneratedTs(b[i]), WithoutGeneratedTs(a[i])) << "line " << i;

  // Another input into the same state dir: refused, nothing written.
  const auto other = WriteJsonl("other.jsonl", 0, 500);
  const auto before = fs::file_size(out);
  Result refused = RunCli("replay -i " + other.string() + " -o " + out.string() + " --state-dir " + state.string());
  EXPECT_EQ(refused.code, 2) << refused.out;
  EXPECT_NE(refused.out.find("holds the replay of another input"), std::string::npos) << refused.out;
  EXPECT_EQ(fs::file_size(out), before);
  // The same input, grown by appended lines, is the same input.
  {
    std::ofstream app(input, std::ios::app);
    app << events_[0].ToJson() << "\n";
  }
  Result grown = RunCli("replay -i " + input.string() + " -o " + out.string() + " --state-dir " + state.string());
  EXPECT_EQ(grown.code, 0) << grown.out;
  EXPECT_EQ(Lines(out).size(), a.size() + 1) << "only the appended line is new";
  // An output shorter than its checkpoint is another file.
  std::ofstream(dir_ / "short.jsonl") << "{}\n";
  refused = RunCli("replay -i " + input.string() + " -o " + (dir_ / "short.jsonl").string() + " --state-dir " +
                   state.string());
  EXPECT_EQ(refused.code, 2) << refused.out;
  EXPECT_NE(refused.out.find("it is another file"), std::string::npos) << refused.out;
}

// `--output -` once put dead letters in "./-.dlq.jsonl" and `--output
// /dev/null` tried "/dev/null.dlq.jsonl" (and failed): beside stdout or a
// device the default is recstream.dlq.jsonl in the working directory.
TEST_F(ReplayTest, DeadLettersOfStdoutOrADeviceGoToTheWorkingDirectory) {
  std::ofstream(dir_ / "mixed.jsonl") << events_[0].ToJson() << "\nnot json\n" << events_[1].ToJson() << "\n";
  for (const std::string output : {"-", "/dev/null"}) {
    const fs::path cwd = dir_ / (output == "-" ? "stdout" : "devnull");
    fs::create_directories(cwd);
    const std::string cmd = "cd " + cwd.string() + " && " + RECSTREAM_BINARY + " replay -i " +
                            (dir_ / "mixed.jsonl").string() + " -o " + output + " > lists.jsonl 2> log.txt";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << output;
    const auto dead = Lines(cwd / "recstream.dlq.jsonl");
    ASSERT_EQ(dead.size(), 1u) << output;
    EXPECT_NE(dead[0].find("invalid_json"), std::string::npos) << dead[0];
    EXPECT_FALSE(fs::exists(cwd / "-.dlq.jsonl"));
    // Lists on stdout, not mixed with dead letters.
    EXPECT_EQ(Lines(cwd / "lists.jsonl").size(), output == "-" ? 2u : 0u) << output;
  }
}

// Waits for pid (SIGKILL past limit) and returns its exit code (-1 when
// signalled or killed) and its resource usage (peak RSS).
int WaitWithUsage(pid_t pid, std::chrono::seconds limit, rusage* usage) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::wait4(pid, &status, WNOHANG, usage) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, usage);
      return -1;
    }
    ::usleep(20'000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Base64Decode(std::string_view in) {
  static const std::string kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const auto v = kChars.find(c);
    if (v == std::string::npos) break;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// The string value of "key":"..." in a flat JSON line.
std::string Field(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  const auto a = line.find(k);
  if (a == std::string::npos) return "";
  const auto b = line.find('"', a + k.size());
  return line.substr(a + k.size(), b - a - k.size());
}

// Hostile files, as a user's tooling produces them: a NUL byte inside a line
// (it swallowed the next line), a line that is only a NUL (it vanished), a
// UTF-8 byte-order mark before a CSV header (fatal), a 100 MB line (1.55 GB
// of memory for a 300 MB one) and /dev/zero (read forever, deaf to SIGTERM).
// Every valid line gives its list, every other one exactly one dead letter
// with its own bytes, and memory stays bounded.
TEST_F(ReplayTest, HostileFilesLoseNoValidLineAndStayBounded) {
  const std::string nul_line = events_[1].ToJson().insert(10, 1, '\0');
  const fs::path nul = dir_ / "nul.jsonl";
  {
    std::ofstream out(nul, std::ios::binary);
    out << events_[0].ToJson() << "\n" << nul_line << "\n" << events_[2].ToJson() << "\n";
    out.write("\0\n", 2);
    out << events_[3].ToJson() << "\n";
  }
  Result r = RunCli("replay -i " + nul.string() + " -o " + (dir_ / "nul.out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Lines(dir_ / "nul.out").size(), 3u) << "every valid line gives its list: " << r.out;
  auto dead = Lines(dir_ / "nul.out.dlq.jsonl");
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(Field(dead[0], "source.offset"), "2");
  EXPECT_EQ(Base64Decode(Field(dead[0], "value_base64")), nul_line) << "the dead letter holds the line's own bytes";
  EXPECT_EQ(Field(dead[1], "source.offset"), "4");
  EXPECT_EQ(Base64Decode(Field(dead[1], "value_base64")), std::string(1, '\0'));

  // A byte-order mark before the header is not part of the first column's name.
  const fs::path bom = dir_ / "bom.csv";
  std::ofstream(bom, std::ios::binary) << "\xEF\xBB\xBFuser_id,item_id,category_id,type,ts\r\nu1,i1,c1,view,1767225600000\r\n";
  r = RunCli("replay -i " + bom.string() + " -o " + (dir_ / "bom.out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Lines(dir_ / "bom.out").size(), 1u) << r.out;

  // A 100 MB line between two valid ones: one bounded dead letter that
  // gives the line's size and hash; the process stays far below the line.
  const fs::path huge = dir_ / "huge.jsonl";
  std::string big = "{\"user_id\":\"" + std::string(100'000'000, 'a') + "\"}";
  {
    std::ofstream out(huge, std::ios::binary);
    out << events_[0].ToJson() << "\n" << big << "\n" << events_[1].ToJson() << "\n";
  }
  const size_t big_size = big.size();
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(stream::Fnv1a64(big)));
  // Freed before the fork: a child's peak RSS counts the pages it shares
  // with this process until exec.
  std::string().swap(big);
  const std::string bin = RECSTREAM_BINARY;
  // The bound is relative to the same binary on a two-line file (a
  // sanitizer build has a larger base).
  const fs::path small = WriteJsonl("small.jsonl", 0, 2);
  pid_t pid = testing::StartProcess({bin, "replay", "-i", small.string(), "-o", (dir_ / "small.out").string()});
  rusage usage{};
  ASSERT_EQ(WaitWithUsage(pid, std::chrono::seconds(120), &usage), 0);
  const long bound_kib = usage.ru_maxrss + 32 * 1024;
  pid = testing::StartProcess({bin, "replay", "-i", huge.string(), "-o", (dir_ / "huge.out").string()});
  ASSERT_GT(pid, 0);
  usage = {};
  ASSERT_EQ(WaitWithUsage(pid, std::chrono::seconds(120), &usage), 0);
  EXPECT_LT(usage.ru_maxrss, bound_kib) << "peak RSS in KiB; the line alone is 97,657 KiB";
  EXPECT_EQ(Lines(dir_ / "huge.out").size(), 2u);
  dead = Lines(dir_ / "huge.out.dlq.jsonl");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(Field(dead[0], "reason"), "oversized");
  EXPECT_EQ(Field(dead[0], "original.size"), std::to_string(big_size));
  EXPECT_EQ(Field(dead[0], "original.fnv1a64"), hash);
  EXPECT_LE(Base64Decode(Field(dead[0], "value_base64")).size(), 512u * 1024) << "the dead letter is bounded";

  // /dev/zero: one line that never ends. The process stays bounded and
  // stops on SIGTERM.
  pid = testing::StartProcess({bin, "replay", "-i", "/dev/zero", "-o", (dir_ / "zero.out").string()});
  ASSERT_GT(pid, 0);
  ::sleep(2);
  ::kill(pid, SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  usage = {};
  EXPECT_EQ(WaitWithUsage(pid, std::chrono::seconds(20), &usage), 143);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "SIGTERM was not heard";
  EXPECT_LT(usage.ru_maxrss, bound_kib) << "peak RSS in KiB";
}

// `config check FILE` validates without side effects and prints each key's
// effective value and origin (file, environment, --set, default); `config
// defaults` prints configs/default.toml as built in.
TEST_F(ReplayTest, ConfigCheckShowsEveryKeysOriginAndDefaultsPrintTheDocumentedFile) {
  const fs::path file = dir_ / "c.toml";
  std::ofstream(file) << "[recommend]\nk = 7\n[state]\ndir = \"" << (dir_ / "never-created").string() << "\"\n";
  Result r = RunCli("config check " + file.string() + " --set log.level=debug");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("is valid"), std::string::npos) << r.out;
  const auto has_line = [&](const std::string& start, const std::string& origin) {
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(start, 0) == 0) return line.find("# " + origin) != std::string::npos;
    return false;
  };
  EXPECT_TRUE(has_line("recommend.k = 7 ", "file " + file.string())) << r.out;
  EXPECT_TRUE(has_line("log.level = 'debug'", "--set")) << r.out;
  EXPECT_TRUE(has_line("admin.port = 0 ", "default")) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "never-created")) << "check opened the state store";
  r = RunCli("config check " + file.string() + " --set recommend.k=0");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("recommend.k"), std::string::npos) << r.out;
  // The environment, between the file and --set.
  const std::string env_cmd = "RECSTREAM_RECOMMEND__K=9 " + std::string(RECSTREAM_BINARY) + " config check " +
                              file.string() + " 2>&1";
  std::FILE* p = popen(env_cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("env RECSTREAM_RECOMMEND__K"), std::string::npos) << out;
  EXPECT_NE(out.find("recommend.k = 9"), std::string::npos) << out;

  r = RunCli("config defaults");
  ASSERT_EQ(r.code, 0);
  std::ifstream in(std::string(RECSTREAM_SOURCE_DIR) + "/configs/default.toml");
  const std::string documented((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(r.out, documented);
  EXPECT_EQ(RunCli("config").code, 2) << "check or defaults is required";
}

// configs/schemas/: JSON Schemas of the event, catalog and recommendation
// messages. Generated events (both worlds, a forget_user) and the lists a
// replay produces from them validate; messages the processor rejects, and a
// list missing a field, do not. Needs python3 with jsonschema (Debian
// python3-jsonschema; required in CI, skipped elsewhere when absent).
TEST_F(ReplayTest, GeneratedEventsAndProducedListsMatchThePublishedSchemas) {
  const std::string python = testing::FindExecutable("python3");
  const bool have = !python.empty() && std::system((python + " -c 'import jsonschema' 2>/dev/null").c_str()) == 0;
  if (!have) {
    if (testing::InCi()) FAIL() << "python3 with jsonschema missing in CI (scripts/setup.sh installs python3-jsonschema)";
    GTEST_SKIP() << "python3 with jsonschema not found";
  }
  const std::string schemas = std::string(RECSTREAM_SOURCE_DIR) + "/configs/schemas/";
  const auto validate = [&](const std::string& schema, const fs::path& file) {
    return testing::RunProcess({python, schemas + "validate.py", schemas + schema, file.string()},
                               std::chrono::seconds(120));
  };
  const fs::path events = dir_ / "events.jsonl";
  ASSERT_EQ(RunCli("gen -n 3000 --world hard --seed 5 -o " + events.string()).code, 0);
  {
    std::ofstream out(events, std::ios::app);
    for (const auto& e : events_) out << e.ToJson() << "\n";
    out << R"({"type":"forget_user","user_id":"u1"})" << "\n";
  }
  auto r = validate("event.schema.json", events);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const fs::path lists = dir_ / "lists.jsonl";
  const Result replay = RunCli("replay -i " + events.string() + " -o " + lists.string());
  ASSERT_EQ(replay.code, 0) << replay.out;
  ASSERT_GE(Lines(lists).size(), 6000u);
  {  // lists only: a tombstone line is not a list value
    std::ofstream values(dir_ / "values.jsonl");
    for (const auto& line : Lines(lists))
      if (line.find("\"tombstone\":true") == std::string::npos) values << line << "\n";
  }
  r = validate("recommendation.schema.json", dir_ / "values.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::ofstream(dir_ / "catalog.jsonl") << R"({"item_id":"i1","category_id":"c1","active":false})" << "\n"
                                        << R"({"item_id":7,"category_id":"c2"})" << "\n";
  r = validate("catalog.schema.json", dir_ / "catalog.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // And they can fail: each of these lines is invalid.
  std::ofstream(dir_ / "bad_events.jsonl") << R"({"user_id":"u1","item_id":"i1","type":"teleport"})" << "\n";
  EXPECT_EQ(validate("event.schema.json", dir_ / "bad_events.jsonl").exit_code, 1);
  std::ofstream(dir_ / "bad_ts.jsonl") << R"({"user_id":"u1","item_id":"i1","type":"view","ts":0})" << "\n";
  EXPECT_EQ(validate("event.schema.json", dir_ / "bad_ts.jsonl").exit_code, 1);
  std::ofstream(dir_ / "bad_list.jsonl") << R"({"user_id":"u1","generated_ts":1,"model_version":1,"items":[]})" << "\n";
  EXPECT_EQ(validate("recommendation.schema.json", dir_ / "bad_list.jsonl").exit_code, 1);
  std::ofstream(dir_ / "bad_catalog.jsonl") << R"({"item_id":"i1","category_id":"c1","active":"no"})" << "\n";
  EXPECT_EQ(validate("catalog.schema.json", dir_ / "bad_catalog.jsonl").exit_code, 1);
}

// eval --json: the table's figures as one JSON object, for scripts.
TEST_F(ReplayTest, EvalJsonGivesTheTablesFiguresAsOneObject) {
  const auto in = WriteJsonl("events.jsonl", 0, events_.size());
  const Result table = RunCli("eval --input " + in.string() + " 2>/dev/null");
  ASSERT_EQ(table.code, 0) << table.out;
  const std::string bin = RECSTREAM_BINARY;
  const auto json = testing::RunProcess({bin, "eval", "--input", in.string(), "--json"}, std::chrono::seconds(120));
  ASSERT_EQ(json.exit_code, 0);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json.out).get(doc), simdjson::SUCCESS) << "stdout is exactly one JSON object: " << json.out;
  int64_t records = 0, k = 0;
  ASSERT_EQ(doc["records"].get(records), simdjson::SUCCESS);
  EXPECT_EQ(records, static_cast<int64_t>(events_.size()));
  ASSERT_EQ(doc["k"].get(k), simdjson::SUCCESS);
  bool complete = false;
  ASSERT_EQ(doc["complete"].get(complete), simdjson::SUCCESS);
  EXPECT_TRUE(complete);
  for (const char* method : {"recstream", "popularity", "popularity-decayed", "co-occurrence", "cooc+transitions"}) {
    SCOPED_TRACE(method);
    double hr = -1;
    ASSERT_EQ(doc["methods"][method]["all"]["hr"].get(hr), simdjson::SUCCESS);
    for (const char* g : {"cross_category", "after_purchase", "cross_category_after_purchase", "purchase"}) {
      int64_t n = -1;
      EXPECT_EQ(doc["methods"][method][g]["events"].get(n), simdjson::SUCCESS) << g;
    }
    // The table prints HR@K "all" to 4 digits in the method's first row.
    const auto row = table.out.find("\n" + std::string(method) + " ");
    ASSERT_NE(row, std::string::npos) << table.out;
    const auto bar = table.out.find('|', row);
    const double printed = std::stod(table.out.substr(bar + 1));
    EXPECT_NEAR(hr, printed, 0.00006);
  }
}

TEST_F(ReplayTest, BadArgumentsAreClearErrors) {
  Result r = RunCli("replay -i " + (dir_ / "missing.jsonl").string() + " -o " + (dir_ / "o.jsonl").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("cannot open input"), std::string::npos) << r.out;
  const auto in = WriteJsonl("e.jsonl", 0, 10);
  r = RunCli("replay -i " + in.string() + " -o " + (dir_ / "o.jsonl").string() + " --format xml");
  EXPECT_EQ(r.code, 2);
  r = RunCli("replay -i " + in.string() + " -o " + (dir_ / "o.jsonl").string() + " --set recommend.k=0");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("recommend.k"), std::string::npos) << r.out;
  r = RunCli("replay -i " + in.string() + " -o " + (dir_ / "o.jsonl").string() + " --set no.such=1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no.such"), std::string::npos) << r.out;
  r = RunCli("replay -i " + dir_.string() + " -o " + (dir_ / "o.jsonl").string());
  EXPECT_EQ(r.code, 2) << "a directory as input read nothing and succeeded";
  EXPECT_NE(r.out.find("is a directory"), std::string::npos) << r.out;
  r = RunCli("eval -i " + dir_.string());
  EXPECT_EQ(r.code, 2);
  r = RunCli("frobnicate");
  EXPECT_EQ(r.code, 2) << "a parse error is usage (2), not one of CLI11's own codes";
  r = RunCli("replay --no-such-flag");
  EXPECT_EQ(r.code, 2);
  r = RunCli("--help");
  EXPECT_EQ(r.code, 0);
}

// Ctrl-C (or a supervisor's SIGTERM) during a finite command: what it prints
// is partial and says so, and the exit code is 128 + the signal, so that a
// script cannot take partial figures for a finished run.
TEST_F(ReplayTest, AnInterruptedCommandSaysItsResultsArePartialAndExitsWithTheSignalsCode) {
  const fs::path big = WriteGenerated("big.jsonl", 11, 300'000);
  const std::string bin = RECSTREAM_BINARY;
  // replay, SIGTERM once its output has started to grow (it is running).
  const fs::path out = dir_ / "out.jsonl";
  pid_t pid = testing::StartProcess({bin, "replay", "-i", big.string(), "-o", out.string()});
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 600 && !(fs::exists(out) && fs::file_size(out) > 0); ++i) ::usleep(50'000);
  ASSERT_TRUE(fs::exists(out) && fs::file_size(out) > 0) << "replay never started writing";
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::WaitProcess(pid, std::chrono::seconds(60)), 143);
  EXPECT_LT(Lines(out).size(), 300'000u) << "the run was meant to be cut short";

  // eval, SIGINT a few seconds in: partial figures, marked, exit 130.
  int fd = -1;
  pid = testing::StartProcess({bin, "eval", "-i", big.string()}, "", &fd);
  ASSERT_GT(pid, 0);
  ::sleep(3);
  ::kill(pid, SIGINT);
  std::string printed;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) printed.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(testing::WaitProcess(pid, std::chrono::seconds(60)), 130) << printed;
  EXPECT_NE(printed.find("INTERRUPTED by SIGINT: partial results"), std::string::npos) << printed;
  EXPECT_NE(printed.find("HR@"), std::string::npos) << "the partial table is still printed: " << printed;
}

TEST_F(ReplayTest, EvalPrintsTheMetricsTableAndBeatsPopularityOnAPlantedShop) {
  const auto in = WriteJsonl("events.jsonl", 0, events_.size());
  const Result r = RunCli("eval --input " + in.string());
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* m : {"recstream", "co-occurrence", "popularity", "popularity-decayed", "cooc+transitions", "HR@K",
                        "NDCG@K", "cross-category", "after purchase", "x-cat after purchase", "cats/list", "coverage",
                        "events/s"})
    EXPECT_NE(r.out.find(m), std::string::npos) << m << "\n" << r.out;
  auto hr = [&](const std::string& method) {
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(method + " ", 0) == 0 && line.find('|') != std::string::npos)
        return std::stod(line.substr(line.find('|') + 1));
    return -1.0;
  };
  EXPECT_GT(hr("recstream"), hr("popularity")) << r.out;
}

TEST_F(ReplayTest, EvalWarmUpScoresOnlyTheEventsAfterIt) {
  const auto in = WriteJsonl("events.jsonl", 0, events_.size());
  auto scored = [](const std::string& out) {
    const auto at = out.find("scored events (K = 20): all ");
    return at == std::string::npos ? -1LL : std::stoll(out.substr(at + 28));
  };
  const Result all = RunCli("eval --input " + in.string());
  ASSERT_EQ(all.code, 0) << all.out;
  const Result half = RunCli("eval --warmup 0.5 --input " + in.string());
  ASSERT_EQ(half.code, 0) << half.out;
  EXPECT_NE(half.out.find("warm-up: the first " + std::to_string(events_.size() / 2) + " records"),
            std::string::npos)
      << half.out;
  EXPECT_GT(scored(half.out), 0) << half.out;
  EXPECT_LT(scored(half.out), scored(all.out) * 6 / 10) << half.out;
  // Out of range, or on standard input (which cannot be counted first): errors
  // that say why (CLI11's own exit code for the range; issue 19 unifies them).
  const Result range = RunCli("eval --warmup 1.5 --input " + in.string());
  EXPECT_NE(range.code, 0);
  EXPECT_NE(range.out.find("--warmup"), std::string::npos) << range.out;
  const Result stdin_in = RunCli("eval --warmup 0.5 --input - </dev/null");
  EXPECT_EQ(stdin_in.code, 2);
  EXPECT_NE(stdin_in.out.find("needs a file"), std::string::npos) << stdin_in.out;
}

}  // namespace
}  // namespace recstream
