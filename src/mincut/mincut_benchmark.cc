// Min-cut benchmarks: build/analyze at 10..100,000 operators, and the cost of
// one capacity update repaired incrementally vs a full recomputation.
//
// Two DAG shapes: "plan" (a random plan tree: scans, unary operators, binary
// joins, one root) and "layered" (random layered DAG, several sources and
// sinks, width ~ sqrt(n), extra cross edges). Capacities are estimated costs
// drawn log-uniformly from [1, 1000); an update multiplies a random
// operator's capacity by a factor log-uniform in [1/4, 4].
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "mincut/internal/tree_min_cut.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag {
namespace {

double LogUniform(Rng& rng, double lo, double hi) {
  return lo * std::exp(rng.UniformDouble() * std::log(hi / lo));
}

QueryDag PlanTree(int n, uint64_t seed) {
  Rng rng(seed);
  QueryDag dag;
  std::vector<NodeId> open;  // roots of the subtrees built so far
  auto add = [&](OperatorType t) {
    OperatorNode node = OperatorNode::Make(t);
    node.estimated_cost = LogUniform(rng, 1, 1000);
    node.estimated_rows = LogUniform(rng, 1, 1e6);
    return dag.AddNode(std::move(node)).value();
  };
  for (int i = 0; i < n; ++i) {
    const int remaining = n - i;
    const uint64_t r = rng.Uniform(10);
    if (open.size() >= 2 && (r < 3 || static_cast<int>(open.size()) >= remaining)) {
      // join the two most recent subtrees
      const NodeId b = open.back();
      open.pop_back();
      const NodeId a = open.back();
      open.pop_back();
      const NodeId j = add(OperatorType::kHashJoin);
      (void)dag.AddEdge(a, j);
      (void)dag.AddEdge(b, j);
      open.push_back(j);
    } else if (!open.empty() && r < 6 && static_cast<int>(open.size()) < remaining) {
      const NodeId u = add(OperatorType::kSort);
      (void)dag.AddEdge(open.back(), u);
      open.back() = u;
    } else {
      open.push_back(add(OperatorType::kSeqScan));
    }
  }
  return dag;
}

QueryDag Layered(int n, uint64_t seed) {
  Rng rng(seed);
  QueryDag dag;
  const int width = std::max(1, static_cast<int>(std::sqrt(static_cast<double>(n))));
  std::vector<NodeId> prev, cur;
  for (int i = 0; i < n; ++i) {
    OperatorNode node = OperatorNode::Make(OperatorType::kFilter);
    node.estimated_cost = LogUniform(rng, 1, 1000);
    node.estimated_rows = LogUniform(rng, 1, 1e6);
    const NodeId id = dag.AddNode(std::move(node)).value();
    if (!prev.empty()) {
      (void)dag.AddEdge(prev[rng.Uniform(prev.size())], id);
      if (rng.Uniform(2) == 0) (void)dag.AddEdge(prev[rng.Uniform(prev.size())], id);
    }
    cur.push_back(id);
    if (static_cast<int>(cur.size()) == width) {
      prev.swap(cur);
      cur.clear();
    }
  }
  return dag;
}

QueryDag Make(int shape, int n) { return shape == 0 ? PlanTree(n, 42) : Layered(n, 42); }

void BM_MinCutBuild(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  const std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  for (auto _ : state) {
    auto net = DynamicMinCut::Build(dag, caps);
    benchmark::DoNotOptimize(net->cut_value());
  }
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

void BM_MinCutAnalyze(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  MinCutOptions o;
  o.compute_criticality = state.range(2) != 0;
  const MinCutEngine engine = MinCutEngine::Create(o).value();
  for (auto _ : state) {
    auto r = engine.Analyze(dag, CapacityMode::kBottleneck);
    benchmark::DoNotOptimize(r->cut_value);
  }
  state.SetLabel(std::string(state.range(1) == 0 ? "plan" : "layered") +
                 (o.compute_criticality ? "+criticality" : ""));
}

// Analyze on an in-tree (PlanTree with n-1 operators, every top fed into
// one Result: the shape of imported plans), fast path vs forced Dinic.
void BM_MinCutAnalyzeInTree(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  QueryDag dag = PlanTree(n - 1, 42);
  const std::vector<NodeId> tops = dag.Sinks();
  const NodeId result = dag.AddNode(OperatorNode::Make(OperatorType::kResult)).value();
  dag.mutable_node(result)->estimated_cost = 1.0;
  for (NodeId t : tops) (void)dag.AddEdge(t, result);
  MinCutOptions o;
  o.compute_criticality = state.range(1) != 0;
  const bool dinic = state.range(2) != 0;
  const MinCutEngine engine = MinCutEngine::Create(o).value();
  for (auto _ : state) {
    if (dinic) {
      mincut_internal::ScopedForceDinic force;
      auto r = engine.Analyze(dag, CapacityMode::kBottleneck);
      benchmark::DoNotOptimize(r->cut_value);
    } else {
      auto r = engine.Analyze(dag, CapacityMode::kBottleneck);
      benchmark::DoNotOptimize(r->cut_value);
    }
  }
  state.SetLabel(std::string(dinic ? "in-tree, dinic" : "in-tree, fast path") +
                 (o.compute_criticality ? "+criticality" : "") +
                 (mincut_internal::IsInTree(dag) ? "" : " (NOT an in-tree)"));
}

// One random capacity update, repaired incrementally (flow value kept; the
// cut list is not materialized, see BM_MinCutUpdateAndCut).
void BM_MinCutIncrementalUpdate(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  DynamicMinCut net = DynamicMinCut::Build(dag, caps).value();
  Rng rng(7);
  const std::vector<NodeId> ids = dag.NodeIds();
  for (auto _ : state) {
    const NodeId id = ids[rng.Uniform(ids.size())];
    // Keep capacities in [1, 1000) so the distribution does not drift.
    double c = caps[id] * LogUniform(rng, 0.25, 4.0);
    c = std::min(999.0, std::max(1.0, c));
    caps[id] = c;
    benchmark::DoNotOptimize(net.SetCapacity(id, c).ok());
    benchmark::DoNotOptimize(net.cut_value());
  }
  const auto& s = net.stats();
  state.counters["fast_path_frac"] =
      s.updates ? static_cast<double>(s.fast_path_updates) / static_cast<double>(s.updates) : 0.0;
  state.counters["phases_per_update"] =
      s.updates ? static_cast<double>(s.bfs_phases) / static_cast<double>(s.updates) : 0.0;
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

// Same update followed by reading the cut (O(V+E) BFS when it may have moved).
void BM_MinCutUpdateAndCut(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  DynamicMinCut net = DynamicMinCut::Build(dag, caps).value();
  Rng rng(7);
  const std::vector<NodeId> ids = dag.NodeIds();
  for (auto _ : state) {
    const NodeId id = ids[rng.Uniform(ids.size())];
    double c = std::min(999.0, std::max(1.0, caps[id] * LogUniform(rng, 0.25, 4.0)));
    caps[id] = c;
    benchmark::DoNotOptimize(net.SetCapacity(id, c).ok());
    benchmark::DoNotOptimize(net.CutNodes().size());
  }
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

// Adversarial updates: always change a node of the current cut (the only
// updates that can move the max flow). Reading the cut between updates is
// excluded from the timing.
void BM_MinCutCutNodeUpdate(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  DynamicMinCut net = DynamicMinCut::Build(dag, caps).value();
  Rng rng(7);
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<NodeId>& cut = net.CutNodes();
    const NodeId id = cut[rng.Uniform(cut.size())];
    double c = std::min(999.0, std::max(1.0, caps[id] * LogUniform(rng, 0.25, 4.0)));
    caps[id] = c;
    state.ResumeTiming();
    benchmark::DoNotOptimize(net.SetCapacity(id, c).ok());
    benchmark::DoNotOptimize(net.cut_value());
  }
  const auto& s = net.stats();
  state.counters["phases_per_update"] =
      s.updates ? static_cast<double>(s.bfs_phases) / static_cast<double>(s.updates) : 0.0;
  state.counters["local_frac"] =
      s.updates ? static_cast<double>(s.local_repairs) / static_cast<double>(s.updates) : 0.0;
  state.counters["fallback_frac"] =
      s.updates ? static_cast<double>(s.local_fallbacks) / static_cast<double>(s.updates) : 0.0;
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

// Same adversarial updates, timing the cut read (one residual BFS) as well.
void BM_MinCutCutNodeUpdateAndCut(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  DynamicMinCut net = DynamicMinCut::Build(dag, caps).value();
  Rng rng(7);
  std::vector<NodeId> cut = net.CutNodes();
  for (auto _ : state) {
    const NodeId id = cut[rng.Uniform(cut.size())];
    double c = std::min(999.0, std::max(1.0, caps[id] * LogUniform(rng, 0.25, 4.0)));
    caps[id] = c;
    benchmark::DoNotOptimize(net.SetCapacity(id, c).ok());
    cut = net.CutNodes();
  }
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

// The same update handled by recomputing the max flow from zero on the
// existing network (no allocation): what an update costs without repair.
void BM_MinCutFullRecompute(benchmark::State& state) {
  const QueryDag dag = Make(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
  std::vector<double> caps = ComputeCapacities(dag, CapacityMode::kCost).value();
  DynamicMinCut net = DynamicMinCut::Build(dag, caps).value();
  Rng rng(7);
  const std::vector<NodeId> ids = dag.NodeIds();
  for (auto _ : state) {
    const NodeId id = ids[rng.Uniform(ids.size())];
    double c = std::min(999.0, std::max(1.0, caps[id] * LogUniform(rng, 0.25, 4.0)));
    caps[id] = c;
    benchmark::DoNotOptimize(net.SetCapacity(id, c).ok());
    net.RecomputeFromScratch();
    benchmark::DoNotOptimize(net.cut_value());
  }
  state.SetLabel(state.range(1) == 0 ? "plan" : "layered");
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int shape : {0, 1})
    for (int n : {10, 100, 1000, 10000, 100000}) b->Args({n, shape});
}
void SizesCrit(benchmark::internal::Benchmark* b) {
  for (int shape : {0, 1})
    for (int n : {10, 100, 1000, 10000})
      for (int crit : {0, 1}) b->Args({n, shape, crit});
}

BENCHMARK(BM_MinCutBuild)->Apply(Sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutAnalyze)->Apply(SizesCrit)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutAnalyzeInTree)
    ->ArgsProduct({{10, 100, 1000, 10000}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutIncrementalUpdate)->Apply(Sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutUpdateAndCut)->Apply(Sizes)->Unit(benchmark::kMicrosecond);
// Fixed iteration count: the untimed cut read dominates wall time at large n.
BENCHMARK(BM_MinCutCutNodeUpdate)->Apply(Sizes)->Iterations(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutCutNodeUpdateAndCut)->Apply(Sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinCutFullRecompute)->Apply(Sizes)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag
