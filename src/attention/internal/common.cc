#include "attention/internal/common.h"

#include <algorithm>
#include <cmath>

namespace ruvector_dag::attention_internal {

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

void ResolveCosts(const PreparedDag& plan, const ExecutionFeedback* feedback,
                  std::vector<double>* cost, size_t* observed) {
  const size_t n = plan.size();
  const std::vector<double>& est = plan.estimated_cost();
  cost->resize(n);
  double max_est = 0.0;
  for (size_t i = 0; i < n; ++i) max_est = std::max(max_est, est[i]);
  const double inv_est = max_est > 0.0 ? 1.0 / max_est : 0.0;

  // Observed self times, scaled by their maximum so sums stay finite.
  size_t known = 0;
  double max_obs = 0.0;
  const std::vector<NodeId>& ids = plan.ids();
  const bool have_times = feedback != nullptr && !feedback->node_time_ms.empty();
  if (have_times) {
    const std::vector<double>& t = feedback->node_time_ms;
    for (size_t i = 0; i < n; ++i) {
      const NodeId id = ids[i];
      if (id < t.size() && Known(t[id])) {
        ++known;
        max_obs = std::max(max_obs, t[id]);
      }
    }
  }
  if (observed != nullptr) *observed = known;

  if (known == 0) {
    for (size_t i = 0; i < n; ++i) (*cost)[i] = est[i] * inv_est;
  } else {
    const std::vector<double>& t = feedback->node_time_ms;
    const double inv_obs = max_obs > 0.0 ? 1.0 / max_obs : 0.0;
    // Calibrate estimates to observed units on the nodes that have both.
    double sum_obs = 0.0, sum_est = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const NodeId id = ids[i];
      if (id < t.size() && Known(t[id])) {
        sum_obs += t[id] * inv_obs;
        sum_est += est[i] * inv_est;
      }
    }
    const double mean_obs = sum_obs / static_cast<double>(known);
    const double ratio = sum_est > 0.0 ? sum_obs / sum_est : 0.0;
    for (size_t i = 0; i < n; ++i) {
      const NodeId id = ids[i];
      if (id < t.size() && Known(t[id])) {
        (*cost)[i] = t[id] * inv_obs;
      } else {
        (*cost)[i] = sum_est > 0.0 ? est[i] * inv_est * ratio : mean_obs;
      }
    }
  }
  double max_c = 0.0;
  for (double c : *cost) max_c = std::max(max_c, c);
  if (!(max_c > 0.0) || !std::isfinite(max_c)) {
    std::fill(cost->begin(), cost->end(), 1.0);  // no cost information: unit costs
    return;
  }
  const double inv = 1.0 / max_c;
  for (double& c : *cost) c = std::isfinite(c) && c > 0.0 ? std::min(1.0, c * inv) : 0.0;
}

void MixedMass(const std::vector<double>& cost, double mix, std::vector<double>* mass) {
  const size_t n = cost.size();
  mass->resize(n);
  double sum = 0.0;
  for (double c : cost) sum += c;
  const double uniform = 1.0 / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double share = sum > 0.0 ? cost[i] / sum : uniform;
    (*mass)[i] = (1.0 - mix) * uniform + mix * share;
  }
}

void ExpNormalize(std::vector<double>* log_scores) {
  double max_x = -HUGE_VAL;
  for (double x : *log_scores) {
    if (std::isfinite(x)) max_x = std::max(max_x, x);
  }
  if (!std::isfinite(max_x)) max_x = 0.0;
  for (double& x : *log_scores) x = std::isfinite(x) ? std::exp(x - max_x) : 0.0;
}

void LongestPaths(const PreparedDag& plan, const std::vector<double>& cost,
                  std::vector<double>* up, std::vector<double>* down) {
  const size_t n = plan.size();
  const auto& topo = plan.topo_order();
  const auto& po = plan.parent_offset();
  const auto& pi = plan.parent_index();
  const auto& co = plan.child_offset();
  const auto& ci = plan.child_index();
  if (up != nullptr) {
    up->resize(n);
    for (uint32_t i : topo) {
      double best = 0.0;
      for (uint32_t k = po[i]; k < po[i + 1]; ++k) best = std::max(best, (*up)[pi[k]]);
      (*up)[i] = best + cost[i];
    }
  }
  if (down != nullptr) {
    down->resize(n);
    for (size_t t = n; t-- > 0;) {
      const uint32_t i = topo[t];
      double best = 0.0;
      for (uint32_t k = co[i]; k < co[i + 1]; ++k) best = std::max(best, (*down)[ci[k]]);
      (*down)[i] = best + cost[i];
    }
  }
}

void Finish(const PreparedDag& plan, const AttentionParams& params, AttentionMechanism mechanism,
            const std::vector<double>& scores, AttentionScores* out) {
  const size_t n = plan.size();
  out->mechanism = mechanism;
  out->nodes.assign(plan.ids().begin(), plan.ids().end());
  out->weights.resize(n);
  out->metadata.clear();
  out->edge_weights.clear();
  double max_s = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double s = scores[i];
    if (std::isfinite(s) && s > max_s) max_s = s;
  }
  double sum = 0.0;
  if (max_s > 0.0) {
    const double inv = 1.0 / max_s;  // scale first: the sum cannot overflow
    for (size_t i = 0; i < n; ++i) {
      const double s = scores[i];
      const double v = std::isfinite(s) && s > 0.0 ? s * inv : 0.0;
      out->weights[i] = v;
      sum += v;
    }
  }
  if (!(sum > 0.0) || !std::isfinite(sum)) {
    std::fill(out->weights.begin(), out->weights.end(), 1.0 / static_cast<double>(n));
  } else {
    const double inv = 1.0 / sum;
    for (double& w : out->weights) w = std::min(1.0, w * inv);
  }
  if (!params.edge_weights || plan.edge_count() == 0) return;
  // Attention of each consumer over its inputs: input weights normalized per
  // consumer (uniform when all its inputs weigh 0).
  const auto& po = plan.parent_offset();
  const auto& pi = plan.parent_index();
  const auto& ids = plan.ids();
  out->edge_weights.reserve(plan.edge_count());
  for (size_t v = 0; v < n; ++v) {
    const uint32_t begin = po[v], end = po[v + 1];
    if (begin == end) continue;
    double total = 0.0;
    for (uint32_t k = begin; k < end; ++k) total += out->weights[pi[k]];
    const double k_inv = 1.0 / static_cast<double>(end - begin);
    for (uint32_t k = begin; k < end; ++k) {
      const double w = total > 0.0 ? std::min(1.0, out->weights[pi[k]] / total) : k_inv;
      out->edge_weights.push_back(EdgeWeight{ids[pi[k]], ids[v], w});
    }
  }
  std::sort(out->edge_weights.begin(), out->edge_weights.end(),
            [](const EdgeWeight& a, const EdgeWeight& b) {
              return a.from != b.from ? a.from < b.from : a.to < b.to;
            });
}

}  // namespace ruvector_dag::attention_internal
