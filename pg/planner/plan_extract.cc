// PG zone: PlannedStmt / PlanState -> PlanSnapshot (plain data).
#include "ruvector_dag/dag.h"

#include "shim.h"

extern "C" {
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
}

#include "planner/plan_extract.h"
#include "worker/row_corrections.h"

namespace ruvector_pg {
namespace {

using ruvector_dag::OperatorType;

uint8_t TypeOf(const Plan* plan) {
  auto t = [](OperatorType type) { return static_cast<uint8_t>(type); };
  switch (nodeTag(plan)) {
    case T_Result: return t(OperatorType::kResult);
    case T_ProjectSet: return t(OperatorType::kProjectSet);
    case T_ModifyTable: return t(OperatorType::kModifyTable);
    case T_Append: return t(OperatorType::kAppend);
    case T_MergeAppend: return t(OperatorType::kMergeAppend);
    case T_RecursiveUnion: return t(OperatorType::kRecursiveUnion);
    case T_BitmapAnd: return t(OperatorType::kBitmapAnd);
    case T_BitmapOr: return t(OperatorType::kBitmapOr);
    case T_SeqScan: return t(OperatorType::kSeqScan);
    case T_SampleScan: return t(OperatorType::kSampleScan);
    case T_IndexScan: return t(OperatorType::kIndexScan);
    case T_IndexOnlyScan: return t(OperatorType::kIndexOnlyScan);
    case T_BitmapIndexScan: return t(OperatorType::kBitmapIndexScan);
    case T_BitmapHeapScan: return t(OperatorType::kBitmapHeapScan);
    case T_TidScan: return t(OperatorType::kTidScan);
    case T_TidRangeScan: return t(OperatorType::kTidRangeScan);
    case T_SubqueryScan: return t(OperatorType::kSubqueryScan);
    case T_FunctionScan: return t(OperatorType::kFunctionScan);
    case T_ValuesScan: return t(OperatorType::kValuesScan);
    case T_TableFuncScan: return t(OperatorType::kTableFunctionScan);
    case T_CteScan: return t(OperatorType::kCteScan);
    case T_NamedTuplestoreScan: return t(OperatorType::kNamedTuplestoreScan);
    case T_WorkTableScan: return t(OperatorType::kWorkTableScan);
    case T_ForeignScan: return t(OperatorType::kForeignScan);
    case T_CustomScan: return t(OperatorType::kCustomScan);
    case T_NestLoop: return t(OperatorType::kNestedLoop);
    case T_MergeJoin: return t(OperatorType::kMergeJoin);
    case T_HashJoin: return t(OperatorType::kHashJoin);
    case T_Material: return t(OperatorType::kMaterialize);
    case T_Memoize: return t(OperatorType::kMemoize);
    case T_Sort: return t(OperatorType::kSort);
    case T_IncrementalSort: return t(OperatorType::kIncrementalSort);
    case T_Group: return t(OperatorType::kGroup);
    case T_Agg: return t(OperatorType::kAggregate);
    case T_WindowAgg: return t(OperatorType::kWindowAgg);
    case T_Unique: return t(OperatorType::kUnique);
    case T_Gather: return t(OperatorType::kGather);
    case T_GatherMerge: return t(OperatorType::kGatherMerge);
    case T_Hash: return t(OperatorType::kHash);
    case T_SetOp: return t(OperatorType::kSetOp);
    case T_LockRows: return t(OperatorType::kLockRows);
    case T_Limit: return t(OperatorType::kLimit);
    default: return t(OperatorType::kCustomScan);  // unknown future node: counted, typed generically
  }
}

const char* JoinTypeName(JoinType jt) {
  switch (jt) {
    case JOIN_INNER: return "Inner";
    case JOIN_LEFT: return "Left";
    case JOIN_FULL: return "Full";
    case JOIN_RIGHT: return "Right";
    case JOIN_SEMI: return "Semi";
    case JOIN_ANTI: return "Anti";
    default: return "Other";
  }
}

const char* DetailOf(const Plan* plan) {
  switch (nodeTag(plan)) {
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin:
      return JoinTypeName(reinterpret_cast<const Join*>(plan)->jointype);
    case T_Agg:
      switch (reinterpret_cast<const Agg*>(plan)->aggstrategy) {
        case AGG_PLAIN: return "Plain";
        case AGG_SORTED: return "Sorted";
        case AGG_HASHED: return "Hashed";
        case AGG_MIXED: return "Mixed";
      }
      return nullptr;
    case T_SetOp:
      switch (reinterpret_cast<const SetOp*>(plan)->cmd) {
        case SETOPCMD_INTERSECT: return "Intersect";
        case SETOPCMD_INTERSECT_ALL: return "Intersect All";
        case SETOPCMD_EXCEPT: return "Except";
        case SETOPCMD_EXCEPT_ALL: return "Except All";
      }
      return nullptr;
    case T_ModifyTable:
      switch (reinterpret_cast<const ModifyTable*>(plan)->operation) {
        case CMD_INSERT: return "Insert";
        case CMD_UPDATE: return "Update";
        case CMD_DELETE: return "Delete";
        case CMD_MERGE: return "Merge";
        default: return nullptr;
      }
    default:
      return nullptr;
  }
}

/// The distinct literal constants of a plan (PlanSnapshot::constants_hash):
/// a hash per constant, kept sorted; `overflow` once more than
/// kMaxPlanConstants distinct ones were seen.
struct ConstSet {
  uint64_t hashes[kMaxPlanConstants];
  int count = 0;
  bool overflow = false;
};

/// A constant's type and value (its bytes; a toasted or compressed value
/// counts by its type only), hashed.
uint64_t ConstHash(const Const* c) {
  const uint64 seed = (static_cast<uint64>(c->consttype) << 1) | (c->constisnull ? 1 : 0);
  if (c->constisnull) return hash_bytes_extended(reinterpret_cast<const unsigned char*>(&seed), sizeof(seed), 0);
  if (c->constbyval) {
    const Datum v = c->constvalue;
    return hash_bytes_extended(reinterpret_cast<const unsigned char*>(&v), sizeof(v), seed);
  }
  const char* p = DatumGetPointer(c->constvalue);
  if (p == nullptr) return seed;
  if (c->constlen > 0) return hash_bytes_extended(reinterpret_cast<const unsigned char*>(p), c->constlen, seed);
  if (c->constlen == -2) return hash_bytes_extended(reinterpret_cast<const unsigned char*>(p), strlen(p), seed);
  if (VARATT_IS_EXTERNAL(p) || VARATT_IS_COMPRESSED(p)) return seed;
  return hash_bytes_extended(reinterpret_cast<const unsigned char*>(VARDATA_ANY(p)), VARSIZE_ANY_EXHDR(p), seed);
}

void AddConst(ConstSet* set, const Const* c) {
  if (set == nullptr || set->overflow) return;
  const uint64_t h = ConstHash(c);
  int at = 0;
  while (at < set->count && set->hashes[at] < h) ++at;
  if (at < set->count && set->hashes[at] == h) return;
  if (set->count == kMaxPlanConstants) {
    set->overflow = true;
    return;
  }
  for (int i = set->count; i > at; --i) set->hashes[i] = set->hashes[i - 1];
  set->hashes[at] = h;
  ++set->count;
}

struct SubPlanList {
  List* found = NIL;
  ConstSet* consts = nullptr;  // also collects the constants (nullptr = not)
};

bool FindSubPlans(Node* node, void* context) {
  if (node == nullptr) return false;
  auto* ctx = static_cast<SubPlanList*>(context);
  if (IsA(node, SubPlan)) {
    ctx->found = lappend(ctx->found, node);
    // Its arguments may hold further SubPlans (evaluated in this node too).
  } else if (IsA(node, Const)) {
    AddConst(ctx->consts, reinterpret_cast<Const*>(node));
  }
  using Walker = bool (*)();
  return expression_tree_walker(node, reinterpret_cast<Walker>(FindSubPlans), context);
}

void CollectExpr(Node* expr, SubPlanList* out) {
  if (expr != nullptr) FindSubPlans(expr, out);
}

/// SubPlans referenced by the expressions of `plan` (as EXPLAIN's
/// planstate->subPlan lists them), in expression order; the constants of
/// those expressions go to `consts` (when not null).
List* ExpressionSubPlans(Plan* plan, ConstSet* consts) {
  SubPlanList out;
  out.consts = consts;
  CollectExpr(reinterpret_cast<Node*>(plan->targetlist), &out);
  CollectExpr(reinterpret_cast<Node*>(plan->qual), &out);
  switch (nodeTag(plan)) {
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<Join*>(plan)->joinqual), &out);
      if (IsA(plan, MergeJoin)) CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<MergeJoin*>(plan)->mergeclauses), &out);
      if (IsA(plan, HashJoin)) CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<HashJoin*>(plan)->hashclauses), &out);
      break;
    case T_IndexScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<IndexScan*>(plan)->indexqualorig), &out);
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<IndexScan*>(plan)->indexorderbyorig), &out);
      break;
    case T_IndexOnlyScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<IndexOnlyScan*>(plan)->indexqual), &out);
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<IndexOnlyScan*>(plan)->indexorderby), &out);
      break;
    case T_BitmapIndexScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<BitmapIndexScan*>(plan)->indexqualorig), &out);
      break;
    case T_BitmapHeapScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<BitmapHeapScan*>(plan)->bitmapqualorig), &out);
      break;
    case T_TidScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<TidScan*>(plan)->tidquals), &out);
      break;
    case T_FunctionScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<FunctionScan*>(plan)->functions), &out);
      break;
    case T_ValuesScan:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<ValuesScan*>(plan)->values_lists), &out);
      break;
    case T_Result:
      CollectExpr(reinterpret_cast<Result*>(plan)->resconstantqual, &out);
      break;
    case T_Limit:
      CollectExpr(reinterpret_cast<Limit*>(plan)->limitOffset, &out);
      CollectExpr(reinterpret_cast<Limit*>(plan)->limitCount, &out);
      break;
    case T_WindowAgg:
      CollectExpr(reinterpret_cast<WindowAgg*>(plan)->startOffset, &out);
      CollectExpr(reinterpret_cast<WindowAgg*>(plan)->endOffset, &out);
      break;
    case T_Hash:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<Hash*>(plan)->hashkeys), &out);
      break;
    case T_Memoize:
      CollectExpr(reinterpret_cast<Node*>(reinterpret_cast<Memoize*>(plan)->param_exprs), &out);
      break;
    case T_ModifyTable: {
      auto* mt = reinterpret_cast<ModifyTable*>(plan);
      CollectExpr(reinterpret_cast<Node*>(mt->returningLists), &out);
      CollectExpr(reinterpret_cast<Node*>(mt->onConflictSet), &out);
      CollectExpr(mt->onConflictWhere, &out);
      break;
    }
    default:
      break;
  }
  return out.found;
}

struct Walk {
  PlannedStmt* stmt = nullptr;
  bool with_names = false;
  int max_nodes = 0;
  bool truncated = false;
  PlanSnapshot* snap = nullptr;
  int capacity = 0;
  bool* attached = nullptr;  // per subplan index: already placed
  List* deparse_cxt = NIL;
  // Rescan parameters of the Gather nodes seen: every parallel-aware node
  // below a Gather depends on it, which says nothing about its rows.
  Bitmapset* gather_params = nullptr;
  ConstSet consts;  // the plan's distinct constants
};

const char* RelName(Walk& w, Index rti, const char** alias) {
  if (rti == 0 || rti > static_cast<Index>(list_length(w.stmt->rtable))) return nullptr;
  RangeTblEntry* rte = rt_fetch(rti, w.stmt->rtable);
  if (alias != nullptr && rte->eref != nullptr) *alias = rte->eref->aliasname;
  if (rte->rtekind == RTE_RELATION) return get_rel_name(rte->relid);
  if (rte->rtekind == RTE_CTE) return rte->ctename;
  return nullptr;
}

void Describe(Walk& w, Plan* plan, PlanNodeSnapshot* s) {
  const char* alias = nullptr;
  switch (nodeTag(plan)) {
    case T_SeqScan:
    case T_SampleScan:
    case T_BitmapHeapScan:
    case T_TidScan:
    case T_TidRangeScan:
    case T_SubqueryScan:
    case T_FunctionScan:
    case T_ValuesScan:
    case T_TableFuncScan:
    case T_CteScan:
    case T_NamedTuplestoreScan:
    case T_WorkTableScan:
    case T_ForeignScan:
    case T_CustomScan:
    case T_IndexScan:
    case T_IndexOnlyScan:
      s->relation = RelName(w, reinterpret_cast<Scan*>(plan)->scanrelid, &alias);
      break;
    case T_ModifyTable:
      s->relation = RelName(w, reinterpret_cast<ModifyTable*>(plan)->nominalRelation, &alias);
      break;
    default:
      break;
  }
  s->alias = alias;
  if (IsA(plan, IndexScan)) s->index = get_rel_name(reinterpret_cast<IndexScan*>(plan)->indexid);
  if (IsA(plan, IndexOnlyScan)) s->index = get_rel_name(reinterpret_cast<IndexOnlyScan*>(plan)->indexid);
  if (IsA(plan, BitmapIndexScan)) s->index = get_rel_name(reinterpret_cast<BitmapIndexScan*>(plan)->indexid);

  // The scan's filter (as EXPLAIN's "Filter"), deparsed like EXPLAIN does.
  if (plan->qual != NIL && w.deparse_cxt != NIL &&
      (IsA(plan, SeqScan) || IsA(plan, IndexScan) || IsA(plan, IndexOnlyScan) || IsA(plan, BitmapHeapScan))) {
    List* cxt = set_deparse_context_plan(w.deparse_cxt, plan, NIL);
    Node* qual = reinterpret_cast<Node*>(make_ands_explicit(plan->qual));
    s->predicate = deparse_expression(qual, cxt, false, false);
  }
}

// Whether the index is a ruhnsw index (the ruvector extension's HNSW).
bool IsHnswIndex(Oid indexid) {
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexid));
  if (!HeapTupleIsValid(tup)) return false;
  Oid am = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relam;
  ReleaseSysCache(tup);
  char* name = get_am_name(am);
  return name != nullptr && strcmp(name, "ruhnsw") == 0;
}

// The metric of a ruvector distance expression -- operator <->, <=> or <#>,
// or a call of its function -- or nullptr for any other expression.
const char* DistanceMetric(Node* expr) {
  Oid func = InvalidOid;
  List* args = NIL;
  if (IsA(expr, OpExpr)) {
    auto* op = reinterpret_cast<OpExpr*>(expr);
    func = OidIsValid(op->opfuncid) ? op->opfuncid : get_opcode(op->opno);
    args = op->args;
  } else if (IsA(expr, FuncExpr)) {
    func = reinterpret_cast<FuncExpr*>(expr)->funcid;
    args = reinterpret_cast<FuncExpr*>(expr)->args;
  }
  if (!OidIsValid(func) || list_length(args) != 2) return nullptr;
  HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(exprType(static_cast<Node*>(linitial(args)))));
  if (!HeapTupleIsValid(tup)) return nullptr;
  bool is_vector = strcmp(NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tup))->typname), "ruvector") == 0;
  ReleaseSysCache(tup);
  if (!is_vector) return nullptr;
  char* name = get_func_name(func);
  if (name == nullptr) return nullptr;
  if (strcmp(name, "l2_distance") == 0) return "l2";
  if (strcmp(name, "cosine_distance") == 0) return "cosine";
  if (strcmp(name, "ruvector_negative_inner_product") == 0) return "inner_product";
  return nullptr;
}

// The expression a Sort's first key sorts by, following references to the
// outputs of the node below (set_plan_references turns the Sort's target
// list into such references).
Node* FirstSortKey(Plan* plan) {
  AttrNumber col = IsA(plan, Sort) ? reinterpret_cast<Sort*>(plan)->sortColIdx[0]
                                   : reinterpret_cast<IncrementalSort*>(plan)->sort.sortColIdx[0];
  for (int depth = 0; plan != nullptr && depth < 8; ++depth) {
    TargetEntry* tle = get_tle_by_resno(plan->targetlist, col);
    if (tle == nullptr) return nullptr;
    Node* expr = reinterpret_cast<Node*>(tle->expr);
    if (!IsA(expr, Var) || reinterpret_cast<Var*>(expr)->varno != OUTER_VAR) return expr;
    col = reinterpret_cast<Var*>(expr)->varattno;
    plan = plan->lefttree;
  }
  return nullptr;
}

// A Sort (or Incremental Sort) whose first key is a ruvector distance is the
// DAG's VectorDistance: it orders rows by distance to a query vector. Returns
// its metric, or nullptr.
const char* DistanceOrderMetric(Plan* plan) {
  if (!IsA(plan, Sort) && !IsA(plan, IncrementalSort)) return nullptr;
  if (reinterpret_cast<Sort*>(plan)->numCols < 1) return nullptr;
  Node* key = FirstSortKey(plan);
  return key != nullptr ? DistanceMetric(key) : nullptr;
}

int AddNode(Walk& w, Plan* plan, int parent, const char* subplan_name) {
  if (w.max_nodes > 0 && w.snap->count >= w.max_nodes) {
    w.truncated = true;
    return -1;
  }
  if (w.snap->count == w.capacity) {
    int cap = w.capacity * 2;
    w.snap->nodes = static_cast<PlanNodeSnapshot*>(repalloc(w.snap->nodes, sizeof(PlanNodeSnapshot) * cap));
    w.capacity = cap;
  }
  int index = w.snap->count++;
  PlanNodeSnapshot* s = &w.snap->nodes[index];
  *s = PlanNodeSnapshot();
  s->parent = parent;
  s->plan_node_id = plan->plan_node_id;
  s->type = TypeOf(plan);
  s->parallel_aware = plan->parallel_aware;
  s->startup_cost = plan->startup_cost;
  s->total_cost = plan->total_cost;
  s->plan_rows = plan->plan_rows;
  s->width = plan->plan_width;
  s->detail = DetailOf(plan);
  s->subplan_name = subplan_name;
  // A ruhnsw index scan is the DAG's HnswScan, with the session's ef_search.
  if (IsA(plan, IndexScan) && IsHnswIndex(reinterpret_cast<IndexScan*>(plan)->indexid)) {
    s->type = static_cast<uint8_t>(OperatorType::kHnswScan);
    const char* ef = GetConfigOption("ruvector.hnsw_ef_search", true, false);
    s->parameter = ef != nullptr ? strtol(ef, nullptr, 10) : 0;
  }
  if (const char* metric = DistanceOrderMetric(plan)) {
    s->type = static_cast<uint8_t>(OperatorType::kVectorDistance);
    s->detail = metric;
  }
  if (IsA(plan, Gather)) {
    s->workers_planned = reinterpret_cast<Gather*>(plan)->num_workers;
    const int param = reinterpret_cast<Gather*>(plan)->rescan_param;
    if (param >= 0) w.gather_params = bms_add_member(w.gather_params, param);
  }
  if (IsA(plan, GatherMerge)) {
    s->workers_planned = reinterpret_cast<GatherMerge*>(plan)->num_workers;
    const int param = reinterpret_cast<GatherMerge*>(plan)->rescan_param;
    if (param >= 0) w.gather_params = bms_add_member(w.gather_params, param);
  }
  if (IsA(plan, Limit)) {
    Node* count = reinterpret_cast<Limit*>(plan)->limitCount;
    if (count != nullptr && IsA(count, Const) && !reinterpret_cast<Const*>(count)->constisnull &&
        reinterpret_cast<Const*>(count)->consttype == INT8OID) {
      s->parameter = DatumGetInt64(reinterpret_cast<Const*>(count)->constvalue);
    }
  }
  if (w.with_names) Describe(w, plan, s);
  return index;
}

/// The base relations a node's rows cover (for row corrections).
struct Cover {
  uint64_t acc = 0;  // RelSetAdd over the relations' OIDs
  int relations = 0;
  bool valid = false;  // a scan or join tree over plain tables only
};

Cover WalkPlan(Walk& w, Plan* plan, int parent, const char* subplan_name, int depth);

void WalkSubPlans(Walk& w, List* subplans, int parent, int depth) {
  ListCell* lc;
  foreach (lc, subplans) {
    SubPlan* sp = static_cast<SubPlan*>(lfirst(lc));
    int idx = sp->plan_id - 1;
    if (idx < 0 || idx >= list_length(w.stmt->subplans) || w.attached[idx]) continue;
    Plan* sub = static_cast<Plan*>(list_nth(w.stmt->subplans, idx));
    if (sub == nullptr) continue;
    w.attached[idx] = true;
    w.snap->may_stop_early = true;  // EXISTS / ANY stop at the first match
    WalkPlan(w, sub, parent, sp->plan_name, depth + 1);
  }
}

void WalkList(Walk& w, List* plans, int parent, int depth) {
  ListCell* lc;
  foreach (lc, plans) WalkPlan(w, static_cast<Plan*>(lfirst(lc)), parent, nullptr, depth + 1);
}

/// The relation a scan of a plain table reads (invalid for anything else).
Cover ScanCover(Walk& w, const Scan* scan) {
  Cover c;
  const Index rti = scan->scanrelid;
  if (rti == 0 || rti > static_cast<Index>(list_length(w.stmt->rtable))) return c;
  const RangeTblEntry* rte = rt_fetch(rti, w.stmt->rtable);
  if (rte->rtekind != RTE_RELATION) return c;
  c.acc = RelSetAdd(0, RelKey(rte->relid, rte->eref != nullptr ? rte->eref->aliasname : nullptr));
  c.relations = 1;
  c.valid = true;
  return c;
}

/// What the node's rows cover, from its children's covers: a scan its
/// table, a join both inputs, a node that passes its input's rows on
/// (Hash, Sort, Material, Memoize, Gather) its input (but the rows are
/// recorded only at the scan or join itself).
Cover CoverOf(Walk& w, Plan* plan, const Cover& left, const Cover& right, bool* record) {
  *record = false;
  switch (nodeTag(plan)) {
    case T_SeqScan:
    case T_SampleScan:
    case T_IndexScan:
    case T_IndexOnlyScan:
    case T_BitmapHeapScan:
    case T_TidScan:
    case T_TidRangeScan:
      *record = true;
      return ScanCover(w, reinterpret_cast<Scan*>(plan));
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin: {
      const JoinType jt = reinterpret_cast<Join*>(plan)->jointype;
      if (IsA(plan, MergeJoin) || jt == JOIN_SEMI || jt == JOIN_ANTI) w.snap->may_stop_early = true;
      Cover c;
      if (!left.valid || !right.valid) return c;
      c.acc = left.acc + right.acc;
      c.relations = left.relations + right.relations;
      c.valid = true;
      *record = true;
      return c;
    }
    case T_Hash:
    case T_Sort:
    case T_IncrementalSort:
    case T_Material:
    case T_Memoize:
    case T_Gather:
    case T_GatherMerge:
      return left;
    case T_Limit:
      w.snap->may_stop_early = true;
      return Cover();
    default:
      return Cover();
  }
}

Cover WalkPlan(Walk& w, Plan* plan, int parent, const char* subplan_name, int depth) {
  if (plan == nullptr) return Cover();
  check_stack_depth();
  int self = AddNode(w, plan, parent, subplan_name);
  if (self < 0) return Cover();
  WalkSubPlans(w, plan->initPlan, self, depth);
  const Cover left = WalkPlan(w, plan->lefttree, self, nullptr, depth + 1);
  const Cover right = WalkPlan(w, plan->righttree, self, nullptr, depth + 1);
  switch (nodeTag(plan)) {
    case T_Append: WalkList(w, reinterpret_cast<Append*>(plan)->appendplans, self, depth); break;
    case T_MergeAppend: WalkList(w, reinterpret_cast<MergeAppend*>(plan)->mergeplans, self, depth); break;
    case T_BitmapAnd: WalkList(w, reinterpret_cast<BitmapAnd*>(plan)->bitmapplans, self, depth); break;
    case T_BitmapOr: WalkList(w, reinterpret_cast<BitmapOr*>(plan)->bitmapplans, self, depth); break;
    case T_SubqueryScan: WalkPlan(w, reinterpret_cast<SubqueryScan*>(plan)->subplan, self, nullptr, depth + 1); break;
    case T_CustomScan: WalkList(w, reinterpret_cast<CustomScan*>(plan)->custom_plans, self, depth); break;
    default: break;
  }
  WalkSubPlans(w, ExpressionSubPlans(plan, &w.consts), self, depth);
  bool record = false;
  const Cover cover = CoverOf(w, plan, left, right, &record);
  // Rows that depend on an outer node's parameters (the inner side of a
  // parameterized nested loop) are not the relation set's rows.
  if (record && cover.valid && bms_is_subset(plan->allParam, w.gather_params)) {
    PlanNodeSnapshot* s = &w.snap->nodes[self];  // nodes may have moved: index again
    s->relset = RelSetId(cover.acc);
    s->relation_count = static_cast<uint8_t>(std::min(cover.relations, 255));
  }
  return cover;
}

}  // namespace

PlanSnapshot* ExtractPlan(PlannedStmt* stmt, bool with_names, int max_nodes, bool* truncated) {
  Walk w;
  w.stmt = stmt;
  w.with_names = with_names;
  w.max_nodes = max_nodes;
  w.snap = static_cast<PlanSnapshot*>(palloc0(sizeof(PlanSnapshot)));
  w.snap->query_id = stmt->queryId;
  w.snap->database_oid = MyDatabaseId;
  w.snap->role_oid = GetUserId();
  w.capacity = 16;
  w.snap->nodes = static_cast<PlanNodeSnapshot*>(palloc(sizeof(PlanNodeSnapshot) * w.capacity));
  int nsub = list_length(stmt->subplans);
  w.attached = static_cast<bool*>(palloc0(sizeof(bool) * (nsub + 1)));
  if (with_names && stmt->rtable != NIL) {
    Bitmapset* rels = nullptr;
    for (int i = 1; i <= list_length(stmt->rtable); ++i) rels = bms_add_member(rels, i);
    List* names = select_rtable_names_for_explain(stmt->rtable, rels);
    w.deparse_cxt = deparse_context_for_plan_tree(stmt, names);
  }
  WalkPlan(w, stmt->planTree, -1, nullptr, 0);
  if (!w.consts.overflow && w.consts.count > 0) {
    const uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(w.consts.hashes),
                                         static_cast<int>(sizeof(uint64_t)) * w.consts.count, 0x5EED);
    w.snap->constants_hash = h != 0 ? h : 1;
  }
  if (truncated != nullptr) *truncated = w.truncated;
  return w.snap;
}

namespace {

struct ActualsContext {
  Instrumentation** by_id = nullptr;
  int bound = 0;
};

bool CollectInstrumentation(PlanState* ps, void* context) {
  if (ps == nullptr) return false;
  auto* ctx = static_cast<ActualsContext*>(context);
  int id = ps->plan != nullptr ? ps->plan->plan_node_id : -1;
  if (id >= 0 && id < ctx->bound && ps->instrument != nullptr) ctx->by_id[id] = ps->instrument;
  using Walker = bool (*)();
  return planstate_tree_walker(ps, reinterpret_cast<Walker>(CollectInstrumentation), context);
}

struct RowsById {
  const PlanTemplate* tmpl = nullptr;
  float* rows = nullptr;
};

bool CollectRowsById(PlanState* ps, void* context) {
  if (ps == nullptr) return false;
  auto* ctx = static_cast<RowsById*>(context);
  const Instrumentation* instr = ps->instrument;
  const int id = ps->plan != nullptr ? ps->plan->plan_node_id : -1;
  if (instr != nullptr && id >= 0 && id < PlanTemplate::kMappedIds) {
    if (const int slot = ctx->tmpl->index_of_id[id]; slot > 0) {
      // The last loop may still be open, as in AttachActuals.
      const double loops = instr->nloops + (instr->running ? 1.0 : 0.0);
      const double rows = instr->ntuples + (instr->running ? instr->tuplecount : 0.0);
      if (loops > 0) ctx->rows[slot - 1] = static_cast<float>(rows / loops);
    }
  }
  using Walker = bool (*)();
  return planstate_tree_walker(ps, reinterpret_cast<Walker>(CollectRowsById), context);
}

}  // namespace

void ActualRowsById(const PlanTemplate& tmpl, PlanState* root, float* rows) {
  RowsById ctx;
  ctx.tmpl = &tmpl;
  ctx.rows = rows;
  CollectRowsById(root, &ctx);
}

void AttachActuals(PlanSnapshot* snapshot, PlanState* root) {
  if (snapshot == nullptr || root == nullptr || snapshot->count == 0) return;
  int bound = 0;
  for (int i = 0; i < snapshot->count; ++i) bound = std::max(bound, snapshot->nodes[i].plan_node_id + 1);
  ActualsContext ctx;
  ctx.bound = bound;
  ctx.by_id = static_cast<Instrumentation**>(palloc0(sizeof(Instrumentation*) * (bound + 1)));
  CollectInstrumentation(root, &ctx);
  for (int i = 0; i < snapshot->count; ++i) {
    PlanNodeSnapshot& s = snapshot->nodes[i];
    if (s.plan_node_id < 0 || s.plan_node_id >= bound) continue;
    const Instrumentation* instr = ctx.by_id[s.plan_node_id];
    if (instr == nullptr) continue;
    // The last loop may still be open (InstrEndLoop not yet called).
    double loops = instr->nloops + (instr->running ? 1.0 : 0.0);
    double rows = instr->ntuples + (instr->running ? instr->tuplecount : 0.0);
    s.has_actuals = true;
    s.actual_loops = loops;
    s.actual_rows = loops > 0 ? rows / loops : 0.0;
    if (instr->need_timer) {
      double seconds = instr->total + (instr->running ? INSTR_TIME_GET_DOUBLE(instr->counter) : 0.0);
      s.has_time = true;
      s.actual_time_ms = loops > 0 ? 1000.0 * seconds / loops : 0.0;
    }
  }
}


}  // namespace ruvector_pg
