#include "ruvector_dag/vector_tuning.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>

namespace ruvector_dag {
namespace {

TEST(VectorTuningTest, RecallHitsCountsAMultisetIntersection) {
  const uint64_t exact[] = {1, 2, 3, 4};
  const uint64_t got[] = {4, 9, 2, 2};
  EXPECT_EQ(RecallHits(exact, 4, got, 4), 2u);
  const uint64_t dup_exact[] = {7, 7};
  const uint64_t one[] = {7};
  EXPECT_EQ(RecallHits(dup_exact, 2, one, 1), 1u);
  EXPECT_EQ(RecallHits(exact, 4, got, 0), 0u);
}

TEST(VectorTuningTest, LowerBoundIsBelowTheMeanAndRisesWithSamples) {
  VectorSettingStats s;
  EXPECT_EQ(RecallLowerBound(s), 0.0);
  for (int i = 0; i < 8; ++i) AddRecallSample(&s, 10, 10);
  const double perfect8 = RecallLowerBound(s);
  EXPECT_LT(perfect8, 0.8);  // 8 perfect statements are no proof of 0.95
  EXPECT_NEAR(perfect8, 8.0 / (8.0 + 1.645 * 1.645), 1e-9);
  for (int i = 0; i < 32; ++i) AddRecallSample(&s, 10, 10);
  EXPECT_GT(RecallLowerBound(s), perfect8);

  VectorSettingStats v;  // recall varies between statements: 1.0 and 0.6
  for (int i = 0; i < 8; ++i) AddRecallSample(&v, i % 2 == 0 ? 10 : 6, 10);
  EXPECT_DOUBLE_EQ(MeanRecall(v), 0.8);
  EXPECT_LT(RecallLowerBound(v), 0.8 - 0.1);  // the per-statement spread counts
}

// The statement is the unit: a statement of 1,000 rows proves no more than
// one of 10 (its rows are not independent trials).
TEST(VectorTuningTest, TheBoundCountsStatementsNotRows) {
  VectorSettingStats small, large;
  for (int i = 0; i < 8; ++i) {
    AddRecallSample(&small, 10, 10);
    AddRecallSample(&large, 1000, 1000);
  }
  EXPECT_DOUBLE_EQ(RecallLowerBound(small), RecallLowerBound(large));
}

TEST(VectorTuningTest, SamplesToProveIsTheFirstPerfectCountThatReachesTheTarget) {
  for (const double target : {0.5, 0.9, 0.95, 0.99}) {
    const uint32_t n = SamplesToProve(target);
    VectorSettingStats s;
    for (uint32_t i = 0; i + 1 < n; ++i) AddRecallSample(&s, 10, 10);
    EXPECT_LT(RecallLowerBound(s), target) << target;
    AddRecallSample(&s, 10, 10);
    EXPECT_GE(RecallLowerBound(s), target) << target;
  }
  EXPECT_EQ(SamplesToProve(0.95), 52u);
  EXPECT_EQ(SamplesToProve(0.9), 25u);
  EXPECT_EQ(SamplesToProve(1.0), UINT32_MAX);
}

/// Runs the learner's loop on one simulated pattern: each statement has
/// recall 1 with probability `good` and 0 otherwise for every ef setting
/// (all-or-nothing: a filtered search whose query vector lands near rows
/// that pass the filter, or not), ef latency 1 ms, exact 10 ms; samples
/// the settings DecideVectorSetting asks for until nothing but the
/// deployed setting is measured (at most 400 statements). True when an ef
/// setting was ever deployed.
bool EverDeploysAnEfSetting(std::mt19937_64* rng, double good, const VectorTuningOptions& o) {
  VectorSettingStats stats[kVectorSettingCount];
  std::bernoulli_distribution hit(good);
  for (int statement = 0; statement < 400; ++statement) {
    const VectorDecision d = DecideVectorSetting(stats, o);
    if (d.deployed >= 0 && d.deployed < kVectorEfCount) return true;
    if (d.settled && !d.proving) return false;
    const double hits = hit(*rng) ? 10.0 : 0.0;
    AddLatency(&stats[kVectorExact], 10.0);
    for (int i = 0; i < kVectorEfCount; ++i) {
      if ((d.measure_mask & (1u << i)) == 0) continue;
      AddRecallSample(&stats[i], hits, 10.0);
      AddLatency(&stats[i], 1.0);
    }
  }
  return false;
}

// The defect this guards against: filtered searches whose first statements
// all found their rows were deployed after 8 perfect samples and then
// served a recall far below the target. With all-or-nothing statements of
// mean recall 0.85 or 0.9 (below the 0.95 target) an ef setting must be
// deployed in at most 5 % of runs (the bound's confidence); counting rows
// as trials deployed it after 8 lucky statements (0.85^8 = 27 %).
TEST(VectorTuningTest, AllOrNothingStatementsBelowTheTargetAreRarelyDeployed) {
  const uint64_t seed = 20261206;
  std::mt19937_64 rng(seed);
  VectorTuningOptions o;
  o.target = 0.95;
  for (const double good : {0.85, 0.9}) {
    int deployed = 0;
    const int trials = 2000;
    for (int t = 0; t < trials; ++t) deployed += EverDeploysAnEfSetting(&rng, good, o) ? 1 : 0;
    std::printf("seed %llu, mean recall %.2f: an ef_search setting deployed in %d of %d runs\n",
                static_cast<unsigned long long>(seed), good, deployed, trials);
    EXPECT_LE(deployed, trials / 20) << "mean recall " << good << ", seed " << seed;
  }
  // Statements that always find their rows are proved and deployed.
  EXPECT_TRUE(EverDeploysAnEfSetting(&rng, 1.0, o));
}

TEST(VectorTuningTest, BadSamplesAreIgnored) {
  VectorSettingStats s;
  AddRecallSample(&s, 11, 10);
  AddRecallSample(&s, -1, 10);
  AddRecallSample(&s, 0, 0);
  AddRecallSample(&s, 1, NAN);
  AddLatency(&s, -1.0);
  AddLatency(&s, INFINITY);
  EXPECT_EQ(s.samples, 0u);
  EXPECT_EQ(s.runs, 0u);
}

/// Stats where ef i has recall `recall[i]` (of 10 rows) and latency
/// `ms[i]` on `n` samples; exact has latency `exact_ms`.
void Fill(VectorSettingStats* stats, const double* recall, const double* ms, double exact_ms, int n) {
  for (int i = 0; i < kVectorEfCount; ++i) {
    for (int k = 0; k < n; ++k) {
      AddRecallSample(&stats[i], recall[i] * 10.0, 10.0);
      AddLatency(&stats[i], ms[i]);
    }
  }
  for (int k = 0; k < n; ++k) AddLatency(&stats[kVectorExact], exact_ms);
}

TEST(VectorTuningTest, NothingIsDeployedBeforeEverySettingHasItsSamples) {
  VectorSettingStats stats[kVectorSettingCount];
  const double recall[] = {0.5, 0.7, 0.9, 1.0, 1.0, 1.0};
  const double ms[] = {1, 2, 3, 4, 6, 9};
  Fill(stats, recall, ms, 20.0, 7);
  VectorTuningOptions o;
  VectorDecision d = DecideVectorSetting(stats, o);
  EXPECT_FALSE(d.settled);
  EXPECT_EQ(d.deployed, -1);
  EXPECT_EQ(d.measure_mask, (1u << kVectorEfCount) - 1);
}

TEST(VectorTuningTest, DeploysTheFastestSettingWhoseBoundMeetsTheTarget) {
  VectorSettingStats stats[kVectorSettingCount];
  const double recall[] = {0.5, 0.7, 0.9, 1.0, 1.0, 1.0};
  const double ms[] = {1, 2, 3, 4, 6, 9};
  Fill(stats, recall, ms, 20.0, 60);
  VectorTuningOptions o;
  o.target = 0.95;
  VectorDecision d = DecideVectorSetting(stats, o);
  ASSERT_TRUE(d.settled);
  EXPECT_EQ(d.deployed, 3);  // ef 80: the first with recall proven >= 0.95
  EXPECT_EQ(d.measure_mask, 1u << 3);
  EXPECT_FALSE(d.proving);
  // A low target: a cheaper setting is enough.
  o.target = 0.55;
  EXPECT_EQ(DecideVectorSetting(stats, o).deployed, 1);
}

TEST(VectorTuningTest, ExactServesWhileFasterSettingsProveThemselves) {
  VectorSettingStats stats[kVectorSettingCount];
  const double recall[] = {0.5, 0.7, 0.9, 1.0, 1.0, 1.0};
  const double ms[] = {1, 2, 3, 4, 6, 40};
  Fill(stats, recall, ms, 20.0, 8);
  VectorTuningOptions o;
  o.target = 0.95;
  VectorDecision d = DecideVectorSetting(stats, o);
  ASSERT_TRUE(d.settled);
  EXPECT_EQ(d.deployed, kVectorExact);  // 8 perfect samples prove only 0.75
  EXPECT_TRUE(d.proving);
  // ef 80 and 160 may still prove 0.95 and are faster than exact; ef 320 is
  // slower, ef 10..40 measured below the target.
  EXPECT_EQ(d.measure_mask, (1u << 3) | (1u << 4));
  for (int n = 8; n < 52; ++n) {
    AddRecallSample(&stats[3], 10, 10);
    AddLatency(&stats[3], 4);
  }
  d = DecideVectorSetting(stats, o);
  EXPECT_EQ(d.deployed, 3);
  EXPECT_EQ(d.measure_mask, 1u << 3);  // ef 160 is slower than ef 80 now
  EXPECT_FALSE(d.proving);
  // A miss pulls the mean below the target: ef 80 is withdrawn, and with
  // its mean below the target it is not measured any more.
  for (int n = 0; n < 4; ++n) AddRecallSample(&stats[3], 0, 10);
  d = DecideVectorSetting(stats, o);
  EXPECT_EQ(d.deployed, kVectorExact);
  EXPECT_EQ(d.measure_mask, 1u << 4);
  // After max_samples a setting that did not prove the target is dropped.
  for (uint32_t n = stats[4].samples; n < o.max_samples; ++n) {
    AddRecallSample(&stats[4], n % 10 == 0 ? 8 : 10, 10);
  }
  ASSERT_GE(MeanRecall(stats[4]), 0.95);
  ASSERT_LT(RecallLowerBound(stats[4]), 0.95);
  d = DecideVectorSetting(stats, o);
  EXPECT_EQ(d.deployed, kVectorExact);
  EXPECT_EQ(d.measure_mask, 0u);
  EXPECT_FALSE(d.proving);
}

TEST(VectorTuningTest, NeverAMeanThatMeetsTheTargetWithoutItsBound) {
  VectorSettingStats stats[kVectorSettingCount];
  // ef 40 averages 0.96 but varies a lot between statements.
  for (int k = 0; k < 60; ++k) {
    for (int i = 0; i < kVectorEfCount; ++i) {
      const double r = i < 2 ? 0.5 : (i == 2 ? (k % 4 == 0 ? 0.84 : 1.0) : 1.0);
      AddRecallSample(&stats[i], r * 10.0, 10.0);
      AddLatency(&stats[i], 1.0 + i);
    }
    AddLatency(&stats[kVectorExact], 50.0);
  }
  ASSERT_GE(MeanRecall(stats[2]), 0.95);
  ASSERT_LT(RecallLowerBound(stats[2]), 0.95);
  VectorTuningOptions o;
  o.target = 0.95;
  VectorDecision d = DecideVectorSetting(stats, o);
  ASSERT_TRUE(d.settled);
  EXPECT_NE(d.deployed, 2);
  EXPECT_GE(RecallLowerBound(stats[d.deployed]), 0.95);
}

TEST(VectorTuningTest, ExactWhenNoEfSettingProvesTheTarget) {
  VectorSettingStats stats[kVectorSettingCount];
  const double recall[] = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9};
  const double ms[] = {1, 2, 3, 4, 6, 9};
  Fill(stats, recall, ms, 30.0, 8);
  VectorTuningOptions o;
  VectorDecision d = DecideVectorSetting(stats, o);
  ASSERT_TRUE(d.settled);
  EXPECT_EQ(d.deployed, kVectorExact);
  // A target of 1: only the reference itself can prove it.
  const double perfect[] = {1, 1, 1, 1, 1, 1};
  VectorSettingStats all[kVectorSettingCount];
  Fill(all, perfect, ms, 30.0, 100);
  o.target = 1.0;
  EXPECT_EQ(DecideVectorSetting(all, o).deployed, kVectorExact);
}

TEST(VectorTuningTest, TimeoutsTakeASettingOutOfPlay) {
  VectorSettingStats stats[kVectorSettingCount];
  const double recall[] = {0.5, 0.6, 0.7, 0.8, 0.85, 1.0};
  const double ms[] = {1, 2, 3, 4, 6, 9};
  Fill(stats, recall, ms, 30.0, 60);
  VectorTuningOptions o;
  EXPECT_EQ(DecideVectorSetting(stats, o).deployed, 5);
  stats[5].timeouts = o.max_timeouts;
  EXPECT_EQ(DecideVectorSetting(stats, o).deployed, kVectorExact);
  // Without the reference nothing can be measured, so nothing is deployed.
  stats[kVectorExact].timeouts = o.max_timeouts;  // the reference gets more chances
  EXPECT_EQ(DecideVectorSetting(stats, o).deployed, kVectorExact);
  stats[kVectorExact].timeouts = o.max_reference_timeouts;
  VectorDecision d = DecideVectorSetting(stats, o);
  EXPECT_TRUE(d.settled);
  EXPECT_TRUE(d.none_meets_target);
  EXPECT_EQ(d.deployed, -1);
}

TEST(VectorTuningTest, NamesAndSettings) {
  EXPECT_STREQ(VectorSettingName(-1), "default");
  EXPECT_STREQ(VectorSettingName(3), "ef_search=80");
  EXPECT_STREQ(VectorSettingName(kVectorExact), "exact");
  EXPECT_STREQ(VectorSettingName(99), "?");
  EXPECT_STREQ(VectorSettingGucs(0), "ruvector.hnsw_ef_search=10\n");
  EXPECT_STREQ(VectorSettingGucs(-1), "");
}

}  // namespace
}  // namespace ruvector_dag
