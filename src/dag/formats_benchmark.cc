// Write/read throughput of the DAG formats on a realistic plan-like DAG:
// internal::RandomPlanDag (mostly a tree, 5 % shared inputs) with the detail
// fields a real plan carries filled in (relations, predicates, sort keys,
// cumulative costs, width, actuals). Counters report the document size.
#include <benchmark/benchmark.h>

#include <string>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

QueryDag PlanLikeDag(size_t n, bool crate_types_only) {
  QueryDag dag = internal::RandomPlanDag(n, /*seed=*/42, /*share=*/0.05);
  Rng rng(7);
  for (NodeId id : dag.NodeIds()) {
    OperatorNode* node = dag.mutable_node(id);
    if (crate_types_only) {
      // Map to the types the crate's format has, keeping the shape.
      static constexpr OperatorType kCrate[] = {OperatorType::kSeqScan, OperatorType::kIndexScan,
                                                OperatorType::kHashJoin, OperatorType::kFilter,
                                                OperatorType::kSort, OperatorType::kAggregate,
                                                OperatorType::kNestedLoop, OperatorType::kLimit};
      node->type = kCrate[rng.Uniform(std::size(kCrate))];
    }
    const std::string table = "table_" + std::to_string(rng.Uniform(40));
    switch (node->type) {
      case OperatorType::kSeqScan:
      case OperatorType::kIndexScan:
        node->relation = table;
        node->index = table + "_pkey";
        break;
      case OperatorType::kHashJoin:
      case OperatorType::kMergeJoin:
      case OperatorType::kFilter:
        node->predicate = "(" + table + ".id = other.ref_id) AND (" + table + ".created > '2024-01-01')";
        break;
      case OperatorType::kSort:
      case OperatorType::kAggregate:
        node->keys = {table + ".created", table + ".id"};
        if (node->type == OperatorType::kSort) node->descending = {true, false};
        break;
      case OperatorType::kLimit:
        node->parameter = 100;
        break;
      default:
        break;
    }
    if (!crate_types_only) {
      node->alias = table;
      node->startup_cost = rng.UniformDouble() * 100;
      node->total_cost = node->startup_cost + node->estimated_cost;
      node->width = static_cast<double>(8 * (1 + rng.Uniform(16)));
      node->actual_loops = 1;
    }
    node->actual_rows = static_cast<double>(rng.Uniform(100000));
    node->actual_time_ms = rng.UniformDouble() * 50;
  }
  return dag;
}

void BM_WriteJson(benchmark::State& state) {
  const QueryDag dag = PlanLikeDag(static_cast<size_t>(state.range(0)), false);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = WriteJson(dag);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["doc_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_WriteJson)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_ReadJson(benchmark::State& state) {
  const std::string text = WriteJson(PlanLikeDag(static_cast<size_t>(state.range(0)), false));
  for (auto _ : state) {
    Result<QueryDag> dag = ReadJson(text);
    if (!dag.ok()) state.SkipWithError(dag.status().ToString().c_str());
    benchmark::DoNotOptimize(dag);
  }
  state.counters["doc_bytes"] = static_cast<double>(text.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ReadJson)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_WriteBinary(benchmark::State& state) {
  const QueryDag dag = PlanLikeDag(static_cast<size_t>(state.range(0)), false);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = WriteBinary(dag);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["doc_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_WriteBinary)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_ReadBinary(benchmark::State& state) {
  const std::string bytes = WriteBinary(PlanLikeDag(static_cast<size_t>(state.range(0)), false));
  for (auto _ : state) {
    Result<QueryDag> dag = ReadBinary(bytes);
    if (!dag.ok()) state.SkipWithError(dag.status().ToString().c_str());
    benchmark::DoNotOptimize(dag);
  }
  state.counters["doc_bytes"] = static_cast<double>(bytes.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_ReadBinary)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_WriteRustJson(benchmark::State& state) {
  const QueryDag dag = PlanLikeDag(static_cast<size_t>(state.range(0)), true);
  size_t bytes = 0;
  for (auto _ : state) {
    Result<std::string> out = WriteRustJson(dag);
    if (!out.ok()) state.SkipWithError(out.status().ToString().c_str());
    bytes = out.ok() ? out->size() : 0;
    benchmark::DoNotOptimize(out);
  }
  state.counters["doc_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_WriteRustJson)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_ReadRustJson(benchmark::State& state) {
  const std::string text = WriteRustJson(PlanLikeDag(static_cast<size_t>(state.range(0)), true)).value();
  for (auto _ : state) {
    Result<QueryDag> dag = ReadRustJson(text);
    if (!dag.ok()) state.SkipWithError(dag.status().ToString().c_str());
    benchmark::DoNotOptimize(dag);
  }
  state.counters["doc_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ReadRustJson)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_DetectFormat(benchmark::State& state) {
  const std::string text = WriteJson(PlanLikeDag(static_cast<size_t>(state.range(0)), false));
  for (auto _ : state) benchmark::DoNotOptimize(DetectFormat(text));
}
BENCHMARK(BM_DetectFormat)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag
