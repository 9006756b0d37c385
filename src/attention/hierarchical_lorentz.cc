// HierarchicalLorentz: nodes are embedded in the Lorentz (hyperboloid) model
// of hyperbolic space -- radius from depth, angle from a top-down tree
// layout -- and weigh exp(-d(x, mu) / T) by their hyperbolic distance to the
// cost-weighted Lorentz centroid mu. docs/attention.md, "HierarchicalLorentz".
#include <algorithm>
#include <cmath>

#include "attention/internal/common.h"
#include "attention/internal/mechanisms.h"

namespace ruvector_dag::attention_internal {
namespace {

class HierarchicalLorentzAttention final : public Attention {
 public:
  explicit HierarchicalLorentzAttention(const AttentionParams& params) : Attention(params) {}
  AttentionMechanism mechanism() const override { return AttentionMechanism::kHierarchicalLorentz; }

  Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                 AttentionScores* out) const override {
    const auto& p = params_.hierarchical_lorentz;
    const size_t n = plan.size();
    const auto& topo = plan.topo_order();
    const auto& co = plan.child_offset();
    const auto& ci = plan.child_index();
    const auto& height = plan.height();

    // Tree layout: each node hangs under its smallest-index consumer; tree
    // subtree sizes accumulate bottom-up (inputs come first in topo order).
    Scratch& scratch = ThreadScratch();
    std::vector<uint32_t>& tree_parent = scratch.index[0];
    std::vector<double>& size = scratch.real[0];
    tree_parent.assign(n, UINT32_MAX);
    size.assign(n, 1.0);
    for (uint32_t i : topo) {
      uint32_t tp = UINT32_MAX;
      for (uint32_t e = co[i]; e < co[i + 1]; ++e) tp = std::min(tp, ci[e]);
      tree_parent[i] = tp;
      if (tp != UINT32_MAX) size[tp] += size[i];
    }
    // Angular intervals top-down: a node's interval is split among its tree
    // children in proportion to their subtree sizes; roots share the circle.
    std::vector<double>& start = scratch.real[1];
    std::vector<double>& width = scratch.real[2];
    std::vector<double>& cursor = scratch.real[3];
    start.assign(n, 0.0);
    width.assign(n, 0.0);
    cursor.assign(n, 0.0);
    double root_cursor = 0.0;
    constexpr double kTwoPi = 6.283185307179586476925;  // no <numbers>: emscripten 3.1.6
    const double total = static_cast<double>(n);
    for (size_t t = n; t-- > 0;) {
      const uint32_t i = topo[t];
      const uint32_t tp = tree_parent[i];
      if (tp == UINT32_MAX) {
        start[i] = root_cursor;
        width[i] = kTwoPi * size[i] / total;
        root_cursor += width[i];
      } else {
        start[i] = cursor[tp];
        width[i] = width[tp] * size[i] / std::max(1.0, size[tp] - 1.0);
        cursor[tp] += width[i];
      }
      cursor[i] = start[i];
    }

    // Radius per level, compressed so the deepest node stays within
    // max_radius (cosh(12)^2 ~ 7e9 keeps Lorentz products exact enough).
    const double rho = std::min(p.radius_per_level,
                                p.max_radius / std::max(1.0, static_cast<double>(plan.max_height())));
    std::vector<double>& cost = scratch.real[4];
    std::vector<double>& mass = scratch.real[5];
    ResolveCosts(plan, feedback, &cost, nullptr);
    MixedMass(cost, p.cost_mix, &mass);
    // x_i = (cosh r, sinh r cos theta, sinh r sin theta); mu~ = sum mass_i x_i.
    std::vector<double>& x0 = size;  // reuse buffers no longer needed
    std::vector<double>& x1 = cursor;
    std::vector<double>& x2 = width;
    // cosh/sinh per level (r <= 12: no overflow).
    std::vector<double>& ch = scratch.real[6];
    std::vector<double>& sh = scratch.real[7];
    ch.resize(static_cast<size_t>(plan.max_height()) + 1);
    sh.resize(ch.size());
    for (size_t h = 0; h < ch.size(); ++h) {
      const double er = std::exp(rho * static_cast<double>(h)), inv_er = 1.0 / er;
      ch[h] = 0.5 * (er + inv_er);
      sh[h] = 0.5 * (er - inv_er);
    }
    double m0 = 0.0, m1 = 0.0, m2 = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double theta = start[i] + 0.5 * width[i];
      const double s = sh[height[i]];
      x0[i] = ch[height[i]];
      x1[i] = s * std::cos(theta);
      x2[i] = s * std::sin(theta);
      m0 += mass[i] * x0[i];
      m1 += mass[i] * x1[i];
      m2 += mass[i] * x2[i];
    }
    // -<mu~, mu~>_L >= (sum mass)^2 = 1 for points on the upper sheet.
    const double norm = std::sqrt(std::max(1.0, m0 * m0 - m1 * m1 - m2 * m2));
    const double inv_norm = 1.0 / norm;
    std::vector<double>& scores = start;
    // d = arccosh(z) = ln(z + sqrt(z^2 - 1)), so exp(-d / T) = g^(-1/T) with
    // g = z + sqrt(z^2 - 1) in [1, ~1e7]: for T = 1 a division, otherwise in
    // log space (exp(x - max x)) so small temperatures cannot underflow.
    double max_g = 1.0;
    const bool unit_temperature = p.temperature == 1.0;
    const double inv_temp = 1.0 / p.temperature;
    for (size_t i = 0; i < n; ++i) {
      const double z = std::max(1.0, (m0 * x0[i] - m1 * x1[i] - m2 * x2[i]) * inv_norm);
      const double g = z + std::sqrt(std::max(0.0, z * z - 1.0));
      max_g = std::max(max_g, g);
      scores[i] = unit_temperature ? 1.0 / g : -std::log(g) * inv_temp;
    }
    if (!unit_temperature) ExpNormalize(&scores);
    const double max_dist = std::log(max_g);
    Finish(plan, params_, mechanism(), scores, out);
    AddMetric(out, "radius_per_level", rho);
    AddMetric(out, "temperature", p.temperature);
    AddMetric(out, "centroid_radius", std::acosh(std::max(1.0, m0 * inv_norm)));
    AddMetric(out, "max_distance", max_dist);
    AddMetric(out, "max_height", plan.max_height());
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attention> NewHierarchicalLorentz(const AttentionParams& params) {
  return std::make_unique<HierarchicalLorentzAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
