// The C++ zone of the server's healing cycle: a HealingOrchestrator
// (ruvector_dag::healing, docs/healing.md) run by the background worker,
// with per-pattern detectors fed from the trajectories the learner drains
// (latency spikes and latency drift of the plan users are served,
// estimate-error jumps from the sampled row counts), and one repair: a
// deployed arm whose served latency rose is re-validated against a fresh
// measurement of the default plan, and reverted by the learner only if it is
// slower under the same conditions (docs/healing.md). No
// PostgreSQL headers; run under RunCpp. ANALYZE of stale tables needs a
// database connection and is done by ruvector.dag_auto_repair() in the
// caller's session (sql_functions / healing_sql.cc).
#ifndef RUVECTOR_PG_HEALING_HOST_H_
#define RUVECTOR_PG_HEALING_HOST_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "worker/learner.h"
#include "ruvector_dag/healing.h"
#include "ruvector_dag/status.h"

namespace ruvector_pg {

/// One detected anomaly or drift, as published to shared memory.
struct HealingFinding {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  std::string kind;    // IssueKindName
  std::string source;  // "anomaly" | "drift"
  std::string metric;
  double value = 0.0;     // observed value / recent mean
  double expected = 0.0;  // window centre / reference mean
  double score = 0.0;     // z or Welch t
};

/// One repair attempt.
struct HealingRepairOut {
  uint64_t pattern_key = 0;
  std::string strategy;
  std::string action;
  std::string outcome;   // RepairOutcomeName
  std::string rollback;  // RollbackOutcomeName
  std::string detail;
  int64_t duration_us = 0;
};

/// What one cycle produced.
struct HealingCycleOutput {
  std::vector<HealingFinding> findings;
  std::vector<HealingRepairOut> repairs;
  /// Patterns whose learned decision a repair changed (to republish).
  std::vector<uint64_t> touched;
  ruvector_dag::healing::HealthReport health;
  uint64_t cycle = 0;
  size_t unrepaired = 0;
  size_t monitored = 0;  // patterns with detectors
};

/// Not thread-safe (the worker is single-threaded). Memory: at most
/// kMaxMonitoredPatterns patterns x three detectors.
class ServerHealing final : public ruvector_dag::healing::RepairExecutor {
 public:
  static constexpr size_t kMaxMonitoredPatterns = 256;
  /// Served latencies below this are observed as this value.
  static constexpr double kLatencyFloorMs = 1.0;

  /// `learner` must outlive this object.
  explicit ServerHealing(Learner* learner);

  /// A run of the plan users are served for `key` (the deployed arm, or
  /// the default when none is): feeds its latency-spike and drift detectors
  /// (runs under kLatencyFloorMs count as kLatencyFloorMs).
  /// Patterns beyond kMaxMonitoredPatterns are not monitored.
  ruvector_dag::Status ObserveServed(uint64_t key, uint64_t query_id, double latency_ms);
  /// The largest |ln((actual+1)/(estimated+1))| over the nodes of an
  /// execution with sampled row counts.
  ruvector_dag::Status ObserveEstimateError(uint64_t key, uint64_t query_id, double log_error);
  /// The tension (in [0, 1]) of `key`'s plans executed since the last pass
  /// (the engine's per-pattern tension, docs/engine.md): the predictive
  /// detector raises rising_tension, whose repair re-validates a deployed arm.
  ruvector_dag::Status ObserveTension(uint64_t key, uint64_t query_id, double tension);
  /// Runs one detection + repair cycle at `now_us` (Unix microseconds).
  ruvector_dag::Status RunCycle(int64_t now_us, HealingCycleOutput* out);
  /// The re-validation repair (learner.h, Learner::RequestRevalidation).
  ruvector_dag::Status Revalidate(uint64_t key);
  void CancelRevalidation(uint64_t key);
  bool Revalidating(uint64_t key) const;
  /// Forgets every detector (learning was reset).
  void Reset();
  size_t monitored() const { return patterns_.size(); }

  // RepairExecutor (repairs act on the learner; what needs a database
  // connection is refused with Unimplemented and never chosen: only the
  // re-validation strategy is registered).
  ruvector_dag::Status AnalyzeTable(std::string_view table) override;
  bool HasNonDefaultArm(ruvector_dag::healing::PatternKey pattern) const override;
  ruvector_dag::Result<std::string> RevertArm(ruvector_dag::healing::PatternKey pattern) override;
  ruvector_dag::Status DeployArm(ruvector_dag::healing::PatternKey pattern, std::string_view arm) override;
  ruvector_dag::Result<std::string> ResetPattern(ruvector_dag::healing::PatternKey pattern) override;
  ruvector_dag::Status RestorePattern(ruvector_dag::healing::PatternKey pattern, std::string_view snapshot) override;
  ruvector_dag::Status FlushAttentionCache() override;
  ruvector_dag::Status Reindex(std::string_view index) override;
  ruvector_dag::Result<uint64_t> RecommendIndex(
      const ruvector_dag::healing::IndexRecommendationRequest& request) override;
  ruvector_dag::Status WithdrawIndexRecommendation(uint64_t id) override;
  bool HasIndexRecommendation(uint64_t id) const override;
  /// A repair's effect on a pattern's latency shows only in later runs, so
  /// nothing can be read back at once: Unimplemented (a re-validation is
  /// recorded as unverified until the learner's verdict, RecordVerdicts).
  ruvector_dag::Result<double> MeasureMetric(const ruvector_dag::healing::MetricQuery& query) override;

 private:
  struct Detectors {
    ruvector_dag::healing::DetectorId latency = 0;
    ruvector_dag::healing::DetectorId drift = 0;
    ruvector_dag::healing::DetectorId estimate = 0;
    uint64_t query_id = 0;
  };
  ruvector_dag::Result<Detectors*> DetectorsFor(uint64_t key, uint64_t query_id);
  ruvector_dag::Result<uint64_t> PatternOf(const std::string& metric) const;

  /// Turns the learner's re-validation verdicts into the outcomes of the
  /// repairs that asked for them (kept or reverted on measured runs:
  /// succeeded; no fresh default in time: timed out), each also reported as
  /// a row of `out->repairs`.
  void RecordVerdicts(HealingCycleOutput* out);

  Learner* learner_;
  std::unique_ptr<ruvector_dag::healing::HealingOrchestrator> orchestrator_;
  std::unordered_map<uint64_t, Detectors> patterns_;
  /// Bandit images kept by RevertArm, for DeployArm (rollback).
  std::map<uint64_t, std::string> reverted_;
  std::vector<uint64_t> touched_;
  /// Re-validations waiting for their verdict: pattern -> repair id.
  std::unordered_map<uint64_t, uint64_t> pending_;
  int64_t now_us_ = 0;  // of the running cycle
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_HEALING_HOST_H_
