// PG zone: the shared table of learned row-count corrections and the two
// planner hooks that apply them (corrections.h).
//
// How a correction is applied. A correction of relation set S (a multiset
// of table OIDs) says: S's true row count is `factor` x the estimate
// PostgreSQL makes for S with its own statistics. PostgreSQL computes a
// join relation's rows from its inputs' rows (outer rows x inner rows x the
// join clauses' selectivity), so a corrected input already changes every
// join above it. Each relation therefore carries the ratio r between the
// rows it has now and PostgreSQL's own estimate: 1 for an uncorrected base
// relation, the factor for a corrected one; a join relation inherits
// r(outer) x r(inner), and when S itself is corrected its rows become
// clamp(rows / inherited) x factor, so corrections never compound.
//
// * Base relations: set_rel_pathlist_hook runs after the relation's size
//   estimate and its paths exist but before the cheapest path is chosen and
//   before any join is costed; rel->rows and the rows of its paths
//   (parameterized ones and their ParamPathInfo too) are scaled there.
// * Join relations: set_join_pathlist_hook runs at the end of each
//   add_paths_to_joinrel call. At the first call for a join relation its
//   rows still hold PostgreSQL's estimate: they are corrected there, with the
//   rows of the unparameterized paths already added for that pair (a join
//   path's own cost does not depend on its output rows; its consumers' costs
//   do, and they are computed later). Paths added by later pairs are built
//   from the corrected rows. (GEQO rebuilds join relations per candidate:
//   each rebuilt one is corrected again.)
#include "shim.h"

extern "C" {
#include "nodes/bitmapset.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "port/atomics.h"
#include "utils/hsearch.h"
}

#include "extension.h"
#include "planner/corrections.h"

namespace ruvector_pg {
namespace {

constexpr const char* kShmemName = "ruvector_dag row corrections";
constexpr const char* kTranche = "ruvector_dag_corrections";
constexpr uint32_t kSlots = 2 * kMaxCorrectedPatterns;  // open addressing, at most half full

/// The relation names of a pattern's corrected sets, as a planning saw them.
struct NamedSets {
  uint64_t pattern_key = 0;
  uint32_t count = 0;
  uint32_t relsets[kMaxCorrectionsPerPattern];
  char relations[kMaxCorrectionsPerPattern][kRelationsTextLen];
};

struct CorrectionsShared {
  uint64_t generation = 0;
  uint32_t patterns = 0;
  uint32_t sets = 0;
  pg_atomic_uint64 corrected_plannings;
  pg_atomic_uint64 corrected_relations;
  PatternCorrections slots[kSlots];
  NamedSets names[kMaxCorrectedPatterns];  // direct-mapped by pattern key
};

CorrectionsShared* g_shared = nullptr;
LWLock* g_lock = nullptr;

set_rel_pathlist_hook_type g_prev_rel_pathlist = nullptr;
set_join_pathlist_hook_type g_prev_join_pathlist = nullptr;

uint32_t Home(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return static_cast<uint32_t>(key) & (kSlots - 1);
}

/// What a relation set's rows are now, relative to PostgreSQL's estimate.
struct RatioEntry {
  Bitmapset* relids;  // hash key (a copy)
  double ratio;
  double rows_after;  // the rows this set's relation got (to recognise it)
};

/// The corrections of the planning in progress (one per backend at a time).
struct Active {
  const PatternCorrections* set = nullptr;
  PlannerGlobal* glob = nullptr;  // the planning they belong to (first seen)
  HTAB* ratios = nullptr;
  MemoryContext cxt = nullptr;  // of the table and its keys (outlives GEQO's)
  CorrectionReport report;
  RelKeyCache keys;
};
Active* g_active = nullptr;

/// The active corrections when `root` belongs to the corrected planning
/// (another statement planned while it runs -- a function's body -- gets
/// none).
Active* ActiveFor(PlannerInfo* root) {
  if (g_active == nullptr) return nullptr;
  if (g_active->glob == nullptr) g_active->glob = root->glob;
  return g_active->glob == root->glob ? g_active : nullptr;
}

/// The index of `relset`'s correction in the active set, or -1.
int ItemFor(const Active& a, uint32_t relset) {
  for (uint32_t i = 0; i < a.set->count; ++i) {
    if (a.set->items[i].relset == relset) return static_cast<int>(i);
  }
  return -1;
}

/// Notes that item `item` was applied to `relids`, with the relations'
/// aliases (the first time only).
void NoteApplied(Active* a, PlannerInfo* root, Relids relids, int item) {
  const uint32_t bit = 1u << item;
  if ((a->report.applied_mask & bit) != 0) return;
  a->report.applied_mask |= bit;
  NameRelations(root, relids, a->report.relations[item]);
}

/// Finds (found == nullptr) or enters the entry of `relids`; an entered
/// entry gets its own copy of the key, in the table's context.
RatioEntry* FindRatio(Active* a, Relids relids, bool* found) {
  RatioEntry* e =
      static_cast<RatioEntry*>(hash_search(a->ratios, &relids, found != nullptr ? HASH_ENTER : HASH_FIND, found));
  if (found != nullptr && !*found) {
    MemoryContext old = MemoryContextSwitchTo(a->cxt);
    e->relids = bms_copy(relids);
    MemoryContextSwitchTo(old);
  }
  return e;
}

double RatioOf(Active* a, Relids relids) {
  const RatioEntry* e = FindRatio(a, relids, nullptr);
  return e != nullptr ? e->ratio : 1.0;
}

void ScalePaths(List* paths, double scale, bool parameterized_too) {
  ListCell* lc;
  foreach (lc, paths) {
    Path* path = static_cast<Path*>(lfirst(lc));
    if (path->param_info != nullptr && !parameterized_too) continue;
    path->rows = clamp_row_est(path->rows * scale);
  }
}

/// Records `ratio` for `rel` and changes its rows to `target` (scaling
/// the paths it has).
void Correct(Active* a, RelOptInfo* rel, double target, double ratio, bool parameterized_too) {
  const double scale = rel->rows > 0.0 ? target / rel->rows : 1.0;
  rel->rows = target;
  ScalePaths(rel->pathlist, scale, parameterized_too);
  ScalePaths(rel->partial_pathlist, scale, parameterized_too);
  if (parameterized_too) {
    ListCell* lc;
    foreach (lc, rel->ppilist) {
      ParamPathInfo* ppi = static_cast<ParamPathInfo*>(lfirst(lc));
      ppi->ppi_rows = clamp_row_est(ppi->ppi_rows * scale);
    }
  }
  bool found = false;
  RatioEntry* e = FindRatio(a, rel->relids, &found);
  e->ratio = ratio;
  e->rows_after = target;
  ++a->report.corrected;
}

void RelPathlistHook(PlannerInfo* root, RelOptInfo* rel, Index rti, RangeTblEntry* rte) {
  if (g_prev_rel_pathlist != nullptr) g_prev_rel_pathlist(root, rel, rti, rte);
  Active* a = ActiveFor(root);
  if (a == nullptr || rel->reloptkind != RELOPT_BASEREL || rte->rtekind != RTE_RELATION || rte->inh) return;
  const int item = ItemFor(*a, RelSetOf(&a->keys, root, rel->relids));
  const double factor = item >= 0 ? static_cast<double>(a->set->items[item].factor) : 0.0;
  if (!(factor > 0.0) || IS_DUMMY_REL(rel)) return;
  Correct(a, rel, clamp_row_est(rel->rows * factor), factor, /*parameterized_too=*/true);
  NoteApplied(a, root, rel->relids, item);
}

void JoinPathlistHook(PlannerInfo* root, RelOptInfo* joinrel, RelOptInfo* outerrel, RelOptInfo* innerrel,
                      JoinType jointype, JoinPathExtraData* extra) {
  if (g_prev_join_pathlist != nullptr) g_prev_join_pathlist(root, joinrel, outerrel, innerrel, jointype, extra);
  Active* a = ActiveFor(root);
  if (a == nullptr) return;
  const RatioEntry* seen = FindRatio(a, joinrel->relids, nullptr);
  if (seen != nullptr && seen->rows_after == joinrel->rows) return;  // corrected at an earlier pair
  // PostgreSQL's rows for this set were computed from its inputs' rows,
  // which may carry corrections themselves.
  const double inherited = RatioOf(a, outerrel->relids) * RatioOf(a, innerrel->relids);
  const uint32_t relset = RelSetOf(&a->keys, root, joinrel->relids);
  const int item = relset != 0 ? ItemFor(*a, relset) : -1;
  const double factor = item >= 0 ? static_cast<double>(a->set->items[item].factor) : 0.0;
  if (factor > 0.0) {
    // PostgreSQL's own estimate (clamped as it clamps its estimates: the
    // factor was learned against the clamped value).
    const double estimate = clamp_row_est(joinrel->rows / (inherited > 0.0 ? inherited : 1.0));
    Correct(a, joinrel, clamp_row_est(estimate * factor), factor, /*parameterized_too=*/false);
    NoteApplied(a, root, joinrel->relids, item);
  } else if (inherited != 1.0) {
    // Not corrected itself: remember what it inherited for the joins above.
    bool found = false;
    RatioEntry* e = FindRatio(a, joinrel->relids, &found);
    e->ratio = inherited;
    e->rows_after = joinrel->rows;
  }
}

size_t SharedSize() { return sizeof(CorrectionsShared); }

}  // namespace

void NameRelations(PlannerInfo* root, Relids relids, char* out) {
  out[0] = '\0';
  char aliases[kMaxAdviceRelations][kAdviceNameLen];
  int count = 0;
  int member = -1;
  while ((member = bms_next_member(relids, member)) >= 0 && count < kMaxAdviceRelations) {
    const RangeTblEntry* rte = member < root->simple_rel_array_size ? root->simple_rte_array[member] : nullptr;
    if (rte == nullptr || rte->eref == nullptr) return;  // unnamed: the set is shown by its id
    strlcpy(aliases[count++], rte->eref->aliasname, kAdviceNameLen);
  }
  if (bms_num_members(relids) > count) return;
  if (FormatAliases(aliases, count, out, kRelationsTextLen) >= kRelationsTextLen) {
    out[0] = '\0';  // too long to name: shown by its id
  }
}

uint64_t KeyOf(RelKeyCache* cache, PlannerInfo* root, int rti) {
  if (rti <= 0 || rti >= root->simple_rel_array_size) return 0;
  if (cache->root != root || cache->count != root->simple_rel_array_size) {
    MemoryContext old = MemoryContextSwitchTo(cache->cxt);
    if (cache->keys != nullptr) pfree(cache->keys);
    cache->keys = static_cast<uint64_t*>(palloc0(sizeof(uint64_t) * root->simple_rel_array_size));
    MemoryContextSwitchTo(old);
    for (int i = 1; i < root->simple_rel_array_size; ++i) {
      const RangeTblEntry* rte = root->simple_rte_array[i];
      if (rte == nullptr || rte->rtekind != RTE_RELATION || rte->inh) continue;
      cache->keys[i] = RelKey(rte->relid, rte->eref != nullptr ? rte->eref->aliasname : nullptr);
      if (cache->keys[i] == 0) cache->keys[i] = 1;
    }
    cache->root = root;
    cache->count = root->simple_rel_array_size;
  }
  return cache->keys[rti];
}

uint32_t RelSetOf(RelKeyCache* cache, PlannerInfo* root, Relids relids) {
  uint64_t acc = 0;
  int member = -1;
  while ((member = bms_next_member(relids, member)) >= 0) {
    const uint64_t key = KeyOf(cache, root, member);
    if (key == 0) return 0;
    acc = RelSetAdd(acc, key);
  }
  return RelSetId(acc);
}

void RequestCorrectionsMemory() {
  RequestAddinShmemSpace(SharedSize());
  RequestNamedLWLockTranche(kTranche, 1);
}

void StartupCorrectionsMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kShmemName, SharedSize(), &found);
  g_lock = &GetNamedLWLockTranche(kTranche)[0].lock;
  g_shared = static_cast<CorrectionsShared*>(region);
  if (!found) {
    memset(region, 0, SharedSize());
    pg_atomic_init_u64(&g_shared->corrected_plannings, 0);
    pg_atomic_init_u64(&g_shared->corrected_relations, 0);
  }
  LWLockRelease(AddinShmemInitLock);
}

void InstallCorrectionHooks() {
  g_prev_rel_pathlist = set_rel_pathlist_hook;
  set_rel_pathlist_hook = RelPathlistHook;
  g_prev_join_pathlist = set_join_pathlist_hook;
  set_join_pathlist_hook = JoinPathlistHook;
}

bool LookupCorrections(uint64_t pattern_key, PatternCorrections* out) {
  if (g_shared == nullptr || pattern_key == 0) return false;
  bool found = false;
  LWLockAcquire(g_lock, LW_SHARED);
  for (uint32_t i = 0, slot = Home(pattern_key); i < kSlots; ++i, slot = (slot + 1) & (kSlots - 1)) {
    const PatternCorrections& c = g_shared->slots[slot];
    if (c.pattern_key == 0) break;
    if (c.pattern_key == pattern_key) {
      *out = c;
      found = c.count > 0;
      break;
    }
  }
  LWLockRelease(g_lock);
  return found;
}

int CopyCorrections(PatternCorrections* out, int cap) {
  if (g_shared == nullptr) return 0;
  int n = 0;
  LWLockAcquire(g_lock, LW_SHARED);
  for (uint32_t i = 0; i < kSlots && n < cap; ++i) {
    if (g_shared->slots[i].pattern_key != 0) out[n++] = g_shared->slots[i];
  }
  LWLockRelease(g_lock);
  std::sort(out, out + n, [](const PatternCorrections& a, const PatternCorrections& b) {
    return a.pattern_key < b.pattern_key;
  });
  return n;
}

void PublishCorrections(const PatternCorrections* patterns, size_t count) {
  if (g_shared == nullptr) return;
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (uint32_t i = 0; i < kSlots; ++i) g_shared->slots[i].pattern_key = 0;
  uint32_t kept = 0, sets = 0;
  for (size_t k = 0; k < count && kept < static_cast<uint32_t>(kMaxCorrectedPatterns); ++k) {
    if (patterns[k].pattern_key == 0 || patterns[k].count == 0) continue;
    uint32_t slot = Home(patterns[k].pattern_key);
    while (g_shared->slots[slot].pattern_key != 0 && g_shared->slots[slot].pattern_key != patterns[k].pattern_key) {
      slot = (slot + 1) & (kSlots - 1);
    }
    if (g_shared->slots[slot].pattern_key == 0) ++kept;
    g_shared->slots[slot] = patterns[k];
    sets += std::min<uint32_t>(patterns[k].count, kMaxCorrectionsPerPattern);
    g_shared->slots[slot].count = std::min<uint32_t>(patterns[k].count, kMaxCorrectionsPerPattern);
  }
  g_shared->patterns = kept;
  g_shared->sets = sets;
  ++g_shared->generation;
  LWLockRelease(g_lock);
}

CorrectionCounters ReadCorrectionCounters() {
  CorrectionCounters c;
  if (g_shared == nullptr) return c;
  LWLockAcquire(g_lock, LW_SHARED);
  c.published_patterns = g_shared->patterns;
  c.published_sets = g_shared->sets;
  c.generation = g_shared->generation;
  LWLockRelease(g_lock);
  c.corrected_plannings = pg_atomic_read_u64(&g_shared->corrected_plannings);
  c.corrected_relations = pg_atomic_read_u64(&g_shared->corrected_relations);
  return c;
}

PlannedStmt* PlanWithCorrections(const PatternCorrections& set, CorrectedPlannerFn planner, Query* parse,
                                 const char* query_string, int cursor_options, ParamListInfo params,
                                 const char* settings, CorrectionReport* report) {
  Active* active = static_cast<Active*>(palloc0(sizeof(Active)));
  active->set = &set;
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(Relids);
  ctl.entrysize = sizeof(RatioEntry);
  ctl.hash = bitmap_hash;
  ctl.match = bitmap_match;
  active->cxt = CurrentMemoryContext;
  active->keys.cxt = active->cxt;
  ctl.hcxt = active->cxt;
  active->ratios = hash_create("ruvector_dag row corrections", 64, &ctl,
                               HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
  Active* outer = g_active;
  PlannedStmt* out = nullptr;
  g_active = active;
  PG_TRY();
  {
    out = planner(parse, query_string, cursor_options, params, settings);
  }
  PG_FINALLY();
  {
    g_active = outer;
  }
  PG_END_TRY();
  if (report != nullptr) *report = active->report;
  if (g_shared != nullptr && out != nullptr) {
    pg_atomic_fetch_add_u64(&g_shared->corrected_plannings, 1);
    pg_atomic_fetch_add_u64(&g_shared->corrected_relations, static_cast<uint64_t>(active->report.corrected));
  }
  hash_destroy(active->ratios);
  pfree(active);
  return out;
}

void RememberCorrectionNames(uint64_t pattern_key, const PatternCorrections& set, const CorrectionReport& report) {
  if (g_shared == nullptr || pattern_key == 0 || report.applied_mask == 0) return;
  NamedSets& n = g_shared->names[Home(pattern_key) % kMaxCorrectedPatterns];
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  if (n.pattern_key != pattern_key) {
    n.pattern_key = pattern_key;
    n.count = 0;
  }
  for (uint32_t i = 0; i < set.count && i < static_cast<uint32_t>(kMaxCorrectionsPerPattern); ++i) {
    if ((report.applied_mask & (1u << i)) == 0 || report.relations[i][0] == '\0') continue;
    uint32_t k = 0;
    while (k < n.count && n.relsets[k] != set.items[i].relset) ++k;
    if (k == n.count) {
      if (n.count >= static_cast<uint32_t>(kMaxCorrectionsPerPattern)) k = 0;  // full: replace the first
      else ++n.count;
    }
    n.relsets[k] = set.items[i].relset;
    strlcpy(n.relations[k], report.relations[i], kRelationsTextLen);
  }
  LWLockRelease(g_lock);
}

bool CorrectionsAdvice(uint64_t pattern_key, char* out, size_t cap) {
  if (g_shared == nullptr || pattern_key == 0) return false;
  PatternCorrections* set = static_cast<PatternCorrections*>(palloc(sizeof(PatternCorrections)));
  NamedSets* names = static_cast<NamedSets*>(palloc(sizeof(NamedSets)));
  bool found = LookupCorrections(pattern_key, set);
  LWLockAcquire(g_lock, LW_SHARED);
  *names = g_shared->names[Home(pattern_key) % kMaxCorrectedPatterns];
  LWLockRelease(g_lock);
  if (names->pattern_key != pattern_key) names->count = 0;
  for (uint32_t i = 0; found && i < set->count; ++i) {
    const char* relations = "";
    for (uint32_t k = 0; k < names->count; ++k) {
      if (names->relsets[k] == set->items[i].relset) relations = names->relations[k];
    }
    AppendRowsAdvice(relations, set->items[i].relset, static_cast<double>(set->items[i].factor), out, cap);
  }
  pfree(names);
  pfree(set);
  return found;
}

}  // namespace ruvector_pg
