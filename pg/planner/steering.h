// PG zone declarations of plan steering in the planner (steering.cc).
// Include after shim.h.
#ifndef RUVECTOR_PG_PLANNER_STEERING_H_
#define RUVECTOR_PG_PLANNER_STEERING_H_

#include "planner/dag_bridge.h"
#include "state/steer_state.h"

namespace ruvector_pg {

// --- GUCs (init.cc) ------------------------------------------------------------
enum ExplorationMode { kExplorationOff = 0, kExplorationOnline = 1 };
extern int g_exploration_mode;        // ruvector.dag_exploration
extern double g_exploration_budget;   // ruvector.dag_exploration_budget
extern bool g_steering_enabled;       // ruvector.dag_steering
extern int g_baseline_interval;       // ruvector.dag_baseline_interval

/// How one planned statement was planned (kept per backend, keyed by a
/// fingerprint of the PlannedStmt that survives the plan cache's copy: query
/// id, statement position, the top node's type, costs, rows and width; read
/// by the executor and EXPLAIN hooks).
struct PlanSteerInfo {
  PlanIdentity identity;       // of PostgreSQL's default plan (the pattern)
  bool identity_known = false;
  int arm = 0;
  SteerAction action = SteerAction::kDefault;
  double confidence = 0.0;
  double default_ms = 0.0;
  double arm_ms = 0.0;
  bool replan_failed = false;
  bool same_plan = false;  // the arm's plan equals PostgreSQL's default plan
  bool unmeasured_constants = false;  // SteerChoice::unmeasured_constants
  int corrected_relations = 0;  // row_corrections arm: relations whose rows were corrected
  int vector = -1;  // vector search setting applied (ruvector_dag/vector_tuning.h), -1 = none
  bool advice = false;  // planned under pinned plan advice (arm 0: no arm is measured)
  HintStamp hint;       // a hint arm's planning: the hint it used (none: planned like the default)
  char arm_name[kArmNameLen] = {0};
};
/// `tmpl` (optional): the structure of `stmt` for the executor hook's
/// trajectory (copied; see PlanTemplate). `advice` (optional): the plan
/// advice this planning applied, shown by EXPLAIN (copied).
void RememberPlan(const PlannedStmt* stmt, const PlanSteerInfo& info, const PlanTemplate* tmpl = nullptr,
                  const char* advice = nullptr);
/// The plan advice remembered with `stmt` (nullptr when none).
const char* LookupPlanAdvice(const PlannedStmt* stmt);
/// nullptr when this backend did not plan `stmt` or a plan with the same
/// fingerprint (or forgot it). *tmpl (optional) is set to the remembered
/// template or nullptr.
const PlanSteerInfo* LookupPlan(const PlannedStmt* stmt, const PlanTemplate** tmpl = nullptr);
/// Whether a plan this backend remembers runs under a vector search setting
/// (PlanSteerInfo::vector >= 0): only then does the executor run hook look
/// its statement's plan up.
bool RemembersVectorPlans();

/// When a decision that plannings serve changed since this backend last
/// looked (SteerState::served_generation: a deployment, a revert, a pin, a
/// split, a vector setting), marks every cached plan of this backend
/// invalid (ResetPlanCache), so prepared statements and PL/pgSQL plans are
/// planned again under the new decisions at their next use. O(1) otherwise
/// (one atomic read). Called before an EXECUTE gets its plan and at every
/// executor start (for protocol-level prepared statements, whose next
/// execution then re-plans).
void ReplanCachedIfServingChanged();

/// The query-id filter flags: O(1), from a per-backend cache while the
/// filter is unchanged, else under the shared lock.
uint8_t SteerFilterFor(uint64_t query_id);
/// When the learner split the pattern of `id` by constants
/// (Decision::split) and the plan has constants, makes `id` the identity of
/// this execution's constants: statement_key and pattern_key become the
/// constants' and by_constants is set. Costs nothing for a query id without
/// a split pattern (the filter), else one shared-lock lookup. PG zone.
void ResolveConstants(uint64_t query_id, PlanIdentity* id);
/// False when the learner's decisions rule out capturing pattern
/// `pattern_key` (CaptureRuledOut): O(1), from a per-backend cache while no
/// decision was published, else under the shared lock. True means only that
/// MaybeCaptureStatement has to look.
bool CaptureMayBeWanted(uint64_t pattern_key, double min_default_ms);
/// Chooses the arm for this planning (exclusive lock; advances counters) and
/// copies its settings and name out; for pinned advice (choice.advice >= 0)
/// its settings, the name "advice" and the pin itself into *advice.
/// `constants_hash`: the planning's (PlanIdentity::constants_hash).
SteerChoice ChooseSteering(uint64_t pattern_key, uint64_t query_id, char* settings, size_t settings_cap,
                           char* arm_name, size_t name_cap, AdvicePin* advice, uint64_t constants_hash = 0);
/// Counts a planning under the pinned advice of `query_id` in this database
/// that failed (the default plan was used).
void CountAdviceFailure(uint64_t query_id);

using PlannerFn = PlannedStmt* (*)(Query*, const char*, int, ParamListInfo);
/// Plans `parse` (a fresh copy: the planner scribbles on it) with the arm's
/// settings applied at a new GUC nest level, restored on every path. On any
/// error other than a cancel it logs, counts and returns nullptr (the caller
/// keeps the default plan).
PlannedStmt* PlanUnderArm(PlannerFn planner, Query* parse, const char* query_string, int cursor_options,
                          ParamListInfo params, const char* settings);

/// Applies vector search setting `setting` (ruvector_dag/vector_tuning.h)
/// at a new GUC nest level and returns the level; EndVectorSetting restores
/// the session's values (`ok` = false on the error path). The index scan
/// reads ruvector.hnsw_ef_search while it runs, so the executor hook wraps
/// each run of a plan made for a search setting in these.
int BeginVectorSetting(int setting);
void EndVectorSetting(int nest, bool ok);

/// Whether setting `name` may be part of an arm: planner settings (Query
/// Tuning), memory and parallelism, and extensions' own settings -- never
/// one that changes who runs the statement or how its names resolve
/// (role, session_authorization, search_path, ...).
bool ArmSettingAllowed(const char* name);

/// The settings and name of arm `arm` (false when it does not exist).
bool ArmSettings(int arm, char* settings, size_t settings_cap, char* arm_name, size_t name_cap);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_STEERING_H_
