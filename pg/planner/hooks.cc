// PG zone: planner, executor and EXPLAIN hooks (registered in init.cc via
// InstallHooks; every hook chains the one installed before it).
//
// Observation never fails or changes the user's statement: each observation
// runs inside PG_TRY in its own memory context, touches only palloc'd memory
// and our own LWLock, and on any error logs it, counts it and carries on.
#include "planner/dag_bridge.h"

#include <cstring>
#include <new>
#include <stdexcept>

#include "shim.h"
#include "hot.h"

#include "extension.h"
#include "guard.h"
#include "planner/corrections.h"
#include "planner/learned_hints.h"
#include "planner/plan_extract.h"
#include "planner/plan_hints.h"
#include "planner/steady_runs.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"
#include "worker/foreground.h"

namespace ruvector_pg {
namespace {

planner_hook_type g_prev_planner = nullptr;
RUVECTOR_HOT_DATA ExecutorStart_hook_type g_prev_executor_start = nullptr;
RUVECTOR_HOT_DATA ExecutorRun_hook_type g_prev_executor_run = nullptr;
RUVECTOR_HOT_DATA ExecutorFinish_hook_type g_prev_executor_finish = nullptr;
RUVECTOR_HOT_DATA ExecutorEnd_hook_type g_prev_executor_end = nullptr;
ExplainOneQuery_hook_type g_prev_explain_one_query = nullptr;

int g_planner_depth = 0;
RUVECTOR_HOT_DATA int g_exec_nesting = 0;
/// A statement ObserveExecution found worth capturing, captured once its
/// ExecutorEnd is done (MaybeCaptureStatement); cleared when a transaction
/// or subtransaction aborts.
struct PendingCapture {
  const QueryDesc* qd = nullptr;
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  double reference_ms = 0.0;  // its executor time when it ran the default plan, else 0
  uint64_t split_key = 0;     // CapturedStatement::split_key
};
RUVECTOR_HOT_DATA PendingCapture g_pending_capture;
MemoryContext g_observe_cxt = nullptr;

/// What the running EXPLAIN of this backend planned (and, with ANALYZE,
/// measured). Lives in g_capture_cxt.
struct Capture {
  int explain_depth = 0;
  PlannedStmt* stmt = nullptr;
  PlanSnapshot* snapshot = nullptr;
  bool too_large = false;  // more than kMaxAnalyzedNodes nodes: no section computed
};
RUVECTOR_HOT_DATA Capture g_capture;
MemoryContext g_capture_cxt = nullptr;

RUVECTOR_HOT bool Active() { return g_enabled && State() != nullptr; }

// --- statement timers ----------------------------------------------------------
//
// The executor run time of an observed statement, measured with two clock
// reads around each ExecutorRun and each ExecutorFinish that can run work of
// the statement (FinishDoesWork) instead of an
// Instrumentation (which would cost an allocation and the bookkeeping of a
// plan node per statement). One entry per observed execution from
// ExecutorStart to ExecutorEnd, found by its QueryDesc (executions nest:
// SPI, cursors; a handful are open at once). An execution that ends with an
// error never reaches ExecutorEnd: its entry is dropped when its
// subtransaction aborts, and every entry when the transaction ends (no
// execution outlives its transaction: portals are closed or persisted
// before the commit callbacks run). Dropping a live entry only loses that
// execution's observation. When every entry is taken, the statement is
// timed by an Instrumentation as before.

struct StatementTimer {
  const QueryDesc* qd;
  instr_time elapsed;
  SubTransactionId subxact;  // the subtransaction that started the execution
};
constexpr int kMaxStatementTimers = 16;
RUVECTOR_HOT_DATA StatementTimer g_timers[kMaxStatementTimers];
RUVECTOR_HOT_DATA int g_timer_count = 0;
/// The clock at the end of the latest timed ExecutorRun or ExecutorFinish:
/// when an observed statement's execution ended (for steady_runs.h).
RUVECTOR_HOT_DATA instr_time g_last_clock;

RUVECTOR_HOT int TimerIndex(const QueryDesc* qd) {
  for (int i = g_timer_count - 1; i >= 0; --i) {
    if (g_timers[i].qd == qd) return i;
  }
  return -1;
}

RUVECTOR_HOT StatementTimer* FindTimer(const QueryDesc* qd) {
  const int i = TimerIndex(qd);
  return i >= 0 ? &g_timers[i] : nullptr;
}

/// Starts timing `qd` (false when every entry is taken).
RUVECTOR_HOT bool StartTimer(const QueryDesc* qd) {
  StatementTimer* t = FindTimer(qd);  // a stale entry of a failed execution
  if (t == nullptr) {
    if (g_timer_count == kMaxStatementTimers) return false;
    t = &g_timers[g_timer_count++];
    t->qd = qd;
  }
  INSTR_TIME_SET_ZERO(t->elapsed);
  t->subxact = GetCurrentSubTransactionId();
  return true;
}

RUVECTOR_HOT void DropTimer(StatementTimer* t) { *t = g_timers[--g_timer_count]; }

/// Adds the time since `start` to qd's timer, found at index `hint` before
/// the call unless executions that ended meanwhile moved it.
RUVECTOR_HOT void AccumulateTimer(const QueryDesc* qd, int hint, const instr_time& start) {
  StatementTimer* t = hint < g_timer_count && g_timers[hint].qd == qd ? &g_timers[hint] : FindTimer(qd);
  if (t != nullptr) {
    INSTR_TIME_SET_CURRENT(g_last_clock);
    INSTR_TIME_ACCUM_DIFF(t->elapsed, g_last_clock, start);
  }
}

RUVECTOR_HOT void TimersAtXactEnd(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      g_timer_count = 0;
      g_pending_capture = PendingCapture();
      break;
    default:
      break;
  }
}

void TimersAtSubXactEnd(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
  if (event == SUBXACT_EVENT_COMMIT_SUB) {
    // Its executions (cursors) now belong to the parent.
    for (int i = 0; i < g_timer_count; ++i) {
      if (g_timers[i].subxact == sub) g_timers[i].subxact = parent;
    }
  } else if (event == SUBXACT_EVENT_ABORT_SUB) {
    g_pending_capture = PendingCapture();
    // Executions started in it or in its (finished) children are gone.
    for (int i = g_timer_count - 1; i >= 0; --i) {
      if (g_timers[i].subxact >= sub) DropTimer(&g_timers[i]);
    }
  }
}

MemoryContext ObserveContext() {
  if (g_observe_cxt == nullptr) {
    g_observe_cxt = AllocSetContextCreate(TopMemoryContext, "ruvector_dag observation", ALLOCSET_SMALL_SIZES);
  }
  return g_observe_cxt;
}

MemoryContext CaptureContext() {
  if (g_capture_cxt == nullptr) {
    g_capture_cxt = AllocSetContextCreate(TopMemoryContext, "ruvector_dag explain", ALLOCSET_SMALL_SIZES);
  }
  return g_capture_cxt;
}

/// Observations in progress in this backend: one can run statements (the
/// capture check analyzes a statement again, which can call SQL functions),
/// whose hooks observe in turn.
int g_observe_depth = 0;

/// Runs `body` (PG zone code: palloc, our LWLock) so that an error inside it
/// is logged and swallowed: the user's statement continues unchanged.
/// `lock_held` tells the handler whether to release the state lock. A nested
/// observation gets a memory context of its own: resetting the shared one
/// would free what the outer observation still uses.
template <typename Body>
void Observe(const char* what, Body body) {
  MemoryContext caller = CurrentMemoryContext;
  const bool nested = g_observe_depth > 0;
  MemoryContext cxt = nested ? AllocSetContextCreate(ObserveContext(), "ruvector_dag nested observation",
                                                     ALLOCSET_SMALL_SIZES)
                             : ObserveContext();
  auto done = [nested, cxt]() {
    --g_observe_depth;
    if (nested) {
      MemoryContextDelete(cxt);
    } else {
      MemoryContextReset(cxt);
    }
  };
  ++g_observe_depth;
  // Set by body while it holds the state lock; read after a longjmp.
  volatile bool lock_held = false;
  PG_TRY();
  {
    MemoryContextSwitchTo(cxt);
    body(const_cast<bool*>(&lock_held));
    MemoryContextSwitchTo(caller);
    done();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    if (lock_held) LWLockRelease(StateLock());
    ErrorData* edata = CopyErrorData();
    // A cancel request is the user's, not an internal error: let it through.
    if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED) {
      FreeErrorData(edata);
      done();
      PG_RE_THROW();
    }
    FlushErrorState();
    ereport(LOG, (errmsg("ruvector_dag: %s failed, statement continues without it: %s", what,
                         edata->message != nullptr ? edata->message : "(no message)")));
    FreeErrorData(edata);
    done();
    CountInternalError();
  }
  PG_END_TRY();
}

/// Observes a plan: its identity and structure straight from a snapshot of
/// the plan tree (no DAG is built: IdentifySnapshot), and two counters under
/// the shared lock. Fills *out and *tmpl (when non-null) and sets *known when
/// the identity could be computed.
void ObservePlan(PlannedStmt* stmt, PlanIdentity* out, bool* known, PlanTemplate* tmpl) {
  Observe("plan observation", [stmt, out, known, tmpl](bool* lock_held) {
    int fault = g_debug_fault;
    if (fault == kFaultPgError) ereport(ERROR, (errmsg("injected fault in the planner hook")));
    PlanSnapshot* snap = ExtractPlan(stmt, false);
    PlanIdentity identity;
    PlainStatus st = RunCpp("planner hook", [&]() {
      if (fault == kFaultCppException) throw std::runtime_error("injected fault in the planner hook");
      RUVECTOR_RETURN_IF_ERROR(IdentifySnapshot(*snap, &identity));
      if (tmpl != nullptr) TemplateFromSnapshot(*snap, identity.shape_hash, tmpl);
      return Status::Ok();
    });
    if (!st.ok()) {
      ereport(LOG, (errmsg("ruvector_dag: plan observation skipped: %s", st.message)));
      CountInternalError();
      return;
    }
    ResolveConstants(stmt->queryId, &identity);
    if (out != nullptr) *out = identity;
    if (known != nullptr) *known = true;
    LWLockAcquire(StateLock(), LW_SHARED);
    *lock_held = true;
    SharedState* s = State();
    BumpCounter(&s->counters.plans_observed);
    if (FindPattern(s, identity.pattern_key) != nullptr) BumpCounter(&s->counters.plans_known_pattern);
    LWLockRelease(StateLock());
    *lock_held = false;
  });
}

/// The structure of a re-planned (steered) statement, for its trajectories.
bool TemplateOf(PlannedStmt* stmt, PlanTemplate* tmpl) {
  bool done = false;
  Observe("plan observation", [stmt, tmpl, &done](bool*) {
    PlanSnapshot* snap = ExtractPlan(stmt, false);
    PlanIdentity identity;
    PlainStatus st = RunCpp("planner hook", [&]() {
      RUVECTOR_RETURN_IF_ERROR(IdentifySnapshot(*snap, &identity));
      TemplateFromSnapshot(*snap, identity.shape_hash, tmpl);
      return Status::Ok();
    });
    done = st.ok();
  });
  return done;
}

PlannedStmt* CallPlanner(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
  PlannedStmt* result;
  ++g_planner_depth;
  PG_TRY();
  {
    result = g_prev_planner != nullptr ? g_prev_planner(parse, query_string, cursor_options, params)
                                       : standard_planner(parse, query_string, cursor_options, params);
  }
  PG_FINALLY();
  {
    --g_planner_depth;
  }
  PG_END_TRY();
  return result;
}

/// The planner chain below this hook (depth is counted by the caller).
PlannedStmt* CallPlannerUnobserved(Query* parse, const char* query_string, int cursor_options,
                                   ParamListInfo params) {
  return g_prev_planner != nullptr ? g_prev_planner(parse, query_string, cursor_options, params)
                                   : standard_planner(parse, query_string, cursor_options, params);
}

/// Same operators in the same tree positions, on the same relations and
/// indexes, with the same row estimates (unless `rows` is false: the
/// row_corrections arm changes estimates only): the arm did not change
/// the plan. Costs are not compared (a disabled operator that is still used
/// carries disable_cost). Nodes with several children (Append, ...) compare
/// their type and rows only.
bool SamePlanTree(const Plan* a, const Plan* b, bool rows = true) {
  if (a == nullptr || b == nullptr) return a == b;
  if (nodeTag(a) != nodeTag(b) || (rows && a->plan_rows != b->plan_rows)) return false;
  switch (nodeTag(a)) {
    case T_SeqScan:
    case T_SampleScan:
    case T_BitmapHeapScan:
    case T_TidScan:
      if (reinterpret_cast<const Scan*>(a)->scanrelid != reinterpret_cast<const Scan*>(b)->scanrelid) return false;
      break;
    case T_IndexScan:
      if (reinterpret_cast<const IndexScan*>(a)->indexid != reinterpret_cast<const IndexScan*>(b)->indexid ||
          reinterpret_cast<const Scan*>(a)->scanrelid != reinterpret_cast<const Scan*>(b)->scanrelid) {
        return false;
      }
      break;
    case T_IndexOnlyScan:
      if (reinterpret_cast<const IndexOnlyScan*>(a)->indexid != reinterpret_cast<const IndexOnlyScan*>(b)->indexid ||
          reinterpret_cast<const Scan*>(a)->scanrelid != reinterpret_cast<const Scan*>(b)->scanrelid) {
        return false;
      }
      break;
    case T_BitmapIndexScan:
      if (reinterpret_cast<const BitmapIndexScan*>(a)->indexid !=
          reinterpret_cast<const BitmapIndexScan*>(b)->indexid) {
        return false;
      }
      break;
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin:
      if (reinterpret_cast<const Join*>(a)->jointype != reinterpret_cast<const Join*>(b)->jointype) return false;
      break;
    default:
      break;
  }
  return SamePlanTree(a->lefttree, b->lefttree, rows) && SamePlanTree(a->righttree, b->righttree, rows);
}

/// Re-plans under an arm's settings (nested planner depth: not observed).
PlannedStmt* PlanSteered(Query* copy, const char* query_string, int cursor_options, ParamListInfo params,
                         const char* settings) {
  PlannedStmt* steered = nullptr;
  ++g_planner_depth;
  PG_TRY();
  {
    steered = PlanUnderArm(&CallPlannerUnobserved, copy, query_string, cursor_options, params, settings);
  }
  PG_FINALLY();
  {
    --g_planner_depth;
  }
  PG_END_TRY();
  return steered;
}

/// Re-plans under the row_corrections arm: PostgreSQL's settings with the
/// pattern's learned row counts. nullptr with *none set when the pattern has
/// no corrections (the arm is PostgreSQL's plan then); nullptr alone when
/// planning failed (logged and counted by PlanUnderArm).
PlannedStmt* PlanCorrected(uint64_t pattern_key, Query* copy, const char* query_string, int cursor_options,
                           ParamListInfo params, bool* none, PatternCorrections* set, CorrectionReport* report) {
  *none = !LookupCorrections(pattern_key, set);
  PlannedStmt* out = nullptr;
  if (!*none) {
    out = PlanWithCorrections(*set, &PlanSteered, copy, query_string, cursor_options, params, "", report);
    if (out != nullptr) RememberCorrectionNames(pattern_key, *set, *report);
  }
  return out;
}

/// The ROWS items of the pinned advice being planned, and what they applied
/// (for PlanAdvisedRows; set by PlanAdvised).
const PatternCorrections* g_advised_rows = nullptr;
CorrectionReport* g_advised_report = nullptr;

/// Re-plans under pinned advice's settings and its ROWS items as row
/// corrections (nullptr when planning failed).
PlannedStmt* PlanAdvisedRows(Query* copy, const char* query_string, int cursor_options, ParamListInfo params,
                             const char* settings) {
  return g_advised_rows->count > 0 ? PlanWithCorrections(*g_advised_rows, &PlanSteered, copy, query_string,
                                                         cursor_options, params, settings, g_advised_report)
                                   : PlanSteered(copy, query_string, cursor_options, params, settings);
}

/// Re-plans under pinned advice: its settings, its ROWS items as row
/// corrections and its hints. nullptr when planning failed or the plan does
/// not carry out every hint (logged, counted).
PlannedStmt* PlanAdvised(const AdvicePin& pin, uint64_t pattern_key, Query* copy, const char* query_string,
                         int cursor_options, ParamListInfo params, PatternCorrections* set,
                         CorrectionReport* report) {
  *set = PatternCorrections();
  set->pattern_key = pattern_key;
  for (uint32_t i = 0; i < pin.rows_count && i < static_cast<uint32_t>(kMaxCorrectionsPerPattern); ++i) {
    set->items[set->count].relset = pin.relsets[i];
    set->items[set->count].relation_count = pin.relation_counts[i];
    set->items[set->count].factor = static_cast<float>(pin.factors[i]);
    ++set->count;
  }
  g_advised_rows = set;
  g_advised_report = report;
  PlannedStmt* out =
      pin.hints.count > 0
          ? PlanWithHints(pin.hints, &PlanAdvisedRows, copy, query_string, cursor_options, params, pin.settings)
          : PlanAdvisedRows(copy, query_string, cursor_options, params, pin.settings);
  g_advised_rows = nullptr;
  g_advised_report = nullptr;
  if (out == nullptr) CountAdviceFailure(copy->queryId);
  return out;
}

/// The plan advice of a learned decision's planning: the settings applied
/// and the row corrections that matched a relation.
void LearnedAdvice(const char* settings, const PatternCorrections* set, const CorrectionReport* report, char* out,
                   size_t cap) {
  out[0] = '\0';
  AppendSettingsAdvice(settings, out, cap);
  if (set == nullptr || report == nullptr) return;
  for (uint32_t i = 0; i < set->count; ++i) {
    if ((report->applied_mask & (1u << i)) == 0) continue;
    AppendRowsAdvice(report->relations[i], set->items[i].relset, static_cast<double>(set->items[i].factor), out, cap);
  }
}

/// Plans `copy` as choice `c` says -- an arm's `settings`, the pattern's row
/// corrections, or pinned advice `pin` -- and records how in `info` (and
/// `tmpl`, for the plan used). Returns the plan to use: `result` (PostgreSQL's
/// plan) when the choice is PostgreSQL's plan or re-planning failed. `advice`
/// (kAdviceTextLen bytes) receives the plan advice that was applied.
PlannedStmt* ApplyChoice(const SteerChoice& c, const AdvicePin& pin, const char* settings, PlannedStmt* result,
                         Query* copy, const char* query_string, int cursor_options, ParamListInfo params,
                         PlanSteerInfo* info, PlanTemplate* tmpl, bool* tmpl_valid, char* advice) {
  info->action = c.action;
  info->confidence = c.confidence;
  info->default_ms = c.default_ms;
  info->arm_ms = c.arm_ms;
  info->vector = c.vector;
  info->advice = c.advice >= 0;
  info->unmeasured_constants = c.unmeasured_constants;
  if (!(c.arm > 0 || settings[0] != '\0' || info->advice)) return result;
  const bool corrections = c.arm == kRowCorrectionsArm;
  const bool hinted = !info->advice && IsHintArm(c.arm);
  bool no_corrections = false;
  auto* set = static_cast<PatternCorrections*>(palloc0(sizeof(PatternCorrections)));
  auto* report = static_cast<CorrectionReport*>(palloc0(sizeof(CorrectionReport)));
  const uint64_t key = info->identity.pattern_key;
  PlannedStmt* steered =
      info->advice  ? PlanAdvised(pin, key, copy, query_string, cursor_options, params, set, report)
      : corrections ? PlanCorrected(key, copy, query_string, cursor_options, params, &no_corrections, set, report)
      : hinted      ? PlanWithLearnedHint(key, &PlanSteered, copy, query_string, cursor_options, params,
                                          &no_corrections, advice, &info->hint)
                    : PlanSteered(copy, query_string, cursor_options, params, settings);
  info->corrected_relations = report->corrected;
  // A hint the planner cannot carry out (counted and logged): the arm plans
  // like the default, so the explorer does not run it again and again.
  if (hinted && steered == nullptr) no_corrections = true;
  if (no_corrections) {
    // Nothing learned to correct or hint: the arm's plan is PostgreSQL's.
    info->arm = c.arm;
    info->same_plan = true;
  } else if (steered != nullptr) {
    info->same_plan =
        SamePlanTree(steered->planTree, result->planTree, /*rows=*/!corrections && !(info->advice && set->count > 0));
    result = steered;
    info->arm = c.arm;
    *tmpl_valid = TemplateOf(result, tmpl);
    if (info->advice) {
      // Pinned: its text, and how many ROWS items found their relations.
      strlcpy(advice, pin.text, kAdviceTextLen);
      if (set->count > 0) {
        char applied[64];
        snprintf(applied, sizeof(applied), " (ROWS applied: %d of %u)", __builtin_popcount(report->applied_mask),
                 set->count);
        strlcat(advice, applied, kAdviceTextLen);
      }
    } else if (!hinted) {  // (a hint arm's advice was written by PlanWithLearnedHint)
      LearnedAdvice(settings, corrections ? set : nullptr, corrections ? report : nullptr, advice, kAdviceTextLen);
    }
  } else {
    info->replan_failed = true;
    advice[0] = '\0';  // PostgreSQL's plan: nothing was applied
    info->action = SteerAction::kDefault;
    info->vector = -1;
    strlcpy(info->arm_name, "default", sizeof(info->arm_name));
  }
  pfree(set);
  pfree(report);
  return result;
}

/// A statement the learner may steer: a top-level-planned SELECT without
/// data-modifying WITH or row locks.
bool Steerable(const Query* parse) {
  return g_steering_enabled && Steer() != nullptr && g_planner_depth == 0 && parse->commandType == CMD_SELECT &&
         parse->utilityStmt == nullptr && !parse->hasModifyingCTE && parse->rowMarks == NIL &&
         parse->queryId != 0 && !IsParallelWorker();
}

PlannedStmt* PlannerHook(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
  // Steering: only queries the learner has a decision for, or is exploring,
  // need a copy of the query tree for a second planning pass.
  Query* copy = nullptr;
  const bool steerable = Active() && Steerable(parse) && ExtensionCreatedHere();
  if (steerable) {
    uint8_t flags = SteerFilterFor(parse->queryId);
    bool exploring = g_exploration_mode == kExplorationOnline && g_exploration_budget > 0.0;
    if ((flags & kFilterDeployedOrPinned) != 0 || ((flags & kFilterExploring) != 0 && exploring) ||
        g_forced_arm > 0 || (g_forced_arm == 0 && g_forced_settings != nullptr)) {
      copy = static_cast<Query*>(copyObjectImpl(parse));
    }
  }
  PlannedStmt* result = CallPlanner(parse, query_string, cursor_options, params);
  if (result != nullptr && result->commandType != CMD_UTILITY && Active() && !IsParallelWorker()) {
    PlanSteerInfo info;
    // Built per planning, kept with the plan for the executor hook.
    PlanTemplate* tmpl = static_cast<PlanTemplate*>(palloc(sizeof(PlanTemplate)));
    ObservePlan(result, &info.identity, &info.identity_known, tmpl);
    bool tmpl_valid = info.identity_known;
    // Steering only: what it applied (shown by EXPLAIN as "Plan Advice").
    char* advice = nullptr;
    AdvicePin* pin = nullptr;
    strlcpy(info.arm_name, "default", sizeof(info.arm_name));
    // In an explorer, the arm to measure applies to the statement it
    // re-executes only (the first steerable planning), not to statements
    // planned while that one runs.
    const int forced = steerable ? g_forced_arm : -1;
    const char* forced_settings = forced >= 0 ? g_forced_settings : nullptr;
    if (forced >= 0) {
      g_forced_arm = -1;
      g_forced_settings = nullptr;
    }
    if (forced == 0 && forced_settings == nullptr && info.identity_known) {
      // The background explorer measures the default plan (a baseline run).
      info.action = SteerAction::kBaselineCheck;
    } else if (copy != nullptr && info.identity_known) {
      char settings[kArmSettingsLen];
      SteerChoice c;
      advice = static_cast<char*>(palloc0(kAdviceTextLen));
      pin = static_cast<AdvicePin*>(palloc(sizeof(AdvicePin)));
      settings[0] = '\0';
      if (forced_settings != nullptr) {
        // The background explorer measures a vector search setting.
        c.action = SteerAction::kVectorSample;
        strlcpy(settings, forced_settings, sizeof(settings));
        for (int i = 0; i < ruvector_dag::kVectorSettingCount; ++i) {
          if (strcmp(forced_settings, ruvector_dag::VectorSettingGucs(i)) == 0) c.vector = i;
        }
      } else if (forced > 0) {
        // The background explorer measures this arm.
        if (ArmSettings(forced, settings, sizeof(settings), info.arm_name, sizeof(info.arm_name))) {
          c.arm = forced;
          c.action = SteerAction::kExplore;
        }
      } else {
        c = ChooseSteering(info.identity.pattern_key, result->queryId, settings, sizeof(settings), info.arm_name,
                           sizeof(info.arm_name), pin, info.identity.constants_hash);
      }
      result = ApplyChoice(c, *pin, settings, result, copy, query_string, cursor_options, params, &info, tmpl,
                           &tmpl_valid, advice);
    }
    RememberPlan(result, info, tmpl_valid ? tmpl : nullptr, advice);
    pfree(tmpl);
    if (advice != nullptr) {
      pfree(advice);
      pfree(pin);
    }
    // EXPLAIN: remember the plan; it is copied after ExplainOnePlan, so the
    // copy does not count as planning time.
    if (g_capture.explain_depth == 1 && g_planner_depth == 0 && g_capture.stmt == nullptr) g_capture.stmt = result;
  }
  return result;
}

RUVECTOR_HOT bool ShouldObserve(QueryDesc* qd, int eflags) {
  // Parallel workers report to the leader, which records the statement.
  return Active() && !IsParallelWorker() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && qd->plannedstmt != nullptr &&
         qd->plannedstmt->commandType != CMD_UTILITY;
}

/// Whether this execution measures per-node row counts: a deterministic
/// 1-in-round(1/rate) sample of this backend's observed executions, starting
/// with the first (row counting costs a few nanoseconds per row and node,
/// which shows on large scans; the statement's latency is always measured).
/// A sample that falls on a run of a steady pattern that its window would
/// hold is owed to a later execution of this backend, so that it does not
/// end the window early (a record per window, not per sample: "Steady
/// patterns"): the runs the window still holds by count are passed over
/// without a look (the same number of this backend's next observed
/// executions, of any pattern), and the next one is asked again -- at the
/// latest the run that ends that window, which is observed in full anyway.
RUVECTOR_HOT bool SampleRows(const QueryDesc* qd) {
  RUVECTOR_HOT_DATA static uint64_t executions = 0;
  RUVECTOR_HOT_DATA static double cached_rate = -1.0;
  RUVECTOR_HOT_DATA static uint64_t every = 1;
  RUVECTOR_HOT_DATA static bool owed = false;
  RUVECTOR_HOT_DATA static int pass_over = 0;  // owed: executions to pass over before asking again
  const double rate = g_row_sample_rate;
  if (rate >= 1.0) return true;
  if (!(rate > 0.0)) {
    owed = false;
    pass_over = 0;
    return false;
  }
  if (rate != cached_rate) {
    const uint64_t n = static_cast<uint64_t>(std::llround(1.0 / rate));
    every = n == 0 ? 1 : n;
    cached_rate = rate;
  }
  if (executions++ % every == 0) owed = true;
  if (!owed) return false;
  if (pass_over > 0) {
    --pass_over;
    return false;
  }
  if (g_debug_fault == 0 && g_timer_count < kMaxStatementTimers) {
    // Only a run our statement timer times can be held by a window.
    const PlanTemplate* tmpl = nullptr;
    const PlanSteerInfo* steer = LookupPlan(qd->plannedstmt, &tmpl);
    if (SteadyKind(steer, tmpl, g_exec_nesting + g_planner_depth, g_capture.explain_depth)) {
      instr_time now;
      INSTR_TIME_SET_CURRENT(now);
      const int left = SteadyWindowRunsLeft(*steer, now);
      if (left >= 0) {
        pass_over = left;
        return false;
      }
    }
  }
  owed = false;
  return true;
}

RUVECTOR_HOT void ExecutorStartHook(QueryDesc* qd, int eflags) {
  ReplanCachedIfServingChanged();
  bool observe = ShouldObserve(qd, eflags);
  // Per-node row counts only (per-node timing is too expensive), and only
  // on a sample of executions; EXPLAIN ANALYZE instruments everything anyway.
  if (observe && SampleRows(qd)) qd->instrument_options |= INSTRUMENT_ROWS;
  if (g_prev_executor_start != nullptr) {
    g_prev_executor_start(qd, eflags);
  } else {
    standard_ExecutorStart(qd, eflags);
  }
  if (observe && qd->totaltime == nullptr && !StartTimer(qd)) {
    MemoryContext old = MemoryContextSwitchTo(qd->estate->es_query_cxt);
    qd->totaltime = InstrAlloc(1, INSTRUMENT_TIMER, false);
    MemoryContextSwitchTo(old);
  }
}

RUVECTOR_HOT void ExecutorRunHook(QueryDesc* qd, ScanDirection direction, uint64 count, bool execute_once) {
  // A plan made for a vector search setting: the index scan reads
  // ruvector.hnsw_ef_search while it runs, so the setting applies to the run.
  const PlanSteerInfo* steer =
      RemembersVectorPlans() && Active() && qd->plannedstmt != nullptr && qd->plannedstmt->commandType == CMD_SELECT
          ? LookupPlan(qd->plannedstmt)
          : nullptr;
  const int vector_nest = steer != nullptr && steer->vector >= 0 ? BeginVectorSetting(steer->vector) : -1;
  const bool top = g_exec_nesting == 0;
  if (top) ForegroundBegin();  // the explorer yields to executing statements
  ++g_exec_nesting;
  PG_TRY();
  {
    // Inside the try block: nothing of it is read after an error.
    const int timer = g_timer_count > 0 ? TimerIndex(qd) : -1;
    instr_time start;
    if (timer >= 0) INSTR_TIME_SET_CURRENT(start);
    if (g_prev_executor_run != nullptr) {
      g_prev_executor_run(qd, direction, count, execute_once);
    } else {
      standard_ExecutorRun(qd, direction, count, execute_once);
    }
    if (timer >= 0) AccumulateTimer(qd, timer, start);
  }
  PG_CATCH();
  {
    --g_exec_nesting;
    if (top) ForegroundEnd();
    if (vector_nest >= 0) EndVectorSetting(vector_nest, false);
    PG_RE_THROW();
  }
  PG_END_TRY();
  --g_exec_nesting;
  if (top) ForegroundEnd();
  if (vector_nest >= 0) EndVectorSetting(vector_nest, true);
}

/// Whether ExecutorFinish can run work of the statement itself: AFTER
/// triggers of its own data changes, the rest of its data-modifying WITH
/// queries. A plain SELECT's has nothing to run (a function it calls runs
/// its statements' triggers inside ExecutorRun), so it is not timed: two
/// clock reads fewer per statement.
RUVECTOR_HOT bool FinishDoesWork(const QueryDesc* qd) {
  return qd->operation != CMD_SELECT || qd->plannedstmt == nullptr || qd->plannedstmt->hasModifyingCTE;
}

RUVECTOR_HOT void ExecutorFinishHook(QueryDesc* qd) {
  ++g_exec_nesting;
  PG_TRY();
  {
    // Inside the try block: nothing of it is read after an error.
    const int timer = g_timer_count > 0 && FinishDoesWork(qd) ? TimerIndex(qd) : -1;
    instr_time start;
    if (timer >= 0) INSTR_TIME_SET_CURRENT(start);
    if (g_prev_executor_finish != nullptr) {
      g_prev_executor_finish(qd);
    } else {
      standard_ExecutorFinish(qd);
    }
    if (timer >= 0) AccumulateTimer(qd, timer, start);
  }
  PG_FINALLY();
  {
    --g_exec_nesting;
  }
  PG_END_TRY();
}

/// The relations the plan reads: the drift scope of the pattern.
void RecordRelations(const PlannedStmt* stmt, TrajectoryRecord* rec) {
  CollectRelations(stmt, rec->relations, &rec->relation_count);
}

/// Records the plan's structure and, when this execution measured them,
/// per-node actual rows: the slow path (a statement this backend did not
/// plan, a sampled execution, EXPLAIN ANALYZE). With `known` (the template
/// this backend remembered for the plan; the caller has its identity) only
/// the actual rows are read from the executor; otherwise *identity is
/// computed from the plan too.
bool FillFromPlan(QueryDesc* qd, const PlanTemplate* known, TrajectoryRecord* rec, PlanIdentity* identity) {
  PlanSnapshot* snap = ExtractPlan(qd->plannedstmt, false);
  AttachActuals(snap, qd->planstate);
  if (known != nullptr && static_cast<uint32_t>(snap->count) == known->node_count) {
    FillFromTemplate(*known, rec);
  } else {
    PlanTemplate* tmpl = static_cast<PlanTemplate*>(palloc(sizeof(PlanTemplate)));
    PlainStatus st = RunCpp("executor hook", [&]() {
      RUVECTOR_RETURN_IF_ERROR(IdentifySnapshot(*snap, identity));
      TemplateFromSnapshot(*snap, identity->shape_hash, tmpl);
      return Status::Ok();
    });
    if (!st.ok()) {
      ereport(LOG, (errmsg("ruvector_dag: execution observation skipped: %s", st.message)));
      CountInternalError();
      return false;
    }
    FillFromTemplate(*tmpl, rec);
    ResolveConstants(qd->plannedstmt->queryId, identity);
  }
  const int kept = std::min(snap->count, kMaxTrajectoryNodes);
  for (int i = 0; i < kept; ++i) {
    const PlanNodeSnapshot& n = snap->nodes[i];
    if (n.has_actuals && n.actual_loops > 0) rec->actual_rows[i] = static_cast<float>(n.actual_rows);
  }
  return true;
}

/// Per execution: a known plan (planned by this backend, row counts not
/// sampled) costs a plan-map lookup and one shared-lock section (pattern
/// statistics under the pattern's spinlock, the record written in place
/// into its lock-free ring slot from the remembered structure); the
/// statement is offered for capture only while the learner's decision for
/// its pattern does not rule that out (a cached answer, no lock). Only a
/// new pattern takes the exclusive lock. A steady pattern's record also
/// carries the runs this backend held since its last one (steady_runs.h).
/// `now`: the clock when the execution ended, when our statement timer
/// timed it (nullptr otherwise: no window of steady runs is touched).
/// `known` and `known_tmpl`: LookupPlan's answer for the statement.
void ObserveExecution(QueryDesc* qd, double latency_ms, const instr_time* now, const PlanSteerInfo* known,
                      const PlanTemplate* known_tmpl) {
  Observe("execution observation", [qd, latency_ms, now, known, known_tmpl](bool* lock_held) {
    int fault = g_debug_fault;
    if (fault == kFaultPgError) ereport(ERROR, (errmsg("injected fault in the executor hook")));
    if (fault == kFaultCppException) {
      PlainStatus st = RunCpp("executor hook", []() -> Status {
        throw std::runtime_error("injected fault in the executor hook");
      });
      ereport(LOG, (errmsg("ruvector_dag: execution observation skipped: %s", st.message)));
      CountInternalError();
      return;
    }
    // The pattern is the identity of PostgreSQL's default plan, remembered
    // when this backend planned the statement (a steered plan has another
    // shape, but belongs to the same pattern).
    const PlanTemplate* tmpl = known_tmpl;
    const PlanSteerInfo* steer = known;
    if (steer != nullptr && !steer->identity_known) steer = nullptr;
    if (steer == nullptr) tmpl = nullptr;
    const bool measured_rows = (qd->instrument_options & INSTRUMENT_ROWS) != 0;
    // A sampled execution of a known plan: its actual rows by plan node id.
    float actual_rows[kMaxTrajectoryNodes];
    const bool rows_by_id = measured_rows && tmpl != nullptr && tmpl->ids_mapped;
    if (rows_by_id) {
      std::fill_n(actual_rows, kMaxTrajectoryNodes, -1.0f);
      ActualRowsById(*tmpl, qd->planstate, actual_rows);
    }
    // The slow path builds its record here; the common one in the ring slot.
    TrajectoryRecord* measured = nullptr;
    PlanIdentity identity;
    if (tmpl == nullptr || (measured_rows && !rows_by_id)) {
      // Plain data in the observation context (reset after each observation).
      measured = new (palloc(sizeof(TrajectoryRecord))) TrajectoryRecord();
      if (!FillFromPlan(qd, tmpl, measured, &identity)) return;
    }
    uint16_t flags = 0;
    if (steer != nullptr) {
      identity = steer->identity;
      flags = static_cast<uint16_t>(kTrajectoryArmKnown | TrajectoryArmBits(steer->arm));
      if (steer->action == SteerAction::kExplore) flags |= kTrajectoryExplore;
      // A recall sample's run (exact search or a search setting) measures
      // no arm: the bandits must not take it for a run of the default plan.
      if (steer->action == SteerAction::kVectorSample) flags = kTrajectoryExplore;
      if (steer->action == SteerAction::kBaselineCheck) flags |= kTrajectoryBaseline;
      if (steer->same_plan) flags |= kTrajectorySamePlan;
      if (steer->advice) flags = kTrajectoryAdvice;
      // A plan made under a hint the worker has replaced since (a cached
      // plan, or a run that outlived the change) measures no current arm:
      // recorded, but not learned as a run of the new hint.
      if ((flags & kTrajectoryArmKnown) != 0 && IsHintArm(steer->arm) &&
          !HintStampIsCurrent(steer->identity.pattern_key, steer->hint)) {
        flags = static_cast<uint16_t>(flags & ~kTrajectoryArmKnown);
      }
    }
    // Statements that functions run while the planner evaluates them are
    // nested too.
    if (g_exec_nesting > 0 || g_planner_depth > 0) flags |= kTrajectoryNested;
    if (measured_rows) flags |= kTrajectoryRowsMeasured;
    if (identity.by_constants) flags |= kTrajectoryByConstants;
    // The role running the statement (a cached plan may have been planned
    // by another one, e.g. before SET ROLE) owns the execution.
    const uint32_t database_oid = MyDatabaseId;
    const uint32_t role_oid = GetUserId();
    if (steer == nullptr || identity.database_oid != database_oid || identity.role_oid != role_oid) {
      identity.database_oid = database_oid;
      identity.role_oid = role_oid;
      identity.pattern_key = ScopePatternKey(identity.statement_key, database_oid, role_oid);
    }
    const uint64_t query_id = qd->plannedstmt->queryId;
    // A top-level statement the learner wants to explore in the background
    // (only a pattern the learner explores or steers can be wanted).
    if (steer != nullptr && g_exec_nesting == 0 && g_planner_depth == 0 && g_capture.explain_depth == 0 &&
        CaptureMayBeWanted(identity.pattern_key, g_explore_min_ms)) {
      const bool default_plan = (flags & kTrajectoryArmKnown) != 0 && TrajectoryArm(flags) == 0 &&
                                (flags & kTrajectorySamePlan) == 0;
      // Its constants' key, should the pattern be split by them (as
      // ResolveConstants would key it then; never without a query id).
      const uint64_t split_key =
          identity.by_constants || identity.constants_statement_key == 0 || query_id == 0
              ? 0
              : ScopePatternKey(identity.constants_statement_key, identity.database_oid, identity.role_oid);
      g_pending_capture =
          PendingCapture{qd, identity.pattern_key, query_id, default_plan ? latency_ms : 0.0, split_key};
    }
    // Old windows of steady runs first (their records precede this one).
    if (now != nullptr && SteadyFlushDue(*now)) FlushSteadyWindows(*now, false, lock_held);
    PendingRuns pending;
    if (now != nullptr && SteadyKind(steer, tmpl, g_exec_nesting + g_planner_depth, g_capture.explain_depth)) {
      pending = TakeSteadyRuns(identity.pattern_key, *now);
    }
    ExecutionSample x;
    x.key = identity.pattern_key;
    x.query_id = query_id;
    x.shape_hash = measured != nullptr ? measured->shape_hash : tmpl->shape_hash;
    x.param_bucket = identity.param_bucket;
    x.node_count = measured != nullptr ? measured->node_count : std::min<uint32_t>(tmpl->node_count, 65535);
    x.database_oid = database_oid;
    x.role_oid = role_oid;
    x.latency_ms = latency_ms;
    x.now_us = NowUnixMicros();
    AddPendingRuns(pending, &x);

    LWLockAcquire(StateLock(), LW_SHARED);
    *lock_held = true;
    SharedState* s = State();
    AddCounter(&s->counters.executions_observed, x.runs);
    // Pattern statistics describe the users' workload: the background
    // explorer's re-executions only go to the ring (for the learner).
    UpdateResult updated = g_in_explorer ? UpdateResult::kIgnored : UpdatePattern(s, x);
    // From claim to publish nothing may fail: plain stores and copies only.
    RingClaim claim = ClaimTrajectory(s);
    if (TrajectoryRecord* rec = claim.slot) {
      if (measured != nullptr) {
        std::memcpy(reinterpret_cast<char*>(rec) + sizeof(uint64_t), reinterpret_cast<const char*>(measured) +
                    sizeof(uint64_t), kTrajectoryBody);
      } else {
        FillFromTemplate(*tmpl, rec);
        if (rows_by_id) {
          std::memcpy(rec->actual_rows, actual_rows,
                      sizeof(float) * std::min<uint32_t>(tmpl->node_count, kMaxTrajectoryNodes));
        }
      }
      rec->pattern_key = x.key;
      rec->query_id = query_id;
      rec->param_bucket = x.param_bucket;
      rec->constants_hash = identity.constants_hash;
      rec->database_oid = database_oid;
      rec->role_oid = role_oid;
      RecordRelations(qd->plannedstmt, rec);
      rec->latency_ms = latency_ms;
      rec->also_runs = pending.runs;
      rec->also_latency_ms = pending.sum_ms;
      rec->recorded_at_us = x.now_us;
      rec->flags |= flags;
      PublishTrajectory(s, claim);
    }
    LWLockRelease(StateLock());
    *lock_held = false;
    if (updated == UpdateResult::kAbsent) {
      // A new pattern: the only exclusive section, once per pattern.
      LWLockAcquire(StateLock(), LW_EXCLUSIVE);
      *lock_held = true;
      InsertPattern(s, x, g_pattern_share);
      LWLockRelease(StateLock());
      *lock_held = false;
    }

    if (g_capture.explain_depth > 0 && g_capture.stmt == qd->plannedstmt) {
      MemoryContext old = MemoryContextSwitchTo(CaptureContext());
      bool too_large = false;
      PlanSnapshot* measured_plan = ExtractPlan(qd->plannedstmt, true, kMaxAnalyzedNodes, &too_large);
      if (!too_large) {
        AttachActuals(measured_plan, qd->planstate);
        g_capture.snapshot = measured_plan;
      }
      g_capture.too_large = too_large;
      MemoryContextSwitchTo(old);
    }
  });
}

RUVECTOR_HOT void ExecutorEndHook(QueryDesc* qd) {
  // A timer was started only for an execution ShouldObserve accepted.
  StatementTimer* timer = g_timer_count > 0 ? FindTimer(qd) : nullptr;
  if (timer != nullptr ? Active()
                       : qd->totaltime != nullptr && qd->estate != nullptr &&
                             ShouldObserve(qd, qd->estate->es_top_eflags)) {
    if (timer != nullptr) {
      const double latency_ms = INSTR_TIME_GET_MILLISEC(timer->elapsed);
      DropTimer(timer);
      // A steady pattern's run that its window holds costs no more than this.
      const PlanTemplate* tmpl = nullptr;
      const PlanSteerInfo* steer = LookupPlan(qd->plannedstmt, &tmpl);
      if (!(g_debug_fault == 0 && (qd->instrument_options & INSTRUMENT_ROWS) == 0 &&
            SteadyKind(steer, tmpl, g_exec_nesting + g_planner_depth, g_capture.explain_depth) &&
            SteadyFastPath(*steer, *tmpl, qd->plannedstmt, latency_ms, g_last_clock))) {
        ObserveExecution(qd, latency_ms, &g_last_clock, steer, tmpl);
      }
    } else {
      // Another extension's timer (pg_stat_statements), or ours when every
      // statement timer was taken.
      InstrEndLoop(qd->totaltime);
      const PlanTemplate* tmpl = nullptr;
      const PlanSteerInfo* steer = LookupPlan(qd->plannedstmt, &tmpl);
      ObserveExecution(qd, qd->totaltime->total * 1000.0, nullptr, steer, tmpl);
    }
  } else if (timer != nullptr) {
    DropTimer(timer);
  }
  if (g_prev_executor_end != nullptr) {
    g_prev_executor_end(qd);
  } else {
    standard_ExecutorEnd(qd);
  }
  if (g_pending_capture.qd == qd) {
    const PendingCapture c = g_pending_capture;
    g_pending_capture = PendingCapture();
    Observe("statement capture",
            [qd, &c](bool*) { MaybeCaptureStatement(qd, c.pattern_key, c.query_id, c.reference_ms, c.split_key); });
  }
}

/// PostgreSQL's own ExplainOneQuery behaviour for plannable statements
/// (it is static in explain.c, so a hook has to redo it): plan with timing
/// and buffer accounting, then ExplainOnePlan.
void StandardExplainOneQuery(Query* query, int cursor_options, IntoClause* into, ExplainState* es,
                             const char* query_string, ParamListInfo params, QueryEnvironment* query_env) {
  instr_time plan_start, plan_duration;
  BufferUsage buf_start, buf_usage;
  if (es->buffers) buf_start = pgBufferUsage;
  INSTR_TIME_SET_CURRENT(plan_start);
  PlannedStmt* plan = pg_plan_query(query, query_string, cursor_options, params);
  INSTR_TIME_SET_CURRENT(plan_duration);
  INSTR_TIME_SUBTRACT(plan_duration, plan_start);
  if (es->buffers) {
    memset(&buf_usage, 0, sizeof(BufferUsage));
    BufferUsageAccumDiff(&buf_usage, &pgBufferUsage, &buf_start);
  }
  ExplainOnePlan(plan, into, es, query_string, params, query_env, &plan_duration, es->buffers ? &buf_usage : nullptr);
}

/// The "Vector Search" line of a vector pattern: the search setting this
/// plan was made with and what the explorer measured for it.
void ExplainVectorTuning(StringInfo str, const PlanSteerInfo* steer) {
  if (Steer() == nullptr || !steer->identity_known) return;
  LWLockAcquire(SteerLock(), LW_SHARED);
  const VectorPattern* found = FindVectorPattern(&Steer()->vector, steer->identity.pattern_key);
  VectorPattern p;
  if (found != nullptr) p = *found;
  LWLockRelease(SteerLock());
  if (found == nullptr) return;
  if (steer->vector < 0) {
    if (p.settled != 0) {
      appendStringInfo(str, "  Vector Search: session's ef_search (no setting measured to reach recall %.3f)\n",
                       p.target);
    } else {
      uint32_t fewest = UINT32_MAX;
      for (int i = 0; i < ruvector_dag::kVectorEfCount; ++i) {
        if ((p.measure_mask & (1u << i)) != 0) fewest = std::min(fewest, p.stats[i].samples);
      }
      appendStringInfo(str, "  Vector Search: session's ef_search (tuning for recall %.3f: %u of %u samples)\n",
                       g_vector_recall_target, fewest == UINT32_MAX ? 0 : fewest,
                       ruvector_dag::VectorTuningOptions().min_samples);
    }
    return;
  }
  const ruvector_dag::VectorSettingStats& st = p.stats[steer->vector];
  if (steer->vector == ruvector_dag::kVectorExact) {
    appendStringInfo(str,
                     "  Vector Search: exact (index scans off; recall 1 by construction, %.3f ms over %u runs)\n",
                     ruvector_dag::MeanLatencyMs(st), st.runs);
  } else {
    appendStringInfo(str,
                     "  Vector Search: %s (measured recall %.3f, lower bound %.3f >= target %.3f over %u samples, "
                     "%.3f ms)\n",
                     ruvector_dag::VectorSettingName(steer->vector), ruvector_dag::MeanRecall(st),
                     ruvector_dag::RecallLowerBound(st), p.target, st.samples, ruvector_dag::MeanLatencyMs(st));
  }
  // Faster settings still measured: proving the target takes at least
  // SamplesToProve(target) statements, all perfect.
  if (VectorProving(p)) {
    uint32_t most = 0;
    for (int i = 0; i < ruvector_dag::kVectorEfCount; ++i) {
      if (i != steer->vector && (p.measure_mask & (1u << i)) != 0) most = std::max(most, p.stats[i].samples);
    }
    appendStringInfo(str, "  Vector Search: faster settings still proving recall %.3f (%u of at least %u samples)\n",
                     p.target, most, ruvector_dag::SamplesToProve(p.target));
  }
}

void PrintExplainSection(ExplainState* es) {
  if (g_capture.snapshot == nullptr && g_capture.stmt != nullptr) {
    Observe("EXPLAIN capture", [](bool*) {
      MemoryContext old = MemoryContextSwitchTo(CaptureContext());
      bool too_large = false;
      PlanSnapshot* planned = ExtractPlan(g_capture.stmt, true, kMaxAnalyzedNodes, &too_large);
      if (!too_large) g_capture.snapshot = planned;
      g_capture.too_large = too_large;
      MemoryContextSwitchTo(old);
    });
  }
  if (g_capture.too_large) {
    appendStringInfo(es->str, "RuVector DAG: not analyzed (more than %d plan nodes)\n", kMaxAnalyzedNodes);
    return;
  }
  if (g_capture.snapshot == nullptr) return;
  // The summary holds std::strings: it is owned by the memory context, so an
  // error while printing cannot leak it.
  ExplainSummary* summary = NewOwnedByContext<ExplainSummary>(CurrentMemoryContext);
  const char* attention = g_attention != nullptr ? g_attention : "auto";
  PlainStatus st = RunCpp("EXPLAIN summary", [&]() {
    return SummarizeForExplain(*g_capture.snapshot, attention, summary);
  });
  if (!st.ok()) {
    ereport(LOG, (errmsg("ruvector_dag: EXPLAIN section skipped: %s", st.message)));
    CountInternalError();
    return;
  }
  // The pattern is the identity the planner hook gave PostgreSQL's default
  // plan (a steered plan's estimates differ); without one, the snapshot's.
  const PlanSteerInfo* steer = LookupPlan(g_capture.stmt);
  if (steer != nullptr && steer->identity_known) {
    summary->identity = steer->identity;
  } else {
    ResolveConstants(g_capture.snapshot->query_id, &summary->identity);
  }
  StringInfo str = es->str;
  appendStringInfoString(str, "RuVector DAG:\n");
  appendStringInfo(str, "  Pattern: %lld (query id %lld, parameter bucket %u%s)\n",
                   static_cast<long long>(summary->identity.pattern_key),
                   static_cast<long long>(g_capture.snapshot->query_id), summary->identity.param_bucket,
                   summary->identity.by_constants ? ", split by constants" : "");
  appendStringInfo(str, "  Plan Nodes: %zu\n", summary->node_count);
  appendStringInfo(str, "  Tension: %.3f (%s)\n", summary->tension,
                   summary->measured ? "measured rows" : "estimates only");
  appendStringInfo(str, "  Attention: %s (%s)\n",
                   std::string(ruvector_dag::AttentionMechanismName(summary->attention.mechanism)).c_str(),
                   summary->attention.reason.c_str());
  if (!summary->bottleneck.empty()) appendStringInfo(str, "  Bottleneck: %s\n", summary->bottleneck.c_str());
  if (steer == nullptr) {
    appendStringInfoString(str, "  Learned Arm: default (not steered)\n");
  } else {
    if (steer->action == SteerAction::kDefault) {
      appendStringInfoString(str, "  Learned Arm: default (PostgreSQL's plan");
      if (steer->unmeasured_constants) {
        appendStringInfoString(str, "; the deployed arm was not measured with these constants");
      }
    } else {
      appendStringInfo(str, "  Learned Arm: %s (%s, confidence %.2f", steer->arm_name,
                       SteerActionName(steer->action), steer->confidence);
    }
    if (steer->replan_failed) appendStringInfoString(str, ", re-planning failed");
    appendStringInfoString(str, ")\n");
    if (steer->arm == kRowCorrectionsArm) {
      appendStringInfo(str, "  Row Corrections: %d relations' row estimates corrected\n", steer->corrected_relations);
    }
    if (const char* advice = LookupPlanAdvice(g_capture.stmt)) {
      appendStringInfo(str, "  Plan Advice: %s\n", advice);
    }
    if (steer->default_ms > 0.0) {
      if (steer->arm != 0 && steer->arm_ms > 0.0) {
        appendStringInfo(str, "  Predicted Latency: %.3f ms (default plan %.3f ms, measured)\n", steer->arm_ms,
                         steer->default_ms);
      } else {
        appendStringInfo(str, "  Default Plan Latency: %.3f ms (measured)\n", steer->default_ms);
      }
    }
    ExplainVectorTuning(str, steer);
  }
}

void ExplainOneQueryHook(Query* query, int cursor_options, IntoClause* into, ExplainState* es,
                         const char* query_string, ParamListInfo params, QueryEnvironment* query_env) {
  bool capture = Active() && g_explain_section && g_capture.explain_depth == 0;
  if (capture) {
    MemoryContextReset(CaptureContext());
    g_capture.stmt = nullptr;
    g_capture.snapshot = nullptr;
    g_capture.too_large = false;
  }
  ++g_capture.explain_depth;
  PG_TRY();
  {
    if (g_prev_explain_one_query != nullptr) {
      g_prev_explain_one_query(query, cursor_options, into, es, query_string, params, query_env);
    } else {
      StandardExplainOneQuery(query, cursor_options, into, es, query_string, params, query_env);
    }
  }
  PG_FINALLY();
  {
    --g_capture.explain_depth;
  }
  PG_END_TRY();
  if (capture && es->format == EXPLAIN_FORMAT_TEXT) PrintExplainSection(es);
  if (capture) {
    g_capture.stmt = nullptr;
    g_capture.snapshot = nullptr;
    g_capture.too_large = false;
    MemoryContextReset(CaptureContext());
  }
}

}  // namespace

bool BeginProceduralUtility() {
  const bool top = g_exec_nesting == 0;
  if (top) ForegroundBegin();
  ++g_exec_nesting;
  return top;
}

void EndProceduralUtility(bool top) {
  --g_exec_nesting;
  if (top) ForegroundEnd();
}

void InstallHooks() {
  g_prev_planner = planner_hook;
  planner_hook = PlannerHook;
  g_prev_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = ExecutorStartHook;
  g_prev_executor_run = ExecutorRun_hook;
  ExecutorRun_hook = ExecutorRunHook;
  g_prev_executor_finish = ExecutorFinish_hook;
  ExecutorFinish_hook = ExecutorFinishHook;
  g_prev_executor_end = ExecutorEnd_hook;
  ExecutorEnd_hook = ExecutorEndHook;
  g_prev_explain_one_query = ExplainOneQuery_hook;
  ExplainOneQuery_hook = ExplainOneQueryHook;
  RegisterXactCallback(TimersAtXactEnd, nullptr);
  RegisterSubXactCallback(TimersAtSubXactEnd, nullptr);
}

}  // namespace ruvector_pg
