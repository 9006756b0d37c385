// The pattern-sync status as plain data in shared memory (docs/sync.md,
// "In the server"). The worker (sync_pass.cc) writes a whole snapshot under
// the sync LWLock after each sync step; the qudag_* SQL functions copy it
// under the shared lock. Backends write only sync_now_requests. No
// PostgreSQL headers, nothing with a destructor: the region is zeroed by
// the postmaster.
#ifndef RUVECTOR_PG_SYNC_STATE_H_
#define RUVECTOR_PG_SYNC_STATE_H_

#include <cstddef>
#include <cstdint>

namespace ruvector_pg {

inline constexpr int kSyncMaxPeers = 32;
inline constexpr int kSyncMaxProposalRows = 256;
inline constexpr int kSyncMaxVoteRows = 512;
/// RejectReason values 1..10 (ruvector_dag/sync.h).
inline constexpr int kSyncRejectReasons = 11;
/// Hex of the compact public-key form (PeerInfo::Serialize, about 3.2 KB).
inline constexpr size_t kSyncPublicKeyHex = 8192;

struct SyncPeerRow {
  char name[68] = {0};
  char id[68] = {0};   // NodeId in hex
  double stake = 0.0;
  bool ignored = false;
  bool self = false;
  uint64_t accepted = 0;  // messages accepted from this node
  uint64_t rejected = 0;  // messages claiming this node as sender that were rejected
  /// When a verified message from it was last signed (ProposalLedger::
  /// LastSeen; 0 = not heard from since sync started), and whether it counts
  /// toward the eligible stake now (docs/sync.md, "Liveness").
  int64_t last_seen_us = 0;
  bool live = false;
};

struct SyncProposalRow {
  char id[68] = {0};        // ProposalId in hex
  char proposer[68] = {0};  // proposer's name
  bool own = false;         // proposed by this node
  uint64_t fingerprint = 0;
  char arm[68] = {0};
  double noisy_gain = 0.0;
  double noisy_samples = 0.0;
  char state[16] = {0};     // open, confirmed, refuted, expired
  double confirm_stake = 0.0;
  double refute_stake = 0.0;
  double eligible_stake = 0.0;
  int64_t created_us = 0;
  uint32_t votes = 0;
  /// Receiver side (own = false): what this node did with it.
  char local[24] = {0};         // see docs/sync.md: no_match, unknown_arm, prior, voted, ...
  uint64_t local_pattern = 0;   // matched pattern key (0 = none)
  double local_gain = 0.0;
  uint64_t local_samples = 0;
};

struct SyncVoteRow {
  char proposal[68] = {0};
  char proposer[68] = {0};   // name
  char validator[68] = {0};  // name
  bool own = false;          // cast by this node
  char verdict[8] = {0};     // confirm, refute
};

struct SyncCounters {
  uint64_t syncs = 0;               // scheduled or requested sync rounds run
  uint64_t proposals_made = 0;      // patterns proposed by this node
  uint64_t proposals_refused = 0;   // proposals the library refused (budget, too few samples)
  uint64_t votes_cast = 0;
  uint64_t messages_queued = 0;     // sealed messages handed to the transport
  uint64_t messages_dropped = 0;    // outgoing messages dropped (queue full)
  uint64_t messages_received = 0;   // fetched from the stream
  uint64_t messages_accepted = 0;
  uint64_t messages_rejected = 0;
  uint64_t rejected_by_reason[kSyncRejectReasons] = {0};
  uint64_t priors_applied = 0;      // received proposals that became a local pattern's prior
  uint64_t no_match = 0;            // received proposals matching no local pattern (yet)
  uint64_t unknown_arm = 0;         // received proposals naming an arm this server lacks
  uint64_t validation_quotas = 0;   // validation quotas granted (SyncHost::UpdateQuota)
  uint64_t errors = 0;              // sync steps that failed (logged)
  // Transport (TransportStats).
  uint64_t published = 0;
  uint64_t publish_failures = 0;
  uint64_t fetched = 0;
  uint64_t reconnects = 0;
  uint64_t bytes_published = 0;
  uint64_t bytes_received = 0;
  uint64_t connect_failures = 0;
};

struct SyncShared {
  uint64_t sync_now_requests = 0;  // backends bump it (qudag_sync_now)
  uint64_t sync_now_done = 0;      // the worker's count of handled requests
  uint64_t snapshots = 0;          // bumped by each snapshot the worker writes
  char state[16] = {0};            // disabled, error, running
  char last_error[256] = {0};
  int64_t last_error_us = 0;
  char node_name[68] = {0};
  char node_id[68] = {0};
  char public_key[kSyncPublicKeyHex] = {0};
  bool connected = false;
  char connected_url[128] = {0};
  int64_t started_us = 0;
  int64_t last_sync_us = 0;
  int64_t next_sync_us = 0;
  int64_t interval_us = 0;
  SyncCounters counters;
  double epsilon_spent = 0.0;
  double epsilon_budget = 0.0;
  double delta_spent = 0.0;
  double delta_budget = 0.0;
  uint64_t releases = 0;
  double epsilon_per_release = 0.0;
  char mechanism[12] = {0};
  int32_t peer_count = 0;
  int32_t live_peers = 0;  // peers (not this node) that are live
  SyncPeerRow peers[kSyncMaxPeers];
  int32_t proposal_count = 0;
  uint64_t proposals_not_shown = 0;  // beyond kSyncMaxProposalRows
  SyncProposalRow proposals[kSyncMaxProposalRows];
  int32_t vote_count = 0;
  uint64_t votes_not_shown = 0;
  SyncVoteRow votes[kSyncMaxVoteRows];
};

/// Copies at most size-1 bytes of `src` and terminates.
inline void CopyField(char* dst, size_t size, const char* src) {
  size_t i = 0;
  for (; src != nullptr && src[i] != '\0' && i + 1 < size; ++i) dst[i] = src[i];
  dst[i] = '\0';
}

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_SYNC_STATE_H_
