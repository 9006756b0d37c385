// PG zone: copies PostgreSQL plan and executor trees into a PlanSnapshot.
// Include after shim.h. Everything is palloc'd in the current memory context
// and may ereport (catalog lookups when names are asked for).
#ifndef RUVECTOR_PG_PLAN_EXTRACT_H_
#define RUVECTOR_PG_PLAN_EXTRACT_H_

#include "planner/dag_bridge.h"
#include "planner/plan_snapshot.h"

namespace ruvector_pg {

/// Walks `stmt` in EXPLAIN's order (node, InitPlans, outer, inner, member
/// plans, SubPlans found in the node's expressions). With `with_names`,
/// relation/index/alias names and scan predicates are looked up (catalog
/// access and deparsing: not for the hot path). At most `max_nodes` nodes
/// are copied (0 = no limit); `truncated` (optional) reports a cut-off.
PlanSnapshot* ExtractPlan(PlannedStmt* stmt, bool with_names, int max_nodes = 0, bool* truncated = nullptr);

/// Copies per-node actual rows/loops (and times when the executor measured
/// them) from the executor's instrumentation into `snapshot`, matching
/// nodes by plan_node_id. Reads only; does not end instrumentation loops.
void AttachActuals(PlanSnapshot* snapshot, PlanState* root);

/// The per-loop actual rows of the executor's instrumented nodes, by plan
/// node id, into rows[index] of the template's node at that id (nodes with
/// no loop keep their value). For a template with ids_mapped; reads only.
void ActualRowsById(const PlanTemplate& tmpl, PlanState* root, float* rows);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLAN_EXTRACT_H_
