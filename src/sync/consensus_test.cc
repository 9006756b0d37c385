// Quorum, reputation and validation rules; the bounded sync schedule.
#include <gtest/gtest.h>

#include <cmath>

#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

NodeId Node(uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  return id;
}

PatternProposal Proposal(uint64_t fingerprint, std::string arm = "no_seqscan") {
  PatternProposal p;
  p.fingerprint = fingerprint;
  p.arm = std::move(arm);
  p.noisy_gain = 0.4;
  p.noisy_samples = 200;
  p.privacy = {NoiseMechanism::kLaplace, 0.05, 0.0};
  p.gain_sensitivity = 0.02;
  return p;
}

Vote VoteFor(const ProposalId& id, const NodeId& proposer, Verdict v) {
  Vote vote;
  vote.proposal = id;
  vote.proposer = proposer;
  vote.verdict = v;
  return vote;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint8_t n = 1; n <= 3; ++n) ASSERT_TRUE(book_.Register(Node(n)).ok());
  }
  ReputationBook book_;
  ProposalLedger ledger_{QuorumOptions{}, &book_};
  const NodeId a_ = Node(1), b_ = Node(2), c_ = Node(3);
};

TEST_F(LedgerTest, TwoConfirmationsOfThreeNodesFinalizeAndReward) {
  auto id = ledger_.Propose(a_, Proposal(1), 0);
  ASSERT_TRUE(id.ok());
  auto s1 = ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kConfirm), 10);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(*s1, ProposalState::kOpen) << "100 of 200 eligible stake is below 2/3";
  auto s2 = ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kConfirm), 20);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(*s2, ProposalState::kConfirmed);
  EXPECT_DOUBLE_EQ(book_.Stake(a_), 110.0);
  EXPECT_DOUBLE_EQ(book_.Stake(b_), 102.0);
  EXPECT_DOUBLE_EQ(book_.Stake(c_), 102.0);
  const ProposalStatus* st = ledger_.Find(*id);
  ASSERT_NE(st, nullptr);
  EXPECT_DOUBLE_EQ(st->confirm_stake, 200.0);
  EXPECT_DOUBLE_EQ(st->eligible_stake, 200.0);
  // Decided: no more votes.
  EXPECT_EQ(ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kRefute), 30).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(LedgerTest, RefutationSlashesProposerAndDissentingValidator) {
  ASSERT_TRUE(book_.Register(Node(4)).ok());
  auto id = ledger_.Propose(a_, Proposal(2), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kRefute), 1), ProposalState::kOpen);
  EXPECT_EQ(*ledger_.AddVote(Node(4), VoteFor(*id, a_, Verdict::kConfirm), 2), ProposalState::kOpen);
  // 200 of 300 eligible stake: 2/3 (the fraction is 0.666..., rounded down).
  EXPECT_EQ(*ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kRefute), 3), ProposalState::kRefuted);
  EXPECT_DOUBLE_EQ(book_.Stake(a_), 70.0);
  EXPECT_DOUBLE_EQ(book_.Stake(b_), 102.0);
  EXPECT_DOUBLE_EQ(book_.Stake(c_), 102.0);
  EXPECT_DOUBLE_EQ(book_.Stake(Node(4)), 95.0);
}

TEST_F(LedgerTest, RefutedByQuorum) {
  auto id = ledger_.Propose(a_, Proposal(2), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kRefute), 1), ProposalState::kOpen);
  EXPECT_EQ(*ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kRefute), 2), ProposalState::kRefuted);
  EXPECT_DOUBLE_EQ(book_.Stake(a_), 70.0);
  EXPECT_DOUBLE_EQ(book_.Stake(b_), 102.0);
}

TEST_F(LedgerTest, SplitVotesExpireWithoutStakeChanges) {
  auto id = ledger_.Propose(a_, Proposal(3), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kConfirm), 1), ProposalState::kOpen);
  EXPECT_EQ(*ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kRefute), 2), ProposalState::kOpen);
  EXPECT_EQ(ledger_.ExpireOld(QuorumOptions{}.ttl_us), 0u) << "not older than the ttl yet";
  EXPECT_EQ(ledger_.ExpireOld(QuorumOptions{}.ttl_us + 1), 1u);
  EXPECT_EQ(ledger_.Find(*id)->state, ProposalState::kExpired);
  for (uint8_t n = 1; n <= 3; ++n) EXPECT_DOUBLE_EQ(book_.Stake(Node(n)), 100.0);
}

TEST_F(LedgerTest, InvalidVotesAreRefusedWithReasons) {
  auto id = ledger_.Propose(a_, Proposal(4), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(ledger_.Propose(a_, Proposal(4), 1).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger_.AddVote(a_, VoteFor(*id, a_, Verdict::kConfirm), 1).status().code(),
            StatusCode::kInvalidArgument) << "own proposal";
  EXPECT_EQ(ledger_.AddVote(b_, VoteFor(*id, c_, Verdict::kConfirm), 1).status().code(),
            StatusCode::kInvalidArgument) << "wrong proposer named";
  ProposalId unknown{};
  EXPECT_EQ(ledger_.AddVote(b_, VoteFor(unknown, a_, Verdict::kConfirm), 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ledger_.AddVote(Node(9), VoteFor(*id, a_, Verdict::kConfirm), 1).status().code(),
            StatusCode::kFailedPrecondition) << "unregistered validator";
  ASSERT_TRUE(ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kConfirm), 1).ok());
  EXPECT_EQ(ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kConfirm), 2).status().code(),
            StatusCode::kAlreadyExists) << "double vote";
  EXPECT_EQ(ledger_.Propose(Node(9), Proposal(5), 0).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerTest, StakeWeightsTheQuorum) {
  // Give b most of the eligible stake: b's confirmation plus c's reaches the
  // quorum; c alone (low stake) plus a weak fourth node does not.
  ASSERT_TRUE(book_.Register(Node(4)).ok());
  for (int i = 0; i < 20; ++i) book_.RewardProposer(b_);  // 100 * 1.1^20 = 672.7
  for (int i = 0; i < 5; ++i) book_.SlashProposer(Node(4));  // 16.8
  auto id = ledger_.Propose(a_, Proposal(6), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kConfirm), 1), ProposalState::kOpen);
  EXPECT_EQ(*ledger_.AddVote(Node(4), VoteFor(*id, a_, Verdict::kConfirm), 2), ProposalState::kOpen)
      << "two validators, but 116.8 of 789.5 stake";
  EXPECT_EQ(*ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kConfirm), 3), ProposalState::kConfirmed);
}

TEST_F(LedgerTest, ABadProposerLosesWeightAndIsEventuallyIgnored) {
  int refuted = 0;
  for (uint64_t f = 100; f < 120; ++f) {
    auto id = ledger_.Propose(a_, Proposal(f), 0);
    if (!id.ok()) {
      EXPECT_EQ(id.status().code(), StatusCode::kFailedPrecondition);
      break;
    }
    ASSERT_TRUE(ledger_.AddVote(b_, VoteFor(*id, a_, Verdict::kRefute), 1).ok());
    ASSERT_EQ(*ledger_.AddVote(c_, VoteFor(*id, a_, Verdict::kRefute), 2), ProposalState::kRefuted);
    ++refuted;
    EXPECT_NEAR(book_.Stake(a_), 100.0 * std::pow(0.7, refuted), 1e-9);
  }
  EXPECT_EQ(refuted, 7) << "100 * 0.7^7 = 8.2 falls below the ignore threshold of 10";
  EXPECT_TRUE(book_.IsIgnored(a_));
  // An ignored node's votes carry no weight either.
  auto id = ledger_.Propose(b_, Proposal(500), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(ledger_.AddVote(a_, VoteFor(*id, b_, Verdict::kRefute), 1).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ledger_.AddVote(c_, VoteFor(*id, b_, Verdict::kConfirm), 1), ProposalState::kOpen)
      << "c holds all eligible stake but min_validators is 2";
}

// Liveness (docs/sync.md, "Liveness"): nodes 1..`nodes` registered in
// *book and a ledger whose liveness window is 1,000 us.
QuorumOptions LiveQuorum() {
  QuorumOptions q;
  q.liveness_window_us = 1000;
  return q;
}
void RegisterNodes(ReputationBook* book, uint8_t nodes) {
  for (uint8_t n = 1; n <= nodes; ++n) ASSERT_TRUE(book->Register(Node(n)).ok());
}

// Five nodes, a proposes; b and c confirm. Nodes not heard from count as
// heard from when the ledger started.
TEST(LivenessTest, ASilentNodeStopsCountingAfterTheWindowButAVoteAlwaysCounts) {
  ReputationBook book;
  RegisterNodes(&book, 5);
  ProposalLedger ledger(LiveQuorum(), &book);
  const NodeId a = Node(1), b = Node(2), c = Node(3), d = Node(4), e = Node(5);
  EXPECT_EQ(ledger.LastSeen(e), INT64_MIN) << "before the ledger's first call";
  auto id = ledger.Propose(a, Proposal(1), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(ledger.LastSeen(e), 0);
  EXPECT_EQ(*ledger.AddVote(b, VoteFor(*id, a, Verdict::kConfirm), 10), ProposalState::kOpen);
  EXPECT_EQ(*ledger.AddVote(c, VoteFor(*id, a, Verdict::kConfirm), 20), ProposalState::kOpen)
      << "200 of 400 eligible: d and e count while they may be alive";
  EXPECT_DOUBLE_EQ(ledger.Find(*id)->eligible_stake, 400.0);
  // d keeps sending; e is silent. Within the window nothing changes.
  ledger.NoteSeen(d, 900, 900);
  EXPECT_EQ(ledger.Reevaluate(1000), 0u);
  EXPECT_TRUE(ledger.IsLive(e, 1000));
  // Past it, e no longer counts: 200 of 300 (b, c, d) is a quorum.
  EXPECT_FALSE(ledger.IsLive(e, 1001));
  EXPECT_TRUE(ledger.IsLive(d, 1001));
  EXPECT_EQ(ledger.Reevaluate(1001), 1u);
  const ProposalStatus* st = ledger.Find(*id);
  EXPECT_EQ(st->state, ProposalState::kConfirmed);
  EXPECT_DOUBLE_EQ(st->eligible_stake, 300.0);
  EXPECT_DOUBLE_EQ(book.Stake(a), 110.0);
  // Voters count toward the eligible stake however long they are silent
  // (their vote is a verified message): b and c silent, d and e live again.
  auto id2 = ledger.Propose(a, Proposal(2), 5000);
  ASSERT_TRUE(id2.ok());
  ledger.NoteSeen(d, 5000, 5000);
  ledger.NoteSeen(e, 5000, 5000);
  EXPECT_EQ(*ledger.AddVote(b, VoteFor(*id2, a, Verdict::kConfirm), 5000), ProposalState::kOpen);
  EXPECT_EQ(*ledger.AddVote(c, VoteFor(*id2, a, Verdict::kConfirm), 5000), ProposalState::kOpen);
  ledger.NoteSeen(d, 9000, 9000);
  ledger.NoteSeen(e, 9000, 9000);
  EXPECT_EQ(ledger.Reevaluate(9000), 0u);
  EXPECT_DOUBLE_EQ(ledger.Find(*id2)->eligible_stake, 102.0 + 102.0 + 100.0 + 100.0);
}

TEST(LivenessTest, AQuorumNeverHasFewerThanMinValidatorsWhateverIsDown) {
  ReputationBook book;
  RegisterNodes(&book, 4);
  const QuorumOptions q = LiveQuorum();
  ProposalLedger ledger(q, &book);
  const NodeId a = Node(1), b = Node(2);
  auto id = ledger.Propose(a, Proposal(1), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*ledger.AddVote(b, VoteFor(*id, a, Verdict::kRefute), 10), ProposalState::kOpen);
  // c and d went down: b holds the whole eligible stake, but alone.
  ledger.NoteSeen(b, 5000, 5000);
  EXPECT_EQ(ledger.Reevaluate(5000), 0u);
  const ProposalStatus* st = ledger.Find(*id);
  EXPECT_EQ(st->state, ProposalState::kOpen);
  EXPECT_DOUBLE_EQ(st->eligible_stake, 100.0);
  EXPECT_DOUBLE_EQ(st->refute_stake, 100.0);
  EXPECT_DOUBLE_EQ(book.Stake(a), 100.0);
  // It expires as before (no stake change).
  EXPECT_EQ(ledger.ExpireOld(q.ttl_us + 1), 1u);
  EXPECT_EQ(ledger.Reevaluate(q.ttl_us + 2), 0u);
}

TEST(LivenessTest, SeenTimesAreClampedToNowNeverMoveBackAndAWindowOfZeroCountsEveryone) {
  ReputationBook book;
  RegisterNodes(&book, 3);
  QuorumOptions q = LiveQuorum();
  ProposalLedger ledger(q, &book);
  ledger.NoteSeen(Node(2), 50'000, 100);  // signed "in the future": live as of now only
  EXPECT_EQ(ledger.LastSeen(Node(2)), 100);
  ledger.NoteSeen(Node(2), 40, 200);  // an older message (delayed) moves nothing back
  EXPECT_EQ(ledger.LastSeen(Node(2)), 100);
  EXPECT_FALSE(ledger.IsLive(Node(2), 1101));
  EXPECT_FALSE(ledger.IsLive(Node(3), 1101)) << "heard from only at the ledger's start (100)";
  q.liveness_window_us = -1;
  EXPECT_EQ(ProposalLedger(q, &book).Propose(Node(1), Proposal(1), 0).status().code(), StatusCode::kInvalidArgument);
  // Liveness off: a node that is down counts, as in a 3-node cluster where
  // one node's proposal waits for the third node forever.
  ProposalLedger off(QuorumOptions{}, &book);
  off.NoteSeen(Node(2), 0, 0);
  EXPECT_TRUE(off.IsLive(Node(3), int64_t{1} << 60));
}

TEST(LedgerBoundsTest, OpenProposalsPerProposerAndInAllAreBounded) {
  ReputationBook book;
  for (uint8_t n = 1; n <= 3; ++n) ASSERT_TRUE(book.Register(Node(n)).ok());
  QuorumOptions q;
  q.max_open_per_proposer = 3;
  q.max_proposals = 4;
  ProposalLedger ledger(q, &book);
  for (uint64_t f = 0; f < 3; ++f) ASSERT_TRUE(ledger.Propose(Node(1), Proposal(f), 0).ok());
  EXPECT_EQ(ledger.Propose(Node(1), Proposal(3), 0).status().code(), StatusCode::kResourceExhausted);
  auto last = ledger.Propose(Node(2), Proposal(4), 0);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(ledger.Propose(Node(3), Proposal(5), 0).status().code(), StatusCode::kResourceExhausted)
      << "four open proposals fill the ledger";
  // Once the ttl passed, expired proposals make room.
  EXPECT_TRUE(ledger.Propose(Node(3), Proposal(6), q.ttl_us + 1).ok());
  EXPECT_EQ(ledger.proposals().size(), 4u);
}

TEST(ReputationTest, OptionsAreValidatedAndStakeIsCapped) {
  ReputationOptions bad;
  bad.proposer_slash = 1.0;
  EXPECT_FALSE(ValidateReputationOptions(bad).ok());
  bad = {};
  bad.ignore_below = 100;
  EXPECT_FALSE(ValidateReputationOptions(bad).ok());
  ReputationBook book;
  ASSERT_TRUE(book.Register(Node(1)).ok());
  EXPECT_EQ(book.Register(Node(1)).code(), StatusCode::kAlreadyExists);
  for (int i = 0; i < 100; ++i) book.RewardProposer(Node(1));
  EXPECT_DOUBLE_EQ(book.Stake(Node(1)), 1000.0);
  EXPECT_TRUE(book.IsIgnored(Node(2))) << "unknown";
}

TEST(ValidationTest, LocalMeasurementDecidesTheVote) {
  ValidationPolicy p;  // 20 samples, confirm >= 0.05, refute <= 0
  EXPECT_EQ(JudgeProposal(p, 0.5, 19).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*JudgeProposal(p, 0.05, 20), Verdict::kConfirm);
  EXPECT_EQ(*JudgeProposal(p, 0.0, 20), Verdict::kRefute);
  EXPECT_EQ(*JudgeProposal(p, -0.4, 100), Verdict::kRefute);
  EXPECT_EQ(JudgeProposal(p, 0.02, 100).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(JudgeProposal(p, NAN, 100).ok());
}

TEST(SchedulerTest, ConfigIsValidated) {
  SyncConfig c;
  EXPECT_TRUE(ValidateSyncConfig(c).ok());
  c.max_sync_interval_us = c.min_sync_interval_us - 1;
  EXPECT_FALSE(ValidateSyncConfig(c).ok());
  c = {};
  c.max_patterns_per_sync = 0;
  EXPECT_FALSE(ValidateSyncConfig(c).ok());
  c = {};
  c.privacy.epsilon = 0;
  EXPECT_FALSE(ValidateSyncConfig(c).ok());
  c = {};
  c.min_sync_interval_us = 0;
  EXPECT_FALSE(SyncScheduler::Create(c).ok());
}

TEST(SchedulerTest, IntervalBacksOffUnderPressureAndRecovers) {
  SyncConfig c;  // 60 s .. 3600 s
  auto s = SyncScheduler::Create(c);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Due(0));
  s->OnSyncSucceeded(1'000'000);
  EXPECT_FALSE(s->Due(1'000'000 + 59'999'999));
  EXPECT_TRUE(s->Due(1'000'000 + 60'000'000));
  int64_t t = 100'000'000;
  const int64_t expected[] = {120, 240, 480, 960, 1920, 3600, 3600};
  for (int64_t e : expected) {
    s->OnPressure(t);
    EXPECT_EQ(s->interval_us(), e * 1'000'000);
    EXPECT_EQ(s->NextSyncAt(), t + e * 1'000'000);
    t += 1'000'000;
  }
  s->OnSyncSucceeded(t);
  EXPECT_EQ(s->interval_us(), 1800'000'000);
  for (int i = 0; i < 10; ++i) s->OnSyncSucceeded(t);
  EXPECT_EQ(s->interval_us(), 60'000'000);
  c.adaptive_backoff = false;
  auto fixed = SyncScheduler::Create(c);
  ASSERT_TRUE(fixed.ok());
  fixed->OnPressure(0);
  EXPECT_EQ(fixed->interval_us(), 60'000'000);
}

TEST(SchedulerTest, OnlyMaturePatternsAreSelectedBestFirstUpToTheCap) {
  SyncConfig c;
  c.max_patterns_per_sync = 2;
  auto s = SyncScheduler::Create(c);
  ASSERT_TRUE(s.ok());
  const int64_t now = 1'000'000'000;
  auto obs = [&](uint64_t f, double gain, uint64_t n, int64_t age_s) {
    PatternObservation o;
    o.fingerprint = f;
    o.arm = "a";
    o.gain = gain;
    o.samples = n;
    o.first_seen_us = now - age_s * 1'000'000;
    return o;
  };
  auto picked = s->SelectForSync({obs(1, 0.5, 100, 400), obs(2, 0.9, 100, 100), obs(3, 0.2, 1000, 300),
                                  obs(4, 0.1, 10, 600), obs(5, 0.9, 0, 900)},
                                 now);
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0].fingerprint, 3u) << "0.2 x 1000 ranks first";
  EXPECT_EQ(picked[1].fingerprint, 1u) << "pattern 2 is too young, 5 has no samples";
}

}  // namespace
}  // namespace ruvector_dag::sync
