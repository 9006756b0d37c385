// Benchmarks of the healing module: per-observation cost of each detector
// and the cost of a full orchestrator cycle with 100 detectors.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

std::vector<double> Noise(size_t n, double mean, double sd, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = mean + sd * rng.Gaussian();
  return v;
}

void BM_ZScoreObserve(benchmark::State& state) {
  AnomalyConfig c;
  c.window_size = static_cast<size_t>(state.range(0));
  AnomalyDetector d = AnomalyDetector::Create(c).value();
  const std::vector<double> v = Noise(4096, 20, 2, 1);
  size_t i = 0;
  for (auto _ : state) {
    auto r = d.Observe(v[i++ & 4095]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZScoreObserve)->Arg(100)->Arg(1000)->Arg(10000);

void BM_RobustObserve(benchmark::State& state) {
  AnomalyConfig c;
  c.window_size = static_cast<size_t>(state.range(0));
  c.robust = true;
  AnomalyDetector d = AnomalyDetector::Create(c).value();
  const std::vector<double> v = Noise(4096, 20, 2, 2);
  size_t i = 0;
  for (auto _ : state) {
    auto r = d.Observe(v[i++ & 4095]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RobustObserve)->Arg(100)->Arg(1000)->Arg(10000);

void BM_DriftObserveAndCheck(benchmark::State& state) {
  DriftDetector d = DriftDetector::Create({}).value();
  const std::vector<double> v = Noise(4096, 0.8, 0.02, 3);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Observe(v[i++ & 4095]));
    benchmark::DoNotOptimize(d.Check());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DriftObserveAndCheck);

void BM_TensionObserve(benchmark::State& state) {
  TensionTracker t = TensionTracker::Create({}).value();
  const std::vector<double> v = Noise(4096, 0.4, 0.05, 4);
  size_t i = 0;
  for (auto _ : state) {
    auto r = t.Observe(1, v[i++ & 4095]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TensionObserve);

// An in-memory executor: actions succeed and halve the measured metric, so
// repairs validate as successful; cost is a few map operations.
class MemoryExecutor final : public RepairExecutor {
 public:
  Status AnalyzeTable(std::string_view) override { return Improve(); }
  bool HasNonDefaultArm(PatternKey p) const override { return p % 2 == 0; }
  Result<std::string> RevertArm(PatternKey) override {
    RUVECTOR_RETURN_IF_ERROR(Improve());
    return std::string("arm");
  }
  Status DeployArm(PatternKey, std::string_view) override { return Status::Ok(); }
  Result<std::string> ResetPattern(PatternKey) override {
    RUVECTOR_RETURN_IF_ERROR(Improve());
    return std::string("snapshot");
  }
  Status RestorePattern(PatternKey, std::string_view) override { return Status::Ok(); }
  Status FlushAttentionCache() override { return Improve(); }
  Status Reindex(std::string_view) override { return Improve(); }
  Result<uint64_t> RecommendIndex(const IndexRecommendationRequest&) override { return ++recs_; }
  Status WithdrawIndexRecommendation(uint64_t) override { return Status::Ok(); }
  bool HasIndexRecommendation(uint64_t id) const override { return id <= recs_; }
  Result<double> MeasureMetric(const MetricQuery&) override { return level_; }

 private:
  Status Improve() {
    level_ *= 0.5;
    if (level_ < 1e-6) level_ = 1e6;
    return Status::Ok();
  }
  double level_ = 1e6;
  uint64_t recs_ = 0;
};

// 100 detectors: 80 mean/stddev, 10 median/MAD (window 100), 10 drift.
// Each cycle feeds one value to every detector (included in the time) and
// then runs RunCycle. Arg(0): quiet cycles (no anomalies). Arg(1): ten
// detectors see a hard-limit anomaly every cycle and up to 8 repairs run
// (cooldowns off) through the in-memory executor.
void BM_FullCycle100Detectors(benchmark::State& state) {
  const bool busy = state.range(0) != 0;
  MemoryExecutor executor;
  OrchestratorConfig c;
  c.success_cooldown_micros = 0;
  c.failure_cooldown_micros = 0;
  HealingOrchestrator orch(c, &executor);
  orch.AddDefaultStrategies();
  std::vector<DetectorId> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "m" + std::to_string(i);
    Binding b{.kind = IssueKind::kLatencySpike, .pattern = static_cast<PatternKey>(i)};
    if (i < 80) {
      AnomalyConfig a;
      a.hard_upper = 1000;
      ids.push_back(orch.AddDetector(name, a, b).value());
    } else if (i < 90) {
      AnomalyConfig a;
      a.robust = true;
      a.hard_upper = 1000;
      ids.push_back(orch.AddDetector(name, a, b).value());
    } else {
      b.kind = IssueKind::kPatternDrift;
      ids.push_back(orch.AddDriftDetector(name, {}, b).value());
    }
  }
  const std::vector<double> v = Noise(4096, 20, 2, 5);
  size_t k = 0;
  for (int warm = 0; warm < 300; ++warm) {
    for (DetectorId id : ids) benchmark::DoNotOptimize(orch.Observe(id, v[k++ & 4095]));
  }
  benchmark::DoNotOptimize(orch.RunCycle());
  size_t repairs = 0, cycles = 0;
  for (auto _ : state) {
    for (size_t j = 0; j < ids.size(); ++j) {
      const double x = (busy && j % 10 == 0 && j < 80) ? 5000.0 : v[k++ & 4095];
      benchmark::DoNotOptimize(orch.Observe(ids[j], x));
    }
    auto r = orch.RunCycle();
    repairs += r->repairs.size();
    ++cycles;
    benchmark::DoNotOptimize(r);
  }
  state.counters["repairs_per_cycle"] = static_cast<double>(repairs) / static_cast<double>(cycles);
}
BENCHMARK(BM_FullCycle100Detectors)->Arg(0)->Arg(1);

void BM_OrchestratorObserve(benchmark::State& state) {
  const bool by_name = state.range(0) != 0;
  HealingOrchestrator orch;
  std::vector<std::string> names;
  std::vector<DetectorId> ids;
  for (int i = 0; i < 100; ++i) {
    names.push_back("pattern." + std::to_string(i) + ".latency_ms");
    ids.push_back(orch.AddDetector(names.back(), {}).value());
  }
  const std::vector<double> v = Noise(4096, 20, 2, 6);
  size_t i = 0;
  for (auto _ : state) {
    const size_t d = i % 100;
    Status s = by_name ? orch.Observe(names[d], v[i & 4095]) : orch.Observe(ids[d], v[i & 4095]);
    benchmark::DoNotOptimize(s);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrchestratorObserve)->Arg(0)->Arg(1);

}  // namespace
}  // namespace healing
}  // namespace ruvector_dag
