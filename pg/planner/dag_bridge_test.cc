// Vector plans through the C++-zone bridge: snapshots as plan extraction
// makes them for `ORDER BY v <-> q LIMIT 10` over a ruhnsw index (Limit <-
// HnswScan) and without one (Limit <- VectorDistance <- Seq Scan) become
// DAGs that every analysis handles like any other plan.
#include "planner/dag_bridge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace ruvector_pg {
namespace {

using ruvector_dag::OperatorType;

PlanNodeSnapshot Node(int32_t parent, OperatorType type, double startup, double total, double rows) {
  PlanNodeSnapshot n;
  n.parent = parent;
  n.plan_node_id = parent + 1;
  n.type = static_cast<uint8_t>(type);
  n.startup_cost = startup;
  n.total_cost = total;
  n.plan_rows = rows;
  n.width = 8;
  return n;
}

// Limit 10 <- HnswScan (ef_search 40) over items_v.
PlanSnapshot IndexPlan(PlanNodeSnapshot* nodes) {
  nodes[0] = Node(-1, OperatorType::kLimit, 12.0, 14.5, 10);
  nodes[0].parameter = 10;
  nodes[1] = Node(0, OperatorType::kHnswScan, 12.0, 260.0, 1000);
  nodes[1].parameter = 40;
  nodes[1].relation = "items";
  nodes[1].index = "items_v";
  PlanSnapshot s;
  s.count = 2;
  s.nodes = nodes;
  return s;
}

// Limit 10 <- VectorDistance (l2, the top-N sort by distance) <- Seq Scan.
PlanSnapshot ExactPlan(PlanNodeSnapshot* nodes) {
  nodes[0] = Node(-1, OperatorType::kLimit, 480.0, 480.1, 10);
  nodes[0].parameter = 10;
  nodes[1] = Node(0, OperatorType::kVectorDistance, 480.0, 482.0, 3000);
  nodes[1].detail = "l2";
  nodes[2] = Node(1, OperatorType::kSeqScan, 0.0, 420.0, 3000);
  nodes[2].relation = "items";
  PlanSnapshot s;
  s.count = 3;
  s.nodes = nodes;
  return s;
}

TEST(VectorPlanBridgeTest, HnswScanKeepsIndexAndEfSearch) {
  PlanNodeSnapshot nodes[2];
  PlanReport report;
  ASSERT_TRUE(AnalyzeSnapshot(IndexPlan(nodes), &report).ok());
  ASSERT_EQ(report.nodes.size(), 2u);
  EXPECT_EQ(report.nodes[1].type, "HnswScan");
  EXPECT_EQ(report.nodes[1].index, "items_v");
  EXPECT_EQ(report.nodes[1].parameter, 40);
  EXPECT_EQ(report.nodes[0].parameter, 10);
  EXPECT_EQ(report.dag.node(1)->type, OperatorType::kHnswScan);
  // The scan does nearly all the work: it is the bottleneck and on the
  // critical path, which runs scan -> Limit.
  EXPECT_DOUBLE_EQ(report.nodes[1].bottleneck_score, 1.0);
  ASSERT_EQ(report.critical_path.nodes.size(), 2u);
  EXPECT_EQ(report.critical_path.nodes[0], 1u);
  EXPECT_TRUE(report.nodes[1].on_critical_path);
}

TEST(VectorPlanBridgeTest, VectorDistanceKeepsMetricAndSitsBetweenScanAndLimit) {
  PlanNodeSnapshot nodes[3];
  PlanReport report;
  ASSERT_TRUE(AnalyzeSnapshot(ExactPlan(nodes), &report).ok());
  ASSERT_EQ(report.nodes.size(), 3u);
  EXPECT_EQ(report.nodes[1].type, "VectorDistance");
  EXPECT_EQ(report.nodes[1].detail, "l2");
  EXPECT_EQ(report.nodes[1].inputs, std::vector<ruvector_dag::NodeId>{2});
  EXPECT_EQ(report.nodes[1].consumers, std::vector<ruvector_dag::NodeId>{0});
  EXPECT_DOUBLE_EQ(report.nodes[1].self_cost, 62.0);  // 482 - 420
  EXPECT_EQ(report.critical_path.nodes, (std::vector<ruvector_dag::NodeId>{2, 1, 0}));
}

TEST(VectorPlanBridgeTest, EveryAttentionMechanismAndMinCutModeCoversVectorNodes) {
  PlanNodeSnapshot a[2], b[3];
  for (const PlanSnapshot& s : {IndexPlan(a), ExactPlan(b)}) {
    ruvector_dag::QueryDag dag;
    ASSERT_TRUE(BuildDag(s, &dag).ok());
    for (ruvector_dag::AttentionMechanism m : ruvector_dag::kAllAttentionMechanisms) {
      std::string name(ruvector_dag::AttentionMechanismName(m));
      ruvector_dag::AttentionScores scores;
      AttentionChoice choice;
      ASSERT_TRUE(ComputeAttentionFor(dag, name, false, &scores, &choice).ok()) << name;
      ASSERT_EQ(scores.weights.size(), static_cast<size_t>(s.count)) << name;
      double sum = 0.0;
      for (double w : scores.weights) {
        EXPECT_TRUE(std::isfinite(w) && w >= 0.0 && w <= 1.0) << name;
        sum += w;
      }
      EXPECT_NEAR(sum, 1.0, 1e-9) << name;
    }
    for (const char* mode : {"bottleneck", "cost", "rows", "time", "unit"}) {
      ruvector_dag::MinCutResult cut;
      ASSERT_TRUE(MinCutWithMode(dag, mode, &cut).ok()) << mode;
      EXPECT_FALSE(cut.cut_nodes.empty()) << mode;
    }
  }
}

}  // namespace
}  // namespace ruvector_pg
