#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>

#include "attention/internal/test_dags.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag {
namespace {

// Runs `rounds` bandit rounds against stationary Gaussian rewards with the
// given per-mechanism means (noise sd `noise`, seeded).
void Play(AttentionSelector& selector, const std::vector<double>& means, double noise, int rounds,
          uint64_t seed) {
  Rng rng(seed);
  for (int t = 0; t < rounds; ++t) {
    const AttentionMechanism m = selector.Select();
    const double reward = means[static_cast<size_t>(m)] + noise * rng.Gaussian();
    ASSERT_TRUE(selector.Update(m, reward).ok());
  }
}

TEST(Selector, TriesEveryArmOnceFirstInEnumOrder) {
  AttentionSelector selector;
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    EXPECT_EQ(selector.Select(), m);
    ASSERT_TRUE(selector.Update(m, 0.5).ok());
  }
  EXPECT_EQ(selector.total_pulls(), 7u);
}

TEST(Selector, Ucb1ConvergesToTheBestMechanism) {
  const std::vector<double> means = {0.30, 0.40, 0.50, 0.45, 0.35, 0.62, 0.20};
  AttentionSelector selector;
  Play(selector, means, 0.1, 3000, 42);
  EXPECT_EQ(selector.Best(), AttentionMechanism::kParallelBranch);
  const auto stats = selector.Stats();
  ASSERT_EQ(stats.size(), 7u);
  EXPECT_EQ(stats[5].mechanism, AttentionMechanism::kParallelBranch);
  EXPECT_GT(stats[5].pulls, 3000u * 6 / 10) << "the best arm should get most pulls";
  EXPECT_NEAR(stats[5].mean_reward, 0.62, 0.02);
  EXPECT_NEAR(stats[5].reward_variance, 0.01, 0.003);
  for (const auto& s : stats) EXPECT_TRUE(std::isfinite(s.upper_bound));
}

TEST(Selector, ThompsonConvergesToTheBestMechanism) {
  const std::vector<double> means = {0.30, 0.40, 0.50, 0.70, 0.35, 0.55, 0.20};
  SelectorOptions options;
  options.algorithm = SelectorAlgorithm::kThompson;
  options.seed = 9;
  AttentionSelector selector(options);
  Play(selector, means, 0.15, 3000, 43);
  EXPECT_EQ(selector.Best(), AttentionMechanism::kMinCutGated);
  EXPECT_GT(selector.Stats()[3].pulls, 3000u * 7 / 10);
}

RC_GTEST_PROP(SelectorProperty, ConvergesOnAnyStationaryReward, ()) {
  const size_t best = *rc::gen::inRange<size_t>(0, 7);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const bool thompson = *rc::gen::arbitrary<bool>();
  Rng rng(seed);
  std::vector<double> means(7);
  for (double& m : means) m = 0.2 + 0.4 * rng.UniformDouble();  // others in [0.2, 0.6)
  means[best] = 0.8;                                            // gap >= 0.2
  SelectorOptions options;
  options.algorithm = thompson ? SelectorAlgorithm::kThompson : SelectorAlgorithm::kUcb1;
  options.seed = seed ^ 0xABCDu;
  AttentionSelector selector(options);
  Rng noise(seed + 1);
  const int rounds = 1500;
  for (int t = 0; t < rounds; ++t) {
    const AttentionMechanism m = selector.Select();
    RC_ASSERT(selector.Update(m, means[static_cast<size_t>(m)] + 0.1 * noise.Gaussian()).ok());
  }
  RC_ASSERT(selector.Best() == kAllAttentionMechanisms[best]);
  RC_ASSERT(selector.Stats()[best].pulls > static_cast<uint64_t>(rounds / 2));
}

TEST(Selector, DeterministicForASeed) {
  SelectorOptions options;
  options.algorithm = SelectorAlgorithm::kThompson;
  options.seed = 5;
  const std::vector<double> means = {0.3, 0.4, 0.5, 0.45, 0.35, 0.6, 0.2};
  AttentionSelector a(options), b(options);
  Play(a, means, 0.2, 500, 1);
  Play(b, means, 0.2, 500, 1);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(a.Stats()[i].pulls, b.Stats()[i].pulls);
}

TEST(Selector, ErrorsResetAndArmSubsets) {
  AttentionSelector selector;
  EXPECT_EQ(selector.Update(AttentionMechanism::kTopological, std::nan("")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(selector.Best(), AttentionMechanism::kTopological);  // nothing learned yet
  ASSERT_TRUE(selector.Update(AttentionMechanism::kCausalCone, 1.0).ok());
  ASSERT_TRUE(selector.Update(AttentionMechanism::kTopological, 0.0).ok());
  EXPECT_EQ(selector.Best(), AttentionMechanism::kCausalCone);
  selector.Reset();
  EXPECT_EQ(selector.total_pulls(), 0u);
  EXPECT_EQ(selector.Stats()[1].pulls, 0u);
  EXPECT_TRUE(std::isinf(selector.Stats()[1].upper_bound));

  SelectorOptions two;
  two.arms = {AttentionMechanism::kCriticalPath, AttentionMechanism::kTemporalBtsp};
  AttentionSelector sub(two);
  EXPECT_EQ(sub.Stats().size(), 2u);
  EXPECT_EQ(sub.Select(), AttentionMechanism::kCriticalPath);
  EXPECT_EQ(sub.Update(AttentionMechanism::kTopological, 1.0).code(), StatusCode::kNotFound);

  SelectorOptions dup = two;
  dup.arms.push_back(AttentionMechanism::kCriticalPath);
  EXPECT_FALSE(AttentionSelector::Create(dup).ok());
  SelectorOptions bad;
  bad.exploration = -1;
  EXPECT_FALSE(AttentionSelector::Create(bad).ok());
  bad.exploration = 0;
  bad.algorithm = SelectorAlgorithm::kThompson;
  EXPECT_FALSE(AttentionSelector::Create(bad).ok());
  EXPECT_TRUE(AttentionSelector::Create(two).ok());
}

// --- policy ---------------------------------------------------------------------

TEST(Policy, EachTriggerInOrder) {
  AttentionPolicy policy;
  PolicySignals s;
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kTopological);
  EXPECT_EQ(policy.Decide(s).reason, PolicyReason::kDefault);
  s.temporal_pattern = 0.9;
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kTemporalBtsp);
  s.branch_count = 4;
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kParallelBranch);
  s.branch_count = 3;  // not > 3
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kTemporalBtsp);
  s.depth = 11;
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kHierarchicalLorentz);
  s.latency_p50_ms = 10;
  s.latency_p99_ms = 20;  // not > 2x
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kHierarchicalLorentz);
  s.latency_p99_ms = 21;
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kCriticalPath);
  EXPECT_EQ(policy.Decide(s).reason, PolicyReason::kLatencyVariance);
  s.tension = 0.71;
  const PolicyDecision d = policy.Decide(s);
  EXPECT_EQ(d.mechanism, AttentionMechanism::kMinCutGated);
  EXPECT_EQ(d.reason, PolicyReason::kTension);
  EXPECT_EQ(d.sticky_remaining, 5u);
}

TEST(Policy, StickyAfterATensionSpike) {
  PolicyOptions options;
  options.sticky_decisions = 3;
  AttentionPolicy policy(options);
  PolicySignals calm;
  calm.tension = 0.2;
  PolicySignals spike = calm;
  spike.tension = 0.71;
  EXPECT_EQ(policy.Decide(calm).mechanism, AttentionMechanism::kTopological);
  EXPECT_EQ(policy.Decide(spike).reason, PolicyReason::kTension);
  for (uint32_t left = 3; left-- > 0;) {
    const PolicyDecision d = policy.Decide(calm);
    EXPECT_EQ(d.mechanism, AttentionMechanism::kMinCutGated);
    EXPECT_EQ(d.reason, PolicyReason::kStickyTension);
    EXPECT_EQ(d.sticky_remaining, left);
  }
  EXPECT_EQ(policy.Decide(calm).mechanism, AttentionMechanism::kTopological);
  // A new spike inside the window restarts it.
  EXPECT_EQ(policy.Decide(spike).mechanism, AttentionMechanism::kMinCutGated);
  EXPECT_EQ(policy.Decide(calm).reason, PolicyReason::kStickyTension);
  EXPECT_EQ(policy.Decide(spike).sticky_remaining, 3u);
  policy.Reset();
  EXPECT_EQ(policy.Decide(calm).mechanism, AttentionMechanism::kTopological);
}

TEST(Policy, ForceOverridesAndSelectorFillsTheDefault) {
  AttentionPolicy policy;
  PolicySignals s;
  s.tension = 0.99;
  policy.ForceMechanism(AttentionMechanism::kCausalCone);
  EXPECT_EQ(policy.Decide(s).mechanism, AttentionMechanism::kCausalCone);
  EXPECT_EQ(policy.Decide(s).reason, PolicyReason::kForced);
  policy.ForceMechanism(std::nullopt);
  policy.Reset();
  AttentionSelector selector;
  PolicySignals quiet;
  EXPECT_EQ(policy.Decide(quiet, &selector).reason, PolicyReason::kDefault);  // no data yet
  ASSERT_TRUE(selector.Update(AttentionMechanism::kCriticalPath, 0.9).ok());
  ASSERT_TRUE(selector.Update(AttentionMechanism::kTopological, 0.1).ok());
  const PolicyDecision d = policy.Decide(quiet, &selector);
  EXPECT_EQ(d.mechanism, AttentionMechanism::kCriticalPath);
  EXPECT_EQ(d.reason, PolicyReason::kSelector);
}

TEST(Policy, SignalsFromPlanAndQuantiles) {
  EXPECT_EQ(LatencyQuantile({}, 0.5), 0.0);
  EXPECT_EQ(LatencyQuantile({5, 1, 3, std::nan(""), -1}, 0.5), 3.0);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(LatencyQuantile(hundred, 0.99), 99.0);
  EXPECT_EQ(LatencyQuantile(hundred, 0.5), 50.0);
  EXPECT_EQ(LatencyQuantile(hundred, 1.0), 100.0);

  // Append over 5 scans under a Limit: depth 2, width 5.
  QueryDag dag;
  const NodeId top = dag.AddNode(OperatorNode::Limit(1).WithEstimates(1, 1)).value();
  const NodeId app = dag.AddNode(OperatorNode::Make(OperatorType::kAppend).WithEstimates(1, 1)).value();
  ASSERT_TRUE(dag.AddEdge(app, top).ok());
  for (int i = 0; i < 5; ++i) {
    const NodeId s = dag.AddNode(OperatorNode::SeqScan("p").WithEstimates(10, 10)).value();
    ASSERT_TRUE(dag.AddEdge(s, app).ok());
  }
  auto plan = PreparedDag::Build(dag);
  ASSERT_TRUE(plan.ok());
  ExecutionFeedback fb;
  fb.latency_samples_ms = {10, 10, 10, 10, 50};
  MinCutEngine engine;
  auto signals = SignalsFromPlan(*plan, &fb, &engine);
  ASSERT_TRUE(signals.ok());
  EXPECT_EQ(signals->depth, 2u);
  EXPECT_EQ(signals->branch_count, 5u);
  EXPECT_EQ(signals->latency_p50_ms, 10.0);
  EXPECT_EQ(signals->latency_p99_ms, 50.0);
  EXPECT_GE(signals->tension, 0.0);
  EXPECT_LE(signals->tension, 1.0);
  AttentionPolicy policy;
  EXPECT_EQ(policy.Decide(*signals).mechanism, AttentionMechanism::kCriticalPath);
  signals->latency_p99_ms = 15;
  EXPECT_EQ(policy.Decide(*signals).mechanism, AttentionMechanism::kParallelBranch);
}

TEST(Policy, TemporalPatternStrength) {
  EXPECT_EQ(TemporalPatternStrength({1, 2, 3}), 0.0);  // too few samples
  EXPECT_EQ(TemporalPatternStrength(std::vector<double>(64, 5.0)), 0.0);
  std::vector<double> periodic, noise;
  Rng rng(4);
  for (int t = 0; t < 64; ++t) {
    periodic.push_back((t % 8) < 4 ? 100.0 : 60.0);  // a batch job every 8 runs
    noise.push_back(50.0 + 10.0 * rng.Gaussian());
  }
  const double p = TemporalPatternStrength(periodic);
  const double q = TemporalPatternStrength(noise);
  EXPECT_GT(p, 0.7);
  EXPECT_LT(q, 0.5);
  EXPECT_GE(q, 0.0);
  ExecutionFeedback fb;
  fb.latency_samples_ms = periodic;
  QueryDag dag;
  ASSERT_TRUE(dag.AddNode(OperatorNode::SeqScan("t")).ok());
  auto plan = PreparedDag::Build(dag);
  auto signals = SignalsFromPlan(*plan, &fb);
  ASSERT_TRUE(signals.ok());
  EXPECT_DOUBLE_EQ(signals->temporal_pattern, p);
  // p99 = 100 <= 2 * p50 = 120: the temporal trigger decides.
  EXPECT_EQ(AttentionPolicy().Decide(*signals).mechanism, AttentionMechanism::kTemporalBtsp);
}

TEST(Policy, AutoPicksByShapeAndTension) {
  // Deep plan without actuals: Lorentz.
  auto deep = ComputeAttentionAuto(attention_internal::PlanLikeDag(40, 3));
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(deep->decision.mechanism, AttentionMechanism::kHierarchicalLorentz);
  EXPECT_EQ(deep->scores.mechanism, AttentionMechanism::kHierarchicalLorentz);
  EXPECT_EQ(deep->scores.weights.size(), 40u);
  // A join misestimated a million-fold that takes almost all of the time:
  // tension is high (0.93 with the mincut module's formula today) and the
  // policy follows it.
  QueryDag dag;
  const NodeId a = dag.AddNode(OperatorNode::SeqScan("a").WithEstimates(10, 1).WithActuals(10, 1)).value();
  const NodeId b = dag.AddNode(OperatorNode::SeqScan("b").WithEstimates(10, 1).WithActuals(10, 1)).value();
  const NodeId j = dag.AddNode(OperatorNode::NestedLoopJoin().WithEstimates(1, 1).WithActuals(1e6, 5000)).value();
  ASSERT_TRUE(dag.AddEdge(a, j).ok());
  ASSERT_TRUE(dag.AddEdge(b, j).ok());
  auto hot = ComputeAttentionAuto(dag);
  ASSERT_TRUE(hot.ok()) << hot.status().ToString();
  EXPECT_GE(hot->signals.tension, 0.0);
  EXPECT_LE(hot->signals.tension, 1.0);
  EXPECT_GT(hot->signals.tension, 0.7);
  EXPECT_EQ(hot->decision.mechanism, AttentionMechanism::kMinCutGated);
  EXPECT_EQ(hot->decision.reason, PolicyReason::kTension);
  PolicyOptions high;
  high.tension_threshold = 0.99;  // not tense enough now: shape decides (width 2, depth 1)
  auto calm = ComputeAttentionAuto(dag, {}, high);
  ASSERT_TRUE(calm.ok());
  EXPECT_EQ(calm->decision.mechanism, AttentionMechanism::kTopological);
  EXPECT_FALSE(ComputeAttentionAuto(QueryDag()).ok());
}

TEST(Policy, DeepPlanIsRoutedToLorentz) {
  const QueryDag dag = attention_internal::PlanLikeDag(40, 3);
  auto plan = PreparedDag::Build(dag);
  ASSERT_TRUE(plan.ok());
  auto signals = SignalsFromPlan(*plan);
  ASSERT_TRUE(signals.ok());
  EXPECT_GT(signals->depth, 10u);
  EXPECT_EQ(AttentionPolicy().Decide(*signals).mechanism, AttentionMechanism::kHierarchicalLorentz);
}

}  // namespace
}  // namespace ruvector_dag
