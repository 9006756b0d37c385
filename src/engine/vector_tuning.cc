// Recall-constrained choice of a vector search setting (vector_tuning.h).
#include "ruvector_dag/vector_tuning.h"

#include <algorithm>
#include <cmath>

namespace ruvector_dag {
namespace {

/// One-sided 95 % normal quantile.
constexpr double kZ = 1.645;
constexpr const char* kNames[kVectorSettingCount] = {"ef_search=10", "ef_search=20",  "ef_search=40", "ef_search=80",
                                                     "ef_search=160", "ef_search=320", "exact"};
constexpr const char* kGucs[kVectorSettingCount] = {
    "ruvector.hnsw_ef_search=10\n",  "ruvector.hnsw_ef_search=20\n",  "ruvector.hnsw_ef_search=40\n",
    "ruvector.hnsw_ef_search=80\n",  "ruvector.hnsw_ef_search=160\n", "ruvector.hnsw_ef_search=320\n",
    "enable_indexscan=off\nenable_indexonlyscan=off\n"};

bool InPlay(const VectorSettingStats& s, const VectorTuningOptions& o) { return s.timeouts < o.max_timeouts; }
bool ReferenceInPlay(const VectorSettingStats& s, const VectorTuningOptions& o) {
  return s.timeouts < o.max_reference_timeouts;
}

}  // namespace

const char* VectorSettingName(int setting) {
  if (setting == -1) return "default";
  return setting >= 0 && setting < kVectorSettingCount ? kNames[setting] : "?";
}

const char* VectorSettingGucs(int setting) {
  return setting >= 0 && setting < kVectorSettingCount ? kGucs[setting] : "";
}

void AddRecallSample(VectorSettingStats* s, double hits, double k) {
  if (!(k >= 1.0) || !(hits >= 0.0) || hits > k || !std::isfinite(k)) return;
  const double r = hits / k;
  ++s->samples;
  s->hits += hits;
  s->trials += k;
  s->recall_sum += r;
  s->recall_sq += r * r;
}

void AddLatency(VectorSettingStats* s, double ms) {
  if (!(ms >= 0.0) || !std::isfinite(ms)) return;
  ++s->runs;
  s->log_ms_sum += std::log(std::max(ms, 1e-3));
}

double MeanRecall(const VectorSettingStats& s) {
  return s.samples == 0 ? 0.0 : s.recall_sum / static_cast<double>(s.samples);
}

double RecallLowerBound(const VectorSettingStats& s) {
  if (s.samples == 0) return 0.0;
  // The statement is the unit: the rows of one statement are not
  // independent trials (one query vector lands where the index finds its
  // neighbours or where it does not), so pooling rows would count one
  // lucky statement k times.
  const double n = static_cast<double>(s.samples);
  const double mean = s.recall_sum / n;
  // Wilson score bound on the per-statement recalls. A recall in [0, 1]
  // with mean p has a variance of at most p (1 - p) -- all-or-nothing
  // statements --, so this bound holds however the recall spreads between
  // statements; with every sample perfect it is n / (n + z^2).
  const double z2 = kZ * kZ;
  const double centre = mean + z2 / (2.0 * n);
  const double spread = kZ * std::sqrt(std::max(0.0, mean * (1.0 - mean)) / n + z2 / (4.0 * n * n));
  const double wilson = (centre - spread) / (1.0 + z2 / n);
  // Normal bound with the measured spread of the per-statement recalls.
  double per_sample = mean;
  if (s.samples > 1) {
    const double var = std::max(0.0, (s.recall_sq - n * mean * mean) / (n - 1.0));
    per_sample = mean - kZ * std::sqrt(var / n);
  }
  return std::clamp(std::min(wilson, per_sample), 0.0, 1.0);
}

uint32_t SamplesToProve(double target) {
  if (!(target > 0.0)) return 1;
  if (!(target < 1.0)) return UINT32_MAX;
  // n / (n + z^2) >= target  <=>  n >= z^2 target / (1 - target).
  return static_cast<uint32_t>(std::ceil(kZ * kZ * target / (1.0 - target)));
}

double MeanLatencyMs(const VectorSettingStats& s) {
  return s.runs == 0 ? 0.0 : std::exp(s.log_ms_sum / static_cast<double>(s.runs));
}

uint32_t RecallHits(const uint64_t* exact, size_t k, const uint64_t* got, size_t n) {
  // Each candidate row may match one exact row (a multiset intersection);
  // n is at most a LIMIT, so a quadratic scan without allocation is fine.
  constexpr size_t kMaxRows = 1024;
  bool used[kMaxRows] = {false};
  n = std::min(n, kMaxRows);
  uint32_t hits = 0;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (!used[j] && got[j] == exact[i]) {
        used[j] = true;
        ++hits;
        break;
      }
    }
  }
  return hits;
}

bool VectorSettingEligible(const VectorSettingStats* stats, int i, const VectorTuningOptions& o) {
  if (i < 0 || i >= kVectorSettingCount) return false;
  const VectorSettingStats& s = stats[i];
  if (i == kVectorExact) return ReferenceInPlay(s, o) && s.runs >= o.min_samples;
  if (!InPlay(s, o) || s.runs == 0) return false;
  return s.samples >= o.min_samples && RecallLowerBound(s) >= o.target;
}

VectorDecision DecideVectorSetting(const VectorSettingStats* stats, const VectorTuningOptions& o) {
  VectorDecision d;
  bool waiting = false;
  const VectorSettingStats& exact = stats[kVectorExact];
  // Without a reference (the exact search keeps timing out) no recall can
  // be measured: nothing is deployed.
  const bool reference = ReferenceInPlay(exact, o);
  for (int i = 0; i < kVectorEfCount && reference; ++i) {
    if (InPlay(stats[i], o) && stats[i].samples < o.min_samples) {
      d.measure_mask |= 1u << i;
      waiting = true;
    }
  }
  if (reference && exact.runs < o.min_samples) waiting = true;
  if (waiting) return d;
  d.settled = true;
  double best_ms = 0.0;
  for (int i = 0; i < kVectorSettingCount; ++i) {
    if (!VectorSettingEligible(stats, i, o)) continue;
    const double ms = MeanLatencyMs(stats[i]);
    if (d.deployed < 0 || ms < best_ms) {
      d.deployed = i;
      best_ms = ms;
    }
  }
  d.none_meets_target = d.deployed < 0;
  if (d.deployed >= 0 && d.deployed < kVectorEfCount) d.measure_mask = 1u << d.deployed;
  // Settings that may still prove the target: their mean recall reaches it
  // but their bound does not yet (too few statements), they would be faster
  // than what is deployed, and they have fewer than max_samples samples.
  // They keep being measured while the deployed setting (usually the exact
  // search) serves; more samples either prove them or pull their mean below
  // the target.
  for (int i = 0; i < kVectorEfCount && reference; ++i) {
    const VectorSettingStats& s = stats[i];
    if (i == d.deployed || !InPlay(s, o) || s.runs == 0 || s.samples >= o.max_samples) continue;
    if (VectorSettingEligible(stats, i, o) || MeanRecall(s) < o.target) continue;
    if (d.deployed >= 0 && !(MeanLatencyMs(s) < best_ms)) continue;
    d.measure_mask |= 1u << i;
    d.proving = true;
  }
  return d;
}

}  // namespace ruvector_dag
