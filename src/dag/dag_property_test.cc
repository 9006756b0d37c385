// Property tests on random DAGs: acyclicity is kept under random edge
// insertions, topological orders are valid and deterministic, ids are stable.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag {
namespace {

// Reference reachability by plain DFS over Edges().
bool ReachesByEdges(const QueryDag& dag, NodeId from, NodeId to) {
  std::set<NodeId> seen{from};
  std::vector<NodeId> stack{from};
  const auto edges = dag.Edges();
  while (!stack.empty()) {
    const NodeId x = stack.back();
    stack.pop_back();
    if (x == to) return true;
    for (const auto& [a, b] : edges) {
      if (a == x && seen.insert(b).second) stack.push_back(b);
    }
  }
  return false;
}

void CheckTopologicalOrder(const QueryDag& dag) {
  const std::vector<NodeId> order = dag.TopologicalSort();
  RC_ASSERT(order.size() == dag.node_count());
  std::vector<size_t> position(dag.id_bound(), 0);
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  for (const auto& [from, to] : dag.Edges()) RC_ASSERT(position[from] < position[to]);
}

RC_GTEST_PROP(DagProperty, RandomInsertionsKeepTheGraphAcyclic, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 40);
  const auto attempts = *rc::gen::container<std::vector<std::pair<uint32_t, uint32_t>>>(
      rc::gen::pair(rc::gen::inRange<uint32_t>(0, n + 2), rc::gen::inRange<uint32_t>(0, n + 2)));
  QueryDag dag;
  for (size_t i = 0; i < n; ++i) RC_ASSERT(dag.AddNode(OperatorNode::Result()).value() == i);
  for (const auto& [from, to] : attempts) {
    const bool known = dag.Contains(from) && dag.Contains(to);
    const bool would_cycle = known && from != to && ReachesByEdges(dag, to, from);
    const bool duplicate = dag.HasEdge(from, to);
    const size_t edges_before = dag.edge_count();
    const Status s = dag.AddEdge(from, to);
    RC_ASSERT(s.ok() == (known && from != to && !would_cycle && !duplicate));
    RC_ASSERT(dag.edge_count() == edges_before + (s.ok() ? 1 : 0));
    if (!s.ok()) RC_ASSERT(s.message().find("edge " + std::to_string(from) + "->" + std::to_string(to)) != std::string::npos);
  }
  RC_ASSERT(dag.Validate().ok());
  CheckTopologicalOrder(dag);
}

RC_GTEST_PROP(DagProperty, RemovalsKeepIdsAndInvariants, ()) {
  const size_t n = *rc::gen::inRange<size_t>(2, 60);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  QueryDag dag = internal::RandomPlanDag(n, seed, 0.2);
  const auto removals = *rc::gen::container<std::vector<uint32_t>>(rc::gen::inRange<uint32_t>(0, n));
  std::set<NodeId> alive;
  for (NodeId id : dag.NodeIds()) alive.insert(id);
  for (NodeId id : removals) {
    const bool was_alive = alive.erase(id) > 0;
    RC_ASSERT(dag.RemoveNode(id).ok() == was_alive);
  }
  RC_ASSERT(dag.node_count() == alive.size());
  RC_ASSERT(std::vector<NodeId>(alive.begin(), alive.end()) == dag.NodeIds());
  for (NodeId id : alive) RC_ASSERT(dag.node(id)->id == id);
  RC_ASSERT(dag.Validate().ok());
  CheckTopologicalOrder(dag);
  // New ids continue after every id ever used.
  RC_ASSERT(dag.AddNode(OperatorNode::Result()).value() == n);
}

RC_GTEST_PROP(DagProperty, AnalysesAreDeterministicAndConsistent, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 80);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const QueryDag a = internal::RandomPlanDag(n, seed, 0.1);
  const QueryDag b = internal::RandomPlanDag(n, seed, 0.1);
  RC_ASSERT(a == b);
  RC_ASSERT(a.TopologicalSort() == b.TopologicalSort());
  RC_ASSERT(a.ContentHash() == b.ContentHash());
  const CriticalPath path = a.ComputeCriticalPath().value();
  RC_ASSERT(!path.nodes.empty());
  RC_ASSERT(a.parents(path.nodes.front()).empty());
  RC_ASSERT(a.children(path.nodes.back()).empty());
  double sum = 0;
  for (size_t i = 0; i < path.nodes.size(); ++i) {
    sum += a.node(path.nodes[i])->estimated_cost;
    if (i) RC_ASSERT(a.HasEdge(path.nodes[i - 1], path.nodes[i]));
  }
  RC_ASSERT(std::abs(sum - path.cost) <= 1e-9 * std::max(1.0, sum));
  // No source-to-sink path is costlier: compare against the depth-first
  // enumeration bound (longest path by dynamic programming from each source).
  const auto depths = a.Depths();
  for (NodeId id : a.NodeIds()) {
    for (NodeId child : a.children(id)) RC_ASSERT(depths[id] >= depths[child] + 1);
    if (a.children(id).empty()) RC_ASSERT(depths[id] == 0);
  }
  // Ancestors/descendants agree with each other.
  for (NodeId id : a.NodeIds()) {
    for (NodeId d : a.Descendants(id).value()) {
      const auto anc = a.Ancestors(d).value();
      RC_ASSERT(std::binary_search(anc.begin(), anc.end(), id));
    }
  }
}

}  // namespace
}  // namespace ruvector_dag
