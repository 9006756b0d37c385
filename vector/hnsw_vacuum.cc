// ruhnsw: VACUUM. Holding the update lock (inserts wait; scans go on):
//   1. find the elements whose heap tuples are dead;
//   2. repair every live element that links to one: its new neighbors are
//      chosen by the heuristic among its live neighbors and the live
//      neighbors of the dead ones it linked to;
//   3. move the entry point off a dead element (to the highest live one);
//   4. delete the dead element tuples (their line pointers become free for
//      later inserts) and record the pages' free space in the FSM.
// Every page change goes through generic WAL. PG zone.
#include "hnsw.h"

namespace ruvector_vec {
namespace {

struct IdArray {
  uint64_t* data = nullptr;
  size_t n = 0;
  size_t cap = 0;
  void push(uint64_t v) {
    if (n == cap) {
      cap = cap == 0 ? 256 : cap * 2;
      data = static_cast<uint64_t*>(data == nullptr ? palloc_extended(sizeof(uint64_t) * cap, MCXT_ALLOC_HUGE)
                                                     : repalloc_huge(data, sizeof(uint64_t) * cap));
    }
    data[n++] = v;
  }
  bool contains(uint64_t v) const { return std::binary_search(data, data + n, v); }
};

// Visits every element tuple of the index (share lock per page):
// fn(id, tuple) -- fn must not take buffer locks.
template <typename F>
void ForEachElement(Relation index, BufferAccessStrategy strategy, F fn) {
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = 1; blk < nblocks; blk++) {
    vacuum_delay_point();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (!PageIsNew(page) && reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page))->type == kPageElements) {
      OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
      for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++) {
        ItemId item = PageGetItemId(page, off);
        if (!ItemIdIsNormal(item)) continue;
        fn((static_cast<uint64_t>(blk) << 16) | off, static_cast<const char*>(PageGetItem(page, item)));
      }
    }
    UnlockReleaseBuffer(buf);
  }
}

// New neighbors of `id` on `level`, replacing the dead ones it links to.
void RepairLevel(Relation index, const HnswMeta& meta, PageGraph& graph, const IdArray& dead, uint64_t id, int level,
                 const float* base) {
  const int cap = LayerCapacity(level, meta.m);
  auto* list = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * 2 * meta.m));
  auto* second = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * 2 * meta.m));
  int n = graph.ReadNeighbors(id, level, list);
  IdArray cands;
  for (int i = 0; i < n; i++) {
    uint64_t nb = PackTid(list[i]);
    if (!dead.contains(nb)) {
      cands.push(nb);
      continue;
    }
    int k = graph.ReadNeighbors(nb, level, second);
    for (int j = 0; j < k; j++) {
      uint64_t c = PackTid(second[j]);
      if (c != id && !dead.contains(c)) cands.push(c);
    }
  }
  std::sort(cands.data, cands.data + cands.n);
  size_t unique = std::unique(cands.data, cands.data + cands.n) - cands.data;
  CandidateArray arr;
  for (size_t i = 0; i < unique; i++) arr.push_back(Candidate{cands.data[i], 0});
  int k = ChooseNeighbors(graph, meta, base, arr, cap, nullptr, nullptr, list);
  WriteNeighbors(index, meta, id, level, list, k);
}

}  // namespace
}  // namespace ruvector_vec

using namespace ruvector_vec;

extern "C" IndexBulkDeleteResult* ruhnsw_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                                    IndexBulkDeleteCallback callback, void* callback_state) {
  Relation index = info->index;
  if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw vacuum", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  LockPage(index, kUpdateLock, ExclusiveLock);
  HnswMeta meta = ReadMeta(index);

  // 1. Dead elements; the highest live element (a new entry point).
  IdArray dead;
  double live = 0;
  int top_level = -1;
  uint64_t top = 0;
  ForEachElement(index, info->strategy, [&](uint64_t id, const char* tuple) {
    auto* header = reinterpret_cast<const HnswElementHeader*>(tuple);
    ItemPointerData heap_tid = header->heap_tid;
    if (callback(&heap_tid, callback_state)) {
      dead.push(id);
    } else {
      live++;
      if (header->level > top_level) {
        top_level = header->level;
        top = id;
      }
    }
  });
  std::sort(dead.data, dead.data + dead.n);

  if (dead.n > 0) {
    // 2. Live elements linking to dead ones, with the levels to repair.
    IdArray todo;  // id << 8 | level
    ForEachElement(index, info->strategy, [&](uint64_t id, const char* tuple) {
      if (dead.contains(id)) return;
      int level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
      ElementLayout layout = LayoutFor(level, meta.m, meta.dims);
      for (int l = 0; l <= level; l++) {
        uint16 count;
        std::memcpy(&count, tuple + layout.counts + sizeof(uint16) * l, sizeof(count));
        for (int i = 0; i < count && i < LayerCapacity(l, meta.m); i++) {
          ItemPointerData nb;
          std::memcpy(&nb, tuple + layout.neighbors + sizeof(ItemPointerData) * (FirstSlot(l, meta.m) + i), sizeof(nb));
          if (dead.contains(PackTid(nb))) {
            todo.push((id << 8) | static_cast<uint64_t>(l));
            break;
          }
        }
      }
    });
    PageGraph graph(index, meta, nullptr);
    auto* base = static_cast<float*>(palloc(sizeof(float) * meta.dims));
    MemoryContext repair = AllocSetContextCreate(cxt, "ruhnsw repair", ALLOCSET_DEFAULT_SIZES);
    for (size_t i = 0; i < todo.n; i++) {
      vacuum_delay_point();
      uint64_t id = todo.data[i] >> 8;
      int level = static_cast<int>(todo.data[i] & 0xFF);
      MemoryContextSwitchTo(repair);
      if (graph.ReadVector(id, base)) RepairLevel(index, meta, graph, dead, id, level, base);
      MemoryContextSwitchTo(cxt);
      MemoryContextReset(repair);
    }

    // 3. Entry point.
    if (meta.entry_level >= 0 && dead.contains(PackTid(meta.entry))) {
      ItemPointerData entry;
      if (top_level >= 0) UnpackTid(top, &entry); else ItemPointerSetInvalid(&entry);
      UpdateMeta(index, top_level, &entry, InvalidBlockNumber);
    }

    // 4. Delete the dead tuples, page by page.
    size_t i = 0;
    while (i < dead.n) {
      vacuum_delay_point();
      BlockNumber blk = static_cast<BlockNumber>(dead.data[i] >> 16);
      Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, buf, 0);
      size_t end = i;
      while (end < dead.n && (dead.data[end] >> 16) == blk) end++;
      // Highest offsets first: deleting the last line pointer shrinks the array.
      for (size_t k = end; k > i; k--) {
        OffsetNumber off = static_cast<OffsetNumber>(dead.data[k - 1] & 0xFFFF);
        if (off <= PageGetMaxOffsetNumber(page) && ItemIdIsNormal(PageGetItemId(page, off)))
          PageIndexTupleDeleteNoCompact(page, off);
      }
      PageSetHasFreeLinePointers(page);
      Size free_space = PageGetFreeSpace(page);
      GenericXLogFinish(state);
      UnlockReleaseBuffer(buf);
      RecordPageWithFreeSpace(index, blk, free_space);
      stats->tuples_removed += static_cast<double>(end - i);
      i = end;
    }
    IndexFreeSpaceMapVacuum(index);
  }
  UnlockPage(index, kUpdateLock, ExclusiveLock);
  stats->num_index_tuples = live;
  stats->num_pages = RelationGetNumberOfBlocks(index);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return stats;
}

extern "C" IndexBulkDeleteResult* ruhnsw_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only) return stats;
  if (stats == nullptr) {
    // No bulk delete ran: count the elements.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    double count = 0;
    ForEachElement(info->index, info->strategy, [&](uint64_t, const char*) { count++; });
    stats->num_index_tuples = count;
  }
  stats->num_pages = RelationGetNumberOfBlocks(info->index);
  return stats;
}
