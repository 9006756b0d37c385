// The in-memory HNSW graph of an index build (C++ zone: std containers, may
// throw std::bad_alloc, so it is only used under InvokeCpp; owned by a
// memory context through NewOwnedByContext so an error frees it).
// Not thread-safe. Memory: about n * (dims * 4 + 8 * m + 64) bytes.
#ifndef RUVECTOR_VECTOR_HNSW_MEMORY_GRAPH_H_
#define RUVECTOR_VECTOR_HNSW_MEMORY_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "distance.h"
#include "hnsw_algo.h"

namespace ruvector_vec {

/// Graph parameters shared by the build and the pages.
struct HnswParams {
  int dims = 0;
  int m = 16;
  int ef_construction = 64;
  int max_level = 0;  // largest level whose element tuple fits a page
  Metric metric = Metric::kL2;
};

class MemoryGraph {
 public:
  MemoryGraph() = default;

  /// Sets the parameters and the seed of the level generator; call once,
  /// before Add.
  void Init(const HnswParams& params, uint64_t seed) {
    params_ = params;
    rng_ = seed;
  }

  /// Copies `v` (params.dims floats) and links it into the graph.
  /// O(ef_construction * m * dims * log n) expected.
  void Add(const float* v);

  /// The `ef` nearest elements to `q` found by the HNSW search (descent with
  /// beam 1, beam `ef` on layer 0), nearest first. Empty for an empty graph.
  std::vector<Candidate> Search(const float* q, int ef);

  size_t size() const { return levels_.size(); }
  int level(size_t i) const { return levels_[i]; }
  const float* vector(size_t i) const { return &vectors_[i * params_.dims]; }
  const std::vector<uint32_t>& neighbors(size_t i, int level) const { return links_[i][level]; }
  /// Entry point (the first element of the highest level); size() must be > 0.
  uint32_t entry() const { return entry_; }
  /// Bytes held by the graph (vectors and links), an estimate.
  size_t MemoryBytes() const { return bytes_; }

  // SearchLayer's graph interface (query set by Add).
  bool Visit(uint64_t id) {
    if (visited_[id] == epoch_) return false;
    visited_[id] = epoch_;
    return true;
  }
  bool Distance(uint64_t id, float* d) const {
    *d = IndexDistance(params_.metric, query_, vector(id), params_.dims);
    return true;
  }
  template <typename F>
  void ForEachNeighbor(uint64_t id, int level, F f) const {
    for (uint32_t n : links_[id][level]) f(n);
  }

 private:
  void NewEpoch();
  void Connect(uint32_t from, uint32_t to, int level);

  HnswParams params_;
  uint64_t rng_ = 0;
  std::vector<float> vectors_;
  std::vector<uint8_t> levels_;
  std::vector<std::vector<std::vector<uint32_t>>> links_;
  std::vector<uint32_t> visited_;
  uint32_t epoch_ = 0;
  uint32_t entry_ = 0;
  int top_level_ = -1;
  const float* query_ = nullptr;
  size_t bytes_ = 0;
  std::vector<Candidate> results_, work_, sorted_;
  std::vector<const float*> vecs_;
  std::vector<int> picked_;
};

}  // namespace ruvector_vec

#endif  // RUVECTOR_VECTOR_HNSW_MEMORY_GRAPH_H_
