// The in-tree fast path must return exactly what Dinic returns.
#include "mincut/internal/tree_min_cut.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag {
namespace {

using mincut_internal::IsInTree;
using mincut_internal::ScopedForceDinic;
using mincut_internal::TreeMinCut;

// Capacity-like value: small integers (many ties and zeros) or reals.
double RandomValue(Rng& rng, int style) {
  switch (style) {
    case 0: return static_cast<double>(rng.Uniform(4));             // 0..3
    case 1: return rng.Uniform(3) == 0 ? 0.0 : static_cast<double>(rng.Uniform(21));
    case 2: return rng.UniformDouble() * 100.0;
    default: return rng.Uniform(4) == 0 ? 0.0 : std::ldexp(rng.UniformDouble(), -30 + static_cast<int>(rng.Uniform(60)));
  }
}

// Random in-tree with n live nodes (every node has at most one consumer, one
// top), ids shuffled, optionally with dead ids interleaved.
QueryDag RandomInTree(Rng& rng, int n) {
  QueryDag dag;
  const OperatorType types[] = {OperatorType::kSeqScan, OperatorType::kHashJoin,
                                OperatorType::kSort, OperatorType::kNestedLoop,
                                OperatorType::kAggregate, OperatorType::kIndexScan};
  const int style = static_cast<int>(rng.Uniform(4));
  const uint64_t actuals = rng.Uniform(3);  // 0 none, 1 all, 2 some
  std::vector<NodeId> ids;
  std::vector<NodeId> dead;
  for (int i = 0; i < n; ++i) {
    if (rng.Uniform(8) == 0) dead.push_back(dag.AddNode(OperatorNode::Make(OperatorType::kResult)).value());
    OperatorNode node = OperatorNode::Make(types[rng.Uniform(6)]);
    node.estimated_cost = RandomValue(rng, style);
    node.estimated_rows = RandomValue(rng, style);
    if (actuals == 1 || (actuals == 2 && rng.Uniform(2) == 0)) {
      node.actual_rows = static_cast<double>(rng.Uniform(300));
      node.actual_time_ms = RandomValue(rng, style);
      if (rng.Uniform(4) == 0) node.actual_loops = static_cast<double>(1 + rng.Uniform(20));
    }
    ids.push_back(dag.AddNode(std::move(node)).value());
  }
  for (NodeId d : dead) EXPECT_TRUE(dag.RemoveNode(d).ok());
  // Shuffle which id is where in the tree.
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.Uniform(i)]);
  const bool deep = rng.Uniform(2) == 0;
  for (size_t i = 1; i < ids.size(); ++i) {
    // Consumer among the nodes placed before: anywhere (bushy) or recent (deep).
    const size_t j = deep ? i - 1 - rng.Uniform(std::min<size_t>(i, 3)) : rng.Uniform(i);
    EXPECT_TRUE(dag.AddEdge(ids[i], ids[j]).ok());
  }
  return dag;
}

void AssertSameTension(const TensionReport& a, const TensionReport& b) {
  RC_ASSERT(a.misestimation == b.misestimation);
  RC_ASSERT(a.concentration == b.concentration);
  RC_ASSERT(a.cut_work_share == b.cut_work_share);
  RC_ASSERT(a.nodes_with_actuals == b.nodes_with_actuals);
  RC_ASSERT(a.tension == b.tension);
}

// The fields TreeMinCut fills.
void AssertSameCut(const MinCutResult& fast, const MinCutResult& dinic) {
  RC_ASSERT(fast.cut_nodes == dinic.cut_nodes);
  RC_ASSERT(fast.cut_value == dinic.cut_value);
  RC_ASSERT(fast.capacity == dinic.capacity);
  RC_ASSERT(fast.flow == dinic.flow);
  RC_ASSERT(fast.flow_share == dinic.flow_share);
  RC_ASSERT(fast.criticality == dinic.criticality);
}

void AssertSame(const MinCutResult& fast, const MinCutResult& dinic) {
  RC_ASSERT(fast.mode == dinic.mode);
  RC_ASSERT(fast.custom_capacities == dinic.custom_capacities);
  RC_ASSERT(fast.cut_nodes == dinic.cut_nodes);
  RC_ASSERT(fast.cut_value == dinic.cut_value);
  RC_ASSERT(fast.capacity == dinic.capacity);
  RC_ASSERT(fast.flow == dinic.flow);
  RC_ASSERT(fast.flow_share == dinic.flow_share);
  RC_ASSERT(fast.criticality == dinic.criticality);
  AssertSameTension(fast.tension, dinic.tension);
}

template <typename T>
T Unwrap(Result<T> r) {
  RC_ASSERT(r.ok());
  return std::move(r).value();
}

RC_GTEST_PROP(TreeMinCutTest, FastPathEqualsDinicOnRandomInTrees, ()) {
  const int n = *rc::gen::inRange(1, 201);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  const QueryDag dag = RandomInTree(rng, n);
  RC_ASSERT(IsInTree(dag));
  // Sum of the sources' path lengths (operators) to the top.
  const std::vector<uint32_t> depths = dag.Depths();
  double steps = 0.0;
  for (NodeId id : dag.Sources()) steps += depths[id] + 1.0;
  MinCutOptions options;
  options.compute_criticality = *rc::gen::arbitrary<bool>();
  const MinCutEngine engine = MinCutEngine::Create(options).value();

  const CapacityMode modes[] = {CapacityMode::kBottleneck, CapacityMode::kCost,
                                CapacityMode::kRows, CapacityMode::kTime, CapacityMode::kUnit};
  for (CapacityMode mode : modes) {
    Result<MinCutResult> fast = engine.Analyze(dag, mode);
    Result<MinCutResult> dinic = [&] {
      ScopedForceDinic force;
      return engine.Analyze(dag, mode);
    }();
    RC_ASSERT(fast.ok() == dinic.ok());
    if (!fast.ok()) {
      RC_ASSERT(fast.status().ToString() == dinic.status().ToString());
      continue;
    }
    AssertSame(*fast, *dinic);
    // The internal entry point takes the fast path whenever the replay is
    // cheap (always without criticality below its step budget).
    std::vector<double> caps = Unwrap(ComputeCapacities(dag, mode));
    MinCutResult direct;
    const bool took = TreeMinCut(dag, caps, options.compute_criticality, &direct);
    RC_CLASSIFY(took, "fast path");
    if (!options.compute_criticality && steps <= 32.0 * n + 1024.0) RC_ASSERT(took);
    if (took) {
      AssertSameCut(direct, *dinic);
    }
  }

  // Custom capacities (dead ids hold garbage that both paths must ignore).
  std::vector<double> caps(dag.id_bound(), std::numeric_limits<double>::quiet_NaN());
  const int style = static_cast<int>(rng.Uniform(4));
  for (NodeId id : dag.NodeIds()) caps[id] = RandomValue(rng, style);
  const MinCutResult fast = Unwrap(engine.AnalyzeWithCapacities(dag, caps));
  MinCutResult dinic;
  {
    ScopedForceDinic force;
    dinic = Unwrap(engine.AnalyzeWithCapacities(dag, caps));
  }
  AssertSame(fast, dinic);

  // Tension and the bottleneck analysis built on the cut.
  const TensionReport t_fast = Unwrap(engine.ComputeTension(dag));
  BottleneckAnalysis b_fast = Unwrap(engine.AnalyzeBottlenecks(dag, modes[rng.Uniform(5)]));
  TensionReport t_dinic;
  BottleneckAnalysis b_dinic;
  {
    ScopedForceDinic force;
    t_dinic = Unwrap(engine.ComputeTension(dag));
  }
  AssertSameTension(t_fast, t_dinic);
  {
    ScopedForceDinic force;
    // Same mode as above: recompute it from the fast result.
    b_dinic = Unwrap(engine.AnalyzeBottlenecks(dag, b_fast.cut.mode));
  }
  AssertSame(b_fast.cut, b_dinic.cut);
  RC_ASSERT(b_fast.bottlenecks.size() == b_dinic.bottlenecks.size());
  for (size_t i = 0; i < b_fast.bottlenecks.size(); ++i) {
    const Bottleneck& x = b_fast.bottlenecks[i];
    const Bottleneck& y = b_dinic.bottlenecks[i];
    RC_ASSERT(x.node == y.node);
    RC_ASSERT(x.criticality == y.criticality);
    RC_ASSERT(x.work_share == y.work_share);
    RC_ASSERT(x.in_cut == y.in_cut);
    RC_ASSERT(x.action == y.action);
    RC_ASSERT(x.reason == y.reason);
  }
  RC_ASSERT(b_fast.redundancy.size() == b_dinic.redundancy.size());
  for (size_t i = 0; i < b_fast.redundancy.size(); ++i) {
    RC_ASSERT(b_fast.redundancy[i].kind == b_dinic.redundancy[i].kind);
    RC_ASSERT(b_fast.redundancy[i].nodes == b_dinic.redundancy[i].nodes);
    RC_ASSERT(b_fast.redundancy[i].reason == b_dinic.redundancy[i].reason);
  }
}

// Invalid custom capacities on an in-tree: the fast path declines and the
// error is Dinic's.
TEST(TreeMinCutTest, InvalidCapacitiesReportTheSameError) {
  QueryDag dag;
  const NodeId scan = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  const NodeId sort = dag.AddNode(OperatorNode::Make(OperatorType::kSort)).value();
  ASSERT_TRUE(dag.AddEdge(scan, sort).ok());
  MinCutResult unused;
  EXPECT_FALSE(TreeMinCut(dag, {1.0, -2.0}, true, &unused));
  EXPECT_FALSE(TreeMinCut(dag, {1.0}, true, &unused));
  const MinCutEngine engine;
  Result<MinCutResult> r = engine.AnalyzeWithCapacities(dag, {1.0, -2.0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().ToString().find("node 1"), std::string::npos);
}

// Not in-trees: a shared input, two tops. The fast path declines.
TEST(TreeMinCutTest, DeclinesOnNonTrees) {
  QueryDag dag;
  const NodeId a = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  const NodeId b = dag.AddNode(OperatorNode::Make(OperatorType::kSort)).value();
  const NodeId c = dag.AddNode(OperatorNode::Make(OperatorType::kSort)).value();
  ASSERT_TRUE(dag.AddEdge(a, b).ok());
  ASSERT_TRUE(dag.AddEdge(a, c).ok());  // a feeds two consumers; b and c are tops
  EXPECT_FALSE(IsInTree(dag));
  MinCutResult unused;
  EXPECT_FALSE(TreeMinCut(dag, {1.0, 1.0, 1.0}, true, &unused));
  const NodeId d = dag.AddNode(OperatorNode::Make(OperatorType::kHashJoin)).value();
  ASSERT_TRUE(dag.AddEdge(b, d).ok());
  ASSERT_TRUE(dag.AddEdge(c, d).ok());  // one top, but a diamond
  EXPECT_FALSE(IsInTree(dag));
  EXPECT_FALSE(TreeMinCut(dag, {1.0, 1.0, 1.0, 1.0}, true, &unused));
}

// A hand-checked tie: top (cap 2) over two sources (cap 1 each). The cut
// closest to the sources is the two sources; the top is not in it.
TEST(TreeMinCutTest, TieGoesToTheInputs) {
  QueryDag dag;
  const NodeId s1 = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  const NodeId s2 = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  const NodeId top = dag.AddNode(OperatorNode::Make(OperatorType::kHashJoin)).value();
  ASSERT_TRUE(dag.AddEdge(s1, top).ok());
  ASSERT_TRUE(dag.AddEdge(s2, top).ok());
  MinCutResult r;
  ASSERT_TRUE(TreeMinCut(dag, {1.0, 1.0, 2.0}, true, &r));
  EXPECT_EQ(r.cut_nodes, (std::vector<NodeId>{s1, s2}));
  EXPECT_EQ(r.cut_value, 2.0);
  EXPECT_EQ(r.flow, (std::vector<double>{1.0, 1.0, 2.0}));
  // Relaxing s1 lets 1 more unit through? No: the top caps the flow at 2.
  EXPECT_EQ(r.criticality, (std::vector<double>{0.0, 0.0, 0.0}));
  // Zero-capacity top over zero-capacity sources: the sources are the cut
  // (closest to the sources), the top is not reachable.
  ASSERT_TRUE(TreeMinCut(dag, {0.0, 0.0, 0.0}, true, &r));
  EXPECT_EQ(r.cut_nodes, (std::vector<NodeId>{s1, s2}));
  EXPECT_EQ(r.cut_value, 0.0);
}

// A caterpillar (a chain of joins, a scan into each) has quadratic path
// work: the fast path declines and the engine's answer is Dinic's.
TEST(TreeMinCutTest, DeclinesWhenThePathWorkIsLarge) {
  QueryDag dag;
  NodeId spine = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  for (int i = 0; i < 300; ++i) {
    const NodeId scan = dag.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
    const NodeId join = dag.AddNode(OperatorNode::Make(OperatorType::kHashJoin)).value();
    ASSERT_TRUE(dag.AddEdge(spine, join).ok());
    ASSERT_TRUE(dag.AddEdge(scan, join).ok());
    spine = join;
  }
  ASSERT_TRUE(IsInTree(dag));
  std::vector<double> caps(dag.id_bound(), 1.0);
  MinCutResult unused;
  EXPECT_FALSE(TreeMinCut(dag, caps, false, &unused));
  const MinCutEngine engine;
  Result<MinCutResult> fast = engine.AnalyzeWithCapacities(dag, caps);
  Result<MinCutResult> dinic = [&] {
    ScopedForceDinic force;
    return engine.AnalyzeWithCapacities(dag, caps);
  }();
  ASSERT_TRUE(fast.ok() && dinic.ok());
  EXPECT_EQ(fast->cut_nodes, dinic->cut_nodes);
  EXPECT_EQ(fast->flow, dinic->flow);
  // A small caterpillar stays on the fast path.
  QueryDag small;
  NodeId top = small.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
  for (int i = 0; i < 5; ++i) {
    const NodeId scan = small.AddNode(OperatorNode::Make(OperatorType::kSeqScan)).value();
    const NodeId join = small.AddNode(OperatorNode::Make(OperatorType::kHashJoin)).value();
    ASSERT_TRUE(small.AddEdge(top, join).ok());
    ASSERT_TRUE(small.AddEdge(scan, join).ok());
    top = join;
  }
  EXPECT_TRUE(TreeMinCut(small, std::vector<double>(small.id_bound(), 1.0), true, &unused));
}

}  // namespace
}  // namespace ruvector_dag
