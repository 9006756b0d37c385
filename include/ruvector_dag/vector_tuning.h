// Recall-constrained tuning of vector searches (docs/vector.md, "Learned
// ef_search"): per query pattern, the bookkeeping of measured recall@k and
// latency of each candidate search setting (an HNSW ef_search value, or the
// exact search), and the decision that picks the fastest setting whose
// recall is proven to reach a target.
//
// Recall is measured by the host against the exact result of the same
// statement: recall@k = |candidate rows ∩ exact rows| / k, k = the number of
// rows of the exact result. A setting is *eligible* when it has at least
// `min_samples` recall samples and its recall lower confidence bound
// (RecallLowerBound) is at least the target; the exact search is the
// reference (recall 1 by construction) and is eligible once its latency was
// measured `min_samples` times. Among eligible settings the lowest measured
// latency (geometric mean) wins. Nothing is deployed before every candidate
// still in play has its samples: a setting whose recall was never proven is
// never chosen. The bound counts statements, not rows, so proving 0.95
// takes at least 52 samples: the exact search usually serves first while
// faster settings keep being measured until they prove the target or fail.
//
// Plain data, no allocation, no locking: the structures live in shared
// memory in the PostgreSQL extension; the caller serializes access.
#ifndef RUVECTOR_DAG_VECTOR_TUNING_H_
#define RUVECTOR_DAG_VECTOR_TUNING_H_

#include <cstddef>
#include <cstdint>

namespace ruvector_dag {

/// Candidate settings: indices 0..5 are ef_search 10, 20, 40, 80, 160, 320
/// (ordered: recall and cost grow with ef); index kVectorExact is the exact
/// search (index scans off: distance order computed over every row that
/// passes the filter).
inline constexpr int kVectorEfCount = 6;
inline constexpr int kVectorExact = kVectorEfCount;
inline constexpr int kVectorSettingCount = kVectorEfCount + 1;
inline constexpr uint32_t kVectorEfCandidates[kVectorEfCount] = {10, 20, 40, 80, 160, 320};

/// "ef_search=80" or "exact"; "default" for -1; "?" out of range.
const char* VectorSettingName(int setting);
/// The planner settings of a candidate as "name=value\n" lines:
/// "ruvector.hnsw_ef_search=80\n", or for the exact search
/// "enable_indexscan=off\nenable_indexonlyscan=off\n"; "" for -1.
const char* VectorSettingGucs(int setting);

/// What was measured for one setting of one pattern.
struct VectorSettingStats {
  uint32_t samples = 0;      // recall samples (distinct statements)
  double hits = 0.0;         // sum of |candidate ∩ exact|
  double trials = 0.0;       // sum of k
  double recall_sum = 0.0;   // sum of per-sample recall@k
  double recall_sq = 0.0;    // sum of squares of per-sample recall@k
  uint32_t runs = 0;         // completed runs with a latency
  double log_ms_sum = 0.0;   // sum of ln(latency ms), latency floored at 1 µs
  uint32_t timeouts = 0;     // runs cancelled at their timeout
};

/// Adds one recall sample: `hits` of the exact result's `k` rows were
/// returned (0 <= hits <= k, k >= 1; other values are ignored).
void AddRecallSample(VectorSettingStats* s, double hits, double k);
/// Adds one completed run's latency (ms, >= 0).
void AddLatency(VectorSettingStats* s, double ms);

/// Mean per-sample recall@k (0 without samples).
double MeanRecall(const VectorSettingStats& s);
/// One-sided 95 % lower confidence bound of the mean recall over statements:
/// the smaller of the Wilson score bound with the samples (statements, not
/// rows: the rows of one statement are not independent) as trials, and
/// mean - 1.645 x the standard error of the per-sample recalls. The Wilson
/// bound holds however recall spreads between statements (a recall in
/// [0, 1] with mean p has variance at most p (1 - p)); with every sample
/// perfect it is n / (n + 1.645^2), so proving 0.95 takes 52 statements.
/// 0 without samples.
double RecallLowerBound(const VectorSettingStats& s);
/// The fewest samples, all perfect, whose bound reaches `target`
/// (52 for 0.95, 25 for 0.9); UINT32_MAX for a target of 1 or more.
uint32_t SamplesToProve(double target);
/// Geometric mean latency of the completed runs (0 without runs).
double MeanLatencyMs(const VectorSettingStats& s);

/// Counts how many of the `k` exact rows (hashes; duplicates count as often
/// as they occur) are among the `n` candidate rows. O(k x n); k and n are a
/// LIMIT's rows.
uint32_t RecallHits(const uint64_t* exact, size_t k, const uint64_t* got, size_t n);

struct VectorTuningOptions {
  double target = 0.95;      // recall target, (0, 1]
  uint32_t min_samples = 8;  // recall samples (or exact runs) before a setting is judged
  uint32_t max_timeouts = 2; // an ef_search setting cancelled this often is out of play
  /// The exact search (the reference) is out of play after this many
  /// timeouts: the host doubles its timeout after each one.
  uint32_t max_reference_timeouts = 8;
  /// An ef_search setting that has not proved the target after this many
  /// recall samples is no longer measured.
  uint32_t max_samples = 128;
};

/// The decision for one pattern.
struct VectorDecision {
  /// Setting to deploy, -1 = none (the session's own ef_search).
  int deployed = -1;
  /// Settings still to measure on the next sample (bit i = setting i; the
  /// exact search is always run as the reference and is not in the mask).
  uint32_t measure_mask = 0;
  /// Every candidate still in play has its samples: the decision is final
  /// until new samples move a bound.
  bool settled = false;
  /// No setting reached the target (settled, nothing deployable but exact,
  /// and exact itself could not be measured).
  bool none_meets_target = false;
  /// Settled, and settings besides the deployed one are still measured
  /// because they may yet prove the target and be faster (in
  /// measure_mask).
  bool proving = false;
};

/// Whether setting `i` is eligible under `o` (see the header comment).
bool VectorSettingEligible(const VectorSettingStats* stats, int i, const VectorTuningOptions& o);
/// Decides from the stats of all kVectorSettingCount settings. After the
/// decision settles, the deployed setting keeps being measured (so that
/// more samples can withdraw it), and so does every setting that is faster
/// than the deployed one, has a mean recall at the target but not yet the
/// bound, and fewer than max_samples samples (so that it can prove itself).
VectorDecision DecideVectorSetting(const VectorSettingStats* stats, const VectorTuningOptions& o);

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_VECTOR_TUNING_H_
