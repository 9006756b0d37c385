// Predictive intervention: EWMA + sliding least-squares slope of tension.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {

std::string_view InterventionReasonName(InterventionReason reason) {
  switch (reason) {
    case InterventionReason::kRising: return "rising";
    case InterventionReason::kProjected: return "projected";
    case InterventionReason::kCrisis: return "crisis";
  }
  return "unknown";
}

TensionTracker::TensionTracker(const PredictiveConfig& config) : config_(config) {
  ring_.assign(config_.lookahead_window, 0.0);
}

Result<TensionTracker> TensionTracker::Create(const PredictiveConfig& c) {
  auto in01 = [](double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; };
  if (!in01(c.act_threshold) || !in01(c.crisis_threshold) || !in01(c.release_threshold)) {
    return Status::InvalidArgument("predictive config: thresholds must lie in [0,1]");
  }
  if (!(c.release_threshold < c.act_threshold && c.act_threshold < c.crisis_threshold)) {
    return Status::InvalidArgument(
        "predictive config: need release_threshold < act_threshold < crisis_threshold, got " +
        std::to_string(c.release_threshold) + ", " + std::to_string(c.act_threshold) + ", " +
        std::to_string(c.crisis_threshold));
  }
  if (!(c.ewma_alpha > 0.0 && c.ewma_alpha <= 1.0)) {
    return Status::InvalidArgument("predictive config: ewma_alpha must be in (0,1]");
  }
  if (c.lookahead_window < 3 || c.lookahead_window > (size_t{1} << 20)) {
    return Status::InvalidArgument("predictive config: lookahead_window must be in [3, 2^20], got " +
                                   std::to_string(c.lookahead_window));
  }
  if (!(c.min_rise > 0.0) || !std::isfinite(c.min_rise)) {
    return Status::InvalidArgument("predictive config: min_rise must be a finite number > 0");
  }
  if (!(c.min_slope_t >= 0.0) || std::isnan(c.min_slope_t)) {
    return Status::InvalidArgument("predictive config: min_slope_t must be >= 0");
  }
  if (c.min_samples < 2) return Status::InvalidArgument("predictive config: min_samples must be >= 2");
  return TensionTracker(c);
}

void TensionTracker::Resum() {
  const size_t n = ring_.size();
  const size_t start = (count_ == n) ? head_ : 0;
  sum_y_ = sum_iy_ = sum_yy_ = 0.0;
  for (size_t k = 0; k < count_; ++k) {
    const double y = ring_[(start + k) % n];
    sum_y_ += y;
    sum_iy_ += static_cast<double>(k) * y;
    sum_yy_ += y * y;
  }
  since_resum_ = 0;
}

double TensionTracker::slope() const {
  if (count_ < 2) return 0.0;
  const double n = static_cast<double>(count_);
  const double sxx = n * (n * n - 1.0) / 12.0;
  const double sxy = sum_iy_ - 0.5 * (n - 1.0) * sum_y_;
  return sxy / sxx;
}

double TensionTracker::slope_t() const {
  if (count_ < 3) return 0.0;
  const double n = static_cast<double>(count_);
  const double sxx = n * (n * n - 1.0) / 12.0;
  const double sxy = sum_iy_ - 0.5 * (n - 1.0) * sum_y_;
  const double syy = sum_yy_ - sum_y_ * sum_y_ / n;
  const double rss = std::max(0.0, syy - sxy * sxy / sxx);
  const double se = std::sqrt(rss / (n - 2.0) / sxx);
  if (se > 0.0) return (sxy / sxx) / se;
  return sxy > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

Result<std::optional<TensionAlert>> TensionTracker::Observe(PatternKey pattern, double tension) {
  if (!std::isfinite(tension) || tension < 0.0 || tension > 1.0) {
    return Status::InvalidArgument("tension of pattern " + std::to_string(pattern) +
                                   " must lie in [0,1], got " + std::to_string(tension));
  }
  const size_t w = ring_.size();
  if (count_ == w) {
    // Drop the oldest (index 0); every other index shifts down by one.
    sum_y_ -= ring_[head_];
    sum_yy_ -= ring_[head_] * ring_[head_];
    sum_iy_ -= sum_y_;
  } else {
    ++count_;
  }
  ring_[head_] = tension;
  head_ = (head_ + 1 == w) ? 0 : head_ + 1;
  sum_y_ += tension;
  sum_yy_ += tension * tension;
  sum_iy_ += static_cast<double>(count_ - 1) * tension;
  if (++since_resum_ >= w) Resum();

  ewma_ = observations_ == 0 ? tension : config_.ewma_alpha * tension + (1.0 - config_.ewma_alpha) * ewma_;
  const uint64_t seq = observations_++;
  if (observations_ < config_.min_samples) return std::optional<TensionAlert>();

  if (engaged_) {
    if (ewma_ < config_.release_threshold) engaged_ = false;
    return std::optional<TensionAlert>();
  }
  const double s = slope();
  const double horizon = static_cast<double>(w);
  const double projected = ewma_ + s * horizon;
  const double st = slope_t();
  // Trend rules need a full slope window: a slope fitted to a handful of
  // points is mostly noise.
  const bool rising = count_ == w && s * horizon >= config_.min_rise && st >= config_.min_slope_t;
  std::optional<InterventionReason> reason;
  if (ewma_ >= config_.crisis_threshold) {
    reason = InterventionReason::kCrisis;
  } else if (rising && ewma_ >= config_.act_threshold) {
    reason = InterventionReason::kRising;
  } else if (rising && ewma_ >= config_.release_threshold && projected >= config_.crisis_threshold) {
    reason = InterventionReason::kProjected;
  }
  if (!reason) return std::optional<TensionAlert>();
  engaged_ = true;
  TensionAlert alert;
  alert.pattern = pattern;
  alert.reason = *reason;
  alert.tension = tension;
  alert.smoothed = ewma_;
  alert.slope = s;
  alert.slope_t = st;
  alert.projected = projected;
  alert.sequence = seq;
  return std::optional<TensionAlert>(alert);
}

}  // namespace healing
}  // namespace ruvector_dag
