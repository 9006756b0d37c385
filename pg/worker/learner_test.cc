// Unit tests of the learner's admission, drift scope, re-validation and
// persistence, and of the server's healing cycle; no server needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "state/steer_state.h"
#include "worker/healing_host.h"
#include "worker/learner.h"

namespace ruvector_pg {
namespace {

constexpr int64_t kSecond = 1000000;

LearnInput Exec(uint64_t key, int arm, double ms, int64_t at_us, uint32_t role = 10, uint32_t db = 5,
                std::vector<uint32_t> relations = {}) {
  LearnInput in;
  in.pattern_key = key;
  in.query_id = key * 7;
  in.arm = arm;
  in.latency_ms = ms;
  in.at_us = at_us;
  in.role_oid = role;
  in.database_oid = db;
  in.relation_count = static_cast<uint16_t>(relations.size());
  for (size_t i = 0; i < relations.size() && i < in.relations.size(); ++i) in.relations[i] = relations[i];
  return in;
}

struct Fixture {
  Learner l;
  std::vector<DecisionUpdate> updates;
  std::vector<ruvector_dag::PatternEvent> events;
  std::vector<uint64_t> evicted;
  uint64_t untracked = 0;
  explicit Fixture(uint32_t arms = 8) { l.Reset(arms); }
  void Feed(const std::vector<LearnInput>& batch, size_t max_patterns = 100) {
    ASSERT_TRUE(l.Learn(batch, max_patterns, &updates, &events, &untracked, &evicted).ok());
  }
  /// Pattern `key` with arm 1 deployed: default `default_ms`, arm `arm_ms`.
  void Deploy(uint64_t key, double default_ms, double arm_ms, int64_t at_us, uint32_t role = 10, uint32_t db = 5) {
    std::vector<LearnInput> b;
    for (int i = 0; i < 6; ++i) b.push_back(Exec(key, 0, default_ms * (1.0 + 0.01 * (i % 3)), at_us, role, db));
    for (int i = 0; i < 6; ++i) b.push_back(Exec(key, 1, arm_ms * (1.0 + 0.01 * (i % 3)), at_us, role, db));
    Feed(b);
    ASSERT_EQ(l.DeployedArm(key), 1u);
  }
};

// --- admission ----------------------------------------------------------------------

TEST(LearnerAdmissionTest, AFloodOfCheapPatternsDoesNotEvictASlowOne) {
  Fixture f;
  const size_t max = 64;
  f.Feed({Exec(1, 0, 180.0, 0, /*role=*/20)}, max);  // another role's slow query
  std::vector<LearnInput> flood;
  for (uint64_t k = 100; k < 100 + 6000; ++k) flood.push_back(Exec(k, 0, 0.05, static_cast<int64_t>(k), /*role=*/30));
  f.Feed(flood, max);
  EXPECT_EQ(f.l.patterns(), max);
  EXPECT_TRUE(f.l.DescribePattern(1).ok()) << "the slow pattern was evicted by the flood";
  // The flood only displaced its own patterns.
  EXPECT_EQ(f.evicted.size(), 6000 - (max - 1));
  for (uint64_t k : f.evicted) EXPECT_GE(k, 100u);
}

TEST(LearnerAdmissionTest, ANewSlowPatternDisplacesCheapOnesAtOnce) {
  Fixture f;
  const size_t max = 32;
  std::vector<LearnInput> flood;
  for (uint64_t k = 100; k < 100 + 500; ++k) flood.push_back(Exec(k, 0, 0.05, 0, /*role=*/30));
  f.Feed(flood, max);
  ASSERT_EQ(f.l.patterns(), max);
  f.evicted.clear();
  f.Feed({Exec(7, 0, 200.0, kSecond, /*role=*/20)}, max);  // a misplanned query arrives
  EXPECT_TRUE(f.l.DescribePattern(7).ok());
  ASSERT_EQ(f.evicted.size(), 1u);
  EXPECT_NE(f.evicted[0], 7u);
}

TEST(LearnerAdmissionTest, ARoleOverItsShareReplacesOnlyItsOwnPatterns) {
  Fixture f;
  const size_t max = 8;
  // Role 20 holds two patterns, role 30 fills the rest.
  f.Feed({Exec(1, 0, 1.0, 0, 20), Exec(2, 0, 1.0, 0, 20)}, max);
  std::vector<LearnInput> b;
  for (uint64_t k = 10; k < 16; ++k) b.push_back(Exec(k, 0, 2.0, 0, 30));
  f.Feed(b, max);
  ASSERT_EQ(f.l.patterns(), max);
  // Role 30 (6 of 8 > half) brings a more valuable pattern: it replaces one
  // of role 30's own, although role 20's are worth less.
  f.Feed({Exec(50, 0, 5.0, 0, 30)}, max);
  EXPECT_TRUE(f.l.DescribePattern(50).ok());
  EXPECT_TRUE(f.l.DescribePattern(1).ok());
  EXPECT_TRUE(f.l.DescribePattern(2).ok());
  // Role 20 (under its share) replaces the least valuable pattern of anyone.
  f.Feed({Exec(60, 0, 5.0, 0, 20)}, max);
  EXPECT_TRUE(f.l.DescribePattern(60).ok());
  EXPECT_EQ(f.l.patterns(), max);
}

TEST(LearnerAdmissionTest, TimeAtStakeAccumulatesWhileWaitingAndDecays) {
  Fixture f;
  const size_t max = 1;
  f.Feed({Exec(1, 0, 10.0, 0)}, max);
  // Pattern 2 runs 4 ms at a time: refused until its waiting total beats 10.
  f.Feed({Exec(2, 0, 4.0, 0)}, max);
  f.Feed({Exec(2, 0, 4.0, 0)}, max);
  EXPECT_FALSE(f.l.DescribePattern(2).ok());
  f.Feed({Exec(2, 0, 4.0, 0)}, max);  // 12 > 10
  EXPECT_TRUE(f.l.DescribePattern(2).ok());
  EXPECT_FALSE(f.l.DescribePattern(1).ok());
  // Two half-lives later 12 ms at stake count as 3: a 5 ms newcomer wins.
  f.Feed({Exec(3, 0, 5.0, 2 * Learner::kValueHalfLifeUs)}, max);
  EXPECT_TRUE(f.l.DescribePattern(3).ok());
}

TEST(LearnerAdmissionTest, AFloodOfWaitingPatternsDoesNotWipeAnotherOnesTimeAtStake) {
  Fixture f;
  const size_t max = 1;
  f.Feed({Exec(1, 0, 100.0, 0)}, max);
  f.Feed({Exec(2, 0, 60.0, 0, /*role=*/20)}, max);  // waits with 60 ms at stake
  std::vector<LearnInput> flood;
  for (uint64_t k = 1000; k < 1000 + 5000; ++k) flood.push_back(Exec(k, 0, 0.01, 0, /*role=*/30));
  f.Feed(flood, max);
  EXPECT_FALSE(f.l.DescribePattern(2).ok());
  f.Feed({Exec(2, 0, 60.0, 0, 20)}, max);  // 120 > 100
  EXPECT_TRUE(f.l.DescribePattern(2).ok());
}

// --- drift scope -------------------------------------------------------------------------

DriftScope Relations(std::vector<uint32_t> relations, uint32_t db = 5, double severity = 1.0) {
  DriftScope scope;
  scope.severity = severity;
  scope.database_oid = db;
  scope.every_relation = false;
  scope.relations = std::move(relations);
  return scope;
}

TEST(LearnerDriftTest, OnlyPatternsReadingTheChangedRelationsForget) {
  Fixture f;
  const uint32_t orders = 16384, items = 16390, customers = 16400;
  f.Deploy(1, 100.0, 10.0, 0);
  f.Feed({Exec(1, 1, 10.0, 0, 10, 5, {orders, customers})});
  f.Deploy(2, 100.0, 10.0, 0);
  f.Feed({Exec(2, 1, 10.0, 0, 10, 5, {items})});
  f.Deploy(3, 100.0, 10.0, 0, 10, /*db=*/6);
  f.Feed({Exec(3, 1, 10.0, 0, 10, /*db=*/6, {orders})});
  std::vector<DecisionUpdate> updates;
  EXPECT_EQ(f.l.NotifyDrift(Relations({17000, orders}), &updates), 1u);
  EXPECT_EQ(f.l.DeployedArm(1), 0u);  // forgot everything: back to the default
  EXPECT_EQ(f.l.DeployedArm(2), 1u);  // another relation
  EXPECT_EQ(f.l.DeployedArm(3), 1u);  // another database
  // Relations none of them reads (a temp table, another role's table): nothing.
  for (uint32_t relid = 16385; relid < 16390; ++relid) EXPECT_EQ(f.l.NotifyDrift(Relations({relid}), &updates), 0u);
  EXPECT_EQ(f.l.NotifyDrift(Relations({}), &updates), 0u);
  // ALTER SYSTEM of a planner setting: every database, every relation.
  DriftScope all;
  all.severity = 1.0;
  EXPECT_EQ(f.l.NotifyDrift(all, &updates), 3u);
}

TEST(LearnerDriftTest, APatternWithUnknownRelationsIsTouchedOnlyByWholeDatabaseChanges) {
  Fixture f;
  f.Deploy(1, 100.0, 10.0, 0);  // no relations recorded
  std::vector<DecisionUpdate> updates;
  EXPECT_EQ(f.l.NotifyDrift(Relations({16384}), &updates), 0u);
  EXPECT_EQ(f.l.DeployedArm(1), 1u);
  DriftScope database;
  database.severity = 1.0;
  database.database_oid = 5;
  EXPECT_EQ(f.l.NotifyDrift(database, &updates), 1u);
}

// --- re-validation (healing) ----------------------------------------------------------------

TEST(LearnerRevalidationTest, ASlowdownThatHitsTheDefaultTooKeepsTheArm) {
  Fixture f;
  f.Deploy(5, 150.0, 2.0, 0);
  ASSERT_TRUE(f.l.RequestRevalidation(5, 10 * kSecond).ok());
  EXPECT_TRUE(f.l.Revalidating(5));
  auto d = f.l.DescribePattern(5);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->baseline_wanted);
  // Under contention the arm runs 3x slower, and so does the default.
  f.Feed({Exec(5, 1, 6.0, 11 * kSecond), Exec(5, 1, 6.2, 11 * kSecond), Exec(5, 0, 450.0, 12 * kSecond)});
  EXPECT_TRUE(f.l.Revalidating(5));  // two arm runs so far: no verdict yet
  f.Feed({Exec(5, 1, 6.1, 13 * kSecond)});
  EXPECT_FALSE(f.l.Revalidating(5));
  EXPECT_EQ(f.l.DeployedArm(5), 1u);
  const auto verdicts = f.l.TakeRevalidationVerdicts();
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, Learner::RevalidationVerdict::Kind::kKept);
  EXPECT_EQ(verdicts[0].key, 5u);
  EXPECT_EQ(verdicts[0].arm, 1u);
  EXPECT_NEAR(verdicts[0].default_ms, 450.0, 1e-9);
  EXPECT_NEAR(verdicts[0].arm_ms, std::cbrt(6.0 * 6.2 * 6.1), 1e-9);
  EXPECT_TRUE(f.l.TakeRevalidationVerdicts().empty()) << "taken once";
}

TEST(LearnerRevalidationTest, AnArmSlowerThanTheFreshDefaultIsReverted) {
  Fixture f;
  f.Deploy(5, 20.0, 10.0, 0);
  ASSERT_TRUE(f.l.RequestRevalidation(5, 10 * kSecond).ok());
  // Runs from before the request do not count.
  f.Feed({Exec(5, 0, 50.0, 9 * kSecond)});
  f.events.clear();
  f.Feed({Exec(5, 0, 8.0, 11 * kSecond), Exec(5, 1, 12.0, 11 * kSecond), Exec(5, 1, 12.5, 12 * kSecond),
          Exec(5, 1, 12.2, 12 * kSecond)});
  EXPECT_EQ(f.l.DeployedArm(5), 0u);
  ASSERT_FALSE(f.events.empty());
  EXPECT_EQ(f.events.back().type, ruvector_dag::PatternEventType::kRevert);
  EXPECT_EQ(f.events.back().arm, 1);
  EXPECT_NEAR(f.events.back().default_ms, 8.0, 1e-9);
  const auto verdicts = f.l.TakeRevalidationVerdicts();
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, Learner::RevalidationVerdict::Kind::kReverted);
  EXPECT_EQ(verdicts[0].arm, 1u);
  EXPECT_NEAR(verdicts[0].default_ms, 8.0, 1e-9);
}

TEST(LearnerRevalidationTest, WithoutAFreshDefaultItEndsWithoutAVerdict) {
  Fixture f;
  f.Deploy(5, 150.0, 2.0, 0);
  EXPECT_FALSE(f.l.RequestRevalidation(99, 0).ok());  // unknown pattern
  ASSERT_TRUE(f.l.RequestRevalidation(5, kSecond).ok());
  f.Feed({Exec(5, 1, 9.0, 2 * kSecond), Exec(5, 1, 9.0, 2 * kSecond), Exec(5, 1, 9.0, 2 * kSecond)});
  EXPECT_TRUE(f.l.Revalidating(5));
  EXPECT_TRUE(f.l.TakeRevalidationVerdicts().empty());
  f.Feed({Exec(5, 1, 9.0, kSecond + Learner::kRevalidationTimeoutUs + 1)});
  EXPECT_FALSE(f.l.Revalidating(5));
  EXPECT_EQ(f.l.DeployedArm(5), 1u);
  const auto verdicts = f.l.TakeRevalidationVerdicts();
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, Learner::RevalidationVerdict::Kind::kExpired);
  // Cancelled: no verdict.
  ASSERT_TRUE(f.l.RequestRevalidation(5, 2 * Learner::kRevalidationTimeoutUs).ok());
  f.l.CancelRevalidation(5);
  f.Feed({Exec(5, 0, 9.0, 2 * Learner::kRevalidationTimeoutUs + 1), Exec(5, 1, 9.0, 2 * Learner::kRevalidationTimeoutUs + 2),
          Exec(5, 1, 9.0, 2 * Learner::kRevalidationTimeoutUs + 3), Exec(5, 1, 9.0, 2 * Learner::kRevalidationTimeoutUs + 4)});
  EXPECT_TRUE(f.l.TakeRevalidationVerdicts().empty());
}

// --- persistence ------------------------------------------------------------------------------

TEST(LearnerPersistenceTest, RoundTripKeepsOwnersRelationsAndTimeAtStake) {
  Fixture f;
  f.Deploy(5, 150.0, 2.0, 0, /*role=*/42);
  f.Feed({Exec(5, 1, 2.0, kSecond, 42, 5, {16384, 16500})});
  std::string image;
  f.l.SaveTo(&image, 77, 1234);
  Learner back;
  back.Reset(8);
  uint64_t through = 0;
  ASSERT_TRUE(back.LoadFrom(image, 77, 100, &through).ok());
  EXPECT_EQ(through, 1234u);
  EXPECT_EQ(back.DeployedArm(5), 1u);
  std::vector<DecisionUpdate> updates;
  EXPECT_EQ(back.NotifyDrift(Relations({16500}), &updates), 1u);
  // Another arm table, a flipped byte: refused, the learner unchanged.
  EXPECT_FALSE(back.LoadFrom(image, 78, 100, &through).ok());
  image[image.size() / 2] ^= 1;
  EXPECT_FALSE(back.LoadFrom(image, 77, 100, &through).ok());
  EXPECT_EQ(back.patterns(), 1u);
}

// --- the server's healing cycle ------------------------------------------------------------------

TEST(ServerHealingTest, ALatencySpikeOfADeployedArmStartsARevalidation) {
  Fixture f;
  f.Deploy(5, 100.0, 10.0, 0);
  ServerHealing h(&f.l);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.ObserveServed(5, 77, 10.0 + (i % 5) * 0.2).ok());
  HealingCycleOutput quiet;
  ASSERT_TRUE(h.RunCycle(kSecond, &quiet).ok());
  EXPECT_TRUE(quiet.findings.empty());
  EXPECT_TRUE(quiet.repairs.empty());
  EXPECT_EQ(quiet.monitored, 1u);

  ASSERT_TRUE(h.ObserveServed(5, 77, 400.0).ok());  // the served plan got slow
  HealingCycleOutput out;
  ASSERT_TRUE(h.RunCycle(2 * kSecond, &out).ok());
  ASSERT_FALSE(out.findings.empty());
  EXPECT_EQ(out.findings[0].kind, "latency_spike");
  EXPECT_EQ(out.findings[0].pattern_key, 5u);
  EXPECT_EQ(out.findings[0].query_id, 77u);
  ASSERT_EQ(out.repairs.size(), 1u);
  EXPECT_EQ(out.repairs[0].strategy, "revalidate_arm");
  EXPECT_EQ(out.repairs[0].pattern_key, 5u);
  // The verdict comes with later runs: the repair is unverified, not faked.
  EXPECT_EQ(out.repairs[0].outcome, "unverified");
  // Not reverted on the spot: the default is measured afresh first.
  EXPECT_EQ(f.l.DeployedArm(5), 1u);
  EXPECT_TRUE(f.l.Revalidating(5));
  ASSERT_EQ(out.touched.size(), 1u);
  // A second spike while re-validating starts nothing new.
  ASSERT_TRUE(h.ObserveServed(5, 77, 500.0).ok());
  HealingCycleOutput again;
  ASSERT_TRUE(h.RunCycle(3 * kSecond, &again).ok());
  EXPECT_TRUE(again.repairs.empty());
}

// The re-validation's verdict, reached on later runs, becomes the repair's
// outcome: kept or reverted on measured runs = succeeded, no fresh default
// within the timeout = timed out; the health score counts them.
TEST(ServerHealingTest, ARevalidationsVerdictBecomesTheRepairsOutcome) {
  struct Case {
    const char* name;
    std::vector<std::pair<int, double>> runs;  // (arm, ms) after the request
    int64_t at_us;
    const char* outcome;
    uint32_t deployed_after;
  };
  const Case cases[] = {
      {"kept", {{0, 100.0}, {1, 12.0}, {1, 12.5}, {1, 12.2}}, 3 * kSecond, "succeeded", 1},
      {"reverted", {{0, 8.0}, {1, 12.0}, {1, 12.5}, {1, 12.2}}, 3 * kSecond, "succeeded", 0},
      {"expired", {{1, 12.0}}, 2 * kSecond + Learner::kRevalidationTimeoutUs + 1, "timed_out", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    f.Deploy(5, 100.0, 10.0, 0);
    ServerHealing h(&f.l);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.ObserveServed(5, 77, 10.0 + (i % 5) * 0.2).ok());
    ASSERT_TRUE(h.ObserveServed(5, 77, 400.0).ok());
    HealingCycleOutput out;
    ASSERT_TRUE(h.RunCycle(2 * kSecond, &out).ok());
    ASSERT_EQ(out.repairs.size(), 1u);
    ASSERT_EQ(out.repairs[0].outcome, "unverified");
    EXPECT_EQ(out.health.repairs_succeeded + out.health.repairs_failed, 0u);
    std::vector<LearnInput> runs;
    for (const auto& [arm, ms] : c.runs) runs.push_back(Exec(5, arm, ms, c.at_us));
    f.Feed(runs);
    EXPECT_FALSE(f.l.Revalidating(5));
    EXPECT_EQ(f.l.DeployedArm(5), c.deployed_after);
    HealingCycleOutput later;
    ASSERT_TRUE(h.RunCycle(c.at_us + kSecond, &later).ok());
    ASSERT_EQ(later.repairs.size(), 1u);
    EXPECT_EQ(later.repairs[0].strategy, "revalidate_arm");
    EXPECT_EQ(later.repairs[0].action, "verdict of the re-validation");
    EXPECT_EQ(later.repairs[0].pattern_key, 5u);
    EXPECT_EQ(later.repairs[0].outcome, c.outcome);
    std::printf("# %s: %s\n", c.name, later.repairs[0].detail.c_str());
    const bool ok = std::string(c.outcome) == "succeeded";
    EXPECT_EQ(later.health.repairs_succeeded, ok ? 1u : 0u);
    EXPECT_EQ(later.health.repairs_failed, ok ? 0u : 1u);
    EXPECT_DOUBLE_EQ(later.health.repair_component, ok ? 1.0 : 0.5);
    HealingCycleOutput quiet;
    ASSERT_TRUE(h.RunCycle(c.at_us + 2 * kSecond, &quiet).ok());
    EXPECT_TRUE(quiet.repairs.empty()) << "one verdict per repair";
  }
}

TEST(ServerHealingTest, TinyLatenciesAndUnknownPatternsAreHarmless) {
  Learner l;
  l.Reset(8);
  ServerHealing h(&l);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(h.ObserveServed(9, 1, 0.002).ok());
  ASSERT_TRUE(h.ObserveServed(9, 1, 0.3).ok());  // 150x, but under the 1 ms floor
  ASSERT_TRUE(h.ObserveServed(0, 1, 5.0).ok());   // no pattern
  ASSERT_TRUE(h.ObserveServed(9, 1, -1.0).ok());  // ignored
  HealingCycleOutput out;
  ASSERT_TRUE(h.RunCycle(kSecond, &out).ok());
  EXPECT_TRUE(out.findings.empty());
  EXPECT_FALSE(l.RevertPattern(9).ok());  // not tracked by the learner
  for (uint64_t k = 100; k < 100 + ServerHealing::kMaxMonitoredPatterns + 10; ++k) {
    ASSERT_TRUE(h.ObserveServed(k, k, 3.0).ok());
  }
  EXPECT_EQ(h.monitored(), ServerHealing::kMaxMonitoredPatterns);
}

// --- capture slots --------------------------------------------------------------------------------

TEST(CaptureSlotsTest, ARoleHoldingHalfTheSlotsReplacesItsOwn) {
  auto s = std::make_unique<SteerState>();
  InitSteerState(s.get());
  // Another role's capture first, then a flood by role 30.
  CapturedStatement* alice = ClaimCapture(s.get(), 1, /*role_oid=*/20);
  alice->role_oid = 20;
  alice->captured_us = 1;
  for (uint64_t k = 100; k < 100 + 3 * kCaptureSlots; ++k) {
    CapturedStatement* c = ClaimCapture(s.get(), k, 30);
    c->role_oid = 30;
    c->captured_us = static_cast<int64_t>(k);
  }
  EXPECT_GE(FindCapture(s.get(), 1), 0) << "the flood took the other role's capture";
  int flood = 0;
  for (const CapturedStatement& c : s->captures) flood += c.role_oid == 30;
  EXPECT_EQ(flood, kCaptureSlots - 1);  // the free slots, then only its own
  // A third role still finds room (the flooder's oldest).
  ClaimCapture(s.get(), 7, 40)->role_oid = 40;
  EXPECT_GE(FindCapture(s.get(), 7), 0);
  EXPECT_GE(FindCapture(s.get(), 1), 0);
}

// --- decisions table ------------------------------------------------------------------------------

TEST(DecisionTableTest, RemoveKeepsEveryOtherKeyReachable) {
  auto s = std::make_unique<SteerState>();
  InitSteerState(s.get());
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; k <= 3000; ++k) keys.push_back(k * 0x9e3779b97f4a7c15ull);
  for (uint64_t k : keys) ASSERT_NE(UpsertDecision(s.get(), k), nullptr);
  for (size_t i = 0; i < keys.size(); i += 3) ASSERT_TRUE(RemoveDecision(s.get(), keys[i]));
  EXPECT_FALSE(RemoveDecision(s.get(), keys[0]));
  EXPECT_FALSE(RemoveDecision(s.get(), 0));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(FindDecision(s.get(), keys[i]) != nullptr, i % 3 != 0) << i;
  }
  EXPECT_EQ(s->decision_count, 2000u);
}

// --- the worker's engine settings ----------------------------------------------------

TEST(ServerEngineOptionsTest, EverySettingReachesTheValueModels) {
  const ruvector_dag::EngineOptions a = ServerEngineOptions(8, 100, 0.01, 5000.0, 2);
  EXPECT_TRUE(a.select_mechanism);
  EXPECT_DOUBLE_EQ(a.model.base_learning_rate, 0.01);
  EXPECT_DOUBLE_EQ(a.model.adapter_learning_rate, 0.02);
  EXPECT_DOUBLE_EQ(a.model.ewc_lambda, 5000.0);
  EXPECT_EQ(a.model.lora_rank, 2u);
  EXPECT_EQ(a.bank.max_clusters, 100u);
  auto engine_a = ruvector_dag::Engine::Create(a).value();
  EXPECT_EQ(engine_a->Mechanisms().lanes.size(), ruvector_dag::kAttentionMechanismCount);
  // ruvector.sona_micro_lora_rank: the adapters' shape.
  auto engine_r = ruvector_dag::Engine::Create(ServerEngineOptions(8, 100, 0.01, 5000.0, 6)).value();
  EXPECT_EQ(engine_r->model().parameter_count() - engine_a->model().parameter_count(),
            4 * ruvector_dag::kOperatorTypeCount * (ruvector_dag::kEmbeddingDim + a.model.hidden));
  // ruvector.dag_learning_rate and ruvector.sona_ewc_lambda: the step and
  // the penalty (ValueModelTest.TheLearningRateAndEwcLambdaChangeTheStep).
  EXPECT_DOUBLE_EQ(ServerEngineOptions(8, 100, 0.2, 5000.0, 2).model.base_learning_rate, 0.2);
  EXPECT_DOUBLE_EQ(ServerEngineOptions(8, 100, 0.01, 7.0, 2).model.ewc_lambda, 7.0);
  // An image of a rank-2 engine is refused by a rank-6 one (learning restarts).
  EXPECT_EQ(engine_r->ImportState(engine_a->ExportState()).code(), ruvector_dag::StatusCode::kFailedPrecondition);
}

TEST(ServerEngineOptionsTest, TheWantedMechanismAndItsReason) {
  const char* source = nullptr;
  EXPECT_EQ(WantedMechanism(kAttentionRequestNone, "auto", &source), std::nullopt);
  EXPECT_STREQ(source, "ruvector.dag_attention");
  EXPECT_EQ(WantedMechanism(kAttentionRequestNone, "mincut_gated", &source),
            ruvector_dag::AttentionMechanism::kMinCutGated);
  // dag_set_attention overrides the worker's setting, 'auto' included.
  EXPECT_EQ(WantedMechanism(kAttentionRequestAuto, "mincut_gated", &source), std::nullopt);
  EXPECT_STREQ(source, "dag_set_attention");
  EXPECT_EQ(WantedMechanism(kAttentionRequestForced + static_cast<uint8_t>(ruvector_dag::AttentionMechanism::kTopological),
                            "auto", &source),
            ruvector_dag::AttentionMechanism::kTopological);
  EXPECT_EQ(WantedMechanism(200, "auto", &source), std::nullopt);
  ruvector_dag::MechanismStatus st;
  st.forced = true;
  st.lanes = {{ruvector_dag::AttentionMechanism::kTopological, 0.25, 80},
              {ruvector_dag::AttentionMechanism::kCausalCone, 0.5, 80}};
  EXPECT_EQ(MechanismReason(st, 64, "dag_set_attention"),
            "forced by dag_set_attention; held-out error: topological 0.250, causal_cone 0.500 over 80 runs");
  st.forced = false;
  st.switches = 1;
  EXPECT_EQ(MechanismReason(st, 64, "x"),
            "selected: by held-out error, switching only to a clearly lower one (1 switches): topological 0.250, causal_cone 0.500 over 80 runs");
  st.lanes[0].evaluated = st.lanes[1].evaluated = 10;
  EXPECT_EQ(MechanismReason(st, 64, "x").rfind("selecting: 10 of 64 held-out runs per mechanism so far", 0), 0u);
}

// --- the learning pass's sample ------------------------------------------------------

TEST(RunSampleTest, KeepsAtMostPerGroupRunsOfEachGroupAndCountsEveryRun) {
  RunSample a(4), b(4);
  a.Reset(100, 7);
  b.Reset(100, 7);
  std::vector<uint64_t> runs(4, 0);
  std::vector<double> weights(4, 0.0);
  std::vector<std::vector<int32_t>> slots(4);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t key = i % 3 == 0 ? 11 : 22;
    const uint32_t arm = static_cast<uint32_t>(i % 2);
    const RunSample::Offered x = a.Offer(key, arm, i);
    const RunSample::Offered y = b.Offer(key, arm, i);
    ASSERT_EQ(x.group, y.group);  // same seed, same runs: same sample
    ASSERT_EQ(x.slot, y.slot);
    ASSERT_LT(x.group, 4u);
    ++runs[x.group];
    weights[x.group] += i;
    if (x.slot >= 0 && std::find(slots[x.group].begin(), slots[x.group].end(), x.slot) == slots[x.group].end()) {
      slots[x.group].push_back(x.slot);
    }
  }
  EXPECT_EQ(a.groups(), 4u);
  EXPECT_EQ(a.slots(), 16u);
  for (uint32_t g = 0; g < 4; ++g) {
    EXPECT_EQ(slots[g].size(), 4u) << g;  // each group reuses its own four slots
    EXPECT_EQ(a.runs(g), runs[g]);
    EXPECT_DOUBLE_EQ(a.weight(g), weights[g]);
  }
  // Another seed keeps other runs; Reset starts over.
  RunSample c(4);
  c.Reset(100, 8);
  a.Reset(100, 7);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t key = i % 3 == 0 ? 11 : 22;
    const RunSample::Offered x = a.Offer(key, static_cast<uint32_t>(i % 2), 1.0);
    const RunSample::Offered z = c.Offer(key, static_cast<uint32_t>(i % 2), 1.0);
    differ += x.slot != z.slot;
  }
  EXPECT_GT(differ, 0);
  EXPECT_EQ(a.runs(0) + a.runs(1) + a.runs(2) + a.runs(3), 1000u);
}

TEST(RunSampleTest, EveryRunIsEquallyLikelyToBeKept) {
  // 64 runs of one group, 4 kept, over 20,000 seeds: each run is kept
  // 1,250 times in expectation (sd ~34).
  constexpr int kRuns = 64, kSeeds = 20000;
  std::vector<int> kept(kRuns, 0);
  RunSample sample(4);
  for (int seed = 0; seed < kSeeds; ++seed) {
    sample.Reset(1, static_cast<uint64_t>(seed));
    int holder[4] = {-1, -1, -1, -1};
    for (int i = 0; i < kRuns; ++i) {
      const RunSample::Offered o = sample.Offer(5, 0, 1.0);
      ASSERT_LT(o.slot, 4);
      if (o.slot >= 0) holder[o.slot] = i;
    }
    for (int h : holder) {
      ASSERT_GE(h, 0);
      ++kept[h];
    }
  }
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_GT(kept[i], 1100) << "run " << i;
    EXPECT_LT(kept[i], 1400) << "run " << i;
  }
}

TEST(RunSampleTest, AnOfferOfSeveralRunsCountsThemAllAndIsKeptInProportion) {
  // 100 single runs fill a group of 4 slots, then one offer stands for 10
  // runs: it is kept with probability 4 x 10 / 110 (0.364), a single run in
  // its place with 4 / 101 (0.040).
  constexpr int kSeeds = 20000;
  int kept_ten = 0, kept_one = 0;
  RunSample sample(4);
  for (int seed = 0; seed < kSeeds; ++seed) {
    for (uint32_t runs : {10u, 1u}) {
      sample.Reset(1, static_cast<uint64_t>(seed));
      for (int i = 0; i < 100; ++i) sample.Offer(5, 0, 1.0);
      const RunSample::Offered o = sample.Offer(5, 0, 2.5 * runs, runs);
      ASSERT_EQ(sample.runs(0), 100u + runs);
      ASSERT_DOUBLE_EQ(sample.weight(0), 100.0 + 2.5 * runs);
      ASSERT_LT(o.slot, 4);
      (runs == 10 ? kept_ten : kept_one) += o.slot >= 0;
    }
  }
  EXPECT_NEAR(kept_ten / static_cast<double>(kSeeds), 40.0 / 110.0, 0.02);
  EXPECT_NEAR(kept_one / static_cast<double>(kSeeds), 4.0 / 101.0, 0.006);
  // The first offers of a group are kept whatever they stand for.
  sample.Reset(1, 3);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(sample.Offer(6, 0, 1.0, 50).slot, i);
  EXPECT_EQ(sample.runs(0), 200u);
}

TEST(RunSampleTest, AGroupBeyondTheLimitIsNeitherKeptNorCounted) {
  RunSample sample(2);
  sample.Reset(2, 1);
  EXPECT_EQ(sample.Offer(1, 0, 1.0).group, 0u);
  EXPECT_EQ(sample.Offer(2, 0, 1.0).group, 1u);
  const RunSample::Offered third = sample.Offer(3, 0, 1.0);
  EXPECT_EQ(third.group, RunSample::kNoGroup);
  EXPECT_EQ(third.slot, -1);
  EXPECT_EQ(sample.Offer(1, 0, 1.0).group, 0u);  // known groups still are
  EXPECT_EQ(sample.groups(), 2u);
  EXPECT_EQ(sample.runs(0), 2u);
  // Without Reset nothing is kept.
  RunSample empty(3);
  EXPECT_EQ(empty.Offer(1, 0, 1.0).group, RunSample::kNoGroup);
}

TEST(ServerEngineOptionsTest, TrainingIsBudgetedPerPatternAndArm) {
  const ruvector_dag::EngineOptions o = ServerEngineOptions(4, 8, 0.01, 0.1, 2);
  EXPECT_GT(o.train_rate_per_arm, 0.0);
  EXPECT_GE(o.train_burst_per_arm, 1u);
  EXPECT_TRUE(ruvector_dag::ValidateEngineOptions(o).ok());
}

// Hot and cold constants of one statement, estimated alike by the planner:
// their runs differ by 100x and barely within each constant.
TEST(ConstantGroupsTest, ConstantsThatExplainTheSpreadSplitThePattern) {
  // 3x apart: split after kSplitMinRuns runs.
  ConstantGroups g;
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(g.Split()) << "after " << 2 * i << " runs";  // fewer than kSplitMinRuns
    g.Add(11, 21.0 + 0.6 * i);
    g.Add(22, 7.0 + 0.2 * i);
  }
  EXPECT_TRUE(g.Split());
  // 100x apart: two runs of each settle it.
  ConstantGroups far;
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(far.Split()) << "after " << 2 * i << " runs";
    far.Add(11, 700.0 + 20.0 * i);
    far.Add(22, 7.0 + 0.2 * i);
  }
  EXPECT_TRUE(far.Split());
  // ... but not when a constant's own runs spread (a load spike): wait for more.
  ConstantGroups spiky;
  spiky.Add(11, 700.0);
  spiky.Add(22, 7.0);
  spiky.Add(11, 70.0);
  spiky.Add(22, 7.2);
  EXPECT_FALSE(spiky.Split());
}

// T18a and T18b of the star workload at scale 4: one pattern, defaults of
// about 160 and 60 ms (alike to the split test: T18b's runs spread), and an
// arm that runs T18b at 7 ms and T18a at 540 ms.
TEST(ConstantGroupsTest, AnArmThatHelpsOneConstantsAndHurtsAnotherSplitsThePattern) {
  constexpr int kStride = 4;
  GroupRun runs[2 * kStride];
  int counts[2] = {0, 0};
  const double reference[2] = {160.0, 61.0};  // geometric means of each constants' default runs
  auto add = [&](int g, int arm, double ms) { runs[g * kStride + counts[g]++] = GroupRun{static_cast<int8_t>(arm), false, false, ms, 0}; };
  auto differ = [&](int groups = 2, bool (*skip)(int) = nullptr) {
    return ArmEffectsDiffer(runs, groups, kStride, counts, reference, skip);
  };
  add(1, 3, 6.9);
  add(1, 3, 7.9);
  EXPECT_FALSE(differ());  // the arm ran on one constants only
  add(0, 3, 538.0);
  EXPECT_FALSE(differ());  // one run there is not enough
  runs[0 * kStride + counts[0]++] = GroupRun{3, true, false, 547.0, 0};
  EXPECT_FALSE(differ());  // a run cancelled at its timeout is not a completed run
  runs[0 * kStride + 1] = GroupRun{3, false, false, 547.0, 0};
  EXPECT_TRUE(differ());
  // Slower by less than kArmSplitRatio x the reference (160 ms): noise.
  runs[0 * kStride + 1].latency_ms = 190.0;
  EXPECT_FALSE(differ());
  runs[0 * kStride + 1].latency_ms = 547.0;
  // Faster by less than the reference / kArmSplitRatio (61 ms) on the other: no help shown.
  runs[1 * kStride + 1].latency_ms = 52.0;
  EXPECT_FALSE(differ());
  runs[1 * kStride + 1].latency_ms = 7.9;
  // A run of the arm cancelled at its timeout there: it does not help there.
  runs[1 * kStride + counts[1]++] = GroupRun{3, true, false, 120.0, 0};
  EXPECT_FALSE(differ());
  --counts[1];
  EXPECT_TRUE(differ());
  // Another arm on the other constants proves nothing about arm 3.
  runs[1 * kStride + 0].arm = runs[1 * kStride + 1].arm = 4;
  EXPECT_FALSE(differ());
  runs[1 * kStride + 0].arm = runs[1 * kStride + 1].arm = 3;
  // An arm whose content changes over time (a learned hint) is not compared.
  EXPECT_FALSE(differ(2, [](int arm) { return arm == 3; }));
  // An arm that helps both constants splits nothing; nor does one that hurts both.
  runs[0 * kStride + 0].latency_ms = runs[0 * kStride + 1].latency_ms = 20.0;
  EXPECT_FALSE(differ());
  runs[0 * kStride + 0].latency_ms = runs[0 * kStride + 1].latency_ms = 540.0;
  runs[1 * kStride + 0].latency_ms = runs[1 * kStride + 1].latency_ms = 90.0;
  EXPECT_FALSE(differ());
  // Without a reference (fewer than two default runs) a constants proves nothing.
  runs[1 * kStride + 0].latency_ms = runs[1 * kStride + 1].latency_ms = 7.0;
  EXPECT_TRUE(differ());
  const double no_reference[2] = {160.0, 0.0};
  EXPECT_FALSE(ArmEffectsDiffer(runs, 2, kStride, counts, no_reference, nullptr));
  // One group, or nothing at all.
  EXPECT_FALSE(differ(1));
  EXPECT_FALSE(ArmEffectsDiffer(nullptr, 2, kStride, counts, reference, nullptr));
}

TEST(ConstantGroupsTest, NoiseConstantsThatNeverRepeatAndNoConstantsSplitNothing) {
  // The same constants, runs spread by load: no second group.
  ConstantGroups same;
  for (int i = 0; i < 16; ++i) same.Add(5, i % 2 == 0 ? 10.0 : 200.0);
  EXPECT_FALSE(same.Split());
  // Two constants whose runs spread as much within as between them.
  ConstantGroups noisy;
  for (int i = 0; i < 16; ++i) noisy.Add(i % 2 == 0 ? 1 : 2, i % 4 < 2 ? 10.0 : 200.0);
  EXPECT_FALSE(noisy.Split());
  // Constants that never repeat (a point lookup by id): groups of one run,
  // and only the first kMaxGroups constants are counted at all.
  ConstantGroups unique;
  for (int i = 0; i < 64; ++i) unique.Add(1000 + i, i % 2 == 0 ? 1.0 : 100.0);
  EXPECT_FALSE(unique.Split());
  // Two constants whose latencies hardly differ: nothing to split.
  ConstantGroups close;
  for (int i = 0; i < 16; ++i) close.Add(i % 2 == 0 ? 1 : 2, i % 2 == 0 ? 10.0 : 12.0);
  EXPECT_FALSE(close.Split());
  // No constants, or no valid latency: nothing is counted.
  ConstantGroups none;
  for (int i = 0; i < 16; ++i) none.Add(0, i % 2 == 0 ? 1.0 : 100.0);
  none.Add(3, -1.0);
  none.Add(3, std::nan(""));
  EXPECT_EQ(none.count, 0);
}

TEST(ConstantGroupsTest, ADeployedArmIsServedOnlyToMeasuredConstantsUntilTheSplitTestCanTell) {
  const bool first[ConstantGroups::kMaxGroups] = {true};         // group 0 ran the arm
  const bool second[ConstantGroups::kMaxGroups] = {false, true};  // group 1 did
  const bool both[ConstantGroups::kMaxGroups] = {true, true};
  // One constants so far (the arm was measured on its statements): only
  // they get the arm.
  ConstantGroups g;
  EXPECT_EQ(g.MeasuredConstants(first), 0u);  // nothing seen: no restriction
  for (int i = 0; i < 4; ++i) g.Add(11, 180.0);
  EXPECT_EQ(g.MeasuredConstants(first), 11u);
  EXPECT_EQ(g.MeasuredConstants(nullptr), 11u);  // (no arm runs kept: the most default runs)
  // Other constants run the default plan: the restriction holds until the
  // split test has its data (both twice, kSplitMinRuns together).
  ConstantGroups apart = g;
  for (int i = 0; i < 3; ++i) {
    apart.Add(22, 40.0);  // 4.5x apart: only the full test can split them
    EXPECT_EQ(apart.MeasuredConstants(first), 11u) << "after " << i + 1 << " runs";
    EXPECT_FALSE(apart.Split());
  }
  apart.Add(22, 40.0);
  EXPECT_TRUE(apart.Split());  // 8 runs: they become patterns of their own
  ConstantGroups same = g;
  for (int i = 0; i < 3; ++i) {
    same.Add(22, 175.0);
    EXPECT_EQ(same.MeasuredConstants(first), 11u);
  }
  same.Add(22, 178.0);
  EXPECT_FALSE(same.Split());
  EXPECT_EQ(same.MeasuredConstants(first), 0u);  // they run alike: the arm is for both
  // The constants the arm ran with are the measured ones, even with fewer
  // default runs; with both, there is nothing left to protect.
  ConstantGroups other = g;
  other.Add(22, 5.0);
  EXPECT_EQ(other.MeasuredConstants(second), 22u);
  EXPECT_EQ(other.MeasuredConstants(both), 0u);
  // Constants that do not repeat (a lookup by id) are served as before.
  ConstantGroups unique;
  for (int i = 0; i < 3; ++i) unique.Add(1000 + i, 3.0);
  EXPECT_EQ(unique.MeasuredConstants(first), 0u);
  // Constants seen only under arms, none known to be the deployed one's: no
  // restriction.
  ConstantGroups armed;
  armed.hash[armed.count++] = 11;
  EXPECT_EQ(armed.MeasuredConstants(nullptr), 0u);
  EXPECT_EQ(armed.MeasuredConstants(first), 11u);
}

TEST(ConstantGroupsTest, OldRunsFadeSoAChangeShows) {
  // Both constants ran alike for a long time, then one became 100x slower:
  // each group weighs at most kMaxGroupRuns runs, so the change shows.
  ConstantGroups g;
  for (int i = 0; i < 200; ++i) {
    g.Add(1, 10.0);
    g.Add(2, 10.0 * (1.0 + 0.01 * (i % 3)));
  }
  EXPECT_FALSE(g.Split());
  EXPECT_LE(g.n[0], ConstantGroups::kMaxGroupRuns);
  for (int i = 0; i < 200; ++i) {
    g.Add(1, 1000.0);
    g.Add(2, 10.0);
  }
  EXPECT_TRUE(g.Split());
}

}  // namespace
}  // namespace ruvector_pg
