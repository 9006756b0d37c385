// PG zone: learned row-count corrections in the planner (docs/postgres.md,
// "Row-count corrections"). The worker publishes each pattern's corrections
// into a shared table; planning a pattern under the `row_corrections` arm
// activates them, and two planner hooks (set_rel_pathlist_hook for base
// relations, set_join_pathlist_hook for join relations) multiply the
// planner's row estimates of the corrected relation sets. Include after
// shim.h.
#ifndef RUVECTOR_PG_PLANNER_CORRECTIONS_H_
#define RUVECTOR_PG_PLANNER_CORRECTIONS_H_

#include "state/plan_advice.h"
#include "worker/row_corrections.h"

namespace ruvector_pg {

/// Patterns whose corrections the shared table holds (the learner keeps
/// at most this many too).
inline constexpr int kMaxCorrectedPatterns = 256;

void RequestCorrectionsMemory();  // from shmem_request_hook
void StartupCorrectionsMemory();  // from shmem_startup_hook
/// Chains set_rel_pathlist_hook and set_join_pathlist_hook (from _PG_init).
void InstallCorrectionHooks();

/// Copies the corrections published for `pattern_key` into *out (shared
/// lock). False when the pattern has none.
bool LookupCorrections(uint64_t pattern_key, PatternCorrections* out);
/// Copies up to `cap` published patterns' corrections into `out`, ascending
/// by pattern key (shared lock); returns how many.
int CopyCorrections(PatternCorrections* out, int cap);
/// Replaces the published table with `patterns` (worker only; exclusive
/// lock). Patterns beyond kMaxCorrectedPatterns are dropped.
void PublishCorrections(const PatternCorrections* patterns, size_t count);

/// The RelKeys of a query level's range table (0 = not a plain table: a
/// subquery, a function, an inheritance parent), computed once per level.
struct RelKeyCache {
  PlannerInfo* root = nullptr;
  uint64_t* keys = nullptr;
  int count = 0;
  MemoryContext cxt = nullptr;  // of `keys` (set by the owner)
};
/// The RelKey of range-table entry `rti` of `root` (0 when it is not a
/// plain table).
uint64_t KeyOf(RelKeyCache* cache, PlannerInfo* root, int rti);
/// The relation-set id of `relids` (0 when a member is not a plain table).
uint32_t RelSetOf(RelKeyCache* cache, PlannerInfo* root, Relids relids);

/// Counters shown by dag_row_correction_status().
struct CorrectionCounters {
  uint64_t published_patterns = 0;  // patterns with corrections in the table
  uint64_t published_sets = 0;      // corrections in the table
  uint64_t corrected_plannings = 0; // plannings under row_corrections with corrections
  uint64_t corrected_relations = 0; // base or join relations whose rows were corrected
  uint64_t generation = 0;          // publications
};
CorrectionCounters ReadCorrectionCounters();

/// The relations of a corrected set as plan advice names them (their
/// range-table aliases, FormatAliases), at most this long.
inline constexpr int kRelationsTextLen = 160;

/// Writes the aliases of `relids` (FormatAliases) into `out`
/// (kRelationsTextLen bytes); "" when a member has no name or the text is
/// too long (the set is then shown by its id).
void NameRelations(PlannerInfo* root, Relids relids, char* out);

/// What one corrected planning applied.
struct CorrectionReport {
  int corrected = 0;          // base or join relations whose rows were changed
  uint32_t applied_mask = 0;  // bit i: the set's item i matched a relation of the planning
  char relations[kMaxCorrectionsPerPattern][kRelationsTextLen] = {};  // of each applied item
};

using CorrectedPlannerFn = PlannedStmt* (*)(Query*, const char*, int, ParamListInfo, const char*);
/// Plans with `planner` (which must contain its own errors, as PlanUnderArm
/// does) while `set` is active, and deactivates it on every path. Returns
/// what `planner` returned; *report (optional) says what was applied.
PlannedStmt* PlanWithCorrections(const PatternCorrections& set, CorrectedPlannerFn planner, Query* parse,
                                 const char* query_string, int cursor_options, ParamListInfo params,
                                 const char* settings, CorrectionReport* report);

/// Remembers the relation names of the sets a planning of `pattern_key`
/// applied (shared, direct-mapped by pattern: a later pattern may replace
/// them), so that CorrectionsAdvice can name them.
void RememberCorrectionNames(uint64_t pattern_key, const PatternCorrections& set, const CorrectionReport& report);
/// Appends the ROWS items of the corrections published for `pattern_key`
/// to `out` (FormatAdvice's form; a set whose names no planning recorded
/// is written by its id). False when the pattern has none.
bool CorrectionsAdvice(uint64_t pattern_key, char* out, size_t cap);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_CORRECTIONS_H_
