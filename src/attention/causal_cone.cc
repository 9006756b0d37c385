// CausalCone: a node's weight is the distance-discounted size of its
// downstream cone (itself plus everything it feeds). docs/attention.md,
// "CausalCone".
#include <algorithm>
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

class CausalConeAttention final : public Attention {
 public:
  explicit CausalConeAttention(const AttentionParams& params) : Attention(params) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kCausalCone; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* /*feedback*/,
                 AttentionScores* out) const override {
    const size_t n = plan.size();
    const double delta = params_.causal_cone.discount;
    // Terms delta^k below epsilon are dropped: k <= horizon.
    uint32_t horizon = plan.max_height();
    if (delta < 1.0) {
      const double k = std::log(params_.causal_cone.horizon_epsilon) / std::log(delta);
      if (k < static_cast<double>(horizon)) horizon = static_cast<uint32_t>(std::max(1.0, std::floor(k)));
    }
    // impact(i) = sum over j in cone(i) of delta^dist(i, j), dist = shortest
    // path length (cone(i) includes i at distance 0). Consumers first:
    //  - no consumer: impact = 1;
    //  - one consumer c: every path leaves through c, so dist(i, j) =
    //    1 + dist(c, j) and impact(i) = 1 + delta * impact(c), exactly;
    //  - several consumers (shared inputs): a breadth-first search over the
    //    cone up to the horizon.
    const auto& co = plan.child_offset();
    const auto& ci = plan.child_index();
    const auto& topo = plan.topo_order();
    Scratch& scratch = ThreadScratch();
    std::vector<double>& impact = scratch.real[0];
    std::vector<uint32_t>& seen = scratch.index[0];  // BFS stamp: the (index + 1) that saw it
    std::vector<uint32_t>& queue = scratch.index[1];
    impact.assign(n, 1.0);
    seen.assign(n, 0);
    size_t searches = 0, visited = 0;
    for (size_t t = n; t-- > 0;) {
      const uint32_t i = topo[t];
      const uint32_t fan_out = co[i + 1] - co[i];
      if (fan_out == 0) continue;
      if (fan_out == 1) {
        impact[i] = 1.0 + delta * impact[ci[co[i]]];
        continue;
      }
      ++searches;
      const uint32_t stamp = i + 1;
      queue.clear();
      queue.push_back(i);
      seen[i] = stamp;
      double sum = 1.0, factor = 1.0;
      size_t head = 0;
      for (uint32_t k = 1; k <= horizon && head < queue.size(); ++k) {
        factor *= delta;
        const size_t level_end = queue.size();
        size_t found = 0;
        for (; head < level_end; ++head) {
          const uint32_t u = queue[head];
          for (uint32_t e = co[u]; e < co[u + 1]; ++e) {
            const uint32_t v = ci[e];
            if (seen[v] == stamp) continue;
            seen[v] = stamp;
            queue.push_back(v);
            ++found;
          }
        }
        sum += factor * static_cast<double>(found);
      }
      visited += queue.size();
      impact[i] = sum;
    }
    Finish(plan, params_, mechanism(), impact, out);
    AddMetric(out, "discount", delta);
    AddMetric(out, "horizon", horizon);
    AddMetric(out, "searches", static_cast<double>(searches));
    AddMetric(out, "visited", static_cast<double>(visited));
    AddMetric(out, "max_impact", *std::max_element(impact.begin(), impact.end()));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attention> NewCausalCone(const AttentionParams& params) {
  return std::make_unique<CausalConeAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
