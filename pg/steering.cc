// PG zone: plan steering. Shared memory for the arm/decision tables
// (steer_state.h), re-planning under an arm's GUCs at a new GUC nest level
// (restored on every path), the per-backend map from planned statements to
// the arm they were planned with, drift detection (ANALYZE, DDL, planner
// settings) through ProcessUtility, the learner's publish step (run by the
// worker) and the SQL functions for arms, pins, decisions and learning.
#include "dag_bridge.h"
#include "healing_host.h"
#include "learner.h"

#include "shim.h"

extern "C" {
#include "utils/guc_tables.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_statistic_ext.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include "extension.h"
#include "guard.h"
#include "steering.h"
#include "visibility.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_arms);
PG_FUNCTION_INFO_V1(ruvector_dag_add_arm);
PG_FUNCTION_INFO_V1(ruvector_dag_remove_arm);
PG_FUNCTION_INFO_V1(ruvector_dag_pin);
PG_FUNCTION_INFO_V1(ruvector_dag_unpin);
PG_FUNCTION_INFO_V1(ruvector_dag_decisions);
PG_FUNCTION_INFO_V1(ruvector_dag_learning_events);
PG_FUNCTION_INFO_V1(ruvector_dag_learn_now);
PG_FUNCTION_INFO_V1(ruvector_dag_reset_learning);
}

namespace ruvector_pg {
namespace {

constexpr const char* kSteerShmemName = "ruvector_dag steering";
constexpr const char* kSteerTranche = "ruvector_dag_steer";

SteerState* g_steer = nullptr;
LWLock* g_steer_lock = nullptr;
ProcessUtility_hook_type g_prev_process_utility = nullptr;

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
};
PlanMapEntry* g_plan_map = nullptr;
MemoryContext g_plan_map_cxt = nullptr;

uint32_t PlanSlot(const PlanFingerprint& f) {
  uint64_t bits = 0;
  memcpy(&bits, &f.total_cost, sizeof(bits));
  uint64_t p = f.query_id ^ (bits * 0x9e3779b97f4a7c15ull) ^ (static_cast<uint64_t>(f.stmt_location) << 17);
  p ^= p >> 29;
  p *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(p >> 40) & (kPlanMapSlots - 1);
}

}  // namespace

// --- shared memory -----------------------------------------------------------------

void RequestSteerMemory() {
  RequestAddinShmemSpace(sizeof(SteerState));
  RequestNamedLWLockTranche(kSteerTranche, 1);
}

namespace {

constexpr const char* kSteerFile = "ruvector_dag.steering";

/// Reads $PGDATA/ruvector_dag.steering (custom arms and pins) into the new
/// steering state. Postmaster, before any backend: no lock. A missing file
/// is normal; a damaged one gives a WARNING and the built-in arms only.
void LoadSteerFile() {
  StringInfoData buf;
  bool missing = false;
  if (!ReadWholeFile(kSteerFile, 1 << 20, &buf, &missing)) return;
  char error[160] = {0};
  int arms = 0, pins = 0;
  if (!LoadSteerConfig(buf.data, static_cast<size_t>(buf.len), g_steer, error, sizeof(error), &arms, &pins)) {
    ereport(WARNING, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("ruvector_dag: ignoring \"%s\": %s", kSteerFile, error),
                      errdetail("Only the built-in arms are defined and nothing is pinned.")));
  } else {
    ereport(LOG, (errmsg("ruvector_dag: loaded %d custom arms and %d pins from \"%s\"", arms, pins, kSteerFile)));
  }
  pfree(buf.data);
}

}  // namespace

void StartupSteerMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kSteerShmemName, sizeof(SteerState), &found);
  g_steer_lock = &GetNamedLWLockTranche(kSteerTranche)[0].lock;
  g_steer = static_cast<SteerState*>(region);
  if (!found) {
    InitSteerState(g_steer);
    g_steer->worker_procno = -1;
    LoadSteerFile();
  }
  LWLockRelease(AddinShmemInitLock);
}

/// Writes the custom arms and pins to $PGDATA/ruvector_dag.steering (temp
/// file + durable rename) after a change; a failure is a WARNING: the change
/// is active but would not survive a restart.
static void SaveSteerFile() {
  LWLockAcquire(g_steer_lock, LW_SHARED);
  size_t size = SteerConfigImage(g_steer, nullptr, 0);
  char* image = static_cast<char*>(palloc(size));
  SteerConfigImage(g_steer, image, size);
  LWLockRelease(g_steer_lock);
  if (!WriteFileDurably(kSteerFile, image, size, WARNING)) {
    ereport(WARNING, (errmsg("ruvector_dag: the arm/pin change is active but will not survive a restart")));
  }
  pfree(image);
}

SteerState* Steer() { return g_steer; }
LWLock* SteerLock() { return g_steer_lock; }

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

namespace {

/// This backend's copy of recent CaptureRuledOut answers, valid while the
/// filter's generation (bumped with every publication of decisions) and the
/// minimum latency are unchanged (direct-mapped by pattern key).
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
                           char* arm_name, size_t name_cap) {
  double budget = g_exploration_mode == kExplorationOnline ? g_exploration_budget : 0.0;
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  SteerChoice c = ChooseArm(g_steer, pattern_key, query_id, budget, static_cast<uint32_t>(g_baseline_interval),
                            g_explore_cpu_budget > 0.0, MyDatabaseId);
  if (c.arm > 0 && static_cast<uint32_t>(c.arm) < g_steer->arm_count) {
    strlcpy(settings, g_steer->arms[c.arm].settings, settings_cap);
    strlcpy(arm_name, g_steer->arms[c.arm].name, name_cap);
    if (c.action != SteerAction::kExplore) ++g_steer->counters.steered_plans;
  } else {
    settings[0] = '\0';
    strlcpy(arm_name, "default", name_cap);
  }
  LWLockRelease(g_steer_lock);
  return c;
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

/// Whether setting `name` may be part of an arm: planner settings (Query
/// Tuning), memory and parallelism, and extensions' own settings -- never
/// one that changes who runs the statement or how its names resolve
/// (role, session_authorization, search_path, ...).
static bool ArmSettingAllowed(const char* name) {
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

void RememberPlan(const PlannedStmt* stmt, const PlanSteerInfo& info, const PlanTemplate* tmpl) {
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

const PlanSteerInfo* LookupPlan(const PlannedStmt* stmt, const PlanTemplate** tmpl) {
  if (tmpl != nullptr) *tmpl = nullptr;
  if (g_plan_map == nullptr || stmt == nullptr) return nullptr;
  PlanFingerprint f = FingerprintOf(stmt);
  const PlanMapEntry& e = g_plan_map[PlanSlot(f)];
  if (!e.used || !(e.fingerprint == f)) return nullptr;
  if (tmpl != nullptr) *tmpl = e.tmpl;
  return &e.info;
}

// --- drift detection ------------------------------------------------------------------

namespace {

bool IsPlannerSetting(const char* name) {
  if (name == nullptr) return false;
  static const char* const kNames[] = {"work_mem", "random_page_cost", "seq_page_cost", "effective_cache_size",
                                       "cpu_tuple_cost", "cpu_index_tuple_cost", "cpu_operator_cost",
                                       "default_statistics_target", "effective_io_concurrency",
                                       "hash_mem_multiplier", "from_collapse_limit", "join_collapse_limit"};
  for (const char* n : kNames) {
    if (pg_strcasecmp(name, n) == 0) return true;
  }
  return false;
}

/// What a utility statement changes for the learner: the relations whose
/// plans it can change, in this database, or every relation.
struct DriftTarget {
  double severity = 0.0;
  bool every_relation = false;
  bool all_databases = false;
  List* relations = NIL;  // of OIDs
};

/// A relation (an index counts as its table: plans list the tables they read).
void AddRelation(DriftTarget* t, Oid relid) {
  if (!OidIsValid(relid)) return;
  const char kind = get_rel_relkind(relid);
  if (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX) relid = IndexGetRelation(relid, true);
  if (OidIsValid(relid)) t->relations = list_append_unique_oid(t->relations, relid);
}

void AddRangeVar(DriftTarget* t, RangeVar* rv) {
  if (rv != nullptr) AddRelation(t, RangeVarGetRelid(rv, NoLock, true));
}

/// Relations of pg_class whose `column` equals `value` (the owner's or the
/// schema's); a catalog scan, run only for such whole-schema / whole-owner
/// statements.
void AddRelationsWhere(DriftTarget* t, AttrNumber column, Oid value) {
  Relation rel = table_open(RelationRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(value));
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
  HeapTuple tuple;
  while ((tuple = systable_getnext(scan)) != nullptr) {
    auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    if (form->relkind == RELKIND_RELATION || form->relkind == RELKIND_PARTITIONED_TABLE ||
        form->relkind == RELKIND_MATVIEW || form->relkind == RELKIND_FOREIGN_TABLE) {
      t->relations = lappend_oid(t->relations, form->oid);
    }
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
}

/// ANALYZE changes the statistics only of relations the caller may analyze
/// (PostgreSQL skips the others with a WARNING).
bool MayAnalyze(Oid relid) {
  return pg_class_ownercheck(relid, GetUserId()) ||
         (pg_database_ownercheck(MyDatabaseId, GetUserId()) && !IsSharedRelation(relid));
}

/// Which patterns a utility statement can invalidate, resolved before it
/// runs (a dropped or renamed relation cannot be looked up afterwards) and
/// reported only when it succeeded. Severity: 1 = plans may change
/// completely (indexes, tables altered or dropped, extended statistics),
/// 0.5 = statistics refreshed or a server-wide planner setting changed.
/// A statement that touches nothing existing (DROP TABLE IF EXISTS of a
/// missing table, CREATE TEMP TABLE, a session's SET) invalidates nothing.
DriftTarget DriftOf(Node* stmt) {
  DriftTarget t;
  switch (nodeTag(stmt)) {
    case T_VacuumStmt: {
      auto* v = reinterpret_cast<VacuumStmt*>(stmt);
      bool analyze = !v->is_vacuumcmd;
      ListCell* lc;
      foreach (lc, v->options) {
        if (strcmp(lfirst_node(DefElem, lc)->defname, "analyze") == 0) analyze = true;
      }
      if (!analyze) return t;
      t.severity = 0.5;
      if (v->rels == NIL) {
        // Every relation the caller may analyze.
        if (superuser() || pg_database_ownercheck(MyDatabaseId, GetUserId())) {
          t.every_relation = true;
        } else {
          AddRelationsWhere(&t, Anum_pg_class_relowner, GetUserId());
        }
        return t;
      }
      foreach (lc, v->rels) {
        auto* vr = lfirst_node(VacuumRelation, lc);
        Oid relid = OidIsValid(vr->oid) ? vr->oid : RangeVarGetRelid(vr->relation, NoLock, true);
        if (OidIsValid(relid) && MayAnalyze(relid)) AddRelation(&t, relid);
      }
      return t;
    }
    case T_IndexStmt:
      t.severity = 1.0;
      AddRangeVar(&t, reinterpret_cast<IndexStmt*>(stmt)->relation);
      return t;
    case T_AlterTableStmt:
      t.severity = 1.0;
      AddRangeVar(&t, reinterpret_cast<AlterTableStmt*>(stmt)->relation);
      return t;
    case T_CreateStatsStmt: {
      t.severity = 1.0;
      ListCell* lc;
      foreach (lc, reinterpret_cast<CreateStatsStmt*>(stmt)->relations) {
        if (IsA(lfirst(lc), RangeVar)) AddRangeVar(&t, lfirst_node(RangeVar, lc));
      }
      return t;
    }
    case T_TruncateStmt: {
      t.severity = 1.0;
      ListCell* lc;
      foreach (lc, reinterpret_cast<TruncateStmt*>(stmt)->relations) AddRangeVar(&t, lfirst_node(RangeVar, lc));
      return t;
    }
    case T_DropStmt: {
      auto* d = reinterpret_cast<DropStmt*>(stmt);
      t.severity = 1.0;
      ListCell* lc;
      switch (d->removeType) {
        case OBJECT_TABLE:
        case OBJECT_INDEX:
        case OBJECT_VIEW:
        case OBJECT_MATVIEW:
        case OBJECT_FOREIGN_TABLE:
          foreach (lc, d->objects) AddRangeVar(&t, makeRangeVarFromNameList(static_cast<List*>(lfirst(lc))));
          break;
        case OBJECT_SCHEMA:
          foreach (lc, d->objects) {
            Oid nsp = get_namespace_oid(strVal(lfirst(lc)), true);
            if (OidIsValid(nsp)) AddRelationsWhere(&t, Anum_pg_class_relnamespace, nsp);
          }
          break;
        case OBJECT_STATISTIC_EXT:
          foreach (lc, d->objects) {
            Oid stat = get_statistics_object_oid(static_cast<List*>(lfirst(lc)), true);
            if (!OidIsValid(stat)) continue;
            HeapTuple tuple = SearchSysCache1(STATEXTOID, ObjectIdGetDatum(stat));
            if (!HeapTupleIsValid(tuple)) continue;
            AddRelation(&t, reinterpret_cast<Form_pg_statistic_ext>(GETSTRUCT(tuple))->stxrelid);
            ReleaseSysCache(tuple);
          }
          break;
        default:
          break;
      }
      return t;
    }
    case T_AlterSystemStmt: {
      auto* a = reinterpret_cast<AlterSystemStmt*>(stmt);
      if (a->setstmt != nullptr && IsPlannerSetting(a->setstmt->name)) {
        t.severity = 0.5;
        t.every_relation = true;
        t.all_databases = true;
      }
      return t;
    }
    default:
      return t;
  }
}

void ProcessUtilityHook(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                        DestReceiver* dest, QueryCompletion* qc) {
  DriftTarget drift;
  if (g_steer != nullptr && g_enabled) drift = DriftOf(pstmt->utilityStmt);
  if (g_prev_process_utility != nullptr) {
    g_prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  } else {
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  }
  if (drift.severity > 0.0 && (drift.every_relation || drift.relations != NIL)) {
    DriftNotice notice;
    notice.database_oid = drift.all_databases ? 0 : MyDatabaseId;
    notice.role_oid = GetUserId();
    notice.severity = drift.severity;
    LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
    if (drift.every_relation) {
      notice.relation_count = -1;
      AppendDrift(g_steer, notice);
    } else {
      // kDriftRelations per notice.
      ListCell* lc;
      foreach (lc, drift.relations) {
        notice.relations[notice.relation_count++] = lfirst_oid(lc);
        if (notice.relation_count == kDriftRelations || lnext(drift.relations, lc) == nullptr) {
          AppendDrift(g_steer, notice);
          notice.relation_count = 0;
        }
      }
    }
    LWLockRelease(g_steer_lock);
  }
}

}  // namespace

void InstallSteeringHooks() {
  g_prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = ProcessUtilityHook;
}

// --- the learner's step (background worker) ----------------------------------------------

namespace {

/// What the healing cycle sees of one execution.
struct HealInput {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  double latency_ms = 0.0;  // 0 = not a served run (exploration, baseline, timeout)
  double log_error = 0.0;   // largest |ln q-error| of the sampled row counts
  bool has_rows = false;
};

struct LearnScratch {
  std::vector<LearnInput> batch;
  std::vector<HealInput> heal;
  std::vector<PlanSample> plans;  // the latest plan of each pattern seen in this pass
  std::vector<ruvector_dag::QueryDag> dags;  // plans as DAGs (for the engine)
  std::vector<DriftScope> drifts;
  ruvector_dag::HostLearnOutput out;  // decisions, events, evictions of the pass
  HealingCycleOutput cycle;
  ModelStatus model;        // the value model after this pass (when model_valid)
  bool model_valid = false;
};

/// The learning loop (worker only): created with the arm table, recreated
/// when the arms change or learning is reset.
ruvector_dag::Engine* g_engine = nullptr;
ServerHealing* g_healing = nullptr;  // worker only; acts on g_engine's patterns
/// Distinct patterns whose plan is embedded per learning pass.
constexpr size_t kPlansPerPass = 64;
int64_t g_last_heal_us = 0;
uint64_t g_healing_requests_seen = 0;
/// The healing cycle runs at most this often (and at once when asked).
constexpr int64_t kHealIntervalUs = 1000000;
uint64_t g_learner_arm_generation = 0;
uint64_t g_learner_learn_generation = 0;
uint64_t g_drift_seen_seq = 0;  // drift notices up to this seq were applied

}  // namespace

namespace {

/// Writes a healing cycle's findings, repairs and health into shared memory
/// (caller holds the steering lock exclusively).
void PublishHealing(const HealingCycleOutput& c, int64_t now) {
  for (const HealingFinding& f : c.findings) {
    HealthFindingEntry e;
    e.at_us = now;
    e.pattern_key = f.pattern_key;
    e.query_id = f.query_id;
    CopyBounded(e.kind, sizeof(e.kind), f.kind.c_str());
    CopyBounded(e.source, sizeof(e.source), f.source.c_str());
    e.value = f.value;
    e.expected = f.expected;
    e.score = f.score;
    AppendFinding(g_steer, e);
  }
  for (const HealingRepairOut& r : c.repairs) {
    HealthRepairEntry e;
    e.at_us = now;
    e.pattern_key = r.pattern_key;
    CopyBounded(e.origin, sizeof(e.origin), "worker");
    CopyBounded(e.strategy, sizeof(e.strategy), r.strategy.c_str());
    CopyBounded(e.action, sizeof(e.action), r.action.c_str());
    CopyBounded(e.outcome, sizeof(e.outcome), r.outcome.c_str());
    CopyBounded(e.rollback, sizeof(e.rollback), r.rollback.c_str());
    CopyBounded(e.detail, sizeof(e.detail), r.detail.c_str());
    e.duration_us = r.duration_us;
    AppendRepair(g_steer, e);
  }
  HealthSummary& h = g_steer->health;
  h.score = c.health.score;
  h.anomaly_component = c.health.anomaly_component;
  h.repair_component = c.health.repair_component;
  h.index_component = c.health.index_component;
  h.tension_component = c.health.tension_component;
  h.repairs_succeeded = c.health.repairs_succeeded;
  h.repairs_failed = c.health.repairs_failed;
  h.detectors = c.health.detectors;
  h.detectors_flagged = c.health.detectors_flagged;
  h.patterns_monitored = c.monitored;
  h.cycles = c.cycle;
  h.unrepaired += c.unrepaired;
  h.last_cycle_us = now;
}

}  // namespace

namespace {

constexpr const char* kLearnerFile = "ruvector_dag.learner";
bool g_publish_all = false;  // publish every decision after loading the learner file

/// Identifies the arm table (names and settings); caller holds the lock.
uint64_t ArmFingerprintLocked() {
  uint64_t h = g_steer->arm_count;
  for (uint32_t i = 0; i < g_steer->arm_count; ++i) {
    h = ruvector_dag::Hash64(g_steer->arms[i].name, h);
    h = ruvector_dag::Hash64(g_steer->arms[i].settings, h);
  }
  return h;
}

/// A fresh engine for `arm_count` arms with the server's settings (the
/// healing cycle, which acts on the engine's patterns, starts over too).
Status MakeEngine(uint32_t arm_count) {
  delete g_healing;
  g_healing = nullptr;
  delete g_engine;
  g_engine = nullptr;
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<ruvector_dag::Engine> engine,
                            ruvector_dag::Engine::Create(ServerEngineOptions(
                                arm_count, static_cast<size_t>(g_sona_pattern_clusters), g_learning_rate,
                                g_sona_ewc_lambda)));
  g_engine = engine.release();
  return Status::Ok();
}

/// Worker start: the bandits saved by the last run, when they were learned
/// with the same arm table; else learning restarts from the trajectories.
void LoadLearnerFile() {
  StringInfoData buf;
  bool missing = false;
  if (!ReadWholeFile(kLearnerFile, MaxAllocSize / 2, &buf, &missing)) return;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const uint32_t arm_count = g_steer->arm_count;
  const uint64_t fingerprint = ArmFingerprintLocked();
  const uint64_t arm_gen = g_steer->arm_generation, learn_gen = g_steer->learn_generation;
  LWLockRelease(g_steer_lock);
  uint64_t through = 0;
  PlainStatus st = RunCpp("loading the learner file", [&]() {
    RUVECTOR_RETURN_IF_ERROR(MakeEngine(arm_count));
    return g_engine->patterns().LoadFrom(std::string_view(buf.data, static_cast<size_t>(buf.len)), fingerprint,
                                         g_engine->options().max_patterns, &through);
  });
  pfree(buf.data);
  if (!st.ok()) {
    ereport(LOG, (errmsg("ruvector_dag worker: not using \"%s\": %s; learning again from the recorded trajectories",
                         kLearnerFile, st.message)));
    return;
  }
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  g_steer->learned_through_seq = through;
  LWLockRelease(g_steer_lock);
  g_learner_arm_generation = arm_gen;
  g_learner_learn_generation = learn_gen;
  g_publish_all = true;
  ereport(LOG, (errmsg("ruvector_dag worker: loaded %zu learned patterns from \"%s\"",
                       g_engine->patterns().patterns(), kLearnerFile)));
}

}  // namespace

bool PersistLearner(int elevel) {
  if (g_engine == nullptr || g_steer == nullptr) return false;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const uint64_t fingerprint = ArmFingerprintLocked();
  const uint64_t through = g_steer->learned_through_seq;
  LWLockRelease(g_steer_lock);
  std::string* image = NewOwnedByContext<std::string>(CurrentMemoryContext);
  PlainStatus st = RunCpp("saving the learner", [&]() {
    g_engine->patterns().SaveTo(image, fingerprint, through);
    return Status::Ok();
  });
  if (!st.ok()) {
    ereport(elevel, (errmsg("ruvector_dag: could not save the learner: %s", st.message)));
    return false;
  }
  return WriteFileDurably(kLearnerFile, image->data(), image->size(), elevel);
}

namespace {

/// Under the steering lock: the arm table's generation (a change restarts
/// learning) and the drift notices since the last pass (the oldest are lost
/// when more than kDriftCapacity arrived in one pass: counted, never widened).
struct PassStart {
  uint32_t arm_count = 0;
  uint64_t arm_gen = 0;
  uint64_t learn_gen = 0;
  bool restart = false;
  uint64_t from = 0;  // first trajectory sequence number to learn
  DriftNotice notices[kDriftCapacity];
  int notice_count = 0;
};

void StartPass(PassStart* p) {
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  g_steer->worker_procno = MyProc->pgprocno;
  p->arm_count = g_steer->arm_count;
  p->arm_gen = g_steer->arm_generation;
  p->learn_gen = g_steer->learn_generation;
  const uint64_t drift_next = g_steer->drift_next_seq;
  if (g_drift_seen_seq + 1 > drift_next) g_drift_seen_seq = drift_next - 1;  // shared memory was reset
  if (drift_next - 1 - g_drift_seen_seq > static_cast<uint64_t>(kDriftCapacity)) {
    g_steer->counters.drift_notices_lost += drift_next - 1 - g_drift_seen_seq - kDriftCapacity;
    g_drift_seen_seq = drift_next - 1 - kDriftCapacity;
  }
  for (uint64_t seq = g_drift_seen_seq + 1; seq < drift_next; ++seq) {
    const DriftNotice& n = g_steer->drift[(seq - 1) % kDriftCapacity];
    if (n.seq == seq) p->notices[p->notice_count++] = n;
  }
  g_drift_seen_seq = drift_next - 1;
  p->restart = g_engine == nullptr || p->arm_gen != g_learner_arm_generation ||
               p->learn_gen != g_learner_learn_generation;
  if (p->restart) {
    ClearDecisions(g_steer);
    if (g_learner_arm_generation != 0 && p->arm_gen != g_learner_arm_generation) {
      LearnEvent ev;
      ev.type = LearnEventType::kArmsChanged;
      ev.at_us = NowUnixMicros();
      AppendEvent(g_steer, ev);
    }
    p->notice_count = 0;
  }
  g_steer->counters.drift_notifications += static_cast<uint64_t>(p->notice_count);
  p->from = g_steer->learned_through_seq + 1;
  LWLockRelease(g_steer_lock);
}

/// Copies the new trajectories out of the ring (oldest first) into runs,
/// healing inputs and the latest plan of each pattern; returns how many
/// records were read and sets *last to the last sequence number consumed.
int CopyTrajectories(int max_records, uint64_t from, LearnScratch* scratch, uint64_t* last, uint64_t* end_out) {
  SharedState* s = State();
  int n = 0;
  *last = from - 1;
  // Shared: backends keep appending (lock-free ring) while the learner
  // copies; a record whose writer has not published it yet ends this pass.
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t first = std::max<uint64_t>(from, RingFirstSeq(s));
  uint64_t end = RingNextSeq(s);
  *end_out = end;
  PG_TRY();
  {
    scratch->batch.reserve(static_cast<size_t>(std::min<uint64_t>(end - std::min(first, end), max_records)));
    scratch->heal.reserve(scratch->batch.capacity());
    scratch->plans.reserve(kPlansPerPass);
  }
  PG_CATCH();
  {
    LWLockRelease(StateLock());
    PG_RE_THROW();
  }
  PG_END_TRY();
  TrajectoryRecord copy;
  for (uint64_t seq = first; seq < end && n < max_records; ++seq, ++n) {
    const RingCopy got = CopyRingRecordAt(s, seq, &copy);
    if (got == RingCopy::kPending) break;
    *last = seq;
    if (got == RingCopy::kGone) continue;
    const TrajectoryRecord* r = &copy;
    if (scratch->heal.size() < scratch->heal.capacity()) {
      HealInput h;
      h.pattern_key = r->pattern_key;
      h.query_id = r->query_id;
      if ((r->flags & (kTrajectoryExplore | kTrajectoryBaseline | kTrajectoryCensored)) == 0) h.latency_ms = r->latency_ms;
      const int kept = std::min<int>(r->node_count, kMaxTrajectoryNodes);
      for (int i = 0; i < kept; ++i) {
        if (r->actual_rows[i] < 0.0f) continue;
        const double e = std::fabs(std::log((static_cast<double>(r->actual_rows[i]) + 1.0) /
                                            (static_cast<double>(r->estimated_rows[i]) + 1.0)));
        if (!h.has_rows || e > h.log_error) h.log_error = e;
        h.has_rows = true;
      }
      scratch->heal.push_back(h);
    }
    if (r->pattern_key != 0 && r->node_count > 0 && (r->flags & kTrajectoryCensored) == 0) {
      PlanSample* p = nullptr;
      for (PlanSample& q : scratch->plans) {
        if (q.pattern_key == r->pattern_key) p = &q;
      }
      if (p == nullptr && scratch->plans.size() < scratch->plans.capacity()) {
        scratch->plans.emplace_back();
        p = &scratch->plans.back();
      }
      if (p != nullptr) {
        p->pattern_key = r->pattern_key;
        p->query_id = r->query_id;
        p->database_oid = r->database_oid;
        p->role_oid = r->role_oid;
        p->count = std::min<int>(r->node_count, kMaxTrajectoryNodes);
        memcpy(p->type, r->node_type, sizeof(p->type));
        memcpy(p->estimated_rows, r->estimated_rows, sizeof(p->estimated_rows));
        memcpy(p->actual_rows, r->actual_rows, sizeof(p->actual_rows));
        memcpy(p->parent_plus_one, r->parent_plus_one, sizeof(p->parent_plus_one));
      }
    }
    if ((r->flags & kTrajectoryArmKnown) == 0) continue;
    LearnInput in;
    in.pattern_key = r->pattern_key;
    in.query_id = r->query_id;
    in.arm = TrajectoryArm(r->flags);
    in.latency_ms = r->latency_ms;
    in.same_plan = (r->flags & kTrajectorySamePlan) != 0;
    in.censored = (r->flags & kTrajectoryCensored) != 0;
    in.database_oid = r->database_oid;
    in.role_oid = r->role_oid;
    in.relation_count = r->relation_count;
    memcpy(in.relations.data(), r->relations, sizeof(r->relations));
    in.at_us = r->recorded_at_us;
    if (scratch->batch.size() < scratch->batch.capacity()) scratch->batch.push_back(in);
  }
  if (*last >= first) AdvanceConsumed(s, *last);
  LWLockRelease(StateLock());
  return n;
}

/// The engine's pass: drift scopes, the plans (embedding, tension), the runs.
Status RunEngine(const PassStart& p, LearnScratch* scratch) {
  if (g_publish_all) {
    g_engine->patterns().DescribeAll(&scratch->out.decisions);
    for (DecisionUpdate& d : scratch->out.decisions) {
      auto annotated = g_engine->Decide(d.pattern_key);
      if (annotated.ok()) d = *annotated;
    }
  }
  for (int i = 0; i < p.notice_count; ++i) {
    DriftScope scope;
    scope.severity = p.notices[i].severity;
    scope.database_oid = p.notices[i].database_oid;
    scope.every_relation = p.notices[i].relation_count < 0;
    for (int k = 0; k < p.notices[i].relation_count && k < kDriftRelations; ++k) {
      scope.relations.push_back(p.notices[i].relations[k]);
    }
    scratch->drifts.push_back(std::move(scope));
  }
  std::vector<ruvector_dag::PlanObservation> observed;
  scratch->dags.resize(scratch->plans.size());
  for (size_t i = 0; i < scratch->plans.size(); ++i) {
    // A sample the bridge refuses teaches the bandit only.
    if (!SampleToDag(scratch->plans[i], &scratch->dags[i]).ok()) continue;
    observed.push_back({scratch->plans[i].pattern_key, &scratch->dags[i]});
  }
  RUVECTOR_RETURN_IF_ERROR(g_engine->Learn(scratch->batch, observed, scratch->drifts, &scratch->out));
  const ruvector_dag::EngineStats stats = g_engine->Stats();
  const std::string_view mechanism = ruvector_dag::AttentionMechanismName(g_engine->options().mechanism);
  CopyBounded(scratch->model.mechanism, sizeof(scratch->model.mechanism), std::string(mechanism).c_str());
  scratch->model.runs_learned = stats.trajectories_learned;
  scratch->model.prediction_error = stats.prediction_mae_ewma;
  scratch->model.measured = stats.predicted_runs > 0 ? 1 : 0;
  scratch->model_valid = true;
  return Status::Ok();
}

/// Healing: feed the detectors (served latency, estimate error, the
/// tension of the plans executed in this pass), and run a cycle every
/// second (or at once when dag_auto_repair asks).
Status RunHealing(const LearnScratch& scratch, bool run_cycle, int64_t now_us, HealingCycleOutput* cycle,
                  std::vector<DecisionUpdate>* updates, bool* cycled) {
  if (g_healing == nullptr) g_healing = new ServerHealing(&g_engine->patterns());
  if (!g_healing_enabled) return Status::Ok();
  for (const HealInput& h : scratch.heal) {
    if (h.latency_ms > 0.0) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveServed(h.pattern_key, h.query_id, h.latency_ms));
    if (h.has_rows) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveEstimateError(h.pattern_key, h.query_id, h.log_error));
  }
  for (const PlanSample& p : scratch.plans) {
    bool measured = false;
    for (int i = 0; i < p.count && !measured; ++i) measured = p.actual_rows[i] >= 0.0f;
    if (!measured) continue;
    auto d = g_engine->Decide(p.pattern_key);
    if (d.ok()) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveTension(p.pattern_key, p.query_id, d->tension));
  }
  if (!run_cycle) return Status::Ok();
  RUVECTOR_RETURN_IF_ERROR(g_healing->RunCycle(now_us, cycle));
  *cycled = true;
  for (uint64_t key : cycle->touched) {
    auto u = g_engine->Decide(key);
    if (u.ok()) updates->push_back(*u);
  }
  return Status::Ok();
}

/// Writes the pass's decisions, events and counters into shared memory.
void PublishPass(const PassStart& p, LearnScratch* scratch, bool cycled, uint64_t last, uint64_t end) {
  const ruvector_dag::HostLearnOutput& out = scratch->out;
  int64_t now = NowUnixMicros();
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  for (uint64_t key : out.evicted) RemoveDecision(g_steer, key);
  for (const DecisionUpdate& u : out.decisions) {
    Decision* d = UpsertDecision(g_steer, u.pattern_key);
    if (d == nullptr) {
      ++g_steer->counters.decisions_dropped;
      continue;
    }
    d->query_id = u.query_id;
    d->database_oid = u.database_oid;
    d->role_oid = u.role_oid;
    d->deployed_arm = u.deployed_arm;
    d->explore_arm = u.explore_arm;
    d->confidence = u.confidence;
    d->default_ms = u.default_ms;
    d->deployed_ms = u.deployed_ms;
    d->best_candidate_ms = u.best_candidate_ms;
    d->best_candidate_arm = u.best_candidate_arm;
    d->observed_runs = u.observed_runs;
    d->deployments = u.deployments;
    d->reverts = u.reverts;
    d->predicted_explore_ms = u.predicted_explore_ms;
    d->predicted_default_ms = u.predicted_default_ms;
    d->predicted_deployed_ms = u.predicted_deployed_ms;
    d->prior_arm = u.prior_arm;
    d->tension = u.tension;
    d->priority = u.priority;
    d->updated_us = now;
    // A re-validation wants a fresh run of the default plan: the explorer
    // makes one when it can re-execute the statement (never a user's run).
    if (u.baseline_wanted && g_baseline_interval > 0 && CaptureExplorable(g_steer, u.pattern_key)) {
      d->since_baseline = std::max<uint64_t>(d->since_baseline, static_cast<uint64_t>(g_baseline_interval));
    }
    d->cluster = g_engine->bank().ClusterOf(u.pattern_key);
  }
  // A drift event says that learned patterns forgot something.
  for (int i = 0; i < p.notice_count && i < static_cast<int>(out.drift_touched.size()); ++i) {
    if (out.drift_touched[static_cast<size_t>(i)] == 0) continue;
    LearnEvent ev;
    ev.type = LearnEventType::kDrift;
    ev.at_us = now;
    ev.confidence = p.notices[i].severity;
    ev.database_oid = p.notices[i].database_oid;
    ev.role_oid = p.notices[i].role_oid;
    AppendEvent(g_steer, ev);
  }
  for (const ruvector_dag::PatternEvent& e : out.events) {
    LearnEvent ev = ToLearnEvent(e);
    ev.at_us = now;
    AppendEvent(g_steer, ev);
    if (ev.type == LearnEventType::kDeploy) ++g_steer->counters.deployments;
    if (ev.type == LearnEventType::kRevert) ++g_steer->counters.reverts;
  }
  if (cycled) PublishHealing(scratch->cycle, now);
  if (scratch->model_valid) g_steer->model = scratch->model;
  g_steer->counters.bank_priors += out.priors;
  if (out.reclustered) {
    // ClusterOf is a binary search: no allocation, no error.
    for (Decision& d : g_steer->decisions) {
      if (d.key != 0) d.cluster = g_engine->bank().ClusterOf(d.key);
    }
  }
  if (!out.decisions.empty() || !out.evicted.empty() || p.restart) RebuildQueryFilter(g_steer);
  g_steer->counters.trajectories_learned += scratch->batch.size();
  g_steer->counters.decisions_dropped += out.untracked;
  ++g_steer->counters.learn_passes;
  if (last + 1 >= p.from || end < p.from) g_steer->learned_through_seq = last;
  LWLockRelease(g_steer_lock);
}

}  // namespace

int LearnStep(int max_records) {
  if (g_steer == nullptr || State() == nullptr) return 0;
  if (g_engine == nullptr) LoadLearnerFile();
  PassStart* pass = NewOwnedByContext<PassStart>(CurrentMemoryContext);
  StartPass(pass);
  if (pass->restart) {
    // Arms or learning reset (or the first pass without a learner file):
    // a fresh engine. Fewer than two arms leave nothing to learn.
    const bool loaded = g_engine != nullptr && pass->arm_gen == g_learner_arm_generation &&
                        pass->learn_gen == g_learner_learn_generation;
    if (!loaded) {
      PlainStatus st = RunCpp("starting the learner", [&]() { return MakeEngine(pass->arm_count); });
      ReportStatus(st, ERROR);
      const bool was_running = g_learner_arm_generation != 0;
      g_learner_arm_generation = pass->arm_gen;
      g_learner_learn_generation = pass->learn_gen;
      // Forgotten learning must not come back from the file at the next start.
      if (was_running) PersistLearner(LOG);
    }
  }
  LearnScratch* scratch = NewOwnedByContext<LearnScratch>(CurrentMemoryContext);
  uint64_t last = 0, end = 0;
  const int n = CopyTrajectories(max_records, pass->from, scratch, &last, &end);
  if (end < pass->from) last = end - 1;  // the ring was reset: restart from its start

  PlainStatus st = RunCpp("learning from trajectories", [&]() { return RunEngine(*pass, scratch); });
  ReportStatus(st, LOG);
  g_publish_all = false;

  // Healing: a failure is logged; learning carries on.
  int64_t now_us = NowUnixMicros();
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint64_t requests = g_steer->healing_requests;
  LWLockRelease(g_steer_lock);
  bool run_cycle = g_healing_enabled && (now_us - g_last_heal_us >= kHealIntervalUs || requests != g_healing_requests_seen);
  bool cycled = false;
  PlainStatus hs = RunCpp("healing", [&]() {
    return RunHealing(*scratch, run_cycle, now_us, &scratch->cycle, &scratch->out.decisions, &cycled);
  });
  ReportStatus(hs, LOG);
  if (run_cycle) {
    g_last_heal_us = now_us;
    g_healing_requests_seen = requests;
  }
  PublishPass(*pass, scratch, cycled, last, end);
  return n;
}

// --- SQL functions ------------------------------------------------------------------------

namespace {

void RequireSteer() {
  RequirePreload();
  if (g_steer == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: steering state is not initialized")));
  }
}

char* ArgText(FunctionCallInfo fcinfo, int n, const char* what) {
  if (PG_ARGISNULL(n)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: %s must not be NULL", what)));
  }
  char* s = text_to_cstring(PG_GETARG_TEXT_PP(n));
  if (s[0] == '\0') {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: %s must not be empty", what)));
  }
  return s;
}

int ArmIndexOrError(const char* name) {
  LWLockAcquire(g_steer_lock, LW_SHARED);
  int idx = FindArm(g_steer, name);
  StringInfoData names;
  initStringInfo(&names);
  for (uint32_t i = 0; i < g_steer->arm_count; ++i) {
    appendStringInfo(&names, "%s%s", i == 0 ? "" : ", ", g_steer->arms[i].name);
  }
  LWLockRelease(g_steer_lock);
  if (idx < 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: unknown arm \"%s\"", name),
                    errhint("Arms: %s.", names.data)));
  }
  return idx;
}

Datum TextDatum(const char* s) { return PointerGetDatum(cstring_to_text(s)); }

Datum TimestampDatum(int64_t us) {
  return us == 0 ? (Datum)0 : TimestampTzGetDatum(UnixMicrosToTimestamp(us));
}

}  // namespace
}  // namespace ruvector_pg

using namespace ruvector_pg;

/// dag_arms() -> (arm_id, name, settings, builtin)
extern "C" Datum ruvector_dag_arms(PG_FUNCTION_ARGS) {
  RequireSteer();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint32_t count = g_steer->arm_count;
  ArmDef* arms = static_cast<ArmDef*>(palloc(sizeof(ArmDef) * kMaxArms));
  memcpy(static_cast<void*>(arms), g_steer->arms, sizeof(ArmDef) * kMaxArms);
  LWLockRelease(g_steer_lock);
  for (uint32_t i = 0; i < count; ++i) {
    Datum v[4];
    bool nulls[4] = {false, false, false, false};
    v[0] = Int32GetDatum(static_cast<int32>(i));
    v[1] = TextDatum(arms[i].name);
    StringInfoData s;
    initStringInfo(&s);
    // "a=b\nc=d\n" -> "a=b, c=d"
    for (const char* p = arms[i].settings; *p != '\0'; ++p) {
      if (*p == '\n') {
        if (p[1] != '\0') appendStringInfoString(&s, ", ");
      } else {
        appendStringInfoChar(&s, *p);
      }
    }
    v[2] = TextDatum(s.data);
    v[3] = BoolGetDatum(arms[i].builtin != 0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// _dag_add_arm(name text, gucs text[], vals text[]) -> int (the arm id).
/// The SQL wrapper dag_add_arm(name, settings jsonb) turns the object into
/// the two arrays.
extern "C" Datum ruvector_dag_add_arm(PG_FUNCTION_ARGS) {
  RequireSteer();
  char* name = ArgText(fcinfo, 0, "arm name");
  if (strlen(name) >= static_cast<size_t>(kArmNameLen)) {
    ereport(ERROR, (errcode(ERRCODE_NAME_TOO_LONG),
                    errmsg("ruvector_dag: arm name is longer than %d bytes", kArmNameLen - 1)));
  }
  for (const char* p = name; *p != '\0'; ++p) {
    if (!(isalnum(static_cast<unsigned char>(*p)) || *p == '_' || *p == '-' || *p == '.')) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_dag: arm name \"%s\" may only contain letters, digits, '_', '-' and '.'",
                             name)));
    }
  }
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: arm settings must be a JSON object of setting names to values")));
  }
  Datum* keys;
  bool* knulls;
  int nkeys;
  Datum* vals;
  bool* vnulls;
  int nvals;
  deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT, &keys, &knulls, &nkeys);
  deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &vals, &vnulls, &nvals);
  if (nkeys != nvals || nkeys == 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: arm settings must be a non-empty JSON object of setting names to values")));
  }
  StringInfoData settings;
  initStringInfo(&settings);
  GucContext context = superuser() ? PGC_SUSET : PGC_USERSET;
  for (int i = 0; i < nkeys; ++i) {
    if (knulls[i] || vnulls[i]) {
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ruvector_dag: arm settings must not contain NULL values")));
    }
    char* k = TextDatumGetCString(keys[i]);
    char* v = TextDatumGetCString(vals[i]);
    if (strchr(k, '=') != nullptr || strchr(k, '\n') != nullptr || strchr(v, '\n') != nullptr) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_dag: setting \"%s\" contains '=' or a newline", k)));
    }
    if (GetConfigOption(k, true, false) == nullptr) {
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("ruvector_dag: unknown configuration parameter \"%s\" in arm \"%s\"", k, name)));
    }
    // Validation only (changeVal = false): raises an ERROR naming the
    // parameter for a bad value or a setting that cannot be changed per query.
    (void)set_config_option(k, v, context, PGC_S_SESSION, GUC_ACTION_SAVE, false, ERROR, false);
    if (!ArmSettingAllowed(k)) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_dag: \"%s\" cannot be part of an arm", k),
                      errdetail("Arms hold planner settings (Query Tuning), memory and parallelism settings, and "
                                "extensions' settings.")));
    }
    appendStringInfo(&settings, "%s=%s\n", k, v);
  }
  if (settings.len >= kArmSettingsLen) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: arm settings are longer than %d bytes", kArmSettingsLen - 1)));
  }
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  bool exists = FindArm(g_steer, name) >= 0;
  int idx = exists ? -1 : AddArm(g_steer, name, settings.data);
  LWLockRelease(g_steer_lock);
  if (exists) {
    ereport(ERROR, (errcode(ERRCODE_DUPLICATE_OBJECT), errmsg("ruvector_dag: arm \"%s\" already exists", name)));
  }
  if (idx < 0) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: at most %d arms can be defined", kMaxArms)));
  }
  SaveSteerFile();
  PG_RETURN_INT32(idx);
}

extern "C" Datum ruvector_dag_remove_arm(PG_FUNCTION_ARGS) {
  RequireSteer();
  char* name = ArgText(fcinfo, 0, "arm name");
  int idx = ArmIndexOrError(name);
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  bool builtin = g_steer->arms[idx].builtin != 0;
  bool removed = !builtin && RemoveArm(g_steer, idx);
  LWLockRelease(g_steer_lock);
  if (builtin) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: arm \"%s\" is built in and cannot be removed", name)));
  }
  if (removed) SaveSteerFile();
  PG_RETURN_BOOL(removed);
}

extern "C" Datum ruvector_dag_pin(PG_FUNCTION_ARGS) {
  RequireSteer();
  if (PG_ARGISNULL(0)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: queryid must not be NULL")));
  }
  int64 qid = PG_GETARG_INT64(0);
  if (qid == 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: queryid 0 is not a query")));
  }
  char* name = ArgText(fcinfo, 1, "arm name");
  int idx = ArmIndexOrError(name);
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  bool ok = SetPin(g_steer, static_cast<uint64_t>(qid), idx, MyDatabaseId);
  if (ok) RebuildQueryFilter(g_steer);
  LWLockRelease(g_steer_lock);
  if (!ok) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: at most %d queries can be pinned", kMaxPins)));
  }
  SaveSteerFile();
  PG_RETURN_VOID();
}

extern "C" Datum ruvector_dag_unpin(PG_FUNCTION_ARGS) {
  RequireSteer();
  if (PG_ARGISNULL(0)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: queryid must not be NULL")));
  }
  int64 qid = PG_GETARG_INT64(0);
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  bool ok = RemovePin(g_steer, static_cast<uint64_t>(qid), MyDatabaseId);
  if (ok) RebuildQueryFilter(g_steer);
  LWLockRelease(g_steer_lock);
  if (ok) SaveSteerFile();
  PG_RETURN_BOOL(ok);
}

/// dag_decisions() -> per pattern the learner tracks.
extern "C" Datum ruvector_dag_decisions(PG_FUNCTION_ARGS) {
  RequireSteer();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Decision* rows = static_cast<Decision*>(palloc(sizeof(Decision) * kDecisionSlots));
  char (*names)[kArmNameLen] = static_cast<char (*)[kArmNameLen]>(palloc(kArmNameLen * kMaxArms));
  int n = 0;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  for (const Decision& d : g_steer->decisions) {
    if (d.key != 0) rows[n++] = d;
  }
  uint32_t arm_count = g_steer->arm_count;
  for (uint32_t i = 0; i < arm_count; ++i) strlcpy(names[i], g_steer->arms[i].name, kArmNameLen);
  LWLockRelease(g_steer_lock);
  const RowVisibility vis = CallerVisibility();
  n = static_cast<int>(
      std::remove_if(rows, rows + n, [&](const Decision& d) { return !vis.Allows(d.database_oid, d.role_oid); }) -
      rows);
  std::sort(rows, rows + n, [](const Decision& a, const Decision& b) {
    return a.observed_runs != b.observed_runs ? a.observed_runs > b.observed_runs : a.key < b.key;
  });
  auto arm_name = [&](int a) -> Datum {
    return TextDatum(a >= 0 && static_cast<uint32_t>(a) < arm_count ? names[a] : "?");
  };
  for (int i = 0; i < n; ++i) {
    const Decision& d = rows[i];
    Datum v[22];
    bool nulls[22] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(d.key));
    v[1] = Int64GetDatum(static_cast<int64>(d.query_id));
    v[2] = arm_name(d.deployed_arm);
    v[3] = Float8GetDatum(d.confidence);
    v[4] = Float8GetDatum(d.default_ms);
    nulls[4] = d.default_ms <= 0.0;
    v[5] = Float8GetDatum(d.deployed_ms);
    nulls[5] = d.deployed_ms <= 0.0;
    v[6] = d.best_candidate_arm >= 0 ? arm_name(d.best_candidate_arm) : (Datum)0;
    nulls[6] = d.best_candidate_arm < 0;
    v[7] = Float8GetDatum(d.best_candidate_ms);
    nulls[7] = d.best_candidate_arm < 0;
    v[8] = d.explore_arm > 0 ? arm_name(d.explore_arm) : (Datum)0;
    nulls[8] = d.explore_arm <= 0;
    v[9] = Int64GetDatum(static_cast<int64>(d.observed_runs));
    v[10] = Int64GetDatum(static_cast<int64>(d.plans));
    v[11] = Int64GetDatum(static_cast<int64>(d.explorations));
    v[12] = Int64GetDatum(static_cast<int64>(d.deployments));
    v[13] = Int64GetDatum(static_cast<int64>(d.reverts));
    v[14] = TimestampDatum(d.updated_us);
    nulls[14] = d.updated_us == 0;
    v[15] = Int32GetDatum(d.cluster);
    nulls[15] = d.cluster < 0;
    v[16] = d.prior_arm > 0 ? arm_name(d.prior_arm) : (Datum)0;
    nulls[16] = d.prior_arm <= 0;
    v[17] = Float8GetDatum(d.predicted_explore_ms);
    nulls[17] = !(d.predicted_explore_ms > 0.0);
    v[18] = Float8GetDatum(d.predicted_default_ms);
    nulls[18] = !(d.predicted_default_ms > 0.0);
    v[19] = Float8GetDatum(d.tension);
    v[20] = Float8GetDatum(d.priority);
    v[21] = Float8GetDatum(d.predicted_deployed_ms);
    nulls[21] = !(d.predicted_deployed_ms > 0.0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// dag_learning_events(max_rows) -> newest first.
extern "C" Datum ruvector_dag_learning_events(PG_FUNCTION_ARGS) {
  RequireSteer();
  int32 max_rows = PG_ARGISNULL(0) ? 100 : PG_GETARG_INT32(0);
  if (max_rows < 0) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("ruvector_dag: max_rows must be >= 0, got %d", max_rows)));
  }
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  LearnEvent* rows = static_cast<LearnEvent*>(palloc(sizeof(LearnEvent) * kEventCapacity));
  char (*names)[kArmNameLen] = static_cast<char (*)[kArmNameLen]>(palloc(kArmNameLen * kMaxArms));
  LWLockAcquire(g_steer_lock, LW_SHARED);
  int n = CopyNewest(g_steer->events, g_steer->event_next_seq, kEventCapacity, rows);
  uint32_t arm_count = g_steer->arm_count;
  for (uint32_t i = 0; i < arm_count; ++i) strlcpy(names[i], g_steer->arms[i].name, kArmNameLen);
  LWLockRelease(g_steer_lock);
  const RowVisibility vis = CallerVisibility();
  for (int i = 0, shown = 0; i < n && shown < max_rows; ++i) {
    const LearnEvent& e = rows[i];
    Datum v[9];
    bool nulls[9] = {false};
    bool has_pattern = e.type != LearnEventType::kDrift && e.type != LearnEventType::kArmsChanged;
    // A pattern's events follow the pattern; a drift event follows who made
    // the change (server-wide ones: those who see all roles); arm changes
    // (superusers' configuration) are shown to all.
    const bool visible = e.type == LearnEventType::kArmsChanged ||
                         (e.database_oid == 0 ? vis.all_roles : vis.Allows(e.database_oid, e.role_oid));
    if (!visible) continue;
    ++shown;
    v[0] = Int64GetDatum(static_cast<int64>(e.seq));
    v[1] = TimestampDatum(e.at_us);
    v[2] = TextDatum(LearnEventName(e.type));
    v[3] = Int64GetDatum(static_cast<int64>(e.pattern_key));
    nulls[3] = !has_pattern;
    v[4] = Int64GetDatum(static_cast<int64>(e.query_id));
    nulls[4] = !has_pattern;
    v[5] = TextDatum(e.arm >= 0 && static_cast<uint32_t>(e.arm) < arm_count ? names[e.arm] : "?");
    nulls[5] = !has_pattern;
    v[6] = Float8GetDatum(e.confidence);
    v[7] = Float8GetDatum(e.default_ms);
    nulls[7] = !has_pattern;
    v[8] = Float8GetDatum(e.arm_ms);
    nulls[8] = !has_pattern;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// dag_learn_now() -> bigint: wakes the worker and waits (up to 10 s) until
/// it learned every trajectory recorded before the call; returns how many
/// trajectories it learned meanwhile.
extern "C" Datum ruvector_dag_learn_now(PG_FUNCTION_ARGS) {
  RequireSteer();
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t target = RingNextSeq(State()) - 1;
  LWLockRelease(StateLock());
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint64_t learned_before = g_steer->counters.trajectories_learned;
  // A pass that starts after this call also sees drift reported before it.
  uint64_t passes_before = g_steer->counters.learn_passes;
  int procno = g_steer->worker_procno;
  LWLockRelease(g_steer_lock);
  if (procno < 0) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: the background worker is not running")));
  }
  for (int waited_ms = 0; waited_ms < 10000; ++waited_ms) {
    LWLockAcquire(g_steer_lock, LW_SHARED);
    uint64_t through = g_steer->learned_through_seq;
    uint64_t passes = g_steer->counters.learn_passes;
    procno = g_steer->worker_procno;
    LWLockRelease(g_steer_lock);
    if (through >= target && passes >= passes_before + 2) break;
    if (procno >= 0) SetLatch(&ProcGlobal->allProcs[procno].procLatch);
    CHECK_FOR_INTERRUPTS();
    pg_usleep(1000L);
  }
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint64_t learned = g_steer->counters.trajectories_learned - learned_before;
  bool done = g_steer->learned_through_seq >= target && g_steer->counters.learn_passes >= passes_before + 2;
  LWLockRelease(g_steer_lock);
  if (!done) {
    ereport(WARNING, (errmsg("ruvector_dag: the learner has not caught up after 10 s")));
  }
  PG_RETURN_INT64(static_cast<int64>(learned));
}

/// dag_reset_learning(preserve_patterns bool): forgets every bandit and
/// decision (the worker restarts learning); without preserve_patterns the
/// pattern statistics and trajectories are emptied too.
extern "C" Datum ruvector_dag_reset_learning(PG_FUNCTION_ARGS) {
  RequireSteer();
  bool preserve = PG_ARGISNULL(0) ? true : PG_GETARG_BOOL(0);
  // Trajectories recorded so far are not learned again.
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t recorded = RingNextSeq(State()) - 1;
  LWLockRelease(StateLock());
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  ++g_steer->learn_generation;
  ClearDecisions(g_steer);
  g_steer->learned_through_seq = std::max(g_steer->learned_through_seq, recorded);
  LWLockRelease(g_steer_lock);
  if (!preserve) {
    LWLockAcquire(StateLock(), LW_EXCLUSIVE);
    ResetSharedState(State());
    ++State()->generation;
    LWLockRelease(StateLock());
    LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
    g_steer->learned_through_seq = 0;
    LWLockRelease(g_steer_lock);
  }
  PG_RETURN_VOID();
}
