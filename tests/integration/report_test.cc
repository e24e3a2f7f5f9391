// `recstream eval --report DIR` as a user runs it: the real binary over a
// generated stream, then the page opened in headless Chromium (Debian's
// chromium) to check that every plot actually renders. The data behind the
// plots is checked against what the run must have produced.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/evaluation.h"
#include "app/generator.h"
#include "tests/integration/subprocess_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FindExecutable;
using testing::RunProcess;

constexpr int kEvents = 4000;
const char* kPlots[] = {"hit_rate.svg", "latency.svg", "category_mix.svg", "categories_per_list.svg",
                        "complements.svg"};

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Data rows of a .tsv written by the report, split on tabs.
std::vector<std::vector<std::string>> Rows(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(Slurp(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::istringstream l(line);
    std::string c;
    while (std::getline(l, c, '\t')) cols.push_back(c);
    rows.push_back(cols);
  }
  return rows;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("recstream-report-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A small shop (few users, few categories) so that 4000 events teach the
    // model its complements and the whole test stays within seconds.
    gen_.seed = 7;
    gen_.users = 200;
    gen_.categories = 12;
    auto r = RunProcess({RECSTREAM_BINARY, "gen", "-n", std::to_string(kEvents), "--seed", "7", "--users", "200",
                         "--categories", "12", "-o", (dir_ / "events.jsonl").string()},
                        60s);
    ASSERT_EQ(r.exit_code, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  testing::ProcessResult Eval(const fs::path& report) {
    return RunProcess({RECSTREAM_BINARY, "eval", "--input", (dir_ / "events.jsonl").string(), "--report",
                       report.string()},
                      120s);
  }

  fs::path dir_;
  app::GeneratorOptions gen_;
};

TEST_F(ReportTest, WritesThePageThePlotsAndTheDataOfTheRun) {
  const fs::path report = dir_ / "report";
  const auto r = Eval(report);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("report: " + report.string() + "/index.html"), std::string::npos) << r.out;

  const std::string html = Slurp(report / "index.html");
  for (const char* plot : kPlots) {
    const std::string svg = Slurp(report / plot);
    EXPECT_NE(svg.find("<svg"), std::string::npos) << plot << " is not an SVG image";
    EXPECT_NE(html.find(std::string("src=\"") + plot + "\""), std::string::npos) << "index.html lacks " << plot;
  }
  EXPECT_TRUE(fs::exists(report / "plots.gp"));

  // Hit rate over the stream: one row per window, rates in [0, 1], and
  // recstream hits something once it has learned.
  const auto hits = Rows(report / "hit_rate.tsv");
  ASSERT_GE(hits.size(), 10u);
  double best = 0;
  for (const auto& row : hits) {
    ASSERT_EQ(row.size(), 1u + app::Evaluation::kMethods);
    for (size_t m = 1; m <= app::Evaluation::kMethods; ++m) {
      const double v = std::stod(row[m]);
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    best = std::max(best, std::stod(row[1]));
  }
  EXPECT_GT(best, 0.05);

  // The latency histogram counts every applied event exactly once.
  long long measured = 0;
  for (const auto& row : Rows(report / "latency.tsv")) measured += std::stoll(row[1]);
  EXPECT_EQ(measured, kEvents);

  // Category mix: each method's shares add up to 100 %.
  const auto mix = Rows(report / "category_mix.tsv");
  ASSERT_FALSE(mix.empty());
  for (size_t m = 1; m <= app::Evaluation::kMethods; ++m) {
    double sum = 0;
    for (const auto& row : mix) sum += std::stod(row[m]);
    EXPECT_NEAR(sum, 100.0, 0.1) << "method column " << m;
  }

  // Learned complements: the generator planted 3 complements per category;
  // the best learned complement of most top categories must be one of them.
  app::Generator gen(gen_);
  std::map<std::string, std::set<std::string>> planted;
  for (size_t c = 0; c < gen.complements().size(); ++c)
    for (size_t to : gen.complements()[c]) planted[app::Generator::CategoryName(c)].insert(app::Generator::CategoryName(to));
  int rows = 0, right = 0;
  for (const auto& row : Rows(report / "complements.tsv")) {
    ASSERT_EQ(row.size(), 5u);
    if (row[0] != "1") continue;
    ++rows;
    right += planted[row[4]].count(row[3]) ? 1 : 0;
  }
  std::printf("[ report ] best learned complement is a planted one for %d of %d top categories\n", right, rows);
  EXPECT_EQ(rows, 8);
  EXPECT_GE(right, 6) << "of " << rows << " top categories, " << right << " have a planted complement first";
}

TEST_F(ReportTest, PlotsRenderInHeadlessChromium) {
  const std::string chromium = FindExecutable("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium not found (Debian package chromium; scripts/setup.sh installs it)";
  const fs::path report = dir_ / "report";
  ASSERT_EQ(Eval(report).exit_code, 0);

  // A copy of the page with a script that, once everything has loaded, writes
  // how many images decoded to a real size — a broken or missing plot has
  // naturalWidth 0.
  std::string page = Slurp(report / "index.html");
  const size_t body = page.rfind("</body>");
  ASSERT_NE(body, std::string::npos);
  page.insert(body,
              "<script>window.addEventListener('load', function () {"
              "  var imgs = document.images, ok = 0;"
              "  for (var i = 0; i < imgs.length; ++i) if (imgs[i].complete && imgs[i].naturalWidth > 0) ++ok;"
              "  var d = document.createElement('div'); d.id = 'plots-rendered';"
              "  d.textContent = 'rendered ' + ok + ' of ' + imgs.length; document.body.appendChild(d);"
              "});</script>\n");
  std::ofstream(report / "check.html") << page;

  auto rendered = [&]() {
    const auto r = RunProcess({chromium, "--headless", "--disable-gpu", "--no-sandbox",
                               "--user-data-dir=" + (dir_ / "chromium").string(), "--virtual-time-budget=10000",
                               "--dump-dom", "file://" + fs::absolute(report / "check.html").string()},
                              60s);
    EXPECT_EQ(r.exit_code, 0);
    const std::string marker = "id=\"plots-rendered\">";
    const size_t at = r.out.find(marker);
    if (at == std::string::npos) return std::string("no marker in the DOM");
    return r.out.substr(at + marker.size(), r.out.find('<', at + marker.size()) - at - marker.size());
  };
  EXPECT_EQ(rendered(), "rendered 5 of 5");

  // The check can fail: without one plot the page shows 4 of 5.
  fs::remove(report / "latency.svg");
  EXPECT_EQ(rendered(), "rendered 4 of 5");
}

TEST_F(ReportTest, AReportDirectoryThatCannotBeCreatedIsAClearError) {
  // Below a regular file no directory can be made.
  const auto r = Eval(dir_ / "events.jsonl" / "report");
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace recstream
