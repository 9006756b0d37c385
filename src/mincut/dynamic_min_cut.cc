// DynamicMinCut: Dinic's max flow on the node-split DAG, kept maximum while
// operator capacities change. The repair argument is in docs/mincut.md
// ("Incremental updates").
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/core.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint32_t kNoEdge = ~0u;
// Residuals at or below eps_ count as zero; eps_ = kRelativeEpsilon *
// max(1, sum of finite capacities). Integer capacities below 2^40 stay exact.
constexpr double kRelativeEpsilon = 1e-12;

struct RawEdge {
  uint32_t from;
  uint32_t to;
  double cap;
};

}  // namespace

Status DynamicMinCut::Init(const QueryDag& dag, const std::vector<double>& capacities) {
  if (dag.empty()) return Status::FailedPrecondition("min cut of an empty DAG");
  const NodeId bound = dag.id_bound();
  if (capacities.size() != bound) {
    return Status::InvalidArgument("capacity vector has " + std::to_string(capacities.size()) +
                                   " entries, the DAG's id_bound is " + std::to_string(bound));
  }
  const std::vector<NodeId> ids = dag.NodeIds();
  for (NodeId id : ids) {
    const double c = capacities[id];
    if (!std::isfinite(c) || c < 0.0) {
      return Status::InvalidArgument("node " + std::to_string(id) + " (" +
                                     std::string(OperatorTypeName(dag.node(id)->type)) +
                                     ") has capacity " + FormatSignificant(c, 6) +
                                     ": capacities must be finite and >= 0");
    }
  }
  const uint32_t vertex_count = 2 * bound + 2;
  source_ = 2 * bound;
  sink_ = 2 * bound + 1;

  std::vector<RawEdge> raw;
  raw.reserve(ids.size() * 2 + dag.edge_count());
  split_edge_.assign(bound, kNoEdge);
  total_capacity_ = 0.0;
  for (NodeId id : ids) {
    split_edge_[id] = static_cast<uint32_t>(raw.size() * 2);
    raw.push_back({2 * id, 2 * id + 1, capacities[id]});
    total_capacity_ += capacities[id];
  }
  for (const auto& [from, to] : dag.Edges()) raw.push_back({2 * from + 1, 2 * to, kInf});
  const std::vector<NodeId> sources = dag.Sources();
  const std::vector<NodeId> sinks = dag.Sinks();
  for (NodeId id : sources) raw.push_back({source_, 2 * id, kInf});
  for (NodeId id : sinks) raw.push_back({2 * id + 1, sink_, kInf});
  isolated_.clear();
  std::set_intersection(sources.begin(), sources.end(), sinks.begin(), sinks.end(),
                        std::back_inserter(isolated_));

  const size_t edge_count = raw.size() * 2;
  to_.resize(edge_count);
  cap_.resize(edge_count);
  flow_.assign(edge_count, 0.0);
  std::vector<uint32_t> degree(vertex_count + 1, 0);
  for (size_t i = 0; i < raw.size(); ++i) {
    to_[2 * i] = raw[i].to;
    cap_[2 * i] = raw[i].cap;
    to_[2 * i + 1] = raw[i].from;
    cap_[2 * i + 1] = 0.0;
    ++degree[raw[i].from];
    ++degree[raw[i].to];
  }
  head_.assign(vertex_count + 1, 0);
  for (uint32_t v = 0; v < vertex_count; ++v) head_[v + 1] = head_[v] + degree[v];
  adj_.assign(edge_count, 0);
  std::vector<uint32_t> fill(head_.begin(), head_.end() - 1);
  // Edges in insertion order per tail vertex: deterministic searches.
  for (size_t e = 0; e < edge_count; ++e) {
    const uint32_t tail = to_[e ^ 1];
    adj_[fill[tail]++] = static_cast<uint32_t>(e);
  }
  level_.assign(vertex_count, -1);
  iter_.assign(vertex_count, 0);
  reach_.assign(vertex_count, 0);
  mark_.assign(vertex_count, 0);
  parent_.assign(vertex_count, kNoEdge);
  stamp_ = 0;
  queue_.reserve(vertex_count);
  UpdateEpsilon();
  flow_value_ = 0.0;
  stats_ = DynamicMinCutStats{};
  RunDinic();
  stats_ = DynamicMinCutStats{};  // count repair work only
  cut_dirty_ = true;
  return Status::Ok();
}

Result<DynamicMinCut> DynamicMinCut::Build(const QueryDag& dag, CapacityMode mode) {
  RUVECTOR_ASSIGN_OR_RETURN(std::vector<double> caps, ComputeCapacities(dag, mode));
  return Build(dag, caps);
}

Result<DynamicMinCut> DynamicMinCut::Build(const QueryDag& dag,
                                           const std::vector<double>& capacities) {
  DynamicMinCut cut;
  RUVECTOR_RETURN_IF_ERROR(cut.Init(dag, capacities));
  return cut;
}

void DynamicMinCut::UpdateEpsilon() { eps_ = kRelativeEpsilon * std::max(1.0, total_capacity_); }

bool DynamicMinCut::BuildLevels() {
  std::fill(level_.begin(), level_.end(), -1);
  queue_.clear();
  level_[source_] = 0;
  queue_.push_back(source_);
  for (size_t qi = 0; qi < queue_.size(); ++qi) {
    const uint32_t u = queue_[qi];
    // Vertices beyond the sink's level cannot be on a shortest path.
    if (level_[sink_] >= 0 && level_[u] >= level_[sink_]) break;
    for (uint32_t k = head_[u]; k < head_[u + 1]; ++k) {
      const uint32_t e = adj_[k];
      const uint32_t v = to_[e];
      if (level_[v] < 0 && cap_[e] - flow_[e] > eps_) {
        level_[v] = level_[u] + 1;
        queue_.push_back(v);
      }
    }
  }
  return level_[sink_] >= 0;
}

double DynamicMinCut::AugmentAlongPath() {
  double b = kInf;
  for (uint32_t e : path_) b = std::min(b, cap_[e] - flow_[e]);
  for (uint32_t e : path_) {
    flow_[e] += b;
    flow_[e ^ 1] -= b;
  }
  ++stats_.augmenting_paths;
  return b;
}

double DynamicMinCut::PushBlockingFlow() {
  for (uint32_t v = 0; v + 1 < head_.size(); ++v) iter_[v] = head_[v];
  double pushed = 0.0;
  path_.clear();
  uint32_t u = source_;
  while (true) {
    if (u == sink_) {
      pushed += AugmentAlongPath();
      path_.clear();
      u = source_;
      continue;
    }
    bool advanced = false;
    for (; iter_[u] < head_[u + 1]; ++iter_[u]) {
      const uint32_t e = adj_[iter_[u]];
      const uint32_t v = to_[e];
      if (level_[v] == level_[u] + 1 && cap_[e] - flow_[e] > eps_) {
        path_.push_back(e);
        u = v;
        advanced = true;
        break;
      }
    }
    if (advanced) continue;
    if (u == source_) return pushed;
    level_[u] = -1;  // dead end for the rest of this phase
    const uint32_t e = path_.back();
    path_.pop_back();
    u = to_[e ^ 1];
    ++iter_[u];
  }
}

void DynamicMinCut::RunDinic() {
  while (BuildLevels()) {
    ++stats_.bfs_phases;
    flow_value_ += PushBlockingFlow();
  }
}

void DynamicMinCut::RecomputeFromScratch() {
  std::fill(flow_.begin(), flow_.end(), 0.0);
  flow_value_ = 0.0;
  RunDinic();
  cut_dirty_ = true;
}

bool DynamicMinCut::CancelThrough(uint32_t edge, double amount, std::vector<uint32_t>* crossing) {
  const bool know_side = !cut_dirty_;
  const uint32_t v_in = to_[edge ^ 1];
  const uint32_t v_out = to_[edge];
  std::vector<uint32_t>& path = path_;
  while (amount > eps_) {
    path.clear();
    // Walk back to the source along edges that carry flow into x. The
    // forward network is acyclic, so this terminates.
    uint32_t x = v_in;
    while (x != source_) {
      uint32_t best = kNoEdge;
      for (uint32_t k = head_[x]; k < head_[x + 1]; ++k) {
        const uint32_t g = adj_[k];
        if ((g & 1u) == 0) continue;  // only reverse edges: they name inflows
        if (flow_[g ^ 1] > eps_) {
          best = g ^ 1;
          break;
        }
      }
      if (best == kNoEdge) return false;
      path.push_back(best);
      x = to_[best ^ 1];
    }
    path.push_back(edge);
    x = v_out;
    while (x != sink_) {
      uint32_t best = kNoEdge;
      for (uint32_t k = head_[x]; k < head_[x + 1]; ++k) {
        const uint32_t g = adj_[k];
        if ((g & 1u) != 0) continue;
        if (flow_[g] > eps_) {
          best = g;
          break;
        }
      }
      if (best == kNoEdge) return false;
      path.push_back(best);
      x = to_[best];
    }
    double b = amount;
    for (uint32_t e : path) b = std::min(b, flow_[e]);
    for (uint32_t e : path) {
      flow_[e] -= b;
      flow_[e ^ 1] += b;
      // A flow path of a maximum flow crosses the min cut exactly once, on a
      // saturated split edge; that edge is now open.
      const uint32_t tail = to_[e ^ 1];
      if (know_side && tail < source_ && (tail & 1u) == 0 && reach_[tail] && !reach_[tail + 1] &&
          std::find(crossing->begin(), crossing->end(), e) == crossing->end()) {
        crossing->push_back(e);
      }
    }
    flow_value_ -= b;
    amount -= b;
    ++stats_.cancelled_paths;
  }
  return true;
}

Status DynamicMinCut::SetCapacity(NodeId id, double capacity) {
  if (id >= split_edge_.size() || split_edge_[id] == kNoEdge) {
    return Status::NotFound("node " + std::to_string(id) + " is not in the min-cut network");
  }
  if (!std::isfinite(capacity) || capacity < 0.0) {
    return Status::InvalidArgument("capacity " + FormatSignificant(capacity, 6) + " for node " +
                                   std::to_string(id) + ": capacities must be finite and >= 0");
  }
  ++stats_.updates;
  const uint32_t e = split_edge_[id];
  const double old_cap = cap_[e];
  const double f = flow_[e];
  total_capacity_ += capacity - old_cap;
  UpdateEpsilon();
  if (capacity >= old_cap) {
    cap_[e] = capacity;
    // An edge that already had residual keeps it: no residual path appears,
    // so the flow stays maximum and the reachable set (the cut) is unchanged.
    if (old_cap - f > eps_ || capacity - f <= eps_) {
      ++stats_.fast_path_updates;
      return Status::Ok();
    }
    if (cut_dirty_) {
      RunDinic();
      return Status::Ok();
    }
    // Only this edge gained residual, so every augmenting path must use it:
    // none exists unless it leaves the known source side.
    if (!reach_[2 * id] || reach_[2 * id + 1]) {
      ++stats_.fast_path_updates;
      return Status::Ok();
    }
    const bool backward_first = 2 * reach_count_ < reach_.size();
    cut_dirty_ = true;
    AugmentThrough(e, backward_first);
    return Status::Ok();
  }
  if (f <= capacity + eps_) {
    // The flow still fits; residuals only shrank, so it is still maximum.
    cap_[e] = capacity;
    if (capacity - f <= eps_) cut_dirty_ = true;
    ++stats_.fast_path_updates;
    return Status::Ok();
  }
  cap_[e] = capacity;
  std::vector<uint32_t> crossing;
  const bool know_side = !cut_dirty_;
  if (!CancelThrough(e, f - capacity, &crossing)) {
    // Only reachable through accumulated rounding; stay correct.
    RecomputeFromScratch();
    return Status::Ok();
  }
  cut_dirty_ = true;
  if (know_side && crossing.size() == 1) {
    // The cancelled paths left the old source side through one cut edge
    // only: augmenting paths must use it (docs/mincut.md, section 6).
    AugmentThrough(crossing[0], 2 * reach_count_ < reach_.size());
  } else {
    RunDinic();
  }
  return Status::Ok();
}

int DynamicMinCut::FindPath(uint32_t from, uint32_t to, uint32_t blocked, bool backward) {
  // Breadth-first search (shortest paths keep augmentations few) over
  // residual edges; backward: over edges x -> y with residual, walking from
  // y to x. parent_[x] is the edge used to reach x. Never enters `blocked`.
  // Returns 1 when found, 0 when no path exists, -1 when the visit budget
  // of the current repair ran out.
  if (++stamp_ == 0) {
    std::fill(mark_.begin(), mark_.end(), 0);
    stamp_ = 1;
  }
  stack_.clear();
  mark_[from] = stamp_;
  mark_[blocked] = stamp_;
  stack_.push_back(from);
  for (size_t qi = 0; qi < stack_.size(); ++qi) {
    if (budget_ == 0) return -1;
    --budget_;
    const uint32_t y = stack_[qi];
    for (uint32_t k = head_[y]; k < head_[y + 1]; ++k) {
      const uint32_t g = adj_[k];
      const uint32_t x = to_[g];
      const uint32_t edge = backward ? (g ^ 1) : g;  // the residual edge between y and x
      if (mark_[x] == stamp_ || cap_[edge] - flow_[edge] <= eps_) continue;
      mark_[x] = stamp_;
      parent_[x] = edge;
      if (x == to) return 1;
      stack_.push_back(x);
    }
  }
  return 0;
}

void DynamicMinCut::AugmentThrough(uint32_t edge, bool backward_first) {
  ++stats_.local_repairs;
  const uint32_t v_in = to_[edge ^ 1];
  const uint32_t v_out = to_[edge];
  // A local repair may visit at most an eighth of the network in total;
  // past that, Dinic from the current (valid) flow is cheaper and finishes.
  budget_ = std::max<size_t>(64, (head_.size() - 1) / 8);
  // Forward part v_out ~> t and backward part s ~> v_in; the two lie on
  // opposite sides of the old cut, so together they form a simple path.
  // The side expected to be smaller is searched first: when its search
  // fails, the flow is maximum and the larger side is never explored.
  auto forward = [&] {
    const int r = FindPath(v_out, sink_, v_in, /*backward=*/false);
    if (r == 1) {
      for (uint32_t x = sink_; x != v_out; x = to_[parent_[x] ^ 1]) path_.push_back(parent_[x]);
    }
    return r;
  };
  auto backward = [&] {
    const int r = FindPath(v_in, source_, v_out, /*backward=*/true);
    if (r == 1) {
      for (uint32_t x = source_; x != v_in; x = to_[parent_[x]]) path_.push_back(parent_[x]);
    }
    return r;
  };
  while (cap_[edge] - flow_[edge] > eps_) {
    path_.clear();
    int r = backward_first ? backward() : forward();
    if (r == 1) r = backward_first ? forward() : backward();
    if (r == 0) return;  // no augmenting path: the flow is maximum
    if (r < 0) {
      ++stats_.local_fallbacks;
      RunDinic();
      return;
    }
    path_.push_back(edge);
    flow_value_ += AugmentAlongPath();
  }
}

void DynamicMinCut::RefreshCut() {
  std::fill(level_.begin(), level_.end(), -1);
  queue_.clear();
  level_[source_] = 0;
  queue_.push_back(source_);
  for (size_t qi = 0; qi < queue_.size(); ++qi) {
    const uint32_t u = queue_[qi];
    for (uint32_t k = head_[u]; k < head_[u + 1]; ++k) {
      const uint32_t e = adj_[k];
      const uint32_t v = to_[e];
      if (level_[v] < 0 && cap_[e] - flow_[e] > eps_) {
        level_[v] = 1;
        queue_.push_back(v);
      }
    }
  }
  reach_count_ = 0;
  for (size_t v = 0; v < reach_.size(); ++v) {
    reach_[v] = level_[v] >= 0 ? 1 : 0;
    reach_count_ += reach_[v];
  }
  cut_.clear();
  std::vector<NodeId> zero;
  for (NodeId id = 0; id < split_edge_.size(); ++id) {
    if (split_edge_[id] == kNoEdge) continue;
    if (level_[2 * id] >= 0 && level_[2 * id + 1] < 0) {
      cut_.push_back(id);
      if (cap_[split_edge_[id]] <= eps_) zero.push_back(id);
    }
  }
  // Zero-capacity operators reachable from the sources land in the cut even
  // when the rest of the cut already blocks them; drop those (ascending id)
  // so the cut stays inclusion-minimal. Only zero-capacity nodes can be
  // redundant: dropping a positive one would give a cheaper cut.
  if (!zero.empty()) {
    std::vector<char> blocked(split_edge_.size(), 0);
    for (NodeId id : cut_) blocked[id] = 1;
    for (NodeId z : zero) {
      blocked[z] = 0;
      if (Reaches(blocked)) blocked[z] = 1;
    }
    cut_.erase(std::remove_if(cut_.begin(), cut_.end(), [&](NodeId id) { return !blocked[id]; }),
               cut_.end());
  }
  cut_dirty_ = false;
}

bool DynamicMinCut::Reaches(const std::vector<char>& blocked) {
  // Structural reachability source -> sink over forward edges, skipping the
  // split edges of blocked operators (capacities ignored).
  std::fill(level_.begin(), level_.end(), -1);
  queue_.clear();
  level_[source_] = 0;
  queue_.push_back(source_);
  for (size_t qi = 0; qi < queue_.size(); ++qi) {
    const uint32_t u = queue_[qi];
    if (u == sink_) return true;
    for (uint32_t k = head_[u]; k < head_[u + 1]; ++k) {
      const uint32_t e = adj_[k];
      if ((e & 1u) != 0) continue;
      const uint32_t v = to_[e];
      if (level_[v] >= 0) continue;
      if (u < source_ && (u & 1u) == 0 && v == u + 1 && blocked[u / 2]) continue;
      level_[v] = 0;
      queue_.push_back(v);
    }
  }
  return false;
}

const std::vector<NodeId>& DynamicMinCut::CutNodes() {
  if (cut_dirty_) RefreshCut();
  return cut_;
}

double DynamicMinCut::capacity(NodeId id) const {
  if (id >= split_edge_.size() || split_edge_[id] == kNoEdge) return 0.0;
  return cap_[split_edge_[id]];
}

double DynamicMinCut::flow(NodeId id) const {
  if (id >= split_edge_.size() || split_edge_[id] == kNoEdge) return 0.0;
  return flow_[split_edge_[id]];
}

}  // namespace ruvector_dag
