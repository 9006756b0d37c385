// PG zone: the healing SQL API. The worker's healing cycle (healing_host.h,
// run from LearnStep) publishes its findings, repairs and health score into
// the steering state; these functions read them, and dag_auto_repair() asks
// for a cycle now and ANALYZEs the stale tables of the caller's database
// (the worker has no database connection). docs/postgres.md, "Healing".
#include "shim.h"

#include "api/visibility.h"
#include "extension.h"
#include "guard.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_health_report);
PG_FUNCTION_INFO_V1(ruvector_dag_anomalies);
PG_FUNCTION_INFO_V1(ruvector_dag_repair_history);
PG_FUNCTION_INFO_V1(ruvector_dag_auto_repair);
}

namespace ruvector_pg {
namespace {

void RequireHealingState() {
  RequirePreload();
  if (Steer() == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: steering state is not initialized")));
  }
}

int32 MaxRowsArg(FunctionCallInfo fcinfo) {
  int32 max_rows = PG_ARGISNULL(0) ? 100 : PG_GETARG_INT32(0);
  if (max_rows < 0) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("ruvector_dag: max_rows must be >= 0, got %d", max_rows)));
  }
  return max_rows;
}

Datum Text(const char* s) { return PointerGetDatum(cstring_to_text(s)); }
Datum TimestampOf(int64_t us) { return TimestampTzGetDatum(UnixMicrosToTimestamp(us)); }

}  // namespace
}  // namespace ruvector_pg

using namespace ruvector_pg;

/// dag_health_report() -> one row: the health score of the last cycle, its
/// components and counts.
extern "C" Datum ruvector_dag_health_report(PG_FUNCTION_ARGS) {
  RequireHealingState();
  LWLockAcquire(SteerLock(), LW_SHARED);
  HealthSummary h = Steer()->health;
  uint64_t findings = Steer()->finding_next_seq - 1;
  LWLockRelease(SteerLock());
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Datum v[15];
  bool nulls[15] = {false};
  v[0] = BoolGetDatum(g_healing_enabled);
  v[1] = Float8GetDatum(h.score);
  v[2] = Float8GetDatum(h.anomaly_component);
  v[3] = Float8GetDatum(h.repair_component);
  // A component with nothing measured is not part of the score: NULL.
  nulls[4] = h.indexes == 0;
  if (!nulls[4]) v[4] = Float8GetDatum(h.index_component);
  nulls[5] = h.tension_patterns == 0;
  if (!nulls[5]) v[5] = Float8GetDatum(h.tension_component);
  v[6] = Int64GetDatum(static_cast<int64>(h.patterns_monitored));
  v[7] = Int64GetDatum(static_cast<int64>(h.detectors));
  v[8] = Int64GetDatum(static_cast<int64>(h.detectors_flagged));
  v[9] = Int64GetDatum(static_cast<int64>(findings));
  v[10] = Int64GetDatum(static_cast<int64>(h.repairs_succeeded));
  v[11] = Int64GetDatum(static_cast<int64>(h.repairs_failed));
  v[12] = Int64GetDatum(static_cast<int64>(h.unrepaired));
  v[13] = Int64GetDatum(static_cast<int64>(h.cycles));
  nulls[14] = h.last_cycle_us == 0;
  if (!nulls[14]) v[14] = TimestampOf(h.last_cycle_us);
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  return (Datum)0;
}

/// dag_anomalies(max_rows) -> the healing cycle's findings, newest first.
extern "C" Datum ruvector_dag_anomalies(PG_FUNCTION_ARGS) {
  RequireHealingState();
  int32 max_rows = MaxRowsArg(fcinfo);
  auto* rows = static_cast<HealthFindingEntry*>(palloc(sizeof(HealthFindingEntry) * kHealthRingCapacity));
  LWLockAcquire(SteerLock(), LW_SHARED);
  int n = CopyNewest(Steer()->findings, Steer()->finding_next_seq, kHealthRingCapacity, rows);
  LWLockRelease(SteerLock());
  const PatternVisibility vis(CallerVisibility());
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0, shown = 0; i < n && shown < max_rows; ++i) {
    const HealthFindingEntry& e = rows[i];
    if (!vis.Allows(e.pattern_key)) continue;
    ++shown;
    Datum v[9];
    bool nulls[9] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(e.seq));
    v[1] = TimestampOf(e.at_us);
    v[2] = Int64GetDatum(static_cast<int64>(e.pattern_key));
    v[3] = Int64GetDatum(static_cast<int64>(e.query_id));
    nulls[3] = e.query_id == 0;
    v[4] = Text(e.kind);
    v[5] = Text(e.source);
    v[6] = Float8GetDatum(e.value);
    v[7] = Float8GetDatum(e.expected);
    v[8] = Float8GetDatum(e.score);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// dag_repair_history(max_rows) -> repairs of the worker's cycles and of
/// dag_auto_repair() (two rings, each numbered on its own), newest first.
extern "C" Datum ruvector_dag_repair_history(PG_FUNCTION_ARGS) {
  RequireHealingState();
  int32 max_rows = MaxRowsArg(fcinfo);
  auto* rows = static_cast<HealthRepairEntry*>(palloc(sizeof(HealthRepairEntry) * 2 * kHealthRingCapacity));
  LWLockAcquire(SteerLock(), LW_SHARED);
  int n = CopyNewest(Steer()->repairs, Steer()->repair_next_seq, kHealthRingCapacity, rows);
  n += CopyNewest(Steer()->manual_repairs, Steer()->manual_repair_next_seq, kHealthRingCapacity, rows + n);
  LWLockRelease(SteerLock());
  // Both newest first: merged by time, the worker's first at equal times.
  std::stable_sort(rows, rows + n,
                   [](const HealthRepairEntry& a, const HealthRepairEntry& b) { return a.at_us > b.at_us; });
  const RowVisibility caller = CallerVisibility();
  const PatternVisibility vis(caller);
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0, shown = 0; i < n && shown < max_rows; ++i) {
    const HealthRepairEntry& e = rows[i];
    // A pattern's repair follows the pattern; dag_auto_repair's follow who ran it where.
    if (e.pattern_key != 0 ? !vis.Allows(e.pattern_key) : !caller.Allows(e.database_oid, e.role_oid)) continue;
    ++shown;
    Datum v[10];
    bool nulls[10] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(e.seq));
    v[1] = TimestampOf(e.at_us);
    v[2] = Text(e.origin);
    v[3] = Int64GetDatum(static_cast<int64>(e.pattern_key));
    nulls[3] = e.pattern_key == 0;
    v[4] = Text(e.strategy);
    v[5] = Text(e.action);
    v[6] = Text(e.outcome);
    v[7] = Text(e.rollback);
    v[8] = Text(e.detail);
    v[9] = Float8GetDatum(static_cast<double>(e.duration_us) / 1000.0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

namespace {

/// |ln((reltuples + 1) / (live + 1))|: how far the planner's row count of a
/// table is from the live rows (reltuples < 0 = never analyzed).
double TableEstimateError(double reltuples, double live) {
  if (reltuples < 0.0) reltuples = 0.0;
  return std::fabs(std::log((reltuples + 1.0) / (live + 1.0)));
}

}  // namespace

/// dag_auto_repair() -> (origin, strategy, target, outcome, detail): asks the
/// worker for a healing cycle now (waits up to 10 s) and reports the repairs
/// it made; then ANALYZEs the tables of this database the caller owns whose
/// statistics are stale (never analyzed but holding rows, or more rows
/// modified since the last ANALYZE than 50 + 10 % of the table), recording
/// each in dag_repair_history().
extern "C" Datum ruvector_dag_auto_repair(PG_FUNCTION_ARGS) {
  RequireHealingState();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  auto emit = [&](const char* origin, const char* strategy, const char* target, const char* outcome,
                  const char* detail) {
    Datum v[5] = {Text(origin), Text(strategy), Text(target), Text(outcome), Text(detail)};
    bool nulls[5] = {false, false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  };

  // 1. A healing cycle of the worker, now.
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  uint64_t cycles_before = Steer()->health.cycles;
  uint64_t repairs_before = Steer()->repair_next_seq;
  ++Steer()->healing_requests;
  int procno = Steer()->worker_procno;
  LWLockRelease(SteerLock());
  bool cycled = false;
  if (procno >= 0 && g_healing_enabled) {
    cycled = WakeWorkerUntil(
        [&]() {
          LWLockAcquire(SteerLock(), LW_SHARED);
          const bool ran = Steer()->health.cycles > cycles_before;
          LWLockRelease(SteerLock());
          return ran;
        },
        10000);
    LWLockAcquire(SteerLock(), LW_SHARED);
    procno = Steer()->worker_procno;
    LWLockRelease(SteerLock());
  }
  if (!cycled) {
    emit("worker", "healing cycle", "", "skipped",
         !g_healing_enabled ? "ruvector.dag_healing_enabled is off"
                            : (procno < 0 ? "the background worker is not running" : "no cycle within 10 s"));
  } else {
    auto* rows = static_cast<HealthRepairEntry*>(palloc(sizeof(HealthRepairEntry) * kHealthRingCapacity));
    LWLockAcquire(SteerLock(), LW_SHARED);
    int n = CopyNewest(Steer()->repairs, Steer()->repair_next_seq, kHealthRingCapacity, rows);
    LWLockRelease(SteerLock());
    const PatternVisibility vis(CallerVisibility());
    for (int i = n - 1; i >= 0; --i) {
      if (rows[i].seq < repairs_before || strcmp(rows[i].origin, "worker") != 0) continue;
      if (!vis.Allows(rows[i].pattern_key)) continue;
      emit("worker", rows[i].strategy, rows[i].action, rows[i].outcome, rows[i].detail);
    }
  }

  // 2. ANALYZE the stale tables of this database the caller owns. These
  // statements run as the caller with search_path = pg_catalog, pg_temp:
  // their functions and operators are the system's, never an object another
  // role created in a schema of the caller's search_path (an operator of a
  // better-matching type there would run as the caller). Tables are named
  // schema-qualified. The caller's search_path comes back at the end, and
  // by the transaction's abort on an error.
  const int nest = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                          0, false);
  if (SPI_connect() != SPI_OK_CONNECT) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruvector_dag: SPI_connect failed")));
  }
  const char* find =
      "SELECT format('%I.%I', n.nspname, c.relname), s.n_live_tup::float8, c.reltuples::float8, "
      "s.n_mod_since_analyze::float8 "
      "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE pg_has_role(c.relowner, 'USAGE') "
      "AND ((c.reltuples < 0 AND s.n_live_tup > 0) OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)) "
      "ORDER BY s.n_mod_since_analyze DESC, 1 LIMIT 20";
  if (SPI_execute(find, true, 0) != SPI_OK_SELECT) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruvector_dag: could not list stale tables")));
  }
  struct Stale {
    char* name;
    double live, reltuples, modified;
  };
  int ntables = static_cast<int>(SPI_processed);
  MemoryContext outer = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
  auto* tables = static_cast<Stale*>(palloc0(sizeof(Stale) * std::max(ntables, 1)));
  MemoryContextSwitchTo(outer);
  for (int i = 0; i < ntables; ++i) {
    HeapTuple t = SPI_tuptable->vals[i];
    TupleDesc d = SPI_tuptable->tupdesc;
    bool isnull = false;
    char* name = SPI_getvalue(t, d, 1);
    MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    tables[i].name = pstrdup(name != nullptr ? name : "");
    MemoryContextSwitchTo(old);
    tables[i].live = DatumGetFloat8(SPI_getbinval(t, d, 2, &isnull));
    tables[i].reltuples = DatumGetFloat8(SPI_getbinval(t, d, 3, &isnull));
    tables[i].modified = DatumGetFloat8(SPI_getbinval(t, d, 4, &isnull));
  }
  for (int i = 0; i < ntables; ++i) {
    const Stale& st = tables[i];
    instr_time start, elapsed;
    INSTR_TIME_SET_CURRENT(start);
    StringInfoData cmd;
    initStringInfo(&cmd);
    appendStringInfo(&cmd, "ANALYZE %s", st.name);  // already quoted
    int rc = SPI_execute(cmd.data, false, 0);
    INSTR_TIME_SET_CURRENT(elapsed);
    INSTR_TIME_SUBTRACT(elapsed, start);
    double after = st.reltuples;
    StringInfoData q;
    initStringInfo(&q);
    appendStringInfo(&q, "SELECT reltuples::float8 FROM pg_class WHERE oid = %s::regclass",
                     quote_literal_cstr(st.name));
    if (rc == SPI_OK_UTILITY && SPI_execute(q.data, true, 1) == SPI_OK_SELECT && SPI_processed == 1) {
      bool isnull = false;
      after = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    const double err_before = TableEstimateError(st.reltuples, st.live);
    const double err_after = TableEstimateError(after, st.live);
    const char* outcome = rc != SPI_OK_UTILITY ? "failed" : "succeeded";
    char detail[192];
    snprintf(detail, sizeof(detail),
             "%.0f rows modified since the last ANALYZE; planner rows %.0f -> %.0f (live %.0f, |ln error| %.2f -> %.2f)",
             st.modified, st.reltuples, after, st.live, err_before, err_after);
    char action[128];
    snprintf(action, sizeof(action), "ANALYZE %s", st.name);
    HealthRepairEntry e;
    e.at_us = NowUnixMicros();
    e.database_oid = MyDatabaseId;
    e.role_oid = GetUserId();
    CopyBounded(e.origin, sizeof(e.origin), "auto_repair");
    CopyBounded(e.strategy, sizeof(e.strategy), "analyze_table");
    CopyBounded(e.action, sizeof(e.action), action);
    CopyBounded(e.outcome, sizeof(e.outcome), outcome);
    CopyBounded(e.rollback, sizeof(e.rollback), "not_needed");
    CopyBounded(e.detail, sizeof(e.detail), detail);
    e.duration_us = static_cast<int64_t>(INSTR_TIME_GET_MICROSEC(elapsed));
    LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
    AppendRepair(Steer(), e);
    LWLockRelease(SteerLock());
    emit("auto_repair", "analyze_table", st.name, outcome, detail);
  }
  SPI_finish();
  AtEOXact_GUC(true, nest);
  return (Datum)0;
}
