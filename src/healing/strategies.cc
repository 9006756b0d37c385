// Repair strategies and the runner that executes, validates and rolls back.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

std::string PatternTarget(const HealingIssue& issue) {
  return "pattern:" + std::to_string(issue.pattern.value_or(0));
}

MetricQuery QueryFor(const HealingIssue& issue) {
  MetricQuery q;
  q.metric = issue.metric;
  q.pattern = issue.pattern;
  q.relation = issue.relation;
  q.index = issue.index;
  return q;
}

// The cut node whose estimate is furthest off (ties: lowest id), among
// nodes that name a relation.
const CutNode* WorstEstimate(const std::vector<CutNode>& nodes) {
  const CutNode* best = nullptr;
  for (const CutNode& n : nodes) {
    if (n.relation.empty()) continue;
    if (best == nullptr || std::fabs(n.log_estimate_error) > std::fabs(best->log_estimate_error) ||
        (std::fabs(n.log_estimate_error) == std::fabs(best->log_estimate_error) && n.id < best->id)) {
      best = &n;
    }
  }
  return best;
}

// The sequential-scan cut node with the largest estimate error (ties: id).
const CutNode* SeqScanNode(const std::vector<CutNode>& nodes) {
  const CutNode* best = nullptr;
  for (const CutNode& n : nodes) {
    if (!n.seq_scan || n.relation.empty()) continue;
    if (best == nullptr || std::fabs(n.log_estimate_error) > std::fabs(best->log_estimate_error) ||
        (std::fabs(n.log_estimate_error) == std::fabs(best->log_estimate_error) && n.id < best->id)) {
      best = &n;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------

class AnalyzeTableStrategy final : public RepairStrategy {
 public:
  explicit AnalyzeTableStrategy(double min_log_error) : min_log_error_(min_log_error) {}
  std::string_view Name() const override { return "analyze_table"; }

  bool CanRepair(const HealingIssue& issue, const RepairExecutor&) const override {
    return !Relation(issue).empty();
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 2'000'000; }
  std::string Target(const HealingIssue& issue) const override { return "table:" + Relation(issue); }

  // Validated on |ln q-error| of the relation: ANALYZE helps when the
  // planner's estimate moves toward the actual rows, whichever side it was on.
  Result<double> Measure(const HealingIssue& issue, RepairExecutor& executor) const override {
    MetricQuery q;
    q.metric = issue.kind == IssueKind::kEstimateDrift && issue.source != IssueSource::kPredictive
                   ? issue.metric
                   : std::string(kEstimateErrorMetric);
    q.pattern = issue.pattern;
    q.relation = Relation(issue);
    RUVECTOR_ASSIGN_OR_RETURN(double v, executor.MeasureMetric(q));
    return std::fabs(v);
  }
  Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) override {
    const std::string rel = Relation(issue);
    RUVECTOR_RETURN_IF_ERROR(executor.AnalyzeTable(rel));
    return AppliedRepair{"ANALYZE " + rel, ""};
  }
  Validation Validate(const HealingIssue& issue, const AppliedRepair& applied, double before,
                      RepairExecutor& executor, double min_rel) const override {
    HealingIssue abs_issue = issue;
    abs_issue.direction = Direction::kLowerIsBetter;
    return RepairStrategy::Validate(abs_issue, applied, std::fabs(before), executor, min_rel);
  }
  bool CanRollback() const override { return false; }
  Status Rollback(const HealingIssue& issue, const AppliedRepair&, RepairExecutor&) override {
    return Status::Unimplemented("ANALYZE of '" + Relation(issue) + "' replaced the statistics; it cannot be undone");
  }

 private:
  std::string Relation(const HealingIssue& issue) const {
    if (issue.source == IssueSource::kPredictive) {
      const CutNode* n = WorstEstimate(issue.cut_nodes);
      if (n != nullptr && std::fabs(n->log_estimate_error) >= min_log_error_) return n->relation;
      return "";
    }
    if (issue.kind == IssueKind::kEstimateDrift) return issue.relation;
    return "";
  }
  double min_log_error_;
};

class RevertArmStrategy final : public RepairStrategy {
 public:
  std::string_view Name() const override { return "revert_arm"; }
  bool CanRepair(const HealingIssue& issue, const RepairExecutor& executor) const override {
    if (!issue.pattern) return false;
    const bool kind_ok = issue.source == IssueSource::kDrift || issue.kind == IssueKind::kLatencySpike ||
                         issue.kind == IssueKind::kPatternDrift || issue.kind == IssueKind::kRisingTension;
    return kind_ok && executor.HasNonDefaultArm(*issue.pattern);
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 1'000; }
  std::string Target(const HealingIssue& issue) const override { return PatternTarget(issue); }
  Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) override {
    RUVECTOR_ASSIGN_OR_RETURN(std::string previous, executor.RevertArm(*issue.pattern));
    return AppliedRepair{"revert pattern " + std::to_string(*issue.pattern) + " from arm '" + previous +
                             "' to the default arm",
                         previous};
  }
  bool CanRollback() const override { return true; }
  Status Rollback(const HealingIssue& issue, const AppliedRepair& applied, RepairExecutor& executor) override {
    return executor.DeployArm(*issue.pattern, applied.undo_token);
  }
};

class ResetPatternStrategy final : public RepairStrategy {
 public:
  std::string_view Name() const override { return "reset_pattern"; }
  bool CanRepair(const HealingIssue& issue, const RepairExecutor&) const override {
    return issue.pattern.has_value() &&
           (issue.source == IssueSource::kDrift || issue.kind == IssueKind::kPatternDrift ||
            issue.kind == IssueKind::kLearningStall);
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 1'000; }
  std::string Target(const HealingIssue& issue) const override { return PatternTarget(issue); }
  Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) override {
    RUVECTOR_ASSIGN_OR_RETURN(std::string snapshot, executor.ResetPattern(*issue.pattern));
    return AppliedRepair{"reset learned state of pattern " + std::to_string(*issue.pattern), std::move(snapshot)};
  }
  bool CanRollback() const override { return true; }
  Status Rollback(const HealingIssue& issue, const AppliedRepair& applied, RepairExecutor& executor) override {
    return executor.RestorePattern(*issue.pattern, applied.undo_token);
  }
};

class FlushAttentionCacheStrategy final : public RepairStrategy {
 public:
  std::string_view Name() const override { return "flush_attention_cache"; }
  bool CanRepair(const HealingIssue& issue, const RepairExecutor&) const override {
    return issue.kind == IssueKind::kCacheEvictionStorm || issue.kind == IssueKind::kMemoryPressure;
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 10'000; }
  std::string Target(const HealingIssue&) const override { return "attention_cache"; }
  Result<AppliedRepair> Repair(const HealingIssue&, RepairExecutor& executor) override {
    RUVECTOR_RETURN_IF_ERROR(executor.FlushAttentionCache());
    return AppliedRepair{"flush attention cache", ""};
  }
  bool CanRollback() const override { return false; }
  Status Rollback(const HealingIssue&, const AppliedRepair&, RepairExecutor&) override {
    return Status::Unimplemented("a flushed attention cache refills from plans; there is nothing to restore");
  }
};

class ReindexStrategy final : public RepairStrategy {
 public:
  std::string_view Name() const override { return "reindex"; }
  bool CanRepair(const HealingIssue& issue, const RepairExecutor&) const override {
    return issue.source == IssueSource::kIndexHealth && !issue.index.empty() &&
           std::find(issue.index_recommendations.begin(), issue.index_recommendations.end(),
                     IndexAction::kReindex) != issue.index_recommendations.end();
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 30'000'000; }
  std::string Target(const HealingIssue& issue) const override { return "index:" + issue.index; }
  Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) override {
    RUVECTOR_RETURN_IF_ERROR(executor.Reindex(issue.index));
    return AppliedRepair{"REINDEX " + issue.index, ""};
  }
  bool CanRollback() const override { return false; }
  Status Rollback(const HealingIssue& issue, const AppliedRepair&, RepairExecutor&) override {
    return Status::Unimplemented("REINDEX of '" + issue.index + "' rebuilt the index; the old one is gone");
  }
};

class RecommendIndexStrategy final : public RepairStrategy {
 public:
  std::string_view Name() const override { return "recommend_index"; }
  bool CanRepair(const HealingIssue& issue, const RepairExecutor&) const override {
    return issue.source == IssueSource::kPredictive && SeqScanNode(issue.cut_nodes) != nullptr;
  }
  int64_t EstimatedDurationMicros(const HealingIssue&) const override { return 1'000; }
  std::string Target(const HealingIssue& issue) const override {
    const CutNode* n = SeqScanNode(issue.cut_nodes);
    return "table:" + (n != nullptr ? n->relation : std::string());
  }
  Result<double> Measure(const HealingIssue&, RepairExecutor&) const override {
    return Status::Unimplemented("an index recommendation changes no metric until someone creates the index");
  }
  Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) override {
    const CutNode* n = SeqScanNode(issue.cut_nodes);
    if (n == nullptr) return Status::FailedPrecondition("no sequential scan in the cut to recommend an index for");
    IndexRecommendationRequest req;
    req.relation = n->relation;
    req.columns = n->filter_columns;
    req.predicate = n->predicate;
    req.pattern = issue.pattern;
    req.reason = "sequential scan of '" + n->relation + "' is in the minimum cut of pattern " +
                 std::to_string(issue.pattern.value_or(0)) + " (tension " + std::to_string(issue.score) + ")";
    RUVECTOR_ASSIGN_OR_RETURN(uint64_t id, executor.RecommendIndex(req));
    return AppliedRepair{"recommend an index on " + n->relation, std::to_string(id)};
  }
  // Advisory: success means the recommendation is recorded and readable.
  Validation Validate(const HealingIssue&, const AppliedRepair& applied, double, RepairExecutor& executor,
                      double) const override {
    Validation v;
    v.measured = true;
    v.improved = executor.HasIndexRecommendation(std::strtoull(applied.undo_token.c_str(), nullptr, 10));
    v.detail = v.improved ? "recommendation recorded" : "recommendation not found after recording it";
    return v;
  }
  bool CanRollback() const override { return true; }
  Status Rollback(const HealingIssue&, const AppliedRepair& applied, RepairExecutor& executor) override {
    return executor.WithdrawIndexRecommendation(std::strtoull(applied.undo_token.c_str(), nullptr, 10));
  }
};

}  // namespace

Result<std::vector<CutNode>> DescribeCutNodes(const QueryDag& dag, const std::vector<NodeId>& ids) {
  std::vector<CutNode> out;
  out.reserve(ids.size());
  for (NodeId id : ids) {
    const OperatorNode* node = dag.node(id);
    if (node == nullptr) return Status::NotFound("cut node " + std::to_string(id) + " is not in the DAG");
    CutNode c;
    c.id = id;
    c.relation = node->relation;
    c.seq_scan = node->type == OperatorType::kSeqScan;
    if (node->actual_rows.has_value()) c.log_estimate_error = LogEstimateError(*node->actual_rows, node->estimated_rows);
    c.predicate = node->predicate;
    out.push_back(std::move(c));
  }
  return out;
}

// ---------------------------------------------------------------------------

std::string_view IssueSourceName(IssueSource source) {
  switch (source) {
    case IssueSource::kAnomaly: return "anomaly";
    case IssueSource::kDrift: return "drift";
    case IssueSource::kIndexHealth: return "index_health";
    case IssueSource::kPredictive: return "predictive";
  }
  return "unknown";
}

std::string_view RepairOutcomeName(RepairOutcome outcome) {
  switch (outcome) {
    case RepairOutcome::kSucceeded: return "succeeded";
    case RepairOutcome::kFailed: return "failed";
    case RepairOutcome::kNoImprovement: return "no_improvement";
    case RepairOutcome::kTimedOut: return "timed_out";
    case RepairOutcome::kUnverified: return "unverified";
    case RepairOutcome::kRejected: return "rejected";
  }
  return "unknown";
}

bool IsFailure(RepairOutcome outcome) {
  return outcome == RepairOutcome::kFailed || outcome == RepairOutcome::kNoImprovement ||
         outcome == RepairOutcome::kTimedOut;
}

std::string_view RollbackOutcomeName(RollbackOutcome outcome) {
  switch (outcome) {
    case RollbackOutcome::kNotNeeded: return "not_needed";
    case RollbackOutcome::kRolledBack: return "rolled_back";
    case RollbackOutcome::kNotSupported: return "not_supported";
    case RollbackOutcome::kFailed: return "failed";
  }
  return "unknown";
}

Result<double> RepairStrategy::Measure(const HealingIssue& issue, RepairExecutor& executor) const {
  return executor.MeasureMetric(QueryFor(issue));
}

Validation RepairStrategy::Validate(const HealingIssue& issue, const AppliedRepair&, double before,
                                    RepairExecutor& executor, double min_relative_improvement) const {
  Validation v;
  v.before = before;
  Result<double> after = Measure(issue, executor);
  if (!after.ok()) {
    v.detail = "could not measure '" + issue.metric + "' after the repair: " + after.status().ToString();
    return v;
  }
  if (!std::isfinite(*after) || !std::isfinite(before)) {
    v.detail = "metric '" + issue.metric + "' is not finite before or after the repair";
    v.after = *after;
    return v;
  }
  v.measured = true;
  v.after = *after;
  const double margin = min_relative_improvement * std::fabs(before);
  if (issue.direction == Direction::kLowerIsBetter) {
    v.improved = *after < before && *after <= before - margin;
  } else {
    v.improved = *after > before && *after >= before + margin;
  }
  v.detail = "'" + issue.metric + "' " + std::to_string(before) + " -> " + std::to_string(*after) +
             (v.improved ? " (improved)" : " (no improvement)");
  return v;
}

std::unique_ptr<RepairStrategy> MakeAnalyzeTableStrategy(double min_log_error) {
  return std::make_unique<AnalyzeTableStrategy>(min_log_error);
}
std::unique_ptr<RepairStrategy> MakeRevertArmStrategy() { return std::make_unique<RevertArmStrategy>(); }
std::unique_ptr<RepairStrategy> MakeResetPatternStrategy() { return std::make_unique<ResetPatternStrategy>(); }
std::unique_ptr<RepairStrategy> MakeFlushAttentionCacheStrategy() {
  return std::make_unique<FlushAttentionCacheStrategy>();
}
std::unique_ptr<RepairStrategy> MakeReindexStrategy() { return std::make_unique<ReindexStrategy>(); }
std::unique_ptr<RepairStrategy> MakeRecommendIndexStrategy() {
  return std::make_unique<RecommendIndexStrategy>();
}

// ---------------------------------------------------------------------------
// RepairRunner

RepairRunner::RepairRunner(RepairRunnerConfig config, const Clock* clock)
    : config_(config), clock_(clock != nullptr ? clock : SteadyClock::Default()) {}

RepairRecord RepairRunner::Run(RepairStrategy& strategy, const HealingIssue& issue, RepairExecutor& executor) {
  RepairRecord rec;
  rec.strategy = std::string(strategy.Name());
  rec.target = strategy.Target(issue);
  rec.source = issue.source;
  rec.kind = issue.kind;
  rec.metric = issue.metric;
  rec.estimated_duration_micros = strategy.EstimatedDurationMicros(issue);
  rec.started_micros = clock_->NowMicros();

  // Admission: never more than max_concurrent repairs in flight.
  size_t current = in_flight_.load();
  do {
    if (current >= config_.max_concurrent) {
      rec.outcome = RepairOutcome::kRejected;
      rec.detail = "concurrency limit reached (" + std::to_string(config_.max_concurrent) + " repairs in flight)";
      return rec;
    }
  } while (!in_flight_.compare_exchange_weak(current, current + 1));
  struct Release {
    std::atomic<size_t>& n;
    ~Release() { n.fetch_sub(1); }
  } release{in_flight_};

  const double scaled = config_.timeout_multiple * static_cast<double>(rec.estimated_duration_micros);
  const int64_t timeout =
      scaled > static_cast<double>(config_.timeout_micros)
          ? (scaled < 9.0e18 ? static_cast<int64_t>(scaled) : std::numeric_limits<int64_t>::max() / 2)
          : config_.timeout_micros;
  const int64_t deadline = rec.started_micros + timeout;
  executor.BeginRepair(deadline);

  Result<double> before = strategy.Measure(issue, executor);
  double before_value = before.ok() ? *before : issue.observed;

  auto roll_back = [&](const AppliedRepair& applied) {
    if (!strategy.CanRollback()) {
      rec.rollback = RollbackOutcome::kNotSupported;
      return;
    }
    Status s = strategy.Rollback(issue, applied, executor);
    rec.rollback = s.ok() ? RollbackOutcome::kRolledBack : RollbackOutcome::kFailed;
    if (!s.ok()) rec.detail += "; rollback failed: " + s.ToString();
  };

  Result<AppliedRepair> applied = strategy.Repair(issue, executor);
  if (!applied.ok()) {
    // Executor actions are all-or-nothing: an error means nothing changed.
    rec.outcome = RepairOutcome::kFailed;
    rec.detail = applied.status().ToString();
  } else {
    rec.action = applied->action;
    if (clock_->NowMicros() > deadline) {
      rec.outcome = RepairOutcome::kTimedOut;
      rec.detail = "action exceeded the timeout of " + std::to_string(timeout) + " us";
      roll_back(*applied);
    } else {
      Validation v = strategy.Validate(issue, *applied, before_value, executor, config_.min_relative_improvement);
      rec.before = v.before;
      rec.after = v.after;
      rec.detail = v.detail;
      if (!before.ok() && v.measured) rec.detail += " (before = the observed value; re-measuring failed)";
      if (clock_->NowMicros() > deadline) {
        rec.outcome = RepairOutcome::kTimedOut;
        rec.detail = "action + validation exceeded the timeout of " + std::to_string(timeout) +
                     " us; " + rec.detail;
        roll_back(*applied);
      } else if (!v.measured) {
        rec.outcome = RepairOutcome::kUnverified;
      } else if (v.improved) {
        rec.outcome = RepairOutcome::kSucceeded;
      } else {
        rec.outcome = RepairOutcome::kNoImprovement;
        roll_back(*applied);
      }
    }
  }
  executor.EndRepair();
  rec.duration_micros = clock_->NowMicros() - rec.started_micros;
  return rec;
}

}  // namespace healing
}  // namespace ruvector_dag
