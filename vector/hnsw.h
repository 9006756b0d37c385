// The ruhnsw index access method: page layout and the functions its phases
// share (hnsw_pages.cc). PG zone. Layout and algorithm in docs/vector.md.
//
// Block 0 is the meta page; every other block holds element tuples. An
// element tuple is written once at its final size and changed in place
// afterwards (its neighbor lists), so its TID names it for its lifetime;
// VACUUM deletes it only after no other element links to it any more.
// Every page change goes through generic WAL.
#ifndef RUVECTOR_VECTOR_HNSW_H_
#define RUVECTOR_VECTOR_HNSW_H_

#include "distance.h"
#include "hnsw_algo.h"
#include "hnsw_memory_graph.h"
#include "ruvector.h"

namespace ruvector_vec {

constexpr uint32 kHnswMagic = 0x52554857;  // "RUHW"
constexpr uint32 kHnswVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
constexpr int kMaxIndexDims = 2000;
constexpr int kMaxLevel = 15;
constexpr uint16 kPageMeta = 1;
constexpr uint16 kPageElements = 2;
constexpr uint16 kPageId = 0xFF91;
/// Page lock (lmgr) held exclusively by inserts and VACUUM while they change
/// the graph: one writer at a time; scans take only buffer locks.
constexpr BlockNumber kUpdateLock = 0;

/// The special space of every page.
struct HnswPageOpaque {
  uint16 type;
  uint16 page_id;  // kPageId, identifies ruhnsw pages (pg_filedump)
};

/// The meta page's contents.
struct HnswMeta {
  uint32 magic;
  uint32 version;
  int32 dims;
  int32 m;
  int32 ef_construction;
  int32 metric;  // Metric
  int32 max_level;
  int32 entry_level;        // -1: empty graph
  ItemPointerData entry;    // entry point element
  BlockNumber insert_page;  // where the next element is tried first
};

/// The fixed header of an element tuple; then uint16 counts[level + 1], the
/// neighbor TIDs (2m slots on level 0, m on each level above) and, at a
/// 4-byte boundary, the vector (dims floats).
struct HnswElementHeader {
  ItemPointerData heap_tid;
  uint8 level;
  uint8 flags;
};

/// The reloptions of ruhnsw.
struct HnswOptions {
  int32 vl_len_;
  int m;
  int ef_construction;
};

/// Byte layout of an element tuple of a given level.
struct ElementLayout {
  Size counts;     // offset of uint16 counts[level + 1]
  Size neighbors;  // offset of the ItemPointerData slots
  Size vector;     // offset of the floats
  Size size;       // total bytes
};
ElementLayout LayoutFor(int level, int m, int dims);
/// Slot index of the first neighbor of `level` within the neighbor array.
inline int FirstSlot(int level, int m) { return level == 0 ? 0 : 2 * m + (level - 1) * m; }
/// Largest level whose element tuple still fits an empty page (-1: none).
int MaxLevelFitting(int m, int dims);

inline uint64_t PackTid(const ItemPointerData& t) {
  return (static_cast<uint64_t>(ItemPointerGetBlockNumberNoCheck(&t)) << 16) | ItemPointerGetOffsetNumberNoCheck(&t);
}
inline void UnpackTid(uint64_t id, ItemPointerData* t) {
  ItemPointerSet(t, static_cast<BlockNumber>(id >> 16), static_cast<OffsetNumber>(id & 0xFFFF));
}

/// The index's parameters from its meta page.
HnswMeta ReadMeta(Relation index);
/// The options given to CREATE INDEX (defaults when absent).
void GetOptions(Relation index, int* m, int* ef_construction);
/// The metric of the index's opclass (from its distance support function).
Metric IndexMetric(Relation index);
/// Largest Euclidean norm of a vector in (or a query of) an L2 or inner-
/// product ruhnsw index: sqrt(FLT_MAX / 8), so float distances stay finite.
constexpr double kMaxIndexNorm = 6.5e18;

/// Copies `v` into `out` as the index stores it (normalized for cosine).
/// Returns false when the value must not be indexed (a zero vector under
/// cosine). ERROR when dims differ from the index's, or (L2 and inner
/// product) when the norm exceeds kMaxIndexNorm.
bool PrepareVector(const RuVector* v, const HnswMeta& meta, float* out);

/// Initializes page `page` (a generic WAL image) as a ruhnsw page.
void InitPage(Page page, uint16 type);
/// Writes the meta page into block 0 of `fork` (which must be empty).
void WriteMetaPage(Relation index, ForkNumber fork, const HnswMeta& meta);
/// Changes the entry point and/or the insert page hint (generic WAL).
void UpdateMeta(Relation index, int entry_level, const ItemPointerData* entry, BlockNumber insert_page);

/// The on-page graph for searches (SearchLayer's Graph): reads elements
/// through shared buffers, one buffer lock at a time. Allocates in the
/// current memory context.
class PageGraph {
 public:
  PageGraph(Relation index, const HnswMeta& meta, const float* query);
  void ResetVisited();
  bool Visit(uint64_t id);
  bool Distance(uint64_t id, float* d);
  template <typename F>
  void ForEachNeighbor(uint64_t id, int level, F f) {
    int n = ReadNeighbors(id, level, scratch_);
    for (int i = 0; i < n; i++) f(PackTid(scratch_[i]));
  }
  /// Copies the neighbors of element `id` on `level` into `out` (room for
  /// 2m); returns how many (0 when the element is gone or below `level`).
  int ReadNeighbors(uint64_t id, int level, ItemPointerData* out);
  /// Copies the vector of element `id` into `out`; false when gone.
  bool ReadVector(uint64_t id, float* out);
  /// Heap TID and level of element `id`; false when gone.
  bool ReadHeader(uint64_t id, HnswElementHeader* out);

 private:
  // Pins and share-locks the element's page; returns its tuple or nullptr
  // (then nothing is held).
  const char* Lock(uint64_t id, Buffer* buf);

  Relation index_;
  HnswMeta meta_;
  const float* query_;
  BlockNumber nblocks_;
  ItemPointerData* scratch_;
  uint64_t* keys_;  // visited set: open addressing, keys_[i] = id + 1
  uint32* gens_;
  uint32 gen_ = 1;
  uint32 capacity_;
  uint32 used_ = 0;
};

/// A palloc'd growable array for SearchLayer in the PG zone (trivially
/// destructible: an ERROR just leaves it to its memory context).
struct CandidateArray {
  Candidate* data = nullptr;
  size_t n = 0;
  size_t cap = 0;
  size_t size() const { return n; }
  void push_back(const Candidate& c) {
    if (n == cap) {
      cap = cap == 0 ? 64 : cap * 2;
      data = static_cast<Candidate*>(data == nullptr ? palloc(sizeof(Candidate) * cap)
                                                    : repalloc(data, sizeof(Candidate) * cap));
    }
    data[n++] = c;
  }
  void pop_back() { n--; }
  Candidate& front() { return data[0]; }
  Candidate& back() { return data[n - 1]; }
  Candidate* begin() { return data; }
  Candidate* end() { return data + n; }
};

/// Searches the page graph for the `ef` nearest elements to `query` from the
/// meta page's entry point; fills `out` sorted nearest first (empty for an
/// empty graph).
void SearchPages(Relation index, const HnswMeta& meta, const float* query, int ef, CandidateArray* out);

/// Inserts one element (vector already prepared) into the page graph.
/// Caller holds the update lock. `rng` is the level generator's state.
void InsertOnPages(Relation index, const HnswMeta& meta, const float* vec, ItemPointer heap_tid, uint64_t* rng);

/// Chooses up to `keep` neighbors (the selection heuristic) for the element
/// with vector `base` among `cands` (element TIDs, any order, distances
/// ignored); the candidate `*extra_id`, when given, has vector `extra_vec`
/// (not yet on a page). Gone candidates are skipped. Writes TIDs to `out`.
int ChooseNeighbors(PageGraph& graph, const HnswMeta& meta, const float* base, CandidateArray& cands, int keep,
                    const uint64_t* extra_id, const float* extra_vec, ItemPointerData* out);
/// Rewrites element `id`'s neighbor list on `level` in place (generic WAL);
/// false when the element is gone.
bool WriteNeighbors(Relation index, const HnswMeta& meta, uint64_t id, int level, const ItemPointerData* list, int n);

/// Sorts candidates nearest first.
void SortNearestFirst(Candidate* c, size_t n);

/// Writes the finished in-memory graph into new pages after the existing
/// ones; element i gets heap TID tids[i]. Updates the meta page.
void WriteGraphPages(Relation index, const MemoryGraph& graph, const ItemPointerData* tids);

/// ruvector.hnsw_ef_search (init.cc).
extern int g_hnsw_ef_search;
/// The reloption kind of ruhnsw (init.cc).
extern relopt_kind g_hnsw_relopt_kind;

}  // namespace ruvector_vec

#endif  // RUVECTOR_VECTOR_HNSW_H_
