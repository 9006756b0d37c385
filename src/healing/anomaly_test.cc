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

AnomalyDetector Make(AnomalyConfig c, IssueKind kind = IssueKind::kLatencySpike) {
  Result<AnomalyDetector> d = AnomalyDetector::Create(c, kind);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return std::move(d).value();
}

// Feeds `value`; returns whether it was flagged (fails the test on error).
bool Feed(AnomalyDetector& d, double value) {
  auto r = d.Observe(value);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && r->has_value();
}

// Upper-tail probability of Student's t with `df` degrees of freedom, by
// Simpson integration of the density (for the expected false-positive rate
// of a z-test whose mean/stddev come from a finite window).
double StudentTUpperTail(double t, double df) {
  const double c = std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI);
  auto pdf = [&](double x) { return c * std::pow(1 + x * x / df, -(df + 1) / 2); };
  const double hi = t + 60.0;
  const int n = 200000;
  const double h = (hi - t) / n;
  double s = pdf(t) + pdf(hi);
  for (int i = 1; i < n; ++i) s += pdf(t + i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

// Expected fraction flagged for N(0,1) noise: (x - mean)/s with mean and s
// from n earlier samples is sqrt(1 + 1/n) * T(n-1).
double ExpectedRate(double z, size_t n, bool two_sided) {
  const double nn = static_cast<double>(n);
  const double p = StudentTUpperTail(z * std::sqrt(nn / (nn + 1)), nn - 1);
  return two_sided ? 2 * p : p;
}

TEST(AnomalyConfigTest, RejectsBadConfigsWithNamedErrors) {
  AnomalyConfig c;
  c.z_threshold = 0;
  EXPECT_NE(AnomalyDetector::Create(c).status().message().find("z_threshold"), std::string::npos);
  c = {};
  c.window_size = 1;
  EXPECT_NE(AnomalyDetector::Create(c).status().message().find("window_size"), std::string::npos);
  c = {};
  c.min_samples = 101;
  EXPECT_NE(AnomalyDetector::Create(c).status().message().find("min_samples"), std::string::npos);
  c = {};
  c.hard_upper = INFINITY;
  EXPECT_FALSE(AnomalyDetector::Create(c).ok());
}

TEST(AnomalyDetectorTest, RejectsNonFiniteAndNonPositiveUnderLog) {
  AnomalyConfig c;
  c.transform = ValueTransform::kLog;
  AnomalyDetector d = Make(c);
  EXPECT_EQ(d.Observe(NAN).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.Observe(INFINITY).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.Observe(0.0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.size(), 0u);  // rejected values never enter the window
}

TEST(AnomalyDetectorTest, SeedExample) {
  // The original crate's acceptance example: 99 normal values then 100.
  AnomalyDetector d = Make({.z_threshold = 3.0, .window_size = 100, .min_samples = 10});
  for (int i = 0; i < 99; ++i) EXPECT_FALSE(Feed(d, 1.0));
  auto r = d.Observe(100.0);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_GT((*r)->z_score, 3.0);
  EXPECT_DOUBLE_EQ((*r)->expected, 1.0);
}

TEST(AnomalyDetectorTest, TestsNewValueAgainstStatisticsExcludingIt) {
  Rng rng(7);
  AnomalyDetector d = Make({.z_threshold = 3.0, .window_size = 50, .min_samples = 10});
  std::vector<double> window;
  for (int i = 0; i < 200; ++i) {
    const double x = 10 + rng.Gaussian();
    if (window.size() >= 10) {
      double m = 0;
      for (double v : window) m += v;
      m /= window.size();
      double ss = 0;
      for (double v : window) ss += (v - m) * (v - m);
      const double sd = std::sqrt(ss / (window.size() - 1));
      ASSERT_TRUE(d.Observe(x).ok());
      EXPECT_NEAR(d.last_z(), (x - m) / sd, 1e-9) << "observation " << i;
    } else {
      ASSERT_TRUE(d.Observe(x).ok());
      EXPECT_TRUE(std::isnan(d.last_z()));
    }
    window.push_back(x);
    if (window.size() > 50) window.erase(window.begin());
  }
}

TEST(AnomalyDetectorTest, DetectsFiveSigmaSpikeOnFirstAnomalousObservation) {
  // 200 independent streams: after a warm-up of N(100, 5^2) latencies, the
  // first anomalous observation is mean + 5 sigma. It must be flagged at
  // once (default z = 3), and an 8-sigma spike must be flagged at z = 5.
  Rng rng(42);
  int caught3 = 0, caught5 = 0, false_alarms = 0;
  for (int trial = 0; trial < 200; ++trial) {
    AnomalyDetector d3 = Make({.z_threshold = 3.0, .window_size = 100, .min_samples = 10});
    AnomalyDetector d5 = Make({.z_threshold = 5.0, .window_size = 100, .min_samples = 10});
    const int warm = 100 + static_cast<int>(rng.Uniform(400));
    for (int i = 0; i < warm; ++i) {
      const double x = 100 + 5 * rng.Gaussian();
      Feed(d3, x);
      false_alarms += Feed(d5, x) ? 1 : 0;
    }
    caught3 += Feed(d3, 100 + 5 * 5) ? 1 : 0;
    caught5 += Feed(d5, 100 + 8 * 5) ? 1 : 0;
  }
  EXPECT_EQ(caught3, 200);
  EXPECT_EQ(caught5, 200);
  std::printf("[ info ] warm-up false alarms at z=5 over ~60k observations: %d\n", false_alarms);
}

TEST(AnomalyDetectorTest, NoFalsePositivesOverOneMillionGaussianAtZ5AndRateAtZ3) {
  // Latency-spike detectors (upper tail) and a two-sided detector, window
  // 1000, fed the same 1,000,000 N(0,1) values.
  Rng rng(20260101);
  AnomalyDetector up5 = Make({.z_threshold = 5.0, .window_size = 1000, .min_samples = 1000});
  AnomalyDetector both5 =
      Make({.z_threshold = 5.0, .window_size = 1000, .min_samples = 1000, .tail = Tail::kBoth});
  AnomalyDetector up3 = Make({.z_threshold = 3.0, .window_size = 1000, .min_samples = 1000});
  AnomalyDetector both3 =
      Make({.z_threshold = 3.0, .window_size = 1000, .min_samples = 1000, .tail = Tail::kBoth});
  AnomalyDetector both3_w100 =
      Make({.z_threshold = 3.0, .window_size = 100, .min_samples = 100, .tail = Tail::kBoth});
  const int kN = 1'000'000;
  uint64_t fp_up5 = 0, fp_both5 = 0, fp_up3 = 0, fp_both3 = 0, fp_both3_w100 = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = rng.Gaussian();
    fp_up5 += Feed(up5, x);
    fp_both5 += Feed(both5, x);
    fp_up3 += Feed(up3, x);
    fp_both3 += Feed(both3, x);
    fp_both3_w100 += Feed(both3_w100, x);
  }
  const double decisions = kN - 1000, decisions100 = kN - 100;
  const double exp_up5 = ExpectedRate(5, 1000, false), exp_both5 = ExpectedRate(5, 1000, true);
  const double exp_up3 = ExpectedRate(3, 1000, false), exp_both3 = ExpectedRate(3, 1000, true);
  const double exp_both3_w100 = ExpectedRate(3, 100, true);
  std::printf("[ info ] 1,000,000 N(0,1) observations, window 1000:\n");
  std::printf("[ info ]   z=5 upper tail : %llu flagged (theory %.3g expected)\n",
              static_cast<unsigned long long>(fp_up5), exp_up5 * decisions);
  std::printf("[ info ]   z=5 two-sided  : %llu flagged (theory %.3g expected)\n",
              static_cast<unsigned long long>(fp_both5), exp_both5 * decisions);
  std::printf("[ info ]   z=3 upper tail : rate %.5f (theory %.5f)\n", fp_up3 / decisions, exp_up3);
  std::printf("[ info ]   z=3 two-sided  : rate %.5f (theory %.5f)\n", fp_both3 / decisions, exp_both3);
  std::printf("[ info ]   z=3 two-sided, window 100: rate %.5f (theory %.5f)\n", fp_both3_w100 / decisions100,
              exp_both3_w100);
  EXPECT_EQ(fp_up5, 0u);
  EXPECT_EQ(fp_both5, 0u);
  // The z=3 rates match the finite-window theory (t distribution) within
  // 10 %: the test value is excluded from its own statistics.
  EXPECT_NEAR(fp_up3 / decisions, exp_up3, 0.1 * exp_up3);
  EXPECT_NEAR(fp_both3 / decisions, exp_both3, 0.1 * exp_both3);
  EXPECT_NEAR(fp_both3_w100 / decisions100, exp_both3_w100, 0.1 * exp_both3_w100);
}

TEST(AnomalyDetectorTest, RunningSumsDoNotDriftOverLongStreams) {
  // 5,000,000 values at a large offset with small noise and occasional level
  // shifts: the O(1) running statistics must agree with an exact two-pass
  // computation over the window at checkpoints.
  Rng rng(99);
  AnomalyDetector d = Make({.z_threshold = 5.0, .window_size = 256, .min_samples = 10});
  double level = 1e6;
  double worst_mean = 0, worst_var = 0;
  for (int i = 1; i <= 5'000'000; ++i) {
    if (i % 700'001 == 0) level *= 3.7;  // level shift
    ASSERT_TRUE(d.Observe(level + 1e-2 * rng.Gaussian()).ok());
    if (i % 99'991 == 0) {
      const double em = d.ExactMean(), ev = d.ExactVariance();
      worst_mean = std::max(worst_mean, std::fabs(d.RunningMean() - em) / std::fabs(em));
      worst_var = std::max(worst_var, std::fabs(d.RunningVariance() - ev) / ev);
    }
  }
  std::printf("[ info ] worst relative error over 5e6 observations: mean %.3g, variance %.3g\n", worst_mean,
              worst_var);
  EXPECT_LT(worst_mean, 1e-12);
  EXPECT_LT(worst_var, 1e-6);
}

TEST(AnomalyDetectorTest, ConstantLargeStreamStaysExact) {
  AnomalyDetector d = Make({.z_threshold = 3.0, .window_size = 64, .min_samples = 5});
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(Feed(d, 1e6 + 0.1));
  EXPECT_EQ(d.RunningMean(), 1e6 + 0.1);
  EXPECT_EQ(d.RunningVariance(), 0.0);
}

TEST(AnomalyDetectorTest, ConstantWindowUsesScaleFloor) {
  AnomalyDetector d = Make({.z_threshold = 3.0, .window_size = 20, .min_samples = 5});
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(Feed(d, 5.0));
  EXPECT_FALSE(Feed(d, 5.0));             // equal: z = 0, not NaN
  EXPECT_FALSE(std::isnan(d.last_z()));
  EXPECT_TRUE(Feed(d, 5.001));            // any real change of a constant is unusual
  EXPECT_TRUE(std::isfinite(d.last_z()));
}

TEST(AnomalyDetectorTest, TailsAndHardLimits) {
  Rng rng(3);
  AnomalyDetector upper = Make({.window_size = 100});                              // latency: upper
  AnomalyDetector lower = Make({.window_size = 100}, IssueKind::kLearningStall);   // lower
  AnomalyDetector memory = Make({.window_size = 100, .hard_upper = 0.9}, IssueKind::kMemoryPressure);
  for (int i = 0; i < 100; ++i) {
    const double x = 0.5 + 0.01 * rng.Gaussian();
    Feed(upper, x);
    Feed(lower, x);
    Feed(memory, x);
  }
  EXPECT_FALSE(Feed(upper, 0.3));
  EXPECT_TRUE(Feed(lower, 0.3));
  // A hard limit fires even before min_samples.
  AnomalyDetector fresh = Make({.window_size = 100, .hard_upper = 0.9}, IssueKind::kMemoryPressure);
  auto r = fresh.Observe(0.95);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->reason, AnomalyReason::kHardLimit);
}

// --- robust variant --------------------------------------------------------

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

TEST(RobustDetectorTest, MedianAndMadMatchBruteForce) {
  // Seeded random streams with many ties and varied window sizes.
  Rng rng(4242);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t w = 2 + rng.Uniform(40);
    const int len = 1 + static_cast<int>(rng.Uniform(120));
    const int distinct = 1 + static_cast<int>(rng.Uniform(trial % 2 ? 5 : 1000));
    AnomalyDetector d = Make({.window_size = w, .min_samples = 2, .robust = true, .min_scale = 0,
                              .relative_min_scale = 0});
    std::vector<double> window;
    for (int i = 0; i < len; ++i) {
      const double x = static_cast<double>(rng.Uniform(distinct)) / 8.0;
      ASSERT_TRUE(d.Observe(x).ok());
      window.push_back(x);
      if (window.size() > w) window.erase(window.begin());
      if (window.size() < 2) continue;
      const double m = Median(window);
      std::vector<double> dev;
      for (double y : window) dev.push_back(std::fabs(y - m));
      const double mad = Median(dev);
      double expected_scale;
      if (mad > 0) {
        expected_scale = 1.482602218505602 * mad;
      } else {
        double s = 0;
        for (double y : dev) s += y;
        expected_scale = 1.2533141373155001 * s / window.size();
      }
      ASSERT_EQ(d.Center(), m) << "trial " << trial << " step " << i;
      if (expected_scale > 0) {
        ASSERT_NEAR(d.Scale(), expected_scale, 1e-12 * expected_scale) << "trial " << trial << " step " << i;
      }
    }
  }
}

TEST(RobustDetectorTest, HeavyTailedContaminationDoesNotMaskRealSpikes) {
  // Latencies ~ lognormal(ln 10 ms, 0.25) with 2 % of huge outliers (x50).
  // A genuine 5x spike must still be caught on its first observation by the
  // robust detector; the mean/stddev detector's scale is inflated by the
  // outliers and misses most of them (masking).
  Rng rng(1234);
  int robust_caught = 0, plain_caught = 0;
  double worst_centre_err = 0, worst_scale_ratio = 0;
  const int kTrials = 300;
  for (int t = 0; t < kTrials; ++t) {
    AnomalyDetector robust = Make({.z_threshold = 5.0, .window_size = 200, .min_samples = 50, .robust = true});
    AnomalyDetector plain = Make({.z_threshold = 5.0, .window_size = 200, .min_samples = 50});
    const int warm = 200 + static_cast<int>(rng.Uniform(300));
    for (int i = 0; i < warm; ++i) {
      double x = 10.0 * std::exp(0.25 * rng.Gaussian());
      if (rng.UniformDouble() < 0.02) x *= 50;
      Feed(robust, x);
      Feed(plain, x);
    }
    worst_centre_err = std::max(worst_centre_err, std::fabs(robust.Center() - 10.0) / 10.0);
    // sigma of the clean distribution ~ 10 * 0.25 = 2.5 (delta method)
    worst_scale_ratio = std::max(worst_scale_ratio, robust.Scale() / 2.5);
    robust_caught += Feed(robust, 50.0) ? 1 : 0;
    plain_caught += Feed(plain, 50.0) ? 1 : 0;
  }
  std::printf("[ info ] 5x spike after 2%% x50 contamination: robust caught %d/%d, mean/stddev caught %d/%d\n",
              robust_caught, kTrials, plain_caught, kTrials);
  std::printf("[ info ] robust centre worst rel. error %.3f, scale / clean sigma worst %.2f\n", worst_centre_err,
              worst_scale_ratio);
  EXPECT_EQ(robust_caught, kTrials);
  EXPECT_LT(plain_caught, kTrials / 2);
  EXPECT_LT(worst_centre_err, 0.1);
  EXPECT_LT(worst_scale_ratio, 1.5);
}

TEST(RobustDetectorTest, LogTransformKeepsFalsePositivesLowOnLognormalLatencies) {
  // Lognormal(0, 1) latencies have a long right tail: a raw mean/stddev test
  // flags the tail itself; z on ln(latency), robust or not, is calibrated.
  Rng rng(555);
  AnomalyDetector raw = Make({.z_threshold = 5.0, .window_size = 500, .min_samples = 500});
  AnomalyDetector log_robust = Make({.z_threshold = 5.0, .window_size = 500, .min_samples = 500, .robust = true,
                                     .transform = ValueTransform::kLog});
  const int kN = 300'000;
  int fp_raw = 0, fp_log = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = std::exp(rng.Gaussian());
    fp_raw += Feed(raw, x);
    fp_log += Feed(log_robust, x);
  }
  std::printf("[ info ] lognormal(0,1), z=5, %d obs: raw mean/stddev flagged %d (rate %.4f), robust on ln: %d\n",
              kN, fp_raw, fp_raw / double(kN), fp_log);
  EXPECT_GT(fp_raw, 100);  // the raw test is not calibrated for heavy tails
  EXPECT_LE(fp_log, 2);
  // And a real 6-sigma (400x median) spike is still caught.
  EXPECT_TRUE(Feed(log_robust, 400.0));  // ln 400 = 6 sigma
}

TEST(RobustDetectorTest, GaussianFalsePositiveRates) {
  Rng rng(77);
  AnomalyDetector r5 = Make({.z_threshold = 5.0, .window_size = 1000, .min_samples = 1000, .robust = true,
                             .tail = Tail::kBoth});
  AnomalyDetector r3 = Make({.z_threshold = 3.0, .window_size = 1000, .min_samples = 1000, .robust = true,
                             .tail = Tail::kBoth});
  const int kN = 300'000;
  int f5 = 0, f3 = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = rng.Gaussian();
    f5 += Feed(r5, x);
    f3 += Feed(r3, x);
  }
  const double n = kN - 1000;
  std::printf("[ info ] robust, N(0,1), window 1000: z=5 flagged %d of %.0f; z=3 rate %.5f (normal 0.00270)\n", f5,
              n, f3 / n);
  EXPECT_LE(f5, 1);
  // MAD is a noisier scale estimate than the stddev: a slightly higher rate.
  EXPECT_GT(f3 / n, 0.0020);
  EXPECT_LT(f3 / n, 0.0045);
}

TEST(LogEstimateErrorTest, SignedLogQError) {
  EXPECT_DOUBLE_EQ(LogEstimateError(99, 99), 0.0);
  EXPECT_NEAR(LogEstimateError(999, 9), std::log(100.0), 1e-12);
  EXPECT_NEAR(LogEstimateError(9, 999), -std::log(100.0), 1e-12);
  EXPECT_DOUBLE_EQ(LogEstimateError(-5, 0), 0.0);
}

}  // namespace
}  // namespace healing
}  // namespace ruvector_dag
