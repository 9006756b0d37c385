// Reputation stakes and the stake-weighted quorum over validators' votes
// (docs/sync.md, "Validation, quorum and reputation").
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {

Status ValidateReputationOptions(const ReputationOptions& o) {
  auto rate = [](double r) { return std::isfinite(r) && r >= 0.0 && r < 1.0; };
  if (!(o.initial_stake > 0.0) || !std::isfinite(o.initial_stake) || !(o.max_stake >= o.initial_stake) ||
      !std::isfinite(o.max_stake)) {
    return Status::InvalidArgument("reputation: need 0 < initial_stake <= max_stake, both finite");
  }
  if (!rate(o.proposer_reward) || !rate(o.proposer_slash) || !rate(o.validator_reward) || !rate(o.validator_slash)) {
    return Status::InvalidArgument("reputation: rewards and slashes must be in [0, 1)");
  }
  if (!(o.ignore_below >= 0.0 && o.ignore_below < o.initial_stake)) {
    return Status::InvalidArgument("reputation: ignore_below must be in [0, initial_stake)");
  }
  return Status::Ok();
}

Status ReputationBook::Register(const NodeId& node) {
  RUVECTOR_RETURN_IF_ERROR(ValidateReputationOptions(options_));
  if (!stakes_.emplace(node, options_.initial_stake).second) {
    return Status::AlreadyExists("node " + node.Short() + " is already registered");
  }
  return Status::Ok();
}

double ReputationBook::Stake(const NodeId& node) const {
  auto it = stakes_.find(node);
  return it == stakes_.end() ? 0.0 : it->second;
}

bool ReputationBook::IsIgnored(const NodeId& node) const {
  auto it = stakes_.find(node);
  return it == stakes_.end() || it->second < options_.ignore_below;
}

void ReputationBook::Scale(const NodeId& node, double factor) {
  auto it = stakes_.find(node);
  if (it == stakes_.end()) return;
  it->second = std::min(options_.max_stake, it->second * factor);
}

bool ReputationBook::Restore(const NodeId& node, double stake) {
  auto it = stakes_.find(node);
  if (it == stakes_.end() || !std::isfinite(stake)) return false;
  it->second = std::clamp(stake, 0.0, options_.max_stake);
  return true;
}

void ReputationBook::RewardProposer(const NodeId& n) { Scale(n, 1.0 + options_.proposer_reward); }
void ReputationBook::SlashProposer(const NodeId& n) { Scale(n, 1.0 - options_.proposer_slash); }
void ReputationBook::RewardValidator(const NodeId& n) { Scale(n, 1.0 + options_.validator_reward); }
void ReputationBook::SlashValidator(const NodeId& n) { Scale(n, 1.0 - options_.validator_slash); }

std::string_view ProposalStateName(ProposalState state) {
  switch (state) {
    case ProposalState::kOpen: return "open";
    case ProposalState::kConfirmed: return "confirmed";
    case ProposalState::kRefuted: return "refuted";
    case ProposalState::kExpired: return "expired";
  }
  return "unknown";
}

namespace {

std::string ShortId(const ProposalId& id) { return ToHex(ByteView(id.data(), 8)); }

Status ValidateQuorum(const QuorumOptions& o) {
  if (!(o.quorum_fraction > 0.5 && o.quorum_fraction <= 1.0)) {
    return Status::InvalidArgument("quorum: quorum_fraction must be in (0.5, 1]");
  }
  if (o.min_validators < 1) return Status::InvalidArgument("quorum: min_validators must be >= 1");
  if (o.ttl_us <= 0) return Status::InvalidArgument("quorum: ttl_us must be positive");
  if (o.max_open_per_proposer < 1 || o.max_proposals < 1) {
    return Status::InvalidArgument("quorum: max_open_per_proposer and max_proposals must be >= 1");
  }
  if (o.liveness_window_us < 0) return Status::InvalidArgument("quorum: liveness_window_us must be >= 0");
  return Status::Ok();
}

}  // namespace

Result<ProposalId> ProposalLedger::Propose(const NodeId& proposer, const PatternProposal& proposal,
                                           int64_t now_us) {
  RUVECTOR_RETURN_IF_ERROR(ValidateQuorum(options_));
  NoteStart(now_us);
  if (book_->IsIgnored(proposer)) {
    return Status::FailedPrecondition("proposal from " + proposer.Short() +
                                      " refused: unknown node or reputation below threshold");
  }
  const ProposalId id = MakeProposalId(proposer, proposal.fingerprint, proposal.arm);
  if (proposals_.count(id)) {
    return Status::AlreadyExists("proposal " + ShortId(id) + " (pattern " + std::to_string(proposal.fingerprint) +
                                 ", arm " + proposal.arm + ") was already made by this node");
  }
  size_t open_by_proposer = 0;
  for (const auto& [other_id, other] : proposals_) {
    if (other.proposer == proposer && other.state == ProposalState::kOpen &&
        now_us - other.created_us <= options_.ttl_us) {
      ++open_by_proposer;
    }
  }
  if (open_by_proposer >= options_.max_open_per_proposer) {
    return Status::ResourceExhausted("proposal from " + proposer.Short() + " refused: it already has " +
                                     std::to_string(open_by_proposer) + " open proposals");
  }
  if (!MakeRoom(now_us)) {
    return Status::ResourceExhausted("proposal ledger full: " + std::to_string(proposals_.size()) +
                                     " open proposals");
  }
  ProposalStatus st;
  st.id = id;
  st.proposer = proposer;
  st.proposal = proposal;
  st.created_us = now_us;
  proposals_.emplace(id, std::move(st));
  return id;
}

Result<ProposalState> ProposalLedger::AddVote(const NodeId& validator, const Vote& vote, int64_t now_us) {
  auto it = proposals_.find(vote.proposal);
  if (it == proposals_.end()) return Status::NotFound("vote for unknown proposal " + ShortId(vote.proposal));
  ProposalStatus& st = it->second;
  NoteStart(now_us);
  if (st.state == ProposalState::kOpen && now_us - st.created_us > options_.ttl_us) {
    st.state = ProposalState::kExpired;
  }
  if (st.state != ProposalState::kOpen) {
    return Status::FailedPrecondition("proposal " + ShortId(st.id) + " is already " +
                                      std::string(ProposalStateName(st.state)));
  }
  if (vote.proposer != st.proposer) {
    return Status::InvalidArgument("vote names proposer " + vote.proposer.Short() + " but proposal " +
                                   ShortId(st.id) + " is by " + st.proposer.Short());
  }
  if (validator == st.proposer) return Status::InvalidArgument("a proposer cannot vote on its own proposal");
  if (book_->IsIgnored(validator)) {
    return Status::FailedPrecondition("vote from " + validator.Short() +
                                      " refused: unknown node or reputation below threshold");
  }
  if (!st.votes.emplace(validator, vote.verdict).second) {
    return Status::AlreadyExists("validator " + validator.Short() + " already voted on proposal " + ShortId(st.id));
  }
  Evaluate(&st, now_us);
  return st.state;
}

void ProposalLedger::NoteSeen(const NodeId& node, int64_t sent_us, int64_t now_us) {
  NoteStart(now_us);
  const int64_t at = std::min(sent_us, now_us);  // a timestamp from the future proves nothing beyond now
  auto [it, inserted] = last_seen_.emplace(node, at);
  if (!inserted) it->second = std::max(it->second, at);
}

int64_t ProposalLedger::LastSeen(const NodeId& node) const {
  auto it = last_seen_.find(node);
  return it != last_seen_.end() ? std::max(it->second, started_us_) : started_us_;
}

bool ProposalLedger::IsLive(const NodeId& node, int64_t now_us) const {
  if (options_.liveness_window_us <= 0) return true;
  const int64_t seen = LastSeen(node);
  return seen != kNever && now_us - seen <= options_.liveness_window_us;
}

size_t ProposalLedger::Reevaluate(int64_t now_us) {
  NoteStart(now_us);
  // Only a change of who is live changes an eligible stake here (votes and
  // stake changes decide a proposal when they happen): the ledger is walked
  // only then.
  std::vector<NodeId> live;
  for (const auto& [node, stake] : book_->stakes()) {
    if (IsLive(node, now_us)) live.push_back(node);
  }
  if (live == last_live_) return 0;
  last_live_ = std::move(live);
  size_t decided = 0;
  for (auto& [id, st] : proposals_) {
    if (st.state != ProposalState::kOpen || st.votes.empty() || now_us - st.created_us > options_.ttl_us) continue;
    Evaluate(&st, now_us);
    decided += st.state != ProposalState::kOpen;
  }
  return decided;
}

void ProposalLedger::Evaluate(ProposalStatus* st, int64_t now_us) {
  // Eligible: every non-ignored node but the proposer that voted on this
  // proposal (its vote is a verified message) or is live now.
  double eligible = 0.0;
  for (const auto& [node, stake] : book_->stakes()) {
    if (node == st->proposer || book_->IsIgnored(node)) continue;
    if (st->votes.count(node) != 0 || IsLive(node, now_us)) eligible += stake;
  }
  double confirm = 0.0, refute = 0.0;
  uint32_t n_confirm = 0, n_refute = 0;
  for (const auto& [node, verdict] : st->votes) {
    if (book_->IsIgnored(node)) continue;  // fell below the threshold since voting
    const double stake = book_->Stake(node);
    if (verdict == Verdict::kConfirm) {
      confirm += stake;
      ++n_confirm;
    } else {
      refute += stake;
      ++n_refute;
    }
  }
  st->confirm_stake = confirm;
  st->refute_stake = refute;
  st->eligible_stake = eligible;
  if (eligible <= 0.0) return;
  const double needed = options_.quorum_fraction * eligible;
  if (confirm >= needed && n_confirm >= options_.min_validators) {
    Settle(st, ProposalState::kConfirmed);
  } else if (refute >= needed && n_refute >= options_.min_validators) {
    Settle(st, ProposalState::kRefuted);
  }
}

void ProposalLedger::Settle(ProposalStatus* st, ProposalState outcome) {
  st->state = outcome;
  const Verdict winning = outcome == ProposalState::kConfirmed ? Verdict::kConfirm : Verdict::kRefute;
  if (outcome == ProposalState::kConfirmed) {
    book_->RewardProposer(st->proposer);
  } else {
    book_->SlashProposer(st->proposer);
  }
  for (const auto& [node, verdict] : st->votes) {
    if (verdict == winning) {
      book_->RewardValidator(node);
    } else {
      book_->SlashValidator(node);
    }
  }
}

bool ProposalLedger::MakeRoom(int64_t now_us) {
  if (proposals_.size() < options_.max_proposals) return true;
  ExpireOld(now_us);
  std::vector<std::pair<int64_t, ProposalId>> done;
  for (const auto& [id, st] : proposals_) {
    if (st.state != ProposalState::kOpen) done.emplace_back(st.created_us, id);
  }
  std::sort(done.begin(), done.end());
  for (const auto& [created, id] : done) {
    if (proposals_.size() < options_.max_proposals) break;
    proposals_.erase(id);
  }
  return proposals_.size() < options_.max_proposals;
}

size_t ProposalLedger::ExpireOld(int64_t now_us) {
  size_t n = 0;
  for (auto& [id, st] : proposals_) {
    if (st.state == ProposalState::kOpen && now_us - st.created_us > options_.ttl_us) {
      st.state = ProposalState::kExpired;
      ++n;
    }
  }
  return n;
}

const ProposalStatus* ProposalLedger::Find(const ProposalId& id) const {
  auto it = proposals_.find(id);
  return it == proposals_.end() ? nullptr : &it->second;
}

}  // namespace ruvector_dag::sync
