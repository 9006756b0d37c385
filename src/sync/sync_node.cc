// One node of the sync protocol: the parts of sync.h wired together.
#include "ruvector_dag/sync.h"

#include <algorithm>

namespace ruvector_dag::sync {

SyncNode::SyncNode(Keystore keystore, SyncNodeOptions options, PrivacyAccountant accountant,
                   SyncScheduler scheduler)
    : options_(std::move(options)),
      keystore_(std::move(keystore)),
      book_(options_.reputation),
      ledger_(options_.quorum, &book_),
      accountant_(std::move(accountant)),
      scheduler_(std::move(scheduler)),
      sealer_(&keystore_.self()),
      opener_(&keystore_, options_.replay, &book_) {}

Result<std::unique_ptr<SyncNode>> SyncNode::Create(Keystore keystore, SyncNodeOptions options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateSyncConfig(options.config));
  RUVECTOR_RETURN_IF_ERROR(ValidateReputationOptions(options.reputation));
  options.privacy.per_release = options.config.privacy;
  RUVECTOR_ASSIGN_OR_RETURN(PrivacyAccountant accountant,
                            PrivacyAccountant::Create(options.epsilon_budget, options.delta_budget));
  RUVECTOR_ASSIGN_OR_RETURN(SyncScheduler scheduler, SyncScheduler::Create(options.config));
  if (options.quorum.liveness_window_us == 0) {
    options.quorum.liveness_window_us = kLivenessIntervals * options.config.max_sync_interval_us;
  }
  std::unique_ptr<SyncNode> node(
      new SyncNode(std::move(keystore), std::move(options), std::move(accountant), std::move(scheduler)));
  RUVECTOR_RETURN_IF_ERROR(node->book_.Register(node->id()));
  for (const auto& [id, peer] : node->keystore_.peers()) RUVECTOR_RETURN_IF_ERROR(node->book_.Register(id));
  return node;
}

std::vector<NodeId> SyncNode::HeardPeers() const {
  std::vector<NodeId> heard;
  for (const auto& [id, peer] : keystore_.peers()) {
    if (!book_.IsIgnored(id)) heard.push_back(id);
  }
  return heard;
}

Result<std::vector<OutgoingMessage>> SyncNode::SealFor(const std::vector<NodeId>& recipients, MessageKind kind,
                                                       const Bytes& payload, int64_t now_us) {
  std::vector<OutgoingMessage> out;
  for (const NodeId& id : recipients) {
    const PeerInfo* peer = keystore_.FindPeer(id);
    if (peer == nullptr) continue;
    RUVECTOR_ASSIGN_OR_RETURN(Bytes bytes, sealer_.Seal(kind, *peer, payload, now_us));
    out.push_back({id, std::move(bytes)});
  }
  last_sealed_us_ = now_us;
  return out;
}

Result<std::vector<OutgoingMessage>> SyncNode::HeartbeatIfDue(int64_t now_us) {
  if (last_sealed_us_ != INT64_MIN && now_us - last_sealed_us_ < options_.config.max_sync_interval_us / 2) {
    return std::vector<OutgoingMessage>{};
  }
  return SealFor(HeardPeers(), MessageKind::kHeartbeat, EncodeHeartbeat(), now_us);
}

size_t SyncNode::ExpireProposals(int64_t now_us) {
  ledger_.NoteSeen(id(), now_us, now_us);
  const size_t expired = ledger_.ExpireOld(now_us);
  return expired + ledger_.Reevaluate(now_us);
}

Result<std::vector<OutgoingMessage>> SyncNode::Propose(const std::vector<PatternObservation>& observations,
                                                       NoiseSource& noise, int64_t now_us) {
  std::vector<OutgoingMessage> out;
  for (const PatternObservation& obs : observations) {
    RUVECTOR_ASSIGN_OR_RETURN(PatternProposal proposal,
                              PrivatizePattern(obs, options_.privacy, noise, &accountant_));
    RUVECTOR_RETURN_IF_ERROR(ledger_.Propose(id(), proposal, now_us));
    RUVECTOR_ASSIGN_OR_RETURN(auto sealed, SealFor(HeardPeers(), MessageKind::kPatternProposal,
                                                   EncodeProposal(proposal), now_us));
    for (auto& m : sealed) out.push_back(std::move(m));
  }
  return out;
}

ReceiveResult SyncNode::Receive(ByteView message, int64_t now_us) {
  ReceiveResult r;
  auto opened = opener_.Open(message, now_us, &r.reject);
  if (!opened.ok()) {
    r.status = opened.status();
    // The sender the message claims (unauthenticated), once the framing
    // checks passed: hosts count rejections per claimed peer.
    if (r.reject != RejectReason::kMalformed && r.reject != RejectReason::kUnsupportedVersion &&
        message.size() >= kEnvelopeHeaderBytes) {
      std::copy(message.begin() + 8, message.begin() + 40, r.sender.bytes.begin());
    }
    return r;
  }
  r.kind = opened->header.kind;
  r.sender = opened->header.sender;
  // Verified, and new (the replay window passed it): the sender is live as
  // of when it signed the message. This node is live now.
  ledger_.NoteSeen(id(), now_us, now_us);
  ledger_.NoteSeen(r.sender, opened->header.timestamp_us, now_us);
  if (r.kind == MessageKind::kHeartbeat) {
    r.status = DecodeHeartbeat(opened->payload);
    if (!r.status.ok()) r.reject = RejectReason::kBadPayload;
    return r;
  }
  if (r.kind == MessageKind::kPatternProposal) {
    auto proposal = DecodeProposal(opened->payload);
    if (!proposal.ok()) {
      r.reject = RejectReason::kBadPayload;
      r.status = proposal.status();
      return r;
    }
    auto id = ledger_.Propose(r.sender, *proposal, now_us);
    if (!id.ok()) {
      r.status = id.status();
      return r;
    }
    r.proposal = *id;
    r.state = ProposalState::kOpen;
    return r;
  }
  auto vote = DecodeVote(opened->payload);
  if (!vote.ok()) {
    r.reject = RejectReason::kBadPayload;
    r.status = vote.status();
    return r;
  }
  r.proposal = vote->proposal;
  auto state = ledger_.AddVote(r.sender, *vote, now_us);
  if (!state.ok()) {
    r.status = state.status();
    return r;
  }
  r.state = *state;
  return r;
}

Result<std::vector<OutgoingMessage>> SyncNode::Validate(const ProposalId& proposal, double local_gain,
                                                        uint64_t local_samples, int64_t now_us) {
  const ProposalStatus* st = ledger_.Find(proposal);
  if (st == nullptr) return Status::NotFound("no proposal " + ToHex(ByteView(proposal.data(), 8)));
  if (st->proposer == id()) return Status::InvalidArgument("a node does not validate its own proposal");
  RUVECTOR_ASSIGN_OR_RETURN(Verdict verdict, JudgeProposal(options_.validation, local_gain, local_samples));
  Vote vote;
  vote.proposal = proposal;
  vote.proposer = st->proposer;
  vote.verdict = verdict;
  vote.local_gain = local_gain;
  vote.local_samples = local_samples;
  ledger_.NoteSeen(id(), now_us, now_us);
  // The recipients are the peers heard before this vote counts: a vote that
  // decides the proposal may get its proposer (or a validator who voted the
  // other way) ignored here, and that node must still learn the outcome of a
  // proposal it made or voted on while it was heard (otherwise its ledger
  // keeps the proposal open and its book misses the decision).
  const std::vector<NodeId> recipients = HeardPeers();
  RUVECTOR_RETURN_IF_ERROR(ledger_.AddVote(id(), vote, now_us));
  return SealFor(recipients, MessageKind::kVote, EncodeVote(vote), now_us);
}

}  // namespace ruvector_dag::sync
