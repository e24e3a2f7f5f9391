// docker/ can't be run here (no Docker engine on the build machines), so what
// can be checked without one is checked: the processor's config file loads
// through the same validation as `recstream run --config`, and the image's
// build stage installs every compile-time package of scripts/setup.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "app/config.h"

namespace recstream {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(DockerConfigTest, ProcessorConfigLoadsAndPointsAtTheKafkaService) {
  app::Config c;
  const Status s = app::LoadConfig((fs::path(RECSTREAM_SOURCE_DIR) / "docker/recstream.toml").string(), {}, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.kafka_brokers, "kafka:9092");  // the service name in docker/compose.yaml
  EXPECT_EQ(c.state.dir, "/var/lib/recstream/state");  // inside the image's state volume
  EXPECT_EQ(c.admin.port, 8080);  // EXPOSEd by the Dockerfile, published by compose
  EXPECT_EQ(c.admin.address, "0.0.0.0");
}

TEST(DockerConfigTest, BuildStageInstallsTheCompilePackagesOfSetupSh) {
  const std::string setup = Slurp(fs::path(RECSTREAM_SOURCE_DIR) / "scripts/setup.sh");
  const std::string dockerfile = Slurp(fs::path(RECSTREAM_SOURCE_DIR) / "docker/Dockerfile");
  // Every lib*-dev package of setup.sh, except those on lines whose comment
  // says they serve tests, benchmarks or fuzzing (the image builds none).
  const std::regex dev(R"(\b(lib[a-z0-9+.-]*-dev)\b)");
  const std::regex tooling("test|bench|fuzz", std::regex::icase);
  int checked = 0;
  std::istringstream lines(setup);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t hash = line.find('#');
    const std::string code = line.substr(0, hash);
    if (hash != std::string::npos && std::regex_search(line.substr(hash), tooling)) continue;
    for (std::sregex_iterator it(code.begin(), code.end(), dev), end; it != end; ++it) {
      const std::string pkg = (*it)[1];
      ++checked;
      EXPECT_NE(dockerfile.find(" " + pkg + " "), std::string::npos)
          << pkg << " is in scripts/setup.sh but not in docker/Dockerfile";
    }
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace recstream
