#include "ruvector_dag/attention.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"
#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

struct MechanismName {
  AttentionMechanism mechanism;
  std::string_view snake;
  std::string_view camel;
};

constexpr MechanismName kNames[] = {
    {AttentionMechanism::kTopological, "topological", "Topological"},
    {AttentionMechanism::kCausalCone, "causal_cone", "CausalCone"},
    {AttentionMechanism::kCriticalPath, "critical_path", "CriticalPath"},
    {AttentionMechanism::kMinCutGated, "mincut_gated", "MinCutGated"},
    {AttentionMechanism::kHierarchicalLorentz, "hierarchical_lorentz", "HierarchicalLorentz"},
    {AttentionMechanism::kParallelBranch, "parallel_branch", "ParallelBranch"},
    {AttentionMechanism::kTemporalBtsp, "temporal_btsp", "TemporalBTSP"},
};
static_assert(std::size(kNames) == kAttentionMechanismCount, "every mechanism needs a name");

class SteadyClock final : public AttentionClock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

bool InRange(double v, double lo, double hi) { return v >= lo && v <= hi; }

Status Bad(std::string_view field, std::string_view range, double value) {
  return Status::InvalidArgument("attention parameter " + std::string(field) + " = " +
                                 FormatSignificant(value, 6) + " is outside " + std::string(range));
}

}  // namespace

std::string_view AttentionMechanismName(AttentionMechanism mechanism) {
  const auto index = static_cast<size_t>(mechanism);
  return index < kAttentionMechanismCount ? kNames[index].snake : std::string_view("unknown");
}

std::optional<AttentionMechanism> AttentionMechanismFromName(std::string_view name) {
  for (const auto& entry : kNames) {
    if (entry.snake == name || entry.camel == name) return entry.mechanism;
  }
  if (name == "mincut-gated" || name == "min_cut_gated" || name == "MinCut Gated") {
    return AttentionMechanism::kMinCutGated;
  }
  return std::nullopt;
}

const AttentionClock* SystemAttentionClock() {
  static const SteadyClock kClock;
  return &kClock;
}

Status ValidateAttentionParams(const AttentionParams& p) {
  constexpr double kInf = HUGE_VAL;
  const double max_finite = 1.7e308;
  if (!(p.topological.decay > 0.0 && p.topological.decay <= 1.0))
    return Bad("topological.decay", "(0, 1]", p.topological.decay);
  if (!(p.causal_cone.discount > 0.0 && p.causal_cone.discount <= 1.0))
    return Bad("causal_cone.discount", "(0, 1]", p.causal_cone.discount);
  if (!(p.causal_cone.horizon_epsilon > 0.0 && p.causal_cone.horizon_epsilon < 1.0))
    return Bad("causal_cone.horizon_epsilon", "(0, 1)", p.causal_cone.horizon_epsilon);
  if (!(p.critical_path.sharpness > 0.0 && p.critical_path.sharpness <= 1e6))
    return Bad("critical_path.sharpness", "(0, 1e6]", p.critical_path.sharpness);
  if (!InRange(p.critical_path.max_sharpen, 1.0, 1e6))
    return Bad("critical_path.max_sharpen", "[1, 1e6]", p.critical_path.max_sharpen);
  if (p.critical_path.latency_window < 8 || p.critical_path.latency_window > (size_t{1} << 24))
    return Bad("critical_path.latency_window", "[8, 2^24]",
               static_cast<double>(p.critical_path.latency_window));
  const auto& m = p.min_cut_gated;
  if (!InRange(m.cut_gain, 0.0, max_finite)) return Bad("min_cut_gated.cut_gain", "[0, inf)", m.cut_gain);
  if (!InRange(m.neighbour_gain, 0.0, max_finite))
    return Bad("min_cut_gated.neighbour_gain", "[0, inf)", m.neighbour_gain);
  if (!InRange(m.criticality_gain, 0.0, max_finite))
    return Bad("min_cut_gated.criticality_gain", "[0, inf)", m.criticality_gain);
  if (!InRange(m.cost_mix, 0.0, 1.0)) return Bad("min_cut_gated.cost_mix", "[0, 1]", m.cost_mix);
  if (static_cast<size_t>(m.capacity) > static_cast<size_t>(CapacityMode::kUnit))
    return Bad("min_cut_gated.capacity", "the CapacityMode values", static_cast<double>(m.capacity));
  const auto& h = p.hierarchical_lorentz;
  if (!(h.radius_per_level > 0.0 && h.radius_per_level <= 12.0))
    return Bad("hierarchical_lorentz.radius_per_level", "(0, 12]", h.radius_per_level);
  if (!(h.max_radius > 0.0 && h.max_radius <= 12.0))
    return Bad("hierarchical_lorentz.max_radius", "(0, 12]", h.max_radius);
  if (!(h.temperature > 0.0 && h.temperature <= 1e6))
    return Bad("hierarchical_lorentz.temperature", "(0, 1e6]", h.temperature);
  if (!InRange(h.cost_mix, 0.0, 1.0)) return Bad("hierarchical_lorentz.cost_mix", "[0, 1]", h.cost_mix);
  const auto& b = p.parallel_branch;
  if (!InRange(b.imbalance_exponent, 0.0, 1e6))
    return Bad("parallel_branch.imbalance_exponent", "[0, 1e6]", b.imbalance_exponent);
  if (!InRange(b.branch_boost, 0.0, 1e6)) return Bad("parallel_branch.branch_boost", "[0, 1e6]", b.branch_boost);
  const auto& t = p.temporal_btsp;
  if (!(t.eligibility_tau_ms > 0.0 && t.eligibility_tau_ms < kInf && t.eligibility_tau_ms <= 1e12))
    return Bad("temporal_btsp.eligibility_tau_ms", "(0, 1e12]", t.eligibility_tau_ms);
  if (!(t.weight_tau_ms > 0.0 && t.weight_tau_ms <= 1e12))
    return Bad("temporal_btsp.weight_tau_ms", "(0, 1e12]", t.weight_tau_ms);
  if (!(t.learning_rate > 0.0 && t.learning_rate <= 1.0))
    return Bad("temporal_btsp.learning_rate", "(0, 1]", t.learning_rate);
  if (!(t.plateau_ratio > 1.0 && t.plateau_ratio <= 1e6))
    return Bad("temporal_btsp.plateau_ratio", "(1, 1e6]", t.plateau_ratio);
  if (!(t.baseline_rate > 0.0 && t.baseline_rate <= 1.0))
    return Bad("temporal_btsp.baseline_rate", "(0, 1]", t.baseline_rate);
  if (!InRange(t.trace_gain, 0.0, 1e6)) return Bad("temporal_btsp.trace_gain", "[0, 1e6]", t.trace_gain);
  if (!InRange(t.weight_gain, 0.0, 1e6)) return Bad("temporal_btsp.weight_gain", "[0, 1e6]", t.weight_gain);
  if (!InRange(t.cost_mix, 0.0, 1.0)) return Bad("temporal_btsp.cost_mix", "[0, 1]", t.cost_mix);
  if (t.max_traces < 1 || t.max_traces > (size_t{1} << 24))
    return Bad("temporal_btsp.max_traces", "[1, 2^24]", static_cast<double>(t.max_traces));
  return Status::Ok();
}

uint64_t HashAttentionParams(const AttentionParams& p, AttentionMechanism mechanism) {
  using attention_internal::MixDouble;
  uint64_t h = HashCombine(0xA77E7710u, static_cast<uint64_t>(mechanism));
  h = HashCombine(h, p.edge_weights ? 1 : 0);
  switch (mechanism) {
    case AttentionMechanism::kTopological:
      h = MixDouble(h, p.topological.decay);
      break;
    case AttentionMechanism::kCausalCone:
      h = MixDouble(MixDouble(h, p.causal_cone.discount), p.causal_cone.horizon_epsilon);
      break;
    case AttentionMechanism::kCriticalPath:
      h = MixDouble(MixDouble(h, p.critical_path.sharpness), p.critical_path.max_sharpen);
      h = HashCombine(h, p.critical_path.latency_window);
      break;
    case AttentionMechanism::kMinCutGated:
      for (double v : {p.min_cut_gated.cut_gain, p.min_cut_gated.neighbour_gain,
                       p.min_cut_gated.criticality_gain, p.min_cut_gated.cost_mix}) {
        h = MixDouble(h, v);
      }
      h = HashCombine(h, static_cast<uint64_t>(p.min_cut_gated.capacity));
      break;
    case AttentionMechanism::kHierarchicalLorentz:
      for (double v : {p.hierarchical_lorentz.radius_per_level, p.hierarchical_lorentz.max_radius,
                       p.hierarchical_lorentz.temperature, p.hierarchical_lorentz.cost_mix}) {
        h = MixDouble(h, v);
      }
      break;
    case AttentionMechanism::kParallelBranch:
      h = MixDouble(MixDouble(h, p.parallel_branch.imbalance_exponent), p.parallel_branch.branch_boost);
      break;
    case AttentionMechanism::kTemporalBtsp: {
      const auto& t = p.temporal_btsp;
      for (double v : {t.eligibility_tau_ms, t.weight_tau_ms, t.learning_rate, t.plateau_ratio,
                       t.baseline_rate, t.trace_gain, t.weight_gain, t.cost_mix}) {
        h = MixDouble(h, v);
      }
      h = HashCombine(h, t.max_traces);
      break;
    }
  }
  return h;
}

double AttentionScores::WeightOf(NodeId id) const {
  const auto it = std::lower_bound(nodes.begin(), nodes.end(), id);
  if (it == nodes.end() || *it != id) return 0.0;
  return weights[static_cast<size_t>(it - nodes.begin())];
}

std::optional<double> AttentionScores::Metric(std::string_view name) const {
  for (const auto& m : metadata) {
    if (m.name == name) return m.value;
  }
  return std::nullopt;
}

Result<AttentionScores> Attention::Forward(const QueryDag& dag, const ExecutionFeedback* feedback) const {
  RUVECTOR_ASSIGN_OR_RETURN(PreparedDag plan, PreparedDag::Build(dag));
  AttentionScores scores;
  RUVECTOR_RETURN_IF_ERROR(Compute(plan, feedback, &scores));
  return scores;
}

Status Attention::Update(const QueryDag& /*dag*/, const ExecutionFeedback& /*feedback*/) {
  return Status::Ok();
}

uint64_t Attention::StateHash() const { return HashAttentionParams(params_, mechanism()); }

ExecutionFeedback FeedbackFromActuals(const QueryDag& dag) {
  ExecutionFeedback feedback;
  const NodeId bound = dag.id_bound();
  feedback.node_time_ms.assign(bound, -1.0);
  auto inclusive = [&dag](NodeId id) -> double {
    const OperatorNode* n = dag.node(id);
    if (n == nullptr || !n->actual_time_ms || !std::isfinite(*n->actual_time_ms)) return -1.0;
    double loops = n->actual_loops && std::isfinite(*n->actual_loops) && *n->actual_loops > 0.0
                       ? *n->actual_loops
                       : 1.0;
    const double t = *n->actual_time_ms * loops;
    return std::isfinite(t) && t >= 0.0 ? t : -1.0;
  };
  double latency = -1.0;
  for (NodeId id = 0; id < bound; ++id) {
    const double t = inclusive(id);
    if (t < 0.0) continue;
    double inputs = 0.0;
    for (NodeId p : dag.parents(id)) inputs += std::max(0.0, inclusive(p));
    feedback.node_time_ms[id] = std::max(0.0, t - inputs);
    if (dag.children(id).empty()) latency = std::max(latency, t);
  }
  if (latency >= 0.0) feedback.latency_samples_ms.push_back(latency);
  return feedback;
}

Result<std::unique_ptr<Attention>> MakeAttention(AttentionMechanism mechanism,
                                                 const AttentionParams& params,
                                                 const AttentionClock* clock) {
  RUVECTOR_RETURN_IF_ERROR(ValidateAttentionParams(params));
  using namespace attention_internal;  // NOLINT: the factory functions
  switch (mechanism) {
    case AttentionMechanism::kTopological: return NewTopological(params);
    case AttentionMechanism::kCausalCone: return NewCausalCone(params);
    case AttentionMechanism::kCriticalPath: return NewCriticalPath(params);
    case AttentionMechanism::kMinCutGated: return NewMinCutGated(params);
    case AttentionMechanism::kHierarchicalLorentz: return NewHierarchicalLorentz(params);
    case AttentionMechanism::kParallelBranch: return NewParallelBranch(params);
    case AttentionMechanism::kTemporalBtsp:
      return NewTemporalBtsp(params, clock != nullptr ? clock : SystemAttentionClock());
  }
  return Status::InvalidArgument("unknown attention mechanism " +
                                 std::to_string(static_cast<int>(mechanism)));
}

Result<AttentionScores> ComputeAttention(const QueryDag& dag, AttentionMechanism mechanism,
                                         const AttentionParams& params,
                                         const ExecutionFeedback* feedback) {
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<Attention> attention, MakeAttention(mechanism, params));
  return attention->Forward(dag, feedback);
}

}  // namespace ruvector_dag
