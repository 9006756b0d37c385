// PG zone: the executor hook's record of a steady pattern's runs
// (steady_runs.cc; docs/postgres.md, "Steady patterns"). Include after
// shim.h.
//
// A pattern is steady when the learner knows it (a decision after
// kSteadyMinRuns runs), serves it PostgreSQL's plan and wants nothing
// captured of it. Its served runs do not need a trajectory each: the
// learning pass keeps a sample of at most 16 runs per (pattern, arm) anyway.
// So a backend writes a record for one run of such a pattern per window and
// adds the window's other runs to it (TrajectoryRecord::also_runs,
// also_latency_ms; the pattern's statistics get them in one step): run
// counts, latency sums and time at stake stay exact, and the record's own run
// is a uniform sample of the window's runs (windows end by count and time,
// never by latency). A window ends with the run that fills
// ruvector.dag_steady_batch runs, the first run kSteadyWindowUs or more
// after this backend's last record of the pattern, or a run that measures
// row counts; the runs of a window whose pattern stops running in this
// backend get a record of their own at the backend's next observed
// execution after kSteadyWindowUs, or when it exits.
//
// Per backend, no locks: the windows and the steadiness cache are this
// backend's memory. SteadyFastPath may run outside any error handler (it
// neither allocates nor locks nor raises); everything that locks runs inside
// the caller's observation (PG_TRY) frame.
#ifndef RUVECTOR_PG_PLANNER_STEADY_RUNS_H_
#define RUVECTOR_PG_PLANNER_STEADY_RUNS_H_

#include "planner/steering.h"

namespace ruvector_pg {

extern int g_steady_batch;  // ruvector.dag_steady_batch

/// Runs the learner must have seen of a pattern before it counts as steady.
inline constexpr uint64_t kSteadyMinRuns = 64;
/// A backend records a steady pattern's run at least this often.
inline constexpr int64_t kSteadyWindowUs = 100000;

/// Runs of one pattern held by this backend since its last record of it.
struct PendingRuns {
  uint32_t runs = 0;
  double sum_ms = 0.0;
  double mean_ms = 0.0;
  double m2 = 0.0;  // sum of squared deviations from mean_ms
  double min_ms = 0.0;
  double max_ms = 0.0;
};

/// Whether a run of a plan planned as `steer` (with template `tmpl`) is of
/// the kind that windows hold: served with PostgreSQL's plan, planned by
/// this backend for the role and database that run it, at the top level,
/// not by the explorer nor under EXPLAIN, without constants of its own (the
/// learner's split test sees all of those runs). `explain_depth` is the
/// backend's EXPLAIN nesting.
bool SteadyKind(const PlanSteerInfo* steer, const PlanTemplate* tmpl, int exec_nesting, int explain_depth);

/// The fast path: adds this run (latency `latency_ms`, ended at the
/// monotonic clock reading `now`) to its pattern's window and returns true,
/// or returns false when the run must be observed in full (the window ends
/// with it, the pattern is not known to be steady from this backend's cache,
/// another pattern holds the window slot, or old windows are due a record).
/// No allocation, lock or error.
bool SteadyFastPath(const PlanSteerInfo& steer, const PlanTemplate& tmpl, const PlannedStmt* stmt, double latency_ms,
                    const instr_time& now);

/// Whether a run of a plan planned as `steer` (of SteadyKind) that ended at
/// `now` would be added to its pattern's window without ending it -- what
/// SteadyFastPath decides before it adds the run --, and if so how many
/// further runs the window holds by count before the run that ends it (0 or
/// more; -1: the run would not be held). The executor start hook asks it
/// with the clock at the start of a run, to leave the row-count sample to
/// the run that ends the window (a run ends no earlier than it starts, so a
/// run that would not be held at its start is not held). No allocation,
/// lock or error.
int SteadyWindowRunsLeft(const PlanSteerInfo& steer, const instr_time& now);

/// The full path of a run of SteadyKind: refreshes the cached steadiness of
/// its pattern (shared steering lock) and hands over the runs its window
/// holds (which the run's record then carries); the run's record restarts
/// the window at `now`.
PendingRuns TakeSteadyRuns(uint64_t pattern_key, const instr_time& now);

/// Merges `pending` and a run of `latency_ms` into `x` (runs, batch
/// statistics; x->latency_ms is the run's).
void AddPendingRuns(const PendingRuns& pending, ExecutionSample* x);

/// Writes a record for every window with runs whose last record is
/// kSteadyWindowUs or more before `now` (all of them with `all`), each
/// standing for its window's runs. Takes the state lock; sets *lock_held
/// while it holds it (for the caller's error handler).
void FlushSteadyWindows(const instr_time& now, bool all, bool* lock_held);

/// Whether FlushSteadyWindows has something to write at `now`.
bool SteadyFlushDue(const instr_time& now);

/// Stores the relations the plan reads (PostgreSQL lists them for plan
/// invalidation), ascending and distinct, the first kMaxTrajectoryRelations
/// of them, into `relations` and how many there are into *count.
void CollectRelations(const PlannedStmt* stmt, uint32_t* relations, uint16_t* count);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_STEADY_RUNS_H_
