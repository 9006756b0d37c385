// ruhnsw: CREATE INDEX. The heap scan feeds an in-memory graph (C++ zone,
// under the guard, owned by the build's memory context); the finished graph
// is written page by page with generic WAL. When the graph would outgrow
// maintenance_work_mem it is written out early and the remaining rows are
// inserted into the page graph one by one. PG zone except MemoryGraph.
#include "hnsw.h"

#include "guard.h"

namespace ruvector_vec {
namespace {

// Seed of the build's level generator: builds are deterministic.
constexpr uint64_t kBuildSeed = 0x52755665637421ULL;

struct BuildBox {
  MemoryGraph graph;
  std::vector<ItemPointerData> tids;
};

struct BuildState {
  Relation index;
  HnswMeta meta;
  BuildBox* box;
  float* vec;
  Size budget;
  bool spilled;
  uint64_t page_rng;
  double heap_tuples;
  double index_tuples;
  MemoryContext tmp;
};

[[noreturn]] void ReportCpp(const ruvector_pg::PlainStatus& st) {
  ereport(ERROR, (errcode(st.code == ruvector_dag::StatusCode::kResourceExhausted ? ERRCODE_OUT_OF_MEMORY
                                                                                 : ERRCODE_INTERNAL_ERROR),
                  errmsg("ruhnsw: %s", st.message)));
  pg_unreachable();
}

void FlushGraph(BuildState* bs) {
  if (bs->box->graph.size() > 0) WriteGraphPages(bs->index, bs->box->graph, bs->box->tids.data());
  ruvector_pg::PlainStatus st = ruvector_pg::RunCpp("ruhnsw build", [&] {
    BuildBox empty;
    std::swap(empty, *bs->box);  // frees the graph's memory now
    return ruvector_dag::Status::Ok();
  });
  if (!st.ok()) ReportCpp(st);
}

void BuildCallback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool alive, void* state) {
  auto* bs = static_cast<BuildState*>(state);
  bs->heap_tuples++;
  if (isnull[0]) return;
  MemoryContext old = MemoryContextSwitchTo(bs->tmp);
  bool use = PrepareVector(DatumGetRuVector(values[0]), bs->meta, bs->vec);
  if (use && bs->spilled) {
    HnswMeta meta = ReadMeta(index);
    InsertOnPages(index, meta, bs->vec, tid, &bs->page_rng);
  } else if (use) {
    ItemPointerData t = *tid;
    ruvector_pg::PlainStatus st = ruvector_pg::RunCpp("ruhnsw build", [&] {
      bs->box->graph.Add(bs->vec);
      bs->box->tids.push_back(t);
      return ruvector_dag::Status::Ok();
    });
    if (!st.ok()) ReportCpp(st);
    if (bs->box->graph.MemoryBytes() + bs->box->tids.size() * sizeof(ItemPointerData) > bs->budget) {
      FlushGraph(bs);
      bs->spilled = true;
      ereport(NOTICE, (errmsg("ruhnsw graph no longer fits in maintenance_work_mem after %.0f tuples",
                              bs->index_tuples + 1),
                       errdetail("The remaining tuples are inserted into the index pages one by one, "
                                 "which is much slower."),
                       errhint("Increase maintenance_work_mem to speed up builds.")));
    }
  }
  if (use) bs->index_tuples++;
  MemoryContextSwitchTo(old);
  MemoryContextReset(bs->tmp);
}

// The meta page of a new, empty index (parameters from the column and the
// reloptions).
HnswMeta NewMeta(Relation index) {
  int dims = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
  if (dims < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
                    errhint("Declare the column as ruvector(n).")));
  if (dims > kMaxIndexDims)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("column cannot have more than %d dimensions for ruhnsw index", kMaxIndexDims)));
  HnswMeta meta;
  std::memset(&meta, 0, sizeof(meta));
  meta.magic = kHnswMagic;
  meta.version = kHnswVersion;
  meta.dims = dims;
  GetOptions(index, &meta.m, &meta.ef_construction);
  if (meta.ef_construction < 2 * meta.m)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ef_construction must be at least 2 * m (m = %d, ef_construction = %d)", meta.m,
                           meta.ef_construction)));
  meta.metric = static_cast<int32>(IndexMetric(index));
  meta.max_level = MaxLevelFitting(meta.m, dims);
  if (meta.max_level < 0)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("an element of %d dimensions with m = %d does not fit an index page", dims, meta.m),
                    errhint("Use a smaller m.")));
  meta.entry_level = -1;
  ItemPointerSetInvalid(&meta.entry);
  meta.insert_page = InvalidBlockNumber;
  return meta;
}

}  // namespace

void WriteGraphPages(Relation index, const MemoryGraph& graph, const ItemPointerData* tids) {
  const size_t n = graph.size();
  const HnswMeta meta = ReadMeta(index);
  BlockNumber first = RelationGetNumberOfBlocks(index);
  // Place every element first (its TID is needed by the links to it).
  auto* where = static_cast<ItemPointerData*>(palloc_extended(sizeof(ItemPointerData) * n, MCXT_ALLOC_HUGE));
  const Size room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaque));
  BlockNumber blk = first;
  OffsetNumber off = FirstOffsetNumber;
  Size left = room;
  for (size_t i = 0; i < n; i++) {
    Size need = MAXALIGN(LayoutFor(graph.level(i), meta.m, meta.dims).size) + sizeof(ItemIdData);
    if (need > left) {
      blk++;
      off = FirstOffsetNumber;
      left = room;
    }
    ItemPointerSet(&where[i], blk, off++);
    left -= need;
  }
  MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw write", ALLOCSET_DEFAULT_SIZES);
  size_t i = 0;
  while (i < n) {
    CHECK_FOR_INTERRUPTS();
    MemoryContext old = MemoryContextSwitchTo(tmp);
    Buffer buf = ReadBuffer(index, P_NEW);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    BlockNumber page_blk = BufferGetBlockNumber(buf);
    if (page_blk != ItemPointerGetBlockNumber(&where[i]))
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruhnsw build: index grew concurrently")));
    GenericXLogState* state = GenericXLogStart(index);
    Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
    InitPage(page, kPageElements);
    for (; i < n && ItemPointerGetBlockNumber(&where[i]) == page_blk; i++) {
      int level = graph.level(i);
      ElementLayout layout = LayoutFor(level, meta.m, meta.dims);
      char* tuple = static_cast<char*>(palloc0(layout.size));
      auto* header = reinterpret_cast<HnswElementHeader*>(tuple);
      header->heap_tid = tids[i];
      header->level = static_cast<uint8>(level);
      auto* counts = reinterpret_cast<uint16*>(tuple + layout.counts);
      auto* slots = reinterpret_cast<ItemPointerData*>(tuple + layout.neighbors);
      for (int l = 0; l <= level; l++) {
        const std::vector<uint32_t>& nb = graph.neighbors(i, l);
        counts[l] = static_cast<uint16>(nb.size());
        for (size_t k = 0; k < nb.size(); k++) slots[FirstSlot(l, meta.m) + k] = where[nb[k]];
      }
      std::memcpy(tuple + layout.vector, graph.vector(i), sizeof(float) * meta.dims);
      OffsetNumber got = PageAddItem(page, reinterpret_cast<Item>(tuple), layout.size, InvalidOffsetNumber, false, false);
      if (got != ItemPointerGetOffsetNumber(&where[i]))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruhnsw build: element placement mismatch")));
    }
    GenericXLogFinish(state);
    UnlockReleaseBuffer(buf);
    MemoryContextSwitchTo(old);
    MemoryContextReset(tmp);
  }
  MemoryContextDelete(tmp);
  // The new part replaces the entry point when it reaches higher.
  const ItemPointerData entry = where[graph.entry()];
  int level = graph.level(graph.entry());
  UpdateMeta(index, level, level > meta.entry_level ? &entry : nullptr, blk);
  pfree(where);
}

}  // namespace ruvector_vec

using namespace ruvector_vec;

extern "C" IndexBuildResult* ruhnsw_build(Relation heap, Relation index, IndexInfo* index_info) {
  if (RelationGetNumberOfBlocks(index) != 0)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("index \"%s\" already contains data",
                                                            RelationGetRelationName(index))));
  BuildState bs;
  bs.index = index;
  bs.meta = NewMeta(index);
  WriteMetaPage(index, MAIN_FORKNUM, bs.meta);
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw build", ALLOCSET_DEFAULT_SIZES);
  bs.box = ruvector_pg::NewOwnedByContext<BuildBox>(cxt);
  bs.tmp = AllocSetContextCreate(cxt, "ruhnsw build tuple", ALLOCSET_DEFAULT_SIZES);
  bs.vec = static_cast<float*>(MemoryContextAlloc(cxt, sizeof(float) * bs.meta.dims));
  bs.budget = static_cast<Size>(maintenance_work_mem) * 1024;
  bs.spilled = false;
  bs.page_rng = kBuildSeed ^ 0xFFFF;
  bs.heap_tuples = 0;
  bs.index_tuples = 0;
  HnswParams params;
  params.dims = bs.meta.dims;
  params.m = bs.meta.m;
  params.ef_construction = bs.meta.ef_construction;
  params.max_level = bs.meta.max_level;
  params.metric = static_cast<Metric>(bs.meta.metric);
  bs.box->graph.Init(params, kBuildSeed);
  table_index_build_scan(heap, index, index_info, true, true, BuildCallback, &bs, nullptr);
  if (!bs.spilled) FlushGraph(&bs);
  MemoryContextDelete(cxt);
  auto* result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
  result->heap_tuples = bs.heap_tuples;
  result->index_tuples = bs.index_tuples;
  return result;
}

extern "C" void ruhnsw_buildempty(Relation index) { WriteMetaPage(index, INIT_FORKNUM, NewMeta(index)); }
