// libFuzzer target for ImportExplain (PostgreSQL EXPLAIN (FORMAT JSON)).
// Any input must give either a clear error or a DAG that keeps the importer's
// promises: valid, a tree whose only sink is node 0 (the top plan node),
// own costs finite and >= 0, a critical path, and ImportExplainJson agreeing.
// Anything else aborts so that libFuzzer reports it.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ruvector_dag/formats.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "explain_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ruvector_dag;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<ExplainPlan> plan = ImportExplain(input);
  Result<QueryDag> dag_only = ImportExplainJson(input);
  if (plan.ok() != dag_only.ok()) Fail("ImportExplain and ImportExplainJson disagree");
  if (!plan.ok()) {
    if (plan.status().message().rfind("EXPLAIN JSON", 0) != 0) Fail("error message without context");
    return 0;
  }
  const QueryDag& dag = plan->dag;
  if (!(dag == *dag_only)) Fail("ImportExplainJson returned a different DAG");
  if (!dag.Validate().ok()) Fail("accepted DAG fails Validate");
  if (dag.empty()) Fail("accepted an empty plan");
  if (dag.edge_count() + 1 != dag.node_count()) Fail("plan is not a tree");
  if (dag.Sinks() != std::vector<NodeId>{0}) Fail("the top plan node is not the only sink");
  if (dag.TopologicalSort().size() != dag.node_count()) Fail("topological order misses nodes");
  bool bad_cost = false;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (!std::isfinite(n.estimated_cost) || n.estimated_cost < 0) bad_cost = true;
  });
  if (bad_cost) Fail("own cost negative or not finite");
  Result<CriticalPath> path = dag.ComputeCriticalPath();
  if (!path.ok() || path->nodes.empty() || path->nodes.back() != 0) Fail("no critical path to the top");
  if (plan->planning_time_ms && !(*plan->planning_time_ms >= 0)) Fail("negative planning time");
  if (plan->execution_time_ms && !(*plan->execution_time_ms >= 0)) Fail("negative execution time");
  return 0;
}
