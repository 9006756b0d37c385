// The C++ zone of the background learner: one no-regression bandit
// (ruvector_dag::PatternBandit, docs/sona.md) per query pattern, fed with the
// executed trajectories (arm, latency), producing the decisions the worker
// publishes to shared memory. No PostgreSQL headers; run under RunCpp.
#ifndef RUVECTOR_PG_LEARNER_H_
#define RUVECTOR_PG_LEARNER_H_

#include <cstdint>
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
};

/// One executed plan as the trajectory ring keeps it (at most
/// kMaxTrajectoryNodes nodes in pre-order, with their consumers).
struct PlanSample {
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
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
  /// Arms that won for the `k` nearest other patterns (deployed, quality >=
  /// min_quality), nearest first, without repeats: the order in which a new
  /// pattern should try its candidates. Empty when `key` is not stored.
  std::vector<uint32_t> NeighbourArms(uint64_t key, size_t k, double min_quality) const;
  size_t size() const;
  void Reset();

 private:
  ruvector_dag::Status EnsureBank(size_t clusters);
  std::unique_ptr<ruvector_dag::ReasoningBank> bank_;
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

  /// Statistics changed (ANALYZE, DDL, a planner setting): every bandit
  /// forgets the oldest `severity` share of its windows and re-checks its
  /// deployment. Appends the updates of patterns whose decision changed.
  void NotifyDrift(double severity, std::vector<DecisionUpdate>* updates);

  /// Observes a batch; appends one update per touched pattern (in first-touch
  /// order) and the deploy/revert/reject events. Patterns beyond
  /// `max_patterns` are not tracked (counted in *untracked).
  ruvector_dag::Status Learn(const std::vector<LearnInput>& batch, size_t max_patterns,
                             std::vector<DecisionUpdate>* updates, std::vector<LearnEvent>* events,
                             uint64_t* untracked);

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
  /// Appends a checksummed image of every bandit: magic "RVDGLRN1", version,
  /// arm count, `arm_fingerprint` (the arm table it was learned with),
  /// `learned_through` (the last trajectory sequence number learned), then
  /// per pattern its key, query id and bandit image, then a CRC-32C.
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
  };
  DecisionUpdate Describe(uint64_t key, const Entry& e) const;

  uint32_t num_arms_ = 8;
  std::unordered_map<uint64_t, Entry> bandits_;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_LEARNER_H_
