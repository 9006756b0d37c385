// The C++ zone of pattern sync in the worker (sync_host.h). No PostgreSQL
// headers.
#include "worker/sync_host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>

#include "planner/dag_bridge.h"
#include "state/steer_state.h"
#include "ruvector_dag/core.h"

namespace ruvector_pg {

namespace sync = ruvector_dag::sync;
using ruvector_dag::Result;
using ruvector_dag::Status;
using ruvector_dag::StatusCode;

uint64_t PortableFingerprint(const ruvector_dag::QueryDag& default_plan) {
  // A tag keeps this from ever equalling a shape hash or a pattern key.
  uint64_t h = ruvector_dag::HashCombine(0x52565359'4E434650ull, default_plan.ShapeHash());
  return ruvector_dag::HashCombine(h, ParamBucket(default_plan));
}

double EmbeddingDistance(const ruvector_dag::PlanEmbedding& a, const std::vector<float>& b,
                         const std::vector<uint32_t>& redact) {
  if (b.size() != a.size()) return 1e9;
  double diff = 0.0, na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::find(redact.begin(), redact.end(), static_cast<uint32_t>(i)) != redact.end()) continue;
    const double x = a[i], y = b[i];
    diff += (x - y) * (x - y);
    na += x * x;
    nb += y * y;
  }
  const double scale = std::sqrt(std::max(na, nb));
  return scale == 0.0 ? 0.0 : std::sqrt(diff) / scale;
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Reads a small regular file; kNotFound when it does not exist. Anything
/// else (a FIFO, a device such as /dev/zero, a directory) is refused before
/// a byte is read, and at most `max_bytes` + 1 bytes are ever read: the
/// worker never blocks on, or fills its memory from, what is at that path.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("\"" + path + "\" does not exist");
    return Status::FailedPrecondition("cannot read \"" + path + "\": " + std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::FailedPrecondition("\"" + path + "\" is not a regular file");
  }
  std::string text;
  char chunk[8192];
  while (text.size() <= max_bytes) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status::FailedPrecondition("cannot read \"" + path + "\": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  if (text.size() > max_bytes) {
    return Status::InvalidArgument("\"" + path + "\" is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

std::vector<std::string> SplitUrls(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<sync::PeerInfo>> ParsePeersFile(const std::string& text) {
  std::vector<sync::PeerInfo> peers;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.size() % 2 != 0) {
      return Status::InvalidArgument("peers file line " + std::to_string(number) + ": odd number of hex digits");
    }
    sync::Bytes bytes(line.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
      const int hi = HexDigit(line[2 * i]), lo = HexDigit(line[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("peers file line " + std::to_string(number) + ": not a hex digit at column " +
                                       std::to_string(2 * i + (hi < 0 ? 1 : 2)));
      }
      bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    auto peer = sync::PeerInfo::Parse(bytes);
    if (!peer.ok()) return peer.status().WithContext("peers file line " + std::to_string(number));
    peers.push_back(std::move(*peer));
  }
  return peers;
}

// --- the transport thread ---------------------------------------------------------------

SyncTransportThread::SyncTransportThread(sync::NodeId self, sync::TransportOptions options)
    : self_(self), options_(std::move(options)) {
  // The worker's signal handlers belong to its main thread: this thread and
  // the NATS client's threads (started from it) run with every signal blocked.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this]() { Run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

SyncTransportThread::~SyncTransportThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t SyncTransportThread::Enqueue(std::vector<sync::OutgoingMessage> messages) {
  size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (sync::OutgoingMessage& m : messages) {
      if (outbox_.size() >= kMaxQueued) {
        ++dropped;
        continue;
      }
      outbox_.push_back(std::move(m));
    }
  }
  cv_.notify_all();
  return dropped;
}

std::vector<sync::Bytes> SyncTransportThread::TakeReceived() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<sync::Bytes> out;
  out.swap(inbox_);
  return out;
}

SyncTransportThread::Snapshot SyncTransportThread::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s = snapshot_;
  s.queued = outbox_.size();
  return s;
}

void SyncTransportThread::Run() {
  std::unique_ptr<sync::Transport> transport;
  constexpr auto kRetry = std::chrono::milliseconds(1000);
  constexpr int64_t kFetchWaitMs = 200;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    if (transport == nullptr) {
      auto t = sync::ConnectJetStream(self_, options_);
      std::unique_lock<std::mutex> lock(mu_);
      if (!t.ok()) {
        ++snapshot_.connect_failures;
        snapshot_.last_error = t.status().ToString();
        snapshot_.stats.connected = false;
        cv_.wait_for(lock, kRetry, [this]() { return stop_; });
        continue;
      }
      transport = std::move(*t);
    }
    std::deque<sync::OutgoingMessage> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(outbox_);
    }
    bool failed = false;
    std::string error;
    while (!batch.empty()) {
      Status st = transport->Publish(batch.front().recipient, batch.front().bytes);
      if (!st.ok()) {
        failed = true;
        error = st.ToString();
        break;
      }
      batch.pop_front();
    }
    auto got = transport->Fetch(64, kFetchWaitMs);
    std::unique_lock<std::mutex> lock(mu_);
    // Unsent messages go back to the front, in order, within the bound.
    while (!batch.empty()) {
      if (outbox_.size() < kMaxQueued) outbox_.push_front(std::move(batch.back()));
      batch.pop_back();
    }
    if (got.ok()) {
      for (sync::ReceivedMessage& m : *got) {
        if (inbox_.size() < kMaxQueued) inbox_.push_back(std::move(m.bytes));
      }
    } else {
      failed = true;
      error = got.status().ToString();
    }
    snapshot_.stats = transport->Stats();
    if (failed) {
      snapshot_.last_error = error;
      cv_.wait_for(lock, kRetry, [this]() { return stop_; });
    }
  }
}

// --- the host -------------------------------------------------------------------------

SyncHost::SyncHost(SyncSettings settings, std::unique_ptr<sync::SyncNode> node, std::string peers_stamp)
    : settings_(std::move(settings)), node_(std::move(node)), peers_stamp_(std::move(peers_stamp)) {}

SyncHost::~SyncHost() {
  // A clean stop keeps what changed since the last save (errors cannot be
  // reported from here; the next start then restores the previous save).
  if (node_ != nullptr) (void)SaveStateIfDirty(0, /*force=*/true);
}

Status SyncHost::SaveStateIfDirty(int64_t now_us, bool force) {
  if (!state_dirty_) return Status::Ok();
  if (!force && now_us - state_saved_us_ < kStateSaveIntervalUs) return Status::Ok();
  Status st = node_->SaveStateFile(settings_.data_dir + "/" + kSyncStateFile);
  // A failed save (a full disk) is retried, and reported, every 30 s.
  state_saved_us_ = st.ok() ? now_us : now_us + kStateRetryUs - kStateSaveIntervalUs;
  if (st.ok()) state_dirty_ = false;
  return st;
}

void SyncHost::AdoptRestoredLedger() {
  for (const auto& [id, p] : node_->ledger().proposals()) {
    if (p.proposer == node_->id()) {
      proposed_.insert({p.proposal.fingerprint, p.proposal.arm});
      continue;
    }
    Received& rec = received_[id];
    auto vote = p.votes.find(node_->id());
    if (vote != p.votes.end()) {
      rec.voted = true;
      rec.local = vote->second == sync::Verdict::kConfirm ? "confirmed" : "refuted";
    } else if (p.state != sync::ProposalState::kOpen) {
      rec.local = "decided";
    }
  }
}

Result<std::unique_ptr<SyncHost>> SyncHost::Start(const SyncSettings& settings, int64_t now_us) {
  const std::string keystore_path = settings.data_dir + "/" + kSyncKeystoreFile;
  auto keystore = sync::Keystore::Load(keystore_path);
  struct stat st;
  // Only a keystore that does not exist is created: one that cannot be
  // opened (another owner, mode 000) must never be replaced by a new identity.
  const bool missing = stat(keystore_path.c_str(), &st) != 0 && errno == ENOENT;
  if (!keystore.ok() && keystore.status().code() == StatusCode::kNotFound && missing) {
    const std::string name = settings.node_name.empty() ? "ruvector" : settings.node_name;
    RUVECTOR_ASSIGN_OR_RETURN(sync::NodeIdentity identity, sync::NodeIdentity::Generate(name));
    sync::Keystore created(std::move(identity));
    RUVECTOR_RETURN_IF_ERROR(created.Save(keystore_path));
    keystore = sync::Keystore::Load(keystore_path);
  }
  if (!keystore.ok()) return keystore.status().WithContext("sync keystore");
  // Peers come from the peers file only (the keystore file keeps this
  // node's keys): a peer removed from the file is no longer accepted.
  for (const auto& [id, peer] : std::map<sync::NodeId, sync::PeerInfo>(keystore->peers())) {
    RUVECTOR_RETURN_IF_ERROR(keystore->RemovePeer(id));
  }
  std::string stamp;
  auto text = ReadSmallFile(settings.data_dir + "/" + kSyncPeersFile, 1 << 20);
  if (text.ok()) {
    stamp = *text;
    RUVECTOR_ASSIGN_OR_RETURN(std::vector<sync::PeerInfo> peers, ParsePeersFile(*text));
    for (sync::PeerInfo& p : peers) {
      if (p.id == keystore->self().id()) continue;  // a shared peers file may list this node too
      RUVECTOR_RETURN_IF_ERROR(keystore->AddPeer(std::move(p)));
    }
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status().WithContext("sync peers file");
  }
  sync::SyncNodeOptions options;
  options.config.min_sync_interval_us = settings.min_interval_us;
  options.config.max_sync_interval_us = settings.max_interval_us;
  options.config.max_patterns_per_sync = settings.max_patterns;
  options.config.pattern_age_threshold_us = settings.maturity_us;
  options.config.privacy.mechanism = settings.delta > 0.0 ? sync::NoiseMechanism::kGaussian
                                                          : sync::NoiseMechanism::kLaplace;
  options.config.privacy.epsilon = settings.epsilon;
  options.config.privacy.delta = settings.delta;
  options.epsilon_budget = settings.epsilon_budget;
  options.reputation.ignore_below = settings.ignore_below;
  // The same number of releases for delta as for epsilon.
  options.delta_budget = settings.delta > 0.0
                             ? std::min(0.5, settings.delta * settings.epsilon_budget / settings.epsilon)
                             : 0.0;
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<sync::SyncNode> node,
                            sync::SyncNode::Create(std::move(*keystore), options));
  std::unique_ptr<SyncHost> host(new SyncHost(settings, std::move(node), std::move(stamp)));
  host->started_us_ = now_us;
  const Status loaded = host->node_->LoadStateFile(settings.data_dir + "/" + kSyncStateFile);
  if (loaded.ok()) {
    host->AdoptRestoredLedger();
    host->state_load_message_ = "restored " + std::to_string(host->node_->ledger().proposals().size()) +
                                " proposals, the reputation book and the replay windows from " + kSyncStateFile;
  } else if (loaded.code() != StatusCode::kNotFound) {
    host->state_load_failed_ = true;
    host->state_load_message_ = "ignoring " + std::string(kSyncStateFile) + ": " + loaded.message();
  }
  sync::TransportOptions topt;
  topt.urls = SplitUrls(settings.nats_urls);
  topt.replicas = settings.replicas;
  if (topt.urls.empty()) return Status::InvalidArgument("ruvector.sync_nats_urls is empty");
  host->transport_ = std::make_unique<SyncTransportThread>(host->node_->id(), std::move(topt));
  return host;
}

bool SyncHost::PeersFileChanged() const {
  auto text = ReadSmallFile(settings_.data_dir + "/" + kSyncPeersFile, 1 << 20);
  // A file that cannot be read (a FIFO, mode 000, too large) counts as a
  // change even when none existed: the restart then reports why.
  if (!text.ok()) return text.status().code() != StatusCode::kNotFound || !peers_stamp_.empty();
  return *text != peers_stamp_;
}

void SyncHost::NoteEngine(const ruvector_dag::Engine* engine) {
  if (engine == engine_seen_) return;
  // Learning was reset (or the worker started): patterns, priors and
  // deployments are gone; what was not voted on yet is matched again.
  engine_seen_ = engine;
  local_plans_.clear();
  deployed_since_.clear();
  quotas_by_peer_.clear();  // the quotas were the old engine's
  sample_quotas_.clear();
  for (auto& [id, rec] : received_) {
    if (!rec.voted) {
      const bool counted = rec.counted;
      rec = Received();
      rec.counted = counted;
    }
  }
}

void SyncHost::ObserveDefaultPlans(ruvector_dag::Engine* engine, const std::vector<DefaultPlan>& plans) {
  NoteEngine(engine);
  constexpr int kPerCall = 16;  // embeddings cost a little; new patterns are few
  int done = 0;
  for (const DefaultPlan& p : plans) {
    if (done == kPerCall || p.dag == nullptr || p.dag->empty()) continue;
    if (local_plans_.count(p.pattern_key) != 0) continue;
    LocalPlan lp;
    lp.fingerprint = PortableFingerprint(*p.dag);
    if (!engine->EmbedPlan(*p.dag, &lp.embedding).ok()) continue;
    local_plans_.emplace(p.pattern_key, lp);
    ++done;
  }
}

void SyncHost::Send(std::vector<sync::OutgoingMessage> messages) {
  counters_.messages_queued += messages.size();
  counters_.messages_dropped += transport_->Enqueue(std::move(messages));
}

void SyncHost::Receive(int64_t now_us) {
  for (const sync::Bytes& bytes : transport_->TakeReceived()) {
    ++counters_.messages_received;
    sync::ReceiveResult r = node_->Receive(bytes, now_us);
    if (!r.status.ok()) {
      ++counters_.messages_rejected;
      const int reason = static_cast<int>(r.reject);
      if (reason >= 0 && reason < kSyncRejectReasons) ++counters_.rejected_by_reason[reason];
      if (node_->keystore().FindPeer(r.sender) != nullptr) ++per_sender_[r.sender].second;
      continue;
    }
    ++counters_.messages_accepted;
    ++per_sender_[r.sender].first;
    state_dirty_ = true;
    if (r.kind == sync::MessageKind::kPatternProposal) received_.try_emplace(r.proposal);
  }
}

void SyncHost::Match(ruvector_dag::Engine* engine, const std::vector<std::string>& arms, int64_t now_us) {
  const std::vector<uint32_t>& redact = node_->options().privacy.redact_dims;
  for (auto it = received_.begin(); it != received_.end();) {
    const sync::ProposalStatus* p = node_->ledger().Find(it->first);
    if (p == nullptr) {  // forgotten by the ledger (bounded there)
      if (it->second.quota == Received::Quota::kActive) {
        uint32_t arm = 0;
        if (engine->ValidationQuota(it->second.pattern, &arm) > 0 && arm == static_cast<uint32_t>(it->second.arm)) {
          (void)engine->SetValidationQuota(it->second.pattern, arm, 0);
          changed_patterns_.push_back(it->second.pattern);
        }
        --quotas_by_peer_[it->second.quota_peer];
      }
      it = received_.erase(it);
      continue;
    }
    const sync::ProposalId& id = it->first;
    Received& rec = it->second;
    ++it;
    if (rec.local == "no_match" || rec.local == "unknown_arm") {
      int arm = -1;
      for (size_t i = 1; i < arms.size(); ++i) {
        if (arms[i] == p->proposal.arm) arm = static_cast<int>(i);
      }
      if (arm < 0) {
        if (rec.local != "unknown_arm") ++counters_.unknown_arm;
        rec.local = "unknown_arm";
        continue;
      }
      for (const auto& [key, lp] : local_plans_) {
        if (lp.fingerprint != p->proposal.fingerprint) continue;
        if (EmbeddingDistance(lp.embedding, p->proposal.embedding, redact) > kSameEmbeddingDistance) continue;
        if (!engine->SetNetworkPrior(key, static_cast<uint32_t>(arm)).ok()) continue;  // not tracked (yet)
        changed_patterns_.push_back(key);
        if (rec.pattern == 0) {
          rec.pattern = key;
          rec.arm = arm;
          rec.local = "prior";
          ++counters_.priors_applied;
        }
      }
      if (rec.local == "no_match" && !rec.counted) {
        rec.counted = true;
        ++counters_.no_match;
      }
      continue;
    }
    UpdateQuota(engine, *p, &rec, now_us);
    if (rec.voted || rec.local == "decided") continue;
    const ruvector_dag::PatternBandit* bandit = engine->patterns().Bandit(rec.pattern);
    if (bandit == nullptr) {  // the pattern was evicted: look for it again
      const bool had_quota = rec.quota != Received::Quota::kNone;
      if (rec.quota == Received::Quota::kActive) --quotas_by_peer_[rec.quota_peer];  // gone with the pattern
      rec = Received();
      rec.counted = true;
      if (had_quota) rec.quota = Received::Quota::kEnded;  // one quota per proposal
      continue;
    }
    const ruvector_dag::ArmSummary arm = bandit->Summary(static_cast<uint32_t>(rec.arm));
    const ruvector_dag::ArmSummary base = bandit->Summary(0);
    if (arm.runs == 0 || base.runs == 0) continue;
    rec.local = "measuring";
    rec.gain = 1.0 - std::exp(arm.mean_log_ms - base.mean_log_ms);
    rec.samples = arm.total_runs + base.total_runs;
    auto votes = node_->Validate(id, rec.gain, rec.samples, now_us);
    if (votes.ok()) {
      rec.voted = true;
      state_dirty_ = true;
      rec.local = p->votes.count(node_->id()) != 0 && p->votes.at(node_->id()) == sync::Verdict::kRefute
                      ? "refuted"
                      : "confirmed";
      ++counters_.votes_cast;
      Send(std::move(*votes));
    } else if (votes.status().code() != StatusCode::kNotFound) {
      rec.local = "decided";  // decided, expired or forgotten before this node's verdict
    }
    if (rec.voted || rec.local == "decided") UpdateQuota(engine, *p, &rec, now_us);
  }
}

bool SyncHost::VoteQuotaHeld(uint64_t pattern) const {
  for (const auto& [id, rec] : received_) {
    if (rec.pattern == pattern && rec.quota == Received::Quota::kActive) return true;
  }
  return false;
}

uint32_t SyncHost::validation_quota_runs() const {
  const uint64_t runs = node_->options().validation.min_samples;
  return static_cast<uint32_t>(std::clamp<uint64_t>(runs, 1, 255));
}

void SyncHost::UpdateQuota(ruvector_dag::Engine* engine, const sync::ProposalStatus& p, Received* rec,
                           int64_t now_us) {
  const bool owed = rec->pattern != 0 && rec->arm > 0 && !rec->voted && rec->local != "decided" &&
                    p.state == sync::ProposalState::kOpen &&
                    now_us - p.created_us <= node_->options().quorum.ttl_us && !node_->reputation().IsIgnored(p.proposer);
  uint32_t arm = 0;
  const uint32_t left = rec->pattern != 0 ? engine->ValidationQuota(rec->pattern, &arm) : 0;
  const bool held = left > 0 && arm == static_cast<uint32_t>(rec->arm);
  if (rec->quota == Received::Quota::kActive) {
    if (owed && held) return;
    // Spent, or no vote is owed any more: the exploration is the bandit's.
    if (held) (void)engine->SetValidationQuota(rec->pattern, arm, 0);
    rec->quota = Received::Quota::kEnded;
    --quotas_by_peer_[rec->quota_peer];
    changed_patterns_.push_back(rec->pattern);
    return;
  }
  if (rec->quota != Received::Quota::kNone || !owed) return;
  // A pattern holds one quota. Another proposal's vote quota keeps it; a
  // sample quota (RequestSamples) gives way to the vote owed and is asked for
  // again once the vote is cast.
  if (left > 0 && VoteQuotaHeld(rec->pattern)) return;
  size_t& held_by_proposer = quotas_by_peer_[p.proposer];
  if (held_by_proposer >= kValidationQuotasPerPeer) return;  // its turn comes when one ends
  if (left > 0) sample_quotas_.erase(sample_quotas_.lower_bound({rec->pattern, INT_MIN}),
                                     sample_quotas_.upper_bound({rec->pattern, INT_MAX}));
  if (!engine->SetValidationQuota(rec->pattern, static_cast<uint32_t>(rec->arm), validation_quota_runs()).ok()) return;
  ++held_by_proposer;
  rec->quota = Received::Quota::kActive;
  rec->quota_peer = p.proposer;
  ++counters_.validation_quotas;
  changed_patterns_.push_back(rec->pattern);
}

std::vector<uint64_t> SyncHost::TakeChangedPatterns() {
  std::vector<uint64_t> out;
  out.swap(changed_patterns_);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int PortableArm(const ruvector_dag::PatternBandit& bandit, int deployed, size_t arm_count) {
  if (!ArmContentIsLocal(deployed)) return deployed;
  // The deployed arm plans with what this server learned: the candidate
  // whose plan is the same everywhere and whose lower confidence bound on
  // the gain over the default is best and clears the deployment margin.
  int best = 0;
  double best_lcb = bandit.options().min_improvement;
  for (size_t a = 1; a < arm_count && a < bandit.options().num_arms; ++a) {
    const int arm = static_cast<int>(a);
    if (ArmContentIsLocal(arm)) continue;
    const ruvector_dag::ArmSummary s = bandit.Summary(static_cast<uint32_t>(a));
    if (s.rejected || s.censored > 0 || s.runs < bandit.options().min_runs || s.improvement_lcb <= best_lcb) continue;
    best = arm;
    best_lcb = s.improvement_lcb;
  }
  return best;
}

int StandInCandidate(const ruvector_dag::PatternBandit& bandit, int deployed, size_t arm_count) {
  if (!ArmContentIsLocal(deployed)) return 0;
  const ruvector_dag::ArmSummary base = bandit.Summary(0);
  if (base.runs == 0) return 0;
  int best = 0;
  double best_mean = base.mean_log_ms;
  for (size_t a = 1; a < arm_count && a < bandit.options().num_arms; ++a) {
    const int arm = static_cast<int>(a);
    if (ArmContentIsLocal(arm)) continue;
    const ruvector_dag::ArmSummary s = bandit.Summary(static_cast<uint32_t>(a));
    if (s.rejected || s.censored > 0 || s.runs == 0 || !(s.mean_log_ms < best_mean)) continue;
    best = arm;
    best_mean = s.mean_log_ms;
  }
  return best;
}

void GainTally::Observe(const ruvector_dag::Engine& engine, const std::vector<ruvector_dag::PatternRun>& runs) {
  if (&engine != engine_) {  // learning was reset: the patterns are gone
    tallies_.clear();
    engine_ = &engine;
  }
  const ruvector_dag::PatternLearner& patterns = engine.patterns();
  for (auto it = tallies_.begin(); it != tallies_.end();) {
    it = patterns.Bandit(it->first.first) == nullptr ? tallies_.erase(it) : std::next(it);
  }
  for (const ruvector_dag::PatternRun& r : runs) {
    if (r.arm <= 0 || r.censored || r.same_plan || !std::isfinite(r.latency_ms) || r.latency_ms <= 0.0) continue;
    const ruvector_dag::PatternBandit* bandit = patterns.Bandit(r.pattern_key);
    if (bandit == nullptr || static_cast<uint32_t>(r.arm) >= bandit->options().num_arms) continue;
    const ruvector_dag::ArmSummary base = bandit->Summary(0);
    if (base.runs - base.censored < bandit->options().min_runs) continue;
    const double reference = std::exp(base.mean_log_ms);
    if (!std::isfinite(reference) || reference <= 0.0) continue;
    const std::pair<uint64_t, int> key{r.pattern_key, r.arm};
    auto it = tallies_.find(key);
    if (it == tallies_.end()) {
      if (tallies_.size() >= max_entries_) {
        ++dropped_runs_;
        continue;
      }
      it = tallies_.emplace(key, Entry()).first;
    }
    it->second.sum += std::clamp(1.0 - r.latency_ms / reference, kGainMin, kGainMax);
    ++it->second.count;
  }
}

const GainTally::Entry* GainTally::Find(uint64_t pattern_key, int arm) const {
  auto it = tallies_.find({pattern_key, arm});
  return it == tallies_.end() ? nullptr : &it->second;
}

void SyncHost::RequestSamples(ruvector_dag::Engine* engine, uint64_t key, int arm, uint64_t runs) {
  if (!sample_quotas_.insert({key, arm}).second) return;  // once per pattern and arm
  uint32_t held = 0;
  if (engine->ValidationQuota(key, &held) > 0) {  // a pattern holds one quota: a vote owed goes first
    sample_quotas_.erase({key, arm});
    return;
  }
  const uint32_t n = static_cast<uint32_t>(std::clamp<uint64_t>(runs, 1, kMaxSampleQuotaRuns));
  if (!engine->SetValidationQuota(key, static_cast<uint32_t>(arm), n).ok()) {
    sample_quotas_.erase({key, arm});
    return;
  }
  changed_patterns_.push_back(key);
}

Status SyncHost::Propose(ruvector_dag::Engine* engine, const std::vector<std::string>& arms, const GainTally& tally,
                         int64_t now_us) {
  // Patterns the engine no longer tracks are forgotten here too.
  for (auto it = local_plans_.begin(); it != local_plans_.end();) {
    it = engine->patterns().Bandit(it->first) == nullptr ? local_plans_.erase(it) : std::next(it);
  }
  for (auto it = sample_quotas_.begin(); it != sample_quotas_.end();) {
    it = engine->patterns().Bandit(it->first) == nullptr ? sample_quotas_.erase(it) : std::next(it);
  }
  std::vector<sync::PatternObservation> candidates;
  const uint64_t min_samples = node_->options().privacy.min_samples;
  for (uint64_t key : engine->patterns().Keys()) {
    auto d = engine->Decide(key);
    if (!d.ok() || d->deployed_arm <= 0 || static_cast<size_t>(d->deployed_arm) >= arms.size()) {
      deployed_since_.erase(key);
      continue;
    }
    const int64_t since = deployed_since_.try_emplace(key, now_us).first->second;
    auto lp = local_plans_.find(key);
    if (lp == local_plans_.end()) continue;
    const ruvector_dag::PatternBandit* bandit = engine->patterns().Bandit(key);
    if (bandit == nullptr) continue;
    const int portable = PortableArm(*bandit, d->deployed_arm, arms.size());
    if (portable <= 0) {
      // Nothing portable judged yet next to a locally planned deployed arm:
      // the arm measured fastest so far gets the explorer runs that judge it
      // and fill its tally.
      const int stand_in = StandInCandidate(*bandit, d->deployed_arm, arms.size());
      if (stand_in > 0) RequestSamples(engine, key, stand_in, min_samples);
      continue;
    }
    const std::string& arm = arms[static_cast<size_t>(portable)];
    if (proposed_.count({lp->second.fingerprint, arm}) != 0) continue;
    // The statistic the privacy bound is about: the mean of at least
    // min_samples clipped per-execution gains of this arm.
    const GainTally::Entry* gains = tally.Find(key, portable);
    const uint64_t tallied = gains != nullptr ? gains->count : 0;
    if (tallied < min_samples) {
      // Another arm stands in for a deployed arm planned with what this
      // server learned: it was explored, not served, and gets its runs only
      // from the background explorer.
      if (portable != d->deployed_arm) RequestSamples(engine, key, portable, min_samples - tallied);
      continue;
    }
    sync::PatternObservation o;
    o.fingerprint = lp->second.fingerprint;
    o.embedding.assign(lp->second.embedding.begin(), lp->second.embedding.end());
    o.arm = arm;
    o.gain = gains->mean();
    o.samples = gains->count;
    o.first_seen_us = since;
    candidates.push_back(std::move(o));
  }
  for (const sync::PatternObservation& o :
       node_->scheduler().SelectForSync(std::move(candidates), now_us)) {
    if (proposed_.count({o.fingerprint, o.arm}) != 0) continue;  // two local patterns, one identity
    auto messages = node_->Propose({o}, noise_, now_us);
    state_dirty_ = true;  // the budget may be charged even when sealing failed
    if (!messages.ok()) {
      ++counters_.proposals_refused;
      if (messages.status().code() == StatusCode::kResourceExhausted) break;  // budget spent
      continue;
    }
    proposed_.insert({o.fingerprint, o.arm});
    ++counters_.proposals_made;
    Send(std::move(*messages));
  }
  return Status::Ok();
}

Status SyncHost::Step(ruvector_dag::Engine* engine, const std::vector<std::string>& arms, const GainTally& tally,
                      bool sync_now, int64_t now_us) {
  NoteEngine(engine);
  filled_at_us_ = now_us;
  Receive(now_us);
  Match(engine, arms, now_us);
  if (node_->ExpireProposals(now_us) > 0) state_dirty_ = true;
  // A node with nothing else to send tells its peers it is alive.
  auto heartbeat = node_->HeartbeatIfDue(now_us);
  if (!heartbeat.ok()) return heartbeat.status().WithContext("pattern sync heartbeat");
  if (!heartbeat->empty()) Send(std::move(*heartbeat));
  if (sync_now || node_->scheduler().Due(now_us)) {
    RUVECTOR_RETURN_IF_ERROR(Propose(engine, arms, tally, now_us));
    ++counters_.syncs;
    last_sync_us_ = now_us;
    const uint64_t failures = transport_->Stats().stats.publish_failures;
    if (failures > publish_failures_seen_) {
      node_->scheduler().OnPressure(now_us);
    } else {
      node_->scheduler().OnSyncSucceeded(now_us);
    }
    publish_failures_seen_ = failures;
  }
  return SaveStateIfDirty(now_us, /*force=*/false).WithContext("pattern sync state");
}

void SyncHost::Fill(SyncShared* out) const {
  auto name_of = [&](const sync::NodeId& id) -> std::string {
    if (id == node_->id()) return node_->keystore().self().info().name;
    const sync::PeerInfo* p = node_->keystore().FindPeer(id);
    return p != nullptr ? p->name : id.Short();
  };
  CopyField(out->state, sizeof(out->state), "running");
  CopyField(out->node_name, sizeof(out->node_name), node_->keystore().self().info().name.c_str());
  CopyField(out->node_id, sizeof(out->node_id), node_->id().Hex().c_str());
  CopyField(out->public_key, sizeof(out->public_key),
            sync::ToHex(node_->keystore().self().info().Serialize()).c_str());
  const SyncTransportThread::Snapshot t = transport_->Stats();
  out->connected = t.stats.connected;
  CopyField(out->connected_url, sizeof(out->connected_url), t.stats.connected_url.c_str());
  if (!t.last_error.empty()) CopyField(out->last_error, sizeof(out->last_error), t.last_error.c_str());
  out->started_us = started_us_;
  out->last_sync_us = last_sync_us_;
  out->next_sync_us = node_->scheduler().NextSyncAt();
  out->interval_us = node_->scheduler().interval_us();
  out->counters = counters_;
  out->counters.published = t.stats.published;
  out->counters.publish_failures = t.stats.publish_failures;
  out->counters.fetched = t.stats.received;
  out->counters.reconnects = t.stats.reconnects;
  out->counters.bytes_published = t.stats.bytes_published;
  out->counters.bytes_received = t.stats.bytes_received;
  out->counters.connect_failures = t.connect_failures;
  const sync::PrivacyAccountant& acc = node_->accountant();
  out->epsilon_spent = acc.epsilon_spent();
  out->epsilon_budget = acc.epsilon_budget();
  out->delta_spent = acc.delta_spent();
  out->delta_budget = acc.delta_budget();
  out->releases = acc.releases();
  out->epsilon_per_release = node_->options().config.privacy.epsilon;
  CopyField(out->mechanism, sizeof(out->mechanism),
            std::string(sync::NoiseMechanismName(node_->options().config.privacy.mechanism)).c_str());
  // Peers: this node first, then the keystore's peers by id.
  out->peer_count = 0;
  auto add_peer = [&](const sync::NodeId& id, bool self) {
    if (out->peer_count >= kSyncMaxPeers) return;
    SyncPeerRow& row = out->peers[out->peer_count++];
    row = SyncPeerRow();
    CopyField(row.name, sizeof(row.name), name_of(id).c_str());
    CopyField(row.id, sizeof(row.id), id.Hex().c_str());
    row.stake = node_->reputation().Stake(id);
    row.ignored = node_->reputation().IsIgnored(id);
    row.self = self;
    auto it = per_sender_.find(id);
    if (it != per_sender_.end()) {
      row.accepted = it->second.first;
      row.rejected = it->second.second;
    }
    // Heard from since sync started (the ledger counts the others as heard
    // from at its start, which is not shown as a message).
    const int64_t seen = node_->ledger().LastSeen(id);
    row.last_seen_us = seen > started_us_ ? seen : 0;
    row.live = node_->ledger().IsLive(id, filled_at_us_);
    if (!self && row.live) ++out->live_peers;
  };
  add_peer(node_->id(), true);
  for (const auto& [id, peer] : node_->keystore().peers()) add_peer(id, false);
  // Proposals, newest first; their votes.
  std::vector<const sync::ProposalStatus*> all;
  for (const auto& [id, p] : node_->ledger().proposals()) all.push_back(&p);
  std::stable_sort(all.begin(), all.end(), [](const sync::ProposalStatus* a, const sync::ProposalStatus* b) {
    return a->created_us > b->created_us;
  });
  out->proposal_count = 0;
  out->vote_count = 0;
  out->proposals_not_shown = 0;
  out->votes_not_shown = 0;
  for (const sync::ProposalStatus* p : all) {
    if (out->proposal_count >= kSyncMaxProposalRows) {
      ++out->proposals_not_shown;
      out->votes_not_shown += p->votes.size();
      continue;
    }
    SyncProposalRow& row = out->proposals[out->proposal_count++];
    row = SyncProposalRow();
    const std::string id_hex = sync::ToHex(p->id);
    CopyField(row.id, sizeof(row.id), id_hex.c_str());
    CopyField(row.proposer, sizeof(row.proposer), name_of(p->proposer).c_str());
    row.own = p->proposer == node_->id();
    row.fingerprint = p->proposal.fingerprint;
    CopyField(row.arm, sizeof(row.arm), p->proposal.arm.c_str());
    row.noisy_gain = p->proposal.noisy_gain;
    row.noisy_samples = p->proposal.noisy_samples;
    CopyField(row.state, sizeof(row.state), std::string(sync::ProposalStateName(p->state)).c_str());
    row.confirm_stake = p->confirm_stake;
    row.refute_stake = p->refute_stake;
    row.eligible_stake = p->eligible_stake;
    row.created_us = p->created_us;
    row.votes = static_cast<uint32_t>(p->votes.size());
    auto rec = received_.find(p->id);
    if (rec != received_.end()) {
      CopyField(row.local, sizeof(row.local), rec->second.local.c_str());
      row.local_pattern = rec->second.pattern;
      row.local_gain = rec->second.gain;
      row.local_samples = rec->second.pattern != 0 ? rec->second.samples : 0;
    } else {
      CopyField(row.local, sizeof(row.local), row.own ? "proposed" : "");
    }
    for (const auto& [validator, verdict] : p->votes) {
      if (out->vote_count >= kSyncMaxVoteRows) {
        ++out->votes_not_shown;
        continue;
      }
      SyncVoteRow& v = out->votes[out->vote_count++];
      v = SyncVoteRow();
      CopyField(v.proposal, sizeof(v.proposal), id_hex.c_str());
      CopyField(v.proposer, sizeof(v.proposer), name_of(p->proposer).c_str());
      CopyField(v.validator, sizeof(v.validator), name_of(validator).c_str());
      v.own = validator == node_->id();
      CopyField(v.verdict, sizeof(v.verdict), verdict == sync::Verdict::kConfirm ? "confirm" : "refute");
    }
  }
}

}  // namespace ruvector_pg
