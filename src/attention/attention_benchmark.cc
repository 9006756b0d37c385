// Attention benchmarks: every mechanism at 10/100/500/1000 nodes (compute on
// a prepared DAG, and the full path including preparation), plus the
// selector and the cache. Budget (DESIGN.md section 5): < 10 us per
// mechanism at 100 nodes. Numbers go to docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <string>

#include "attention/internal/test_dags.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag {
namespace {

using attention_internal::PlanLikeDag;
using attention_internal::RandomAttentionDag;

enum class Shape { kPlan, kRandom };

QueryDag MakeDag(Shape shape, size_t n) {
  return shape == Shape::kPlan ? PlanLikeDag(n, 1)
                               : RandomAttentionDag(n, 1, attention_internal::CostStyle::kPlain, 0.0);
}

// Feedback for the learning mechanisms, so they run with state.
ExecutionFeedback FeedbackFor(const QueryDag& dag) {
  ExecutionFeedback fb;
  Rng rng(3);
  fb.node_time_ms.assign(dag.id_bound(), -1.0);
  for (NodeId id : dag.NodeIds()) fb.node_time_ms[id] = rng.UniformDouble() * 10.0;
  for (int i = 0; i < 64; ++i) fb.latency_samples_ms.push_back(i % 16 == 0 ? 400.0 : 100.0);
  return fb;
}

void BM_Compute(benchmark::State& state, AttentionMechanism m, Shape shape) {
  const QueryDag dag = MakeDag(shape, static_cast<size_t>(state.range(0)));
  ManualAttentionClock clock(1'000'000);
  auto attention = std::move(MakeAttention(m, {}, &clock)).value();
  const ExecutionFeedback fb = FeedbackFor(dag);
  (void)attention->Update(dag, fb);  // learned state for CriticalPath/TemporalBTSP
  const PreparedDag plan = PreparedDag::Build(dag).value();
  AttentionScores scores;
  for (auto _ : state) {
    const Status s = attention->Compute(plan, nullptr, &scores);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(scores.weights.data());
  }
  state.counters["nodes"] = static_cast<double>(dag.node_count());
}

// MinCutGated without per-node criticality (one max flow fewer per cut node).
void BM_ComputeMinCutNoCriticality(benchmark::State& state) {
  const QueryDag dag = MakeDag(Shape::kPlan, static_cast<size_t>(state.range(0)));
  AttentionParams params;
  params.min_cut_gated.criticality_gain = 0.0;
  auto attention = std::move(MakeAttention(AttentionMechanism::kMinCutGated, params)).value();
  const PreparedDag plan = PreparedDag::Build(dag).value();
  AttentionScores scores;
  for (auto _ : state) {
    const Status s = attention->Compute(plan, nullptr, &scores);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ComputeMinCutNoCriticality)->Arg(10)->Arg(100)->Arg(1000);

// The min-cut engine alone (what MinCutGated calls), for the breakdown.
void BM_MinCutAnalyzeAlone(benchmark::State& state) {
  const QueryDag dag = MakeDag(Shape::kPlan, static_cast<size_t>(state.range(0)));
  MinCutEngine engine;
  for (auto _ : state) {
    auto r = engine.Analyze(dag, CapacityMode::kBottleneck);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MinCutAnalyzeAlone)->Arg(10)->Arg(100)->Arg(1000);

void BM_Forward(benchmark::State& state, AttentionMechanism m, Shape shape) {
  const QueryDag dag = MakeDag(shape, static_cast<size_t>(state.range(0)));
  ManualAttentionClock clock(1'000'000);
  auto attention = std::move(MakeAttention(m, {}, &clock)).value();
  (void)attention->Update(dag, FeedbackFor(dag));
  PreparedDag plan;
  AttentionScores scores;
  for (auto _ : state) {
    Status s = plan.Reset(dag);  // preparation included
    if (s.ok()) s = attention->Compute(plan, nullptr, &scores);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(scores.weights.data());
  }
}

void BM_Prepare(benchmark::State& state) {
  const QueryDag dag = MakeDag(Shape::kPlan, static_cast<size_t>(state.range(0)));
  PreparedDag plan;
  for (auto _ : state) {
    Status s = plan.Reset(dag);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Prepare)->Arg(10)->Arg(100)->Arg(500)->Arg(1000);

void BM_SelectorSelectUpdate(benchmark::State& state) {
  SelectorOptions options;
  options.algorithm = state.range(0) == 0 ? SelectorAlgorithm::kUcb1 : SelectorAlgorithm::kThompson;
  AttentionSelector selector(options);
  Rng rng(1);
  for (auto _ : state) {
    const AttentionMechanism m = selector.Select();
    const Status s = selector.Update(m, 0.1 * static_cast<double>(m) + 0.05 * rng.UniformDouble());
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SelectorSelectUpdate)->Arg(0)->Arg(1)->ArgNames({"thompson"});

void BM_PolicyDecide(benchmark::State& state) {
  AttentionPolicy policy;
  PolicySignals s;
  s.depth = 4;
  s.branch_count = 2;
  uint32_t i = 0;
  for (auto _ : state) {
    s.tension = (++i % 50 == 0) ? 0.9 : 0.2;
    benchmark::DoNotOptimize(policy.Decide(s));
  }
}
BENCHMARK(BM_PolicyDecide);

// A hit, including the key (ContentHash of the DAG + state hash).
void BM_CacheHit(benchmark::State& state) {
  const QueryDag dag = MakeDag(Shape::kPlan, static_cast<size_t>(state.range(0)));
  auto attention = std::move(MakeAttention(AttentionMechanism::kCriticalPath)).value();
  AttentionCache cache;
  (void)cache.GetOrCompute(dag, *attention);
  for (auto _ : state) {
    auto r = cache.GetOrCompute(dag, *attention);
    benchmark::DoNotOptimize(r);
  }
  state.counters["hits"] = static_cast<double>(cache.Stats().hits);
}
BENCHMARK(BM_CacheHit)->Arg(10)->Arg(100)->Arg(1000);

void BM_CacheKey(benchmark::State& state) {
  const QueryDag dag = MakeDag(Shape::kPlan, static_cast<size_t>(state.range(0)));
  auto attention = std::move(MakeAttention(AttentionMechanism::kCriticalPath)).value();
  for (auto _ : state) benchmark::DoNotOptimize(MakeAttentionCacheKey(dag, *attention));
}
BENCHMARK(BM_CacheKey)->Arg(100);

// Raw LRU operations on precomputed keys at capacity (every insert evicts).
void BM_CacheFindInsertEvict(benchmark::State& state) {
  AttentionCacheOptions options;
  options.capacity = 10000;
  AttentionCache cache(options);
  AttentionScores scores;
  scores.nodes = {0};
  scores.weights = {1.0};
  uint64_t next = 0;
  for (; next < options.capacity; ++next) {
    AttentionCacheKey k;
    k.content_hash = next;
    cache.Insert(k, scores);
  }
  for (auto _ : state) {
    AttentionCacheKey hit;
    hit.content_hash = next - 1 - (next * 7919) % 5000;
    benchmark::DoNotOptimize(cache.Find(hit));
    AttentionCacheKey k;
    k.content_hash = next++;
    cache.Insert(k, scores);
  }
}
BENCHMARK(BM_CacheFindInsertEvict);

int RegisterAll() {
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    const std::string name(AttentionMechanismName(m));
    benchmark::RegisterBenchmark(("BM_Compute/" + name).c_str(), BM_Compute, m, Shape::kPlan)
        ->Arg(10)->Arg(100)->Arg(500)->Arg(1000);
    benchmark::RegisterBenchmark(("BM_ComputeRandom/" + name).c_str(), BM_Compute, m, Shape::kRandom)
        ->Arg(100)->Arg(1000);
    benchmark::RegisterBenchmark(("BM_Forward/" + name).c_str(), BM_Forward, m, Shape::kPlan)
        ->Arg(10)->Arg(100)->Arg(500)->Arg(1000);
  }
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace ruvector_dag
