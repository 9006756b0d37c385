// ruhnsw_check(index): verifies the structure of a ruhnsw index -- meta
// page, every element tuple's size, every link naming a live element of a
// high enough level, the entry point -- and returns the number of elements.
// ERROR (index corrupted) at the first violation. PG zone.
#include "hnsw.h"

extern "C" {
#include "access/relation.h"
#include "utils/acl.h"
}

using namespace ruvector_vec;

namespace {

[[noreturn]] void Broken(Relation index, BlockNumber blk, OffsetNumber off, const char* what) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("ruhnsw index \"%s\": element (%u,%u): %s", RelationGetRelationName(index), blk, off, what)));
  pg_unreachable();
}

// Level of the element at `tid`, -1 when there is none.
int LevelAt(Relation index, const ItemPointerData& tid, BlockNumber nblocks) {
  BlockNumber blk = ItemPointerGetBlockNumberNoCheck(&tid);
  OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(&tid);
  if (blk == kMetaBlock || blk >= nblocks) return -1;
  Buffer buf = ReadBuffer(index, blk);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  int level = -1;
  if (!PageIsNew(page) && reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page))->type == kPageElements &&
      off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) && ItemIdIsNormal(PageGetItemId(page, off)))
    level = reinterpret_cast<const HnswElementHeader*>(PageGetItem(page, PageGetItemId(page, off)))->level;
  UnlockReleaseBuffer(buf);
  return level;
}

}  // namespace

extern "C" {

bool ruhnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
PG_FUNCTION_INFO_V1(ruhnsw_check);

Datum ruhnsw_check(PG_FUNCTION_ARGS) {
  Oid relid = PG_GETARG_OID(0);
  Relation index = relation_open(relid, AccessShareLock);
  if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == nullptr ||
      index->rd_indam->amgettuple != ruhnsw_gettuple)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not a ruhnsw index", RelationGetRelationName(index))));
  if (!pg_class_ownercheck(relid, GetUserId()))
    aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, RelationGetRelationName(index));
  // Writers (inserts, VACUUM) wait: the graph does not change under the check.
  LockPage(index, kUpdateLock, ShareLock);
  HnswMeta meta = ReadMeta(index);
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  int64 elements = 0;
  int top_level = -1;
  auto* links = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * 2 * meta.m));
  for (BlockNumber blk = 1; blk < nblocks; blk++) {
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    // An all-zero page is one whose extension of the file survived a crash
    // while its first write (and WAL record) did not: PostgreSQL leaves such
    // pages, inserts and VACUUM skip them, and a link into one is reported
    // below as a link to a missing element.
    if (PageIsNew(page)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaque)) ||
        reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page))->type != kPageElements)
      Broken(index, blk, 0, "page is not an element page");
    OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
    for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++) {
      ItemId item = PageGetItemId(page, off);
      if (!ItemIdIsNormal(item)) continue;
      const char* tuple = static_cast<const char*>(PageGetItem(page, item));
      int level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
      if (level > meta.max_level) Broken(index, blk, off, "level above the index's maximum");
      ElementLayout layout = LayoutFor(level, meta.m, meta.dims);
      if (ItemIdGetLength(item) != layout.size) Broken(index, blk, off, "tuple size does not match its level");
      if (!ItemPointerIsValid(&reinterpret_cast<const HnswElementHeader*>(tuple)->heap_tid))
        Broken(index, blk, off, "invalid heap TID");
      elements++;
      top_level = std::max(top_level, level);
      for (int l = 0; l <= level; l++) {
        uint16 count;
        std::memcpy(&count, tuple + layout.counts + sizeof(uint16) * l, sizeof(count));
        if (count > LayerCapacity(l, meta.m)) Broken(index, blk, off, "neighbor count above capacity");
        std::memcpy(links, tuple + layout.neighbors + sizeof(ItemPointerData) * FirstSlot(l, meta.m),
                    sizeof(ItemPointerData) * count);
        // Links are checked with this page unlocked (LevelAt locks pages).
        UnlockReleaseBuffer(buf);
        for (int i = 0; i < count; i++) {
          int target = LevelAt(index, links[i], nblocks);
          if (target < 0) Broken(index, blk, off, "links to a missing element");
          if (target < l) Broken(index, blk, off, "links to an element below the link's level");
        }
        buf = ReadBuffer(index, blk);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        page = BufferGetPage(buf);
        tuple = static_cast<const char*>(PageGetItem(page, PageGetItemId(page, off)));
      }
    }
    UnlockReleaseBuffer(buf);
  }
  if (elements == 0 && meta.entry_level != -1) Broken(index, 0, 0, "empty index with an entry point");
  if (elements > 0) {
    int entry = LevelAt(index, meta.entry, nblocks);
    if (entry < 0) Broken(index, 0, 0, "entry point missing");
    if (entry != meta.entry_level || entry != top_level)
      Broken(index, 0, 0, "entry point is not on the highest level");
  }
  UnlockPage(index, kUpdateLock, ShareLock);
  relation_close(index, AccessShareLock);
  PG_RETURN_INT64(elements);
}

}  // extern "C"
