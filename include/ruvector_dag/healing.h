// Self-healing: streaming anomaly and drift detection, index-health checks,
// predictive intervention from the min-cut tension trend, and repair
// strategies that act through a host-provided executor and report honest
// outcomes (a repair that fails or does not measurably help is "failed" and
// rolled back where possible).
//
// Formulas, thresholds, the health-score definition and the executor contract
// are documented in docs/healing.md.
//
// Thread-safety: every class here is single-threaded (one owner, e.g. the
// background learner) except RepairRunner, whose admission control
// (concurrency limit) may be used from several threads. Nothing here sleeps,
// spawns threads or includes a PostgreSQL header; time comes from an
// injectable Clock.
#ifndef RUVECTOR_DAG_HEALING_H_
#define RUVECTOR_DAG_HEALING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {
namespace healing {

/// Query pattern identity as the host defines it (queryId x param bucket).
using PatternKey = uint64_t;

/// Metric names the built-in strategies measure through
/// RepairExecutor::MeasureMetric besides the detectors' own metric names.
inline constexpr std::string_view kTensionMetric = "tension";                // per pattern, [0,1]
inline constexpr std::string_view kEstimateErrorMetric = "estimate_error";   // per pattern+relation, ln q-error
inline constexpr std::string_view kIndexBloatMetric = "index_bloat_ratio";   // per index
inline constexpr std::string_view kIndexFragmentationMetric = "index_leaf_fragmentation";
inline constexpr std::string_view kIndexRecallMetric = "index_recall";
inline constexpr std::string_view kIndexDeadRatioMetric = "index_dead_ratio";

// ===========================================================================
// Time
// ===========================================================================

/// Source of time in microseconds. Injected so that timeouts and cooldowns
/// are testable without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMicros() const = 0;
};

/// std::chrono::steady_clock. Thread-safe.
class SteadyClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  /// A process-wide instance (never destroyed).
  static const SteadyClock* Default();
};

// ===========================================================================
// What can go wrong
// ===========================================================================

/// The kind of problem an issue describes. For anomaly detectors it is bound
/// to the metric at registration and decides the default tail and which
/// repair strategies apply. Numeric values are stable (append only).
enum class IssueKind : uint8_t {
  kLatencySpike = 0,        // latency far above its recent distribution
  kPatternDrift,            // a pattern's behaviour moved (prediction error, plan shape)
  kMemoryPressure,          // memory use far above normal
  kCacheEvictionStorm,      // cache eviction rate far above normal
  kLearningStall,           // learning progress rate collapsed
  kEstimateDrift,           // ln(actual/estimated rows) went off
  kIndexDegradation,        // index-health check (bloat, recall, dead tuples)
  kRisingTension,           // predictive: min-cut tension heading to crisis
};
/// Stable snake_case name ("latency_spike", ...).
std::string_view IssueKindName(IssueKind kind);

/// Which deviations from the window's centre count as anomalies.
enum class Tail : uint8_t { kUpper, kLower, kBoth };
/// The tail a kind uses unless configured otherwise (latency/memory/cache:
/// upper; learning stall: lower; drifts and estimates: both).
Tail DefaultTail(IssueKind kind);

/// Whether higher or lower values of a metric are better.
enum class Direction : uint8_t { kHigherIsBetter, kLowerIsBetter };

/// What the host attaches to a metric so that an issue can be repaired:
/// the pattern and/or relation/index the metric measures. Empty = unknown.
struct Binding {
  IssueKind kind = IssueKind::kLatencySpike;
  std::optional<PatternKey> pattern;
  std::string relation;  // table name (ANALYZE target)
  std::string index;     // index name (REINDEX target)
};

/// ln((actual + 1) / (estimated + 1)): the signed log q-error of a row
/// estimate, the value to feed an kEstimateDrift detector. 0 = exact.
double LogEstimateError(double actual_rows, double estimated_rows);

// ===========================================================================
// Anomaly detection (streaming z-score over a rolling window)
// ===========================================================================

enum class ValueTransform : uint8_t {
  kNone,
  kLog,  // ln(x); for latencies (log-normal-ish). x <= 0 is rejected.
};

/// Configuration of one AnomalyDetector.
struct AnomalyConfig {
  /// |z| above this flags an anomaly (z of the new value against the window
  /// *before* it is added).
  double z_threshold = 3.0;
  /// Rolling window length (observations).
  size_t window_size = 100;
  /// No decision until the window holds this many observations.
  size_t min_samples = 10;
  /// Median/MAD instead of mean/stddev (robust to heavy tails; insertion is
  /// O(w) memmove + O(log w) search, MAD O(log w); see docs).
  bool robust = false;
  /// Which tail counts; nullopt = DefaultTail(binding kind).
  std::optional<Tail> tail;
  ValueTransform transform = ValueTransform::kNone;
  /// Scale floor: scale = max(scale, min_scale, relative_min_scale*|centre|),
  /// so that a constant window does not turn a rounding difference into an
  /// infinite z. Applied in transformed units.
  double min_scale = 1e-12;
  double relative_min_scale = 1e-9;
  /// Hard limits on the raw value (NaN = off): a value beyond them is an
  /// anomaly regardless of z (e.g. memory > 90 %), also before min_samples.
  double hard_upper = std::numeric_limits<double>::quiet_NaN();
  double hard_lower = std::numeric_limits<double>::quiet_NaN();
};

/// Why an observation was flagged.
enum class AnomalyReason : uint8_t { kZScore, kHardLimit };

/// One anomalous observation.
struct Anomaly {
  uint32_t detector_id = 0;
  std::string metric;
  IssueKind kind = IssueKind::kLatencySpike;
  AnomalyReason reason = AnomalyReason::kZScore;
  double value = 0.0;     // raw observed value
  double expected = 0.0;  // window centre (mean or median), raw units
  double z_score = 0.0;   // signed, in transformed units; 0 for a hard limit before min_samples
  uint64_t sequence = 0;  // index of the observation in the detector's stream (0-based)
};

/// Streaming detector for one metric. Observe is O(1) amortized for the
/// mean/stddev variant (ring buffer with shifted running sums, re-summed
/// exactly every window_size observations to stop floating-point drift);
/// O(w) memmove + O(log w) for the robust variant. Not thread-safe.
class AnomalyDetector {
 public:
  /// Validates `config` (threshold > 0, 2 <= min_samples <= window_size,
  /// window_size <= 1<<24, finite floors).
  static Result<AnomalyDetector> Create(const AnomalyConfig& config,
                                        IssueKind kind = IssueKind::kLatencySpike);

  /// Tests `value` against the current window (which excludes it), then adds
  /// it. Returns the anomaly if flagged. Non-finite values (and x <= 0 under
  /// kLog) are rejected with InvalidArgument and never enter the window.
  Result<std::optional<Anomaly>> Observe(double value);

  /// Window statistics in transformed units (NaN when empty).
  double Center() const;  // mean, or median if robust
  double Scale() const;   // sample stddev, or 1.4826*MAD if robust (floored)
  size_t size() const { return count_; }
  uint64_t observations() const { return observations_; }
  uint64_t anomalies() const { return anomalies_; }
  /// z of the last observation (NaN while fewer than min_samples).
  double last_z() const { return last_z_; }
  const AnomalyConfig& config() const { return config_; }
  IssueKind kind() const { return kind_; }
  Tail tail() const { return tail_; }

  /// Exact (two-pass) mean and sample variance of the current window, in
  /// transformed units; for verifying the running sums. O(w).
  double ExactMean() const;
  double ExactVariance() const;
  /// Running-sum mean and variance (what Observe uses). O(1).
  double RunningMean() const;
  double RunningVariance() const;

 private:
  AnomalyDetector(const AnomalyConfig& config, IssueKind kind);
  void Push(double x);
  void Resum();
  double FlooredScale(double scale, double centre) const;
  double RobustCenter() const;
  double RobustScale() const;

  AnomalyConfig config_;
  IssueKind kind_;
  Tail tail_;
  std::vector<double> ring_;    // insertion order (transformed units)
  size_t head_ = 0;             // next write position
  size_t count_ = 0;
  // mean/stddev variant: sums of (x - shift_) and (x - shift_)^2
  double shift_ = 0.0;
  double sum_ = 0.0;
  double sum_sq_ = 0.0;
  size_t since_resum_ = 0;
  // robust variant: the window, sorted
  std::vector<double> sorted_;
  uint64_t observations_ = 0;
  uint64_t anomalies_ = 0;
  double last_z_ = std::numeric_limits<double>::quiet_NaN();
};

// ===========================================================================
// Drift detection (learning metrics)
// ===========================================================================

struct DriftConfig {
  Direction direction = Direction::kHigherIsBetter;
  /// Reference window (older) and recent window (newer), in observations.
  size_t reference_size = 200;
  size_t recent_size = 50;
  /// Welch t statistic of (recent - reference) needed, in the bad direction.
  double t_threshold = 4.0;
  /// And a minimum relative change |recent-ref|/max(|ref|, abs_floor).
  double min_relative_change = 0.05;
  double abs_floor = 1e-9;
};

/// A detected degradation of a learning metric.
struct Drift {
  uint32_t detector_id = 0;
  std::string metric;
  Direction direction = Direction::kHigherIsBetter;
  double reference_mean = 0.0;
  double recent_mean = 0.0;
  double relative_change = 0.0;  // (recent - reference) / max(|reference|, floor)
  double t_statistic = 0.0;      // Welch t, signed (recent - reference)
  uint64_t sequence = 0;         // observation count when detected
};

/// Two adjacent rolling windows over a metric; reports when the recent one
/// is worse than the reference one (direction-aware) with statistical
/// confidence and a material size. A report re-baselines: both windows are
/// emptied and must refill (reference_size + recent_size observations)
/// before the next report. Observe O(1) amortized, Check O(1). Not
/// thread-safe.
class DriftDetector {
 public:
  static Result<DriftDetector> Create(const DriftConfig& config);
  /// Adds a value (non-finite -> InvalidArgument).
  Status Observe(double value);
  /// The current degradation, if any; reporting one re-baselines.
  std::optional<Drift> Check();
  /// Same test without side effects (no re-baselining).
  std::optional<Drift> Peek() const;
  uint64_t observations() const { return observations_; }
  uint64_t drifts() const { return drifts_; }
  const DriftConfig& config() const { return config_; }
  double ReferenceMean() const;
  double RecentMean() const;

 private:
  explicit DriftDetector(const DriftConfig& config);
  void Resum();

  DriftConfig config_;
  std::vector<double> ring_;  // reference_size + recent_size values
  size_t head_ = 0;
  size_t count_ = 0;
  double shift_ = 0.0;
  double ref_sum_ = 0.0, ref_sq_ = 0.0, rec_sum_ = 0.0, rec_sq_ = 0.0;
  size_t since_resum_ = 0;
  uint64_t observations_ = 0;
  uint64_t drifts_ = 0;
};

// ===========================================================================
// Index health
// ===========================================================================

enum class IndexKind : uint8_t { kBtree, kHash, kGin, kGist, kBrin, kSpgist, kHnsw, kIvfFlat, kOther };
bool IsVectorIndex(IndexKind kind);

/// Measured numbers the host supplies for one index (unknown = nullopt).
struct IndexStats {
  std::string name;
  std::string relation;
  IndexKind kind = IndexKind::kBtree;
  /// Fraction of the index's pages that are free/wasted (0..1), e.g.
  /// pgstatindex/pgstattuple free space.
  std::optional<double> bloat_ratio;
  /// Leaf fragmentation fraction (0..1), e.g. pgstatindex leaf_fragmentation/100.
  std::optional<double> leaf_fragmentation;
  /// Measured recall of the vector index against exact search (0..1).
  std::optional<double> recall_estimate;
  std::optional<double> live_tuples;
  std::optional<double> dead_tuples;
  /// Seconds since the last VACUUM/REINDEX/ANALYZE touching this index.
  std::optional<double> seconds_since_maintenance;
};

struct IndexHealthConfig {
  double bloat_warning = 0.30, bloat_critical = 0.50;
  double fragmentation_warning = 0.30, fragmentation_critical = 0.50;
  double recall_warning = 0.95, recall_critical = 0.90;  // below is bad
  double dead_ratio_warning = 0.10, dead_ratio_critical = 0.20;  // dead/(live+dead)
  double maintenance_warning_seconds = 7.0 * 86400;  // stale maintenance only warns
};

enum class HealthStatus : uint8_t { kHealthy = 0, kWarning = 1, kCritical = 2 };
std::string_view HealthStatusName(HealthStatus status);

/// What to do about an index (ordered by invasiveness).
enum class IndexAction : uint8_t { kVacuum, kAnalyze, kTuneSearch, kReindex };
std::string_view IndexActionName(IndexAction action);

/// One failed check.
struct IndexFinding {
  std::string check;   // "bloat_ratio", "leaf_fragmentation", "recall", "dead_ratio", "maintenance_age"
  double measured = 0.0;
  double threshold = 0.0;
  HealthStatus status = HealthStatus::kHealthy;
  std::string message;
};

struct IndexHealthReport {
  std::string index;
  std::string relation;
  HealthStatus status = HealthStatus::kHealthy;  // worst finding
  std::vector<IndexFinding> findings;
  std::vector<IndexAction> recommendations;  // sorted, unique
  /// 1 healthy, 0.5 warning, 0 critical.
  double score = 1.0;
};

/// Pure function of the measured numbers. Thread-safe (const).
class IndexHealthChecker {
 public:
  explicit IndexHealthChecker(IndexHealthConfig config = {}) : config_(config) {}
  /// InvalidArgument for an unnamed index or a measured number outside its
  /// range (ratios outside [0,1], negative counts/ages, NaN).
  Result<IndexHealthReport> Check(const IndexStats& stats) const;
  const IndexHealthConfig& config() const { return config_; }

 private:
  IndexHealthConfig config_;
};

// ===========================================================================
// Predictive intervention from min-cut tension
// ===========================================================================

struct PredictiveConfig {
  /// Act at this smoothed tension when it is rising.
  double act_threshold = 0.6;
  /// Crisis level: act immediately at or above it; a rising trend projected
  /// to reach it within lookahead_window observations also triggers.
  double crisis_threshold = 0.7;
  /// Re-arm after the smoothed tension falls below this (hysteresis).
  double release_threshold = 0.5;
  /// EWMA weight of the newest value.
  double ewma_alpha = 0.1;
  /// Slope window (least squares over the last n tensions) and horizon.
  size_t lookahead_window = 50;
  /// "Rising" = slope * lookahead_window >= min_rise and the slope's
  /// t statistic (slope / its standard error from the window's residuals)
  /// >= min_slope_t, so that noise over a short window is not a trend.
  double min_rise = 0.05;
  double min_slope_t = 3.0;
  /// No decision before this many observations of a pattern; the trend
  /// rules (kRising, kProjected) also wait for a full lookahead_window.
  size_t min_samples = 10;
};

enum class InterventionReason : uint8_t {
  kRising,     // smoothed >= act_threshold and rising
  kProjected,  // smoothed + slope * lookahead >= crisis and rising
  kCrisis,     // smoothed >= crisis_threshold
};
std::string_view InterventionReasonName(InterventionReason reason);

struct TensionAlert {
  PatternKey pattern = 0;
  InterventionReason reason = InterventionReason::kRising;
  double tension = 0.0;    // latest raw value
  double smoothed = 0.0;   // EWMA
  double slope = 0.0;      // per observation
  double slope_t = 0.0;    // slope / its standard error
  double projected = 0.0;  // smoothed + slope * lookahead_window
  uint64_t sequence = 0;   // index of the pattern's observation (0-based)
};

/// Tension trend of one pattern: EWMA, sliding least-squares slope (O(1)
/// per observation, re-summed periodically) and an armed/engaged state.
class TensionTracker {
 public:
  static Result<TensionTracker> Create(const PredictiveConfig& config);
  /// tension must be finite and in [0,1]. Returns an alert when it fires;
  /// then stays engaged (silent) until smoothed < release_threshold.
  Result<std::optional<TensionAlert>> Observe(PatternKey pattern, double tension);
  double smoothed() const { return ewma_; }
  double slope() const;
  /// slope / standard error of the slope (0 with fewer than 3 samples; +inf
  /// for a noiseless rising window).
  double slope_t() const;
  bool engaged() const { return engaged_; }
  uint64_t observations() const { return observations_; }

 private:
  explicit TensionTracker(const PredictiveConfig& config);
  void Resum();

  PredictiveConfig config_;
  std::vector<double> ring_;
  size_t head_ = 0, count_ = 0;
  double sum_y_ = 0.0, sum_iy_ = 0.0, sum_yy_ = 0.0;  // over window positions 0..count-1 (oldest = 0)
  size_t since_resum_ = 0;
  double ewma_ = 0.0;
  bool engaged_ = false;
  uint64_t observations_ = 0;
};

/// One node of a pattern's minimum cut, as the host describes it.
struct CutNode {
  NodeId id = kInvalidNodeId;
  std::string relation;                    // relation read by the node, if any
  bool seq_scan = false;                   // a sequential scan
  double log_estimate_error = 0.0;         // LogEstimateError(actual, estimated)
  std::vector<std::string> filter_columns;  // for index recommendations (host-filled)
  std::string predicate;                    // the node's filter/condition text, if any
};

/// Describes `ids` (e.g. MinCutResult::cut_nodes) from `dag`: relation,
/// sequential scan or not, LogEstimateError(actual rows, estimated rows)
/// (0 when the node has no actuals), predicate. filter_columns stays empty
/// (no SQL parsing here). NotFound for an id the DAG does not hold. O(k).
Result<std::vector<CutNode>> DescribeCutNodes(const QueryDag& dag, const std::vector<NodeId>& ids);

/// The part of a min-cut analysis healing needs, filled by the host from the
/// mincut module's result (kept as plain data so that healing does not
/// depend on the mincut module): tension = MinCutResult::tension.tension,
/// cut_value = MinCutResult::cut_value, cut_nodes = DescribeCutNodes(dag,
/// MinCutResult::cut_nodes).
struct MincutObservation {
  PatternKey pattern = 0;
  double tension = 0.0;  // [0,1]
  double cut_value = 0.0;
  std::vector<CutNode> cut_nodes;
};

// ===========================================================================
// Repairs
// ===========================================================================

/// Where an issue came from.
enum class IssueSource : uint8_t { kAnomaly, kDrift, kIndexHealth, kPredictive };
std::string_view IssueSourceName(IssueSource source);

/// A problem handed to the repair strategies.
struct HealingIssue {
  IssueSource source = IssueSource::kAnomaly;
  IssueKind kind = IssueKind::kLatencySpike;
  /// The metric a repair should improve (read back through the executor).
  std::string metric;
  Direction direction = Direction::kLowerIsBetter;
  std::optional<PatternKey> pattern;
  std::string relation;
  std::string index;
  double observed = 0.0;  // the anomalous value / recent mean / tension
  double expected = 0.0;  // window centre / reference mean / act threshold
  double score = 0.0;     // z, t or smoothed tension
  uint32_t detector_id = 0;  // for anomaly/drift issues
  std::vector<CutNode> cut_nodes;               // predictive issues
  std::vector<IndexAction> index_recommendations;  // index issues
};

/// Identifies a metric for MeasureMetric.
struct MetricQuery {
  std::string metric;
  std::optional<PatternKey> pattern;
  std::string relation;
  std::string index;
};

struct IndexRecommendationRequest {
  std::string relation;
  std::vector<std::string> columns;  // may be empty: see predicate
  std::string predicate;             // the scan's filter, for the host to derive columns
  std::optional<PatternKey> pattern;
  std::string reason;
};

/// The host's side: the actions repairs perform and the measurements that
/// validate them. In PostgreSQL these run real commands (ANALYZE, REINDEX,
/// shared-memory arm changes); in tests a fake records calls. Called only
/// from the thread running repairs.
class RepairExecutor {
 public:
  virtual ~RepairExecutor() = default;

  /// Bracket each repair; deadline on the runner's clock. Hosts should bound
  /// their work by it (e.g. statement_timeout). Defaults do nothing.
  virtual void BeginRepair(int64_t deadline_micros) { (void)deadline_micros; }
  virtual void EndRepair() {}

  /// Refreshes the planner statistics of `table` (ANALYZE).
  virtual Status AnalyzeTable(std::string_view table) = 0;
  /// True when `pattern` currently runs a non-default arm.
  virtual bool HasNonDefaultArm(PatternKey pattern) const = 0;
  /// Puts `pattern` back on the default arm; returns the arm it ran before.
  virtual Result<std::string> RevertArm(PatternKey pattern) = 0;
  /// Deploys `arm` for `pattern` (used to roll a revert back).
  virtual Status DeployArm(PatternKey pattern, std::string_view arm) = 0;
  /// Forgets what was learned for `pattern`; returns an opaque snapshot
  /// that RestorePattern accepts.
  virtual Result<std::string> ResetPattern(PatternKey pattern) = 0;
  virtual Status RestorePattern(PatternKey pattern, std::string_view snapshot) = 0;
  /// Empties the attention cache.
  virtual Status FlushAttentionCache() = 0;
  /// Rebuilds `index` (REINDEX [CONCURRENTLY]).
  virtual Status Reindex(std::string_view index) = 0;
  /// Records an index recommendation (no DDL); returns its id.
  virtual Result<uint64_t> RecommendIndex(const IndexRecommendationRequest& request) = 0;
  virtual Status WithdrawIndexRecommendation(uint64_t id) = 0;
  virtual bool HasIndexRecommendation(uint64_t id) const = 0;
  /// Measures `query.metric` now (fresh, not a cached observation).
  /// NotFound/Unimplemented when the host cannot measure it.
  virtual Result<double> MeasureMetric(const MetricQuery& query) = 0;
};

/// What a strategy did, with what it needs to undo it.
struct AppliedRepair {
  std::string action;     // human-readable ("ANALYZE orders")
  std::string undo_token;  // previous arm / pattern snapshot / recommendation id
};

/// The verdict of a validation.
struct Validation {
  bool measured = false;  // false: the metric could not be read back
  bool improved = false;
  double before = std::numeric_limits<double>::quiet_NaN();
  double after = std::numeric_limits<double>::quiet_NaN();
  std::string detail;
};

/// One way to repair a kind of issue. Implementations are stateless with
/// respect to a particular repair (all state is in AppliedRepair).
class RepairStrategy {
 public:
  virtual ~RepairStrategy() = default;
  virtual std::string_view Name() const = 0;
  /// Whether this strategy applies to `issue` given the host's state.
  virtual bool CanRepair(const HealingIssue& issue, const RepairExecutor& executor) const = 0;
  /// Expected wall time, for scheduling against the per-cycle budget.
  virtual int64_t EstimatedDurationMicros(const HealingIssue& issue) const = 0;
  /// The repair's target, for cooldowns and history ("table:orders").
  virtual std::string Target(const HealingIssue& issue) const = 0;
  /// Measures the metric the repair should improve (before/after); the
  /// default reads issue.metric for the issue's pattern/relation/index.
  virtual Result<double> Measure(const HealingIssue& issue, RepairExecutor& executor) const;
  virtual Result<AppliedRepair> Repair(const HealingIssue& issue, RepairExecutor& executor) = 0;
  /// Default: improved iff `after` is better than `before` by at least
  /// min_relative_improvement in the issue's direction.
  virtual Validation Validate(const HealingIssue& issue, const AppliedRepair& applied,
                              double before, RepairExecutor& executor,
                              double min_relative_improvement) const;
  virtual bool CanRollback() const = 0;
  /// Undoes `applied`; Unimplemented when CanRollback() is false.
  virtual Status Rollback(const HealingIssue& issue, const AppliedRepair& applied,
                          RepairExecutor& executor) = 0;
};

/// ANALYZE the relation whose row estimates went off (kEstimateDrift with a
/// relation, or a predictive issue whose cut has a node with
/// |log estimate error| >= min_log_error). Not reversible (statistics are
/// replaced); validated on the estimate error.
std::unique_ptr<RepairStrategy> MakeAnalyzeTableStrategy(double min_log_error = 1.3862943611198906 /* ln 4 */);
/// Revert a pattern's deployed arm (latency spike / pattern drift / degrading
/// drift / rising tension with a non-default arm). Rollback redeploys it.
std::unique_ptr<RepairStrategy> MakeRevertArmStrategy();
/// Reset a pattern's learned state (pattern drift, learning stall, degrading
/// drift on a pattern). Rollback restores the snapshot.
std::unique_ptr<RepairStrategy> MakeResetPatternStrategy();
/// Flush the attention cache (cache eviction storm, memory pressure). Not
/// reversible (the cache refills from the plans).
std::unique_ptr<RepairStrategy> MakeFlushAttentionCacheStrategy();
/// REINDEX an index whose health report recommends it. Not reversible;
/// validated on the index metric (e.g. bloat) read back through the executor.
std::unique_ptr<RepairStrategy> MakeReindexStrategy();
/// Recommend an index on a sequentially scanned cut relation of a rising-
/// tension pattern. Advisory: validation checks the recommendation was
/// recorded; rollback withdraws it.
std::unique_ptr<RepairStrategy> MakeRecommendIndexStrategy();

enum class RepairOutcome : uint8_t {
  kSucceeded,      // applied and the metric improved
  kFailed,         // the action returned an error
  kNoImprovement,  // applied, but validation showed no improvement
  kTimedOut,       // took longer than the timeout
  kUnverified,     // applied, but the metric could not be read back
  kRejected,       // not started: concurrency limit reached
};
std::string_view RepairOutcomeName(RepairOutcome outcome);
/// kFailed, kNoImprovement and kTimedOut.
bool IsFailure(RepairOutcome outcome);

enum class RollbackOutcome : uint8_t { kNotNeeded, kRolledBack, kNotSupported, kFailed };
std::string_view RollbackOutcomeName(RollbackOutcome outcome);

/// One repair attempt, as recorded in history.
struct RepairRecord {
  uint64_t id = 0;
  uint64_t cycle = 0;
  std::string strategy;
  std::string target;
  IssueSource source = IssueSource::kAnomaly;
  IssueKind kind = IssueKind::kLatencySpike;
  std::string metric;
  std::string action;
  RepairOutcome outcome = RepairOutcome::kFailed;
  RollbackOutcome rollback = RollbackOutcome::kNotNeeded;
  double before = std::numeric_limits<double>::quiet_NaN();
  double after = std::numeric_limits<double>::quiet_NaN();
  int64_t started_micros = 0;
  int64_t duration_micros = 0;
  int64_t estimated_duration_micros = 0;
  std::string detail;  // error or validation message
};

struct RepairRunnerConfig {
  /// Repairs allowed in flight at once (across threads).
  size_t max_concurrent = 1;
  /// A repair (action + validation) longer than its timeout counts as timed
  /// out: timeout = max(timeout_micros, timeout_multiple * the strategy's
  /// estimated duration), so a REINDEX gets more time than an arm revert.
  int64_t timeout_micros = 30'000'000;
  double timeout_multiple = 4.0;
  /// Validation needs at least this relative improvement.
  double min_relative_improvement = 0.05;
};

/// Runs one repair: admission (concurrency limit), before-measurement,
/// action, timeout check, validation, rollback on failure. Thread-safe
/// admission; the executor is called from the calling thread.
class RepairRunner {
 public:
  /// `clock` must outlive the runner (nullptr = SteadyClock::Default()).
  RepairRunner(RepairRunnerConfig config, const Clock* clock = nullptr);
  RepairRecord Run(RepairStrategy& strategy, const HealingIssue& issue, RepairExecutor& executor);
  size_t in_flight() const { return in_flight_.load(); }
  const RepairRunnerConfig& config() const { return config_; }

 private:
  RepairRunnerConfig config_;
  const Clock* clock_;
  std::atomic<size_t> in_flight_{0};
};

// ===========================================================================
// Orchestrator
// ===========================================================================

struct OrchestratorConfig {
  PredictiveConfig predictive;
  IndexHealthConfig index_health;
  RepairRunnerConfig runner;
  /// Repairs started per cycle (0 = detect only).
  size_t max_repairs_per_cycle = 8;
  /// Sum of strategies' estimated durations allowed per cycle.
  int64_t cycle_budget_micros = 60'000'000;
  /// After a repair of (strategy, target): no new one before this.
  int64_t success_cooldown_micros = 60'000'000;
  int64_t failure_cooldown_micros = 600'000'000;
  /// Bounded buffers.
  size_t max_history = 1000;
  size_t max_pending_anomalies = 4096;
  size_t max_tracked_patterns = 10000;
  /// Health score weights (normalized); see docs/healing.md.
  double weight_anomaly = 0.3, weight_repair = 0.3, weight_index = 0.2, weight_tension = 0.2;
};

using DetectorId = uint32_t;

/// Per-detector statistics.
struct DetectorStats {
  DetectorId id = 0;
  std::string metric;
  std::string type;  // "zscore", "robust_zscore", "drift"
  IssueKind kind = IssueKind::kLatencySpike;
  uint64_t observations = 0;
  uint64_t anomalies = 0;  // anomalous observations, or drifts reported
  double last_value = std::numeric_limits<double>::quiet_NaN();
  double last_score = std::numeric_limits<double>::quiet_NaN();  // last |z| (zscore) / t (drift)
  /// Window centre and scale in transformed units (z-score detectors); for
  /// drift detectors centre = recent mean, reference = reference mean.
  double center = std::numeric_limits<double>::quiet_NaN();
  double scale = std::numeric_limits<double>::quiet_NaN();
  double reference = std::numeric_limits<double>::quiet_NaN();
  uint64_t repairs_attempted = 0, repairs_succeeded = 0, repairs_failed = 0;
};

/// What one run_cycle saw and did.
struct CycleReport {
  uint64_t cycle = 0;
  std::vector<Anomaly> anomalies;         // observations flagged since the last cycle
  uint64_t anomalies_dropped = 0;         // anomalies and tension alerts dropped beyond max_pending_anomalies
  std::vector<Drift> drifts;
  std::vector<TensionAlert> alerts;       // predictive triggers
  std::vector<IndexHealthReport> unhealthy_indexes;
  std::vector<RepairRecord> repairs;      // attempted this cycle
  size_t reactive_repairs = 0;            // attempts for anomaly/drift/index issues
  size_t predictive_interventions = 0;    // attempts for predictive issues
  size_t unrepaired_issues = 0;           // no applicable strategy / cooldown / budget
  size_t succeeded = 0, failed = 0, unverified = 0, rejected = 0;
  double health_score = 1.0;
};

/// Components of the health score (each in [0,1], 1 = healthy).
struct HealthReport {
  double score = 1.0;
  double anomaly_component = 1.0;
  double repair_component = 1.0;
  double index_component = 1.0;
  double tension_component = 1.0;
  uint64_t repairs_succeeded = 0, repairs_failed = 0;  // within history
  size_t detectors = 0, detectors_flagged = 0;          // in the last cycle
  size_t indexes = 0, patterns = 0;
};

/// Registers detectors and strategies, takes observations, and per
/// run_cycle turns what was detected into repairs. Not thread-safe: one
/// owner (the background learner) calls everything. The executor and clock
/// are borrowed and must outlive the orchestrator.
class HealingOrchestrator {
 public:
  /// `executor` may be null (detect only: issues are reported, nothing is
  /// repaired). `clock` null = SteadyClock::Default().
  explicit HealingOrchestrator(OrchestratorConfig config = {}, RepairExecutor* executor = nullptr,
                               const Clock* clock = nullptr);
  ~HealingOrchestrator();
  HealingOrchestrator(const HealingOrchestrator&) = delete;
  HealingOrchestrator& operator=(const HealingOrchestrator&) = delete;

  /// Adds a z-score detector for `metric` (names are unique across anomaly
  /// and drift detectors). Returns its id for the fast Observe(id, v).
  Result<DetectorId> AddDetector(std::string_view metric, const AnomalyConfig& config,
                                 Binding binding = {});
  /// Adds a drift detector bound to `binding` (its kind names the problem a
  /// degradation means, e.g. kPatternDrift).
  Result<DetectorId> AddDriftDetector(std::string_view metric, const DriftConfig& config, Binding binding);
  /// Same, with a kPatternDrift binding to no pattern/relation/index.
  Result<DetectorId> AddDriftDetector(std::string_view metric, const DriftConfig& config);
  /// Strategies are tried in registration order.
  void AddStrategy(std::unique_ptr<RepairStrategy> strategy);
  /// Registers the six built-in strategies in a sensible priority order.
  void AddDefaultStrategies();

  /// Feeds one value. O(log #metrics) name lookup + the detector's cost.
  Status Observe(std::string_view metric, double value);
  /// Fast path by id: O(1) amortized for z-score detectors.
  Status Observe(DetectorId id, double value);
  /// Tension of a pattern (also done by ObserveMincut).
  Status ObserveTension(PatternKey pattern, double tension);
  /// Tension plus the cut's nodes, kept for the pattern's interventions.
  Status ObserveMincut(const MincutObservation& observation);
  /// Latest measured numbers of an index (replaces earlier ones).
  Status ObserveIndex(const IndexStats& stats);

  /// Drains detections into issues, runs repairs within limits, updates
  /// history and the health score.
  Result<CycleReport> RunCycle();

  double HealthScore() const { return health_.score; }
  const HealthReport& Health() const { return health_; }
  /// Oldest first, at most max_history records.
  const std::deque<RepairRecord>& RepairHistory() const { return history_; }
  /// Records the verdict of a repair whose effect could only be measured
  /// later (recorded kUnverified, e.g. a re-validation decided by later
  /// runs): its outcome becomes `outcome` (kSucceeded, kNoImprovement,
  /// kTimedOut or kFailed), `detail` replaces its detail when not empty, and
  /// the health score and its detector's counters follow. kNotFound when
  /// `repair_id` is no longer in the history, kFailedPrecondition when that
  /// repair is not unverified, kInvalidArgument for another outcome.
  Status ResolveRepair(uint64_t repair_id, RepairOutcome outcome, std::string detail = {});
  /// In id order.
  std::vector<DetectorStats> DetectorStatistics() const;
  std::optional<DetectorId> FindDetector(std::string_view metric) const;
  const OrchestratorConfig& config() const { return config_; }
  uint64_t cycles() const { return cycle_; }
  /// Smoothed tension of a tracked pattern.
  std::optional<double> SmoothedTension(PatternKey pattern) const;

 private:
  struct Detector;
  struct PatternState;
  Result<DetectorId> AddEntry(std::string_view metric, std::unique_ptr<Detector> detector);
  void RecordAnomaly(Anomaly anomaly);
  void AttemptRepair(const HealingIssue& issue, CycleReport& report, int64_t& budget_used);
  void ComputeHealth(size_t flagged_detectors);

  OrchestratorConfig config_;
  RepairExecutor* executor_;
  const Clock* clock_;
  RepairRunner runner_;
  IndexHealthChecker index_checker_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  std::map<std::string, DetectorId, std::less<>> by_name_;
  std::vector<std::unique_ptr<RepairStrategy>> strategies_;
  std::map<PatternKey, std::unique_ptr<PatternState>> patterns_;
  std::set<std::pair<uint64_t, PatternKey>> pattern_lru_;  // (last touch, pattern)
  uint64_t pattern_touch_ = 0;
  std::map<std::string, IndexStats, std::less<>> indexes_;
  std::map<std::string, HealthStatus, std::less<>> index_status_;
  std::deque<Anomaly> pending_anomalies_;
  uint64_t dropped_anomalies_ = 0;
  std::vector<TensionAlert> pending_alerts_;
  std::map<std::string, int64_t> cooldown_until_;  // strategy|target -> micros
  std::deque<RepairRecord> history_;
  uint64_t next_repair_id_ = 1;
  uint64_t cycle_ = 0;
  HealthReport health_;
};

}  // namespace healing
}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_HEALING_H_
