// AnalyzeCost with each model on random plan trees of 10..10,000 operators.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/cost.h"

namespace ruvector_dag {
namespace {

// Random plan tree: scans, sorts/filters/aggregates over one input, joins
// over two; widths and rows from the planner's usual ranges.
QueryDag PlanTree(int n, uint64_t seed) {
  Rng rng(seed);
  QueryDag dag;
  std::vector<NodeId> open;
  const OperatorType unary[] = {OperatorType::kSort, OperatorType::kFilter, OperatorType::kAggregate,
                                OperatorType::kHash, OperatorType::kLimit};
  const OperatorType binary[] = {OperatorType::kHashJoin, OperatorType::kNestedLoop,
                                 OperatorType::kMergeJoin};
  auto add = [&](OperatorType t) {
    OperatorNode node = OperatorNode::Make(t);
    node.estimated_rows = static_cast<double>(1 + rng.Uniform(100000));
    node.width = static_cast<double>(8 + rng.Uniform(200));
    if (t == OperatorType::kSeqScan) node.relation = "t" + std::to_string(rng.Uniform(20));
    if (t == OperatorType::kLimit) node.parameter = 100;
    return dag.AddNode(std::move(node)).value();
  };
  for (int i = 0; i < n; ++i) {
    const int remaining = n - i;
    const uint64_t r = rng.Uniform(10);
    if (open.size() >= 2 && (r < 3 || static_cast<int>(open.size()) >= remaining)) {
      const NodeId b = open.back();
      open.pop_back();
      const NodeId a = open.back();
      open.pop_back();
      const NodeId j = add(binary[rng.Uniform(3)]);
      (void)dag.AddEdge(a, j);
      (void)dag.AddEdge(b, j);
      open.push_back(j);
    } else if (!open.empty() && r < 6 && static_cast<int>(open.size()) < remaining) {
      const NodeId u = add(unary[rng.Uniform(5)]);
      (void)dag.AddEdge(open.back(), u);
      open.back() = u;
    } else {
      open.push_back(add(OperatorType::kSeqScan));
    }
  }
  return dag;
}

void BM_AnalyzeCost(benchmark::State& state) {
  const QueryDag dag = PlanTree(static_cast<int>(state.range(0)), 42);
  std::unique_ptr<CostModel> model;
  switch (state.range(1)) {
    case 0: model = std::make_unique<PostgresCostModel>(); break;
    case 1: model = std::make_unique<EmbeddedCostModel>(); break;
    default: model = std::make_unique<ChipCostModel>(); break;
  }
  for (auto _ : state) {
    auto a = AnalyzeCost(dag, *model);
    benchmark::DoNotOptimize(a->total);
  }
  state.SetLabel(std::string(model->name()));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int m : {0, 1, 2})
    for (int n : {10, 100, 1000, 10000}) b->Args({n, m});
}
BENCHMARK(BM_AnalyzeCost)->Apply(Args)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag
