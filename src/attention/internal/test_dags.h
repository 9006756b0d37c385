// Seeded random and hand-made DAGs for the attention tests and benchmarks
// (header-only, not public API).
#ifndef RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_TEST_DAGS_H_
#define RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_TEST_DAGS_H_

#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag::attention_internal {

/// How adversarial the numbers of a random DAG are.
enum class CostStyle {
  kPlain,    // costs in [0, 1000), rows in [0, 1e5)
  kNasty,    // plus zeros, 1e300, 1e-300, and a few NaN/negative/inf estimates
  kAllZero,  // every cost and row 0
};

/// A random DAG of `n` slots: node i takes 0..3 inputs from earlier nodes
/// (so there are many sources, sinks and disconnected parts), then about
/// `dead_share` of the nodes are removed (dead ids). Deterministic per seed.
inline QueryDag RandomAttentionDag(size_t n, uint64_t seed, CostStyle style = CostStyle::kPlain,
                                   double dead_share = 0.1) {
  Rng rng(seed);
  QueryDag dag;
  for (size_t i = 0; i < n; ++i) {
    const auto type = static_cast<OperatorType>(rng.Uniform(kOperatorTypeCount));
    OperatorNode node = OperatorNode::Make(type);
    double cost = rng.UniformDouble() * 1000.0;
    double rows = static_cast<double>(rng.Uniform(100000));
    if (style == CostStyle::kAllZero) {
      cost = rows = 0.0;
    } else if (style == CostStyle::kNasty) {
      const uint64_t r = rng.Uniform(20);
      if (r == 0) cost = 0.0;
      if (r == 1) cost = 1e300;
      if (r == 2) cost = 1e-300;
      if (r == 3) cost = std::numeric_limits<double>::quiet_NaN();
      if (r == 4) cost = -5.0;
      if (r == 5) rows = std::numeric_limits<double>::infinity();
      if (r == 6) rows = 1e300;
    }
    node.estimated_cost = cost;
    node.estimated_rows = rows;
    if (IsScan(type)) node.relation = "t" + std::to_string(rng.Uniform(20));
    if (rng.Uniform(4) == 0) node.WithActuals(rows * (0.1 + rng.UniformDouble() * 10.0), rng.UniformDouble() * 50.0);
    const NodeId id = dag.AddNode(std::move(node)).value();
    if (id == 0) continue;
    const uint64_t inputs = rng.Uniform(4);
    for (uint64_t k = 0; k < inputs; ++k) {
      // Prefer recent nodes so paths get long.
      const uint64_t span = std::min<uint64_t>(id, 1 + rng.Uniform(8) * (rng.Uniform(3) == 0 ? id : 1));
      const NodeId from = static_cast<NodeId>(id - 1 - rng.Uniform(span));
      (void)dag.AddEdge(from, id);  // duplicates are rejected, which is fine
    }
  }
  const auto removals = static_cast<size_t>(dead_share * static_cast<double>(n));
  for (size_t k = 0; k < removals && dag.node_count() > 1; ++k) {
    (void)dag.RemoveNode(static_cast<NodeId>(rng.Uniform(n)));  // may hit a dead id
  }
  return dag;
}

/// A plan-shaped tree: a top operator over a left-deep chain of binary joins
/// whose inner sides are `fan` scans; `n` nodes in total (approximately).
/// Used by the benchmarks as a realistic plan.
inline QueryDag PlanLikeDag(size_t n, uint64_t seed) {
  Rng rng(seed);
  QueryDag dag;
  const NodeId top = dag.AddNode(OperatorNode::Limit(100).WithEstimates(100, 1)).value();
  NodeId current = top;
  while (dag.node_count() + 3 <= n) {
    const NodeId join = dag.AddNode(OperatorNode::HashJoin("k").WithEstimates(
        1000 + static_cast<double>(rng.Uniform(100000)), rng.UniformDouble() * 500)).value();
    const NodeId hash = dag.AddNode(OperatorNode::Hash().WithEstimates(1000, rng.UniformDouble() * 50)).value();
    const NodeId scan = dag.AddNode(OperatorNode::SeqScan("t" + std::to_string(rng.Uniform(30)))
                                        .WithEstimates(static_cast<double>(rng.Uniform(1000000)),
                                                       rng.UniformDouble() * 2000)).value();
    (void)dag.AddEdge(join, current);
    (void)dag.AddEdge(hash, join);
    (void)dag.AddEdge(scan, hash);
    current = join;
  }
  while (dag.node_count() < n) {
    const NodeId scan = dag.AddNode(OperatorNode::SeqScan("base").WithEstimates(1e5, 1500)).value();
    (void)dag.AddEdge(scan, current);
    current = scan;
  }
  return dag;
}

}  // namespace ruvector_dag::attention_internal

#endif  // RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_TEST_DAGS_H_
