// Seeded random plan-like DAGs for tests and benchmarks (header-only, not
// part of the public API).
#ifndef RUVECTOR_DAG_SRC_DAG_INTERNAL_RANDOM_DAG_H_
#define RUVECTOR_DAG_SRC_DAG_INTERNAL_RANDOM_DAG_H_

#include <string>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag::internal {

/// A plan-shaped DAG of `n` nodes: node i (i >= 1) feeds one earlier-created
/// consumer, so ids ascend from the top (node 0, the single sink) down to the
/// scans; with probability `share` a node also feeds a second consumer (a
/// shared input, as with CTEs and InitPlans). Costs and rows are random but
/// finite. Deterministic for a given seed.
inline QueryDag RandomPlanDag(size_t n, uint64_t seed, double share = 0.05) {
  Rng rng(seed);
  QueryDag dag;
  for (size_t i = 0; i < n; ++i) {
    auto type = static_cast<OperatorType>(rng.Uniform(kOperatorTypeCount));
    OperatorNode node = OperatorNode::Make(type);
    node.estimated_rows = static_cast<double>(rng.Uniform(100000));
    node.estimated_cost = rng.UniformDouble() * 1000.0;
    node.total_cost = node.estimated_cost;
    if (IsScan(type)) node.relation = "t" + std::to_string(rng.Uniform(50));
    const NodeId id = dag.AddNode(std::move(node)).value();
    if (id == 0) continue;
    const NodeId consumer = static_cast<NodeId>(rng.Uniform(id));
    (void)dag.AddEdge(id, consumer);
    if (rng.UniformDouble() < share) {
      const NodeId second = static_cast<NodeId>(rng.Uniform(id));
      (void)dag.AddEdge(id, second);  // may be a duplicate: then rejected
    }
  }
  return dag;
}

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_DAG_INTERNAL_RANDOM_DAG_H_
