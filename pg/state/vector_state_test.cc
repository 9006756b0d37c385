// Unit tests of the vector tuning state: samples, decisions published into
// the decision table, what ChooseArm serves a vector pattern, and the
// explorer's recall-sample jobs.
#include <gtest/gtest.h>

#include <memory>

#include "state/steer_state.h"
#include "state/vector_state.h"

namespace ruvector_pg {
namespace {

using ruvector_dag::kVectorEfCount;
using ruvector_dag::kVectorExact;

std::unique_ptr<SteerState> NewVectorState() {
  auto s = std::make_unique<SteerState>();
  InitSteerState(s.get());
  return s;
}

/// One sample where ef index i finds recall[i] x 10 of 10 rows in ms[i].
void Sample(VectorPattern* p, const double* recall, const double* ms, double exact_ms) {
  VectorRunResult runs[kVectorEfCount];
  for (int i = 0; i < kVectorEfCount; ++i) {
    runs[i].setting = i;
    runs[i].ms = ms[i];
    runs[i].hits = static_cast<uint32_t>(recall[i] * 10.0 + 0.5);
  }
  RecordVectorSample(p, 10, exact_ms, false, runs, kVectorEfCount, 1);
}

TEST(VectorStateTest, TunedSettingIsServedInsteadOfTheBanditsArm) {
  auto s = NewVectorState();
  Decision* d = UpsertDecision(s.get(), 42);
  d->query_id = 7;
  d->default_ms = 3.0;
  d->deployed_arm = 2;  // the bandit's: its recall was never measured
  VectorPattern* p = AddVectorPattern(&s->vector, 42, 7, 1, 1, 100);
  ruvector_dag::VectorTuningOptions o;
  EXPECT_TRUE(PublishVectorDecisions(s.get(), o));
  EXPECT_EQ(d->vector_state, kVectorTuning);
  // While tuning: PostgreSQL's plan, not the bandit's arm.
  SteerChoice c = ChooseArm(s.get(), 42, 7, 0.0, 16, true);
  EXPECT_EQ(c.arm, 0);
  EXPECT_EQ(c.vector, -1);

  const double recall[] = {0.5, 0.7, 0.9, 1.0, 1.0, 1.0};
  const double ms[] = {1, 2, 3, 4, 6, 9};
  for (int k = 0; k < 8; ++k) Sample(p, recall, ms, 20.0);
  // 8 perfect statements prove 0.75, not 0.95: the exact search serves and
  // the faster settings keep being measured, with captures every second.
  EXPECT_TRUE(PublishVectorDecisions(s.get(), o));
  EXPECT_EQ(d->vector_state, kVectorSettled);
  EXPECT_EQ(d->vector_setting, kVectorExact);
  EXPECT_TRUE(VectorProving(*p));
  CapturedStatement* cap = ClaimCapture(s.get(), 42, 1);
  cap->captured_us = 1000;
  EXPECT_TRUE(CaptureWanted(s.get(), 42, 1000 + kVectorCaptureRefreshUs, 30000000));
  for (int k = 8; k < 60; ++k) Sample(p, recall, ms, 20.0);
  EXPECT_TRUE(PublishVectorDecisions(s.get(), o));
  EXPECT_FALSE(VectorProving(*p));
  EXPECT_FALSE(CaptureWanted(s.get(), 42, 1000 + kVectorCaptureRefreshUs, 30000000));
  EXPECT_EQ(d->vector_state, kVectorSettled);
  EXPECT_EQ(d->vector_setting, 3);
  c = ChooseArm(s.get(), 42, 7, 0.0, 16, true);
  EXPECT_EQ(c.arm, 0);
  EXPECT_EQ(c.vector, 3);
  EXPECT_EQ(c.action, SteerAction::kServe);
  RebuildQueryFilter(s.get());
  EXPECT_NE(QueryFilterFlags(s.get(), 7) & kFilterDeployedOrPinned, 0);
  EXPECT_FALSE(PublishVectorDecisions(s.get(), o));  // nothing new
}

TEST(VectorStateTest, ExactTimeoutsAndEmptyResultsGiveNoRecallSample) {
  VectorTable t;
  VectorPattern* p = AddVectorPattern(&t, 9, 1, 1, 1, 1);
  VectorRunResult r;
  r.setting = 0;
  r.hits = 10;
  RecordVectorSample(p, 10, 0.0, true, &r, 1, 2);
  EXPECT_EQ(p->stats[kVectorExact].timeouts, 1u);
  EXPECT_EQ(p->stats[0].samples, 0u);
  RecordVectorSample(p, 0, 1.0, false, &r, 1, 3);
  EXPECT_EQ(p->empty, 1u);
  EXPECT_EQ(p->stats[0].samples, 0u);
  EXPECT_FALSE(VectorStatementSeen(p, 77));
  EXPECT_TRUE(VectorStatementSeen(p, 77));
}

TEST(VectorStateTest, FullTableReplacesTheLeastRecentlySampled) {
  auto t = std::make_unique<VectorTable>();
  for (int i = 0; i < kVectorPatternSlots; ++i) AddVectorPattern(t.get(), 100 + i, 0, 1, 1, 10 + i);
  FindVectorPattern(t.get(), 100)->sampled_us = 1000;  // sampled lately: kept
  AddVectorPattern(t.get(), 5000, 0, 1, 1, 2000);
  EXPECT_NE(FindVectorPattern(t.get(), 100), nullptr);
  EXPECT_EQ(FindVectorPattern(t.get(), 101), nullptr);
  EXPECT_NE(FindVectorPattern(t.get(), 5000), nullptr);
}

TEST(VectorStateTest, SampleJobsTakeNewCapturesWithinTheCredit) {
  auto s = NewVectorState();
  Decision* d = UpsertDecision(s.get(), 42);
  d->default_ms = 5.0;
  VectorPattern* p = AddVectorPattern(&s->vector, 42, 7, 11, 22, 1);
  ruvector_dag::VectorTuningOptions o;
  PublishVectorDecisions(s.get(), o);
  CapturedStatement* c = ClaimCapture(s.get(), 42, 22);
  c->database_oid = 11;
  c->role_oid = 22;
  c->captured_us = 50;
  ExplorePlan plan;
  plan.credit_ms = 10.0;  // 7 runs x ceil(4 x 5 x 4 + 2) ms do not fit
  ExploreRequest r;
  EXPECT_EQ(PlanVectorJobs(s.get(), 60, plan, &r), 0);
  plan.credit_ms = 1000.0;
  ASSERT_EQ(PlanVectorJobs(s.get(), 60, plan, &r), 1);
  EXPECT_EQ(r.database_oid, 11u);
  EXPECT_EQ(r.role_oid, 22u);
  EXPECT_EQ(r.jobs[0].vector, 1);
  EXPECT_EQ(r.jobs[0].vector_mask, (1u << kVectorEfCount) - 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 82);  // the exact search was never measured: 4x
  p->stats[kVectorExact].timeouts = 1;
  ExploreRequest longer;
  plan.credit_ms = 2000.0;  // 7 x 162 ms
  ASSERT_EQ(PlanVectorJobs(s.get(), 61, plan, &longer), 1);
  EXPECT_EQ(longer.jobs[0].timeout_ms, 162);  // doubled after its timeout
  p->stats[kVectorExact].timeouts = 0;
  // The same capture is not sampled twice; another owner's batch skips it.
  p->sampled_capture_us = 50;
  ExploreRequest again;
  EXPECT_EQ(PlanVectorJobs(s.get(), 70, plan, &again), 0);
  c->captured_us = 80;
  plan.only_database = 12;
  plan.only_role = 22;
  EXPECT_EQ(PlanVectorJobs(s.get(), 90, plan, &again), 0);
  // Capture wanted sooner while tuning.
  EXPECT_TRUE(CaptureWanted(s.get(), 42, 80 + kVectorCaptureRefreshUs, 30000000));
}

// A slow search on a loaded server: 7 runs at the full timeout (16 x its
// latency before the exact search was measured) never fit the credit that
// can be saved up; the runs get shorter timeouts instead, down to 1.2 x the
// latency, and only a sample that cannot fit even that waits for ever.
TEST(VectorStateTest, SlowSearchesAreSampledWithShorterTimeouts) {
  auto s = NewVectorState();
  Decision* d = UpsertDecision(s.get(), 42);
  d->default_ms = 250.0;
  AddVectorPattern(&s->vector, 42, 7, 11, 22, 1);
  ruvector_dag::VectorTuningOptions o;
  PublishVectorDecisions(s.get(), o);
  CapturedStatement* c = ClaimCapture(s.get(), 42, 22);
  c->database_oid = 11;
  c->role_oid = 22;
  c->captured_us = 50;
  ExplorePlan plan;
  plan.credit_ms = 15000.0;
  plan.max_credit_ms = 15000.0;  // 7 x ceil(4 x 250 x 4 + 2) = 28 s would never fit
  ExploreRequest r;
  ASSERT_EQ(PlanVectorJobs(s.get(), 60, plan, &r), 1);
  EXPECT_EQ(r.jobs[0].timeout_ms, 2142);  // 15 s / 7 runs
  plan.credit_ms = 3000.0;  // what is left now: 7 x 428 ms, above 1.2 x 250 + 2
  ExploreRequest shorter;
  ASSERT_EQ(PlanVectorJobs(s.get(), 61, plan, &shorter), 1);
  EXPECT_EQ(shorter.jobs[0].timeout_ms, 428);
  plan.credit_ms = 2000.0;  // 7 x 302 ms do not fit: later
  ExploreRequest later;
  EXPECT_EQ(PlanVectorJobs(s.get(), 62, plan, &later), 0);
}

}  // namespace
}  // namespace ruvector_pg
