#include "worker/hint_arms.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "ruvector_dag/dag.h"

namespace ruvector_pg {
namespace {

using ruvector_dag::OperatorType;

constexpr uint8_t kNl = static_cast<uint8_t>(OperatorType::kNestedLoop);
constexpr uint8_t kHj = static_cast<uint8_t>(OperatorType::kHashJoin);
constexpr uint8_t kHash = static_cast<uint8_t>(OperatorType::kHash);
constexpr uint8_t kSeq = static_cast<uint8_t>(OperatorType::kSeqScan);
constexpr uint8_t kIdx = static_cast<uint8_t>(OperatorType::kIndexScan);

HintNode Node(uint8_t type, int16_t parent, uint32_t relset, uint8_t relations, float est, float actual) {
  HintNode n;
  n.type = type;
  n.parent = parent;
  n.relset = relset;
  n.relation_count = relations;
  n.estimated_rows = est;
  n.actual_rows = actual;
  return n;
}

HintSample Sample(uint64_t key, std::vector<HintNode> nodes, bool early = false) {
  HintSample s;
  s.pattern_key = key;
  s.database_oid = 5;
  s.relations = {16384, 16390, 16400};
  s.may_stop_early = early;
  s.nodes = std::move(nodes);
  return s;
}

// Hash join (900) over a nested loop (100) whose outer scan was estimated at
// 10 rows and returned `outer_rows`, and a well estimated scan.
HintSample NestLoopUnderestimated(uint64_t key, float outer_rows) {
  return Sample(key, {Node(kHj, -1, 900, 3, 50.0f, 60.0f),          // 0
                      Node(kNl, 0, 100, 2, 40.0f, outer_rows),      // 1
                      Node(kSeq, 1, 1, 1, 10.0f, outer_rows),       // 2: outer input of 100
                      Node(kIdx, 1, 2, 1, 1.0f, 1.0f),              // 3
                      Node(kHash, 0, 0, 0, 200.0f, 210.0f),         // 4
                      Node(kSeq, 4, 3, 1, 200.0f, 210.0f)});        // 5
}

TEST(HintArmLearnerTest, UnderestimatedNestedLoopGetsHashJoin) {
  HintArmLearner learner;
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 1);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNone) << "one observation is not enough";
  EXPECT_TRUE(learner.TakeChanged().empty());
  learner.Observe(NestLoopUnderestimated(7, 6000.0f), 2);
  const LearnedHint h = learner.HintOf(7);
  EXPECT_EQ(h.kind, HintKind::kHashJoin);
  EXPECT_EQ(h.relset, 100u) << "the nested loop, not the well estimated hash join above it";
  EXPECT_EQ(h.relation_count, 2u);
  EXPECT_EQ(h.observations, 2u);
  EXPECT_GT(h.log_error, std::log(4.0f));
  EXPECT_EQ(h.version, 1u);
  EXPECT_EQ(learner.TakeChanged(), std::vector<uint64_t>{7});
  EXPECT_TRUE(learner.TakeChanged().empty()) << "taken";
  ASSERT_EQ(learner.Hints().size(), 1u);
  const PinnedHints pinned = HintsOfLearned(h);
  ASSERT_EQ(pinned.count, 1u);
  EXPECT_EQ(pinned.kinds[0], HintKind::kHashJoin);
  EXPECT_EQ(pinned.relsets[0], 100u);
  EXPECT_EQ(pinned.leading_count, 0u);
  // More of the same evidence: the same hint, no new version.
  learner.Observe(NestLoopUnderestimated(7, 5500.0f), 3);
  EXPECT_EQ(learner.HintOf(7).version, 1u);
  EXPECT_TRUE(learner.TakeChanged().empty());
}

TEST(HintArmLearnerTest, SmallOrInconsistentErrorsGiveNoHint) {
  HintArmLearner learner;
  learner.Observe(NestLoopUnderestimated(7, 20.0f), 1);  // q ~ 1.9
  learner.Observe(NestLoopUnderestimated(7, 25.0f), 2);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNone);
  learner.Observe(NestLoopUnderestimated(8, 100000.0f), 1);  // the observations disagree
  learner.Observe(NestLoopUnderestimated(8, 60.0f), 2);
  EXPECT_EQ(learner.HintOf(8).kind, HintKind::kNone);
  EXPECT_TRUE(learner.Hints().empty());
}

// A hash join (300) whose outer scan was estimated at 100000 rows and
// returned 5.
HintSample HashJoinOverestimated(uint64_t key, bool early) {
  return Sample(key, {Node(kHj, -1, 300, 2, 100000.0f, 5.0f),     // 0
                      Node(kSeq, 0, 1, 1, 100000.0f, 5.0f),      // 1: outer input
                      Node(kHash, 0, 0, 0, 1000.0f, 1000.0f),    // 2
                      Node(kSeq, 2, 2, 1, 1000.0f, 1000.0f)},    // 3
                early);
}

TEST(HintArmLearnerTest, OverestimatedHashJoinGetsNestedLoopUnlessItMayStopEarly) {
  HintArmLearner learner;
  learner.Observe(HashJoinOverestimated(7, false), 1);
  learner.Observe(HashJoinOverestimated(7, false), 2);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNestLoop);
  EXPECT_EQ(learner.HintOf(7).relset, 300u);
  // An execution that may stop early proves no overestimate.
  learner.Observe(HashJoinOverestimated(8, true), 1);
  learner.Observe(HashJoinOverestimated(8, true), 2);
  EXPECT_EQ(learner.HintOf(8).kind, HintKind::kNone);
}

TEST(HintArmLearnerTest, AnUnderestimatedHashJoinNeedsNoHint) {
  HintArmLearner learner;
  for (int i = 0; i < 3; ++i) {
    learner.Observe(Sample(7, {Node(kHj, -1, 300, 2, 10.0f, 50000.0f), Node(kSeq, 0, 1, 1, 10.0f, 50000.0f),
                               Node(kHash, 0, 0, 0, 10.0f, 10.0f), Node(kSeq, 2, 2, 1, 10.0f, 10.0f)}),
                    i);
  }
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNone) << "a hash join is what many rows call for";
}

// Two nested loops off by similar factors: 100 (outer input 10 -> 1000 rows,
// log error 4.5) produces a million rows -- the plan's bottleneck -- and 200
// (outer input 1 -> 295 rows, log error 5.0) a few hundred.
HintSample TwoNestedLoops(uint64_t key) {
  return Sample(key, {Node(kHj, -1, 900, 4, 10.0f, 10.0f),             // 0
                      Node(kNl, 0, 100, 2, 1e6f, 1e6f),                // 1
                      Node(kSeq, 1, 1, 1, 10.0f, 1000.0f),             // 2
                      Node(kIdx, 1, 2, 1, 1.0f, 1.0f),                 // 3
                      Node(kHash, 0, 0, 0, 400.0f, 400.0f),            // 4
                      Node(kNl, 4, 200, 2, 300.0f, 300.0f),            // 5
                      Node(kSeq, 5, 3, 1, 1.0f, 295.0f),               // 6
                      Node(kIdx, 5, 4, 1, 1.0f, 1.0f)});               // 7
}

TEST(HintArmLearnerTest, TheBottleneckDecidesBetweenMisestimatedJoins) {
  HintArmLearner learner;
  learner.Observe(TwoNestedLoops(7), 1);
  learner.Observe(TwoNestedLoops(7), 2);
  const LearnedHint h = learner.HintOf(7);
  EXPECT_EQ(h.kind, HintKind::kHashJoin);
  EXPECT_EQ(h.relset, 100u) << "the smaller error at the bottleneck wins over the larger one elsewhere";
  EXPECT_EQ(h.bottleneck, 1);
  EXPECT_NEAR(h.log_error, std::log(1001.0 / 11.0), 1e-4);
}

TEST(HintArmLearnerTest, APlanChangeOrDriftChangesTheVersion) {
  HintArmLearner learner;
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 1);
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 2);
  ASSERT_EQ(learner.HintOf(7).kind, HintKind::kHashJoin);
  learner.TakeChanged();
  // The default plan now hash-joins 100 itself: what was learned of its
  // nested loop no longer applies.
  HintSample hashed = NestLoopUnderestimated(7, 5000.0f);
  hashed.nodes[1].type = kHj;
  learner.Observe(hashed, 3);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNone);
  EXPECT_EQ(learner.HintOf(7).version, 2u);
  EXPECT_EQ(learner.TakeChanged(), std::vector<uint64_t>{7});
  // Learned again, then forgotten by a drift of one of its relations.
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 4);
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 5);
  learner.Observe(NestLoopUnderestimated(7, 5000.0f), 6);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kHashJoin);
  EXPECT_EQ(learner.HintOf(7).version, 3u);
  learner.TakeChanged();
  learner.ForgetTouching(6, {16390}, false);  // another database
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kHashJoin);
  learner.ForgetTouching(5, {99999}, false);  // another relation
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kHashJoin);
  const uint64_t generation = learner.generation();
  learner.ForgetTouching(5, {16390}, false);
  EXPECT_EQ(learner.HintOf(7).kind, HintKind::kNone);
  EXPECT_EQ(learner.TakeChanged(), std::vector<uint64_t>{7});
  EXPECT_GT(learner.generation(), generation);
  EXPECT_EQ(learner.pattern_count(), 0u);
}

TEST(HintArmLearnerTest, MemoryIsBoundedAndBadNodesAreSkipped) {
  HintArmLearner::Options o;
  o.max_patterns = 2;
  HintArmLearner learner(o);
  for (uint64_t key = 1; key <= 5; ++key) {
    learner.Observe(NestLoopUnderestimated(key, 5000.0f), static_cast<int64_t>(key));
    learner.Observe(NestLoopUnderestimated(key, 5000.0f), static_cast<int64_t>(key));
  }
  EXPECT_EQ(learner.pattern_count(), 2u);
  EXPECT_EQ(learner.HintOf(1).kind, HintKind::kNone) << "evicted";
  EXPECT_EQ(learner.HintOf(5).kind, HintKind::kHashJoin);
  // Unmeasured, non-finite and negative rows, a bad parent, a relation set
  // joined twice: nothing is learned from them, nothing crashes.
  HintArmLearner other;
  HintSample bad = NestLoopUnderestimated(9, 5000.0f);
  bad.nodes[1].actual_rows = -1.0f;
  bad.nodes[2].actual_rows = -1.0f;
  bad.nodes[0].estimated_rows = std::nanf("");
  bad.nodes[5].parent = 7;
  other.Observe(bad, 1);
  other.Observe(bad, 2);
  EXPECT_EQ(other.HintOf(9).kind, HintKind::kNone);
  HintSample twice = NestLoopUnderestimated(10, 5000.0f);
  twice.nodes[0].relset = 100;
  other.Observe(twice, 1);
  other.Observe(twice, 2);
  EXPECT_EQ(other.HintOf(10).kind, HintKind::kNone);
  other.Observe(Sample(11, {}), 1);
  EXPECT_EQ(other.HintOf(11).kind, HintKind::kNone);
}

}  // namespace
}  // namespace ruvector_pg
