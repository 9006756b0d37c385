// PG zone: the join, scan and LEADING hints of pinned plan advice
// (plan_hints.h).
//
// How each hint is applied (PostgreSQL 15 offers no hook before a relation's
// paths are built, so a hinted relation's paths are rebuilt):
//
// * Scan (SEQSCAN, INDEXSCAN, BITMAPSCAN): set_rel_pathlist_hook runs once
//   the base relation's paths exist and before its cheapest path is chosen.
//   For the hinted relation, its paths are replaced by paths of the hinted
//   kind only, built again with the method forced on and its rivals off
//   (so no rival pruned them): a sequential scan, or the index paths of
//   INDEXSCAN's index (any index when none is named) or the bitmap paths.
//   Index-only scans count as INDEXSCAN. No parallel path is kept. When no
//   unparameterized path of the kind can be built (no usable index), the
//   relation keeps its paths: the plan check below then refuses the plan.
// * Join method (HASHJOIN, ..., NO_NESTLOOP): set_join_pathlist_hook runs at
//   the end of each add_paths_to_joinrel (one pair of inputs, one
//   direction). For the join relation of exactly the hinted set, the paths
//   of methods the hint does not allow are dropped, the pair's paths are
//   built again with only the allowed methods enabled (so none of the
//   dropped paths pruned them), and those of other methods dropped again --
//   unless no path of an allowed method exists (then the plan check refuses
//   the plan).
// * LEADING(a b c): join_search_hook builds the joins ((a b) c) first, with
//   make_join_rel, and hands the join search the result in place of the
//   relations it covers. When they are not all relations of one join
//   search, or a join is not legal (outer joins), the search runs as usual
//   and the plan check refuses the plan.
//
// The plan check. A hint is carried out when the finished plan scans the
// hinted relation only with the hinted method, joins exactly the hinted set
// only with an allowed method (at least once), and has a join of every
// prefix of LEADING's relations. Relations are matched by relation-set id
// (their (OID, alias) pairs), as ROWS items are.
#include "shim.h"

extern "C" {
#include "catalog/pg_class.h"
#include "nodes/bitmapset.h"
#include "optimizer/cost.h"
#include "optimizer/geqo.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "utils/lsyscache.h"
}

#include "extension.h"
#include "planner/plan_hints.h"

namespace ruvector_pg {
namespace {

set_rel_pathlist_hook_type g_prev_rel_pathlist = nullptr;
set_join_pathlist_hook_type g_prev_join_pathlist = nullptr;
join_search_hook_type g_prev_join_search = nullptr;

/// The hints of the planning in progress (one per backend at a time).
struct ActiveHints {
  const PinnedHints* hints = nullptr;
  PlannerGlobal* glob = nullptr;  // the planning they belong to (first seen)
  RelKeyCache keys;
  bool scans = false;         // some scan hint
  bool joins = false;         // some join-method hint
  bool regenerating = false;  // inside a join pair's rebuild
  // The join relation seen last (one relation gets its pairs in a row: its
  // query level and relids) and its join hint (-1 = none).
  PlannerInfo* last_root = nullptr;
  Bitmapset* last_join = nullptr;
  int last_join_hint = -1;
  HintReport* report = nullptr;  // optional: the names of the hinted relations
};

/// Records the aliases of the relations hint `i` matched (the first time).
void NoteMatched(ActiveHints* h, PlannerInfo* root, Relids relids, int i) {
  if (h->report != nullptr && h->report->relations[i][0] == '\0') NameRelations(root, relids, h->report->relations[i]);
}
ActiveHints* g_hints = nullptr;

/// The active hints when `root` belongs to the hinted planning.
ActiveHints* HintsFor(PlannerInfo* root) {
  if (g_hints == nullptr) return nullptr;
  if (g_hints->glob == nullptr) g_hints->glob = root->glob;
  return g_hints->glob == root->glob ? g_hints : nullptr;
}

/// The index of the join (`join`) or scan hint on relation set `relset`, or -1.
int HintFor(const PinnedHints& h, uint32_t relset, bool join) {
  for (uint32_t i = 0; i < h.count; ++i) {
    if (h.relsets[i] == relset && (join ? IsJoinHint(h.kinds[i]) : IsScanHint(h.kinds[i]))) return static_cast<int>(i);
  }
  return -1;
}

/// The planner's method switches (plain variables), saved and restored
/// around a rebuild.
struct MethodSwitches {
  bool seqscan, indexscan, indexonlyscan, bitmapscan, nestloop, mergejoin, hashjoin;
};
MethodSwitches SaveSwitches() {
  return {enable_seqscan, enable_indexscan, enable_indexonlyscan, enable_bitmapscan,
          enable_nestloop, enable_mergejoin, enable_hashjoin};
}
void RestoreSwitches(const MethodSwitches& m) {
  enable_seqscan = m.seqscan;
  enable_indexscan = m.indexscan;
  enable_indexonlyscan = m.indexonlyscan;
  enable_bitmapscan = m.bitmapscan;
  enable_nestloop = m.nestloop;
  enable_mergejoin = m.mergejoin;
  enable_hashjoin = m.hashjoin;
}

bool IndexNamed(Oid index, const char* name) {
  const char* actual = get_rel_name(index);
  return actual != nullptr && strcmp(actual, name) == 0;
}

/// Whether a path or plan node of type `tag` scans as scan hint `kind` says.
bool ScanTagMatches(NodeTag tag, HintKind kind) {
  switch (kind) {
    case HintKind::kSeqScan: return tag == T_SeqScan;
    case HintKind::kIndexScan: return tag == T_IndexScan || tag == T_IndexOnlyScan;
    case HintKind::kBitmapScan: return tag == T_BitmapHeapScan;
    default: return false;
  }
}

uint32_t JoinMethodOf(NodeTag tag) {
  switch (tag) {
    case T_NestLoop: return kJoinNestLoop;
    case T_MergeJoin: return kJoinMerge;
    case T_HashJoin: return kJoinHash;
    default: return 0;
  }
}

/// The paths of `paths` that scan as `kind` says (a new list).
List* KeepScans(List* paths, HintKind kind) {
  List* kept = NIL;
  ListCell* lc;
  foreach (lc, paths) {
    Path* path = static_cast<Path*>(lfirst(lc));
    if (ScanTagMatches(path->pathtype, kind)) kept = lappend(kept, path);
  }
  return kept;
}

/// The paths of `paths` that join with one of the `allowed` methods (a new list).
List* KeepJoins(List* paths, uint32_t allowed) {
  List* kept = NIL;
  ListCell* lc;
  foreach (lc, paths) {
    Path* path = static_cast<Path*>(lfirst(lc));
    if ((JoinMethodOf(path->pathtype) & allowed) != 0) kept = lappend(kept, path);
  }
  return kept;
}

bool HasUnparameterizedPath(RelOptInfo* rel) {
  ListCell* lc;
  foreach (lc, rel->pathlist) {
    if (bms_is_subset(PATH_REQ_OUTER(static_cast<Path*>(lfirst(lc))), rel->lateral_relids)) return true;
  }
  return false;
}

/// Replaces the paths of base relation `rel` by paths that scan it as
/// `kind` says (with `index` only, when named); keeps its paths when there
/// is no such unparameterized path.
/// The indexes of `rel` named `index` (all of them for ""). Not inlined:
/// its list must not live in RebuildScanPaths's frame across PG_TRY.
pg_noinline List* IndexesNamed(RelOptInfo* rel, const char* index) {
  if (index[0] == '\0') return rel->indexlist;
  List* named = NIL;
  ListCell* lc;
  foreach (lc, rel->indexlist) {
    IndexOptInfo* info = static_cast<IndexOptInfo*>(lfirst(lc));
    if (IndexNamed(info->indexoid, index)) named = lappend(named, info);
  }
  return named;
}

void RebuildScanPaths(PlannerInfo* root, RelOptInfo* rel, HintKind kind, const char* index) {
  List* const all_indexes = rel->indexlist;
  List* const indexes = kind == HintKind::kIndexScan ? IndexesNamed(rel, index) : all_indexes;
  if (kind != HintKind::kSeqScan && indexes == NIL) return;
  List* saved = rel->pathlist;
  List* saved_partial = rel->partial_pathlist;
  rel->pathlist = NIL;
  rel->partial_pathlist = NIL;
  const MethodSwitches switches = SaveSwitches();
  PG_TRY();
  {
    if (kind == HintKind::kSeqScan) {
      enable_seqscan = true;
      add_path(rel, create_seqscan_path(root, rel, rel->lateral_relids, 0));
    } else {
      enable_indexscan = kind == HintKind::kIndexScan;
      enable_indexonlyscan = kind == HintKind::kIndexScan;
      enable_bitmapscan = kind == HintKind::kBitmapScan;
      rel->indexlist = indexes;
      create_index_paths(root, rel);
    }
  }
  PG_FINALLY();
  {
    rel->indexlist = all_indexes;
    RestoreSwitches(switches);
  }
  PG_END_TRY();
  rel->pathlist = KeepScans(rel->pathlist, kind);
  rel->partial_pathlist = NIL;
  if (!HasUnparameterizedPath(rel)) {
    // Not possible here: the plan check refuses the plan.
    rel->pathlist = saved;
    rel->partial_pathlist = saved_partial;
  }
}

void RelPathlistHook(PlannerInfo* root, RelOptInfo* rel, Index rti, RangeTblEntry* rte) {
  if (g_prev_rel_pathlist != nullptr) g_prev_rel_pathlist(root, rel, rti, rte);
  ActiveHints* h = HintsFor(root);
  if (h == nullptr || !h->scans || rel->reloptkind != RELOPT_BASEREL || rte->rtekind != RTE_RELATION || rte->inh ||
      rte->tablesample != nullptr || (rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_MATVIEW) ||
      IS_DUMMY_REL(rel)) {
    return;
  }
  const int i = HintFor(*h->hints, RelSetOf(&h->keys, root, rel->relids), /*join=*/false);
  if (i < 0) return;
  NoteMatched(h, root, rel->relids, i);
  RebuildScanPaths(root, rel, h->hints->kinds[i], h->hints->indexes[i]);
}

void JoinPathlistHook(PlannerInfo* root, RelOptInfo* joinrel, RelOptInfo* outerrel, RelOptInfo* innerrel,
                      JoinType jointype, JoinPathExtraData* extra) {
  if (g_prev_join_pathlist != nullptr) g_prev_join_pathlist(root, joinrel, outerrel, innerrel, jointype, extra);
  ActiveHints* h = HintsFor(root);
  if (h == nullptr || !h->joins || h->regenerating || IS_DUMMY_REL(joinrel)) return;
  if (h->last_root != root || h->last_join == nullptr || !bms_equal(h->last_join, joinrel->relids)) {
    h->last_root = root;
    MemoryContext old = MemoryContextSwitchTo(h->keys.cxt);
    bms_free(h->last_join);
    h->last_join = bms_copy(joinrel->relids);
    MemoryContextSwitchTo(old);
    h->last_join_hint = HintFor(*h->hints, RelSetOf(&h->keys, root, joinrel->relids), /*join=*/true);
    if (h->last_join_hint >= 0) NoteMatched(h, root, joinrel->relids, h->last_join_hint);
  }
  const int i = h->last_join_hint;
  if (i < 0) return;
  const uint32_t allowed = AllowedJoinMethods(h->hints->kinds[i]);
  joinrel->pathlist = KeepJoins(joinrel->pathlist, allowed);
  joinrel->partial_pathlist = KeepJoins(joinrel->partial_pathlist, allowed);
  const MethodSwitches switches = SaveSwitches();
  h->regenerating = true;
  PG_TRY();
  {
    enable_nestloop = (allowed & kJoinNestLoop) != 0;
    enable_mergejoin = (allowed & kJoinMerge) != 0;
    enable_hashjoin = (allowed & kJoinHash) != 0;
    add_paths_to_joinrel(root, joinrel, outerrel, innerrel, jointype, extra->sjinfo, extra->restrictlist);
  }
  PG_FINALLY();
  {
    RestoreSwitches(switches);
    h->regenerating = false;
  }
  PG_END_TRY();
  // No allowed method for the pairs so far (keys that cannot be hashed or
  // sorted): the paths of the others stay, so the planning completes, and
  // the plan check refuses the plan.
  List* kept = KeepJoins(joinrel->pathlist, allowed);
  if (kept != NIL) joinrel->pathlist = kept;
  joinrel->partial_pathlist = KeepJoins(joinrel->partial_pathlist, allowed);
}

RelOptInfo* NextJoinSearch(PlannerInfo* root, int levels_needed, List* initial_rels) {
  if (g_prev_join_search != nullptr) return g_prev_join_search(root, levels_needed, initial_rels);
  if (enable_geqo && levels_needed >= geqo_threshold) return geqo(root, levels_needed, initial_rels);
  return standard_join_search(root, levels_needed, initial_rels);
}

/// The relation-set id of the first `n` relations of LEADING.
uint32_t LeadingPrefix(const PinnedHints& h, uint32_t n) {
  uint64_t acc = 0;
  for (uint32_t k = 0; k < n; ++k) acc = RelSetAdd(acc, h.leading[k]);
  return RelSetId(acc);
}

RelOptInfo* JoinSearchHook(PlannerInfo* root, int levels_needed, List* initial_rels) {
  ActiveHints* h = HintsFor(root);
  if (h == nullptr || h->hints->leading_count < 2) return NextJoinSearch(root, levels_needed, initial_rels);
  const PinnedHints& hints = *h->hints;
  const uint32_t n = std::min<uint32_t>(hints.leading_count, kMaxAdviceRelations);
  if (static_cast<int>(n) > levels_needed) return NextJoinSearch(root, levels_needed, initial_rels);
  RelOptInfo* members[kMaxAdviceRelations];
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t id = RelSetId(RelSetAdd(0, hints.leading[k]));
    members[k] = nullptr;
    ListCell* lc;
    foreach (lc, initial_rels) {
      RelOptInfo* rel = static_cast<RelOptInfo*>(lfirst(lc));
      if (bms_membership(rel->relids) == BMS_SINGLETON && RelSetOf(&h->keys, root, rel->relids) == id) members[k] = rel;
    }
    // Not all in this join search (another query level, or a join problem
    // of its own): the plan check decides.
    if (members[k] == nullptr) return NextJoinSearch(root, levels_needed, initial_rels);
  }
  RelOptInfo* joined = members[0];
  for (uint32_t k = 1; k < n; ++k) {
    joined = make_join_rel(root, joined, members[k]);
    if (joined == nullptr) return NextJoinSearch(root, levels_needed, initial_rels);  // not a legal join order
    generate_partitionwise_join_paths(root, joined);
    if (!bms_equal(joined->relids, root->all_baserels)) generate_useful_gather_paths(root, joined, false);
    set_cheapest(joined);
  }
  if (static_cast<int>(n) == levels_needed) return joined;
  List* rest = list_make1(joined);
  ListCell* lc;
  foreach (lc, initial_rels) {
    RelOptInfo* rel = static_cast<RelOptInfo*>(lfirst(lc));
    if (!bms_is_subset(rel->relids, joined->relids)) rest = lappend(rest, rel);
  }
  return NextJoinSearch(root, levels_needed - static_cast<int>(n) + 1, rest);
}

/// What the plan check found, per hint.
struct PlanCheck {
  const PinnedHints* hints = nullptr;
  const List* rtable = nullptr;
  bool done[kMaxAdviceHints] = {};   // carried out at least once
  bool wrong[kMaxAdviceHints] = {};  // the relations were scanned or joined otherwise
  bool prefix_seen[kMaxAdviceRelations] = {};
  uint32_t prefixes[kMaxAdviceRelations] = {0};  // LEADING's prefix sets (from 2 relations)
};

void CheckScan(const Plan* plan, uint32_t relset, PlanCheck* c) {
  for (uint32_t i = 0; i < c->hints->count; ++i) {
    const HintKind kind = c->hints->kinds[i];
    if (!IsScanHint(kind) || c->hints->relsets[i] != relset) continue;
    bool ok = ScanTagMatches(nodeTag(plan), kind);
    if (ok && kind == HintKind::kIndexScan && c->hints->indexes[i][0] != '\0') {
      const Oid index = nodeTag(plan) == T_IndexScan ? reinterpret_cast<const IndexScan*>(plan)->indexid
                                                     : reinterpret_cast<const IndexOnlyScan*>(plan)->indexid;
      ok = IndexNamed(index, c->hints->indexes[i]);
    }
    (ok ? c->done : c->wrong)[i] = true;
  }
}

void CheckJoin(const Plan* plan, uint32_t relset, PlanCheck* c) {
  for (uint32_t i = 0; i < c->hints->count; ++i) {
    const HintKind kind = c->hints->kinds[i];
    if (!IsJoinHint(kind) || c->hints->relsets[i] != relset) continue;
    ((JoinMethodOf(nodeTag(plan)) & AllowedJoinMethods(kind)) != 0 ? c->done : c->wrong)[i] = true;
  }
  for (uint32_t k = 1; k < c->hints->leading_count && k < static_cast<uint32_t>(kMaxAdviceRelations); ++k) {
    if (c->prefixes[k] == relset) c->prefix_seen[k] = true;
  }
}

/// Walks `plan`; returns the relation-set accumulator of the plain tables
/// it reads, with *known false when it reads anything else.
uint64_t Walk(const Plan* plan, PlanCheck* c, bool* known);

void WalkList(const List* plans, PlanCheck* c) {
  const ListCell* lc;
  foreach (lc, plans) {
    bool ignored = false;
    Walk(static_cast<const Plan*>(lfirst(lc)), c, &ignored);
  }
}

uint64_t Walk(const Plan* plan, PlanCheck* c, bool* known) {
  *known = false;
  if (plan == nullptr) return 0;
  check_stack_depth();
  switch (nodeTag(plan)) {
    case T_SeqScan:
    case T_SampleScan:
    case T_IndexScan:
    case T_IndexOnlyScan:
    case T_BitmapHeapScan:
    case T_TidScan:
    case T_TidRangeScan: {
      const Index rti = reinterpret_cast<const Scan*>(plan)->scanrelid;
      if (rti == 0 || rti > static_cast<Index>(list_length(c->rtable))) return 0;
      const RangeTblEntry* rte = static_cast<const RangeTblEntry*>(list_nth(c->rtable, static_cast<int>(rti) - 1));
      if (rte->rtekind != RTE_RELATION || rte->inh || rte->eref == nullptr) return 0;
      const uint64_t acc = RelSetAdd(0, RelKey(rte->relid, rte->eref->aliasname));
      CheckScan(plan, RelSetId(acc), c);
      *known = true;
      return acc;
    }
    case T_Append:
      WalkList(reinterpret_cast<const Append*>(plan)->appendplans, c);
      return 0;
    case T_MergeAppend:
      WalkList(reinterpret_cast<const MergeAppend*>(plan)->mergeplans, c);
      return 0;
    case T_SubqueryScan: {
      bool ignored = false;
      Walk(reinterpret_cast<const SubqueryScan*>(plan)->subplan, c, &ignored);
      return 0;
    }
    case T_CustomScan:
      WalkList(reinterpret_cast<const CustomScan*>(plan)->custom_plans, c);
      return 0;
    default:
      break;
  }
  if (plan->lefttree == nullptr && plan->righttree == nullptr) return 0;  // reads no plain table
  // A join, or a node over its input(s): the union of what they read.
  bool left_known = true, right_known = true;
  uint64_t acc = 0;
  if (plan->lefttree != nullptr) acc += Walk(plan->lefttree, c, &left_known);
  if (plan->righttree != nullptr) acc += Walk(plan->righttree, c, &right_known);
  *known = left_known && right_known;
  if (*known && JoinMethodOf(nodeTag(plan)) != 0) CheckJoin(plan, RelSetId(acc), c);
  return acc;
}

/// Whether `stmt` carries out every hint; else *failed names the first one
/// that it does not.
bool CarriesOut(const PlannedStmt* stmt, const PinnedHints& hints, const char** failed) {
  PlanCheck* c = static_cast<PlanCheck*>(palloc0(sizeof(PlanCheck)));
  *c = PlanCheck();
  c->hints = &hints;
  c->rtable = stmt->rtable;
  for (uint32_t k = 1; k < hints.leading_count && k < static_cast<uint32_t>(kMaxAdviceRelations); ++k) {
    c->prefixes[k] = LeadingPrefix(hints, k + 1);
  }
  bool ignored = false;
  Walk(stmt->planTree, c, &ignored);
  WalkList(stmt->subplans, c);
  bool ok = true;
  for (uint32_t i = 0; i < hints.count && ok; ++i) {
    if (hints.kinds[i] == HintKind::kLeading) {
      for (uint32_t k = 1; k < hints.leading_count && k < static_cast<uint32_t>(kMaxAdviceRelations); ++k) {
        ok = ok && c->prefix_seen[k];
      }
    } else {
      ok = c->done[i] && !c->wrong[i];
    }
    if (!ok) *failed = HintKeyword(hints.kinds[i]);
  }
  pfree(c);
  return ok;
}

/// CarriesOut, with its errors (a catalog lookup, the stack depth) logged
/// and taken for "no" (*failed stays null then): never the user's error.
bool CheckPlan(const PlannedStmt* stmt, const PinnedHints& hints, const char** failed) {
  MemoryContext caller = CurrentMemoryContext;
  volatile bool ok = false;
  PG_TRY();
  {
    ok = CarriesOut(stmt, hints, failed);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED) {
      FreeErrorData(edata);
      PG_RE_THROW();
    }
    FlushErrorState();
    ereport(LOG, (errmsg("ruvector_dag: checking the plan under pinned advice failed, the default plan is used: %s",
                         edata->message != nullptr ? edata->message : "(no message)")));
    FreeErrorData(edata);
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

}  // namespace

void InstallHintHooks() {
  g_prev_rel_pathlist = set_rel_pathlist_hook;
  set_rel_pathlist_hook = RelPathlistHook;
  g_prev_join_pathlist = set_join_pathlist_hook;
  set_join_pathlist_hook = JoinPathlistHook;
  g_prev_join_search = join_search_hook;
  join_search_hook = JoinSearchHook;
}

PlannedStmt* PlanWithHints(const PinnedHints& hints, CorrectedPlannerFn planner, Query* parse,
                           const char* query_string, int cursor_options, ParamListInfo params, const char* settings,
                           HintReport* report) {
  ActiveHints* active = static_cast<ActiveHints*>(palloc0(sizeof(ActiveHints)));
  *active = ActiveHints();
  active->hints = &hints;
  active->report = report;
  active->keys.cxt = CurrentMemoryContext;
  for (uint32_t i = 0; i < hints.count; ++i) {
    active->scans = active->scans || IsScanHint(hints.kinds[i]);
    active->joins = active->joins || IsJoinHint(hints.kinds[i]);
  }
  ActiveHints* outer = g_hints;
  PlannedStmt* out = nullptr;
  g_hints = active;
  PG_TRY();
  {
    out = planner(parse, query_string, cursor_options, params, settings);
  }
  PG_FINALLY();
  {
    g_hints = outer;
  }
  PG_END_TRY();
  const char* failed = nullptr;
  if (out != nullptr && !CheckPlan(out, hints, &failed)) {
    if (failed != nullptr) {
      ereport(LOG, (errmsg("ruvector_dag: the plan under plan advice does not carry out its %s item, the "
                           "default plan is used", failed)));
    }
    out = nullptr;
  }
  if (active->keys.keys != nullptr) pfree(active->keys.keys);
  bms_free(active->last_join);
  pfree(active);
  return out;
}

}  // namespace ruvector_pg
