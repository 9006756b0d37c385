// C++ zone: the server's healing cycle (healing_host.h).
#include "worker/healing_host.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace ruvector_pg {

namespace hl = ruvector_dag::healing;
using ruvector_dag::Result;
using ruvector_dag::Status;

namespace {

hl::OrchestratorConfig ServerConfig() {
  hl::OrchestratorConfig c;
  c.max_repairs_per_cycle = 4;
  c.max_tracked_patterns = ServerHealing::kMaxMonitoredPatterns;
  c.max_history = 256;
  return c;
}

/// The server's answer to a served plan getting slower (a latency spike, a
/// lasting drift, rising tension) on a pattern with a deployed arm: not a
/// revert on the spot -- load that slows the arm slows the default too --
/// but a re-validation: the default plan is measured afresh in the
/// background, and the learner reverts the arm only if its runs since then
/// are slower than the default's (Learner::RequestRevalidation). Rollback
/// ends the re-validation.
class RevalidateArmStrategy final : public hl::RepairStrategy {
 public:
  explicit RevalidateArmStrategy(ServerHealing* host) : host_(host) {}
  std::string_view Name() const override { return "revalidate_arm"; }
  bool CanRepair(const hl::HealingIssue& issue, const hl::RepairExecutor& executor) const override {
    if (!issue.pattern) return false;
    const bool kind_ok = issue.source == hl::IssueSource::kDrift || issue.kind == hl::IssueKind::kLatencySpike ||
                         issue.kind == hl::IssueKind::kPatternDrift || issue.kind == hl::IssueKind::kRisingTension;
    return kind_ok && executor.HasNonDefaultArm(*issue.pattern) && !host_->Revalidating(*issue.pattern);
  }
  int64_t EstimatedDurationMicros(const hl::HealingIssue&) const override { return 1'000; }
  std::string Target(const hl::HealingIssue& issue) const override {
    return "pattern:" + std::to_string(issue.pattern.value_or(0));
  }
  Result<hl::AppliedRepair> Repair(const hl::HealingIssue& issue, hl::RepairExecutor& executor) override {
    RUVECTOR_RETURN_IF_ERROR(host_->Revalidate(*issue.pattern));
    return hl::AppliedRepair{"re-measure the default plan of pattern " + std::to_string(*issue.pattern) +
                                 " in the background; revert its arm only if slower than that",
                             ""};
  }
  bool CanRollback() const override { return true; }
  Status Rollback(const hl::HealingIssue& issue, const hl::AppliedRepair&, hl::RepairExecutor&) override {
    host_->CancelRevalidation(*issue.pattern);
    return Status::Ok();
  }

 private:
  ServerHealing* host_;
};

}  // namespace

ServerHealing::ServerHealing(Learner* learner) : learner_(learner) { Reset(); }

bool ServerHealing::Revalidating(uint64_t key) const { return learner_->Revalidating(key); }

Status ServerHealing::Revalidate(uint64_t key) {
  RUVECTOR_RETURN_IF_ERROR(learner_->RequestRevalidation(key, now_us_));
  touched_.push_back(key);
  return Status::Ok();
}

void ServerHealing::CancelRevalidation(uint64_t key) {
  learner_->CancelRevalidation(key);
  touched_.push_back(key);
}

void ServerHealing::Reset() {
  orchestrator_ = std::make_unique<hl::HealingOrchestrator>(ServerConfig(), this);
  orchestrator_->AddStrategy(std::make_unique<RevalidateArmStrategy>(this));
  patterns_.clear();
  reverted_.clear();
  touched_.clear();
  pending_.clear();
  (void)learner_->TakeRevalidationVerdicts();  // of the repairs forgotten here
}

Result<ServerHealing::Detectors*> ServerHealing::DetectorsFor(uint64_t key, uint64_t query_id) {
  auto it = patterns_.find(key);
  if (it != patterns_.end()) return &it->second;
  if (patterns_.size() >= kMaxMonitoredPatterns) return static_cast<Detectors*>(nullptr);
  const std::string k = std::to_string(key);
  Detectors d;
  d.query_id = query_id;
  // Latency spikes of the served plan: robust z over the last 100 runs, on
  // log latency (upper tail only: faster is never a problem).
  hl::AnomalyConfig spike;
  spike.z_threshold = 4.0;
  spike.window_size = 100;
  spike.min_samples = 20;
  spike.robust = true;
  spike.transform = hl::ValueTransform::kLog;
  spike.tail = hl::Tail::kUpper;
  spike.relative_min_scale = 0.05;
  hl::Binding latency_binding;
  latency_binding.kind = hl::IssueKind::kLatencySpike;
  latency_binding.pattern = key;
  RUVECTOR_ASSIGN_OR_RETURN(d.latency, orchestrator_->AddDetector("latency:" + k, spike, latency_binding));
  // A lasting move of the served latency: 25 recent runs against the 100
  // before them, 20 % worse with Welch t >= 4.
  hl::DriftConfig drift;
  drift.direction = hl::Direction::kLowerIsBetter;
  drift.reference_size = 100;
  drift.recent_size = 25;
  drift.t_threshold = 4.0;
  drift.min_relative_change = 0.2;
  hl::Binding drift_binding;
  drift_binding.kind = hl::IssueKind::kPatternDrift;
  drift_binding.pattern = key;
  RUVECTOR_ASSIGN_OR_RETURN(d.drift, orchestrator_->AddDriftDetector("latency_drift:" + k, drift, drift_binding));
  // Estimate-error jumps (statistics gone stale): z over the sampled runs.
  hl::AnomalyConfig estimate;
  estimate.z_threshold = 4.0;
  estimate.window_size = 50;
  estimate.min_samples = 10;
  estimate.tail = hl::Tail::kUpper;
  estimate.min_scale = 0.1;
  hl::Binding estimate_binding;
  estimate_binding.kind = hl::IssueKind::kEstimateDrift;
  estimate_binding.pattern = key;
  RUVECTOR_ASSIGN_OR_RETURN(d.estimate, orchestrator_->AddDetector("estimate_error:" + k, estimate, estimate_binding));
  return &patterns_.emplace(key, d).first->second;
}

Status ServerHealing::ObserveServed(uint64_t key, uint64_t query_id, double latency_ms) {
  if (key == 0 || !(latency_ms > 0.0) || !std::isfinite(latency_ms)) return Status::Ok();
  RUVECTOR_ASSIGN_OR_RETURN(Detectors * d, DetectorsFor(key, query_id));
  if (d == nullptr) return Status::Ok();
  // Below kLatencyFloorMs a hundredfold "spike" (2 us -> 0.2 ms) is noise
  // of no consequence: such runs count as the floor.
  latency_ms = std::max(latency_ms, kLatencyFloorMs);
  RUVECTOR_RETURN_IF_ERROR(orchestrator_->Observe(d->latency, latency_ms));
  return orchestrator_->Observe(d->drift, latency_ms);
}

Status ServerHealing::ObserveEstimateError(uint64_t key, uint64_t query_id, double log_error) {
  if (key == 0 || !std::isfinite(log_error)) return Status::Ok();
  RUVECTOR_ASSIGN_OR_RETURN(Detectors * d, DetectorsFor(key, query_id));
  if (d == nullptr) return Status::Ok();
  return orchestrator_->Observe(d->estimate, std::fabs(log_error));
}

Status ServerHealing::ObserveTension(uint64_t key, uint64_t query_id, double tension) {
  if (key == 0 || !std::isfinite(tension)) return Status::Ok();
  RUVECTOR_ASSIGN_OR_RETURN(Detectors * d, DetectorsFor(key, query_id));
  if (d == nullptr) return Status::Ok();
  return orchestrator_->ObserveTension(key, std::clamp(tension, 0.0, 1.0));
}

Result<uint64_t> ServerHealing::PatternOf(const std::string& metric) const {
  size_t colon = metric.rfind(':');
  if (colon == std::string::npos) return Status::NotFound("metric without a pattern: " + metric);
  return static_cast<uint64_t>(std::stoull(metric.substr(colon + 1)));
}

void ServerHealing::RecordVerdicts(HealingCycleOutput* out) {
  for (const Learner::RevalidationVerdict& v : learner_->TakeRevalidationVerdicts()) {
    auto it = pending_.find(v.key);
    if (it == pending_.end()) continue;  // not this object's repair (or forgotten by a reset)
    const uint64_t id = it->second;
    pending_.erase(it);
    char detail[160];
    hl::RepairOutcome outcome = hl::RepairOutcome::kSucceeded;
    if (v.kind == Learner::RevalidationVerdict::Kind::kExpired) {
      outcome = hl::RepairOutcome::kTimedOut;
      snprintf(detail, sizeof(detail), "no fresh default run within %lld s: arm %u stays, not re-validated",
               static_cast<long long>(Learner::kRevalidationTimeoutUs / 1000000), v.arm);
    } else {
      snprintf(detail, sizeof(detail), "arm %u %s: its runs %.3f ms, the fresh default's %.3f ms", v.arm,
               v.kind == Learner::RevalidationVerdict::Kind::kKept ? "kept" : "reverted", v.arm_ms, v.default_ms);
    }
    if (!orchestrator_->ResolveRepair(id, outcome, detail).ok()) continue;  // left the bounded history
    HealingRepairOut o;
    o.pattern_key = v.key;
    o.strategy = "revalidate_arm";
    o.action = "verdict of the re-validation";
    o.outcome = std::string(hl::RepairOutcomeName(outcome));
    o.rollback = std::string(hl::RollbackOutcomeName(hl::RollbackOutcome::kNotNeeded));
    o.detail = detail;
    out->repairs.push_back(std::move(o));
  }
  // Re-validations that ended without a verdict (cancelled, the arm
  // reverted by the bandit's monitor or a drift first, the pattern
  // evicted) stay unverified.
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = learner_->Revalidating(it->first) ? std::next(it) : pending_.erase(it);
  }
}

Status ServerHealing::RunCycle(int64_t now_us, HealingCycleOutput* out) {
  touched_.clear();
  now_us_ = now_us;
  RecordVerdicts(out);
  RUVECTOR_ASSIGN_OR_RETURN(hl::CycleReport report, orchestrator_->RunCycle());
  out->cycle = report.cycle;
  out->unrepaired = report.unrepaired_issues;
  out->health = orchestrator_->Health();
  out->monitored = patterns_.size();
  auto finding = [&](const std::string& metric, hl::IssueKind kind, const char* source, double value,
                     double expected, double score) {
    HealingFinding f;
    auto key = PatternOf(metric);
    f.pattern_key = key.ok() ? *key : 0;
    auto it = patterns_.find(f.pattern_key);
    f.query_id = it != patterns_.end() ? it->second.query_id : 0;
    f.kind = std::string(hl::IssueKindName(kind));
    f.source = source;
    f.metric = metric;
    f.value = value;
    f.expected = expected;
    f.score = score;
    out->findings.push_back(std::move(f));
  };
  for (const hl::Anomaly& a : report.anomalies) finding(a.metric, a.kind, "anomaly", a.value, a.expected, a.z_score);
  for (const hl::Drift& d : report.drifts) {
    finding(d.metric, hl::IssueKind::kPatternDrift, "drift", d.recent_mean, d.reference_mean, d.t_statistic);
  }
  for (const hl::RepairRecord& r : report.repairs) {
    HealingRepairOut o;
    auto key = PatternOf(r.metric);
    o.pattern_key = key.ok() ? *key : 0;
    o.strategy = r.strategy;
    o.action = r.action.empty() ? r.target : r.action;
    o.outcome = std::string(hl::RepairOutcomeName(r.outcome));
    o.rollback = std::string(hl::RollbackOutcomeName(r.rollback));
    o.detail = r.detail;
    o.duration_us = r.duration_micros;
    if (r.strategy == "revalidate_arm" && r.outcome == hl::RepairOutcome::kUnverified && o.pattern_key != 0) {
      pending_[o.pattern_key] = r.id;  // its verdict comes with later runs (RecordVerdicts)
    }
    out->repairs.push_back(std::move(o));
  }
  out->touched = touched_;
  return Status::Ok();
}

// --- RepairExecutor ------------------------------------------------------------------

Status ServerHealing::AnalyzeTable(std::string_view table) {
  return Status::Unimplemented("the background worker has no database connection; "
                               "ruvector.dag_auto_repair() analyzes stale tables in the caller's database");
}

bool ServerHealing::HasNonDefaultArm(hl::PatternKey pattern) const { return learner_->DeployedArm(pattern) != 0; }

Result<std::string> ServerHealing::RevertArm(hl::PatternKey pattern) {
  const uint32_t arm = learner_->DeployedArm(pattern);
  RUVECTOR_ASSIGN_OR_RETURN(std::string image, learner_->RevertPattern(pattern));
  reverted_[pattern] = std::move(image);
  touched_.push_back(pattern);
  return std::to_string(arm);
}

Status ServerHealing::DeployArm(hl::PatternKey pattern, std::string_view arm) {
  auto it = reverted_.find(pattern);
  if (it == reverted_.end()) return Status::NotFound("no reverted state kept for pattern " + std::to_string(pattern));
  RUVECTOR_RETURN_IF_ERROR(learner_->RestorePattern(pattern, it->second));
  if (std::to_string(learner_->DeployedArm(pattern)) != arm) {
    return Status::FailedPrecondition("the restored pattern does not deploy arm " + std::string(arm));
  }
  reverted_.erase(it);
  touched_.push_back(pattern);
  return Status::Ok();
}

Result<std::string> ServerHealing::ResetPattern(hl::PatternKey pattern) {
  RUVECTOR_ASSIGN_OR_RETURN(std::string image, learner_->ResetPattern(pattern));
  touched_.push_back(pattern);
  return image;
}

Status ServerHealing::RestorePattern(hl::PatternKey pattern, std::string_view snapshot) {
  RUVECTOR_RETURN_IF_ERROR(learner_->RestorePattern(pattern, snapshot));
  touched_.push_back(pattern);
  return Status::Ok();
}

Status ServerHealing::FlushAttentionCache() {
  return Status::Unimplemented("the server keeps no attention cache in the worker");
}

Status ServerHealing::Reindex(std::string_view index) {
  return Status::Unimplemented("REINDEX is not run by the background worker");
}

Result<uint64_t> ServerHealing::RecommendIndex(const hl::IndexRecommendationRequest& request) {
  return Status::Unimplemented("index recommendations come from ruvector.dag_suggest_optimizations()");
}

Status ServerHealing::WithdrawIndexRecommendation(uint64_t id) {
  return Status::Unimplemented("index recommendations come from ruvector.dag_suggest_optimizations()");
}

bool ServerHealing::HasIndexRecommendation(uint64_t id) const { return false; }

Result<double> ServerHealing::MeasureMetric(const hl::MetricQuery& query) {
  return Status::Unimplemented("a repair's effect on " + query.metric + " shows only in later executions");
}

}  // namespace ruvector_pg
