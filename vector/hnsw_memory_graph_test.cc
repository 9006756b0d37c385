// The HNSW algorithm on the in-memory graph: recall against brute force on
// seeded random data, for each metric; link invariants.
#include "hnsw_memory_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

namespace ruvector_vec {
namespace {

std::vector<float> RandomVectors(size_t n, int dims, uint64_t seed) {
  std::vector<float> v(n * dims);
  for (float& x : v) x = static_cast<float>(UniformDouble(&seed)) - 0.5f;
  return v;
}

void Normalize(std::vector<float>& v, int dims) {
  for (size_t i = 0; i < v.size(); i += dims) {
    double s = 0;
    for (int k = 0; k < dims; k++) s += v[i + k] * v[i + k];
    for (int k = 0; k < dims; k++) v[i + k] = static_cast<float>(v[i + k] / std::sqrt(s));
  }
}

// Recall@10 of the graph's search at each ef of `efs` against brute force,
// over `queries` query vectors.
std::vector<double> RecallAt(const MemoryGraph& built, const std::vector<float>& data, const std::vector<float>& qs,
                             Metric metric, int dims, const std::vector<int>& efs) {
  const int k = 10;
  const int n = static_cast<int>(data.size() / dims), queries = static_cast<int>(qs.size() / dims);
  MemoryGraph g = built;
  std::vector<double> recall;
  for (int ef : efs) {
    int hits = 0;
    for (int q = 0; q < queries; q++) {
      const float* query = &qs[q * dims];
      std::vector<Candidate> exact;
      for (int i = 0; i < n; i++)
        exact.push_back(Candidate{static_cast<uint64_t>(i), IndexDistance(metric, query, &data[i * dims], dims)});
      std::partial_sort(exact.begin(), exact.begin() + k, exact.end(),
                        [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
      std::set<uint64_t> truth;
      for (int i = 0; i < k; i++) truth.insert(exact[i].id);
      std::vector<Candidate> got = g.Search(query, ef);
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                                 [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; }));
      EXPECT_LE(got.size(), static_cast<size_t>(ef));
      for (int i = 0; i < k && i < static_cast<int>(got.size()); i++) hits += truth.count(got[i].id);
    }
    recall.push_back(hits / static_cast<double>(queries * k));
  }
  return recall;
}

MemoryGraph Build(const std::vector<float>& data, int dims, int m, int ef_construction, Metric metric) {
  HnswParams params;
  params.dims = dims;
  params.m = m;
  params.ef_construction = ef_construction;
  params.max_level = 8;
  params.metric = metric;
  MemoryGraph g;
  g.Init(params, 42);
  for (size_t i = 0; i < data.size() / dims; i++) g.Add(&data[i * dims]);
  return g;
}

double Recall(Metric metric, bool normalize) {
  const int dims = 16;
  std::vector<float> data = RandomVectors(3000, dims, 7);
  std::vector<float> qs = RandomVectors(50, dims, 99);
  if (normalize) {
    Normalize(data, dims);
    Normalize(qs, dims);
  }
  return RecallAt(Build(data, dims, 12, 64, metric), data, qs, metric, dims, {64})[0];
}

TEST(HnswMemoryGraph, RecallL2) { EXPECT_GE(Recall(Metric::kL2, false), 0.95); }
TEST(HnswMemoryGraph, RecallCosine) { EXPECT_GE(Recall(Metric::kCosine, true), 0.95); }
TEST(HnswMemoryGraph, RecallInnerProduct) { EXPECT_GE(Recall(Metric::kInnerProduct, false), 0.85); }

// Uniform 128-dimensional data, the hardest case (no structure; distances
// nearly equal), with the index defaults m = 16, ef_construction = 64. The
// thresholds sit below what an independent HNSW implementation (hnswlib
// 0.6, same data, three level seeds) reaches on this set: recall@10 0.66 /
// 0.89 / 0.96 at ef 40 / 100 / 200 (docs/vector.md). A broken neighbor
// heuristic, pruning, level draw or an ef that is not applied falls below.
TEST(HnswMemoryGraph, RecallUniform128) {
  const int dims = 128;
  std::vector<float> data = RandomVectors(5000, dims, 7);
  std::vector<float> qs = RandomVectors(50, dims, 99);
  std::vector<double> r = RecallAt(Build(data, dims, 16, 64, Metric::kL2), data, qs, Metric::kL2, dims,
                                   {10, 40, 100, 200});
  std::printf("uniform 5000 x 128, recall@10 at ef 10 / 40 / 100 / 200: %.3f / %.3f / %.3f / %.3f\n", r[0], r[1],
              r[2], r[3]);
  EXPECT_LT(r[0] + 0.1, r[1]);  // ef is applied: a wider beam finds more
  EXPECT_LT(r[1] + 0.1, r[2]);
  EXPECT_GE(r[1], 0.60);
  EXPECT_GE(r[2], 0.85);
  EXPECT_GE(r[3], 0.93);
}

TEST(HnswMemoryGraph, LinksRespectCapacityAndLevels) {
  const int dims = 8;
  std::vector<float> data = RandomVectors(2000, dims, 3);
  HnswParams params;
  params.dims = dims;
  params.m = 6;
  params.ef_construction = 24;
  params.max_level = 5;
  MemoryGraph g;
  g.Init(params, 1);
  for (int i = 0; i < 2000; i++) g.Add(&data[i * dims]);
  int top = 0;
  for (size_t i = 0; i < g.size(); i++) {
    top = std::max(top, g.level(i));
    for (int l = 0; l <= g.level(i); l++) {
      EXPECT_LE(static_cast<int>(g.neighbors(i, l).size()), LayerCapacity(l, params.m));
      for (uint32_t n : g.neighbors(i, l)) {
        EXPECT_NE(n, i);
        EXPECT_GE(g.level(n), l);
      }
    }
  }
  EXPECT_EQ(g.level(g.entry()), top);
  EXPECT_GT(top, 0);
}

TEST(HnswMemoryGraph, EmptyAndSingle) {
  HnswParams params;
  params.dims = 2;
  params.max_level = 3;
  MemoryGraph g;
  g.Init(params, 5);
  float q[2] = {0, 0};
  EXPECT_TRUE(g.Search(q, 10).empty());
  float v[2] = {1, 1};
  g.Add(v);
  std::vector<Candidate> got = g.Search(q, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FLOAT_EQ(got[0].dist, 2.0f);
}

}  // namespace
}  // namespace ruvector_vec
