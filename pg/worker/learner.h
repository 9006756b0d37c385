// The C++ zone of the background learner's host side: the worker feeds the
// library's Engine (ruvector_dag/engine.h: value model, ReasoningBank,
// per-pattern bandits with admission, drift scope, re-validation) with what
// the trajectory ring holds, and publishes its decisions. This header adapts
// the ring's plain records to the engine's inputs; the learning loop itself
// lives in the library. No PostgreSQL headers; run under RunCpp.
#ifndef RUVECTOR_PG_LEARNER_H_
#define RUVECTOR_PG_LEARNER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/engine.h"
#include "ruvector_dag/status.h"
#include "state/shared_state.h"
#include "state/steer_state.h"

namespace ruvector_pg {

/// The engine's per-pattern learner, its run and decision records.
using Learner = ruvector_dag::PatternLearner;
using LearnInput = ruvector_dag::PatternRun;
using DecisionUpdate = ruvector_dag::PatternDecision;
using DriftScope = ruvector_dag::DriftScope;
static_assert(kMaxTrajectoryRelations == static_cast<int>(ruvector_dag::kMaxRunRelations),
              "a trajectory's relations must fit a run");

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

/// A learning pass's deterministic uniform sample of the runs of each group
/// (the worker's groups: a pattern with an arm and a kind of run): the
/// first `per_group` runs of a group are kept, and its n-th run after them
/// replaces a kept one with probability per_group / n (reservoir sampling),
/// drawn from a generator seeded at Reset, so the same runs offered in the
/// same order always give the same sample. Every run offered is counted with
/// its weight (the worker's: latency), kept or not. Only Reset allocates.
class RunSample {
 public:
  /// per_group >= 1 (0 is taken as 1). Holds no group until Reset.
  explicit RunSample(uint32_t per_group);

  /// Starts a new sample of at most `max_groups` groups with a generator
  /// seeded by `seed`. Allocates (may throw std::bad_alloc); keeps its
  /// buffers for the next sample.
  void Reset(size_t max_groups, uint64_t seed);

  /// Where an offered run goes.
  struct Offered {
    /// Index of its group (0, 1, ... in order of first offer); kNoGroup when
    /// the run is of a new group beyond max_groups (then neither kept nor
    /// counted).
    uint32_t group = kNoGroup;
    /// The slot the run takes (0, 1, ... in order of first use over all
    /// groups; the slot of the kept run it replaces), or -1 when the run is
    /// left out.
    int32_t slot = -1;
  };
  static constexpr uint32_t kNoGroup = UINT32_MAX;
  /// Offers the next run of group (a, b) with `weight`. No allocation.
  /// `runs` > 1: an offer that stands for that many runs (a trajectory
  /// record that carries others, TrajectoryRecord::also_runs): all count,
  /// and once the group's slots are full it is kept with `runs` times a
  /// single run's chance (a run's chance in the first slots is 1 as before).
  Offered Offer(uint64_t a, uint32_t b, double weight, uint32_t runs = 1) noexcept;

  uint32_t per_group() const { return per_group_; }
  size_t groups() const { return group_count_; }
  /// Slots handed out (kept runs, over all groups).
  size_t slots() const { return next_slot_; }
  /// Runs offered to `group` (each offer's `runs`) and the sum of their weights.
  uint64_t runs(uint32_t group) const { return groups_[group].runs; }
  double weight(uint32_t group) const { return groups_[group].weight; }

 private:
  struct Group {
    uint64_t a = 0;
    uint32_t b = 0;
    uint64_t runs = 0;
    double weight = 0.0;
    uint64_t offers = 0;  // offers, each of one or more runs
  };
  uint32_t per_group_;
  ruvector_dag::Rng rng_{0};
  std::vector<Group> groups_;     // max_groups
  size_t group_count_ = 0;
  size_t max_groups_ = 0;
  std::vector<int32_t> slot_of_;  // max_groups x per_group: slot of the group's j-th kept run
  std::vector<uint32_t> table_;   // open addressing (power of two >= 2 x max_groups): group or kNoGroup
  uint32_t last_ = kNoGroup;      // the group offered last (a flood of one group skips the table)
  size_t next_slot_ = 0;
};

/// The plan of a sample as a DAG, through the same bridge as live plans
/// (actual rows where they were measured). Fails on a malformed sample.
ruvector_dag::Status SampleToDag(const PlanSample& plan, ruvector_dag::QueryDag* dag);

/// The engine's event as the shared-memory event ring stores it (at_us and
/// seq are set when it is appended).
LearnEvent ToLearnEvent(const ruvector_dag::PatternEvent& e);

/// Engine options of the server: bandits judged after four runs with a
/// one-sided z of 2.5 (PatternLearner::HostBanditOptions), the pattern table
/// bounded by the decision table, the bank clustered like the old pattern
/// clusters (k <= max_clusters), one value model per attention mechanism
/// with the selector (docs/engine.md), training bounded per pass (128 runs,
/// 8 per pattern and arm) and per second (4 per pattern and arm after a
/// burst of 32), each model's base learning rate (adapters twice that),
/// MicroLoRA rank and EWC++ strength from the settings.
ruvector_dag::EngineOptions ServerEngineOptions(uint32_t num_arms, size_t max_clusters, double learning_rate,
                                                double ewc_lambda, uint32_t lora_rank);

/// What the worker's engine should pool with: nullopt = the selector.
/// `request` is SteerState::attention_request (dag_set_attention);
/// without a request, `setting` (the worker's ruvector.dag_attention).
/// `*source` names where the choice came from.
std::optional<ruvector_dag::AttentionMechanism> WantedMechanism(uint8_t request, const char* setting,
                                                                const char** source);

/// The default plan's completed runs of one pattern grouped by the
/// statement's constants (TrajectoryRecord::constants_hash), for the split
/// test: at most kMaxGroups groups (runs of further constants are not
/// counted), each weighing at most kMaxGroupRuns runs (older ones fade).
struct ConstantGroups {
  static constexpr int kMaxGroups = 8;
  static constexpr uint32_t kMaxGroupRuns = 64;
  uint64_t hash[kMaxGroups] = {0};
  double n[kMaxGroups] = {0};
  double sum[kMaxGroups] = {0};   // of log-latency
  double sum2[kMaxGroups] = {0};  // of squared log-latency
  int count = 0;
  /// Adds a run of constants `constants_hash` (0 = none: ignored).
  void Add(uint64_t constants_hash, double latency_ms);
  /// Whether the pattern should be split by constants (Decision::split):
  /// at least kSplitMinRuns runs in at least two groups of two or more, the
  /// standard deviation of their log-latency above kSplitSpread, and the
  /// constants explaining at least three quarters of its variance (the
  /// pooled within-group standard deviation at most half the total); or,
  /// sooner, kSplitEarlyRuns runs so far apart that fewer settle it (a
  /// standard deviation above kSplitEarlySpread, the within-group deviation
  /// at most a quarter of it: constants about 5x apart or more, each
  /// repeating closely). Runs that spread without their constants differing
  /// (noise, load) or constants that never repeat (each group one run)
  /// split nothing.
  bool Split() const;
  /// The constants a deployed arm may be served to alone
  /// (Decision::measured_constants), while at most two constants were seen
  /// in the pattern's runs and the split test has not had its data (both
  /// with two or more default-plan runs, kSplitMinRuns together): the one
  /// with runs of the deployed arm (`armed[g]`: group g has some among its
  /// runs the worker keeps), else, with neither, the one with the most
  /// default-plan runs. 0 = any: the split test had its data (a pattern it
  /// did not split ran alike under both), the arm ran under both, or the
  /// constants do not repeat (three or more seen: a lookup by id, which the
  /// test cannot split, is served as before), or no run has constants.
  uint64_t MeasuredConstants(const bool* armed) const;
};
/// A run a pattern's split track keeps per constants (learn_pass.cc):
/// its arm, whether it was cancelled at its timeout (its latency a lower
/// bound) or planned the same as the default, its latency and when it ran.
struct GroupRun {
  int8_t arm = 0;
  bool censored = false;
  bool same_plan = false;
  double latency_ms = 0.0;
  int64_t at_us = 0;
};
/// Whether one arm helps some constants of a pattern and hurts others, so
/// that the pattern must be split by constants although the split test
/// (ConstantGroups::Split) finds their default plans alike: for an arm a > 0
/// and two constants g and h, each with at least two completed runs of a
/// (neither cancelled nor planned the same as the default) among the kept
/// runs and a default reference (`default_ms[g]` > 0: the
/// geometric mean of its default-plan runs, ConstantGroups, which runs of
/// the arm do not evict), every completed run of a on g is slower than
/// kArmSplitRatio x g's reference, and every run of a on h completed and
/// faster than h's reference / kArmSplitRatio. `runs` holds `groups` groups
/// of `stride` runs each, group g's first counts[g] valid. `skip_arm(a)`
/// true: arm a's runs are not compared (an arm whose content changes, such
/// as a learned hint, ran different plans over time). (A deployed arm
/// measured on one constants is served to the others once the split test
/// finds them alike; when it runs slower there, this splits them and each
/// learns its own arm from the runs kept.)
bool ArmEffectsDiffer(const GroupRun* runs, int groups, int stride, const int* counts,
                      const double* default_ms, bool (*skip_arm)(int));
inline constexpr double kArmSplitRatio = 1.2;
/// ConstantGroups::Split's thresholds: runs, and the log-latency standard
/// deviation (0.5: runs spread over e^0.5 = 1.65x and more); the early split's.
inline constexpr double kSplitMinRuns = 8;
inline constexpr double kSplitSpread = 0.5;
inline constexpr double kSplitEarlyRuns = 4;
inline constexpr double kSplitEarlySpread = 1.0;

/// dag_status's mechanism_reason for the engine's current state: forced by
/// `source`, or the selector's held-out error per mechanism.
std::string MechanismReason(const ruvector_dag::MechanismStatus& status, uint64_t min_runs, const char* source);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_LEARNER_H_
