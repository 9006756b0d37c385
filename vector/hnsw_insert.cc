// ruhnsw: inserting an element into the page graph (aminsert, and the
// build when the graph outgrows maintenance_work_mem). PG zone.
//
// WAL order keeps the graph consistent after a crash at any point: the new
// element's tuple (with its links to existing elements) is written first,
// then each back-link, then the meta page's entry point -- so no link ever
// names an element that is not on disk.
#include "hnsw.h"

namespace ruvector_vec {
namespace {

// Finds room for `size` bytes: the meta page's insert hint, a page the free
// space map knows, or a new page. Returns the block, exclusively locked.
Buffer PageWithRoom(Relation index, Size size, bool* extended) {
  HnswMeta meta = ReadMeta(index);
  Size needed = MAXALIGN(size);
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  BlockNumber tries[2] = {meta.insert_page, InvalidBlockNumber};
  for (int i = 0; i < 2; i++) {
    BlockNumber blk = i == 0 ? tries[0] : GetPageWithFreeSpace(index, needed);
    if (blk == InvalidBlockNumber || blk == kMetaBlock || blk >= nblocks) continue;
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    if (!PageIsNew(page) && reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page))->type == kPageElements &&
        PageGetFreeSpace(page) >= needed) {
      *extended = false;
      return buf;
    }
    if (i == 1) RecordPageWithFreeSpace(index, blk, PageIsNew(page) ? 0 : PageGetFreeSpace(page));
    UnlockReleaseBuffer(buf);
  }
  LockRelationForExtension(index, ExclusiveLock);
  Buffer buf = ReadBuffer(index, P_NEW);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  UnlockRelationForExtension(index, ExclusiveLock);
  *extended = true;
  return buf;
}

// Writes a new element tuple; returns its TID.
ItemPointerData AddElement(Relation index, const char* tuple, Size size) {
  bool extended;
  Buffer buf = PageWithRoom(index, size, &extended);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, extended ? GENERIC_XLOG_FULL_IMAGE : 0);
  if (extended) InitPage(page, kPageElements);
  OffsetNumber off = PageAddItem(page, reinterpret_cast<Item>(const_cast<char*>(tuple)), size, InvalidOffsetNumber,
                                 false, false);
  if (off == InvalidOffsetNumber) {
    GenericXLogAbort(state);
    UnlockReleaseBuffer(buf);
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruhnsw: failed to add an element to index \"%s\"",
                                                            RelationGetRelationName(index))));
  }
  GenericXLogFinish(state);
  ItemPointerData tid;
  BlockNumber blk = BufferGetBlockNumber(buf);
  ItemPointerSet(&tid, blk, off);
  UnlockReleaseBuffer(buf);
  if (extended) UpdateMeta(index, 0, nullptr, blk);
  return tid;
}

}  // namespace

// Chooses up to `keep` neighbors for the element with vector `base` among
// `cands` (any order; ids are element TIDs); writes their TIDs into `out`.
// Candidates that are gone are skipped. Returns how many.
int ChooseNeighbors(PageGraph& graph, const HnswMeta& meta, const float* base, CandidateArray& cands, int keep,
                    const uint64_t* extra_id, const float* extra_vec, ItemPointerData* out) {
  const int dims = meta.dims;
  const Metric metric = static_cast<Metric>(meta.metric);
  size_t n = cands.size();
  auto* vecs = static_cast<float*>(palloc(sizeof(float) * dims * (n + 1)));
  auto* ptrs = static_cast<const float**>(palloc(sizeof(float*) * (n + 1)));
  CandidateArray usable;
  for (size_t i = 0; i < n; i++) {
    float* v = vecs + usable.size() * dims;
    bool ok = (extra_id != nullptr && cands.data[i].id == *extra_id) ? (std::memcpy(v, extra_vec, sizeof(float) * dims), true)
                                                                   : graph.ReadVector(cands.data[i].id, v);
    if (!ok) continue;
    usable.push_back(Candidate{cands.data[i].id, IndexDistance(metric, base, v, dims)});
  }
  // Sort candidates and their vectors together.
  auto* order = static_cast<int*>(palloc(sizeof(int) * (usable.size() + 1)));
  for (size_t i = 0; i < usable.size(); i++) order[i] = static_cast<int>(i);
  std::sort(order, order + usable.size(), [&](int a, int b) {
    return usable.data[a].dist < usable.data[b].dist ||
           (usable.data[a].dist == usable.data[b].dist && usable.data[a].id < usable.data[b].id);
  });
  auto* sorted = static_cast<Candidate*>(palloc(sizeof(Candidate) * (usable.size() + 1)));
  for (size_t i = 0; i < usable.size(); i++) {
    sorted[i] = usable.data[order[i]];
    ptrs[i] = vecs + static_cast<size_t>(order[i]) * dims;
  }
  auto* picked = static_cast<int*>(palloc(sizeof(int) * keep));
  int k = SelectNeighbors(sorted, ptrs, static_cast<int>(usable.size()), keep, metric, dims, picked);
  for (int i = 0; i < k; i++) UnpackTid(sorted[picked[i]].id, &out[i]);
  pfree(vecs);
  pfree(ptrs);
  pfree(order);
  pfree(sorted);
  pfree(picked);
  return k;
}

// Rewrites the neighbor list of element `id` on `level` (generic WAL).
// Returns false when the element is gone.
bool WriteNeighbors(Relation index, const HnswMeta& meta, uint64_t id, int level, const ItemPointerData* list, int n) {
  ItemPointerData tid;
  UnpackTid(id, &tid);
  Buffer buf = ReadBuffer(index, ItemPointerGetBlockNumber(&tid));
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, 0);
  OffsetNumber off = ItemPointerGetOffsetNumber(&tid);
  bool ok = off <= PageGetMaxOffsetNumber(page) && ItemIdIsNormal(PageGetItemId(page, off));
  if (ok) {
    char* tuple = static_cast<char*>(PageGetItem(page, PageGetItemId(page, off)));
    int own_level = reinterpret_cast<HnswElementHeader*>(tuple)->level;
    ok = level <= own_level && n <= LayerCapacity(level, meta.m);
    if (ok) {
      ElementLayout layout = LayoutFor(own_level, meta.m, meta.dims);
      uint16 count = static_cast<uint16>(n);
      std::memcpy(tuple + layout.counts + sizeof(uint16) * level, &count, sizeof(count));
      std::memcpy(tuple + layout.neighbors + sizeof(ItemPointerData) * FirstSlot(level, meta.m), list,
                  sizeof(ItemPointerData) * n);
    }
  }
  if (ok) GenericXLogFinish(state); else GenericXLogAbort(state);
  UnlockReleaseBuffer(buf);
  return ok;
}

namespace {

// Adds a link from `from` to the new element `to` on `level`, pruning by the
// heuristic when the list is full.
void Connect(Relation index, const HnswMeta& meta, PageGraph& graph, uint64_t from, uint64_t to, const float* to_vec,
             int level) {
  const int cap = LayerCapacity(level, meta.m);
  auto* list = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * (cap + 1)));
  int n = graph.ReadNeighbors(from, level, list);
  for (int i = 0; i < n; i++)
    if (PackTid(list[i]) == to) return;
  if (n < cap) {
    UnpackTid(to, &list[n]);
    WriteNeighbors(index, meta, from, level, list, n + 1);
    pfree(list);
    return;
  }
  auto* base = static_cast<float*>(palloc(sizeof(float) * meta.dims));
  if (!graph.ReadVector(from, base)) return;
  CandidateArray cands;
  for (int i = 0; i < n; i++) cands.push_back(Candidate{PackTid(list[i]), 0});
  cands.push_back(Candidate{to, 0});
  int k = ChooseNeighbors(graph, meta, base, cands, cap, &to, to_vec, list);
  WriteNeighbors(index, meta, from, level, list, k);
  pfree(base);
  pfree(list);
}

}  // namespace

void InsertOnPages(Relation index, const HnswMeta& meta, const float* vec, ItemPointer heap_tid, uint64_t* rng) {
  const int level = LevelFromUniform(1.0 - UniformDouble(rng), meta.m, meta.max_level);
  ElementLayout layout = LayoutFor(level, meta.m, meta.dims);
  char* tuple = static_cast<char*>(palloc0(layout.size));
  auto* header = reinterpret_cast<HnswElementHeader*>(tuple);
  header->heap_tid = *heap_tid;
  header->level = static_cast<uint8>(level);
  std::memcpy(tuple + layout.vector, vec, sizeof(float) * meta.dims);
  if (meta.entry_level < 0) {
    ItemPointerData self = AddElement(index, tuple, layout.size);
    UpdateMeta(index, level, &self, InvalidBlockNumber);
    pfree(tuple);
    return;
  }
  PageGraph graph(index, meta, vec);
  uint64_t entry = PackTid(meta.entry);
  float d;
  if (!graph.Distance(entry, &d))
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("ruhnsw index \"%s\": entry point missing", RelationGetRelationName(index)),
                    errhint("REINDEX the index.")));
  CandidateArray results, work;
  results.push_back(Candidate{entry, d});
  // chosen[l]: the new element's neighbors on level l (for the back-links).
  auto* counts = reinterpret_cast<uint16*>(tuple + layout.counts);
  auto* slots = reinterpret_cast<ItemPointerData*>(tuple + layout.neighbors);
  for (int l = meta.entry_level; l >= 0; l--) {
    graph.ResetVisited();
    for (const Candidate& c : results) graph.Visit(c.id);
    if (l > level) {
      SearchLayer(graph, l, 1, results, work);
      continue;
    }
    SearchLayer(graph, l, meta.ef_construction, results, work);
    counts[l] = static_cast<uint16>(
        ChooseNeighbors(graph, meta, vec, results, meta.m, nullptr, nullptr, slots + FirstSlot(l, meta.m)));
  }
  ItemPointerData self = AddElement(index, tuple, layout.size);
  for (int l = std::min(level, meta.entry_level); l >= 0; l--)
    for (int i = 0; i < counts[l]; i++)
      Connect(index, meta, graph, PackTid(slots[FirstSlot(l, meta.m) + i]), PackTid(self), vec, l);
  if (level > meta.entry_level) UpdateMeta(index, level, &self, InvalidBlockNumber);
  pfree(tuple);
}

}  // namespace ruvector_vec

using namespace ruvector_vec;

extern "C" bool ruhnsw_insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
                              IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo* index_info) {
  if (isnull[0]) return false;
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw insert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  RuVector* v = DatumGetRuVector(values[0]);
  // One writer at a time (inserts, VACUUM); scans go on.
  LockPage(index, kUpdateLock, ExclusiveLock);
  HnswMeta meta = ReadMeta(index);
  auto* vec = static_cast<float*>(palloc(sizeof(float) * meta.dims));
  if (PrepareVector(v, meta, vec)) {
    uint64_t rng = pg_prng_uint64(&pg_global_prng_state);
    InsertOnPages(index, meta, vec, heap_tid, &rng);
  }
  UnlockPage(index, kUpdateLock, ExclusiveLock);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return false;
}
