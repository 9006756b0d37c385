// Attention over plan DAGs: seven mechanisms that turn a DAG (plus optional
// execution feedback) into one weight per live node, a UCB1/Thompson
// selector over them, a trigger policy driven by tension and plan shape, and
// an LRU/TTL result cache.
//
// Every mechanism returns weights in [0, 1] that sum to 1, one per live node
// (ascending id), deterministically, for every DAG the dag module can hold
// (dead ids, many sources and sinks, disconnected parts). An empty DAG is a
// kFailedPrecondition error. Formulas, parameters and their reasons are in
// docs/attention.md.
//
// Thread-safety: PreparedDag, AttentionScores and the free functions are
// thread-compatible (const use may be concurrent). An Attention object's
// Compute is const and may run concurrently; Update/Reset need exclusive
// access. AttentionSelector, AttentionPolicy and AttentionCache are not
// thread-safe: give each thread its own or lock around them.
#ifndef RUVECTOR_DAG_ATTENTION_H_
#define RUVECTOR_DAG_ATTENTION_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/mincut.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

// --- mechanisms -------------------------------------------------------------

/// The seven mechanisms. Numeric values are stable (persisted by hosts).
enum class AttentionMechanism : uint8_t {
  kTopological = 0,
  kCausalCone,
  kCriticalPath,
  kMinCutGated,
  kHierarchicalLorentz,
  kParallelBranch,
  kTemporalBtsp,
};
inline constexpr size_t kAttentionMechanismCount = 7;

/// All seven in enum order.
inline constexpr AttentionMechanism kAllAttentionMechanisms[kAttentionMechanismCount] = {
    AttentionMechanism::kTopological,         AttentionMechanism::kCausalCone,
    AttentionMechanism::kCriticalPath,        AttentionMechanism::kMinCutGated,
    AttentionMechanism::kHierarchicalLorentz, AttentionMechanism::kParallelBranch,
    AttentionMechanism::kTemporalBtsp,
};

/// Stable snake_case name: "topological", "causal_cone", "critical_path",
/// "mincut_gated", "hierarchical_lorentz", "parallel_branch", "temporal_btsp".
std::string_view AttentionMechanismName(AttentionMechanism mechanism);
/// Inverse of AttentionMechanismName; also accepts the CamelCase names
/// ("CriticalPath", "MinCutGated", ...). nullopt when unknown.
std::optional<AttentionMechanism> AttentionMechanismFromName(std::string_view name);

// --- clock ------------------------------------------------------------------

/// Time source for TemporalBTSP and the cache TTL, injectable so tests never
/// sleep. Implementations must be monotonic.
class AttentionClock {
 public:
  virtual ~AttentionClock() = default;
  /// Microseconds since an arbitrary fixed origin.
  virtual int64_t NowMicros() const = 0;
};

/// The process-wide steady clock (std::chrono::steady_clock). Never null;
/// lives for the whole program.
const AttentionClock* SystemAttentionClock();

/// A clock that only moves when told to (tests, deterministic replays).
class ManualAttentionClock final : public AttentionClock {
 public:
  explicit ManualAttentionClock(int64_t start_micros = 0) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_; }
  /// Moves the clock forward; negative steps are ignored (monotonic).
  void AdvanceMicros(int64_t delta) { if (delta > 0) now_ += delta; }
  void AdvanceMillis(double millis) { AdvanceMicros(static_cast<int64_t>(millis * 1000.0)); }

 private:
  int64_t now_;
};

// --- inputs -----------------------------------------------------------------

/// What an execution taught us; every field is optional (empty = unknown).
struct ExecutionFeedback {
  /// Observed self (exclusive) time per node in ms, indexed by NodeId. May be
  /// shorter than the DAG's id_bound; negative or non-finite entries and
  /// dead ids are "unknown".
  std::vector<double> node_time_ms;
  /// End-to-end latency samples in ms, oldest first (non-finite or negative
  /// samples are ignored).
  std::vector<double> latency_samples_ms;
};

/// Derives feedback from the actuals stored in the DAG (EXPLAIN ANALYZE):
/// self time = actual_time_ms * loops minus the same for its inputs (clamped
/// at 0); the latency sample is the sinks' largest inclusive time. Nodes
/// without actuals stay unknown. O(V + E).
ExecutionFeedback FeedbackFromActuals(const QueryDag& dag);

/// A DAG flattened once for the mechanisms: dense indices 0..n-1 in
/// ascending id order, CSR adjacency, a topological order and per-node
/// levels. Building is O(V + E); Reset reuses the buffers. The referenced
/// QueryDag must outlive the PreparedDag and stay unchanged while in use.
class PreparedDag {
 public:
  PreparedDag() = default;
  /// kFailedPrecondition for an empty DAG (also for Reset).
  static Result<PreparedDag> Build(const QueryDag& dag);
  /// Build into this object, reusing its buffers.
  Status Reset(const QueryDag& dag);

  /// The DAG it was built from (must outlive this object).
  const QueryDag& dag() const { return *dag_; }
  /// Number of live nodes (n).
  size_t size() const { return ids_.size(); }
  /// index -> NodeId, ascending.
  const std::vector<NodeId>& ids() const { return ids_; }
  /// NodeId -> index, or -1 when the id is not live.
  int32_t IndexOf(NodeId id) const {
    return id < index_of_.size() ? index_of_[id] : -1;
  }
  /// Indices in a topological order (every input before its consumers).
  const std::vector<uint32_t>& topo_order() const { return topo_; }
  /// CSR: the consumers of index i are child_index()[child_offset()[i] ..
  /// child_offset()[i+1]); same for inputs with parent_*.
  const std::vector<uint32_t>& child_offset() const { return child_off_; }
  const std::vector<uint32_t>& child_index() const { return child_idx_; }
  const std::vector<uint32_t>& parent_offset() const { return parent_off_; }
  const std::vector<uint32_t>& parent_index() const { return parent_idx_; }
  /// Longest path in edges from the node to a sink (QueryDag::Depths).
  const std::vector<uint32_t>& height() const { return height_; }
  /// Longest path in edges from a source to the node.
  const std::vector<uint32_t>& level() const { return level_; }
  /// Estimated own cost sanitized (non-finite or negative -> 0).
  const std::vector<double>& estimated_cost() const { return cost_; }
  /// Largest height (the plan's depth in edges).
  uint32_t max_height() const { return max_height_; }
  /// Largest number of nodes sharing one height: how many operators can run
  /// side by side (the policy's "branch count").
  uint32_t max_width() const { return max_width_; }
  /// Nodes without parents (sources), nodes without children (sinks), edges.
  size_t source_count() const { return sources_; }
  size_t sink_count() const { return sinks_; }
  size_t edge_count() const { return child_idx_.size(); }

 private:
  const QueryDag* dag_ = nullptr;
  std::vector<NodeId> ids_;
  std::vector<int32_t> index_of_;
  std::vector<uint32_t> topo_;
  std::vector<uint32_t> child_off_, child_idx_, parent_off_, parent_idx_;
  std::vector<uint32_t> height_, level_, scratch_;
  std::vector<double> cost_;
  uint32_t max_height_ = 0;
  uint32_t max_width_ = 0;
  size_t sources_ = 0;
  size_t sinks_ = 0;
};

// --- parameters -------------------------------------------------------------

/// Parameters of all mechanisms (each reads its own block). Defaults are the
/// documented ones; ValidateAttentionParams names the first bad field.
struct AttentionParams {
  struct Topological {
    double decay = 0.85;  // (0, 1]: weight factor per level below the top
  } topological;
  struct CausalCone {
    double discount = 0.7;            // (0, 1]: factor per edge of distance
    double horizon_epsilon = 1e-6;    // (0, 1): drop terms below discount^k < eps
  } causal_cone;
  struct CriticalPath {
    double sharpness = 4.0;           // > 0: exp(-sharpness * slack / length)
    double max_sharpen = 4.0;         // >= 1: cap on the p99/(2 p50) factor
    size_t latency_window = 512;      // >= 8: latency samples kept by Update
  } critical_path;
  struct MinCutGated {
    double cut_gain = 3.0;            // >= 0: extra gate of a cut node
    double neighbour_gain = 1.0;      // >= 0: extra gate of a cut node's neighbour
    double criticality_gain = 1.0;    // >= 0: extra gate per unit of criticality
    double cost_mix = 0.5;            // [0, 1]: base = uniform vs cost share
    CapacityMode capacity = CapacityMode::kBottleneck;  // the cut to gate by
  } min_cut_gated;
  struct HierarchicalLorentz {
    double radius_per_level = 0.5;    // > 0: hyperbolic radius per level
    double max_radius = 8.0;          // (0, 12]: radii are compressed below it
    double temperature = 1.0;         // > 0: exp(-distance / temperature)
    double cost_mix = 0.5;            // [0, 1]: centroid mass, uniform vs cost
  } hierarchical_lorentz;
  struct ParallelBranch {
    double imbalance_exponent = 2.0;  // >= 0: how hard slow branches win
    double branch_boost = 1.0;        // >= 0: extra weight inside parallel branches
  } parallel_branch;
  struct TemporalBtsp {
    double eligibility_tau_ms = 2000.0;  // > 0: eligibility trace time constant
    double weight_tau_ms = 60000.0;      // > 0: decay of potentiated weights
    double learning_rate = 0.3;          // (0, 1]: potentiation per plateau
    double plateau_ratio = 2.0;          // > 1: share/latency over baseline
    double baseline_rate = 0.1;          // (0, 1]: EWMA rate of the baselines
    double trace_gain = 1.0;             // >= 0: weight of the eligibility term
    double weight_gain = 2.0;            // >= 0: weight of the potentiated term
    double cost_mix = 0.5;               // [0, 1]: base = uniform vs cost share
    size_t max_traces = 4096;            // >= 1: operator signatures remembered
  } temporal_btsp;
  /// Also fill AttentionScores::edge_weights (costs O(E) extra).
  bool edge_weights = false;
};

/// kInvalidArgument naming the first field outside its documented range.
Status ValidateAttentionParams(const AttentionParams& params);
/// Stable hash of the block `mechanism` reads (plus edge_weights); used in
/// cache keys.
uint64_t HashAttentionParams(const AttentionParams& params, AttentionMechanism mechanism);

// --- outputs ----------------------------------------------------------------

/// One diagnostic number; `name` points at a string literal (no allocation).
struct AttentionMetric {
  std::string_view name;
  double value = 0.0;
};

/// Attention of consumer `to` over its input `from`: the inputs of each
/// consumer sum to 1.
struct EdgeWeight {
  NodeId from = kInvalidNodeId;
  NodeId to = kInvalidNodeId;
  double weight = 0.0;
};

/// The result of one mechanism on one DAG.
struct AttentionScores {
  AttentionMechanism mechanism = AttentionMechanism::kTopological;
  /// Live node ids, ascending; weights[i] belongs to nodes[i].
  std::vector<NodeId> nodes;
  /// Each in [0, 1]; they sum to 1 (within 1e-9).
  std::vector<double> weights;
  /// Sorted by (from, to); empty unless AttentionParams::edge_weights.
  std::vector<EdgeWeight> edge_weights;
  /// Parameters and diagnostics, in a fixed order per mechanism.
  std::vector<AttentionMetric> metadata;

  /// Weight of `id` (0 when absent). O(log n).
  double WeightOf(NodeId id) const;
  /// Value of metadata entry `name`, nullopt when absent.
  std::optional<double> Metric(std::string_view name) const;
};

/// One mechanism. Create with MakeAttention.
class Attention {
 public:
  virtual ~Attention() = default;
  /// Which of the seven mechanisms this is, its name, its parameters.
  virtual AttentionMechanism mechanism() const = 0;
  std::string_view name() const { return AttentionMechanismName(mechanism()); }
  const AttentionParams& params() const { return params_; }

  /// Fills `out` (its vectors are reused: pass the same object again to
  /// avoid allocations). `feedback` may be null. Const: learned state is
  /// only read. O(V + E) for most mechanisms; see docs/attention.md.
  virtual Status Compute(const PreparedDag& plan, const ExecutionFeedback* feedback,
                         AttentionScores* out) const = 0;
  /// Prepares `dag` and computes; convenient, allocates.
  Result<AttentionScores> Forward(const QueryDag& dag,
                                  const ExecutionFeedback* feedback = nullptr) const;

  /// Learns from an execution of `dag`. CriticalPath keeps latency samples
  /// (sharpens when p99 > 2 p50); TemporalBTSP updates eligibility traces
  /// and plateau potentials. The others have no learned state and ignore it
  /// (returning OK).
  virtual Status Update(const QueryDag& dag, const ExecutionFeedback& feedback);
  /// Forgets learned state (parameters stay).
  virtual void Reset() {}
  /// Hash of parameters and learned state: equal hashes give equal results
  /// on equal inputs (TemporalBTSP folds in the clock, quantized to
  /// eligibility_tau_ms / 8). Used in cache keys.
  virtual uint64_t StateHash() const;

 protected:
  explicit Attention(const AttentionParams& params) : params_(params) {}
  AttentionParams params_;
};

/// Creates a mechanism. `clock` (TemporalBTSP only; null = the system clock)
/// must outlive the object. kInvalidArgument for bad parameters.
Result<std::unique_ptr<Attention>> MakeAttention(AttentionMechanism mechanism,
                                                 const AttentionParams& params = {},
                                                 const AttentionClock* clock = nullptr);

/// One-shot: builds the mechanism with `params` and runs it on `dag`.
Result<AttentionScores> ComputeAttention(const QueryDag& dag, AttentionMechanism mechanism,
                                         const AttentionParams& params = {},
                                         const ExecutionFeedback* feedback = nullptr);

// --- selector ---------------------------------------------------------------

enum class SelectorAlgorithm : uint8_t {
  kUcb1 = 0,   // mean + c * sqrt(2 ln N / n); untried arms first
  kThompson,   // Gaussian posterior sample per arm from the seeded Rng
};

struct SelectorOptions {
  SelectorAlgorithm algorithm = SelectorAlgorithm::kUcb1;
  double exploration = 1.0;   // UCB1 c (>= 0); Thompson prior scale (> 0)
  uint64_t seed = 0x5EEDu;    // Thompson sampling's Rng seed
  /// Mechanisms the selector may choose; empty = all seven.
  std::vector<AttentionMechanism> arms;
};

struct ArmStats {
  AttentionMechanism mechanism = AttentionMechanism::kTopological;
  uint64_t pulls = 0;
  double mean_reward = 0.0;
  double reward_variance = 0.0;  // sample variance (0 with < 2 pulls)
  double upper_bound = 0.0;      // current UCB1 index (+inf when untried)
};

/// A multi-armed bandit over mechanisms; rewards should lie in [0, 1] (UCB1's
/// bound assumes it; larger values work but explore less). O(arms) per call.
class AttentionSelector {
 public:
  explicit AttentionSelector(SelectorOptions options = {});
  /// kInvalidArgument for a bad exploration constant or duplicate arms.
  static Result<AttentionSelector> Create(SelectorOptions options);

  /// The mechanism to try next (deterministic for a given history and seed).
  AttentionMechanism Select();
  /// Records a reward for `mechanism`; kInvalidArgument for a non-finite
  /// reward, kNotFound for a mechanism that is not an arm.
  Status Update(AttentionMechanism mechanism, double reward);
  /// The arm with the best mean reward so far (ties: enum order); the first
  /// arm before any update.
  AttentionMechanism Best() const;
  /// One entry per arm, in arm order.
  std::vector<ArmStats> Stats() const;
  /// Rewards recorded over all arms.
  uint64_t total_pulls() const { return total_; }
  /// Forgets every reward and reseeds the Rng.
  void Reset();

 private:
  struct Arm {
    AttentionMechanism mechanism;
    uint64_t pulls = 0;
    double mean = 0.0;
    double m2 = 0.0;  // Welford
  };
  double UpperBound(const Arm& arm) const;
  SelectorOptions options_;
  std::vector<Arm> arms_;
  uint64_t total_ = 0;
  Rng rng_;
};

// --- policy -----------------------------------------------------------------

/// The signals the policy reads; fill what you know (defaults never trigger).
struct PolicySignals {
  double tension = 0.0;             // the min-cut engine's tension, [0, 1]
  double latency_p50_ms = 0.0;      // 0 = unknown
  double latency_p99_ms = 0.0;      // 0 = unknown
  uint32_t depth = 0;               // plan depth in edges (PreparedDag::max_height)
  uint32_t branch_count = 0;        // parallel width (PreparedDag::max_width)
  double temporal_pattern = 0.0;    // [0, 1] strength of a time pattern (e.g. periodicity)
};

/// Strength in [0, 1] of a repeating pattern in a latency series (oldest
/// first): the largest sample autocorrelation over lags 1 .. m/2, negatives
/// read as 0. Needs at least 8 usable samples (finite, >= 0), else 0; a
/// constant series is 0. O(m^2) for m samples.
double TemporalPatternStrength(const std::vector<double>& latency_samples_ms);

/// Fills depth and branch_count from `plan`; p50/p99 from
/// `feedback->latency_samples_ms` when it holds at least 2 samples and
/// temporal_pattern (TemporalPatternStrength) when it holds at least 8; and
/// the tension from `mincut` (MinCutEngine::ComputeTension) when given.
Result<PolicySignals> SignalsFromPlan(const PreparedDag& plan,
                                      const ExecutionFeedback* feedback = nullptr,
                                      const MinCutEngine* mincut = nullptr);
/// p-quantile (0..1, nearest-rank on sorted finite non-negative samples); 0 if none.
double LatencyQuantile(std::vector<double> samples, double q);

struct PolicyOptions {
  double tension_threshold = 0.7;   // tension > this -> MinCutGated
  double latency_ratio = 2.0;       // p99 > ratio * p50 -> CriticalPath
  uint32_t depth_threshold = 10;    // depth > this -> HierarchicalLorentz
  uint32_t branch_threshold = 3;    // branch_count > this -> ParallelBranch
  double temporal_threshold = 0.5;  // temporal_pattern > this -> TemporalBTSP
  uint32_t sticky_decisions = 5;    // stay on MinCutGated this many decisions after a spike
};

/// Why the policy chose what it chose.
enum class PolicyReason : uint8_t {
  kForced = 0,       // ForceMechanism override
  kTension,          // tension above the threshold now
  kStickyTension,    // within sticky_decisions after a tension spike
  kLatencyVariance,  // p99 > ratio * p50
  kDeepPlan,         // depth > threshold
  kWidePlan,         // branch_count > threshold
  kTemporalPattern,  // temporal_pattern > threshold
  kSelector,         // no trigger fired; the selector's best arm
  kDefault,          // no trigger fired: Topological
};
/// Lower-case name of a reason ("forced", "tension", ...).
std::string_view PolicyReasonName(PolicyReason reason);

struct PolicyDecision {
  AttentionMechanism mechanism = AttentionMechanism::kTopological;
  PolicyReason reason = PolicyReason::kDefault;
  uint32_t sticky_remaining = 0;  // decisions left on MinCutGated after this one
};

/// The seed's triggers, checked in this order: forced, tension (and its
/// sticky window), p99/p50, depth, branch count, temporal pattern, else the
/// selector's best arm (when a selector with data is given) or Topological.
class AttentionPolicy {
 public:
  /// Thresholds of the triggers (PolicyOptions' defaults: the seed's).
  explicit AttentionPolicy(PolicyOptions options = {}) : options_(options) {}
  /// One decision; advances the sticky window. O(1).
  PolicyDecision Decide(const PolicySignals& signals, const AttentionSelector* selector = nullptr);
  /// Always return `mechanism` until cleared with nullopt.
  void ForceMechanism(std::optional<AttentionMechanism> mechanism) { forced_ = mechanism; }
  /// The forced mechanism, if any.
  std::optional<AttentionMechanism> forced() const { return forced_; }
  /// Ends a sticky window and forgets the force.
  void Reset() { forced_.reset(); sticky_left_ = 0; }
  /// The thresholds it was built with.
  const PolicyOptions& options() const { return options_; }

 private:
  PolicyOptions options_;
  std::optional<AttentionMechanism> forced_;
  uint32_t sticky_left_ = 0;
};

/// One-shot `--mechanism auto`: the policy's choice for `dag` from its own
/// signals (shape; EXPLAIN ANALYZE actuals via FeedbackFromActuals; tension
/// from a default MinCutEngine) with a fresh policy, and that mechanism's
/// scores (computed with the same feedback).
struct AutoAttention {
  PolicySignals signals;
  PolicyDecision decision;
  AttentionScores scores;
};
Result<AutoAttention> ComputeAttentionAuto(const QueryDag& dag, const AttentionParams& params = {},
                                           const PolicyOptions& options = {});

// --- cache ------------------------------------------------------------------

/// Hash of everything a mechanism reads from a DAG: ids, edges (inputs in
/// order), operator types, estimated cost/rows/total cost, actual rows/time/
/// loops, relation and index names. Any change to these changes the hash (up
/// to 64-bit collisions). In-process only: not stable across releases.
/// O(V + E); cheaper than QueryDag::ContentHash, which also hashes every
/// string detail.
uint64_t AttentionContentHash(const QueryDag& dag);

/// What a cached result depends on: the DAG's content (AttentionContentHash),
/// the mechanism with its parameters and learned state (Attention::StateHash),
/// and the feedback.
struct AttentionCacheKey {
  uint64_t content_hash = 0;
  uint64_t state_hash = 0;
  uint64_t feedback_hash = 0;
  AttentionMechanism mechanism = AttentionMechanism::kTopological;
  friend bool operator==(const AttentionCacheKey&, const AttentionCacheKey&) = default;
};

/// Builds the key for running `attention` on `dag` with `feedback` (may be
/// null). O(size of the DAG's content).
AttentionCacheKey MakeAttentionCacheKey(const QueryDag& dag, const Attention& attention,
                                        const ExecutionFeedback* feedback = nullptr);

struct AttentionCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;        // includes lookups that found an expired entry
  uint64_t evictions = 0;     // LRU evictions at capacity
  uint64_t expirations = 0;   // entries dropped because their TTL passed
  size_t size = 0;
  size_t capacity = 0;
};

struct AttentionCacheOptions {
  size_t capacity = 10000;        // >= 1 entries
  int64_t ttl_micros = 0;         // <= 0: no expiry
  const AttentionClock* clock = nullptr;  // null: the system clock; must outlive the cache
};

/// LRU cache of AttentionScores: hash map + recency list, O(1) lookup,
/// insert and eviction. Entries older than the TTL miss and are dropped.
class AttentionCache {
 public:
  /// Capacity and TTL from `options`.
  explicit AttentionCache(AttentionCacheOptions options = {});
  AttentionCache(const AttentionCache&) = delete;
  AttentionCache& operator=(const AttentionCache&) = delete;

  /// The cached scores (marked most recently used) or null. The pointer is
  /// valid until the next non-const call.
  const AttentionScores* Find(const AttentionCacheKey& key);
  /// Inserts or replaces; evicts the least recently used entry when full.
  void Insert(const AttentionCacheKey& key, AttentionScores scores);
  /// Find, or compute with `attention` and insert. The pointer is valid until
  /// the next non-const call.
  Result<const AttentionScores*> GetOrCompute(const QueryDag& dag, const Attention& attention,
                                              const ExecutionFeedback* feedback = nullptr);
  /// Removes one entry; false when it was not cached.
  bool Erase(const AttentionCacheKey& key);
  /// Removes every entry (the statistics stay).
  void Clear();
  /// Hits, misses, evictions, expirations and size; ResetStats zeroes the
  /// counters (not the entries).
  AttentionCacheStats Stats() const;
  void ResetStats();
  /// Keys from most to least recently used (for tests and introspection).
  std::vector<AttentionCacheKey> KeysByRecency() const;

 private:
  struct KeyHash {
    size_t operator()(const AttentionCacheKey& k) const;
  };
  struct Entry {
    AttentionCacheKey key;
    AttentionScores scores;
    int64_t inserted_micros = 0;
  };
  bool Expired(const Entry& entry, int64_t now) const;
  AttentionCacheOptions options_;
  const AttentionClock* clock_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<AttentionCacheKey, std::list<Entry>::iterator, KeyHash> index_;
  AttentionCacheStats stats_;
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_ATTENTION_H_
