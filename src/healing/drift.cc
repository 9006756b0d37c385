// Drift detection on learning metrics: reference vs recent window, Welch t.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxWindow = size_t{1} << 24;
}  // namespace

DriftDetector::DriftDetector(const DriftConfig& config) : config_(config) {
  ring_.assign(config_.reference_size + config_.recent_size, 0.0);
}

Result<DriftDetector> DriftDetector::Create(const DriftConfig& config) {
  if (config.reference_size < 2 || config.recent_size < 2 || config.reference_size > kMaxWindow ||
      config.recent_size > kMaxWindow) {
    return Status::InvalidArgument("drift config: reference_size and recent_size must be in [2, 2^24], got " +
                                   std::to_string(config.reference_size) + " and " +
                                   std::to_string(config.recent_size));
  }
  if (!(config.t_threshold > 0.0) || !std::isfinite(config.t_threshold)) {
    return Status::InvalidArgument("drift config: t_threshold must be a finite number > 0");
  }
  if (!(config.min_relative_change >= 0.0) || !std::isfinite(config.min_relative_change) ||
      !(config.abs_floor > 0.0) || !std::isfinite(config.abs_floor)) {
    return Status::InvalidArgument("drift config: min_relative_change must be >= 0 and abs_floor > 0 (finite)");
  }
  return DriftDetector(config);
}

void DriftDetector::Resum() {
  const size_t n = ring_.size();
  const size_t r = config_.recent_size;
  // Positions, oldest first: head_ when full, 0 otherwise.
  const size_t start = (count_ == n) ? head_ : 0;
  double mean = 0.0;
  for (size_t k = 0; k < count_; ++k) mean += ring_[(start + k) % n];
  mean /= static_cast<double>(count_);
  shift_ = mean;
  ref_sum_ = ref_sq_ = rec_sum_ = rec_sq_ = 0.0;
  const size_t ref_count = count_ > r ? count_ - r : 0;
  for (size_t k = 0; k < count_; ++k) {
    const double d = ring_[(start + k) % n] - shift_;
    if (k < ref_count) {
      ref_sum_ += d;
      ref_sq_ += d * d;
    } else {
      rec_sum_ += d;
      rec_sq_ += d * d;
    }
  }
  since_resum_ = 0;
}

Status DriftDetector::Observe(double value) {
  if (!std::isfinite(value)) return Status::InvalidArgument("drift detector: observed value is not finite");
  const size_t n = ring_.size();
  const size_t r = config_.recent_size;
  if (count_ == 0) shift_ = value;
  if (count_ == n) {  // the oldest value leaves the reference window
    const double d = ring_[head_] - shift_;
    ref_sum_ -= d;
    ref_sq_ -= d * d;
  }
  if (count_ >= r) {  // the oldest recent value moves to the reference window
    const double d = ring_[(head_ + n - r) % n] - shift_;
    rec_sum_ -= d;
    rec_sq_ -= d * d;
    ref_sum_ += d;
    ref_sq_ += d * d;
  }
  ring_[head_] = value;
  head_ = (head_ + 1 == n) ? 0 : head_ + 1;
  if (count_ < n) ++count_;
  const double d = value - shift_;
  rec_sum_ += d;
  rec_sq_ += d * d;
  ++observations_;
  if (++since_resum_ >= n) Resum();
  return Status::Ok();
}

double DriftDetector::ReferenceMean() const {
  const size_t r = config_.recent_size;
  if (count_ <= r) return kNaN;
  return shift_ + ref_sum_ / static_cast<double>(count_ - r);
}

double DriftDetector::RecentMean() const {
  const size_t r = std::min(count_, config_.recent_size);
  if (r == 0) return kNaN;
  return shift_ + rec_sum_ / static_cast<double>(r);
}

std::optional<Drift> DriftDetector::Peek() const {
  if (count_ < ring_.size()) return std::nullopt;
  const double nb = static_cast<double>(config_.reference_size);
  const double nr = static_cast<double>(config_.recent_size);
  const double mb = ref_sum_ / nb, mr = rec_sum_ / nr;  // shifted
  const double vb = std::max(0.0, (ref_sq_ - ref_sum_ * mb) / (nb - 1.0));
  const double vr = std::max(0.0, (rec_sq_ - rec_sum_ * mr) / (nr - 1.0));
  const double diff = mr - mb;
  const double se = std::sqrt(vb / nb + vr / nr);
  double t;
  if (se > 0.0) {
    t = diff / se;
  } else {
    t = diff == 0.0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
  }
  const double ref_mean = shift_ + mb, rec_mean = shift_ + mr;
  const double relative = diff / std::max(std::fabs(ref_mean), config_.abs_floor);
  const bool worse = config_.direction == Direction::kHigherIsBetter ? diff < 0.0 : diff > 0.0;
  if (!worse || std::fabs(t) < config_.t_threshold || std::fabs(relative) < config_.min_relative_change) {
    return std::nullopt;
  }
  Drift drift;
  drift.direction = config_.direction;
  drift.reference_mean = ref_mean;
  drift.recent_mean = rec_mean;
  drift.relative_change = relative;
  drift.t_statistic = t;
  drift.sequence = observations_;
  return drift;
}

std::optional<Drift> DriftDetector::Check() {
  std::optional<Drift> drift = Peek();
  if (drift) {
    // Re-baseline: the drifted level (or whatever a repair makes of it)
    // becomes the new reference once both windows have refilled.
    ++drifts_;
    head_ = 0;
    count_ = 0;
    ref_sum_ = ref_sq_ = rec_sum_ = rec_sq_ = 0.0;
    since_resum_ = 0;
  }
  return drift;
}

}  // namespace healing
}  // namespace ruvector_dag
