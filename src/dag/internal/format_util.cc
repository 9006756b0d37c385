#include "dag/internal/format_util.h"

#include <algorithm>
#include <cmath>

namespace ruvector_dag::internal {

void MessageArg::AppendTo(std::string& out) const {
  if (kind_ == kNegative) out += '-';
  if (kind_ == kNumber || kind_ == kNegative) {
    out += std::to_string(number_);
    return;
  }
  for (char ch : text_) {
    if (ch == '%' && kind_ == kTextNumber) {
      out += std::to_string(number_);
    } else {
      out += ch;
    }
  }
}

void AppendFormat(std::string& out, std::string_view text, std::initializer_list<MessageArg> args) {
  const MessageArg* arg = args.begin();
  for (char ch : text) {
    if (ch == '%' && arg != args.end()) {
      (arg++)->AppendTo(out);
    } else {
      out += ch;
    }
  }
}

std::string Format(std::string_view text, std::initializer_list<MessageArg> args) {
  std::string out;
  AppendFormat(out, text, args);
  return out;
}

uint64_t MaxIdBoundFor(size_t node_count) {
  const uint64_t sparse = 8 * static_cast<uint64_t>(node_count) + 1024;
  return std::min<uint64_t>(sparse, uint64_t{kMaxNodeId} + 1);
}

std::string NodeWhere(uint64_t id) { return Format("node %", {id}); }

Status CheckNonNegative(double v, uint64_t node_id, std::string_view field) {
  if (std::isfinite(v) && v >= 0.0) return Status::Ok();
  return Status::InvalidArgument(Format("node %: field \"%\" must be a finite number >= 0", {node_id, field}));
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
      return Status::InvalidArgument(
          Format("node %: field \"embedding\" element % must be a finite 32-bit float", {id, i}));
    }
  }
  if (!node.descending.empty() && node.descending.size() != node.keys.size()) {
    return Status::InvalidArgument(
        Format("node %: field \"descending\" has % flags for % keys (must be empty or one per key)",
               {id, node.descending.size(), node.keys.size()}));
  }
  if (node.workers_planned < 0) {
    return Status::InvalidArgument(Format("node %: field \"workers_planned\" must be >= 0", {id}));
  }
  if (node.workers_launched < -1) {
    return Status::InvalidArgument(Format("node %: field \"workers_launched\" must be >= -1 (-1: unknown)", {id}));
  }
  return Status::Ok();
}

Status CheckIdSpace(uint64_t id_bound, size_t node_count, const ParseLimits& limits,
                    std::string_view what) {
  if (node_count > limits.max_nodes) {
    return Status::OutOfRange(Format("%: % nodes exceed the limit of %", {what, node_count, limits.max_nodes}));
  }
  if (id_bound > uint64_t{kMaxNodeId} + 1) {
    return Status::OutOfRange(
        Format("%: node ids reach %, above the maximum id %", {what, id_bound - 1, kMaxNodeId}));
  }
  const uint64_t max_bound = MaxIdBoundFor(node_count);
  if (id_bound > max_bound) {
    return Status::OutOfRange(
        Format("%: id space of % for % nodes is too sparse (at most 8 * nodes + 1024 = % ids)",
               {what, id_bound, node_count, max_bound}));
  }
  if (id_bound > limits.max_nodes && id_bound > node_count) {
    return Status::OutOfRange(
        Format("%: id bound % exceeds the node limit of %", {what, id_bound, limits.max_nodes}));
  }
  return Status::Ok();
}

namespace {

bool GoodEdge(const QueryDag& dag, NodeId from, NodeId to) {
  return from != to && dag.Contains(from) && dag.Contains(to);
}

// QueryDag::AddEdge's message for an edge that is not GoodEdge: "edge
// from->to: unknown node x" or "... is a self-loop".
[[gnu::noinline]] Status BadEdge(const QueryDag& dag, NodeId from, NodeId to) {
  if (!dag.Contains(from)) return Status::NotFound(Format("edge %->%: unknown node %", {from, to, from}));
  if (!dag.Contains(to)) return Status::NotFound(Format("edge %->%: unknown node %", {from, to, to}));
  return Status::InvalidArgument(Format("edge %->% is a self-loop", {from, to}));
}

// Steps 3 to 5 of AddEdgesInOrder on the CSR adjacency of all edges (both
// directions, duplicates included; ends already checked): a topological
// order or the cycle, the duplicates, then the adjacency lists.
Status FinishEdges(QueryDag& dag, const std::vector<uint32_t>& in_start, const std::vector<NodeId>& in_adj,
                   const std::vector<uint32_t>& out_start, const std::vector<NodeId>& out_adj) {
  const size_t n = dag.id_bound();
  // The per-edge loops index through raw pointers: in the -Oz WASM build
  // std::vector's operator[] and push_back are calls.
  const uint32_t* in_at = in_start.data();
  const NodeId* in = in_adj.data();
  const uint32_t* out_at = out_start.data();
  const NodeId* out = out_adj.data();
  // 3. Kahn's algorithm: a topological order of the nodes, or a cycle.
  std::vector<uint32_t> indegree(n);
  uint32_t* degree = indegree.data();
  for (size_t v = 0; v < n; ++v) degree[v] = in_at[v + 1] - in_at[v];
  std::vector<NodeId> order(dag.node_count());
  NodeId* sorted = order.data();
  size_t tail = 0;
  for (NodeId v = 0; v < n; ++v) {
    if (degree[v] == 0 && dag.Contains(v)) sorted[tail++] = v;
  }
  // Each live node enters the order once, so `tail` stays within its size.
  for (size_t head = 0; head < tail; ++head) {
    const NodeId v = sorted[head];
    for (uint32_t k = out_at[v]; k < out_at[v + 1]; ++k) {
      if (--degree[out[k]] == 0) sorted[tail++] = out[k];
    }
  }
  if (tail != dag.node_count()) {
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
    std::string message = Format("edge %->% would create a cycle (", {cycle.back(), cycle.front()});
    for (NodeId id : cycle) AppendFormat(message, "% -> ", {id});
    AppendFormat(message, "%)", {cycle.front()});
    return Status::FailedPrecondition(std::move(message));
  }
  // 4. Duplicates, reported in the order AddEdge calls would meet them:
  // targets in reverse topological order, each target's inputs in order.
  std::vector<NodeId> last_target(n, kInvalidNodeId);
  NodeId* last = last_target.data();
  for (size_t i = tail; i-- > 0;) {
    const NodeId to = sorted[i];
    for (uint32_t k = in_at[to]; k < in_at[to + 1]; ++k) {
      const NodeId from = in[k];
      if (last[from] == to) return Status::AlreadyExists(Format("edge %->% already exists", {from, to}));
      last[from] = to;
    }
  }
  // 5. Fill the adjacency lists; in_adj holds each target's inputs in input
  // order.
  DagBuilder::SetEdges(dag, in_start, in_adj, out_start, order);
  return Status::Ok();
}

// Prefix sums of per-node counts held at [v + 1]: starts of each node's run.
void CountsToStarts(std::vector<uint32_t>& start) {
  for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
}

}  // namespace

Status AddEdgesInOrder(QueryDag& dag, const std::vector<std::pair<NodeId, NodeId>>& edges) {
  if (dag.edge_count() != 0) return Status::Internal("AddEdgesInOrder needs a DAG without edges");
  // 1. Unknown ids and self-loops, in input order, with AddEdge's wording.
  for (const auto& [from, to] : edges) {
    if (!GoodEdge(dag, from, to)) return BadEdge(dag, from, to);
  }
  const size_t n = dag.id_bound();
  // 2. CSR adjacency (both directions) over all edges, duplicates included.
  std::vector<uint32_t> out_start(n + 1, 0), in_start(n + 1, 0);
  for (const auto& [from, to] : edges) {
    ++out_start[from + 1];
    ++in_start[to + 1];
  }
  CountsToStarts(out_start);
  CountsToStarts(in_start);
  std::vector<NodeId> out_adj(edges.size()), in_adj(edges.size());
  {
    std::vector<uint32_t> out_fill(out_start.begin(), out_start.end() - 1);
    std::vector<uint32_t> in_fill(in_start.begin(), in_start.end() - 1);
    for (const auto& [from, to] : edges) {
      out_adj[out_fill[from]++] = to;
      in_adj[in_fill[to]++] = from;
    }
  }
  return FinishEdges(dag, in_start, in_adj, out_start, out_adj);
}

Status AddEdgesByTarget(QueryDag& dag, std::vector<uint32_t> in_start, std::vector<NodeId> in_adj) {
  const size_t n = dag.id_bound();
  if (dag.edge_count() != 0 || in_start.size() != n + 1 || in_start[n] != in_adj.size()) {
    return Status::Internal("AddEdgesByTarget needs an edgeless DAG and id_bound + 1 starts");
  }
  // 1. Unknown ids and self-loops, targets ascending, with AddEdge's wording.
  // 2. The outputs' CSR: counted, then filled targets ascending (the order in
  // which AddEdgesInOrder meets these edges).
  std::vector<uint32_t> out_start(n + 1, 0);
  for (NodeId to = 0; to < n; ++to) {
    for (uint32_t k = in_start[to]; k < in_start[to + 1]; ++k) {
      if (!GoodEdge(dag, in_adj[k], to)) return BadEdge(dag, in_adj[k], to);
      ++out_start[in_adj[k] + 1];
    }
  }
  CountsToStarts(out_start);
  std::vector<NodeId> out_adj(in_adj.size());
  std::vector<uint32_t> out_fill(out_start.begin(), out_start.end() - 1);
  for (NodeId to = 0; to < n; ++to) {
    for (uint32_t k = in_start[to]; k < in_start[to + 1]; ++k) out_adj[out_fill[in_adj[k]]++] = to;
  }
  return FinishEdges(dag, in_start, in_adj, out_start, out_adj);
}

void DagBuilder::Start(QueryDag& dag, NodeId id_bound) { dag.slots_.resize(id_bound); }

OperatorNode& DagBuilder::Place(QueryDag& dag, NodeId id) {
  QueryDag::Slot& slot = dag.slots_[id];
  slot.alive = true;
  slot.node.id = id;
  ++dag.live_count_;
  return slot.node;
}

void DagBuilder::SetEdges(QueryDag& dag, const std::vector<uint32_t>& in_start, const std::vector<NodeId>& in_adj,
                          const std::vector<uint32_t>& out_start, const std::vector<NodeId>& order) {
  // The outputs are laid out in their final order in one array first, so
  // that each list is then copied in one piece (in the -Oz WASM build a
  // push_back per edge is a call).
  const uint32_t* in_at = in_start.data();
  const NodeId* in = in_adj.data();
  std::vector<NodeId> out_adj(in_adj.size());
  std::vector<uint32_t> out_fill(out_start.begin(), out_start.end() - 1);
  NodeId* out = out_adj.data();
  uint32_t* fill = out_fill.data();
  for (size_t i = order.size(); i-- > 0;) {
    const NodeId to = order[i];
    for (uint32_t k = in_at[to]; k < in_at[to + 1]; ++k) out[fill[in[k]]++] = to;
  }
  const uint32_t* out_at = out_start.data();
  QueryDag::Slot* slots = dag.slots_.data();
  for (size_t v = 0; v < dag.slots_.size(); ++v) {
    if (out_at[v + 1] > out_at[v]) slots[v].out.assign(out + out_at[v], out + out_at[v + 1]);
    if (in_at[v + 1] > in_at[v]) slots[v].in.assign(in + in_at[v], in + in_at[v + 1]);
  }
  dag.edge_count_ = in_adj.size();
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
