#include "dag/internal/format_util.h"

#include <algorithm>
#include <cmath>

namespace ruvector_dag::internal {
namespace {

std::string EdgeName(NodeId from, NodeId to) {
  return "edge " + std::to_string(from) + "->" + std::to_string(to);
}

}  // namespace

uint64_t MaxIdBoundFor(size_t node_count) {
  const uint64_t sparse = 8 * static_cast<uint64_t>(node_count) + 1024;
  return std::min<uint64_t>(sparse, uint64_t{kMaxNodeId} + 1);
}

std::string NodeWhere(uint64_t id) { return "node " + std::to_string(id); }

Status CheckNonNegative(double v, uint64_t node_id, std::string_view field) {
  if (std::isfinite(v) && v >= 0.0) return Status::Ok();
  return Status::InvalidArgument(NodeWhere(node_id) + ": field \"" + std::string(field) +
                                 "\" must be a finite number >= 0");
}

Status CheckNodeValues(const OperatorNode& node) {
  const uint64_t id = node.id;
  RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(node.estimated_rows, id, "estimated_rows"));
  RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(node.estimated_cost, id, "estimated_cost"));
  RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(node.startup_cost, id, "startup_cost"));
  RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(node.total_cost, id, "total_cost"));
  RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(node.width, id, "width"));
  if (node.actual_rows) RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(*node.actual_rows, id, "actual_rows"));
  if (node.actual_time_ms) {
    RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(*node.actual_time_ms, id, "actual_time_ms"));
  }
  if (node.actual_loops) RUVECTOR_RETURN_IF_ERROR(CheckNonNegative(*node.actual_loops, id, "actual_loops"));
  for (size_t i = 0; i < node.embedding.size(); ++i) {
    if (!std::isfinite(node.embedding[i])) {
      return Status::InvalidArgument(NodeWhere(id) + ": field \"embedding\" element " + std::to_string(i) +
                                     " must be a finite 32-bit float");
    }
  }
  if (!node.descending.empty() && node.descending.size() != node.keys.size()) {
    return Status::InvalidArgument(NodeWhere(id) + ": field \"descending\" has " +
                                   std::to_string(node.descending.size()) + " flags for " +
                                   std::to_string(node.keys.size()) +
                                   " keys (must be empty or one per key)");
  }
  if (node.workers_planned < 0) {
    return Status::InvalidArgument(NodeWhere(id) + ": field \"workers_planned\" must be >= 0");
  }
  if (node.workers_launched < -1) {
    return Status::InvalidArgument(NodeWhere(id) +
                                   ": field \"workers_launched\" must be >= -1 (-1: unknown)");
  }
  return Status::Ok();
}

Status CheckIdSpace(uint64_t id_bound, size_t node_count, const ParseLimits& limits,
                    std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  if (node_count > limits.max_nodes) {
    return Status::OutOfRange(prefix + std::to_string(node_count) + " nodes exceed the limit of " +
                              std::to_string(limits.max_nodes));
  }
  if (id_bound > uint64_t{kMaxNodeId} + 1) {
    return Status::OutOfRange(prefix + "node ids reach " + std::to_string(id_bound - 1) +
                              ", above the maximum id " + std::to_string(kMaxNodeId));
  }
  const uint64_t max_bound = MaxIdBoundFor(node_count);
  if (id_bound > max_bound) {
    return Status::OutOfRange(prefix + "id space of " + std::to_string(id_bound) + " for " +
                              std::to_string(node_count) +
                              " nodes is too sparse (at most 8 * nodes + 1024 = " +
                              std::to_string(max_bound) + " ids)");
  }
  if (id_bound > limits.max_nodes && id_bound > node_count) {
    return Status::OutOfRange(prefix + "id bound " + std::to_string(id_bound) +
                              " exceeds the node limit of " + std::to_string(limits.max_nodes));
  }
  return Status::Ok();
}

Status AddEdgesInOrder(QueryDag& dag, const std::vector<std::pair<NodeId, NodeId>>& edges) {
  // 1. Unknown ids and self-loops, in input order, with AddEdge's wording.
  for (const auto& [from, to] : edges) {
    if (!dag.Contains(from)) return Status::NotFound(EdgeName(from, to) + ": unknown node " + std::to_string(from));
    if (!dag.Contains(to)) return Status::NotFound(EdgeName(from, to) + ": unknown node " + std::to_string(to));
    if (from == to) return Status::InvalidArgument(EdgeName(from, to) + " is a self-loop");
  }
  const size_t n = dag.id_bound();
  // 2. CSR adjacency (both directions) over all edges, duplicates included.
  std::vector<uint32_t> out_start(n + 1, 0), in_start(n + 1, 0);
  for (const auto& [from, to] : edges) {
    ++out_start[from + 1];
    ++in_start[to + 1];
  }
  for (size_t i = 0; i < n; ++i) {
    out_start[i + 1] += out_start[i];
    in_start[i + 1] += in_start[i];
  }
  std::vector<NodeId> out_adj(edges.size()), in_adj(edges.size());
  std::vector<size_t> in_edge(edges.size());  // index into `edges`, grouped by target
  {
    std::vector<uint32_t> out_fill(out_start.begin(), out_start.end() - 1);
    std::vector<uint32_t> in_fill(in_start.begin(), in_start.end() - 1);
    for (size_t e = 0; e < edges.size(); ++e) {
      const auto [from, to] = edges[e];
      out_adj[out_fill[from]++] = to;
      in_edge[in_fill[to]] = e;
      in_adj[in_fill[to]++] = from;
    }
  }
  // 3. Kahn's algorithm: a topological order of the nodes, or a cycle.
  std::vector<uint32_t> indegree(n);
  for (size_t v = 0; v < n; ++v) indegree[v] = in_start[v + 1] - in_start[v];
  std::vector<NodeId> order;
  order.reserve(dag.node_count());
  for (NodeId v = 0; v < n; ++v) {
    if (dag.Contains(v) && indegree[v] == 0) order.push_back(v);
  }
  for (size_t head = 0; head < order.size(); ++head) {
    const NodeId v = order[head];
    for (uint32_t k = out_start[v]; k < out_start[v + 1]; ++k) {
      if (--indegree[out_adj[k]] == 0) order.push_back(out_adj[k]);
    }
  }
  if (order.size() != dag.node_count()) {
    // Every node left has an input from another node left: walk inputs
    // backwards until a node repeats; the repeated stretch is a cycle.
    NodeId start = 0;
    while (!(dag.Contains(start) && indegree[start] > 0)) ++start;
    std::vector<int64_t> seen_at(n, -1);
    std::vector<NodeId> walk;
    NodeId v = start;
    while (seen_at[v] < 0) {
      seen_at[v] = static_cast<int64_t>(walk.size());
      walk.push_back(v);
      NodeId next = kInvalidNodeId;
      for (uint32_t k = in_start[v]; k < in_start[v + 1]; ++k) {
        if (indegree[in_adj[k]] > 0) {
          next = in_adj[k];
          break;
        }
      }
      v = next;  // always found: v kept a positive in-degree
    }
    // walk[seen_at[v]..] follows inputs backwards; reverse it into data flow.
    std::vector<NodeId> cycle(walk.begin() + seen_at[v], walk.end());
    std::reverse(cycle.begin(), cycle.end());
    // Start the report at the smallest id, for a stable message.
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string path;
    for (NodeId id : cycle) path += std::to_string(id) + " -> ";
    path += std::to_string(cycle.front());
    return Status::FailedPrecondition(EdgeName(cycle.back(), cycle.front()) +
                                      " would create a cycle (" + path + ")");
  }
  // 4. Insert targets in reverse topological order, each target's inputs in
  // input order. When edge u->v is added, u's own inputs are not added yet,
  // so AddEdge skips its reachability walk.
  for (size_t i = order.size(); i-- > 0;) {
    const NodeId to = order[i];
    for (uint32_t k = in_start[to]; k < in_start[to + 1]; ++k) {
      const auto [from, target] = edges[in_edge[k]];
      RUVECTOR_RETURN_IF_ERROR(dag.AddEdge(from, target));
    }
  }
  return dag.Validate();
}

std::vector<std::pair<NodeId, NodeId>> EdgesByTarget(const QueryDag& dag) {
  std::vector<std::pair<NodeId, NodeId>> edges;
  edges.reserve(dag.edge_count());
  dag.ForEachNode([&](const OperatorNode& node) {
    for (NodeId parent : dag.parents(node.id)) edges.emplace_back(parent, node.id);
  });
  return edges;
}

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace ruvector_dag::internal
