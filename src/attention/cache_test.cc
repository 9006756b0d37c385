#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "attention/internal/test_dags.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag {
namespace {

using attention_internal::RandomAttentionDag;

std::unique_ptr<Attention> Make(AttentionMechanism m, const AttentionParams& p = {}) {
  return std::move(MakeAttention(m, p)).value();
}

TEST(AttentionCache, HitsOnAnIdenticalDagBuiltSeparately) {
  AttentionCache cache;
  auto attention = Make(AttentionMechanism::kCriticalPath);
  const QueryDag a = RandomAttentionDag(60, 7);
  const QueryDag b = RandomAttentionDag(60, 7);  // equal, separate object
  auto first = cache.GetOrCompute(a, *attention);
  ASSERT_TRUE(first.ok());
  const std::vector<double> weights = (*first)->weights;
  auto second = cache.GetOrCompute(b, *attention);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->weights, weights);
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.size, 1u);
}

TEST(AttentionCache, ChangedCostRowsTypeMechanismOrParamsMiss) {
  AttentionCache cache;
  auto cp = Make(AttentionMechanism::kCriticalPath);
  const QueryDag base = RandomAttentionDag(40, 3);
  ASSERT_TRUE(cache.GetOrCompute(base, *cp).ok());
  const NodeId some = base.NodeIds()[5];

  QueryDag cost = base;
  cost.mutable_node(some)->estimated_cost += 1.0;
  QueryDag rows = base;
  rows.mutable_node(some)->estimated_rows += 1.0;
  QueryDag type = base;
  type.mutable_node(some)->type =
      type.node(some)->type == OperatorType::kSort ? OperatorType::kHash : OperatorType::kSort;
  for (const QueryDag* changed : {&cost, &rows, &type}) {
    const uint64_t misses = cache.Stats().misses;
    ASSERT_TRUE(cache.GetOrCompute(*changed, *cp).ok());
    EXPECT_EQ(cache.Stats().misses, misses + 1);
  }
  // Other mechanism, other parameters, other feedback: misses.
  auto topo = Make(AttentionMechanism::kTopological);
  AttentionParams sharper;
  sharper.critical_path.sharpness = 9;
  auto cp9 = Make(AttentionMechanism::kCriticalPath, sharper);
  ExecutionFeedback fb;
  fb.latency_samples_ms = {3};
  const uint64_t misses = cache.Stats().misses;
  ASSERT_TRUE(cache.GetOrCompute(base, *topo).ok());
  ASSERT_TRUE(cache.GetOrCompute(base, *cp9).ok());
  ASSERT_TRUE(cache.GetOrCompute(base, *cp, &fb).ok());
  EXPECT_EQ(cache.Stats().misses, misses + 3);
  // Learned state is part of the key: a CriticalPath that sharpened misses.
  ExecutionFeedback tail;
  for (int i = 0; i < 20; ++i) tail.latency_samples_ms.push_back(i == 0 ? 1000 : 10);
  ASSERT_TRUE(cp->Update(base, tail).ok());
  ASSERT_TRUE(cache.GetOrCompute(base, *cp).ok());
  EXPECT_EQ(cache.Stats().misses, misses + 4);
  EXPECT_EQ(cache.Stats().hits, 0u);
}

RC_GTEST_PROP(AttentionCacheProperty, AnyCostChangeMisses, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const QueryDag dag = RandomAttentionDag(*rc::gen::inRange<size_t>(2, 80), seed);
  RC_PRE(!dag.empty());
  const auto ids = dag.NodeIds();
  const NodeId victim = ids[*rc::gen::inRange<size_t>(0, ids.size())];
  const double delta = *rc::gen::element(1e-9, 0.5, 1.0, 1e6);
  AttentionCache cache;
  auto attention = Make(kAllAttentionMechanisms[*rc::gen::inRange<size_t>(0, 7)]);
  RC_ASSERT(cache.GetOrCompute(dag, *attention).ok());
  QueryDag changed = dag;
  changed.mutable_node(victim)->estimated_cost += delta;
  RC_ASSERT(cache.GetOrCompute(changed, *attention).ok());
  RC_ASSERT(cache.Stats().misses == 2u);
  RC_ASSERT(cache.GetOrCompute(dag, *attention).ok());
  RC_ASSERT(cache.Stats().hits == 1u);
}

TEST(AttentionCache, ContentHashSeesEverythingMechanismsRead) {
  const QueryDag base = RandomAttentionDag(30, 9);
  const uint64_t h = AttentionContentHash(base);
  EXPECT_EQ(AttentionContentHash(RandomAttentionDag(30, 9)), h);
  const NodeId id = base.NodeIds()[3];
  std::vector<QueryDag> variants(7, base);
  variants[0].mutable_node(id)->estimated_cost = 1234.5;
  variants[1].mutable_node(id)->estimated_rows = 99999;
  variants[2].mutable_node(id)->actual_rows = 17;
  variants[3].mutable_node(id)->actual_time_ms = 3;
  variants[4].mutable_node(id)->relation = "other_table";
  variants[5].mutable_node(id)->index = "other_index";
  ASSERT_TRUE(variants[6].RemoveNode(id).ok());
  for (size_t v = 0; v < variants.size(); ++v) EXPECT_NE(AttentionContentHash(variants[v]), h) << v;
  // Edge changes (same node set) change it too.
  QueryDag chain;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(chain.AddNode(OperatorNode::Filter("f")).ok());
  QueryDag a = chain, b = chain;
  ASSERT_TRUE(a.AddEdge(0, 1).ok());
  ASSERT_TRUE(b.AddEdge(0, 2).ok());
  EXPECT_NE(AttentionContentHash(a), AttentionContentHash(b));
}

AttentionCacheKey Key(uint64_t n) {
  AttentionCacheKey k;
  k.content_hash = n;
  return k;
}

AttentionScores Scores(double w) {
  AttentionScores s;
  s.nodes = {0};
  s.weights = {w};
  return s;
}

TEST(AttentionCache, EvictsTheLeastRecentlyUsed) {
  AttentionCacheOptions options;
  options.capacity = 3;
  AttentionCache cache(options);
  cache.Insert(Key(1), Scores(1));
  cache.Insert(Key(2), Scores(2));
  cache.Insert(Key(3), Scores(3));
  ASSERT_NE(cache.Find(Key(1)), nullptr);  // 1 is now the most recent
  cache.Insert(Key(4), Scores(4));         // evicts 2
  EXPECT_EQ(cache.Find(Key(2)), nullptr);
  EXPECT_EQ(cache.Stats().evictions, 1u);
  std::vector<uint64_t> order;
  for (const auto& k : cache.KeysByRecency()) order.push_back(k.content_hash);
  EXPECT_EQ(order, (std::vector<uint64_t>{4, 1, 3}));
  cache.Insert(Key(3), Scores(33));  // replace refreshes
  cache.Insert(Key(5), Scores(5));   // evicts 1
  EXPECT_EQ(cache.Find(Key(1)), nullptr);
  ASSERT_NE(cache.Find(Key(3)), nullptr);
  EXPECT_EQ(cache.Find(Key(3))->weights[0], 33.0);
  EXPECT_EQ(cache.Stats().size, 3u);
  EXPECT_TRUE(cache.Erase(Key(3)));
  EXPECT_FALSE(cache.Erase(Key(3)));
  cache.Clear();
  EXPECT_EQ(cache.Stats().size, 0u);
  cache.ResetStats();
  EXPECT_EQ(cache.Stats().hits + cache.Stats().misses + cache.Stats().evictions, 0u);
}

TEST(AttentionCache, LruOrderMatchesAReferenceModel) {
  Rng rng(11);
  AttentionCacheOptions options;
  options.capacity = 8;
  AttentionCache cache(options);
  std::vector<uint64_t> model;  // front = most recent
  for (int step = 0; step < 5000; ++step) {
    const uint64_t k = rng.Uniform(20);
    auto it = std::find(model.begin(), model.end(), k);
    if (rng.Uniform(2) == 0) {
      const bool hit = cache.Find(Key(k)) != nullptr;
      ASSERT_EQ(hit, it != model.end());
      if (hit) {
        model.erase(it);
        model.insert(model.begin(), k);
      }
    } else {
      cache.Insert(Key(k), Scores(static_cast<double>(k)));
      if (it != model.end()) model.erase(it);
      model.insert(model.begin(), k);
      if (model.size() > 8) model.pop_back();
    }
    std::vector<uint64_t> order;
    for (const auto& key : cache.KeysByRecency()) order.push_back(key.content_hash);
    ASSERT_EQ(order, model) << "step " << step;
  }
}

TEST(AttentionCache, TtlExpiresWithAFakeClock) {
  ManualAttentionClock clock(0);
  AttentionCacheOptions options;
  options.ttl_micros = 1000;
  options.clock = &clock;
  AttentionCache cache(options);
  cache.Insert(Key(1), Scores(1));
  clock.AdvanceMicros(999);
  EXPECT_NE(cache.Find(Key(1)), nullptr);
  clock.AdvanceMicros(1);
  EXPECT_EQ(cache.Find(Key(1)), nullptr);
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.expirations, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.size, 0u);
  // Re-inserting restarts the clock for that entry.
  cache.Insert(Key(1), Scores(1));
  clock.AdvanceMicros(500);
  cache.Insert(Key(1), Scores(2));
  clock.AdvanceMicros(700);
  ASSERT_NE(cache.Find(Key(1)), nullptr);
  EXPECT_EQ(cache.Find(Key(1))->weights[0], 2.0);
}

TEST(AttentionCache, TemporalBtspKeysFollowTheClock) {
  ManualAttentionClock clock(0);
  auto btsp = std::move(MakeAttention(AttentionMechanism::kTemporalBtsp, {}, &clock)).value();
  const QueryDag dag = RandomAttentionDag(20, 1);
  AttentionCache cache;
  ASSERT_TRUE(btsp->Update(dag, FeedbackFromActuals(dag)).ok());
  ASSERT_TRUE(cache.GetOrCompute(dag, *btsp).ok());
  ASSERT_TRUE(cache.GetOrCompute(dag, *btsp).ok());
  EXPECT_EQ(cache.Stats().hits, 1u);
  clock.AdvanceMillis(1000);  // several eligibility steps later: stale
  ASSERT_TRUE(cache.GetOrCompute(dag, *btsp).ok());
  EXPECT_EQ(cache.Stats().misses, 2u);
}

}  // namespace
}  // namespace ruvector_dag
