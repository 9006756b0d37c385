// Constructors of the seven mechanisms (not public API; use MakeAttention).
#ifndef RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_MECHANISMS_H_
#define RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_MECHANISMS_H_

#include <memory>

#include "ruvector_dag/attention.h"

namespace ruvector_dag::attention_internal {

std::unique_ptr<Attention> NewTopological(const AttentionParams& params);
std::unique_ptr<Attention> NewCausalCone(const AttentionParams& params);
std::unique_ptr<Attention> NewCriticalPath(const AttentionParams& params);
std::unique_ptr<Attention> NewMinCutGated(const AttentionParams& params);
std::unique_ptr<Attention> NewHierarchicalLorentz(const AttentionParams& params);
std::unique_ptr<Attention> NewParallelBranch(const AttentionParams& params);
std::unique_ptr<Attention> NewTemporalBtsp(const AttentionParams& params, const AttentionClock* clock);

}  // namespace ruvector_dag::attention_internal

#endif  // RUVECTOR_DAG_SRC_ATTENTION_INTERNAL_MECHANISMS_H_
