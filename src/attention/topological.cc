// Topological: weight decays geometrically with the distance (in levels)
// from the plan's top. docs/attention.md, "Topological".
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

class TopologicalAttention final : public Attention {
 public:
  explicit TopologicalAttention(const AttentionParams& params) : Attention(params) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kTopological; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* /*feedback*/,
                 AttentionScores* out) const override {
    const size_t n = plan.size();
    const double log_decay = std::log(params_.topological.decay);
    std::vector<double>& scores = ThreadScratch().real[0];
    scores.resize(n);
    const auto& height = plan.height();
    // decay^height; underflow to 0 is harmless (the top always scores 1).
    for (size_t i = 0; i < n; ++i) scores[i] = std::exp(log_decay * height[i]);
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "decay", params_.topological.decay);
    AddMetric(out, "max_height", plan.max_height());
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attention> NewTopological(const AttentionParams& params) {
  return std::make_unique<TopologicalAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
