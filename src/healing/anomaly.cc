// Streaming anomaly detection: mean/stddev and median/MAD over a ring buffer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Consistency constants for a normal distribution: sigma = 1.4826 * MAD,
// sigma = 1.2533 * mean absolute deviation.
constexpr double kMadToSigma = 1.482602218505602;
constexpr double kMeanAdToSigma = 1.2533141373155001;
constexpr size_t kMaxWindow = size_t{1} << 24;

// k-th smallest (0-based) of the absolute deviations |a[i] - m| of a sorted
// array, in O(log n): the deviations left of the split (a[i] < m, read from
// the split outwards) and right of it (a[i] >= m) are two sorted sequences,
// and the k-th smallest of two sorted sequences is found by binary search
// on how many elements come from the left one.
double KthAbsDeviation(const std::vector<double>& a, double m, size_t k) {
  const size_t n = a.size();
  const size_t split = static_cast<size_t>(std::lower_bound(a.begin(), a.end(), m) - a.begin());
  const size_t nl = split, nr = n - split;
  auto left = [&](size_t i) { return m - a[split - 1 - i]; };  // increasing in i
  auto right = [&](size_t j) { return a[split + j] - m; };     // increasing in j
  // Take i from left and j = k + 1 - i from right.
  size_t lo = (k + 1 > nr) ? k + 1 - nr : 0;
  size_t hi = std::min(k + 1, nl);
  while (lo <= hi) {
    const size_t i = lo + (hi - lo) / 2;
    const size_t j = k + 1 - i;
    if (i > 0 && j < nr && left(i - 1) > right(j)) {
      hi = i - 1;
    } else if (j > 0 && i < nl && right(j - 1) > left(i)) {
      lo = i + 1;
    } else {
      double best = -std::numeric_limits<double>::infinity();
      if (i > 0) best = std::max(best, left(i - 1));
      if (j > 0) best = std::max(best, right(j - 1));
      return best;
    }
  }
  return kNaN;  // unreachable for 0 <= k < n
}

double MedianOfSorted(const std::vector<double>& a) {
  const size_t n = a.size();
  if (n == 0) return kNaN;
  if (n % 2 == 1) return a[n / 2];
  return 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

}  // namespace

// --------------------------------------------------------------------------
// Clock

int64_t SteadyClock::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const SteadyClock* SteadyClock::Default() {
  static const SteadyClock* clock = new SteadyClock();
  return clock;
}

// --------------------------------------------------------------------------
// Names and helpers

std::string_view IssueKindName(IssueKind kind) {
  switch (kind) {
    case IssueKind::kLatencySpike: return "latency_spike";
    case IssueKind::kPatternDrift: return "pattern_drift";
    case IssueKind::kMemoryPressure: return "memory_pressure";
    case IssueKind::kCacheEvictionStorm: return "cache_eviction_storm";
    case IssueKind::kLearningStall: return "learning_stall";
    case IssueKind::kEstimateDrift: return "estimate_drift";
    case IssueKind::kIndexDegradation: return "index_degradation";
    case IssueKind::kRisingTension: return "rising_tension";
  }
  return "unknown";
}

Tail DefaultTail(IssueKind kind) {
  switch (kind) {
    case IssueKind::kLatencySpike:
    case IssueKind::kMemoryPressure:
    case IssueKind::kCacheEvictionStorm:
    case IssueKind::kRisingTension:
      return Tail::kUpper;
    case IssueKind::kLearningStall:
      return Tail::kLower;
    case IssueKind::kPatternDrift:
    case IssueKind::kEstimateDrift:
    case IssueKind::kIndexDegradation:
      return Tail::kBoth;
  }
  return Tail::kBoth;
}

double LogEstimateError(double actual_rows, double estimated_rows) {
  return std::log((std::max(actual_rows, 0.0) + 1.0) / (std::max(estimated_rows, 0.0) + 1.0));
}

// --------------------------------------------------------------------------
// AnomalyDetector

AnomalyDetector::AnomalyDetector(const AnomalyConfig& config, IssueKind kind)
    : config_(config), kind_(kind), tail_(config.tail.value_or(DefaultTail(kind))) {
  ring_.assign(config_.window_size, 0.0);
  if (config_.robust) sorted_.reserve(config_.window_size);
}

Result<AnomalyDetector> AnomalyDetector::Create(const AnomalyConfig& config, IssueKind kind) {
  if (!(config.z_threshold > 0.0) || !std::isfinite(config.z_threshold)) {
    return Status::InvalidArgument("anomaly config: z_threshold must be a finite number > 0, got " +
                                   std::to_string(config.z_threshold));
  }
  if (config.window_size < 2 || config.window_size > kMaxWindow) {
    return Status::InvalidArgument("anomaly config: window_size must be in [2, 2^24], got " +
                                   std::to_string(config.window_size));
  }
  if (config.min_samples < 2 || config.min_samples > config.window_size) {
    return Status::InvalidArgument("anomaly config: min_samples must be in [2, window_size=" +
                                   std::to_string(config.window_size) + "], got " +
                                   std::to_string(config.min_samples));
  }
  if (!std::isfinite(config.min_scale) || config.min_scale < 0.0 ||
      !std::isfinite(config.relative_min_scale) || config.relative_min_scale < 0.0) {
    return Status::InvalidArgument("anomaly config: min_scale and relative_min_scale must be finite and >= 0");
  }
  if (std::isinf(config.hard_upper) || std::isinf(config.hard_lower)) {
    return Status::InvalidArgument("anomaly config: hard limits must be finite or NaN (off)");
  }
  return AnomalyDetector(config, kind);
}

double AnomalyDetector::FlooredScale(double scale, double centre) const {
  double floor = std::max(config_.min_scale, config_.relative_min_scale * std::fabs(centre));
  if (!(scale > floor)) scale = floor;
  // A zero floor with a constant window: any difference is infinitely
  // unusual; keep the arithmetic finite.
  if (scale <= 0.0) scale = std::numeric_limits<double>::min();
  return scale;
}

double AnomalyDetector::RunningMean() const {
  if (count_ == 0) return kNaN;
  return shift_ + sum_ / static_cast<double>(count_);
}

double AnomalyDetector::RunningVariance() const {
  if (count_ < 2) return kNaN;
  const double n = static_cast<double>(count_);
  const double var = (sum_sq_ - sum_ * sum_ / n) / (n - 1.0);
  return var > 0.0 ? var : 0.0;
}

double AnomalyDetector::ExactMean() const {
  if (count_ == 0) return kNaN;
  double s = 0.0;
  for (size_t i = 0; i < count_; ++i) s += ring_[i];
  return s / static_cast<double>(count_);
}

double AnomalyDetector::ExactVariance() const {
  if (count_ < 2) return kNaN;
  const double m = ExactMean();
  double s = 0.0;
  for (size_t i = 0; i < count_; ++i) s += (ring_[i] - m) * (ring_[i] - m);
  return s / static_cast<double>(count_ - 1);
}

double AnomalyDetector::RobustCenter() const { return MedianOfSorted(sorted_); }

double AnomalyDetector::RobustScale() const {
  const size_t n = sorted_.size();
  if (n == 0) return kNaN;
  const double m = MedianOfSorted(sorted_);
  double mad;
  if (n % 2 == 1) {
    mad = KthAbsDeviation(sorted_, m, n / 2);
  } else {
    mad = 0.5 * (KthAbsDeviation(sorted_, m, n / 2 - 1) + KthAbsDeviation(sorted_, m, n / 2));
  }
  if (mad > 0.0) return kMadToSigma * mad;
  // More than half the window equals the median (quantized values): fall
  // back to the mean absolute deviation around the median, O(w), only here.
  double s = 0.0;
  for (double x : sorted_) s += std::fabs(x - m);
  return kMeanAdToSigma * s / static_cast<double>(n);
}

double AnomalyDetector::Center() const {
  if (count_ == 0) return kNaN;
  return config_.robust ? RobustCenter() : RunningMean();
}

double AnomalyDetector::Scale() const {
  if (count_ < 2) return kNaN;
  const double c = Center();
  const double raw = config_.robust ? RobustScale() : std::sqrt(RunningVariance());
  return FlooredScale(raw, c);
}

void AnomalyDetector::Resum() {
  // Re-centre the shift on the exact mean and re-add exactly: the running
  // sums then carry no accumulated rounding from earlier removals.
  shift_ = ExactMean();
  double s = 0.0, sq = 0.0;
  for (size_t i = 0; i < count_; ++i) {
    const double d = ring_[i] - shift_;
    s += d;
    sq += d * d;
  }
  sum_ = s;
  sum_sq_ = sq;
  since_resum_ = 0;
}

void AnomalyDetector::Push(double x) {
  const size_t w = ring_.size();
  if (count_ == 0) shift_ = x;
  if (count_ == w) {
    const double old = ring_[head_];
    const double d = old - shift_;
    sum_ -= d;
    sum_sq_ -= d * d;
    if (config_.robust) {
      auto it = std::lower_bound(sorted_.begin(), sorted_.end(), old);
      sorted_.erase(it);
    }
  } else {
    ++count_;
  }
  ring_[head_] = x;
  head_ = (head_ + 1 == w) ? 0 : head_ + 1;
  const double d = x - shift_;
  sum_ += d;
  sum_sq_ += d * d;
  if (config_.robust) sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), x), x);
  // Exact re-sum every window_size pushes (amortized O(1)), and early when
  // the level has moved far from the shift (cancellation risk).
  // The spread used here is floored like the detector's scale, so that a
  // constant stream (variance ~0, offset at rounding level) does not re-sum
  // on every push.
  const double n = static_cast<double>(count_);
  const double offset = sum_ / n;
  const double floor = FlooredScale(0.0, shift_);
  const double spread2 = std::max(sum_sq_ / n - offset * offset, floor * floor);
  if (++since_resum_ >= w || offset * offset > 1e6 * spread2) {
    Resum();
  }
}

Result<std::optional<Anomaly>> AnomalyDetector::Observe(double value) {
  if (!std::isfinite(value)) {
    return Status::InvalidArgument("anomaly detector (" + std::string(IssueKindName(kind_)) +
                                   "): observed value is not finite");
  }
  double x = value;
  if (config_.transform == ValueTransform::kLog) {
    if (!(value > 0.0)) {
      return Status::InvalidArgument("anomaly detector (" + std::string(IssueKindName(kind_)) +
                                     "): log transform needs a value > 0, got " + std::to_string(value));
    }
    x = std::log(value);
  }
  const uint64_t seq = observations_++;
  bool flagged = false;
  AnomalyReason reason = AnomalyReason::kZScore;
  double z = 0.0;
  double centre = kNaN;
  last_z_ = kNaN;
  if (count_ >= config_.min_samples) {
    centre = Center();
    const double scale = Scale();
    z = (x - centre) / scale;
    last_z_ = z;
    const double thr = config_.z_threshold;
    switch (tail_) {
      case Tail::kUpper: flagged = z > thr; break;
      case Tail::kLower: flagged = z < -thr; break;
      case Tail::kBoth: flagged = std::fabs(z) > thr; break;
    }
  }
  if (!flagged && ((!std::isnan(config_.hard_upper) && value > config_.hard_upper) ||
                   (!std::isnan(config_.hard_lower) && value < config_.hard_lower))) {
    flagged = true;
    reason = AnomalyReason::kHardLimit;
    if (std::isnan(centre) && count_ > 0) centre = Center();
  }
  Push(x);
  if (!flagged) return std::optional<Anomaly>();
  ++anomalies_;
  Anomaly a;
  a.kind = kind_;
  a.reason = reason;
  a.value = value;
  a.expected = std::isnan(centre) ? kNaN
               : (config_.transform == ValueTransform::kLog ? std::exp(centre) : centre);
  a.z_score = z;
  a.sequence = seq;
  return std::optional<Anomaly>(std::move(a));
}

}  // namespace healing
}  // namespace ruvector_dag
