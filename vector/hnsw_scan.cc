// ruhnsw: ordered index scans (ORDER BY col <op> value). The first
// amgettuple call searches the graph with ef = ruvector.hnsw_ef_search and
// the scan then returns those elements nearest first; a scan returns at most
// ef_search rows. PG zone.
#include "hnsw.h"

namespace ruvector_vec {
namespace {

struct HnswScanState {
  bool searched;
  CandidateArray results;
  size_t next;
  HnswMeta meta;
  PageGraph* graph;   // reads the heap TIDs of the results
  MemoryContext cxt;  // the search's allocations, reset by rescan
};

}  // namespace
}  // namespace ruvector_vec

using namespace ruvector_vec;

extern "C" IndexScanDesc ruhnsw_beginscan(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  auto* so = static_cast<HnswScanState*>(palloc0(sizeof(HnswScanState)));
  so->cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = so;
  return scan;
}

extern "C" void ruhnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  auto* so = static_cast<HnswScanState*>(scan->opaque);
  if (keys != nullptr && scan->numberOfKeys > 0)
    std::memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys != nullptr && scan->numberOfOrderBys > 0)
    std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
  so->searched = false;
  so->next = 0;
  so->results = CandidateArray();
  MemoryContextReset(so->cxt);
}

extern "C" bool ruhnsw_gettuple(IndexScanDesc scan, ScanDirection dir) {
  auto* so = static_cast<HnswScanState*>(scan->opaque);
  Relation index = scan->indexRelation;
  if (!so->searched) {
    if (scan->numberOfOrderBys == 0 || scan->orderByData[0].sk_attno != 1)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("ruhnsw index scans need ORDER BY column <distance operator> value")));
    MemoryContext old = MemoryContextSwitchTo(so->cxt);
    so->meta = ReadMeta(index);
    auto* query = static_cast<float*>(palloc0(sizeof(float) * so->meta.dims));
    // ORDER BY col <-> NULL: every distance is NULL, any order is right.
    if (!(scan->orderByData[0].sk_flags & SK_ISNULL)) {
      RuVector* v = DatumGetRuVector(scan->orderByData[0].sk_argument);
      if (!PrepareVector(v, so->meta, query)) std::memset(query, 0, sizeof(float) * so->meta.dims);
    }
    SearchPages(index, so->meta, query, g_hnsw_ef_search, &so->results);
    so->graph = new (palloc(sizeof(PageGraph))) PageGraph(index, so->meta, query);
    so->searched = true;
    MemoryContextSwitchTo(old);
  }
  while (so->next < so->results.size()) {
    uint64_t id = so->results.data[so->next++].id;
    HnswElementHeader header;
    if (!so->graph->ReadHeader(id, &header)) continue;  // removed by VACUUM since the search
    scan->xs_heaptid = header.heap_tid;
    scan->xs_recheck = false;
    scan->xs_recheckorderby = false;
    return true;
  }
  return false;
}

extern "C" void ruhnsw_endscan(IndexScanDesc scan) {
  auto* so = static_cast<HnswScanState*>(scan->opaque);
  MemoryContextDelete(so->cxt);
  pfree(so);
  scan->opaque = nullptr;
}
