// PG zone: the SQL API in schema ruvector (docs/postgres.md). Each function
// validates its arguments (PG zone), plans the query text for real when it
// analyzes one, runs the analysis in the C++ zone through RunCpp into a
// context-owned result, reports errors in the apply zone, then builds rows.
#include "planner/dag_bridge.h"

#include <stdexcept>

#include "shim.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/guc_tables.h"
}

#include "api/visibility.h"
#include "extension.h"
#include "guard.h"
#include "planner/plan_extract.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_set_enabled);
PG_FUNCTION_INFO_V1(ruvector_dag_set_attention);
PG_FUNCTION_INFO_V1(ruvector_dag_attention_status);
PG_FUNCTION_INFO_V1(ruvector_dag_config);
PG_FUNCTION_INFO_V1(ruvector_dag_status);
PG_FUNCTION_INFO_V1(ruvector_dag_statistics);
PG_FUNCTION_INFO_V1(ruvector_dag_trajectory_history);
PG_FUNCTION_INFO_V1(ruvector_dag_health_check);
PG_FUNCTION_INFO_V1(ruvector_dag_reset_stats);
PG_FUNCTION_INFO_V1(ruvector_dag_export_state);
PG_FUNCTION_INFO_V1(ruvector_dag_import_state);
PG_FUNCTION_INFO_V1(ruvector_dag_save_state);
PG_FUNCTION_INFO_V1(ruvector_dag_analyze_plan);
PG_FUNCTION_INFO_V1(ruvector_dag_critical_path);
PG_FUNCTION_INFO_V1(ruvector_dag_bottlenecks);
PG_FUNCTION_INFO_V1(ruvector_dag_mincut_analysis);
PG_FUNCTION_INFO_V1(ruvector_dag_suggest_optimizations);
PG_FUNCTION_INFO_V1(ruvector_dag_attention_scores);
PG_FUNCTION_INFO_V1(ruvector_dag_attention_matrix);
PG_FUNCTION_INFO_V1(ruvector_dag_attention_visualize);
}

namespace ruvector_pg {
namespace {

// --- argument validation ------------------------------------------------------

void RequireArg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: %s must not be NULL", name)));
  }
}

char* TextArg(FunctionCallInfo fcinfo, int n, const char* name) {
  RequireArg(fcinfo, n, name);
  char* s = text_to_cstring(PG_GETARG_TEXT_PP(n));
  const char* p = s;
  while (*p != '\0' && isspace(static_cast<unsigned char>(*p))) ++p;
  if (*p == '\0') {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: %s must not be empty", name)));
  }
  return s;
}

}  // namespace

PlannedStmt* PlanQueryText(FunctionCallInfo fcinfo, int n) {
  char* sql = TextArg(fcinfo, n, "query");
  List* raw = pg_parse_query(sql);
  if (list_length(raw) != 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: query must be exactly one statement, got %d", list_length(raw))));
  }
  RawStmt* rs = linitial_node(RawStmt, raw);
  if (!IsA(rs->stmt, SelectStmt)) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("ruvector_dag: only SELECT statements can be analyzed"),
                    errdetail("The statement is a %s.", CreateCommandName(rs->stmt))));
  }
  List* queries = AnalyzeAndRewrite(rs, sql);
  if (list_length(queries) != 1) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("ruvector_dag: the query rewrites into %d statements; only a single SELECT can be analyzed",
                           list_length(queries))));
  }
  Query* q = linitial_node(Query, queries);
  if (q->commandType != CMD_SELECT || q->utilityStmt != nullptr) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("ruvector_dag: only plain SELECT statements can be analyzed (SELECT INTO is not)")));
  }
  if (q->hasModifyingCTE) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("ruvector_dag: queries with data-modifying WITH clauses cannot be analyzed")));
  }
  PlannedStmt* stmt = pg_plan_query(q, sql, CURSOR_OPT_PARALLEL_OK, nullptr);
  // The plan's estimates are derived from the tables' statistics: show them
  // only to a caller who may run the query, checked exactly as EXPLAIN does
  // before it prints anything -- an executor start without execution, which
  // checks the privileges on every relation and column (ExecCheckRTPerms)
  // and on every function the plan calls, with the same errors.
  QueryDesc* qd = CreateQueryDesc(stmt, sql, GetActiveSnapshot(), InvalidSnapshot, None_Receiver, nullptr, nullptr, 0);
  ExecutorStart(qd, EXEC_FLAG_EXPLAIN_ONLY);
  ExecutorEnd(qd);
  FreeQueryDesc(qd);
  return stmt;
}

namespace {

/// dag_attention_matrix returns n x n doubles: at most 1,000 nodes (8 MB).
constexpr int kMaxMatrixNodes = 1000;

/// The plan of a query argument as plain data, refused (before any
/// analysis allocates) when it has more than `max_nodes` nodes.
PlanSnapshot* ExtractBounded(PlannedStmt* stmt, int max_nodes, const char* what) {
  bool truncated = false;
  PlanSnapshot* snap = ExtractPlan(stmt, true, max_nodes, &truncated);
  if (truncated) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: the plan has more than %d nodes; %s is limited to %d", max_nodes, what,
                           max_nodes),
                    errhint("Analyze a smaller query, or the EXPLAIN output with the ruvector-dag command-line tool.")));
  }
  return snap;
}

PlanReport* AnalyzeQueryArg(FunctionCallInfo fcinfo, int n) {
  PlannedStmt* stmt = PlanQueryText(fcinfo, n);
  PlanSnapshot* snap = ExtractBounded(stmt, kMaxAnalyzedNodes, "plan analysis");
  PlanReport* report = NewOwnedByContext<PlanReport>(CurrentMemoryContext);
  int fault = g_debug_fault;
  PlainStatus st = RunCpp("analyzing the plan", [&]() {
    if (fault == kFaultCppException) throw std::runtime_error("injected fault in the analysis");
    return AnalyzeSnapshot(*snap, report);
  });
  ReportStatus(st, ERROR);
  // The pattern is the identity the planner hook gave PostgreSQL's default
  // plan (the plan analyzed here may be a deployed arm's, whose estimates
  // differ); without one, the analyzed plan's.
  const PlanSteerInfo* steer = LookupPlan(stmt);
  if (steer != nullptr && steer->identity_known) {
    report->identity = steer->identity;
  } else {
    ResolveConstants(snap->query_id, &report->identity);
  }
  return report;
}

// --- result helpers ---------------------------------------------------------------

struct Rows {
  Tuplestorestate* store;
  TupleDesc desc;
};

Rows BeginRows(FunctionCallInfo fcinfo) {
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  return Rows{rsinfo->setResult, rsinfo->setDesc};
}

Datum Text(const std::string& s) { return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); }
Datum Text(const char* s) { return PointerGetDatum(cstring_to_text(s)); }

Datum IntArray(const std::vector<ruvector_dag::NodeId>& ids) {
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (ids.size() + 1)));
  for (size_t i = 0; i < ids.size(); ++i) elems[i] = Int32GetDatum(static_cast<int32>(ids[i]));
  return PointerGetDatum(construct_array(elems, static_cast<int>(ids.size()), INT4OID, 4, true, TYPALIGN_INT));
}

Datum TextArray(const std::vector<std::string>& items) {
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (items.size() + 1)));
  for (size_t i = 0; i < items.size(); ++i) elems[i] = Text(items[i]);
  return PointerGetDatum(construct_array(elems, static_cast<int>(items.size()), TEXTOID, -1, false, TYPALIGN_INT));
}

Datum FloatArray(const double* values, int n) {
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
  for (int i = 0; i < n; ++i) elems[i] = Float8GetDatum(values[i]);
  return PointerGetDatum(construct_array(elems, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum Key(uint64_t key) { return Int64GetDatum(static_cast<int64>(key)); }

void SetGuc(const char* name, const char* value) {
  (void)set_config_option(name, value, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET, true,
                          0, false);
}

/// Attention for a query argument, context-owned.
struct AttentionResult {
  PlanReport report;
  ruvector_dag::AttentionScores scores;
  AttentionChoice choice;
  std::string text;
};

AttentionResult* AttentionForArgs(FunctionCallInfo fcinfo, bool edge_weights, const char* format) {
  RequirePreload();
  char* mechanism = TextArg(fcinfo, 1, "mechanism");
  bool valid = false;
  PlainStatus vs = RunCpp("checking the mechanism", [&]() {
    valid = IsValidAttentionName(mechanism);
    return Status::Ok();
  });
  ReportStatus(vs, ERROR);
  if (!valid) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: unknown attention mechanism \"%s\"", mechanism),
                    errhint("Valid mechanisms: auto, topological, causal_cone, critical_path, mincut_gated, "
                            "hierarchical_lorentz, parallel_branch, temporal_btsp.")));
  }
  PlannedStmt* stmt = PlanQueryText(fcinfo, 0);
  PlanSnapshot* snap = edge_weights ? ExtractBounded(stmt, kMaxMatrixNodes, "the attention matrix")
                                    : ExtractBounded(stmt, kMaxAnalyzedNodes, "attention");
  AttentionResult* r = NewOwnedByContext<AttentionResult>(CurrentMemoryContext);
  PlainStatus st = RunCpp("computing attention", [&]() {
    RUVECTOR_RETURN_IF_ERROR(BuildDag(*snap, &r->report.dag));
    RUVECTOR_RETURN_IF_ERROR(ComputeAttentionFor(r->report.dag, mechanism, edge_weights, &r->scores, &r->choice));
    if (format != nullptr) {
      RUVECTOR_RETURN_IF_ERROR(VisualizeAttention(r->report.dag, r->scores, r->choice, format, &r->text));
    }
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  return r;
}

/// Copies the pattern table under the shared lock.
PatternEntry* CopyPatterns(uint32_t* count) {
  SharedState* s = State();
  LWLockAcquire(StateLock(), LW_SHARED);
  uint32_t n = s->pattern_count;
  auto* out = static_cast<PatternEntry*>(palloc(sizeof(PatternEntry) * (n + 1)));
  uint32_t k = 0;
  const PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count && k < n; ++i) {
    if (slots[i].key != 0) CopyPatternEntry(slots[i], &out[k++]);
  }
  LWLockRelease(StateLock());
  *count = k;
  return out;
}

}  // namespace
}  // namespace ruvector_pg

using namespace ruvector_pg;

// --- configuration ---------------------------------------------------------------

extern "C" Datum ruvector_dag_set_enabled(PG_FUNCTION_ARGS) {
  RequirePreload();
  RequireArg(fcinfo, 0, "enabled");
  SetGuc("ruvector.dag_enabled", PG_GETARG_BOOL(0) ? "on" : "off");
  PG_RETURN_VOID();
}

extern "C" Datum ruvector_dag_set_attention(PG_FUNCTION_ARGS) {
  RequirePreload();
  char* name = TextArg(fcinfo, 0, "mechanism");
  bool valid = false;
  uint8_t request = kAttentionRequestAuto;
  PlainStatus st = RunCpp("checking the mechanism", [&]() {
    valid = IsValidAttentionName(name);
    const auto m = ruvector_dag::AttentionMechanismFromName(name);
    if (m.has_value()) request = static_cast<uint8_t>(kAttentionRequestForced + static_cast<uint8_t>(*m));
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  if (!valid) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: unknown attention mechanism \"%s\"", name),
                    errhint("Valid mechanisms: auto, topological, causal_cone, critical_path, mincut_gated, "
                            "hierarchical_lorentz, parallel_branch, temporal_btsp.")));
  }
  SetGuc("ruvector.dag_attention", name);
  // The server's learner: forced from its next pass ('auto': the selector),
  // until the server stops.
  LWLockAcquire(SteerLock(), LW_EXCLUSIVE);
  Steer()->attention_request = request;
  LWLockRelease(SteerLock());
  PG_RETURN_VOID();
}

/// dag_config(): every setting this extension defines (pg/init.cc: the
/// ruvector.dag_*, ruvector.sona_* and ruvector.sync_* names; the vector
/// extension's ruvector.hnsw_* are its own), taken from PostgreSQL's table of
/// settings so that none is left out. A superuser-only one
/// (GUC_SUPERUSER_ONLY) is NULL to callers who may not read it (SHOW's rule:
/// superusers and pg_read_all_settings).
extern "C" Datum ruvector_dag_config(PG_FUNCTION_ARGS) {
  RequirePreload();
  static const char* const kPrefixes[] = {"ruvector.dag_", "ruvector.sona_", "ruvector.sync_"};
  const bool read_all = superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_SETTINGS);
  Rows rows = BeginRows(fcinfo);
  struct config_generic** gucs = get_guc_variables();
  const int count = GetNumConfigOptions();
  for (int i = 0; i < count; ++i) {
    const struct config_generic* conf = gucs[i];
    if ((conf->flags & GUC_CUSTOM_PLACEHOLDER) != 0) continue;
    bool ours = false;
    for (const char* prefix : kPrefixes) ours = ours || strncmp(conf->name, prefix, strlen(prefix)) == 0;
    if (!ours) continue;
    Datum values[2];
    bool nulls[2] = {false, false};
    values[0] = Text(conf->name);
    const bool hidden = (conf->flags & GUC_SUPERUSER_ONLY) != 0 && !read_all;
    const char* v = hidden ? nullptr : GetConfigOption(conf->name, true, false);
    if (v == nullptr) nulls[1] = true; else values[1] = Text(v);
    tuplestore_putvalues(rows.store, rows.desc, values, nulls);
  }
  return (Datum)0;
}

// --- status -------------------------------------------------------------------------

extern "C" Datum ruvector_dag_status(PG_FUNCTION_ARGS) {
  RequirePreload();
  SharedState* s = State();
  // Exclusive: no observation is half-recorded, so the counters agree
  // (every observed execution's trajectory is counted).
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  SharedCounters c = ReadCounters(s);
  uint32_t patterns = s->pattern_count, max_patterns = s->max_patterns, capacity = s->ring_capacity;
  uint64_t in_ring = RingNextSeq(s) - RingFirstSeq(s);
  LoadResult load = s->load_result;
  LWLockRelease(StateLock());

  Rows rows = BeginRows(fcinfo);
  Datum v[20];
  bool n[20] = {false};
  v[0] = BoolGetDatum(g_enabled);
  v[1] = Int64GetDatum(patterns);
  v[2] = Int32GetDatum(static_cast<int32>(max_patterns));
  v[3] = Int64GetDatum(static_cast<int64>(c.trajectories_written));
  v[4] = Int64GetDatum(static_cast<int64>(in_ring));
  v[5] = Int32GetDatum(static_cast<int32>(capacity));
  v[6] = Int64GetDatum(static_cast<int64>(c.trajectories_dropped));
  v[7] = Int64GetDatum(static_cast<int64>(c.plans_observed));
  v[8] = Int64GetDatum(static_cast<int64>(c.executions_observed));
  v[9] = Int64GetDatum(static_cast<int64>(c.internal_errors));
  // Learned = patterns with a deployed arm; improvement = mean measured
  // 1 - deployed / default latency over those with both latencies measured.
  int64 learned = 0, measured = 0;
  double improvement_sum = 0.0;
  uint64_t learned_trajectories = 0;
  LWLockAcquire(SteerLock(), LW_SHARED);
  for (const Decision& d : Steer()->decisions) {
    if (d.key == 0 || d.deployed_arm == 0) continue;
    ++learned;
    if (d.default_ms > 0.0 && d.deployed_ms > 0.0) {
      improvement_sum += 1.0 - d.deployed_ms / d.default_ms;
      ++measured;
    }
  }
  learned_trajectories = Steer()->counters.trajectories_learned;
  const ModelStatus model = Steer()->model;  // global numbers, no pattern in them
  LWLockRelease(SteerLock());
  v[10] = Int64GetDatum(learned);
  if (measured == 0) n[11] = true; else v[11] = Float8GetDatum(improvement_sum / static_cast<double>(measured));
  (void)learned_trajectories;  // reported by dag_health_check
  // How candidate arms get measured: by the background explorer (a
  // server-wide setting) and/or this session's own executions.
  {
    char how[128];
    const bool online = g_exploration_mode == kExplorationOnline && g_exploration_budget > 0.0;
    if (g_explore_cpu_budget > 0.0) {
      snprintf(how, sizeof(how), "background exploration (%g of a CPU)%s", g_explore_cpu_budget,
               online ? " and online exploration in this session" : "");
    } else {
      snprintf(how, sizeof(how), "%s", online ? "online exploration in this session (background exploration off)"
                                              : "observing only (exploration off)");
    }
    v[12] = Text(how);
  }
  v[13] = Text(LoadResultName(load));
  if (c.last_save_us == 0) n[14] = true; else v[14] = TimestampTzGetDatum(UnixMicrosToTimestamp(c.last_save_us));
  v[15] = TimestampTzGetDatum(UnixMicrosToTimestamp(c.started_at_us));
  // The mechanism the worker's engine pools embeddings with, and why
  // (forced, or the selector's held-out errors), as of its last pass.
  if (model.mechanism[0] == '\0') {
    n[16] = n[17] = true;  // the learner has not run a pass yet
  } else {
    v[16] = Text(model.mechanism);
    v[17] = Text(model.mechanism_reason);
  }
  if (model.measured == 0) n[18] = true; else v[18] = Float8GetDatum(model.prediction_error);
  v[19] = Int64GetDatum(static_cast<int64>(model.runs_learned));
  tuplestore_putvalues(rows.store, rows.desc, v, n);
  return (Datum)0;
}

/// dag_attention_status(): one row per mechanism the worker's engine keeps a
/// value model for (none before its first pass).
extern "C" Datum ruvector_dag_attention_status(PG_FUNCTION_ARGS) {
  RequirePreload();
  LWLockAcquire(SteerLock(), LW_SHARED);
  const ModelStatus model = Steer()->model;
  LWLockRelease(SteerLock());
  Rows rows = BeginRows(fcinfo);
  for (uint8_t i = 0; i < model.lane_count && i < sizeof(model.lane_mechanism); ++i) {
    // A static name: no allocation in the PG zone.
    const std::string_view name =
        ruvector_dag::AttentionMechanismName(static_cast<ruvector_dag::AttentionMechanism>(model.lane_mechanism[i]));
    Datum v[4];
    bool n[4] = {false, false, false, false};
    v[0] = PointerGetDatum(cstring_to_text_with_len(name.data(), static_cast<int>(name.size())));
    if (model.lane_runs[i] == 0) n[1] = true; else v[1] = Float8GetDatum(model.lane_error[i]);
    v[2] = Int64GetDatum(static_cast<int64>(model.lane_runs[i]));
    v[3] = BoolGetDatum(name.size() < sizeof(model.mechanism) && strncmp(model.mechanism, name.data(), name.size()) == 0 &&
                        model.mechanism[name.size()] == '\0');
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_statistics(PG_FUNCTION_ARGS) {
  RequirePreload();
  uint32_t count = 0;
  PatternEntry* entries = CopyPatterns(&count);
  std::sort(entries, entries + count, [](const PatternEntry& a, const PatternEntry& b) {
    if (a.executions != b.executions) return a.executions > b.executions;
    return a.key < b.key;
  });
  const RowVisibility vis = CallerVisibility();
  Rows rows = BeginRows(fcinfo);
  for (uint32_t i = 0; i < count; ++i) {
    const PatternEntry& e = entries[i];
    if (!vis.Allows(e.database_oid, e.role_oid)) continue;
    Datum v[16];
    bool n[16] = {false};
    v[0] = Key(e.key);
    v[1] = Key(e.query_id);
    v[2] = Int32GetDatum(static_cast<int32>(e.param_bucket));
    v[3] = Key(e.shape_hash);
    v[4] = Int32GetDatum(static_cast<int32>(e.node_count));
    v[5] = Int64GetDatum(static_cast<int64>(e.executions));
    v[6] = Float8GetDatum(e.mean_ms);
    if (e.executions > 1) v[7] = Float8GetDatum(std::sqrt(e.m2 / static_cast<double>(e.executions - 1)));
    else n[7] = true;
    v[8] = Float8GetDatum(e.min_ms);
    v[9] = Float8GetDatum(e.max_ms);
    v[10] = Float8GetDatum(e.last_ms);
    v[11] = Int64GetDatum(static_cast<int64>(e.shape_changes));
    v[12] = TimestampTzGetDatum(UnixMicrosToTimestamp(e.first_seen_us));
    v[13] = TimestampTzGetDatum(UnixMicrosToTimestamp(e.last_seen_us));
    v[14] = ObjectIdGetDatum(static_cast<Oid>(e.database_oid));
    v[15] = ObjectIdGetDatum(static_cast<Oid>(e.role_oid));
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_trajectory_history(PG_FUNCTION_ARGS) {
  RequirePreload();
  RequireArg(fcinfo, 0, "max_rows");
  int32 max_rows = PG_GETARG_INT32(0);
  if (max_rows < 0 || max_rows > 1000000) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("ruvector_dag: max_rows %d is outside [0, 1000000]", max_rows)));
  }
  const RowVisibility vis = CallerVisibility();
  SharedState* s = State();
  auto* recs = static_cast<TrajectoryRecord*>(palloc(sizeof(TrajectoryRecord) * (std::min<uint32_t>(max_rows, s->ring_capacity) + 1)));
  int k = 0;
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t first = RingFirstSeq(s);
  for (uint64_t seq = RingNextSeq(s); seq > first && k < max_rows && k < static_cast<int>(s->ring_capacity); --seq) {
    if (CopyRingRecord(s, seq - 1, &recs[k]) && vis.Allows(recs[k].database_oid, recs[k].role_oid)) ++k;
  }
  LWLockRelease(StateLock());
  Rows rows = BeginRows(fcinfo);
  for (int i = 0; i < k; ++i) {
    const TrajectoryRecord& r = recs[i];
    int kept = std::min<int>(r.node_count, kMaxTrajectoryNodes);
    Datum v[16];
    bool n[16] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(r.seq));
    v[1] = Key(r.pattern_key);
    v[2] = Key(r.query_id);
    v[3] = Int32GetDatum(static_cast<int32>(r.param_bucket));
    v[4] = Key(r.shape_hash);
    v[5] = Float8GetDatum(r.latency_ms);
    v[6] = Int32GetDatum(r.node_count);
    v[7] = BoolGetDatum((r.flags & kTrajectoryNested) != 0);
    v[8] = BoolGetDatum((r.flags & kTrajectoryParallel) != 0);
    v[9] = BoolGetDatum((r.flags & kTrajectoryTruncated) != 0);
    Datum* type_elems = static_cast<Datum*>(palloc(sizeof(Datum) * (kept + 1)));
    double est[kMaxTrajectoryNodes], act[kMaxTrajectoryNodes];
    bool act_null[kMaxTrajectoryNodes];
    for (int j = 0; j < kept; ++j) {
      const char* name = "unknown";
      if (r.node_type[j] < ruvector_dag::kOperatorTypeCount) {
        name = ruvector_dag::OperatorTypeName(static_cast<ruvector_dag::OperatorType>(r.node_type[j])).data();
      }
      type_elems[j] = Text(name);
      est[j] = r.estimated_rows[j];
      act[j] = r.actual_rows[j];
      act_null[j] = r.actual_rows[j] < 0;
    }
    v[10] = PointerGetDatum(construct_array(type_elems, kept, TEXTOID, -1, false, TYPALIGN_INT));
    v[11] = FloatArray(est, kept);
    {
      Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (kept + 1)));
      for (int j = 0; j < kept; ++j) elems[j] = Float8GetDatum(act[j]);
      int dims[1] = {kept};
      int lbs[1] = {1};
      v[12] = PointerGetDatum(construct_md_array(elems, act_null, kept > 0 ? 1 : 0, dims, lbs, FLOAT8OID, 8,
                                                 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    }
    v[13] = TimestampTzGetDatum(UnixMicrosToTimestamp(r.recorded_at_us));
    // The arm the plan was made with (NULL: not planned by this backend's
    // hook, or under a hint arm's replaced hint) and why it ran.
    if ((r.flags & kTrajectoryArmKnown) != 0) {
      v[14] = Int32GetDatum(TrajectoryArm(r.flags));
    } else {
      n[14] = true;
    }
    v[15] = Text((r.flags & kTrajectoryAdvice) != 0 ? "pinned advice"
                 : (r.flags & kTrajectorySamePlan) != 0 ? "explore (default plan)"
                 : (r.flags & kTrajectoryExplore) != 0 ? "explore"
                 : (r.flags & kTrajectoryBaseline) != 0 ? "baseline check"
                                                        : "serve");
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_health_check(PG_FUNCTION_ARGS) {
  RequirePreload();
  SharedState* s = State();
  LWLockAcquire(StateLock(), LW_SHARED);
  SharedState head = *s;  // header only (counters, cursors, worker, load result)
  head.counters = ReadCounters(s);
  head.ring_next_seq = RingNextSeq(s);
  LWLockRelease(StateLock());
  int64_t now = NowUnixMicros();
  TimestampTz ts = UnixMicrosToTimestamp(now);
  Rows rows = BeginRows(fcinfo);
  auto row = [&](const char* component, const char* status, const char* message) {
    Datum v[4] = {Text(component), Text(status), TimestampTzGetDatum(ts), Text(message)};
    bool n[4] = {false, false, false, false};
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  };
  char msg[512];
  uint64_t in_ring = head.ring_next_seq - RingFirstSeq(&head);
  snprintf(msg, sizeof(msg), "%u of %u patterns, %llu of %u trajectory slots in use", head.pattern_count,
           head.max_patterns, static_cast<unsigned long long>(in_ring), head.ring_capacity);
  row("shared_memory", "ok", msg);
  if (head.counters.trajectories_dropped == 0) {
    snprintf(msg, sizeof(msg), "%llu trajectories recorded, none dropped",
             static_cast<unsigned long long>(head.counters.trajectories_written));
    row("trajectory_buffer", "ok", msg);
  } else {
    snprintf(msg, sizeof(msg),
             "%llu of %llu trajectories were overwritten before the learner read them",
             static_cast<unsigned long long>(head.counters.trajectories_dropped),
             static_cast<unsigned long long>(head.counters.trajectories_written));
    row("trajectory_buffer", "warning", msg);
  }
  snprintf(msg, sizeof(msg), "%u patterns (limit %u), %llu evicted, %llu refused (share limit)", head.pattern_count,
           head.max_patterns, static_cast<unsigned long long>(head.counters.patterns_evicted),
           static_cast<unsigned long long>(head.counters.patterns_refused));
  row("pattern_table", head.counters.patterns_evicted > 0 ? "warning" : "ok", msg);
  bool load_bad = head.load_result == LoadResult::kCorrupt || head.load_result == LoadResult::kIncompatible;
  snprintf(msg, sizeof(msg), "startup load: %s (%s); %llu saves%s", LoadResultName(head.load_result),
           head.load_message, static_cast<unsigned long long>(head.counters.state_saves),
           head.counters.last_save_us == 0 ? ", none yet" : "");
  const bool save_failing = head.save_failures > 0 && head.last_save_failure_us >= head.counters.last_save_us;
  if (save_failing) {
    snprintf(msg, sizeof(msg), "saving fails (%llu failures, last %.0f s ago): %s; startup load: %s",
             static_cast<unsigned long long>(head.save_failures), (now - head.last_save_failure_us) / 1e6,
             head.save_failure, LoadResultName(head.load_result));
  }
  row("persistence", save_failing ? "error" : (load_bad ? "warning" : "ok"), msg);
  // The worker beats once per loop (every 50 ms plus its steps), whatever
  // ruvector.dag_persist_interval is.
  constexpr int64_t kHeartbeatStaleUs = int64_t{30} * 1000000;
  bool alive = head.worker_pid != 0 && now - head.worker_heartbeat_us <= kHeartbeatStaleUs;
  if (alive) {
    snprintf(msg, sizeof(msg), "pid %d, last heartbeat %.1f s ago", head.worker_pid,
             (now - head.worker_heartbeat_us) / 1e6);
    row("background_worker", "ok", msg);
  } else {
    row("background_worker", "error",
        "no heartbeat from the background worker (learning, exploration, state saves) within 30 s; the "
        "postmaster restarts it 10 s after it exits");
  }
  snprintf(msg, sizeof(msg), "%llu internal errors were logged and ignored (queries unaffected)",
           static_cast<unsigned long long>(head.counters.internal_errors));
  row("internal_errors", head.counters.internal_errors > 0 ? "warning" : "ok", msg);
  LWLockAcquire(SteerLock(), LW_SHARED);
  SteerCounters sc = Steer()->counters;
  uint32_t decisions = Steer()->decision_count;
  LWLockRelease(SteerLock());
  snprintf(msg, sizeof(msg),
           "%u patterns tracked, %llu trajectories learned, %llu deployments, %llu reverts, %llu re-plan failures "
           "(%llu under pinned advice), %llu runs of untracked patterns dropped (the learner was full), %llu "
           "plannings given PostgreSQL's plan because the deployed arm was not measured with their constants",
           decisions, static_cast<unsigned long long>(sc.trajectories_learned),
           static_cast<unsigned long long>(sc.deployments), static_cast<unsigned long long>(sc.reverts),
           static_cast<unsigned long long>(sc.replan_failures), static_cast<unsigned long long>(sc.advice_failures),
           static_cast<unsigned long long>(sc.decisions_dropped),
           static_cast<unsigned long long>(sc.unmeasured_constants_plans));
  row("learning", sc.replan_failures > 0 || sc.advice_failures > 0 || sc.decisions_dropped > 0 ? "warning" : "ok",
      msg);
  return (Datum)0;
}

extern "C" Datum ruvector_dag_reset_stats(PG_FUNCTION_ARGS) {
  RequirePreload();
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  ResetSharedState(State());
  LWLockRelease(StateLock());
  PG_RETURN_VOID();
}

extern "C" Datum ruvector_dag_export_state(PG_FUNCTION_ARGS) {
  RequirePreload();
  SharedState* s = State();
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);  // one consistent image (writers hold the shared lock)
  size_t size = SerializedSize(s);
  bytea* out = static_cast<bytea*>(MemoryContextAllocExtended(CurrentMemoryContext, size + VARHDRSZ,
                                                              MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
  if (out != nullptr) SerializeInto(s, NowUnixMicros(), VARDATA(out));
  LWLockRelease(StateLock());
  if (out == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("ruvector_dag: out of memory exporting %zu bytes", size)));
  }
  SET_VARSIZE(out, size + VARHDRSZ);
  PG_RETURN_BYTEA_P(out);
}

extern "C" Datum ruvector_dag_import_state(PG_FUNCTION_ARGS) {
  RequirePreload();
  RequireArg(fcinfo, 0, "state");
  bytea* in = PG_GETARG_BYTEA_PP(0);
  std::string_view bytes(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));
  size_t patterns = 0, trajectories = 0;
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  PlainStatus st = RunCpp("importing state", [&]() {
    return DeserializeState(bytes, State(), &patterns, &trajectories);
  });
  LWLockRelease(StateLock());
  ReportStatus(st, ERROR);
  Rows rows = BeginRows(fcinfo);
  Datum v[2] = {Int64GetDatum(static_cast<int64>(patterns)), Int64GetDatum(static_cast<int64>(trajectories))};
  bool n[2] = {false, false};
  tuplestore_putvalues(rows.store, rows.desc, v, n);
  return (Datum)0;
}

extern "C" Datum ruvector_dag_save_state(PG_FUNCTION_ARGS) {
  RequirePreload();
  PG_RETURN_BOOL(PersistState(WARNING));
}

// --- analysis -------------------------------------------------------------------------

extern "C" Datum ruvector_dag_analyze_plan(PG_FUNCTION_ARGS) {
  RequirePreload();
  PlanReport* report = AnalyzeQueryArg(fcinfo, 0);
  Rows rows = BeginRows(fcinfo);
  for (const NodeReport& r : report->nodes) {
    Datum v[17];
    bool n[17] = {false};
    v[0] = Int32GetDatum(static_cast<int32>(r.id));
    v[1] = Text(r.type);
    v[2] = Float8GetDatum(r.criticality);
    v[3] = Float8GetDatum(r.bottleneck_score);
    v[4] = Float8GetDatum(r.total_cost);
    v[5] = Float8GetDatum(r.rows);
    v[6] = IntArray(r.consumers);  // parent_ids: EXPLAIN's parent (the consumer)
    v[7] = IntArray(r.inputs);     // child_ids: EXPLAIN's children (the inputs)
    v[8] = TextArray(r.recommendations);
    if (r.relation.empty()) n[9] = true; else v[9] = Text(r.relation);
    if (r.index.empty()) n[10] = true; else v[10] = Text(r.index);
    v[11] = Float8GetDatum(r.startup_cost);
    v[12] = Float8GetDatum(r.self_cost);
    v[13] = BoolGetDatum(r.on_critical_path);
    v[14] = BoolGetDatum(r.in_cut);
    if (r.detail.empty()) n[15] = true; else v[15] = Text(r.detail);
    if (r.parameter == 0) n[16] = true; else v[16] = Int64GetDatum(r.parameter);
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_critical_path(PG_FUNCTION_ARGS) {
  RequirePreload();
  PlanReport* report = AnalyzeQueryArg(fcinfo, 0);
  Rows rows = BeginRows(fcinfo);
  double cumulative = 0.0;
  int step = 0;
  for (ruvector_dag::NodeId id : report->critical_path.nodes) {
    const NodeReport& r = report->nodes[id];
    cumulative += r.self_cost;
    Datum v[6];
    bool n[6] = {false};
    v[0] = Int32GetDatum(++step);
    v[1] = Int32GetDatum(static_cast<int32>(id));
    v[2] = Text(r.type);
    if (r.relation.empty()) n[3] = true; else v[3] = Text(r.relation);
    v[4] = Float8GetDatum(r.self_cost);
    v[5] = Float8GetDatum(cumulative);
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_bottlenecks(PG_FUNCTION_ARGS) {
  RequirePreload();
  RequireArg(fcinfo, 1, "threshold");
  double threshold = PG_GETARG_FLOAT8(1);
  if (!(threshold >= 0.0 && threshold <= 1.0)) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("ruvector_dag: threshold %g is outside [0, 1]", threshold)));
  }
  PlanReport* report = AnalyzeQueryArg(fcinfo, 0);
  // Highest score first, then id.
  std::vector<const NodeReport*>* order = NewOwnedByContext<std::vector<const NodeReport*>>(CurrentMemoryContext);
  PlainStatus st = RunCpp("ranking bottlenecks", [&]() {
    for (const NodeReport& r : report->nodes) {
      if (r.bottleneck_score >= threshold) order->push_back(&r);
    }
    std::stable_sort(order->begin(), order->end(), [](const NodeReport* a, const NodeReport* b) {
      return a->bottleneck_score > b->bottleneck_score;
    });
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  Rows rows = BeginRows(fcinfo);
  for (const NodeReport* r : *order) {
    const ruvector_dag::Bottleneck* b = nullptr;
    for (const auto& cand : report->analysis.bottlenecks) {
      if (cand.node == r->id) b = &cand;
    }
    Datum v[9];
    bool n[9] = {false};
    v[0] = Int32GetDatum(static_cast<int32>(r->id));
    v[1] = Text(r->type);
    if (r->relation.empty()) n[2] = true; else v[2] = Text(r->relation);
    v[3] = Float8GetDatum(r->bottleneck_score);
    v[4] = Float8GetDatum(r->work_share);
    v[5] = Float8GetDatum(r->criticality);
    v[6] = BoolGetDatum(r->in_cut);
    if (b == nullptr) {
      n[7] = n[8] = true;
    } else {
      v[7] = Text(std::string(ruvector_dag::SuggestedActionName(b->action)));
      v[8] = Text(b->reason);
    }
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_mincut_analysis(PG_FUNCTION_ARGS) {
  RequirePreload();
  char* mode = TextArg(fcinfo, 1, "capacity_mode");
  PlannedStmt* stmt = PlanQueryText(fcinfo, 0);
  PlanSnapshot* snap = ExtractBounded(stmt, kMaxAnalyzedNodes, "min-cut analysis");
  struct Result {
    ruvector_dag::QueryDag dag;
    ruvector_dag::MinCutResult cut;
    std::vector<std::string> names;
  };
  Result* r = NewOwnedByContext<Result>(CurrentMemoryContext);
  PlainStatus st = RunCpp("min-cut analysis", [&]() {
    RUVECTOR_RETURN_IF_ERROR(BuildDag(*snap, &r->dag));
    RUVECTOR_RETURN_IF_ERROR(MinCutWithMode(r->dag, mode, &r->cut));
    for (ruvector_dag::NodeId id : r->cut.cut_nodes) {
      r->names.push_back(std::string(ruvector_dag::OperatorTypeName(r->dag.node(id)->type)));
    }
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  Rows rows = BeginRows(fcinfo);
  Datum v[8];
  bool n[8] = {false};
  v[0] = IntArray(r->cut.cut_nodes);
  v[1] = TextArray(r->names);
  v[2] = Float8GetDatum(r->cut.cut_value);
  v[3] = Float8GetDatum(r->cut.tension.tension);
  v[4] = Float8GetDatum(r->cut.tension.misestimation);
  v[5] = Float8GetDatum(r->cut.tension.concentration);
  v[6] = Float8GetDatum(r->cut.tension.cut_work_share);
  v[7] = Text(std::string(ruvector_dag::CapacityModeName(r->cut.mode)));
  tuplestore_putvalues(rows.store, rows.desc, v, n);
  return (Datum)0;
}

// One row per min-cut bottleneck (in the engine's order: descending work
// share, then id), then one row per node named by each redundancy suggestion
// (by kind, then first node). The numbers are the node's own analysis values.
extern "C" Datum ruvector_dag_suggest_optimizations(PG_FUNCTION_ARGS) {
  RequirePreload();
  PlanReport* report = AnalyzeQueryArg(fcinfo, 0);
  struct Suggestion {
    const NodeReport* node;
    std::string action;
    const std::string* reason;
  };
  auto* out = NewOwnedByContext<std::vector<Suggestion>>(CurrentMemoryContext);
  PlainStatus st = RunCpp("collecting suggestions", [&]() -> Status {
    auto add = [&](ruvector_dag::NodeId id, std::string_view action, const std::string& reason) -> Status {
      for (const NodeReport& r : report->nodes) {
        if (r.id == id) {
          out->push_back(Suggestion{&r, std::string(action), &reason});
          return Status::Ok();
        }
      }
      return Status::Internal("suggestion names node " + std::to_string(id) + ", which is not in the plan");
    };
    for (const ruvector_dag::Bottleneck& b : report->analysis.bottlenecks) {
      RUVECTOR_RETURN_IF_ERROR(add(b.node, ruvector_dag::SuggestedActionName(b.action), b.reason));
    }
    for (const ruvector_dag::RedundancySuggestion& s : report->analysis.redundancy) {
      for (ruvector_dag::NodeId id : s.nodes) {
        RUVECTOR_RETURN_IF_ERROR(add(id, ruvector_dag::RedundancyKindName(s.kind), s.reason));
      }
    }
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  Rows rows = BeginRows(fcinfo);
  for (const Suggestion& s : *out) {
    Datum v[7];
    bool n[7] = {false};
    v[0] = Int32GetDatum(static_cast<int32>(s.node->id));
    v[1] = Text(s.node->type);
    v[2] = Text(s.action);
    v[3] = Text(*s.reason);
    v[4] = Float8GetDatum(s.node->work_share);
    v[5] = Float8GetDatum(s.node->criticality);
    v[6] = BoolGetDatum(s.node->in_cut);
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_attention_scores(PG_FUNCTION_ARGS) {
  AttentionResult* r = AttentionForArgs(fcinfo, false, nullptr);
  Rows rows = BeginRows(fcinfo);
  std::string mech(ruvector_dag::AttentionMechanismName(r->choice.mechanism));
  for (size_t i = 0; i < r->scores.nodes.size(); ++i) {
    ruvector_dag::NodeId id = r->scores.nodes[i];
    Datum v[4] = {Int32GetDatum(static_cast<int32>(id)),
                  Text(std::string(ruvector_dag::OperatorTypeName(r->report.dag.node(id)->type))),
                  Float8GetDatum(r->scores.weights[i]), Text(mech)};
    bool n[4] = {false, false, false, false};
    tuplestore_putvalues(rows.store, rows.desc, v, n);
  }
  return (Datum)0;
}

extern "C" Datum ruvector_dag_attention_matrix(PG_FUNCTION_ARGS) {
  AttentionResult* r = AttentionForArgs(fcinfo, true, nullptr);
  int n = static_cast<int>(r->report.dag.id_bound());
  if (static_cast<size_t>(n) * n > MaxAllocSize / sizeof(Datum)) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: the plan has %d nodes; its attention matrix is too large", n)));
  }
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<size_t>(n) * n + 1));
  for (size_t i = 0; i < static_cast<size_t>(n) * n; ++i) elems[i] = Float8GetDatum(0.0);
  for (const auto& e : r->scores.edge_weights) {
    // Row = consumer, column = input: each consumer's row sums to 1.
    elems[static_cast<size_t>(e.to) * n + e.from] = Float8GetDatum(e.weight);
  }
  int dims[2] = {n, n};
  int lbs[2] = {0, 0};
  PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nullptr, 2, dims, lbs, FLOAT8OID, 8, FLOAT8PASSBYVAL,
                                           TYPALIGN_DOUBLE));
}

extern "C" Datum ruvector_dag_attention_visualize(PG_FUNCTION_ARGS) {
  char* format = TextArg(fcinfo, 2, "format");
  if (strcmp(format, "dot") != 0 && strcmp(format, "json") != 0 && strcmp(format, "ascii") != 0 &&
      strcmp(format, "mermaid") != 0) {
    RequirePreload();
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: unknown format \"%s\"", format),
                    errhint("Valid formats: dot, json, ascii, mermaid.")));
  }
  AttentionResult* r = AttentionForArgs(fcinfo, false, format);
  PG_RETURN_TEXT_P(cstring_to_text_with_len(r->text.data(), static_cast<int>(r->text.size())));
}
