#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ruvector_dag/sona.h"
#include "sona/internal/sim_env.h"

namespace ruvector_dag {
namespace {

// Test harness: each arm's latency is lognormal around exp(mu[arm]) ms with
// heavy-tailed outliers; exploration is allowed on every `explore_every`-th run.
struct SimArms {
  std::vector<double> mu;
  double sigma = 0.3;
  double outlier_p = 0.05;
};

struct RunLog {
  int first_deploy_run = -1;      // run index when the faster arm was first deployed
  int slower_deployed_runs = 0;   // runs during which a truly slower arm was deployed
  double cumulative_ms = 0.0;
  double always_default_ms = 0.0;
};

RunLog Drive(PatternBandit* b, const SimArms& sim, int runs, uint64_t seed, int explore_every,
             uint32_t faster_arm = 0) {
  Rng rng(seed);
  RunLog log;
  for (int i = 0; i < runs; ++i) {
    const BanditChoice c = b->Choose(i % explore_every == 0);
    const double noise = sim::LogNoise(rng, sim.sigma, sim.outlier_p);
    const double ms = std::exp(sim.mu[c.arm] + noise);
    log.cumulative_ms += ms;
    log.always_default_ms += std::exp(sim.mu[0] + noise);
    EXPECT_TRUE(b->Observe(c.arm, ms).ok());
    const uint32_t d = b->deployed_arm();
    if (sim.mu[d] > sim.mu[0]) ++log.slower_deployed_runs;
    if (faster_arm != 0 && d == faster_arm && log.first_deploy_run < 0) log.first_deploy_run = i;
  }
  return log;
}

BanditOptions FourArms() {
  BanditOptions o;
  o.num_arms = 4;
  return o;
}

TEST(BanditTest, RejectsBadOptionsAndObservations) {
  BanditOptions o;
  o.num_arms = 1;
  EXPECT_EQ(PatternBandit::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = {};
  o.min_runs = 1;
  EXPECT_EQ(PatternBandit::Create(o).status().code(), StatusCode::kInvalidArgument);
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  EXPECT_EQ(b.Observe(4, 10.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Observe(1, 0.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Observe(1, std::nan("")).code(), StatusCode::kInvalidArgument);
}

TEST(BanditTest, ServesDefaultWithoutEvidence) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  for (int i = 0; i < 10; ++i) {
    const BanditChoice c = b.Choose(false);
    EXPECT_EQ(c.arm, 0u);
    EXPECT_EQ(c.action, BanditAction::kServe);
  }
  EXPECT_EQ(b.deployed_arm(), 0u);
  EXPECT_DOUBLE_EQ(b.Confidence(), 1.0);
}

TEST(BanditTest, NeverDeploysASlowerArm) {
  // Every alternative is slower (5 %, 15 %, 50 %), with heavy tails on every
  // arm, over many seeds: no run may ever have a slower arm deployed.
  int total_slower = 0;
  uint64_t deployments = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    PatternBandit b = PatternBandit::Create(FourArms()).value();
    SimArms sim{{std::log(100.0), std::log(105.0), std::log(115.0), std::log(150.0)}};
    const RunLog log = Drive(&b, sim, 400, seed, 2);
    total_slower += log.slower_deployed_runs;
    deployments += b.deployments();
  }
  EXPECT_EQ(total_slower, 0);
  EXPECT_EQ(deployments, 0u);
}

TEST(BanditTest, DeploysATrulyFasterArmQuickly) {
  int worst = 0;
  double sum = 0.0, ratio_sum = 0.0;
  const int seeds = 200;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    PatternBandit b = PatternBandit::Create(FourArms()).value();
    // Arm 2 is 2x faster; arms 1 and 3 are slower. Exploration may use every
    // other run.
    SimArms sim{{std::log(100.0), std::log(130.0), std::log(50.0), std::log(300.0)}};
    const RunLog log = Drive(&b, sim, 300, seed, 2, /*faster_arm=*/2);
    EXPECT_GE(log.first_deploy_run, 0) << "seed " << seed;
    worst = std::max(worst, log.first_deploy_run);
    sum += log.first_deploy_run;
    EXPECT_EQ(b.deployed_arm(), 2u) << "seed " << seed;
    EXPECT_EQ(log.slower_deployed_runs, 0) << "seed " << seed;
    EXPECT_LT(log.cumulative_ms, 0.85 * log.always_default_ms) << "seed " << seed;
    ratio_sum += log.cumulative_ms / log.always_default_ms;
    EXPECT_GT(b.Confidence(), 0.99);
  }
  std::printf("cumulative latency vs always-default over 300 runs: mean %.3f\n", ratio_sum / seeds);
  EXPECT_LT(ratio_sum / seeds, 0.7);
  std::printf("runs to deploy a 2x faster arm: mean %.1f, worst %d (of %d seeds)\n", sum / seeds,
              worst, seeds);
  EXPECT_LE(worst, 150);
  EXPECT_LE(sum / seeds, 50.0);
}

TEST(BanditTest, ExplorationOrderIsHonoured) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  const uint32_t order[] = {3, 1};
  b.SetExplorationOrder(order);
  EXPECT_EQ(b.NextExploration(), 3);
  const BanditChoice c = b.Choose(true);
  EXPECT_EQ(c.arm, 3u);
  EXPECT_EQ(c.action, BanditAction::kExplore);
}

TEST(BanditTest, RevertsAfterARegimeChange) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    PatternBandit b = PatternBandit::Create(FourArms()).value();
    SimArms sim{{std::log(100.0), std::log(130.0), std::log(50.0), std::log(300.0)}};
    Drive(&b, sim, 150, seed, 2);
    ASSERT_EQ(b.deployed_arm(), 2u) << "seed " << seed;
    // Arm 2 turns 3x slower than the default (e.g. data grew past an index's
    // sweet spot). Count runs of arm 2 until the revert.
    sim.mu[2] = std::log(300.0);
    Rng rng(seed * 977);
    int slow_runs = 0;
    for (int i = 0; i < 100 && b.deployed_arm() == 2; ++i) {
      const BanditChoice c = b.Choose(false);
      const double ms = std::exp(sim.mu[c.arm] + sim::LogNoise(rng, sim.sigma, sim.outlier_p));
      if (c.arm == 2) ++slow_runs;
      ASSERT_TRUE(b.Observe(c.arm, ms).ok());
    }
    EXPECT_EQ(b.deployed_arm(), 0u) << "seed " << seed;
    EXPECT_LE(slow_runs, 6) << "seed " << seed;
    EXPECT_GE(b.reverts(), 1u);
    EXPECT_TRUE(b.Summary(2).rejected);
  }
}

TEST(BanditTest, CensoredTimeoutsRejectAnArmAndNeverDeployIt) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  Rng rng(5);
  // Warm arm 0's baseline.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(b.Observe(0, std::exp(std::log(100.0) + rng.Gaussian() * 0.1)).ok());
  // Arm 1 times out at 150 ms (above the baseline): rejected at once.
  ASSERT_TRUE(b.Observe(1, 150.0, /*censored=*/true).ok());
  EXPECT_TRUE(b.Summary(1).rejected);
  EXPECT_EQ(b.Summary(1).censored, 1u);
  EXPECT_NE(b.NextExploration(), 1);
  EXPECT_EQ(b.deployed_arm(), 0u);
}

TEST(BanditTest, CensoredRunsBlockDeploymentEvenWhenOtherRunsLookFast) {
  // A run censored below the baseline gives no upper bound on the arm's
  // latency: the arm may not be deployed while that run is in its window.
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Observe(0, 100.0 + i).ok());
  ASSERT_TRUE(b.Observe(2, 60.0, /*censored=*/true).ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Observe(2, 40.0 + i).ok());
  EXPECT_EQ(b.deployed_arm(), 0u);
  EXPECT_FALSE(b.Summary(2).rejected);
}

TEST(BanditTest, CensoredDefaultRunsAreConservative) {
  // Arm 0's censored runs count at their bound (an underestimate of its
  // latency), so they can only make an alternative look less good.
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Observe(0, 100.0, /*censored=*/true).ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Observe(1, 99.0 + 0.1 * i).ok());
  EXPECT_EQ(b.deployed_arm(), 0u);  // 1 % faster than a lower bound: not enough
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Observe(2, 40.0 + i).ok());
  EXPECT_EQ(b.deployed_arm(), 2u);  // clearly faster than even the lower bound
}

TEST(BanditTest, DriftLowersConfidenceAndForcesRevalidation) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  SimArms sim{{std::log(100.0), std::log(130.0), std::log(50.0), std::log(300.0)}};
  Drive(&b, sim, 150, 3, 2);
  ASSERT_EQ(b.deployed_arm(), 2u);
  const double before = b.Confidence();
  b.NotifyDrift(0.5);  // half the evidence kept: still deployed, less sure
  EXPECT_EQ(b.deployed_arm(), 2u);
  EXPECT_LE(b.Confidence(), before);
  b.NotifyDrift(1.0);  // everything forgotten
  EXPECT_EQ(b.deployed_arm(), 0u);
  EXPECT_EQ(b.Summary(2).runs, 0u);
  // Re-measured after the drift, the faster arm comes back.
  Drive(&b, sim, 100, 4, 2);
  EXPECT_EQ(b.deployed_arm(), 2u);
}

TEST(BanditTest, BaselineIsRefreshedWhileDeployed) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  SimArms sim{{std::log(100.0), std::log(130.0), std::log(50.0), std::log(300.0)}};
  Drive(&b, sim, 150, 6, 2);
  ASSERT_EQ(b.deployed_arm(), 2u);
  int checks = 0;
  for (int i = 0; i < 64; ++i) {
    const BanditChoice c = b.Choose(false);
    if (c.action == BanditAction::kBaselineCheck) {
      EXPECT_EQ(c.arm, 0u);
      ++checks;
    }
    ASSERT_TRUE(b.Observe(c.arm, std::exp(sim.mu[c.arm])).ok());
  }
  EXPECT_GE(checks, 3);
  EXPECT_LE(checks, 5);
}

TEST(BanditTest, ImageRoundTripsAndRejectsCorruption) {
  PatternBandit b = PatternBandit::Create(FourArms()).value();
  SimArms sim{{std::log(100.0), std::log(130.0), std::log(50.0), std::log(300.0)}};
  Drive(&b, sim, 120, 8, 2);
  std::string image;
  b.AppendTo(&image);
  size_t off = 0;
  Result<PatternBandit> back = PatternBandit::Load(image, &off);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(off, image.size());
  EXPECT_EQ(back->deployed_arm(), b.deployed_arm());
  for (uint32_t a = 0; a < 4; ++a) {
    EXPECT_EQ(back->Summary(a).runs, b.Summary(a).runs);
    EXPECT_DOUBLE_EQ(back->Summary(a).mean_log_ms, b.Summary(a).mean_log_ms);
  }
  for (size_t cut = 0; cut < image.size(); cut += 7) {
    size_t o = 0;
    EXPECT_FALSE(PatternBandit::Load(std::string_view(image).substr(0, cut), &o).ok()) << cut;
  }
  std::string bad = image;
  bad[0] ^= 0x1;
  off = 0;
  EXPECT_EQ(PatternBandit::Load(bad, &off).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ruvector_dag
