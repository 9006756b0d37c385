#include <cmath>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "ruvector_dag/sona.h"
#include "sona/internal/pattern_corpus.h"

namespace ruvector_dag {
namespace {

ReasoningPattern At(uint64_t key, float x, double quality = 0.5, uint64_t usage = 0) {
  ReasoningPattern p;
  p.key = key;
  p.embedding.fill(0.0f);
  p.embedding[0] = x;
  p.quality = quality;
  p.usage = usage;
  return p;
}

TEST(ReasoningBankTest, UpsertFindEraseAndValidation) {
  ReasoningBank bank = ReasoningBank::Create().value();
  ASSERT_TRUE(bank.Upsert(At(5, 1.0f)).ok());
  ASSERT_TRUE(bank.Upsert(At(3, 2.0f)).ok());
  ASSERT_NE(bank.Find(5), nullptr);
  EXPECT_EQ(bank.Find(5)->embedding[0], 1.0f);
  ASSERT_TRUE(bank.Upsert(At(5, 7.0f, 0.9)).ok());  // replace
  EXPECT_EQ(bank.size(), 2u);
  EXPECT_EQ(bank.Find(5)->embedding[0], 7.0f);
  EXPECT_TRUE(bank.Erase(3));
  EXPECT_FALSE(bank.Erase(3));
  EXPECT_EQ(bank.Find(3), nullptr);
  ReasoningPattern bad = At(9, 1.0f, 1.5);
  EXPECT_EQ(bank.Upsert(bad).code(), StatusCode::kInvalidArgument);
  bad = At(9, std::nanf(""));
  EXPECT_EQ(bank.Upsert(bad).code(), StatusCode::kInvalidArgument);
  ReasoningBankOptions o;
  o.probes = 0;
  EXPECT_EQ(ReasoningBank::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReasoningBankTest, ClusterOfFollowsTheClustering) {
  ReasoningBankOptions o;
  o.clusters = 2;
  ReasoningBank bank = ReasoningBank::Create(o).value();
  for (uint64_t k = 1; k <= 4; ++k) ASSERT_TRUE(bank.Upsert(At(k, 0.01f * k)).ok());
  for (uint64_t k = 11; k <= 14; ++k) ASSERT_TRUE(bank.Upsert(At(k, 100.0f + 0.01f * k)).ok());
  EXPECT_EQ(bank.ClusterOf(1), -1);  // nothing clustered yet
  bank.Recluster();
  ASSERT_EQ(bank.cluster_count(), 2u);
  const int32_t low = bank.ClusterOf(1), high = bank.ClusterOf(11);
  EXPECT_GE(low, 0);
  EXPECT_GE(high, 0);
  EXPECT_NE(low, high);
  for (uint64_t k = 2; k <= 4; ++k) EXPECT_EQ(bank.ClusterOf(k), low);
  for (uint64_t k = 12; k <= 14; ++k) EXPECT_EQ(bank.ClusterOf(k), high);
  ASSERT_TRUE(bank.Upsert(At(20, 100.5f)).ok());  // joins the nearest centroid
  EXPECT_EQ(bank.ClusterOf(20), high);
  EXPECT_EQ(bank.ClusterOf(999), -1);
}

TEST(ReasoningBankTest, EvictsByQualityTimesUsageNotAge) {
  ReasoningBankOptions o;
  o.capacity = 3;
  ReasoningBank bank = ReasoningBank::Create(o).value();
  ASSERT_TRUE(bank.Upsert(At(1, 1, 0.9, 10)).ok());  // oldest, but valuable
  ASSERT_TRUE(bank.Upsert(At(2, 2, 0.2, 0)).ok());   // low value
  ASSERT_TRUE(bank.Upsert(At(3, 3, 0.5, 1)).ok());
  ASSERT_TRUE(bank.Upsert(At(4, 4, 0.6, 0)).ok());   // evicts key 2
  EXPECT_EQ(bank.evictions(), 1u);
  EXPECT_NE(bank.Find(1), nullptr);
  EXPECT_EQ(bank.Find(2), nullptr);
  bank.MarkUsed(4, 5);  // 0.6 * 6 > 0.5 * 2
  ASSERT_TRUE(bank.Upsert(At(5, 5, 0.7, 0)).ok());  // evicts key 3
  EXPECT_EQ(bank.Find(3), nullptr);
  EXPECT_NE(bank.Find(4), nullptr);
}

TEST(ReasoningBankTest, SearchFindsNearestInOrder) {
  ReasoningBank bank = ReasoningBank::Create().value();
  for (uint64_t k = 1; k <= 10; ++k) ASSERT_TRUE(bank.Upsert(At(k, static_cast<float>(k))).ok());
  PlanEmbedding q{};
  q[0] = 4.2f;
  std::vector<PatternMatch> out;
  bank.Search(q, 3, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].key, 4u);
  EXPECT_EQ(out[1].key, 5u);
  EXPECT_EQ(out[2].key, 3u);
  EXPECT_NEAR(out[0].distance, 0.2, 1e-5);
  EXPECT_NEAR(out[0].similarity, 1.0 / 1.2, 1e-5);
}

TEST(ReasoningBankTest, ClusteredSearchRecallOnTenThousandPatterns) {
  const auto corpus = sim::PatternCorpus(10000);
  ReasoningBank bank = ReasoningBank::Create().value();
  for (const auto& p : corpus) ASSERT_TRUE(bank.Upsert(p).ok());
  EXPECT_TRUE(bank.MaybeRecluster());
  EXPECT_EQ(bank.cluster_count(), 100u);
  std::vector<PatternMatch> fast, exact;
  // New instances of the workload's templates; and, for information only,
  // plans of no template (uniformly random types: no structure to cluster).
  int hits = 0, unstructured_hits = 0;
  const int queries = 300;
  Featurizer f;
  for (int i = 0; i < queries; ++i) {
    const PlanEmbedding q = sim::TemplateQuery(static_cast<uint64_t>(i) * 7, i);
    bank.Search(q, 1, &fast);
    bank.SearchExact(q, 1, &exact);
    ASSERT_EQ(fast.size(), 1u);
    if (fast[0].key == exact[0].key) ++hits;
    PlanEmbedding u;
    ASSERT_TRUE(f.Featurize(sim::UnstructuredPlan(i), {}, &u).ok());
    bank.Search(u, 1, &fast);
    bank.SearchExact(u, 1, &exact);
    if (fast[0].key == exact[0].key) ++unstructured_hits;
  }
  const double recall = static_cast<double>(hits) / queries;
  const double unstructured = static_cast<double>(unstructured_hits) / queries;
  std::printf("recall@1 vs exhaustive: workload queries %.3f, unstructured plans %.3f\n", recall,
              unstructured);
  EXPECT_GE(recall, 0.95);
}

TEST(ReasoningBankTest, ReclusteringIsDeterministicAndTracksGrowth) {
  const auto corpus = sim::PatternCorpus(1200);
  ReasoningBankOptions o;
  o.min_cluster_size = 100;
  ReasoningBank a = ReasoningBank::Create(o).value(), b = ReasoningBank::Create(o).value();
  for (size_t i = 0; i < 600; ++i) {
    ASSERT_TRUE(a.Upsert(corpus[i]).ok());
    ASSERT_TRUE(b.Upsert(corpus[i]).ok());
  }
  EXPECT_TRUE(a.MaybeRecluster());
  EXPECT_TRUE(b.MaybeRecluster());
  EXPECT_FALSE(a.MaybeRecluster());  // nothing new
  for (size_t i = 600; i < 1200; ++i) ASSERT_TRUE(a.Upsert(corpus[i]).ok());
  EXPECT_TRUE(a.MaybeRecluster());  // doubled
  EXPECT_EQ(a.cluster_count(), 35u);  // round(sqrt(1200))
  // Same history, same clusters, same answers.
  std::vector<PatternMatch> ra, rb;
  for (size_t i = 0; i < 20; ++i) {
    b.Search(corpus[i].embedding, 3, &rb);
    ASSERT_EQ(rb[0].key, corpus[i].key);
  }
  for (size_t i = 0; i < 50; ++i) {
    a.Search(corpus[i * 7].embedding, 1, &ra);
    EXPECT_EQ(ra[0].key, corpus[i * 7].key);  // a stored point finds itself
  }
}

TEST(ReasoningBankTest, MaturePatternsAndNetworkMerge) {
  ReasoningBankOptions o;
  o.mature_quality = 0.8;
  o.mature_usage = 2;
  ReasoningBank bank = ReasoningBank::Create(o).value();
  ASSERT_TRUE(bank.Upsert(At(1, 1, 0.9, 5)).ok());  // mature
  ASSERT_TRUE(bank.Upsert(At(2, 2, 0.9, 0)).ok());  // not used enough
  ASSERT_TRUE(bank.Upsert(At(3, 3, 0.5, 9)).ok());  // low quality
  auto mature = bank.GetMaturePatterns();
  ASSERT_EQ(mature.size(), 1u);
  EXPECT_EQ(mature[0].key, 1u);

  std::vector<ReasoningPattern> incoming = {At(1, 9, 1.0), At(10, 10, 1.0), At(11, 11, 0.4),
                                            At(12, std::nanf(""), 1.0)};
  incoming[1].best_arm = 3;
  EXPECT_EQ(bank.MergeNetworkPatterns(incoming), 2u);  // 10 and 11; 1 stays local; 12 invalid
  EXPECT_EQ(bank.Find(1)->embedding[0], 1.0f);
  ASSERT_NE(bank.Find(10), nullptr);
  EXPECT_TRUE(bank.Find(10)->from_network);
  EXPECT_DOUBLE_EQ(bank.Find(10)->quality, 0.5);  // trust 0.5
  EXPECT_EQ(bank.Find(10)->best_arm, 3u);
  // Network patterns are never re-published as mature.
  bank.MarkUsed(10, 10);
  EXPECT_EQ(bank.GetMaturePatterns().size(), 1u);
  // A better network copy replaces a worse one.
  std::vector<ReasoningPattern> better = {At(11, 11, 0.9)};
  EXPECT_EQ(bank.MergeNetworkPatterns(better), 1u);
  EXPECT_DOUBLE_EQ(bank.Find(11)->quality, 0.45);
}

}  // namespace
}  // namespace ruvector_dag
