#include "ruvector_dag/attention.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attention/internal/test_dags.h"

namespace ruvector_dag {
namespace {

using attention_internal::CostStyle;
using attention_internal::RandomAttentionDag;

std::unique_ptr<Attention> Make(AttentionMechanism m, const AttentionParams& params = {},
                                const AttentionClock* clock = nullptr) {
  auto made = MakeAttention(m, params, clock);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return std::move(made).value();
}

// Checks the contract every mechanism keeps; returns a failure message or "".
std::string CheckScores(const QueryDag& dag, const AttentionScores& s) {
  if (s.nodes != dag.NodeIds()) return "nodes are not the live ids in ascending order";
  if (s.weights.size() != s.nodes.size()) return "one weight per node expected";
  double sum = 0.0;
  for (size_t i = 0; i < s.weights.size(); ++i) {
    const double w = s.weights[i];
    if (!(w >= 0.0 && w <= 1.0)) return "weight of node " + std::to_string(s.nodes[i]) + " = " + std::to_string(w);
    sum += w;
  }
  if (std::abs(sum - 1.0) > 1e-9) return "weights sum to " + std::to_string(sum);
  for (const auto& m : s.metadata) {
    if (!std::isfinite(m.value)) return "metadata " + std::string(m.name) + " is not finite";
  }
  return "";
}

std::string CheckEdgeWeights(const QueryDag& dag, const AttentionScores& s) {
  if (s.edge_weights.size() != dag.edge_count()) return "one edge weight per edge expected";
  std::vector<double> per_consumer(dag.id_bound(), 0.0);
  for (size_t k = 0; k < s.edge_weights.size(); ++k) {
    const EdgeWeight& e = s.edge_weights[k];
    if (!dag.HasEdge(e.from, e.to)) return "edge weight for a missing edge";
    if (!(e.weight >= 0.0 && e.weight <= 1.0)) return "edge weight outside [0,1]";
    if (k > 0) {
      const EdgeWeight& p = s.edge_weights[k - 1];
      if (!(p.from < e.from || (p.from == e.from && p.to < e.to))) return "edge weights not sorted";
    }
    per_consumer[e.to] += e.weight;
  }
  for (NodeId id : dag.NodeIds()) {
    if (!dag.parents(id).empty() && std::abs(per_consumer[id] - 1.0) > 1e-9) {
      return "inputs of node " + std::to_string(id) + " sum to " + std::to_string(per_consumer[id]);
    }
  }
  return "";
}

// --- names and parameters -----------------------------------------------------

TEST(AttentionNames, RoundTrip) {
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    EXPECT_EQ(AttentionMechanismFromName(AttentionMechanismName(m)), m);
  }
  EXPECT_EQ(AttentionMechanismFromName("CriticalPath"), AttentionMechanism::kCriticalPath);
  EXPECT_EQ(AttentionMechanismFromName("TemporalBTSP"), AttentionMechanism::kTemporalBtsp);
  EXPECT_FALSE(AttentionMechanismFromName("nope").has_value());
  EXPECT_EQ(PolicyReasonName(PolicyReason::kStickyTension), "sticky_tension");
}

TEST(AttentionParams, ValidationNamesTheField) {
  EXPECT_TRUE(ValidateAttentionParams({}).ok());
  AttentionParams p;
  p.topological.decay = 0.0;
  Status s = ValidateAttentionParams(p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("topological.decay"), std::string::npos) << s.message();
  p = {};
  p.hierarchical_lorentz.max_radius = 50;
  EXPECT_NE(ValidateAttentionParams(p).message().find("max_radius"), std::string::npos);
  p = {};
  p.temporal_btsp.plateau_ratio = std::nan("");
  EXPECT_FALSE(ValidateAttentionParams(p).ok());
  EXPECT_FALSE(MakeAttention(AttentionMechanism::kTemporalBtsp, p).ok());
}

TEST(AttentionParams, HashCoversOnlyTheMechanismsBlock) {
  AttentionParams a, b;
  b.causal_cone.discount = 0.5;
  EXPECT_EQ(HashAttentionParams(a, AttentionMechanism::kTopological),
            HashAttentionParams(b, AttentionMechanism::kTopological));
  EXPECT_NE(HashAttentionParams(a, AttentionMechanism::kCausalCone),
            HashAttentionParams(b, AttentionMechanism::kCausalCone));
  EXPECT_NE(HashAttentionParams(a, AttentionMechanism::kTopological),
            HashAttentionParams(a, AttentionMechanism::kCausalCone));
}

// --- PreparedDag ----------------------------------------------------------------

RC_GTEST_PROP(PreparedDagProperty, MatchesTheDag, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 120);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const QueryDag dag = RandomAttentionDag(n, seed);
  auto plan = PreparedDag::Build(dag);
  RC_ASSERT(plan.ok());
  RC_ASSERT(plan->size() == dag.node_count());
  RC_ASSERT(plan->ids() == dag.NodeIds());
  RC_ASSERT(plan->edge_count() == dag.edge_count());
  std::vector<size_t> position(plan->size());
  for (size_t k = 0; k < plan->topo_order().size(); ++k) position[plan->topo_order()[k]] = k;
  RC_ASSERT(plan->topo_order().size() == plan->size());
  const auto depths = dag.Depths();
  for (size_t i = 0; i < plan->size(); ++i) {
    const NodeId id = plan->ids()[i];
    RC_ASSERT(plan->IndexOf(id) == static_cast<int32_t>(i));
    RC_ASSERT(plan->height()[i] == depths[id]);
    for (uint32_t e = plan->child_offset()[i]; e < plan->child_offset()[i + 1]; ++e) {
      const uint32_t c = plan->child_index()[e];
      RC_ASSERT(dag.HasEdge(id, plan->ids()[c]));
      RC_ASSERT(position[i] < position[c]);
      RC_ASSERT(plan->level()[c] > plan->level()[i]);
    }
  }
  RC_ASSERT(plan->max_height() == dag.MaxDepth());
  RC_ASSERT(plan->source_count() == dag.Sources().size());
  RC_ASSERT(plan->sink_count() == dag.Sinks().size());
}

TEST(PreparedDag, EmptyDagIsAClearError) {
  QueryDag dag;
  auto plan = PreparedDag::Build(dag);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(plan.status().message().find("empty"), std::string::npos);
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    auto r = Make(m)->Forward(dag);
    ASSERT_FALSE(r.ok()) << AttentionMechanismName(m);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  }
}

TEST(PreparedDag, ResetReusesAndRebuilds) {
  const QueryDag a = RandomAttentionDag(50, 1);
  const QueryDag b = RandomAttentionDag(20, 2);
  PreparedDag plan;
  ASSERT_TRUE(plan.Reset(a).ok());
  EXPECT_EQ(plan.size(), a.node_count());
  ASSERT_TRUE(plan.Reset(b).ok());
  EXPECT_EQ(plan.ids(), b.NodeIds());
  EXPECT_EQ(plan.IndexOf(b.id_bound() + 5), -1);
}

// --- the contract, for all seven --------------------------------------------------

RC_GTEST_PROP(AttentionProperty, WeightsAreValidForAllSeven, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 150);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const auto style = *rc::gen::element(CostStyle::kPlain, CostStyle::kNasty, CostStyle::kAllZero);
  const QueryDag dag = RandomAttentionDag(n, seed, style);
  RC_PRE(!dag.empty());
  ManualAttentionClock clock(1000);
  AttentionParams params;
  params.edge_weights = true;
  auto plan = PreparedDag::Build(dag);
  RC_ASSERT(plan.ok());
  const ExecutionFeedback feedback = FeedbackFromActuals(dag);
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    auto attention = Make(m, params, &clock);
    for (const ExecutionFeedback* fb : {static_cast<const ExecutionFeedback*>(nullptr), &feedback}) {
      AttentionScores s;
      const Status status = attention->Compute(*plan, fb, &s);
      if (!status.ok()) RC_FAIL(std::string(AttentionMechanismName(m)) + ": " + status.ToString());
      const std::string problem = CheckScores(dag, s);
      if (!problem.empty()) RC_FAIL(std::string(AttentionMechanismName(m)) + ": " + problem);
      const std::string edge_problem = CheckEdgeWeights(dag, s);
      if (!edge_problem.empty()) RC_FAIL(std::string(AttentionMechanismName(m)) + ": " + edge_problem);
      RC_ASSERT(s.mechanism == m);
      // Deterministic: a fresh instance on a fresh preparation agrees exactly.
      auto again = Make(m, params, &clock)->Forward(dag, fb);
      RC_ASSERT(again.ok());
      RC_ASSERT(again->weights == s.weights);
    }
    // Learning from feedback keeps the contract too.
    RC_ASSERT(attention->Update(dag, feedback).ok());
    auto after = attention->Forward(dag, &feedback);
    RC_ASSERT(after.ok());
    const std::string problem = CheckScores(dag, *after);
    if (!problem.empty()) RC_FAIL(std::string(AttentionMechanismName(m)) + " after update: " + problem);
  }
}

TEST(Attention, OneNodeGetsWeightOne) {
  QueryDag dag;
  ASSERT_TRUE(dag.AddNode(OperatorNode::SeqScan("t").WithEstimates(10, 0)).ok());
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    auto s = ComputeAttention(dag, m);
    ASSERT_TRUE(s.ok()) << AttentionMechanismName(m) << ": " << s.status().ToString();
    ASSERT_EQ(s->weights.size(), 1u);
    EXPECT_DOUBLE_EQ(s->weights[0], 1.0) << AttentionMechanismName(m);
  }
}

TEST(Attention, OneLiveNodeAmongDeadIds) {
  QueryDag dag;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(dag.AddNode(OperatorNode::Filter("x")).ok());
  for (NodeId id : {0u, 1u, 3u, 4u}) ASSERT_TRUE(dag.RemoveNode(id).ok());
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    auto s = ComputeAttention(dag, m);
    ASSERT_TRUE(s.ok()) << AttentionMechanismName(m);
    EXPECT_EQ(s->nodes, std::vector<NodeId>{2});
    EXPECT_DOUBLE_EQ(s->WeightOf(2), 1.0);
    EXPECT_EQ(s->WeightOf(0), 0.0);
  }
}

TEST(Attention, TenThousandNodesWithNastyNumbers) {
  for (CostStyle style : {CostStyle::kNasty, CostStyle::kAllZero}) {
    const QueryDag dag = RandomAttentionDag(10000, 77, style);
    auto plan = PreparedDag::Build(dag);
    ASSERT_TRUE(plan.ok());
    ManualAttentionClock clock;
    for (AttentionMechanism m : kAllAttentionMechanisms) {
      AttentionScores s;
      const Status status = Make(m, {}, &clock)->Compute(*plan, nullptr, &s);
      ASSERT_TRUE(status.ok()) << AttentionMechanismName(m) << ": " << status.ToString();
      EXPECT_EQ(CheckScores(dag, s), "") << AttentionMechanismName(m);
    }
  }
}

TEST(Attention, DeepChainStaysFinite) {
  QueryDag dag;
  NodeId prev = kInvalidNodeId;
  for (int i = 0; i < 3000; ++i) {
    const NodeId id = dag.AddNode(OperatorNode::Filter("f").WithEstimates(1, i % 7 == 0 ? 1e300 : 1)).value();
    if (prev != kInvalidNodeId) ASSERT_TRUE(dag.AddEdge(prev, id).ok());
    prev = id;
  }
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    auto s = ComputeAttention(dag, m);
    ASSERT_TRUE(s.ok()) << AttentionMechanismName(m) << " " << s.status().ToString();
    EXPECT_EQ(CheckScores(dag, *s), "") << AttentionMechanismName(m);
  }
}

// --- hand-made plans: each mechanism's intent ------------------------------------

// scan_a -> filter -> join <- hash <- scan_b ; join -> sort -> limit
struct SmallPlan {
  QueryDag dag;
  NodeId scan_a, filter, scan_b, hash, join, sort, limit;
};

SmallPlan MakeSmallPlan(double a_cost, double b_cost) {
  SmallPlan p;
  p.scan_a = p.dag.AddNode(OperatorNode::SeqScan("a").WithEstimates(1000, a_cost)).value();
  p.filter = p.dag.AddNode(OperatorNode::Filter("x > 1").WithEstimates(100, a_cost / 2)).value();
  p.scan_b = p.dag.AddNode(OperatorNode::SeqScan("b").WithEstimates(1000, b_cost)).value();
  p.hash = p.dag.AddNode(OperatorNode::Hash().WithEstimates(1000, b_cost / 2)).value();
  p.join = p.dag.AddNode(OperatorNode::HashJoin("a.k = b.k").WithEstimates(100, 10)).value();
  p.sort = p.dag.AddNode(OperatorNode::Sort({"k"}).WithEstimates(100, 5)).value();
  p.limit = p.dag.AddNode(OperatorNode::Limit(10).WithEstimates(10, 1)).value();
  EXPECT_TRUE(p.dag.AddEdge(p.scan_a, p.filter).ok());
  EXPECT_TRUE(p.dag.AddEdge(p.filter, p.join).ok());
  EXPECT_TRUE(p.dag.AddEdge(p.scan_b, p.hash).ok());
  EXPECT_TRUE(p.dag.AddEdge(p.hash, p.join).ok());
  EXPECT_TRUE(p.dag.AddEdge(p.join, p.sort).ok());
  EXPECT_TRUE(p.dag.AddEdge(p.sort, p.limit).ok());
  return p;
}

TEST(Topological, DecaysWithDistanceFromTheTop) {
  const SmallPlan p = MakeSmallPlan(100, 100);
  auto s = ComputeAttention(p.dag, AttentionMechanism::kTopological);
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->WeightOf(p.limit), s->WeightOf(p.sort));
  EXPECT_GT(s->WeightOf(p.sort), s->WeightOf(p.join));
  EXPECT_GT(s->WeightOf(p.join), s->WeightOf(p.hash));
  EXPECT_DOUBLE_EQ(s->WeightOf(p.hash), s->WeightOf(p.filter));  // same level
  EXPECT_NEAR(s->WeightOf(p.sort) / s->WeightOf(p.limit), 0.85, 1e-12);
  AttentionParams flat;
  flat.topological.decay = 1.0;
  auto u = ComputeAttention(p.dag, AttentionMechanism::kTopological, flat);
  ASSERT_TRUE(u.ok());
  for (double w : u->weights) EXPECT_NEAR(w, 1.0 / 7.0, 1e-12);
}

TEST(CausalCone, NodesFeedingMoreOfThePlanWeighMore) {
  // s1 feeds a and b (both feed top); s2 feeds only top directly.
  QueryDag dag;
  const NodeId s1 = dag.AddNode(OperatorNode::SeqScan("x")).value();
  const NodeId s2 = dag.AddNode(OperatorNode::SeqScan("y")).value();
  const NodeId a = dag.AddNode(OperatorNode::Filter("a")).value();
  const NodeId b = dag.AddNode(OperatorNode::Filter("b")).value();
  const NodeId top = dag.AddNode(OperatorNode::Result()).value();
  for (auto [f, t] : {std::pair{s1, a}, {s1, b}, {a, top}, {b, top}, {s2, top}}) ASSERT_TRUE(dag.AddEdge(f, t).ok());
  auto s = ComputeAttention(dag, AttentionMechanism::kCausalCone);
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->WeightOf(s1), s->WeightOf(s2));
  EXPECT_GT(s->WeightOf(a), s->WeightOf(top));
  // impact(s1) = 1 + 2*0.7 + 0.49 ; impact(top) = 1 (shortest distance counts once)
  EXPECT_NEAR(s->WeightOf(s1) / s->WeightOf(top), 1.0 + 1.4 + 0.49, 1e-9);
  EXPECT_NEAR(s->WeightOf(s2) / s->WeightOf(top), 1.7, 1e-9);
}

// The definition, by brute force: impact(i) = sum over the cone of
// delta^(shortest distance), one BFS per node.
RC_GTEST_PROP(CausalConeProperty, MatchesTheDefinition, ()) {
  const QueryDag dag = RandomAttentionDag(*rc::gen::inRange<size_t>(1, 60), *rc::gen::arbitrary<uint64_t>());
  RC_PRE(!dag.empty());
  const double delta = *rc::gen::element(0.5, 0.7, 0.9, 1.0);
  AttentionParams params;
  params.causal_cone.discount = delta;
  params.causal_cone.horizon_epsilon = 1e-300;  // no truncation at this size
  auto s = ComputeAttention(dag, AttentionMechanism::kCausalCone, params);
  RC_ASSERT(s.ok());
  std::vector<double> expected;
  for (NodeId start : dag.NodeIds()) {
    std::vector<int> dist(dag.id_bound(), -1);
    std::vector<NodeId> queue{start};
    dist[start] = 0;
    double sum = 0.0;
    for (size_t h = 0; h < queue.size(); ++h) {
      sum += std::pow(delta, dist[queue[h]]);
      for (NodeId c : dag.children(queue[h])) {
        if (dist[c] < 0) {
          dist[c] = dist[queue[h]] + 1;
          queue.push_back(c);
        }
      }
    }
    expected.push_back(sum);
  }
  const double total = std::accumulate(expected.begin(), expected.end(), 0.0);
  for (size_t i = 0; i < expected.size(); ++i) {
    RC_ASSERT(std::abs(s->weights[i] - expected[i] / total) < 1e-12);
  }
}

TEST(CausalCone, HorizonDropsOnlyNegligibleTerms) {
  QueryDag dag;
  NodeId prev = kInvalidNodeId;
  for (int i = 0; i < 200; ++i) {
    const NodeId id = dag.AddNode(OperatorNode::Filter("f")).value();
    if (prev != kInvalidNodeId) ASSERT_TRUE(dag.AddEdge(prev, id).ok());
    prev = id;
  }
  auto s = ComputeAttention(dag, AttentionMechanism::kCausalCone);
  ASSERT_TRUE(s.ok());
  // Chain: impact(0) ~ 1/(1-0.7) = 3.333..., the sink 1.
  EXPECT_NEAR(s->weights.front() / s->weights.back(), 1.0 / 0.3, 1e-4);
  EXPECT_LT(*s->Metric("horizon"), 200.0);
}

TEST(CriticalPath, CriticalBranchWeighsMoreAndObservedVarianceSharpens) {
  const SmallPlan p = MakeSmallPlan(1000, 10);  // branch a is critical
  auto cp = Make(AttentionMechanism::kCriticalPath);
  auto s = cp->Forward(p.dag);
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->WeightOf(p.scan_a), s->WeightOf(p.scan_b));
  EXPECT_GT(s->WeightOf(p.filter), s->WeightOf(p.hash));
  EXPECT_DOUBLE_EQ(s->WeightOf(p.scan_a), s->WeightOf(p.limit));  // both on the path
  EXPECT_EQ(*s->Metric("critical_nodes"), 5.0);
  const double ratio_before = s->WeightOf(p.scan_a) / s->WeightOf(p.scan_b);

  // Stable latencies (p99 <= 2 p50): nothing changes.
  ExecutionFeedback stable;
  for (int i = 0; i < 50; ++i) stable.latency_samples_ms.push_back(100.0 + i % 5);
  ASSERT_TRUE(cp->Update(p.dag, stable).ok());
  auto s2 = cp->Forward(p.dag);
  EXPECT_EQ(*s2->Metric("sharpen_factor"), 1.0);
  EXPECT_EQ(s2->weights, s->weights);

  // A heavy tail (p99 = 1000 > 2 * p50 = 200): sharper.
  ExecutionFeedback tail;
  for (int i = 0; i < 50; ++i) tail.latency_samples_ms.push_back(i % 10 == 0 ? 1000.0 : 100.0);
  ASSERT_TRUE(cp->Update(p.dag, tail).ok());
  auto s3 = cp->Forward(p.dag);
  EXPECT_GT(*s3->Metric("sharpen_factor"), 1.0);
  EXPECT_GT(s3->WeightOf(p.scan_a) / s3->WeightOf(p.scan_b), ratio_before);
  EXPECT_NE(cp->StateHash(), Make(AttentionMechanism::kCriticalPath)->StateHash());
  cp->Reset();
  EXPECT_EQ(cp->Forward(p.dag)->weights, s->weights);
}

TEST(CriticalPath, ObservedTimesOverrideEstimates) {
  const SmallPlan p = MakeSmallPlan(1000, 10);  // estimates say branch a
  ExecutionFeedback fb;
  fb.node_time_ms.assign(p.dag.id_bound(), 1.0);
  fb.node_time_ms[p.scan_b] = 500.0;  // but b was slow
  auto s = ComputeAttention(p.dag, AttentionMechanism::kCriticalPath, {}, &fb);
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->WeightOf(p.scan_b), s->WeightOf(p.scan_a));
}

TEST(MinCutGated, RaisesTheCutNodes) {
  // Two scans into a cheap join: under cost capacities the cut is {join}.
  QueryDag dag;
  const NodeId s1 = dag.AddNode(OperatorNode::SeqScan("a").WithEstimates(1000, 10)).value();
  const NodeId s2 = dag.AddNode(OperatorNode::SeqScan("b").WithEstimates(1000, 10)).value();
  const NodeId join = dag.AddNode(OperatorNode::HashJoin("k").WithEstimates(100, 1)).value();
  const NodeId agg = dag.AddNode(OperatorNode::Aggregate({"count(*)"}).WithEstimates(1, 10)).value();
  const NodeId top = dag.AddNode(OperatorNode::Result().WithEstimates(1, 10)).value();
  ASSERT_TRUE(dag.AddEdge(s1, join).ok());
  ASSERT_TRUE(dag.AddEdge(s2, join).ok());
  ASSERT_TRUE(dag.AddEdge(join, agg).ok());
  ASSERT_TRUE(dag.AddEdge(agg, top).ok());
  AttentionParams params;
  params.min_cut_gated.capacity = CapacityMode::kCost;
  auto gated = ComputeAttention(dag, AttentionMechanism::kMinCutGated, params);
  ASSERT_TRUE(gated.ok()) << gated.status().ToString();
  EXPECT_EQ(*gated->Metric("cut_size"), 1.0);
  EXPECT_EQ(*gated->Metric("cut_value"), 1.0);
  AttentionParams ungated = params;
  ungated.min_cut_gated.cut_gain = ungated.min_cut_gated.neighbour_gain = 0.0;
  ungated.min_cut_gated.criticality_gain = 0.0;
  auto base = ComputeAttention(dag, AttentionMechanism::kMinCutGated, ungated);
  ASSERT_TRUE(base.ok());
  EXPECT_GT(gated->WeightOf(join), base->WeightOf(join));
  EXPECT_GT(gated->WeightOf(join), gated->WeightOf(s1));  // the cheapest node wins by the gate
  EXPECT_GT(gated->WeightOf(s1), gated->WeightOf(top));   // neighbour beats a far node
  EXPECT_DOUBLE_EQ(gated->WeightOf(s1), gated->WeightOf(agg));
}

TEST(MinCutGated, DefaultCapacityFindsTheBottleneck) {
  // A chain with one slow stage: the bottleneck cut is that stage.
  QueryDag dag;
  NodeId prev = kInvalidNodeId, slow = kInvalidNodeId;
  for (int i = 0; i < 8; ++i) {
    const NodeId id = dag.AddNode(OperatorNode::Filter("f").WithEstimates(10, i == 3 ? 500 : 5)).value();
    if (i == 3) slow = id;
    if (prev != kInvalidNodeId) ASSERT_TRUE(dag.AddEdge(prev, id).ok());
    prev = id;
  }
  auto s = ComputeAttention(dag, AttentionMechanism::kMinCutGated);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (size_t i = 0; i < s->nodes.size(); ++i) {
    if (s->nodes[i] != slow) EXPECT_GT(s->WeightOf(slow), s->weights[i]);
  }
  EXPECT_GE(*s->Metric("tension"), 0.0);
  EXPECT_LE(*s->Metric("tension"), 1.0);
}

TEST(HierarchicalLorentz, FocusesOnTheHeavySubHierarchy) {
  // top <- join <- {heavy chain of 6, light chain of 6}
  QueryDag dag;
  const NodeId top = dag.AddNode(OperatorNode::Result().WithEstimates(1, 1)).value();
  const NodeId join = dag.AddNode(OperatorNode::HashJoin("k").WithEstimates(1, 1)).value();
  ASSERT_TRUE(dag.AddEdge(join, top).ok());
  std::vector<NodeId> heavy, light;
  for (int side = 0; side < 2; ++side) {
    NodeId consumer = join;
    for (int i = 0; i < 6; ++i) {
      const NodeId id = dag.AddNode(OperatorNode::Filter("f").WithEstimates(1, side == 0 ? 100 : 1)).value();
      ASSERT_TRUE(dag.AddEdge(id, consumer).ok());
      (side == 0 ? heavy : light).push_back(id);
      consumer = id;
    }
  }
  auto s = ComputeAttention(dag, AttentionMechanism::kHierarchicalLorentz);
  ASSERT_TRUE(s.ok());
  for (size_t k = 0; k < heavy.size(); ++k) {
    EXPECT_GT(s->WeightOf(heavy[k]), s->WeightOf(light[k])) << "level " << k;
  }
  // With uniform mass the two sides are mirror images: equal weights.
  AttentionParams uniform;
  uniform.hierarchical_lorentz.cost_mix = 0.0;
  auto u = ComputeAttention(dag, AttentionMechanism::kHierarchicalLorentz, uniform);
  for (size_t k = 0; k < heavy.size(); ++k) EXPECT_NEAR(u->WeightOf(heavy[k]), u->WeightOf(light[k]), 1e-12);
  // exp(-d / T): halving the temperature squares the (unnormalized) scores.
  AttentionParams cold;
  cold.hierarchical_lorentz.temperature = 0.5;
  auto c = ComputeAttention(dag, AttentionMechanism::kHierarchicalLorentz, cold);
  ASSERT_TRUE(c.ok());
  double squares = 0.0;
  for (double w : s->weights) squares += w * w;
  for (size_t i = 0; i < s->weights.size(); ++i) {
    EXPECT_NEAR(c->weights[i], s->weights[i] * s->weights[i] / squares, 1e-12);
  }
}

TEST(ParallelBranch, BalancedBranchesShareUnbalancedFavourTheSlowest) {
  auto build = [](std::vector<double> costs) {
    QueryDag dag;
    const NodeId top = dag.AddNode(OperatorNode::Limit(5).WithEstimates(1, 1)).value();
    const NodeId append = dag.AddNode(OperatorNode::Make(OperatorType::kAppend).WithEstimates(1, 1)).value();
    EXPECT_TRUE(dag.AddEdge(append, top).ok());
    for (double c : costs) {
      const NodeId scan = dag.AddNode(OperatorNode::SeqScan("p").WithEstimates(1, c)).value();
      EXPECT_TRUE(dag.AddEdge(scan, append).ok());
    }
    return dag;
  };
  const QueryDag balanced = build({50, 50, 50, 50, 50});
  auto s = ComputeAttention(balanced, AttentionMechanism::kParallelBranch);
  ASSERT_TRUE(s.ok());
  for (NodeId id = 3; id < 7; ++id) EXPECT_DOUBLE_EQ(s->WeightOf(id), s->WeightOf(2));
  EXPECT_GT(s->WeightOf(2), s->WeightOf(1));  // branches over the serial spine
  EXPECT_EQ(*s->Metric("merge_points"), 1.0);
  EXPECT_NEAR(*s->Metric("mean_imbalance"), 0.0, 1e-12);

  const QueryDag skewed = build({500, 10, 10, 10, 10});
  auto k = ComputeAttention(skewed, AttentionMechanism::kParallelBranch);
  ASSERT_TRUE(k.ok());
  for (NodeId id = 3; id < 7; ++id) EXPECT_GT(k->WeightOf(2), k->WeightOf(id));
  EXPECT_GT(*k->Metric("mean_imbalance"), 0.9);
}

TEST(TemporalBtsp, PlateauPotentiatesEligibleOperatorsAndDecaysWithTime) {
  const SmallPlan p = MakeSmallPlan(100, 100);
  ManualAttentionClock clock(1'000'000);
  auto btsp = Make(AttentionMechanism::kTemporalBtsp, {}, &clock);
  auto fresh = btsp->Forward(p.dag);
  ASSERT_TRUE(fresh.ok());
  // No state yet: the base mass (half uniform, half cost share).
  auto topo_free = ComputeAttention(p.dag, AttentionMechanism::kTemporalBtsp);
  EXPECT_EQ(fresh->weights, topo_free->weights);

  ExecutionFeedback steady;
  steady.node_time_ms.assign(p.dag.id_bound(), 10.0);
  steady.latency_samples_ms = {70.0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(btsp->Update(p.dag, steady).ok());
    clock.AdvanceMillis(100);
  }
  clock.AdvanceMillis(60'000);  // let eligibility fade
  auto before = btsp->Forward(p.dag);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before->Metric("plateaus"), 0.0);

  ExecutionFeedback spike = steady;
  spike.node_time_ms[p.hash] = 400.0;  // Hash suddenly dominates: a plateau
  spike.latency_samples_ms = {460.0};
  ASSERT_TRUE(btsp->Update(p.dag, spike).ok());
  auto after = btsp->Forward(p.dag);
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after->Metric("plateaus"), 1.0);
  EXPECT_GT(after->WeightOf(p.hash), before->WeightOf(p.hash));
  EXPECT_GT(after->WeightOf(p.hash), after->WeightOf(p.scan_a));

  // Ten weight time constants later the potentiation has faded.
  const uint64_t hash_now = btsp->StateHash();
  clock.AdvanceMillis(600'000);
  EXPECT_NE(btsp->StateHash(), hash_now);  // results depend on time: so does the key
  auto faded = btsp->Forward(p.dag);
  const double gain_after = after->WeightOf(p.hash) / after->WeightOf(p.scan_a);
  const double gain_faded = faded->WeightOf(p.hash) / faded->WeightOf(p.scan_a);
  EXPECT_LT(gain_faded, gain_after);
  EXPECT_NEAR(gain_faded, before->WeightOf(p.hash) / before->WeightOf(p.scan_a), 1e-3);

  btsp->Reset();
  EXPECT_EQ(btsp->Forward(p.dag)->weights, fresh->weights);
}

TEST(TemporalBtsp, TraceCountIsBounded) {
  AttentionParams params;
  params.temporal_btsp.max_traces = 16;
  ManualAttentionClock clock;
  auto btsp = Make(AttentionMechanism::kTemporalBtsp, params, &clock);
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const QueryDag dag = RandomAttentionDag(30, seed);
    ASSERT_TRUE(btsp->Update(dag, FeedbackFromActuals(dag)).ok());
    clock.AdvanceMillis(10);
  }
  auto s = btsp->Forward(RandomAttentionDag(30, 3));
  ASSERT_TRUE(s.ok());
  EXPECT_LE(*s->Metric("traces"), 16.0);
}

TEST(EdgeWeights, ConsumerAttentionOverItsInputs) {
  const SmallPlan p = MakeSmallPlan(1000, 10);
  AttentionParams params;
  params.edge_weights = true;
  auto s = ComputeAttention(p.dag, AttentionMechanism::kCriticalPath, params);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(CheckEdgeWeights(p.dag, *s), "");
  double to_filter = 0, to_hash = 0;
  for (const auto& e : s->edge_weights) {
    if (e.from == p.filter && e.to == p.join) to_filter = e.weight;
    if (e.from == p.hash && e.to == p.join) to_hash = e.weight;
  }
  EXPECT_GT(to_filter, to_hash);
  EXPECT_NEAR(to_filter + to_hash, 1.0, 1e-12);
}

TEST(Feedback, FromActualsComputesSelfTimes) {
  QueryDag dag;
  const NodeId scan = dag.AddNode(OperatorNode::SeqScan("t").WithActuals(100, 40)).value();
  const NodeId sort = dag.AddNode(OperatorNode::Sort({"k"}).WithActuals(100, 55)).value();
  const NodeId lim = dag.AddNode(OperatorNode::Limit(1)).value();  // never executed
  ASSERT_TRUE(dag.AddEdge(scan, sort).ok());
  ASSERT_TRUE(dag.AddEdge(sort, lim).ok());
  dag.mutable_node(scan)->actual_loops = 2;
  const ExecutionFeedback fb = FeedbackFromActuals(dag);
  ASSERT_EQ(fb.node_time_ms.size(), 3u);
  EXPECT_DOUBLE_EQ(fb.node_time_ms[scan], 80.0);
  EXPECT_DOUBLE_EQ(fb.node_time_ms[sort], 0.0);  // 55 - 80 clamps at 0
  EXPECT_LT(fb.node_time_ms[lim], 0.0);
  EXPECT_TRUE(fb.latency_samples_ms.empty());  // the sink has no actuals
}

}  // namespace
}  // namespace ruvector_dag
