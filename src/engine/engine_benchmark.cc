#include <cmath>
#include <vector>

#include <benchmark/benchmark.h>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/engine.h"

namespace ruvector_dag {
namespace {

// An engine that has learned `patterns` patterns (one trajectory per arm
// each), then PreQuery on a known pattern whose plan has `nodes` nodes: the
// hot-path cost (attention + featurize + lookup + bandit + prediction).
struct Warm {
  std::unique_ptr<Engine> engine;
  QueryDag dag;
  uint64_t key = 0;
  Warm(size_t nodes, AttentionMechanism mechanism) {
    EngineOptions o;
    o.num_arms = 8;
    o.mechanism = mechanism;
    o.exploration_budget = 0.0;  // serve only: the steady state
    engine = Engine::Create(o).value();
    for (uint64_t p = 0; p < 200; ++p) {
      const QueryDag d = internal::RandomPlanDag(nodes, 100 + p, 0.05);
      for (uint32_t arm = 0; arm < 8; ++arm) {
        (void)engine->PostQuery(d, p + 1, arm, 10.0 + arm + static_cast<double>(p % 7));
      }
    }
    (void)engine->BackgroundLearn();
    dag = internal::RandomPlanDag(nodes, 100, 0.05);
    key = 1;  // the plan of pattern 1 (key 0 is reserved)
  }
};

void BM_PreQueryKnownPattern(benchmark::State& state) {
  Warm w(static_cast<size_t>(state.range(0)), AttentionMechanism::kCriticalPath);
  EngineDecision d;
  PlanEmbedding e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.engine->PreQuery(w.dag, w.key, &d, &e));
    benchmark::DoNotOptimize(d.arm);
  }
}
BENCHMARK(BM_PreQueryKnownPattern)->Arg(10)->Arg(30)->Arg(60)->Arg(100);

void BM_PreQueryKnownPatternTopological(benchmark::State& state) {
  Warm w(static_cast<size_t>(state.range(0)), AttentionMechanism::kTopological);
  EngineDecision d;
  PlanEmbedding e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.engine->PreQuery(w.dag, w.key, &d, &e));
    benchmark::DoNotOptimize(d.arm);
  }
}
BENCHMARK(BM_PreQueryKnownPatternTopological)->Arg(10)->Arg(100);

void BM_PostQuery(benchmark::State& state) {
  Warm w(static_cast<size_t>(state.range(0)), AttentionMechanism::kCriticalPath);
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.engine->PostQuery(w.dag, w.key, 1, 12.0));
    if (w.engine->Stats().post_queries % 2048 == 0) {
      state.PauseTiming();
      (void)w.engine->BackgroundLearn();
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_PostQuery)->Arg(10)->Arg(100);

// BackgroundLearn over 256 trajectories of 32 patterns (10-node plans).
void BM_BackgroundLearn256(benchmark::State& state) {
  Warm w(10, AttentionMechanism::kCriticalPath);
  std::vector<QueryDag> plans;
  for (uint64_t p = 0; p < 32; ++p) plans.push_back(internal::RandomPlanDag(10, 500 + p, 0.05));
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 256; ++i) {
      (void)w.engine->PostQuery(plans[i % 32], 500 + i % 32, static_cast<uint32_t>(i % 8),
                                5.0 + (i % 13));
    }
    state.ResumeTiming();
    benchmark::DoNotOptimize(w.engine->BackgroundLearn());
  }
}
BENCHMARK(BM_BackgroundLearn256)->Unit(benchmark::kMillisecond);

// Passes of the host loop (Engine::Learn): 64 executed plans of `nodes`
// nodes (embedding + tension each) and 1,024 runs over them, on an engine
// with `o` that already tracks those patterns.
void TimeHostPasses(benchmark::State& state, const EngineOptions& o, size_t nodes) {
  auto engine = Engine::Create(o).value();
  std::vector<QueryDag> plans;
  for (uint64_t p = 0; p < 64; ++p) plans.push_back(internal::RandomPlanDag(nodes, 900 + p, 0.05));
  std::vector<PlanObservation> observed;
  for (uint64_t p = 0; p < 64; ++p) observed.push_back({p + 1, &plans[p]});
  std::vector<PatternRun> runs(1024);
  int64_t t = 0;
  auto fill = [&]() {
    for (size_t i = 0; i < runs.size(); ++i) {
      runs[i].pattern_key = i % 64 + 1;
      runs[i].arm = static_cast<int>(i % 8);
      runs[i].latency_ms = 5.0 + static_cast<double>(i % 13);
      runs[i].at_us = ++t;
    }
  };
  fill();
  HostLearnOutput out;
  (void)engine->Learn(runs, observed, {}, &out);
  for (auto _ : state) {
    state.PauseTiming();
    fill();
    out = HostLearnOutput();
    state.ResumeTiming();
    benchmark::DoNotOptimize(engine->Learn(runs, observed, {}, &out));
  }
}

EngineOptions HostBenchOptions() {
  EngineOptions o;
  o.num_arms = 8;
  o.bandit = PatternLearner::HostBanditOptions(8);
  o.exploration_budget = 0.0;
  return o;
}

void BM_HostLearnPass(benchmark::State& state) {
  TimeHostPasses(state, HostBenchOptions(), static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_HostLearnPass)->Arg(40)->Unit(benchmark::kMillisecond);

// The PostgreSQL worker's pass (40-node plans) with its training caps: arg 0
// = one value model (at most 512 trained runs per pass, replay ring 2,048:
// the worker before mechanism selection), arg 1 = seven models with
// selection (at most 128 runs, replay ring 512 per model:
// pg/worker/learner.cc).
void BM_WorkerLearnPass(benchmark::State& state) {
  EngineOptions o = HostBenchOptions();
  o.max_train_per_arm = 8;
  if (state.range(0) == 0) {
    o.max_train_per_learn = 512;
  } else {
    o.select_mechanism = true;
    o.max_train_per_learn = 128;
    o.replay_capacity = 512;
  }
  TimeHostPasses(state, o, 40);
}
BENCHMARK(BM_WorkerLearnPass)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ruvector_dag
