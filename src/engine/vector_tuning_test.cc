#include "ruvector_dag/vector_tuning.h"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_LT(perfect8, 1.0);  // Wilson: 80 of 80 rows is not proof of 1
  EXPECT_GT(perfect8, 0.95);
  for (int i = 0; i < 32; ++i) AddRecallSample(&s, 10, 10);
  EXPECT_GT(RecallLowerBound(s), perfect8);

  VectorSettingStats v;  // recall varies between statements: 1.0 and 0.6
  for (int i = 0; i < 8; ++i) AddRecallSample(&v, i % 2 == 0 ? 10 : 6, 10);
  EXPECT_DOUBLE_EQ(MeanRecall(v), 0.8);
  EXPECT_LT(RecallLowerBound(v), 0.8 - 0.1);  // the per-statement spread counts
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
  Fill(stats, recall, ms, 20.0, 40);
  VectorTuningOptions o;
  o.target = 0.95;
  VectorDecision d = DecideVectorSetting(stats, o);
  ASSERT_TRUE(d.settled);
  EXPECT_EQ(d.deployed, 3);  // ef 80: the first with recall proven >= 0.95
  EXPECT_EQ(d.measure_mask, 1u << 3);
  // A low target: a cheaper setting is enough.
  o.target = 0.6;
  EXPECT_EQ(DecideVectorSetting(stats, o).deployed, 1);
}

TEST(VectorTuningTest, NeverAMeanThatMeetsTheTargetWithoutItsBound) {
  VectorSettingStats stats[kVectorSettingCount];
  // ef 40 averages 0.96 but varies a lot between statements.
  for (int k = 0; k < 8; ++k) {
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
  Fill(stats, recall, ms, 30.0, 40);
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
