#include "worker/row_corrections.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "ruvector_dag/core.h"

namespace ruvector_pg {
namespace {

RowSample Sample(uint64_t key, std::vector<RowObservation> nodes, bool early = false) {
  RowSample s;
  s.pattern_key = key;
  s.may_stop_early = early;
  s.nodes = std::move(nodes);
  return s;
}

TEST(RelSetTest, OrderIndependentAndAliasesTellSelfJoinsApart) {
  const uint64_t a = RelKey(16384, "a"), b = RelKey(16390, "b");
  const uint64_t ab = RelSetAdd(RelSetAdd(0, a), b);
  const uint64_t ba = RelSetAdd(RelSetAdd(0, b), a);
  EXPECT_EQ(RelSetId(ab), RelSetId(ba));
  EXPECT_NE(RelSetId(RelSetAdd(0, a)), RelSetId(ab));
  // The two sides of a self-join are two relations.
  EXPECT_NE(RelKey(16384, "x"), RelKey(16384, "y"));
  EXPECT_NE(RelKey(16384, "x"), RelKey(16385, "x"));
  EXPECT_EQ(RelKey(16384, "x"), RelKey(16384, "x"));
  EXPECT_NE(RelSetId(0), 0u);
}

TEST(RowCorrectionLearnerTest, ConsistentUnderestimateGivesCorrection) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  learner.Observe(Sample(7, {{t, 1, 10.0f, 1000.0f}}), 1);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u) << "one observation is not enough";
  learner.Observe(Sample(7, {{t, 1, 10.0f, 1200.0f}}), 2);
  PatternCorrections c = learner.CorrectionsOf(7);
  ASSERT_EQ(c.count, 1u);
  EXPECT_EQ(c.items[0].relset, t);
  EXPECT_EQ(c.items[0].observations, 2u);
  EXPECT_NEAR(c.items[0].factor, std::sqrt(100.0 * 120.0), 1e-2);
  EXPECT_NEAR(c.items[0].estimated_rows, 10.0, 1e-3);
  ASSERT_EQ(learner.Corrections().size(), 1u);
  EXPECT_EQ(learner.Corrections()[0].pattern_key, 7u);
}

TEST(RowCorrectionLearnerTest, NoiseGivesNoCorrection) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  const uint32_t j = RelSetId(RelSetAdd(RelSetAdd(0, 100), 200));
  ruvector_dag::Rng rng(42);
  for (int i = 0; i < 50; ++i) {
    // Within 3x either way: below the q-error threshold of 4.
    const float f = static_cast<float>(std::exp((rng.UniformDouble() * 2.0 - 1.0) * std::log(3.0)));
    learner.Observe(Sample(7, {{t, 1, 100.0f, 100.0f * f}}), i);
  }
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  // Large errors that disagree in direction: no consistent correction.
  for (int i = 0; i < 10; ++i) {
    learner.Observe(Sample(8, {{j, 2, 100.0f, i % 2 == 0 ? 10000.0f : 1.0f}}), 100 + i);
  }
  EXPECT_EQ(learner.CorrectionsOf(8).count, 0u);
}

TEST(RowCorrectionLearnerTest, EarlyStopIsNoEvidenceOfOverestimate) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  for (int i = 0; i < 4; ++i) learner.Observe(Sample(7, {{t, 1, 1000.0f, 5.0f}}, /*early=*/true), i);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  for (int i = 0; i < 2; ++i) learner.Observe(Sample(7, {{t, 1, 1000.0f, 5.0f}}), 10 + i);
  PatternCorrections c = learner.CorrectionsOf(7);
  ASSERT_EQ(c.count, 1u);
  EXPECT_NEAR(c.items[0].factor, 0.005, 1e-4);
  // An underestimate is a lower bound even from an early stop: it counts.
  const uint32_t u = RelSetId(RelSetAdd(0, 300));
  for (int i = 0; i < 2; ++i) learner.Observe(Sample(9, {{u, 1, 10.0f, 900.0f}}, true), 20 + i);
  EXPECT_EQ(learner.CorrectionsOf(9).count, 1u);
}

TEST(RowCorrectionLearnerTest, AmbiguousSetIsSkipped) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  for (int i = 0; i < 3; ++i) learner.Observe(Sample(7, {{t, 1, 10.0f, 1000.0f}, {t, 1, 10.0f, 10.0f}}), i);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
}

TEST(RowCorrectionLearnerTest, NewDataReplacesOldCorrection) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  for (int i = 0; i < 20; ++i) learner.Observe(Sample(7, {{t, 1, 10.0f, 1000.0f}}), i);
  ASSERT_EQ(learner.CorrectionsOf(7).count, 1u);
  const uint64_t g = learner.generation();
  // The estimate became right (new statistics): the correction goes.
  for (int i = 0; i < 40; ++i) learner.Observe(Sample(7, {{t, 1, 1000.0f, 1000.0f}}), 100 + i);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  EXPECT_GT(learner.generation(), g);
  for (int i = 0; i < 3; ++i) learner.Observe(Sample(7, {{t, 1, 10.0f, 1000.0f}}), 200 + i);
  learner.Forget(7);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  EXPECT_EQ(learner.pattern_count(), 0u);
}

TEST(RowCorrectionLearnerTest, DriftForgetsPatternsReadingTheRelation) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  for (uint64_t key : {7, 8}) {
    RowSample s = Sample(key, {{t, 1, 10.0f, 1000.0f}});
    s.database_oid = 5;
    s.relations = {key == 7 ? 100u : 200u};
    learner.Observe(s, 1);
    learner.Observe(s, 2);
  }
  ASSERT_EQ(learner.Corrections().size(), 2u);
  learner.ForgetTouching(6, {100}, false);  // another database
  EXPECT_EQ(learner.Corrections().size(), 2u);
  learner.ForgetTouching(5, {100}, false);
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  EXPECT_EQ(learner.CorrectionsOf(8).count, 1u);
  learner.ForgetTouching(5, {}, true);
  EXPECT_EQ(learner.pattern_count(), 0u);
}

TEST(RowCorrectionLearnerTest, MemoryIsBounded) {
  RowCorrectionLearner::Options options;
  options.max_patterns = 8;
  options.max_sets_per_pattern = 4;
  RowCorrectionLearner learner(options);
  for (uint64_t key = 1; key <= 100; ++key) {
    std::vector<RowObservation> nodes;
    for (uint32_t rel = 1; rel <= 20; ++rel) {
      nodes.push_back({RelSetId(RelSetAdd(0, rel)), 1, 10.0f, 10.0f * static_cast<float>(rel)});
    }
    learner.Observe(Sample(key, nodes), static_cast<int64_t>(key));
    learner.Observe(Sample(key, nodes), static_cast<int64_t>(key));
  }
  EXPECT_EQ(learner.pattern_count(), 8u);
  // The newest patterns stay; each keeps the sets with the largest errors.
  EXPECT_EQ(learner.CorrectionsOf(1).count, 0u);
  PatternCorrections c = learner.CorrectionsOf(100);
  ASSERT_EQ(c.count, 4u);
  EXPECT_NEAR(c.items[0].factor, 20.0, 1e-3);
  EXPECT_NEAR(c.items[3].factor, 17.0, 1e-3);
}

TEST(RowCorrectionLearnerTest, BadNumbersAreIgnored) {
  RowCorrectionLearner learner;
  const uint32_t t = RelSetId(RelSetAdd(0, 100));
  for (int i = 0; i < 4; ++i) {
    learner.Observe(Sample(7, {{t, 1, 0.0f, 1000.0f}, {t + 1, 1, 10.0f, -1.0f}, {t + 2, 1, NAN, 5.0f}}), i);
  }
  EXPECT_EQ(learner.CorrectionsOf(7).count, 0u);
  // Factors are bounded.
  for (int i = 0; i < 2; ++i) learner.Observe(Sample(8, {{t, 1, 1.0f, 1e30f}}), i);
  ASSERT_EQ(learner.CorrectionsOf(8).count, 1u);
  EXPECT_LE(learner.CorrectionsOf(8).items[0].factor, 1.0001e6f);
}

}  // namespace
}  // namespace ruvector_pg
