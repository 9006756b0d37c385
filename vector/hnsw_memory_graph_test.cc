// The HNSW algorithm on the in-memory graph: recall against brute force on
// seeded random data, for each metric; link invariants.
#include "hnsw_memory_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

double Recall(Metric metric, bool normalize) {
  const int dims = 16, n = 3000, queries = 50, k = 10;
  std::vector<float> data = RandomVectors(n, dims, 7);
  std::vector<float> qs = RandomVectors(queries, dims, 99);
  if (normalize) {
    Normalize(data, dims);
    Normalize(qs, dims);
  }
  HnswParams params;
  params.dims = dims;
  params.m = 12;
  params.ef_construction = 64;
  params.max_level = 8;
  params.metric = metric;
  MemoryGraph g;
  g.Init(params, 42);
  for (int i = 0; i < n; i++) g.Add(&data[i * dims]);
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
    std::vector<Candidate> got = g.Search(query, 64);
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                               [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; }));
    for (int i = 0; i < k && i < static_cast<int>(got.size()); i++) hits += truth.count(got[i].id);
  }
  return hits / static_cast<double>(queries * k);
}

TEST(HnswMemoryGraph, RecallL2) { EXPECT_GE(Recall(Metric::kL2, false), 0.95); }
TEST(HnswMemoryGraph, RecallCosine) { EXPECT_GE(Recall(Metric::kCosine, true), 0.95); }
TEST(HnswMemoryGraph, RecallInnerProduct) { EXPECT_GE(Recall(Metric::kInnerProduct, false), 0.85); }

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
