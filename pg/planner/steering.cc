// PG zone: plan steering in the planner. Chooses the arm for a planning
// (ChooseSteering), re-plans under an arm's GUCs at a new GUC nest level
// (restored on every path), and keeps the per-backend map from planned
// statements to the arm they were planned with.
#include "planner/dag_bridge.h"

#include "shim.h"
#include "hot.h"

extern "C" {
#include "utils/guc_tables.h"
}

#include "extension.h"
#include "guard.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"

namespace ruvector_pg {
namespace {


// --- per-backend map: planned statement -> how it was planned ----------------

constexpr uint32_t kPlanMapSlots = 4096;

/// What identifies a planned statement across copies: the plan cache copies
/// every PlannedStmt it keeps (prepared statements, the extended protocol,
/// SPI), so the executor sees another pointer than the planner returned.
struct PlanFingerprint {
  uint64_t query_id = 0;
  double startup_cost = 0.0;
  double total_cost = 0.0;
  double rows = 0.0;
  int width = 0;
  int tag = 0;
  int stmt_location = 0;
  int stmt_len = 0;
  bool operator==(const PlanFingerprint& o) const {
    return query_id == o.query_id && startup_cost == o.startup_cost && total_cost == o.total_cost &&
           rows == o.rows && width == o.width && tag == o.tag && stmt_location == o.stmt_location &&
           stmt_len == o.stmt_len;
  }
};

PlanFingerprint FingerprintOf(const PlannedStmt* stmt) {
  PlanFingerprint f;
  f.query_id = stmt->queryId;
  f.stmt_location = stmt->stmt_location;
  f.stmt_len = stmt->stmt_len;
  if (const Plan* p = stmt->planTree) {
    f.startup_cost = p->startup_cost;
    f.total_cost = p->total_cost;
    f.rows = p->plan_rows;
    f.width = p->plan_width;
    f.tag = static_cast<int>(nodeTag(p));
  }
  return f;
}

struct PlanMapEntry {
  bool used = false;
  PlanFingerprint fingerprint;
  PlanSteerInfo info;
  PlanTemplate* tmpl = nullptr;  // in g_plan_map_cxt; reused by the slot's next plan
  char* advice = nullptr;        // in g_plan_map_cxt (nullptr = none)
};
RUVECTOR_HOT_DATA PlanMapEntry* g_plan_map = nullptr;
/// Entries of g_plan_map whose plan runs under a vector search setting.
RUVECTOR_HOT_DATA int g_vector_plans = 0;
MemoryContext g_plan_map_cxt = nullptr;

RUVECTOR_HOT uint32_t PlanSlot(const PlanFingerprint& f) {
  uint64_t bits = 0;
  memcpy(&bits, &f.total_cost, sizeof(bits));
  uint64_t p = f.query_id ^ (bits * 0x9e3779b97f4a7c15ull) ^ (static_cast<uint64_t>(f.stmt_location) << 17);
  p ^= p >> 29;
  p *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(p >> 40) & (kPlanMapSlots - 1);
}

}  // namespace

// --- planner side ---------------------------------------------------------------------

namespace {

/// This backend's copy of recently read filter flags, valid while the
/// filter's generation is unchanged (direct-mapped by query id).
struct FilterCacheEntry {
  uint64_t query_id = 0;
  uint64_t generation = 0;
  uint8_t flags = 0;
};
constexpr uint32_t kFilterCacheSlots = 256;
FilterCacheEntry g_filter_cache[kFilterCacheSlots];

}  // namespace

uint8_t SteerFilterFor(uint64_t query_id) {
  if (g_steer == nullptr || query_id == 0) return 0;
  // Read before the flags: a rebuild in between leaves an older number with
  // newer flags, which only costs another look next time.
  const uint64_t generation = QueryFilterGeneration(g_steer);
  FilterCacheEntry& e = g_filter_cache[(query_id ^ (query_id >> 29)) & (kFilterCacheSlots - 1)];
  if (e.query_id == query_id && e.generation == generation) return e.flags;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint8_t flags = QueryFilterFlags(g_steer, query_id);
  LWLockRelease(g_steer_lock);
  e.query_id = query_id;
  e.generation = generation;
  e.flags = flags;
  return flags;
}

RUVECTOR_HOT void ReplanCachedIfServingChanged() {
  RUVECTOR_HOT_DATA static bool seen_valid = false;
  RUVECTOR_HOT_DATA static uint64_t seen = 0;
  if (g_steer == nullptr || IsParallelWorker()) return;
  const uint64_t now = ServedGeneration(g_steer);
  if (seen_valid && now == seen) return;
  // The first look only records the number: nothing was cached before this
  // backend's first statement under older decisions than those it read.
  const bool changed = seen_valid;
  seen = now;
  seen_valid = true;
  if (changed) ResetPlanCache();
}

void ResolveConstants(uint64_t query_id, PlanIdentity* id) {
  if (id->constants_statement_key == 0 || id->by_constants) return;
  if ((SteerFilterFor(query_id) & kFilterSplit) == 0) return;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const Decision* d = FindDecision(g_steer, id->pattern_key);
  const bool split = d != nullptr && d->split != 0;
  LWLockRelease(g_steer_lock);
  if (!split) return;
  id->statement_key = id->constants_statement_key;
  id->pattern_key = ScopePatternKey(id->statement_key, id->database_oid, id->role_oid);
  id->by_constants = true;
}

namespace {

/// This backend's copy of recent CaptureRuledOut answers, valid while the
/// filter's generation (bumped whenever a publication of decisions changes
/// a query id, an arm, a vector setting or, while a pattern explores,
/// whether its default latency reaches the worker's minimum) and the minimum
/// latency are unchanged (direct-mapped by pattern key).
struct CaptureCacheEntry {
  uint64_t pattern_key = 0;
  uint64_t generation = 0;
  double min_default_ms = 0.0;
  bool ruled_out = false;
};
CaptureCacheEntry g_capture_cache[kFilterCacheSlots];

}  // namespace

bool CaptureMayBeWanted(uint64_t pattern_key, double min_default_ms) {
  if (g_steer == nullptr || pattern_key == 0) return false;
  const uint64_t generation = QueryFilterGeneration(g_steer);
  CaptureCacheEntry& e = g_capture_cache[(pattern_key ^ (pattern_key >> 29)) & (kFilterCacheSlots - 1)];
  if (e.pattern_key != pattern_key || e.generation != generation || e.min_default_ms != min_default_ms) {
    LWLockAcquire(g_steer_lock, LW_SHARED);
    const bool ruled_out = CaptureRuledOut(g_steer, pattern_key, min_default_ms);
    LWLockRelease(g_steer_lock);
    e.pattern_key = pattern_key;
    e.generation = generation;
    e.min_default_ms = min_default_ms;
    e.ruled_out = ruled_out;
  }
  return !e.ruled_out;
}

SteerChoice ChooseSteering(uint64_t pattern_key, uint64_t query_id, char* settings, size_t settings_cap,
                           char* arm_name, size_t name_cap, AdvicePin* advice, uint64_t constants_hash) {
  double budget = g_exploration_mode == kExplorationOnline ? g_exploration_budget : 0.0;
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  SteerChoice c = ChooseArm(g_steer, pattern_key, query_id, budget, static_cast<uint32_t>(g_baseline_interval),
                            g_explore_cpu_budget > 0.0, MyDatabaseId, constants_hash);
  if (c.advice >= 0) {
    const AdvicePin& pin = g_steer->advice_pins[c.advice];
    if (advice != nullptr) *advice = pin;
    strlcpy(settings, pin.settings, settings_cap);
    strlcpy(arm_name, "advice", name_cap);
  } else if (c.arm > 0 && static_cast<uint32_t>(c.arm) < g_steer->arm_count) {
    strlcpy(settings, g_steer->arms[c.arm].settings, settings_cap);
    strlcpy(arm_name, g_steer->arms[c.arm].name, name_cap);
    if (c.action != SteerAction::kExplore) ++g_steer->counters.steered_plans;
  } else {
    settings[0] = '\0';
    strlcpy(arm_name, "default", name_cap);
  }
  // A vector pattern's tuned search setting (PostgreSQL's plan otherwise).
  if (c.vector >= 0) {
    strlcat(settings, ruvector_dag::VectorSettingGucs(c.vector), settings_cap);
    ++g_steer->counters.steered_plans;
  }
  LWLockRelease(g_steer_lock);
  return c;
}

void CountAdviceFailure(uint64_t query_id) {
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  if (AdvicePin* pin = FindAdvicePin(g_steer, query_id, MyDatabaseId)) ++pin->failures;
  ++g_steer->counters.advice_failures;
  LWLockRelease(g_steer_lock);
}

bool ArmSettings(int arm, char* settings, size_t settings_cap, char* arm_name, size_t name_cap) {
  LWLockAcquire(g_steer_lock, LW_SHARED);
  bool ok = arm >= 0 && static_cast<uint32_t>(arm) < g_steer->arm_count;
  if (ok) {
    strlcpy(settings, g_steer->arms[arm].settings, settings_cap);
    strlcpy(arm_name, g_steer->arms[arm].name, name_cap);
  }
  LWLockRelease(g_steer_lock);
  return ok;
}

bool ArmSettingAllowed(const char* name) {
  struct config_generic** vars = get_guc_variables();
  const int n = GetNumConfigOptions();
  for (int i = 0; i < n; ++i) {
    if (vars[i] == nullptr || pg_strcasecmp(vars[i]->name, name) != 0) continue;
    switch (vars[i]->group) {
      case QUERY_TUNING_METHOD:
      case QUERY_TUNING_COST:
      case QUERY_TUNING_GEQO:
      case QUERY_TUNING_OTHER:
      case RESOURCES_MEM:
      case RESOURCES_ASYNCHRONOUS:
      case CUSTOM_OPTIONS:
        return true;
      default:
        return false;
    }
  }
  return false;
}

/// Applies "name=value\n" lines at the current GUC nest level (the caller
/// opened it). Raises an ERROR for an invalid line or value; a setting an
/// arm may not hold (a damaged steering file) is skipped.
static void ApplyArmSettings(const char* settings) {
  GucContext context = superuser() ? PGC_SUSET : PGC_USERSET;
  char* copy = pstrdup(settings);
  char* save = nullptr;
  for (char* line = strtok_r(copy, "\n", &save); line != nullptr; line = strtok_r(nullptr, "\n", &save)) {
    char* eq = strchr(line, '=');
    if (eq == nullptr) continue;
    *eq = '\0';
    if (!ArmSettingAllowed(line)) continue;
    (void)set_config_option(line, eq + 1, context, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
  }
  pfree(copy);
}

int BeginVectorSetting(int setting) {
  const int nest = NewGUCNestLevel();
  PG_TRY();
  {
    ApplyArmSettings(ruvector_dag::VectorSettingGucs(setting));
  }
  PG_CATCH();
  {
    AtEOXact_GUC(false, nest);
    PG_RE_THROW();
  }
  PG_END_TRY();
  return nest;
}

void EndVectorSetting(int nest, bool ok) { AtEOXact_GUC(ok, nest); }

PlannedStmt* PlanUnderArm(PlannerFn planner, Query* parse, const char* query_string, int cursor_options,
                          ParamListInfo params, const char* settings) {
  MemoryContext caller = CurrentMemoryContext;
  int nest = NewGUCNestLevel();
  PlannedStmt* volatile out = nullptr;
  PG_TRY();
  {
    ApplyArmSettings(settings);
    out = planner(parse, query_string, cursor_options, params);
    AtEOXact_GUC(true, nest);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    AtEOXact_GUC(false, nest);
    ErrorData* edata = CopyErrorData();
    if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED) {
      FreeErrorData(edata);
      PG_RE_THROW();
    }
    FlushErrorState();
    ereport(LOG, (errmsg("ruvector_dag: planning under a learned arm failed, the default plan is used: %s",
                         edata->message != nullptr ? edata->message : "(no message)")));
    FreeErrorData(edata);
    out = nullptr;
    LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
    ++g_steer->counters.replan_failures;
    LWLockRelease(g_steer_lock);
  }
  PG_END_TRY();
  return out;
}

void RememberPlan(const PlannedStmt* stmt, const PlanSteerInfo& info, const PlanTemplate* tmpl, const char* advice) {
  if (stmt == nullptr) return;
  if (g_plan_map == nullptr) {
    g_plan_map_cxt = AllocSetContextCreate(TopMemoryContext, "ruvector_dag plan map", ALLOCSET_DEFAULT_SIZES);
    g_plan_map = static_cast<PlanMapEntry*>(MemoryContextAllocZero(g_plan_map_cxt, sizeof(PlanMapEntry) * kPlanMapSlots));
  }
  PlanFingerprint f = FingerprintOf(stmt);
  PlanMapEntry& e = g_plan_map[PlanSlot(f)];
  // Allocate before changing the entry: an out-of-memory error leaves it as it was.
  if (tmpl != nullptr && e.tmpl == nullptr) {
    e.tmpl = static_cast<PlanTemplate*>(MemoryContextAlloc(g_plan_map_cxt, sizeof(PlanTemplate)));
  }
  char* advice_copy = advice != nullptr && advice[0] != '\0' ? MemoryContextStrdup(g_plan_map_cxt, advice) : nullptr;
  if (e.advice != nullptr) pfree(e.advice);
  e.advice = advice_copy;
  if (e.used && e.info.vector >= 0) --g_vector_plans;
  if (info.vector >= 0) ++g_vector_plans;
  e.used = true;
  e.fingerprint = f;
  e.info = info;
  if (tmpl != nullptr) {
    *e.tmpl = *tmpl;
  } else if (e.tmpl != nullptr) {
    pfree(e.tmpl);
    e.tmpl = nullptr;
  }
}

const char* LookupPlanAdvice(const PlannedStmt* stmt) {
  if (g_plan_map == nullptr || stmt == nullptr) return nullptr;
  PlanFingerprint f = FingerprintOf(stmt);
  const PlanMapEntry& e = g_plan_map[PlanSlot(f)];
  return e.used && e.fingerprint == f ? e.advice : nullptr;
}

RUVECTOR_HOT bool RemembersVectorPlans() { return g_vector_plans > 0; }

RUVECTOR_HOT const PlanSteerInfo* LookupPlan(const PlannedStmt* stmt, const PlanTemplate** tmpl) {
  if (tmpl != nullptr) *tmpl = nullptr;
  if (g_plan_map == nullptr || stmt == nullptr) return nullptr;
  PlanFingerprint f = FingerprintOf(stmt);
  const PlanMapEntry& e = g_plan_map[PlanSlot(f)];
  if (!e.used || !(e.fingerprint == f)) return nullptr;
  if (tmpl != nullptr) *tmpl = e.tmpl;
  return &e.info;
}


}  // namespace ruvector_pg
