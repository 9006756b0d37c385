// PG zone: windows of a steady pattern's runs (see steady_runs.h).
#include "planner/dag_bridge.h"

#include "shim.h"
#include "hot.h"

#include "extension.h"
#include "planner/steady_runs.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"

namespace ruvector_pg {

RUVECTOR_HOT_DATA int g_steady_batch = 32;

namespace {

/// This backend's runs of one pattern since its last record of it, with
/// what a record of them alone needs (its plan's identity and relations).
struct Window {
  uint64_t key = 0;  // pattern key; 0 = free
  /// kSteadyWindowUs after this backend last recorded a run of the pattern
  /// (monotonic µs): a run from then on ends the window.
  int64_t due_us = 0;
  int64_t last_run_us = 0;  // the window's latest run (with runs > 0)
  uint64_t generation = 0;  // SharedState::generation when the window's first run was added
  PendingRuns pending;
  double last_ms = 0.0;  // the latest run's latency
  uint64_t query_id = 0;
  uint64_t shape_hash = 0;
  uint32_t param_bucket = 0;
  uint32_t node_count = 0;
  uint32_t database_oid = 0;  // whose runs they are
  uint32_t role_oid = 0;
  uint16_t plan_flags = 0;  // PlanTemplate::flags
  uint16_t relation_count = 0;
  uint32_t relations[kMaxTrajectoryRelations] = {0};
};
constexpr int kWindows = 64;  // direct-mapped by pattern key
Window g_windows[kWindows];
RUVECTOR_HOT_DATA int g_open_windows = 0;  // windows with runs
/// When the first window with runs is due a record of its own (monotonic µs):
/// the fast path compares one number to know that nothing is due.
RUVECTOR_HOT_DATA int64_t g_flush_due_us = INT64_MAX;
bool g_exit_callback = false;

/// This backend's copy of whether a pattern is steady, valid while the
/// steering filter's generation (bumped when a published decision changes
/// its arms, exploration or the minimum latency's verdict) and the minimum
/// latency are unchanged. A pattern that is not steady yet only because the
/// learner has seen too few of its runs is asked again after kRecheckRuns.
struct SteadyCacheEntry {
  uint64_t key = 0;
  uint64_t generation = 0;
  double min_ms = -1.0;
  uint32_t recheck = 0;
  bool steady = false;
};
constexpr int kSteadyCacheSlots = 256;
constexpr uint32_t kRecheckRuns = 256;
SteadyCacheEntry g_steady_cache[kSteadyCacheSlots];

size_t Slot(uint64_t key, int slots) { return static_cast<size_t>((key ^ (key >> 29)) & static_cast<uint64_t>(slots - 1)); }

RUVECTOR_HOT int64_t Micros(const instr_time& t) { return static_cast<int64_t>(INSTR_TIME_GET_MICROSEC(t)); }

void FlushAtExit(int, Datum);

/// Adds a run to a window's statistics (Welford).
RUVECTOR_HOT void AddRun(PendingRuns* p, double latency_ms) {
  ++p->runs;
  p->sum_ms += latency_ms;
  const double delta = latency_ms - p->mean_ms;
  p->mean_ms += delta / static_cast<double>(p->runs);
  p->m2 += delta * (latency_ms - p->mean_ms);
  if (p->runs == 1) {
    p->min_ms = latency_ms;
    p->max_ms = latency_ms;
  } else {
    p->min_ms = std::min(p->min_ms, latency_ms);
    p->max_ms = std::max(p->max_ms, latency_ms);
  }
}

void CloseWindow(Window* w) {
  if (w->pending.runs > 0 && --g_open_windows == 0) g_flush_due_us = INT64_MAX;
  w->pending = PendingRuns();
}

}  // namespace

RUVECTOR_HOT bool SteadyKind(const PlanSteerInfo* steer, const PlanTemplate* tmpl, int exec_nesting, int explain_depth) {
  return steer != nullptr && tmpl != nullptr && steer->identity_known && steer->action == SteerAction::kDefault &&
         steer->arm == 0 && !steer->advice && steer->vector < 0 && !steer->same_plan && exec_nesting == 0 &&
         explain_depth == 0 && !g_in_explorer && steer->identity.constants_hash == 0 && !steer->identity.by_constants &&
         steer->identity.database_oid == MyDatabaseId && steer->identity.role_oid == GetUserId();
}

namespace {

/// The window that adds a run of pattern `key` ending at `now_us` without
/// ending (nullptr when the run must be observed in full: see
/// SteadyFastPath).
RUVECTOR_HOT Window* HoldingWindow(uint64_t key, int64_t now_us) {
  if (g_steady_batch <= 1 || g_steer == nullptr) return nullptr;
  if (now_us >= g_flush_due_us) return nullptr;  // old windows are due a record first (none: INT64_MAX)
  const SteadyCacheEntry& c = g_steady_cache[Slot(key, kSteadyCacheSlots)];
  if (c.key != key || !c.steady || c.generation != QueryFilterGeneration(g_steer) || c.min_ms != g_explore_min_ms) {
    return nullptr;
  }
  Window& w = g_windows[Slot(key, kWindows)];
  if (w.key != key || now_us >= w.due_us || w.pending.runs + 1 >= static_cast<uint32_t>(g_steady_batch)) {
    return nullptr;
  }
  return &w;
}

}  // namespace

RUVECTOR_HOT int SteadyWindowRunsLeft(const PlanSteerInfo& steer, const instr_time& now) {
  const Window* w = HoldingWindow(steer.identity.pattern_key, Micros(now));
  return w != nullptr ? g_steady_batch - 2 - static_cast<int>(w->pending.runs) : -1;
}

RUVECTOR_HOT bool SteadyFastPath(const PlanSteerInfo& steer, const PlanTemplate& tmpl, const PlannedStmt* stmt, double latency_ms,
                    const instr_time& now) {
  if (!(latency_ms >= 0.0)) return false;
  const int64_t now_us = Micros(now);
  Window* found = HoldingWindow(steer.identity.pattern_key, now_us);
  if (found == nullptr) return false;
  Window& w = *found;
  if (w.pending.runs == 0) {
    // The window's first run: what a record of the window alone needs.
    w.generation = State()->generation;
    w.query_id = stmt->queryId;
    w.shape_hash = tmpl.shape_hash;
    w.param_bucket = steer.identity.param_bucket;
    w.node_count = std::min<uint32_t>(tmpl.node_count, 65535);
    w.database_oid = steer.identity.database_oid;
    w.role_oid = steer.identity.role_oid;
    w.plan_flags = tmpl.flags;
    CollectRelations(stmt, w.relations, &w.relation_count);
    ++g_open_windows;
    g_flush_due_us = std::min(g_flush_due_us, w.due_us);
  }
  AddRun(&w.pending, latency_ms);
  w.last_ms = latency_ms;
  w.last_run_us = now_us;
  return true;
}

PendingRuns TakeSteadyRuns(uint64_t pattern_key, const instr_time& now) {
  PendingRuns out;
  if (g_steer == nullptr) return out;
  SteadyCacheEntry& c = g_steady_cache[Slot(pattern_key, kSteadyCacheSlots)];
  const uint64_t generation = QueryFilterGeneration(g_steer);
  const double min_ms = g_explore_min_ms;
  if (c.key != pattern_key || c.generation != generation || c.min_ms != min_ms || (!c.steady && c.recheck-- == 0)) {
    LWLockAcquire(g_steer_lock, LW_SHARED);
    const Decision* d = FindDecision(g_steer, pattern_key);
    const bool known = d != nullptr && d->split == 0;
    const bool enough = known && d->observed_runs >= kSteadyMinRuns;
    const bool steady = enough && CaptureRuledOut(g_steer, pattern_key, min_ms);
    LWLockRelease(g_steer_lock);
    c.key = pattern_key;
    c.generation = generation;
    c.min_ms = min_ms;
    c.steady = steady;
    // Runs and decisions that change without a new filter generation.
    c.recheck = kRecheckRuns;
  }
  Window& w = g_windows[Slot(pattern_key, kWindows)];
  if (w.key != pattern_key) {
    // Only a steady pattern opens a window; another pattern's runs keep theirs.
    if (!c.steady || w.pending.runs > 0) return out;
    if (!g_exit_callback) {
      // Before the fast path can hold runs (it must not raise; this may).
      before_shmem_exit(FlushAtExit, 0);
      g_exit_callback = true;
    }
    w.key = pattern_key;
    w.pending = PendingRuns();
  }
  if (w.pending.runs > 0 && w.generation == State()->generation) out = w.pending;
  CloseWindow(&w);
  w.due_us = Micros(now) + kSteadyWindowUs;
  return out;
}

void AddPendingRuns(const PendingRuns& pending, ExecutionSample* x) {
  if (pending.runs == 0) return;
  PendingRuns all = pending;
  AddRun(&all, x->latency_ms);
  x->runs = all.runs;
  x->batch_sum_ms = all.sum_ms;
  x->batch_m2 = std::max(0.0, all.m2);
  x->batch_min_ms = all.min_ms;
  x->batch_max_ms = all.max_ms;
}

bool SteadyFlushDue(const instr_time& now) { return g_open_windows > 0 && Micros(now) >= g_flush_due_us; }

void FlushSteadyWindows(const instr_time& now, bool all, bool* lock_held) {
  SharedState* s = State();
  if (s == nullptr || g_open_windows == 0) return;
  const int64_t now_us = Micros(now);
  const int64_t wall_us = NowUnixMicros();
  int64_t next_due = INT64_MAX;
  for (Window& w : g_windows) {
    if (w.pending.runs == 0) continue;
    if (!all && now_us < w.due_us) {
      next_due = std::min(next_due, w.due_us);
      continue;
    }
    const PendingRuns p = w.pending;
    const bool current = w.generation == s->generation;  // else counted before a reset
    CloseWindow(&w);
    w.due_us = now_us + kSteadyWindowUs;
    if (!current) continue;
    // The record stands for the window's runs: its own is the latest.
    ExecutionSample x;
    x.key = w.key;
    x.query_id = w.query_id;
    x.shape_hash = w.shape_hash;
    x.param_bucket = w.param_bucket;
    x.node_count = w.node_count;
    x.database_oid = w.database_oid;
    x.role_oid = w.role_oid;
    x.latency_ms = w.last_ms;
    x.now_us = wall_us - (now_us - w.last_run_us);
    x.runs = p.runs;
    x.batch_sum_ms = p.sum_ms;
    x.batch_m2 = std::max(0.0, p.m2);
    x.batch_min_ms = p.min_ms;
    x.batch_max_ms = p.max_ms;
    LWLockAcquire(StateLock(), LW_SHARED);
    *lock_held = true;
    AddCounter(&s->counters.executions_observed, p.runs);
    const UpdateResult updated = UpdatePattern(s, x);
    RingClaim claim = ClaimTrajectory(s);
    if (TrajectoryRecord* rec = claim.slot) {
      // No plan: the pattern's other records carry it.
      rec->pattern_key = x.key;
      rec->query_id = x.query_id;
      rec->shape_hash = x.shape_hash;
      rec->param_bucket = x.param_bucket;
      rec->database_oid = x.database_oid;
      rec->role_oid = x.role_oid;
      rec->relation_count = w.relation_count;
      std::memcpy(rec->relations, w.relations, sizeof(rec->relations));
      rec->flags = static_cast<uint16_t>((w.plan_flags & (kTrajectoryParallel | kTrajectoryMayStopEarly)) |
                                         kTrajectoryArmKnown | TrajectoryArmBits(0));
      rec->latency_ms = x.latency_ms;
      rec->recorded_at_us = x.now_us;
      rec->also_runs = p.runs - 1;
      rec->also_latency_ms = p.runs > 1 ? std::max(0.0, p.sum_ms - x.latency_ms) : 0.0;
      PublishTrajectory(s, claim);
    }
    LWLockRelease(StateLock());
    *lock_held = false;
    if (updated == UpdateResult::kAbsent) {
      // Evicted meanwhile: admitted again like a new pattern.
      LWLockAcquire(StateLock(), LW_EXCLUSIVE);
      *lock_held = true;
      InsertPattern(s, x, g_pattern_share);
      LWLockRelease(StateLock());
      *lock_held = false;
    }
  }
  g_flush_due_us = next_due;
}

void CollectRelations(const PlannedStmt* stmt, uint32_t* relations, uint16_t* count) {
  int total = 0;
  ListCell* lc;
  foreach (lc, stmt->relationOids) {
    const uint32_t relid = lfirst_oid(lc);
    const int kept = std::min(total, kMaxTrajectoryRelations);
    uint32_t* end = relations + kept;
    uint32_t* pos = std::lower_bound(relations, end, relid);
    if (pos != end && *pos == relid) continue;
    ++total;
    if (kept < kMaxTrajectoryRelations) {
      std::copy_backward(pos, end, end + 1);
      *pos = relid;
    } else if (relid < relations[kMaxTrajectoryRelations - 1]) {
      // Keep the smallest OIDs: the same plan keeps the same ones.
      std::copy_backward(pos, end - 1, end);
      *pos = relid;
    }
  }
  *count = static_cast<uint16_t>(std::min(total, 65535));
}

namespace {

/// Backend exit: the open windows' runs get their records.
void FlushAtExit(int, Datum) {
  if (g_open_windows == 0 || State() == nullptr || LWLockHeldByMe(StateLock())) return;
  instr_time now;
  INSTR_TIME_SET_CURRENT(now);
  volatile bool lock_held = false;
  PG_TRY();
  {
    FlushSteadyWindows(now, true, const_cast<bool*>(&lock_held));
  }
  PG_CATCH();
  {
    if (lock_held) LWLockRelease(StateLock());
    FlushErrorState();
  }
  PG_END_TRY();
}

}  // namespace

}  // namespace ruvector_pg
