// MinCutGated: a base mass (uniform mixed with cost share) gated up on the
// operators of the real minimum vertex cut (mincut module), their direct
// neighbours, and in proportion to each cut node's criticality.
// docs/attention.md, "MinCutGated".
#include <algorithm>
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag::attention_internal {
namespace {

MinCutEngine MakeEngine(const AttentionParams& params) {
  MinCutOptions options;
  options.compute_criticality = params.min_cut_gated.criticality_gain > 0.0;
  Result<MinCutEngine> engine = MinCutEngine::Create(options);
  return engine.ok() ? std::move(engine).value() : MinCutEngine();
}

class MinCutGatedAttention final : public Attention {
 public:
  explicit MinCutGatedAttention(const AttentionParams& params)
      : Attention(params), engine_(MakeEngine(params)) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kMinCutGated; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                 AttentionScores* out) const override {
    const auto& p = params_.min_cut_gated;
    const size_t n = plan.size();
    const QueryDag& dag = plan.dag();
    bool fallback = false;
    Result<MinCutResult> analyzed = engine_.Analyze(dag, p.capacity);
    if (!analyzed.ok() && analyzed.status().code() == StatusCode::kInvalidArgument) {
      // Some estimate is negative or not finite: the DAG is still valid, so
      // cut on sanitized capacities instead of failing.
      fallback = true;
      analyzed = engine_.Analyze(Sanitized(dag), p.capacity);
    }
    if (!analyzed.ok()) return analyzed.status().WithContext("mincut_gated attention");
    const MinCutResult& cut = analyzed.value();

    Scratch& scratch = ThreadScratch();
    std::vector<double>& cost = scratch.real[0];
    std::vector<double>& scores = scratch.real[1];
    ResolveCosts(plan, feedback, &cost, nullptr);
    MixedMass(cost, p.cost_mix, &scores);
    // gate: 1 (+ cut_gain in the cut) (+ neighbour_gain next to it)
    //       (+ criticality_gain * criticality).
    std::vector<uint8_t>& role = scratch.flags;  // 2 = in cut, 1 = neighbour
    role.assign(n, 0);
    for (NodeId id : cut.cut_nodes) {
      const int32_t i = plan.IndexOf(id);
      if (i >= 0) role[static_cast<size_t>(i)] = 2;
    }
    const auto& co = plan.child_offset();
    const auto& ci = plan.child_index();
    const auto& po = plan.parent_offset();
    const auto& pi = plan.parent_index();
    size_t neighbours = 0;
    for (size_t i = 0; i < n; ++i) {
      if (role[i] != 2) continue;
      for (uint32_t e = co[i]; e < co[i + 1]; ++e) {
        if (role[ci[e]] == 0) { role[ci[e]] = 1; ++neighbours; }
      }
      for (uint32_t e = po[i]; e < po[i + 1]; ++e) {
        if (role[pi[e]] == 0) { role[pi[e]] = 1; ++neighbours; }
      }
    }
    const auto& ids = plan.ids();
    double max_crit = 0.0;
    for (size_t i = 0; i < n; ++i) {
      double crit = 0.0;
      if (ids[i] < cut.criticality.size()) crit = cut.criticality[ids[i]];
      if (!std::isfinite(crit) || crit < 0.0) crit = 0.0;
      max_crit = std::max(max_crit, crit);
      const double gate = 1.0 + (role[i] == 2 ? p.cut_gain : 0.0) +
                          (role[i] == 1 ? p.neighbour_gain : 0.0) + p.criticality_gain * crit;
      scores[i] *= gate;
    }
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "cut_gain", p.cut_gain);
    AddMetric(out, "capacity_mode", static_cast<double>(p.capacity));
    AddMetric(out, "capacity_fallback", fallback ? 1.0 : 0.0);
    AddMetric(out, "cut_value", cut.cut_value);
    AddMetric(out, "cut_size", static_cast<double>(cut.cut_nodes.size()));
    AddMetric(out, "neighbours", static_cast<double>(neighbours));
    AddMetric(out, "max_criticality", max_crit);
    AddMetric(out, "tension", cut.tension.tension);
    return Status::Ok();
  }

 private:
  // A copy of the DAG whose numbers the min-cut engine accepts: negative or
  // non-finite estimates become 0, non-finite actuals are dropped.
  static QueryDag Sanitized(const QueryDag& dag) {
    QueryDag copy = dag;
    auto fix = [](double& v) {
      if (!std::isfinite(v) || v < 0.0) v = 0.0;
    };
    auto fix_optional = [](std::optional<double>& v) {
      if (v && (!std::isfinite(*v) || *v < 0.0)) v.reset();
    };
    for (NodeId id = 0; id < copy.id_bound(); ++id) {
      OperatorNode* node = copy.mutable_node(id);
      if (node == nullptr) continue;
      fix(node->estimated_cost);
      fix(node->estimated_rows);
      fix(node->startup_cost);
      fix(node->total_cost);
      fix(node->width);
      fix_optional(node->actual_rows);
      fix_optional(node->actual_time_ms);
      fix_optional(node->actual_loops);
    }
    return copy;
  }

  MinCutEngine engine_;
};

}  // namespace

std::unique_ptr<Attention> NewMinCutGated(const AttentionParams& params) {
  return std::make_unique<MinCutGatedAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
