// PG zone: the join, scan and LEADING hints of pinned plan advice in the
// planner (docs/postgres.md, "Plan advice"). Three planner hooks apply them
// while a hinted planning runs -- set_rel_pathlist_hook (scan methods),
// set_join_pathlist_hook (join methods) and join_search_hook (LEADING) --
// and the finished plan is checked: a plan that does not carry out every
// hint is not used. Include after shim.h.
#ifndef RUVECTOR_PG_PLANNER_PLAN_HINTS_H_
#define RUVECTOR_PG_PLANNER_PLAN_HINTS_H_

#include "planner/corrections.h"
#include "state/plan_advice.h"

namespace ruvector_pg {

/// Chains set_rel_pathlist_hook, set_join_pathlist_hook and
/// join_search_hook (from _PG_init, after InstallCorrectionHooks). Each
/// hook returns after one pointer test when no hinted planning runs.
void InstallHintHooks();

/// The relations each join or scan hint of a planning matched, by alias
/// (FormatAliases; "" = not matched or unnamed).
struct HintReport {
  char relations[kMaxAdviceHints][kRelationsTextLen] = {};
};

/// Plans with `planner` (which must contain its own errors, as PlanUnderArm
/// does) while `hints` are active, and deactivates them on every path.
/// Returns the plan, or nullptr when planning failed or the plan does not
/// carry out every hint (logged: the caller counts it and uses the default
/// plan). `report` (optional) receives the names of the hinted relations.
PlannedStmt* PlanWithHints(const PinnedHints& hints, CorrectedPlannerFn planner, Query* parse,
                           const char* query_string, int cursor_options, ParamListInfo params, const char* settings,
                           HintReport* report = nullptr);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_PLAN_HINTS_H_
