// TEST HARNESS (not part of the library): a corpus of plan embeddings for
// ReasoningBank tests and benchmarks: seeded plan templates, many instances
// per template with different estimates (as a workload's parameter buckets and
// statistics changes produce), and queries that are new instances.
#ifndef RUVECTOR_DAG_SRC_SONA_INTERNAL_PATTERN_CORPUS_H_
#define RUVECTOR_DAG_SRC_SONA_INTERNAL_PATTERN_CORPUS_H_

#include <cmath>
#include <vector>

#include "dag/internal/random_dag.h"
#include "ruvector_dag/sona.h"

namespace ruvector_dag::sim {

/// Query templates: a workload has a few hundred distinct plan shapes, and
/// the bank holds many patterns per template (parameter buckets, statistics
/// changes) that differ in their estimates.
inline constexpr uint64_t kCorpusTemplates = 500;

/// An instance of template `tmpl`: its shape, with estimates scaled by
/// exp(N(0, sigma)) drawn from `seed`.
inline QueryDag TemplatePlan(uint64_t tmpl, uint64_t seed, double sigma = 0.5) {
  Rng shape(HashCombine(0xC0FFEEu, tmpl));
  QueryDag dag = internal::RandomPlanDag(4 + shape.Uniform(40), shape.Next(), 0.05);
  Rng rng(HashCombine(0xD1CEu, seed));
  for (NodeId id : dag.NodeIds()) {
    OperatorNode* n = dag.mutable_node(id);
    n->estimated_rows *= std::exp(rng.Gaussian() * sigma);
    n->estimated_cost *= std::exp(rng.Gaussian() * sigma);
    n->total_cost = n->estimated_cost;
  }
  return dag;
}

/// Corpus entry `index`: template index % kCorpusTemplates.
inline QueryDag CorpusPlan(uint64_t index) { return TemplatePlan(index % kCorpusTemplates, index); }

/// A plan of no template at all (uniformly random shape and types): the
/// unstructured worst case for cluster pruning.
inline QueryDag UnstructuredPlan(uint64_t index) {
  Rng rng(HashCombine(0xF00Du, index));
  return internal::RandomPlanDag(4 + rng.Uniform(40), rng.Next(), 0.05);
}

/// `count` patterns with keys 1..count.
inline std::vector<ReasoningPattern> PatternCorpus(size_t count) {
  Featurizer f;
  std::vector<ReasoningPattern> out(count);
  for (size_t i = 0; i < count; ++i) {
    (void)f.Featurize(CorpusPlan(i), {}, &out[i].embedding);
    out[i].key = i + 1;
    out[i].best_arm = static_cast<uint32_t>(i % 4);
    out[i].gain = 0.1;
    out[i].quality = 0.5;
  }
  return out;
}

/// A new instance of template `tmpl` (not in the corpus), embedded.
inline PlanEmbedding TemplateQuery(uint64_t tmpl, uint64_t seed) {
  Featurizer f;
  PlanEmbedding e;
  (void)f.Featurize(TemplatePlan(tmpl % kCorpusTemplates, 1000000 + seed), {}, &e);
  return e;
}

}  // namespace ruvector_dag::sim

#endif  // RUVECTOR_DAG_SRC_SONA_INTERNAL_PATTERN_CORPUS_H_
