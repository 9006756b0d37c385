// CausalCone: a node's weight is the distance-discounted size of its
// downstream cone (itself plus everything it feeds). docs/attention.md,
// "CausalCone".
#include <algorithm>
#include <bit>
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
    const size_t words = (n + 63) / 64;
    // Targets are processed in column blocks so memory stays bounded
    // (2 * n * block_words words); the counts add up across blocks.
    constexpr size_t kMaxWords = size_t{1} << 20;
    const size_t block_words = std::clamp<size_t>(kMaxWords / n, 1, words);
    std::vector<uint64_t> reach(n * block_words), next(n * block_words);
    std::vector<uint32_t> count(n);
    std::vector<double> impact(n, 1.0);  // k = 0: the node itself
    const auto& co = plan.child_offset();
    const auto& ci = plan.child_index();
    uint32_t rounds = 0;
    for (size_t first_word = 0; first_word < words; first_word += block_words) {
      const size_t bw = std::min(block_words, words - first_word);
      const size_t lo = first_word * 64;
      const size_t hi = std::min(n, (first_word + bw) * 64);
      // reach[i]: the block's nodes within distance k downstream of i.
      std::fill(reach.begin(), reach.end(), 0);
      for (size_t i = 0; i < n; ++i) count[i] = (i >= lo && i < hi) ? 1 : 0;
      for (size_t i = lo; i < hi; ++i) {
        reach[i * bw + (i - lo) / 64] |= uint64_t{1} << ((i - lo) % 64);
      }
      double factor = 1.0;
      for (uint32_t k = 1; k <= horizon; ++k) {
        factor *= delta;
        bool grew = false;
        for (size_t i = 0; i < n; ++i) {
          uint64_t* dst = &next[i * bw];
          const uint64_t* own = &reach[i * bw];
          std::copy(own, own + bw, dst);
          for (uint32_t e = co[i]; e < co[i + 1]; ++e) {
            const uint64_t* src = &reach[static_cast<size_t>(ci[e]) * bw];
            for (size_t w = 0; w < bw; ++w) dst[w] |= src[w];
          }
          uint32_t c = 0;
          for (size_t w = 0; w < bw; ++w) c += static_cast<uint32_t>(std::popcount(dst[w]));
          if (c != count[i]) {
            impact[i] += factor * static_cast<double>(c - count[i]);
            count[i] = c;
            grew = true;
          }
        }
        reach.swap(next);
        rounds = std::max(rounds, k);
        if (!grew) break;
      }
    }
    Finish(plan, params_, mechanism(), impact, out);
    AddMetric(out, "discount", delta);
    AddMetric(out, "horizon", horizon);
    AddMetric(out, "rounds", rounds);
    AddMetric(out, "max_impact", *std::max_element(impact.begin(), impact.end()));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attention> NewCausalCone(const AttentionParams& params) {
  return std::make_unique<CausalConeAttention>(params);
}

}  // namespace ruvector_dag::attention_internal
