// The subcommands of the recstream binary. Each returns the process exit
// code: 0 success, 1 runtime failure, 2 bad usage or configuration.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "app/config.h"
#include "app/generator.h"

namespace recstream::app {

// Set by SIGINT/SIGTERM; every long-running command polls it.
std::atomic<bool>& StopFlag();
void InstallSignalHandlers();

int RunCommand(const Config& config);
int BrokerCommand(const Config& config);

struct ReplayArgs {
  std::string input, output, dead_letters, format = "auto", state_dir;
};
int ReplayCommand(Config config, const ReplayArgs& args);

struct EvalArgs {
  std::string input, format = "auto";
  std::string report_dir;  // --report: write the visual report (app/report.h) here
  // --warmup: this share of the input's records trains every method unscored.
  double warmup = 0;
  // --baseline-half-life: popularity-decayed's half-life, in events.
  double baseline_half_life_events = 50'000;
};
int EvalCommand(Config config, const EvalArgs& args);

struct GenArgs {
  GeneratorOptions gen;
  uint64_t events = 100'000;
  std::string output = "-";
};
int GenCommand(const GenArgs& args);

struct DemoArgs {
  GeneratorOptions gen;
  uint64_t events = 20'000;
  size_t show = 4;  // lists printed
};
int DemoCommand(Config config, const DemoArgs& args);

}  // namespace recstream::app
