// DAG construction and core algorithms (DESIGN.md section 5: build a
// 1,000-node DAG in < 1 ms).
#include <benchmark/benchmark.h>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag {
namespace {

// A plan-like build: every node is added, then wired to a consumer created
// earlier (top-down, as an EXPLAIN importer builds), plus 5 % shared inputs.
void BM_BuildDag(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    QueryDag dag = internal::RandomPlanDag(n, 42, 0.05);
    benchmark::DoNotOptimize(dag.edge_count());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BuildDag)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_TopologicalSort(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(static_cast<size_t>(state.range(0)), 7, 0.05);
  for (auto _ : state) benchmark::DoNotOptimize(dag.TopologicalSort());
}
BENCHMARK(BM_TopologicalSort)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_CriticalPath(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(static_cast<size_t>(state.range(0)), 7, 0.05);
  for (auto _ : state) benchmark::DoNotOptimize(dag.ComputeCriticalPath());
}
BENCHMARK(BM_CriticalPath)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_Depths(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(static_cast<size_t>(state.range(0)), 7, 0.05);
  for (auto _ : state) benchmark::DoNotOptimize(dag.Depths());
}
BENCHMARK(BM_Depths)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag
