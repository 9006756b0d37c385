// PG zone: background exploration. Backends capture read-only statements of
// patterns the learner wants to explore (text + parameters, at execution);
// the background worker plans batches within a CPU budget (every run's
// timeout fits the budget saved up; most valuable work first; nothing while
// users' statements occupy the cores: foreground.h) and starts one
// dynamic "explorer" process per batch, connected to the statement's
// database as the role that ran it. The explorer re-executes each statement
// under the candidate arm in a read-only, security-restricted transaction
// with the captured search_path, cancelled after a timeout derived from the
// pattern's best measured latency, the value model's prediction for the arm
// and the current load (steer_state.h, PlanExploreBatch), but only while the
// statement passes the re-execution rule (explorer_guard.h). Completed runs
// are observed by the ordinary executor hook (an exploration trajectory of
// that arm); a run cancelled at its timeout is recorded as a censored one.
// docs/postgres.md, "Background exploration".
#include "planner/dag_bridge.h"

#include <sys/resource.h>

#include "shim.h"
#include "hot.h"

extern "C" {
#include "optimizer/optimizer.h"
#include "tcop/tcopprot.h"
#include "tcop/dest.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
}

#include "api/visibility.h"
#include "extension.h"
#include "guard.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"
#include "worker/explorer_guard.h"
#include "worker/foreground.h"
#include "worker/vector_sample.h"

extern "C" {
#include "commands/dbcommands.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
PG_FUNCTION_INFO_V1(ruvector_dag_exploration_status);
PG_FUNCTION_INFO_V1(ruvector_dag_captured_statements);
}

namespace ruvector_pg {

double g_explore_cpu_budget = 0.1;
RUVECTOR_HOT_DATA double g_explore_min_ms = 1.0;
double g_explore_horizon_s = 3600.0;
int g_forced_arm = -1;
const char* g_forced_settings = nullptr;
RUVECTOR_HOT_DATA bool g_in_explorer = false;

namespace {

/// A candidate's run may take this multiple of the latency it must beat
/// (the deployed arm's, else the default plan's; x the measured load) plus
/// kTimeoutSlackMs before it is cancelled (and counted as at least that
/// slow): a candidate is deployed only when measured faster than that
/// latency, so a run half as slow again is of no use, and each such run
/// costs at most 1.5x what a run of the plan it must beat costs. The slack
/// keeps noise on millisecond queries from cancelling good runs. When the
/// value model predicts the arm faster, or the budget is short, a run may
/// get down to kMinTimeoutFactor x that latency.
constexpr double kTimeoutFactor = 1.5;
constexpr double kMinTimeoutFactor = 1.2;
constexpr double kTimeoutSlackMs = 2.0;
/// Runs of one candidate per job at least (more, up to kMaxJobRuns, when the
/// learner needs them to judge the arm: Decision::explore_runs).
constexpr int kRunsPerJob = 2;
/// A capture is refreshed (new parameters) at most this often.
constexpr int64_t kCaptureRefreshUs = int64_t{30} * 1000000;
/// Unused budget accumulates for at most this long (while a core is free):
/// the longest run the explorer can ever make is budget x this.
constexpr double kMaxCreditSeconds = 30.0;
/// Before each run the explorer waits at most this long for a free core,
/// then leaves the rest of its batch for later.
constexpr int kYieldWaitMs = 2000;
/// The explorer's nice value (see ruvector_dag_explorer_main).
constexpr int kExplorerNice = 10;

// --- worker side -------------------------------------------------------------

BackgroundWorkerHandle* g_explorer = nullptr;
uint64_t g_explorer_request = 0;    // the batch handed out last
int64_t g_batch_started_us = 0;     // when it was handed out (or the explorer launched)
bool g_batch_accounted = true;      // its busy time was charged
int64_t g_explorer_deadline_us = 0;
double g_credit_us = 0.0;           // budget not yet spent
/// The share of the budget that validation jobs (votes owed on peers'
/// proposals, Decision::validation) may use, and its credit: it accrues at
/// that share of the budget, at most that share of kMaxCreditSeconds, and is
/// charged with what a batch's validation jobs may cost at their worst when
/// the batch is planned (docs/sync.md, "Validation quota").
constexpr double kValidationShare = 0.25;
double g_validation_credit_us = 0.0;
int64_t g_credit_updated_us = 0;
int64_t g_launch_failure_logged_us = 0;

/// An explorer idles this long waiting for more work before it exits.
constexpr int kExplorerIdleMs = 1000;

double MaxCreditUs() { return g_explore_cpu_budget * kMaxCreditSeconds * 1e6; }

/// Charges a finished (or abandoned) batch to the budget and the counters:
/// its wall time minus the time it waited for a free core. Every batch is
/// planned to fit the credit it was given (PlanExploreBatch), so only
/// overheads (starting the process, parsing, planning and committing each
/// run, a CPU shared with other programs) make a debt; it is owed in full
/// (no batch starts before it is repaid), so the explorer's time stays
/// within the budget x the elapsed time + what was saved up, also on a
/// loaded machine.
void AccountBatch(int64_t finished_us, int64_t yielded_us) {
  if (g_batch_accounted) return;
  const int64_t busy = std::max<int64_t>(0, finished_us - g_batch_started_us - std::max<int64_t>(0, yielded_us));
  g_credit_us -= static_cast<double>(busy);
  Steer()->counters.explorer_busy_us += busy;
  g_batch_accounted = true;
}

/// The explorer exited: charge what it ran, and if it died before
/// finishing its batch (its role cannot log in, the database was dropped, it
/// was terminated) count a failure against the capture of the job it was
/// running, or every capture of the batch when it started none
/// (ChargeUnfinishedBatch).
void ReapExplorer(int64_t now) {
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  SteerState* s = Steer();
  ExploreRequest& r = s->explore;
  if (r.id == g_explorer_request && r.finished_us == 0) {
    const int charged = ChargeUnfinishedBatch(s);
    ++s->counters.explorer_errors;
    ereport(LOG, (errmsg("ruvector_dag: the explorer exited before finishing its batch of %d jobs "
                         "(a failure counted for %d captured statements)",
                         r.job_count, charged)));
    r.finished_us = now;
  }
  const bool current = r.id == g_explorer_request;
  AccountBatch(current && r.finished_us != 0 ? r.finished_us : now, current ? r.yielded_us : 0);
  s->explorer_pid = 0;
  LWLockRelease(SteerLock());
  pfree(g_explorer);
  g_explorer = nullptr;
}

int64_t WorstCaseUs(const ExploreRequest& r) {
  int64_t us = 0;
  for (int i = 0; i < r.job_count; ++i) {
    const int runs = r.jobs[i].vector != 0 ? 1 + VectorMaskRuns(r.jobs[i].vector_mask) : r.jobs[i].runs;
    us += static_cast<int64_t>(runs) * (r.jobs[i].timeout_ms + 200) * 1000;
  }
  // Waits for a free core, and a margin for connecting and committing.
  return us + static_cast<int64_t>(kYieldWaitMs) * 1000 * r.job_count + int64_t{30} * 1000000;
}

/// The time at stake of each capture's pattern (pattern table, decayed to
/// `now`), per capture slot: what exploring it can save.
void CaptureStakes(int64_t now, double* stake_ms) {
  uint64_t keys[kCaptureSlots];
  LWLockAcquire(SteerLock(), LW_SHARED);
  for (int i = 0; i < kCaptureSlots; ++i) keys[i] = Steer()->captures[i].pattern_key;
  LWLockRelease(SteerLock());
  LWLockAcquire(StateLock(), LW_SHARED);
  for (int i = 0; i < kCaptureSlots; ++i) {
    stake_ms[i] = 0.0;
    const PatternEntry* e = keys[i] != 0 ? FindPattern(State(), keys[i]) : nullptr;
    if (e == nullptr) continue;
    PatternEntry copy;
    CopyPatternEntry(*e, &copy);
    const double age = static_cast<double>(std::max<int64_t>(0, now - copy.value_at_us));
    stake_ms[i] = copy.value_ms * std::exp2(-age / static_cast<double>(kValueHalfLifeUs));
  }
  LWLockRelease(StateLock());
}

/// The batch plan for the worker's next batch, within the credit.
ExplorePlan CurrentPlan(const double* stake_ms) {
  ExplorePlan plan;
  plan.timeout_factor = kTimeoutFactor;
  plan.min_timeout_factor = kMinTimeoutFactor;
  plan.slack_ms = kTimeoutSlackMs;
  plan.runs = kRunsPerJob;
  plan.baseline_interval = static_cast<uint32_t>(g_baseline_interval);
  plan.min_default_ms = g_explore_min_ms;
  plan.credit_ms = PlanCreditMs(g_credit_us);
  plan.max_credit_ms = MaxCreditUs() / 1000.0;
  plan.validation_credit_ms = std::max(0.0, g_validation_credit_us / 1000.0);
  plan.cpu_budget = g_explore_cpu_budget;
  plan.stake_ms = stake_ms;
  return plan;
}

/// Hands batch `r` (planned into shared memory) out under a new id.
void HandOut(ExploreRequest* r, int64_t now, int32_t explorer_pid) {
  r->id = std::max(r->id, g_explorer_request) + 1;
  r->explorer_pid = explorer_pid;
  r->yielded_us = 0;
  r->running_job = -1;
  g_explorer_request = r->id;
  g_batch_started_us = now;
  g_batch_accounted = false;
  g_explorer_deadline_us = now + WorstCaseUs(*r);
}

bool LaunchExplorer(uint64_t request) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, WorkerLibraryName(), BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "ruvector_dag_explorer_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "ruvector_dag explorer", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "ruvector_dag explorer", BGW_MAXLEN);
  memcpy(worker.bgw_extra, &request, sizeof(request));
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorkerHandle* handle = nullptr;
  // The handle outlives the worker loop's per-iteration memory context.
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
  MemoryContextSwitchTo(old);
  if (!ok) return false;
  g_explorer = handle;
  return true;
}

/// A running explorer: charge its finished batch, and hand it the next one
/// when the most valuable work is for its database and role -- or release
/// it (it exits at once) when that work is another database's or role's, so
/// that the next tick starts an explorer there.
void FeedRunningExplorer(int64_t now, pid_t pid, bool may_plan, const double* stake_ms) {
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  ExploreRequest* r = &Steer()->explore;
  const bool finished = r->id == g_explorer_request && r->finished_us != 0;
  if (finished) AccountBatch(r->finished_us, r->yielded_us);
  const bool idle = finished && r->explorer_pid == 0 && Steer()->explorer_pid == pid;
  if (idle && may_plan) {
    ExplorePlan plan = CurrentPlan(stake_ms);
    uint32_t db = 0, role = 0;
    const bool bandit_work = NextExploreOwner(Steer(), now, plan, &db, &role);
    if (!bandit_work || (db == r->database_oid && role == r->role_oid)) {
      // Work for this explorer's database and role: the bandits' and the
      // vector recall samples'.
      plan.only_database = r->database_oid;
      plan.only_role = r->role_oid;
      r->job_count = 0;
      if (bandit_work) {
        (void)PlanExploreBatch(Steer(), now, plan, r);
        g_validation_credit_us -= r->validation_ms * 1000.0;
      }
      if (PlanVectorJobs(Steer(), now, plan, r) > 0) {
        HandOut(r, now, pid);
      } else {
        // Nothing fit (the credit is short): the batch it ran stays finished
        // (planning cleared its marks), so that the explorer's exit when it
        // stops waiting is not taken for a death in the middle of a batch.
        r->job_count = 0;
        r->finished_us = now;
      }
    } else {
      // An empty request addressed to it: the explorer exits.
      r->job_count = 0;
      HandOut(r, now, pid);
      r->finished_us = now;
      g_batch_accounted = true;
    }
  }
  LWLockRelease(SteerLock());
  if (!finished && now > g_explorer_deadline_us) {
    ereport(LOG, (errmsg("ruvector_dag: explorer %d overran its deadline; terminating it", static_cast<int>(pid))));
    TerminateBackgroundWorker(g_explorer);
    g_explorer_deadline_us = now + int64_t{10} * 1000000;
  }
}

}  // namespace

void ExplorerTick() {
  if (Steer() == nullptr) return;
  const int64_t now = NowUnixMicros();
  SampleForeground(now);
  pid_t pid = 0;
  if (g_explorer != nullptr) {
    BgwHandleStatus status = GetBackgroundWorkerPid(g_explorer, &pid);
    if (status != BGWH_STARTED && status != BGWH_NOT_YET_STARTED) {
      ReapExplorer(now);
      pid = 0;
    }
  }
  // Credit: budget x wall time while users' statements leave a core free,
  // at most kMaxCreditSeconds' worth (a budget lowered by a reload lowers
  // what was saved up too).
  const double budget = g_explore_cpu_budget;
  const bool saturated = ForegroundSaturated();
  if (g_credit_updated_us == 0) g_credit_updated_us = now;
  if (!saturated) {
    g_credit_us += budget * static_cast<double>(now - g_credit_updated_us);
    g_validation_credit_us += kValidationShare * budget * static_cast<double>(now - g_credit_updated_us);
  }
  g_credit_updated_us = now;
  g_credit_us = std::min(g_credit_us, MaxCreditUs());
  g_validation_credit_us = std::min(g_validation_credit_us, kValidationShare * MaxCreditUs());
  const bool may_plan = budget > 0.0 && g_credit_us > 0.0 && g_steering_enabled && !saturated;
  double stake_ms[kCaptureSlots];
  if (may_plan) CaptureStakes(now, stake_ms);

  if (g_explorer != nullptr) {
    FeedRunningExplorer(now, pid, may_plan, stake_ms);
    LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
    Steer()->explore_credit_ms = g_credit_us / 1000.0;
    LWLockRelease(SteerLock());
    return;
  }
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  Steer()->explore_credit_ms = g_credit_us / 1000.0;
  ExploreRequest* r = &Steer()->explore;
  int jobs = 0;
  if (may_plan) {
    const ExplorePlan plan = CurrentPlan(stake_ms);
    jobs = PlanExploreBatch(Steer(), now, plan, r);
    g_validation_credit_us -= r->validation_ms * 1000.0;
    jobs = PlanVectorJobs(Steer(), now, plan, r);
  }
  if (jobs > 0) HandOut(r, now, 0);
  const uint64_t id = r->id;
  LWLockRelease(SteerLock());
  if (jobs == 0) return;
  if (!LaunchExplorer(id)) {
    // No free background worker slot (max_worker_processes): try later.
    g_batch_accounted = true;
    if (now - g_launch_failure_logged_us > int64_t{600} * 1000000) {
      ereport(LOG, (errmsg("ruvector_dag: no free background worker slot for the explorer"),
                    errhint("Raise max_worker_processes.")));
      g_launch_failure_logged_us = now;
    }
    return;
  }
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  ++Steer()->counters.explorer_launches;
  LWLockRelease(SteerLock());
}

void StopExplorer() {
  if (g_explorer != nullptr) TerminateBackgroundWorker(g_explorer);
}

// --- capture (backends, from the executor end hook) ----------------------------

namespace {

/// Applies the re-execution rule to a statement about to be captured, in the
/// user's backend (same search_path, same role), after its ExecutorEnd:
/// `refusal` stays empty when it may be explored. An analysis error (rare:
/// the statement just ran) is a refusal too; a cancel request is the user's
/// and goes through. False when it cannot be checked now (then it is not
/// captured).
bool CheckAtCapture(const char* text, const uint32_t* types, int nparams, Oid role, uint64_t query_id,
                    char* refusal, size_t cap) {
  // Parse analysis can run code (a literal converted into a domain runs its
  // checks) that needs a snapshot and may fail anywhere: it runs in a
  // subtransaction of its own, which is rolled back either way (nothing of
  // the analysis is kept, its locks included). Not possible in parallel mode.
  if (IsInParallelMode() || !IsTransactionState() || IsAbortedTransactionBlockState()) return false;
  Oid oids[kMaxCaptureParams];
  for (int i = 0; i < nparams; ++i) oids[i] = types[i];
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(caller);
  PG_TRY();
  {
    PushActiveSnapshot(GetTransactionSnapshot());
    if (AnalyzeForReplay(text, oids, nparams, role, query_id, refusal, cap) == nullptr && refusal[0] == '\0') {
      strlcpy(refusal, "refused", cap);
    }
    PopActiveSnapshot();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
    if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED) ReThrowError(edata);  // the user's
    snprintf(refusal, cap, "could not be analyzed again: %s", edata->message != nullptr ? edata->message : "?");
    FreeErrorData(edata);
  }
  PG_END_TRY();
  return true;
}

}  // namespace

void MaybeCaptureStatement(QueryDesc* qd, uint64_t pattern_key, uint64_t query_id, double reference_ms,
                           uint64_t split_key) {
  if (g_in_explorer || !(g_explore_cpu_budget > 0.0) || Steer() == nullptr || qd->sourceText == nullptr) return;
  if (!ExtensionCreatedHere()) return;  // DROP EXTENSION stops exploration in this database
  const PlannedStmt* ps = qd->plannedstmt;
  if (ps->commandType != CMD_SELECT || ps->hasModifyingCTE || ps->rowMarks != NIL) return;
  const int64_t now = NowUnixMicros();
  LWLockAcquire(SteerLock(), LW_SHARED);
  bool wanted = CaptureWanted(Steer(), pattern_key, now, kCaptureRefreshUs, g_explore_min_ms);
  LWLockRelease(SteerLock());
  if (!wanted) return;

  // The statement's own text (a query string may hold several).
  const char* src = qd->sourceText;
  size_t total = strlen(src);
  size_t loc = ps->stmt_location >= 0 && static_cast<size_t>(ps->stmt_location) <= total
                   ? static_cast<size_t>(ps->stmt_location)
                   : 0;
  size_t len = ps->stmt_location >= 0 && ps->stmt_len > 0 ? static_cast<size_t>(ps->stmt_len) : total - loc;
  len = std::min(len, total - loc);
  if (len == 0 || len >= static_cast<size_t>(kCaptureTextLen)) return;

  // Parameters as type + text (PL/pgSQL-style dynamic parameters are not
  // captured: those statements are nested anyway).
  ParamListInfo params = qd->params;
  int nparams = params != nullptr ? params->numParams : 0;
  if (nparams > kMaxCaptureParams || (params != nullptr && params->paramFetch != nullptr)) return;
  char values[kCaptureParamsLen];
  size_t used = 0;
  uint32_t types[kMaxCaptureParams];
  uint8_t nulls[kMaxCaptureParams];
  for (int i = 0; i < nparams; ++i) {
    const ParamExternData& p = params->params[i];
    if (!OidIsValid(p.ptype)) return;
    types[i] = p.ptype;
    nulls[i] = p.isnull ? 1 : 0;
    const char* text = "";
    if (!p.isnull) {
      Oid out;
      bool varlena;
      getTypeOutputInfo(p.ptype, &out, &varlena);
      text = OidOutputFunctionCall(out, p.value);
    }
    size_t n = strlen(text) + 1;
    if (used + n > sizeof(values)) return;
    memcpy(values + used, text, n);
    used += n;
  }

  // The session's search_path as it resolves now: the explorer replays with
  // exactly this, so names mean what they meant to the user.
  char search_path[kCaptureSearchPathLen];
  if (!CurrentSearchPath(search_path, sizeof(search_path))) return;
  // The re-execution rule, checked before anything is stored: a statement
  // that breaks it keeps an unsafe slot (so it is not analyzed again on
  // every execution) and is never handed to the explorer.
  const Oid role = GetUserId();
  char* stmt = pnstrdup(src + loc, len);
  char refusal[kCaptureRefusalLen] = {0};
  if (!CheckAtCapture(stmt, types, nparams, role, query_id, refusal, sizeof(refusal))) return;

  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  if (CaptureWanted(Steer(), pattern_key, now, kCaptureRefreshUs, g_explore_min_ms)) {
    CapturedStatement* c = ClaimCapture(Steer(), pattern_key, GetUserId());
    c->query_id = query_id;
    c->database_oid = MyDatabaseId;
    c->role_oid = role;
    c->captured_us = now;
    c->reference_ms = reference_ms;
    // A statement with parameters may have run a generic plan, whose
    // constants are not those of the explorer's runs (custom plans: the
    // values are replayed as constants): its split key is not trusted.
    c->split_key = nparams == 0 ? split_key : 0;
    c->nparams = nparams;
    for (int i = 0; i < nparams; ++i) {
      c->param_types[i] = types[i];
      c->param_null[i] = nulls[i];
    }
    memcpy(c->params, values, used);
    memcpy(c->text, src + loc, len);
    c->text[len] = '\0';
    strlcpy(c->search_path, search_path, sizeof(c->search_path));
    ++Steer()->counters.captures;
    if (refusal[0] != '\0') {
      c->unsafe = 1;
      strlcpy(c->refusal, refusal, sizeof(c->refusal));
      ++Steer()->counters.explorer_unsafe;
    }
  }
  LWLockRelease(SteerLock());
  if (refusal[0] != '\0') {
    ereport(LOG, (errmsg("ruvector_dag: pattern %lld will not be explored in the background: %s",
                         static_cast<long long>(pattern_key), refusal)));
  }
}

// --- the explorer process ----------------------------------------------------------

namespace {

/// A run whose statement caught its timeout's cancel (a function of the
/// statement's own role may: `EXCEPTION WHEN query_canceled`) and kept
/// running would hold the explorer, and the budget of every role, until the
/// worker's deadline. The overrun timer ends the process instead, as a
/// SIGTERM does: FATAL at the next interrupt check, which no PL/pgSQL block
/// catches; the exit callback then refuses the statement for good.
uint64_t g_running_pattern = 0;  // the pattern of the run in progress (0 = none)
volatile sig_atomic_t g_overran = 0;
TimeoutId g_overrun_timeout = MAX_TIMEOUTS;  // registered by the explorer process before any run

/// How long a run may go on after its timeout's cancel: a run stops within
/// milliseconds of a cancel it does not catch.
int OverrunGraceMs(int timeout_ms) { return 1000 + timeout_ms / 2; }

void OverrunTimeoutHandler() {
  g_overran = 1;
  die(SIGTERM);
}

/// Ends a run's timers (its statement timeout keeps its indicator).
void StopRunTimers() {
  disable_timeout(STATEMENT_TIMEOUT, /*keep_indicator=*/true);
  disable_timeout(g_overrun_timeout, false);
  g_running_pattern = 0;
}

/// kSamePlan: the arm's plan was PostgreSQL's default plan, so it was not
/// executed (the arm is the default for this statement; nothing to measure).
enum class RunOutcome { kDone, kTimeout, kUnsafe, kError, kSamePlan };

/// Converts the captured text values into a parameter list with their types'
/// input functions (after the rule checked those types).
ParamListInfo CapturedParams(const CapturedStatement& c, const Oid* types) {
  if (c.nparams == 0) return nullptr;
  ParamListInfo params = makeParamList(c.nparams);
  const char* value = c.params;
  for (int i = 0; i < c.nparams; ++i) {
    ParamExternData& p = params->params[i];
    p.ptype = types[i];
    p.pflags = PARAM_FLAG_CONST;
    p.isnull = c.param_null[i] != 0;
    if (!p.isnull) {
      Oid in;
      Oid ioparam;
      getTypeInputInfo(types[i], &in, &ioparam);
      p.value = OidInputFunctionCall(in, const_cast<char*>(value), ioparam, -1);
    } else {
      p.value = (Datum)0;
    }
    value += strlen(value) + 1;
  }
  return params;
}

/// Plans the checked query under `arm` (and `settings` on top, nullptr =
/// none) and executes it into `rows` (nullptr = a discarding receiver);
/// returns the wall time of ExecutorRun and ExecutorFinish in ms, as the
/// executor hook measures users' runs (not ExecutorStart, nor ExecutorEnd,
/// where the hooks observe the run), so that a load probe compares like with
/// like. A candidate
/// arm (> 0, no settings) whose plan the planner hook found identical to
/// PostgreSQL's default plan is not executed: *same_plan is set and 0 is
/// returned (running it would only measure the default again).
double PlanAndExecute(Query* query, const char* text, ParamListInfo params, int arm, const char* settings,
                      DestReceiver* rows, bool* same_plan) {
  // The query is planned directly (not through a plan cache that could
  // analyze the text again after an invalidation): what runs is exactly
  // the tree the rule checked.
  g_forced_arm = arm;
  g_forced_settings = settings;
  List* planned = pg_plan_queries(list_make1(query), text, CURSOR_OPT_PARALLEL_OK, params);
  g_forced_arm = -1;
  g_forced_settings = nullptr;
  PlannedStmt* stmt = linitial_node(PlannedStmt, planned);
  *same_plan = false;
  if (arm > 0 && settings == nullptr) {
    const PlanSteerInfo* info = LookupPlan(stmt);
    if (info != nullptr && info->arm == arm && info->same_plan) {
      *same_plan = true;
      return 0.0;
    }
  }
  DestReceiver* dest = rows != nullptr ? rows : CreateDestReceiver(DestNone);
  QueryDesc* qd = CreateQueryDesc(stmt, text, GetActiveSnapshot(), InvalidSnapshot, dest, params, nullptr, 0);
  instr_time start, end;
  ExecutorStart(qd, 0);
  INSTR_TIME_SET_CURRENT(start);
  ExecutorRun(qd, ForwardScanDirection, 0, true);
  ExecutorFinish(qd);
  INSTR_TIME_SET_CURRENT(end);
  ExecutorEnd(qd);
  INSTR_TIME_SUBTRACT(end, start);
  FreeQueryDesc(qd);
  return INSTR_TIME_GET_MILLISEC(end);
}

/// One run of `c` under `arm` in its own read-only transaction, as the
/// capturing role inside a security-restricted operation, with the captured
/// search_path set for this transaction only. The text is analyzed again and
/// must pass the re-execution rule (explorer_guard.h) every time: objects can
/// change owners, be replaced, or be shadowed between runs. `*elapsed_ms` is
/// the time until the outcome (for timeouts), `*exec_ms` the executor's time
/// of a completed run; `refusal` receives the reason of kUnsafe. `settings`
/// and `rows`: see PlanAndExecute.
RunOutcome RunOnce(const CapturedStatement& c, int arm, int timeout_ms, MemoryContext keep, double* elapsed_ms,
                   double* exec_ms, char* refusal, size_t refusal_cap, const char* settings = nullptr,
                   DestReceiver* rows = nullptr) {
  volatile RunOutcome outcome = RunOutcome::kDone;
  *exec_ms = 0.0;
  refusal[0] = '\0';
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  // As REFRESH MATERIALIZED VIEW does: no SET ROLE, no temporary objects,
  // no cursors WITH HOLD ... while re-executing; restored on commit, and by
  // the transaction abort on error.
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(static_cast<Oid>(c.role_oid), saved_context | SECURITY_RESTRICTED_OPERATION);
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, c.text);
  instr_time start;
  INSTR_TIME_SET_CURRENT(start);
  PG_TRY();
  {
    // SET LOCAL: reverted by the transaction's commit or abort.
    (void)set_config_option("search_path", c.search_path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true,
                            ERROR, false);
    Oid types[kMaxCaptureParams];
    for (int i = 0; i < c.nparams; ++i) types[i] = c.param_types[i];
    // The timeout covers analysis and planning too: a run that cannot
    // finish in time is cancelled wherever it is.
    enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
    g_running_pattern = c.pattern_key;
    enable_timeout_after(g_overrun_timeout, timeout_ms + OverrunGraceMs(timeout_ms));
    // DROP EXTENSION in the capture's database ends its exploration.
    Query* query = nullptr;
    if (!ExtensionCreatedHere()) {
      strlcpy(refusal, "the extension is not created in this database", refusal_cap);
    } else {
      query = AnalyzeForReplay(c.text, types, c.nparams, static_cast<Oid>(c.role_oid), c.query_id, refusal,
                               refusal_cap);
    }
    if (query == nullptr) {
      if (refusal[0] == '\0') strlcpy(refusal, "refused", refusal_cap);
      outcome = RunOutcome::kUnsafe;
    } else {
      ParamListInfo params = CapturedParams(c, types);
      bool same_plan = false;
      *exec_ms = PlanAndExecute(query, c.text, params, arm, settings, rows, &same_plan);
      if (same_plan) outcome = RunOutcome::kSamePlan;
    }
    // A run that completed just as its timer fired leaves the timer's
    // cancel request pending with nothing left to cancel: processed at the
    // next interrupt check, outside this block, it would read as a user's
    // cancel and end the explorer with its batch unfinished (a failure
    // charged to every capture of the batch). The cancel was ours: void it.
    StopRunTimers();
    if (get_timeout_indicator(STATEMENT_TIMEOUT, /*reset_indicator=*/true)) QueryCancelPending = false;
    SetUserIdAndSecContext(saved_user, saved_context);
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    StopRunTimers();
    g_forced_arm = -1;
    g_forced_settings = nullptr;
    MemoryContextSwitchTo(keep);
    ErrorData* edata = CopyErrorData();
    const bool timer_fired = get_timeout_indicator(STATEMENT_TIMEOUT, true);
    FlushErrorState();
    AbortCurrentTransaction();
    instr_time now;
    INSTR_TIME_SET_CURRENT(now);
    INSTR_TIME_SUBTRACT(now, start);
    const bool timed_out = edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
                           (timer_fired || INSTR_TIME_GET_MILLISEC(now) >= timeout_ms);
    if (timed_out) {
      outcome = RunOutcome::kTimeout;
    } else {
      ereport(LOG, (errmsg("ruvector_dag explorer: re-executing pattern %lld under arm %d failed: %s",
                           static_cast<long long>(c.pattern_key), arm,
                           edata->message != nullptr ? edata->message : "(no message)")));
      const bool permanent = edata->sqlerrcode == ERRCODE_SYNTAX_ERROR ||
                             edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
                             edata->sqlerrcode == ERRCODE_UNDEFINED_COLUMN ||
                             edata->sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ||
                             edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE ||
                             edata->sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION;
      if (permanent) {
        snprintf(refusal, refusal_cap, "re-execution failed: %s",
                 edata->message != nullptr ? edata->message : "(no message)");
      }
      outcome = permanent ? RunOutcome::kUnsafe : RunOutcome::kError;
    }
    FreeErrorData(edata);
  }
  PG_END_TRY();
  instr_time end;
  INSTR_TIME_SET_CURRENT(end);
  INSTR_TIME_SUBTRACT(end, start);
  *elapsed_ms = INSTR_TIME_GET_MILLISEC(end);
  pgstat_report_activity(STATE_IDLE, nullptr);
  return outcome;
}

/// A run cancelled at its timeout: the arm was at least that slow. With
/// `same_plan`, an arm not executed because its plan was the default's:
/// `bound_ms` is then the default's latency.
void RecordCensored(const CapturedStatement& c, int arm, double bound_ms, bool same_plan = false) {
  TrajectoryRecord rec;
  rec.pattern_key = c.pattern_key;
  rec.query_id = c.query_id;
  rec.database_oid = MyDatabaseId;  // the explorer runs as the captured role in its database
  rec.role_oid = GetUserId();
  rec.latency_ms = bound_ms;
  rec.recorded_at_us = NowUnixMicros();
  rec.flags = static_cast<uint16_t>(kTrajectoryArmKnown | TrajectoryArmBits(arm) | kTrajectoryExplore |
                                    kTrajectoryCensored | (same_plan ? kTrajectorySamePlan : 0));
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  AppendTrajectory(State(), rec);
  LWLockRelease(StateLock());
}

}  // namespace

namespace {

/// Waits (at most kYieldWaitMs) while users' statements occupy the cores;
/// adds the time waited to *yielded_us. False when no core became free: the
/// rest of the batch is left for later.
bool WaitForFreeCore(int64_t* yielded_us) {
  if (!ForegroundSaturated()) return true;
  const int64_t from = NowUnixMicros();
  bool free = false;
  for (int waited = 0; waited < kYieldWaitMs && !free; waited += 50) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    free = !ForegroundSaturated();
  }
  *yielded_us += NowUnixMicros() - from;
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  ++Steer()->counters.explorer_yields;
  LWLockRelease(SteerLock());
  return free;
}

/// What a vector sample job did, for the batch's counters.
struct VectorJobOutcome {
  int runs = 0;
  int timeouts = 0;
  int errors = 0;
  int unsafe = 0;
  bool yielded = false;
};

/// Notes a failed run of a vector sample on its capture and the counters
/// (as RunBatch does for other runs); false when the sample must stop.
bool NoteVectorRun(const ExploreJob& job, RunOutcome o, const char* refusal, VectorJobOutcome* out) {
  if (o == RunOutcome::kDone) return true;
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  CapturedStatement& c = Steer()->captures[job.capture];
  const bool same = c.pattern_key == job.pattern_key;
  if (o == RunOutcome::kTimeout) ++Steer()->counters.explorer_timeouts;
  if (o == RunOutcome::kUnsafe) {
    ++Steer()->counters.explorer_unsafe;
    if (same) {
      c.unsafe = 1;
      strlcpy(c.refusal, refusal, sizeof(c.refusal));
    }
  }
  if (o == RunOutcome::kError) {
    ++Steer()->counters.explorer_errors;
    if (same) ++c.failures;
  }
  LWLockRelease(SteerLock());
  if (o == RunOutcome::kTimeout) ++out->timeouts;
  if (o == RunOutcome::kUnsafe) ++out->unsafe;
  if (o == RunOutcome::kError) ++out->errors;
  return o == RunOutcome::kTimeout;
}

/// A vector recall sample (docs/vector.md, "Learned ef_search"): the exact
/// search (index scans off) gives the reference rows, then each setting of
/// the job's mask runs the same statement; recall@k = reference rows
/// returned / k. Every run is an ordinary explorer run (re-execution rule,
/// read-only, security-restricted, the job's timeout). A statement sampled
/// before (same text, parameters and search_path) is skipped.
void RunVectorJob(const ExploreJob& job, const CapturedStatement& capture, MemoryContext keep, int64_t* yielded_us,
                  VectorJobOutcome* out) {
  using ruvector_dag::kVectorExact;
  const uint64_t statement = CaptureStatementHash(capture);
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  VectorPattern* p = FindVectorPattern(&Steer()->vector, job.pattern_key);
  const bool fresh = p != nullptr && !VectorStatementSeen(p, statement);
  if (p != nullptr) p->sampled_capture_us = std::max(p->sampled_capture_us, capture.captured_us);
  LWLockRelease(SteerLock());
  if (!fresh) return;
  DestReceiver* receiver = CreateRowHashReceiver(keep, kVectorMaxRows);
  RowHashes* rows = RowHashesOf(receiver);
  auto* exact = static_cast<uint64_t*>(MemoryContextAlloc(keep, sizeof(uint64_t) * kVectorMaxRows));
  char refusal[kCaptureRefusalLen];
  double elapsed_ms = 0.0, exact_ms = 0.0;
  if (!WaitForFreeCore(yielded_us)) {
    out->yielded = true;
    return;
  }
  RunOutcome o = RunOnce(capture, 0, job.timeout_ms, keep, &elapsed_ms, &exact_ms, refusal, sizeof(refusal),
                         ruvector_dag::VectorSettingGucs(kVectorExact), receiver);
  if (o == RunOutcome::kDone || o == RunOutcome::kTimeout) ++out->runs;
  if (!NoteVectorRun(job, o, refusal, out) && o != RunOutcome::kDone) return;
  const bool exact_timed_out = o == RunOutcome::kTimeout;
  const bool oversized = rows->overflow;
  const int k = rows->count;
  memcpy(exact, rows->hashes, sizeof(uint64_t) * static_cast<size_t>(k));
  VectorRunResult results[ruvector_dag::kVectorEfCount];
  int n = 0;
  for (int i = 0; i < ruvector_dag::kVectorEfCount && !exact_timed_out && !oversized && k > 0; ++i) {
    if ((job.vector_mask & (1u << i)) == 0) continue;
    CHECK_FOR_INTERRUPTS();
    if (!WaitForFreeCore(yielded_us)) {
      out->yielded = true;
      return;  // an incomplete sample is not recorded
    }
    ResetRowHashes(receiver);
    double ms = 0.0;
    o = RunOnce(capture, 0, job.timeout_ms, keep, &elapsed_ms, &ms, refusal, sizeof(refusal),
                ruvector_dag::VectorSettingGucs(i), receiver);
    if (o == RunOutcome::kDone || o == RunOutcome::kTimeout) ++out->runs;
    if (!NoteVectorRun(job, o, refusal, out) && o != RunOutcome::kDone) return;
    VectorRunResult& r = results[n++];
    r.setting = i;
    r.timed_out = o == RunOutcome::kTimeout;
    r.ms = ms;
    r.hits = r.timed_out ? 0 : ruvector_dag::RecallHits(exact, static_cast<size_t>(k), rows->hashes,
                                                        static_cast<size_t>(rows->count));
  }
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  p = FindVectorPattern(&Steer()->vector, job.pattern_key);
  if (p != nullptr) {
    if (oversized) {
      ++p->oversized;
    } else {
      RecordVectorSample(p, static_cast<uint32_t>(k), exact_ms, exact_timed_out, results, n, NowUnixMicros());
      if (!exact_timed_out && k > 0) ++Steer()->vector.samples;
    }
  }
  LWLockRelease(SteerLock());
}

/// Runs one batch; returns false when the request was superseded.
bool RunBatch(uint64_t id, ExploreRequest* request, CapturedStatement* capture, MemoryContext keep) {
  const int64_t started = NowUnixMicros();
  int runs_done = 0, timeouts = 0, errors = 0, unsafe = 0;
  int64_t yielded_us = 0;
  bool yielded = false;  // no core became free: the rest waits for a later batch
  for (int j = 0; j < request->job_count && !yielded; ++j) {
    const ExploreJob& job = request->jobs[j];
    LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
    // Should this explorer die during the job, only its capture is charged.
    if (Steer()->explore.id == id) Steer()->explore.running_job = j;
    bool current = job.capture >= 0 && job.capture < kCaptureSlots &&
                   Steer()->captures[job.capture].pattern_key == job.pattern_key &&
                   Steer()->captures[job.capture].unsafe == 0;
    double default_ms = 0.0;
    if (current) {
      *capture = Steer()->captures[job.capture];
      const Decision* d = FindDecision(Steer(), job.pattern_key);
      if (d != nullptr) default_ms = d->default_ms;
    }
    LWLockRelease(SteerLock());
    if (!current) continue;
    if (job.vector != 0) {
      VectorJobOutcome v;
      RunVectorJob(job, *capture, keep, &yielded_us, &v);
      runs_done += v.runs;
      timeouts += v.timeouts;
      errors += v.errors;
      unsafe += v.unsafe;
      yielded = v.yielded;
      continue;
    }
    for (int run = 0; run < job.runs; ++run) {
      CHECK_FOR_INTERRUPTS();
      if (!WaitForFreeCore(&yielded_us)) {
        yielded = true;
        break;
      }
      double elapsed_ms = 0.0, exec_ms = 0.0;
      char refusal[kCaptureRefusalLen];
      RunOutcome o = RunOnce(*capture, job.arm, job.timeout_ms, keep, &elapsed_ms, &exec_ms, refusal, sizeof(refusal));
      const double bound_ms = std::max(elapsed_ms, static_cast<double>(job.timeout_ms));
      LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
      CapturedStatement& c = Steer()->captures[job.capture];
      bool same = c.pattern_key == job.pattern_key;
      if (same && (o == RunOutcome::kDone || o == RunOutcome::kTimeout)) {
        NoteRunOutcome(&c, job.arm, o == RunOutcome::kTimeout);
      }
      if (job.probe != 0 && (o == RunOutcome::kDone || o == RunOutcome::kTimeout)) {
        RecordLoadProbe(Steer(), o == RunOutcome::kDone ? exec_ms : bound_ms, job.expected_ms,
                        o == RunOutcome::kTimeout, NowUnixMicros());
      }
      if (o == RunOutcome::kUnsafe && same) {
        c.unsafe = 1;
        strlcpy(c.refusal, refusal, sizeof(c.refusal));
      }
      if (o == RunOutcome::kError && same) ++c.failures;
      if (o == RunOutcome::kUnsafe) ++Steer()->counters.explorer_unsafe;
      if (o == RunOutcome::kError) ++Steer()->counters.explorer_errors;
      if (o == RunOutcome::kTimeout) ++Steer()->counters.explorer_timeouts;
      if (o == RunOutcome::kSamePlan) ++Steer()->counters.explorer_same_plan;
      LWLockRelease(SteerLock());
      if (o == RunOutcome::kDone) {
        ++runs_done;
        continue;
      }
      if (o == RunOutcome::kSamePlan) {
        // Planned only: the arm is the default here (a bound at the
        // default's latency, as an executed same-plan run gives).
        if (default_ms > 0.0) RecordCensored(*capture, job.arm, default_ms, /*same_plan=*/true);
        break;
      }
      if (o == RunOutcome::kTimeout) {
        ++runs_done;
        ++timeouts;
        RecordCensored(*capture, job.arm, bound_ms);
      } else if (o == RunOutcome::kUnsafe) {
        ereport(LOG, (errmsg("ruvector_dag explorer: pattern %lld is not explored: %s",
                             static_cast<long long>(capture->pattern_key), refusal)));
        ++unsafe;
      } else {
        ++errors;
      }
      // A timed-out arm gets a longer timeout next batch, not another run
      // with this one; errors would repeat; unsafe is final.
      break;
    }
  }
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  Steer()->counters.explorer_runs += runs_done;
  ExploreRequest& r = Steer()->explore;
  bool current = r.id == id;
  if (current) {
    r.runs_done = runs_done;
    r.timeouts = timeouts;
    r.errors = errors + unsafe;
    r.started_us = started;
    r.explorer_pid = 0;  // idle: ready for the next batch
    r.yielded_us = yielded_us;
    r.finished_us = std::max<int64_t>(NowUnixMicros(), started + 1);
  }
  int procno = Steer()->worker_procno;
  LWLockRelease(SteerLock());
  // Wake the learner: the runs are in the trajectory ring.
  if (procno >= 0) SetLatch(&ProcGlobal->allProcs[procno].procLatch);
  return current;
}

/// The request this explorer took last (the batch it runs or ran).
uint64_t g_taken_request = 0;

/// At exit: a batch the worker handed to this explorer after it stopped
/// waiting for one was never started; it is given back as finished and
/// empty, so that it is not counted as a batch the explorer died in.
void ClearExplorerPid(int code, Datum arg) {
  if (Steer() == nullptr) return;
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  ExploreRequest& r = Steer()->explore;
  if (r.id != g_taken_request && r.explorer_pid == MyProcPid && r.finished_us == 0) {
    r.job_count = 0;
    r.finished_us = NowUnixMicros();
  }
  if (Steer()->explorer_pid == MyProcPid) Steer()->explorer_pid = 0;
  LWLockRelease(SteerLock());
}

/// At exit after the overrun timer ended a run: its statement is refused for
/// good (kept while its capture slot lives, as every refusal), so that the
/// same statement cannot hold the explorer again.
void RefuseOverrunStatement(int code, Datum arg) {
  if (g_overran == 0 || g_running_pattern == 0 || Steer() == nullptr) return;
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  const int idx = FindCapture(Steer(), g_running_pattern);
  if (idx >= 0) {
    CapturedStatement& c = Steer()->captures[idx];
    c.unsafe = 1;
    strlcpy(c.refusal, "kept running after the cancel at its timeout (the explorer ended it)", sizeof(c.refusal));
    ++Steer()->counters.explorer_unsafe;
  }
  LWLockRelease(SteerLock());
  ereport(LOG, (errmsg("ruvector_dag explorer: pattern %lld kept running after its timeout; it will not be "
                       "explored again",
                       static_cast<long long>(g_running_pattern))));
}

}  // namespace

/// The explorer process: connects as the batch's role to its database, runs
/// the batch, then waits up to kExplorerIdleMs for the worker to hand it the
/// next batch for the same database and role, and exits when none comes.
extern "C" PGDLLEXPORT void ruvector_dag_explorer_main(Datum arg) {
  uint64_t id = 0;
  memcpy(&id, MyBgworkerEntry->bgw_extra, sizeof(id));
  // The default handler of a background worker (bgworker_die) raises FATAL
  // inside the signal handler, wherever the process is: in malloc, in the
  // executor, in the middle of an error report. The explorer runs queries,
  // so a shutdown or TerminateBackgroundWorker must end it at its next
  // interrupt check instead, as a backend's does.
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  if (Steer() == nullptr || State() == nullptr) proc_exit(1);
  g_in_explorer = true;
  // A low CPU priority: where the explorer and a user's statement share a
  // core, the scheduler gives the statement about nine tenths of it (Linux
  // CFS weights 1024 : 110). Not the lowest (19): under other programs' load
  // the explorer would barely run, and a run holding a buffer lock should
  // not stall for long (priority inversion).
  errno = 0;
  if (setpriority(PRIO_PROCESS, 0, kExplorerNice) != 0) {
    ereport(DEBUG1, (errmsg("ruvector_dag explorer: could not lower its CPU priority: %m")));
  }
  MemoryContext keep = AllocSetContextCreate(TopMemoryContext, "ruvector_dag explorer", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(keep);
  // The batch and the statement being run live for the whole process; `keep`
  // holds each batch's transient allocations and is reset between batches.
  auto* request = static_cast<ExploreRequest*>(MemoryContextAlloc(TopMemoryContext, sizeof(ExploreRequest)));
  auto* capture = static_cast<CapturedStatement*>(MemoryContextAlloc(TopMemoryContext, sizeof(CapturedStatement)));
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  *request = Steer()->explore;
  if (request->id == id) Steer()->explorer_pid = MyProcPid;
  g_taken_request = id;
  LWLockRelease(SteerLock());
  if (request->id != id) proc_exit(0);  // superseded
  before_shmem_exit(ClearExplorerPid, 0);
  before_shmem_exit(RefuseOverrunStatement, 0);
  g_overrun_timeout = RegisterTimeout(USER_TIMEOUT, OverrunTimeoutHandler);

  BackgroundWorkerInitializeConnectionByOid(request->database_oid, request->role_oid, 0);
  SetConfigOption("default_transaction_read_only", "on", PGC_SUSET, PGC_S_OVERRIDE);
  SetConfigOption("application_name", "ruvector_dag explorer", PGC_USERSET, PGC_S_SESSION);
  pgstat_report_appname("ruvector_dag explorer");
  const uint32_t database = request->database_oid, role = request->role_oid;

  while (RunBatch(id, request, capture, keep)) {
    bool more = false;
    for (int waited = 0; waited < kExplorerIdleMs && !more; waited += 20) {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 20, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
      LWLockAcquire(SteerLock(), LW_SHARED);
      const ExploreRequest& r = Steer()->explore;
      bool released = false;
      if (r.id != id && r.explorer_pid == MyProcPid) {
        // Work for this database and role, or (an empty request) none:
        // the worker wants an explorer elsewhere.
        if (r.job_count > 0 && r.database_oid == database && r.role_oid == role) {
          *request = r;
          id = r.id;
          g_taken_request = id;
          more = true;
        } else {
          released = true;
        }
      }
      LWLockRelease(SteerLock());
      if (released) break;
    }
    if (!more) break;
    MemoryContextReset(keep);
  }
  proc_exit(0);
}

}  // namespace ruvector_pg

// --- SQL ------------------------------------------------------------------------------

namespace ruvector_pg {
namespace {

void RequireSteerState() {
  RequirePreload();
  if (Steer() == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: steering state is not initialized")));
  }
}

}  // namespace
}  // namespace ruvector_pg

using namespace ruvector_pg;

/// dag_exploration_status() -> one row of background-exploration counters,
/// how busy users' statements keep the server and the budget saved up.
extern "C" Datum ruvector_dag_exploration_status(PG_FUNCTION_ARGS) {
  RequireSteerState();
  LWLockAcquire(SteerLock(), LW_SHARED);
  SteerCounters c = Steer()->counters;
  bool running = Steer()->explorer_pid != 0;
  const double credit_ms = Steer()->explore_credit_ms;
  LWLockRelease(SteerLock());
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Datum v[15];
  bool nulls[15] = {false};
  v[0] = Float8GetDatum(g_explore_cpu_budget);
  v[1] = Int64GetDatum(static_cast<int64>(c.captures));
  v[2] = Int64GetDatum(static_cast<int64>(c.explorer_launches));
  v[3] = Int64GetDatum(static_cast<int64>(c.explorer_runs));
  v[4] = Int64GetDatum(static_cast<int64>(c.explorer_timeouts));
  v[5] = Int64GetDatum(static_cast<int64>(c.explorer_errors));
  v[6] = Int64GetDatum(static_cast<int64>(c.explorer_unsafe));
  v[7] = Float8GetDatum(static_cast<double>(c.explorer_busy_us) / 1000.0);
  v[8] = BoolGetDatum(running);
  v[9] = Int64GetDatum(static_cast<int64>(c.bank_priors));
  v[10] = Int64GetDatum(static_cast<int64>(c.explorer_yields));
  v[11] = Float8GetDatum(ForegroundBusy());
  v[12] = Int32GetDatum(ServerCores());
  v[13] = Float8GetDatum(credit_ms);
  v[14] = Int64GetDatum(static_cast<int64>(c.explorer_same_plan));
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  return (Datum)0;
}

/// dag_captured_statements() -> the statements of the current database the
/// explorer may re-execute (or refused). Texts, search paths and refusals of
/// other roles' statements are shown only to superusers and members of
/// pg_read_all_stats (like pg_stat_statements; visibility.h).
extern "C" Datum ruvector_dag_captured_statements(PG_FUNCTION_ARGS) {
  RequireSteerState();
  auto* rows = static_cast<CapturedStatement*>(palloc(sizeof(CapturedStatement) * kCaptureSlots));
  int n = 0;
  LWLockAcquire(SteerLock(), LW_SHARED);
  for (const CapturedStatement& c : Steer()->captures) {
    if (c.pattern_key != 0) rows[n++] = c;
  }
  LWLockRelease(SteerLock());
  std::sort(rows, rows + n, [](const CapturedStatement& a, const CapturedStatement& b) {
    return a.captured_us != b.captured_us ? a.captured_us > b.captured_us : a.pattern_key < b.pattern_key;
  });
  const RowVisibility vis = CallerVisibility();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0; i < n; ++i) {
    const CapturedStatement& c = rows[i];
    if (!vis.Allows(c.database_oid, c.role_oid)) continue;  // other roles' rows: superusers, pg_read_all_stats
    Datum v[12];
    bool nulls[12] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(c.pattern_key));
    v[1] = Int64GetDatum(static_cast<int64>(c.query_id));
    char* db = get_database_name(c.database_oid);
    char* role = GetUserNameFromId(c.role_oid, true);
    nulls[2] = db == nullptr;
    if (db != nullptr) v[2] = DirectFunctionCall1(namein, CStringGetDatum(db));
    nulls[3] = role == nullptr;
    if (role != nullptr) v[3] = DirectFunctionCall1(namein, CStringGetDatum(role));
    v[4] = PointerGetDatum(cstring_to_text(c.text));
    v[5] = Int32GetDatum(c.nparams);
    v[6] = TimestampTzGetDatum(UnixMicrosToTimestamp(c.captured_us));
    nulls[7] = c.last_explored_us == 0;
    if (!nulls[7]) v[7] = TimestampTzGetDatum(UnixMicrosToTimestamp(c.last_explored_us));
    v[8] = Int32GetDatum(static_cast<int32>(c.failures));
    v[9] = BoolGetDatum(c.unsafe == 0 && c.failures < kMaxCaptureFailures);
    v[10] = PointerGetDatum(cstring_to_text(c.search_path));
    nulls[11] = c.unsafe == 0;
    if (!nulls[11]) v[11] = PointerGetDatum(cstring_to_text(c.refusal));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}
