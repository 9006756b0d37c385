// AttentionSelector (UCB1 / Thompson sampling) and AttentionPolicy (the
// seed's triggers). docs/attention.md, "Selector" and "Policy".
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "attention/internal/common.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag {
namespace {

std::vector<AttentionMechanism> ArmsOrAll(const std::vector<AttentionMechanism>& arms) {
  if (!arms.empty()) return arms;
  return std::vector<AttentionMechanism>(std::begin(kAllAttentionMechanisms),
                                         std::end(kAllAttentionMechanisms));
}

}  // namespace

AttentionSelector::AttentionSelector(SelectorOptions options)
    : options_(std::move(options)), rng_(options_.seed) {
  // Repair what Create would reject: unknown/duplicate arms, bad constants.
  std::vector<AttentionMechanism> arms;
  for (AttentionMechanism m : ArmsOrAll(options_.arms)) {
    if (static_cast<size_t>(m) >= kAttentionMechanismCount) continue;
    if (std::find(arms.begin(), arms.end(), m) == arms.end()) arms.push_back(m);
  }
  if (arms.empty()) arms = ArmsOrAll({});
  options_.arms = arms;
  if (!std::isfinite(options_.exploration) || options_.exploration < 0.0) options_.exploration = 1.0;
  for (AttentionMechanism m : arms) arms_.push_back(Arm{m});
}

Result<AttentionSelector> AttentionSelector::Create(SelectorOptions options) {
  if (!std::isfinite(options.exploration) || options.exploration < 0.0 ||
      (options.algorithm == SelectorAlgorithm::kThompson && options.exploration == 0.0)) {
    return Status::InvalidArgument("selector exploration " + std::to_string(options.exploration) +
                                   " must be finite and >= 0 (> 0 for Thompson sampling)");
  }
  for (size_t i = 0; i < options.arms.size(); ++i) {
    if (static_cast<size_t>(options.arms[i]) >= kAttentionMechanismCount) {
      return Status::InvalidArgument("selector arm " + std::to_string(i) + " is not a mechanism");
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.arms[j] == options.arms[i]) {
        return Status::InvalidArgument("selector arm " +
                                       std::string(AttentionMechanismName(options.arms[i])) +
                                       " is listed twice");
      }
    }
  }
  return AttentionSelector(std::move(options));
}

double AttentionSelector::UpperBound(const Arm& arm) const {
  if (arm.pulls == 0) return std::numeric_limits<double>::infinity();
  const double bonus = options_.exploration *
                       std::sqrt(2.0 * std::log(static_cast<double>(std::max<uint64_t>(total_, 1))) /
                                 static_cast<double>(arm.pulls));
  return arm.mean + bonus;
}

AttentionMechanism AttentionSelector::Select() {
  for (const Arm& arm : arms_) {
    if (arm.pulls == 0) return arm.mechanism;  // try every arm once first
  }
  size_t best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (size_t a = 0; a < arms_.size(); ++a) {
    const Arm& arm = arms_[a];
    double value;
    if (options_.algorithm == SelectorAlgorithm::kUcb1) {
      value = UpperBound(arm);
    } else {
      // Gaussian posterior around the mean (prior 0.5 worth one pull); its
      // spread shrinks with 1/sqrt(pulls + 1) and scales with the observed
      // reward noise (floored, so a lucky streak does not freeze it).
      const double n = static_cast<double>(arm.pulls);
      const double var = arm.pulls >= 2 ? arm.m2 / (n - 1.0) : 0.25;
      const double sd = options_.exploration * std::max(0.05, std::sqrt(var)) / std::sqrt(n + 1.0);
      const double mean = (n * arm.mean + 0.5) / (n + 1.0);
      value = mean + sd * rng_.Gaussian();
    }
    if (value > best_value) {
      best_value = value;
      best = a;
    }
  }
  return arms_[best].mechanism;
}

Status AttentionSelector::Update(AttentionMechanism mechanism, double reward) {
  if (!std::isfinite(reward)) {
    return Status::InvalidArgument("selector reward for " +
                                   std::string(AttentionMechanismName(mechanism)) + " is not finite");
  }
  for (Arm& arm : arms_) {
    if (arm.mechanism != mechanism) continue;
    ++arm.pulls;
    ++total_;
    const double delta = reward - arm.mean;
    arm.mean += delta / static_cast<double>(arm.pulls);
    arm.m2 += delta * (reward - arm.mean);
    return Status::Ok();
  }
  return Status::NotFound("mechanism " + std::string(AttentionMechanismName(mechanism)) +
                          " is not an arm of this selector");
}

AttentionMechanism AttentionSelector::Best() const {
  const Arm* best = nullptr;
  for (const Arm& arm : arms_) {
    if (arm.pulls == 0) continue;
    if (best == nullptr || arm.mean > best->mean) best = &arm;
  }
  return best != nullptr ? best->mechanism : arms_.front().mechanism;
}

std::vector<ArmStats> AttentionSelector::Stats() const {
  std::vector<ArmStats> stats;
  stats.reserve(arms_.size());
  for (const Arm& arm : arms_) {
    ArmStats s;
    s.mechanism = arm.mechanism;
    s.pulls = arm.pulls;
    s.mean_reward = arm.mean;
    s.reward_variance = arm.pulls >= 2 ? arm.m2 / static_cast<double>(arm.pulls - 1) : 0.0;
    s.upper_bound = UpperBound(arm);
    stats.push_back(s);
  }
  return stats;
}

void AttentionSelector::Reset() {
  for (Arm& arm : arms_) arm = Arm{arm.mechanism};
  total_ = 0;
  rng_ = Rng(options_.seed);
}

// --- policy -------------------------------------------------------------------

std::string_view PolicyReasonName(PolicyReason reason) {
  switch (reason) {
    case PolicyReason::kForced: return "forced";
    case PolicyReason::kTension: return "tension";
    case PolicyReason::kStickyTension: return "sticky_tension";
    case PolicyReason::kLatencyVariance: return "latency_variance";
    case PolicyReason::kDeepPlan: return "deep_plan";
    case PolicyReason::kWidePlan: return "wide_plan";
    case PolicyReason::kTemporalPattern: return "temporal_pattern";
    case PolicyReason::kSelector: return "selector";
    case PolicyReason::kDefault: return "default";
  }
  return "unknown";
}

PolicyDecision AttentionPolicy::Decide(const PolicySignals& s, const AttentionSelector* selector) {
  PolicyDecision d;
  if (forced_) {
    d.mechanism = *forced_;
    d.reason = PolicyReason::kForced;
    d.sticky_remaining = sticky_left_;
    return d;
  }
  if (s.tension > options_.tension_threshold) {
    sticky_left_ = options_.sticky_decisions;
    d.mechanism = AttentionMechanism::kMinCutGated;
    d.reason = PolicyReason::kTension;
    d.sticky_remaining = sticky_left_;
    return d;
  }
  if (sticky_left_ > 0) {
    --sticky_left_;
    d.mechanism = AttentionMechanism::kMinCutGated;
    d.reason = PolicyReason::kStickyTension;
    d.sticky_remaining = sticky_left_;
    return d;
  }
  if (s.latency_p50_ms > 0.0 && s.latency_p99_ms > options_.latency_ratio * s.latency_p50_ms) {
    d.mechanism = AttentionMechanism::kCriticalPath;
    d.reason = PolicyReason::kLatencyVariance;
  } else if (s.depth > options_.depth_threshold) {
    d.mechanism = AttentionMechanism::kHierarchicalLorentz;
    d.reason = PolicyReason::kDeepPlan;
  } else if (s.branch_count > options_.branch_threshold) {
    d.mechanism = AttentionMechanism::kParallelBranch;
    d.reason = PolicyReason::kWidePlan;
  } else if (s.temporal_pattern > options_.temporal_threshold) {
    d.mechanism = AttentionMechanism::kTemporalBtsp;
    d.reason = PolicyReason::kTemporalPattern;
  } else if (selector != nullptr && selector->total_pulls() > 0) {
    d.mechanism = selector->Best();
    d.reason = PolicyReason::kSelector;
  } else {
    d.mechanism = AttentionMechanism::kTopological;
    d.reason = PolicyReason::kDefault;
  }
  return d;
}

double LatencyQuantile(std::vector<double> samples, double q) {
  samples.erase(std::remove_if(samples.begin(), samples.end(),
                               [](double v) { return !attention_internal::Known(v); }),
                samples.end());
  if (samples.empty() || !(q >= 0.0)) return 0.0;
  q = std::min(q, 1.0);
  // Nearest rank: the smallest sample with at least q of the samples <= it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
  rank = std::clamp<size_t>(rank, 1, samples.size());
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank - 1), samples.end());
  return samples[rank - 1];
}

double TemporalPatternStrength(const std::vector<double>& latency_samples_ms) {
  std::vector<double> x;
  x.reserve(latency_samples_ms.size());
  for (double v : latency_samples_ms) {
    if (attention_internal::Known(v)) x.push_back(v);
  }
  const size_t m = x.size();
  if (m < 8) return 0.0;
  double max_x = 0.0;
  for (double v : x) max_x = std::max(max_x, v);
  if (!(max_x > 0.0)) return 0.0;
  double mean = 0.0;
  for (double& v : x) {
    v /= max_x;  // scale to [0, 1]: squares cannot overflow
    mean += v;
  }
  mean /= static_cast<double>(m);
  double var = 0.0;
  for (double& v : x) {
    v -= mean;
    var += v * v;
  }
  if (!(var > 1e-24)) return 0.0;  // constant: no pattern
  double best = 0.0;
  for (size_t lag = 1; lag <= m / 2; ++lag) {
    double acc = 0.0;
    for (size_t t = lag; t < m; ++t) acc += x[t] * x[t - lag];
    best = std::max(best, acc / var);
  }
  return std::clamp(best, 0.0, 1.0);
}

Result<PolicySignals> SignalsFromPlan(const PreparedDag& plan, const ExecutionFeedback* feedback,
                                      const MinCutEngine* mincut) {
  PolicySignals s;
  s.depth = plan.max_height();
  s.branch_count = plan.max_width();
  if (feedback != nullptr) {
    size_t usable = 0;
    for (double v : feedback->latency_samples_ms) usable += attention_internal::Known(v) ? 1 : 0;
    if (usable >= 2) {
      s.latency_p50_ms = LatencyQuantile(feedback->latency_samples_ms, 0.50);
      s.latency_p99_ms = LatencyQuantile(feedback->latency_samples_ms, 0.99);
    }
    s.temporal_pattern = TemporalPatternStrength(feedback->latency_samples_ms);
  }
  if (mincut != nullptr && plan.size() > 0) {
    Result<TensionReport> tension = mincut->ComputeTension(plan.dag());
    if (!tension.ok()) return tension.status().WithContext("policy signals");
    s.tension = tension->tension;
  }
  return s;
}

Result<AutoAttention> ComputeAttentionAuto(const QueryDag& dag, const AttentionParams& params,
                                           const PolicyOptions& options) {
  RUVECTOR_ASSIGN_OR_RETURN(PreparedDag plan, PreparedDag::Build(dag));
  const ExecutionFeedback feedback = FeedbackFromActuals(dag);
  const MinCutEngine engine;
  AutoAttention result;
  RUVECTOR_ASSIGN_OR_RETURN(result.signals, SignalsFromPlan(plan, &feedback, &engine));
  AttentionPolicy policy(options);
  result.decision = policy.Decide(result.signals);
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<Attention> attention,
                            MakeAttention(result.decision.mechanism, params));
  RUVECTOR_RETURN_IF_ERROR(attention->Compute(plan, &feedback, &result.scores));
  return result;
}

}  // namespace ruvector_dag
