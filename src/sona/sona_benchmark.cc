#include <vector>

#include <benchmark/benchmark.h>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/sona.h"
#include "sona/internal/pattern_corpus.h"

namespace ruvector_dag {
namespace {

void BM_Featurize(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(static_cast<size_t>(state.range(0)), 42, 0.05);
  std::vector<double> weights(dag.node_count());
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0 + static_cast<double>(i % 7);
  Featurizer f;
  PlanEmbedding e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.Featurize(dag, weights, &e));
    benchmark::DoNotOptimize(e.data());
  }
}
BENCHMARK(BM_Featurize)->Arg(10)->Arg(100)->Arg(1000);

// One MicroLoRA adapt step (rank-2 adapters of the plan's operator types plus
// the arm head, with EWC++ active) on a 100-node random plan embedding.
void BM_MicroLoraAdaptStep(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(100, 7, 0.05);
  Featurizer f;
  PlanEmbedding e;
  (void)f.Featurize(dag, {}, &e);
  size_t types = 0;
  for (size_t t = 0; t < kOperatorTypeCount; ++t) types += e[kEmbedMaxOffset + t] > 0.5f;
  ValueModel m = ValueModel::Create().value();
  for (int i = 0; i < 100; ++i) (void)m.TrainStep(e, 1, 3.0);
  m.Consolidate();
  double target = 3.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.Adapt(e, 1, target));
    target = target == 3.0 ? 3.1 : 3.0;
  }
  state.counters["active_types"] = static_cast<double>(types);
}
BENCHMARK(BM_MicroLoraAdaptStep);

// Same on a typical 5-operator-type plan.
void BM_MicroLoraAdaptStepSmallPlan(benchmark::State& state) {
  QueryDag dag;
  const NodeId a = dag.AddNode(OperatorNode::SeqScan("a").WithEstimates(1000, 10)).value();
  const NodeId b = dag.AddNode(OperatorNode::IndexScan("b_pkey", "b").WithEstimates(10, 1)).value();
  const NodeId h = dag.AddNode(OperatorNode::Hash().WithEstimates(10, 1)).value();
  const NodeId j = dag.AddNode(OperatorNode::HashJoin("a.x = b.x").WithEstimates(100, 5)).value();
  const NodeId l = dag.AddNode(OperatorNode::Limit(10).WithEstimates(10, 0.1)).value();
  (void)dag.AddEdge(b, h);
  (void)dag.AddEdge(a, j);
  (void)dag.AddEdge(h, j);
  (void)dag.AddEdge(j, l);
  Featurizer f;
  PlanEmbedding e;
  (void)f.Featurize(dag, {}, &e);
  ValueModel m = ValueModel::Create().value();
  m.Consolidate();
  for (auto _ : state) benchmark::DoNotOptimize(m.Adapt(e, 0, 2.0));
}
BENCHMARK(BM_MicroLoraAdaptStepSmallPlan);

void BM_ValueModelTrainStep(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(100, 7, 0.05);
  Featurizer f;
  PlanEmbedding e;
  (void)f.Featurize(dag, {}, &e);
  ValueModel m = ValueModel::Create().value();
  m.Consolidate();
  for (auto _ : state) benchmark::DoNotOptimize(m.TrainStep(e, 1, 3.0));
}
BENCHMARK(BM_ValueModelTrainStep);

void BM_ValueModelPredictArms(benchmark::State& state) {
  const QueryDag dag = internal::RandomPlanDag(100, 7, 0.05);
  Featurizer f;
  PlanEmbedding e;
  (void)f.Featurize(dag, {}, &e);
  ValueModel m = ValueModel::Create().value();
  double out[8];
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.PredictArms(e, out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ValueModelPredictArms);

// Cluster-pruned nearest-pattern search among 10,000 stored patterns (500
// templates x 20 instances; queries are new instances).
struct BankFixture {
  ReasoningBank bank = ReasoningBank::Create().value();
  std::vector<PlanEmbedding> queries;
  BankFixture() {
    for (const auto& p : sim::PatternCorpus(10000)) (void)bank.Upsert(p);
    bank.Recluster();
    for (uint64_t i = 0; i < 64; ++i) queries.push_back(sim::TemplateQuery(i * 7, i));
  }
};
BankFixture& Bank() {
  static BankFixture* f = new BankFixture();
  return *f;
}

void BM_PatternSearch10k(benchmark::State& state) {
  BankFixture& f = Bank();
  std::vector<PatternMatch> out;
  size_t i = 0;
  for (auto _ : state) {
    f.bank.Search(f.queries[i++ % f.queries.size()], 1, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PatternSearch10k);

void BM_PatternSearchExact10k(benchmark::State& state) {
  BankFixture& f = Bank();
  std::vector<PatternMatch> out;
  size_t i = 0;
  for (auto _ : state) {
    f.bank.SearchExact(f.queries[i++ % f.queries.size()], 1, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PatternSearchExact10k);

void BM_Recluster10k(benchmark::State& state) {
  BankFixture& f = Bank();
  for (auto _ : state) f.bank.Recluster();
}
BENCHMARK(BM_Recluster10k)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace ruvector_dag
