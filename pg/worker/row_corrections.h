// Learned row-count corrections (docs/postgres.md, "Row-count corrections"):
// plain data and the learner, no PostgreSQL headers. The PG zone computes a
// relation-set id for every scan and join node of a plan (RelSetAdd over the
// base relations the node's rows cover), the executor measures
// the node's actual rows, and the learner keeps, per pattern and relation
// set, the log of actual / estimated rows. A set whose estimate is off by
// more than a threshold, consistently, gets a correction factor that the
// planner applies when it plans the pattern under the `row_corrections` arm.
// Relation sets are sets of (OID, alias) pairs: see RelKey.
#ifndef RUVECTOR_PG_WORKER_ROW_CORRECTIONS_H_
#define RUVECTOR_PG_WORKER_ROW_CORRECTIONS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace ruvector_pg {

/// The identity of one base relation of a query: its OID and its alias
/// (the range-table entry's name: the table's name unless the query gave
/// another). Both survive re-planning; the alias tells the two sides of a
/// self-join apart.
inline uint64_t RelKey(uint32_t relid, const char* alias) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (const char* p = alias; p != nullptr && *p != '\0'; ++p) {
    h ^= static_cast<unsigned char>(*p);
    h *= 0x100000001b3ull;
  }
  return h ^ (static_cast<uint64_t>(relid) * 0x9e3779b97f4a7c15ull);
}
/// Accumulates one base relation (a RelKey) into a relation-set
/// accumulator. Order-independent (a sum of mixed keys), so the set of
/// relations a join covers gets the same id whatever the join order or plan
/// shape.
inline uint64_t RelSetAdd(uint64_t acc, uint64_t key) {
  uint64_t z = key + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return acc + (z ^ (z >> 31));
}
/// The 32-bit relation-set id of an accumulator; never 0 (0 = no set).
inline uint32_t RelSetId(uint64_t acc) {
  const uint32_t id = static_cast<uint32_t>(acc ^ (acc >> 32));
  return id == 0 ? 1u : id;
}

/// Corrections kept per pattern (the largest errors win).
inline constexpr int kMaxCorrectionsPerPattern = 16;

/// One learned correction: multiply the planner's estimate of the relation
/// set's rows by `factor`.
struct RowCorrection {
  uint32_t relset = 0;
  uint32_t observations = 0;
  float factor = 1.0f;
  float actual_rows = 0.0f;     // geometric mean of the measured rows (per loop)
  float estimated_rows = 0.0f;  // geometric mean of the default estimates
  uint32_t relation_count = 0;  // base relations in the set (0 when unknown)
};

/// The corrections of one pattern (what the worker publishes).
struct PatternCorrections {
  uint64_t pattern_key = 0;
  uint32_t count = 0;
  RowCorrection items[kMaxCorrectionsPerPattern];
};

/// One node measurement of one execution.
struct RowObservation {
  uint32_t relset = 0;
  uint32_t relation_count = 0;
  float estimated_rows = 0.0f;
  float actual_rows = 0.0f;  // per loop
};

/// The measurements of one executed plan, for one pattern.
struct RowSample {
  uint64_t pattern_key = 0;
  uint32_t database_oid = 0;
  /// The relations the plan reads (its drift scope; may be a prefix).
  std::vector<uint32_t> relations;
  /// The execution may have stopped a node early (Limit, Merge Join,
  /// semi/anti joins, subplans, an empty hash table, a cancelled run): a
  /// measured count below the estimate proves nothing then.
  bool may_stop_early = false;
  std::vector<RowObservation> nodes;
};

/// Learns corrections from RowSamples. Memory is bounded: at most
/// `max_patterns` patterns (the least recently observed goes first) of at
/// most `max_sets_per_pattern` relation sets each. Not thread-safe (the
/// worker's learning pass owns it). Observe is O(nodes x sets per pattern)
/// plus O(max_patterns) when a new pattern evicts one.
class RowCorrectionLearner {
 public:
  struct Options {
    /// q-error (max(actual/est, est/actual)) a correction needs, as the
    /// geometric mean of the observations.
    double min_q_error = 4.0;
    /// Observations of the set before it may be corrected.
    uint32_t min_observations = 2;
    /// The observations must agree: their standard deviation of
    /// log(actual/est) at most this share of the mean's magnitude.
    double max_relative_spread = 0.5;
    /// Newer observations weigh at least 1/window (an exponential window
    /// once a set has this many): data changes replace old corrections.
    uint32_t window = 16;
    size_t max_patterns = 512;
    size_t max_sets_per_pattern = 32;
  };

  RowCorrectionLearner() : RowCorrectionLearner(Options()) {}
  explicit RowCorrectionLearner(const Options& options);

  /// Learns from one executed plan. A relation set measured at two nodes of
  /// the same plan (the same tables joined twice) is ambiguous and skipped;
  /// nodes with a non-positive estimate or a negative count are skipped.
  void Observe(const RowSample& sample, int64_t now_us);
  /// Forgets what was learned for `pattern_key` (its estimates changed:
  /// ANALYZE, new statistics, DDL).
  void Forget(uint64_t pattern_key);
  /// Forgets every pattern of `database_oid` whose plans read one of
  /// `relations` (all of the database's patterns with `every_relation`).
  void ForgetTouching(uint32_t database_oid, const std::vector<uint32_t>& relations, bool every_relation);

  /// The corrections of every pattern that has at least one, ascending by
  /// pattern key; per pattern the largest errors first (at most
  /// kMaxCorrectionsPerPattern).
  std::vector<PatternCorrections> Corrections() const;
  /// The corrections of one pattern (count 0 when none).
  PatternCorrections CorrectionsOf(uint64_t pattern_key) const;
  /// Bumped whenever Corrections() may have changed.
  uint64_t generation() const { return generation_; }
  size_t pattern_count() const { return patterns_.size(); }

 private:
  struct SetStats {
    uint32_t n = 0;
    uint32_t relation_count = 0;
    double mean = 0.0;  // of log(actual / estimated)
    double m2 = 0.0;
    double mean_log_actual = 0.0;
    double mean_log_estimated = 0.0;
  };
  struct PatternRows {
    int64_t last_us = 0;
    uint32_t database_oid = 0;
    std::vector<uint32_t> relations;
    std::map<uint32_t, SetStats> sets;
  };
  bool Qualifies(const SetStats& s) const;
  void Update(SetStats* s, double log_q, double log_actual, double log_estimated, uint32_t relation_count);
  void EvictOne();

  Options options_;
  std::map<uint64_t, PatternRows> patterns_;
  uint64_t generation_ = 0;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_ROW_CORRECTIONS_H_
