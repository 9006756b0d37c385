// ParallelBranch: nodes inside parallel branches weigh more than the serial
// spine; at each merge, branches slower than the slowest lose weight in
// proportion to the merge's imbalance. docs/attention.md, "ParallelBranch".
#include <algorithm>
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

// Added to every cost so a zero-cost branch still has a defined ratio.
constexpr double kCostFloor = 1e-3;

class ParallelBranchAttention final : public Attention {
 public:
  explicit ParallelBranchAttention(const AttentionParams& params) : Attention(params) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kParallelBranch; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                 AttentionScores* out) const override {
    const size_t n = plan.size();
    Scratch& scratch = ThreadScratch();
    std::vector<double>& cost = scratch.real[0];
    std::vector<double>& up = scratch.real[1];
    ResolveCosts(plan, feedback, &cost, nullptr);
    for (double& c : cost) c += kCostFloor;
    LongestPaths(plan, cost, &up, nullptr);

    const auto& po = plan.parent_offset();
    const auto& pi = plan.parent_index();
    const auto& co = plan.child_offset();
    const auto& ci = plan.child_index();
    const auto& topo = plan.topo_order();
    const double gamma = params_.parallel_branch.imbalance_exponent;
    // Per merge (>= 2 inputs): slowest input's up-cost and imbalance.
    std::vector<double>& slowest = scratch.real[2];
    std::vector<double>& imbalance = scratch.real[3];
    slowest.assign(n, 0.0);
    imbalance.assign(n, 0.0);
    size_t merges = 0;
    uint32_t max_fan_in = 0;
    double imbalance_sum = 0.0;
    for (size_t v = 0; v < n; ++v) {
      const uint32_t fan_in = po[v + 1] - po[v];
      max_fan_in = std::max(max_fan_in, fan_in);
      if (fan_in < 2) continue;
      double hi = 0.0, lo = HUGE_VAL;
      for (uint32_t k = po[v]; k < po[v + 1]; ++k) {
        hi = std::max(hi, up[pi[k]]);
        lo = std::min(lo, up[pi[k]]);
      }
      slowest[v] = hi;
      imbalance[v] = hi > 0.0 ? 1.0 - lo / hi : 0.0;
      ++merges;
      imbalance_sum += imbalance[v];
    }
    // Top-down (consumers first): criticality pi_i and "inside a branch".
    std::vector<double>& crit = scratch.real[4];
    std::vector<uint8_t>& in_branch = scratch.flags;
    crit.assign(n, 1.0);
    in_branch.assign(n, 0);
    for (size_t t = n; t-- > 0;) {
      const uint32_t i = topo[t];
      if (co[i] == co[i + 1]) continue;  // a sink: criticality 1, spine
      double best = 0.0;
      uint8_t branch = 0;
      for (uint32_t e = co[i]; e < co[i + 1]; ++e) {
        const uint32_t v = ci[e];
        double f = 1.0;
        if (po[v + 1] - po[v] >= 2) {
          branch = 1;
          const double kappa = slowest[v] > 0.0 ? up[i] / slowest[v] : 1.0;
          f = std::pow(std::clamp(kappa, 0.0, 1.0), gamma * imbalance[v]);
        }
        best = std::max(best, crit[v] * f);
        branch |= in_branch[v];
      }
      crit[i] = best;
      in_branch[i] = branch;
    }
    std::vector<double>& scores = up;
    size_t branch_nodes = 0;
    for (size_t i = 0; i < n; ++i) {
      scores[i] = crit[i] * (1.0 + params_.parallel_branch.branch_boost * in_branch[i]);
      branch_nodes += in_branch[i];
    }
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "imbalance_exponent", gamma);
    AddMetric(out, "branch_boost", params_.parallel_branch.branch_boost);
    AddMetric(out, "merge_points", static_cast<double>(merges));
    AddMetric(out, "max_fan_in", max_fan_in);
    AddMetric(out, "mean_imbalance", merges > 0 ? imbalance_sum / static_cast<double>(merges) : 0.0);
    AddMetric(out, "branch_nodes", static_cast<double>(branch_nodes));
    AddMetric(out, "max_width", plan.max_width());
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attention> NewParallelBranch(const AttentionParams& params) {
  return std::make_unique<ParallelBranchAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
