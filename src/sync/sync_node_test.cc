// Three nodes exchange sealed proposals and votes in process: an honest
// pattern is confirmed by the others' own measurements, a peer proposing only
// bad patterns loses weight until its messages are ignored, and forged,
// replayed and tampered messages are rejected with a reason.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000'000;
constexpr uint64_t kSeed = 7;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyncNodeOptions opt;
    opt.privacy.min_samples = 50;
    Build(opt);
  }
  // Replaces the nodes with three new ones (each the others' peer) with `opt`.
  void Build(const SyncNodeOptions& opt) {
    nodes_.clear();
    std::vector<NodeIdentity> ids;
    for (const char* name : {"pg-a", "pg-b", "pg-c"}) {
      auto id = NodeIdentity::Generate(name);
      ASSERT_TRUE(id.ok());
      ids.push_back(std::move(id).value());
    }
    std::vector<PeerInfo> infos;
    for (const auto& id : ids) infos.push_back(id.info());
    for (size_t i = 0; i < ids.size(); ++i) {
      Keystore ks(std::move(ids[i]));
      for (size_t j = 0; j < infos.size(); ++j) {
        if (j != i) ASSERT_TRUE(ks.AddPeer(infos[j]).ok());
      }
      auto node = SyncNode::Create(std::move(ks), opt);
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      nodes_.push_back(std::move(node).value());
    }
  }

  SyncNode* ByIdx(size_t i) { return nodes_[i].get(); }
  SyncNode* ById(const NodeId& id) {
    for (auto& n : nodes_) {
      if (n->id() == id) return n.get();
    }
    return nullptr;
  }
  // Delivers every message; returns the results in order.
  std::vector<ReceiveResult> Deliver(const std::vector<OutgoingMessage>& out, int64_t now) {
    std::vector<ReceiveResult> results;
    for (const auto& m : out) results.push_back(ById(m.recipient)->Receive(m.bytes, now));
    return results;
  }
  PatternObservation Obs(uint64_t fingerprint, double gain) {
    PatternObservation o;
    o.fingerprint = fingerprint;
    o.embedding.assign(16, 0.125f);
    o.arm = "no_nestloop";
    o.gain = gain;
    o.samples = 400;
    return o;
  }

  std::vector<std::unique_ptr<SyncNode>> nodes_;
  Rng rng_{kSeed};
  SeededNoiseSource noise_{&rng_};
};

TEST_F(ClusterTest, AnHonestPatternIsConfirmedByTheOthersMeasurements) {
  auto out = ByIdx(0)->Propose({Obs(11, 0.4)}, noise_, kT0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  PatternProposal same_shape;
  same_shape.embedding.assign(16, 0.0f);
  same_shape.arm = "no_nestloop";
  EXPECT_EQ((*out)[0].bytes.size(), kEnvelopeOverheadBytes + EncodeProposal(same_shape).size());
  EXPECT_EQ(ByIdx(0)->accountant().releases(), 1u);
  auto received = Deliver(*out, kT0 + 1000);
  for (const auto& r : received) ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const ProposalId pid = received[0].proposal;
  // b and c measure the arm on their own workloads (the host's job) and vote.
  auto vb = ByIdx(1)->Validate(pid, 0.3, 60, kT0 + 2000);
  ASSERT_TRUE(vb.ok()) << vb.status().ToString();
  auto rb = Deliver(*vb, kT0 + 3000);
  for (const auto& r : rb) EXPECT_EQ(r.state, ProposalState::kOpen);
  auto vc = ByIdx(2)->Validate(pid, 0.25, 80, kT0 + 4000);
  ASSERT_TRUE(vc.ok());
  // c's own ledger decides as soon as c votes; a and b when c's vote arrives.
  EXPECT_EQ(ByIdx(2)->ledger().Find(pid)->state, ProposalState::kConfirmed);
  auto rc = Deliver(*vc, kT0 + 5000);
  for (const auto& r : rc) EXPECT_EQ(r.state, ProposalState::kConfirmed) << r.status.ToString();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(ByIdx(i)->reputation().Stake(ByIdx(0)->id()), 110.0) << i;
    EXPECT_DOUBLE_EQ(ByIdx(i)->reputation().Stake(ByIdx(1)->id()), 102.0) << i;
  }
  // Too little local evidence: no vote.
  EXPECT_EQ(ByIdx(1)->Validate(pid, 0.3, 5, kT0).status().code(), StatusCode::kNotFound);
}

TEST_F(ClusterTest, APeerProposingOnlyBadPatternsIsEventuallyIgnored) {
  // The bad peer follows no rules of its own: it seals proposals directly.
  SyncNode* bad = ByIdx(0);
  MessageSealer bad_sealer(&bad->keystore().self());
  int64_t t = kT0;
  int refuted = 0;
  for (uint64_t f = 1; f <= 10; ++f, t += 60'000'000) {
    PatternProposal p;
    p.fingerprint = f;
    p.arm = "no_indexscan";
    p.noisy_gain = 0.9;
    p.noisy_samples = 5000;
    p.privacy = {NoiseMechanism::kLaplace, 0.05, 0.0};
    p.gain_sensitivity = 0.02;
    std::vector<ReceiveResult> received;
    for (size_t v : {size_t{1}, size_t{2}}) {
      auto m = bad_sealer.Seal(MessageKind::kPatternProposal, ByIdx(v)->keystore().self().info(),
                               EncodeProposal(p), t);
      ASSERT_TRUE(m.ok());
      received.push_back(ByIdx(v)->Receive(*m, t));
    }
    if (!received[0].status.ok()) {
      // The honest nodes stopped listening.
      EXPECT_EQ(received[0].reject, RejectReason::kIgnoredSender) << received[0].status.ToString();
      EXPECT_EQ(received[1].reject, RejectReason::kIgnoredSender);
      break;
    }
    // The pattern makes b's and c's queries slower.
    auto vb = ByIdx(1)->Validate(received[0].proposal, -0.5, 40, t + 1);
    auto vc = ByIdx(2)->Validate(received[0].proposal, -0.2, 40, t + 2);
    ASSERT_TRUE(vb.ok() && vc.ok());
    Deliver(*vb, t + 3);
    Deliver(*vc, t + 4);
    EXPECT_EQ(ByIdx(1)->ledger().Find(received[0].proposal)->state, ProposalState::kRefuted);
    EXPECT_EQ(ByIdx(2)->ledger().Find(received[0].proposal)->state, ProposalState::kRefuted);
    ++refuted;
  }
  EXPECT_EQ(refuted, 7);
  EXPECT_TRUE(ByIdx(1)->reputation().IsIgnored(bad->id()));
  EXPECT_TRUE(ByIdx(2)->reputation().IsIgnored(bad->id()));
  EXPECT_FALSE(ByIdx(1)->reputation().IsIgnored(ByIdx(2)->id()));
  EXPECT_NEAR(ByIdx(1)->reputation().Stake(bad->id()), 100 * std::pow(0.7, 7), 1e-9);
}

// The vote that decides a proposal may get its proposer ignored by the
// voter (here at once: ignore_below 75, one refutation leaves 70); it is
// still sealed for the proposer, whose ledger then decides the proposal and
// whose book takes the same slash as everyone else's.
TEST_F(ClusterTest, TheVoteThatGetsAProposerIgnoredStillReachesIt) {
  SyncNodeOptions opt;
  opt.privacy.min_samples = 50;
  opt.reputation.ignore_below = 75.0;
  Build(opt);
  SyncNode* a = ByIdx(0);
  auto out = a->Propose({Obs(21, 0.4)}, noise_, kT0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto received = Deliver(*out, kT0 + 1000);
  ASSERT_TRUE(received[0].status.ok()) << received[0].status.ToString();
  const ProposalId pid = received[0].proposal;
  auto vb = ByIdx(1)->Validate(pid, -0.5, 40, kT0 + 2000);
  ASSERT_TRUE(vb.ok()) << vb.status().ToString();
  ASSERT_EQ(vb->size(), 2u);
  Deliver(*vb, kT0 + 3000);
  // c's vote decides: on c's own ledger a is ignored from now on.
  auto vc = ByIdx(2)->Validate(pid, -0.2, 40, kT0 + 4000);
  ASSERT_TRUE(vc.ok()) << vc.status().ToString();
  EXPECT_EQ(ByIdx(2)->ledger().Find(pid)->state, ProposalState::kRefuted);
  EXPECT_TRUE(ByIdx(2)->reputation().IsIgnored(a->id()));
  ASSERT_EQ(vc->size(), 2u) << "the deciding vote is sealed for the proposer too";
  for (const auto& r : Deliver(*vc, kT0 + 5000)) EXPECT_EQ(r.state, ProposalState::kRefuted) << r.status.ToString();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ByIdx(i)->ledger().Find(pid)->state, ProposalState::kRefuted) << i;
    EXPECT_DOUBLE_EQ(ByIdx(i)->reputation().Stake(a->id()), 70.0) << i;
  }
  // a's own book, like everyone's, is below the threshold now.
  EXPECT_EQ(a->Propose({Obs(22, 0.4)}, noise_, kT0 + 6000).status().code(), StatusCode::kFailedPrecondition);
  auto vb2 = ByIdx(1)->Validate(pid, -0.5, 40, kT0 + 7000);
  EXPECT_FALSE(vb2.ok()) << "a decided proposal takes no more votes";
}

TEST_F(ClusterTest, ReplayedForgedAndTamperedMessagesAreRejectedWithReasons) {
  auto out = ByIdx(0)->Propose({Obs(21, 0.4)}, noise_, kT0);
  ASSERT_TRUE(out.ok());
  const OutgoingMessage& to_b = (*out)[0];
  SyncNode* b = ById(to_b.recipient);
  ASSERT_TRUE(b->Receive(to_b.bytes, kT0).status.ok());
  // Replay.
  ReceiveResult replay = b->Receive(to_b.bytes, kT0 + 10);
  EXPECT_EQ(replay.reject, RejectReason::kReplayed);
  EXPECT_NE(replay.status.message().find("already received"), std::string::npos) << replay.status.ToString();
  // A rejected message names the sender it claims (hosts count rejections per
  // peer); before the framing checks pass it names none.
  EXPECT_EQ(replay.sender, ByIdx(0)->id());
  Bytes truncated(to_b.bytes.begin(), to_b.bytes.begin() + 100);
  ReceiveResult malformed = b->Receive(truncated, kT0 + 10);
  EXPECT_EQ(malformed.reject, RejectReason::kMalformed);
  EXPECT_EQ(malformed.sender, NodeId{});
  // Tampered signature.
  auto out2 = ByIdx(0)->Propose({Obs(22, 0.4)}, noise_, kT0 + 20);
  ASSERT_TRUE(out2.ok());
  Bytes tampered = (*out2)[0].bytes;
  tampered[tampered.size() - 100] ^= 0x04;
  ReceiveResult bad_sig = ById((*out2)[0].recipient)->Receive(tampered, kT0 + 30);
  EXPECT_EQ(bad_sig.reject, RejectReason::kBadSignature);
  EXPECT_EQ(bad_sig.sender, ByIdx(0)->id());
  // Forged: an outsider claims to be node a.
  auto outsider = NodeIdentity::Generate("outsider");
  ASSERT_TRUE(outsider.ok());
  MessageSealer forger(&*outsider);
  auto forged = forger.Seal(MessageKind::kPatternProposal, b->keystore().self().info(),
                            EncodeProposal(PatternProposal{99, {}, "hash_only", 0.9, 999, {}, 0.02}), kT0 + 40);
  ASSERT_TRUE(forged.ok());
  ReceiveResult unknown = b->Receive(*forged, kT0 + 40);
  EXPECT_EQ(unknown.reject, RejectReason::kUnknownSender);
  EXPECT_EQ(unknown.sender, outsider->id());
  std::copy(ByIdx(0)->id().bytes.begin(), ByIdx(0)->id().bytes.end(), forged->begin() + 8);
  ReceiveResult claimed = b->Receive(*forged, kT0 + 40);
  EXPECT_EQ(claimed.reject, RejectReason::kBadSignature);
  EXPECT_EQ(claimed.sender, ByIdx(0)->id());
  // A signed message whose payload does not parse.
  MessageSealer a_sealer(&ByIdx(0)->keystore().self());
  auto garbage = a_sealer.Seal(MessageKind::kVote, b->keystore().self().info(), Bytes{1, 2, 3}, kT0 + 50);
  ASSERT_TRUE(garbage.ok());
  ReceiveResult g = b->Receive(*garbage, kT0 + 50);
  EXPECT_EQ(g.reject, RejectReason::kBadPayload);
  // The genuine second proposal still opens.
  EXPECT_TRUE(ById((*out2)[0].recipient)->Receive((*out2)[0].bytes, kT0 + 60).status.ok());
}

TEST_F(ClusterTest, HeartbeatsAndMessagesMakeANodeLiveButReplaysAndDelaysDoNotExtendIt) {
  SyncNode* a = ByIdx(0);
  SyncNode* b = ByIdx(1);
  const int64_t window = b->options().config.max_sync_interval_us * SyncNode::kLivenessIntervals;
  b->ExpireProposals(kT0);  // b's first step: its ledger starts at kT0
  // The first heartbeat is due at once; then only after half an interval
  // without any sealed message.
  const int64_t sent = kT0 + 1000;
  auto hb = a->HeartbeatIfDue(sent);
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  ASSERT_EQ(hb->size(), 2u);
  EXPECT_EQ((*hb)[0].bytes.size(), kEnvelopeOverheadBytes + EncodeHeartbeat().size());
  EXPECT_TRUE(a->HeartbeatIfDue(sent + 1000)->empty());
  const OutgoingMessage& to_b = (*hb)[0].recipient == b->id() ? (*hb)[0] : (*hb)[1];
  // b hears from a 200 s late (a network that held the message back): a is
  // live as of when it signed it, not as of the delivery.
  ReceiveResult r = b->Receive(to_b.bytes, kT0 + 200'000'000);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.kind, MessageKind::kHeartbeat);
  EXPECT_EQ(b->ledger().LastSeen(a->id()), sent);
  EXPECT_TRUE(b->ledger().IsLive(a->id(), sent + window));
  EXPECT_FALSE(b->ledger().IsLive(a->id(), sent + window + 1));
  // A replay is rejected and proves nothing.
  EXPECT_EQ(b->Receive(to_b.bytes, kT0 + 250'000'000).reject, RejectReason::kReplayed);
  EXPECT_EQ(b->ledger().LastSeen(a->id()), sent);
  // A heartbeat whose payload is not one is a bad payload (yet signed: a is
  // live).
  MessageSealer a_sealer(&a->keystore().self());
  auto bad = a_sealer.Seal(MessageKind::kHeartbeat, b->keystore().self().info(), Bytes{1, 0}, kT0 + 260'000'000);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(b->Receive(*bad, kT0 + 260'000'000).reject, RejectReason::kBadPayload);
  EXPECT_EQ(b->ledger().LastSeen(a->id()), kT0 + 260'000'000);
  // Any message counts and postpones the next heartbeat.
  const int64_t t1 = kT0 + a->options().config.max_sync_interval_us / 2;
  auto prop = a->Propose({Obs(31, 0.4)}, noise_, t1);
  ASSERT_TRUE(prop.ok());
  EXPECT_TRUE(a->HeartbeatIfDue(t1 + 1)->empty());
  EXPECT_EQ(a->HeartbeatIfDue(t1 + a->options().config.max_sync_interval_us / 2)->size(), 2u);
  for (const auto& m : *prop) {
    if (m.recipient == b->id()) ASSERT_TRUE(b->Receive(m.bytes, t1 + 10).status.ok());
  }
  EXPECT_EQ(b->ledger().LastSeen(a->id()), t1);
  // c never sent anything: counted as heard from when b's ledger started.
  EXPECT_EQ(b->ledger().LastSeen(ByIdx(2)->id()), kT0);
  EXPECT_FALSE(b->ledger().IsLive(ByIdx(2)->id(), kT0 + window + 1));
}

TEST_F(ClusterTest, PrivacyBudgetStopsProposals) {
  SyncNodeOptions opt;
  opt.epsilon_budget = 0.25;  // two releases at epsilon 0.1
  opt.privacy.min_samples = 50;
  auto id = NodeIdentity::Generate("frugal");
  ASSERT_TRUE(id.ok());
  Keystore ks(std::move(id).value());
  ASSERT_TRUE(ks.AddPeer(ByIdx(1)->keystore().self().info()).ok());
  auto node = SyncNode::Create(std::move(ks), opt);
  ASSERT_TRUE(node.ok());
  auto r = (*node)->Propose({Obs(1, 0.3), Obs(2, 0.3), Obs(3, 0.3)}, noise_, kT0);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ((*node)->accountant().releases(), 2u);
  EXPECT_NE((*node)->accountant().Describe().find("2 releases"), std::string::npos);
}

// A restarted node: a new SyncNode with the same keys and peers.
std::unique_ptr<SyncNode> Restarted(const SyncNode& node) {
  auto ks = Keystore::Parse(node.keystore().Serialize().view());
  EXPECT_TRUE(ks.ok());
  SyncNodeOptions opt;
  opt.privacy.min_samples = 50;
  return std::move(SyncNode::Create(std::move(ks).value(), opt)).value();
}

TEST_F(ClusterTest, TheStateSurvivesARestartAndAReplayedMessageIsStillRefused) {
  auto out = ByIdx(0)->Propose({Obs(31, 0.4), Obs(32, 0.3)}, noise_, kT0);
  ASSERT_TRUE(out.ok());
  for (const auto& r : Deliver(*out, kT0 + 1000)) ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  SyncNode* b = ByIdx(1);
  const OutgoingMessage* to_b = nullptr;
  for (const auto& m : *out) to_b = m.recipient == b->id() ? &m : to_b;
  ASSERT_NE(to_b, nullptr);
  const ProposalId pid = MakeProposalId(ByIdx(0)->id(), 31, "no_nestloop");
  auto vb = b->Validate(pid, 0.3, 60, kT0 + 2000);
  auto vc = ByIdx(2)->Validate(pid, 0.3, 60, kT0 + 3000);
  ASSERT_TRUE(vb.ok() && vc.ok());
  Deliver(*vb, kT0 + 4000);
  Deliver(*vc, kT0 + 5000);
  ASSERT_EQ(b->ledger().Find(pid)->state, ProposalState::kConfirmed);
  const double stake_a = b->reputation().Stake(ByIdx(0)->id());
  ASSERT_DOUBLE_EQ(stake_a, 110.0);

  const std::string dir = ::testing::TempDir() + "/sync_state_test_" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  const std::string path = dir + "/node.state";
  ASSERT_TRUE(b->SaveStateFile(path).ok());
  // Without the state a restarted node accepts the old message again ...
  std::unique_ptr<SyncNode> empty = Restarted(*b);
  EXPECT_EQ(empty->LoadStateFile(dir + "/missing.state").code(), StatusCode::kNotFound);
  EXPECT_TRUE(empty->Receive(to_b->bytes, kT0 + 6000).status.ok());
  // ... with it, the replay window, ledger, stakes and budget are back.
  std::unique_ptr<SyncNode> b2 = Restarted(*b);
  ASSERT_TRUE(b2->LoadStateFile(path).ok());
  EXPECT_EQ(b2->SaveState(), b->SaveState());
  ReceiveResult replay = b2->Receive(to_b->bytes, kT0 + 6000);
  EXPECT_EQ(replay.reject, RejectReason::kReplayed) << replay.status.ToString();
  EXPECT_EQ(b2->ledger().Find(pid)->state, ProposalState::kConfirmed);
  EXPECT_EQ(b2->ledger().Find(pid)->votes.size(), 2u);
  EXPECT_EQ(b2->ledger().proposals().size(), 2u);
  EXPECT_DOUBLE_EQ(b2->reputation().Stake(ByIdx(0)->id()), stake_a);
  // b already voted: a second vote after the restart is refused.
  EXPECT_EQ(b2->Validate(pid, 0.3, 60, kT0 + 7000).status().code(), StatusCode::kFailedPrecondition);
  // The proposer's budget spending survives too.
  std::unique_ptr<SyncNode> a2 = Restarted(*ByIdx(0));
  ASSERT_TRUE(a2->RestoreState(ByIdx(0)->SaveState()).ok());
  EXPECT_EQ(a2->accountant().releases(), 2u);
  EXPECT_DOUBLE_EQ(a2->accountant().epsilon_spent(), ByIdx(0)->accountant().epsilon_spent());
  // Another node's image is refused.
  EXPECT_EQ(a2->RestoreState(b->SaveState()).code(), StatusCode::kFailedPrecondition);
  // A directory at the path is refused without reading.
  EXPECT_EQ(a2->LoadStateFile(dir).code(), StatusCode::kFailedPrecondition);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

TEST_F(ClusterTest, ACorruptOrTruncatedStateImageIsRefusedAndChangesNothing) {
  auto out = ByIdx(0)->Propose({Obs(41, 0.4)}, noise_, kT0);
  ASSERT_TRUE(out.ok());
  Deliver(*out, kT0 + 1000);
  SyncNode* b = ByIdx(1);
  const Bytes image = b->SaveState();
  std::unique_ptr<SyncNode> fresh = Restarted(*b);
  const Bytes before = fresh->SaveState();
  ASSERT_NE(before, image);
  // Every flipped bit of every byte: refused (checksum, or magic/version).
  for (size_t i = 0; i < image.size(); ++i) {
    Bytes bad = image;
    bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
    const Status st = fresh->RestoreState(bad);
    ASSERT_FALSE(st.ok()) << "flipped byte " << i;
    ASSERT_TRUE(st.code() == StatusCode::kDataLoss || st.code() == StatusCode::kFailedPrecondition) << st.ToString();
  }
  for (size_t n = 0; n < image.size(); ++n) {
    const Status st = fresh->RestoreState(ByteView(image.data(), n));
    ASSERT_EQ(st.code(), StatusCode::kDataLoss) << "truncated to " << n << ": " << st.ToString();
  }
  EXPECT_EQ(fresh->SaveState(), before);
  // A valid checksum over a bad field (an unknown proposal state) is refused too.
  Bytes forged = image;
  forged.resize(forged.size() - 4);
  const size_t windows_at = 4 + 4 + 32 + 24;
  const uint32_t windows = forged[windows_at];
  const size_t stakes_at = windows_at + 4 + 48 * windows;
  const uint32_t stakes = forged[stakes_at];
  const size_t state_at = stakes_at + 4 + 40 * stakes + 4 + 64;
  forged[state_at] = 9;
  const uint32_t crc = Crc32c(forged.data(), forged.size());
  for (int i = 0; i < 4; ++i) forged.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  const Status st = fresh->RestoreState(forged);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  EXPECT_NE(st.message().find("proposal 0"), std::string::npos) << st.ToString();
  EXPECT_EQ(fresh->SaveState(), before);
  ASSERT_TRUE(fresh->RestoreState(image).ok());
  EXPECT_EQ(fresh->SaveState(), image);
}

}  // namespace
}  // namespace ruvector_dag::sync
