#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/sona.h"

#include "sona/internal/counting_new.h"

namespace ruvector_dag {

using testing_support::AllocationCount;

namespace {

QueryDag SmallPlan() {
  QueryDag dag;
  const NodeId scan_a = dag.AddNode(OperatorNode::SeqScan("orders").WithEstimates(1000, 50)).value();
  const NodeId scan_b =
      dag.AddNode(OperatorNode::IndexScan("customers_pkey", "customers").WithEstimates(10, 5)).value();
  const NodeId hash = dag.AddNode(OperatorNode::Hash().WithEstimates(10, 1)).value();
  const NodeId join = dag.AddNode(OperatorNode::HashJoin("o.c = c.id").WithEstimates(100, 20)).value();
  const NodeId limit = dag.AddNode(OperatorNode::Limit(10).WithEstimates(10, 0.1)).value();
  EXPECT_TRUE(dag.AddEdge(scan_b, hash).ok());
  EXPECT_TRUE(dag.AddEdge(scan_a, join).ok());
  EXPECT_TRUE(dag.AddEdge(hash, join).ok());
  EXPECT_TRUE(dag.AddEdge(join, limit).ok());
  return dag;
}

TEST(FeaturizerTest, DeterministicAndCopyInvariant) {
  const QueryDag dag = internal::RandomPlanDag(100, 7);
  const QueryDag copy = dag;
  Featurizer a, b;
  PlanEmbedding ea, eb, ec;
  ASSERT_TRUE(a.Featurize(dag, {}, &ea).ok());
  ASSERT_TRUE(b.Featurize(copy, {}, &eb).ok());
  ASSERT_TRUE(a.Featurize(dag, {}, &ec).ok());
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(ea, ec);
  for (float v : ea) EXPECT_TRUE(std::isfinite(v));
}

TEST(FeaturizerTest, DifferentPlansGiveDifferentEmbeddings) {
  Featurizer f;
  PlanEmbedding e1, e2;
  ASSERT_TRUE(f.Featurize(internal::RandomPlanDag(30, 1), {}, &e1).ok());
  ASSERT_TRUE(f.Featurize(internal::RandomPlanDag(30, 2), {}, &e2).ok());
  EXPECT_NE(e1, e2);
}

TEST(FeaturizerTest, TypePresenceAndUniformMean) {
  const QueryDag dag = SmallPlan();
  Featurizer f;
  PlanEmbedding e;
  ASSERT_TRUE(f.Featurize(dag, {}, &e).ok());
  for (size_t t = 0; t < kOperatorTypeCount; ++t) {
    const auto type = static_cast<OperatorType>(t);
    const bool present = type == OperatorType::kSeqScan || type == OperatorType::kIndexScan ||
                         type == OperatorType::kHash || type == OperatorType::kHashJoin ||
                         type == OperatorType::kLimit;
    EXPECT_EQ(e[kEmbedMaxOffset + t], present ? 1.0f : 0.0f) << OperatorTypeName(type);
    // Uniform weights: each present type holds 1/5 of the mass.
    EXPECT_NEAR(e[kEmbedMeanOffset + t], present ? 0.2f : 0.0f, 1e-6) << OperatorTypeName(type);
  }
}

TEST(FeaturizerTest, WeightsSelectWhatThePooledMeanSees) {
  const QueryDag dag = SmallPlan();
  Featurizer f;
  PlanEmbedding e;
  // All weight on node 3 (the hash join): the mean block equals its features.
  const std::vector<double> w = {0, 0, 0, 5.0, 0};
  ASSERT_TRUE(f.Featurize(dag, w, &e).ok());
  const auto features = f.last_node_features();
  ASSERT_EQ(features.size(), 5 * kNodeFeatureDim);
  for (size_t j = 0; j < kNodeFeatureDim; ++j) {
    EXPECT_FLOAT_EQ(e[kEmbedMeanOffset + j], features[3 * kNodeFeatureDim + j]) << j;
  }
  EXPECT_EQ(e[kEmbedMeanOffset + static_cast<size_t>(OperatorType::kHashJoin)], 1.0f);
}

TEST(FeaturizerTest, RejectsBadInput) {
  const QueryDag dag = SmallPlan();
  Featurizer f;
  PlanEmbedding e;
  const std::vector<double> short_w = {1, 1};
  Status s = f.Featurize(dag, short_w, &e);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("2 node weights"), std::string::npos) << s.message();
  const std::vector<double> negative = {1, 1, -1, 1, 1};
  s = f.Featurize(dag, negative, &e);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("node 2"), std::string::npos) << s.message();
  const std::vector<double> nan = {1, 1, std::nan(""), 1, 1};
  EXPECT_EQ(f.Featurize(dag, nan, &e).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.Featurize(QueryDag(), {}, &e).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.Featurize(dag, {}, nullptr).code(), StatusCode::kInvalidArgument);
}

TEST(FeaturizerTest, ActualsAndMisestimation) {
  QueryDag est = SmallPlan();
  QueryDag act = est;
  act.mutable_node(0)->WithActuals(100000, 40.0);  // estimated 1000: 100x under
  Featurizer with;
  FeaturizerOptions no_actuals_options;
  no_actuals_options.use_actuals = false;
  Featurizer without(no_actuals_options);
  PlanEmbedding e_est, e_act, e_masked;
  ASSERT_TRUE(with.Featurize(est, {}, &e_est).ok());
  ASSERT_TRUE(with.Featurize(act, {}, &e_act).ok());
  ASSERT_TRUE(without.Featurize(act, {}, &e_masked).ok());
  EXPECT_NE(e_est, e_act);
  EXPECT_EQ(e_est, e_masked);  // actuals ignored when asked
  // Global misestimation feature rises (offset 6 of the global block).
  EXPECT_GT(e_act[kEmbedGlobalOffset + 6], 0.1f);
  EXPECT_EQ(e_est[kEmbedGlobalOffset + 6], 0.0f);
}

TEST(FeaturizerTest, SparseIdsAndLargePlansWork) {
  QueryDag dag = internal::RandomPlanDag(50, 3);
  ASSERT_TRUE(dag.RemoveNode(7).ok());
  ASSERT_TRUE(dag.RemoveNode(20).ok());
  FeaturizerOptions small;
  small.max_nodes = 8;  // forces the workspace to grow
  Featurizer f(small), g;
  PlanEmbedding a, b;
  ASSERT_TRUE(f.Featurize(dag, {}, &a).ok());
  ASSERT_TRUE(g.Featurize(dag, {}, &b).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(f.last_node_count(), 48u);
}

TEST(FeaturizerTest, HotPathDoesNotAllocate) {
  const QueryDag dag = internal::RandomPlanDag(100, 11, 0.1);
  std::vector<double> weights(dag.node_count(), 1.0);
  Featurizer f;
  PlanEmbedding e;
  ASSERT_TRUE(f.Featurize(dag, weights, &e).ok());
  const uint64_t before = AllocationCount();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(f.Featurize(dag, weights, &e).ok());
  EXPECT_EQ(AllocationCount(), before);
}

}  // namespace
}  // namespace ruvector_dag
