#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

class ManualClock final : public Clock {
 public:
  int64_t NowMicros() const override { return now; }
  int64_t now = 1'000'000;
};

std::string Key(std::string_view metric, std::optional<PatternKey> pattern, std::string_view relation,
                std::string_view index) {
  return std::string(metric) + "|" + (pattern ? std::to_string(*pattern) : "-") + "|" + std::string(relation) +
         "|" + std::string(index);
}

// Records every call; actions can be made to fail; actions change metrics
// through configured effects, as a real host's actions change what it
// measures afterwards.
class FakeExecutor final : public RepairExecutor {
 public:
  std::vector<std::string> calls;
  std::map<std::string, double> metrics;  // Key(...) -> current value
  std::map<std::string, Status> failures;  // action name -> error to return
  std::map<std::string, std::vector<std::pair<std::string, double>>> effects;  // action -> metric updates
  std::map<PatternKey, std::string> arms;      // absent = default arm
  std::map<PatternKey, std::string> learned;   // learned state per pattern
  std::map<uint64_t, IndexRecommendationRequest> recommendations;
  uint64_t next_recommendation = 1;
  ManualClock* clock = nullptr;
  int64_t action_micros = 0;             // clock advance per action
  std::function<void()> during_action;   // runs inside every action
  std::vector<int64_t> deadlines;

  void BeginRepair(int64_t deadline) override { deadlines.push_back(deadline); }

  Status AnalyzeTable(std::string_view table) override { return Act("analyze " + std::string(table)); }
  bool HasNonDefaultArm(PatternKey p) const override { return arms.count(p) > 0; }
  Result<std::string> RevertArm(PatternKey p) override {
    RUVECTOR_RETURN_IF_ERROR(Act("revert " + std::to_string(p)));
    auto it = arms.find(p);
    if (it == arms.end()) return Status::FailedPrecondition("pattern runs the default arm");
    std::string prev = it->second;
    arms.erase(it);
    return prev;
  }
  Status DeployArm(PatternKey p, std::string_view arm) override {
    RUVECTOR_RETURN_IF_ERROR(Act("deploy " + std::to_string(p) + " " + std::string(arm)));
    arms[p] = std::string(arm);
    return Status::Ok();
  }
  Result<std::string> ResetPattern(PatternKey p) override {
    RUVECTOR_RETURN_IF_ERROR(Act("reset " + std::to_string(p)));
    std::string snapshot = learned[p];
    learned[p] = "";
    return snapshot;
  }
  Status RestorePattern(PatternKey p, std::string_view snapshot) override {
    RUVECTOR_RETURN_IF_ERROR(Act("restore " + std::to_string(p)));
    learned[p] = std::string(snapshot);
    return Status::Ok();
  }
  Status FlushAttentionCache() override { return Act("flush"); }
  Status Reindex(std::string_view index) override { return Act("reindex " + std::string(index)); }
  Result<uint64_t> RecommendIndex(const IndexRecommendationRequest& req) override {
    RUVECTOR_RETURN_IF_ERROR(Act("recommend " + req.relation));
    recommendations[next_recommendation] = req;
    return next_recommendation++;
  }
  Status WithdrawIndexRecommendation(uint64_t id) override {
    RUVECTOR_RETURN_IF_ERROR(Act("withdraw " + std::to_string(id)));
    recommendations.erase(id);
    return Status::Ok();
  }
  bool HasIndexRecommendation(uint64_t id) const override { return recommendations.count(id) > 0; }
  Result<double> MeasureMetric(const MetricQuery& q) override {
    auto it = metrics.find(Key(q.metric, q.pattern, q.relation, q.index));
    if (it == metrics.end()) return Status::NotFound("fake executor cannot measure " + q.metric);
    return it->second;
  }

 private:
  Status Act(const std::string& name) {
    calls.push_back(name);
    if (clock != nullptr) clock->now += action_micros;
    if (during_action) during_action();
    auto f = failures.find(name);
    if (f != failures.end()) return f->second;
    for (const auto& [metric, value] : effects[name]) metrics[metric] = value;
    return Status::Ok();
  }
};

HealingIssue LatencyIssue(PatternKey p) {
  HealingIssue issue;
  issue.source = IssueSource::kAnomaly;
  issue.kind = IssueKind::kLatencySpike;
  issue.metric = "latency_ms";
  issue.direction = Direction::kLowerIsBetter;
  issue.pattern = p;
  issue.observed = 80;
  return issue;
}

// --- strategies through the runner ------------------------------------------

TEST(RepairRunnerTest, AnalyzeFixesStaleEstimates) {
  ManualClock clock;
  FakeExecutor ex;
  const std::string k = Key("orders.estimate_error", std::nullopt, "orders", "");
  ex.metrics[k] = -2.3;  // 10x overestimate
  ex.effects["analyze orders"] = {{k, 0.1}};
  HealingIssue issue;
  issue.kind = IssueKind::kEstimateDrift;
  issue.metric = "orders.estimate_error";
  issue.relation = "orders";
  issue.direction = Direction::kHigherIsBetter;  // upward excursion of a negative value: |x| still decides
  RepairRunner runner({}, &clock);
  auto s = MakeAnalyzeTableStrategy();
  ASSERT_TRUE(s->CanRepair(issue, ex));
  RepairRecord r = runner.Run(*s, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kSucceeded) << r.detail;
  EXPECT_EQ(ex.calls, std::vector<std::string>{"analyze orders"});
  EXPECT_DOUBLE_EQ(r.before, 2.3);
  EXPECT_DOUBLE_EQ(r.after, 0.1);
  EXPECT_EQ(r.rollback, RollbackOutcome::kNotNeeded);
  EXPECT_EQ(r.target, "table:orders");
  ASSERT_EQ(ex.deadlines.size(), 1u);
  EXPECT_EQ(ex.deadlines[0], 1'000'000 + runner.config().timeout_micros);
}

TEST(RepairRunnerTest, FailingActionIsReportedFailed) {
  FakeExecutor ex;
  ex.failures["analyze orders"] = Status::Internal("ANALYZE orders: permission denied");
  HealingIssue issue;
  issue.kind = IssueKind::kEstimateDrift;
  issue.metric = "est";
  issue.relation = "orders";
  RepairRunner runner({});
  auto s = MakeAnalyzeTableStrategy();
  RepairRecord r = runner.Run(*s, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kFailed);
  EXPECT_TRUE(IsFailure(r.outcome));
  EXPECT_NE(r.detail.find("permission denied"), std::string::npos);
  EXPECT_EQ(r.rollback, RollbackOutcome::kNotNeeded);  // actions are all-or-nothing
}

TEST(RepairRunnerTest, RevertWithoutImprovementIsRolledBack) {
  FakeExecutor ex;
  ex.arms[7] = "no_nestloop";
  const std::string k = Key("latency_ms", 7, "", "");
  ex.metrics[k] = 80;
  ex.effects["revert 7"] = {{k, 79}};  // < 5 % better: not an improvement
  RepairRunner runner({});
  auto s = MakeRevertArmStrategy();
  ASSERT_TRUE(s->CanRepair(LatencyIssue(7), ex));
  RepairRecord r = runner.Run(*s, LatencyIssue(7), ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kNoImprovement) << r.detail;
  EXPECT_EQ(r.rollback, RollbackOutcome::kRolledBack);
  EXPECT_EQ(ex.calls, (std::vector<std::string>{"revert 7", "deploy 7 no_nestloop"}));
  EXPECT_EQ(ex.arms[7], "no_nestloop");
  EXPECT_FALSE(s->CanRepair(LatencyIssue(8), ex));  // pattern 8 runs the default arm
}

TEST(RepairRunnerTest, RevertThatHelpsSucceeds) {
  FakeExecutor ex;
  ex.arms[7] = "hash_only";
  const std::string k = Key("latency_ms", 7, "", "");
  ex.metrics[k] = 80;
  ex.effects["revert 7"] = {{k, 20}};
  RepairRunner runner({});
  auto s = MakeRevertArmStrategy();
  RepairRecord r = runner.Run(*s, LatencyIssue(7), ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kSucceeded);
  EXPECT_FALSE(ex.arms.count(7));
}

TEST(RepairRunnerTest, ResetPatternRestoresSnapshotOnNoImprovement) {
  FakeExecutor ex;
  ex.learned[3] = "weights-v12";
  const std::string k = Key("pred_error", 3, "", "");
  ex.metrics[k] = 0.5;  // unchanged by the reset
  HealingIssue issue;
  issue.source = IssueSource::kDrift;
  issue.kind = IssueKind::kPatternDrift;
  issue.metric = "pred_error";
  issue.pattern = 3;
  RepairRunner runner({});
  auto s = MakeResetPatternStrategy();
  RepairRecord r = runner.Run(*s, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kNoImprovement);
  EXPECT_EQ(r.rollback, RollbackOutcome::kRolledBack);
  EXPECT_EQ(ex.learned[3], "weights-v12");
}

TEST(RepairRunnerTest, IrreversibleRepairWithoutImprovementSaysSo) {
  FakeExecutor ex;
  const std::string k = Key("attention_cache_evictions", std::nullopt, "", "");
  ex.metrics[k] = 1000;
  HealingIssue issue;
  issue.kind = IssueKind::kCacheEvictionStorm;
  issue.metric = "attention_cache_evictions";
  RepairRunner runner({});
  auto s = MakeFlushAttentionCacheStrategy();
  RepairRecord r = runner.Run(*s, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kNoImprovement);
  EXPECT_EQ(r.rollback, RollbackOutcome::kNotSupported);
}

TEST(RepairRunnerTest, UnmeasurableMetricIsUnverifiedNotSucceeded) {
  FakeExecutor ex;
  ex.arms[7] = "x";
  RepairRunner runner({});
  auto s = MakeRevertArmStrategy();
  RepairRecord r = runner.Run(*s, LatencyIssue(7), ex);  // no metric registered
  EXPECT_EQ(r.outcome, RepairOutcome::kUnverified);
  EXPECT_FALSE(IsFailure(r.outcome));
}

TEST(RepairRunnerTest, TimeoutFailsAndRollsBack) {
  ManualClock clock;
  FakeExecutor ex;
  ex.clock = &clock;
  ex.action_micros = 5'000'000;
  ex.arms[7] = "no_seqscan";
  const std::string k = Key("latency_ms", 7, "", "");
  ex.metrics[k] = 80;
  ex.effects["revert 7"] = {{k, 10}};  // it would have helped, but too late
  RepairRunner runner({.timeout_micros = 1'000'000}, &clock);
  auto s = MakeRevertArmStrategy();
  RepairRecord r = runner.Run(*s, LatencyIssue(7), ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kTimedOut);
  EXPECT_EQ(r.rollback, RollbackOutcome::kRolledBack);
  EXPECT_EQ(ex.arms[7], "no_seqscan");
  EXPECT_GE(r.duration_micros, 5'000'000);
}

TEST(RepairRunnerTest, TimeoutScalesWithEstimatedDuration) {
  // REINDEX is estimated at 30 s: with timeout 1 s and multiple 4 it gets
  // 120 s, so a 60 s rebuild is on time; an arm revert (estimated 1 ms)
  // taking 60 s is not.
  ManualClock clock;
  FakeExecutor ex;
  ex.clock = &clock;
  ex.action_micros = 60'000'000;
  const std::string bloat = Key(kIndexBloatMetric, std::nullopt, "", "big_idx");
  ex.metrics[bloat] = 0.7;
  ex.effects["reindex big_idx"] = {{bloat, 0.05}};
  RepairRunner runner({.timeout_micros = 1'000'000, .timeout_multiple = 4.0}, &clock);
  HealingIssue issue;
  issue.source = IssueSource::kIndexHealth;
  issue.kind = IssueKind::kIndexDegradation;
  issue.metric = std::string(kIndexBloatMetric);
  issue.index = "big_idx";
  issue.index_recommendations = {IndexAction::kReindex};
  auto reindex = MakeReindexStrategy();
  RepairRecord r = runner.Run(*reindex, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kSucceeded) << r.detail;
  EXPECT_EQ(ex.deadlines.back(), r.started_micros + 120'000'000);
  ex.arms[7] = "a";
  auto revert = MakeRevertArmStrategy();
  r = runner.Run(*revert, LatencyIssue(7), ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kTimedOut);
  EXPECT_EQ(r.rollback, RollbackOutcome::kRolledBack);
}

TEST(RepairRunnerTest, ConcurrencyLimitRejectsReentrantRepair) {
  FakeExecutor ex;
  ex.arms[7] = "a";
  ex.arms[8] = "b";
  for (size_t limit : {1u, 2u}) {
    RepairRunner runner({.max_concurrent = limit});
    auto s = MakeRevertArmStrategy();
    std::optional<RepairRecord> inner;
    ex.during_action = [&] {
      if (!inner) inner = runner.Run(*s, LatencyIssue(8), ex);
    };
    ex.arms[7] = "a";
    ex.arms[8] = "b";
    RepairRecord outer = runner.Run(*s, LatencyIssue(7), ex);
    ex.during_action = nullptr;
    ASSERT_TRUE(inner.has_value());
    EXPECT_NE(outer.outcome, RepairOutcome::kRejected);
    if (limit == 1) {
      EXPECT_EQ(inner->outcome, RepairOutcome::kRejected) << inner->detail;
    } else {
      EXPECT_NE(inner->outcome, RepairOutcome::kRejected);
    }
    EXPECT_EQ(runner.in_flight(), 0u);
  }
}

TEST(RepairRunnerTest, ConcurrencyLimitAcrossThreads) {
  // Thread A's repair blocks inside the executor until released; a repair
  // started meanwhile on this thread is rejected.
  class BlockingExecutor final : public RepairExecutor {
   public:
    std::promise<void> entered;
    std::shared_future<void> release;
    Status AnalyzeTable(std::string_view) override {
      entered.set_value();
      release.wait();
      return Status::Ok();
    }
    bool HasNonDefaultArm(PatternKey) const override { return false; }
    Result<std::string> RevertArm(PatternKey) override { return Status::Unimplemented("x"); }
    Status DeployArm(PatternKey, std::string_view) override { return Status::Unimplemented("x"); }
    Result<std::string> ResetPattern(PatternKey) override { return Status::Unimplemented("x"); }
    Status RestorePattern(PatternKey, std::string_view) override { return Status::Unimplemented("x"); }
    Status FlushAttentionCache() override { return Status::Unimplemented("x"); }
    Status Reindex(std::string_view) override { return Status::Unimplemented("x"); }
    Result<uint64_t> RecommendIndex(const IndexRecommendationRequest&) override { return Status::Unimplemented("x"); }
    Status WithdrawIndexRecommendation(uint64_t) override { return Status::Unimplemented("x"); }
    bool HasIndexRecommendation(uint64_t) const override { return false; }
    Result<double> MeasureMetric(const MetricQuery&) override { return Status::NotFound("x"); }
  };
  BlockingExecutor blocking;
  std::promise<void> release;
  blocking.release = release.get_future().share();
  FakeExecutor other;
  RepairRunner runner({.max_concurrent = 1});
  auto s = MakeAnalyzeTableStrategy();
  HealingIssue issue;
  issue.kind = IssueKind::kEstimateDrift;
  issue.metric = "e";
  issue.relation = "t";
  std::future<void> entered = blocking.entered.get_future();
  RepairRecord in_thread;
  std::thread a([&] { in_thread = runner.Run(*s, issue, blocking); });
  entered.wait();
  EXPECT_EQ(runner.in_flight(), 1u);
  RepairRecord rejected = runner.Run(*s, issue, other);
  EXPECT_EQ(rejected.outcome, RepairOutcome::kRejected);
  EXPECT_TRUE(other.calls.empty());
  release.set_value();
  a.join();
  EXPECT_EQ(in_thread.outcome, RepairOutcome::kUnverified);
  EXPECT_EQ(runner.in_flight(), 0u);
}

TEST(RepairRunnerTest, RecommendIndexIsAdvisoryAndWithdrawable) {
  FakeExecutor ex;
  HealingIssue issue;
  issue.source = IssueSource::kPredictive;
  issue.kind = IssueKind::kRisingTension;
  issue.metric = std::string(kTensionMetric);
  issue.pattern = 11;
  issue.cut_nodes = {CutNode{.id = 4, .relation = "events", .seq_scan = true, .filter_columns = {"user_id"}}};
  RepairRunner runner({});
  auto s = MakeRecommendIndexStrategy();
  ASSERT_TRUE(s->CanRepair(issue, ex));
  RepairRecord r = runner.Run(*s, issue, ex);
  EXPECT_EQ(r.outcome, RepairOutcome::kSucceeded) << r.detail;
  ASSERT_EQ(ex.recommendations.size(), 1u);
  EXPECT_EQ(ex.recommendations.begin()->second.relation, "events");
  EXPECT_EQ(ex.recommendations.begin()->second.columns, std::vector<std::string>{"user_id"});
  AppliedRepair applied{"", std::to_string(ex.recommendations.begin()->first)};
  EXPECT_TRUE(s->Rollback(issue, applied, ex).ok());
  EXPECT_TRUE(ex.recommendations.empty());
}

TEST(DescribeCutNodesTest, FromDag) {
  QueryDag dag;
  const NodeId scan = dag.AddNode(OperatorNode::SeqScan("events").WithEstimates(100, 5)).value();
  dag.mutable_node(scan)->actual_rows = 9999;
  dag.mutable_node(scan)->predicate = "(ts > now() - '1 day')";
  const NodeId idx = dag.AddNode(OperatorNode::IndexScan("users_pkey", "users").WithEstimates(1, 1)).value();
  auto r = DescribeCutNodes(dag, {scan, idx});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].relation, "events");
  EXPECT_TRUE((*r)[0].seq_scan);
  EXPECT_NEAR((*r)[0].log_estimate_error, std::log(10000.0 / 101.0), 1e-12);
  EXPECT_EQ((*r)[0].predicate, "(ts > now() - '1 day')");
  EXPECT_FALSE((*r)[1].seq_scan);
  EXPECT_EQ((*r)[1].log_estimate_error, 0.0);  // no actuals
  EXPECT_EQ(DescribeCutNodes(dag, {42}).status().code(), StatusCode::kNotFound);
}

// --- orchestrator --------------------------------------------------------------

struct Rig {
  ManualClock clock;
  FakeExecutor ex;
  HealingOrchestrator orch;
  explicit Rig(OrchestratorConfig c = {}) : orch(c, &ex, &clock) { orch.AddDefaultStrategies(); }
};

TEST(OrchestratorTest, RegistrationErrors) {
  Rig rig;
  ASSERT_TRUE(rig.orch.AddDetector("q.latency", {}).ok());
  EXPECT_EQ(rig.orch.AddDetector("q.latency", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(rig.orch.AddDriftDetector("q.latency", {}).status().code(), StatusCode::kAlreadyExists);
  AnomalyConfig bad;
  bad.window_size = 0;
  auto r = rig.orch.AddDetector("bad", bad);
  EXPECT_NE(r.status().message().find("detector 'bad'"), std::string::npos);
  EXPECT_EQ(rig.orch.Observe("nope", 1.0).code(), StatusCode::kNotFound);
  EXPECT_EQ(rig.orch.Observe("q.latency", NAN).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.orch.ObserveTension(1, 2.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.orch.ObserveIndex(IndexStats{.name = "i", .bloat_ratio = -1}).code(), StatusCode::kInvalidArgument);
}

// A latency detector on pattern 7 (running a non-default arm), warmed up with
// normal latencies, then one spike. The executor's revert either helps
// (latency back to 20 ms) or not (stays at 80 ms).
CycleReport SpikeCycle(Rig& rig, bool revert_helps, uint64_t seed) {
  rig.ex.arms[7] = "no_nestloop";
  const std::string k = Key("q7.latency_ms", 7, "", "");
  rig.ex.metrics[k] = 80;
  rig.ex.effects["revert 7"] = {{k, revert_helps ? 20.0 : 80.0}};
  auto id = rig.orch.AddDetector("q7.latency_ms", {.z_threshold = 4.0, .window_size = 100},
                                 Binding{.kind = IssueKind::kLatencySpike, .pattern = 7});
  EXPECT_TRUE(id.ok());
  Rng rng(seed);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(rig.orch.Observe(*id, 20 + rng.Gaussian()).ok());
  auto quiet = rig.orch.RunCycle();
  EXPECT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->anomalies.empty());
  EXPECT_TRUE(rig.orch.Observe("q7.latency_ms", 80).ok());
  auto r = rig.orch.RunCycle();
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

TEST(OrchestratorTest, ReactiveRepairSucceeds) {
  Rig rig;
  CycleReport r = SpikeCycle(rig, /*revert_helps=*/true, 1);
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0].metric, "q7.latency_ms");
  EXPECT_EQ(r.reactive_repairs, 1u);
  EXPECT_EQ(r.predictive_interventions, 0u);
  EXPECT_EQ(r.succeeded, 1u);
  EXPECT_EQ(r.failed, 0u);
  ASSERT_EQ(r.repairs.size(), 1u);
  EXPECT_EQ(r.repairs[0].strategy, "revert_arm");
  EXPECT_EQ(rig.ex.calls, std::vector<std::string>{"revert 7"});
  ASSERT_EQ(rig.orch.RepairHistory().size(), 1u);
  auto stats = rig.orch.DetectorStatistics();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].observations, 201u);
  EXPECT_EQ(stats[0].anomalies, 1u);
  EXPECT_EQ(stats[0].repairs_succeeded, 1u);
  EXPECT_GT(stats[0].last_score, 4.0);
  EXPECT_NEAR(stats[0].center, 20.3, 0.5);
}

// A repair whose effect cannot be read back at once is unverified; its
// verdict, measured later by the host, becomes its outcome and counts in the
// health score and the detector's statistics.
TEST(OrchestratorTest, AnUnverifiedRepairTakesItsLaterVerdict) {
  Rig rig;
  rig.ex.arms[7] = "no_nestloop";  // no metric registered: nothing can be read back
  auto id = rig.orch.AddDetector("q7.latency_ms", {.z_threshold = 4.0, .window_size = 100},
                                 Binding{.kind = IssueKind::kLatencySpike, .pattern = 7});
  ASSERT_TRUE(id.ok());
  Rng rng(3);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(rig.orch.Observe(*id, 20 + rng.Gaussian()).ok());
  ASSERT_TRUE(rig.orch.RunCycle().ok());
  ASSERT_TRUE(rig.orch.Observe(*id, 80).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->repairs.size(), 1u);
  ASSERT_EQ(r->repairs[0].outcome, RepairOutcome::kUnverified);
  const uint64_t repair = r->repairs[0].id;
  EXPECT_EQ(rig.orch.Health().repairs_succeeded, 0u);
  EXPECT_EQ(rig.orch.ResolveRepair(repair, RepairOutcome::kUnverified).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.orch.ResolveRepair(repair, RepairOutcome::kRejected).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.orch.ResolveRepair(repair + 100, RepairOutcome::kSucceeded).code(), StatusCode::kNotFound);
  ASSERT_TRUE(rig.orch.ResolveRepair(repair, RepairOutcome::kSucceeded, "measured later").ok());
  EXPECT_EQ(rig.orch.RepairHistory().back().outcome, RepairOutcome::kSucceeded);
  EXPECT_EQ(rig.orch.RepairHistory().back().detail, "measured later");
  EXPECT_EQ(rig.orch.Health().repairs_succeeded, 1u);
  EXPECT_DOUBLE_EQ(rig.orch.Health().repair_component, 1.0);
  EXPECT_EQ(rig.orch.DetectorStatistics()[0].repairs_succeeded, 1u);
  EXPECT_EQ(rig.orch.ResolveRepair(repair, RepairOutcome::kTimedOut).code(), StatusCode::kFailedPrecondition)
      << "a verdict is final";
}

TEST(OrchestratorTest, FailedRepairIsCountedRolledBackAndLowersHealth) {
  Rig good, bad;
  CycleReport ok = SpikeCycle(good, /*revert_helps=*/true, 2);
  const double bad_before = bad.orch.HealthScore();
  CycleReport failed = SpikeCycle(bad, /*revert_helps=*/false, 2);
  EXPECT_EQ(failed.failed, 1u);
  EXPECT_EQ(failed.succeeded, 0u);
  ASSERT_EQ(failed.repairs.size(), 1u);
  EXPECT_EQ(failed.repairs[0].outcome, RepairOutcome::kNoImprovement);
  EXPECT_EQ(failed.repairs[0].rollback, RollbackOutcome::kRolledBack);
  EXPECT_EQ(bad.ex.arms[7], "no_nestloop");  // the arm is back
  EXPECT_EQ(bad.ex.calls, (std::vector<std::string>{"revert 7", "deploy 7 no_nestloop"}));
  EXPECT_EQ(bad.orch.DetectorStatistics()[0].repairs_failed, 1u);
  // Same anomaly, different outcome: the health score reflects the outcome.
  EXPECT_LT(failed.health_score, ok.health_score);
  EXPECT_LT(failed.health_score, bad_before);
  EXPECT_DOUBLE_EQ(bad.orch.Health().repair_component, 0.5);  // (0 + 1) / (0 + 1 + 1)
  EXPECT_DOUBLE_EQ(good.orch.Health().repair_component, 1.0);

  // An action error is a failure too, and lowers the score further.
  bad.ex.failures["revert 7"] = Status::Internal("shared memory is read-only");
  bad.clock.now += bad.orch.config().failure_cooldown_micros + 1;
  ASSERT_TRUE(bad.orch.Observe("q7.latency_ms", 90).ok());
  auto again = bad.orch.RunCycle();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->failed, 1u);
  EXPECT_EQ(again->repairs[0].outcome, RepairOutcome::kFailed);
  EXPECT_LT(bad.orch.Health().repair_component, 0.5);
}

TEST(OrchestratorTest, CooldownAfterFailureAndNoStrategyMeansUnrepaired) {
  Rig rig;
  SpikeCycle(rig, /*revert_helps=*/false, 3);
  ASSERT_EQ(rig.orch.RepairHistory().size(), 1u);
  // Another spike right away: revert_arm for pattern 7 is cooling down and
  // no other strategy applies to a latency spike -> unrepaired.
  ASSERT_TRUE(rig.orch.Observe("q7.latency_ms", 95).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->anomalies.size(), 1u);
  EXPECT_EQ(r->repairs.size(), 0u);
  EXPECT_EQ(r->unrepaired_issues, 1u);
  // After the cooldown it is tried again.
  rig.clock.now += rig.orch.config().failure_cooldown_micros + 1;
  ASSERT_TRUE(rig.orch.Observe("q7.latency_ms", 95).ok());
  r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repairs.size(), 1u);
}

TEST(OrchestratorTest, PredictiveInterventionAnalyzesBeforeCrisis) {
  OrchestratorConfig c;
  Rig rig(c);
  // The cut of pattern 42 holds a scan of "orders" whose estimate is 20x off.
  const std::string est = Key(kEstimateErrorMetric, 42, "orders", "");
  rig.ex.metrics[est] = std::log(20.0);
  rig.ex.effects["analyze orders"] = {{est, 0.05}};
  Rng rng(17);
  int intervened_at = -1;
  double tension_then = 0;
  for (int i = 0; i < 200 && intervened_at < 0; ++i) {
    const double trend = 0.3 + 0.6 * i / 199.0;
    MincutObservation obs;
    obs.pattern = 42;
    obs.tension = std::clamp(trend + 0.02 * rng.Gaussian(), 0.0, 1.0);
    obs.cut_value = 10;
    obs.cut_nodes = {CutNode{.id = 3, .relation = "orders", .seq_scan = false,
                             .log_estimate_error = std::log(20.0)}};
    ASSERT_TRUE(rig.orch.ObserveMincut(obs).ok());
    auto r = rig.orch.RunCycle();  // a cycle per observation: the earliest it can act
    ASSERT_TRUE(r.ok());
    if (r->predictive_interventions > 0) {
      intervened_at = i;
      tension_then = trend;
      ASSERT_EQ(r->alerts.size(), 1u);
      EXPECT_EQ(r->repairs[0].strategy, "analyze_table");
      EXPECT_EQ(r->repairs[0].outcome, RepairOutcome::kSucceeded) << r->repairs[0].detail;
      EXPECT_EQ(r->reactive_repairs, 0u);
    }
  }
  ASSERT_GE(intervened_at, 0);
  EXPECT_LT(tension_then, c.predictive.crisis_threshold);
  EXPECT_LT(*rig.orch.SmoothedTension(42), c.predictive.crisis_threshold);
  EXPECT_EQ(rig.ex.calls, std::vector<std::string>{"analyze orders"});
}

TEST(OrchestratorTest, PredictiveRecommendsIndexForSeqScanWithoutMisestimate) {
  Rig rig;
  for (int i = 0; i < 200; ++i) {
    MincutObservation obs;
    obs.pattern = 5;
    obs.tension = 0.3 + 0.6 * i / 199.0;
    obs.cut_nodes = {CutNode{.id = 1, .relation = "events", .seq_scan = true, .filter_columns = {"ts"}}};
    ASSERT_TRUE(rig.orch.ObserveMincut(obs).ok());
  }
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->predictive_interventions, 1u);
  EXPECT_EQ(r->repairs[0].strategy, "recommend_index");
  EXPECT_EQ(rig.ex.recommendations.size(), 1u);
  EXPECT_LT(r->health_score, 1.0);  // tension is high: the tension component says so
  const HealthReport h = rig.orch.Health();
  EXPECT_LT(h.tension_component, 0.5);
  // No index was observed: the index component (1) is not part of the score,
  // which is the weighted mean of the measured components only.
  EXPECT_EQ(h.indexes, 0u);
  EXPECT_NEAR(h.score,
              (0.3 * h.anomaly_component + 0.3 * h.repair_component + 0.2 * h.tension_component) / 0.8, 1e-12);
}

TEST(OrchestratorTest, IndexHealthDrivesReindex) {
  Rig rig;
  const std::string bloat = Key(kIndexBloatMetric, std::nullopt, "orders", "orders_pkey");
  rig.ex.metrics[bloat] = 0.62;
  rig.ex.effects["reindex orders_pkey"] = {{bloat, 0.04}};
  ASSERT_TRUE(rig.orch.ObserveIndex({.name = "orders_pkey", .relation = "orders", .bloat_ratio = 0.62}).ok());
  ASSERT_TRUE(rig.orch.ObserveIndex({.name = "users_pkey", .relation = "users", .bloat_ratio = 0.05}).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->unhealthy_indexes.size(), 1u);
  EXPECT_EQ(r->unhealthy_indexes[0].index, "orders_pkey");
  ASSERT_EQ(r->repairs.size(), 1u);
  EXPECT_EQ(r->repairs[0].strategy, "reindex");
  EXPECT_EQ(r->repairs[0].outcome, RepairOutcome::kSucceeded);
  EXPECT_DOUBLE_EQ(rig.orch.Health().index_component, 0.5);  // one critical, one healthy
  // The host reports the rebuilt index: healthy again.
  ASSERT_TRUE(rig.orch.ObserveIndex({.name = "orders_pkey", .relation = "orders", .bloat_ratio = 0.04}).ok());
  r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->unhealthy_indexes.empty());
  EXPECT_DOUBLE_EQ(rig.orch.Health().index_component, 1.0);
}

TEST(OrchestratorTest, DriftResetsPatternWithoutArm) {
  Rig rig;
  const std::string k = Key("p9.quality", 9, "", "");
  rig.ex.metrics[k] = 0.6;
  rig.ex.effects["reset 9"] = {{k, 0.78}};
  rig.ex.learned[9] = "state";
  auto id = rig.orch.AddDriftDetector("p9.quality", {.direction = Direction::kHigherIsBetter},
                                      Binding{.kind = IssueKind::kPatternDrift, .pattern = 9});
  ASSERT_TRUE(id.ok());
  Rng rng(21);
  size_t drifts = 0, succeeded = 0;
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(rig.orch.Observe(*id, (i < 400 ? 0.8 : 0.6) + 0.01 * rng.Gaussian()).ok());
    if (i % 10 == 9) {
      auto r = rig.orch.RunCycle();
      ASSERT_TRUE(r.ok());
      drifts += r->drifts.size();
      succeeded += r->succeeded;
    }
  }
  EXPECT_EQ(drifts, 1u);
  EXPECT_EQ(succeeded, 1u);
  EXPECT_EQ(rig.ex.calls, std::vector<std::string>{"reset 9"});
}

TEST(OrchestratorTest, EstimateDriftAnomalyAnalyzesTable) {
  Rig rig;
  const std::string k = Key("orders.estimate_error", std::nullopt, "orders", "");
  rig.ex.metrics[k] = 3.0;
  rig.ex.effects["analyze orders"] = {{k, 0.2}};
  ASSERT_TRUE(rig.orch
                  .AddDetector("orders.estimate_error", {.window_size = 200},
                               Binding{.kind = IssueKind::kEstimateDrift, .relation = "orders"})
                  .ok());
  Rng rng(31);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(rig.orch.Observe("orders.estimate_error", LogEstimateError(1000 * std::exp(0.1 * rng.Gaussian()), 1000))
                    .ok());
  }
  // The table changed under the planner: actual rows 20x the estimate.
  ASSERT_TRUE(rig.orch.Observe("orders.estimate_error", LogEstimateError(20000, 1000)).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->repairs.size(), 1u);
  EXPECT_EQ(r->repairs[0].strategy, "analyze_table");
  EXPECT_EQ(r->repairs[0].kind, IssueKind::kEstimateDrift);
  EXPECT_EQ(r->repairs[0].outcome, RepairOutcome::kSucceeded) << r->repairs[0].detail;
  EXPECT_EQ(rig.ex.calls, std::vector<std::string>{"analyze orders"});
}

TEST(OrchestratorTest, DriftDetectorStatistics) {
  Rig rig;
  auto id = rig.orch.AddDriftDetector("reward", {.direction = Direction::kHigherIsBetter, .reference_size = 20,
                                                 .recent_size = 5});
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(rig.orch.Observe(*id, i < 20 ? 1.0 : 3.0).ok());
  auto stats = rig.orch.DetectorStatistics();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].type, "drift");
  EXPECT_EQ(stats[0].observations, 25u);
  EXPECT_DOUBLE_EQ(stats[0].center, 3.0);
  EXPECT_DOUBLE_EQ(stats[0].reference, 1.0);
  EXPECT_EQ(stats[0].kind, IssueKind::kPatternDrift);
}

TEST(OrchestratorTest, MemoryPressureHardLimitFlushesCache) {
  Rig rig;
  const std::string k = Key("memory_fraction", std::nullopt, "", "");
  rig.ex.metrics[k] = 0.95;
  rig.ex.effects["flush"] = {{k, 0.6}};
  ASSERT_TRUE(rig.orch.AddDetector("memory_fraction", {.hard_upper = 0.9}, Binding{.kind = IssueKind::kMemoryPressure})
                  .ok());
  ASSERT_TRUE(rig.orch.Observe("memory_fraction", 0.95).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->repairs.size(), 1u);
  EXPECT_EQ(r->repairs[0].strategy, "flush_attention_cache");
  EXPECT_EQ(r->repairs[0].outcome, RepairOutcome::kSucceeded);
}

TEST(OrchestratorTest, DetectOnlyWithoutExecutorAndLimits) {
  ManualClock clock;
  OrchestratorConfig c;
  c.max_pending_anomalies = 3;
  HealingOrchestrator orch(c, nullptr, &clock);
  ASSERT_TRUE(orch.AddDetector("m", {.window_size = 10, .hard_upper = 1.0}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(orch.Observe("m", 2.0).ok());
  auto r = orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->anomalies.size(), 3u);
  EXPECT_EQ(r->anomalies_dropped, 2u);
  EXPECT_EQ(r->unrepaired_issues, 1u);  // one issue per detector per cycle
  EXPECT_TRUE(r->repairs.empty());
  EXPECT_DOUBLE_EQ(orch.Health().anomaly_component, 0.0);
}

TEST(OrchestratorTest, MaxRepairsPerCycleAndBoundedHistory) {
  OrchestratorConfig c;
  c.max_repairs_per_cycle = 2;
  c.max_history = 3;
  Rig rig(c);
  for (int p = 0; p < 5; ++p) {
    rig.ex.arms[p] = "arm";
    rig.ex.metrics[Key("lat" + std::to_string(p), p, "", "")] = 50;
    ASSERT_TRUE(rig.orch.AddDetector("lat" + std::to_string(p), {.hard_upper = 40},
                                     Binding{.kind = IssueKind::kLatencySpike, .pattern = static_cast<PatternKey>(p)})
                    .ok());
  }
  for (int p = 0; p < 5; ++p) ASSERT_TRUE(rig.orch.Observe("lat" + std::to_string(p), 50).ok());
  auto r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repairs.size(), 2u);
  EXPECT_EQ(r->unrepaired_issues, 3u);
  for (int p = 0; p < 5; ++p) ASSERT_TRUE(rig.orch.Observe("lat" + std::to_string(p), 50).ok());
  r = rig.orch.RunCycle();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repairs.size(), 2u);  // patterns 2 and 3; 0 and 1 are cooling down
  ASSERT_EQ(rig.orch.RepairHistory().size(), 3u);
  EXPECT_EQ(rig.orch.RepairHistory().front().id, 2u);
  EXPECT_EQ(rig.orch.RepairHistory().back().id, 4u);
  EXPECT_EQ(rig.orch.RepairHistory().back().target, "pattern:3");
}

TEST(OrchestratorTest, TrackedPatternsAreBounded) {
  OrchestratorConfig c;
  c.max_tracked_patterns = 2;
  Rig rig(c);
  ASSERT_TRUE(rig.orch.ObserveTension(1, 0.1).ok());
  ASSERT_TRUE(rig.orch.ObserveTension(2, 0.1).ok());
  ASSERT_TRUE(rig.orch.ObserveTension(1, 0.1).ok());  // 1 is now the most recent
  ASSERT_TRUE(rig.orch.ObserveTension(3, 0.1).ok());  // evicts 2
  EXPECT_TRUE(rig.orch.SmoothedTension(1).has_value());
  EXPECT_FALSE(rig.orch.SmoothedTension(2).has_value());
  EXPECT_TRUE(rig.orch.SmoothedTension(3).has_value());
}

}  // namespace
}  // namespace healing
}  // namespace ruvector_dag
