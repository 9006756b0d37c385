// The C++ zone of the extension: everything computed from a plan snapshot
// with the library (DAG, identity, critical path, min-cut, attention,
// visualization). No PostgreSQL header is included here or in
// dag_bridge.cc; callers run these functions through InvokeCpp/RunCpp.
#ifndef RUVECTOR_PG_DAG_BRIDGE_H_
#define RUVECTOR_PG_DAG_BRIDGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "planner/plan_snapshot.h"
#include "state/shared_state.h"
#include "ruvector_dag/attention.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/mincut.h"
#include "ruvector_dag/status.h"

namespace ruvector_pg {

/// Builds the plan DAG: node i of the snapshot gets id i and feeds its
/// parent (the operator that consumes its rows). Fails on a malformed
/// snapshot (bad parent index, unknown type) with a message naming the node.
ruvector_dag::Status BuildDag(const PlanSnapshot& snapshot, ruvector_dag::QueryDag* dag);

/// Identity of a planned statement (docs/postgres.md, "Pattern identity").
struct PlanIdentity {
  uint64_t pattern_key = 0;    // ScopePatternKey(statement_key, database, role)
  uint64_t statement_key = 0;  // HashCombine(queryId or shape hash, param_bucket)
  uint64_t shape_hash = 0;     // QueryDag::ShapeHash
  uint32_t param_bucket = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  /// HashCombine(statement_key, the plan's constants hash): the statement
  /// key of this execution's constants, used instead of statement_key when
  /// the learner split the pattern by constants (ResolveConstants in
  /// steering.h); 0 when the plan has no constants.
  uint64_t constants_statement_key = 0;
  uint64_t constants_hash = 0;  // PlanSnapshot::constants_hash
  /// statement_key and pattern_key are the constants' (the pattern was split).
  bool by_constants = false;
};

/// Sets id->constants_statement_key from a snapshot's constants_hash.
void SetConstantsKey(uint64_t constants_hash, PlanIdentity* id);

/// The pattern key of a statement key run by `role_oid` in `database_oid`:
/// the same statement in two databases or by two roles is two patterns.
/// Never 0 (0 marks an empty slot).
uint64_t ScopePatternKey(uint64_t statement_key, uint32_t database_oid, uint32_t role_oid);

/// Parameter bucket: floor(log2(1 + sum of the scans' estimated rows)),
/// capped at 63 -- the planner's own selectivity estimates, coarsened.
uint32_t ParamBucket(const ruvector_dag::QueryDag& dag);
PlanIdentity IdentifyPlan(uint64_t query_id, const ruvector_dag::QueryDag& dag, uint32_t database_oid,
                          uint32_t role_oid);

/// The same identity as IdentifyPlan(BuildDag(snapshot)) computed from the
/// snapshot alone -- no DAG, no allocation: the hooks' hot path. Fails like
/// BuildDag on a malformed snapshot.
ruvector_dag::Status IdentifySnapshot(const PlanSnapshot& snapshot, PlanIdentity* out);

/// What a trajectory records about a plan's structure (everything but the
/// measurements), kept with the plan in the backend's plan map so that the
/// executor hook of an already planned statement copies it instead of
/// walking the plan again.
struct PlanTemplate {
  /// Plan node ids below this bound are mapped to their record index.
  static constexpr int kMappedIds = 128;
  uint64_t shape_hash = 0;
  uint32_t node_count = 0;  // plan nodes (may exceed kMaxTrajectoryNodes)
  uint16_t flags = 0;       // kTrajectoryTruncated | kTrajectoryParallel | kTrajectoryMayStopEarly
  /// Every kept node has a distinct plan node id below kMappedIds: a sampled
  /// execution's actual rows can be read by id (ActualRowsById) without a
  /// snapshot of the plan.
  bool ids_mapped = false;
  uint8_t node_type[kMaxTrajectoryNodes] = {0};
  float estimated_rows[kMaxTrajectoryNodes] = {0};
  uint8_t parent_plus_one[kMaxTrajectoryNodes] = {0};
  uint32_t relset[kMaxTrajectoryNodes] = {0};
  uint8_t relset_size[kMaxTrajectoryNodes] = {0};
  /// Record index + 1 of the node with plan node id i (0 = not kept).
  uint8_t index_of_id[kMappedIds] = {0};
};
/// Fills `out` from `snapshot` (which IdentifySnapshot accepted).
void TemplateFromSnapshot(const PlanSnapshot& snapshot, uint64_t shape_hash, PlanTemplate* out);
/// Copies the template's structure into `rec` (node_count, flags, node
/// types, estimated rows, edges, relation sets; actual rows -1 = not
/// measured).
void FillFromTemplate(const PlanTemplate& t, TrajectoryRecord* rec);

/// Per-node analysis row (dag_analyze_plan).
struct NodeReport {
  ruvector_dag::NodeId id = 0;
  std::string type;          // EXPLAIN's node name
  std::string relation;      // scanned relation, when any
  std::string index;         // index name, when any
  std::string detail;        // join type, aggregate strategy, VectorDistance metric, ...
  int64_t parameter = 0;     // Limit count, HnswScan ef_search (0: none)
  double self_cost = 0.0;    // own cost (total minus inputs' totals)
  double startup_cost = 0.0;
  double total_cost = 0.0;   // EXPLAIN "Total Cost"
  double rows = 0.0;         // EXPLAIN "Plan Rows"
  double criticality = 0.0;  // min-cut criticality in [0,1]
  double bottleneck_score = 0.0;  // own work / largest own work, in [0,1]
  double work_share = 0.0;   // own work / plan work
  bool in_cut = false;
  bool on_critical_path = false;
  std::vector<ruvector_dag::NodeId> inputs;     // nodes feeding this one
  std::vector<ruvector_dag::NodeId> consumers;  // nodes this one feeds
  std::vector<std::string> recommendations;
};

/// Everything the analysis SQL functions return for one plan.
struct PlanReport {
  ruvector_dag::QueryDag dag;
  PlanIdentity identity;
  std::vector<NodeReport> nodes;  // ascending id
  ruvector_dag::CriticalPath critical_path;
  ruvector_dag::BottleneckAnalysis analysis;  // kBottleneck capacities
};

/// Builds the DAG and runs critical path + bottleneck analysis.
ruvector_dag::Status AnalyzeSnapshot(const PlanSnapshot& snapshot, PlanReport* report);

/// Min cut under a named capacity mode ("bottleneck", "cost", "rows",
/// "time", "unit"); kInvalidArgument listing the valid names otherwise.
ruvector_dag::Status MinCutWithMode(const ruvector_dag::QueryDag& dag, std::string_view mode,
                                    ruvector_dag::MinCutResult* out);

/// "auto, topological, causal_cone, ..." for error messages.
std::string AttentionNames();
/// True for 'auto' or one of the seven names (snake_case or CamelCase).
bool IsValidAttentionName(std::string_view name);

/// The mechanism actually used and why.
struct AttentionChoice {
  ruvector_dag::AttentionMechanism mechanism = ruvector_dag::AttentionMechanism::kTopological;
  bool automatic = false;  // chosen by the policy ('auto')
  std::string reason;      // policy reason, or "requested"
  double tension = 0.0;
};

/// Resolves `name` ('auto' -> the policy's decision on this plan's signals:
/// tension, depth, width, latency spread when actuals exist) and computes the
/// weights, with edge weights when asked.
ruvector_dag::Status ComputeAttentionFor(const ruvector_dag::QueryDag& dag, std::string_view name,
                                         bool edge_weights, ruvector_dag::AttentionScores* scores,
                                         AttentionChoice* choice);

/// Renders `dag` with attention weights as "dot", "json", "ascii" or
/// "mermaid"; kInvalidArgument for other formats.
ruvector_dag::Status VisualizeAttention(const ruvector_dag::QueryDag& dag,
                                        const ruvector_dag::AttentionScores& scores,
                                        const AttentionChoice& choice, std::string_view format,
                                        std::string* out);

/// What EXPLAIN prints in its "RuVector DAG" section.
struct ExplainSummary {
  PlanIdentity identity;
  size_t node_count = 0;
  double tension = 0.0;
  double misestimation = 0.0;
  bool measured = false;  // actual rows were available
  AttentionChoice attention;
  std::string bottleneck;  // "Hash Join (node 3)" or empty
};
ruvector_dag::Status SummarizeForExplain(const PlanSnapshot& snapshot, std::string_view attention_setting,
                                         ExplainSummary* out);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_DAG_BRIDGE_H_
