// Pattern sync between servers ("QuDAG"), the library side: post-quantum
// cryptography (ML-KEM-768 and ML-DSA-65 from PQClean), node identities and a
// keystore that zeroizes secrets, sealed and signed messages with replay
// protection, differential privacy for the numbers a pattern carries, and the
// quorum and reputation rules that decide which received patterns count.
//
// A received pattern is a prior, never a deployment: a validator measures it
// on its own workload and publishes a signed vote; a proposal is finalized by
// a stake-weighted quorum of those votes. The transport (NATS JetStream) is
// in sync_transport.h; the worker that feeds the engine is not part of the
// library.
//
// Message format, formulas, threat model and what is not built yet:
// docs/sync.md. Thread-safety: every class is single-threaded (one owner)
// unless its comment says otherwise; the free crypto functions are
// thread-safe.
#ifndef RUVECTOR_DAG_SYNC_H_
#define RUVECTOR_DAG_SYNC_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/status.h"

namespace ruvector_dag {
class Rng;

namespace sync {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// FIPS 203 ML-KEM-768 and FIPS 204 ML-DSA-65 sizes in bytes.
inline constexpr size_t kKemPublicKeyBytes = 1184;
inline constexpr size_t kKemSecretKeyBytes = 2400;
inline constexpr size_t kKemCiphertextBytes = 1088;
inline constexpr size_t kKemSharedSecretBytes = 32;
inline constexpr size_t kSigPublicKeyBytes = 1952;
inline constexpr size_t kSigSecretKeyBytes = 4032;
inline constexpr size_t kSignatureBytes = 3309;

/// "0a1b..." lower-case hex of `bytes`.
std::string ToHex(ByteView bytes);
/// SHA-256 of `bytes`.
std::array<uint8_t, 32> Sha256(ByteView bytes);

// ===========================================================================
// Secrets
// ===========================================================================

/// Bytes that are overwritten with zeros (OPENSSL_cleanse, which the compiler
/// cannot elide) when destroyed, cleared, resized smaller, or moved from.
/// Move-only, so a secret is never copied by accident.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size, 0) {}
  SecretBytes(const uint8_t* data, size_t size) : bytes_(data, data + size) {}
  ~SecretBytes() { Wipe(); }
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  ByteView view() const { return ByteView(bytes_.data(), bytes_.size()); }
  /// Zeroizes and empties.
  void Wipe();

 private:
  std::vector<uint8_t> bytes_;
};

// ===========================================================================
// ML-KEM-768 and ML-DSA-65 (PQClean "clean" sources, pqclean@0.8.1)
// ===========================================================================
// Randomness comes from OpenSSL's CSPRNG (RAND_bytes); if it fails the call
// returns an error and nothing is written. Proven by the accumulated
// known-answer tests in src/sync/pq_kat_test.cc.

struct KemKeyPair {
  Bytes public_key;        // kKemPublicKeyBytes (encapsulation key)
  SecretBytes secret_key;  // kKemSecretKeyBytes (decapsulation key)
};
struct KemEncapsulation {
  Bytes ciphertext;           // kKemCiphertextBytes
  SecretBytes shared_secret;  // kKemSharedSecretBytes
};
Result<KemKeyPair> KemGenerateKeyPair();
/// Errors on a public key of the wrong size.
Result<KemEncapsulation> KemEncapsulate(ByteView public_key);
/// A tampered ciphertext of the right size yields a pseudo-random secret
/// (implicit rejection, FIPS 203), which then fails the AEAD: callers never
/// learn which part was wrong. Errors only on wrong sizes.
Result<SecretBytes> KemDecapsulate(const SecretBytes& secret_key, ByteView ciphertext);

struct SigKeyPair {
  Bytes public_key;        // kSigPublicKeyBytes
  SecretBytes secret_key;  // kSigSecretKeyBytes
};
Result<SigKeyPair> SigGenerateKeyPair();
/// Hedged (randomized) ML-DSA-65 signature of `message` under the FIPS 204
/// context string `context` (at most 255 bytes).
Result<Bytes> Sign(const SecretBytes& secret_key, ByteView message, std::string_view context);
/// OK if `signature` is a valid signature of `message` and `context` under
/// `public_key`; kDataLoss ("signature does not verify") otherwise.
Status Verify(ByteView public_key, ByteView message, ByteView signature, std::string_view context);

// ===========================================================================
// Identities and the keystore
// ===========================================================================

/// A node's identity: SHA-256 of its ML-DSA public key followed by its ML-KEM
/// public key. Not chosen by the node, so it cannot claim another's.
struct NodeId {
  std::array<uint8_t, 32> bytes{};
  std::string Hex() const { return ToHex(bytes); }
  /// First 8 bytes in hex, for messages and logs.
  std::string Short() const;
  auto operator<=>(const NodeId&) const = default;
};

/// What other nodes know about a node: its public keys and a display name.
struct PeerInfo {
  NodeId id;
  std::string name;  // 1..64 printable ASCII characters; informational only
  Bytes sig_public_key;
  Bytes kem_public_key;

  /// Validates sizes and the name, and derives `id` from the keys.
  static Result<PeerInfo> FromKeys(std::string name, Bytes sig_public_key, Bytes kem_public_key);
  /// Compact binary form (for exchanging public keys out of band).
  Bytes Serialize() const;
  static Result<PeerInfo> Parse(ByteView bytes);
};

/// This node's key pairs. Move-only; the secret keys never leave the object
/// except through Keystore::Save, and are zeroized when it is destroyed.
class NodeIdentity {
 public:
  static Result<NodeIdentity> Generate(std::string name);
  /// Rebuilds an identity from stored keys, checking that each secret key
  /// belongs to its public key (ML-KEM: the embedded key and its hash; ML-DSA:
  /// a signature made with the secret key verifies under the public key).
  static Result<NodeIdentity> FromKeys(std::string name, SigKeyPair sig, KemKeyPair kem);

  const PeerInfo& info() const { return info_; }
  const NodeId& id() const { return info_.id; }
  Result<Bytes> Sign(ByteView message, std::string_view context) const;
  Result<SecretBytes> Decapsulate(ByteView ciphertext) const;

  const SecretBytes& sig_secret_key() const { return sig_secret_; }
  const SecretBytes& kem_secret_key() const { return kem_secret_; }

 private:
  NodeIdentity() = default;
  PeerInfo info_;
  SecretBytes sig_secret_;
  SecretBytes kem_secret_;
};

/// This node's identity plus the public keys of the peers it accepts messages
/// from. Saved as one checksummed file written with mode 0600 through a
/// temporary file and rename; secrets are held in SecretBytes and every
/// buffer that held them is zeroized. The file itself is not encrypted (see
/// docs/sync.md, "Threat model").
class Keystore {
 public:
  explicit Keystore(NodeIdentity self) : self_(std::move(self)) {}

  const NodeIdentity& self() const { return self_; }
  /// Adds or replaces a peer. Refuses this node's own id.
  Status AddPeer(PeerInfo peer);
  Status RemovePeer(const NodeId& id);
  /// nullptr if unknown.
  const PeerInfo* FindPeer(const NodeId& id) const;
  const std::map<NodeId, PeerInfo>& peers() const { return peers_; }

  Status Save(const std::string& path) const;
  static Result<Keystore> Load(const std::string& path);
  /// The file image (secret: holds the secret keys).
  SecretBytes Serialize() const;
  static Result<Keystore> Parse(ByteView image);

 private:
  NodeIdentity self_;
  std::map<NodeId, PeerInfo> peers_;
};

// ===========================================================================
// Sealed, signed messages
// ===========================================================================

/// kHeartbeat carries no news: a node that sent nothing else for a while
/// sends one so that its peers count it as live (docs/sync.md, "Liveness").
enum class MessageKind : uint8_t { kPatternProposal = 1, kVote = 2, kHeartbeat = 3 };

/// Why a received message was rejected. Stable names via RejectReasonName.
enum class RejectReason : uint8_t {
  kNone = 0,
  kMalformed,         // truncated, wrong magic, sizes out of range
  kUnsupportedVersion,
  kWrongRecipient,    // sealed for another node
  kUnknownSender,     // sender id not in the keystore
  kIgnoredSender,     // sender's reputation fell below the ignore threshold
  kBadSignature,      // forged, or any signed byte changed
  kStale,             // timestamp outside the allowed clock skew
  kReplayed,          // sequence already seen or older than the window
  kDecryptFailed,     // AEAD authentication failed
  kBadPayload,        // decrypted payload does not parse or validate
};
std::string_view RejectReasonName(RejectReason reason);

struct EnvelopeHeader {
  uint8_t version = 1;
  MessageKind kind = MessageKind::kPatternProposal;
  NodeId sender;
  NodeId recipient;
  uint64_t sequence = 0;      // strictly increasing per sender
  int64_t timestamp_us = 0;   // sender's wall clock, microseconds since the epoch
};

/// Fixed sizes of the wire format (docs/sync.md, "Message format").
inline constexpr size_t kEnvelopeHeaderBytes = 88;
inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kAeadTagBytes = 16;
inline constexpr size_t kMaxPayloadBytes = 1 << 20;
/// Bytes a message adds to its payload.
inline constexpr size_t kEnvelopeOverheadBytes =
    kEnvelopeHeaderBytes + kKemCiphertextBytes + kAeadNonceBytes + 4 + kAeadTagBytes + kSignatureBytes;

/// Seals payloads for one recipient and signs them as this node. Sequence
/// numbers are max(previous + 1, now_us), so they stay increasing across
/// restarts as long as the wall clock does not step back.
class MessageSealer {
 public:
  /// `self` must outlive the sealer.
  explicit MessageSealer(const NodeIdentity* self) : self_(self) {}
  Result<Bytes> Seal(MessageKind kind, const PeerInfo& recipient, ByteView payload, int64_t now_us);
  uint64_t last_sequence() const { return last_sequence_; }

 private:
  const NodeIdentity* self_;
  uint64_t last_sequence_ = 0;
};

struct ReplayOptions {
  int64_t max_clock_skew_us = 300'000'000;  // |now - timestamp| allowed (5 min)
  uint32_t window = 64;                      // out-of-order sequences accepted, 1..64
};

/// Per-sender replay window (as IPsec's): a sequence above the highest seen
/// is accepted; one within `window` below it is accepted once; anything older
/// is rejected. Only fully verified messages update it.
class ReplayGuard {
 public:
  explicit ReplayGuard(ReplayOptions options = {}) : options_(options) {}
  /// OK if (sender, sequence) was not seen and is inside the window.
  Status Check(const NodeId& sender, uint64_t sequence) const;
  void Record(const NodeId& sender, uint64_t sequence);
  const ReplayOptions& options() const { return options_; }

  struct Window {
    uint64_t highest = 0;
    uint64_t seen = 0;  // bit i: highest - i was seen
  };
  /// Every sender's window (SyncNode::SaveState persists them).
  const std::map<NodeId, Window>& windows() const { return windows_; }
  /// Replaces every window (SyncNode::RestoreState).
  void Restore(std::map<NodeId, Window> windows) { windows_ = std::move(windows); }

 private:
  ReplayOptions options_;
  std::map<NodeId, Window> windows_;
};

struct OpenedMessage {
  EnvelopeHeader header;
  Bytes payload;
};

/// Predicate deciding whether a sender is ignored (e.g. ReputationBook).
class SenderFilter {
 public:
  virtual ~SenderFilter() = default;
  virtual bool IsIgnored(const NodeId& sender) const = 0;
};

/// Verifies and opens messages addressed to this node. Checks, in order:
/// framing and version, recipient, known sender, not ignored, signature over
/// every byte before it, timestamp within the skew, replay window, AEAD
/// decryption. The replay window is updated only when all pass.
class MessageOpener {
 public:
  /// `keystore` (and `filter`, if given) must outlive the opener.
  MessageOpener(const Keystore* keystore, ReplayOptions replay = {},
                const SenderFilter* filter = nullptr)
      : keystore_(keystore), replay_(replay), filter_(filter) {}
  /// On error, `*reason` (if given) says why; the Status message says where.
  Result<OpenedMessage> Open(ByteView message, int64_t now_us, RejectReason* reason = nullptr);
  const ReplayGuard& replay() const { return replay_; }
  ReplayGuard& mutable_replay() { return replay_; }

 private:
  const Keystore* keystore_;
  ReplayGuard replay_;
  const SenderFilter* filter_;
};

// ===========================================================================
// Differential privacy
// ===========================================================================

enum class NoiseMechanism : uint8_t { kLaplace = 0, kGaussian = 1 };
std::string_view NoiseMechanismName(NoiseMechanism m);

/// (epsilon, delta) for one release. Laplace: epsilon in (0, 10], delta = 0.
/// Gaussian (the classic analytic bound, valid for epsilon < 1): epsilon in
/// (0, 1), delta in (0, 1e-3].
struct PrivacyParams {
  NoiseMechanism mechanism = NoiseMechanism::kLaplace;
  double epsilon = 0.1;
  double delta = 0.0;
};
Status ValidatePrivacyParams(const PrivacyParams& params);
/// Laplace: scale b = sensitivity / epsilon. Gaussian: standard deviation
/// sigma = sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon.
Result<double> NoiseScale(const PrivacyParams& params, double sensitivity);

/// Uniform numbers in the open interval (0, 1) for noise sampling.
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  virtual Result<double> Uniform01() = 0;
};
/// From OpenSSL's CSPRNG: what releases use. Thread-safe.
class SecureNoiseSource final : public NoiseSource {
 public:
  Result<double> Uniform01() override;
};
/// From a seeded Rng: for tests and reproducible experiments only.
class SeededNoiseSource final : public NoiseSource {
 public:
  explicit SeededNoiseSource(Rng* rng) : rng_(rng) {}
  Result<double> Uniform01() override;

 private:
  Rng* rng_;
};
/// One draw of Laplace(0, scale) (inverse CDF).
Result<double> SampleLaplace(double scale, NoiseSource& source);
/// One draw of Normal(0, sigma^2) (Box-Muller on two uniforms).
Result<double> SampleGaussian(double sigma, NoiseSource& source);

/// Privacy budget of one node under basic sequential composition: the
/// epsilons and deltas of all releases add up. A release that would exceed
/// the budget is refused (kResourceExhausted) and nothing is charged.
class PrivacyAccountant {
 public:
  /// epsilon_budget > 0, delta_budget in [0, 1).
  static Result<PrivacyAccountant> Create(double epsilon_budget, double delta_budget);
  Status Charge(double epsilon, double delta);
  double epsilon_budget() const { return epsilon_budget_; }
  double delta_budget() const { return delta_budget_; }
  double epsilon_spent() const { return epsilon_spent_; }
  double delta_spent() const { return delta_spent_; }
  uint64_t releases() const { return releases_; }
  /// Sets what was spent before a restart (SyncNode::RestoreState); the
  /// spending may exceed a budget lowered since (nothing more is released
  /// then). kInvalidArgument unless both amounts are finite and >= 0.
  Status Restore(double epsilon_spent, double delta_spent, uint64_t releases);
  /// "epsilon 0.3 of 10 spent, delta 0 of 0, 3 releases".
  std::string Describe() const;

 private:
  PrivacyAccountant(double e, double d) : epsilon_budget_(e), delta_budget_(d) {}
  double epsilon_budget_;
  double delta_budget_;
  double epsilon_spent_ = 0.0;
  double delta_spent_ = 0.0;
  uint64_t releases_ = 0;
};

// ===========================================================================
// Pattern proposals and votes (the payloads)
// ===========================================================================

inline constexpr size_t kMaxEmbeddingDims = 1024;
inline constexpr size_t kMaxArmNameBytes = 64;

/// What a node knows about one of its patterns before privatization. No query
/// text, constants or row values: there is no field for them.
struct PatternObservation {
  uint64_t fingerprint = 0;        // structural fingerprint of the plan
  std::vector<float> embedding;    // the plan embedding (attention-pooled)
  std::string arm;                 // winning arm name ([A-Za-z0-9_.:=-], 1..64)
  double gain = 0.0;               // measured relative latency reduction vs default
  uint64_t samples = 0;            // executions behind `gain`
  int64_t first_seen_us = 0;       // when the pattern was first observed (maturity)
};

/// What is sent: the observation's structure, and its numbers with noise.
struct PatternProposal {
  uint64_t fingerprint = 0;
  std::vector<float> embedding;
  std::string arm;
  double noisy_gain = 0.0;     // clipped to the declared range after noise
  double noisy_samples = 0.0;  // >= 0 after noise
  PrivacyParams privacy;       // what was applied to each of the two numbers
  double gain_sensitivity = 0.0;
};

/// Clip range of the published gain and the epsilon split (docs/sync.md,
/// "Differential privacy"). The unit of privacy is one execution: the gain
/// must be the mean of at least min_samples per-execution gains, each clipped
/// to [gain_min, gain_max], so replacing one execution moves it by at most
/// (gain_max - gain_min) / min_samples.
struct PrivacyOptions {
  PrivacyParams per_release;   // split evenly over the two numbers
  double gain_min = -1.0;      // gain clipped to [gain_min, gain_max] before noise
  double gain_max = 1.0;
  uint64_t min_samples = 100;  // patterns with fewer executions are not released
  double samples_cap = 1e6;    // samples clipped to [0, samples_cap]
  /// Embedding entries set to 0 before release. Default: the two that hold
  /// the operator parameter (LIMIT count, ef_search, nprobe: a query
  /// constant) in the sona featurizer's 256-float layout (docs/sona.md,
  /// feature 66 in the mean and the max block).
  std::vector<uint32_t> redact_dims = {66, 96 + 66};
};

/// Adds noise to the observation's gain (sensitivity (gain_max - gain_min) /
/// min_samples) and sample count (sensitivity 1), each with half of the
/// release's epsilon and delta, after charging the accountant. Refuses when
/// the budget is spent or the pattern has fewer than min_samples executions.
Result<PatternProposal> PrivatizePattern(const PatternObservation& observation,
                                         const PrivacyOptions& options, NoiseSource& noise,
                                         PrivacyAccountant* accountant);

Bytes EncodeProposal(const PatternProposal& proposal);
Result<PatternProposal> DecodeProposal(ByteView bytes);

/// Identifies a proposal across the cluster: SHA-256 of the proposer id, the
/// fingerprint and the arm. The same proposer proposing the same arm for the
/// same pattern twice gives the same id.
using ProposalId = std::array<uint8_t, 32>;
ProposalId MakeProposalId(const NodeId& proposer, uint64_t fingerprint, std::string_view arm);

enum class Verdict : uint8_t { kConfirm = 1, kRefute = 2 };

struct Vote {
  ProposalId proposal{};
  NodeId proposer;
  Verdict verdict = Verdict::kConfirm;
  double local_gain = 0.0;     // what the validator measured on its own workload
  uint64_t local_samples = 0;
};
Bytes EncodeVote(const Vote& vote);
Result<Vote> DecodeVote(ByteView bytes);
/// A heartbeat's payload: its format byte only.
Bytes EncodeHeartbeat();
Status DecodeHeartbeat(ByteView bytes);

/// How a validator turns its own measurement of a proposed arm into a vote.
struct ValidationPolicy {
  uint64_t min_samples = 20;   // fewer: no verdict yet
  double confirm_gain = 0.05;  // local gain >= this: confirm
  double refute_gain = 0.0;    // local gain <= this: refute (slower or no better)
};
/// kNotFound ("not enough evidence yet") when no verdict is due.
Result<Verdict> JudgeProposal(const ValidationPolicy& policy, double local_gain,
                              uint64_t local_samples);

// ===========================================================================
// Reputation and quorum
// ===========================================================================

/// Reputation stake per node (no currency). Every node starts at
/// initial_stake (the seed's stake(100)); outcomes scale it:
///   proposer confirmed:  s <- min(max_stake, s * (1 + proposer_reward))
///   proposer refuted:    s <- s * (1 - proposer_slash)
///   validator with the outcome:    s <- min(max_stake, s * (1 + validator_reward))
///   validator against the outcome: s <- s * (1 - validator_slash)
/// A node whose stake falls below ignore_below is ignored: its messages are
/// rejected and its votes carry no weight.
struct ReputationOptions {
  double initial_stake = 100.0;
  double max_stake = 1000.0;
  double proposer_reward = 0.10;
  double proposer_slash = 0.30;
  double validator_reward = 0.02;
  double validator_slash = 0.05;
  double ignore_below = 10.0;
};
Status ValidateReputationOptions(const ReputationOptions& options);

class ReputationBook final : public SenderFilter {
 public:
  explicit ReputationBook(ReputationOptions options = {}) : options_(options) {}
  /// Adds a node at initial_stake; AlreadyExists if known.
  Status Register(const NodeId& node);
  bool Known(const NodeId& node) const { return stakes_.count(node) != 0; }
  /// 0 for unknown nodes.
  double Stake(const NodeId& node) const;
  /// Unknown nodes are ignored too.
  bool IsIgnored(const NodeId& node) const override;
  void RewardProposer(const NodeId& node);
  void SlashProposer(const NodeId& node);
  void RewardValidator(const NodeId& node);
  void SlashValidator(const NodeId& node);
  const std::map<NodeId, double>& stakes() const { return stakes_; }
  const ReputationOptions& options() const { return options_; }
  /// Sets a registered node's stake, clamped to [0, max_stake] (restoring a
  /// saved book); unknown nodes are left out. False when left out.
  bool Restore(const NodeId& node, double stake);

 private:
  void Scale(const NodeId& node, double factor);
  ReputationOptions options_;
  std::map<NodeId, double> stakes_;
};

/// A proposal is confirmed when validators holding at least quorum_fraction
/// of the eligible stake (every registered, non-ignored node except the
/// proposer, at their current stakes -- with liveness_window_us > 0 only the
/// nodes that voted on it or are live: ProposalLedger::NoteSeen) confirmed it
/// and at least min_validators did; refuted by the same rule with
/// refutations; expired (no stake change) when neither happened within
/// ttl_us.
/// Memory is bounded: at most max_open_per_proposer open proposals per
/// proposer, and max_proposals in all (when full, the oldest decided or
/// expired proposals are forgotten first).
struct QuorumOptions {
  double quorum_fraction = 2.0 / 3.0;  // in (0.5, 1]
  uint32_t min_validators = 2;
  int64_t ttl_us = 86'400'000'000;     // 24 h
  uint32_t max_open_per_proposer = 1000;
  uint32_t max_proposals = 100000;
  /// A node is live while a verified message from it (sent, by its signed
  /// timestamp, no later than now) is at most this old; nodes not heard from
  /// since the ledger's first call count as heard from then. 0 = every
  /// registered node counts as live. SyncNode sets it from
  /// SyncConfig::max_sync_interval_us (kLivenessIntervals of them).
  int64_t liveness_window_us = 0;
};

enum class ProposalState : uint8_t { kOpen = 0, kConfirmed, kRefuted, kExpired };
std::string_view ProposalStateName(ProposalState state);

struct ProposalStatus {
  ProposalId id{};
  NodeId proposer;
  PatternProposal proposal;
  ProposalState state = ProposalState::kOpen;
  int64_t created_us = 0;
  double confirm_stake = 0.0;
  double refute_stake = 0.0;
  double eligible_stake = 0.0;  // at the last evaluation
  std::map<NodeId, Verdict> votes;
};

/// Open and decided proposals, the votes on them, and the reputation updates
/// their outcomes cause. `book` must outlive the ledger.
class ProposalLedger {
 public:
  ProposalLedger(QuorumOptions options, ReputationBook* book)
      : options_(options), book_(book) {}
  /// Records a proposal from `proposer` (whose message was verified). Errors:
  /// ignored or unknown proposer, duplicate id, too many open proposals.
  Result<ProposalId> Propose(const NodeId& proposer, const PatternProposal& proposal,
                             int64_t now_us);
  /// Records `validator`'s vote and decides the proposal if a quorum is
  /// reached. Errors: unknown proposal, vote by the proposer, a second vote
  /// by the same validator, ignored validator, a decided proposal, or a vote
  /// whose proposer does not match.
  Result<ProposalState> AddVote(const NodeId& validator, const Vote& vote, int64_t now_us);
  /// Marks open proposals older than ttl_us expired; returns how many.
  size_t ExpireOld(int64_t now_us);
  /// A verified message from `node` sent at `sent_us` (its signed timestamp,
  /// clamped to now_us): it is live until sent_us + liveness_window_us. An
  /// older message than one seen before changes nothing.
  void NoteSeen(const NodeId& node, int64_t sent_us, int64_t now_us);
  /// When `node` was last heard from (the ledger's start for a node not
  /// heard from since; INT64_MIN before the ledger's first call).
  int64_t LastSeen(const NodeId& node) const;
  /// Whether `node` is live at now_us (always with liveness off).
  bool IsLive(const NodeId& node, int64_t now_us) const;
  /// Decides open proposals again at now_us when the set of live nodes
  /// changed since the last call: nodes that went silent no longer count
  /// toward their eligible stake, so a quorum of the live ones may now be
  /// reached. Returns how many were decided.
  size_t Reevaluate(int64_t now_us);
  const ProposalStatus* Find(const ProposalId& id) const;
  const std::map<ProposalId, ProposalStatus>& proposals() const { return proposals_; }
  /// Replaces every proposal (SyncNode::RestoreState: already validated).
  void Restore(std::map<ProposalId, ProposalStatus> proposals) { proposals_ = std::move(proposals); }

 private:
  void Evaluate(ProposalStatus* status, int64_t now_us);
  void Settle(ProposalStatus* status, ProposalState outcome);
  void NoteStart(int64_t now_us) {
    if (started_us_ == kNever) started_us_ = now_us;
  }
  static constexpr int64_t kNever = INT64_MIN;
  /// Forgets decided or expired proposals, oldest first, until there is room.
  bool MakeRoom(int64_t now_us);
  QuorumOptions options_;
  ReputationBook* book_;
  std::map<ProposalId, ProposalStatus> proposals_;
  std::map<NodeId, int64_t> last_seen_;  // NoteSeen
  std::vector<NodeId> last_live_;        // who was live at the last Reevaluate
  int64_t started_us_ = kNever;          // the first now_us the ledger was given
};

// ===========================================================================
// Bounded sync frequency (the seed's SyncConfig)
// ===========================================================================

struct SyncConfig {
  int64_t min_sync_interval_us = 60'000'000;     // at least 1 min apart
  int64_t max_sync_interval_us = 3'600'000'000;  // at most 1 h apart
  bool adaptive_backoff = true;                  // back off under pressure
  uint32_t max_patterns_per_sync = 100;
  int64_t pattern_age_threshold_us = 300'000'000;  // 5 min maturity
  PrivacyParams privacy;                           // epsilon 0.1, Laplace
};
Status ValidateSyncConfig(const SyncConfig& config);

/// When to sync next. The interval starts at min_sync_interval; each report
/// of pressure (a failed or throttled publish) doubles it, up to
/// max_sync_interval, when adaptive_backoff is on; each successful sync
/// halves it, down to min_sync_interval.
class SyncScheduler {
 public:
  static Result<SyncScheduler> Create(const SyncConfig& config);
  /// True when no sync happened yet or the current interval has passed.
  bool Due(int64_t now_us) const;
  int64_t NextSyncAt() const;
  void OnSyncSucceeded(int64_t now_us);
  void OnPressure(int64_t now_us);
  int64_t interval_us() const { return interval_us_; }
  /// The mature observations (first seen at least pattern_age_threshold ago,
  /// with at least one sample), best first (gain x samples, then fingerprint
  /// and arm for a stable order), at most max_patterns_per_sync.
  std::vector<PatternObservation> SelectForSync(std::vector<PatternObservation> candidates,
                                                int64_t now_us) const;

 private:
  explicit SyncScheduler(const SyncConfig& config)
      : config_(config), interval_us_(config.min_sync_interval_us) {}
  SyncConfig config_;
  int64_t interval_us_;
  int64_t last_sync_us_ = 0;
  bool synced_ = false;
};

// ===========================================================================
// One node of the sync protocol
// ===========================================================================

struct SyncNodeOptions {
  SyncConfig config;
  PrivacyOptions privacy;          // per_release is taken from config.privacy
  double epsilon_budget = 10.0;    // this node's total privacy budget
  double delta_budget = 0.0;
  ReplayOptions replay;
  ReputationOptions reputation;
  QuorumOptions quorum;
  ValidationPolicy validation;
};

/// A sealed message for one peer.
struct OutgoingMessage {
  NodeId recipient;
  Bytes bytes;
};

/// What happened to a received message.
struct ReceiveResult {
  Status status;                               // OK, or why it was rejected
  RejectReason reject = RejectReason::kNone;   // kNone when accepted
  MessageKind kind = MessageKind::kPatternProposal;
  /// The verified sender; for a message rejected after the framing checks
  /// (not kMalformed or kUnsupportedVersion), the sender it claims, which is
  /// not authenticated; otherwise all zeros.
  NodeId sender;
  ProposalId proposal{};
  ProposalState state = ProposalState::kOpen;  // of that proposal afterwards
};

/// The library side of one server in the sync protocol: its keystore, replay
/// window, privacy accountant, reputation book, proposal ledger and schedule,
/// wired together. The host (worker) moves the bytes (transport) and measures
/// received patterns on its own workload; this object never deploys anything.
/// Every registered peer and this node start at the initial stake. Not
/// movable (its parts refer to each other); single-threaded.
class SyncNode {
 public:
  static Result<std::unique_ptr<SyncNode>> Create(Keystore keystore, SyncNodeOptions options);
  SyncNode(const SyncNode&) = delete;
  SyncNode& operator=(const SyncNode&) = delete;

  /// Privatizes each observation (charging the budget), records it as this
  /// node's proposal, and seals it for every peer. Stops at the first error
  /// (e.g. the budget is spent); what was already sealed is returned with it
  /// only when everything succeeded.
  Result<std::vector<OutgoingMessage>> Propose(const std::vector<PatternObservation>& observations,
                                               NoiseSource& noise, int64_t now_us);
  /// Opens, verifies and applies a message: a proposal enters the ledger (as
  /// a prior to verify, never deployed), a vote counts toward its quorum.
  ReceiveResult Receive(ByteView message, int64_t now_us);
  /// Judges a received proposal from this node's own measurement (gain of
  /// the proposed arm over the default, executions); when a verdict is due,
  /// records it and seals the vote for every peer. kNotFound when the
  /// evidence does not decide yet.
  Result<std::vector<OutgoingMessage>> Validate(const ProposalId& proposal, double local_gain,
                                                uint64_t local_samples, int64_t now_us);

  /// Marks open proposals older than the quorum's ttl expired (no stake
  /// change) and decides open ones again without the nodes that went silent
  /// (ProposalLedger::Reevaluate); returns how many changed state.
  size_t ExpireProposals(int64_t now_us);

  /// A heartbeat sealed for every peer when this node sealed nothing for
  /// half of max_sync_interval (its peers then still count it as live);
  /// empty when none is due.
  Result<std::vector<OutgoingMessage>> HeartbeatIfDue(int64_t now_us);
  /// The liveness window is this many max_sync_intervals.
  static constexpr int64_t kLivenessIntervals = 2;

  /// Versioned, checksummed image (`RVSS`, version 1, CRC-32C; docs/sync.md,
  /// "What survives a restart") of what a restart would otherwise forget:
  /// every sender's replay window, the reputation stakes, the proposal
  /// ledger (proposals, votes, states, stakes) and the privacy budget spent.
  /// Sorted containers: the same state gives the same bytes.
  Bytes SaveState() const;
  /// Restores an image SaveState made on this node (the same id), or changes
  /// nothing: kDataLoss for a wrong magic, checksum mismatch, truncation or
  /// an invalid field; kFailedPrecondition for another version or another
  /// node's image. Stakes and windows of nodes that are no longer peers are
  /// dropped; new peers keep the initial stake.
  Status RestoreState(ByteView image);
  /// SaveState written to `path` atomically: a temporary file (mode 0600)
  /// written, fsynced and renamed over `path`, then the directory fsynced.
  Status SaveStateFile(const std::string& path) const;
  /// RestoreState from `path`: kNotFound when it does not exist; a path that
  /// is not a regular file or is larger than kMaxStateFileBytes is refused
  /// (kFailedPrecondition) without reading it.
  Status LoadStateFile(const std::string& path);
  static constexpr size_t kMaxStateFileBytes = size_t{512} << 20;

  const Keystore& keystore() const { return keystore_; }
  const NodeId& id() const { return keystore_.self().id(); }
  const ProposalLedger& ledger() const { return ledger_; }
  const ReputationBook& reputation() const { return book_; }
  const PrivacyAccountant& accountant() const { return accountant_; }
  SyncScheduler& scheduler() { return scheduler_; }
  const SyncNodeOptions& options() const { return options_; }

 private:
  SyncNode(Keystore keystore, SyncNodeOptions options, PrivacyAccountant accountant,
           SyncScheduler scheduler);
  /// The peers this node does not ignore now.
  std::vector<NodeId> HeardPeers() const;
  /// Seals `payload` once for each of `recipients`.
  Result<std::vector<OutgoingMessage>> SealFor(const std::vector<NodeId>& recipients, MessageKind kind,
                                               const Bytes& payload, int64_t now_us);

  SyncNodeOptions options_;
  Keystore keystore_;
  ReputationBook book_;
  ProposalLedger ledger_;
  PrivacyAccountant accountant_;
  SyncScheduler scheduler_;
  MessageSealer sealer_;
  MessageOpener opener_;
  int64_t last_sealed_us_ = INT64_MIN;  // when this node last sealed a message
};

}  // namespace sync
}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_SYNC_H_
