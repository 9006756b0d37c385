// The C++ zone of pattern sync in the background worker (docs/sync.md, "In
// the server"). SyncHost owns this server's sync identity (the keystore file
// under $PGDATA), its peers (the peers file), the library's SyncNode
// (sealing, replay, privacy budget, ledger, reputation, schedule) and a
// transport thread that moves sealed messages to and from NATS JetStream, so
// the worker's loop never waits on the network. The worker calls Step() from
// its loop; Step() proposes the engine's mature deployed patterns on the
// schedule, opens received messages, turns a received proposal into a prior
// of the matching local pattern (Engine::SetNetworkPrior: it orders and
// narrows the exploration, never deploys) and, once this server's own
// measurements decide, publishes its vote; its state survives restarts in
// $PGDATA/ruvector_sync.state. No PostgreSQL headers; every call runs under RunCpp.
// Single-threaded except for the transport thread, which touches only the
// queues and the transport.
#ifndef RUVECTOR_PG_SYNC_HOST_H_
#define RUVECTOR_PG_SYNC_HOST_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/engine.h"
#include "ruvector_dag/status.h"
#include "ruvector_dag/sync.h"
#include "ruvector_dag/sync_transport.h"
#include "state/sync_state.h"

namespace ruvector_pg {

/// The ruvector.sync_* settings, copied by the PG zone.
struct SyncSettings {
  std::string data_dir;    // $PGDATA (absolute)
  std::string nats_urls;   // comma-separated nats:// URLs
  std::string node_name;   // used when the keystore is created
  int64_t min_interval_us = 60'000'000;
  int64_t max_interval_us = 3'600'000'000;
  int64_t maturity_us = 300'000'000;
  uint32_t max_patterns = 100;
  double epsilon = 0.1;
  double delta = 0.0;  // > 0 selects the Gaussian mechanism
  double epsilon_budget = 10.0;
  int replicas = 1;
  /// A peer whose reputation stake (initial 100) falls below this is ignored
  /// (ReputationOptions::ignore_below): 10 after 7 refuted proposals, 50 after 2.
  double ignore_below = 10.0;
  bool operator==(const SyncSettings&) const = default;
};

/// File names under $PGDATA.
inline constexpr const char* kSyncKeystoreFile = "ruvector_sync.keystore";
inline constexpr const char* kSyncPeersFile = "ruvector_sync.peers";
/// The node's state across restarts (SyncNode::SaveStateFile): replay
/// windows, reputation stakes, proposal ledger, privacy budget spent.
inline constexpr const char* kSyncStateFile = "ruvector_sync.state";

/// Identity of a pattern that another server with the same schema computes
/// alike (docs/sync.md, "Pattern identity across servers"): the shape of the
/// pattern's default plan (operator types and edges, no OIDs, no names) and
/// its parameter bucket. The pattern key itself holds OIDs and a query id,
/// which are local to a server.
uint64_t PortableFingerprint(const ruvector_dag::QueryDag& default_plan);

/// Relative Euclidean distance of two embeddings with `redact` entries
/// ignored: |a - b| / max(|a|, |b|) (0 when both are zero).
double EmbeddingDistance(const ruvector_dag::PlanEmbedding& a, const std::vector<float>& b,
                         const std::vector<uint32_t>& redact);
/// Embeddings within this relative distance describe the same plan.
inline constexpr double kSameEmbeddingDistance = 0.15;

/// Parses the peers file: one compact public key (the hex that
/// qudag_status().public_key shows) per line; blank lines and lines starting
/// with '#' are ignored. Errors name the line.
ruvector_dag::Result<std::vector<ruvector_dag::sync::PeerInfo>> ParsePeersFile(const std::string& text);

/// Moves sealed messages between the worker and NATS JetStream on its own
/// thread (the Transport's owner). Bounded queues; every wait bounded.
class SyncTransportThread {
 public:
  SyncTransportThread(ruvector_dag::sync::NodeId self, ruvector_dag::sync::TransportOptions options);
  ~SyncTransportThread();  // stops and joins
  SyncTransportThread(const SyncTransportThread&) = delete;
  SyncTransportThread& operator=(const SyncTransportThread&) = delete;

  /// Queues messages for publishing; returns how many were dropped because
  /// the queue held kMaxQueued.
  size_t Enqueue(std::vector<ruvector_dag::sync::OutgoingMessage> messages);
  /// Takes what was fetched since the last call (at most kMaxQueued kept).
  std::vector<ruvector_dag::sync::Bytes> TakeReceived();
  struct Snapshot {
    ruvector_dag::sync::TransportStats stats;
    uint64_t connect_failures = 0;
    std::string last_error;
    size_t queued = 0;
  };
  Snapshot Stats() const;

  static constexpr size_t kMaxQueued = 4096;

 private:
  void Run();
  ruvector_dag::sync::NodeId self_;
  ruvector_dag::sync::TransportOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<ruvector_dag::sync::OutgoingMessage> outbox_;
  std::vector<ruvector_dag::sync::Bytes> inbox_;
  Snapshot snapshot_;
  ruvector_dag::sync::TransportStats carried_;  // stats of transports closed before
  std::thread thread_;
};

/// One default plan the learning pass saw (pattern key and its DAG).
struct DefaultPlan {
  uint64_t pattern_key = 0;
  const ruvector_dag::QueryDag* dag = nullptr;
};

/// The arm pattern sync proposes for a pattern whose bandit deployed
/// `deployed`: that arm, unless its plan depends on what this server learned
/// (ArmContentIsLocal); then the other arm (of the first `arm_count`) whose
/// lower confidence bound on the gain over the default is best and clears
/// the deployment margin, with no timeout in its window. 0 when there is
/// none: nothing is proposed. What is released for the arm comes from the
/// GainTally, not from the bandit.
int PortableArm(const ruvector_dag::PatternBandit& bandit, int deployed, size_t arm_count);

/// When `deployed` plans with what this server learned and no arm is
/// portable yet (PortableArm returns 0): the portable arm (of the first
/// `arm_count`, not rejected, no timeout in its window) whose completed runs
/// so far are fastest on average and faster than the default's, which the
/// background explorer then measures until it can stand in for the deployed
/// arm (a sample quota) -- without it, a pattern whose local arm was deployed
/// before any other arm was judged would never be shared. 0 when none was
/// measured faster, or when the deployed arm is portable itself.
int StandInCandidate(const ruvector_dag::PatternBandit& bandit, int deployed, size_t arm_count);

/// Per (pattern, arm != 0): the sum and count of per-execution gains of the
/// arm's completed runs -- the statistic pattern sync releases (docs/sync.md,
/// "Differential privacy" and "In the server"). Each observed run of the arm
/// (not censored, not a same-plan run, finite latency > 0) adds
/// clamp(1 - latency / reference, -1, 1), the reference being the geometric
/// mean of the pattern's default plan over its bandit's window when the run
/// is observed; runs are skipped while the default has fewer than the
/// bandit's min_runs completed runs there. So the mean of n tallied gains
/// moves by at most 2 / n when one execution of the arm is replaced by any
/// other. Bounded: at most `max_entries` (pattern, arm) tallies; those of
/// patterns the engine no longer tracks are dropped at every Observe, and a
/// new tally that does not fit is not started (counted in dropped_runs()).
/// Forgets everything when the engine changes (learning reset). Kept in the
/// worker's memory only: it starts from zero when the worker restarts.
class GainTally {
 public:
  struct Entry {
    double sum = 0.0;     // of the clipped gains
    uint64_t count = 0;   // executions tallied
    double mean() const { return count == 0 ? 0.0 : sum / static_cast<double>(count); }
  };
  static constexpr size_t kDefaultMaxEntries = 16384;
  static constexpr double kGainMin = -1.0;
  static constexpr double kGainMax = 1.0;

  explicit GainTally(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}

  /// Tallies `runs` (as the learning pass fed them to `engine`, after its
  /// Learn) and drops the tallies of patterns `engine` no longer tracks.
  void Observe(const ruvector_dag::Engine& engine, const std::vector<ruvector_dag::PatternRun>& runs);
  /// The tally of (pattern, arm); null when none.
  const Entry* Find(uint64_t pattern_key, int arm) const;
  size_t size() const { return tallies_.size(); }
  size_t max_entries() const { return max_entries_; }
  /// Runs that were not tallied because the table was full.
  uint64_t dropped_runs() const { return dropped_runs_; }

 private:
  size_t max_entries_;
  std::map<std::pair<uint64_t, int>, Entry> tallies_;
  const ruvector_dag::Engine* engine_ = nullptr;
  uint64_t dropped_runs_ = 0;
};

class SyncHost {
 public:
  /// Loads the keystore (creating it, mode 0600, when missing; a file with
  /// wrong permissions is refused), reads the peers file, creates the node,
  /// restores its state file (kSyncStateFile; one that is corrupt, of another
  /// version or of another node is ignored: state_load_failed()) and starts
  /// the transport thread.
  static ruvector_dag::Result<std::unique_ptr<SyncHost>> Start(const SyncSettings& settings, int64_t now_us);
  /// Saves the state file if anything changed since the last save.
  ~SyncHost();

  const SyncSettings& settings() const { return settings_; }
  /// The peers file differs from what Start() read (the host is then
  /// restarted: a new node, which restores the state file the old one saved).
  bool PeersFileChanged() const;
  /// What Start() did with the state file ("" when there was none), and
  /// whether it was refused (the host then started empty; the file is
  /// replaced at the next save).
  const std::string& state_load_message() const { return state_load_message_; }
  bool state_load_failed() const { return state_load_failed_; }

  /// Records the portable fingerprint and embedding of patterns whose
  /// default plan ran (the first seen per pattern; at most a few per call).
  void ObserveDefaultPlans(ruvector_dag::Engine* engine, const std::vector<DefaultPlan>& plans);

  /// One step: receive, match, validate, and (when due or `sync_now`)
  /// propose. `arms` are this server's arm names by index. Errors of single
  /// messages are counted, not returned. When a message was accepted, a vote
  /// or proposal made, or a proposal expired, the state file is saved (at
  /// most every kStateSaveIntervalUs; a failed save is returned, and retried
  /// after kStateRetryUs).
  /// `tally` holds the per-execution gains a proposal releases: a pattern is
  /// proposed with an arm only once the arm's tally has the privacy unit's
  /// min_samples executions, and the gain released is its mean.
  ruvector_dag::Status Step(ruvector_dag::Engine* engine, const std::vector<std::string>& arms,
                            const GainTally& tally, bool sync_now, int64_t now_us);

  /// The status for shared memory (qudag_* functions).
  void Fill(SyncShared* out) const;

  /// Patterns whose decision Step() changed outside a learning pass (a
  /// network prior set, a validation quota granted or ended) since the last
  /// call: the worker publishes their decisions again.
  std::vector<uint64_t> TakeChangedPatterns();

  /// Runs of the proposed arm that the explorer may spend on one received
  /// proposal before this node's vote (Engine::SetValidationQuota): the
  /// validation policy's min_samples, granted once per proposal; and how
  /// many proposals of one peer hold a quota at once (docs/sync.md,
  /// "Validation quota").
  uint32_t validation_quota_runs() const;
  static constexpr size_t kValidationQuotasPerPeer = 2;
  /// At most this many runs per sample quota (RequestSamples; the quota's
  /// counter is 8 bits wide).
  static constexpr uint64_t kMaxSampleQuotaRuns = 255;

  static constexpr int64_t kStateSaveIntervalUs = 1'000'000;
  static constexpr int64_t kStateRetryUs = 30'000'000;

 private:
  struct LocalPlan {
    uint64_t fingerprint = 0;
    ruvector_dag::PlanEmbedding embedding{};
  };
  /// What this node did with a received proposal.
  struct Received {
    std::string local = "no_match";
    uint64_t pattern = 0;
    int arm = -1;
    double gain = 0.0;
    uint64_t samples = 0;
    bool voted = false;
    bool counted = false;  // counted in no_match once
    /// The validation quota of this proposal: none granted yet, held by the
    /// pattern, or ended (spent, voted, decided or expired: never again).
    enum class Quota : uint8_t { kNone, kActive, kEnded } quota = Quota::kNone;
    ruvector_dag::sync::NodeId quota_peer;  // the proposer, while the quota is active
  };
  SyncHost(SyncSettings settings, std::unique_ptr<ruvector_dag::sync::SyncNode> node, std::string peers_stamp);
  /// Forgets what referred to the previous engine when `engine` is new.
  void NoteEngine(const ruvector_dag::Engine* engine);
  void Receive(int64_t now_us);
  void Match(ruvector_dag::Engine* engine, const std::vector<std::string>& arms, int64_t now_us);
  /// Grants the validation quota of a matched proposal this node owes a vote
  /// on (a proposer that is not ignored, an open proposal, a free pattern,
  /// fewer than kValidationQuotasPerPeer of the proposer's proposals holding
  /// one), or ends it once it is spent or no vote is owed any more.
  void UpdateQuota(ruvector_dag::Engine* engine, const ruvector_dag::sync::ProposalStatus& p, Received* rec,
                   int64_t now_us);
  /// Whether a received proposal's validation quota is active on `pattern`
  /// (a quota the pattern holds that is not one is a sample quota).
  bool VoteQuotaHeld(uint64_t pattern) const;
  ruvector_dag::Status Propose(ruvector_dag::Engine* engine, const std::vector<std::string>& arms,
                               const GainTally& tally, int64_t now_us);
  /// A pattern whose deployed arm plans with what this server learned is
  /// proposed with another arm, which the explorer measured only a few
  /// times: this asks the background explorer for `runs` more runs of it
  /// (Engine::SetValidationQuota, the validation quota's mechanism and its
  /// share of the explorer's budget), so that its gain tally can reach
  /// min_samples. Once per pattern and arm (again after a vote owed took
  /// the pattern's quota over); not while the pattern holds a quota.
  void RequestSamples(ruvector_dag::Engine* engine, uint64_t key, int arm, uint64_t runs);
  void Send(std::vector<ruvector_dag::sync::OutgoingMessage> messages);
  /// Rebuilds what refers to the restored ledger: received proposals (to be
  /// matched again; voted when this node's vote is in the ledger) and this
  /// node's own proposals (not proposed twice).
  void AdoptRestoredLedger();
  ruvector_dag::Status SaveStateIfDirty(int64_t now_us, bool force);

  SyncSettings settings_;
  std::unique_ptr<ruvector_dag::sync::SyncNode> node_;
  std::unique_ptr<SyncTransportThread> transport_;
  ruvector_dag::sync::SecureNoiseSource noise_;
  std::string peers_stamp_;
  std::map<uint64_t, LocalPlan> local_plans_;        // pattern key -> default plan identity
  std::map<uint64_t, int64_t> deployed_since_;       // pattern key -> when its arm was first seen deployed
  std::set<std::pair<uint64_t, std::string>> proposed_;  // (fingerprint, arm) this node proposed
  std::map<ruvector_dag::sync::ProposalId, Received> received_;
  std::vector<uint64_t> changed_patterns_;  // TakeChangedPatterns
  std::map<ruvector_dag::sync::NodeId, size_t> quotas_by_peer_;  // active validation quotas per proposer
  std::set<std::pair<uint64_t, int>> sample_quotas_;  // (pattern, arm) given a sample quota (RequestSamples)
  std::map<ruvector_dag::sync::NodeId, std::pair<uint64_t, uint64_t>> per_sender_;  // accepted, rejected
  SyncCounters counters_;
  const ruvector_dag::Engine* engine_seen_ = nullptr;  // a new engine forgot every prior
  int64_t started_us_ = 0;
  int64_t filled_at_us_ = 0;  // the last Step's time (liveness shown by Fill)
  int64_t last_sync_us_ = 0;
  uint64_t publish_failures_seen_ = 0;
  std::string state_load_message_;
  bool state_load_failed_ = false;
  bool state_dirty_ = false;
  int64_t state_saved_us_ = 0;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_SYNC_HOST_H_
