#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

TensionTracker MakeTracker(PredictiveConfig c = {}) {
  Result<TensionTracker> t = TensionTracker::Create(c);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TEST(PredictiveConfigTest, RejectsInconsistentThresholds) {
  PredictiveConfig c;
  c.act_threshold = 0.8;  // above crisis
  EXPECT_NE(TensionTracker::Create(c).status().message().find("release_threshold < act_threshold"),
            std::string::npos);
  c = {};
  c.lookahead_window = 2;
  EXPECT_FALSE(TensionTracker::Create(c).ok());
  c = {};
  c.ewma_alpha = 0;
  EXPECT_FALSE(TensionTracker::Create(c).ok());
}

TEST(TensionTrackerTest, RejectsOutOfRangeTension) {
  TensionTracker t = MakeTracker();
  EXPECT_EQ(t.Observe(1, 1.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Observe(1, NAN).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.observations(), 0u);
}

TEST(TensionTrackerTest, SlopeEqualsLeastSquaresOverTheWindow) {
  Rng rng(5);
  PredictiveConfig c;
  c.lookahead_window = 17;
  TensionTracker t = MakeTracker(c);
  std::vector<double> all;
  for (int i = 0; i < 500; ++i) {
    const double y = std::clamp(0.5 + 0.3 * std::sin(i / 20.0) + 0.05 * rng.Gaussian(), 0.0, 1.0);
    ASSERT_TRUE(t.Observe(9, y).ok());
    all.push_back(y);
    const size_t n = std::min<size_t>(all.size(), 17);
    if (n < 2) continue;
    double mx = 0, my = 0;
    for (size_t k = 0; k < n; ++k) {
      mx += k;
      my += all[all.size() - n + k];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0;
    for (size_t k = 0; k < n; ++k) {
      sxy += (k - mx) * (all[all.size() - n + k] - my);
      sxx += (k - mx) * (k - mx);
    }
    ASSERT_NEAR(t.slope(), sxy / sxx, 1e-12) << "step " << i;
  }
}

// Tension rising linearly from 0.30 to 0.90 over 200 observations, with
// N(0, 0.02) noise. The trend crosses the crisis level 0.7 at step 133.
TEST(TensionTrackerTest, RisingSeriesTriggersBeforeCrisis) {
  PredictiveConfig c;  // act 0.6 rising, crisis 0.7
  int triggered_before_crisis = 0;
  double lead_sum = 0;
  int min_lead = 1 << 30;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Rng rng(seed);
    TensionTracker t = MakeTracker(c);
    int trigger_step = -1, first_raw_crisis = -1, alerts = 0;
    InterventionReason reason = InterventionReason::kCrisis;
    for (int i = 0; i < 200; ++i) {
      const double trend = 0.30 + 0.60 * i / 199.0;
      const double y = std::clamp(trend + 0.02 * rng.Gaussian(), 0.0, 1.0);
      if (first_raw_crisis < 0 && y >= c.crisis_threshold) first_raw_crisis = i;
      auto r = t.Observe(1, y);
      ASSERT_TRUE(r.ok());
      if (r->has_value()) {
        ++alerts;
        if (trigger_step < 0) {
          trigger_step = i;
          reason = (*r)->reason;
          EXPECT_LT((*r)->smoothed, c.crisis_threshold);
          EXPECT_GT((*r)->slope, 0.0);
        }
      }
    }
    ASSERT_GE(trigger_step, 0) << "seed " << seed << ": no intervention";
    EXPECT_NE(reason, InterventionReason::kCrisis) << "seed " << seed;
    // Before the noisy series first touches the crisis level.
    EXPECT_LT(trigger_step, first_raw_crisis) << "seed " << seed;
    EXPECT_EQ(alerts, 1) << "seed " << seed << ": hysteresis must hold while tension stays high";
    if (trigger_step < first_raw_crisis) ++triggered_before_crisis;
    const int lead = 133 - trigger_step;  // observations ahead of the trend's crisis
    lead_sum += lead;
    min_lead = std::min(min_lead, lead);
  }
  std::printf("[ info ] rising tension: intervention before crisis in %d/50 runs, lead vs trend crisis: mean %.1f, "
              "min %d observations\n",
              triggered_before_crisis, lead_sum / 50, min_lead);
}

TEST(TensionTrackerTest, NoisyFlatSeriesNeverTriggers) {
  // Flat at 0.55 with N(0, 0.05) noise: raw values cross 0.6 (and 0.7)
  // often, but the smoothed level and the trend do not.
  int raw_above_act = 0, raw_above_crisis = 0, alerts = 0;
  for (uint64_t seed = 100; seed < 110; ++seed) {
    Rng rng(seed);
    TensionTracker t = MakeTracker();
    for (int i = 0; i < 5000; ++i) {
      const double y = std::clamp(0.55 + 0.05 * rng.Gaussian(), 0.0, 1.0);
      raw_above_act += y >= 0.6;
      raw_above_crisis += y >= 0.7;
      auto r = t.Observe(2, y);
      ASSERT_TRUE(r.ok());
      alerts += r->has_value();
    }
  }
  std::printf("[ info ] noisy flat tension: %d raw values >= 0.6, %d >= 0.7, %d interventions\n", raw_above_act,
              raw_above_crisis, alerts);
  EXPECT_GT(raw_above_crisis, 0);  // the noise is real
  EXPECT_EQ(alerts, 0);
}

TEST(TensionTrackerTest, FalseInterventionRatesOnFlatNoise) {
  // The table in docs/healing.md: 400 seeds x 5000 observations per case.
  struct Case {
    double level, sd;
  };
  const Case cases[] = {{0.50, 0.02}, {0.50, 0.05}, {0.55, 0.02}, {0.55, 0.05}, {0.58, 0.02}, {0.58, 0.05}};
  for (const Case& c : cases) {
    int alerts = 0;
    for (uint64_t seed = 1000; seed < 1400; ++seed) {
      Rng rng(seed);
      TensionTracker t = MakeTracker();
      for (int i = 0; i < 5000; ++i) {
        auto r = t.Observe(2, std::clamp(c.level + c.sd * rng.Gaussian(), 0.0, 1.0));
        ASSERT_TRUE(r.ok());
        alerts += r->has_value();
      }
    }
    std::printf("[ info ] flat tension %.2f +- %.2f: %d interventions in 2,000,000 observations\n", c.level, c.sd,
                alerts);
    // Well below the act level relative to the smoothed noise: silent.
    if (c.level + 6 * c.sd * std::sqrt(0.1 / 1.9) < 0.6) EXPECT_EQ(alerts, 0);
  }
}

TEST(TensionTrackerTest, FlatHighButNotRisingWaitsForCrisis) {
  Rng rng(8);
  TensionTracker t = MakeTracker();
  int alerts = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = t.Observe(3, std::clamp(0.64 + 0.01 * rng.Gaussian(), 0.0, 1.0));
    alerts += r.ok() && r->has_value();
  }
  EXPECT_EQ(alerts, 0);
  // Then a step to 0.9: crisis or rising, exactly one alert.
  for (int i = 0; i < 200; ++i) {
    auto r = t.Observe(3, 0.9);
    alerts += r.ok() && r->has_value();
  }
  EXPECT_EQ(alerts, 1);
}

TEST(TensionTrackerTest, HysteresisRearmsOnlyBelowRelease) {
  // Excursions up to 0.95 and back down to a level L: re-arming needs the
  // smoothed tension below release (0.5). L = 0.55 never re-arms; L = 0.3
  // re-arms each time.
  for (double low : {0.55, 0.3}) {
    TensionTracker t = MakeTracker();
    int alerts = 0;
    for (int cycle = 0; cycle < 5; ++cycle) {
      for (int i = 0; i < 100; ++i) alerts += t.Observe(4, low + (0.95 - low) * i / 99.0)->has_value();
      for (int i = 0; i < 150; ++i) alerts += t.Observe(4, 0.95 - (0.95 - low) * std::min(i, 50) / 50.0)->has_value();
    }
    if (low > 0.5) {
      EXPECT_EQ(alerts, 1) << "low " << low;
    } else {
      EXPECT_EQ(alerts, 5) << "low " << low;
    }
  }
}

// --- drift -------------------------------------------------------------------

DriftDetector MakeDrift(DriftConfig c) {
  Result<DriftDetector> d = DriftDetector::Create(c);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return std::move(d).value();
}

TEST(DriftDetectorTest, DirectionAware) {
  // Pattern quality (higher is better) drops 20 %: drift. The same change on
  // a lower-is-better metric (latency going down) is an improvement: none.
  for (Direction dir : {Direction::kHigherIsBetter, Direction::kLowerIsBetter}) {
    Rng rng(11);
    DriftDetector d = MakeDrift({.direction = dir});
    std::optional<Drift> first;
    int first_at = -1;
    for (int i = 0; i < 1000; ++i) {
      const double level = i < 600 ? 0.8 : 0.64;
      ASSERT_TRUE(d.Observe(level + 0.02 * rng.Gaussian()).ok());
      if (i < 600) ASSERT_FALSE(d.Peek().has_value()) << "false drift at " << i;
      if (auto drift = d.Check(); drift && !first) {
        first = drift;
        first_at = i;
      }
    }
    if (dir == Direction::kHigherIsBetter) {
      ASSERT_TRUE(first.has_value());
      EXPECT_LT(first->t_statistic, -4.0);
      EXPECT_LT(first->relative_change, -0.05);
      EXPECT_LT(first_at, 620);  // within 20 observations of the change
      std::printf("[ info ] 20 %% quality drop reported %d observations after the change\n", first_at - 599);
    } else {
      EXPECT_FALSE(first.has_value());
    }
  }
}

TEST(DriftDetectorTest, NoDriftOnStationaryNoiseAndQuietAfterReport) {
  Rng rng(12);
  DriftDetector d = MakeDrift({.direction = Direction::kLowerIsBetter});
  int drifts = 0;
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_TRUE(d.Observe(100 + 5 * rng.Gaussian()).ok());
    drifts += d.Check().has_value();
  }
  EXPECT_EQ(drifts, 0);
  // A sustained 30 % latency increase: reported once, then the windows refill.
  int reports = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(d.Observe(130 + 5 * rng.Gaussian()).ok());
    reports += d.Check().has_value();
  }
  EXPECT_EQ(reports, 1);
}

TEST(DriftDetectorTest, RunningMeansMatchExactWindows) {
  Rng rng(13);
  DriftDetector d = MakeDrift({.reference_size = 30, .recent_size = 7});
  std::vector<double> all;
  for (int i = 0; i < 3000; ++i) {
    const double x = 1e5 + (i / 500) * 10 + rng.Gaussian();
    ASSERT_TRUE(d.Observe(x).ok());
    all.push_back(x);
    const size_t n = all.size();
    const size_t rec = std::min<size_t>(n, 7);
    double m = 0;
    for (size_t k = n - rec; k < n; ++k) m += all[k];
    ASSERT_NEAR(d.RecentMean(), m / rec, 1e-8);
    if (n > 7) {
      const size_t ref = std::min<size_t>(n - 7, 30);
      double r = 0;
      for (size_t k = n - 7 - ref; k < n - 7; ++k) r += all[k];
      ASSERT_NEAR(d.ReferenceMean(), r / ref, 1e-8);
    }
  }
}

// --- index health --------------------------------------------------------------

TEST(IndexHealthTest, StatusesAndRecommendations) {
  IndexHealthChecker checker;
  IndexStats ok{.name = "orders_pkey", .relation = "orders", .bloat_ratio = 0.1, .leaf_fragmentation = 0.05};
  auto r = checker.Check(ok);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, HealthStatus::kHealthy);
  EXPECT_TRUE(r->recommendations.empty());
  EXPECT_EQ(r->score, 1.0);

  IndexStats bloated = ok;
  bloated.bloat_ratio = 0.6;
  r = checker.Check(bloated);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, HealthStatus::kCritical);
  EXPECT_EQ(r->recommendations, std::vector<IndexAction>{IndexAction::kReindex});
  ASSERT_EQ(r->findings.size(), 1u);
  EXPECT_NE(r->findings[0].message.find("orders_pkey"), std::string::npos);

  // Vector index: low recall on a clean index -> tune the search; with many
  // dead tuples -> vacuum + reindex.
  IndexStats hnsw{.name = "items_embedding_idx", .relation = "items", .kind = IndexKind::kHnsw,
                  .recall_estimate = 0.92, .live_tuples = 1e6, .dead_tuples = 1e3};
  r = checker.Check(hnsw);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, HealthStatus::kWarning);
  EXPECT_EQ(r->recommendations, std::vector<IndexAction>{IndexAction::kTuneSearch});
  hnsw.dead_tuples = 4e5;
  hnsw.recall_estimate = 0.85;
  r = checker.Check(hnsw);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, HealthStatus::kCritical);
  EXPECT_EQ(r->recommendations, (std::vector<IndexAction>{IndexAction::kVacuum, IndexAction::kReindex}));

  IndexStats stale{.name = "t_idx", .seconds_since_maintenance = 30 * 86400.0};
  r = checker.Check(stale);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, HealthStatus::kWarning);  // age alone never makes it critical
  EXPECT_EQ(r->score, 0.5);
}

TEST(IndexHealthTest, RejectsImpossibleMeasurements) {
  IndexHealthChecker checker;
  EXPECT_FALSE(checker.Check(IndexStats{}).ok());
  auto r = checker.Check(IndexStats{.name = "i", .bloat_ratio = 1.5});
  EXPECT_NE(r.status().message().find("bloat_ratio"), std::string::npos);
  EXPECT_FALSE(checker.Check(IndexStats{.name = "i", .dead_tuples = -1}).ok());
  EXPECT_FALSE(checker.Check(IndexStats{.name = "i", .recall_estimate = NAN}).ok());
}

}  // namespace
}  // namespace healing
}  // namespace ruvector_dag
