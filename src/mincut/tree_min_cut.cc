// Exact fast path of MinCutEngine for in-trees (docs/mincut.md, "Fast path
// for in-trees").
//
// On an in-tree every simple path of the split network from the super source
// to the super sink is the path of one source up to the top (the network
// without the super source is a tree), so Dinic's run is fully determined:
// phase k pushes, in ascending source id, along every source path with k
// operators whose residuals all exceed eps (the bottleneck residual, repeated
// while the path stays open), and phases run by increasing k. Replaying that
// sequence with the same floating-point operations gives Dinic's per-node
// flows bit for bit; the residual reachability, the zero-capacity pruning and
// the criticality augmentations are then replayed on the tree in O(V) and
// O(sources below v x depth) instead of on the 2V+2-vertex network.
#include "mincut/internal/tree_min_cut.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ruvector_dag {
namespace mincut_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Must match DynamicMinCut: eps = kRelativeEpsilon * max(1, sum of capacities).
constexpr double kRelativeEpsilon = 1e-12;
constexpr NodeId kNone = kInvalidNodeId;
// The replay walks every source's path to the top: O(sum of source depths).
// Dinic is O(V) per phase with few phases on deep trees, so past this many
// path steps per operator (measured crossover ~50 on random plan trees of
// 1,000 operators) the caller's Dinic is as fast or faster: decline.
constexpr double kMaxPathStepsPerNode = 32.0;
constexpr double kMinPathStepBudget = 1024.0;

thread_local int force_dinic_depth = 0;

// Per-thread scratch, reused across calls (grows to the largest DAG seen).
struct Scratch {
  std::vector<NodeId> consumer;   // per id: the single consumer, or kNone
  std::vector<char> live;         // per id
  std::vector<uint32_t> in_begin; // per id + 1: inputs of id are in_ids[in_begin[id], in_begin[id+1])
  std::vector<NodeId> in_ids;
  std::vector<NodeId> preorder;   // top first; inputs after their consumer
  std::vector<uint32_t> depth;    // per id: operators on the path to the top
  std::vector<uint32_t> tin;      // per id: preorder position
  std::vector<uint32_t> size;     // per id: subtree size
  std::vector<double> steps;      // per id: sum of the depths of the sources below
  std::vector<NodeId> leaves;     // sources by (depth, id): Dinic's push order
  std::vector<double> flow;       // per id
  std::vector<double> trial;      // per id: flow during a criticality replay
  std::vector<char> reach_in;     // per id: v_in on the residual source side
  std::vector<char> reach_out;    // per id: v_out on the residual source side
  std::vector<char> blocked;      // per id: pruning
  std::vector<char> open;         // per id: pruning reachability
  std::vector<NodeId> stack;
  std::vector<NodeId> zero;
};

Scratch& GetScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Replays the pushes along `leaf`'s path to the top (Dinic's augmentations on
// that path within one phase). `relaxed` has infinite capacity (kNone: none).
// Adds each augmentation to `phase` one at a time, as Dinic sums a phase.
void PushLeaf(const Scratch& s, const std::vector<double>& cap, NodeId leaf, NodeId relaxed,
              double eps, std::vector<double>& flow, double& phase) {
  while (true) {
    double b = kInf;
    bool open = true;
    for (NodeId w = leaf; w != kNone; w = s.consumer[w]) {
      const double r = (w == relaxed ? kInf : cap[w]) - flow[w];
      if (!(r > eps)) {
        open = false;
        break;
      }
      b = std::min(b, r);
    }
    if (!open) return;
    for (NodeId w = leaf; w != kNone; w = s.consumer[w]) flow[w] += b;
    phase += b;
    // A single-node path through the relaxed node cannot close; callers
    // never relax a node that is both source and top.
    if (!std::isfinite(b)) return;
  }
}

}  // namespace

ScopedForceDinic::ScopedForceDinic() { ++force_dinic_depth; }
ScopedForceDinic::~ScopedForceDinic() { --force_dinic_depth; }
bool DinicForced() { return force_dinic_depth > 0; }

bool IsInTree(const QueryDag& dag) {
  if (dag.empty()) return false;
  size_t tops = 0;
  for (NodeId id = 0; id < dag.id_bound(); ++id) {
    if (!dag.Contains(id)) continue;
    const size_t consumers = dag.children(id).size();
    if (consumers > 1) return false;
    if (consumers == 0 && ++tops > 1) return false;
  }
  return tops == 1;
}

bool TreeMinCut(const QueryDag& dag, const std::vector<double>& capacities,
                bool compute_criticality, MinCutResult* out) {
  if (dag.empty()) return false;
  const NodeId bound = dag.id_bound();
  if (capacities.size() != bound) return false;
  Scratch& s = GetScratch();
  s.consumer.assign(bound, kNone);
  s.live.assign(bound, 0);
  s.in_begin.assign(bound + 1, 0);
  s.in_ids.clear();
  s.leaves.clear();
  NodeId top = kNone;
  size_t tops = 0;
  // Same summation order as DynamicMinCut (ascending id).
  double total_capacity = 0.0;
  for (NodeId id = 0; id < bound; ++id) {
    s.in_begin[id] = static_cast<uint32_t>(s.in_ids.size());
    if (!dag.Contains(id)) continue;
    s.live[id] = 1;
    const std::vector<NodeId>& in_ids = dag.parents(id);
    s.in_ids.insert(s.in_ids.end(), in_ids.begin(), in_ids.end());
    if (in_ids.empty()) s.leaves.push_back(id);
    const double c = capacities[id];
    if (!std::isfinite(c) || c < 0.0) return false;
    total_capacity += c;
    const std::vector<NodeId>& out_ids = dag.children(id);
    if (out_ids.size() > 1) return false;
    if (out_ids.empty()) {
      top = id;
      ++tops;
    } else {
      s.consumer[id] = out_ids[0];
    }
  }
  s.in_begin[bound] = static_cast<uint32_t>(s.in_ids.size());
  if (tops != 1) return false;
  auto inputs_begin = [&](NodeId v) { return s.in_ids.begin() + s.in_begin[v]; };
  auto inputs_end = [&](NodeId v) { return s.in_ids.begin() + s.in_begin[v + 1]; };
  auto is_source = [&](NodeId v) { return s.in_begin[v] == s.in_begin[v + 1]; };
  const double eps = kRelativeEpsilon * std::max(1.0, total_capacity);

  // Preorder from the top over inputs; depths; subtree intervals.
  s.preorder.clear();
  s.depth.assign(bound, 0);
  s.tin.assign(bound, 0);
  s.size.assign(bound, 1);
  s.steps.assign(bound, 0.0);
  s.stack.clear();
  s.stack.push_back(top);
  s.depth[top] = 1;
  const double step_budget =
      kMaxPathStepsPerNode * static_cast<double>(dag.node_count()) + kMinPathStepBudget;
  double path_steps = 0.0;
  while (!s.stack.empty()) {
    const NodeId v = s.stack.back();
    s.stack.pop_back();
    if (is_source(v)) {
      path_steps += s.depth[v];
      if (path_steps > step_budget) return false;  // decide before any further work
    }
    s.tin[v] = static_cast<uint32_t>(s.preorder.size());
    s.preorder.push_back(v);
    for (auto it = inputs_begin(v); it != inputs_end(v); ++it) {
      const NodeId u = *it;
      s.depth[u] = s.depth[v] + 1;
      s.stack.push_back(u);
    }
  }
  // Every live node hangs below the single top (no consumer cycles in a DAG).
  for (size_t i = s.preorder.size(); i-- > 0;) {
    const NodeId v = s.preorder[i];
    if (is_source(v)) s.steps[v] = s.depth[v];
    if (s.consumer[v] != kNone) {
      s.size[s.consumer[v]] += s.size[v];
      s.steps[s.consumer[v]] += s.steps[v];
    }
  }

  std::sort(s.leaves.begin(), s.leaves.end(), [&](NodeId a, NodeId b) {
    return s.depth[a] != s.depth[b] ? s.depth[a] < s.depth[b] : a < b;
  });

  // Dinic's maximum flow: phases by path length, sources ascending within.
  s.flow.assign(bound, 0.0);
  double f = 0.0;
  {
    double phase = 0.0;
    uint32_t phase_len = 0;
    for (NodeId leaf : s.leaves) {
      if (s.depth[leaf] != phase_len) {
        f += phase;
        phase = 0.0;
        phase_len = s.depth[leaf];
      }
      PushLeaf(s, capacities, leaf, kNone, eps, s.flow, phase);
    }
    f += phase;
  }

  // Residual source side (DynamicMinCut::RefreshCut on the tree): forward
  // split edges with residual > eps, backward edges carrying flow > eps.
  s.reach_in.assign(bound, 0);
  s.reach_out.assign(bound, 0);
  for (size_t i = s.preorder.size(); i-- > 0;) {  // inputs first
    const NodeId v = s.preorder[i];
    bool r = is_source(v);
    for (auto it = inputs_begin(v); it != inputs_end(v); ++it) r = r || s.reach_out[*it] != 0;
    s.reach_in[v] = r ? 1 : 0;
    s.reach_out[v] = r && capacities[v] - s.flow[v] > eps ? 1 : 0;
  }
  for (NodeId v : s.preorder) {  // consumers first
    if (!s.reach_in[v]) continue;
    for (auto it = inputs_begin(v); it != inputs_end(v); ++it) {
      const NodeId u = *it;
      if (s.flow[u] > eps) s.reach_in[u] = s.reach_out[u] = 1;
    }
  }

  std::vector<NodeId> cut;
  s.zero.clear();
  for (NodeId id = 0; id < bound; ++id) {
    if (!s.live[id] || !s.reach_in[id] || s.reach_out[id]) continue;
    cut.push_back(id);
    if (capacities[id] <= eps) s.zero.push_back(id);
  }
  // Drop zero-capacity cut nodes the rest of the cut already blocks
  // (ascending id), exactly as DynamicMinCut::RefreshCut.
  if (!s.zero.empty()) {
    s.blocked.assign(bound, 0);
    s.open.assign(bound, 0);
    for (NodeId id : cut) s.blocked[id] = 1;
    auto reaches = [&] {
      for (size_t i = s.preorder.size(); i-- > 0;) {
        const NodeId v = s.preorder[i];
        bool r = is_source(v);
        for (auto it = inputs_begin(v); it != inputs_end(v); ++it) r = r || s.open[*it] != 0;
        s.open[v] = r && !s.blocked[v] ? 1 : 0;
      }
      return s.open[top] != 0;
    };
    for (NodeId z : s.zero) {
      s.blocked[z] = 0;
      if (reaches()) s.blocked[z] = 1;
    }
    cut.erase(std::remove_if(cut.begin(), cut.end(), [&](NodeId id) { return !s.blocked[id]; }),
              cut.end());
  }

  if (compute_criticality) {
    // One replay of the sources below each cut node.
    double crit_steps = 0.0;
    for (NodeId v : cut) crit_steps += s.steps[v];
    if (crit_steps > step_budget) return false;
  }

  out->cut_value = 0.0;
  for (NodeId id : cut) out->cut_value += capacities[id];
  out->capacity.assign(bound, 0.0);
  out->flow.assign(bound, 0.0);
  out->flow_share.assign(bound, 0.0);
  out->criticality.assign(bound, 0.0);
  for (NodeId id = 0; id < bound; ++id) {
    if (!s.live[id]) continue;
    out->capacity[id] = capacities[id];
    out->flow[id] = s.flow[id];
    if (f > 0.0) out->flow_share[id] = std::clamp(s.flow[id] / f, 0.0, 1.0);
  }

  if (compute_criticality) {
    for (NodeId v : cut) {
      if (is_source(v) && s.consumer[v] == kNone) {
        // Source and top at once: relaxing it makes the flow unbounded.
        out->criticality[v] = 1.0;
        continue;
      }
      // Dinic resumed from the maximum flow with v's capacity infinite: only
      // paths through v can open, i.e. those of the sources below v.
      s.trial = s.flow;
      double fv = f;
      double phase = 0.0;
      uint32_t phase_len = 0;
      const uint32_t lo = s.tin[v];
      const uint32_t hi = lo + s.size[v];
      for (NodeId leaf : s.leaves) {
        if (s.tin[leaf] < lo || s.tin[leaf] >= hi) continue;
        if (s.depth[leaf] != phase_len) {
          fv += phase;
          phase = 0.0;
          phase_len = s.depth[leaf];
        }
        PushLeaf(s, capacities, leaf, v, eps, s.trial, phase);
      }
      fv += phase;
      out->criticality[v] = fv > 0.0 && std::isfinite(fv) ? std::clamp(1.0 - f / fv, 0.0, 1.0)
                                                          : (std::isfinite(fv) ? 0.0 : 1.0);
    }
  }
  out->cut_nodes = std::move(cut);
  return true;
}

}  // namespace mincut_internal
}  // namespace ruvector_dag
