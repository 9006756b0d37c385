#include <algorithm>
#include <cmath>

#include "ruvector_dag/attention.h"

namespace ruvector_dag {

Result<PreparedDag> PreparedDag::Build(const QueryDag& dag) {
  PreparedDag plan;
  RUVECTOR_RETURN_IF_ERROR(plan.Reset(dag));
  return plan;
}

Status PreparedDag::Reset(const QueryDag& dag) {
  if (dag.empty()) return Status::FailedPrecondition("attention: the DAG is empty (no live nodes)");
  dag_ = &dag;
  const NodeId bound = dag.id_bound();
  const size_t n = dag.node_count();
  ids_.clear();
  ids_.reserve(n);
  index_of_.assign(bound, -1);
  cost_.resize(n);
  for (NodeId id = 0; id < bound; ++id) {
    const OperatorNode* node = dag.node(id);
    if (node == nullptr) continue;
    index_of_[id] = static_cast<int32_t>(ids_.size());
    const double c = node->estimated_cost;
    cost_[ids_.size()] = std::isfinite(c) && c > 0.0 ? c : 0.0;
    ids_.push_back(id);
  }

  // CSR adjacency over dense indices.
  child_off_.resize(n + 1);
  parent_off_.resize(n + 1);
  child_off_[0] = parent_off_[0] = 0;
  child_idx_.clear();
  parent_idx_.clear();
  sources_ = sinks_ = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& out = dag.children(ids_[i]);
    const auto& in = dag.parents(ids_[i]);
    for (NodeId c : out) child_idx_.push_back(static_cast<uint32_t>(index_of_[c]));
    for (NodeId p : in) parent_idx_.push_back(static_cast<uint32_t>(index_of_[p]));
    child_off_[i + 1] = static_cast<uint32_t>(child_idx_.size());
    parent_off_[i + 1] = static_cast<uint32_t>(parent_idx_.size());
    if (in.empty()) ++sources_;
    if (out.empty()) ++sinks_;
  }

  // Kahn's algorithm with a FIFO (topo_ doubles as the queue): sources in
  // ascending id order, then consumers as they become ready. Deterministic.
  scratch_.resize(n);
  topo_.clear();
  topo_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    scratch_[i] = parent_off_[i + 1] - parent_off_[i];
    if (scratch_[i] == 0) topo_.push_back(static_cast<uint32_t>(i));
  }
  for (size_t head = 0; head < topo_.size(); ++head) {
    const uint32_t i = topo_[head];
    for (uint32_t k = child_off_[i]; k < child_off_[i + 1]; ++k) {
      const uint32_t c = child_idx_[k];
      if (--scratch_[c] == 0) topo_.push_back(c);
    }
  }
  if (topo_.size() != n) {
    return Status::Internal("attention: the DAG has a cycle (" + std::to_string(n - topo_.size()) +
                            " nodes never became ready)");
  }

  level_.assign(n, 0);
  for (uint32_t i : topo_) {
    for (uint32_t k = child_off_[i]; k < child_off_[i + 1]; ++k) {
      const uint32_t c = child_idx_[k];
      level_[c] = std::max(level_[c], level_[i] + 1);
    }
  }
  height_.assign(n, 0);
  max_height_ = 0;
  for (size_t t = n; t-- > 0;) {
    const uint32_t i = topo_[t];
    uint32_t h = 0;
    for (uint32_t k = child_off_[i]; k < child_off_[i + 1]; ++k) h = std::max(h, height_[child_idx_[k]] + 1);
    height_[i] = h;
    max_height_ = std::max(max_height_, h);
  }
  scratch_.assign(static_cast<size_t>(max_height_) + 1, 0);
  max_width_ = 0;
  for (size_t i = 0; i < n; ++i) max_width_ = std::max(max_width_, ++scratch_[height_[i]]);
  return Status::Ok();
}

}  // namespace ruvector_dag
