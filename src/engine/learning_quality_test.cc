#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "engine/internal/learning_scenarios.h"

namespace ruvector_dag {
namespace {

// The learning-quality scenarios (simulated environment, see the harness
// header) on several seeds; each prints its JSON summary.
class LearningQualityTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(LearningQualityTest, ScenariosKeepTheirContracts) {
  const uint64_t seed = GetParam();
  for (const sim::ScenarioResult& r : sim::StandardScenarios(seed)) {
    std::printf("seed %llu %s\n", static_cast<unsigned long long>(seed), sim::ScenarioJson(r).c_str());
    if (r.name == "two_x_faster_arm") {
      EXPECT_GE(r.runs_to_deploy, 1);
      EXPECT_LE(r.runs_to_deploy, 200);
      EXPECT_EQ(r.regressions, 0);
      EXPECT_LT(r.cumulative_ms, 0.8 * r.default_ms);
    } else if (r.name == "all_alternatives_slower") {
      EXPECT_EQ(r.deployments, 0u);
      EXPECT_EQ(r.regressions, 0);
    } else if (r.name == "deployed_arm_turns_slow") {
      EXPECT_GE(r.runs_to_deploy, 1);
      EXPECT_GE(r.runs_to_revert, 1);
      EXPECT_LE(r.runs_to_revert, 64);  // 8 learning passes
      // Regressions only between the change and the revert (one per pass).
      EXPECT_LE(r.regressions, r.runs_to_revert / 8 + 1);
      EXPECT_GE(r.reverts, 1u);
    } else if (r.name == "mixed_workload_24_patterns") {
      EXPECT_EQ(r.regressions, 0);
      EXPECT_LT(r.cumulative_ms, 0.9 * r.default_ms);
      EXPECT_LT(r.final_prediction_mae, 0.35);
    }
  }
  const sim::EwcResult ewc = sim::RunEwcScenario(seed);
  std::printf("seed %llu %s\n", static_cast<unsigned long long>(seed), sim::EwcJson(ewc).c_str());
  EXPECT_GE(ewc.retention_ewc, 1.0 / 1.2);  // error on A within 20 % of its pre-shift value
  EXPECT_LT(ewc.retention_plain, 0.5 * ewc.retention_ewc);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LearningQualityTest, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace ruvector_dag
