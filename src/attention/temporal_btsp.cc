// TemporalBTSP: behavioural-timescale plasticity. Every operator signature
// keeps an eligibility trace (recent activity, decaying over seconds) and a
// potentiated weight that grows only when a plateau potential (a latency or
// time-share spike) meets a live eligibility trace. docs/attention.md,
// "TemporalBTSP".
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

struct Trace {
  double eligibility = 0.0;     // at time `stamp`
  double weight = 0.0;          // potentiated weight in [0, 1] at `stamp`
  double baseline_share = 0.0;  // EWMA of the node's activity share
  int64_t stamp = 0;            // microseconds of the last update
  bool has_baseline = false;
};

class TemporalBtspAttention final : public Attention {
 public:
  TemporalBtspAttention(const AttentionParams& params, const AttentionClock* clock)
      : Attention(params), clock_(clock) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kTemporalBtsp; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                 AttentionScores* out) const override {
    const auto& p = params_.temporal_btsp;
    const size_t n = plan.size();
    Scratch& scratch = ThreadScratch();
    std::vector<double>& cost = scratch.real[0];
    std::vector<double>& scores = scratch.real[1];
    ResolveCosts(plan, feedback, &cost, nullptr);
    MixedMass(cost, p.cost_mix, &scores);
    const int64_t now = clock_->NowMicros();
    size_t matched = 0;
    double eligibility_sum = 0.0, weight_sum = 0.0;
    if (!traces_.empty()) {
      for (size_t i = 0; i < n; ++i) {
        const auto it = traces_.find(Signature(plan, i));
        if (it == traces_.end()) continue;
        ++matched;
        double e = 0.0, w = 0.0;
        Decayed(it->second, now, &e, &w);
        eligibility_sum += e;
        weight_sum += w;
        scores[i] *= 1.0 + p.trace_gain * std::min(1.0, e) + p.weight_gain * w;
      }
    }
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "eligibility_tau_ms", p.eligibility_tau_ms);
    AddMetric(out, "traces", static_cast<double>(traces_.size()));
    AddMetric(out, "matched_nodes", static_cast<double>(matched));
    AddMetric(out, "mean_eligibility", matched > 0 ? eligibility_sum / static_cast<double>(matched) : 0.0);
    AddMetric(out, "mean_weight", matched > 0 ? weight_sum / static_cast<double>(matched) : 0.0);
    AddMetric(out, "updates", static_cast<double>(updates_));
    AddMetric(out, "plateaus", static_cast<double>(plateaus_));
    AddMetric(out, "global_plateaus", static_cast<double>(global_plateaus_));
    return Status::Ok();
  }

#if RUVECTOR_ATTENTION_LEARNING
  Status Update(const QueryDag& dag, const ExecutionFeedback& feedback) override {
    const auto& p = params_.temporal_btsp;
    RUVECTOR_ASSIGN_OR_RETURN(PreparedDag plan, PreparedDag::Build(dag));
    const size_t n = plan.size();
    // Activity: the node's share of the observed time, else of the cost.
    std::vector<double> activity;
    size_t observed = 0;
    ResolveCosts(plan, &feedback, &activity, &observed);
    double total = 0.0;
    for (double a : activity) total += a;
    for (double& a : activity) a = total > 0.0 ? a / total : 1.0 / static_cast<double>(n);

    // End-to-end latency: the last sample, else the sum of self times.
    double latency = -1.0;
    for (double s : feedback.latency_samples_ms) {
      if (Known(s)) latency = s;
    }
    if (latency < 0.0 && observed > 0) {
      double sum = 0.0;
      for (NodeId id = 0; id < feedback.node_time_ms.size(); ++id) {
        if (dag.Contains(id) && Known(feedback.node_time_ms[id])) sum += feedback.node_time_ms[id];
      }
      if (std::isfinite(sum)) latency = sum;
    }
    bool global_plateau = false;
    if (latency >= 0.0) {
      global_plateau = has_latency_baseline_ && latency > p.plateau_ratio * latency_baseline_;
      latency_baseline_ = has_latency_baseline_
                              ? latency_baseline_ + p.baseline_rate * (latency - latency_baseline_)
                              : latency;
      has_latency_baseline_ = true;
    }
    if (global_plateau) ++global_plateaus_;

    const int64_t now = clock_->NowMicros();
    const double fair = 1.0 / static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
      Trace& trace = traces_[Signature(plan, i)];
      double e = 0.0, w = 0.0;
      Decayed(trace, now, &e, &w);
      const double a = activity[i];
      e += a;
      // A local plateau: this operator's share jumps above its own baseline
      // (and above a fair share, so tiny operators do not fire on noise).
      const bool local_plateau = trace.has_baseline && a > fair &&
                                 a > p.plateau_ratio * trace.baseline_share;
      if (local_plateau || global_plateau) {
        w += p.learning_rate * std::min(1.0, e) * (1.0 - w);
        if (local_plateau) ++plateaus_;
      }
      trace.baseline_share = trace.has_baseline
                                 ? trace.baseline_share + p.baseline_rate * (a - trace.baseline_share)
                                 : a;
      trace.has_baseline = true;
      trace.eligibility = e;
      trace.weight = std::clamp(w, 0.0, 1.0);
      trace.stamp = now;
    }
    Evict();
    ++updates_;
    // Digest of everything learned so far (for StateHash / cache keys).
    digest_ = HashCombine(HashCombine(digest_, dag.ShapeHash()), static_cast<uint64_t>(now));
    for (double a : activity) digest_ = MixDouble(digest_, a);
    digest_ = MixDouble(digest_, latency);
    return Status::Ok();
  }

#else
  Status Update(const QueryDag& /*dag*/, const ExecutionFeedback& /*feedback*/) override {
    return LearningNotBuilt(mechanism());
  }
#endif

  void Reset() override {
    traces_.clear();
    updates_ = plateaus_ = global_plateaus_ = 0;
    digest_ = 0;
    latency_baseline_ = 0.0;
    has_latency_baseline_ = false;
  }

  uint64_t StateHash() const override {
    // Eligibility decays with time: results change as the clock moves, so
    // the clock (in steps of tau/8) is part of the state.
    const double step_us = std::max(1.0, params_.temporal_btsp.eligibility_tau_ms * 1000.0 / 8.0);
    const auto bucket = static_cast<uint64_t>(static_cast<double>(clock_->NowMicros()) / step_us);
    uint64_t h = HashAttentionParams(params_, mechanism());
    h = HashCombine(h, digest_);
    return HashCombine(h, traces_.empty() ? 0 : bucket);
  }

 private:
  // Operator signature: type, height (distance from the top), relation and
  // index, so a trace follows "the Seq Scan on orders two levels down"
  // across re-plans of the same query.
  static uint64_t Signature(const PreparedDag& plan, size_t i) {
    const OperatorNode& node = *plan.dag().node(plan.ids()[i]);
    uint64_t h = HashCombine(static_cast<uint64_t>(node.type) + 1, plan.height()[i]);
    if (!node.relation.empty()) h = HashCombine(h, Hash64(node.relation));
    if (!node.index.empty()) h = HashCombine(h, Hash64(node.index));
    return h;
  }

  void Decayed(const Trace& trace, int64_t now, double* e, double* w) const {
    const double dt_ms = std::max<int64_t>(0, now - trace.stamp) / 1000.0;
    *e = trace.eligibility * std::exp(-dt_ms / params_.temporal_btsp.eligibility_tau_ms);
    *w = trace.weight * std::exp(-dt_ms / params_.temporal_btsp.weight_tau_ms);
  }

#if RUVECTOR_ATTENTION_LEARNING
  // Drops the least recently updated traces beyond max_traces (ties: the
  // smaller signature, so the result is deterministic).
  void Evict() {
    const size_t cap = params_.temporal_btsp.max_traces;
    if (traces_.size() <= cap) return;
    std::vector<std::pair<int64_t, uint64_t>> order;
    order.reserve(traces_.size());
    for (const auto& [sig, trace] : traces_) order.emplace_back(trace.stamp, sig);
    std::sort(order.begin(), order.end());
    for (size_t k = 0; k + cap < order.size(); ++k) traces_.erase(order[k].second);
  }
#endif

  const AttentionClock* clock_;
  std::unordered_map<uint64_t, Trace> traces_;
  uint64_t updates_ = 0;
  uint64_t digest_ = 0;
  uint64_t plateaus_ = 0;
  uint64_t global_plateaus_ = 0;
  double latency_baseline_ = 0.0;
  bool has_latency_baseline_ = false;
};

}  // namespace

std::unique_ptr<Attention> NewTemporalBtsp(const AttentionParams& params, const AttentionClock* clock) {
  return std::make_unique<TemporalBtspAttention>(params, clock);
}

}  // namespace ruvector_dag::attention_internal
