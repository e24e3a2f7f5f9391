// recstream: the command line. Subcommands: run, broker, replay, eval, gen,
// demo, config check / config defaults. Every subcommand that runs the
// pipeline takes --config FILE and any number of --set k=v.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "app/config.h"
#include "app/json_log.h"

using namespace recstream;
using namespace recstream::app;

namespace {

struct Common {
  std::string config_path;
  std::vector<std::string> sets;
};

void AddCommon(CLI::App* sub, Common& c) {
  sub->add_option("-c,--config", c.config_path, "TOML configuration file (configs/default.toml documents every key)");
  sub->add_option("--set", c.sets, "override a config key: --set recommend.k=10 (repeatable)");
}

void AddGenerator(CLI::App* sub, GeneratorOptions& g) {
  sub->add_option_function<std::string>(
         "--world", [&g](const std::string& w) { g.world = w == "hard" ? World::kHard : World::kSimple; },
         "simple: the original shop; hard: departments, hub categories, sessions, noise, cart-then-buy "
         "(with its own defaults: 20000 users, 30000 items, 120 categories, complement follow 0.5)")
      ->transform(CLI::IsMember({"simple", "hard"}, CLI::ignore_case))
      ->default_str("simple");
  sub->add_option("--seed", g.seed, "generator seed")->capture_default_str();
  sub->add_option("--users", g.users, "users in the simulated shop")->capture_default_str()->check(CLI::Range(1, 100'000'000));
  sub->add_option("--items", g.items, "items in the simulated shop")->capture_default_str()->check(CLI::Range(1, 100'000'000));
  sub->add_option("--categories", g.categories, "categories")->capture_default_str()->check(CLI::Range(2, 100'000));
  sub->add_option("--complement-follow", g.complement_follow, "P(the category after a purchase is a planted complement)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--departments", g.departments, "hard world: departments the categories are grouped into")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  sub->add_option("--hubs", g.hubs, "hard world: popular hub categories (no complements)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100'000));
  sub->add_option("--noise", g.noise, "hard world: P(a jump to a random category), per event")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  // The hard world starts from its own defaults; options given explicitly win.
  sub->callback([sub, &g] {
    if (g.world != World::kHard) return;
    const GeneratorOptions given = g;
    g = GeneratorOptions::Hard();
    auto keep = [&](const char* name, auto member) {
      if (sub->count(name) > 0) g.*member = given.*member;
    };
    keep("--seed", &GeneratorOptions::seed);
    keep("--users", &GeneratorOptions::users);
    keep("--items", &GeneratorOptions::items);
    keep("--categories", &GeneratorOptions::categories);
    keep("--complement-follow", &GeneratorOptions::complement_follow);
    keep("--departments", &GeneratorOptions::departments);
    keep("--hubs", &GeneratorOptions::hubs);
    keep("--noise", &GeneratorOptions::noise);
  });
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("recstream");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"recstream: real-time cross-category recommendations from Kafka events"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "recstream 0.1.0");

  Common common;
  auto* run = app.add_subcommand("run", "run the processor on Kafka (kafka.brokers = \"embedded\" starts the embedded broker)");
  AddCommon(run, common);

  auto* broker = app.add_subcommand("broker", "run the embedded Kafka broker alone and print its bootstrap address");
  AddCommon(broker, common);

  ReplayArgs replay_args;
  auto* replay = app.add_subcommand("replay", "run the pipeline over a file and write the output messages as JSON Lines");
  AddCommon(replay, common);
  replay->add_option("-i,--input", replay_args.input, "input file: JSON Lines, CSV with header, Taobao UserBehavior.csv, MovieLens ratings.csv")->required();
  replay->add_option("-o,--output", replay_args.output, "output JSON Lines ('-' = stdout)")->required();
  replay->add_option("--dlq", replay_args.dead_letters, "dead-letter JSON Lines (default: OUTPUT.dlq.jsonl; recstream.dlq.jsonl when OUTPUT is - or a device)");
  replay->add_option("--format", replay_args.format, "auto, jsonl, csv, taobao, movielens")->capture_default_str();
  replay->add_option("--state-dir", replay_args.state_dir, "keep state here and resume from it (default: a temporary directory)");

  EvalArgs eval_args;
  auto* eval = app.add_subcommand("eval", "prequential evaluation of recstream against popularity, co-occurrence and co-occurrence + transition baselines");
  AddCommon(eval, common);
  eval->add_option("-i,--input", eval_args.input, "time-ordered input file (as for replay)")->required();
  eval->add_option("--format", eval_args.format, "auto, jsonl, csv, taobao, movielens")->capture_default_str();
  eval->add_option("--report", eval_args.report_dir, "also write an HTML report with plots (needs gnuplot) into this directory");
  eval->add_option("--warmup", eval_args.warmup,
                   "share of the input's records (0 to below 1) that train every method before scoring starts")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  eval->add_flag("--json", eval_args.json, "print the figures as one JSON object instead of the table");
  eval->add_option("--baseline-half-life", eval_args.baseline_half_life_events,
                   "half-life of the popularity-decayed baseline, in events of the stream")
      ->check(CLI::Range(1.0, 1e12))
      ->capture_default_str();

  GenArgs gen_args;
  auto* gen = app.add_subcommand("gen", "generate sample events (JSON Lines) from a shop with planted category complements");
  gen->add_option("-n,--events", gen_args.events, "number of events")->capture_default_str();
  gen->add_option("-o,--output", gen_args.output, "output file ('-' = stdout)")->capture_default_str();
  AddGenerator(gen, gen_args.gen);

  DemoArgs demo_args;
  auto* demo = app.add_subcommand("demo", "the main job: embedded broker + sample events + processor, prints lists and a summary");
  AddCommon(demo, common);
  demo->add_option("-n,--events", demo_args.events, "sample events to produce")->capture_default_str()->check(CLI::Range(1, 50'000'000));
  demo->add_option("--show", demo_args.show, "lists to print")->capture_default_str();
  AddGenerator(demo, demo_args.gen);

  auto* config_cmd = app.add_subcommand("config", "check a configuration, or print the defaults");
  config_cmd->require_subcommand(1);
  std::string check_path;
  auto* check = config_cmd->add_subcommand(
      "check", "validate FILE (with the environment's RECSTREAM_* and --set) and print every key's effective value "
               "and where it came from; changes nothing");
  check->add_option("file", check_path, "TOML configuration file (optional: defaults, environment and --set alone)");
  check->add_option("--set", common.sets, "override a config key, as for the other commands");
  auto* defaults = config_cmd->add_subcommand("defaults", "print configs/default.toml as built in: every key, documented");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (104-114) would leak past the documented table
    // (app/commands.h): --help is 0, every other parse error is usage.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (gen->parsed()) return GenCommand(gen_args);
  if (defaults->parsed()) {
    std::fwrite(DefaultToml().data(), 1, DefaultToml().size(), stdout);
    return kExitOk;
  }

  // Precedence: defaults < --config file < RECSTREAM_* environment < --set.
  const std::vector<std::string> environment = ProcessEnvironment();
  Config config;
  std::vector<ConfigSource> sources;
  Status s = LoadConfig(check->parsed() ? check_path : common.config_path, common.sets, &config, &environment,
                        check->parsed() ? &sources : nullptr);
  if (!s.ok()) {
    std::fprintf(stderr, "recstream: %s\n", s.message().c_str());
    return 2;
  }
  if (check->parsed()) {
    std::printf("# %s is valid. Every key's effective value, and where it came from\n"
                "# (precedence: default < file < env RECSTREAM_<SECTION>__<KEY> < --set).\n",
                check_path.empty() ? "The configuration" : check_path.c_str());
    size_t width = 0;
    for (const auto& src : sources) width = std::max(width, src.key.size() + 3 + src.value.size());
    for (const auto& src : sources) {
      const std::string line = src.key + " = " + src.value;
      std::printf("%-*s  # %s\n", static_cast<int>(width), line.c_str(), src.origin.c_str());
    }
    return kExitOk;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (config.log_format == "json") spdlog::set_formatter(std::make_unique<JsonLogFormatter>());

  if (run->parsed()) return RunCommand(config);
  if (broker->parsed()) return BrokerCommand(config);
  if (replay->parsed()) return ReplayCommand(config, replay_args);
  if (eval->parsed()) return EvalCommand(config, eval_args);
  if (demo->parsed()) return DemoCommand(config, demo_args);
  return 2;
}
