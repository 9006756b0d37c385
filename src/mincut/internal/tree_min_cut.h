// Internal to the mincut module: the exact fast path of MinCutEngine for
// in-trees (docs/mincut.md, "Fast path for in-trees"). Not installed, not
// part of the public API.
#ifndef RUVECTOR_DAG_SRC_MINCUT_INTERNAL_TREE_MIN_CUT_H_
#define RUVECTOR_DAG_SRC_MINCUT_INTERNAL_TREE_MIN_CUT_H_

#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag {
namespace mincut_internal {

/// True when every live node has at most one consumer and exactly one node
/// has none (the plan's top): the shape of PostgreSQL plans. O(V).
bool IsInTree(const QueryDag& dag);

/// When `dag` is an in-tree, `capacities` is valid (id_bound() entries,
/// finite, >= 0) and the replay is cheap (sum of the sources' depths, and with
/// criticality the same summed over the sources below each cut node, at most
/// 32 per operator + 1024; beyond that Dinic is as fast), fills out->cut_value, cut_nodes, capacity, flow,
/// flow_share and criticality (when `compute_criticality`) exactly as the
/// Dinic path of MinCutEngine::AnalyzeWithCapacities does (same cut, same
/// per-node flows bit for bit) and returns true; otherwise returns false and
/// leaves `out` untouched (the caller runs Dinic, which also reports errors).
/// O(sum over sources of their depth), plus the same per cut node with
/// criticality. Scratch is thread_local: safe to call concurrently.
bool TreeMinCut(const QueryDag& dag, const std::vector<double>& capacities,
                bool compute_criticality, MinCutResult* out);

/// While alive, MinCutEngine on this thread skips the fast path and always
/// runs Dinic (for tests comparing the two). Nests.
class ScopedForceDinic {
 public:
  ScopedForceDinic();
  ~ScopedForceDinic();
  ScopedForceDinic(const ScopedForceDinic&) = delete;
  ScopedForceDinic& operator=(const ScopedForceDinic&) = delete;
};

/// True while a ScopedForceDinic is alive on this thread.
bool DinicForced();

}  // namespace mincut_internal
}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_SRC_MINCUT_INTERNAL_TREE_MIN_CUT_H_
