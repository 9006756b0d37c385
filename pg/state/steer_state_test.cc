// Unit tests of the steering state (arms, pins, decisions, ChooseArm) and the
// learner (bandit per pattern); no server needed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "worker/healing_host.h"
#include "worker/learner.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "state/steer_state.h"

namespace ruvector_pg {
namespace {

std::unique_ptr<SteerState> NewState() {
  auto s = std::make_unique<SteerState>();
  InitSteerState(s.get());
  return s;
}

TEST(SteerStateTest, BuiltinArmsAndCustomArms) {
  auto s = NewState();
  EXPECT_EQ(s->arm_count, static_cast<uint32_t>(kBuiltinArmCount));
  EXPECT_EQ(FindArm(s.get(), "default"), 0);
  EXPECT_EQ(FindArm(s.get(), "row_corrections"), kRowCorrectionsArm);
  EXPECT_STREQ(s->arms[kRowCorrectionsArm].settings, "");
  EXPECT_EQ(FindArm(s.get(), "fix_worst_join"), kFixWorstJoinArm);
  EXPECT_STREQ(s->arms[kFixWorstJoinArm].settings, "");
  EXPECT_TRUE(ArmContentIsLocal(kRowCorrectionsArm));
  EXPECT_TRUE(ArmContentIsLocal(kFixWorstJoinArm));
  EXPECT_FALSE(ArmContentIsLocal(1));
  EXPECT_FALSE(ArmContentIsLocal(kBuiltinArmCount));  // a custom arm: plain settings
  EXPECT_EQ(FindArm(s.get(), "no_nestloop"), 1);
  EXPECT_STREQ(s->arms[1].settings, "enable_nestloop=off\n");
  uint64_t gen = s->arm_generation;
  int idx = AddArm(s.get(), "mine", "work_mem=64MB\n");
  EXPECT_EQ(idx, kBuiltinArmCount);
  EXPECT_GT(s->arm_generation, gen);
  EXPECT_EQ(AddArm(s.get(), "mine", "work_mem=1MB\n"), -1);  // duplicate
  EXPECT_FALSE(RemoveArm(s.get(), 1));                       // built in
  ASSERT_TRUE(SetPin(s.get(), 42, idx));
  ASSERT_TRUE(SetPin(s.get(), 43, 2));
  EXPECT_TRUE(RemoveArm(s.get(), idx));
  EXPECT_EQ(PinnedArm(s.get(), 42), -1);  // pin on the removed arm is gone
  EXPECT_EQ(PinnedArm(s.get(), 43), 2);
  EXPECT_EQ(s->arm_count, static_cast<uint32_t>(kBuiltinArmCount));
}

TEST(SteerStateTest, PinsHoldInTheirDatabase) {
  auto s = NewState();
  ASSERT_TRUE(SetPin(s.get(), 42, 1, /*database_oid=*/5));
  EXPECT_EQ(PinnedArm(s.get(), 42, 5), 1);
  EXPECT_EQ(PinnedArm(s.get(), 42, 6), -1);  // the same query id in another database
  ASSERT_TRUE(SetPin(s.get(), 42, 2, 0));     // a pin for every database (older files)
  EXPECT_EQ(PinnedArm(s.get(), 42, 6), 2);
  EXPECT_EQ(PinnedArm(s.get(), 42, 5), 1);    // the database's own pin wins
  EXPECT_FALSE(RemovePin(s.get(), 42, 6));
  EXPECT_TRUE(RemovePin(s.get(), 42, 5));
  EXPECT_EQ(PinnedArm(s.get(), 42, 5), 2);
  // Round trip through the steering file.
  ASSERT_TRUE(SetPin(s.get(), 43, 3, 16384));
  char image[4096];
  size_t n = SteerConfigImage(s.get(), image, sizeof(image));
  ASSERT_LT(n, sizeof(image));
  EXPECT_NE(std::string(image, n).find("pin 43 nestloop_index_only 16384\n"), std::string::npos);
  auto t = NewState();
  char error[160];
  int arms = 0, pins = 0;
  ASSERT_TRUE(LoadSteerConfig(image, n, t.get(), error, sizeof(error), &arms, &pins)) << error;
  EXPECT_EQ(pins, 2);
  EXPECT_EQ(PinnedArm(t.get(), 43, 16384), 3);
  EXPECT_EQ(PinnedArm(t.get(), 43, 1), -1);
  EXPECT_EQ(PinnedArm(t.get(), 42, 1), 2);
}

TEST(SteerStateTest, QueryIdZeroIsNeverPinned) {
  auto s = NewState();
  EXPECT_FALSE(RemovePin(s.get(), 0));  // empty slots hold 0: not a pin
  ASSERT_TRUE(SetPin(s.get(), 42, 1));
  EXPECT_FALSE(RemovePin(s.get(), 0));
  EXPECT_EQ(PinnedArm(s.get(), 42), 1);
  EXPECT_TRUE(RemovePin(s.get(), 42));
  EXPECT_FALSE(RemovePin(s.get(), 42));
}

TEST(SteerStateTest, ArmTableBound) {
  auto s = NewState();
  for (int i = kBuiltinArmCount; i < kMaxArms; ++i) EXPECT_EQ(AddArm(s.get(), ("a" + std::to_string(i)).c_str(), "x=1\n"), i);
  EXPECT_EQ(AddArm(s.get(), "one_too_many", "x=1\n"), -1);
}

TEST(SteerStateTest, ChooseArmServesDeployedWithBaselineChecks) {
  auto s = NewState();
  Decision* d = UpsertDecision(s.get(), 7);
  ASSERT_NE(d, nullptr);
  d->query_id = 99;
  d->deployed_arm = 2;
  d->explore_arm = -1;
  int baseline = 0, deployed = 0;
  for (int i = 0; i < 32; ++i) {
    SteerChoice c = ChooseArm(s.get(), 7, 99, 0.0, 8);
    if (c.action == SteerAction::kBaselineCheck) {
      EXPECT_EQ(c.arm, 0);
      ++baseline;
    } else {
      EXPECT_EQ(c.action, SteerAction::kServe);
      EXPECT_EQ(c.arm, 2);
      ++deployed;
    }
  }
  EXPECT_EQ(baseline, 4);
  EXPECT_EQ(deployed, 28);
  // Unknown pattern: PostgreSQL's plan, nothing counted.
  SteerChoice c = ChooseArm(s.get(), 8, 99, 1.0, 8);
  EXPECT_EQ(c.arm, 0);
  EXPECT_EQ(c.action, SteerAction::kDefault);
}

TEST(SteerStateTest, ADeployedArmIsNotServedToConstantsItWasNotMeasuredWith) {
  auto s = NewState();
  Decision* d = UpsertDecision(s.get(), 7);
  d->query_id = 99;
  d->deployed_arm = 2;
  d->explore_arm = -1;
  d->measured_constants = 11;
  // The measured constants, and plannings without constants, get the arm.
  for (uint64_t constants : {uint64_t{11}, uint64_t{0}}) {
    SteerChoice c = ChooseArm(s.get(), 7, 99, 0.0, 0, true, 0, constants);
    EXPECT_EQ(c.action, SteerAction::kServe);
    EXPECT_EQ(c.arm, 2);
    EXPECT_FALSE(c.unmeasured_constants);
  }
  // Other constants get PostgreSQL's plan, counted.
  SteerChoice c = ChooseArm(s.get(), 7, 99, 0.0, 0, true, 0, 22);
  EXPECT_EQ(c.action, SteerAction::kDefault);
  EXPECT_EQ(c.arm, 0);
  EXPECT_TRUE(c.unmeasured_constants);
  EXPECT_EQ(s->counters.unmeasured_constants_plans, 1u);
  // Without a restriction every planning gets the arm.
  d->measured_constants = 0;
  c = ChooseArm(s.get(), 7, 99, 0.0, 0, true, 0, 22);
  EXPECT_EQ(c.arm, 2);
  EXPECT_FALSE(c.unmeasured_constants);
}

TEST(SteerStateTest, ExplorationStaysWithinBudget) {
  auto s = NewState();
  Decision* d = UpsertDecision(s.get(), 7);
  d->explore_arm = 3;
  int explored = 0;
  for (int i = 0; i < 100; ++i) explored += ChooseArm(s.get(), 7, 1, 0.25, 16).action == SteerAction::kExplore;
  EXPECT_EQ(explored, 25);
  // No budget: never explores.
  for (int i = 0; i < 10; ++i) EXPECT_NE(ChooseArm(s.get(), 7, 1, 0.0, 16).action, SteerAction::kExplore);
}

TEST(SteerStateTest, PinWinsAndFilterFollowsDecisions) {
  auto s = NewState();
  Decision* d = UpsertDecision(s.get(), 7);
  d->query_id = 5;
  d->deployed_arm = 1;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(QueryFilterFlags(s.get(), 5), kFilterDeployedOrPinned);
  EXPECT_EQ(QueryFilterFlags(s.get(), 6), 0);
  // A pattern split by constants marks its query id (its plannings look for
  // their constants' pattern).
  Decision* split = UpsertDecision(s.get(), 8);
  split->query_id = 6;
  split->split = 1;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(QueryFilterFlags(s.get(), 6), kFilterSplit);
  EXPECT_EQ(QueryFilterFlags(s.get(), 5), kFilterDeployedOrPinned);
  SetPin(s.get(), 5, 4);
  SteerChoice c = ChooseArm(s.get(), 7, 5, 0.0, 0);
  EXPECT_EQ(c.action, SteerAction::kPinned);
  EXPECT_EQ(c.arm, 4);
  ClearDecisions(s.get());
  EXPECT_EQ(s->decision_count, 0u);
  EXPECT_EQ(QueryFilterFlags(s.get(), 5), kFilterDeployedOrPinned);  // the pin stays
}

TEST(SteerStateTest, AutoRepairEntriesCannotPushTheWorkersRepairsOut) {
  auto s = NewState();
  HealthRepairEntry worker;
  std::strcpy(worker.origin, "worker");
  std::strcpy(worker.action, "revalidate_arm");
  worker.pattern_key = 42;
  AppendRepair(s.get(), worker);
  // Any role's dag_auto_repair calls: 20 entries each, far more than a ring holds.
  HealthRepairEntry manual;
  std::strcpy(manual.origin, "auto_repair");
  for (int i = 0; i < 10 * kHealthRingCapacity; ++i) AppendRepair(s.get(), manual);
  std::vector<HealthRepairEntry> rows(kHealthRingCapacity);
  ASSERT_EQ(CopyNewest(s->repairs, s->repair_next_seq, kHealthRingCapacity, rows.data()), 1);
  EXPECT_EQ(rows[0].pattern_key, 42u);
  EXPECT_STREQ(rows[0].action, "revalidate_arm");
  EXPECT_EQ(rows[0].seq, 1u);
  // dag_auto_repair's own history keeps its newest entries, numbered on its own.
  ASSERT_EQ(CopyNewest(s->manual_repairs, s->manual_repair_next_seq, kHealthRingCapacity, rows.data()),
            kHealthRingCapacity);
  EXPECT_EQ(rows[0].seq, static_cast<uint64_t>(10 * kHealthRingCapacity));
  EXPECT_STREQ(rows[0].origin, "auto_repair");
}

TEST(SteerStateTest, ServedGenerationMovesOnlyWhenWhatPlanningsServeChanged) {
  auto s = NewState();
  Decision* d = UpsertDecision(s.get(), 7);
  d->query_id = 5;
  RebuildQueryFilter(s.get());
  const uint64_t start = ServedGeneration(s.get());
  // Exploring another candidate changes no served plan: cached plans stay.
  d->explore_arm = 3;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start);
  // A deployment, a revert, a pin and an unpin each do.
  d->deployed_arm = 2;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 1);
  d->deployed_arm = 0;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 2);
  SetPin(s.get(), 5, 4);
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 3);
  RemovePin(s.get(), 5);
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 4);
  d->split = 1;
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 5);
  // Rebuilding with nothing changed leaves it.
  RebuildQueryFilter(s.get());
  EXPECT_EQ(ServedGeneration(s.get()), start + 5);
}

TEST(SteerStateTest, DecisionTableBound) {
  auto s = NewState();
  uint32_t inserted = 0;
  for (uint64_t k = 1; k <= kDecisionSlots; ++k) inserted += UpsertDecision(s.get(), k) != nullptr;
  EXPECT_EQ(inserted, kDecisionSlots / 8 * 7);
  for (uint64_t k = 1; k <= inserted; ++k) ASSERT_NE(FindDecision(s.get(), k), nullptr);
}

TEST(SteerStateTest, EventsRingKeepsNewest) {
  auto s = NewState();
  for (int i = 0; i < kEventCapacity + 10; ++i) {
    LearnEvent e;
    e.arm = i;
    AppendEvent(s.get(), e);
  }
  EXPECT_EQ(s->event_next_seq, static_cast<uint64_t>(kEventCapacity + 11));
  const LearnEvent& newest = s->events[(s->event_next_seq - 2) % kEventCapacity];
  EXPECT_EQ(newest.arm, kEventCapacity + 9);
}

std::vector<LearnInput> Runs(uint64_t key, int arm, double ms, int n, bool same_plan = false) {
  std::vector<LearnInput> v;
  for (int i = 0; i < n; ++i) {
    LearnInput in;
    in.pattern_key = key;
    in.query_id = 11;
    in.arm = arm;
    in.latency_ms = ms * (1.0 + 0.01 * (i % 3));
    in.same_plan = same_plan;
    v.push_back(in);
  }
  return v;
}

CapturedStatement* Capture(SteerState* s, uint64_t key, uint32_t db, uint32_t role, int64_t at) {
  CapturedStatement* c = ClaimCapture(s, key);
  c->database_oid = db;
  c->role_oid = role;
  c->captured_us = at;
  std::snprintf(c->text, sizeof(c->text), "SELECT %llu", static_cast<unsigned long long>(key));
  return c;
}

Decision* Decide(SteerState* s, uint64_t key, int deployed, int explore, double default_ms, double best_ms) {
  Decision* d = UpsertDecision(s, key);
  d->query_id = key + 1000;
  d->deployed_arm = deployed;
  d->explore_arm = explore;
  d->default_ms = default_ms;
  d->deployed_ms = deployed > 0 ? best_ms : default_ms;
  d->best_candidate_arm = best_ms > 0.0 ? 1 : -1;
  d->best_candidate_ms = best_ms;
  return d;
}

/// The worker's plan with these settings (factor 2, minimum 1.2, slack 2 ms,
/// two runs per job).
ExplorePlan Plan(uint32_t baseline_interval = 16, uint32_t db = 0, uint32_t role = 0, double min_default_ms = 0.0,
                 double credit_ms = 0.0, double max_credit_ms = 0.0) {
  ExplorePlan p;
  p.baseline_interval = baseline_interval;
  p.only_database = db;
  p.only_role = role;
  p.min_default_ms = min_default_ms;
  p.credit_ms = credit_ms;
  p.max_credit_ms = max_credit_ms;
  return p;
}

TEST(CaptureTest, WantedOnlyForPatternsWithACandidateAndRefreshedWhenOld) {
  auto s = NewState();
  EXPECT_FALSE(CaptureWanted(s.get(), 5, 1000, 100));  // unknown pattern
  Decision* d = Decide(s.get(), 5, 0, 2, 10.0, 0.0);
  EXPECT_TRUE(CaptureWanted(s.get(), 5, 1000, 100));
  Capture(s.get(), 5, 1, 10, 1000);
  EXPECT_FALSE(CaptureWanted(s.get(), 5, 1050, 100));
  EXPECT_TRUE(CaptureWanted(s.get(), 5, 1100, 100));
  d->explore_arm = -1;  // nothing left to explore
  EXPECT_FALSE(CaptureWanted(s.get(), 5, 5000, 100));
  d->deployed_arm = 1;  // the explorer refreshes a deployed arm's baseline
  EXPECT_TRUE(CaptureWanted(s.get(), 5, 5000, 100));
  // A fast default is not worth exploring, but a deployed arm's baseline is.
  d->explore_arm = 2;
  d->deployed_arm = 0;
  EXPECT_FALSE(CaptureWanted(s.get(), 5, 5000, 100, 50.0));
  EXPECT_TRUE(CaptureWanted(s.get(), 5, 5000, 100, 5.0));
  d->deployed_arm = 1;
  EXPECT_TRUE(CaptureWanted(s.get(), 5, 5000, 100, 50.0));
  EXPECT_FALSE(CaptureWanted(s.get(), 0, 5000, 100));
}

TEST(CaptureTest, ClaimPrefersEmptyThenFinishedThenOldest) {
  auto s = NewState();
  for (int i = 0; i < kCaptureSlots; ++i) {
    Decide(s.get(), 100 + i, 0, 1, 5.0, 0.0);
    Capture(s.get(), 100 + i, 1, 10, 1000 + i);
  }
  EXPECT_EQ(FindCapture(s.get(), 100), 0);
  // A pattern with nothing left to explore is replaced before the oldest.
  FindDecision(s.get(), 130)->explore_arm = -1;
  Capture(s.get(), 999, 1, 10, 5000);
  EXPECT_EQ(FindCapture(s.get(), 130), -1);
  EXPECT_GE(FindCapture(s.get(), 999), 0);
  EXPECT_GE(FindCapture(s.get(), 100), 0);
  // Then the oldest capture goes.
  Capture(s.get(), 998, 1, 10, 6000);
  EXPECT_EQ(FindCapture(s.get(), 100), -1);
  // Re-capturing a pattern reuses its slot.
  int slot = FindCapture(s.get(), 998);
  Capture(s.get(), 998, 1, 10, 7000);
  EXPECT_EQ(FindCapture(s.get(), 998), slot);
}

TEST(CaptureTest, BatchGroupsByDatabaseAndRoleMostValuableFirst) {
  auto s = NewState();
  Decide(s.get(), 1, 0, 3, 200.0, 0.0);   // candidate 3, default 200 ms
  Decide(s.get(), 2, 0, 4, 10.0, 2.5);    // best candidate 2.5 ms
  Decide(s.get(), 3, 0, 5, 50.0, 0.0);    // other database
  Decide(s.get(), 4, 0, -1, 50.0, 0.0);   // nothing to explore
  Decide(s.get(), 5, 0, 2, 0.0, 0.0);     // default not measured yet
  Capture(s.get(), 1, 7, 10, 100);
  Capture(s.get(), 2, 7, 10, 100);
  Capture(s.get(), 3, 8, 10, 100);
  Capture(s.get(), 4, 7, 10, 100);
  Capture(s.get(), 5, 7, 10, 100);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  // Without a time at stake, each pattern is worth its default latency:
  // pattern 2 saves 10 ms per 2 x 2.5 ms of runs, patterns 1 and 3 their
  // default per two runs of it.
  EXPECT_GT(ExploreValue(s.get(), FindCapture(s.get(), 2), 1000, Plan()),
            ExploreValue(s.get(), FindCapture(s.get(), 1), 1000, Plan()));
  EXPECT_EQ(ExploreValue(s.get(), FindCapture(s.get(), 4), 1000, Plan()), 0.0);
  EXPECT_EQ(ExploreValue(s.get(), FindCapture(s.get(), 5), 1000, Plan()), 0.0);
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 2);
  EXPECT_EQ(r.database_oid, 7u);
  EXPECT_EQ(r.role_oid, 10u);
  EXPECT_EQ(r.jobs[0].pattern_key, 2u);
  // ceil(2 x 10 + 2): the default (what a candidate must beat), not the best
  // candidate measured (2.5 ms), sizes it.
  EXPECT_EQ(r.jobs[0].timeout_ms, 22);
  EXPECT_EQ(r.jobs[0].runs, 2);
  EXPECT_EQ(r.jobs[1].pattern_key, 1u);
  EXPECT_EQ(r.jobs[1].timeout_ms, 402);
  EXPECT_EQ(s->captures[FindCapture(s.get(), 1)].last_explored_us, 1000);
  // The time at stake orders them: pattern 1 ran far more often.
  double stake[kCaptureSlots] = {0};
  stake[FindCapture(s.get(), 1)] = 100000.0;
  ExplorePlan staked = Plan();
  staked.stake_ms = stake;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1100, staked, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  // Waiting raises a capture's value (at most 7x, after 60 s): the other
  // database's pattern comes first once it waited long enough.
  ASSERT_EQ(PlanExploreBatch(s.get(), 1200, Plan(), &r), 2);
  EXPECT_EQ(r.database_oid, 7u);
  s->captures[FindCapture(s.get(), 1)].last_explored_us = 59 * 1000000;  // explored a second ago
  s->captures[FindCapture(s.get(), 2)].last_explored_us = 59 * 1000000;
  ASSERT_EQ(PlanExploreBatch(s.get(), 60 * 1000000, Plan(), &r), 1);
  EXPECT_EQ(r.database_oid, 8u);
  EXPECT_EQ(r.jobs[0].pattern_key, 3u);
  EXPECT_EQ(r.jobs[0].timeout_ms, 102);  // 2 x 50 + 2
  // A minimum default latency keeps fast patterns out (pattern 2: 10 ms).
  ASSERT_EQ(PlanExploreBatch(s.get(), 2200, Plan(16, 7, 10, 50.0), &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);  // 200 ms default
  // Work for a running explorer: only its database and role.
  ASSERT_EQ(PlanExploreBatch(s.get(), 2500, Plan(16, 8, 10), &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 3u);
  uint32_t db = 0, role = 0;
  EXPECT_FALSE(NextExploreOwner(s.get(), 2500, Plan(16, 8, 11), &db, &role));
  EXPECT_EQ(PlanExploreBatch(s.get(), 2500, Plan(16, 8, 11), &r), 0);
  // Unsafe or failing captures are not planned.
  s->captures[FindCapture(s.get(), 1)].unsafe = 1;
  s->captures[FindCapture(s.get(), 2)].failures = kMaxCaptureFailures;
  s->captures[FindCapture(s.get(), 3)].failures = kMaxCaptureFailures;
  EXPECT_EQ(PlanExploreBatch(s.get(), 3000, Plan(), &r), 0);
}

TEST(CaptureTest, DueBaselineRunsInTheBackgroundNotOnUsers) {
  auto s = NewState();
  Decision* d = Decide(s.get(), 9, 1, -1, 100.0, 3.0);
  // Without the background explorer, every 4th planning is a baseline check
  // in the user's statement.
  int baseline = 0;
  for (int i = 0; i < 8; ++i) baseline += ChooseArm(s.get(), 9, d->query_id, 0.0, 4, false).action ==
                                            SteerAction::kBaselineCheck;
  EXPECT_EQ(baseline, 2);
  // With it, never -- with or without a capture: the explorer takes the
  // baseline run when it can re-execute the statement.
  baseline = 0;
  for (int i = 0; i < 8; ++i) baseline += ChooseArm(s.get(), 9, d->query_id, 0.0, 4, true).action ==
                                            SteerAction::kBaselineCheck;
  EXPECT_EQ(baseline, 0);
  Capture(s.get(), 9, 7, 10, 100);
  for (int i = 0; i < 8; ++i) baseline += ChooseArm(s.get(), 9, d->query_id, 0.0, 4, true).action ==
                                            SteerAction::kBaselineCheck;
  EXPECT_EQ(baseline, 0);
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(4), &r), 1);
  EXPECT_EQ(r.jobs[0].arm, 0);
  EXPECT_EQ(r.jobs[0].runs, 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 402);  // 2 x 2 x 100 + 2
  EXPECT_EQ(FindDecision(s.get(), 9)->since_baseline, 0u);
  EXPECT_EQ(PlanExploreBatch(s.get(), 2000, Plan(4), &r), 0);  // not due again yet
}

TEST(CaptureTest, PlanningsCannotKeepTheExplorerOnOneRolesBaselines) {
  auto s = NewState();
  // Role 10's pattern 9 serves a fast deployed arm over a 100 ms default:
  // its own plannings make a baseline due as often as it likes.
  Decide(s.get(), 9, 1, -1, 100.0, 3.0);
  Capture(s.get(), 9, 7, 10, 100);
  // Role 11's pattern 5 waits with a candidate to measure.
  Decide(s.get(), 5, 0, 2, 100.0, 0.0);
  Capture(s.get(), 5, 7, 11, 100);
  ExplorePlan plan = Plan(4);
  plan.cpu_budget = 0.1;
  ExploreRequest r;
  FindDecision(s.get(), 9)->since_baseline = 4;
  ASSERT_GE(PlanExploreBatch(s.get(), 1000, plan, &r), 1);
  EXPECT_EQ(r.role_oid, 10u);  // a due baseline comes first
  EXPECT_EQ(r.jobs[0].arm, 0);
  // Due again by plannings at once: the other role's candidate goes next.
  FindDecision(s.get(), 9)->since_baseline = 4;
  ASSERT_GE(PlanExploreBatch(s.get(), 2000, plan, &r), 1);
  EXPECT_EQ(r.role_oid, 11u);
  EXPECT_EQ(r.jobs[0].arm, 2);
  // The spacing: 64 slots x 100 ms / 0.1 of a CPU = 64 s (x the load).
  EXPECT_EQ(BaselineSpacingUs(*FindDecision(s.get(), 9), 0.1, 1.0), 64000000);
  EXPECT_EQ(BaselineSpacingUs(*FindDecision(s.get(), 9), 0.1, 2.0), 128000000);
  EXPECT_EQ(BaselineSpacingUs(*FindDecision(s.get(), 9), 0.0, 1.0), 0);
  FindDecision(s.get(), 5)->explore_arm = -1;
  EXPECT_EQ(PlanExploreBatch(s.get(), 1000 + 63000000, plan, &r), 0);
  ASSERT_GE(PlanExploreBatch(s.get(), 1000 + 64000000, plan, &r), 1);
  EXPECT_EQ(r.role_oid, 10u);
  EXPECT_EQ(r.jobs[0].arm, 0);
}

TEST(CaptureTest, UnsafeCapturesAreNeverCapturedAgainAndRefreshesKeepTheBackOff) {
  auto s = NewState();
  Decide(s.get(), 5, 0, 2, 10.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 5, 1, 10, 1000);
  c->last_explored_us = 1500;
  c->timeout_arm = 2;
  c->timeout_streak = 2;
  // A refresh (new parameters) keeps when it ran and its timeout back-off.
  ASSERT_TRUE(CaptureWanted(s.get(), 5, 2000, 100));
  c = Capture(s.get(), 5, 1, 10, 2000);
  EXPECT_EQ(c->last_explored_us, 1500);
  EXPECT_EQ(c->timeout_arm, 2);
  EXPECT_EQ(c->timeout_streak, 2u);
  // Refused (at capture or by the explorer): not captured again, however old.
  c->unsafe = 1;
  EXPECT_FALSE(CaptureWanted(s.get(), 5, 1000000, 100));
  // Another pattern's capture in a full table takes the unsafe slot first.
  for (int i = 1; i < kCaptureSlots; ++i) {
    Decide(s.get(), 100 + i, 0, 1, 5.0, 0.0);
    Capture(s.get(), 100 + i, 1, 10, 500 + i);
  }
  Decide(s.get(), 999, 0, 1, 5.0, 0.0);
  Capture(s.get(), 999, 1, 10, 9000);
  EXPECT_EQ(FindCapture(s.get(), 5), -1);
  EXPECT_GE(FindCapture(s.get(), 101), 0);
}

TEST(CaptureTest, ASplitPatternsCaptureMovesToItsConstantsKeyAndIsExploredThere) {
  auto s = NewState();
  // Pattern 5 mixes two constants' statements; its capture is one of them,
  // whose constants key is 6.
  Decision* mixed = Decide(s.get(), 5, 0, 1, 50.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 5, 1, 10, 1000);
  c->split_key = 6;
  c->timeout_arm = 1;
  c->timeout_streak = 1;
  c->reference_ms = 90.0;
  // The worker splits 5: it neither explores nor serves; 6 explores arm 1.
  mixed->split = 1;
  mixed->explore_arm = -1;
  Decide(s.get(), 6, 0, 1, 90.0, 0.0);
  ExploreRequest r;
  EXPECT_EQ(PlanExploreBatch(s.get(), 2000, Plan(), &r), 0);  // nothing to explore under 5 any more
  // A batch not finished yet with a job on the slot: it stays for now.
  const int slot = FindCapture(s.get(), 5);
  s->explore.id = 1;
  s->explore.job_count = 1;
  s->explore.jobs[0].capture = slot;
  s->explore.finished_us = 0;
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), slot));
  s->explore.finished_us = 1500;
  ASSERT_TRUE(MoveCaptureToSplitKey(s.get(), slot));
  EXPECT_EQ(FindCapture(s.get(), 5), -1);
  ASSERT_EQ(FindCapture(s.get(), 6), slot);
  const CapturedStatement& moved = s->captures[slot];
  EXPECT_STREQ(moved.text, "SELECT 5");  // the same statement
  EXPECT_EQ(moved.split_key, 0u);
  EXPECT_EQ(moved.timeout_arm, 1);  // and what the explorer learned about it
  EXPECT_EQ(moved.timeout_streak, 1u);
  EXPECT_EQ(moved.reference_ms, 90.0);
  // Explored under its constants' key in the next batch, without waiting
  // for an execution of it to be captured. (With the statement's timeout
  // streak, a run of its default measures the load too.)
  ASSERT_EQ(PlanExploreBatch(s.get(), 3000, Plan(), &r), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(r.jobs[i].pattern_key, 6u);
    EXPECT_EQ(r.jobs[i].capture, slot);
  }
  EXPECT_EQ(r.jobs[0].arm, 1);
  EXPECT_EQ(r.jobs[1].arm, 0);
  EXPECT_EQ(r.jobs[1].probe, 1);
  // Nothing moves twice, nor onto a capture the constants' pattern holds,
  // nor without a split key, nor when the statement is not explorable.
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), slot));
  Decide(s.get(), 7, 0, 1, 50.0, 0.0);
  Capture(s.get(), 7, 1, 10, 4000)->split_key = 6;
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), FindCapture(s.get(), 7)));
  EXPECT_GE(FindCapture(s.get(), 7), 0);
  Decide(s.get(), 8, 0, 1, 50.0, 0.0);
  Capture(s.get(), 8, 1, 10, 4000);
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), FindCapture(s.get(), 8)));
  Decide(s.get(), 9, 0, 1, 50.0, 0.0);
  CapturedStatement* unsafe = Capture(s.get(), 9, 1, 10, 4000);
  unsafe->split_key = 19;
  unsafe->unsafe = 1;
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), FindCapture(s.get(), 9)));
  unsafe->unsafe = 0;
  unsafe->failures = kMaxCaptureFailures;
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), FindCapture(s.get(), 9)));
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), -1));
  EXPECT_FALSE(MoveCaptureToSplitKey(s.get(), kCaptureSlots));
}

TEST(CaptureTest, AJobMeasuresAsManyRunsAsTheLearnerNeedsToJudgeTheArm) {
  auto s = NewState();
  Decision* d = Decide(s.get(), 1, 0, 3, 100.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 1, 7, 10, 100);
  ExploreRequest r;
  d->explore_runs = 5;  // a new arm
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].runs, 5);
  d->explore_runs = 200;  // never more than kMaxJobRuns
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].runs, kMaxJobRuns);
  d->explore_runs = 1;  // judged already: the plan's two runs
  ASSERT_EQ(PlanExploreBatch(s.get(), 3000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].runs, 2);
  // Five runs that do not fit the credit: one.
  d->explore_runs = 5;
  ASSERT_EQ(PlanExploreBatch(s.get(), 4000, Plan(16, 0, 0, 0.0, 500.0), &r), 1);
  EXPECT_EQ(r.jobs[0].runs, 1);
  // After a timeout: one longer run.
  NoteRunOutcome(c, 3, /*timed_out=*/true);
  ASSERT_GE(PlanExploreBatch(s.get(), 5000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].runs, 1);
}

TEST(CaptureTest, AnUnfinishedBatchChargesOnlyTheJobThatWasRunning) {
  auto s = NewState();
  for (uint64_t k = 1; k <= 3; ++k) {
    Decide(s.get(), k, 0, 2, 100.0, 0.0);
    Capture(s.get(), k, 7, 10, 100);
  }
  ExploreRequest& r = s->explore;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 3);
  auto failures = [&](uint64_t k) { return s->captures[FindCapture(s.get(), k)].failures; };
  // Died during its second job: only that job's statement may be the cause.
  r.running_job = 1;
  EXPECT_EQ(ChargeUnfinishedBatch(s.get()), 1);
  const uint64_t second = r.jobs[1].pattern_key;
  for (uint64_t k = 1; k <= 3; ++k) EXPECT_EQ(failures(k), k == second ? 1u : 0u) << k;
  // Died before its first job (it could not connect): every capture.
  r.running_job = -1;
  EXPECT_EQ(ChargeUnfinishedBatch(s.get()), 3);
  for (uint64_t k = 1; k <= 3; ++k) EXPECT_EQ(failures(k), k == second ? 2u : 1u) << k;
  // A capture replaced since (another pattern in its slot) is not charged.
  s->captures[r.jobs[0].capture].pattern_key = 99;
  EXPECT_EQ(ChargeUnfinishedBatch(s.get()), 2);
}

TEST(CaptureTest, TimeoutsFollowTheLoadAndBackOffPerArm) {
  auto s = NewState();
  Decide(s.get(), 1, 0, 3, 100.0, 0.0);  // candidate 3, default 100 ms
  CapturedStatement* c = Capture(s.get(), 1, 7, 10, 100);
  ExploreRequest r;
  // Quiet server: 2 x best + 2 ms, two runs, and no probe.
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 202);
  EXPECT_EQ(r.jobs[0].runs, 2);
  EXPECT_EQ(r.jobs[0].probe, 0);
  // Each consecutive timeout of arm 3 on this statement doubles its next
  // timeout (one run), up to 8 x the default (x load); a completed run ends it.
  NoteRunOutcome(c, 3, /*timed_out=*/true);
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, Plan(), &r), 2);
  EXPECT_EQ(r.jobs[0].timeout_ms, 402);
  EXPECT_EQ(r.jobs[0].runs, 1);
  // ... and the batch measures the load with one run of the default.
  EXPECT_EQ(r.jobs[1].arm, 0);
  EXPECT_EQ(r.jobs[1].probe, 1);
  EXPECT_EQ(r.jobs[1].runs, 1);
  EXPECT_DOUBLE_EQ(r.jobs[1].expected_ms, 100.0);
  EXPECT_EQ(r.jobs[1].timeout_ms, 402);  // 2 x 2 x 100 + 2
  NoteRunOutcome(c, 3, true);
  NoteRunOutcome(c, 3, true);
  NoteRunOutcome(c, 3, true);
  EXPECT_EQ(c->timeout_streak, 4u);
  ASSERT_GE(PlanExploreBatch(s.get(), 3000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 802);  // capped at 8 x 100 (not 16 x 200)
  NoteRunOutcome(c, 0, true);  // another arm's timeout starts its own streak
  EXPECT_EQ(c->timeout_arm, 0);
  EXPECT_EQ(c->timeout_streak, 1u);
  NoteRunOutcome(c, 0, false);
  EXPECT_EQ(c->timeout_streak, 0u);
  ASSERT_EQ(PlanExploreBatch(s.get(), 4000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 202);

  // A probe 3x slower than the default's measured latency: every timeout
  // is scaled by 3, and the next batches probe again until the load is gone.
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 300.0, 100.0, false, 5000), 3.0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 5000, Plan(), &r), 2);
  EXPECT_EQ(r.jobs[0].timeout_ms, 602);  // 2 x 100 x 3 + 2
  EXPECT_EQ(r.jobs[1].probe, 1);
  EXPECT_EQ(r.jobs[1].timeout_ms, 1202);
  // ... unless the probe does not fit the credit.
  ASSERT_EQ(PlanExploreBatch(s.get(), 5100, Plan(16, 0, 0, 0.0, 1300.0), &r), 1);
  // A cancelled probe at least doubles the estimate; the bound is 16.
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 700.0, 100.0, true, 6000), 7.0);
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 900.0, 100.0, true, 6100), 14.0);
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 900.0, 100.0, true, 6200), kMaxExploreLoad);
  // The load ends: the next probe brings the timeouts back (never below 1x).
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 60.0, 100.0, false, 7000), 1.0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 7000, Plan(), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 202);
  EXPECT_EQ(s->explore_load_us, 7000);
  // Nonsense inputs change nothing.
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 50.0, 0.0, false, 8000), 1.0);
}

TEST(CaptureTest, AProbeIsMeasuredAgainstItsOwnStatementsDefaultTime) {
  // The pattern's default latency (40 ms) mixes a fast and a slow statement;
  // the capture holds the slow one, whose default plan took 160 ms when it
  // was captured. A probe of it at 170 ms is no sign of load.
  auto s = NewState();
  Decide(s.get(), 1, 0, 3, 40.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 1, 7, 10, 100);
  c->reference_ms = 160.0;
  NoteRunOutcome(c, 3, /*timed_out=*/true);  // the batch then carries a probe
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 2);
  ASSERT_EQ(r.jobs[1].probe, 1);
  EXPECT_DOUBLE_EQ(r.jobs[1].expected_ms, 160.0);
  EXPECT_EQ(r.jobs[1].timeout_ms, 642);  // 2 x 2 x 160 + 2: the slow statement completes
  EXPECT_DOUBLE_EQ(RecordLoadProbe(s.get(), 170.0, r.jobs[1].expected_ms, false, 1100), 170.0 / 160.0);
  // Without a reference (captured under an arm): the pattern's default.
  c->reference_ms = 0.0;
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, Plan(), &r), 2);
  EXPECT_DOUBLE_EQ(r.jobs[1].expected_ms, 40.0);
}

TEST(CaptureTest, EveryJobFitsTheCredit) {
  auto s = NewState();
  for (int i = 0; i < 6; ++i) {
    Decide(s.get(), 10 + i, 0, 2, 100.0, 0.0);  // 2 runs x 202 ms each
    Capture(s.get(), 10 + i, 7, 10, 100);
  }
  ExploreRequest r;
  // 404 + 404, then one run cut to the 192 ms left (>= 1.2 x 100 + 2).
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, 1000.0), &r), 3);
  EXPECT_EQ(r.jobs[2].runs, 1);
  EXPECT_EQ(r.jobs[2].timeout_ms, 192);
  int64_t worst = 0;
  for (int i = 0; i < r.job_count; ++i) worst += static_cast<int64_t>(r.jobs[i].runs) * r.jobs[i].timeout_ms;
  EXPECT_LE(worst, 1000);
  // Less credit than one useful run (122 ms): nothing now, the job waits.
  EXPECT_EQ(PlanExploreBatch(s.get(), 2000, Plan(16, 0, 0, 0.0, 100.0), &r), 0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, Plan(16, 0, 0, 0.0, 130.0), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 130);
  // A job that can never fit the budget is not planned at all.
  EXPECT_EQ(ExploreValue(s.get(), FindCapture(s.get(), 12), 3000, Plan(16, 0, 0, 0.0, 1e6, 100.0)), 0.0);
  EXPECT_EQ(PlanExploreBatch(s.get(), 3000, Plan(16, 0, 0, 0.0, 1e6, 100.0), &r), 0);
  EXPECT_EQ(PlanExploreBatch(s.get(), 4000, Plan(), &r), 6);  // unlimited
}

// Votes owed on peers' proposals (Decision::validation; docs/sync.md,
// "Validation quota"): run only by the background explorer, within the
// validation credit, timed against the default even where another arm is
// deployed, and ranked although the engine did not value the trial.
TEST(CaptureTest, ValidationJobsRunOnlyInTheBackgroundWithinTheirOwnCredit) {
  auto s = NewState();
  for (int i = 0; i < 4; ++i) {
    Decision* d = Decide(s.get(), 10 + i, 1, 3, 100.0, 20.0);  // arm 1 deployed at 20 ms; a vote owed on arm 3
    d->validation = 1;
    d->explore_runs = 20;
    Capture(s.get(), 10 + i, 7, 10, 100);
  }
  Decision* own = Decide(s.get(), 20, 0, 2, 100.0, 0.0);  // this server's own candidate
  own->explore_gain_ms = 1e6;
  Capture(s.get(), 20, 7, 10, 100);
  // A user's statement never runs it, whatever its exploration budget.
  for (int i = 0; i < 20; ++i) EXPECT_NE(ChooseArm(s.get(), 10, 1011, 1.0, 0).action, SteerAction::kExplore);
  ExploreRequest r;
  // No validation credit: only the server's own candidate.
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(0, 0, 0, 0.0, 1e6), &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 20u);
  EXPECT_EQ(r.validation_ms, 0.0);
  EXPECT_EQ(ExploreValue(s.get(), FindCapture(s.get(), 10), 1000, Plan(0, 0, 0, 0.0, 1e6)), 0.0);
  // 1,500 ms of validation credit in 10 s of credit: 5 runs x 202 ms (2 x the
  // default + 2, not 2 x the deployed arm's 20 ms: a cancelled run must
  // still say the arm is slower than the default), then one run each for
  // two more (490 ms and 288 ms left); the fourth waits (86 ms left).
  ExplorePlan plan = Plan(0, 0, 0, 0.0, 10000.0);
  plan.validation_credit_ms = 1500.0;
  EXPECT_GT(ExploreValue(s.get(), FindCapture(s.get(), 10), 2000, plan), 0.0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, plan, &r), 4);
  double validation = 0.0;
  int validation_jobs = 0;
  for (int i = 0; i < r.job_count; ++i) {
    if (r.jobs[i].pattern_key == 20u) continue;
    ++validation_jobs;
    EXPECT_EQ(r.jobs[i].arm, 3);
    validation += static_cast<double>(r.jobs[i].runs) * r.jobs[i].timeout_ms;
  }
  EXPECT_EQ(validation_jobs, 3);
  EXPECT_EQ(r.jobs[1].runs, 5);
  EXPECT_EQ(r.jobs[1].timeout_ms, 202);
  EXPECT_EQ(validation, 1414.0);
  EXPECT_LE(validation, 1500.0);
  EXPECT_DOUBLE_EQ(r.validation_ms, validation);
}

TEST(CaptureTest, ATimedOutArmIsRetriedLongerAndSinksInTheOrder) {
  auto s = NewState();
  Decide(s.get(), 1, 0, 3, 100.0, 0.0);
  Decide(s.get(), 2, 0, 4, 100.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 1, 7, 10, 100);
  Capture(s.get(), 2, 7, 10, 100);
  const double before = ExploreValue(s.get(), FindCapture(s.get(), 1), 1000, Plan());
  NoteRunOutcome(c, 3, true);
  // Its lower bound already passed the timeout: less plausible gain, a
  // longer (costlier) run -- still planned, never dropped.
  const double after = ExploreValue(s.get(), FindCapture(s.get(), 1), 1000, Plan());
  EXPECT_GT(after, 0.0);
  EXPECT_LT(after, before);
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(), &r), 3);  // two candidates + the load probe
  EXPECT_EQ(r.jobs[0].pattern_key, 2u);
  EXPECT_EQ(r.jobs[1].pattern_key, 1u);
  EXPECT_EQ(r.jobs[1].timeout_ms, 402);
  // Short credit: the retry is not cut below the timeout that already
  // expired (a shorter run could tell nothing new).
  for (CapturedStatement& k : s->captures) k.last_explored_us = 0;
  FindDecision(s.get(), 2)->explore_arm = -1;
  EXPECT_EQ(PlanExploreBatch(s.get(), 2000, Plan(16, 0, 0, 0.0, 202.0), &r), 0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 2000, Plan(16, 0, 0, 0.0, 300.0), &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 300);
}

TEST(CaptureTest, TheEngineValueOfATrialOrdersTheWorkAndATrialThatCannotPayGetsNoJob) {
  auto s = NewState();
  Decision* d1 = Decide(s.get(), 1, 0, 3, 100.0, 0.0);  // candidate 3, default 100 ms
  Decision* d2 = Decide(s.get(), 2, 0, 4, 100.0, 0.0);  // candidate 4, default 100 ms
  Capture(s.get(), 1, 7, 10, 100);
  Capture(s.get(), 2, 7, 10, 100);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  const int slot1 = FindCapture(s.get(), 1), slot2 = FindCapture(s.get(), 2);
  const ExplorePlan plan = Plan();
  auto value = [&](int slot) { return ExploreValue(s.get(), slot, 1000, plan); };
  // The same trial (two runs of about 100 ms); pattern 1 runs five times as
  // often, so the engine expects five times the saving from it.
  d1->explore_gain_ms = 5000.0;
  d2->explore_gain_ms = 1000.0;
  const double aging = 1.0 + 900e-6 / 10.0;  // 900 us waited
  EXPECT_DOUBLE_EQ(value(slot1), (5000.0 - 200.0) / 200.0 * aging);
  EXPECT_DOUBLE_EQ(value(slot2), (1000.0 - 200.0) / 200.0 * aging);
  // The time at stake no longer decides: the engine's gain does.
  d2->priority = 1e6;
  EXPECT_GT(value(slot1), value(slot2));
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  EXPECT_EQ(r.jobs[1].pattern_key, 2u);
  // A trial expected to save less than it costs gets no job ...
  d2->explore_gain_ms = 150.0;
  EXPECT_EQ(value(slot2), 0.0);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  // ... also after a timeout that halves the plausible gain ...
  d2->explore_gain_ms = 1000.0;
  NoteRunOutcome(&s->captures[slot2], 4, /*timed_out=*/true);
  NoteRunOutcome(&s->captures[slot2], 4, /*timed_out=*/true);
  EXPECT_EQ(value(slot2), 0.0);  // 250 ms of gain against one run of 800 ms
  // ... and when nothing pays, no batch at all: the budget is a cap.
  d1->explore_gain_ms = 150.0;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  EXPECT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 0);
}

TEST(CaptureTest, DefaultRunsAVerdictWaitsForAreMeasuredBeforeMoreCandidateRuns) {
  auto s = NewState();
  // Pattern 1: candidate 3 measured clearly faster, its verdict waits for two
  // more runs of the default; pattern 2: an ordinary trial of candidate 4.
  Decision* d1 = Decide(s.get(), 1, 0, 3, 100.0, 40.0);
  Decide(s.get(), 2, 0, 4, 100.0, 0.0);
  Capture(s.get(), 1, 7, 10, 100);
  Capture(s.get(), 2, 7, 10, 100);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  const int slot1 = FindCapture(s.get(), 1);
  const ExplorePlan plan = Plan();
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].arm, 3);  // without the field: the candidate, as before
  d1->default_runs_wanted = 2;
  // Ruled in for a capture even with no candidate left to offer.
  d1->explore_arm = -1;
  EXPECT_FALSE(CaptureRuledOut(s.get(), 1, 0.0));
  d1->explore_arm = 3;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  const ExploreJob* job = r.jobs[0].pattern_key == 1 ? &r.jobs[0] : &r.jobs[1];
  EXPECT_EQ(job->arm, 0) << "the default, not more runs of the candidate";
  EXPECT_EQ(job->runs, 2);
  EXPECT_EQ(job->probe, 1) << "a run of the default measures the load";
  EXPECT_EQ(FindDecision(s.get(), 1)->last_baseline_us, 0) << "not a baseline check";
  // Valued by the engine: the candidate's saving within the horizon against
  // two default runs of 100 ms.
  d1->verdict_gain_ms = 3000.0;
  const double aging = 1.0 + 900e-6 / 10.0;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  EXPECT_DOUBLE_EQ(ExploreValue(s.get(), slot1, 1000, plan), (3000.0 - 200.0) / 200.0 * aging);
  d1->verdict_gain_ms = 150.0;  // worth less than the runs cost
  EXPECT_EQ(ExploreValue(s.get(), slot1, 1000, plan), 0.0);
  // Once an arm is deployed, baseline checks measure the default instead.
  d1->verdict_gain_ms = 3000.0;
  d1->deployed_arm = 3;
  d1->deployed_ms = 40.0;
  d1->explore_arm = 2;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  job = r.jobs[0].pattern_key == 1 ? &r.jobs[0] : &r.jobs[1];
  EXPECT_EQ(job->arm, 2);
}

TEST(CaptureTest, TheFirstTrialThatDoesNotFitBorrowsForItsWholeJobOncePerBatch) {
  auto s = NewState();
  Decision* slow = Decide(s.get(), 1, 0, 3, 300.0, 0.0);   // worth most: 2 runs x 602 ms at worst
  Decision* slow2 = Decide(s.get(), 3, 0, 2, 300.0, 0.0);  // the same, worth a little less
  Decision* quick = Decide(s.get(), 2, 0, 4, 10.0, 0.0);   // fits any batch
  slow->explore_gain_ms = 1e6;
  slow2->explore_gain_ms = 9e5;
  quick->explore_gain_ms = 1000.0;
  Capture(s.get(), 1, 7, 10, 0);
  Capture(s.get(), 2, 7, 10, 0);
  Capture(s.get(), 3, 7, 10, 0);
  ExploreRequest r;
  // 100 ms of credit, at most 3 s saved up: the first slow trial is planned
  // whole (it overdraws by about 1.1 s, owed before the next batch) and
  // nothing after it fits -- not the second slow trial, not the quick one.
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, 100.0, 3000.0), &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  EXPECT_EQ(r.jobs[0].runs, 2);
  EXPECT_EQ(r.jobs[0].timeout_ms, 602);
  // A debt beyond the most that can be saved up is not taken: the slow
  // trials wait (a shortened run could not fit either) and the quick one runs.
  for (CapturedStatement& c : s->captures) c.last_explored_us = 0;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, 100.0, 1000.0), &r), 1);
  EXPECT_EQ(r.jobs[0].pattern_key, 2u);
  // Nothing is borrowed against a credit that is spent.
  for (CapturedStatement& c : s->captures) c.last_explored_us = 0;
  EXPECT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, PlanCreditMs(-2000.0), 3000.0), &r), 0);
  // A baseline check is never planned on credit it does not have.
  quick->explore_arm = -1;
  slow->explore_arm = slow2->explore_arm = -1;
  slow->deployed_arm = 3;
  slow->deployed_ms = 100.0;
  slow->since_baseline = 16;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 0;
  EXPECT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, 100.0, 3000.0), &r), 0);
}

TEST(CaptureTest, ASpentCreditPlansNothingAndIsNeverTakenForAnUnlimitedOne) {
  auto s = NewState();
  Decide(s.get(), 1, 0, 3, 100.0, 0.0);
  Capture(s.get(), 1, 7, 10, 0);
  ExploreRequest r;
  // The worker charges a finished batch and plans the next one at once: a
  // credit the charge used up (or overdrew) must plan no job, where a plan
  // credit of 0 would mean "unlimited" (a batch of full-length jobs).
  for (double credit_us : {0.0, -1.0, -500000.0}) {
    const double credit_ms = PlanCreditMs(credit_us);
    EXPECT_GT(credit_ms, 0.0);
    EXPECT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, credit_ms), &r), 0) << credit_us;
  }
  EXPECT_DOUBLE_EQ(PlanCreditMs(250000.0), 250.0);
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(16, 0, 0, 0.0, PlanCreditMs(250000.0)), &r), 1);
  EXPECT_LE(r.jobs[0].runs * r.jobs[0].timeout_ms, 250);
}

TEST(CaptureTest, TensionAndTheValueModelOrderTheWorkAndSizeTimeouts) {
  auto s = NewState();
  Decision* d1 = Decide(s.get(), 1, 0, 3, 100.0, 0.0);  // candidate 3, default 100 ms
  Decision* d2 = Decide(s.get(), 2, 0, 4, 100.0, 0.0);  // candidate 4, default 100 ms
  Capture(s.get(), 1, 7, 10, 100);
  Capture(s.get(), 2, 7, 10, 100);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  const int slot1 = FindCapture(s.get(), 1), slot2 = FindCapture(s.get(), 2);
  double stake[kCaptureSlots] = {0};
  stake[slot1] = stake[slot2] = 5000.0;  // equal time at stake
  ExplorePlan plan = Plan();
  plan.stake_ms = stake;
  auto value = [&](int slot) { return ExploreValue(s.get(), slot, 1000, plan); };
  EXPECT_DOUBLE_EQ(value(slot1), value(slot2));
  // Equal time at stake: the higher tension goes first, from the tension
  // alone (no priority published yet) ...
  d1->tension = 0.1;
  d2->tension = 0.8;
  EXPECT_DOUBLE_EQ(ExploreWeight(*d2, 5000.0), 9000.0);
  EXPECT_GT(value(slot2), value(slot1));
  // ... and with the engine's priority (time at stake x (1 + tension)):
  // tension is not counted twice.
  d1->priority = 5000.0 * 1.1;
  d2->priority = 5000.0 * 1.8;
  EXPECT_DOUBLE_EQ(ExploreWeight(*d2, 5000.0), 9000.0);
  EXPECT_DOUBLE_EQ(value(slot2) / value(slot1), 1.8 / 1.1);
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 2u);
  EXPECT_EQ(r.jobs[1].pattern_key, 1u);
  // The engine's time at stake counts when it is the larger one.
  d1->priority = 20000.0;
  EXPECT_DOUBLE_EQ(ExploreWeight(*d1, 5000.0), 20000.0);
  EXPECT_GT(value(slot1), value(slot2));

  // Equal weights again; the value model predicts candidate 3 at 40 ms:
  // each run is expected to cost 40 ms instead of 100, so pattern 1 goes
  // first, and its timeout is 2 x 40 but not below 1.2 x the best (100).
  d1->tension = d2->tension = 0.0;
  d1->priority = d2->priority = 0.0;
  const double unpredicted = value(slot1);
  d1->predicted_explore_ms = 40.0;
  EXPECT_DOUBLE_EQ(value(slot1) / unpredicted, 2.5);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  EXPECT_EQ(r.jobs[0].timeout_ms, 122);  // max(2 x 40, 1.2 x 100) + 2
  EXPECT_EQ(r.jobs[1].pattern_key, 2u);
  EXPECT_EQ(r.jobs[1].timeout_ms, 202);  // no prediction: 2 x 100 + 2
  // A prediction just below the best: 2 x 90 + 2.
  d1->predicted_explore_ms = 90.0;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].timeout_ms, 182);
  // A prediction slower than the best keeps today's timeout and costs up to
  // it: the pattern sinks below the unpredicted one.
  d1->predicted_explore_ms = 300.0;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 2u);
  EXPECT_EQ(r.jobs[1].pattern_key, 1u);
  EXPECT_EQ(r.jobs[1].timeout_ms, 202);
  // An extreme prediction moves the rank by at most kMaxPredictedSpeedup.
  d1->predicted_explore_ms = 0.001;
  EXPECT_DOUBLE_EQ(value(slot1) / unpredicted, kMaxPredictedSpeedup);
  // Nonsense predictions are ignored.
  d1->predicted_explore_ms = std::nan("");
  EXPECT_DOUBLE_EQ(value(slot1), unpredicted);
  // The load scales the prediction and the best alike: max(2 x 40, 1.2 x
  // 100) x 2 + 2.
  d1->predicted_explore_ms = 40.0;
  s->explore_load = 2.0;
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_GE(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[0].pattern_key, 1u);
  EXPECT_EQ(r.jobs[0].timeout_ms, 242);
  // After a timeout the prediction was wrong: the back-off doubles 2 x the
  // best, as without one.
  s->explore_load = 1.0;
  NoteRunOutcome(&s->captures[slot1], 3, /*timed_out=*/true);
  for (CapturedStatement& c : s->captures) c.last_explored_us = 100;
  ASSERT_GE(PlanExploreBatch(s.get(), 1000, plan, &r), 2);
  EXPECT_EQ(r.jobs[1].pattern_key, 1u);
  EXPECT_EQ(r.jobs[1].timeout_ms, 402);
}

TEST(CaptureTest, ABaselineRunIsTheLoadProbe) {
  auto s = NewState();
  Decide(s.get(), 9, 1, -1, 100.0, 30.0);
  FindDecision(s.get(), 9)->since_baseline = 10;
  Capture(s.get(), 9, 7, 10, 100);
  Decide(s.get(), 8, 0, 2, 50.0, 0.0);
  CapturedStatement* c = Capture(s.get(), 8, 7, 10, 100);
  NoteRunOutcome(c, 2, true);
  s->explore_load = 2.0;
  ExploreRequest r;
  ASSERT_EQ(PlanExploreBatch(s.get(), 1000, Plan(4), &r), 2);  // no extra probe
  int probes = 0;
  for (int i = 0; i < r.job_count; ++i) probes += r.jobs[i].probe;
  EXPECT_EQ(probes, 1);
  EXPECT_EQ(r.jobs[0].arm, 0);  // a due baseline run comes first
  EXPECT_EQ(r.jobs[0].pattern_key, 9u);
}

TEST(LearnerTest, DeploysAMeasuredlyFasterArmOnly) {
  Learner l;
  l.Reset(8);
  std::vector<DecisionUpdate> updates;
  std::vector<ruvector_dag::PatternEvent> events;
  uint64_t untracked = 0;
  ASSERT_TRUE(l.Learn(Runs(5, 0, 100.0, 5), 100, &updates, &events, &untracked).ok());
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].deployed_arm, 0);
  EXPECT_GT(updates[0].explore_arm, 0);
  EXPECT_TRUE(events.empty());
  updates.clear();
  ASSERT_TRUE(l.Learn(Runs(5, 1, 10.0, 5), 100, &updates, &events, &untracked).ok());
  EXPECT_EQ(updates.back().deployed_arm, 1);
  EXPECT_NEAR(updates.back().default_ms, 101.0, 2.0);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].type, ruvector_dag::PatternEventType::kDeploy);
  EXPECT_EQ(events[0].arm, 1);
  // A slower arm is never deployed.
  events.clear();
  updates.clear();
  ASSERT_TRUE(l.Learn(Runs(6, 0, 10.0, 5), 100, &updates, &events, &untracked).ok());
  ASSERT_TRUE(l.Learn(Runs(6, 2, 50.0, 5), 100, &updates, &events, &untracked).ok());
  EXPECT_EQ(updates.back().deployed_arm, 0);
}

TEST(LearnerTest, SamePlanArmIsRejectedNotDeployed) {
  Learner l;
  l.Reset(8);
  std::vector<DecisionUpdate> updates;
  std::vector<ruvector_dag::PatternEvent> events;
  uint64_t untracked = 0;
  ASSERT_TRUE(l.Learn(Runs(5, 0, 20.0, 4), 100, &updates, &events, &untracked).ok());
  ASSERT_TRUE(l.Learn(Runs(5, 3, 19.0, 4, /*same_plan=*/true), 100, &updates, &events, &untracked).ok());
  EXPECT_EQ(updates.back().deployed_arm, 0);
  bool rejected = false;
  for (const ruvector_dag::PatternEvent& e : events) rejected |= e.type == ruvector_dag::PatternEventType::kReject && e.arm == 3;
  EXPECT_TRUE(rejected);
}

TEST(LearnerTest, PatternBoundAndBadInputs) {
  Learner l;
  l.Reset(4);
  std::vector<DecisionUpdate> updates;
  std::vector<ruvector_dag::PatternEvent> events;
  uint64_t untracked = 0;
  std::vector<LearnInput> batch = Runs(1, 0, 5.0, 1);
  auto more = Runs(2, 0, 5.0, 1);
  batch.insert(batch.end(), more.begin(), more.end());
  LearnInput bad;
  bad.pattern_key = 3;
  bad.arm = 9;  // unknown arm
  bad.latency_ms = 1.0;
  batch.push_back(bad);
  bad.arm = 0;
  bad.latency_ms = std::nan("");
  batch.push_back(bad);
  ASSERT_TRUE(l.Learn(batch, 1, &updates, &events, &untracked).ok());
  EXPECT_EQ(l.patterns(), 1u);
  EXPECT_EQ(untracked, 1u);
}

}  // namespace
}  // namespace ruvector_pg

namespace ruvector_pg {
namespace {

}  // namespace
}  // namespace ruvector_pg

namespace ruvector_pg {
namespace {

std::string Image(const SteerState* s) {
  std::string out(SteerConfigImage(s, nullptr, 0), '\0');
  EXPECT_EQ(SteerConfigImage(s, out.data(), out.size()), out.size());
  return out;
}

TEST(SteerConfigTest, CustomArmsAndPinsRoundTrip) {
  auto a = NewState();
  ASSERT_GE(AddArm(a.get(), "ef_64", "hnsw.ef_search=64\nwork_mem=64MB\n"), 0);
  ASSERT_GE(AddArm(a.get(), "odd", "search_path=\"a b\",public; x\n"), 0);
  ASSERT_TRUE(SetPin(a.get(), 42, FindArm(a.get(), "ef_64")));
  ASSERT_TRUE(SetPin(a.get(), -7, FindArm(a.get(), "no_nestloop")));
  std::string img = Image(a.get());
  EXPECT_EQ(img.rfind("ruvector_dag steering 2\n", 0), 0u);

  auto b = NewState();
  char err[128] = {0};
  int arms = 0, pins = 0;
  ASSERT_TRUE(LoadSteerConfig(img.data(), img.size(), b.get(), err, sizeof(err), &arms, &pins)) << err;
  EXPECT_EQ(arms, 2);
  EXPECT_EQ(pins, 2);
  ASSERT_EQ(b->arm_count, static_cast<uint32_t>(kBuiltinArmCount + 2));
  EXPECT_STREQ(b->arms[FindArm(b.get(), "odd")].settings, "search_path=\"a b\",public; x\n");
  EXPECT_EQ(PinnedArm(b.get(), 42), FindArm(b.get(), "ef_64"));
  EXPECT_EQ(PinnedArm(b.get(), static_cast<uint64_t>(-7)), 1);
  EXPECT_NE(QueryFilterFlags(b.get(), 42) & kFilterDeployedOrPinned, 0);
  EXPECT_EQ(Image(b.get()), img);  // deterministic
}

/// A file image with a valid checksum around `body` (lines after the header).
std::string Signed(const std::string& header, const std::string& body) {
  std::string text = header + body;
  char crc[32];
  std::snprintf(crc, sizeof(crc), "crc %08x\n", ruvector_dag::Crc32c(text.data(), text.size()));
  return text + crc;
}

AdvicePin Advice(uint64_t query_id, uint32_t database, const char* text) {
  AdvicePin p;
  p.query_id = query_id;
  p.database_oid = database;
  static ParsedAdvice parsed;
  char err[160];
  EXPECT_TRUE(ParseAdvice(text, std::strlen(text), &parsed, err, sizeof(err))) << err;
  FormatAdvice(parsed, p.text, sizeof(p.text));
  EXPECT_TRUE(AdviceSettingsLines(parsed, p.settings, sizeof(p.settings)));
  for (int i = 0; i < parsed.rows_count; ++i) {
    p.relsets[i] = parsed.rows[i].relation_count == 0 ? parsed.rows[i].relset : 1000u + static_cast<uint32_t>(i);
    p.relation_counts[i] = static_cast<uint32_t>(parsed.rows[i].relation_count);
    p.factors[i] = parsed.rows[i].factor;
  }
  p.rows_count = static_cast<uint32_t>(parsed.rows_count);
  return p;
}

TEST(SteerConfigTest, PinnedAdviceRoundTripsAndWinsOverArmPins) {
  auto a = NewState();
  ASSERT_TRUE(SetPin(a.get(), 42, FindArm(a.get(), "no_nestloop"), 5));
  ASSERT_TRUE(SetAdvicePin(a.get(), Advice(42, 5, "SET(enable_hashjoin=off work_mem='64 MB') ROWS(o \"Cust X\" *40)")));
  EXPECT_EQ(PinnedArm(a.get(), 42, 5), -1);  // the advice replaced the arm pin
  ASSERT_TRUE(SetAdvicePin(a.get(), Advice(43, 5, "ROWS(#77 *0.25)")));
  RebuildQueryFilter(a.get());
  EXPECT_NE(QueryFilterFlags(a.get(), 43) & kFilterDeployedOrPinned, 0);
  SteerChoice c = ChooseArm(a.get(), 999, 42, 0.0, 16, false, 5);
  EXPECT_EQ(c.action, SteerAction::kPinned);
  ASSERT_GE(c.advice, 0);
  EXPECT_STREQ(a->advice_pins[c.advice].settings, "enable_hashjoin=off\nwork_mem=64 MB\n");
  EXPECT_EQ(a->advice_pins[c.advice].plans, 1u);
  EXPECT_LT(ChooseArm(a.get(), 999, 42, 0.0, 16, false, 6).advice, 0);  // another database
  const std::string img = Image(a.get());
  EXPECT_NE(img.find("advice 42 5 1000:2:40 "), std::string::npos) << img;

  auto b = NewState();
  char err[160] = {0};
  int arms = 0, pins = 0;
  ASSERT_TRUE(LoadSteerConfig(img.data(), img.size(), b.get(), err, sizeof(err), &arms, &pins)) << err;
  EXPECT_EQ(pins, 2);
  const AdvicePin* p = FindAdvicePin(b.get(), 42, 5);
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(p->text, "SET(enable_hashjoin=off work_mem='64 MB') ROWS(o \"Cust X\" *40)");
  EXPECT_EQ(p->rows_count, 1u);
  EXPECT_EQ(p->relsets[0], 1000u);
  EXPECT_EQ(p->factors[0], 40.0);
  EXPECT_EQ(FindAdvicePin(b.get(), 43, 5)->relsets[0], 77u);
  EXPECT_EQ(Image(b.get()), img);
  EXPECT_TRUE(RemoveAdvicePin(b.get(), 42, 5));
  EXPECT_FALSE(RemoveAdvicePin(b.get(), 42, 5));
}

TEST(SteerConfigTest, PinnedHintsRoundTrip) {
  auto a = NewState();
  AdvicePin pin = Advice(44, 5, "SET(enable_hashjoin=off) HASHJOIN(o c) INDEXSCAN(c c_pkey) LEADING(c o) SEQSCAN(#9)");
  static ParsedAdvice parsed;
  char err[160] = {0};
  ASSERT_TRUE(ParseAdvice(pin.text, std::strlen(pin.text), &parsed, err, sizeof(err))) << err;
  HintsOfAdvice(parsed, &pin.hints);
  ASSERT_EQ(pin.hints.count, 4u);
  EXPECT_EQ(pin.hints.relsets[3], 9u);  // given by id
  EXPECT_EQ(pin.hints.leading_count, 2u);
  pin.hints.relsets[0] = 1234;
  pin.hints.relsets[1] = 55;
  pin.hints.leading[0] = 18446744073709551615ull;
  pin.hints.leading[1] = 7;
  ASSERT_TRUE(SetAdvicePin(a.get(), pin));
  const std::string img = Image(a.get());
  EXPECT_NE(img.find(" 1234,55,18446744073709551615:7,9\n"), std::string::npos) << img;
  auto b = NewState();
  int arms = 0, pins = 0;
  ASSERT_TRUE(LoadSteerConfig(img.data(), img.size(), b.get(), err, sizeof(err), &arms, &pins)) << err;
  const AdvicePin* p = FindAdvicePin(b.get(), 44, 5);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->hints.count, 4u);
  EXPECT_EQ(p->hints.kinds[1], HintKind::kIndexScan);
  EXPECT_STREQ(p->hints.indexes[1], "c_pkey");
  EXPECT_EQ(p->hints.relsets[0], 1234u);
  EXPECT_EQ(p->hints.leading[0], 18446744073709551615ull);
  EXPECT_EQ(p->hints.leading[1], 7u);
  EXPECT_EQ(Image(b.get()), img);
  // A line whose hints field disagrees with its text is refused.
  const std::vector<std::string> bodies = {
      "advice 44 5 - - HASHJOIN%28o%20c%29\n",                 // hints without their field
      "advice 44 5 - - HASHJOIN%28o%20c%29 1,2\n",             // one hint, two sets
      "advice 44 5 - - HASHJOIN%28o%20c%29 0\n",               // set 0
      "advice 44 5 - - SEQSCAN%28%239%29 8\n",                 // the id of the text differs
      "advice 44 5 - - LEADING%28o%20c%29 5\n",                // LEADING needs a key per relation
      "advice 44 5 - - LEADING%28o%20c%29 5:6:7\n",            // one key too many
      "advice 44 5 - - HASHJOIN%28o%20c%29 5 \n",              // trailing space
      "advice 44 5 - a=b%0A SET%28a=b%29 5\n",                 // a hints field without hints
  };
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::string bad = Signed("ruvector_dag steering 2\n", bodies[i]);
    auto c = NewState();
    EXPECT_FALSE(LoadSteerConfig(bad.data(), bad.size(), c.get(), err, sizeof(err), &arms, &pins)) << bodies[i];
  }
}

TEST(SteerConfigTest, VersionOneFilesLoadTheirArmsAndPins) {
  auto a = NewState();
  ASSERT_GE(AddArm(a.get(), "mine", "work_mem=8MB\n"), 0);
  ASSERT_TRUE(SetPin(a.get(), 9, FindArm(a.get(), "mine")));
  std::string img = Image(a.get());
  const std::string v2_header = "ruvector_dag steering 2\n";
  ASSERT_EQ(img.compare(0, v2_header.size(), v2_header), 0);
  const size_t crc_at = img.rfind("crc ");
  const std::string v1 = Signed("ruvector_dag steering 1\n", img.substr(v2_header.size(), crc_at - v2_header.size()));
  auto b = NewState();
  char err[160] = {0};
  int arms = -1, pins = -1;
  ASSERT_TRUE(LoadSteerConfig(v1.data(), v1.size(), b.get(), err, sizeof(err), &arms, &pins)) << err;
  EXPECT_EQ(arms, 1);
  EXPECT_EQ(pins, 1);
  EXPECT_EQ(Image(b.get()), img);  // and the next save writes version 2
  // Advice lines did not exist in version 1.
  const std::string v1_advice = Signed("ruvector_dag steering 1\n", "advice 42 5 - a=b%0A SET%28a=b%29\n");
  auto c = NewState();
  EXPECT_FALSE(LoadSteerConfig(v1_advice.data(), v1_advice.size(), c.get(), err, sizeof(err), &arms, &pins));
}

TEST(SteerConfigTest, InconsistentAdviceFilesAreRefused) {
  const std::vector<std::string> bodies = {
      "advice 42 5 - - -\n",                                         // the text does not parse
      "advice 42 5 - enable_nestloop=off%0A SET%28x=1%29\n",         // settings disagree with the text
      "advice 42 5 1000:1:40 a=b%0A SET%28a=b%29\n",                 // relation sets disagree with the text
      "advice 42 5 1000:1:1e9 - ROWS%28a%20%2A1e9%29\n",             // factor out of range
      "advice 0 5 - a=b%0A SET%28a=b%29\n",                          // query id 0
      "advice 42 0 - a=b%0A SET%28a=b%29\n",                         // no database
      "advice 42 5 - a=b%0A SET%28a=b%29 extra\n",                   // too many fields
      "advice 42 5 - a=b%0A SET(a=b)\n",                             // unencoded characters
      "advice 42 5 - a=b%0A SET%28a=b%29\nadvice 42 5 - a=b%0A SET%28a=b%29\n",  // twice
  };
  std::vector<std::string> bad;
  for (const std::string& body : bodies) bad.push_back(Signed("ruvector_dag steering 2\n", body));
  for (size_t i = 0; i < bad.size(); ++i) {
    auto b = NewState();
    char err[160] = {0};
    int arms = -1, pins = -1;
    EXPECT_FALSE(LoadSteerConfig(bad[i].data(), bad[i].size(), b.get(), err, sizeof(err), &arms, &pins)) << i;
    EXPECT_NE(err[0], '\0');
  }
  auto b = NewState();
  char err[160] = {0};
  int arms = -1, pins = -1;
  const std::string good = Signed("ruvector_dag steering 2\n", "advice 42 5 - a=b%0A SET%28a=b%29\n");
  ASSERT_TRUE(LoadSteerConfig(good.data(), good.size(), b.get(), err, sizeof(err), &arms, &pins)) << err;
}

TEST(SteerConfigTest, DamagedFilesAreRefusedAndChangeNothing) {
  auto a = NewState();
  ASSERT_GE(AddArm(a.get(), "mine", "work_mem=8MB\n"), 0);
  ASSERT_TRUE(SetPin(a.get(), 9, FindArm(a.get(), "mine")));
  const std::string good = Image(a.get());
  std::vector<std::string> bad = {
      "",
      "garbage\n",
      good.substr(0, good.size() / 2),
      good.substr(0, good.size() - 1),
  };
  std::string flipped = good;
  flipped[30] ^= 1;  // inside the arm line: checksum mismatch
  bad.push_back(flipped);
  std::string unknown_arm = "ruvector_dag steering 2\npin 5 nowhere\n";
  char crc[32];
  std::snprintf(crc, sizeof(crc), "crc %08x\n", ruvector_dag::Crc32c(unknown_arm.data(), unknown_arm.size()));
  bad.push_back(unknown_arm + crc);
  for (const std::string& text : bad) {
    auto b = NewState();
    ASSERT_GE(AddArm(b.get(), "keep", "work_mem=1MB\n"), 0);
    char err[128] = {0};
    int arms = -1, pins = -1;
    EXPECT_FALSE(LoadSteerConfig(text.data(), text.size(), b.get(), err, sizeof(err), &arms, &pins));
    EXPECT_NE(err[0], '\0');
    EXPECT_EQ(FindArm(b.get(), "keep"), kBuiltinArmCount);  // untouched
    EXPECT_EQ(b->arm_count, static_cast<uint32_t>(kBuiltinArmCount + 1));
  }
}

}  // namespace
}  // namespace ruvector_pg

namespace ruvector_pg {
namespace {

PlanSample Sample(uint64_t key, bool join, float rows) {
  PlanSample p;
  p.pattern_key = key;
  p.query_id = key;
  if (join) {  // Aggregate <- Hash Join <- (Seq Scan, Hash <- Seq Scan)
    p.count = 5;
    const uint8_t types[5] = {static_cast<uint8_t>(ruvector_dag::OperatorType::kAggregate),
                              static_cast<uint8_t>(ruvector_dag::OperatorType::kHashJoin),
                              static_cast<uint8_t>(ruvector_dag::OperatorType::kSeqScan),
                              static_cast<uint8_t>(ruvector_dag::OperatorType::kHash),
                              static_cast<uint8_t>(ruvector_dag::OperatorType::kSeqScan)};
    const uint8_t parents[5] = {0, 1, 2, 2, 4};
    for (int i = 0; i < 5; ++i) {
      p.type[i] = types[i];
      p.parent_plus_one[i] = parents[i];
      p.estimated_rows[i] = rows;
      p.actual_rows[i] = -1.0f;
    }
  } else {
    p.count = 1;
    p.type[0] = static_cast<uint8_t>(ruvector_dag::OperatorType::kIndexScan);
    p.estimated_rows[0] = rows;
    p.actual_rows[0] = rows;
  }
  return p;
}

LearnInput HostRun(uint64_t key, int arm, double ms, int64_t at_us) {
  LearnInput in;
  in.pattern_key = key;
  in.query_id = key;
  in.arm = arm;
  in.latency_ms = ms;
  in.at_us = at_us;
  in.database_oid = 5;
  in.role_oid = 10;
  return in;
}

/// One worker pass over `runs` with the plan of each pattern in `plans`.
ruvector_dag::HostLearnOutput Pass(ruvector_dag::Engine* engine, const std::vector<LearnInput>& runs,
                                   const std::vector<PlanSample>& plans) {
  std::vector<ruvector_dag::QueryDag> dags(plans.size());
  std::vector<ruvector_dag::PlanObservation> observed;
  for (size_t i = 0; i < plans.size(); ++i) {
    EXPECT_TRUE(SampleToDag(plans[i], &dags[i]).ok());
    observed.push_back({plans[i].pattern_key, &dags[i]});
  }
  ruvector_dag::HostLearnOutput out;
  EXPECT_TRUE(engine->Learn(runs, observed, {}, &out).ok());
  return out;
}

TEST(EngineHostTest, SimilarPlansShareAClusterAndASiblingTriesTheWinningArmFirst) {
  auto engine = ruvector_dag::Engine::Create(ServerEngineOptions(8, 100, 0.01, 5000.0, 2)).value();
  int64_t t = 0;
  // Six join patterns learn that arm 2 is five times faster than the default;
  // six index lookups only ever run the default.
  for (uint64_t k = 1; k <= 6; ++k) {
    std::vector<LearnInput> runs;
    for (int i = 0; i < 5; ++i) runs.push_back(HostRun(k, 0, 100.0 + i, ++t));
    for (int i = 0; i < 5; ++i) runs.push_back(HostRun(k, 2, 20.0 + i, ++t));
    Pass(engine.get(), runs, {Sample(k, true, 1000.0f + k)});
    ASSERT_EQ(engine->patterns().DeployedArm(k), 2u);
  }
  for (uint64_t k = 11; k <= 16; ++k) Pass(engine.get(), {HostRun(k, 0, 1.0, ++t)}, {Sample(k, false, 3.0f)});
  // Joins and lookups never share a cluster.
  for (uint64_t k = 1; k <= 6; ++k) {
    ASSERT_GE(engine->bank().ClusterOf(k), 0);
    for (uint64_t j = 11; j <= 16; ++j) EXPECT_NE(engine->bank().ClusterOf(k), engine->bank().ClusterOf(j));
  }
  // A sibling (same tables and joins, another aggregate): its first
  // candidate is its neighbours' arm, with the value model's prediction.
  ruvector_dag::HostLearnOutput out = Pass(engine.get(), {HostRun(7, 0, 100.0, ++t)}, {Sample(7, true, 1000.5f)});
  ASSERT_FALSE(out.decisions.empty());
  const DecisionUpdate& d = out.decisions.back();
  EXPECT_EQ(d.pattern_key, 7u);
  EXPECT_EQ(d.prior_arm, 2);
  EXPECT_EQ(d.explore_arm, 2);
  EXPECT_EQ(out.priors, 1u);
  EXPECT_GT(d.predicted_explore_ms, 0.0);
  EXPECT_LT(d.predicted_explore_ms, d.predicted_default_ms);
  EXPECT_EQ(d.deployed_arm, 0);  // a prior orders exploration: nothing deployed unmeasured
  // Measured: with the prior, deployed after three runs on each side.
  std::vector<LearnInput> runs;
  for (int i = 0; i < 2; ++i) runs.push_back(HostRun(7, 0, 100.0 + i, ++t));
  for (int i = 0; i < 3; ++i) runs.push_back(HostRun(7, 2, 20.0 + i, ++t));
  Pass(engine.get(), runs, {Sample(7, true, 1000.5f)});
  EXPECT_EQ(engine->patterns().DeployedArm(7), 2u);
  // The last lookup: its five nearest plans are lookups where nothing won.
  EXPECT_EQ(engine->Decide(16)->prior_arm, -1);
  // A malformed plan (edge to a later node) is refused by the bridge.
  PlanSample bad = Sample(99, true, 5.0f);
  bad.parent_plus_one[1] = 4;
  ruvector_dag::QueryDag dag;
  EXPECT_FALSE(SampleToDag(bad, &dag).ok());
}

TEST(EngineHostTest, AnotherRolesDeployedPlanIsNoPrior) {
  auto engine = ruvector_dag::Engine::Create(ServerEngineOptions(8, 100, 0.01, 5000.0, 2)).value();
  int64_t t = 0;
  std::vector<LearnInput> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(HostRun(1, 0, 100.0 + i, ++t));
  for (int i = 0; i < 5; ++i) runs.push_back(HostRun(1, 2, 20.0 + i, ++t));
  Pass(engine.get(), runs, {Sample(1, true, 1000.0f)});
  ASSERT_EQ(engine->patterns().DeployedArm(1), 2u);
  LearnInput other = HostRun(7, 0, 100.0, ++t);
  other.role_oid = 11;  // the same plan, another role
  ruvector_dag::HostLearnOutput out = Pass(engine.get(), {other}, {Sample(7, true, 1000.0f)});
  ASSERT_FALSE(out.decisions.empty());
  EXPECT_EQ(out.decisions.back().prior_arm, -1);
  EXPECT_EQ(out.priors, 0u);
}

TEST(EngineHostTest, TensionComesFromExecutedPlansOnly) {
  auto engine = ruvector_dag::Engine::Create(ServerEngineOptions(8, 100, 0.01, 5000.0, 2)).value();
  PlanSample planned = Sample(1, true, 1000.0f);  // no actual rows
  Pass(engine.get(), {HostRun(1, 0, 50.0, 1)}, {planned});
  EXPECT_EQ(engine->Decide(1)->tension, 0.0);
  PlanSample executed = Sample(2, true, 10.0f);
  for (int i = 0; i < executed.count; ++i) executed.actual_rows[i] = 100000.0f;  // 10^4 x misestimated
  Pass(engine.get(), {HostRun(2, 0, 50.0, 2)}, {executed});
  const double high = engine->Decide(2)->tension;
  EXPECT_GT(high, 0.3);
  EXPECT_LE(high, 1.0);
  // The estimates become right: tension falls.
  for (int i = 0; i < executed.count; ++i) executed.actual_rows[i] = 10.0f;
  for (int i = 0; i < 6; ++i) Pass(engine.get(), {HostRun(2, 0, 50.0, 3 + i)}, {executed});
  EXPECT_LT(engine->Decide(2)->tension, high - 0.2);
  // Priority: time at stake x (1 + tension).
  EXPECT_GT(engine->Decide(2)->priority, 0.0);
}

}  // namespace
}  // namespace ruvector_pg

namespace ruvector_pg {
namespace {

TEST(LearnerPersistenceTest, RoundTripKeepsDecisionsAndRejectsDamage) {
  Learner a;
  a.Reset(8);
  std::vector<DecisionUpdate> updates;
  std::vector<ruvector_dag::PatternEvent> events;
  uint64_t untracked = 0;
  ASSERT_TRUE(a.Learn(Runs(5, 0, 100.0, 5), 100, &updates, &events, &untracked).ok());
  ASSERT_TRUE(a.Learn(Runs(5, 1, 10.0, 5), 100, &updates, &events, &untracked).ok());
  ASSERT_TRUE(a.Learn(Runs(6, 0, 3.0, 5), 100, &updates, &events, &untracked).ok());
  ASSERT_EQ(a.DeployedArm(5), 1u);
  std::string image;
  a.SaveTo(&image, 0xabcdef, 777);
  std::string again;
  a.SaveTo(&again, 0xabcdef, 777);
  EXPECT_EQ(image, again);  // deterministic

  Learner b;
  b.Reset(8);
  uint64_t through = 0;
  ASSERT_TRUE(b.LoadFrom(image, 0xabcdef, 100, &through).ok());
  EXPECT_EQ(through, 777u);
  EXPECT_EQ(b.patterns(), 2u);
  EXPECT_EQ(b.DeployedArm(5), 1u);
  auto d = b.DescribePattern(5);
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(d->default_ms, a.DescribePattern(5)->default_ms, 1e-9);
  std::vector<DecisionUpdate> all;
  b.DescribeAll(&all);
  EXPECT_EQ(all.size(), 2u);

  // Another arm table, a flipped byte, truncation, trailing bytes: refused,
  // and the learner keeps what it had.
  Learner c;
  c.Reset(8);
  ASSERT_TRUE(c.Learn(Runs(9, 0, 1.0, 3), 100, &updates, &events, &untracked).ok());
  EXPECT_EQ(c.LoadFrom(image, 0x123, 100, &through).code(), ruvector_dag::StatusCode::kFailedPrecondition);
  for (size_t i = 0; i < image.size(); i += 5) {
    std::string bad = image;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    EXPECT_FALSE(c.LoadFrom(bad, 0xabcdef, 100, &through).ok()) << "byte " << i;
  }
  EXPECT_FALSE(c.LoadFrom(image.substr(0, image.size() / 2), 0xabcdef, 100, &through).ok());
  EXPECT_FALSE(c.LoadFrom("", 0xabcdef, 100, &through).ok());
  EXPECT_EQ(c.patterns(), 1u);
  EXPECT_EQ(c.DeployedArm(5), 0u);
  Learner nine;
  nine.Reset(9);  // another arm count
  EXPECT_FALSE(nine.LoadFrom(image, 0xabcdef, 100, &through).ok());
  // The pattern bound is applied.
  Learner small;
  small.Reset(8);
  ASSERT_TRUE(small.LoadFrom(image, 0xabcdef, 1, &through).ok());
  EXPECT_EQ(small.patterns(), 1u);
}

}  // namespace
}  // namespace ruvector_pg
