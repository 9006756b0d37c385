// The C++ zone of the background learner: one no-regression bandit
// (ruvector_dag::PatternBandit, docs/sona.md) per query pattern, fed with the
// executed trajectories (arm, latency), producing the decisions the worker
// publishes to shared memory. No PostgreSQL headers; run under RunCpp.
#ifndef RUVECTOR_PG_LEARNER_H_
#define RUVECTOR_PG_LEARNER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ruvector_dag/sona.h"
#include "ruvector_dag/status.h"
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
  /// The current decision of a tracked pattern (NotFound otherwise).
  ruvector_dag::Result<DecisionUpdate> DescribePattern(uint64_t key) const;

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
