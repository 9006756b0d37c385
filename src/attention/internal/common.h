// Helpers shared by the attention mechanisms (not public API).
#ifndef RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_COMMON_H_
#define RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_COMMON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ruvector_dag/attention.h"

// 1 (the default): CriticalPath and TemporalBTSP learn from Attention::Update.
// 0: their Update returns kUnimplemented and the learning code is left out of
// the build. The WASM module, whose API passes no execution feedback, builds
// with 0 to fit its size budget (docs/wasm.md).
#ifndef RUVECTOR_ATTENTION_LEARNING
#define RUVECTOR_ATTENTION_LEARNING 1
#endif

namespace ruvector_dag::attention_internal {

#if !RUVECTOR_ATTENTION_LEARNING
/// What Update returns for a mechanism whose learning is not in this build.
inline Status LearningNotBuilt(AttentionMechanism mechanism) {
  return Status::Unimplemented(std::string(AttentionMechanismName(mechanism)) +
                               " learning is not in this build (RUVECTOR_ATTENTION_LEARNING=0)");
}
#endif

/// True for a usable observation (finite, >= 0).
inline bool Known(double v) { return v >= 0.0 && v <= 1.7e308; }

/// Per-index cost in [0, 1] (largest = 1) from the estimates, calibrated by
/// the observed self times in `feedback` when there are any (docs/attention.md,
/// "Costs"). All-zero costs become unit costs. `observed` (optional) receives
/// how many nodes had an observed time.
void ResolveCosts(const PreparedDag& plan, const ExecutionFeedback* feedback,
                  std::vector<double>* cost, size_t* observed = nullptr);

/// Base mass: (1 - mix) / n + mix * cost_i / sum(cost), sums to 1.
void MixedMass(const std::vector<double>& cost, double mix, std::vector<double>* mass);

/// Writes nodes/weights of `out` from non-negative scores: w = s / sum(s);
/// falls back to uniform when the sum is 0 or not finite, replaces
/// non-finite or negative scores with 0, clamps to [0, 1]. Also fills edge
/// weights when `params.edge_weights`, and clears metadata.
void Finish(const PreparedDag& plan, const AttentionParams& params, AttentionMechanism mechanism,
            const std::vector<double>& scores, AttentionScores* out);

/// Scores from log-scores: exp(x - max x) (a softmax without overflow).
void ExpNormalize(std::vector<double>* log_scores);

/// Longest cost path ending at each index (inclusive; "up") and starting at
/// each index (inclusive; "down").
void LongestPaths(const PreparedDag& plan, const std::vector<double>& cost,
                  std::vector<double>* up, std::vector<double>* down);

/// Per-thread buffers the mechanisms reuse between Compute calls, so that a
/// Compute allocates nothing once they have grown. A Compute takes the slots
/// it needs at entry and (re)sizes them; nothing it calls may use them.
struct Scratch {
  std::vector<double> real[9];
  std::vector<uint32_t> index[2];
  std::vector<uint8_t> flags;
};
Scratch& ThreadScratch();

inline void AddMetric(AttentionScores* out, std::string_view name, double value) {
  out->metadata.push_back(AttentionMetric{name, value});
}

/// Mixes a double into a hash (stable).
inline uint64_t MixDouble(uint64_t h, double v) { return HashCombine(h, HashDouble(v)); }

}  // namespace ruvector_dag::attention_internal

#endif  // RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_COMMON_H_
