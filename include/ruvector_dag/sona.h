// SONA: the learning half of the optimizer. A featurizer turns a plan DAG into
// a 256-dimensional embedding by attention pooling; a value model (small base
// network + rank-r (default 2) MicroLoRA adapters per operator type, protected by EWC++)
// predicts log-latency per arm; a per-pattern bandit keeps the no-regression
// contract; a lock-free trajectory ring carries outcomes from the hot path to
// the learner; a ReasoningBank stores mature patterns for similarity search.
//
// Formulas, defaults and contracts: docs/sona.md.
//
// Thread-safety: every class is thread-compatible (const methods may run
// concurrently, mutation needs exclusive access) except TrajectoryBuffer,
// whose Push/Pop are safe from any number of threads.
#ifndef RUVECTOR_DAG_SONA_H_
#define RUVECTOR_DAG_SONA_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

// --- featurizer --------------------------------------------------------------

/// Width of a plan embedding.
inline constexpr size_t kEmbeddingDim = 256;
/// Width of one node's feature vector (layout in docs/sona.md).
inline constexpr size_t kNodeFeatureDim = 96;
/// Offsets of the embedding's three blocks: attention-weighted mean of node
/// features, element-wise max of node features, plan-global features.
inline constexpr size_t kEmbedMeanOffset = 0;
inline constexpr size_t kEmbedMaxOffset = kNodeFeatureDim;
inline constexpr size_t kEmbedGlobalOffset = 2 * kNodeFeatureDim;

/// A plan embedding. Entries [kEmbedMaxOffset, kEmbedMaxOffset +
/// kOperatorTypeCount) are the operator-type presence flags (0 or 1) the
/// value model uses to pick its MicroLoRA adapters.
using PlanEmbedding = std::array<float, kEmbeddingDim>;

struct FeaturizerOptions {
  /// Plans with at most this many node ids (QueryDag::id_bound) featurize
  /// without allocating; larger plans grow the workspace once.
  size_t max_nodes = 1024;
  /// Include actual rows/time and the misestimation ratio when the DAG carries
  /// them. A learner must embed the same way when it predicts (before the
  /// query runs) and when it trains, so the engine turns this off.
  bool use_actuals = true;
};

/// Plan -> embedding. Owns a preallocated workspace, so one Featurizer must
/// not be used by two threads at once. Deterministic: equal DAGs and weights
/// give bit-identical embeddings.
class Featurizer {
 public:
  explicit Featurizer(FeaturizerOptions options = {});

  /// Embeds `dag`. `node_weights` holds one weight per live node in ascending
  /// id order (AttentionScores::weights); empty means uniform. Weights must be
  /// finite and >= 0 (they are renormalized to sum 1). kFailedPrecondition for
  /// an empty DAG, kInvalidArgument for a weight vector of the wrong size or a
  /// bad weight. O(V + E); no allocation when id_bound <= max_nodes.
  Status Featurize(const QueryDag& dag, std::span<const double> node_weights,
                   PlanEmbedding* out);
  /// Per-node features of the last Featurize call: row i belongs to the i-th
  /// live node (ascending id). Valid until the next call.
  std::span<const float> last_node_features() const {
    return {node_features_.data(), last_nodes_ * kNodeFeatureDim};
  }
  size_t last_node_count() const { return last_nodes_; }
  const FeaturizerOptions& options() const { return options_; }

 private:
  void Reserve(size_t id_bound);
  FeaturizerOptions options_;
  std::vector<float> node_features_;  // max_nodes x kNodeFeatureDim
  std::vector<uint32_t> indegree_, order_, height_, level_;
  std::vector<int32_t> dense_;  // id -> dense index or -1
  std::vector<double> weights_;
  size_t last_nodes_ = 0;
};


// --- value model ---------------------------------------------------------------

/// Most MicroLoRA adapters one plan uses (its operator types with the most
/// pooled attention mass); bounds the adapt step's cost.
inline constexpr size_t kMaxActiveAdaptersPerPlan = 8;

struct ValueModelOptions {
  size_t hidden = 32;              // hidden units, 1..64
  uint32_t max_arms = 16;          // arms the model predicts for, 1..64
  /// Rank of the MicroLoRA adapters (one A_t: rank x 256 and B_t: rank x
  /// hidden per operator type), 1..8.
  uint32_t lora_rank = 2;
  double base_learning_rate = 0.01;     // > 0: TrainStep on every parameter
  double adapter_learning_rate = 0.02;  // > 0: Adapt (MicroLoRA + arm head)
  double ewc_lambda = 5000.0;      // >= 0: EWC++ penalty strength (0 = off)
  double fisher_decay = 0.02;      // (0, 1]: EWC++ moving-average rate of the Fisher
  double error_clip = 3.0;         // > 0: residuals clipped to +-this (heavy tails)
  uint64_t seed = 0x50A4u;         // initialization
};
/// kInvalidArgument naming the first field outside its range.
Status ValidateValueModelOptions(const ValueModelOptions& options);

/// Predicts the log-latency (natural log of milliseconds) of running a plan
/// under an arm: with h = tanh(W1 x + b1 + sum_t g_t B_t A_t x), the default
/// (arm 0) is y0 = w2[0] . h + c[0] and another arm is y0 + w2[arm] . h +
/// c[arm], its offset from the default (zero until trained: an arm's runs
/// train its offset, not the default's head),
/// where t ranges over the operator types present in the plan (g_t = 1; at
/// most kMaxActiveAdaptersPerPlan of them) and
/// A_t (r x 256), B_t (hidden x r) are the rank-r MicroLoRA adapters (r =
/// options.lora_rank). EWC++
/// keeps parameters that mattered for earlier workloads near their anchor.
/// Predict/Adapt/TrainStep allocate nothing. See docs/sona.md.
class ValueModel {
 public:
  /// kInvalidArgument for bad options.
  static Result<ValueModel> Create(const ValueModelOptions& options = {});

  /// Predicted log-latency; kOutOfRange for arm >= max_arms.
  Result<double> Predict(const PlanEmbedding& x, uint32_t arm) const;
  /// Predictions for arms 0..out.size()-1 (out.size() <= max_arms).
  Status PredictArms(const PlanEmbedding& x, std::span<double> out) const;

  /// MicroLoRA adapt step: one gradient step on 0.5 * (y - target)^2 for the
  /// adapters of the plan's operator types and the arm's head, then the EWC++
  /// proximal step and Fisher update on those parameters. `lr_scale` > 0
  /// multiplies the learning rate. `reference`: the default's measured
  /// log-latency on the same plan, when known (NaN: not known); with it an
  /// arm other than the default steps its offset toward target - reference
  /// (and the adapters through the offset only) instead of its whole
  /// prediction toward target, so the default's prediction error on the
  /// plan is not learned as the arm's effect. Returns the squared error of
  /// the stepped output before the step.
  Result<double> Adapt(const PlanEmbedding& x, uint32_t arm, double target_log_latency, double lr_scale = 1.0,
                       double reference = std::numeric_limits<double>::quiet_NaN());
  /// Same over every parameter (base network included), at the base rate.
  Result<double> TrainStep(const PlanEmbedding& x, uint32_t arm, double target_log_latency, double lr_scale = 1.0,
                           double reference = std::numeric_limits<double>::quiet_NaN());

  /// EWC++ consolidation: the current parameters become the anchor and the
  /// running diagonal Fisher becomes the importance the penalty uses. Call at workload boundaries (the engine calls it on drift and
  /// every consolidate_interval trajectories).
  void Consolidate();
  /// lambda/2 * sum_i F_i (theta_i - anchor_i)^2 (0 before the first
  /// Consolidate).
  double EwcPenalty() const;
  void set_ewc_lambda(double lambda) { options_.ewc_lambda = lambda < 0 ? 0 : lambda; }
  /// Learning rates of later TrainStep (`base`) and Adapt (`adapter`) calls;
  /// the parameters, Fisher and anchor stay. kInvalidArgument unless both
  /// are finite and > 0 (nothing changes then).
  Status SetLearningRates(double base, double adapter);
  bool consolidated() const { return consolidated_; }

  const ValueModelOptions& options() const { return options_; }
  uint64_t steps() const { return steps_; }
  size_t parameter_count() const { return theta_.size(); }

  /// Flat state (parameters, running Fisher, anchor, importance) for
  /// persistence; Restore checks sizes against the options.
  std::vector<float> SaveState() const;
  Status RestoreState(std::span<const float> state, uint64_t steps, bool consolidated);

 private:
  explicit ValueModel(const ValueModelOptions& options);
  double Step(const PlanEmbedding& x, uint32_t arm, double target, double reference, double lr, bool base);
  double Forward(const float* x, uint32_t arm, float* pre, float* h, float* z,
                 uint8_t* active, size_t* active_count) const;
  /// w2[arm] . h + c[arm]: the default's prediction (arm 0) or an arm's offset.
  double Head(const float* h, uint32_t arm) const;

  ValueModelOptions options_;
  size_t rank_ = 2;  // options_.lora_rank
  size_t off_w1_ = 0, off_b1_ = 0, off_w2_ = 0, off_c_ = 0, off_a_ = 0, off_b_ = 0;
  std::vector<float> theta_, fisher_, anchor_, importance_;
  bool consolidated_ = false;
  uint64_t steps_ = 0;
};

// --- per-pattern bandit (the no-regression contract) --------------------------

struct BanditOptions {
  uint32_t num_arms = 8;            // arms 0..num_arms-1 (2..64); arm 0 = default plan
  uint32_t window = 32;             // recent observations kept per arm (8..256)
  uint32_t min_runs = 5;            // per arm (and arm 0) before any comparison (>= 2)
  uint32_t max_explore_runs = 32;   // give up on an undecided arm after this many runs
  double confidence_z = 3.0;        // > 0: one-sided z of the deployment lower bound
  double min_improvement = 0.02;    // >= 0: log-latency gain the lower bound must clear
  double sd_floor = 0.02;           // > 0: floor on per-arm log-latency sd
  uint32_t monitor_window = 6;      // >= 2: recent runs of the deployed arm watched
  double revert_z = 1.0;            // >= 0: z of the revert test (small: reverts readily)
  uint32_t baseline_refresh_interval = 16;  // while deployed, every Nth run serves arm 0 (0 = never)
  uint32_t reexplore_after = 512;   // runs after which rejected arms may be tried again (0 = never)
  /// An arm retired only because of timeouts (a censored run at or above
  /// arm 0's mean, or undecided after max_explore_runs with censored runs in
  /// its window) is tried again after this many further observations of the
  /// pattern, doubled for each consecutive censored run beyond the first (at
  /// most 64 x); 0 = never. Counted in observations, not Choose calls, so a
  /// host that only observes (a background explorer) retries too.
  uint32_t timeout_retry_after = 64;
};
/// kInvalidArgument naming the first field outside its range.
Status ValidateBanditOptions(const BanditOptions& options);

/// Why an arm is being run.
enum class BanditAction : uint8_t {
  kServe = 0,      // the deployed arm (arm 0 until another is proven faster)
  kExplore,        // measuring a candidate arm
  kBaselineCheck,  // refreshing arm 0's baseline while another arm is deployed
};
std::string_view BanditActionName(BanditAction action);

struct BanditChoice {
  uint32_t arm = 0;
  BanditAction action = BanditAction::kServe;
};

/// What the bandit knows about one arm (over its recent window).
struct ArmSummary {
  uint32_t arm = 0;
  uint32_t runs = 0;          // observations in the window
  uint32_t censored = 0;      // of which timeouts
  double mean_log_ms = 0.0;   // mean log-latency (censored runs at their bound)
  double sd_log_ms = 0.0;     // sample sd (floored)
  /// Lower confidence bound of log(latency_0 / latency_arm) (0 for arm 0 or
  /// too few runs).
  double improvement_lcb = 0.0;
  bool rejected = false;
  uint64_t total_runs = 0;    // ever observed
  /// Consecutive censored runs of the arm (reset by a completed run): a host
  /// raises the arm's next timeout with it.
  uint32_t censored_streak = 0;
  /// Retired by timeouts (rejected or given up): retried after
  /// timeout_retry_after observations (see BanditOptions).
  bool timeout_retired = false;
};

/// One query pattern's bandit. Serves arm 0 until a candidate's lower
/// confidence bound on log(latency_0) - log(latency_arm) exceeds
/// min_improvement with >= min_runs completed runs on both sides; watches the
/// deployed arm and reverts to arm 0 when its recent runs are slower than
/// arm 0's baseline; timeouts are censored (the arm was at least that slow):
/// lower bounds in the statistics, never permanent vetoes.
/// Formulas in docs/sona.md. Choose/Observe are O(num_arms * window) at most
/// and allocate nothing.
class PatternBandit {
 public:
  static Result<PatternBandit> Create(const BanditOptions& options = {});

  /// The arm to run next. `allow_explore` grants one exploration run (the
  /// host's budget); without it the deployed arm (or a due baseline check)
  /// runs. Advances the run counter.
  BanditChoice Choose(bool allow_explore);
  /// The candidate Choose(true) would explore now, or -1 when none is left:
  /// an arm whose measurement started (fewer than min_runs runs) first, then
  /// the prior's arm while it is undecided and measured more than
  /// kPromisingGain faster than the default, then arms without their
  /// min_runs in exploration order, then the arm with the highest upper
  /// bound on its gain.
  int32_t NextExploration() const;
  /// Runs of `arm` still needed before it can be compared with the default
  /// (min_runs, or kPriorMinRuns for the prior's arm, since its last reset);
  /// 1 once it has them (each further run tightens the bound) or for an
  /// unknown arm.
  uint32_t RunsToJudge(uint32_t arm) const {
    if (arm == 0 || arm >= options_.num_arms) return 1;
    const uint32_t need = MinRuns(arm), have = arms_[arm].since_reset;
    return have < need ? need - have : 1;
  }
  /// The arm has runs since its last reset, fewer than it needs to be
  /// compared with arm 0, its last run completed and it is not rejected:
  /// NextExploration finishes it before it starts another candidate.
  bool Started(uint32_t arm) const;
  /// Runs of arm 0 a verdict waits for: while arm 0 is deployed, a candidate
  /// that has the completed runs it needs to be compared with arm 0 (none
  /// censored, not rejected) and whose mean is more than kPromisingGain
  /// faster than arm 0's cannot be judged until arm 0's window has as many
  /// runs too; this returns how many more it needs (the most promising such
  /// candidate's; 0 = none waits, or arm 0 has no run yet to compare with).
  /// A host that can run the default plan in the background may measure
  /// them now instead of waiting for the pattern's own runs. `arm` (may be
  /// null) receives that candidate, else 0.
  uint32_t DefaultRunsWanted(uint32_t* arm = nullptr) const;
  /// Records a run. `censored` = the run hit a timeout after `latency_ms`
  /// (the true latency is at least that). May deploy or revert. kInvalidArgument
  /// for an unknown arm or a latency that is not finite and > 0.
  Status Observe(uint32_t arm, double latency_ms, bool censored = false);
  /// Counts `runs` further runs of `arm` that a host left out of the sample
  /// it observes: they advance the arm's total (ArmSummary::total_runs) and
  /// the observation clock of timeout retries, never the window, a
  /// decision or the exploration cap. kInvalidArgument for an unknown arm.
  Status CountUnobserved(uint32_t arm, uint64_t runs);
  /// Records that candidate `arm` produced exactly arm 0's plan: a censored
  /// run at `bound_ms` (it cannot be faster than the default), and the arm
  /// is retired until its timeout retry is due (the plan may change with the
  /// data). Same errors as Observe.
  Status ObserveSamePlan(uint32_t arm, double bound_ms);
  /// Exploration order of the candidates (arms not listed come after, in id
  /// order); arm 0 and unknown ids are ignored. Allocates nothing.
  void SetExplorationOrder(std::span<const uint32_t> arms);
  /// Arms (bit a = arm a) that are not explored while set: a host's value
  /// model predicted them clearly worse. Timeout retries and re-exploration
  /// of rejected arms are skipped too; observations are still recorded.
  /// Not part of the image (the host recomputes it). Arm 0 is ignored.
  void SetSkipped(uint64_t mask) { skipped_ = mask & ~uint64_t{1}; }
  uint64_t skipped() const { return skipped_; }
  /// The arm similar plans deployed (0 = none): it is compared with arm 0
  /// after kPriorMinRuns runs on each side instead of min_runs (the bound's
  /// confidence is unchanged; its t quantile widens with the fewer runs).
  /// Not part of the image (the host recomputes it).
  void SetPrior(uint32_t arm) { prior_ = arm < options_.num_arms ? arm : 0; }
  uint32_t prior() const { return prior_; }
  static constexpr uint32_t kPriorMinRuns = 3;
  /// Measured log gain over the default (about 1.22x) above which the
  /// prior's undecided arm is measured further before another arm is
  /// started (NextExploration).
  static constexpr double kPromisingGain = 0.2;
  /// Statistics changed (ANALYZE, DDL, a detected drift): keeps only the newest
  /// (1 - severity) share of every window, forgets rejections, and reverts to
  /// arm 0 unless the deployed arm still passes the deployment test.
  /// severity in (0, 1]; 1 forgets everything.
  void NotifyDrift(double severity = 1.0);
  /// A repair puts the pattern back on arm 0 now, as a failed monitor check
  /// would: the deployed arm's runs are forgotten and it is rejected until
  /// re-explored. No-op when arm 0 is deployed.
  void RevertNow() {
    if (deployed_ != 0) Revert();
  }

  /// What `arm` plans changed (a host's arm whose content is derived per
  /// pattern): its runs are forgotten, a rejection too, and the pattern goes
  /// back to arm 0 when the arm was deployed (not counted as a revert: the
  /// new content is measured from scratch). No-op for arm 0 or an unknown arm.
  void ForgetArm(uint32_t arm);
  uint32_t deployed_arm() const { return deployed_; }
  /// Confidence in the current decision, in [0, 1]: for a deployed arm
  /// Phi(gain / se); for arm 0, 1 - max over measured candidates of
  /// Phi(gain / se) (1 when nothing was measured).
  double Confidence() const;
  ArmSummary Summary(uint32_t arm) const;
  uint64_t runs() const { return runs_; }
  uint64_t deployments() const { return deployments_; }
  uint64_t reverts() const { return reverts_; }
  const BanditOptions& options() const { return options_; }

  /// Appends a versioned binary image to `out`; Load reads one back from
  /// data[*offset...] and advances *offset (kDataLoss when malformed).
  void AppendTo(std::string* out) const;
  static Result<PatternBandit> Load(std::string_view data, size_t* offset);

 private:
  struct Obs {
    float log_ms = 0.0f;
    uint8_t censored = 0;
  };
  struct ArmState {
    uint32_t head = 0;   // next write position in the ring
    uint32_t count = 0;  // valid observations
    bool rejected = false;
    uint64_t rejected_at = 0;  // run counter when rejected
    uint64_t total = 0;
    uint32_t since_reset = 0;  // runs since the window was last cleared (exploration cap)
    uint32_t censored_streak = 0;  // consecutive censored runs
    bool timeout_retired = false;  // rejected or given up because of timeouts
    uint64_t retired_at = 0;       // observation counter when retired
  };
  explicit PatternBandit(const BanditOptions& options);
  Obs& At(uint32_t arm, uint32_t i);  // i = 0 is the newest
  const Obs& At(uint32_t arm, uint32_t i) const;
  /// Mean/variance over the arm's last `last` runs; censored runs count at
  /// max(bound, censored_floor). Arm 0 over its whole window without a floor
  /// (the baseline every test compares with) is read from baseline_.
  void Stats(uint32_t arm, uint32_t last, double* mean, double* var, uint32_t* n, uint32_t* censored,
             double censored_floor = -std::numeric_limits<double>::infinity()) const;
  void ComputeStats(uint32_t arm, uint32_t last, double* mean, double* var, uint32_t* n, uint32_t* censored,
                    double censored_floor) const;
  /// Recomputes baseline_; called whenever arm 0's window changes.
  void RefreshBaseline();
  double ImprovementLcb(uint32_t arm, double z, double* gain, double* se,
                        double censored_floor = -std::numeric_limits<double>::infinity()) const;
  bool Explorable(uint32_t arm) const;
  bool RetryDue(uint32_t arm) const;
  void Retire(uint32_t arm, bool by_timeouts);
  void ReviveIfDue(uint32_t arm);
  void Evaluate(uint32_t observed_arm, bool censored, double log_ms);
  void Revert();

  BanditOptions options_;
  std::vector<Obs> obs_;          // num_arms x window rings
  std::vector<ArmState> arms_;
  std::vector<uint32_t> order_;   // exploration order of arms 1..num_arms-1
  uint32_t deployed_ = 0;
  uint64_t runs_ = 0;
  uint64_t since_baseline_ = 0;
  uint64_t deployments_ = 0;
  uint64_t reverts_ = 0;
  uint64_t observations_ = 0;  // Observe calls (clock of timeout retries)
  uint64_t skipped_ = 0;       // SetSkipped
  uint32_t prior_ = 0;         // SetPrior
  /// Runs needed on each side before `arm` is compared with arm 0.
  uint32_t MinRuns(uint32_t arm) const {
    return prior_ != 0 && arm == prior_ && kPriorMinRuns < options_.min_runs ? kPriorMinRuns : options_.min_runs;
  }
  /// Stats(0, window): computed once per change of arm 0's window instead of
  /// once per comparison (its outlier cap takes two selections).
  struct Baseline {
    double mean = 0.0;
    double var = 0.0;
    uint32_t n = 0;
    uint32_t censored = 0;
  };
  Baseline baseline_;
};

// --- trajectories --------------------------------------------------------------

/// One executed query as the learner sees it.
struct Trajectory {
  uint64_t pattern_key = 0;
  uint32_t arm = 0;
  uint8_t mechanism = 0;      // AttentionMechanism used to pool the embedding
  bool censored = false;      // the run hit a timeout after latency_ms
  PlanEmbedding embedding{};  // as featurized before the run
  double latency_ms = 0.0;
  double baseline_ms = 0.0;   // host's measurement of the default plan; 0 = unknown
  /// Per live node (ascending id): actual rows (-1 = unknown) and estimates.
  std::vector<float> actual_rows;
  std::vector<float> estimated_rows;
  int64_t timestamp_us = 0;
};

/// Bounded multi-producer multi-consumer ring (Vyukov's sequence-numbered
/// slots: no locks, one CAS per operation). When full, Push drops the oldest
/// record (counted in dropped()) instead of blocking. Push/Pop may be called
/// from any number of threads concurrently. Caveat of the design: a producer
/// preempted between its CAS and its publish delays consumers of that one
/// slot until it resumes.
class TrajectoryBuffer {
 public:
  /// Capacity is rounded up to a power of two (at least 2).
  explicit TrajectoryBuffer(size_t capacity = 4096);
  TrajectoryBuffer(const TrajectoryBuffer&) = delete;
  TrajectoryBuffer& operator=(const TrajectoryBuffer&) = delete;

  /// Enqueues `t` (moved); drops the oldest record when full. Never blocks.
  void Push(Trajectory t);
  /// Dequeues the oldest record into *out; false when empty.
  bool Pop(Trajectory* out);
  /// Pops up to `max` records, appending them to *out; returns how many.
  size_t Drain(std::vector<Trajectory>* out, size_t max = SIZE_MAX);

  size_t capacity() const { return mask_ + 1; }
  /// Records currently queued (approximate while producers run).
  size_t size() const;
  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Slot {
    std::atomic<size_t> seq{0};
    Trajectory value;
  };
  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
  alignas(64) std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> dropped_{0};
};

// --- ReasoningBank ---------------------------------------------------------------

/// A learned pattern: what worked for one query pattern.
struct ReasoningPattern {
  uint64_t key = 0;
  PlanEmbedding embedding{};
  uint32_t best_arm = 0;
  double gain = 0.0;       // measured log(latency_0 / latency_best) (>= 0)
  double quality = 0.0;    // [0, 1]: confidence in that measurement
  uint64_t usage = 0;      // times the pattern was confirmed or used as a prior
  bool from_network = false;  // merged from another node, not measured here
};

struct ReasoningBankOptions {
  size_t capacity = 20000;          // >= 1: patterns kept; eviction beyond
  size_t clusters = 0;              // k-means k; 0 = round(sqrt(size)) at each re-clustering
  size_t max_clusters = 0;          // caps k (0 = no cap)
  size_t probes = 8;                // >= 1: nearest clusters searched
  size_t min_cluster_size = 256;    // below this many patterns, search is exhaustive
  double recluster_growth = 0.25;   // > 0: re-cluster after this share of inserts since the last
  uint32_t kmeans_iterations = 8;   // >= 1: Lloyd iterations
  size_t kmeans_sample = 4096;      // >= 16: points k-means trains on (then all are assigned)
  double mature_quality = 0.8;      // GetMaturePatterns thresholds
  uint64_t mature_usage = 3;
  double network_trust = 0.5;       // (0, 1]: quality factor for merged patterns
  uint64_t seed = 0xBA4Cu;          // k-means++ seeding
};
Status ValidateReasoningBankOptions(const ReasoningBankOptions& options);

struct PatternMatch {
  uint64_t key = 0;
  double distance = 0.0;     // Euclidean distance of the embeddings
  double similarity = 0.0;   // 1 / (1 + distance)
};

/// Stores patterns; k-means++ clusters (seeded, re-clustered as it grows)
/// prune similarity search to the `probes` nearest clusters. Eviction removes
/// the pattern with the lowest quality * (1 + usage) (ties: smaller key), never
/// by age. Thread-compatible.
class ReasoningBank {
 public:
  static Result<ReasoningBank> Create(const ReasoningBankOptions& options = {});

  /// Inserts or replaces the pattern with the same key. kInvalidArgument for a
  /// non-finite embedding/gain or a quality outside [0, 1]. Evicts when full.
  /// O(k * d) plus O(n) when an eviction happens.
  Status Upsert(const ReasoningPattern& pattern);
  /// The stored pattern or null (valid until the next mutation).
  const ReasoningPattern* Find(uint64_t key) const;
  bool Erase(uint64_t key);
  /// Records one use of a pattern (raises its eviction score).
  void MarkUsed(uint64_t key, uint64_t times = 1);

  /// The `k` nearest stored patterns to `query` (ascending distance, ties by
  /// key), searching the `probes` nearest clusters (exhaustive while
  /// unclustered). Replaces *out. O(clusters * d + probed patterns * d).
  void Search(const PlanEmbedding& query, size_t k, std::vector<PatternMatch>* out) const;
  /// Exhaustive search, same contract (for recall checks).
  void SearchExact(const PlanEmbedding& query, size_t k, std::vector<PatternMatch>* out) const;

  /// Re-runs k-means++ (seeded) and reassigns every pattern.
  void Recluster();
  /// Re-clusters when enough patterns arrived since the last time; returns
  /// whether it did.
  bool MaybeRecluster();

  /// Patterns measured here with quality >= mature_quality and usage >=
  /// mature_usage, by ascending key (what the sync layer publishes).
  std::vector<ReasoningPattern> GetMaturePatterns() const;
  /// Merges patterns from other nodes: unknown keys are inserted with quality
  /// scaled by network_trust and from_network set; a key measured here keeps
  /// its local data; a key from the network is replaced by higher quality.
  /// Invalid patterns are skipped. Returns how many were inserted or replaced.
  size_t MergeNetworkPatterns(std::span<const ReasoningPattern> patterns);

  size_t size() const { return patterns_.size(); }
  size_t cluster_count() const { return centroids_.size() / kEmbeddingDim; }
  /// Patterns per cluster, by cluster index.
  std::vector<size_t> ClusterSizes() const;
  /// The cluster of the pattern with `key` (patterns inserted after a
  /// clustering join their nearest centroid): -1 when it is not stored or
  /// nothing was clustered yet. O(log n).
  int32_t ClusterOf(uint64_t key) const;
  uint64_t evictions() const { return evictions_; }
  const ReasoningBankOptions& options() const { return options_; }
  /// All patterns by ascending key (for export).
  std::vector<ReasoningPattern> AllPatterns() const;

 private:
  explicit ReasoningBank(const ReasoningBankOptions& options) : options_(options) {}
  void Assign(uint32_t slot);
  void Unassign(uint32_t slot);
  void RemoveSlot(uint32_t slot);
  uint32_t NearestCentroid(const float* x) const;

  ReasoningBankOptions options_;
  std::vector<ReasoningPattern> patterns_;
  std::vector<uint32_t> slot_cluster_, slot_pos_;
  std::vector<std::pair<uint64_t, uint32_t>> key_index_;  // sorted by key
  std::vector<float> centroids_;                          // k x kEmbeddingDim
  std::vector<std::vector<uint32_t>> lists_;              // slots per cluster
  size_t size_at_clustering_ = 0;
  size_t inserts_since_clustering_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_SONA_H_
