// Plan steering state in shared memory, as plain data: the arm table (named
// sets of GUC assignments), the decision table the background learner
// publishes (per pattern: deployed arm, the candidate to explore, confidence,
// measured latencies), pins, a query-id filter that lets the planner hook skip
// all steering work for queries nobody steers, learning events and counters.
//
// No PostgreSQL headers: the PG zone (steer_shmem.cc) places this in shared
// memory and holds the steering LWLock around every call; nothing here locks,
// allocates or throws.
#ifndef RUVECTOR_PG_STEER_STATE_H_
#define RUVECTOR_PG_STEER_STATE_H_

#include <cstddef>
#include <cstdint>

#include "state/plan_advice.h"
#include "state/vector_state.h"

namespace ruvector_pg {

inline constexpr int kMaxArms = 16;
inline constexpr int kArmNameLen = 64;
inline constexpr int kArmSettingsLen = 512;  // "guc=value\n" lines
inline constexpr int kMaxPins = 128;
inline constexpr uint32_t kDecisionSlots = 4096;  // power of two
inline constexpr uint32_t kQueryFilterSlots = 8192;  // power of two
inline constexpr int kEventCapacity = 256;
inline constexpr int kCaptureSlots = 64;
inline constexpr int kCaptureTextLen = 8192;
inline constexpr int kCaptureParamsLen = 2048;
inline constexpr int kMaxCaptureParams = 32;
inline constexpr int kMaxExploreJobs = 16;
inline constexpr uint32_t kMaxCaptureFailures = 3;
inline constexpr int kCaptureSearchPathLen = 1024;
inline constexpr int kCaptureRefusalLen = 160;
/// Explorer timeouts: the load factor is at most this; a statement's
/// consecutive timeouts of one arm double its next timeout at most this many
/// times, and never beyond this multiple of the default's latency x load.
inline constexpr double kMaxExploreLoad = 16.0;
inline constexpr uint32_t kMaxTimeoutDoublings = 3;
inline constexpr double kMaxTimeoutDefaultMultiple = 8.0;
/// Most runs of one candidate in one explorer job (Decision::explore_runs).
inline constexpr int kMaxJobRuns = 5;
/// The explorer trusts the value model's latency of a candidate (Decision::
/// predicted_explore_ms) for a run's expected cost down to the best measured
/// latency / this: one wrong prediction moves a capture's rank by at most this
/// factor.
inline constexpr double kMaxPredictedSpeedup = 4.0;

/// The built-in arm that plans with PostgreSQL's settings and the pattern's
/// learned row-count corrections (docs/postgres.md, "Row-count corrections").
inline constexpr int kRowCorrectionsArm = 8;

/// The built-in arm that plans with PostgreSQL's settings and one join-method
/// hint the learner derives per pattern from its executed default plans: at
/// the most misestimated join (weighted by the plan's min-cut bottleneck), the
/// method the misestimate calls for (docs/postgres.md, "Hint arms").
inline constexpr int kFixWorstJoinArm = 9;
/// Built-in arms (custom arms get the ids after them).
inline constexpr int kBuiltinArmCount = 10;
/// Whether `arm` is a built-in arm whose hint content the learner derives per
/// pattern (worker/hint_arms.h).
inline bool IsHintArm(int arm) { return arm == kFixWorstJoinArm; }
/// Whether what `arm` plans is learned on this server (row corrections, hint
/// arms), not only set by the arm's settings: another server would plan "the
/// same arm" with its own content, or with none yet, so pattern sync never
/// proposes it (pg/worker/sync_host.cc PortableArm, docs/sync.md).
inline bool ArmContentIsLocal(int arm) { return arm == kRowCorrectionsArm || IsHintArm(arm); }
/// Which published hint a planning under a hint arm used: its version, kind
/// and hinted join's relation set (all 0: none, the arm planned like the
/// default). A run is learned for the arm only while the stamp is still the
/// published one (planner/learned_hints.h HintStampIsCurrent).
struct HintStamp {
  uint32_t version = 0;
  uint32_t relset = 0;
  uint8_t kind = 0;
  bool operator==(const HintStamp&) const = default;
};

/// One arm: a named set of GUC assignments applied while re-planning.
struct ArmDef {
  char name[kArmNameLen] = {0};
  char settings[kArmSettingsLen] = {0};  // "name=value\n"... ; empty = PostgreSQL default
  uint8_t builtin = 0;
};

/// What the learner decided for one pattern (published by the worker; the
/// run counters are advanced by the backends that plan the pattern).
struct Decision {
  uint64_t key = 0;  // pattern key; 0 = empty slot
  uint64_t query_id = 0;
  uint32_t database_oid = 0;  // whose pattern it is (row visibility)
  uint32_t role_oid = 0;
  int32_t deployed_arm = 0;   // 0 = PostgreSQL's default plan
  int32_t explore_arm = -1;   // candidate to measure next, -1 = none
  double confidence = 0.0;    // the bandit's confidence in the decision, [0,1]
  double default_ms = 0.0;    // geometric mean of arm 0's recent runs (0 = unmeasured)
  double deployed_ms = 0.0;   // same for the deployed arm
  double best_candidate_ms = 0.0;  // fastest measured candidate (0 = none)
  int32_t best_candidate_arm = -1;
  // Advanced by backends (planner hook):
  uint64_t plans = 0;          // plannings in sessions that explore (budget > 0)
  uint64_t explorations = 0;   // plans that ran a candidate arm
  uint64_t since_baseline = 0; // plans since the last baseline check
  // Advanced by the worker (PlanExploreBatch):
  int64_t last_baseline_us = 0;  // when the explorer's last baseline run was planned (0 = never)
  // Published by the worker:
  uint64_t observed_runs = 0;
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  int64_t updated_us = 0;
  int32_t cluster = -1;  // ReasoningBank cluster of the pattern's plan (-1 = not clustered)
  // The engine's view (docs/engine.md):
  /// Value model's latency of explore_arm on the pattern's latest plan (0 =
  /// unknown): an explorer can size that run's timeout with it.
  double predicted_explore_ms = 0.0;
  double predicted_default_ms = 0.0;  // value model's latency of the default plan (0 = unknown)
  double predicted_deployed_ms = 0.0;  // value model's latency of the deployed arm (0 = unknown)
  int32_t prior_arm = -1;  // arm a similar plan of the same owner deployed (-1 = none)
  double tension = 0.0;    // tension of the pattern's executed plans, [0, 1]
  double priority = 0.0;   // exploration priority: time at stake (ms) x (1 + tension)
  /// The engine's value of measuring explore_arm: ms it is expected to save
  /// within its horizon (PatternDecision::explore_gain_ms; 0 = not valued).
  double explore_gain_ms = 0.0;
  // Vector tuning (vector_state.h), published by the worker:
  uint8_t vector_state = kVectorNone;
  int32_t vector_setting = -1;  // deployed search setting (ruvector_dag::kVectorEfCandidates index, exact), -1 = none
  /// Published by the worker: the default plan's latency spreads too widely
  /// for one pattern (docs/postgres.md, "Pattern identity"), so plannings of
  /// this pattern with literal constants become patterns of their constants;
  /// the pattern itself neither explores nor serves an arm.
  uint8_t split = 0;
  /// Runs of explore_arm the learner needs before it can judge the arm
  /// (ruvector_dag::PatternDecision::explore_runs): a job measures up to
  /// this many (kMaxJobRuns) in one go.
  uint8_t explore_runs = 1;
  /// explore_arm is measured for a vote this server owes on a received
  /// proposal (ruvector_dag::PatternDecision::validation; docs/sync.md,
  /// "Validation quota"): only the background explorer runs it, within its
  /// validation credit (ExplorePlan::validation_credit_ms), never a user's
  /// statement.
  uint8_t validation = 0;
  /// Runs of the default plan a verdict on a measured, clearly faster
  /// candidate waits for (ruvector_dag::PatternDecision::default_runs_wanted;
  /// 0 = none): the background explorer measures them on the capture
  /// (CaptureWork 3) instead of leaving them to the pattern's own runs, and
  /// verdict_gain_ms is what that verdict is worth (0 = not valued).
  uint8_t default_runs_wanted = 0;
  double verdict_gain_ms = 0.0;
  /// Published by the worker for a pattern with a deployed arm, while the
  /// split test has not had the data to tell whether its literal constants
  /// matter (docs/postgres.md, "Split by constants"): the hash of the
  /// constants the deployed arm ran with (ConstantGroups::MeasuredConstants);
  /// 0 = no restriction (the split test had its data, constants never
  /// repeat, none, or the pattern is not followed). A planning with other
  /// constants is not served the deployed arm (ChooseArm): it runs
  /// PostgreSQL's plan, and its runs feed the split test.
  uint64_t measured_constants = 0;
};

/// A change that can alter the plans of some patterns, noted by the backend
/// that made it (ProcessUtility hook) for the learner: ANALYZE or DDL of
/// some relations of one database (a statement touching more relations
/// leaves several notices), every relation of one database, or a planner
/// setting changed for the whole server (database 0, every relation).
inline constexpr int kDriftCapacity = 64;
inline constexpr int kDriftRelations = 16;
struct DriftNotice {
  uint64_t seq = 0;  // 1, 2, ...; 0 = empty
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;  // who made the change (row visibility of the drift event)
  int32_t relation_count = 0;  // -1 = every relation
  uint32_t relations[kDriftRelations] = {0};
  double severity = 0.0;
};

struct Pin {
  uint64_t query_id = 0;  // 0 = empty
  int32_t arm = 0;
  uint32_t database_oid = 0;  // the database it steers (0 = every database)
};

/// Plan advice a DBA pinned for one query id in one database
/// (dag_pin(query, advice); docs/postgres.md, "Plan advice"): the SET
/// items as arm settings, the ROWS items resolved to relation sets, and the
/// canonical text. Wins over an arm pin and over the learner.
inline constexpr int kMaxAdvicePins = 64;
struct AdvicePin {
  uint64_t query_id = 0;  // 0 = empty
  uint32_t database_oid = 0;
  char settings[kArmSettingsLen] = {0};  // "name=value\n" lines
  uint32_t rows_count = 0;
  uint32_t relsets[kMaxAdviceRows] = {0};
  uint32_t relation_counts[kMaxAdviceRows] = {0};  // 0 = given by id
  double factors[kMaxAdviceRows] = {0};
  PinnedHints hints;  // the join, scan and LEADING items, resolved
  char text[kAdviceTextLen] = {0};
  // Since the server started (not persisted):
  uint64_t plans = 0;     // plannings that used the advice
  uint64_t failures = 0;  // plannings under it that failed (the default plan was used)
};

/// Query ids with something to steer (so the planner hook copies the query
/// tree for a second planning pass only when it may need one).
inline constexpr uint8_t kFilterDeployedOrPinned = 1;
inline constexpr uint8_t kFilterExploring = 2;
/// Some pattern of the query id is split by constants (Decision::split).
inline constexpr uint8_t kFilterSplit = 4;
struct QueryFilterEntry {
  uint64_t query_id = 0;
  uint8_t flags = 0;
};

enum class LearnEventType : uint32_t { kDeploy = 1, kRevert = 2, kReject = 3, kDrift = 4, kArmsChanged = 5 };
const char* LearnEventName(LearnEventType t);

struct LearnEvent {
  uint64_t seq = 0;
  int64_t at_us = 0;
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  uint32_t database_oid = 0;  // the pattern's database; drift: where it happened (0 = every database)
  uint32_t role_oid = 0;      // the pattern's role; drift: who made the change
  LearnEventType type = LearnEventType::kDeploy;
  int32_t arm = 0;
  double confidence = 0.0;
  double default_ms = 0.0;
  double arm_ms = 0.0;
};

/// A read-only statement captured at execution so that the background
/// explorer can re-execute it under candidate arms: its text (the one
/// statement, not the whole query string), the parameters' types and text
/// values, the session's effective search_path, and who ran it where (the
/// explorer connects as that role to that database, so it can read nothing
/// the user could not). A statement that breaks the re-execution rule
/// (explorer_guard.h) keeps its slot marked unsafe, with the reason, so it is
/// neither captured again nor re-executed while the slot lives.
struct CapturedStatement {
  uint64_t pattern_key = 0;  // 0 = empty slot
  uint64_t query_id = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  int64_t captured_us = 0;
  int64_t last_explored_us = 0;
  uint32_t failures = 0;   // explorer errors other than timeouts
  uint8_t unsafe = 0;      // refused at capture or by the explorer: never re-executed
  /// Consecutive timeouts of `timeout_arm` on this statement (reset by a
  /// completed run of it): each one doubles that arm's next timeout.
  int32_t timeout_arm = -1;
  uint32_t timeout_streak = 0;
  /// The executor time of the captured execution when it ran PostgreSQL's
  /// default plan (0 = unknown): what a run of the default plan of this very
  /// statement takes on the server as the user saw it, the yardstick of the
  /// load probes run on it. (The decision's default latency mixes every
  /// statement of the pattern, which may run apart by their constants.)
  double reference_ms = 0.0;
  /// The pattern key this statement gets once its pattern is split by
  /// constants (the hook's key for its constants: ResolveConstants); 0 when
  /// its plan has no constants, it has no query id or it has parameters (a
  /// generic plan's constants are not those of the explorer's custom-plan
  /// runs). After the split the capture moves to that key
  /// (MoveCaptureToSplitKey).
  uint64_t split_key = 0;
  int32_t nparams = 0;
  uint32_t param_types[kMaxCaptureParams] = {0};
  uint8_t param_null[kMaxCaptureParams] = {0};
  char params[kCaptureParamsLen] = {0};  // the text values, each NUL-terminated, in order
  char search_path[kCaptureSearchPathLen] = {0};  // quoted schema names, comma-separated
  char refusal[kCaptureRefusalLen] = {0};         // why it is unsafe ("" = explorable)
  char text[kCaptureTextLen] = {0};
};

/// One job of the background explorer: run captured statement `capture`
/// under `arm` `runs` times, each cancelled after `timeout_ms` (a timeout is
/// a censored measurement: the arm was at least that slow).
struct ExploreJob {
  int32_t capture = -1;
  uint64_t pattern_key = 0;
  int32_t arm = 0;
  int32_t runs = 0;
  int32_t timeout_ms = 0;
  /// A run of arm 0 whose latency, divided by `expected_ms` (the default's
  /// measured latency), tells the explorer how loaded the server is now.
  uint8_t probe = 0;
  double expected_ms = 0.0;
  /// A vector recall sample (vector_state.h): one run of the exact search
  /// (the reference, its rows kept), then one run of each setting in
  /// `vector_mask`; every run gets `timeout_ms`. `arm` and `runs` unused.
  uint8_t vector = 0;
  uint32_t vector_mask = 0;
};

/// The batch the worker hands to one explorer process (all jobs share its
/// database and role). Written by the worker before the launch, the result
/// fields by the explorer.
struct ExploreRequest {
  uint64_t id = 0;  // 0 = none yet
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  int32_t explorer_pid = 0;  // the running explorer it is handed to (0 = start one)
  int32_t job_count = 0;
  ExploreJob jobs[kMaxExploreJobs];
  int32_t runs_done = 0;
  int32_t timeouts = 0;
  int32_t errors = 0;
  int64_t started_us = 0;
  int64_t finished_us = 0;
  /// Time the explorer waited for a free core (not charged to the budget).
  int64_t yielded_us = 0;
  /// The job the explorer is running (-1: it started none of this batch).
  int32_t running_job = -1;
  /// What the batch's validation jobs (Decision::validation) may cost at
  /// their worst (runs x timeout), charged to the validation credit when the
  /// batch is planned.
  double validation_ms = 0.0;
};

inline constexpr int kHealthRingCapacity = 128;

/// A finding of the healing cycle (anomaly or drift), published by the worker.
struct HealthFindingEntry {
  uint64_t seq = 0;  // 1, 2, ...; 0 = empty
  int64_t at_us = 0;
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  char kind[32] = {0};    // latency_spike, pattern_drift, estimate_drift, ...
  char source[16] = {0};  // anomaly | drift
  double value = 0.0;
  double expected = 0.0;
  double score = 0.0;
};

/// A repair attempt: by the worker's healing cycle or by dag_auto_repair().
struct HealthRepairEntry {
  uint64_t seq = 0;
  int64_t at_us = 0;
  uint64_t pattern_key = 0;
  uint32_t database_oid = 0;  // dag_auto_repair: where and by whom it was run
  uint32_t role_oid = 0;
  char origin[16] = {0};     // worker | auto_repair
  char strategy[32] = {0};
  char action[128] = {0};
  char outcome[24] = {0};
  char rollback[24] = {0};
  char detail[192] = {0};
  int64_t duration_us = 0;
};

/// The health score of the last cycle (docs/healing.md).
struct HealthSummary {
  double score = 1.0;
  double anomaly_component = 1.0;
  double repair_component = 1.0;
  double index_component = 1.0;
  double tension_component = 1.0;
  uint64_t indexes = 0;           // indexes the index component measured (0: not in the score)
  uint64_t tension_patterns = 0;  // patterns the tension component measured (0: not in the score)
  uint64_t repairs_succeeded = 0;
  uint64_t repairs_failed = 0;
  uint64_t detectors = 0;
  uint64_t detectors_flagged = 0;
  uint64_t patterns_monitored = 0;
  uint64_t cycles = 0;
  uint64_t unrepaired = 0;
  int64_t last_cycle_us = 0;
};

struct SteerCounters {
  uint64_t steered_plans = 0;     // plans made under a non-default arm
  uint64_t exploration_plans = 0;
  uint64_t baseline_checks = 0;
  uint64_t pinned_plans = 0;     // plans made under a pinned arm or pinned advice
  uint64_t advice_failures = 0;  // plannings under pinned advice that failed (default plan used)
  uint64_t replan_failures = 0;   // arm re-plans that failed (default plan used)
  uint64_t trajectories_learned = 0;
  uint64_t deployments = 0;
  uint64_t reverts = 0;
  uint64_t drift_notifications = 0;
  uint64_t drift_notices_lost = 0;  // overwritten before the learner read them
  uint64_t decisions_dropped = 0; // patterns not tracked because the table was full
  uint64_t learn_passes = 0;
  uint64_t bank_priors = 0;         // new patterns whose exploration order came from bank neighbours
  uint64_t captures = 0;            // statements captured for background exploration
  uint64_t explorer_launches = 0;   // explorer processes started
  uint64_t explorer_runs = 0;       // statements re-executed under an arm
  uint64_t explorer_timeouts = 0;   // of which cancelled at their timeout (censored)
  uint64_t explorer_errors = 0;     // runs that failed otherwise
  uint64_t explorer_unsafe = 0;     // captures found not re-executable
  int64_t explorer_busy_us = 0;     // wall time explorer processes ran (yielded time excluded)
  uint64_t explorer_yields = 0;     // runs postponed because users' statements occupied the cores
  uint64_t explorer_same_plan = 0;  // candidate arms planned, not run: their plan was the default's
  /// Plannings of a pattern with a deployed arm served PostgreSQL's plan
  /// because their constants were never measured (SteerChoice::unmeasured_constants).
  uint64_t unmeasured_constants_plans = 0;
};

/// The worker engine's value model, published by the worker after each
/// pass (global numbers: no pattern, role or query in them).
inline constexpr int kMechanismNameLen = 32;
inline constexpr int kMechanismReasonLen = 384;
struct ModelStatus {
  char mechanism[kMechanismNameLen] = {0};  // attention mechanism pooling every plan's embedding
  /// Why: forced by which setting, or the selector's held-out error of each
  /// mechanism (docs/postgres.md, dag_status).
  char mechanism_reason[kMechanismReasonLen] = {0};
  uint64_t runs_learned = 0;                // runs the engine learned from (EngineStats)
  double prediction_error = 0.0;            // EWMA of the prequential |predicted - actual| log-latency
  uint8_t measured = 0;                     // 1 once some run was predicted before training
  /// Every mechanism's value model (docs/engine.md, "Mechanism selection"):
  /// lane_count entries, enum order.
  uint8_t lane_count = 0;
  uint8_t lane_mechanism[8] = {0};
  double lane_error[8] = {0};     // held-out error EWMA
  uint64_t lane_runs[8] = {0};    // runs scored
};

/// SteerState::attention_request: what dag_set_attention asked the worker.
inline constexpr uint8_t kAttentionRequestNone = 0;  // none since start: the worker's ruvector.dag_attention
inline constexpr uint8_t kAttentionRequestAuto = 1;  // the selector
inline constexpr uint8_t kAttentionRequestForced = 2;  // + mechanism enum value: forced

struct SteerState {
  uint64_t magic = 0;
  uint32_t arm_count = 0;       // arms[0 .. arm_count-1] are valid; arms[0] = default
  uint64_t arm_generation = 1;  // bumped when arms change (learning restarts)
  uint64_t drift_next_seq = 1;  // ANALYZE / DDL / ALTER SYSTEM notices for the learner
  DriftNotice drift[kDriftCapacity];
  uint64_t learn_generation = 0;  // bumped by dag_reset_learning
  uint64_t learned_through_seq = 0;  // trajectories up to this seq were learned
  uint32_t decision_count = 0;
  int32_t worker_procno = -1;  // the learner's PGPROC number (latch), -1 = not running
  SteerCounters counters;
  ArmDef arms[kMaxArms];
  Pin pins[kMaxPins];
  AdvicePin advice_pins[kMaxAdvicePins];
  uint64_t event_next_seq = 1;
  LearnEvent events[kEventCapacity];
  QueryFilterEntry filter[kQueryFilterSlots];
  /// Bumped (atomically, under the exclusive lock) by every rebuild of
  /// `filter`: a backend caches the flags it read with this number and
  /// trusts the cache, without the lock, while the number is unchanged.
  /// It and the next two fields share a cache line that only rebuilds write
  /// (every backend reads served_generation for every statement).
  alignas(64) uint64_t filter_generation = 0;
  /// Bumped (atomically, by a rebuild of `filter`) when what a planning
  /// serves changed: a deployed arm, a pin, a split by constants or a vector
  /// setting of some query id (`served_digest` is their digest at the last
  /// rebuild). A backend then invalidates its cached plans (prepared
  /// statements, PL/pgSQL), which were planned under the old decisions.
  uint64_t served_generation = 0;
  uint64_t served_digest = 0;
  alignas(64) Decision decisions[kDecisionSlots];
  CapturedStatement captures[kCaptureSlots];
  ExploreRequest explore;
  int32_t explorer_pid = 0;  // the live explorer process (0 = none)
  /// How much slower than their measured latency statements run now (>= 1),
  /// from the explorer's latest probe; scales every timeout.
  double explore_load = 1.0;
  int64_t explore_load_us = 0;  // when it was measured (0 = never)
  /// The explorer's budget saved up (ms of explorer time; negative = owed),
  /// published by the worker.
  double explore_credit_ms = 0.0;
  // Healing (published by the worker's cycle; dag_auto_repair appends repairs).
  HealthSummary health;
  uint64_t healing_requests = 0;  // dag_auto_repair asks for a cycle now
  uint64_t finding_next_seq = 1;
  HealthFindingEntry findings[kHealthRingCapacity];
  /// The worker's repairs. dag_auto_repair's (origin auto_repair: any role
  /// may call it, up to 20 entries a call) have a ring of their own, so that
  /// no role can push the worker's repairs of other roles' patterns out.
  uint64_t repair_next_seq = 1;
  HealthRepairEntry repairs[kHealthRingCapacity];
  uint64_t manual_repair_next_seq = 1;
  HealthRepairEntry manual_repairs[kHealthRingCapacity];
  ModelStatus model;
  uint8_t attention_request = kAttentionRequestNone;  // set by dag_set_attention
  VectorTable vector;  // vector tuning (vector_state.h)
};

/// Initializes `s` with the built-in arms (kBuiltinArmCount).
void InitSteerState(SteerState* s);

/// The steering configuration (custom arms, pins, pinned advice) as a small
/// text image:
///   "ruvector_dag steering 2\n", then "arm <name> <settings>\n" per custom
///   arm, "pin <query id> <arm name> [<database>]\n" per pin and
///   "advice <query id> <database> <rows> <settings> <text>\n" per pinned
///   advice (<rows>: "-" or comma-separated "relset:relations:factor";
///   settings and text percent-encoded outside [A-Za-z0-9_.=-], "-" when
///   empty), then "crc <crc32c of the lines above, hex>\n". A version 1
///   file (no advice) is refused with a message saying so.
/// Writes at most `cap` bytes into `out` and returns the full length (a
/// return value > cap means the buffer was too small).
size_t SteerConfigImage(const SteerState* s, char* out, size_t cap);
/// Parses an image completely (header, every line, the checksum, arm
/// names, that pinned arms exist) and only then replaces the custom arms
/// and pins of `s`; on error `s` is untouched and *error holds a message.
bool LoadSteerConfig(const char* text, size_t len, SteerState* s, char* error, size_t error_cap,
                     int* arms_loaded, int* pins_loaded);

/// Index of arm `name` (case-sensitive), or -1.
int FindArm(const SteerState* s, const char* name);
/// Appends a custom arm (caller validated name and settings). Returns its
/// index, or -1 when the table is full or the name exists.
int AddArm(SteerState* s, const char* name, const char* settings);
/// Removes a custom arm (built-ins cannot be removed): later arms shift down,
/// pins on it are dropped and pins on later arms renumbered. Returns false
/// when absent or built in.
bool RemoveArm(SteerState* s, int index);

Decision* FindDecision(SteerState* s, uint64_t key);
const Decision* FindDecision(const SteerState* s, uint64_t key);
/// Finds or inserts (nullptr when full).
Decision* UpsertDecision(SteerState* s, uint64_t key);
void ClearDecisions(SteerState* s);
/// Removes the decision of `key` (backward-shift deletion keeps every other
/// key reachable). Returns false when absent.
bool RemoveDecision(SteerState* s, uint64_t key);

/// The pinned advice of `query_id` in `database_oid` (exactly), or nullptr.
const AdvicePin* FindAdvicePin(const SteerState* s, uint64_t query_id, uint32_t database_oid);
AdvicePin* FindAdvicePin(SteerState* s, uint64_t query_id, uint32_t database_oid);
/// Stores `pin` (replacing the advice of its query id and database, and
/// removing an arm pin of both); false when the table is full or the query
/// id is 0. Counters start at 0. The caller rebuilds the query filter.
bool SetAdvicePin(SteerState* s, const AdvicePin& pin);
/// Removes the advice of `query_id` in `database_oid`; false when none.
bool RemoveAdvicePin(SteerState* s, uint64_t query_id, uint32_t database_oid);

/// Pin lookup (-1 when not pinned).
int PinnedArm(const SteerState* s, uint64_t query_id, uint32_t database_oid = 0);
/// Pins (or re-pins) query_id to arm; false when the pin table is full.
/// A pin holds in `database_oid` only (0 = every database).
bool SetPin(SteerState* s, uint64_t query_id, int arm, uint32_t database_oid = 0);
/// Removes the pin of `query_id` in `database_oid` (exactly); false when
/// there is none (query id 0 is never pinned).
bool RemovePin(SteerState* s, uint64_t query_id, uint32_t database_oid = 0);

/// The filter flags of query_id (0 when absent). O(1) expected.
uint8_t QueryFilterFlags(const SteerState* s, uint64_t query_id);
/// Rebuilds the filter from decisions and pins (exclusive lock) and bumps
/// filter_generation.
void RebuildQueryFilter(SteerState* s);
/// filter_generation, read atomically (no lock needed).
uint64_t QueryFilterGeneration(const SteerState* s);
/// served_generation, read atomically (no lock needed).
uint64_t ServedGeneration(const SteerState* s);

void AppendEvent(SteerState* s, const LearnEvent& e);
/// Appends a drift notice (the oldest is overwritten); assigns seq.
void AppendDrift(SteerState* s, const DriftNotice& notice);
/// Copies the newest entries of a sequence-numbered ring (entry `seq` sits at
/// (seq - 1) % N; `next_seq` is the next to be written) into `out`, newest
/// first, at most `max_rows`, stopping at the first overwritten slot.
template <typename Entry, int N>
int CopyNewest(const Entry (&ring)[N], uint64_t next_seq, int max_rows, Entry* out) {
  int n = 0;
  for (uint64_t seq = next_seq; seq > 1 && n < max_rows && n < N; --seq) {
    const Entry& e = ring[(seq - 2) % N];
    if (e.seq != seq - 1) break;
    out[n++] = e;
  }
  return n;
}

/// Ring appends (the oldest entry is overwritten); assign seq.
void AppendFinding(SteerState* s, const HealthFindingEntry& e);
/// Appends to the worker's repair ring, or to dag_auto_repair's when
/// e.origin is "auto_repair" (each numbered on its own).
void AppendRepair(SteerState* s, const HealthRepairEntry& e);
/// Copies `src` into a fixed buffer of `cap` bytes (truncated, NUL-terminated).
void CopyBounded(char* dst, size_t cap, const char* src);

/// Trajectory flag bits (TrajectoryRecord::flags) written by the executor
/// hook: the arm the plan was made with (bits 8..11), whether that is known
/// (the plan went through the planner hook of this backend), and why it ran.
inline constexpr uint16_t kTrajectoryExplore = 8;
inline constexpr uint16_t kTrajectoryBaseline = 16;
inline constexpr uint16_t kTrajectoryArmKnown = 32;
/// The explored arm produced PostgreSQL's default plan (same operators, same
/// cost): the run measures arm 0, and the arm cannot beat it.
inline constexpr uint16_t kTrajectorySamePlan = 64;
static_assert(kMaxArms <= 16, "the arm id has 4 bits in TrajectoryRecord::flags");
inline constexpr uint16_t TrajectoryArmBits(int arm) { return static_cast<uint16_t>((arm & 15) << 8); }
inline constexpr int TrajectoryArm(uint16_t flags) { return (flags >> 8) & 15; }

/// The run hit the explorer's timeout: latency_ms is a lower bound.
inline constexpr uint16_t kTrajectoryCensored = 128;
/// Planned under pinned plan advice: measures no arm (the bandits skip it)
/// and its estimates may be corrected (the row-correction learner skips it).
inline constexpr uint16_t kTrajectoryAdvice = 32768;

/// Index of the capture of pattern `key`, or -1. O(kCaptureSlots).
int FindCapture(const SteerState* s, uint64_t key);
/// The capture in slot `idx`, whose pattern was split by constants, becomes
/// the capture of its split key (the same statement, which from now on
/// plans under that key), keeping what the explorer learned about it
/// (timeouts, last run) -- unless it has no split key, is not explorable
/// (unsafe or failing), another capture holds that key, or a batch not
/// finished yet has a job on it (its runs are matched to the slot by
/// pattern key: try again later). Without this, the constants' pattern
/// would wait for its next execution to be captured and for a batch after
/// it. Returns whether it moved. Caller holds the steering lock exclusively.
bool MoveCaptureToSplitKey(SteerState* s, int idx);
/// Whether the learner's decision for pattern `key` rules out capturing it
/// whatever the captures hold: no decision, or neither a candidate arm to
/// explore (with a default plan of at least `min_default_ms`) nor an arm
/// deployed. Changes only when decisions are published (the filter's
/// generation is bumped then).
bool CaptureRuledOut(const SteerState* s, uint64_t key, double min_default_ms);
/// Whether an execution of pattern `key` should be captured: the learner has
/// a candidate arm to explore for it or an arm deployed (whose baseline the
/// explorer refreshes), and it has no capture yet or one older than
/// `refresh_us`.
/// Patterns whose default plan is measured faster than `min_default_ms` are
/// not explored (a deployed arm's capture is still wanted for baselines).
bool CaptureWanted(const SteerState* s, uint64_t key, int64_t now_us, int64_t refresh_us,
                   double min_default_ms = 0.0);
/// The slot for a new capture of `key`: its own, an empty one, else one
/// whose pattern has nothing left to explore and nothing deployed (or was
/// found unsafe), else the oldest. Never fails; the slot is cleared.
/// A role (`role_oid`) that holds half of the slots or more gets one of its
/// own.
CapturedStatement* ClaimCapture(SteerState* s, uint64_t key, uint32_t role_oid = 0);
/// How the worker plans explorer batches (docs/postgres.md, "Background
/// exploration": budget, order, timeouts).
struct ExplorePlan {
  /// A candidate run may take timeout_factor x the latency it must beat
  /// (the deployed arm's, else the default's) x load (+ slack_ms); when the
  /// value model predicts the arm faster, or the credit is short, down to
  /// min_timeout_factor x that latency (a run cut shorter could not show the
  /// arm faster). A baseline run gets twice the factors of the default's
  /// latency.
  double timeout_factor = 2.0;
  double min_timeout_factor = 1.2;
  double slack_ms = 2.0;
  /// Runs of one candidate per job, at least (up to kMaxJobRuns when the
  /// learner needs more to judge the arm; 1 after a timeout or when the
  /// credit is short).
  int runs = 2;
  uint32_t baseline_interval = 16; // plans of a deployed arm between baseline runs (0 = never)
  double min_default_ms = 0.0;     // candidates of patterns whose default is faster are not planned
  /// The explorer time the batch may cost at its worst (every job's runs x
  /// timeout, the load probe included), and the most that can ever be
  /// available (a job that cannot fit even that is not planned); <= 0 =
  /// unlimited.
  double credit_ms = 0.0;
  double max_credit_ms = 0.0;
  /// The explorer's share of one CPU (dag_exploration_cpu_budget): spaces
  /// each pattern's baseline runs (BaselineSpacingUs); <= 0 = no spacing.
  double cpu_budget = 0.0;
  /// The most the batch's validation jobs may cost at their worst (a share
  /// of the explorer's budget: docs/sync.md, "Validation quota"); <= 0 =
  /// none are planned.
  double validation_credit_ms = 0.0;
  /// Only captures of this database and role (0 = any: the owner of the
  /// most valuable job).
  uint32_t only_database = 0;
  uint32_t only_role = 0;
  /// Per capture slot, the pattern's time at stake (ms; nullptr or 0 = its
  /// default latency): what exploring it can save.
  const double* stake_ms = nullptr;
};

/// What exploring a pattern can save, weighted by its tension: the larger of
/// the decision's priority (the engine's time at stake x (1 + tension), as
/// of its last pass) and max(default_ms, `stake_ms`) x (1 + tension) (the
/// pattern table's time at stake, decayed to now). Tension counts once.
double ExploreWeight(const Decision& d, double stake_ms);

/// The value of exploring capture `slot` now, per millisecond of explorer
/// time: baseline runs that are due come first (kBaselineValue); a candidate
/// the engine valued (Decision::explore_gain_ms > 0) is worth (gain - cost) /
/// cost x (1 + seconds waited / 10, at most 60 s), where gain is the engine's
/// expected saving halved per consecutive timeout of that arm on the
/// statement (its lower bound already exceeded the timeout) and cost the
/// job's expected explorer time -- 0 (no work) when the gain does not exceed
/// it; a candidate without the engine's value is worth ExploreWeight x a
/// plausible speed-up (1/2, halved per consecutive timeout) / cost x the same
/// aging. The expected cost is runs x (the value model's latency of the arm x
/// load, no less than the best measured latency x load /
/// kMaxPredictedSpeedup; without a prediction the best measured latency x
/// load), at most the timeout (the timeout after a timeout). Runs of the
/// default that a verdict waits for (Decision::default_runs_wanted) are
/// worth (verdict_gain_ms - cost) / cost x the same aging when the engine
/// valued the verdict, else as an unvalued candidate. 0 = no work.
double ExploreValue(const SteerState* s, int slot, int64_t now_us, const ExplorePlan& plan);
inline constexpr double kBaselineValue = 1e12;

/// The wall time that must pass between two baseline runs of decision `d`
/// planned by the explorer, however often its plannings make one due:
/// kCaptureSlots x the run's expected cost (default_ms x load) / cpu_budget,
/// so one pattern's baselines use at most 1/kCaptureSlots of the budget and a
/// role (at most half of the capture slots) at most half of it -- plannings
/// of its own fast deployed arm cannot keep the explorer on its slow default
/// plan while other roles' candidates wait. 0 when cpu_budget <= 0.
int64_t BaselineSpacingUs(const Decision& d, double cpu_budget, double load);

/// ExplorePlan::credit_ms for an explorer credit of `credit_us`: what is
/// left of it, and when nothing is (a finished batch was just charged, and
/// the credit is spent or owed), kSpentCreditMs -- a credit no job fits --,
/// never the 0 that means "unlimited".
double PlanCreditMs(double credit_us);
inline constexpr double kSpentCreditMs = 1e-3;

/// The (database, role) of the most valuable work (ExploreValue), without
/// changing anything; false when there is none.
bool NextExploreOwner(const SteerState* s, int64_t now_us, const ExplorePlan& plan, uint32_t* database_oid,
                      uint32_t* role_oid);

/// Plans the next explorer batch: the captures of one database and role
/// (plan.only_database / only_role, else the owner of the most valuable
/// work) with work -- a candidate arm to measure or a deployed arm whose
/// baseline is due (`baseline_interval` plans since the last one) --, a
/// measured default and fewer than kMaxCaptureFailures failures, most
/// valuable first (ExploreValue). Each job is `runs` runs of the decision's
/// explore_arm with timeout = ceil(timeout_factor x the best measured
/// latency x load + slack_ms) -- when the value model predicts the arm's
/// latency p, ceil(clamp(timeout_factor x p x load, min_timeout_factor x
/// best x load, timeout_factor x best x load) + slack_ms) on a first attempt
/// (a run that beats the best is never cut) --, or one run of arm 0 with timeout = ceil(2 x
/// timeout_factor x the default's latency x load + slack_ms) when the
/// baseline is due (its counter is reset; the run is a load probe), or,
/// before any run of a candidate, Decision::default_runs_wanted runs of arm 0
/// (at most kMaxJobRuns, the same timeout; load probes too) when a verdict on
/// a measured candidate waits for them and no arm is deployed. `load`
/// is s->explore_load (clamped to [1, kMaxExploreLoad]). A run of an arm
/// whose last runs on that statement timed out gets its timeout doubled per
/// consecutive timeout (at most kMaxTimeoutDoublings times, and not beyond
/// kMaxTimeoutDefaultMultiple x the default's latency x load) and is run once.
/// When the load is above 1 or a job's arm timed out last time and the batch
/// has no baseline run, one run of arm 0 on such a capture is added as a load
/// probe. Every job fits the credit: one that does not is shortened (one
/// run, then a timeout down to the minimum factor), else left for later
/// (and never planned when it cannot fit max_credit_ms) -- except the first
/// trial (not a baseline check nor a validation job) that does not fit while
/// some credit is left: it is planned whole when that overdraws the credit by
/// at most max_credit_ms (owed before the next batch; nothing after it
/// fits). Timeouts are at
/// least 1 ms. Returns the job count (0 = nothing to do now). Marks the
/// chosen captures explored at `now_us`.
int PlanExploreBatch(SteerState* s, int64_t now_us, const ExplorePlan& plan, ExploreRequest* out);

/// A probe (a run of the default plan) took `latency_ms` where the default's
/// measured latency is `expected_ms`: the load is their ratio, clamped to
/// [1, kMaxExploreLoad]; a probe cancelled at its timeout at least doubles
/// the current estimate. Returns the new s->explore_load.
double RecordLoadProbe(SteerState* s, double latency_ms, double expected_ms, bool timed_out, int64_t now_us);
/// Updates a capture's timeout back-off after a run of `arm`: a timeout
/// extends that arm's streak (or starts one), a completed run ends it.
void NoteRunOutcome(CapturedStatement* c, int arm, bool timed_out);

/// What the planner hook should do for a planned pattern.
/// kVectorSample: an explorer run of a vector recall sample (a search
/// setting or the exact search, not an arm).
enum class SteerAction : uint8_t {
  kDefault = 0,
  kServe = 1,
  kExplore = 2,
  kBaselineCheck = 3,
  kPinned = 4,
  kVectorSample = 5
};
const char* SteerActionName(SteerAction a);
struct SteerChoice {
  int arm = 0;
  SteerAction action = SteerAction::kDefault;
  double confidence = 0.0;
  double default_ms = 0.0;
  double arm_ms = 0.0;  // measured mean of the chosen arm (0 = unmeasured)
  int vector = -1;      // vector search setting to apply on top of the arm (-1 = none)
  int advice = -1;      // index of the pinned advice that applies (action kPinned; -1 = none)
  /// PostgreSQL's plan because the planning's constants were never measured
  /// while an arm is deployed (Decision::measured_constants).
  bool unmeasured_constants = false;
};
/// Chooses the arm for one planning of pattern `key` / `query_id` and
/// advances the decision's counters: pinned advice wins (its `plans` is
/// counted), then an arm pin; else an exploration run when
/// `explore_budget` > 0 and explorations stay within that share of the
/// pattern's plans; else the deployed arm, with every `baseline_interval`-th
/// plan serving arm 0 to refresh the baseline -- unless `background_baseline`
/// (the background explorer is on): then the explorer measures the baseline
/// on the pattern's capture and users are always served the deployed arm.
/// A planning whose literal constants (`constants_hash`, PlanIdentity's; 0 =
/// none) differ from Decision::measured_constants is not served the
/// deployed arm (choice.unmeasured_constants). O(1) expected.
SteerChoice ChooseArm(SteerState* s, uint64_t key, uint64_t query_id, double explore_budget,
                      uint32_t baseline_interval, bool background_baseline = false, uint32_t database_oid = 0,
                      uint64_t constants_hash = 0);
/// Adds vector recall samples (ExploreJob::vector) to a batch planned by
/// PlanExploreBatch (`out`, possibly empty): for vector patterns still
/// measuring settings (VectorPattern::measure_mask) whose capture is
/// explorable and newer than the one sampled last, of the batch's database
/// and role (an empty batch takes the owner of the first such capture,
/// restricted to plan.only_database / only_role when set). Each run's
/// timeout is ceil(2 x timeout_factor x the slowest measured latency among
/// the default, the exact search and the settings to run, x load x scale +
/// slack_ms), scale = 4 before the exact search completed once, doubled per
/// timeout of it (at most 6 times); the sample's runs together fit the credit left by the batch,
/// else it waits. Returns the batch's job count.
int PlanVectorJobs(SteerState* s, int64_t now_us, const ExplorePlan& plan, ExploreRequest* out);
/// Worker: re-decides every vector pattern (registered with
/// AddVectorPattern) for `options` and writes the vector fields of their
/// decisions; the bandits' arms are neither explored nor served for them
/// (explore_arm -1, deployed_arm 0: their recall is never measured). Returns
/// whether a decision changed (the query filter must be rebuilt).
bool PublishVectorDecisions(SteerState* s, const ruvector_dag::VectorTuningOptions& options);

/// The capture of `key` exists and the explorer may still run it.
bool CaptureExplorable(const SteerState* s, uint64_t key);

/// The explorer exited before finishing the batch in `s->explore`: one
/// failure for the capture of the job it was running (that statement may be
/// what ended it), or for every capture of the batch when it started no job
/// (it could not connect: the role cannot log in, the database is gone).
/// Captures that were replaced since are not charged. Returns how many were.
int ChargeUnfinishedBatch(SteerState* s);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_STEER_STATE_H_
