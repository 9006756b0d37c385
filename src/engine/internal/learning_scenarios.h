// TEST HARNESS (not part of the library): seeded learning-quality scenarios
// over a simulated query environment. Each arm's latency is base(plan) x
// factor[arm] x lognormal noise with heavy-tailed outliers; nothing is
// measured on a real database. Used by engine tests and meant for a
// `learning_quality` program that prints the JSON summary.
#ifndef RUVECTOR_DAG_SRC_ENGINE_INTERNAL_LEARNING_SCENARIOS_H_
#define RUVECTOR_DAG_SRC_ENGINE_INTERNAL_LEARNING_SCENARIOS_H_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ruvector_dag/engine.h"
#include "ruvector_dag/sona.h"
#include "sona/internal/sim_env.h"

namespace ruvector_dag::sim {

inline constexpr uint32_t kScenarioArms = 4;

struct ScenarioResult {
  std::string name;
  int queries = 0;
  int runs_to_deploy = -1;   // queries until a truly faster arm was deployed (-1: never)
  int runs_to_revert = -1;   // queries after a regime change until the slow arm was reverted
  int regressions = 0;       // (learning pass, pattern) pairs with a truly slower arm deployed
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  double cumulative_ms = 0.0;
  double default_ms = 0.0;   // the same runs had arm 0 always been used
  double oracle_ms = 0.0;    // ... had the truly fastest arm always been used
  double final_prediction_mae = 0.0;  // prequential MAE of log-latency, last quarter of passes
};

struct EwcResult {
  double a_before = 0.0;         // held-out MSE on workload A after training on A
  double a_after_ewc = 0.0;      // ... after then training on B, EWC on (lambda 5000)
  double a_after_plain = 0.0;    // ... EWC off
  double b_after_ewc = 0.0;      // held-out MSE on B after training on B, EWC on
  double retention_ewc = 0.0;    // a_before / a_after (1 = nothing forgotten)
  double retention_plain = 0.0;
};

struct SimWorkloadPattern {
  QueryDag dag;
  uint64_t key = 0;
  double base_ms = 1.0;
  std::vector<double> factor;  // per arm
};

inline std::vector<SimWorkloadPattern> ScenarioPatterns(size_t n, const std::vector<std::vector<double>>& kinds,
                                                        uint64_t seed) {
  std::vector<SimWorkloadPattern> out;
  Rng rng(HashCombine(seed, 0x5CE7u));
  for (size_t p = 0; p < n; ++p) {
    SimWorkloadPattern s;
    s.dag = FamilyPlan(static_cast<int>(p % 2), 5 + rng.Uniform(20), rng.Next());
    s.key = 1000 + p;
    s.base_ms = std::exp(0.5 * TruthOf(s.dag).log_cost);
    s.factor = kinds[p % kinds.size()];
    out.push_back(std::move(s));
  }
  return out;
}

/// Runs `queries` queries over `patterns` (uniformly at random), learning every
/// `learn_every` queries. `change_at` >= 0 replaces the factors by
/// `changed` from that query on. `watch` is the pattern whose deployment and
/// revert are timed.
inline ScenarioResult RunScenario(const std::string& name, std::vector<SimWorkloadPattern> patterns,
                                  int queries, uint64_t seed, int learn_every = 16,
                                  int change_at = -1,
                                  const std::vector<std::vector<double>>* changed = nullptr) {
  ScenarioResult r;
  r.name = name;
  r.queries = queries;
  EngineOptions o;
  o.num_arms = kScenarioArms;
  o.exploration_budget = 0.25;
  o.seed = seed;
  auto engine = Engine::Create(o).value();
  Rng rng(seed);
  std::vector<double> mae;
  const SimWorkloadPattern& watched = patterns[0];
  bool changed_now = false;
  for (int i = 0; i < queries; ++i) {
    if (change_at >= 0 && i == change_at && changed != nullptr) {
      for (size_t p = 0; p < patterns.size(); ++p) patterns[p].factor = (*changed)[p % changed->size()];
      changed_now = true;
    }
    const SimWorkloadPattern& p = patterns[rng.Uniform(patterns.size())];
    EngineDecision d;
    if (!engine->PreQuery(p.dag, p.key, &d).ok()) break;
    const double noise = std::exp(LogNoise(rng, 0.25, 0.03));
    const double ms = p.base_ms * p.factor[d.arm] * noise;
    const double best = *std::min_element(p.factor.begin(), p.factor.end());
    r.cumulative_ms += ms;
    r.default_ms += p.base_ms * p.factor[0] * noise;
    r.oracle_ms += p.base_ms * best * noise;
    (void)engine->PostQuery(p.dag, p.key, d.arm, ms);
    if (i % learn_every == learn_every - 1) {
      Result<LearnReport> rep = engine->BackgroundLearn();
      if (rep.ok() && rep->trajectories > 0) mae.push_back(rep->prediction_mae);
      for (const SimWorkloadPattern& q : patterns) {
        Result<PatternInfo> info = engine->Pattern(q.key);
        if (!info.ok()) continue;
        if (q.factor[info->deployed_arm] > q.factor[0]) ++r.regressions;
        if (&q == &watched) {
          const bool faster = q.factor[info->deployed_arm] < q.factor[0];
          if (!changed_now && faster && r.runs_to_deploy < 0) r.runs_to_deploy = i + 1;
          if (changed_now && r.runs_to_revert < 0 && !(q.factor[info->deployed_arm] > q.factor[0])) {
            r.runs_to_revert = i + 1 - change_at;
          }
        }
      }
    }
  }
  const EngineStats stats = engine->Stats();
  r.deployments = stats.deployments;
  r.reverts = stats.reverts;
  if (!mae.empty()) {
    const size_t from = mae.size() - std::max<size_t>(1, mae.size() / 4);
    double sum = 0.0;
    for (size_t i = from; i < mae.size(); ++i) sum += mae[i];
    r.final_prediction_mae = sum / static_cast<double>(mae.size() - from);
  }
  return r;
}

/// The standard scenarios for one seed.
inline std::vector<ScenarioResult> StandardScenarios(uint64_t seed) {
  const std::vector<double> two_x = {1.0, 1.3, 0.5, 1.6};
  const std::vector<double> slower = {1.0, 1.1, 1.3, 2.0};
  const std::vector<double> turned = {1.0, 1.3, 3.0, 1.6};
  std::vector<ScenarioResult> out;
  out.push_back(RunScenario("two_x_faster_arm", ScenarioPatterns(1, {two_x}, seed), 600, seed, 8));
  out.push_back(RunScenario("all_alternatives_slower", ScenarioPatterns(1, {slower}, seed), 600, seed, 8));
  const std::vector<std::vector<double>> after = {turned};
  out.push_back(RunScenario("deployed_arm_turns_slow", ScenarioPatterns(1, {two_x}, seed), 1000, seed, 8,
                            400, &after));
  out.push_back(RunScenario("mixed_workload_24_patterns",
                            ScenarioPatterns(24, {two_x, slower, {1.0, 0.6, 1.5, 0.8}}, seed), 8000,
                            seed, 32));
  return out;
}

// --- EWC retention -----------------------------------------------------------

struct EwcExample {
  PlanEmbedding x;
  uint32_t arm;
  double y;
};

inline double EwcTruth(const PlanTruth& t, uint32_t arm, int family) {
  if (family == 1) return 7.0 - 0.35 * t.log_cost + 0.3 * arm;
  double y = 0.35 * t.log_cost + 0.1 * t.log_rows;
  if (arm == 1) y -= 1.2 * t.join_share;
  if (arm == 2) y += 0.8 * t.join_share;
  return y;
}

inline std::vector<EwcExample> EwcExamples(int family, size_t count, uint64_t seed) {
  Featurizer f;
  Rng rng(seed);
  std::vector<EwcExample> out;
  for (size_t i = 0; i < count; ++i) {
    const QueryDag dag = FamilyPlan(family, 4 + rng.Uniform(30), rng.Next());
    EwcExample ex;
    (void)f.Featurize(dag, {}, &ex.x);
    ex.arm = static_cast<uint32_t>(rng.Uniform(3));
    ex.y = EwcTruth(TruthOf(dag), ex.arm, family);
    out.push_back(ex);
  }
  return out;
}

inline double EwcMse(const ValueModel& m, const std::vector<EwcExample>& data) {
  double s = 0.0;
  for (const EwcExample& ex : data) {
    const double d = m.Predict(ex.x, ex.arm).value() - ex.y;
    s += d * d;
  }
  return s / static_cast<double>(data.size());
}

inline void EwcTrain(ValueModel* m, const std::vector<EwcExample>& data, int epochs, uint64_t seed) {
  Rng rng(seed);
  for (int e = 0; e < epochs; ++e) {
    for (size_t i = 0; i < data.size(); ++i) {
      const EwcExample& ex = data[rng.Uniform(data.size())];
      const double noisy = ex.y + rng.Gaussian() * 0.1;
      (void)m->TrainStep(ex.x, ex.arm, noisy);
      (void)m->Adapt(ex.x, ex.arm, noisy);
    }
  }
}

/// Workload A, consolidate, workload B (a conflicting relation on shared
/// features); held-out error on A before and after, with and without EWC.
inline EwcResult RunEwcScenario(uint64_t seed) {
  EwcResult r;
  const auto a_train = EwcExamples(0, 300, seed * 4 + 1), a_test = EwcExamples(0, 150, seed * 4 + 2);
  const auto b_train = EwcExamples(1, 300, seed * 4 + 3), b_test = EwcExamples(1, 150, seed * 4 + 4);
  for (int with_ewc = 0; with_ewc < 2; ++with_ewc) {
    ValueModelOptions o;
    o.ewc_lambda = with_ewc ? 5000.0 : 0.0;
    o.seed = HashCombine(seed, 0x5EEDu);
    ValueModel m = ValueModel::Create(o).value();
    EwcTrain(&m, a_train, 6, seed + 21);
    const double before = EwcMse(m, a_test);
    m.Consolidate();
    EwcTrain(&m, b_train, 6, seed + 22);
    const double after = EwcMse(m, a_test);
    r.a_before = before;
    if (with_ewc) {
      r.a_after_ewc = after;
      r.b_after_ewc = EwcMse(m, b_test);
      r.retention_ewc = before / after;
    } else {
      r.a_after_plain = after;
      r.retention_plain = before / after;
    }
  }
  return r;
}

// --- JSON ----------------------------------------------------------------------

inline std::string ScenarioJson(const ScenarioResult& r) {
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "{\"scenario\":\"%s\",\"queries\":%d,\"runs_to_deploy\":%d,\"runs_to_revert\":%d,"
                "\"regressions\":%d,\"deployments\":%llu,\"reverts\":%llu,\"cumulative_ms\":%.1f,"
                "\"always_default_ms\":%.1f,\"oracle_ms\":%.1f,\"vs_default\":%.4f,\"vs_oracle\":%.4f,"
                "\"final_prediction_mae\":%.4f}",
                r.name.c_str(), r.queries, r.runs_to_deploy, r.runs_to_revert, r.regressions,
                static_cast<unsigned long long>(r.deployments), static_cast<unsigned long long>(r.reverts),
                r.cumulative_ms, r.default_ms, r.oracle_ms, r.cumulative_ms / r.default_ms,
                r.cumulative_ms / r.oracle_ms, r.final_prediction_mae);
  return buf;
}

inline std::string EwcJson(const EwcResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"scenario\":\"ewc_retention\",\"a_mse_before\":%.5f,\"a_mse_after_ewc\":%.5f,"
                "\"a_mse_after_no_ewc\":%.5f,\"b_mse_after_ewc\":%.5f,\"retention_ewc\":%.4f,"
                "\"retention_no_ewc\":%.4f}",
                r.a_before, r.a_after_ewc, r.a_after_plain, r.b_after_ewc, r.retention_ewc,
                r.retention_plain);
  return buf;
}

}  // namespace ruvector_dag::sim

#endif  // RUVECTOR_DAG_SRC_ENGINE_INTERNAL_LEARNING_SCENARIOS_H_
