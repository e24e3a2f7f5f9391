// The Helm chart (docker/helm/recstream) as an operator would use it, without
// a cluster: `helm lint --strict` passes, `helm template` renders the objects
// docker/helm/check_rendered.py expects (StatefulSet with a state volume
// claim, probes on /healthz and /readyz, the ConfigMap, a headless Service, a
// PodDisruptionBudget, scrape annotations), and the rendered recstream.toml
// passes `recstream config check`. Helm comes from scripts/helm.sh (built from
// its Go module; required in CI, skipped elsewhere when go is missing).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/subprocess_util.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kRoot = RECSTREAM_SOURCE_DIR;
const std::string kChart = kRoot + "/docker/helm/recstream";

std::string Helm() {
  const auto r = testing::RunProcess({kRoot + "/scripts/helm.sh"}, 900s);
  std::string path = r.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  if (r.exit_code == 0 && !path.empty()) return path;
  if (testing::InCi()) ADD_FAILURE() << "scripts/helm.sh exit " << r.exit_code << " in CI";
  return "";
}

// Runs a shell command line, stdout and stderr together.
testing::ProcessResult Sh(const std::string& cmd) { return testing::RunProcess({"bash", "-c", cmd + " 2>&1"}, 120s); }

class HelmChartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    helm_ = Helm();
    if (helm_.empty()) GTEST_SKIP() << "no helm (scripts/helm.sh: go missing)";
    dir_ = fs::temp_directory_path() / ("recstream-helm-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // helm template with extra arguments into dir_/name; the checker's result.
  testing::ProcessResult RenderAndCheck(const std::string& name, const std::string& args) {
    const std::string out = (dir_ / (name + ".yaml")).string();
    auto r = Sh(helm_ + " template rs " + kChart + " " + args + " > " + out);
    EXPECT_EQ(r.exit_code, 0) << "helm template " << args << ": " << r.out;
    return Sh("python3 " + kRoot + "/docker/helm/check_rendered.py " + out + " " + (dir_ / (name + ".toml")).string());
  }
  std::string helm_;
  fs::path dir_;
};

TEST_F(HelmChartTest, LintsRendersAndItsConfigPassesConfigCheck) {
  auto r = Sh(helm_ + " lint --strict " + kChart);
  EXPECT_EQ(r.exit_code, 0) << r.out;

  r = RenderAndCheck("default", "");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("PodDisruptionBudget"), std::string::npos) << r.out;
  r = Sh(std::string(RECSTREAM_BINARY) + " config check " + (dir_ / "default.toml").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("/var/lib/recstream/state"), std::string::npos) << "state.dir is on the volume: " << r.out;

  // Three replicas, no budget, a storage class, an operator's own config.
  r = RenderAndCheck("custom",
                     "--set replicas=3 --set podDisruptionBudget.enabled=false "
                     "--set persistence.storageClassName=fast --set-string config='[kafka]\nbrokers = \"b:9092\"\n'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("PodDisruptionBudget"), std::string::npos) << r.out;
  const auto text = Sh("cat " + (dir_ / "custom.yaml").string()).out;
  EXPECT_NE(text.find("replicas: 3"), std::string::npos);
  EXPECT_NE(text.find("storageClassName: fast"), std::string::npos);
  r = Sh(std::string(RECSTREAM_BINARY) + " config check " + (dir_ / "custom.toml").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // The checker can fail: a liveness probe on the wrong path.
  r = Sh("sed 's#path: /healthz#path: /nope#' " + (dir_ / "default.yaml").string() + " > " +
         (dir_ / "broken.yaml").string() + " && python3 " + kRoot + "/docker/helm/check_rendered.py " +
         (dir_ / "broken.yaml").string() + " " + (dir_ / "broken.toml").string());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("livenessProbe path"), std::string::npos) << r.out;
  // And config check fails on a config the chart could be given wrongly.
  r = RenderAndCheck("bad", "--set-string config='[kafka]\nbrokerz = 1\n'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Sh(std::string(RECSTREAM_BINARY) + " config check " + (dir_ / "bad.toml").string());
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace recstream
