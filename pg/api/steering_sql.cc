// PG zone: the SQL functions for arms, pins, plan advice, decisions and
// learning (dag_arms, dag_add_arm, dag_remove_arm, dag_pin, dag_unpin,
// dag_pins, dag_decisions, dag_learning_events, dag_learn_now,
// dag_reset_learning; docs/postgres.md).
#include "shim.h"

extern "C" {
#include "access/table.h"
#include "catalog/pg_class.h"
#include "utils/lsyscache.h"
#include "utils/relcache.h"
}

#include "api/visibility.h"
#include "extension.h"
#include "guard.h"
#include "planner/corrections.h"
#include "planner/learned_hints.h"
#include "planner/steering.h"
#include "state/plan_advice.h"
#include "state/steer_shmem.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_arms);
PG_FUNCTION_INFO_V1(ruvector_dag_add_arm);
PG_FUNCTION_INFO_V1(ruvector_dag_remove_arm);
PG_FUNCTION_INFO_V1(ruvector_dag_pin);
PG_FUNCTION_INFO_V1(ruvector_dag_unpin);
PG_FUNCTION_INFO_V1(ruvector_dag_pin_advice);
PG_FUNCTION_INFO_V1(ruvector_dag_pins);
PG_FUNCTION_INFO_V1(ruvector_dag_decisions);
PG_FUNCTION_INFO_V1(ruvector_dag_vector_tuning);
PG_FUNCTION_INFO_V1(ruvector_dag_learning_events);
PG_FUNCTION_INFO_V1(ruvector_dag_learn_now);
PG_FUNCTION_INFO_V1(ruvector_dag_reset_learning);
}

namespace ruvector_pg {

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

/// Checks that setting `k` = `v` may be part of an arm (or of plan advice):
/// the parameter exists, the value is valid for the caller, and it is a
/// planner, memory, parallelism or extension setting. ERROR otherwise.
void ValidateArmSetting(const char* k, const char* v, const char* where) {
  if (GetConfigOption(k, true, false) == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("ruvector_dag: unknown configuration parameter \"%s\" in %s", k, where)));
  }
  // Validation only (changeVal = false): raises an ERROR naming the
  // parameter for a bad value or a setting that cannot be changed per query.
  (void)set_config_option(k, v, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, false, ERROR,
                          false);
  if (!ArmSettingAllowed(k)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_dag: \"%s\" cannot be part of %s", k, where),
                    errdetail("Arms and plan advice hold planner settings (Query Tuning), memory and parallelism "
                              "settings, and extensions' settings.")));
  }
}

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
  char where[kArmNameLen + 16];
  snprintf(where, sizeof(where), "arm \"%s\"", name);
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
    ValidateArmSetting(k, v, where);
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
  if (ok) {
    RemoveAdvicePin(g_steer, static_cast<uint64_t>(qid), MyDatabaseId);
    RebuildQueryFilter(g_steer);
  }
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
  ok = RemoveAdvicePin(g_steer, static_cast<uint64_t>(qid), MyDatabaseId) || ok;
  if (ok) RebuildQueryFilter(g_steer);
  LWLockRelease(g_steer_lock);
  if (ok) SaveSteerFile();
  PG_RETURN_BOOL(ok);
}

namespace ruvector_pg {
namespace {

/// The table `alias` names in planned statement `stmt`: it must name
/// exactly one plain table or materialized view of the query's range table
/// (as the planner's row corrections and hints see them).
const RangeTblEntry* ResolveAlias(const PlannedStmt* stmt, const char* alias) {
  const RangeTblEntry* match = nullptr;
  int matches = 0;
  ListCell* lc;
  foreach (lc, stmt->rtable) {
    const RangeTblEntry* rte = static_cast<const RangeTblEntry*>(lfirst(lc));
    if (rte->rtekind != RTE_RELATION || rte->eref == nullptr || strcmp(rte->eref->aliasname, alias) != 0) continue;
    if (rte->inh) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_dag: relation \"%s\" of the advice is an inheritance parent or partitioned "
                             "table; plan advice applies to plain tables and joins of them only", alias)));
    }
    if (rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_MATVIEW) continue;  // a view's own entry
    match = rte;
    ++matches;
  }
  if (matches == 0) {
    StringInfoData names;
    initStringInfo(&names);
    foreach (lc, stmt->rtable) {
      const RangeTblEntry* rte = static_cast<const RangeTblEntry*>(lfirst(lc));
      if (rte->rtekind == RTE_RELATION && !rte->inh && rte->eref != nullptr &&
          (rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW)) {
        appendStringInfo(&names, "%s%s", names.len == 0 ? "" : ", ", rte->eref->aliasname);
      }
    }
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                    errmsg("ruvector_dag: relation \"%s\" of the advice is not a table of the query", alias),
                    errhint("Plan advice names the query's tables by their aliases: %s.",
                            names.len > 0 ? names.data : "(none)")));
  }
  if (matches > 1) {
    ereport(ERROR, (errcode(ERRCODE_AMBIGUOUS_ALIAS),
                    errmsg("ruvector_dag: relation \"%s\" of the advice names %d tables of the query", alias, matches),
                    errhint("Give the tables distinct aliases in the query.")));
  }
  return match;
}

uint64_t AliasKey(const PlannedStmt* stmt, const char* alias) {
  const RangeTblEntry* rte = ResolveAlias(stmt, alias);
  return RelKey(rte->relid, rte->eref->aliasname);
}

/// The relation set of `count` aliases in `stmt` (`relset` when count is 0:
/// given by id).
uint32_t ResolveSet(const PlannedStmt* stmt, const char (*aliases)[kAdviceNameLen], int count, uint32_t relset) {
  if (count == 0) return relset;
  uint64_t acc = 0;
  for (int i = 0; i < count; ++i) acc = RelSetAdd(acc, AliasKey(stmt, aliases[i]));
  return RelSetId(acc);
}

/// Errors unless `index` names an index of the table `alias` names.
void CheckIndex(const PlannedStmt* stmt, const char* alias, const char* index) {
  const RangeTblEntry* rte = ResolveAlias(stmt, alias);
  Relation rel = table_open(rte->relid, AccessShareLock);
  List* indexes = RelationGetIndexList(rel);
  bool found = false;
  ListCell* lc;
  foreach (lc, indexes) {
    const char* name = get_rel_name(lfirst_oid(lc));
    if (name != nullptr && strcmp(name, index) == 0) found = true;
  }
  list_free(indexes);
  table_close(rel, AccessShareLock);
  if (!found) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("ruvector_dag: \"%s\" is not an index of relation \"%s\" of the advice", index, alias)));
  }
}

/// Resolves the hints of `parsed` against `stmt` into *hints.
void ResolveHints(const PlannedStmt* stmt, const ParsedAdvice& parsed, PinnedHints* hints) {
  HintsOfAdvice(parsed, hints);
  for (int i = 0; i < parsed.hint_count; ++i) {
    const AdviceHint& h = parsed.hints[i];
    if (h.kind == HintKind::kLeading) {
      for (int k = 0; k < h.relation_count; ++k) hints->leading[k] = AliasKey(stmt, h.aliases[k]);
      continue;
    }
    hints->relsets[i] = ResolveSet(stmt, h.aliases, h.relation_count, h.relset);
    if (h.index[0] != '\0' && h.relation_count > 0) CheckIndex(stmt, h.aliases[0], h.index);
    for (int j = 0; j < i; ++j) {
      if (hints->relsets[j] == hints->relsets[i] &&
          ((IsJoinHint(h.kind) && IsJoinHint(hints->kinds[j])) || (IsScanHint(h.kind) && IsScanHint(hints->kinds[j])))) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ruvector_dag: two %s items of the advice name the same relations",
                               IsJoinHint(h.kind) ? "join method" : "scan method")));
      }
    }
  }
}

}  // namespace
}  // namespace ruvector_pg

/// dag_pin(query text, advice text) -> text: pins plan advice for the query
/// id of `query` in the current database; returns the advice as stored.
extern "C" Datum ruvector_dag_pin_advice(PG_FUNCTION_ARGS) {
  RequireSteer();
  if (PG_ARGISNULL(0)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: query must not be NULL")));
  }
  if (PG_ARGISNULL(1)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_dag: advice must not be NULL")));
  }
  text* arg = PG_GETARG_TEXT_PP(1);
  const size_t len = VARSIZE_ANY_EXHDR(arg);
  if (len > kMaxAdviceInput) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: advice is %zu bytes; at most %zu", len, kMaxAdviceInput)));
  }
  auto* parsed = static_cast<ParsedAdvice*>(palloc(sizeof(ParsedAdvice)));
  char error[160];
  if (!ParseAdvice(VARDATA_ANY(arg), len, parsed, error, sizeof(error))) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_dag: invalid plan advice: %s", error),
                    errhint("Plan advice is SET(name=value ...), ROWS(alias ... *factor), join method "
                            "(HASHJOIN(a b), ...), scan method (SEQSCAN(a), ...) and LEADING(a b ...) items, e.g. "
                            "SET(enable_nestloop=off) ROWS(orders customers *40) HASHJOIN(orders customers).")));
  }
  for (int i = 0; i < parsed->setting_count; ++i) {
    ValidateArmSetting(parsed->settings[i].name, parsed->settings[i].value, "plan advice");
  }
  auto* pin = static_cast<AdvicePin*>(palloc0(sizeof(AdvicePin)));
  *pin = AdvicePin();
  if (FormatAdvice(*parsed, pin->text, sizeof(pin->text)) >= sizeof(pin->text)) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: advice is longer than %d bytes when written canonically", kAdviceTextLen - 1)));
  }
  // The canonical text is what is stored and shown: take the factors from it.
  if (!ParseAdvice(pin->text, strlen(pin->text), parsed, error, sizeof(error))) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruvector_dag: canonical advice does not parse: %s", error)));
  }
  if (!AdviceSettingsLines(*parsed, pin->settings, sizeof(pin->settings))) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: the advice's settings are longer than %d bytes", kArmSettingsLen - 1)));
  }
  // Planned (never executed) with EXPLAIN's privilege checks: the query id
  // and the tables ROWS names come from the plan the caller may see.
  PlannedStmt* stmt = PlanQueryText(fcinfo, 0);
  if (stmt->queryId == 0) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: the query has no query id (compute_query_id is off)")));
  }
  for (int i = 0; i < parsed->rows_count; ++i) {
    pin->relsets[i] = ResolveSet(stmt, parsed->rows[i].aliases, parsed->rows[i].relation_count, parsed->rows[i].relset);
    pin->relation_counts[i] = static_cast<uint32_t>(parsed->rows[i].relation_count);
    pin->factors[i] = parsed->rows[i].factor;
    for (int j = 0; j < i; ++j) {
      if (pin->relsets[j] == pin->relsets[i]) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ruvector_dag: two ROWS items of the advice name the same relations")));
      }
    }
  }
  pin->rows_count = static_cast<uint32_t>(parsed->rows_count);
  ResolveHints(stmt, *parsed, &pin->hints);
  pin->query_id = stmt->queryId;
  pin->database_oid = MyDatabaseId;
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  bool ok = SetAdvicePin(g_steer, *pin);
  if (ok) RebuildQueryFilter(g_steer);
  LWLockRelease(g_steer_lock);
  if (!ok) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector_dag: at most %d queries can have pinned advice", kMaxAdvicePins)));
  }
  SaveSteerFile();
  PG_RETURN_TEXT_P(cstring_to_text(pin->text));
}

/// dag_pins() -> the current database's pins: (query_id, kind, arm, advice,
/// plans, failures).
extern "C" Datum ruvector_dag_pins(PG_FUNCTION_ARGS) {
  RequireSteer();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  auto* pins = static_cast<Pin*>(palloc(sizeof(Pin) * kMaxPins));
  auto* advice = static_cast<AdvicePin*>(palloc(sizeof(AdvicePin) * kMaxAdvicePins));
  auto* arms = static_cast<ArmDef*>(palloc(sizeof(ArmDef) * kMaxArms));
  LWLockAcquire(g_steer_lock, LW_SHARED);
  memcpy(pins, g_steer->pins, sizeof(Pin) * kMaxPins);
  memcpy(advice, g_steer->advice_pins, sizeof(AdvicePin) * kMaxAdvicePins);
  const uint32_t arm_count = g_steer->arm_count;
  memcpy(arms, g_steer->arms, sizeof(ArmDef) * kMaxArms);
  LWLockRelease(g_steer_lock);
  for (int i = 0; i < kMaxPins; ++i) {
    const Pin& p = pins[i];
    if (p.query_id == 0 || (p.database_oid != 0 && p.database_oid != MyDatabaseId)) continue;
    if (p.arm < 0 || static_cast<uint32_t>(p.arm) >= arm_count) continue;
    Datum v[6];
    bool nulls[6] = {false, false, false, true, true, true};
    v[0] = Int64GetDatum(static_cast<int64>(p.query_id));
    v[1] = TextDatum("arm");
    v[2] = TextDatum(arms[p.arm].name);
    char text[kAdviceTextLen] = {0};
    if (AppendSettingsAdvice(arms[p.arm].settings, text, sizeof(text))) {
      v[3] = TextDatum(text);
      nulls[3] = false;
    }
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  for (int i = 0; i < kMaxAdvicePins; ++i) {
    const AdvicePin& p = advice[i];
    if (p.query_id == 0 || p.database_oid != MyDatabaseId) continue;
    Datum v[6];
    bool nulls[6] = {false, false, true, false, false, false};
    v[0] = Int64GetDatum(static_cast<int64>(p.query_id));
    v[1] = TextDatum("advice");
    v[3] = TextDatum(p.text);
    v[4] = Int64GetDatum(static_cast<int64>(p.plans));
    v[5] = Int64GetDatum(static_cast<int64>(p.failures));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// The vector columns of dag_decisions(): vector_search (the deployed
/// setting, "tuning", or "default" when nothing reached the target),
/// vector_recall, vector_recall_lower, vector_samples, vector_ms of the
/// deployed setting (the exact search: recall 1, samples = its runs). All
/// NULL for patterns that are not vector patterns.
static void VectorColumns(const VectorPattern* p, Datum* v, bool* nulls) {
  for (int i = 0; i < 5; ++i) nulls[i] = true;
  if (p == nullptr) return;
  nulls[0] = false;
  if (p->settled == 0) {
    v[0] = TextDatum("tuning");
    return;
  }
  v[0] = TextDatum(ruvector_dag::VectorSettingName(p->deployed));
  if (p->deployed < 0) return;
  const ruvector_dag::VectorSettingStats& s = p->stats[p->deployed];
  const bool exact = p->deployed == ruvector_dag::kVectorExact;
  v[1] = Float8GetDatum(exact ? 1.0 : ruvector_dag::MeanRecall(s));
  v[2] = Float8GetDatum(exact ? 1.0 : ruvector_dag::RecallLowerBound(s));
  v[3] = Int32GetDatum(static_cast<int32>(exact ? s.runs : s.samples));
  v[4] = Float8GetDatum(ruvector_dag::MeanLatencyMs(s));
  for (int i = 1; i < 5; ++i) nulls[i] = false;
}

/// The plan advice its planning applies to decision `d` now: pinned advice
/// of its query (in its database), else a pinned arm's, else the deployed
/// arm's settings (with the vector search setting's) and, for
/// row_corrections, the published corrections. "" for PostgreSQL's plan.
static void DecisionAdvice(const Decision& d, const char (*settings)[kArmSettingsLen], uint32_t arm_count,
                           const Pin* pins, const AdvicePin* advice_pins, char* out, size_t cap) {
  out[0] = '\0';
  for (int i = 0; i < kMaxAdvicePins; ++i) {
    if (advice_pins[i].query_id == d.query_id && advice_pins[i].database_oid == d.database_oid) {
      strlcpy(out, advice_pins[i].text, cap);
      return;
    }
  }
  int arm = d.deployed_arm;
  int pinned_any = -1;
  for (int i = 0; i < kMaxPins; ++i) {
    if (pins[i].query_id != d.query_id || d.query_id == 0) continue;
    if (pins[i].database_oid == d.database_oid) pinned_any = pins[i].arm;
    if (pins[i].database_oid == 0 && pinned_any < 0) pinned_any = pins[i].arm;
  }
  const bool pinned = pinned_any >= 0;
  if (pinned) arm = pinned_any;
  if (arm < 0 || static_cast<uint32_t>(arm) >= arm_count) return;
  char* lines = static_cast<char*>(palloc(kArmSettingsLen * 2));
  strlcpy(lines, settings[arm], kArmSettingsLen * 2);
  if (!pinned && d.vector_setting >= 0) strlcat(lines, ruvector_dag::VectorSettingGucs(d.vector_setting), kArmSettingsLen * 2);
  AppendSettingsAdvice(lines, out, cap);
  pfree(lines);
  if (arm == kRowCorrectionsArm) CorrectionsAdvice(d.key, out, cap);
  if (IsHintArm(arm)) LearnedHintAdvice(d.key, out, cap);
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
  auto* vector = static_cast<VectorTable*>(palloc(sizeof(VectorTable)));
  *vector = g_steer->vector;
  auto* settings = static_cast<char (*)[kArmSettingsLen]>(palloc(kArmSettingsLen * kMaxArms));
  for (uint32_t i = 0; i < arm_count; ++i) strlcpy(settings[i], g_steer->arms[i].settings, kArmSettingsLen);
  auto* pins = static_cast<Pin*>(palloc(sizeof(Pin) * kMaxPins));
  memcpy(pins, g_steer->pins, sizeof(Pin) * kMaxPins);
  auto* advice_pins = static_cast<AdvicePin*>(palloc(sizeof(AdvicePin) * kMaxAdvicePins));
  memcpy(advice_pins, g_steer->advice_pins, sizeof(AdvicePin) * kMaxAdvicePins);
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
    Datum v[29];
    bool nulls[29] = {false};
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
    VectorColumns(FindVectorPattern(vector, d.key), v + 22, nulls + 22);
    char advice[kAdviceTextLen] = {0};
    DecisionAdvice(d, settings, arm_count, pins, advice_pins, advice, sizeof(advice));
    v[27] = TextDatum(advice);
    nulls[27] = advice[0] == '\0';
    v[28] = BoolGetDatum(d.split != 0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}

/// dag_vector_tuning() -> per vector pattern (of the rows the caller may
/// see, as dag_decisions) and search setting: what the explorer measured.
extern "C" Datum ruvector_dag_vector_tuning(PG_FUNCTION_ARGS) {
  RequireSteer();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  auto* table = static_cast<VectorTable*>(palloc(sizeof(VectorTable)));
  LWLockAcquire(g_steer_lock, LW_SHARED);
  *table = g_steer->vector;
  LWLockRelease(g_steer_lock);
  const RowVisibility vis = CallerVisibility();
  ruvector_dag::VectorTuningOptions options;
  for (const VectorPattern& p : table->patterns) {
    if (p.key == 0 || !vis.Allows(p.database_oid, p.role_oid)) continue;
    options.target = p.target > 0.0 ? p.target : g_vector_recall_target;
    for (int i = 0; i < ruvector_dag::kVectorSettingCount; ++i) {
      const ruvector_dag::VectorSettingStats& s = p.stats[i];
      const bool exact = i == ruvector_dag::kVectorExact;
      Datum v[14];
      bool nulls[14] = {false};
      v[0] = Int64GetDatum(static_cast<int64>(p.key));
      v[1] = Int64GetDatum(static_cast<int64>(p.query_id));
      v[2] = TextDatum(ruvector_dag::VectorSettingName(i));
      v[3] = Int32GetDatum(static_cast<int32>(exact ? s.runs : s.samples));
      v[4] = Float8GetDatum(exact ? 1.0 : ruvector_dag::MeanRecall(s));
      nulls[4] = !exact && s.samples == 0;
      v[5] = Float8GetDatum(exact ? 1.0 : ruvector_dag::RecallLowerBound(s));
      nulls[5] = nulls[4];
      v[6] = Int32GetDatum(static_cast<int32>(s.runs));
      v[7] = Float8GetDatum(ruvector_dag::MeanLatencyMs(s));
      nulls[7] = s.runs == 0;
      v[8] = Int32GetDatum(static_cast<int32>(s.timeouts));
      v[9] = BoolGetDatum(ruvector_dag::VectorSettingEligible(p.stats, i, options));
      v[10] = BoolGetDatum(p.settled != 0 && p.deployed == i);
      v[11] = BoolGetDatum(!exact && (p.measure_mask & (1u << i)) != 0);
      v[12] = Float8GetDatum(options.target);
      v[13] = Int32GetDatum(static_cast<int32>(p.k));
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
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
    nulls[8] = !has_pattern || !(e.arm_ms > 0.0);  // 0: the arm has no latency of its own
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
  const bool done = WakeWorkerUntil(
      [&]() {
        LWLockAcquire(g_steer_lock, LW_SHARED);
        const bool caught_up =
            g_steer->learned_through_seq >= target && g_steer->counters.learn_passes >= passes_before + 2;
        LWLockRelease(g_steer_lock);
        return caught_up;
      },
      10000);
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint64_t learned = g_steer->counters.trajectories_learned - learned_before;
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

