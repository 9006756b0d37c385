// ruhnsw: page layout, meta page, the on-page graph and its search. PG zone.
#include "hnsw.h"

extern "C" {
Datum ruvector_l2_distance(PG_FUNCTION_ARGS);
Datum ruvector_cosine_distance(PG_FUNCTION_ARGS);
Datum ruvector_negative_inner_product(PG_FUNCTION_ARGS);
}

namespace ruvector_vec {

ElementLayout LayoutFor(int level, int m, int dims) {
  ElementLayout l;
  l.counts = sizeof(HnswElementHeader);
  l.neighbors = l.counts + sizeof(uint16) * (level + 1);
  int slots = 2 * m + level * m;
  l.vector = TYPEALIGN(sizeof(float), l.neighbors + sizeof(ItemPointerData) * slots);
  l.size = l.vector + sizeof(float) * dims;
  return l;
}

namespace {

// Bytes an empty element page offers to items (line pointer included).
Size PageRoom() { return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaque)); }

[[noreturn]] void Corrupted(Relation index, const char* what, uint64_t id) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("ruhnsw index \"%s\" is corrupted: %s at (%u,%u)", RelationGetRelationName(index), what,
                         static_cast<unsigned>(id >> 16), static_cast<unsigned>(id & 0xFFFF)),
                  errhint("REINDEX the index.")));
  pg_unreachable();
}

}  // namespace

int MaxLevelFitting(int m, int dims) {
  int best = -1;
  for (int level = 0; level <= kMaxLevel; level++)
    if (MAXALIGN(LayoutFor(level, m, dims).size) + sizeof(ItemIdData) <= PageRoom()) best = level;
  return best;
}

HnswMeta ReadMeta(Relation index) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  HnswMeta meta;
  std::memcpy(&meta, PageGetContents(page), sizeof(meta));
  UnlockReleaseBuffer(buf);
  if (meta.magic != kHnswMagic || meta.version != kHnswVersion || meta.dims < 1 || meta.dims > kMaxIndexDims ||
      meta.m < 2 || meta.max_level < 0 || meta.max_level > kMaxLevel || meta.entry_level > meta.max_level)
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("ruhnsw index \"%s\" has an invalid meta page", RelationGetRelationName(index)),
                    errhint("REINDEX the index.")));
  return meta;
}

void GetOptions(Relation index, int* m, int* ef_construction) {
  auto* opts = reinterpret_cast<HnswOptions*>(index->rd_options);
  *m = opts != nullptr ? opts->m : 16;
  *ef_construction = opts != nullptr ? opts->ef_construction : 64;
}

Metric IndexMetric(Relation index) {
  FmgrInfo* proc = index_getprocinfo(index, 1, 1);
  if (proc->fn_addr == ruvector_l2_distance) return Metric::kL2;
  if (proc->fn_addr == ruvector_cosine_distance) return Metric::kCosine;
  if (proc->fn_addr == ruvector_negative_inner_product) return Metric::kInnerProduct;
  ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                  errmsg("ruhnsw supports the distance functions of ruvector_l2_ops, ruvector_cosine_ops and "
                         "ruvector_ip_ops only")));
  pg_unreachable();
}

bool PrepareVector(const RuVector* v, const HnswMeta& meta, float* out) {
  if (v->dims != meta.dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different ruvector dimensions %d and %d", meta.dims, v->dims)));
  std::memcpy(out, v->x, sizeof(float) * meta.dims);
  double norm = std::sqrt(DotDouble(out, out, meta.dims));
  if (static_cast<Metric>(meta.metric) != Metric::kCosine) {
    // The index computes distances in float: squared L2 of two vectors of
    // norm <= r is at most 4 r^2, a dot product (and every partial sum of
    // either) at most r^2 -- below FLT_MAX for r <= kMaxIndexNorm. Larger
    // vectors would overflow to inf and be returned in the wrong order.
    if (norm > kMaxIndexNorm)
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("ruvector of norm %g is too large for a ruhnsw index", norm),
                      errdetail("ruhnsw computes distances in single precision; ruvector_l2_ops and "
                                "ruvector_ip_ops take vectors of norm up to %g.", kMaxIndexNorm)));
    return true;
  }
  if (norm == 0.0) return false;
  for (int i = 0; i < meta.dims; i++) out[i] = static_cast<float>(out[i] / norm);
  return true;
}

void InitPage(Page page, uint16 type) {
  PageInit(page, BLCKSZ, sizeof(HnswPageOpaque));
  auto* opaque = reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page));
  opaque->type = type;
  opaque->page_id = kPageId;
}

static void FillMeta(Page page, const HnswMeta& meta) {
  InitPage(page, kPageMeta);
  std::memcpy(PageGetContents(page), &meta, sizeof(meta));
  reinterpret_cast<PageHeader>(page)->pd_lower =
      static_cast<LocationIndex>(PageGetContents(page) + sizeof(meta) - static_cast<char*>(page));
}

void WriteMetaPage(Relation index, ForkNumber fork, const HnswMeta& meta) {
  Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  if (BufferGetBlockNumber(buf) != kMetaBlock)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ruhnsw: meta page must be the first block")));
  if (fork == INIT_FORKNUM) {
    // Unlogged index: the init fork is WAL-logged as a full page.
    START_CRIT_SECTION();
    FillMeta(BufferGetPage(buf), meta);
    MarkBufferDirty(buf);
    log_newpage_buffer(buf, true);
    END_CRIT_SECTION();
  } else {
    GenericXLogState* state = GenericXLogStart(index);
    FillMeta(GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE), meta);
    GenericXLogFinish(state);
  }
  UnlockReleaseBuffer(buf);
}

void UpdateMeta(Relation index, int entry_level, const ItemPointerData* entry, BlockNumber insert_page) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, 0);
  auto* meta = reinterpret_cast<HnswMeta*>(PageGetContents(page));
  if (entry != nullptr) {
    meta->entry_level = entry_level;
    meta->entry = *entry;
  }
  if (insert_page != InvalidBlockNumber) meta->insert_page = insert_page;
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buf);
}

// --- PageGraph -------------------------------------------------------------

PageGraph::PageGraph(Relation index, const HnswMeta& meta, const float* query)
    : index_(index), meta_(meta), query_(query), nblocks_(RelationGetNumberOfBlocks(index)) {
  scratch_ = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * 2 * meta.m));
  capacity_ = 1024;
  keys_ = static_cast<uint64_t*>(palloc(sizeof(uint64_t) * capacity_));
  gens_ = static_cast<uint32*>(palloc0(sizeof(uint32) * capacity_));
}

void PageGraph::ResetVisited() {
  gen_++;
  used_ = 0;
  if (gen_ == 0) {  // wrapped
    std::memset(gens_, 0, sizeof(uint32) * capacity_);
    gen_ = 1;
  }
}

bool PageGraph::Visit(uint64_t id) {
  if (used_ * 2 >= capacity_) {  // grow, keeping this generation's keys
    uint32 old_cap = capacity_;
    uint64_t* old_keys = keys_;
    uint32* old_gens = gens_;
    capacity_ *= 2;
    keys_ = static_cast<uint64_t*>(palloc(sizeof(uint64_t) * capacity_));
    gens_ = static_cast<uint32*>(palloc0(sizeof(uint32) * capacity_));
    for (uint32 i = 0; i < old_cap; i++) {
      if (old_gens[i] != gen_) continue;
      uint32 h = static_cast<uint32>(hash_bytes_uint32(static_cast<uint32>(old_keys[i] ^ (old_keys[i] >> 32))));
      while (gens_[h & (capacity_ - 1)] == gen_) h++;
      keys_[h & (capacity_ - 1)] = old_keys[i];
      gens_[h & (capacity_ - 1)] = gen_;
    }
    pfree(old_keys);
    pfree(old_gens);
  }
  uint32 h = static_cast<uint32>(hash_bytes_uint32(static_cast<uint32>(id ^ (id >> 32))));
  for (;; h++) {
    uint32 slot = h & (capacity_ - 1);
    if (gens_[slot] != gen_) {
      gens_[slot] = gen_;
      keys_[slot] = id;
      used_++;
      return true;
    }
    if (keys_[slot] == id) return false;
  }
}

const char* PageGraph::Lock(uint64_t id, Buffer* buf) {
  BlockNumber blk = static_cast<BlockNumber>(id >> 16);
  OffsetNumber off = static_cast<OffsetNumber>(id & 0xFFFF);
  if (blk == kMetaBlock) Corrupted(index_, "a link to the meta page", id);
  if (blk >= nblocks_) {
    nblocks_ = RelationGetNumberOfBlocks(index_);
    if (blk >= nblocks_) Corrupted(index_, "a link past the end of the index", id);
  }
  *buf = ReadBuffer(index_, blk);
  LockBuffer(*buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(*buf);
  if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaque)) ||
      reinterpret_cast<HnswPageOpaque*>(PageGetSpecialPointer(page))->type != kPageElements)
    Corrupted(index_, "a link to a page that holds no elements", id);
  // A link to an element VACUUM removed (read by a search that started
  // before the removal) finds no tuple, or another element; both are safe.
  if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) || !ItemIdIsNormal(PageGetItemId(page, off))) {
    UnlockReleaseBuffer(*buf);
    return nullptr;
  }
  ItemId item = PageGetItemId(page, off);
  const char* tuple = static_cast<const char*>(PageGetItem(page, item));
  int level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
  if (level > meta_.max_level || ItemIdGetLength(item) < LayoutFor(level, meta_.m, meta_.dims).size)
    Corrupted(index_, "an element of invalid size", id);
  return tuple;
}

bool PageGraph::Distance(uint64_t id, float* d) {
  Buffer buf;
  const char* tuple = Lock(id, &buf);
  if (tuple == nullptr) return false;
  int level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
  const float* v = reinterpret_cast<const float*>(tuple + LayoutFor(level, meta_.m, meta_.dims).vector);
  *d = IndexDistance(static_cast<Metric>(meta_.metric), query_, v, meta_.dims);
  UnlockReleaseBuffer(buf);
  return true;
}

int PageGraph::ReadNeighbors(uint64_t id, int level, ItemPointerData* out) {
  Buffer buf;
  const char* tuple = Lock(id, &buf);
  if (tuple == nullptr) return 0;
  int n = 0;
  int own_level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
  if (level <= own_level) {
    ElementLayout layout = LayoutFor(own_level, meta_.m, meta_.dims);
    uint16 count;
    std::memcpy(&count, tuple + layout.counts + sizeof(uint16) * level, sizeof(count));
    n = std::min<int>(count, LayerCapacity(level, meta_.m));
    std::memcpy(out, tuple + layout.neighbors + sizeof(ItemPointerData) * FirstSlot(level, meta_.m),
                sizeof(ItemPointerData) * n);
  }
  UnlockReleaseBuffer(buf);
  return n;
}

bool PageGraph::ReadVector(uint64_t id, float* out) {
  Buffer buf;
  const char* tuple = Lock(id, &buf);
  if (tuple == nullptr) return false;
  int level = reinterpret_cast<const HnswElementHeader*>(tuple)->level;
  std::memcpy(out, tuple + LayoutFor(level, meta_.m, meta_.dims).vector, sizeof(float) * meta_.dims);
  UnlockReleaseBuffer(buf);
  return true;
}

bool PageGraph::ReadHeader(uint64_t id, HnswElementHeader* out) {
  Buffer buf;
  const char* tuple = Lock(id, &buf);
  if (tuple == nullptr) return false;
  std::memcpy(out, tuple, sizeof(*out));
  UnlockReleaseBuffer(buf);
  return true;
}

void SortNearestFirst(Candidate* c, size_t n) {
  std::sort(c, c + n, [](const Candidate& a, const Candidate& b) { return a.dist < b.dist || (a.dist == b.dist && a.id < b.id); });
}

void SearchPages(Relation index, const HnswMeta& first_meta, const float* query, int ef, CandidateArray* out) {
  HnswMeta meta = first_meta;
  out->n = 0;
  // The entry point can be replaced (and then removed) by VACUUM between
  // reading the meta page and visiting it: read the meta page again.
  for (int attempt = 0; attempt < 3; attempt++) {
    if (meta.entry_level < 0) return;
    PageGraph graph(index, meta, query);
    uint64_t entry = PackTid(meta.entry);
    float d;
    if (!graph.Distance(entry, &d)) {
      meta = ReadMeta(index);
      continue;
    }
    CandidateArray results, work;
    results.push_back(Candidate{entry, d});
    for (int level = meta.entry_level; level >= 0; level--) {
      graph.ResetVisited();
      for (const Candidate& c : results) graph.Visit(c.id);
      SearchLayer(graph, level, level > 0 ? 1 : ef, results, work);
    }
    SortNearestFirst(results.begin(), results.size());
    *out = results;
    return;
  }
}

}  // namespace ruvector_vec
