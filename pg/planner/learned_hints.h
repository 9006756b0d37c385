// PG zone: the shared table of the hint arms' content (docs/postgres.md,
// "Hint arms"). The worker derives each pattern's hint (worker/hint_arms.h)
// and publishes the table; planning a pattern under a hint arm looks its
// hint up and plans with it through the hint mechanism of plan advice
// (planner/plan_hints.h). Include after shim.h.
#ifndef RUVECTOR_PG_PLANNER_LEARNED_HINTS_H_
#define RUVECTOR_PG_PLANNER_LEARNED_HINTS_H_

#include "planner/corrections.h"
#include "planner/plan_hints.h"
#include "state/steer_state.h"
#include "worker/hint_arms.h"

namespace ruvector_pg {

/// Patterns whose hint the shared table holds (the learner keeps at most
/// this many too).
inline constexpr int kMaxHintedPatterns = 256;

void RequestLearnedHintsMemory();  // from shmem_request_hook
void StartupLearnedHintsMemory();  // from shmem_startup_hook

/// One published hint and the names of its relations as a planning saw
/// them ("" until a planning named them).
struct PublishedHint {
  LearnedHint hint;
  char relations[kRelationsTextLen] = {0};
};

/// Copies the hint published for `pattern_key` into *out (shared lock).
/// False when the pattern has none.
bool LookupLearnedHint(uint64_t pattern_key, PublishedHint* out);
/// Copies up to `cap` published hints into `out`, ascending by pattern key
/// (shared lock); returns how many.
int CopyLearnedHints(PublishedHint* out, int cap);
/// Replaces the published table with `hints` (worker only; exclusive lock;
/// names already recorded for the same pattern, version and join are kept).
/// Hints beyond kMaxHintedPatterns are dropped. `scratch` holds
/// kMaxHintedPatterns entries (the caller's memory: nothing is allocated
/// under the lock).
void PublishLearnedHints(const LearnedHint* hints, size_t count, PublishedHint* scratch);

/// Counters shown by dag_row_correction_status() next to the corrections'.
struct LearnedHintCounters {
  uint64_t published_patterns = 0;
  uint64_t hinted_plannings = 0;  // plannings under a hint arm with a hint
  uint64_t refused_plannings = 0; // of which the hint could not be carried out (default plan used)
  uint64_t generation = 0;        // publications
};
LearnedHintCounters ReadLearnedHintCounters();

/// Plans `parse` with PostgreSQL's settings and the hint published for
/// `pattern_key` (PlanWithHints with `planner`). nullptr with *none set when
/// the pattern has no hint (the arm plans like the default then); nullptr
/// alone when planning failed or the plan does not carry the hint out
/// (counted in refused_plannings). `advice` (kAdviceTextLen bytes) receives
/// the advice text of the hint of a plan returned ("" otherwise). *stamp
/// receives which hint the planning looked at (HintStamp{} when none).
PlannedStmt* PlanWithLearnedHint(uint64_t pattern_key, CorrectedPlannerFn planner, Query* parse,
                                 const char* query_string, int cursor_options, ParamListInfo params, bool* none,
                                 char* advice, HintStamp* stamp);

/// True while the hint published for `pattern_key` is still the one
/// `stamp` names (both none counts as the same): a run of a plan made under
/// a hint the worker has replaced since measures no current arm (shared
/// lock; called only for runs of a hint arm).
bool HintStampIsCurrent(uint64_t pattern_key, const HintStamp& stamp);

/// Appends the advice text of the hint published for `pattern_key` to `out`
/// (FormatAdvice's form: "HASHJOIN(a b)", or "HASHJOIN(#relset)" while no
/// planning named its relations). False when the pattern has none.
bool LearnedHintAdvice(uint64_t pattern_key, char* out, size_t cap);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_LEARNED_HINTS_H_
