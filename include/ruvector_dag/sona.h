// SONA: the learning half of the optimizer. A featurizer turns a plan DAG into
// a 256-dimensional embedding by attention pooling; a value model (small base
// network + rank-2 MicroLoRA adapters per operator type, protected by EWC++)
// predicts log-latency per arm; a per-pattern bandit keeps the no-regression
// contract; a lock-free trajectory ring carries outcomes from the hot path to
// the learner; a ReasoningBank stores mature patterns for similarity search.
//
// Formulas, defaults and contracts: docs/sona.md.
//
// Thread-safety: every class is thread-compatible (const methods may run
// concurrently, mutation needs exclusive access) except TrajectoryBuffer,
// whose Push/Pop are safe from any number of threads.
#ifndef RUVECTOR_DAG_SONA_H_
#define RUVECTOR_DAG_SONA_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

// --- featurizer --------------------------------------------------------------

/// Width of a plan embedding.
inline constexpr size_t kEmbeddingDim = 256;
/// Width of one node's feature vector (layout in docs/sona.md).
inline constexpr size_t kNodeFeatureDim = 96;
/// Offsets of the embedding's three blocks: attention-weighted mean of node
/// features, element-wise max of node features, plan-global features.
inline constexpr size_t kEmbedMeanOffset = 0;
inline constexpr size_t kEmbedMaxOffset = kNodeFeatureDim;
inline constexpr size_t kEmbedGlobalOffset = 2 * kNodeFeatureDim;

/// A plan embedding. Entries [kEmbedMaxOffset, kEmbedMaxOffset +
/// kOperatorTypeCount) are the operator-type presence flags (0 or 1) the
/// value model uses to pick its MicroLoRA adapters.
using PlanEmbedding = std::array<float, kEmbeddingDim>;

struct FeaturizerOptions {
  /// Plans with at most this many node ids (QueryDag::id_bound) featurize
  /// without allocating; larger plans grow the workspace once.
  size_t max_nodes = 1024;
  /// Include actual rows/time and the misestimation ratio when the DAG carries
  /// them. A learner must embed the same way when it predicts (before the
  /// query runs) and when it trains, so the engine turns this off.
  bool use_actuals = true;
};

/// Plan -> embedding. Owns a preallocated workspace, so one Featurizer must
/// not be used by two threads at once. Deterministic: equal DAGs and weights
/// give bit-identical embeddings.
class Featurizer {
 public:
  explicit Featurizer(FeaturizerOptions options = {});

  /// Embeds `dag`. `node_weights` holds one weight per live node in ascending
  /// id order (AttentionScores::weights); empty means uniform. Weights must be
  /// finite and >= 0 (they are renormalized to sum 1). kFailedPrecondition for
  /// an empty DAG, kInvalidArgument for a weight vector of the wrong size or a
  /// bad weight. O(V + E); no allocation when id_bound <= max_nodes.
  Status Featurize(const QueryDag& dag, std::span<const double> node_weights,
                   PlanEmbedding* out);
  /// Per-node features of the last Featurize call: row i belongs to the i-th
  /// live node (ascending id). Valid until the next call.
  std::span<const float> last_node_features() const {
    return {node_features_.data(), last_nodes_ * kNodeFeatureDim};
  }
  size_t last_node_count() const { return last_nodes_; }
  const FeaturizerOptions& options() const { return options_; }

 private:
  void Reserve(size_t id_bound);
  FeaturizerOptions options_;
  std::vector<float> node_features_;  // max_nodes x kNodeFeatureDim
  std::vector<uint32_t> indegree_, order_, height_, level_;
  std::vector<int32_t> dense_;  // id -> dense index or -1
  std::vector<double> weights_;
  size_t last_nodes_ = 0;
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_SONA_H_
