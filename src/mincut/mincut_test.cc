#include "ruvector_dag/mincut.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

NodeId Add(QueryDag& dag, OperatorNode n) { return dag.AddNode(std::move(n)).value(); }
void Edge(QueryDag& dag, NodeId a, NodeId b) { ASSERT_TRUE(dag.AddEdge(a, b).ok()); }

// Does removing `blocked` (per id) disconnect every source from every sink?
bool Blocks(const QueryDag& dag, const std::vector<bool>& blocked) {
  std::vector<bool> seen(dag.id_bound(), false);
  std::deque<NodeId> q;
  for (NodeId s : dag.Sources()) {
    if (!blocked[s]) {
      seen[s] = true;
      q.push_back(s);
    }
  }
  while (!q.empty()) {
    const NodeId u = q.front();
    q.pop_front();
    if (dag.children(u).empty()) return false;  // reached a sink
    for (NodeId v : dag.children(u)) {
      if (!blocked[v] && !seen[v]) {
        seen[v] = true;
        q.push_back(v);
      }
    }
  }
  return true;
}

// Exact minimum vertex cut by enumerating every subset of live nodes.
double BruteForceMinCut(const QueryDag& dag, const std::vector<double>& cap) {
  const std::vector<NodeId> ids = dag.NodeIds();
  double best = std::numeric_limits<double>::infinity();
  for (uint32_t mask = 0; mask < (1u << ids.size()); ++mask) {
    std::vector<bool> blocked(dag.id_bound(), false);
    double sum = 0.0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (mask & (1u << i)) {
        blocked[ids[i]] = true;
        sum += cap[ids[i]];
      }
    }
    if (sum < best && Blocks(dag, blocked)) best = sum;
  }
  return best;
}

// Random DAG with n nodes (edges only from lower to higher index), random
// integer estimated costs/rows in [0, 20], and optionally one removed node
// so that dead ids are exercised.
QueryDag RandomDag(Rng& rng, int n, bool remove_one) {
  QueryDag dag;
  const OperatorType types[] = {OperatorType::kSeqScan, OperatorType::kHashJoin,
                                OperatorType::kSort, OperatorType::kFilter,
                                OperatorType::kAggregate};
  for (int i = 0; i < n; ++i) {
    OperatorNode node = OperatorNode::Make(types[rng.Uniform(5)]);
    node.estimated_cost = static_cast<double>(rng.Uniform(21));
    node.estimated_rows = static_cast<double>(rng.Uniform(21));
    if (rng.Uniform(2) == 0) {
      node.actual_rows = static_cast<double>(rng.Uniform(200));
      node.actual_time_ms = static_cast<double>(rng.Uniform(50));
    }
    dag.AddNode(std::move(node)).value();
  }
  const uint64_t density = 1 + rng.Uniform(4);
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (rng.Uniform(6) < density) EXPECT_TRUE(dag.AddEdge(i, j).ok());
    }
  }
  if (remove_one && n > 1) EXPECT_TRUE(dag.RemoveNode(static_cast<NodeId>(rng.Uniform(n))).ok());
  return dag;
}

// ---------------------------------------------------------------- unit tests

TEST(MinCutTest, EmptyDagIsAClearError) {
  QueryDag dag;
  auto r = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("empty DAG"), std::string::npos);
  EXPECT_FALSE(DynamicMinCut::Build(dag, CapacityMode::kUnit).ok());
}

TEST(MinCutTest, SingleNodeIsTheCut) {
  QueryDag dag;
  Add(dag, OperatorNode::SeqScan("t").WithEstimates(10, 7));
  auto r = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cut_nodes, std::vector<NodeId>{0});
  EXPECT_DOUBLE_EQ(r->cut_value, 7.0);
  EXPECT_DOUBLE_EQ(r->criticality[0], 1.0);  // source and sink at once
  EXPECT_DOUBLE_EQ(r->tension.tension, 0.0);
}

TEST(MinCutTest, NegativeOrNanCapacityNamesTheNode) {
  QueryDag dag;
  Add(dag, OperatorNode::SeqScan("t").WithEstimates(10, 1));
  Add(dag, OperatorNode::Result().WithEstimates(10, -3));
  Edge(dag, 0, 1);
  auto r = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("node 1 (Result)"), std::string::npos) << r.status().message();
  dag.mutable_node(1)->estimated_cost = std::nan("");
  EXPECT_FALSE(MinCutEngine().Analyze(dag, CapacityMode::kCost).ok());
  EXPECT_FALSE(MinCutEngine().Analyze(dag, CapacityMode::kBottleneck).ok());
  std::vector<double> caps = {1.0, std::numeric_limits<double>::infinity()};
  EXPECT_FALSE(MinCutEngine().AnalyzeWithCapacities(dag, caps).ok());
  EXPECT_FALSE(MinCutEngine().AnalyzeWithCapacities(dag, {1.0}).ok());  // wrong size
}

// scan_a(4) -> join(10) <- scan_b(3); join -> agg(2) -> result(9)
TEST(MinCutTest, CostCutOnJoinPlan) {
  QueryDag dag;
  const NodeId a = Add(dag, OperatorNode::SeqScan("a").WithEstimates(100, 4));
  const NodeId b = Add(dag, OperatorNode::SeqScan("b").WithEstimates(100, 3));
  const NodeId j = Add(dag, OperatorNode::HashJoin("a.x=b.x").WithEstimates(50, 10));
  const NodeId g = Add(dag, OperatorNode::Aggregate({"count(*)"}).WithEstimates(1, 2));
  const NodeId r = Add(dag, OperatorNode::Result().WithEstimates(1, 9));
  Edge(dag, a, j);
  Edge(dag, b, j);
  Edge(dag, j, g);
  Edge(dag, g, r);
  auto res = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->cut_nodes, std::vector<NodeId>{g});
  EXPECT_DOUBLE_EQ(res->cut_value, 2.0);
  // Relaxing agg leaves {a,b}=7 (< join 10, result 9): criticality 1 - 2/7.
  EXPECT_NEAR(res->criticality[g], 1.0 - 2.0 / 7.0, 1e-12);
  EXPECT_DOUBLE_EQ(res->criticality[a], 0.0);
  EXPECT_DOUBLE_EQ(res->flow_share[g], 1.0);
  // Unit capacities: the smallest separator; {j}, {g}, {r} all have size
  // one and the closest-to-source one is returned.
  auto unit = MinCutEngine().Analyze(dag, CapacityMode::kUnit);
  ASSERT_TRUE(unit.ok());
  EXPECT_EQ(unit->cut_nodes, std::vector<NodeId>{j});
  EXPECT_DOUBLE_EQ(unit->cut_value, 1.0);
  // Rows: a+b = 200 vs join 50 vs agg 1 -> agg... rows of agg and result are 1: agg first.
  auto rows = MinCutEngine().Analyze(dag, CapacityMode::kRows);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->cut_nodes, std::vector<NodeId>{g});
}

TEST(MinCutTest, SourcesCanBeInTheCut) {
  QueryDag dag;
  const NodeId a = Add(dag, OperatorNode::SeqScan("a").WithEstimates(1, 1));
  const NodeId b = Add(dag, OperatorNode::SeqScan("b").WithEstimates(1, 2));
  const NodeId j = Add(dag, OperatorNode::HashJoin("k").WithEstimates(1, 100));
  Edge(dag, a, j);
  Edge(dag, b, j);
  auto r = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cut_nodes, (std::vector<NodeId>{a, b}));
  EXPECT_DOUBLE_EQ(r->cut_value, 3.0);
}

TEST(MinCutTest, ZeroCapacitiesStillGiveAValidVertexCut) {
  QueryDag dag;
  const NodeId a = Add(dag, OperatorNode::SeqScan("a").WithEstimates(1, 0));
  const NodeId b = Add(dag, OperatorNode::SeqScan("b").WithEstimates(1, 5));
  const NodeId j = Add(dag, OperatorNode::HashJoin("k").WithEstimates(1, 0));
  const NodeId r = Add(dag, OperatorNode::Result().WithEstimates(1, 0));
  Edge(dag, a, j);
  Edge(dag, b, j);
  Edge(dag, j, r);
  auto res = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  ASSERT_TRUE(res.ok());
  EXPECT_DOUBLE_EQ(res->cut_value, 0.0);
  // a is zero (blocks itself), b is not, so the cut continues at the join.
  EXPECT_EQ(res->cut_nodes, (std::vector<NodeId>{j}));
  std::vector<bool> blocked(dag.id_bound(), false);
  for (NodeId id : res->cut_nodes) blocked[id] = true;
  EXPECT_TRUE(Blocks(dag, blocked));
  (void)r;
}

// Hand-made plan whose one operator's measured time grows: tension must rise
// when the bottleneck appears and fall when it is fixed.
QueryDag TimedPlan(double join_ms, double join_actual_rows) {
  // scan a (0) -> hash join (2) <- hash (3) <- scan b (1); join -> agg (4)
  QueryDag dag;
  auto scan_a = OperatorNode::SeqScan("a").WithEstimates(1000, 10).WithActuals(1000, 10);
  auto scan_b = OperatorNode::SeqScan("b").WithEstimates(1000, 10).WithActuals(1000, 10);
  auto hash = OperatorNode::Hash().WithEstimates(1000, 2).WithActuals(1000, 12);
  // Inclusive times: join = own + a + hash.
  auto join = OperatorNode::HashJoin("a.k=b.k").WithEstimates(1000, 10)
                  .WithActuals(join_actual_rows, join_ms + 10 + 12);
  auto agg = OperatorNode::Aggregate({"count(*)"}).WithEstimates(1, 2)
                 .WithActuals(1, join_ms + 10 + 12 + 10);
  Add(dag, scan_a);
  Add(dag, scan_b);
  Add(dag, join);
  Add(dag, hash);
  Add(dag, agg);
  Edge(dag, 0, 2);
  Edge(dag, 3, 2);
  Edge(dag, 1, 3);
  Edge(dag, 2, 4);
  return dag;
}

TEST(TensionTest, RisesWhenABottleneckAppearsAndFallsWhenFixed) {
  MinCutEngine engine;
  auto calm = engine.ComputeTension(TimedPlan(10, 1000));
  auto spike = engine.ComputeTension(TimedPlan(500, 200000));
  auto fixed = engine.ComputeTension(TimedPlan(10, 1000));
  auto half = engine.ComputeTension(TimedPlan(500, 1000));  // slow, estimates right
  ASSERT_TRUE(calm.ok() && spike.ok() && fixed.ok() && half.ok());
  EXPECT_GT(spike->tension, calm->tension + 0.3);
  EXPECT_LT(fixed->tension, spike->tension - 0.3);
  EXPECT_DOUBLE_EQ(fixed->tension, calm->tension);
  // Each ingredient alone raises it.
  EXPECT_GT(half->tension, calm->tension);
  EXPECT_LT(half->tension, spike->tension);
  EXPECT_GT(spike->misestimation, 0.5);
  EXPECT_DOUBLE_EQ(calm->misestimation, 0.0);
  EXPECT_GT(half->concentration, calm->concentration);
  for (const auto* t : {&*calm, &*spike, &*half}) {
    EXPECT_GE(t->tension, 0.0);
    EXPECT_LE(t->tension, 1.0);
  }
  EXPECT_EQ(spike->nodes_with_actuals, 5u);
  // The bottleneck cut is the slow join.
  auto cut = engine.Analyze(TimedPlan(500, 200000));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->cut_nodes, std::vector<NodeId>{2});
  // Own times: a 10, b 10, hash 12-10=2, join 522-10-12=500, agg 532-522=10.
  EXPECT_NEAR(spike->cut_work_share, 500.0 / 532.0, 1e-9);
}

TEST(TensionTest, OptionsAreValidated) {
  MinCutOptions o;
  o.tension_misestimation_weight = 0;
  o.tension_concentration_weight = 0;
  auto e = MinCutEngine::Create(o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("tension"), std::string::npos);
  o = MinCutOptions{};
  o.misestimation_scale = -1;
  EXPECT_FALSE(MinCutEngine::Create(o).ok());
  o = MinCutOptions{};
  o.tension_misestimation_weight = 1.0;
  o.tension_concentration_weight = 0.0;
  auto only_m = MinCutEngine::Create(o);
  ASSERT_TRUE(only_m.ok());
  auto t = only_m->ComputeTension(TimedPlan(500, 1000));
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->tension, 0.0);  // well estimated: no misestimation
}

TEST(TensionTest, NoActualsMeansNoMisestimation) {
  QueryDag dag;
  Add(dag, OperatorNode::SeqScan("a").WithEstimates(100, 90));
  Add(dag, OperatorNode::Filter("x > 1").WithEstimates(10, 5));
  Add(dag, OperatorNode::Result().WithEstimates(10, 5));
  Edge(dag, 0, 1);
  Edge(dag, 1, 2);
  auto t = MinCutEngine().ComputeTension(dag);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->nodes_with_actuals, 0u);
  EXPECT_DOUBLE_EQ(t->misestimation, 0.0);
  // Cut = the scan (90% of cost, fair share 1/3): (0.9 - 1/3) / (2/3) = 0.85.
  EXPECT_NEAR(t->cut_work_share, 0.9, 1e-12);
  EXPECT_NEAR(t->concentration, 0.85, 1e-12);
  EXPECT_NEAR(t->tension, 0.425, 1e-12);
}

// ---------------------------------------------------------- bottlenecks

const Bottleneck* Find(const BottleneckAnalysis& a, NodeId id) {
  for (const auto& b : a.bottlenecks)
    if (b.node == id) return &b;
  return nullptr;
}

TEST(BottleneckTest, SeqScanWithFilterSuggestsIndex) {
  QueryDag dag;
  auto scan = OperatorNode::SeqScan("orders");
  scan.predicate = "(status = 'late'::text)";
  Add(dag, scan.WithEstimates(120, 900));
  Add(dag, OperatorNode::Sort({"o_date"}).WithEstimates(120, 20));
  Add(dag, OperatorNode::Limit(10).WithEstimates(10, 1));
  Edge(dag, 0, 1);
  Edge(dag, 1, 2);
  auto a = MinCutEngine().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(a.ok());
  ASSERT_FALSE(a->bottlenecks.empty());
  EXPECT_EQ(a->bottlenecks[0].node, 0u);
  EXPECT_EQ(a->bottlenecks[0].action, SuggestedAction::kAddIndex);
  EXPECT_NE(a->bottlenecks[0].reason.find("orders"), std::string::npos);
  EXPECT_NEAR(a->bottlenecks[0].work_share, 900.0 / 921.0, 1e-12);
  // The cut has a single operator: replicate it.
  bool replicate = false;
  for (const auto& r : a->redundancy) replicate |= r.kind == RedundancyKind::kReplicate;
  EXPECT_TRUE(replicate);
}

TEST(BottleneckTest, NestedLoopWithMisestimatedOuterSuggestsHashJoin) {
  QueryDag dag;
  Add(dag, OperatorNode::SeqScan("a").WithEstimates(5, 10).WithActuals(50000, 20));
  auto inner = OperatorNode::IndexScan("b_pkey", "b").WithEstimates(1, 0.5).WithActuals(1, 0.01);
  inner.actual_loops = 50000;
  Add(dag, inner);
  Add(dag, OperatorNode::NestedLoopJoin().WithEstimates(5, 1).WithActuals(50000, 900));
  Edge(dag, 0, 2);
  Edge(dag, 1, 2);
  auto a = MinCutEngine().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(a.ok());
  const Bottleneck* nl = Find(*a, 2);
  ASSERT_NE(nl, nullptr);
  EXPECT_EQ(nl->action, SuggestedAction::kUseHashJoin);
  EXPECT_TRUE(nl->in_cut);
  // Own time of the join = 900 - 20 - 0.01*50000 = 380 of 900 in total.
  EXPECT_NEAR(nl->work_share, 380.0 / 900.0, 1e-9);
}

TEST(BottleneckTest, SpillingSortSuggestsWorkMem) {
  QueryDag dag;
  Add(dag, OperatorNode::IndexScan("i", "t").WithEstimates(1e6, 100));
  auto sort = OperatorNode::Sort({"x"}).WithEstimates(1e6, 800);
  sort.width = 64;  // 64 MB > 4 MB work_mem
  Add(dag, sort);
  Add(dag, OperatorNode::Limit(5).WithEstimates(5, 0.1));
  Edge(dag, 0, 1);
  Edge(dag, 1, 2);
  auto a = MinCutEngine().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(a.ok());
  const Bottleneck* s = Find(*a, 1);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->action, SuggestedAction::kRaiseWorkMem);
  // Same sort fits into 1 GB of work_mem: no spill rule.
  MinCutOptions o;
  o.work_mem_bytes = 1024.0 * 1024 * 1024;
  auto big = MinCutEngine::Create(o).value().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(big.ok());
  ASSERT_NE(Find(*big, 1), nullptr);
  EXPECT_NE(Find(*big, 1)->action, SuggestedAction::kRaiseWorkMem);
}

TEST(BottleneckTest, LowEfSearchHnswAndMisestimatedScan) {
  QueryDag dag;
  Add(dag, OperatorNode::HnswScan("emb_idx", 16).WithEstimates(100, 50));
  Add(dag, OperatorNode::Limit(10).WithEstimates(10, 0.1));
  Edge(dag, 0, 1);
  auto a = MinCutEngine().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(a.ok());
  ASSERT_NE(Find(*a, 0), nullptr);
  EXPECT_EQ(Find(*a, 0)->action, SuggestedAction::kRaiseEfSearch);

  QueryDag d2;
  Add(d2, OperatorNode::IndexScan("i", "t").WithEstimates(10, 50).WithActuals(40000, 80));
  Add(d2, OperatorNode::Result().WithEstimates(10, 1).WithActuals(40000, 81));
  Edge(d2, 0, 1);
  auto b = MinCutEngine().AnalyzeBottlenecks(d2);
  ASSERT_TRUE(b.ok());
  ASSERT_NE(Find(*b, 0), nullptr);
  EXPECT_EQ(Find(*b, 0)->action, SuggestedAction::kRunAnalyze);
  EXPECT_GT(Find(*b, 0)->q_error, 3000.0);
}

TEST(BottleneckTest, RedundancyFromPlanStructure) {
  QueryDag dag;
  // cte(0) feeds two consumers; a rescanned Sort(1) under a nested loop.
  const NodeId cte = Add(dag, OperatorNode::SeqScan("big").WithEstimates(100, 50));
  auto rescanned = OperatorNode::Sort({"k"}).WithEstimates(10, 5).WithActuals(10, 1);
  rescanned.actual_loops = 100;
  const NodeId s = Add(dag, rescanned);
  const NodeId nl = Add(dag, OperatorNode::NestedLoopJoin().WithEstimates(10, 5));
  const NodeId ix = Add(dag, OperatorNode::IndexScan("i", "t").WithEstimates(10, 500));
  const NodeId top = Add(dag, OperatorNode::Result().WithEstimates(10, 1));
  Edge(dag, cte, s);
  Edge(dag, cte, nl);
  Edge(dag, s, nl);
  Edge(dag, ix, top);
  Edge(dag, nl, top);
  auto a = MinCutEngine().AnalyzeBottlenecks(dag);
  ASSERT_TRUE(a.ok());
  std::vector<std::pair<RedundancyKind, NodeId>> got;
  for (const auto& r : a->redundancy) got.push_back({r.kind, r.nodes[0]});
  EXPECT_NE(std::find(got.begin(), got.end(), std::make_pair(RedundancyKind::kMaterialize, cte)), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), std::make_pair(RedundancyKind::kMaterialize, s)), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), std::make_pair(RedundancyKind::kPrefetch, ix)), got.end());
  // Sorted by kind then node.
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
}

TEST(CapacityModeTest, NamesRoundTrip) {
  for (auto m : {CapacityMode::kBottleneck, CapacityMode::kCost, CapacityMode::kRows,
                 CapacityMode::kTime, CapacityMode::kUnit}) {
    EXPECT_EQ(CapacityModeFromName(CapacityModeName(m)), m);
  }
  EXPECT_EQ(CapacityModeFromName("default"), CapacityMode::kBottleneck);
  EXPECT_FALSE(CapacityModeFromName("speed").has_value());
}

TEST(CapacityModeTest, TimeUsesExclusiveTimesOnlyWhenComplete) {
  QueryDag dag;
  Add(dag, OperatorNode::SeqScan("a").WithEstimates(10, 3).WithActuals(10, 4));
  auto top = OperatorNode::Aggregate({"sum(x)"}).WithEstimates(1, 7).WithActuals(1, 10);
  top.actual_loops = 2;  // 2 loops x 10 ms inclusive - 4 ms input = 16 ms own
  Add(dag, top);
  Edge(dag, 0, 1);
  auto caps = ComputeCapacities(dag, CapacityMode::kTime);
  ASSERT_TRUE(caps.ok());
  EXPECT_DOUBLE_EQ((*caps)[0], 4.0);
  EXPECT_DOUBLE_EQ((*caps)[1], 16.0);
  dag.mutable_node(1)->actual_time_ms.reset();
  caps = ComputeCapacities(dag, CapacityMode::kTime);
  ASSERT_TRUE(caps.ok());
  EXPECT_DOUBLE_EQ((*caps)[0], 3.0);  // falls back to estimated cost for all
  EXPECT_DOUBLE_EQ((*caps)[1], 7.0);
  // Bottleneck: W / (w + 1e-6 W) with W = 10.
  caps = ComputeCapacities(dag, CapacityMode::kBottleneck);
  ASSERT_TRUE(caps.ok());
  EXPECT_NEAR((*caps)[0], 10.0 / (3.0 + 1e-5), 1e-12);
  EXPECT_NEAR((*caps)[1], 10.0 / (7.0 + 1e-5), 1e-12);
}

// ---------------------------------------------------------- dynamic updates

TEST(DynamicMinCutTest, IncreaseDecreaseAndErrors) {
  QueryDag dag;
  // a(4) -> b(2) -> c(6)
  Add(dag, OperatorNode::SeqScan("a").WithEstimates(1, 4));
  Add(dag, OperatorNode::Filter("p").WithEstimates(1, 2));
  Add(dag, OperatorNode::Result().WithEstimates(1, 6));
  Edge(dag, 0, 1);
  Edge(dag, 1, 2);
  auto net = DynamicMinCut::Build(dag, CapacityMode::kCost);
  ASSERT_TRUE(net.ok());
  EXPECT_DOUBLE_EQ(net->cut_value(), 2.0);
  EXPECT_EQ(net->CutNodes(), std::vector<NodeId>{1});
  ASSERT_TRUE(net->SetCapacity(1, 10).ok());  // saturated node grows: re-augment
  EXPECT_DOUBLE_EQ(net->cut_value(), 4.0);
  EXPECT_EQ(net->CutNodes(), std::vector<NodeId>{0});
  ASSERT_TRUE(net->SetCapacity(2, 9).ok());  // unsaturated grows: O(1)
  EXPECT_EQ(net->stats().fast_path_updates, 1u);
  ASSERT_TRUE(net->SetCapacity(0, 1).ok());  // below flow: cancel + re-augment
  EXPECT_DOUBLE_EQ(net->cut_value(), 1.0);
  EXPECT_GE(net->stats().cancelled_paths, 1u);
  EXPECT_GE(net->stats().local_repairs, 1u);
  EXPECT_EQ(net->CutNodes(), std::vector<NodeId>{0});
  EXPECT_EQ(net->SetCapacity(7, 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(net->SetCapacity(0, -1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net->SetCapacity(0, std::numeric_limits<double>::infinity()).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------- properties

RC_GTEST_PROP(MinCutProperty, CutEqualsMaxFlowEqualsBruteForce, ()) {
  const int n = *rc::gen::inRange(1, 11);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const bool remove_one = *rc::gen::arbitrary<bool>();
  Rng rng(seed);
  QueryDag dag = RandomDag(rng, n, remove_one);
  for (CapacityMode mode : {CapacityMode::kCost, CapacityMode::kRows, CapacityMode::kUnit}) {
    auto caps = ComputeCapacities(dag, mode);
    RC_ASSERT(caps.ok());
    auto r = MinCutEngine().Analyze(dag, mode);
    RC_ASSERT(r.ok());
    auto net = DynamicMinCut::Build(dag, mode);
    RC_ASSERT(net.ok());
    const double brute = BruteForceMinCut(dag, *caps);
    RC_ASSERT(r->cut_value == brute);           // integer capacities: exact
    RC_ASSERT(net->cut_value() == brute);       // max flow value
    RC_ASSERT(net->CutNodes() == r->cut_nodes);
    RC_ASSERT(std::is_sorted(r->cut_nodes.begin(), r->cut_nodes.end()));
    std::vector<bool> blocked(dag.id_bound(), false);
    double sum = 0.0;
    for (NodeId id : r->cut_nodes) {
      RC_ASSERT(dag.Contains(id));
      blocked[id] = true;
      sum += (*caps)[id];
    }
    RC_ASSERT(sum == brute);
    RC_ASSERT(Blocks(dag, blocked));
    // Inclusion-minimal: no single cut node is redundant.
    for (NodeId id : r->cut_nodes) {
      blocked[id] = false;
      RC_ASSERT(!Blocks(dag, blocked));
      blocked[id] = true;
    }
    for (NodeId id = 0; id < dag.id_bound(); ++id) {
      RC_ASSERT(r->criticality[id] >= 0.0 && r->criticality[id] <= 1.0);
      RC_ASSERT(r->flow_share[id] >= 0.0 && r->flow_share[id] <= 1.0 + 1e-12);
      const bool in_cut = std::binary_search(r->cut_nodes.begin(), r->cut_nodes.end(), id);
      if (!in_cut) RC_ASSERT(r->criticality[id] == 0.0);
    }
    RC_ASSERT(r->tension.tension >= 0.0 && r->tension.tension <= 1.0);
  }
}

RC_GTEST_PROP(MinCutProperty, CriticalityMatchesRelaxedBruteForce, ()) {
  const int n = *rc::gen::inRange(1, 9);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  QueryDag dag = RandomDag(rng, n, false);
  auto caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  auto r = MinCutEngine().Analyze(dag, CapacityMode::kCost);
  RC_ASSERT(r.ok());
  for (NodeId id : r->cut_nodes) {
    auto relaxed = caps;
    relaxed[id] = 1e9;  // "infinite" for brute force (finite caps sum < 1e9)
    const double fv = BruteForceMinCut(dag, relaxed);
    const double expected = fv >= 1e9 ? 1.0 : (fv > 0 ? 1.0 - r->cut_value / fv : 0.0);
    RC_ASSERT(std::abs(r->criticality[id] - expected) < 1e-12);
  }
}

RC_GTEST_PROP(MinCutProperty, TensionStaysInUnitInterval, ()) {
  const int n = *rc::gen::inRange(1, 30);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  QueryDag dag = RandomDag(rng, n, *rc::gen::arbitrary<bool>());
  auto t = MinCutEngine().ComputeTension(dag);
  RC_ASSERT(t.ok());
  RC_ASSERT(t->tension >= 0.0 && t->tension <= 1.0);
  RC_ASSERT(t->misestimation >= 0.0 && t->misestimation < 1.0);
  RC_ASSERT(t->concentration >= 0.0 && t->concentration <= 1.0);
}

RC_GTEST_PROP(MinCutProperty, IncrementalEqualsFullRecomputation, ()) {
  const int n = *rc::gen::inRange(1, 40);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  QueryDag dag = RandomDag(rng, n, *rc::gen::arbitrary<bool>());
  auto caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  auto net = DynamicMinCut::Build(dag, caps);
  RC_ASSERT(net.ok());
  const std::vector<NodeId> ids = dag.NodeIds();
  const int updates = *rc::gen::inRange(1, 60);
  for (int u = 0; u < updates; ++u) {
    const NodeId id = ids[rng.Uniform(ids.size())];
    // Mix of increases, decreases, zeroing and no-ops.
    const uint64_t kind = rng.Uniform(4);
    double c = kind == 0 ? 0.0 : kind == 1 ? caps[id] : static_cast<double>(rng.Uniform(30));
    caps[id] = c;
    RC_ASSERT(net->SetCapacity(id, c).ok());
    auto full = DynamicMinCut::Build(dag, caps);
    RC_ASSERT(full.ok());
    RC_ASSERT(net->cut_value() == full->cut_value());
    RC_ASSERT(net->CutNodes() == full->CutNodes());
    if (n <= 10) RC_ASSERT(net->cut_value() == BruteForceMinCut(dag, caps));
    // Flow on each operator within its capacity.
    for (NodeId v : ids) RC_ASSERT(net->flow(v) <= net->capacity(v) + 1e-9);
  }
  const double before = net->cut_value();
  const std::vector<NodeId> cut_before = net->CutNodes();
  net->RecomputeFromScratch();
  RC_ASSERT(net->cut_value() == before);
  RC_ASSERT(net->CutNodes() == cut_before);
}

RC_GTEST_PROP(MinCutProperty, IncrementalWithFractionalCapacities, ()) {
  const int n = *rc::gen::inRange(2, 30);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  QueryDag dag = RandomDag(rng, n, false);
  std::vector<double> caps(dag.id_bound());
  for (auto& c : caps) c = rng.UniformDouble() * 100.0;
  auto net = DynamicMinCut::Build(dag, caps);
  RC_ASSERT(net.ok());
  for (int u = 0; u < 30; ++u) {
    const NodeId id = static_cast<NodeId>(rng.Uniform(caps.size()));
    caps[id] = rng.UniformDouble() * 100.0;
    RC_ASSERT(net->SetCapacity(id, caps[id]).ok());
  }
  auto full = DynamicMinCut::Build(dag, caps);
  RC_ASSERT(full.ok());
  RC_ASSERT(std::abs(net->cut_value() - full->cut_value()) <= 1e-9 * (1.0 + full->cut_value()));
  RC_ASSERT(net->CutNodes() == full->CutNodes());
}

}  // namespace
}  // namespace ruvector_dag

namespace ruvector_dag {
namespace {

// Larger DAGs: local repairs run out of their visit budget and fall back to
// Dinic from the partially repaired flow; results must still be exact.
RC_GTEST_PROP(MinCutProperty, IncrementalOnLargerDags, ()) {
  const int n = *rc::gen::inRange(50, 300);
  Rng rng(*rc::gen::arbitrary<uint64_t>());
  QueryDag dag = RandomDag(rng, n, false);
  auto caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  auto net = DynamicMinCut::Build(dag, caps);
  RC_ASSERT(net.ok());
  for (int u = 0; u < 30; ++u) {
    const NodeId id = static_cast<NodeId>(rng.Uniform(caps.size()));
    caps[id] = static_cast<double>(rng.Uniform(40));
    RC_ASSERT(net->SetCapacity(id, caps[id]).ok());
    if (rng.Uniform(2) == 0) {
      auto full = DynamicMinCut::Build(dag, caps);
      RC_ASSERT(net->cut_value() == full->cut_value());
      RC_ASSERT(net->CutNodes() == full->CutNodes());
    }
  }
  auto full = DynamicMinCut::Build(dag, caps);
  RC_ASSERT(net->cut_value() == full->cut_value());
  RC_ASSERT(net->CutNodes() == full->CutNodes());
}

TEST(DynamicMinCutTest, LocalRepairsAndFallbacksAreExercised) {
  Rng rng(99);
  DynamicMinCutStats total;
  for (int trial = 0; trial < 20; ++trial) {
    QueryDag dag = RandomDag(rng, 250, false);
    auto caps = ComputeCapacities(dag, CapacityMode::kCost).value();
    auto net = DynamicMinCut::Build(dag, caps).value();
    for (int u = 0; u < 40; ++u) {
      const std::vector<NodeId>& cut = net.CutNodes();
      const NodeId id = cut[rng.Uniform(cut.size())];
      caps[id] = static_cast<double>(rng.Uniform(40));
      ASSERT_TRUE(net.SetCapacity(id, caps[id]).ok());
    }
    auto full = DynamicMinCut::Build(dag, caps).value();
    EXPECT_EQ(net.cut_value(), full.cut_value());
    EXPECT_EQ(net.CutNodes(), full.CutNodes());
    total.local_repairs += net.stats().local_repairs;
    total.local_fallbacks += net.stats().local_fallbacks;
  }
  EXPECT_GT(total.local_repairs, 0u);
  EXPECT_GT(total.local_fallbacks, 0u);
}

}  // namespace
}  // namespace ruvector_dag
