#include "ruvector_dag/dag.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <string>

#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

struct TypeName {
  OperatorType type;
  std::string_view name;
};

// EXPLAIN's names for PostgreSQL types (src/backend/commands/explain.c) and
// the crate's names for the vector/logical ones.
constexpr TypeName kTypeNames[] = {
    {OperatorType::kSeqScan, "Seq Scan"},
    {OperatorType::kSampleScan, "Sample Scan"},
    {OperatorType::kIndexScan, "Index Scan"},
    {OperatorType::kIndexOnlyScan, "Index Only Scan"},
    {OperatorType::kBitmapIndexScan, "Bitmap Index Scan"},
    {OperatorType::kBitmapHeapScan, "Bitmap Heap Scan"},
    {OperatorType::kBitmapAnd, "BitmapAnd"},
    {OperatorType::kBitmapOr, "BitmapOr"},
    {OperatorType::kTidScan, "Tid Scan"},
    {OperatorType::kTidRangeScan, "Tid Range Scan"},
    {OperatorType::kSubqueryScan, "Subquery Scan"},
    {OperatorType::kFunctionScan, "Function Scan"},
    {OperatorType::kTableFunctionScan, "Table Function Scan"},
    {OperatorType::kValuesScan, "Values Scan"},
    {OperatorType::kCteScan, "CTE Scan"},
    {OperatorType::kNamedTuplestoreScan, "Named Tuplestore Scan"},
    {OperatorType::kWorkTableScan, "WorkTable Scan"},
    {OperatorType::kForeignScan, "Foreign Scan"},
    {OperatorType::kCustomScan, "Custom Scan"},
    {OperatorType::kNestedLoop, "Nested Loop"},
    {OperatorType::kHashJoin, "Hash Join"},
    {OperatorType::kMergeJoin, "Merge Join"},
    {OperatorType::kHash, "Hash"},
    {OperatorType::kMaterialize, "Materialize"},
    {OperatorType::kMemoize, "Memoize"},
    {OperatorType::kSort, "Sort"},
    {OperatorType::kIncrementalSort, "Incremental Sort"},
    {OperatorType::kGroup, "Group"},
    {OperatorType::kAggregate, "Aggregate"},
    {OperatorType::kWindowAgg, "WindowAgg"},
    {OperatorType::kUnique, "Unique"},
    {OperatorType::kSetOp, "SetOp"},
    {OperatorType::kLockRows, "LockRows"},
    {OperatorType::kLimit, "Limit"},
    {OperatorType::kAppend, "Append"},
    {OperatorType::kMergeAppend, "Merge Append"},
    {OperatorType::kRecursiveUnion, "Recursive Union"},
    {OperatorType::kGather, "Gather"},
    {OperatorType::kGatherMerge, "Gather Merge"},
    {OperatorType::kModifyTable, "ModifyTable"},
    {OperatorType::kProjectSet, "ProjectSet"},
    {OperatorType::kResult, "Result"},
    {OperatorType::kHnswScan, "HnswScan"},
    {OperatorType::kIvfFlatScan, "IvfFlatScan"},
    {OperatorType::kVectorDistance, "VectorDistance"},
    {OperatorType::kRerank, "Rerank"},
    {OperatorType::kFilter, "Filter"},
    {OperatorType::kProject, "Project"},
    {OperatorType::kGroupBy, "GroupBy"},
};
static_assert(std::size(kTypeNames) == kOperatorTypeCount, "every OperatorType needs a name");

const std::vector<NodeId>& EmptyIds() {
  static const std::vector<NodeId> kEmpty;
  return kEmpty;
}

std::string EdgeName(NodeId from, NodeId to) {
  return "edge " + std::to_string(from) + "->" + std::to_string(to);
}

uint64_t HashString(uint64_t h, const std::string& s) { return HashCombine(h, Hash64(s)); }

uint64_t HashOptional(uint64_t h, const std::optional<double>& v) {
  return v ? HashCombine(HashCombine(h, 1), HashDouble(*v)) : HashCombine(h, 0);
}

}  // namespace

std::string_view OperatorTypeName(OperatorType type) {
  const auto index = static_cast<size_t>(type);
  return index < kOperatorTypeCount ? kTypeNames[index].name : std::string_view("Unknown");
}

std::optional<OperatorType> OperatorTypeFromName(std::string_view name) {
  for (const auto& entry : kTypeNames) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

bool IsScan(OperatorType type) {
  switch (type) {
    case OperatorType::kSeqScan: case OperatorType::kSampleScan: case OperatorType::kIndexScan:
    case OperatorType::kIndexOnlyScan: case OperatorType::kBitmapIndexScan:
    case OperatorType::kBitmapHeapScan: case OperatorType::kTidScan:
    case OperatorType::kTidRangeScan: case OperatorType::kSubqueryScan:
    case OperatorType::kFunctionScan: case OperatorType::kTableFunctionScan:
    case OperatorType::kValuesScan: case OperatorType::kCteScan:
    case OperatorType::kNamedTuplestoreScan: case OperatorType::kWorkTableScan:
    case OperatorType::kForeignScan: case OperatorType::kCustomScan:
    case OperatorType::kHnswScan: case OperatorType::kIvfFlatScan:
      return true;
    default:
      return false;
  }
}

bool IsJoin(OperatorType type) {
  return type == OperatorType::kNestedLoop || type == OperatorType::kHashJoin ||
         type == OperatorType::kMergeJoin;
}

// --- OperatorNode builders --------------------------------------------------

OperatorNode OperatorNode::Make(OperatorType type) {
  OperatorNode node;
  node.type = type;
  return node;
}
OperatorNode OperatorNode::SeqScan(std::string_view table) {
  OperatorNode n = Make(OperatorType::kSeqScan);
  n.relation = table;
  return n;
}
OperatorNode OperatorNode::IndexScan(std::string_view index, std::string_view table) {
  OperatorNode n = Make(OperatorType::kIndexScan);
  n.index = index;
  n.relation = table;
  return n;
}
OperatorNode OperatorNode::IndexOnlyScan(std::string_view index, std::string_view table) {
  OperatorNode n = IndexScan(index, table);
  n.type = OperatorType::kIndexOnlyScan;
  return n;
}
OperatorNode OperatorNode::HnswScan(std::string_view index, uint32_t ef_search) {
  OperatorNode n = Make(OperatorType::kHnswScan);
  n.index = index;
  n.parameter = ef_search;
  return n;
}
OperatorNode OperatorNode::IvfFlatScan(std::string_view index, uint32_t nprobe) {
  OperatorNode n = Make(OperatorType::kIvfFlatScan);
  n.index = index;
  n.parameter = nprobe;
  return n;
}
OperatorNode OperatorNode::NestedLoopJoin() { return Make(OperatorType::kNestedLoop); }
OperatorNode OperatorNode::HashJoin(std::string_view hash_key) {
  OperatorNode n = Make(OperatorType::kHashJoin);
  n.predicate = hash_key;
  return n;
}
OperatorNode OperatorNode::MergeJoin(std::string_view merge_key) {
  OperatorNode n = Make(OperatorType::kMergeJoin);
  n.predicate = merge_key;
  return n;
}
OperatorNode OperatorNode::Hash() { return Make(OperatorType::kHash); }
OperatorNode OperatorNode::Filter(std::string_view predicate) {
  OperatorNode n = Make(OperatorType::kFilter);
  n.predicate = predicate;
  return n;
}
OperatorNode OperatorNode::Project(std::vector<std::string> columns) {
  OperatorNode n = Make(OperatorType::kProject);
  n.keys = std::move(columns);
  return n;
}
OperatorNode OperatorNode::Sort(std::vector<std::string> keys, std::vector<bool> descending) {
  OperatorNode n = Make(OperatorType::kSort);
  if (descending.empty()) descending.assign(keys.size(), false);
  n.keys = std::move(keys);
  n.descending = std::move(descending);
  return n;
}
OperatorNode OperatorNode::Limit(int64_t count) {
  OperatorNode n = Make(OperatorType::kLimit);
  n.parameter = count;
  return n;
}
OperatorNode OperatorNode::Aggregate(std::vector<std::string> functions) {
  OperatorNode n = Make(OperatorType::kAggregate);
  n.keys = std::move(functions);
  return n;
}
OperatorNode OperatorNode::GroupBy(std::vector<std::string> keys) {
  OperatorNode n = Make(OperatorType::kGroupBy);
  n.keys = std::move(keys);
  return n;
}
OperatorNode OperatorNode::VectorDistance(std::string_view metric) {
  OperatorNode n = Make(OperatorType::kVectorDistance);
  n.detail = metric;
  return n;
}
OperatorNode OperatorNode::Rerank(std::string_view model) {
  OperatorNode n = Make(OperatorType::kRerank);
  n.detail = model;
  return n;
}
OperatorNode OperatorNode::Materialize() { return Make(OperatorType::kMaterialize); }
OperatorNode OperatorNode::Result() { return Make(OperatorType::kResult); }

OperatorNode& OperatorNode::WithEstimates(double rows, double cost) {
  estimated_rows = rows;
  estimated_cost = cost;
  return *this;
}
OperatorNode& OperatorNode::WithActuals(double rows, double time_ms) {
  actual_rows = rows;
  actual_time_ms = time_ms;
  return *this;
}

// --- QueryDag: construction ---------------------------------------------------

Result<NodeId> QueryDag::AddNode(OperatorNode node) {
  if (slots_.size() > kMaxNodeId) {
    return Status::OutOfRange("cannot add node: id space exhausted (max id " +
                              std::to_string(kMaxNodeId) + ")");
  }
  const auto id = static_cast<NodeId>(slots_.size());
  node.id = id;
  slots_.emplace_back();
  slots_.back().alive = true;
  slots_.back().node = std::move(node);
  ++live_count_;
  return id;
}

Status QueryDag::AddNodeWithId(NodeId id, OperatorNode node) {
  if (id > kMaxNodeId) {
    return Status::OutOfRange("node id " + std::to_string(id) + " exceeds the maximum " +
                              std::to_string(kMaxNodeId));
  }
  if (id < slots_.size()) {
    return Status::AlreadyExists("node id " + std::to_string(id) + " is already used");
  }
  slots_.resize(static_cast<size_t>(id) + 1);
  node.id = id;
  slots_[id].alive = true;
  slots_[id].node = std::move(node);
  ++live_count_;
  return Status::Ok();
}

Status QueryDag::ReserveIds(NodeId bound) {
  if (bound > kMaxNodeId + 1) {
    return Status::OutOfRange("id bound " + std::to_string(bound) + " exceeds the maximum " +
                              std::to_string(kMaxNodeId + 1));
  }
  if (bound > slots_.size()) slots_.resize(bound);
  return Status::Ok();
}

Status QueryDag::AddEdge(NodeId from, NodeId to) {
  if (!Contains(from)) return Status::NotFound(EdgeName(from, to) + ": unknown node " + std::to_string(from));
  if (!Contains(to)) return Status::NotFound(EdgeName(from, to) + ": unknown node " + std::to_string(to));
  if (from == to) return Status::InvalidArgument(EdgeName(from, to) + " is a self-loop");
  if (HasEdge(from, to)) return Status::AlreadyExists(EdgeName(from, to) + " already exists");
  // A cycle needs a path to -> ... -> from; impossible if `to` feeds nothing
  // or `from` has no inputs (the common cases when building a plan).
  if (!slots_[to].out.empty() && !slots_[from].in.empty() && Reaches(to, from)) {
    return Status::FailedPrecondition(EdgeName(from, to) + " would create a cycle");
  }
  slots_[from].out.push_back(to);
  slots_[to].in.push_back(from);
  ++edge_count_;
  return Status::Ok();
}

Status QueryDag::RemoveEdge(NodeId from, NodeId to) {
  if (!HasEdge(from, to)) return Status::NotFound(EdgeName(from, to) + " does not exist");
  auto& out = slots_[from].out;
  out.erase(std::find(out.begin(), out.end(), to));
  auto& in = slots_[to].in;
  in.erase(std::find(in.begin(), in.end(), from));
  --edge_count_;
  return Status::Ok();
}

Status QueryDag::RemoveNode(NodeId id) {
  if (!Contains(id)) return Status::NotFound("node " + std::to_string(id) + " does not exist");
  Slot& slot = slots_[id];
  for (NodeId child : slot.out) {
    auto& in = slots_[child].in;
    in.erase(std::find(in.begin(), in.end(), id));
  }
  for (NodeId parent : slot.in) {
    auto& out = slots_[parent].out;
    out.erase(std::find(out.begin(), out.end(), id));
  }
  edge_count_ -= slot.out.size() + slot.in.size();
  slot = Slot();  // dead; the id stays taken
  --live_count_;
  return Status::Ok();
}

void QueryDag::Clear() {
  slots_.clear();
  live_count_ = 0;
  edge_count_ = 0;
}

// --- QueryDag: access -----------------------------------------------------------

bool QueryDag::Contains(NodeId id) const { return id < slots_.size() && slots_[id].alive; }

const OperatorNode* QueryDag::node(NodeId id) const {
  return Contains(id) ? &slots_[id].node : nullptr;
}

OperatorNode* QueryDag::mutable_node(NodeId id) { return Contains(id) ? &slots_[id].node : nullptr; }

std::vector<NodeId> QueryDag::NodeIds() const {
  std::vector<NodeId> ids;
  ids.reserve(live_count_);
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (slots_[id].alive) ids.push_back(id);
  }
  return ids;
}

void QueryDag::ForEachNode(const std::function<void(const OperatorNode&)>& fn) const {
  for (const Slot& slot : slots_) {
    if (slot.alive) fn(slot.node);
  }
}

std::vector<std::pair<NodeId, NodeId>> QueryDag::Edges() const {
  std::vector<std::pair<NodeId, NodeId>> edges;
  edges.reserve(edge_count_);
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (!slots_[id].alive) continue;
    for (NodeId child : slots_[id].out) edges.emplace_back(id, child);
  }
  std::sort(edges.begin(), edges.end());
  return edges;
}

const std::vector<NodeId>& QueryDag::children(NodeId id) const {
  return Contains(id) ? slots_[id].out : EmptyIds();
}

const std::vector<NodeId>& QueryDag::parents(NodeId id) const {
  return Contains(id) ? slots_[id].in : EmptyIds();
}

bool QueryDag::HasEdge(NodeId from, NodeId to) const {
  if (!Contains(from) || !Contains(to)) return false;
  const auto& out = slots_[from].out;
  const auto& in = slots_[to].in;
  // Scan the shorter list.
  if (out.size() <= in.size()) return std::find(out.begin(), out.end(), to) != out.end();
  return std::find(in.begin(), in.end(), from) != in.end();
}

std::vector<NodeId> QueryDag::Sources() const {
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (slots_[id].alive && slots_[id].in.empty()) ids.push_back(id);
  }
  return ids;
}

std::vector<NodeId> QueryDag::Sinks() const {
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (slots_[id].alive && slots_[id].out.empty()) ids.push_back(id);
  }
  return ids;
}

// --- QueryDag: algorithms -------------------------------------------------------

bool QueryDag::Reaches(NodeId from, NodeId target) const {
  std::vector<bool> seen(slots_.size(), false);
  std::vector<NodeId> stack{from};
  seen[from] = true;
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    if (id == target) return true;
    for (NodeId next : slots_[id].out) {
      if (!seen[next]) {
        seen[next] = true;
        stack.push_back(next);
      }
    }
  }
  return false;
}

std::vector<NodeId> QueryDag::TopologicalSort() const {
  std::vector<uint32_t> indegree(slots_.size(), 0);
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (!slots_[id].alive) continue;
    indegree[id] = static_cast<uint32_t>(slots_[id].in.size());
    if (indegree[id] == 0) ready.push(id);
  }
  std::vector<NodeId> order;
  order.reserve(live_count_);
  while (!ready.empty()) {
    const NodeId id = ready.top();
    ready.pop();
    order.push_back(id);
    for (NodeId child : slots_[id].out) {
      if (--indegree[child] == 0) ready.push(child);
    }
  }
  return order;
}

std::vector<uint32_t> QueryDag::Depths() const {
  std::vector<uint32_t> depth(slots_.size(), 0);
  const std::vector<NodeId> order = TopologicalSort();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    uint32_t best = 0;
    for (NodeId child : slots_[*it].out) best = std::max(best, depth[child] + 1);
    depth[*it] = best;
  }
  return depth;
}

Result<uint32_t> QueryDag::Depth(NodeId id) const {
  if (!Contains(id)) return Status::NotFound("node " + std::to_string(id) + " does not exist");
  return Depths()[id];
}

uint32_t QueryDag::MaxDepth() const {
  const std::vector<uint32_t> depth = Depths();
  return depth.empty() ? 0 : *std::max_element(depth.begin(), depth.end());
}

Result<std::vector<NodeId>> QueryDag::Reachable(NodeId id, bool downstream) const {
  if (!Contains(id)) return Status::NotFound("node " + std::to_string(id) + " does not exist");
  std::vector<bool> seen(slots_.size(), false);
  std::vector<NodeId> stack{id};
  seen[id] = true;
  std::vector<NodeId> result;
  while (!stack.empty()) {
    const NodeId current = stack.back();
    stack.pop_back();
    for (NodeId next : downstream ? slots_[current].out : slots_[current].in) {
      if (!seen[next]) {
        seen[next] = true;
        result.push_back(next);
        stack.push_back(next);
      }
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

Result<std::vector<NodeId>> QueryDag::Ancestors(NodeId id) const { return Reachable(id, false); }
Result<std::vector<NodeId>> QueryDag::Descendants(NodeId id) const { return Reachable(id, true); }

Result<std::vector<NodeId>> QueryDag::DepthFirst(NodeId start) const {
  if (!Contains(start)) return Status::NotFound("node " + std::to_string(start) + " does not exist");
  std::vector<bool> seen(slots_.size(), false);
  std::vector<NodeId> stack{start};
  std::vector<NodeId> order;
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    if (seen[id]) continue;
    seen[id] = true;
    order.push_back(id);
    const auto& out = slots_[id].out;
    // Push in reverse so the first child is visited first.
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (!seen[*it]) stack.push_back(*it);
    }
  }
  return order;
}

Result<std::vector<NodeId>> QueryDag::BreadthFirst(NodeId start) const {
  if (!Contains(start)) return Status::NotFound("node " + std::to_string(start) + " does not exist");
  std::vector<bool> seen(slots_.size(), false);
  std::deque<NodeId> queue{start};
  seen[start] = true;
  std::vector<NodeId> order;
  while (!queue.empty()) {
    const NodeId id = queue.front();
    queue.pop_front();
    order.push_back(id);
    for (NodeId next : slots_[id].out) {
      if (!seen[next]) {
        seen[next] = true;
        queue.push_back(next);
      }
    }
  }
  return order;
}

Result<CriticalPath> QueryDag::ComputeCriticalPath() const {
  return ComputeCriticalPath([](const OperatorNode& n) { return n.estimated_cost; });
}

Result<CriticalPath> QueryDag::ComputeCriticalPath(
    const std::function<double(const OperatorNode&)>& weight) const {
  if (empty()) return Status::FailedPrecondition("critical path of an empty DAG");
  // best[id]: largest cost of a path from `id` down to a sink, including id.
  std::vector<double> best(slots_.size(), 0.0);
  std::vector<NodeId> next(slots_.size(), kInvalidNodeId);
  const std::vector<NodeId> order = TopologicalSort();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeId id = *it;
    const double w = weight(slots_[id].node);
    if (!std::isfinite(w) || w < 0.0) {
      return Status::InvalidArgument("node " + std::to_string(id) +
                                     " has a cost that is negative or not finite");
    }
    double tail = 0.0;
    NodeId tail_node = kInvalidNodeId;
    for (NodeId child : slots_[id].out) {
      if (tail_node == kInvalidNodeId || best[child] > tail ||
          (best[child] == tail && child < tail_node)) {
        tail = best[child];
        tail_node = child;
      }
    }
    best[id] = w + tail;
    next[id] = tail_node;
  }
  NodeId start = kInvalidNodeId;
  for (NodeId id : Sources()) {
    if (start == kInvalidNodeId || best[id] > best[start]) start = id;
  }
  CriticalPath path;
  path.cost = best[start];
  for (NodeId id = start; id != kInvalidNodeId; id = next[id]) path.nodes.push_back(id);
  return path;
}

uint64_t QueryDag::ShapeHash() const {
  uint64_t h = HashCombine(0x5EED, live_count_);
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (!slots_[id].alive) continue;
    h = HashCombine(h, id);
    h = HashCombine(h, static_cast<uint64_t>(slots_[id].node.type));
    for (NodeId child : slots_[id].out) h = HashCombine(h, child);
  }
  return h;
}

uint64_t QueryDag::ContentHash() const {
  uint64_t h = ShapeHash();
  for (NodeId id = 0; id < slots_.size(); ++id) {
    if (!slots_[id].alive) continue;
    const OperatorNode& n = slots_[id].node;
    h = HashString(h, n.relation);
    h = HashString(h, n.alias);
    h = HashString(h, n.index);
    h = HashString(h, n.predicate);
    for (const auto& k : n.keys) h = HashString(h, k);
    for (bool d : n.descending) h = HashCombine(h, d ? 1 : 0);
    h = HashString(h, n.detail);
    h = HashCombine(h, static_cast<uint64_t>(n.parameter));
    h = HashString(h, n.subplan_name);
    h = HashCombine(h, n.parallel_aware ? 1 : 0);
    h = HashCombine(h, static_cast<uint64_t>(n.workers_planned));
    h = HashCombine(h, static_cast<uint64_t>(n.workers_launched));
    for (double v : {n.estimated_rows, n.estimated_cost, n.startup_cost, n.total_cost, n.width}) {
      h = HashCombine(h, HashDouble(v));
    }
    h = HashOptional(h, n.actual_rows);
    h = HashOptional(h, n.actual_time_ms);
    h = HashOptional(h, n.actual_loops);
    for (float f : n.embedding) h = HashCombine(h, HashDouble(f));
  }
  return h;
}

Status QueryDag::Validate() const {
  size_t live = 0;
  size_t edges = 0;
  for (NodeId id = 0; id < slots_.size(); ++id) {
    const Slot& slot = slots_[id];
    if (!slot.alive) {
      if (!slot.in.empty() || !slot.out.empty()) {
        return Status::Internal("dead node " + std::to_string(id) + " still has edges");
      }
      continue;
    }
    ++live;
    if (slot.node.id != id) {
      return Status::Internal("node in slot " + std::to_string(id) + " carries id " +
                              std::to_string(slot.node.id));
    }
    edges += slot.out.size();
    for (NodeId child : slot.out) {
      if (!Contains(child)) return Status::Internal(EdgeName(id, child) + " points to a dead node");
      const auto& in = slots_[child].in;
      if (std::count(in.begin(), in.end(), id) != 1) {
        return Status::Internal(EdgeName(id, child) + " is not mirrored exactly once");
      }
    }
    for (NodeId parent : slot.in) {
      if (!Contains(parent)) return Status::Internal(EdgeName(parent, id) + " comes from a dead node");
    }
  }
  if (live != live_count_ || edges != edge_count_) {
    return Status::Internal("node or edge count out of sync");
  }
  if (TopologicalSort().size() != live_count_) return Status::Internal("the graph has a cycle");
  return Status::Ok();
}

bool operator==(const QueryDag& a, const QueryDag& b) {
  if (a.slots_.size() != b.slots_.size() || a.live_count_ != b.live_count_ ||
      a.edge_count_ != b.edge_count_) {
    return false;
  }
  for (size_t i = 0; i < a.slots_.size(); ++i) {
    const auto& x = a.slots_[i];
    const auto& y = b.slots_[i];
    if (x.alive != y.alive) return false;
    if (!x.alive) continue;
    if (!(x.node == y.node)) return false;
    // Input order is meaningful (outer before inner); output order is not.
    if (x.in != y.in) return false;
    auto xo = x.out, yo = y.out;
    std::sort(xo.begin(), xo.end());
    std::sort(yo.begin(), yo.end());
    if (xo != yo) return false;
  }
  return true;
}

}  // namespace ruvector_dag
