// CriticalPath: weight falls exponentially with a node's slack against the
// longest cost path; observed latency variance (p99 > 2 p50) sharpens it.
// docs/attention.md, "CriticalPath".
#include <algorithm>
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

class CriticalPathAttention final : public Attention {
 public:
  explicit CriticalPathAttention(const AttentionParams& params) : Attention(params) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kCriticalPath; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                 AttentionScores* out) const override {
    const size_t n = plan.size();
    Scratch& scratch = ThreadScratch();
    std::vector<double>& cost = scratch.real[0];
    std::vector<double>& up = scratch.real[1];
    std::vector<double>& down = scratch.real[2];
    size_t observed = 0;
    ResolveCosts(plan, feedback, &cost, &observed);
    LongestPaths(plan, cost, &up, &down);
    double length = 0.0;
    for (size_t i = 0; i < n; ++i) length = std::max(length, up[i] + down[i] - cost[i]);
    // length >= 1: ResolveCosts scales the largest cost to 1.
    const double beta = params_.critical_path.sharpness * sharpen_;
    const double inv_len = length > 0.0 ? 1.0 / length : 0.0;
    std::vector<double>& scores = up;  // reuse: up is not needed past here
    size_t on_path = 0;
    for (size_t i = 0; i < n; ++i) {
      const double through = up[i] + down[i] - cost[i];
      const double slack = std::clamp((length - through) * inv_len, 0.0, 1.0);
      if (slack <= 1e-12) ++on_path;
      scores[i] = -beta * slack;
    }
    ExpNormalize(&scores);
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "sharpness", params_.critical_path.sharpness);
    AddMetric(out, "sharpen_factor", sharpen_);
    AddMetric(out, "critical_length", length);
    AddMetric(out, "critical_nodes", static_cast<double>(on_path));
    AddMetric(out, "observed_nodes", static_cast<double>(observed));
    AddMetric(out, "latency_p50_ms", p50_);
    AddMetric(out, "latency_p99_ms", p99_);
    AddMetric(out, "latency_samples", static_cast<double>(samples_.size()));
    return Status::Ok();
  }

#if RUVECTOR_ATTENTION_LEARNING
  Status Update(const QueryDag& dag, const ExecutionFeedback& feedback) override {
    size_t added = 0;
    for (double s : feedback.latency_samples_ms) {
      if (!Known(s)) continue;
      Push(s);
      ++added;
    }
    if (added == 0) {
      // No end-to-end sample: the sum of the observed self times is one.
      double total = 0.0;
      size_t known = 0;
      for (NodeId id = 0; id < feedback.node_time_ms.size(); ++id) {
        if (dag.Contains(id) && Known(feedback.node_time_ms[id])) {
          total += feedback.node_time_ms[id];
          ++known;
        }
      }
      if (known > 0 && std::isfinite(total)) Push(total);
    }
    Recompute();
    return Status::Ok();
  }

#else
  Status Update(const QueryDag& /*dag*/, const ExecutionFeedback& /*feedback*/) override {
    return LearningNotBuilt(mechanism());
  }
#endif

  void Reset() override {
    samples_.clear();
    sharpen_ = 1.0;
    p50_ = p99_ = 0.0;
  }

  uint64_t StateHash() const override {
    return MixDouble(HashAttentionParams(params_, mechanism()), sharpen_);
  }

 private:
#if RUVECTOR_ATTENTION_LEARNING
  void Push(double sample) {
    samples_.push_back(sample);
    if (samples_.size() > params_.critical_path.latency_window) {
      samples_.erase(samples_.begin(), samples_.end() - params_.critical_path.latency_window);
    }
  }

  // Sharpening needs enough samples for a p99 to mean something.
  static constexpr size_t kMinSamples = 8;

  void Recompute() {
    std::vector<double> sorted(samples_.begin(), samples_.end());
    p50_ = LatencyQuantile(sorted, 0.50);
    p99_ = LatencyQuantile(std::move(sorted), 0.99);
    sharpen_ = 1.0;
    if (samples_.size() >= kMinSamples && p50_ > 0.0 && p99_ > 2.0 * p50_) {
      sharpen_ = std::min(p99_ / (2.0 * p50_), params_.critical_path.max_sharpen);
    } else if (samples_.size() >= kMinSamples && p50_ == 0.0 && p99_ > 0.0) {
      sharpen_ = params_.critical_path.max_sharpen;  // p99 > 2 * 0
    }
  }
#endif

  std::vector<double> samples_;  // oldest first; a window of at most 512 by default
  double sharpen_ = 1.0;
  double p50_ = 0.0;
  double p99_ = 0.0;
};

}  // namespace

std::unique_ptr<Attention> NewCriticalPath(const AttentionParams& params) {
  return std::make_unique<CriticalPathAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
