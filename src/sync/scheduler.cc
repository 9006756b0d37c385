// Bounded sync frequency: the seed's SyncConfig.
#include <algorithm>
#include <cmath>

#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {

Status ValidateSyncConfig(const SyncConfig& c) {
  if (c.min_sync_interval_us <= 0) return Status::InvalidArgument("sync config: min_sync_interval must be positive");
  if (c.max_sync_interval_us < c.min_sync_interval_us) {
    return Status::InvalidArgument("sync config: max_sync_interval must be >= min_sync_interval");
  }
  if (c.max_patterns_per_sync < 1 || c.max_patterns_per_sync > 10000) {
    return Status::InvalidArgument("sync config: max_patterns_per_sync must be in [1, 10000], got " +
                                   std::to_string(c.max_patterns_per_sync));
  }
  if (c.pattern_age_threshold_us < 0) return Status::InvalidArgument("sync config: pattern_age_threshold must be >= 0");
  if (Status s = ValidatePrivacyParams(c.privacy); !s.ok()) return s.WithContext("sync config");
  return Status::Ok();
}

Result<SyncScheduler> SyncScheduler::Create(const SyncConfig& config) {
  RUVECTOR_RETURN_IF_ERROR(ValidateSyncConfig(config));
  return SyncScheduler(config);
}

bool SyncScheduler::Due(int64_t now_us) const { return !synced_ || now_us >= NextSyncAt(); }

int64_t SyncScheduler::NextSyncAt() const { return synced_ ? last_sync_us_ + interval_us_ : 0; }

void SyncScheduler::OnSyncSucceeded(int64_t now_us) {
  synced_ = true;
  last_sync_us_ = now_us;
  interval_us_ = std::max(config_.min_sync_interval_us, interval_us_ / 2);
}

void SyncScheduler::OnPressure(int64_t now_us) {
  // A failed attempt counts as the last attempt, so the next one waits a
  // whole (grown) interval.
  synced_ = true;
  last_sync_us_ = now_us;
  if (config_.adaptive_backoff) {
    interval_us_ = interval_us_ > config_.max_sync_interval_us / 2 ? config_.max_sync_interval_us : interval_us_ * 2;
  }
}

std::vector<PatternObservation> SyncScheduler::SelectForSync(std::vector<PatternObservation> candidates,
                                                             int64_t now_us) const {
  std::vector<PatternObservation> mature;
  for (auto& c : candidates) {
    if (c.samples > 0 && std::isfinite(c.gain) && now_us - c.first_seen_us >= config_.pattern_age_threshold_us) {
      mature.push_back(std::move(c));
    }
  }
  auto score = [](const PatternObservation& o) { return o.gain * static_cast<double>(o.samples); };
  std::sort(mature.begin(), mature.end(), [&](const PatternObservation& a, const PatternObservation& b) {
    const double sa = score(a), sb = score(b);
    if (sa != sb) return sa > sb;
    if (a.fingerprint != b.fingerprint) return a.fingerprint < b.fingerprint;
    return a.arm < b.arm;
  });
  if (mature.size() > config_.max_patterns_per_sync) mature.resize(config_.max_patterns_per_sync);
  return mature;
}

}  // namespace ruvector_dag::sync
