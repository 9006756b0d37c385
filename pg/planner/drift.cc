// PG zone: drift detection. A ProcessUtility hook turns ANALYZE, DDL and
// planner-setting changes into drift notices scoped to the relations (or the
// session) they can change plans of; the learner forgets only what a notice
// covers.
#include "shim.h"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_statistic_ext.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/syscache.h"
}

#include "extension.h"
#include "guard.h"
#include "planner/drift.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"

namespace ruvector_pg {
namespace {

ProcessUtility_hook_type g_prev_process_utility = nullptr;

}  // namespace

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

// --- notices wait for their transaction ---------------------------------------------
//
// A change is drift only once it is committed: a TRUNCATE or ANALYZE that is
// rolled back changed nothing (a role allowed to run one could otherwise
// make the worker re-check other roles' arms at will). The notices of a
// statement wait in this backend, each with the subtransaction it ran in,
// and are published when the transaction commits (or is prepared),
// dropped when it or their subtransaction aborts. ALTER SYSTEM cannot run
// in a transaction block and is not undone by an abort: published at once.

struct PendingNotice {
  DriftNotice notice;
  SubTransactionId subxact;
};
constexpr int kMaxPendingNotices = 64;  // the shared ring's size: more would overwrite the oldest
PendingNotice g_pending[kMaxPendingNotices];
int g_pending_count = 0;

/// Publishes the first `count` queued notices and drops them from the queue.
void PublishQueued(int count) {
  if (count > 0 && g_steer != nullptr) {
    LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
    for (int i = 0; i < count; ++i) AppendDrift(g_steer, g_pending[i].notice);
    LWLockRelease(g_steer_lock);
  }
  std::memmove(&g_pending[0], &g_pending[count], sizeof(PendingNotice) * (g_pending_count - count));
  g_pending_count -= count;
}

/// Queues a notice for the commit; a statement that would queue more than
/// the ring holds publishes the oldest queued ones now (as before).
void QueueNotice(const DriftNotice& notice) {
  if (g_pending_count == kMaxPendingNotices) PublishQueued(1);
  g_pending[g_pending_count++] = PendingNotice{notice, GetCurrentSubTransactionId()};
}

void NoticesAtXactEnd(XactEvent event, void*) {
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE) {
    PublishQueued(g_pending_count);
  } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
    g_pending_count = 0;
  }
}

void NoticesAtSubXactEnd(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
  if (event == SUBXACT_EVENT_COMMIT_SUB) {
    for (int i = 0; i < g_pending_count; ++i) {
      if (g_pending[i].subxact == sub) g_pending[i].subxact = parent;
    }
  } else if (event == SUBXACT_EVENT_ABORT_SUB) {
    int kept = 0;
    for (int i = 0; i < g_pending_count; ++i) {
      if (g_pending[i].subxact < sub) g_pending[kept++] = g_pending[i];
    }
    g_pending_count = kept;
  }
}

void ProcessUtilityHook(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                        DestReceiver* dest, QueryCompletion* qc) {
  DriftTarget drift;
  if (g_steer != nullptr && g_enabled) drift = DriftOf(pstmt->utilityStmt);
  // An EXECUTE (or EXPLAIN EXECUTE) gets its cached plan below: re-planned
  // first when the decisions served changed (steering.h; O(1)).
  ReplanCachedIfServingChanged();
  // The statements of a DO block or a procedure are nested, not a client's.
  const bool procedural =
      pstmt->utilityStmt != nullptr && (IsA(pstmt->utilityStmt, DoStmt) || IsA(pstmt->utilityStmt, CallStmt));
  const bool top = procedural && BeginProceduralUtility();
  PG_TRY();
  {
    if (g_prev_process_utility != nullptr) {
      g_prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    } else {
      standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    }
  }
  PG_FINALLY();
  {
    if (procedural) EndProceduralUtility(top);
  }
  PG_END_TRY();
  if (drift.severity > 0.0 && (drift.every_relation || drift.relations != NIL)) {
    DriftNotice notice;
    notice.database_oid = drift.all_databases ? 0 : MyDatabaseId;
    notice.role_oid = GetUserId();
    notice.severity = drift.severity;
    if (drift.every_relation) {
      notice.relation_count = -1;
      QueueNotice(notice);
      if (IsA(pstmt->utilityStmt, AlterSystemStmt)) PublishQueued(g_pending_count);  // not transactional
    } else {
      // kDriftRelations per notice.
      ListCell* lc;
      foreach (lc, drift.relations) {
        notice.relations[notice.relation_count++] = lfirst_oid(lc);
        if (notice.relation_count == kDriftRelations || lnext(drift.relations, lc) == nullptr) {
          QueueNotice(notice);
          notice.relation_count = 0;
        }
      }
    }
  }
}

}  // namespace

void InstallDriftHook() {
  g_prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = ProcessUtilityHook;
  RegisterXactCallback(NoticesAtXactEnd, nullptr);
  RegisterSubXactCallback(NoticesAtSubXactEnd, nullptr);
}


}  // namespace ruvector_pg
