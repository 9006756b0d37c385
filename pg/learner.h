// The C++ zone of the background learner: one no-regression bandit
// (ruvector_dag::PatternBandit, docs/sona.md) per query pattern, fed with the
// executed trajectories (arm, latency), producing the decisions the worker
// publishes to shared memory. No PostgreSQL headers; run under RunCpp.
#ifndef RUVECTOR_PG_LEARNER_H_
#define RUVECTOR_PG_LEARNER_H_

#include <cstdint>
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ruvector_dag/sona.h"
#include "ruvector_dag/status.h"
#include "shared_state.h"
#include "steer_state.h"

namespace ruvector_pg {

/// One execution as the learner sees it.
struct LearnInput {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  int arm = 0;
  double latency_ms = 0.0;
  /// The arm produced the default plan: the run is a measurement of arm 0,
  /// and a censored one of `arm` (it cannot be faster than the default).
  bool same_plan = false;
  /// The run was cancelled at its timeout: latency_ms is a lower bound.
  bool censored = false;
  /// Where and by whom it ran, the relations its plan reads (the first
  /// kMaxTrajectoryRelations of relation_count), and when it was recorded
  /// (Unix microseconds).
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  uint16_t relation_count = 0;
  std::array<uint32_t, kMaxTrajectoryRelations> relations{};
  int64_t at_us = 0;
};

/// What the worker writes into a Decision.
struct DecisionUpdate {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  int deployed_arm = 0;
  int explore_arm = -1;
  double confidence = 0.0;
  double default_ms = 0.0;
  double deployed_ms = 0.0;
  double best_candidate_ms = 0.0;
  int best_candidate_arm = -1;
  uint64_t observed_runs = 0;
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  uint32_t database_oid = 0;  // whose pattern it is
  uint32_t role_oid = 0;
  /// The deployed arm is being re-validated and no fresh run of the default
  /// plan arrived yet: the host should measure the default now (in the
  /// background).
  bool baseline_wanted = false;
};

/// A change that can alter plans (ANALYZE, DDL, ALTER SYSTEM): patterns of
/// `database_oid` (0 = every database) whose plans read one of `relations`
/// (or any relation when `every_relation`) forget the oldest `severity`
/// share of what they measured.
struct DriftScope {
  double severity = 0.0;
  uint32_t database_oid = 0;
  bool every_relation = true;
  std::vector<uint32_t> relations;
};

/// One executed plan as the trajectory ring keeps it (at most
/// kMaxTrajectoryNodes nodes in pre-order, with their consumers).
struct PlanSample {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  uint32_t database_oid = 0;  // whose pattern it is
  uint32_t role_oid = 0;
  int count = 0;
  uint8_t type[kMaxTrajectoryNodes] = {0};
  float estimated_rows[kMaxTrajectoryNodes] = {0};
  float actual_rows[kMaxTrajectoryNodes] = {0};  // -1 = not measured
  uint8_t parent_plus_one[kMaxTrajectoryNodes] = {0};
};

/// The ReasoningBank of the server: one embedding per pattern (the
/// library's Featurizer over the plan rebuilt from a trajectory), with the
/// arm the learner deployed and its measured gain, clustered with k-means
/// (k = min(max_clusters, round(sqrt(patterns)))). Not thread-safe.
class PatternClusters {
 public:
  /// Embeds `plan` and stores it for its pattern with the pattern's current
  /// decision (`best_arm`, `gain` = ln(default / deployed), `quality` in [0, 1]).
  ruvector_dag::Status Observe(const PlanSample& plan, uint32_t best_arm, double gain, double quality);
  /// Re-clusters when the pattern count grew by a quarter since the last
  /// time (or k changed); returns whether it did.
  ruvector_dag::Result<bool> MaybeRecluster(size_t max_clusters);
  /// The pattern's cluster, -1 when unknown or not clustered yet.
  int32_t ClusterOf(uint64_t key) const;
  /// Arms that won for the `k` nearest other patterns of the same database
  /// and role (deployed, quality >= min_quality), nearest first, without
  /// repeats: the order in which a new pattern should try its candidates (no
  /// role learns from, or about, another role's patterns). Empty when `key`
  /// is not stored.
  std::vector<uint32_t> NeighbourArms(uint64_t key, size_t k, double min_quality) const;
  size_t size() const;
  void Reset();

 private:
  ruvector_dag::Status EnsureBank(size_t clusters);
  std::unique_ptr<ruvector_dag::ReasoningBank> bank_;
  std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> owner_;  // key -> (database, role)
  size_t clusters_ = 0;
  ruvector_dag::Featurizer featurizer_;
};

/// Per-pattern bandits. Not thread-safe (the worker is single-threaded).
/// Memory: one bandit per pattern (num_arms x window observations).
class Learner {
 public:
  /// Bandit settings used by the server (min_runs 4, confidence_z 2.5, at most
  /// 8 exploration runs per candidate; the library's defaults otherwise).
  static ruvector_dag::BanditOptions ServerOptions(uint32_t num_arms);

  /// Forgets every pattern and uses `num_arms` arms from now on.
  void Reset(uint32_t num_arms);
  uint32_t num_arms() const { return num_arms_; }
  size_t patterns() const { return bandits_.size(); }

  /// Statistics or schema changed: the bandits of the patterns in `scope`
  /// forget the oldest `scope.severity` share of their windows and re-check
  /// their deployment. A pattern is in scope when its plans read one of the
  /// scope's relations (it remembers up to kMaxPatternRelations of them); a
  /// pattern whose relations are not known yet only when the scope is every
  /// relation. Appends their updates; returns how many patterns were touched.
  size_t NotifyDrift(const DriftScope& scope, std::vector<DecisionUpdate>* updates);

  /// Observes a batch; appends one update per touched pattern (in first-touch
  /// order) and the deploy/revert/reject events.
  ///
  /// Admission when `max_patterns` are tracked: a new pattern replaces the
  /// tracked one with the least time at stake (decayed sum of measured
  /// latency, half-life kValueHalfLifeUs; deployed patterns are replaced
  /// last) only when its own time at stake (accumulated while it waits, at
  /// most kMaxWaiting patterns wait: the least valuable leaves) is larger; a role already holding kRoleShare of the table replaces one of
  /// its own patterns instead. Refused runs are counted in *untracked;
  /// replaced patterns are appended to *evicted (when not null).
  ruvector_dag::Status Learn(const std::vector<LearnInput>& batch, size_t max_patterns,
                             std::vector<DecisionUpdate>* updates, std::vector<LearnEvent>* events,
                             uint64_t* untracked, std::vector<uint64_t>* evicted = nullptr);

  /// Half-life of a pattern's time at stake.
  static constexpr int64_t kValueHalfLifeUs = int64_t{3600} * 1000000;
  /// Share of the learner's patterns one role may hold when others need room.
  static constexpr double kRoleShare = 0.5;
  /// A re-validation that got no fresh default run within this time ends
  /// without a verdict (the deployed arm stays).
  static constexpr int64_t kRevalidationTimeoutUs = int64_t{600} * 1000000;

  /// The healing cycle saw the served latency of `key` rise: measure the
  /// default plan afresh and revert the deployed arm only if, from `now_us`
  /// on, its runs are slower than the default's fresh runs (the same
  /// conditions), never on a spike that hits both. NotFound for an unknown
  /// pattern, FailedPrecondition when the default is deployed.
  ruvector_dag::Status RequestRevalidation(uint64_t key, int64_t now_us);
  /// Ends a re-validation without a verdict.
  void CancelRevalidation(uint64_t key);
  /// Whether `key` is being re-validated.
  bool Revalidating(uint64_t key) const;

  // --- repairs (the healing cycle, healing_host.h) ---------------------------------
  /// The arm deployed for `key` (0 = default or unknown pattern).
  uint32_t DeployedArm(uint64_t key) const;
  /// Puts `key` back on the default plan now; returns the bandit's image
  /// before (for RestorePattern). NotFound for an unknown pattern.
  ruvector_dag::Result<std::string> RevertPattern(uint64_t key);
  /// Forgets what was learned for `key` (a fresh bandit); returns the image
  /// before. NotFound for an unknown pattern.
  ruvector_dag::Result<std::string> ResetPattern(uint64_t key);
  /// Puts back a bandit image returned by RevertPattern / ResetPattern.
  ruvector_dag::Status RestorePattern(uint64_t key, std::string_view image);
  // --- persistence ($PGDATA/ruvector_dag.learner, written by the worker) -----------
  /// Appends a checksummed image of every bandit: magic "RVDGLRN1", version
  /// (2), arm count, `arm_fingerprint` (the arm table it was learned with),
  /// `learned_through` (the last trajectory sequence number learned), then
  /// per pattern its key, query id, database, role, time at stake and its
  /// time, relation count and relations, and bandit image, then a CRC-32C.
  void SaveTo(std::string* out, uint64_t arm_fingerprint, uint64_t learned_through) const;
  /// Validates an image completely (checksum, version, the same arm count
  /// and fingerprint, every bandit) and only then replaces this learner's
  /// bandits (at most `max_patterns`). kFailedPrecondition when the arms
  /// differ, kDataLoss when damaged; the learner is unchanged on error.
  ruvector_dag::Status LoadFrom(std::string_view image, uint64_t arm_fingerprint, size_t max_patterns,
                                uint64_t* learned_through);
  /// Updates for every tracked pattern (to publish after a load).
  void DescribeAll(std::vector<DecisionUpdate>* updates) const;

  /// The current decision of a tracked pattern (NotFound otherwise).
  ruvector_dag::Result<DecisionUpdate> DescribePattern(uint64_t key) const;
  /// True when `key` is tracked and no candidate arm has run yet.
  bool Unexplored(uint64_t key) const;
  /// Orders the pattern's candidates (ReasoningBank priors); only order
  /// changes, never a decision. NotFound for an unknown pattern.
  ruvector_dag::Status SetExplorationOrder(uint64_t key, const std::vector<uint32_t>& arms);

 private:
  struct Entry {
    ruvector_dag::PatternBandit bandit;
    uint64_t query_id = 0;
    uint32_t database_oid = 0;
    uint32_t role_oid = 0;
    std::vector<uint32_t> relations;  // ascending; empty = not known yet
    double value_ms = 0.0;       // time at stake at value_at_us
    int64_t value_at_us = 0;
    // Re-validation of the deployed arm (healing): fresh runs since `since`.
    int64_t revalidate_since_us = 0;  // 0 = none
    double fresh_default_log_sum = 0.0;
    uint32_t fresh_default_runs = 0;
    double fresh_arm_log_sum = 0.0;
    uint32_t fresh_arm_runs = 0;
  };
  /// A pattern waiting for admission: its time at stake so far.
  struct Waiting {
    double value_ms = 0.0;
    int64_t value_at_us = 0;
  };
  DecisionUpdate Describe(uint64_t key, const Entry& e) const;
  /// Time at stake of `value_ms` measured at `at_us`, as of `now_us`.
  static double Decayed(double value_ms, int64_t at_us, int64_t now_us);
  /// Makes room for a new pattern of `in.role_oid` whose time at stake is
  /// `value_ms`: false when it is refused; else the victim (if any) is
  /// erased and appended to *evicted.
  bool Admit(const LearnInput& in, double value_ms, size_t max_patterns, std::vector<uint64_t>* evicted);
  /// Applies a re-validation verdict once fresh runs of both arms arrived.
  void CheckRevalidation(uint64_t key, Entry* e, std::vector<LearnEvent>* events);

  uint32_t num_arms_ = 8;
  std::unordered_map<uint64_t, Entry> bandits_;
  std::unordered_map<uint32_t, size_t> per_role_;  // tracked patterns per role
  std::unordered_map<uint64_t, Waiting> waiting_;  // bounded by kMaxWaiting
  static constexpr size_t kMaxWaiting = 4096;

 public:
  /// Relations remembered per pattern (the union over its plans).
  static constexpr size_t kMaxPatternRelations = 64;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_LEARNER_H_
