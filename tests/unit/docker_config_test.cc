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

// The runtime image reaches a managed Kafka over TLS (it had no CA store)
// and tells the engine whether it is healthy (it had no HEALTHCHECK); the
// one-shot examples image does not inherit the probe.
TEST(DockerConfigTest, RuntimeImageHasTheCaStoreAndProbesHealthz) {
  const std::string dockerfile = Slurp(fs::path(RECSTREAM_SOURCE_DIR) / "docker/Dockerfile");
  const size_t runtime = dockerfile.find("AS runtime"), examples = dockerfile.find("AS examples");
  ASSERT_NE(runtime, std::string::npos);
  ASSERT_NE(examples, std::string::npos);
  const std::string stage = dockerfile.substr(runtime, examples - runtime);
  EXPECT_NE(stage.find(" ca-certificates "), std::string::npos);
  const size_t probe = stage.find("HEALTHCHECK");
  ASSERT_NE(probe, std::string::npos);
  EXPECT_NE(stage.find("/healthz", probe), std::string::npos);
  EXPECT_NE(dockerfile.find("HEALTHCHECK NONE", examples), std::string::npos);
}

// docker/README's "more events" step once re-ran the producer with the
// compose file's seed: every event was a duplicate of one already applied.
TEST(DockerConfigTest, TheMoreEventsStepUsesAnotherSeedThanTheComposeDefault) {
  const std::string compose = Slurp(fs::path(RECSTREAM_SOURCE_DIR) / "docker/compose.yaml");
  const std::string readme = Slurp(fs::path(RECSTREAM_SOURCE_DIR) / "docker/README.md");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(compose, m, std::regex(R"(SEED:-(\d+))")));
  const std::string default_seed = m[1];
  const auto line_at = readme.find("# more events");
  ASSERT_NE(line_at, std::string::npos);
  const std::string line = readme.substr(readme.rfind('\n', line_at) + 1, line_at - readme.rfind('\n', line_at));
  ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(-e SEED=(\d+))"))) << line;
  EXPECT_NE(m[1].str(), default_seed) << line;
}

}  // namespace
}  // namespace recstream
