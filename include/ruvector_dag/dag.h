// The plan DAG: operators (nodes) and data flow (edges).
//
// A QueryDag owns its OperatorNodes; nodes refer to each other by 32-bit ids,
// never pointers, so a DAG survives copies into shared memory or WASM memory.
// Edges point the way data flows: AddEdge(scan, filter) means scan feeds
// filter; a plan's top operator (Result, Limit, ...) is a sink.
//
// Determinism: AddNode returns 0, 1, 2, ...; removed ids are never reused.
// Every order the API exposes is deterministic (see each method).
//
// Thread-safety: const methods may run concurrently; mutation needs
// exclusive access. Formats and EXPLAIN import live in ruvector_dag/formats.h.
#ifndef RUVECTOR_DAG_DAG_H_
#define RUVECTOR_DAG_DAG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/status.h"

namespace ruvector_dag {

namespace internal {
class DagBuilder;  // bulk construction for the format readers (src/dag/internal)
}  // namespace internal

using NodeId = uint32_t;
inline constexpr NodeId kInvalidNodeId = 0xFFFFFFFFu;
/// Largest id a DAG can hold; ids come from AddNode or a loaded document.
inline constexpr NodeId kMaxNodeId = (1u << 24) - 1;

/// Operator types: every PostgreSQL 15 plan node type as EXPLAIN names it,
/// plus the vector and logical operators of the original crate. The numeric
/// values are persisted (binary format, embeddings): append only, never
/// renumber.
enum class OperatorType : uint8_t {
  // PostgreSQL scans
  kSeqScan = 0,
  kSampleScan,
  kIndexScan,
  kIndexOnlyScan,
  kBitmapIndexScan,
  kBitmapHeapScan,
  kBitmapAnd,
  kBitmapOr,
  kTidScan,
  kTidRangeScan,
  kSubqueryScan,
  kFunctionScan,
  kTableFunctionScan,
  kValuesScan,
  kCteScan,
  kNamedTuplestoreScan,
  kWorkTableScan,
  kForeignScan,
  kCustomScan,
  // PostgreSQL joins
  kNestedLoop,
  kHashJoin,
  kMergeJoin,
  // PostgreSQL materialization, sorting, grouping
  kHash,
  kMaterialize,
  kMemoize,
  kSort,
  kIncrementalSort,
  kGroup,
  kAggregate,
  kWindowAgg,
  kUnique,
  kSetOp,
  kLockRows,
  kLimit,
  // PostgreSQL set/parallel/control
  kAppend,
  kMergeAppend,
  kRecursiveUnion,
  kGather,
  kGatherMerge,
  kModifyTable,
  kProjectSet,
  kResult,
  // Vector and logical operators (original crate)
  kHnswScan,
  kIvfFlatScan,
  kVectorDistance,
  kRerank,
  kFilter,
  kProject,
  kGroupBy,
};

/// Number of OperatorType values (for per-type tables).
inline constexpr size_t kOperatorTypeCount = static_cast<size_t>(OperatorType::kGroupBy) + 1;

/// The name EXPLAIN uses ("Seq Scan", "Hash Join", ...) or, for the vector and
/// logical operators, the crate's name ("HnswScan", "Filter", ...).
std::string_view OperatorTypeName(OperatorType type);
/// Inverse of OperatorTypeName (exact match).
std::optional<OperatorType> OperatorTypeFromName(std::string_view name);
/// Broad classes used by analyses and featurizers.
bool IsScan(OperatorType type);
bool IsJoin(OperatorType type);

/// One operator of a plan. Which detail fields are meaningful depends on the
/// type (documented per field); unused fields stay empty/zero.
struct OperatorNode {
  /// Assigned by QueryDag::AddNode; kInvalidNodeId before insertion.
  NodeId id = kInvalidNodeId;
  OperatorType type = OperatorType::kResult;

  // --- details ---------------------------------------------------------
  /// Relation (table) name for scans and ModifyTable; CTE name for CTE Scan;
  /// function name for Function Scan.
  std::string relation;
  /// Alias as EXPLAIN prints it (may equal relation).
  std::string alias;
  /// Index name (Index/Index Only/Bitmap Index Scan, HnswScan, IvfFlatScan).
  std::string index;
  /// Main condition: Filter predicate, Index Cond, Hash Cond (HashJoin's
  /// hash_key), Merge Cond (MergeJoin's merge_key), Join Filter, Recheck Cond.
  std::string predicate;
  /// Sort keys, group keys, projected columns, or aggregate functions.
  std::vector<std::string> keys;
  /// Per sort key: descending? (Sort; same length as keys or empty).
  std::vector<bool> descending;
  /// Variant detail: join type ("Inner", "Left", ...), aggregate strategy
  /// ("Plain", "Sorted", "Hashed", "Mixed"), SetOp command, ModifyTable
  /// operation, VectorDistance metric, Rerank model, Custom Scan provider.
  std::string detail;
  /// Integer parameter: Limit count, HnswScan ef_search, IvfFlatScan nprobe.
  int64_t parameter = 0;
  /// "InitPlan 1 (returns $0)", "SubPlan 2", "CTE foo" when this node is the
  /// top of a sub-plan; empty otherwise.
  std::string subplan_name;
  /// Parallel-aware operator / workers planned (Gather, Gather Merge).
  bool parallel_aware = false;
  int32_t workers_planned = 0;
  int32_t workers_launched = -1;  // -1: not executed / unknown

  // --- estimates (planner) ---------------------------------------------
  double estimated_rows = 0.0;  // per loop, as EXPLAIN "Plan Rows"
  /// This operator's own cost: its total cost minus the total cost of its
  /// inputs (never negative). Critical paths sum this.
  double estimated_cost = 0.0;
  double startup_cost = 0.0;  // EXPLAIN "Startup Cost" (cumulative)
  double total_cost = 0.0;    // EXPLAIN "Total Cost" (cumulative)
  double width = 0.0;         // average row width in bytes

  // --- actuals (EXPLAIN ANALYZE, or executor instrumentation) ----------
  std::optional<double> actual_rows;     // per loop
  std::optional<double> actual_time_ms;  // inclusive, per loop ("Actual Total Time")
  std::optional<double> actual_loops;

  /// Optional embedding carried through the original crate's format.
  std::vector<float> embedding;

  // --- builders (like the original crate's) ----------------------------
  static OperatorNode Make(OperatorType type);
  static OperatorNode SeqScan(std::string_view table);
  static OperatorNode IndexScan(std::string_view index, std::string_view table);
  static OperatorNode IndexOnlyScan(std::string_view index, std::string_view table);
  static OperatorNode HnswScan(std::string_view index, uint32_t ef_search);
  static OperatorNode IvfFlatScan(std::string_view index, uint32_t nprobe);
  static OperatorNode NestedLoopJoin();
  static OperatorNode HashJoin(std::string_view hash_key);
  static OperatorNode MergeJoin(std::string_view merge_key);
  static OperatorNode Hash();
  static OperatorNode Filter(std::string_view predicate);
  static OperatorNode Project(std::vector<std::string> columns);
  static OperatorNode Sort(std::vector<std::string> keys, std::vector<bool> descending = {});
  static OperatorNode Limit(int64_t count);
  static OperatorNode Aggregate(std::vector<std::string> functions);
  static OperatorNode GroupBy(std::vector<std::string> keys);
  static OperatorNode VectorDistance(std::string_view metric);
  static OperatorNode Rerank(std::string_view model);
  static OperatorNode Materialize();
  static OperatorNode Result();

  /// Sets estimated rows and own cost; returns *this for chaining.
  OperatorNode& WithEstimates(double rows, double cost);
  /// Sets actual rows and time (ms); returns *this for chaining.
  OperatorNode& WithActuals(double rows, double time_ms);

  /// Field-by-field equality (embedding and optionals included).
  friend bool operator==(const OperatorNode&, const OperatorNode&) = default;
};

/// A path through the DAG with its summed cost.
struct CriticalPath {
  std::vector<NodeId> nodes;  // from a source to a sink, in data-flow order
  double cost = 0.0;
};

class QueryDag {
 public:
  QueryDag() = default;

  // --- construction ------------------------------------------------------
  /// Adds a node and returns its id (0, 1, 2, ...; never reused). The node's
  /// own `id` field is overwritten. Fails (kOutOfRange) past kMaxNodeId.
  Result<NodeId> AddNode(OperatorNode node);
  /// Adds a node under a given id (for loaders that must keep a document's
  /// ids). The id must be unused and never used before; later AddNode calls
  /// continue after the largest id seen. Ids above kMaxNodeId fail.
  Status AddNodeWithId(NodeId id, OperatorNode node);
  /// Marks every id below `bound` as taken (dead unless present), so that
  /// AddNode continues at `bound` at least. Loaders use it to keep the id
  /// space of a document whose last nodes were removed.
  Status ReserveIds(NodeId bound);
  /// Adds an edge: `from` feeds `to`. Rejects unknown ids, self-loops,
  /// duplicates and edges that would close a cycle, with a message naming
  /// the edge. O(1) when `to` has no outputs or `from` has no inputs,
  /// otherwise O(V + E) for the cycle check.
  Status AddEdge(NodeId from, NodeId to);
  /// Removes an edge; kNotFound if absent.
  Status RemoveEdge(NodeId from, NodeId to);
  /// Removes a node and its edges; its id is never reused.
  Status RemoveNode(NodeId id);
  /// Removes everything; ids restart at 0.
  void Clear();

  // --- access ------------------------------------------------------------
  size_t node_count() const { return live_count_; }
  size_t edge_count() const { return edge_count_; }
  bool empty() const { return live_count_ == 0; }
  bool Contains(NodeId id) const;
  /// nullptr when absent.
  const OperatorNode* node(NodeId id) const;
  OperatorNode* mutable_node(NodeId id);
  /// One past the largest id ever assigned (slot count; ids below it may be
  /// dead). Useful for sizing per-id arrays.
  NodeId id_bound() const { return static_cast<NodeId>(slots_.size()); }
  /// Live ids in ascending order.
  std::vector<NodeId> NodeIds() const;
  /// Calls fn(node) for every live node in ascending id order.
  void ForEachNode(const std::function<void(const OperatorNode&)>& fn) const;
  /// All edges (from, to), sorted.
  std::vector<std::pair<NodeId, NodeId>> Edges() const;

  /// Nodes that `id` feeds (downstream), in edge insertion order. Empty for
  /// unknown ids.
  const std::vector<NodeId>& children(NodeId id) const;
  /// Nodes that feed `id` (its inputs), in edge insertion order.
  const std::vector<NodeId>& parents(NodeId id) const;
  bool HasEdge(NodeId from, NodeId to) const;

  /// Nodes without inputs (scans), ascending.
  std::vector<NodeId> Sources() const;
  /// Nodes without outputs (the plan's top), ascending.
  std::vector<NodeId> Sinks() const;

  // --- algorithms (all O(V + E) unless noted) ------------------------------
  /// Kahn's algorithm taking the smallest ready id first. O((V+E) log V).
  std::vector<NodeId> TopologicalSort() const;
  /// Longest path (in edges) from each node to a sink, indexed by id
  /// (0 for sinks and dead slots).
  std::vector<uint32_t> Depths() const;
  /// Depth of one node; kNotFound for unknown ids.
  Result<uint32_t> Depth(NodeId id) const;
  /// Largest depth in the DAG (0 if empty).
  uint32_t MaxDepth() const;
  /// Every node that (transitively) feeds `id`, ascending.
  Result<std::vector<NodeId>> Ancestors(NodeId id) const;
  /// Every node that `id` (transitively) feeds, ascending.
  Result<std::vector<NodeId>> Descendants(NodeId id) const;
  /// Depth-first pre-order from `start` following data flow (children in
  /// insertion order).
  Result<std::vector<NodeId>> DepthFirst(NodeId start) const;
  /// Breadth-first order from `start` following data flow.
  Result<std::vector<NodeId>> BreadthFirst(NodeId start) const;
  /// The source-to-sink path with the largest summed `estimated_cost`; ties
  /// go to the smaller ids. kFailedPrecondition on an empty DAG.
  Result<CriticalPath> ComputeCriticalPath() const;
  /// Same with a caller-supplied per-node weight (must be finite, >= 0).
  Result<CriticalPath> ComputeCriticalPath(const std::function<double(const OperatorNode&)>& weight) const;

  /// Stable 64-bit hash of the structure and operator types only (the plan
  /// shape), independent of costs and names.
  uint64_t ShapeHash() const;
  /// Stable hash of structure, types, details, estimates and actuals.
  uint64_t ContentHash() const;

  /// Checks internal invariants (edge symmetry, acyclicity, counts); for
  /// tests and after loading untrusted data.
  Status Validate() const;

  /// Same ids, nodes (all fields), id_bound, edges; each node's inputs in the
  /// same order (outer before inner matters), outputs as a set.
  friend bool operator==(const QueryDag& a, const QueryDag& b);

 private:
  friend class internal::DagBuilder;

  struct Slot {
    // User-provided, so that value-initialization (slots_.resize) runs the
    // member initializers only instead of first zeroing the whole slot.
    Slot() {}  // NOLINT(modernize-use-equals-default): `= default` brings the zeroing back
    bool alive = false;
    OperatorNode node;
    std::vector<NodeId> out;  // children
    std::vector<NodeId> in;   // parents
  };
  bool Reaches(NodeId from, NodeId target) const;
  Result<std::vector<NodeId>> Reachable(NodeId id, bool downstream) const;

  std::vector<Slot> slots_;
  size_t live_count_ = 0;
  size_t edge_count_ = 0;
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_DAG_H_
