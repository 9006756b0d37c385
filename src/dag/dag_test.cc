#include "ruvector_dag/dag.h"

#include <gtest/gtest.h>

namespace ruvector_dag {
namespace {

// scan(0) -> filter(1) -> result(2)
QueryDag Chain() {
  QueryDag dag;
  EXPECT_EQ(dag.AddNode(OperatorNode::SeqScan("users").WithEstimates(100, 5)).value(), 0u);
  EXPECT_EQ(dag.AddNode(OperatorNode::Filter("age > 18").WithEstimates(50, 1)).value(), 1u);
  EXPECT_EQ(dag.AddNode(OperatorNode::Result().WithEstimates(50, 0.5)).value(), 2u);
  EXPECT_TRUE(dag.AddEdge(0, 1).ok());
  EXPECT_TRUE(dag.AddEdge(1, 2).ok());
  return dag;
}

TEST(QueryDagTest, SequentialIdsNeverReused) {
  QueryDag dag = Chain();
  ASSERT_TRUE(dag.RemoveNode(2).ok());
  EXPECT_EQ(dag.node_count(), 2u);
  EXPECT_EQ(dag.edge_count(), 1u);
  EXPECT_EQ(dag.AddNode(OperatorNode::Result()).value(), 3u);
  EXPECT_EQ(dag.node(2), nullptr);
  EXPECT_TRUE(dag.Validate().ok());
}

TEST(QueryDagTest, RejectsBadEdgesWithNamedErrors) {
  QueryDag dag = Chain();
  Status s = dag.AddEdge(2, 0);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "edge 2->0 would create a cycle");
  s = dag.AddEdge(1, 1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("edge 1->1"), std::string::npos);
  s = dag.AddEdge(0, 1);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  s = dag.AddEdge(0, 7);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("unknown node 7"), std::string::npos);
  EXPECT_EQ(dag.edge_count(), 2u);
}

TEST(QueryDagTest, SourcesSinksDepth) {
  QueryDag dag = Chain();
  const NodeId other = dag.AddNode(OperatorNode::SeqScan("orders")).value();
  ASSERT_TRUE(dag.AddEdge(other, 2).ok());
  EXPECT_EQ(dag.Sources(), (std::vector<NodeId>{0, 3}));
  EXPECT_EQ(dag.Sinks(), (std::vector<NodeId>{2}));
  EXPECT_EQ(dag.Depth(0).value(), 2u);
  EXPECT_EQ(dag.Depth(3).value(), 1u);
  EXPECT_EQ(dag.Depth(2).value(), 0u);
  EXPECT_EQ(dag.MaxDepth(), 2u);
  EXPECT_EQ(dag.Ancestors(2).value(), (std::vector<NodeId>{0, 1, 3}));
  EXPECT_EQ(dag.Descendants(0).value(), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(dag.parents(2), (std::vector<NodeId>{1, 3}));
  EXPECT_FALSE(dag.Depth(9).ok());
}

TEST(QueryDagTest, TopologicalOrderTakesSmallestReadyId) {
  QueryDag dag;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(dag.AddNode(OperatorNode::Result()).ok());
  ASSERT_TRUE(dag.AddEdge(4, 0).ok());
  ASSERT_TRUE(dag.AddEdge(3, 1).ok());
  ASSERT_TRUE(dag.AddEdge(2, 0).ok());
  EXPECT_EQ(dag.TopologicalSort(), (std::vector<NodeId>{2, 3, 1, 4, 0}));
}

TEST(QueryDagTest, CriticalPathPicksLargestCost) {
  QueryDag dag = Chain();
  const NodeId big = dag.AddNode(OperatorNode::SeqScan("big").WithEstimates(1, 40)).value();
  ASSERT_TRUE(dag.AddEdge(big, 2).ok());
  const CriticalPath path = dag.ComputeCriticalPath().value();
  EXPECT_EQ(path.nodes, (std::vector<NodeId>{3, 2}));
  EXPECT_DOUBLE_EQ(path.cost, 40.5);
  QueryDag empty;
  EXPECT_EQ(empty.ComputeCriticalPath().status().code(), StatusCode::kFailedPrecondition);
}

TEST(QueryDagTest, TraversalsFollowDataFlow) {
  QueryDag dag;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(dag.AddNode(OperatorNode::Result()).ok());
  ASSERT_TRUE(dag.AddEdge(0, 1).ok());
  ASSERT_TRUE(dag.AddEdge(0, 2).ok());
  ASSERT_TRUE(dag.AddEdge(1, 3).ok());
  ASSERT_TRUE(dag.AddEdge(2, 3).ok());
  EXPECT_EQ(dag.DepthFirst(0).value(), (std::vector<NodeId>{0, 1, 3, 2}));
  EXPECT_EQ(dag.BreadthFirst(0).value(), (std::vector<NodeId>{0, 1, 2, 3}));
}

TEST(QueryDagTest, HashesSeeShapeAndContent) {
  QueryDag a = Chain();
  QueryDag b = Chain();
  EXPECT_EQ(a.ShapeHash(), b.ShapeHash());
  EXPECT_EQ(a.ContentHash(), b.ContentHash());
  EXPECT_TRUE(a == b);
  b.mutable_node(0)->estimated_cost = 6;
  EXPECT_EQ(a.ShapeHash(), b.ShapeHash());
  EXPECT_NE(a.ContentHash(), b.ContentHash());
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace ruvector_dag
