// learning_quality: runs the SONA learning scenarios on the seeded simulated
// query environment (src/sona/internal/sim_env.h — a test harness, labelled as
// such: latencies are drawn from a model, not measured on a database) and
// prints, per seed and scenario: runs to deploy, regressions, cumulative
// latency vs always-default and vs the oracle arm, final prediction error, and
// EWC retention. Real database numbers come from `ruvector-dag bench`.
//
// Usage: learning_quality [--seed N]... [--format json|markdown]
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/internal/learning_scenarios.h"

namespace {

using ruvector_dag::sim::EwcResult;
using ruvector_dag::sim::ScenarioResult;

void PrintJson(const std::vector<uint64_t>& seeds) {
  std::printf("{\"harness\":\"simulated query environment (seeded)\",\"seeds\":[");
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::printf("%s{\"seed\":%llu,\"scenarios\":[", i ? "," : "",
                static_cast<unsigned long long>(seeds[i]));
    const std::vector<ScenarioResult> results = ruvector_dag::sim::StandardScenarios(seeds[i]);
    for (size_t j = 0; j < results.size(); ++j) {
      std::printf("%s%s", j ? "," : "", ruvector_dag::sim::ScenarioJson(results[j]).c_str());
    }
    std::printf("],\"ewc\":%s}", ruvector_dag::sim::EwcJson(ruvector_dag::sim::RunEwcScenario(seeds[i])).c_str());
  }
  std::printf("]}\n");
}

void PrintMarkdown(const std::vector<uint64_t>& seeds) {
  std::printf(
      "| seed | scenario | queries | runs to deploy | runs to revert | regressions | vs always-default "
      "| vs oracle | final MAE (log ms) |\n|---|---|---|---|---|---|---|---|---|\n");
  std::string ewc_rows;
  for (uint64_t seed : seeds) {
    for (const ScenarioResult& r : ruvector_dag::sim::StandardScenarios(seed)) {
      std::printf("| %llu | %s | %d | %d | %d | %d | %.3f | %.3f | %.3f |\n",
                  static_cast<unsigned long long>(seed), r.name.c_str(), r.queries, r.runs_to_deploy,
                  r.runs_to_revert, r.regressions, r.cumulative_ms / r.default_ms,
                  r.cumulative_ms / r.oracle_ms, r.final_prediction_mae);
    }
    const EwcResult e = ruvector_dag::sim::RunEwcScenario(seed);
    char row[256];
    std::snprintf(row, sizeof row, "| %llu | %.5f | %.5f | %.5f | %.3f | %.3f |\n",
                  static_cast<unsigned long long>(seed), e.a_before, e.a_after_ewc, e.a_after_plain,
                  e.retention_ewc, e.retention_plain);
    ewc_rows += row;
  }
  std::printf(
      "\n| seed | MSE on A before B | after B, EWC | after B, no EWC | retention, EWC | retention, no EWC "
      "|\n|---|---|---|---|---|---|\n%s",
      ewc_rows.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Runs the SONA learning scenarios on the seeded simulated environment", "learning_quality");
  std::vector<uint64_t> seeds;
  std::string format = "json";
  app.add_option("--seed", seeds, "seed (repeatable; default 1 2 3)");
  app.add_option("--format", format, "json or markdown")->check(CLI::IsMember({"json", "markdown"}));
  CLI11_PARSE(app, argc, argv);
  if (seeds.empty()) seeds = {1, 2, 3};
  std::fprintf(stderr, "learning_quality: seeds");
  for (uint64_t s : seeds) std::fprintf(stderr, " %llu", static_cast<unsigned long long>(s));
  std::fprintf(stderr, "\n");
  if (format == "json") {
    PrintJson(seeds);
  } else {
    PrintMarkdown(seeds);
  }
  return 0;
}
