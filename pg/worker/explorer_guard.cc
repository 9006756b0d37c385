// PG zone: the background explorer's re-execution rule (explorer_guard.h).
#include "worker/explorer_guard.h"

#include <cstdarg>

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_type.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"
}

namespace ruvector_pg {

bool CurrentSearchPath(char* out, size_t cap) {
  List* path = fetch_search_path(false);
  size_t used = 0;
  bool fits = cap > 0;
  if (fits) out[0] = '\0';
  ListCell* lc;
  foreach (lc, path) {
    const Oid nsp = lfirst_oid(lc);
    // The explorer has no temporary schema of its own: a statement that
    // resolved a name there resolves it elsewhere on replay, which the query
    // id check then refuses.
    if (isAnyTempNamespace(nsp)) continue;
    char* name = get_namespace_name(nsp);
    if (name == nullptr) continue;  // dropped concurrently
    const char* quoted = quote_identifier(name);
    const size_t need = strlen(quoted) + (used > 0 ? 2 : 0);
    if (used + need + 1 > cap) {
      fits = false;
      break;
    }
    if (used > 0) {
      memcpy(out + used, ", ", 2);
      used += 2;
    }
    memcpy(out + used, quoted, strlen(quoted));
    used += strlen(quoted);
    out[used] = '\0';
  }
  list_free(path);
  return fits;
}

namespace {

/// State of one trust walk: the role the statement is replayed as, the
/// objects already found trusted (each catalog lookup once), and the reason
/// of the first refusal.
struct TrustWalk {
  Oid role = InvalidOid;
  List* functions = NIL;
  List* operators = NIL;
  List* types = NIL;
  List* relations = NIL;
  char* why = nullptr;
  size_t why_cap = 0;
};

/// Records the reason and stops the walk (walkers stop on true).
bool Refuse(TrustWalk* w, const char* fmt, ...) pg_attribute_printf(2, 3);
bool Refuse(TrustWalk* w, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(w->why, w->why_cap, fmt, args);
  va_end(args);
  return true;
}

/// A trusted owner: the role the statement runs as, or a superuser (who
/// could run anything as anyone anyway). Any other owner could change the
/// object after capture and have the explorer run its code as this role.
bool TrustedOwner(const TrustWalk* w, Oid owner) { return owner == w->role || superuser_arg(owner); }

bool Seen(List** seen, Oid oid) {
  if (list_member_oid(*seen, oid)) return true;
  *seen = lappend_oid(*seen, oid);
  return false;
}

/// A role as the rule sees it: pg_database_owner (the default owner of
/// `public` since PostgreSQL 15) stands for the current database's owner.
Oid EffectiveRole(Oid role) {
  if (role != ROLE_PG_DATABASE_OWNER) return role;
  HeapTuple tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
  if (!HeapTupleIsValid(tup)) return role;
  const Oid owner = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup))->datdba;
  ReleaseSysCache(tup);
  return owner;
}

/// Whether a role that is neither the statement's nor a superuser can
/// create objects in schema `nsp` -- its owner, or a role (or PUBLIC)
/// granted CREATE on it: such a role could add, after capture, a function or
/// operator that a name resolved at run time then means. Sets *name.
bool SchemaOpenToOthers(Oid nsp, const TrustWalk* w, NameData* name) {
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) return false;  // dropped concurrently: resolves nothing
  auto* form = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tup));
  bool open = !TrustedOwner(w, EffectiveRole(form->nspowner));
  *name = form->nspname;
  bool isnull = false;
  const Datum acl_datum = SysCacheGetAttr(NAMESPACEOID, tup, Anum_pg_namespace_nspacl, &isnull);
  if (!open && !isnull) {
    Acl* acl = DatumGetAclPCopy(acl_datum);
    const AclItem* items = ACL_DAT(acl);
    for (int i = 0; i < ACL_NUM(acl) && !open; ++i) {
      if ((ACLITEM_GET_PRIVS(items[i]) & ACL_CREATE) == 0) continue;
      open = items[i].ai_grantee == ACL_ID_PUBLIC || !TrustedOwner(w, EffectiveRole(items[i].ai_grantee));
    }
    pfree(acl);
  }
  ReleaseSysCache(tup);
  return open;
}

/// The search path the statement is analyzed and planned under (the
/// captured one at replay), checked before the statement is even parsed:
/// parse analysis resolves its type, function and operator names there
/// (and converts a literal into a type it names, running that type's domain
/// checks), and so do the bodies of SQL functions the planner inlines and of
/// PL/pgSQL functions it calls, which the statement's tree does not show. A
/// role that can create objects in a schema of the path could add one there
/// after capture that such a name then means (an exact-match overload wins
/// wherever its schema is in the path).
bool CheckSearchPath(TrustWalk* w) {
  List* path = fetch_search_path(false);
  bool refused = false;
  ListCell* lc;
  foreach (lc, path) {
    const Oid nsp = lfirst_oid(lc);
    if (isAnyTempNamespace(nsp)) continue;  // the explorer has none (CurrentSearchPath)
    NameData name;
    if (SchemaOpenToOthers(nsp, w, &name)) {
      refused = Refuse(w,
                       "its search_path has schema %s, where a role that is neither the statement's nor a "
                       "superuser can create objects",
                       NameStr(name));
      break;
    }
  }
  list_free(path);
  return refused;
}

/// A function's own `SET search_path` (proconfig): its body resolves names
/// there, whatever the statement's path.
bool CheckFunctionPath(const char* function, char* setting, TrustWalk* w) {
  List* names = NIL;
  if (!SplitIdentifierString(setting, ',', &names)) {
    return Refuse(w, "calls function %s, whose search_path setting cannot be parsed", function);
  }
  bool refused = false;
  ListCell* lc;
  foreach (lc, names) {
    const char* schema = static_cast<const char*>(lfirst(lc));
    Oid nsp = InvalidOid;
    if (strcmp(schema, "$user") == 0) {
      nsp = get_namespace_oid(GetUserNameFromId(w->role, false), true);
    } else if (strcmp(schema, "pg_temp") != 0) {
      nsp = get_namespace_oid(schema, true);
    }
    NameData name;
    if (OidIsValid(nsp) && SchemaOpenToOthers(nsp, w, &name)) {
      refused = Refuse(w,
                       "calls function %s, whose own search_path has schema %s, where a role that is neither "
                       "the statement's nor a superuser can create objects",
                       function, NameStr(name));
      break;
    }
  }
  list_free(names);
  return refused;
}

/// The search_path setting of a function (palloc'd; nullptr when none).
char* FunctionSearchPath(HeapTuple proc_tuple) {
  bool isnull = false;
  const Datum config = SysCacheGetAttr(PROCOID, proc_tuple, Anum_pg_proc_proconfig, &isnull);
  if (isnull) return nullptr;
  Datum* items = nullptr;
  bool* nulls = nullptr;
  int n = 0;
  deconstruct_array(DatumGetArrayTypeP(config), TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
  char* path = nullptr;
  for (int i = 0; i < n && path == nullptr; ++i) {
    if (nulls[i]) continue;
    char* item = TextDatumGetCString(items[i]);
    constexpr char kKey[] = "search_path=";
    if (strncmp(item, kKey, sizeof(kKey) - 1) == 0) path = pstrdup(item + sizeof(kKey) - 1);
    pfree(item);
  }
  return path;
}

/// A type input function called directly -- domain_in('1', 'some_domain'::
/// regtype, -1), record_in, array_in, range_in: the type it converts into
/// (running its domain checks) is an argument's value, which the rule cannot
/// check. Type input functions take a cstring; coercions call them through
/// CoerceViaIO, whose result type is checked, never as a FuncExpr.
bool CheckDirectCall(Oid fn, TrustWalk* w) {
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tup)) return false;  // CheckFunction refuses it
  auto* proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
  bool takes_cstring = false;
  for (int i = 0; i < proc->pronargs; ++i) takes_cstring = takes_cstring || proc->proargtypes.values[i] == CSTRINGOID;
  NameData name = proc->proname;
  ReleaseSysCache(tup);
  if (!takes_cstring) return false;
  return Refuse(w, "calls type input function %s directly (the type it converts into is a value)", NameStr(name));
}

bool CheckFunction(Oid fn, TrustWalk* w);

bool CheckFunctionCallback(Oid fn, void* context) { return CheckFunction(fn, static_cast<TrustWalk*>(context)); }

/// Built-in (and contrib) functions that run SQL of their own at execution time: the
/// relations and queries they read (named by a regclass, a schema, the
/// whole database, or a text) are not in the statement's tree, so the rule
/// cannot check who owns what they run -- another role's view, row-security
/// policy or function behind a table named by `table_to_xml('t'::regclass)`
/// would run as the statement's role. Identified by their C symbol (prosrc),
/// whatever their name or schema. Most are volatile and refused for that
/// already; the table, schema and database ones are STABLE.
constexpr const char* kSqlRunningBuiltins[] = {
    "table_to_xml",      "table_to_xmlschema",      "table_to_xml_and_xmlschema",
    "schema_to_xml",     "schema_to_xmlschema",     "schema_to_xml_and_xmlschema",
    "database_to_xml",   "database_to_xmlschema",   "database_to_xml_and_xmlschema",
    "query_to_xml",      "query_to_xmlschema",      "query_to_xml_and_xmlschema",
    "cursor_to_xml",     "cursor_to_xmlschema",     "ts_stat1",
    "ts_stat2",          "tsquery_rewrite_query",
    // contrib: tablefunc's crosstab and connectby, xml2's xpath_table (C,
    // STABLE, superuser-owned; their SQL text is an argument).
    "crosstab",          "crosstab_hash",           "connectby_text",
    "connectby_text_serial", "xpath_table",
};

bool RunsSqlOfItsOwn(HeapTuple proc_tuple) {
  bool isnull = false;
  const Datum src = SysCacheGetAttr(PROCOID, proc_tuple, Anum_pg_proc_prosrc, &isnull);
  if (isnull) return false;
  char* symbol = TextDatumGetCString(src);
  bool found = false;
  for (const char* s : kSqlRunningBuiltins) found = found || strcmp(symbol, s) == 0;
  pfree(symbol);
  return found;
}

/// Functions: the owner decides the body. Aggregates also run their
/// support functions.
bool CheckFunction(Oid fn, TrustWalk* w) {
  if (!OidIsValid(fn) || Seen(&w->functions, fn)) return false;
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "calls function %u, which no longer exists", fn);
  auto* proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
  const Oid owner = proc->proowner;
  const char kind = proc->prokind;
  NameData name = proc->proname;
  const Oid language = proc->prolang;
  const bool runs_sql = (language == INTERNALlanguageId || language == ClanguageId) && RunsSqlOfItsOwn(tup);
  // A function with its own SET search_path resolves the names of its body
  // there, not in the statement's path.
  char* own_path = FunctionSearchPath(tup);
  ReleaseSysCache(tup);
  if (runs_sql) {
    return Refuse(w, "calls function %s, which runs SQL that the statement does not show", NameStr(name));
  }
  if (!TrustedOwner(w, owner)) {
    return Refuse(w, "calls function %s, owned by a role that is neither the statement's nor a superuser",
                  NameStr(name));
  }
  if (own_path != nullptr && CheckFunctionPath(NameStr(name), own_path, w)) return true;
  if (kind != PROKIND_AGGREGATE) return false;
  tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "aggregate %s has no pg_aggregate entry", NameStr(name));
  auto* agg = reinterpret_cast<Form_pg_aggregate>(GETSTRUCT(tup));
  const Oid support[] = {agg->aggtransfn,  agg->aggfinalfn,  agg->aggcombinefn,   agg->aggserialfn,
                         agg->aggdeserialfn, agg->aggmtransfn, agg->aggminvtransfn, agg->aggmfinalfn};
  ReleaseSysCache(tup);
  for (Oid f : support) {
    if (CheckFunction(f, w)) return true;
  }
  return false;
}

/// Operators: the owner can change the estimators the planner calls
/// (ALTER OPERATOR ... SET RESTRICT/JOIN); the function is checked too.
bool CheckOperator(Oid opno, TrustWalk* w) {
  if (!OidIsValid(opno) || Seen(&w->operators, opno)) return false;
  HeapTuple tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "uses operator %u, which no longer exists", opno);
  auto* op = reinterpret_cast<Form_pg_operator>(GETSTRUCT(tup));
  const Oid owner = op->oprowner;
  const Oid funcs[] = {op->oprcode, op->oprrest, op->oprjoin};
  NameData name = op->oprname;
  ReleaseSysCache(tup);
  if (!TrustedOwner(w, owner)) {
    return Refuse(w, "uses operator %s, owned by a role that is neither the statement's nor a superuser",
                  NameStr(name));
  }
  for (Oid f : funcs) {
    if (CheckFunction(f, w)) return true;
  }
  return false;
}

bool CheckType(Oid type, TrustWalk* w);

/// The column types of a composite type (a table's row type or a CREATE
/// TYPE ... AS): converting a value into the row converts each column into
/// its type (json_populate_record, a row cast), running its domain checks.
bool CheckRowColumns(Oid relid, TrustWalk* w) {
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "uses row type of relation %u, which no longer exists", relid);
  const int natts = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relnatts;
  ReleaseSysCache(tup);
  for (int a = 1; a <= natts; ++a) {
    HeapTuple att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(static_cast<int16>(a)));
    if (!HeapTupleIsValid(att)) continue;
    auto* form = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(att));
    const Oid column_type = form->attisdropped ? InvalidOid : form->atttypid;
    ReleaseSysCache(att);
    if (CheckType(column_type, w)) return true;
  }
  return false;
}

bool CheckTypeList(List* types, TrustWalk* w) {
  ListCell* lc;
  foreach (lc, types) {
    if (CheckType(lfirst_oid(lc), w)) return true;
  }
  return false;
}

/// Types: a domain's owner can add constraints (run at every coercion), a
/// type's I/O and subscripting functions run on its values, and a
/// composite's columns have types of their own.
bool CheckType(Oid type, TrustWalk* w) {
  if (!OidIsValid(type) || Seen(&w->types, type)) return false;
  HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "uses type %u, which no longer exists", type);
  auto* t = reinterpret_cast<Form_pg_type>(GETSTRUCT(tup));
  const Oid owner = t->typowner;
  const Oid base = t->typtype == TYPTYPE_DOMAIN ? t->typbasetype : InvalidOid;
  const Oid elem = t->typelem;
  const Oid row = t->typtype == TYPTYPE_COMPOSITE ? t->typrelid : InvalidOid;
  const bool range = t->typtype == TYPTYPE_RANGE;
  // A multirange's values are its range type's.
  const Oid multirange_of = t->typtype == TYPTYPE_MULTIRANGE ? get_multirange_range(type) : InvalidOid;
  const Oid funcs[] = {t->typinput, t->typoutput, t->typreceive, t->typsend, t->typsubscript};
  NameData name = t->typname;
  ReleaseSysCache(tup);
  if (!TrustedOwner(w, owner)) {
    return Refuse(w, "uses type %s, owned by a role that is neither the statement's nor a superuser", NameStr(name));
  }
  for (Oid f : funcs) {
    if (CheckFunction(f, w)) return true;
  }
  if (OidIsValid(row) && CheckRowColumns(row, w)) return true;
  if (range) {
    // A range's subtype, and its canonical and subtype_diff functions.
    HeapTuple rng = SearchSysCache1(RANGETYPE, ObjectIdGetDatum(type));
    if (!HeapTupleIsValid(rng)) return Refuse(w, "range type %s has no pg_range entry", NameStr(name));
    auto* r = reinterpret_cast<Form_pg_range>(GETSTRUCT(rng));
    const Oid subtype = r->rngsubtype, canonical = r->rngcanonical, diff = r->rngsubdiff;
    ReleaseSysCache(rng);
    if (CheckType(subtype, w) || CheckFunction(canonical, w) || CheckFunction(diff, w)) return true;
  }
  return CheckType(base, w) || CheckType(elem, w) || CheckType(multirange_of, w);
}

/// Relations in range tables (tables, views -- whose OLD entry stays in the
/// expanded view's range table --, materialized views): the owner can change
/// a view's query, row-security policies, and so on. Foreign tables are
/// refused: reading one runs a foreign-data wrapper against another server.
bool CheckRelation(Oid relid, TrustWalk* w) {
  if (!OidIsValid(relid) || Seen(&w->relations, relid)) return false;
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tup)) return Refuse(w, "reads relation %u, which no longer exists", relid);
  auto* rel = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup));
  const Oid owner = rel->relowner;
  const char kind = rel->relkind;
  const Oid rowtype = rel->reltype;
  NameData name = rel->relname;
  ReleaseSysCache(tup);
  if (kind == RELKIND_FOREIGN_TABLE) return Refuse(w, "reads foreign table %s", NameStr(name));
  if (!TrustedOwner(w, owner)) {
    return Refuse(w, "reads relation %s, owned by a role that is neither the statement's nor a superuser",
                  NameStr(name));
  }
  return CheckType(rowtype, w);
}

bool CheckSortGroup(const SortGroupClause* sgc, TrustWalk* w) {
  return CheckOperator(sgc->eqop, w) || CheckOperator(sgc->sortop, w);
}

bool CheckSortGroupList(List* list, TrustWalk* w) {
  ListCell* lc;
  foreach (lc, list) {
    if (CheckSortGroup(lfirst_node(SortGroupClause, lc), w)) return true;
  }
  return false;
}

bool TrustWalker(Node* node, TrustWalk* w);

bool WalkQuery(Query* q, TrustWalk* w) {
  // Sorting, grouping and DISTINCT name operators outside the expression
  // trees the walker visits.
  if (CheckSortGroupList(q->sortClause, w) || CheckSortGroupList(q->groupClause, w) ||
      CheckSortGroupList(q->distinctClause, w)) {
    return true;
  }
  ListCell* lc;
  foreach (lc, q->windowClause) {
    auto* wc = lfirst_node(WindowClause, lc);
    if (CheckSortGroupList(wc->partitionClause, w) || CheckSortGroupList(wc->orderClause, w) ||
        CheckFunction(wc->startInRangeFunc, w) || CheckFunction(wc->endInRangeFunc, w)) {
      return true;
    }
  }
  using Walker = bool (*)();
  return query_tree_walker(q, reinterpret_cast<Walker>(TrustWalker), w, QTW_EXAMINE_RTES_BEFORE);
}

/// The type an expression node produces (only for node kinds that carry a
/// type; exprType raises an error on others).
Oid ProducedType(Node* node) {
  switch (nodeTag(node)) {
    case T_Var:
    case T_Const:
    case T_Param:
    case T_FuncExpr:
    case T_OpExpr:
    case T_DistinctExpr:
    case T_NullIfExpr:
    case T_Aggref:
    case T_WindowFunc:
    case T_SubscriptingRef:
    case T_CoerceViaIO:
    case T_ArrayCoerceExpr:
    case T_RelabelType:
    case T_ConvertRowtypeExpr:
    case T_CoerceToDomain:
    case T_RowExpr:
    case T_ArrayExpr:
    case T_FieldSelect:
    case T_FieldStore:
    case T_CaseExpr:
    case T_CoalesceExpr:
    case T_MinMaxExpr:
      return exprType(node);
    default:
      return InvalidOid;
  }
}

bool TrustWalker(Node* node, TrustWalk* w) {
  if (node == nullptr) return false;
  if (IsA(node, Query)) return WalkQuery(reinterpret_cast<Query*>(node), w);
  if (IsA(node, RangeTblEntry)) {
    // Examined before its contents (subquery, function calls, values,
    // security quals), which query_tree_walker visits next.
    auto* rte = reinterpret_cast<RangeTblEntry*>(node);
    if (rte->rtekind == RTE_RELATION) {
      if (CheckRelation(rte->relid, w)) return true;
      if (rte->tablesample != nullptr && CheckFunction(rte->tablesample->tsmhandler, w)) return true;
    }
    // Column types no expression of the query needs to mention: a function's
    // column definition list (jsonb_to_record(...) AS x(a some_domain)
    // converts into each), XMLTABLE's COLUMNS, VALUES and CTE columns.
    if (rte->rtekind == RTE_FUNCTION) {
      ListCell* lc;
      foreach (lc, rte->functions) {
        if (CheckTypeList(lfirst_node(RangeTblFunction, lc)->funccoltypes, w)) return true;
      }
    }
    return CheckTypeList(rte->coltypes, w);
  }
  if (IsA(node, TableFunc) && CheckTypeList(reinterpret_cast<TableFunc*>(node)->coltypes, w)) return true;
  if (IsA(node, SortGroupClause)) return CheckSortGroup(reinterpret_cast<SortGroupClause*>(node), w);
  if (IsA(node, SetOperationStmt)) {
    if (CheckSortGroupList(reinterpret_cast<SetOperationStmt*>(node)->groupClauses, w)) return true;
  }
  // Every function the node calls (FuncExpr, the functions of operators,
  // Aggref, WindowFunc, CoerceViaIO's I/O functions, RowCompareExpr, ...).
  if (check_functions_in_node(node, CheckFunctionCallback, w)) return true;
  switch (nodeTag(node)) {
    case T_FuncExpr:
      if (CheckDirectCall(reinterpret_cast<FuncExpr*>(node)->funcid, w)) return true;
      break;
    case T_OpExpr:
    case T_DistinctExpr:
    case T_NullIfExpr:
      if (CheckOperator(reinterpret_cast<OpExpr*>(node)->opno, w)) return true;
      break;
    case T_ScalarArrayOpExpr:
      if (CheckOperator(reinterpret_cast<ScalarArrayOpExpr*>(node)->opno, w)) return true;
      break;
    case T_RowCompareExpr: {
      ListCell* lc;
      foreach (lc, reinterpret_cast<RowCompareExpr*>(node)->opnos) {
        if (CheckOperator(lfirst_oid(lc), w)) return true;
      }
      break;
    }
    case T_SubscriptingRef:
      if (CheckType(reinterpret_cast<SubscriptingRef*>(node)->refcontainertype, w)) return true;
      break;
    default:
      break;
  }
  if (CheckType(ProducedType(node), w)) return true;
  using Walker = bool (*)();
  return expression_tree_walker(node, reinterpret_cast<Walker>(TrustWalker), w);
}

}  // namespace

Query* AnalyzeForReplay(const char* text, const Oid* param_types, int nparams, Oid role, uint64 query_id,
                        char* why, size_t why_cap) {
  auto refuse = [&](const char* reason) -> Query* {
    strlcpy(why, reason, why_cap);
    return nullptr;
  };
  TrustWalk w;
  w.role = role;
  w.why = why;
  w.why_cap = why_cap;
  if (CheckSearchPath(&w)) return nullptr;
  List* raw = pg_parse_query(text);
  if (list_length(raw) != 1) return refuse("not a single statement");
  List* queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), text, param_types, nparams, nullptr);
  if (list_length(queries) != 1) return refuse("rewritten into several statements");
  Query* q = linitial_node(Query, queries);
  if (q->commandType != CMD_SELECT || q->utilityStmt != nullptr) return refuse("not a SELECT");
  if (q->hasModifyingCTE || q->rowMarks != NIL) return refuse("modifies or locks rows");
  if (contain_volatile_functions(reinterpret_cast<Node*>(q))) return refuse("calls a volatile function");
  // Parameter values are converted with their types' input functions.
  for (int i = 0; i < nparams; ++i) {
    if (CheckType(param_types[i], &w)) return nullptr;
  }
  if (WalkQuery(q, &w)) return nullptr;
  // The same text under the same search_path can still mean another
  // statement (a table created earlier in the path, a function overload).
  if (query_id == 0 || q->queryId != query_id) {
    snprintf(why, why_cap, "replay no longer matches the captured statement (query id %lld, captured %lld)",
             static_cast<long long>(q->queryId), static_cast<long long>(query_id));
    return nullptr;
  }
  return q;
}

}  // namespace ruvector_pg
