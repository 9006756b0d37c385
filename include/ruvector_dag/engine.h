// The engine: one object a host (PostgreSQL extension, CLI, tests) feeds with
// plans and outcomes and asks for decisions. It wires attention pooling, the
// SONA featurizer, value model, ReasoningBank and per-pattern bandits into the
// learning loop of docs/engine.md:
//
//   PreQuery(dag)       -> embedding, pattern key, decision (fast, no allocation
//                          for known patterns once warmed up)
//   PostQuery(dag, ...) -> records a trajectory (lock-free ring) and nothing else
//   BackgroundLearn()   -> drains trajectories, trains, updates bandits and
//                          priors, re-clusters, publishes decisions
//
// The no-regression contract is the bandit's (ruvector_dag/sona.h): a pattern
// runs arm 0 (the host's default plan) until another arm is measured faster
// with confidence, and a deployed arm that turns slow is reverted.
//
// Thread-safety: PreQuery, BackgroundLearn and the other mutators need
// exclusive access (the host serializes them, e.g. one learner thread that
// publishes decisions). RecordTrajectory may be called from any thread.
#ifndef RUVECTOR_DAG_ENGINE_H_
#define RUVECTOR_DAG_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ruvector_dag/attention.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/sona.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

struct EngineOptions {
  uint32_t num_arms = 8;                 // 2..64; arm 0 = the default plan
  /// Mechanism whose per-node weights pool the embedding. One mechanism for
  /// every plan keeps the value model's inputs comparable.
  AttentionMechanism mechanism = AttentionMechanism::kCriticalPath;
  AttentionParams attention;
  FeaturizerOptions featurizer;          // use_actuals is forced off (see docs)
  ValueModelOptions model;               // max_arms is raised to num_arms
  BanditOptions bandit;                  // num_arms is taken from above
  ReasoningBankOptions bank;
  size_t trajectory_capacity = 4096;     // ring size (drop-oldest beyond)
  size_t max_patterns = 10000;           // bandits kept; new patterns beyond are not learned
  /// Share of a known pattern's runs that PreQuery may spend exploring
  /// (0 = never explore online; the host explores in the background).
  double exploration_budget = 0.1;
  size_t replay_capacity = 2048;         // recent samples replayed for base training
  double replay_ratio = 2.0;             // base training steps per new trajectory
  uint64_t consolidate_interval = 2000;  // EWC++ anchor every this many trajectories
  uint32_t prior_neighbours = 5;         // ReasoningBank neighbours used as priors
  double prior_weight = 1.0;             // weight of a neighbour's measured gain
  uint64_t seed = 0xE61Eu;
};
/// kInvalidArgument naming the first bad field (nested options included).
Status ValidateEngineOptions(const EngineOptions& options);

/// What PreQuery decided.
struct EngineDecision {
  uint64_t pattern_key = 0;
  bool known_pattern = false;      // false: never learned; arm 0 is served
  uint32_t arm = 0;                // run this arm
  BanditAction action = BanditAction::kServe;
  uint32_t deployed_arm = 0;       // the pattern's current choice
  double predicted_latency_ms = 0.0;  // value model for `arm`
  double predicted_default_ms = 0.0;  // value model for arm 0
  double confidence = 0.0;         // PatternBandit::Confidence (0 if unknown)
  AttentionMechanism mechanism = AttentionMechanism::kCriticalPath;
};

/// What one BackgroundLearn pass did.
struct LearnReport {
  size_t trajectories = 0;       // drained and learned from
  size_t new_patterns = 0;
  size_t patterns_refused = 0;   // trajectories of new patterns beyond max_patterns
  uint64_t deployments = 0;      // during this pass, over all patterns
  uint64_t reverts = 0;
  double prediction_mae = 0.0;   // mean |predicted - actual| log-latency, predicted before training
  size_t replay_steps = 0;
  bool reclustered = false;
  bool consolidated = false;
};

/// Counters since creation (or import).
struct EngineStats {
  uint64_t pre_queries = 0;
  uint64_t post_queries = 0;
  uint64_t trajectories_learned = 0;
  uint64_t trajectories_dropped = 0;  // ring overflow
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  size_t patterns = 0;
  size_t deployed_patterns = 0;       // patterns whose deployed arm is not 0
  size_t bank_patterns = 0;
  double prediction_mae_ewma = 0.0;   // EWMA (rate 0.05) of the prequential error
};

/// Read-only view of one pattern's state.
struct PatternInfo {
  uint64_t key = 0;
  uint32_t deployed_arm = 0;
  double confidence = 0.0;
  double learning_rate_boost = 1.0;
  uint64_t runs = 0;
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  std::vector<ArmSummary> arms;
};

class Engine {
 public:
  /// kInvalidArgument for bad options.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Embeds `dag` (attention pooling with options.mechanism), looks up
  /// `pattern_key` and decides the arm. `embedding` may be null. For a known
  /// pattern and a plan within featurizer.max_nodes this allocates nothing
  /// after the first calls (buffers are reused). kFailedPrecondition for an
  /// empty DAG.
  Status PreQuery(const QueryDag& dag, uint64_t pattern_key, EngineDecision* decision,
                  PlanEmbedding* embedding = nullptr);
  /// PreQuery keyed by the plan's shape (QueryDag::ShapeHash).
  Result<EngineDecision> PreQuery(const QueryDag& dag);

  /// Records an execution: `arm` ran in `latency_ms` (> 0); `baseline_ms` is a
  /// measured latency of arm 0 for the same pattern (e.g. from a background
  /// re-run) or 0 when none; `censored` = the run hit a timeout. Embeds the
  /// plan and pushes a trajectory; learning happens in BackgroundLearn.
  Status PostQuery(const QueryDag& dag, uint64_t pattern_key, uint32_t arm, double latency_ms,
                   double baseline_ms = 0.0, AttentionMechanism mechanism = AttentionMechanism::kCriticalPath,
                   bool censored = false);
  /// Pushes a prepared trajectory (thread-safe; for hosts that embed elsewhere).
  void RecordTrajectory(Trajectory trajectory) { trajectories_.Push(std::move(trajectory)); }

  /// Drains the ring and learns: value model (MicroLoRA adapt + base steps
  /// with replay, EWC++), bandit observations, exploration order from the
  /// value model and ReasoningBank priors, bank upserts and re-clustering.
  Result<LearnReport> BackgroundLearn();

  /// Multiplies a pattern's learning rate (and exploration share) by `factor`
  /// in [1, 10] until it decays back (x0.9 per learning pass); for high
  /// tension. kNotFound for an unknown pattern.
  Status BoostLearningRate(uint64_t pattern_key, double factor);
  /// Statistics of a pattern changed (ANALYZE, DDL): lowers its bandit's
  /// confidence (PatternBandit::NotifyDrift) and consolidates EWC++ so what
  /// was learned before the change is kept. kNotFound for an unknown pattern.
  Status NotifyDrift(uint64_t pattern_key, double severity = 1.0);

  /// Versioned, checksummed (CRC-32C) image of the learned state: model, EWC
  /// anchor, bandits, bank. ImportState replaces the state only when the whole
  /// image is valid; corrupt or truncated input is a kDataLoss error, an image
  /// made with incompatible options kFailedPrecondition.
  std::string ExportState() const;
  Status ImportState(std::string_view image);

  EngineStats Stats() const;
  /// nullopt-like: kNotFound for an unknown pattern.
  Result<PatternInfo> Pattern(uint64_t pattern_key) const;
  const ValueModel& model() const { return model_; }
  const ReasoningBank& bank() const { return bank_; }
  ReasoningBank& mutable_bank() { return bank_; }
  const EngineOptions& options() const { return options_; }

 private:
  struct PatternState {
    explicit PatternState(PatternBandit b) : bandit(std::move(b)) {}
    PatternBandit bandit;
    PlanEmbedding embedding{};
    bool has_embedding = false;
    double lr_boost = 1.0;
    uint64_t pre_queries = 0;
  };
  Engine(const EngineOptions& options, ValueModel model, ReasoningBank bank,
         std::unique_ptr<Attention> attention);
  Status Embed(const QueryDag& dag, PlanEmbedding* out);
  void UpdateExplorationOrder(PatternState* state);
  void PublishToBank(uint64_t key, PatternState* state);

  EngineOptions options_;
  ValueModel model_;
  ReasoningBank bank_;
  std::unique_ptr<Attention> attention_;
  Featurizer featurizer_;
  PreparedDag prepared_;
  AttentionScores scores_;
  PlanEmbedding scratch_{};
  TrajectoryBuffer trajectories_;
  std::unordered_map<uint64_t, PatternState> patterns_;
  std::vector<Trajectory> batch_;
  struct ReplaySample {
    PlanEmbedding x;
    uint32_t arm;
    float target;
    float lr;
  };
  std::vector<ReplaySample> replay_;
  size_t replay_next_ = 0;
  std::vector<PatternMatch> matches_;
  Rng rng_;
  EngineStats stats_;
  uint64_t since_consolidation_ = 0;
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_ENGINE_H_
