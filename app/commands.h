// The subcommands of the recstream binary. Each returns the process exit
// code, the same for every command (README, "Exit codes"):
//   0    success; also `run` and `broker` stopped by SIGINT/SIGTERM (a
//        service's normal stop, after the final checkpoint)
//   1    runtime failure (Kafka, the state store, I/O during the run)
//   2    bad usage or configuration (command line, config file, input file)
//   130  replay, eval or demo interrupted by SIGINT: what was printed is
//        partial and says so; 143 the same for SIGTERM (128 + the signal)
// A second SIGINT/SIGTERM ends the process at once, with 128 + the signal.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "app/config.h"
#include "app/generator.h"

namespace recstream::app {

inline constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;

// Set by SIGINT/SIGTERM; every long-running command polls it.
std::atomic<bool>& StopFlag();
void InstallSignalHandlers();
// The signal that set StopFlag (0: none), and the exit code of a command it
// interrupted (128 + the signal).
int StopSignal();
inline int InterruptedExitCode() { return 128 + StopSignal(); }

int RunCommand(Config config);
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
  // --json: one JSON object on stdout in place of the table.
  bool json = false;
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
