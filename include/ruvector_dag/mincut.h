// Min-cut analysis of a plan DAG: bottlenecks, criticality, tension.
//
// Every operator v is split into v_in -> v_out with a finite capacity (chosen
// by a CapacityMode); a DAG edge u -> v becomes u_out -> v_in with infinite
// capacity; a super source feeds every source's v_in and every sink's v_out
// drains into a super sink. A maximum flow (Dinic) then gives the minimum
// vertex cut: the cheapest set of operators that every source-to-sink data
// path passes through (sources and sinks may be in it). Formulas (capacity
// modes, criticality, tension, suggested actions) are in docs/mincut.md.
//
// Determinism: the returned cut is the one closest to the sources (the
// operators whose in-side is reachable from the super source in the residual
// graph and whose out-side is not). That set is the same for every maximum
// flow, so ties between equal-valued cuts never depend on search order, and
// incremental updates return the same cut as a full recomputation.
// Capacities of 0 are taken as 0; zero-capacity operators that the rest of
// the cut already blocks are dropped (in ascending id order), so the cut is
// a valid, inclusion-minimal vertex cut of minimum value.
//
// Thread-safety: MinCutEngine is immutable after construction; its const
// methods may run concurrently. DynamicMinCut needs exclusive access.
#ifndef RUVECTOR_DAG_MINCUT_H_
#define RUVECTOR_DAG_MINCUT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

/// How an operator's capacity is derived (docs/mincut.md, "Capacity modes").
enum class CapacityMode : uint8_t {
  /// Default: capacity = W / (w_v + floor), w_v the operator's own work
  /// (exclusive actual time when every node has it, else estimated_cost), W
  /// the plan's total work. The cut is the set of slowest stages that every
  /// path crosses: the plan's bottleneck.
  kBottleneck = 0,
  kCost,  // the operator's own estimated_cost
  kRows,  // estimated_rows
  kTime,  // exclusive actual time (ms, x loops) when every node has actuals, else estimated_cost
  kUnit,  // 1 per operator: the cut is a minimum-cardinality vertex cut
};

/// "bottleneck", "cost", "rows", "time", "unit".
std::string_view CapacityModeName(CapacityMode mode);
/// Inverse of CapacityModeName; also accepts "default" for kBottleneck.
std::optional<CapacityMode> CapacityModeFromName(std::string_view name);

/// Per-id capacities of `dag` under `mode` (id_bound() entries, 0 for dead
/// ids). Fails (kInvalidArgument, naming the node) when a capacity would be
/// negative or not finite, and (kFailedPrecondition) on an empty DAG. O(V+E).
Result<std::vector<double>> ComputeCapacities(const QueryDag& dag, CapacityMode mode);

/// Exclusive work per id used by kBottleneck, tension and bottleneck shares:
/// own actual time x loops (ms) when every live node has actual_time_ms,
/// otherwise estimated_cost. Never negative. O(V+E).
std::vector<double> OperatorWork(const QueryDag& dag);
/// True when OperatorWork uses measured times (every node has actual_time_ms).
bool HasCompleteActualTimes(const QueryDag& dag);

/// The two ingredients of tension and the result (docs/mincut.md, "Tension").
struct TensionReport {
  /// Work-weighted mean q-error of rows, mapped to [0,1]; 0 without actuals.
  double misestimation = 0.0;
  /// Share of work at the bottleneck cut above its fair share, in [0,1].
  double concentration = 0.0;
  /// Raw share of the plan's work spent in the bottleneck cut's operators.
  double cut_work_share = 0.0;
  /// Number of nodes that had actual rows (misestimation evidence).
  size_t nodes_with_actuals = 0;
  /// The tension in [0,1].
  double tension = 0.0;
};

/// Options of MinCutEngine. Validated by MinCutEngine::Create.
struct MinCutOptions {
  /// Compute per-node criticality (one extra augmentation per cut node).
  bool compute_criticality = true;
  /// Tension = (a*misestimation + b*concentration) / (a + b); a, b >= 0, a+b > 0.
  double tension_misestimation_weight = 0.5;
  double tension_concentration_weight = 0.5;
  /// Misestimation maps the mean log10 q-error x to x / (x + scale); > 0.
  double misestimation_scale = 1.0;
  /// A node is a bottleneck when it is in the bottleneck cut with a work
  /// share >= this, or when its criticality >= criticality_threshold.
  double bottleneck_share_threshold = 0.10;
  double criticality_threshold = 0.5;
  /// q-error (max(a,e)/min(a,e), +1 smoothed) from which rows count as misestimated.
  double misestimate_q_threshold = 10.0;
  /// Memory one sort/hash may use before spilling (PostgreSQL work_mem), bytes.
  double work_mem_bytes = 4.0 * 1024 * 1024;
  /// HnswScan ef_search below which raising it is suggested.
  int64_t min_ef_search = 40;
};

/// The cut of one DAG under one capacity mode. Per-id vectors have
/// dag.id_bound() entries (0 for dead ids).
struct MinCutResult {
  CapacityMode mode = CapacityMode::kBottleneck;
  /// True when capacities came from AnalyzeWithCapacities (mode unused).
  bool custom_capacities = false;
  /// Sum of the cut operators' capacities; equals the maximum flow.
  double cut_value = 0.0;
  /// The cut operators, ascending (closest-to-source minimum cut).
  std::vector<NodeId> cut_nodes;
  /// Per id: capacity used.
  std::vector<double> capacity;
  /// Per id: flow through the operator in the maximum flow found.
  std::vector<double> flow;
  /// Per id: flow / cut_value in [0,1] (0 when cut_value is 0).
  std::vector<double> flow_share;
  /// Per id in [0,1]: 1 - F / F_v where F_v is the max flow with v's capacity
  /// made infinite (how much the cut value would grow if v stopped limiting).
  /// Only cut nodes can be > 0. All zero when criticality is not computed.
  std::vector<double> criticality;
  /// Tension of the plan (always computed on the kBottleneck cut).
  TensionReport tension;
};

/// What to do about a bottleneck (docs/mincut.md, "Suggested actions").
enum class SuggestedAction : uint8_t {
  kAddIndex,         // Seq Scan with a filter predicate
  kRunAnalyze,       // estimates far from actual rows
  kUseHashJoin,      // Nested Loop with a misestimated or large outer side
  kRaiseWorkMem,     // Sort/Hash/Materialize/Aggregate larger than work_mem
  kRaiseEfSearch,    // HnswScan with a low ef_search or fewer rows than asked
  kRaiseNprobe,      // IvfFlatScan with fewer rows than estimated
  kAddParallelism,   // large scan or aggregate without a Gather above it
  kReviewOperator,   // heavy operator with no specific rule
};
/// "add_index", "run_analyze", ... (stable; used in JSON).
std::string_view SuggestedActionName(SuggestedAction action);

/// One bottleneck operator.
struct Bottleneck {
  NodeId node = kInvalidNodeId;
  OperatorType type = OperatorType::kResult;
  /// Share of the plan's work (OperatorWork) spent here: an upper bound on
  /// the fraction of the plan a fix could save.
  double work_share = 0.0;
  /// Criticality from the kBottleneck cut.
  double criticality = 0.0;
  /// Rows q-error (>= 1; 1 when actuals are missing).
  double q_error = 1.0;
  bool in_cut = false;
  SuggestedAction action = SuggestedAction::kReviewOperator;
  /// Human-readable reason naming the evidence.
  std::string reason;
};

/// Kinds of redundancy suggestions.
enum class RedundancyKind : uint8_t {
  kMaterialize,      // an input re-executed many times (loops) or shared
  kPrefetch,         // random-access scan on the critical path
  kReplicate,        // a single operator every path depends on (cut of size 1)
  kAlternativePath,  // a critical cut node with a known alternative operator
};
/// "materialize", "prefetch", "replicate", "alternative_path".
std::string_view RedundancyKindName(RedundancyKind kind);

struct RedundancySuggestion {
  RedundancyKind kind = RedundancyKind::kMaterialize;
  std::vector<NodeId> nodes;  // ascending
  std::string reason;
};

/// Full analysis: the cut, bottlenecks (by descending work share, then id)
/// and redundancy suggestions (by kind, then first node).
struct BottleneckAnalysis {
  MinCutResult cut;
  std::vector<Bottleneck> bottlenecks;
  std::vector<RedundancySuggestion> redundancy;
};

/// Stateless analyses of whole DAGs. Cost per call: one Dinic max flow
/// (O(V^2 E) worst case, near-linear on plan-shaped DAGs) plus, with
/// criticality, one augmentation per cut node. In-trees (every operator
/// feeds at most one other, one sink: what EXPLAIN produces) take an exact
/// replay of Dinic's run in O(V + sum of source depths) instead, with
/// identical results (docs/mincut.md section 6a).
class MinCutEngine {
 public:
  /// Default options.
  MinCutEngine();
  /// Validates options (kInvalidArgument naming the bad field).
  static Result<MinCutEngine> Create(const MinCutOptions& options);
  const MinCutOptions& options() const { return options_; }

  /// Min cut under `mode`. Empty DAG -> kFailedPrecondition; bad capacity ->
  /// kInvalidArgument naming the node.
  Result<MinCutResult> Analyze(const QueryDag& dag, CapacityMode mode = CapacityMode::kBottleneck) const;
  /// Min cut with caller-supplied capacities (per id, id_bound() entries;
  /// finite, >= 0; dead ids ignored). The result has custom_capacities set;
  /// tension still uses the kBottleneck cut.
  Result<MinCutResult> AnalyzeWithCapacities(const QueryDag& dag,
                                             const std::vector<double>& capacities) const;
  /// Tension alone (one max flow on the kBottleneck capacities).
  Result<TensionReport> ComputeTension(const QueryDag& dag) const;
  /// Cut + bottlenecks + redundancy suggestions.
  Result<BottleneckAnalysis> AnalyzeBottlenecks(const QueryDag& dag,
                                                CapacityMode mode = CapacityMode::kBottleneck) const;

 private:
  explicit MinCutEngine(const MinCutOptions& options) : options_(options) {}
  MinCutOptions options_;
  bool skip_tension_ = false;  // internal: Analyze fills tension from its own cut
};

/// Counters of DynamicMinCut's work (for tests and benchmarks).
struct DynamicMinCutStats {
  uint64_t updates = 0;
  uint64_t fast_path_updates = 0;   // flow provably still maximum: O(1)
  uint64_t cancelled_paths = 0;     // flow paths reduced after a decrease
  uint64_t augmenting_paths = 0;    // paths added while repairing
  uint64_t bfs_phases = 0;          // Dinic phases while repairing
  uint64_t local_repairs = 0;       // repairs through one opened cut edge
  uint64_t local_fallbacks = 0;     // local repairs that hit their budget and ran Dinic
};

/// A maximum flow kept up to date while operator capacities change: a
/// capacity change repairs the current flow (cancel the excess along flow
/// paths, then augment from the residual graph) instead of recomputing it.
/// Owns its network (a copy of the DAG's structure); the DAG may change or
/// die afterwards. Memory O(V+E). Not thread-safe.
class DynamicMinCut {
 public:
  /// Builds the network for `dag` with capacities from `mode` and computes
  /// the initial max flow. Errors as MinCutEngine::Analyze.
  static Result<DynamicMinCut> Build(const QueryDag& dag, CapacityMode mode);
  /// Same with per-id capacities (id_bound() entries, finite, >= 0).
  static Result<DynamicMinCut> Build(const QueryDag& dag, const std::vector<double>& capacities);

  /// Sets operator `id`'s capacity and repairs the flow. kNotFound for an
  /// unknown id, kInvalidArgument for a negative or non-finite capacity.
  /// O(1) when the flow provably stays maximum; when the cut was read since
  /// the last change and one cut edge opened, a budgeted local repair through
  /// that edge; otherwise the cancelled paths plus Dinic phases from the
  /// current flow (docs/mincut.md, section 6).
  Status SetCapacity(NodeId id, double capacity);

  /// The maximum flow = min cut value. O(1).
  double cut_value() const { return flow_value_; }
  /// The closest-to-source minimum cut, ascending. O(V+E) after a change
  /// that may have moved it, O(cut) otherwise (cached).
  const std::vector<NodeId>& CutNodes();
  /// Current capacity / flow of a live operator (0 for unknown ids).
  double capacity(NodeId id) const;
  double flow(NodeId id) const;
  /// One past the largest operator id of the source DAG.
  NodeId id_bound() const { return static_cast<NodeId>(split_edge_.size()); }
  const DynamicMinCutStats& stats() const { return stats_; }

  /// Recomputes the max flow from zero (for tests: must equal the repaired one).
  void RecomputeFromScratch();

  DynamicMinCut(DynamicMinCut&&) noexcept = default;
  DynamicMinCut& operator=(DynamicMinCut&&) noexcept = default;

 private:
  DynamicMinCut() = default;
  friend class MinCutEngine;
  Status Init(const QueryDag& dag, const std::vector<double>& capacities);
  bool BuildLevels();
  double PushBlockingFlow();
  // Pushes the bottleneck residual along path_ (edge ids); returns it.
  double AugmentAlongPath();
  void RunDinic();
  bool CancelThrough(uint32_t edge, double amount, std::vector<uint32_t>* crossing);
  void AugmentThrough(uint32_t edge, bool backward_first);
  int FindPath(uint32_t from, uint32_t to, uint32_t blocked, bool backward);
  void RefreshCut();
  bool Reaches(const std::vector<char>& blocked);
  void UpdateEpsilon();

  // Residual network in adjacency-array form; edge e and e^1 are a pair.
  std::vector<uint32_t> head_;   // per vertex: first edge index in adj_
  std::vector<uint32_t> adj_;    // edge ids grouped by tail vertex
  std::vector<uint32_t> to_;     // per edge: head vertex
  std::vector<double> cap_;      // per edge: capacity (reverse edges: 0)
  std::vector<double> flow_;     // per edge: flow (reverse edges: -flow)
  std::vector<uint32_t> split_edge_;  // per operator id: its v_in->v_out edge, or ~0u
  uint32_t source_ = 0;
  uint32_t sink_ = 0;
  double flow_value_ = 0.0;
  double eps_ = 0.0;
  double total_capacity_ = 0.0;
  std::vector<NodeId> isolated_;  // ids that are both source and sink
  bool cut_dirty_ = true;
  std::vector<NodeId> cut_;
  DynamicMinCutStats stats_;
  // Scratch for Dinic (kept to avoid reallocation per update).
  std::vector<int32_t> level_;
  std::vector<uint32_t> iter_;
  std::vector<uint32_t> queue_;
  std::vector<uint32_t> path_;
  // Source side of the last RefreshCut (valid while !cut_dirty_).
  std::vector<char> reach_;
  size_t reach_count_ = 0;
  // Local path searches: visit stamps and parent edges per vertex.
  std::vector<uint32_t> mark_;
  std::vector<uint32_t> parent_;
  std::vector<uint32_t> stack_;
  uint32_t stamp_ = 0;
  size_t budget_ = 0;  // vertex visits left for the current local repair
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_MINCUT_H_
