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

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ruvector_dag/attention.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/mincut.h"
#include "ruvector_dag/sona.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

// --- per-pattern learning state (admission, drift scope, re-validation) -------

/// Relations a run carries (the first kMaxRunRelations of its plan's).
inline constexpr size_t kMaxRunRelations = 16;

/// One execution as the pattern learner sees it: which arm ran how long,
/// where and by whom, and which relations its plan read.
struct PatternRun {
  uint64_t pattern_key = 0;  // 0 is ignored
  uint64_t query_id = 0;     // the host's statement id (reported back)
  int arm = 0;
  double latency_ms = 0.0;
  /// The arm produced the default plan: the run is a measurement of arm 0,
  /// and a censored one of `arm` (it cannot be faster than the default).
  /// With `censored` too: the host planned the arm, saw the default plan and
  /// did not run it; latency_ms is the default's latency (a bound for `arm`).
  bool same_plan = false;
  /// The run was cancelled at its timeout: latency_ms is a lower bound.
  bool censored = false;
  /// Owner of the pattern (a database and a role for PostgreSQL): admission
  /// shares, drift scopes and priors never cross owners.
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  uint16_t relation_count = 0;  // may exceed kMaxRunRelations
  std::array<uint32_t, kMaxRunRelations> relations{};
  int64_t at_us = 0;  // when it ran (Unix microseconds)
  /// A host that feeds a sample of its runs: how many further runs of the
  /// same pattern, arm and kind (completed, same plan, censored) this run
  /// stands for, and their summed latency. They count in the totals -- time
  /// at stake, the bandit's run counts (ArmSummary::total_runs), the
  /// engine's trajectory count -- but not in the bandit's windows or the
  /// value model's training. A latency sum that is not finite and >= 0 is
  /// ignored (the runs are still counted).
  uint32_t also_runs = 0;
  double also_latency_ms = 0.0;
};

/// A pattern's current decision, as a host publishes it.
struct PatternDecision {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  int deployed_arm = 0;
  int explore_arm = -1;  // next candidate to measure, -1 = none
  /// Runs of explore_arm the bandit needs before it can judge the arm
  /// (PatternBandit::RunsToJudge): how many a host may measure in one go.
  uint32_t explore_runs = 1;
  double confidence = 0.0;
  double default_ms = 0.0;   // measured geometric means (0 = unmeasured)
  double deployed_ms = 0.0;
  double best_candidate_ms = 0.0;
  int best_candidate_arm = -1;
  uint64_t observed_runs = 0;
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  /// The deployed arm is being re-validated and no fresh run of the default
  /// plan arrived yet: the host should measure the default now.
  bool baseline_wanted = false;
  /// Value model's latency of explore_arm on the pattern's latest plan (0 =
  /// no plan embedded yet or no candidate): what an explorer can size its
  /// timeout with.
  double predicted_explore_ms = 0.0;
  /// Value model's latency of the default plan (0 = no plan embedded yet).
  double predicted_default_ms = 0.0;
  /// Value model's latency of deployed_arm on the latest plan (0 = no plan
  /// embedded yet; equals predicted_default_ms while arm 0 is deployed).
  double predicted_deployed_ms = 0.0;
  /// Arm a similar plan of the same owner deployed (-1 = none): tried first.
  int prior_arm = -1;
  /// Tension of the pattern's executed plans (docs/engine.md), in [0, 1].
  double tension = 0.0;
  /// Exploration priority: time at stake (ms, decayed) x (1 + tension).
  double priority = 0.0;
  /// The value of measuring explore_arm (docs/engine.md, "What a trial is
  /// worth"): the runs the pattern is expected to make within the horizon
  /// (its observed rate of served runs x EngineOptions::exploration_horizon_s),
  /// the milliseconds the trial is expected to save over them (x (1 +
  /// tension)) and the explorer milliseconds it is expected to cost. A
  /// candidate is offered only while gain > cost. All 0 when not valued (no
  /// candidate, no measured reference latency, or the horizon is 0).
  double future_runs = 0.0;
  double explore_gain_ms = 0.0;
  double explore_cost_ms = 0.0;
  /// explore_arm is measured for a vote this server owes on a received
  /// proposal (Engine::SetValidationQuota), not because the bandit or the
  /// trial's value chose it: a host runs it only in its background explorer,
  /// never in a user's statement, and never skips it for want of value.
  bool validation = false;
  /// Runs of the default plan the bandit needs before it can judge a
  /// measured candidate that looks clearly faster (PatternBandit::
  /// DefaultRunsWanted; 0 = none): a host that can run the default in the
  /// background may measure them now rather than wait for the pattern's own
  /// runs. verdict_gain_ms: what that candidate, deployed, is expected to
  /// save within the horizon ((default - candidate latency) x future_runs x
  /// (1 + tension); 0 = not valued: horizon 0 or no observed rate).
  uint32_t default_runs_wanted = 0;
  double verdict_gain_ms = 0.0;
};

enum class PatternEventType : uint8_t { kDeploy = 1, kRevert = 2, kReject = 3 };

/// A deployment, revert or rejection of one pattern's arm.
struct PatternEvent {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  PatternEventType type = PatternEventType::kDeploy;
  int32_t arm = 0;
  double confidence = 0.0;
  double default_ms = 0.0;
  double arm_ms = 0.0;
};

/// A change that can alter plans (ANALYZE, DDL, a planner setting): patterns
/// of `database_oid` (0 = every database) whose plans read one of
/// `relations` (or any relation when `every_relation`) forget the oldest
/// `severity` share of what they measured.
struct DriftScope {
  double severity = 0.0;
  uint32_t database_oid = 0;
  bool every_relation = true;
  std::vector<uint32_t> relations;
};

/// The per-pattern half of the learning loop: one no-regression bandit
/// (PatternBandit) per pattern with admission by time at stake, scoped drift,
/// re-validation of deployed arms and a persistent image. The Engine owns one;
/// repairs (healing) reach it through Engine::patterns(). Not thread-safe.
/// Memory: one bandit per pattern (num_arms x window observations).
class PatternLearner {
 public:
  /// Bandit settings for runs on users' statements: min_runs 4,
  /// confidence_z 2.5, at most 8 exploration runs per candidate (docs/engine.md).
  static BanditOptions HostBanditOptions(uint32_t num_arms);

  /// Forgets every pattern and uses `num_arms` arms (2..64) from now on with
  /// `options` (num_arms is taken from the first argument).
  void Reset(uint32_t num_arms, const BanditOptions& options);
  /// Same, with HostBanditOptions(num_arms).
  void Reset(uint32_t num_arms) { Reset(num_arms, HostBanditOptions(num_arms)); }
  /// Arms per pattern (arm 0 = the default plan).
  uint32_t num_arms() const { return num_arms_; }
  /// Patterns tracked (not counting those waiting for admission).
  size_t patterns() const { return entries_.size(); }

  /// The patterns in `scope` forget the oldest scope.severity share of their
  /// windows and re-check their deployment. A pattern is in scope when its
  /// plans read one of the scope's relations (up to kMaxPatternRelations are
  /// remembered); one whose relations are unknown only when the scope is
  /// every relation. Appends their decisions; returns how many were touched.
  size_t NotifyDrift(const DriftScope& scope, std::vector<PatternDecision>* updates);

  /// Observes a batch; appends one decision per touched pattern (first-touch
  /// order) and the deploy/revert/reject events. Admission when
  /// `max_patterns` are tracked: a new pattern replaces the tracked one with
  /// the least time at stake (decayed sum of measured latency, half-life
  /// kValueHalfLifeUs; deployed patterns last) only when its own time at
  /// stake (accumulated while it waits; at most kMaxWaiting wait) is larger;
  /// an owner holding kRoleShare of the table replaces one of its own.
  /// Refused runs are counted in *untracked; replaced patterns appended to
  /// *evicted (when not null).
  Status Learn(std::span<const PatternRun> batch, size_t max_patterns, std::vector<PatternDecision>* updates,
               std::vector<PatternEvent>* events, uint64_t* untracked, std::vector<uint64_t>* evicted = nullptr);

  static constexpr int64_t kValueHalfLifeUs = int64_t{3600} * 1000000;
  static constexpr double kRoleShare = 0.5;
  static constexpr int64_t kRevalidationTimeoutUs = int64_t{600} * 1000000;
  static constexpr size_t kMaxPatternRelations = 64;
  static constexpr size_t kMaxWaiting = 4096;

  /// Measure the default afresh and revert the deployed arm only if, from
  /// `now_us` on, its runs are slower than the default's fresh runs.
  /// kNotFound for an unknown pattern, kFailedPrecondition when the default
  /// is deployed.
  Status RequestRevalidation(uint64_t key, int64_t now_us);
  /// Ends a re-validation without a verdict (a host's rollback).
  void CancelRevalidation(uint64_t key);
  /// Whether `key` is being re-validated.
  bool Revalidating(uint64_t key) const;
  /// How a re-validation ended: kKept (its arm's runs were not slower than
  /// the fresh default's), kReverted (slower: the arm was reverted) or
  /// kExpired (no fresh default and three runs of the arm within
  /// kRevalidationTimeoutUs). One that was cancelled, or whose arm was
  /// reverted by something else first, has no verdict.
  struct RevalidationVerdict {
    enum class Kind : uint8_t { kKept, kReverted, kExpired } kind = Kind::kKept;
    uint64_t key = 0;
    uint32_t arm = 0;
    double arm_ms = 0.0;      // geometric mean of the arm's fresh runs (0 when expired)
    double default_ms = 0.0;  // same, of the default's
    int64_t at_us = 0;        // the run that decided it
  };
  /// The verdicts reached since the last call, oldest first (at most
  /// kMaxVerdicts kept; older ones are dropped).
  std::vector<RevalidationVerdict> TakeRevalidationVerdicts();
  static constexpr size_t kMaxVerdicts = 1024;

  /// The arm deployed for `key` (0 = default or unknown pattern).
  uint32_t DeployedArm(uint64_t key) const;
  /// Back to the default now; returns the bandit's image before.
  Result<std::string> RevertPattern(uint64_t key);
  /// What `arm` plans for `key` changed (an arm whose content the host
  /// derives per pattern): the bandit forgets the arm's runs (PatternBandit::
  /// ForgetArm) and the pattern's decision is appended to *updates.
  /// kNotFound for an unknown pattern.
  Status ForgetArm(uint64_t key, uint32_t arm, std::vector<PatternDecision>* updates);
  /// A fresh bandit; returns the image before.
  Result<std::string> ResetPattern(uint64_t key);
  /// Puts back an image returned by RevertPattern / ResetPattern.
  Status RestorePattern(uint64_t key, std::string_view image);

  /// Image: magic "RVDGLRN1", version 2, arm count, `arm_fingerprint`,
  /// `learned_through`, then per pattern (ascending key) key, query id,
  /// database, role, time at stake and its time, relations, bandit image;
  /// then a CRC-32C (layout in docs/engine.md).
  void SaveTo(std::string* out, uint64_t arm_fingerprint, uint64_t learned_through) const;
  /// Validates the whole image and only then replaces the patterns (at most
  /// `max_patterns`). kFailedPrecondition for another arm table or version,
  /// kDataLoss when damaged; unchanged on error.
  Status LoadFrom(std::string_view image, uint64_t arm_fingerprint, size_t max_patterns,
                  uint64_t* learned_through);
  /// Appends the decision of every tracked pattern to *updates (key order
  /// not guaranteed).
  void DescribeAll(std::vector<PatternDecision>* updates) const;
  /// The decision of one tracked pattern; kNotFound otherwise.
  Result<PatternDecision> DescribePattern(uint64_t key) const;
  /// True when `key` is tracked and no candidate arm has run yet.
  bool Unexplored(uint64_t key) const;
  /// Orders the pattern's candidates (only order changes, never a decision).
  Status SetExplorationOrder(uint64_t key, std::span<const uint32_t> arms);

  /// The bandit of a tracked pattern (null otherwise).
  const PatternBandit* Bandit(uint64_t key) const;
  PatternBandit* MutableBandit(uint64_t key);
  /// Owner (database, role) of a tracked pattern; false when unknown.
  bool Owner(uint64_t key, uint32_t* database_oid, uint32_t* role_oid) const;
  /// The relations a tracked pattern's plans read, ascending (the first
  /// kMaxPatternRelations); null when the pattern is not tracked, empty when
  /// its runs named none.
  const std::vector<uint32_t>* Relations(uint64_t key) const;
  /// Time at stake of a tracked pattern as of `now_us` (0 when unknown).
  double TimeAtStake(uint64_t key, int64_t now_us) const;
  /// Runs of a tracked pattern expected within `horizon_s` seconds after
  /// `now_us`: its observed rate of served runs (runs of the arm it was
  /// served with, decayed with half-life kValueHalfLifeUs, over the time it
  /// was observed, at least kMinRateWindowUs) x horizon_s. 0 when unknown.
  double FutureRuns(uint64_t key, int64_t now_us, double horizon_s) const;
  static constexpr int64_t kMinRateWindowUs = int64_t{60} * 1000000;
  /// Keys of every tracked pattern, ascending.
  std::vector<uint64_t> Keys() const;

 private:
  struct Entry {
    PatternBandit bandit;
    uint64_t query_id = 0;
    uint32_t database_oid = 0;
    uint32_t role_oid = 0;
    std::vector<uint32_t> relations;  // ascending; empty = not known yet
    double value_ms = 0.0;
    int64_t value_at_us = 0;
    /// Served runs (the arm the pattern was served with; not candidates'
    /// or censored runs), decayed like value_ms; since first_served_us. Not
    /// part of the image: counted again after a restart.
    double served_runs = 0.0;
    int64_t served_at_us = 0;
    int64_t first_served_us = 0;
    int64_t revalidate_since_us = 0;  // 0 = none
    double fresh_default_log_sum = 0.0;
    uint32_t fresh_default_runs = 0;
    double fresh_arm_log_sum = 0.0;
    uint32_t fresh_arm_runs = 0;
  };
  struct Waiting {
    double value_ms = 0.0;
    int64_t value_at_us = 0;
  };
  PatternDecision Describe(uint64_t key, const Entry& e) const;
  static double Decayed(double value_ms, int64_t at_us, int64_t now_us);
  /// A run's contribution to the time at stake: its latency and that of the
  /// runs it stands for (PatternRun::also_latency_ms).
  static double RunValue(const PatternRun& in);
  bool Admit(const PatternRun& in, double value_ms, size_t max_patterns, std::vector<uint64_t>* evicted);
  void CheckRevalidation(uint64_t key, Entry* e, int64_t at_us, std::vector<PatternEvent>* events);
  void AddVerdict(const RevalidationVerdict& v);
  /// A new pattern: tracked (admitted) or left waiting (null; counted in
  /// *untracked).
  Result<Entry*> TrackOrWait(const PatternRun& in, size_t max_patterns, uint64_t* untracked,
                             std::vector<uint64_t>* evicted);

  uint32_t num_arms_ = 8;
  BanditOptions bandit_options_ = HostBanditOptions(8);
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<uint32_t, size_t> per_role_;
  std::unordered_map<uint64_t, Waiting> waiting_;
  std::vector<RevalidationVerdict> verdicts_;
};

struct EngineOptions {
  uint32_t num_arms = 8;                 // 2..64; arm 0 = the default plan
  /// Mechanism whose per-node weights pool the embedding (with
  /// select_mechanism: the one used until the selector switches).
  AttentionMechanism mechanism = AttentionMechanism::kCriticalPath;
  /// Keep one value model per attention mechanism, train them on the same
  /// runs, compare their held-out (prequential) errors and serve with the
  /// lowest (docs/engine.md, "Mechanism selection"). Costs seven embeddings
  /// per plan passed to Learn and seven model steps per trained run.
  bool select_mechanism = false;
  /// Runs every mechanism must have been evaluated on before the selector
  /// may switch.
  uint64_t selection_min_runs = 64;
  /// The selector switches only to a mechanism whose held-out error is
  /// below the current one's by more than this share (hysteresis).
  double selection_margin = 0.05;
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
  /// Candidates predicted slower than the default by more than this (log
  /// latency) are not explored once the model is trusted on the pattern
  /// (docs/engine.md); <= 0 = never.
  double prune_margin = 0.6931471805599453;  // ln 2
  /// Most runs one Learn / BackgroundLearn call trains the value model on
  /// (an even sample when there are more; bandits see every run); 0 = all.
  size_t max_train_per_learn = 0;
  /// Most runs of one (pattern, arm) one Learn call trains the value model on
  /// (the first ones after the even sample above); 0 = all. A pattern served
  /// thousands of times per second repeats one sample: training on every
  /// repetition would cost the worker a core and teach the model nothing new.
  uint32_t max_train_per_arm = 0;
  /// Value-model training budget of one (pattern, arm), in runs per second
  /// of the runs' own clock (PatternRun::at_us): a token bucket of
  /// train_burst_per_arm runs (full when the pattern is first trained)
  /// refilled at this rate; a run without a token is not trained on (its
  /// bandit still sees it). Bounds the training of a pattern served
  /// thousands of times per second however often the host calls Learn.
  /// 0 = no budget. Not part of the image (full again after an import).
  double train_rate_per_arm = 0.0;
  uint32_t train_burst_per_arm = 32;  // >= 1
  /// How far ahead a trial's gain is counted, in seconds: a candidate arm is
  /// explored only while the milliseconds it is expected to save on the
  /// pattern's runs within this horizon (the pattern's observed rate x the
  /// horizon) exceed what measuring it is expected to cost (docs/engine.md,
  /// "What a trial is worth"). 0 = every candidate is explored (no valuation).
  double exploration_horizon_s = 3600.0;
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
  /// Runs the value model predicted before training on them (the EWMA's
  /// inputs; not kept by Export: 0 after Import).
  uint64_t predicted_runs = 0;
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

/// A plan a host executed for a pattern (with actual rows where measured):
/// its embedding trains the value model and orders exploration, its actual
/// rows give the pattern's tension.
struct PlanObservation {
  uint64_t pattern_key = 0;
  const QueryDag* dag = nullptr;  // not owned; only read during the call
};

/// What one Engine::Learn call produced for the host to publish.
struct HostLearnOutput {
  /// One per touched pattern (drift, runs, new priors), in touch order.
  std::vector<PatternDecision> decisions;
  std::vector<PatternEvent> events;
  std::vector<uint64_t> evicted;      // patterns no longer tracked
  uint64_t untracked = 0;             // runs of patterns not admitted
  std::vector<size_t> drift_touched;  // per DriftScope: patterns touched
  uint64_t priors = 0;                // patterns whose first candidate came from a similar plan
  bool reclustered = false;
  LearnReport report;
};

/// One mechanism's value model as the selector sees it.
struct MechanismLaneStatus {
  AttentionMechanism mechanism = AttentionMechanism::kCriticalPath;
  /// Held-out error: per-run EWMA (rate kSelectionRate) of |predicted -
  /// actual| log-latency on runs predicted before the model trained on them.
  double error = 0.0;
  uint64_t evaluated = 0;  // runs in that error
};

/// Which mechanism pools the embeddings the engine decides with, and why.
struct MechanismStatus {
  AttentionMechanism active = AttentionMechanism::kCriticalPath;
  bool selecting = false;  // EngineOptions::select_mechanism
  bool forced = false;     // ForceMechanism(m): the selector does not switch
  uint64_t switches = 0;   // selector switches since creation (or import)
  /// One per mechanism with a model (seven when selecting), in enum order.
  std::vector<MechanismLaneStatus> lanes;
};

class Engine {
 public:
  /// kInvalidArgument for bad options.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options = {});
  /// Runs of a deployed arm beyond BanditOptions::min_runs before its
  /// pattern's other candidates are tried (with a horizon > 0).
  static constexpr uint64_t kWatchRuns = 8;
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

  /// Drains the ring and learns through the same loop as Learn (the
  /// trajectories' embeddings train the value model; their runs feed the
  /// pattern learner, baseline_ms as a run of arm 0).
  Result<LearnReport> BackgroundLearn();

  /// The loop for hosts that keep their own trajectory store (the PostgreSQL
  /// worker): applies `drifts`, embeds `plans` (tension from their actual
  /// rows), trains the value model on every run whose pattern has an
  /// embedding, feeds the runs to the pattern learner (admission, bandits,
  /// re-validation), then for every touched pattern publishes it to the
  /// ReasoningBank and re-plans its exploration from the value model and
  /// the priors of similar plans of the same owner (docs/engine.md).
  Status Learn(std::span<const PatternRun> runs, std::span<const PlanObservation> plans,
               std::span<const DriftScope> drifts, HostLearnOutput* out);

  /// The embedding PreQuery/Learn would compute for `dag` (attention pooling
  /// with options.mechanism, then the featurizer). kFailedPrecondition for an
  /// empty DAG.
  Status EmbedPlan(const QueryDag& dag, PlanEmbedding* out) { return Embed(dag, out); }

  /// A prior from another server for one tracked pattern: `arm` (1..num_arms-1)
  /// is its prior (PatternDecision::prior_arm) until cleared (arm 0), and goes
  /// first in its exploration order, ahead of the priors of similar plans,
  /// until the pattern has measured it. It also narrows the exploration
  /// (docs/engine.md, "Network priors"): while the bandit still measures
  /// `arm` against the default, no other candidate is explored (and nothing
  /// at all while `arm` has its runs and the default not yet); once the
  /// bandit deployed `arm` on this server's runs, the other candidates stay
  /// unexplored unless the trusted value model predicts one faster by more
  /// than options.prune_margin; when `arm` is refuted (rejected or given up)
  /// or reverted (monitor, re-validation), exploration proceeds as usual.
  /// Never a decision: the bandit deploys `arm` only on this server's own
  /// measurements. kNotFound for an untracked pattern, kInvalidArgument for an
  /// arm out of range.
  Status SetNetworkPrior(uint64_t pattern_key, uint32_t arm);
  /// The network prior of a pattern (0 = none).
  uint32_t NetworkPrior(uint64_t pattern_key) const;

  /// A validation quota (docs/sync.md, "Validation quota"): this server owes
  /// a vote on a received proposal of `arm` for the pattern, so the next
  /// `runs` runs of `arm` are measured whatever the bandit would explore:
  /// while runs are left and `arm` is not the deployed arm, Decide offers
  /// `arm` as the candidate (PatternDecision::validation, explore_runs = the
  /// runs left) even when another arm is deployed, `arm` was rejected or
  /// given up, the network prior's focus or the value model's pruning skips
  /// it, or its trial would not pay (EngineOptions::exploration_horizon_s).
  /// Every observed run of `arm` (completed, censored or same plan, sampled
  /// runs included) counts down; at 0 the quota ends and the exploration is
  /// the bandit's again. One quota per pattern: a call replaces the one in
  /// force, `runs` = 0 ends it. Not part of the image. Never a decision: the
  /// bandit deploys `arm` only on its measurements, as always. kNotFound for
  /// an untracked pattern, kInvalidArgument for arm 0 or an arm out of range.
  Status SetValidationQuota(uint64_t pattern_key, uint32_t arm, uint32_t runs);
  /// Runs left of a pattern's validation quota (0 = none), and its arm.
  uint32_t ValidationQuota(uint64_t pattern_key, uint32_t* arm = nullptr) const;

  /// Sets EngineOptions::exploration_horizon_s (a host's setting changed):
  /// trials are valued with it from the next Learn / Decide on.
  /// kInvalidArgument unless finite and >= 0.
  Status SetExplorationHorizon(double seconds);

  /// Multiplies a pattern's learning rate (and exploration share) by `factor`
  /// in [1, 10] until it decays back (x0.9 per learning pass); for high
  /// tension. kNotFound for an unknown pattern.
  Status BoostLearningRate(uint64_t pattern_key, double factor);
  /// Statistics of a pattern changed (ANALYZE, DDL): lowers its bandit's
  /// confidence (PatternBandit::NotifyDrift) and consolidates EWC++ so what
  /// was learned before the change is kept. kNotFound for an unknown pattern.
  Status NotifyDrift(uint64_t pattern_key, double severity = 1.0);
  /// Forgets every pattern, the model and the bank (a host's "reset
  /// learning" or a changed arm table).
  Status Reset();

  /// Versioned, checksummed (CRC-32C) image of the learned state: every
  /// mechanism's model with its EWC anchor and held-out error, the selector's
  /// state, bandits, bank. `arm_fingerprint` and `learned_through` are the
  /// host's (stored in the pattern learner's image, PatternLearner::SaveTo).
  /// ImportState replaces the state only when the whole image is valid;
  /// corrupt or truncated input is a kDataLoss error, an image made with
  /// incompatible options (or another arm fingerprint) kFailedPrecondition.
  std::string ExportState(uint64_t arm_fingerprint = 0, uint64_t learned_through = 0) const;
  Status ImportState(std::string_view image, uint64_t arm_fingerprint = 0, uint64_t* learned_through = nullptr);

  /// Forces the mechanism the engine embeds with (`m`), or returns to the
  /// selector (nullopt). Switching keeps every mechanism's model; the
  /// patterns' stored embeddings (of the previous mechanism) are dropped and
  /// each pattern is embedded again with its next plan. kFailedPrecondition
  /// when the engine was created without select_mechanism and `m` is not
  /// options().mechanism (or is nullopt).
  Status ForceMechanism(std::optional<AttentionMechanism> m);
  /// The mechanism in use, the mode and every mechanism's held-out error.
  MechanismStatus Mechanisms() const;
  /// Rate of the per-run EWMA of each mechanism's held-out error.
  static constexpr double kSelectionRate = 0.02;

  /// Counters of the engine's life (runs, deployments, predictions).
  EngineStats Stats() const;
  /// kNotFound for an unknown pattern.
  Result<PatternInfo> Pattern(uint64_t pattern_key) const;
  /// The current decision of a tracked pattern, with the value model's
  /// predictions, prior, tension and priority (kNotFound otherwise).
  Result<PatternDecision> Decide(uint64_t pattern_key) const;
  /// The per-pattern learner (repairs of a host's healing cycle act on it;
  /// its image is the host's persistence of bandits).
  PatternLearner& patterns() { return learner_; }
  const PatternLearner& patterns() const { return learner_; }
  /// The value model of the mechanism in use.
  const ValueModel& model() const { return lanes_[active_].model; }
  /// The mechanism in use.
  AttentionMechanism mechanism() const { return lanes_[active_].mechanism; }
  /// The ReasoningBank of learned patterns (priors of similar plans; a
  /// sync host merges network patterns into the mutable one).
  const ReasoningBank& bank() const { return bank_; }
  ReasoningBank& mutable_bank() { return bank_; }
  /// The options the engine was created with (model rates as changed by
  /// SetModelTraining).
  const EngineOptions& options() const { return options_; }
  /// Later training of every value model (all mechanisms' lanes) uses these
  /// learning rates and EWC++ strength; what the models learned, their
  /// Fisher and anchors stay. The other model options (rank, sizes) are
  /// fixed at Create. kInvalidArgument for values ValueModelOptions refuses
  /// (nothing changes then).
  Status SetModelTraining(double base_learning_rate, double adapter_learning_rate, double ewc_lambda);

  /// A pattern's value-model trust: prequential |error| (log-latency) EWMA
  /// below which, after kTrustSamples runs, arms predicted worse than the
  /// default by more than options.prune_margin are not explored.
  static constexpr double kTrustError = 0.25;
  static constexpr uint32_t kTrustSamples = 4;
  /// Completed runs of an arm (over all patterns) the model must have been
  /// trained on before its prediction orders or prunes that arm.
  static constexpr uint64_t kMinArmSamples = 32;

 private:
  /// What the engine keeps per pattern beside its bandit.
  struct TrainBudget {
    double tokens = 0.0;
    int64_t at_us = 0;
  };
  struct PatternModel {
    PlanEmbedding embedding{};
    bool has_embedding = false;
    double lr_boost = 1.0;
    uint64_t pre_queries = 0;
    double error_ewma = 0.0;  // prequential |error| of the value model
    uint32_t error_samples = 0;
    double tension = 0.0;     // EWMA over executed plans with actual rows
    uint32_t tension_samples = 0;
    int prior_arm = -1;
    double prior_bonus = 0.0;    // the prior arm's bonus (log gain of similar plans)
    uint32_t network_prior = 0;  // SetNetworkPrior (0 = none)
    uint32_t validation_arm = 0;   // SetValidationQuota
    uint32_t validation_left = 0;  // its runs left (0 = no quota)
    /// Per arm: the training budget's tokens and the run time they were
    /// counted at (EngineOptions::train_rate_per_arm; empty until trained).
    std::vector<TrainBudget> train_budget;
  };
  /// Arms (bit mask) a network prior keeps unexplored now (see
  /// SetNetworkPrior); 0 when it narrows nothing. `preds` holds the value
  /// model's log-latency of every arm on the pattern's plan; `trusted` = the
  /// model has been right about the pattern. Leaves b's skip mask as it was.
  uint64_t NetworkPriorFocus(PatternBandit& b, uint32_t prior, const double* preds, bool trusted) const;
  struct ReplaySample {
    PlanEmbedding x;
    uint32_t arm;
    float target;
    float lr;
    float reference;  // the default's measured log-latency, NaN when not known
  };
  /// One attention mechanism's pooling and the value model trained on it.
  struct Lane {
    AttentionMechanism mechanism = AttentionMechanism::kCriticalPath;
    std::unique_ptr<Attention> attention;
    ValueModel model;
    std::vector<ReplaySample> replay;
    size_t replay_next = 0;
    std::array<uint64_t, 64> arm_samples{};  // completed runs trained on, per arm (not persisted)
    double error = 0.0;      // held-out error EWMA (MechanismLaneStatus)
    uint64_t evaluated = 0;
    double call_error = 0.0;  // this call: summed held-out error
    size_t call_trained = 0;  // this call: non-censored runs trained on
  };
  Engine(const EngineOptions& options, std::vector<Lane> lanes, size_t active, ReasoningBank bank);
  /// The lanes an engine with `options` has (seven when selecting).
  static Result<std::vector<Lane>> MakeLanes(const EngineOptions& options, size_t* active);
  /// Embeds with the active lane's mechanism.
  Status Embed(const QueryDag& dag, PlanEmbedding* out);
  /// Embeds with every lane's mechanism (out[l]; ok[l] false when lane l's
  /// attention refused the plan). kFailedPrecondition for an empty DAG.
  Status EmbedAll(const QueryDag& dag, PlanEmbedding* out, bool* ok);
  /// One value-model step of `lane` on a run; returns its prequential
  /// |error| (or -1 for a censored run). `reference`: the pattern's measured
  /// default log-latency for a run of another arm (NaN when not known; see
  /// ValueModel::TrainStep).
  Result<double> Train(Lane* lane, const PlanEmbedding& x, uint32_t arm, double latency_ms, bool censored,
                       double lr, double reference);
  /// The mean log-latency of the default plan's current window of runs of
  /// pattern `key`, NaN when it has none.
  double DefaultReference(uint64_t key) const;
  /// Takes one token of the (pattern, arm) training budget at run time
  /// `at_us` (EngineOptions::train_rate_per_arm); false when none is left.
  bool TakeTrainToken(PatternModel* model, uint32_t arm, int64_t at_us);
  /// Makes lane `index` the one the engine decides with (drops the stored
  /// embeddings of the previous mechanism).
  void Activate(size_t index);
  /// Runs with one embedding per lane each: embeddings[i * lanes + l] (null =
  /// none; for the active lane, the pattern's stored one if any).
  Status LearnRuns(std::span<const PatternRun> runs, std::span<const PlanEmbedding* const> embeddings,
                   HostLearnOutput* out);
  /// After a call's training: every lane's held-out error; the selector
  /// switches when another lane is better by selection_margin.
  void Select();
  void Plan(uint64_t key, PatternModel* state, HostLearnOutput* out);
  void PublishToBank(uint64_t key, const PatternModel& state);
  void Annotate(uint64_t key, PatternDecision* d) const;
  /// What measuring `arm` of pattern `key` is worth now (docs/engine.md,
  /// "What a trial is worth"). `preds`: the value model's log-latency of
  /// every arm on the pattern's plan (null = none), `bonus`: the arm's prior
  /// bonus (log gain of similar plans). valued = false without a measured
  /// reference latency or with the horizon at 0.
  struct TrialValue {
    bool valued = false;
    double future_runs = 0.0;
    double gain_ms = 0.0;
    double cost_ms = 0.0;
  };
  TrialValue ValueTrial(uint64_t key, uint32_t arm, const double* preds, double bonus) const;
  /// False when the trial `v` of `arm` is worth no more than it costs,
  /// unless the bandit started the arm (PatternBandit::Started: it is
  /// finished to a verdict).
  bool TrialPays(uint64_t key, uint32_t arm, const TrialValue& v) const;
  /// Candidates (bit mask) whose trial does not pay (TrialPays), and every
  /// candidate not started while a fresh deployment is watched (kWatchRuns).
  uint64_t UnprofitableArms(uint64_t key, const double* preds, const double* bonus) const;

  /// Log-latency sd of the value model's prediction for an arm it does not
  /// know, or on a pattern whose error it has not measured yet.
  static constexpr double kUninformedSigma = 1.0;
  /// A candidate run is cut at this multiple of the latency it must beat
  /// (the PostgreSQL explorer's factor): the most one run can cost.
  static constexpr double kTrialTimeoutFactor = 1.5;

  EngineOptions options_;
  std::vector<Lane> lanes_;
  size_t active_ = 0;
  bool forced_ = false;
  uint64_t switches_ = 0;
  ReasoningBank bank_;
  std::unique_ptr<MinCutEngine> mincut_;
  Featurizer featurizer_;
  PreparedDag prepared_;
  AttentionScores scores_;
  PlanEmbedding scratch_{};
  TrajectoryBuffer trajectories_;
  PatternLearner learner_;
  std::unordered_map<uint64_t, PatternModel> models_;
  std::vector<Trajectory> batch_;
  std::vector<PatternMatch> matches_;
  /// A deployed pattern that votes for its arm on the patterns of the same
  /// owner over the same relations (CollectSiblings, Plan).
  struct Sibling {
    uint64_t key = 0;
    std::vector<uint32_t> relations;  // ascending
    uint32_t arm = 0;
    double weight = 0.0;  // confidence x measured log gain
    uint32_t database_oid = 0, role_oid = 0;
  };
  std::vector<Sibling> siblings_;
  /// Rebuilds siblings_ from the deployed patterns with an embedded plan.
  void CollectSiblings();
  Rng rng_;
  EngineStats stats_;
  uint64_t since_consolidation_ = 0;
  int64_t clock_us_ = 0;  // latest run time seen (the host's clock)
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> train_counts_;  // (pattern, arm) -> trained this call
};

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_ENGINE_H_
