// HealingOrchestrator: detectors + strategies -> cycles of repairs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

struct HealingOrchestrator::Detector {
  DetectorId id = 0;
  std::string metric;
  Binding binding;
  std::optional<AnomalyDetector> anomaly;
  std::optional<DriftDetector> drift;
  double last_value = kNaN;
  double last_drift_t = kNaN;
  uint64_t repairs_attempted = 0, repairs_succeeded = 0, repairs_failed = 0;
};

struct HealingOrchestrator::PatternState {
  explicit PatternState(TensionTracker t) : tracker(std::move(t)) {}
  TensionTracker tracker;
  std::vector<CutNode> cut_nodes;
  double cut_value = 0.0;
  uint64_t touch = 0;
};

HealingOrchestrator::HealingOrchestrator(OrchestratorConfig config, RepairExecutor* executor, const Clock* clock)
    : config_(config),
      executor_(executor),
      clock_(clock != nullptr ? clock : SteadyClock::Default()),
      runner_(config.runner, clock_),
      index_checker_(config.index_health) {}

HealingOrchestrator::~HealingOrchestrator() = default;

Result<DetectorId> HealingOrchestrator::AddEntry(std::string_view metric, std::unique_ptr<Detector> detector) {
  if (metric.empty()) return Status::InvalidArgument("detector metric name is empty");
  if (by_name_.find(metric) != by_name_.end()) {
    return Status::AlreadyExists("a detector for metric '" + std::string(metric) + "' already exists");
  }
  const DetectorId id = static_cast<DetectorId>(detectors_.size());
  detector->id = id;
  detector->metric = std::string(metric);
  by_name_.emplace(detector->metric, id);
  detectors_.push_back(std::move(detector));
  return id;
}

Result<DetectorId> HealingOrchestrator::AddDetector(std::string_view metric, const AnomalyConfig& config,
                                                    Binding binding) {
  Result<AnomalyDetector> d = AnomalyDetector::Create(config, binding.kind);
  if (!d.ok()) return d.status().WithContext("detector '" + std::string(metric) + "'");
  auto entry = std::make_unique<Detector>();
  entry->binding = std::move(binding);
  entry->anomaly.emplace(std::move(d).value());
  return AddEntry(metric, std::move(entry));
}

Result<DetectorId> HealingOrchestrator::AddDriftDetector(std::string_view metric, const DriftConfig& config,
                                                         Binding binding) {
  Result<DriftDetector> d = DriftDetector::Create(config);
  if (!d.ok()) return d.status().WithContext("drift detector '" + std::string(metric) + "'");
  auto entry = std::make_unique<Detector>();
  entry->binding = std::move(binding);
  entry->drift.emplace(std::move(d).value());
  return AddEntry(metric, std::move(entry));
}

Result<DetectorId> HealingOrchestrator::AddDriftDetector(std::string_view metric, const DriftConfig& config) {
  Binding binding;
  binding.kind = IssueKind::kPatternDrift;
  return AddDriftDetector(metric, config, std::move(binding));
}

void HealingOrchestrator::AddStrategy(std::unique_ptr<RepairStrategy> strategy) {
  if (strategy != nullptr) strategies_.push_back(std::move(strategy));
}

void HealingOrchestrator::AddDefaultStrategies() {
  // Cheapest and reversible first; advisory last.
  AddStrategy(MakeRevertArmStrategy());
  AddStrategy(MakeAnalyzeTableStrategy());
  AddStrategy(MakeResetPatternStrategy());
  AddStrategy(MakeFlushAttentionCacheStrategy());
  AddStrategy(MakeReindexStrategy());
  AddStrategy(MakeRecommendIndexStrategy());
}

std::optional<DetectorId> HealingOrchestrator::FindDetector(std::string_view metric) const {
  auto it = by_name_.find(metric);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

void HealingOrchestrator::RecordAnomaly(Anomaly anomaly) {
  if (config_.max_pending_anomalies == 0) {
    ++dropped_anomalies_;
    return;
  }
  if (pending_anomalies_.size() >= config_.max_pending_anomalies) {
    pending_anomalies_.pop_front();
    ++dropped_anomalies_;
  }
  pending_anomalies_.push_back(std::move(anomaly));
}

Status HealingOrchestrator::Observe(std::string_view metric, double value) {
  auto it = by_name_.find(metric);
  if (it == by_name_.end()) return Status::NotFound("no detector for metric '" + std::string(metric) + "'");
  return Observe(it->second, value);
}

Status HealingOrchestrator::Observe(DetectorId id, double value) {
  if (id >= detectors_.size()) return Status::NotFound("no detector with id " + std::to_string(id));
  Detector& d = *detectors_[id];
  if (d.drift) {
    Status s = d.drift->Observe(value);
    if (!s.ok()) return s.WithContext("metric '" + d.metric + "'");
    d.last_value = value;
    return Status::Ok();
  }
  Result<std::optional<Anomaly>> r = d.anomaly->Observe(value);
  if (!r.ok()) return r.status().WithContext("metric '" + d.metric + "'");
  d.last_value = value;
  if (r->has_value()) {
    Anomaly a = std::move(**r);
    a.detector_id = id;
    a.metric = d.metric;
    RecordAnomaly(std::move(a));
  }
  return Status::Ok();
}

Status HealingOrchestrator::ObserveTension(PatternKey pattern, double tension) {
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) {
    if (config_.max_tracked_patterns == 0) return Status::ResourceExhausted("max_tracked_patterns is 0");
    Result<TensionTracker> t = TensionTracker::Create(config_.predictive);
    if (!t.ok()) return t.status();
    if (!std::isfinite(tension) || tension < 0.0 || tension > 1.0) {
      return Status::InvalidArgument("tension of pattern " + std::to_string(pattern) + " must lie in [0,1], got " +
                                     std::to_string(tension));
    }
    while (patterns_.size() >= config_.max_tracked_patterns) {  // evict the least recently observed
      auto oldest = pattern_lru_.begin();
      patterns_.erase(oldest->second);
      pattern_lru_.erase(oldest);
    }
    it = patterns_.emplace(pattern, std::make_unique<PatternState>(std::move(t).value())).first;
  } else {
    pattern_lru_.erase({it->second->touch, pattern});
  }
  PatternState& st = *it->second;
  st.touch = ++pattern_touch_;
  pattern_lru_.emplace(st.touch, pattern);
  Result<std::optional<TensionAlert>> alert = st.tracker.Observe(pattern, tension);
  if (!alert.ok()) return alert.status();
  if (alert->has_value()) {
    if (pending_alerts_.size() >= std::max<size_t>(config_.max_pending_anomalies, 1)) {
      pending_alerts_.erase(pending_alerts_.begin());
      ++dropped_anomalies_;
    }
    pending_alerts_.push_back(**alert);
  }
  return Status::Ok();
}

Status HealingOrchestrator::ObserveMincut(const MincutObservation& obs) {
  if (!std::isfinite(obs.cut_value) || obs.cut_value < 0.0) {
    return Status::InvalidArgument("mincut observation of pattern " + std::to_string(obs.pattern) +
                                   ": cut_value must be finite and >= 0");
  }
  RUVECTOR_RETURN_IF_ERROR(ObserveTension(obs.pattern, obs.tension));
  PatternState& st = *patterns_.find(obs.pattern)->second;  // just inserted or touched
  st.cut_nodes = obs.cut_nodes;
  st.cut_value = obs.cut_value;
  return Status::Ok();
}

Status HealingOrchestrator::ObserveIndex(const IndexStats& stats) {
  Result<IndexHealthReport> r = index_checker_.Check(stats);
  if (!r.ok()) return r.status();
  indexes_[stats.name] = stats;
  return Status::Ok();
}

std::optional<double> HealingOrchestrator::SmoothedTension(PatternKey pattern) const {
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) return std::nullopt;
  return it->second->tracker.smoothed();
}

std::vector<DetectorStats> HealingOrchestrator::DetectorStatistics() const {
  std::vector<DetectorStats> out;
  out.reserve(detectors_.size());
  for (const auto& dp : detectors_) {
    const Detector& d = *dp;
    DetectorStats s;
    s.id = d.id;
    s.metric = d.metric;
    s.kind = d.binding.kind;
    s.last_value = d.last_value;
    s.repairs_attempted = d.repairs_attempted;
    s.repairs_succeeded = d.repairs_succeeded;
    s.repairs_failed = d.repairs_failed;
    if (d.drift) {
      s.type = "drift";
      s.observations = d.drift->observations();
      s.anomalies = d.drift->drifts();
      s.last_score = d.last_drift_t;
      s.center = d.drift->RecentMean();
      s.reference = d.drift->ReferenceMean();
    } else {
      s.type = d.anomaly->config().robust ? "robust_zscore" : "zscore";
      s.observations = d.anomaly->observations();
      s.anomalies = d.anomaly->anomalies();
      s.last_score = d.anomaly->last_z();
      s.center = d.anomaly->Center();
      s.scale = d.anomaly->Scale();
    }
    out.push_back(std::move(s));
  }
  return out;
}

void HealingOrchestrator::AttemptRepair(const HealingIssue& issue, CycleReport& report, int64_t& budget_used) {
  if (executor_ == nullptr || report.repairs.size() >= config_.max_repairs_per_cycle) {
    ++report.unrepaired_issues;
    return;
  }
  const int64_t now = clock_->NowMicros();
  RepairStrategy* chosen = nullptr;
  std::string key;
  for (const auto& s : strategies_) {
    if (!s->CanRepair(issue, *executor_)) continue;
    std::string k = std::string(s->Name()) + "|" + s->Target(issue);
    auto cd = cooldown_until_.find(k);
    if (cd != cooldown_until_.end() && cd->second > now) continue;
    if (budget_used + s->EstimatedDurationMicros(issue) > config_.cycle_budget_micros) continue;
    chosen = s.get();
    key = std::move(k);
    break;
  }
  if (chosen == nullptr) {
    ++report.unrepaired_issues;
    return;
  }
  budget_used += chosen->EstimatedDurationMicros(issue);
  RepairRecord rec = runner_.Run(*chosen, issue, *executor_);
  rec.id = next_repair_id_++;
  rec.cycle = cycle_;
  const bool failed = IsFailure(rec.outcome);
  if (rec.outcome != RepairOutcome::kRejected) {
    cooldown_until_[key] =
        clock_->NowMicros() + (failed ? config_.failure_cooldown_micros : config_.success_cooldown_micros);
  }
  if (issue.source == IssueSource::kPredictive) {
    ++report.predictive_interventions;
  } else {
    ++report.reactive_repairs;
  }
  switch (rec.outcome) {
    case RepairOutcome::kSucceeded: ++report.succeeded; break;
    case RepairOutcome::kUnverified: ++report.unverified; break;
    case RepairOutcome::kRejected: ++report.rejected; break;
    default: ++report.failed; break;
  }
  if ((issue.source == IssueSource::kAnomaly || issue.source == IssueSource::kDrift) &&
      issue.detector_id < detectors_.size()) {
    Detector& d = *detectors_[issue.detector_id];
    ++d.repairs_attempted;
    if (rec.outcome == RepairOutcome::kSucceeded) ++d.repairs_succeeded;
    if (failed) ++d.repairs_failed;
  }
  report.repairs.push_back(rec);
  if (config_.max_history > 0) {
    while (history_.size() >= config_.max_history) history_.pop_front();
    history_.push_back(std::move(rec));
  }
}

Status HealingOrchestrator::ResolveRepair(uint64_t repair_id, RepairOutcome outcome, std::string detail) {
  if (outcome != RepairOutcome::kSucceeded && !IsFailure(outcome)) {
    return Status::InvalidArgument("a repair's verdict is succeeded, failed, no_improvement or timed_out, not " +
                                   std::string(RepairOutcomeName(outcome)));
  }
  auto it = std::find_if(history_.begin(), history_.end(), [&](const RepairRecord& r) { return r.id == repair_id; });
  if (it == history_.end()) return Status::NotFound("repair " + std::to_string(repair_id) + " is not in the history");
  if (it->outcome != RepairOutcome::kUnverified) {
    return Status::FailedPrecondition("repair " + std::to_string(repair_id) + " is " +
                                      std::string(RepairOutcomeName(it->outcome)) + ", not unverified");
  }
  it->outcome = outcome;
  if (!detail.empty()) it->detail = std::move(detail);
  if (auto id = FindDetector(it->metric)) {
    Detector& d = *detectors_[*id];
    if (outcome == RepairOutcome::kSucceeded) ++d.repairs_succeeded;
    if (IsFailure(outcome)) ++d.repairs_failed;
  }
  ComputeHealth(health_.detectors_flagged);
  return Status::Ok();
}

void HealingOrchestrator::ComputeHealth(size_t flagged) {
  HealthReport h;
  h.detectors = detectors_.size();
  h.detectors_flagged = flagged;
  h.anomaly_component = h.detectors == 0 ? 1.0 : 1.0 - static_cast<double>(flagged) / static_cast<double>(h.detectors);
  for (const RepairRecord& r : history_) {
    if (r.outcome == RepairOutcome::kSucceeded) ++h.repairs_succeeded;
    if (IsFailure(r.outcome)) ++h.repairs_failed;
  }
  h.repair_component = static_cast<double>(h.repairs_succeeded + 1) /
                       static_cast<double>(h.repairs_succeeded + h.repairs_failed + 1);
  h.indexes = index_status_.size();
  if (h.indexes > 0) {
    double sum = 0.0;
    for (const auto& [name, st] : index_status_) {
      sum += st == HealthStatus::kHealthy ? 1.0 : st == HealthStatus::kWarning ? 0.5 : 0.0;
    }
    h.index_component = sum / static_cast<double>(h.indexes);
  }
  h.patterns = patterns_.size();
  if (h.patterns > 0) {
    const double lo = config_.predictive.release_threshold, hi = config_.predictive.crisis_threshold;
    double penalty = 0.0;
    for (const auto& [key, st] : patterns_) {
      penalty += std::clamp((st->tracker.smoothed() - lo) / (hi - lo), 0.0, 1.0);
    }
    h.tension_component = 1.0 - penalty / static_cast<double>(h.patterns);
  }
  // A component with nothing to measure (no index observed, no pattern
  // tracked) stays out of the mean instead of counting as a perfect 1.
  const double wa = std::max(0.0, config_.weight_anomaly), wr = std::max(0.0, config_.weight_repair);
  const double wi = h.indexes > 0 ? std::max(0.0, config_.weight_index) : 0.0;
  const double wt = h.patterns > 0 ? std::max(0.0, config_.weight_tension) : 0.0;
  const double wsum = wa + wr + wi + wt;
  h.score = wsum > 0.0 ? (wa * h.anomaly_component + wr * h.repair_component + wi * h.index_component +
                          wt * h.tension_component) /
                             wsum
                       : 1.0;
  health_ = h;
}

Result<CycleReport> HealingOrchestrator::RunCycle() {
  ++cycle_;
  CycleReport report;
  report.cycle = cycle_;
  std::vector<HealingIssue> issues;
  std::vector<bool> flagged(detectors_.size(), false);

  // Predictive first: acting before the crisis is the point.
  report.alerts = std::move(pending_alerts_);
  pending_alerts_.clear();
  for (const TensionAlert& a : report.alerts) {
    HealingIssue issue;
    issue.source = IssueSource::kPredictive;
    issue.kind = IssueKind::kRisingTension;
    issue.metric = std::string(kTensionMetric);
    issue.direction = Direction::kLowerIsBetter;
    issue.pattern = a.pattern;
    issue.observed = a.tension;
    issue.expected = config_.predictive.act_threshold;
    issue.score = a.smoothed;
    auto it = patterns_.find(a.pattern);
    if (it != patterns_.end()) issue.cut_nodes = it->second->cut_nodes;
    issues.push_back(std::move(issue));
  }

  // Anomalies: one issue per detector, from its most extreme observation.
  report.anomalies.assign(std::make_move_iterator(pending_anomalies_.begin()),
                          std::make_move_iterator(pending_anomalies_.end()));
  pending_anomalies_.clear();
  report.anomalies_dropped = dropped_anomalies_;
  dropped_anomalies_ = 0;
  std::map<DetectorId, const Anomaly*> worst;
  for (const Anomaly& a : report.anomalies) {
    auto [it, inserted] = worst.emplace(a.detector_id, &a);
    const bool hard = a.reason == AnomalyReason::kHardLimit;
    const bool cur_hard = it->second->reason == AnomalyReason::kHardLimit;
    if (!inserted && ((hard && !cur_hard) || (hard == cur_hard && std::fabs(a.z_score) > std::fabs(it->second->z_score)))) {
      it->second = &a;
    }
  }
  for (const auto& [id, a] : worst) {
    if (id >= detectors_.size()) continue;
    const Detector& d = *detectors_[id];
    flagged[id] = true;
    HealingIssue issue;
    issue.source = IssueSource::kAnomaly;
    issue.kind = d.binding.kind;
    issue.metric = d.metric;
    // An upward excursion is repaired by bringing the value down, and the
    // reverse for a downward one.
    const bool upward = a->reason == AnomalyReason::kHardLimit
                            ? (!std::isnan(d.anomaly->config().hard_upper) && a->value > d.anomaly->config().hard_upper)
                            : a->z_score > 0.0;
    issue.direction = upward ? Direction::kLowerIsBetter : Direction::kHigherIsBetter;
    issue.pattern = d.binding.pattern;
    issue.relation = d.binding.relation;
    issue.index = d.binding.index;
    issue.observed = a->value;
    issue.expected = a->expected;
    issue.score = a->z_score;
    issue.detector_id = id;
    issues.push_back(std::move(issue));
  }

  // Drifts.
  for (auto& dp : detectors_) {
    Detector& d = *dp;
    if (!d.drift) continue;
    std::optional<Drift> drift = d.drift->Check();
    if (!drift) continue;
    drift->detector_id = d.id;
    drift->metric = d.metric;
    d.last_drift_t = drift->t_statistic;
    flagged[d.id] = true;
    HealingIssue issue;
    issue.source = IssueSource::kDrift;
    issue.kind = d.binding.kind;
    issue.metric = d.metric;
    issue.direction = drift->direction;
    issue.pattern = d.binding.pattern;
    issue.relation = d.binding.relation;
    issue.index = d.binding.index;
    issue.observed = drift->recent_mean;
    issue.expected = drift->reference_mean;
    issue.score = drift->t_statistic;
    issue.detector_id = d.id;
    issues.push_back(std::move(issue));
    report.drifts.push_back(std::move(*drift));
  }

  // Index health, in name order.
  for (const auto& [name, stats] : indexes_) {
    Result<IndexHealthReport> r = index_checker_.Check(stats);
    if (!r.ok()) return r.status().WithContext("cycle " + std::to_string(cycle_));
    index_status_[name] = r->status;
    if (r->status == HealthStatus::kHealthy) continue;
    if (r->status == HealthStatus::kCritical) {
      // The metric to validate a repair on: the first critical finding.
      const IndexFinding* f = nullptr;
      for (const IndexFinding& x : r->findings) {
        if (x.status == HealthStatus::kCritical) {
          f = &x;
          break;
        }
      }
      HealingIssue issue;
      issue.source = IssueSource::kIndexHealth;
      issue.kind = IssueKind::kIndexDegradation;
      issue.index = name;
      issue.relation = stats.relation;
      issue.index_recommendations = r->recommendations;
      issue.direction = Direction::kLowerIsBetter;
      if (f->check == "bloat_ratio") {
        issue.metric = std::string(kIndexBloatMetric);
      } else if (f->check == "leaf_fragmentation") {
        issue.metric = std::string(kIndexFragmentationMetric);
      } else if (f->check == "recall") {
        issue.metric = std::string(kIndexRecallMetric);
        issue.direction = Direction::kHigherIsBetter;
      } else {
        issue.metric = std::string(kIndexDeadRatioMetric);
      }
      issue.observed = f->measured;
      issue.expected = f->threshold;
      issue.score = f->measured;
      issues.push_back(std::move(issue));
    }
    report.unhealthy_indexes.push_back(std::move(r).value());
  }

  // Repairs, within the per-cycle limits.
  int64_t budget_used = 0;
  for (const HealingIssue& issue : issues) AttemptRepair(issue, report, budget_used);

  // Expired cooldowns.
  const int64_t now = clock_->NowMicros();
  for (auto it = cooldown_until_.begin(); it != cooldown_until_.end();) {
    it = it->second <= now ? cooldown_until_.erase(it) : std::next(it);
  }

  size_t n_flagged = 0;
  for (bool f : flagged) n_flagged += f ? 1 : 0;
  ComputeHealth(n_flagged);
  report.health_score = health_.score;
  return report;
}

}  // namespace healing
}  // namespace ruvector_dag
