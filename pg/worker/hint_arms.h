// Hint arms (docs/postgres.md, "Hint arms"): plain data and the learner, no
// PostgreSQL headers. A hint arm is a built-in arm whose content -- plan
// advice hints -- the worker derives per pattern from the pattern's executed
// default plans; the planner applies it through the hint mechanism of pinned
// advice (planner/plan_hints.h). One hint arm exists: fix_worst_join. For
// every join of the default plan whose relation set is known, the learner
// keeps the log q-error of the rows that decided its method -- its outer
// input's (a nested loop's loop count), less what that input inherited in
// the same direction from its own outer input when it is a join: an error is
// attributed to the first join that consumes it -- over the executions it
// saw. A join
// qualifies when the error is large and consistent and calls for another
// method: rows underestimated under a nested loop -> HASHJOIN(join); rows
// overestimated under a hash or merge join -> NESTLOOP(join). Among
// qualifying joins, the one whose error, weighted up when the join or its
// outer input lies in the plan's min-cut bottleneck (rows as work), is
// largest is hinted; the other joins are left to the planner.
#ifndef RUVECTOR_PG_WORKER_HINT_ARMS_H_
#define RUVECTOR_PG_WORKER_HINT_ARMS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "state/plan_advice.h"

namespace ruvector_pg {

/// One node of an executed plan, as the learner needs it.
struct HintNode {
  uint8_t type = 0;     // ruvector_dag::OperatorType
  int16_t parent = -1;  // index of the consumer (nodes in pre-order: node, outer, inner), -1 = top
  uint32_t relset = 0;  // relation set its rows cover (worker/row_corrections.h), 0 = none
  uint8_t relation_count = 0;
  float estimated_rows = 0.0f;
  float actual_rows = -1.0f;  // per loop; < 0 = not measured
};

/// One execution of a pattern's default plan with measured row counts.
struct HintSample {
  uint64_t pattern_key = 0;
  uint32_t database_oid = 0;
  std::vector<uint32_t> relations;  // the relations the plan reads (drift scope)
  /// A node may have stopped early: a count below the estimate proves nothing.
  bool may_stop_early = false;
  std::vector<HintNode> nodes;
};

/// The content of the hint arm for one pattern. `version` grows whenever
/// the hint changes (a bandit must not mix runs of two hints).
struct LearnedHint {
  uint64_t pattern_key = 0;
  uint32_t version = 0;
  HintKind kind = HintKind::kNone;  // kNone = empty (the arm plans like the default)
  uint32_t relset = 0;              // the hinted join's relation set
  uint32_t relation_count = 0;
  float log_error = 0.0f;  // mean log q-error that called for it
  uint32_t observations = 0;
  uint8_t bottleneck = 0;  // the join or its outer input was in the min-cut bottleneck
};

/// Derives fix_worst_join hints from executed plans. Memory is bounded: at
/// most `max_patterns` patterns (the least recently observed goes first) of
/// at most `max_joins_per_pattern` joins each. Deterministic (ordered maps,
/// ties broken by relation-set id). Not thread-safe (the worker's learning
/// pass owns it). Observe is O(nodes^2 + nodes x joins per pattern) plus a
/// min-cut of the plan.
class HintArmLearner {
 public:
  struct Options {
    /// q-error (max(actual/est, est/actual), +1 smoothed) a join needs, as
    /// the geometric mean of its observations.
    double min_q_error = 4.0;
    uint32_t min_observations = 2;
    /// Standard deviation of the log q-error at most this share of the mean's magnitude.
    double max_relative_spread = 0.5;
    /// Newer observations weigh at least 1/window.
    uint32_t window = 16;
    size_t max_patterns = 256;
    size_t max_joins_per_pattern = 32;
  };

  HintArmLearner() : HintArmLearner(Options()) {}
  explicit HintArmLearner(const Options& options);

  /// Learns from one execution of the default plan. Nodes with a
  /// non-positive estimate or no measured rows are skipped; a relation set
  /// joined twice in one plan is ambiguous and skipped.
  void Observe(const HintSample& sample, int64_t now_us);
  /// Forgets what was learned for `pattern_key` (its hint becomes empty).
  void Forget(uint64_t pattern_key);
  /// Forgets every pattern of `database_oid` whose plans read one of
  /// `relations` (all of the database's patterns with `every_relation`).
  void ForgetTouching(uint32_t database_oid, const std::vector<uint32_t>& relations, bool every_relation);

  /// The hint of every pattern that has one, ascending by pattern key.
  std::vector<LearnedHint> Hints() const;
  /// The hint of one pattern (kind kNone when it has none).
  LearnedHint HintOf(uint64_t pattern_key) const;
  /// The patterns whose hint changed (kind or join, or became empty) since
  /// the last call, ascending; clears the list.
  std::vector<uint64_t> TakeChanged();
  /// Bumped whenever Hints() may have changed.
  uint64_t generation() const { return generation_; }
  size_t pattern_count() const { return patterns_.size(); }

 private:
  struct JoinStats {
    uint8_t method = 0;  // OperatorType of the join when last seen
    uint32_t relation_count = 0;
    uint32_t n = 0;
    double mean = 0.0;  // of the deciding log q-error
    double m2 = 0.0;
    double bottleneck = 0.0;  // share of observations in the bottleneck
  };
  struct PatternHints {
    int64_t last_us = 0;
    uint32_t database_oid = 0;
    std::vector<uint32_t> relations;
    std::map<uint32_t, JoinStats> joins;
    LearnedHint current;  // what Hints() reports
  };
  LearnedHint Choose(uint64_t key, const PatternHints& p) const;
  void Refresh(uint64_t key, PatternHints* p);

  Options options_;
  std::map<uint64_t, PatternHints> patterns_;
  std::vector<uint64_t> changed_;
  uint64_t generation_ = 0;
};

/// The PinnedHints the planner applies for `hint` (no hint when kNone).
PinnedHints HintsOfLearned(const LearnedHint& hint);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_HINT_ARMS_H_
