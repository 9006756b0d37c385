// TEST HARNESS (not part of the library): a deterministic simulated query
// environment used by the sona and engine tests and benchmarks to prove the
// learning algorithms. Plans are synthetic; each arm's latency is a seeded
// function of plan features with lognormal noise, heavy-tailed outliers and
// optional regime changes. Nothing here is used by the library itself.
#ifndef RUVECTOR_DAG_SRC_SONA_INTERNAL_SIM_ENV_H_
#define RUVECTOR_DAG_SRC_SONA_INTERNAL_SIM_ENV_H_

#include <cmath>
#include <string>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag::sim {

/// Operator vocabularies of two workload families (disjoint types, so a
/// workload shift is visible to the featurizer).
inline const std::vector<OperatorType>& FamilyTypes(int family) {
  static const std::vector<OperatorType> kA = {OperatorType::kSeqScan, OperatorType::kHashJoin,
                                               OperatorType::kHash, OperatorType::kSort,
                                               OperatorType::kAggregate};
  static const std::vector<OperatorType> kB = {OperatorType::kIndexScan, OperatorType::kNestedLoop,
                                               OperatorType::kMaterialize, OperatorType::kLimit,
                                               OperatorType::kFilter};
  return family == 0 ? kA : kB;
}

/// A plan of `n` nodes from `family`: node 0 is the top; node i feeds a
/// random earlier node. Leaves are the family's scan type. Estimates random.
inline QueryDag FamilyPlan(int family, size_t n, uint64_t seed) {
  Rng rng(seed);
  const auto& types = FamilyTypes(family);
  QueryDag dag;
  for (size_t i = 0; i < n; ++i) {
    OperatorType type = types[1 + rng.Uniform(types.size() - 1)];
    OperatorNode node = OperatorNode::Make(type);
    node.estimated_rows = std::exp(rng.UniformDouble() * 12.0);
    node.estimated_cost = std::exp(rng.UniformDouble() * 9.0);
    node.total_cost = node.estimated_cost;
    node.width = 8.0 + static_cast<double>(rng.Uniform(200));
    const NodeId id = dag.AddNode(std::move(node)).value();
    if (id > 0) (void)dag.AddEdge(id, static_cast<NodeId>(rng.Uniform(id)));
  }
  // Leaves become scans on a few relations.
  for (NodeId id : dag.Sources()) {
    OperatorNode* node = dag.mutable_node(id);
    node->type = types[0];
    node->relation = "t" + std::to_string(rng.Uniform(8));
  }
  return dag;
}

/// Summary features the latency functions read (computed from the DAG, not
/// from the embedding, so the learner must discover them).
struct PlanTruth {
  double log_cost = 0.0;   // log1p of summed own cost
  double join_share = 0.0; // joins / nodes
  double log_rows = 0.0;   // log1p of the largest estimated rows
};

inline PlanTruth TruthOf(const QueryDag& dag) {
  PlanTruth t;
  double cost = 0.0, rows = 0.0;
  size_t joins = 0;
  dag.ForEachNode([&](const OperatorNode& n) {
    cost += n.estimated_cost;
    rows = std::max(rows, n.estimated_rows);
    if (IsJoin(n.type)) ++joins;
  });
  t.log_cost = std::log1p(cost);
  t.join_share = static_cast<double>(joins) / static_cast<double>(dag.node_count());
  t.log_rows = std::log1p(rows);
  return t;
}

/// Heavy-tailed multiplicative noise on the log scale: Gaussian with sd
/// `sigma`, plus with probability `outlier_p` an extra +U(0.5, 1.5) nats
/// (a 1.6x-4.5x slow run: cache misses, lock waits).
inline double LogNoise(Rng& rng, double sigma, double outlier_p) {
  double e = rng.Gaussian() * sigma;
  if (rng.UniformDouble() < outlier_p) e += 0.5 + rng.UniformDouble();
  return e;
}

}  // namespace ruvector_dag::sim

#endif  // RUVECTOR_DAG_SRC_SONA_INTERNAL_SIM_ENV_H_
