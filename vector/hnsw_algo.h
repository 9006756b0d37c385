// The HNSW algorithm (Malkov & Yashunin, 2016), written once for both graph
// representations: the in-memory graph of the index build (C++ zone, std
// containers) and the graph stored in index pages (PG zone, palloc'd
// buffers). The templates allocate only through the containers they are
// given and never throw themselves. Details in docs/vector.md.
#ifndef RUVECTOR_VECTOR_HNSW_ALGO_H_
#define RUVECTOR_VECTOR_HNSW_ALGO_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "distance.h"

namespace ruvector_vec {

/// An element id (a node index, or a packed TID) with its distance to the
/// query of the search that found it.
struct Candidate {
  uint64_t id;
  float dist;
};

/// Heap orders: std heaps keep the "largest" first.
struct NearerFirst {  // min-heap by distance
  bool operator()(const Candidate& a, const Candidate& b) const { return a.dist > b.dist; }
};
struct FartherFirst {  // max-heap by distance
  bool operator()(const Candidate& a, const Candidate& b) const { return a.dist < b.dist; }
};

/// Beam search on one layer (the paper's SEARCH-LAYER). On entry `results`
/// holds the entry points (already marked visited in `graph`); on return it
/// holds the at most `ef` nearest elements found, as a max-heap by distance.
/// `work` is scratch. Graph needs:
///   bool Visit(uint64_t id)                 -- false when already visited
///   bool Distance(uint64_t id, float* d)    -- false when the element is gone
///   template <F> void ForEachNeighbor(uint64_t id, int level, F f)
/// Vec needs size(), push_back(), pop_back(), front(), back(), begin(), end().
/// Cost: O(ef * neighbors * dims) distance work per layer, typically.
template <typename Graph, typename Vec>
void SearchLayer(Graph& graph, int level, int ef, Vec& results, Vec& work) {
  while (work.size() > 0) work.pop_back();
  for (const Candidate& c : results) work.push_back(c);
  std::make_heap(work.begin(), work.end(), NearerFirst());
  std::make_heap(results.begin(), results.end(), FartherFirst());
  while (results.size() > static_cast<size_t>(ef)) {
    std::pop_heap(results.begin(), results.end(), FartherFirst());
    results.pop_back();
  }
  while (work.size() > 0) {
    std::pop_heap(work.begin(), work.end(), NearerFirst());
    Candidate c = work.back();
    work.pop_back();
    if (results.size() >= static_cast<size_t>(ef) && c.dist > results.front().dist) break;
    graph.ForEachNeighbor(c.id, level, [&](uint64_t id) {
      if (!graph.Visit(id)) return;
      float d;
      if (!graph.Distance(id, &d)) return;
      if (results.size() < static_cast<size_t>(ef) || d < results.front().dist) {
        work.push_back(Candidate{id, d});
        std::push_heap(work.begin(), work.end(), NearerFirst());
        results.push_back(Candidate{id, d});
        std::push_heap(results.begin(), results.end(), FartherFirst());
        if (results.size() > static_cast<size_t>(ef)) {
          std::pop_heap(results.begin(), results.end(), FartherFirst());
          results.pop_back();
        }
      }
    });
  }
}

/// Neighbor selection by the paper's heuristic (SELECT-NEIGHBORS-HEURISTIC
/// without candidate extension): walking `cands` nearest first, keep an
/// element when it is nearer to the base than to every element kept so far.
/// `cands` must be sorted by ascending distance to the base; `vecs[i]` is the
/// vector of cands[i]. Writes at most `m` indices into `out`, returns how many.
/// O(n * m * dims).
inline int SelectNeighbors(const Candidate* cands, const float* const* vecs, int n, int m, Metric metric, int dims,
                           int* out) {
  int kept = 0;
  for (int i = 0; i < n && kept < m; i++) {
    bool diverse = true;
    for (int k = 0; k < kept; k++) {
      if (IndexDistance(metric, vecs[i], vecs[out[k]], dims) < cands[i].dist) {
        diverse = false;
        break;
      }
    }
    if (diverse) out[kept++] = i;
  }
  return kept;
}

/// A node's level from a uniform draw u in (0, 1]: floor(-ln(u) / ln(m)),
/// capped at `max_level`.
inline int LevelFromUniform(double u, int m, int max_level) {
  if (u <= 0.0) u = 1e-300;
  double level = std::floor(-std::log(u) / std::log(static_cast<double>(m)));
  if (level > max_level) return max_level;
  return static_cast<int>(level);
}

/// Neighbor capacity of a layer: 2m on layer 0, m above.
inline int LayerCapacity(int level, int m) { return level == 0 ? 2 * m : m; }

/// SplitMix64: the seeded generator of the build's levels and of
/// random_vector.
inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A double in [0, 1) from 53 random bits.
inline double UniformDouble(uint64_t* state) { return static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53; }

}  // namespace ruvector_vec

#endif  // RUVECTOR_VECTOR_HNSW_ALGO_H_
