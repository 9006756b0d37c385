// Plain data copied out of PostgreSQL's plan and executor trees (the PG zone
// fills it, the C++ zone reads it). No PostgreSQL headers, no C++ objects
// with destructors: a snapshot may live in palloc'd memory and be abandoned
// by an error without leaking anything but that memory context.
#ifndef RUVECTOR_PG_PLAN_SNAPSHOT_H_
#define RUVECTOR_PG_PLAN_SNAPSHOT_H_

#include <cstdint>

namespace ruvector_pg {

/// One plan node, in EXPLAIN's pre-order (node, InitPlans, outer, inner,
/// member plans, SubPlans). Strings are NUL-terminated and owned by the
/// snapshot's memory context, or null when not captured.
struct PlanNodeSnapshot {
  int32_t parent = -1;        // index of the consumer; -1 for the top node
  int32_t plan_node_id = -1;  // Plan.plan_node_id
  uint8_t type = 0;           // ruvector_dag::OperatorType value
  bool parallel_aware = false;
  int32_t workers_planned = 0;
  int32_t workers_launched = -1;
  double startup_cost = 0.0;
  double total_cost = 0.0;
  double plan_rows = 0.0;
  double width = 0.0;
  int64_t parameter = 0;  // Limit count when a constant
  // The base relations whose join (or scan) this node's rows are: a
  // relation-set id (worker/row_corrections.h, RelSetId) for scan and join
  // nodes over plain tables whose rows do not depend on an outer node's
  // parameters; 0 otherwise. relation_count: how many relations it covers.
  uint32_t relset = 0;
  uint8_t relation_count = 0;
  // Actuals (ExecutorEnd / EXPLAIN ANALYZE); has_actuals false otherwise.
  bool has_actuals = false;
  bool has_time = false;
  double actual_rows = 0.0;  // per loop
  double actual_loops = 0.0;
  double actual_time_ms = 0.0;  // inclusive, per loop
  const char* relation = nullptr;
  const char* alias = nullptr;
  const char* index = nullptr;
  const char* detail = nullptr;
  const char* subplan_name = nullptr;
  const char* predicate = nullptr;
};

/// Distinct constants a snapshot's constants_hash covers at most.
inline constexpr int kMaxPlanConstants = 64;

struct PlanSnapshot {
  uint64_t query_id = 0;  // PlannedStmt.queryId (0 when not computed)
  // Who planned it: part of the pattern identity (as pg_stat_statements keys
  // by dbid and userid), so one role's or database's runs never change the
  // learned state of another's patterns.
  uint32_t database_oid = 0;  // MyDatabaseId
  uint32_t role_oid = 0;      // GetUserId() when the snapshot was taken
  int32_t count = 0;
  // Some node may stop before reading all its input (Limit, Merge Join,
  // semi/anti joins, subplans): measured rows may fall short of the truth.
  bool may_stop_early = false;
  /// Hash of the distinct literal constants (type and value) in the plan's
  /// expressions -- filters, join and index conditions, target lists, limits
  /// -- independent of their order and repetition, so that plans of one
  /// statement under different arms agree; 0 = none (or more than
  /// kMaxPlanConstants distinct ones). It tells apart executions of one
  /// statement with different constants that the planner estimates alike
  /// (docs/postgres.md, "Pattern identity").
  uint64_t constants_hash = 0;
  PlanNodeSnapshot* nodes = nullptr;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLAN_SNAPSHOT_H_
