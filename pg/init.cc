// _PG_init: every GUC, the shared-memory request and every hook
// registration of the extension, in one place.
#include "planner/dag_bridge.h"

#include <dlfcn.h>

#include "shim.h"
#include "hot.h"

#include "extension.h"
#include "guard.h"
#include "planner/corrections.h"
#include "planner/drift.h"
#include "planner/learned_hints.h"
#include "planner/plan_hints.h"
#include "planner/steady_runs.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"
#include "worker/foreground.h"
#include "worker/sync_pass.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace ruvector_pg {

RUVECTOR_HOT_DATA bool g_enabled = true;
double g_learning_rate = 0.01;
double g_vector_recall_target = 0.95;
char* g_attention = nullptr;
int g_max_patterns = 10000;
int g_trajectory_capacity = 4096;
bool g_healing_enabled = true;
bool g_hint_arms_enabled = true;
int g_persist_interval_s = 60;
bool g_explain_section = true;
int g_sona_micro_lora_rank = 2;
double g_sona_ewc_lambda = 5000.0;
int g_sona_pattern_clusters = 100;
bool g_loaded_by_preload = false;
int g_exploration_mode = kExplorationOff;
double g_exploration_budget = 0.2;
bool g_steering_enabled = true;
int g_baseline_interval = 16;
RUVECTOR_HOT_DATA int g_debug_fault = kFaultNone;
RUVECTOR_HOT_DATA double g_row_sample_rate = 0.1;
double g_pattern_share = 0.5;

void RequirePreload() {
  if (!g_loaded_by_preload || State() == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag must be loaded via shared_preload_libraries"),
                    errhint("Add 'ruvector_dag' to shared_preload_libraries in postgresql.conf "
                            "(ALTER SYSTEM SET shared_preload_libraries = 'ruvector_dag') and restart the server.")));
  }
}

namespace {

shmem_request_hook_type g_prev_shmem_request = nullptr;
shmem_startup_hook_type g_prev_shmem_startup = nullptr;

void ShmemRequestHook() {
  if (g_prev_shmem_request != nullptr) g_prev_shmem_request();
  RequestSharedMemory();
  RequestSteerMemory();
  RequestForegroundMemory();
  RequestCorrectionsMemory();
  RequestLearnedHintsMemory();
  RequestSyncMemory();
}

void ShmemStartupHook() {
  if (g_prev_shmem_startup != nullptr) g_prev_shmem_startup();
  StartupSharedMemory();
  StartupSteerMemory();
  StartupForegroundMemory();
  StartupCorrectionsMemory();
  StartupLearnedHintsMemory();
  StartupSyncMemory();
}

bool CheckAttention(char** newval, void** extra, GucSource source) {
  if (*newval == nullptr) return false;
  const char* value = *newval;
  bool valid = false;
  PlainStatus st = RunCpp("checking ruvector.dag_attention", [&]() {
    valid = IsValidAttentionName(value);
    return Status::Ok();
  });
  if (!st.ok() || !valid) {
    GUC_check_errdetail("Valid values: auto, topological, causal_cone, critical_path, mincut_gated, "
                        "hierarchical_lorentz, parallel_branch, temporal_btsp.");
    return false;
  }
  return true;
}

bool CheckLearningRate(double* newval, void** extra, GucSource source) {
  if (!(*newval > 0.0 && *newval <= 1.0)) {
    GUC_check_errdetail("ruvector.dag_learning_rate must be in (0, 1].");
    return false;
  }
  return true;
}

bool CheckRecallTarget(double* newval, void** extra, GucSource source) {
  if (!(*newval > 0.0 && *newval <= 1.0)) {
    GUC_check_errdetail("ruvector.dag_vector_recall_target must be in (0, 1].");
    return false;
  }
  return true;
}

void DefineGucs() {
  DefineCustomBoolVariable("ruvector.dag_enabled", "Observe and steer this session's statements (RuVector DAG).",
                           "Off: PostgreSQL's own plans, nothing recorded, no EXPLAIN section, no drift events.",
                           &g_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_learning_rate", "Base learning rate of the worker's value model, in (0, 1].",
                           "Its MicroLoRA adapters learn at twice this rate. Set in postgresql.conf or with ALTER "
                           "SYSTEM: after a reload the worker's running value models take their next step at it; "
                           "a new engine (start, dag_reset_learning, an arm change) starts with it.",
                           &g_learning_rate,
                           0.01, 0.0, 1.0, PGC_SIGHUP, 0, CheckLearningRate, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_vector_recall_target",
                           "Recall@k the learner's vector search settings must reach, in (0, 1].",
                           "A setting is deployed for a vector query pattern only when the lower confidence bound of "
                           "its measured recall is at least this (docs/vector.md).",
                           &g_vector_recall_target, 0.95, 0.0, 1.0, PGC_SIGHUP, 0, CheckRecallTarget, nullptr,
                           nullptr);
  DefineCustomStringVariable("ruvector.dag_attention", "Attention mechanism: 'auto' or one of the seven.",
                             "A session's EXPLAIN uses its value (analysis functions take a mechanism argument); "
                             "the background worker "
                             "pools its value models' embeddings with its own value ('auto': the selector) "
                             "unless dag_set_attention asked otherwise.",
                             &g_attention, "auto", PGC_USERSET, 0, CheckAttention, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.dag_max_patterns", "Maximum number of patterns kept in shared memory.",
                          nullptr, &g_max_patterns, 10000, 16, 1000000, PGC_POSTMASTER, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("ruvector.dag_trajectory_capacity",
                          "Trajectories kept in the shared-memory ring (oldest dropped first).", nullptr,
                          &g_trajectory_capacity, 4096, 16, 262144, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("ruvector.dag_healing_enabled", "Enable self-healing.",
                           "The background worker's healing cycle: detectors, health score and re-validation of "
                           "deployed arms (set in postgresql.conf, applied at the next reload).",
                           &g_healing_enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.dag_persist_interval",
                          "Seconds between state saves by the background worker (0: only at shutdown).", nullptr,
                          &g_persist_interval_s, 60, 0, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("ruvector.dag_explain", "Add a \"RuVector DAG\" section to EXPLAIN (text format).",
                           nullptr, &g_explain_section, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.sona_micro_lora_rank", "Rank of the MicroLoRA adapters of the worker's value models.",
                          "Set in postgresql.conf or with ALTER SYSTEM: it shapes the models, so the next engine "
                          "(start, dag_reset_learning, an arm change) takes it; the running one keeps its rank.",
                          &g_sona_micro_lora_rank, 2, 1, 8, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.sona_ewc_lambda", "EWC++ regularization strength of the worker's value model.",
                           "Read like ruvector.dag_learning_rate (a reload reaches the running models).",
                           &g_sona_ewc_lambda,
                           5000.0, 0.0, 1.0e7, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.sona_pattern_clusters", "Most ReasoningBank pattern clusters of the worker.",
                          "Read like ruvector.sona_micro_lora_rank (the next engine takes it).",
                          &g_sona_pattern_clusters, 100, 1, 10000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  static const struct config_enum_entry kFaults[] = {
      {"none", kFaultNone, false}, {"cpp_exception", kFaultCppException, false}, {"pg_error", kFaultPgError, false},
      {nullptr, 0, false}};
  DefineCustomEnumVariable("ruvector.dag_debug_fault", "Injects failures into the extension (tests only).",
                           "cpp_exception throws inside the C++ zone, pg_error raises an ERROR in the PG zone.",
                           &g_debug_fault, kFaultNone, kFaults, PGC_SUSET, GUC_NOT_IN_SAMPLE, nullptr, nullptr,
                           nullptr);
  DefineCustomBoolVariable("ruvector.dag_hint_arms",
                           "Derive and apply the hint arms' per-pattern hints (fix_worst_join).",
                           "Off: the worker derives no hints and the hint arms plan like the default (never executed).",
                           &g_hint_arms_enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("ruvector.dag_steering",
                           "Plan statements with the arm the learner deployed (or pinned) for their pattern.",
                           "The background worker's own value off also stops the background explorer.",
                           &g_steering_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  static const struct config_enum_entry kExploration[] = {
      {"off", kExplorationOff, false}, {"online", kExplorationOnline, false}, {nullptr, 0, false}};
  DefineCustomEnumVariable("ruvector.dag_exploration",
                           "Whether this session's executions also measure candidate arms: off or online.",
                           "online: a share of the plannings of a pattern (ruvector.dag_exploration_budget) uses "
                           "a candidate arm's plan so that the learner can measure it.",
                           &g_exploration_mode, kExplorationOff, kExploration, PGC_USERSET, 0, nullptr, nullptr,
                           nullptr);
  DefineCustomRealVariable("ruvector.dag_exploration_budget",
                           "Largest share of a pattern's plannings in online-exploring sessions that may use a "
                           "candidate arm.",
                           nullptr, &g_exploration_budget, 0.2, 0.0, 1.0, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.dag_baseline_interval",
                          "While an arm is deployed, every Nth planning uses the default plan to refresh the "
                          "baseline (0 = never).",
                          "The background explorer runs these baselines with the worker's own value; a user's "
                          "statement runs one, with the session's value, only when "
                          "ruvector.dag_exploration_cpu_budget = 0.",
                          &g_baseline_interval, 16, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_row_sample_rate",
                           "Share of observed executions whose per-node row counts are measured (1 = all).",
                           "Latency is measured on every execution; row counting costs a little per row and plan "
                           "node, so it is sampled (deterministically: every round(1/rate)-th execution of a "
                           "session, starting with the first; one that falls on a steady pattern's run its window holds "
                           "moves to a later execution, at the latest the run that ends the window).",
                           &g_row_sample_rate, 0.1, 0.0, 1.0, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.dag_steady_batch",
                          "Most runs of a steady pattern that one trajectory record stands for (1 = a record per "
                          "run).",
                          "A steady pattern is one the learner knows from 64 or more runs, serves PostgreSQL's plan "
                          "and wants nothing captured of. A session records one run of it in each window of at "
                          "most this many runs (or 100 ms) and adds the window's other runs to that record, so run "
                          "counts and latency sums stay exact with fewer records.",
                          &g_steady_batch, 32, 1, 1024, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_pattern_share",
                           "Largest share of the pattern table one role, or one database, may hold while others "
                           "hold patterns too.",
                           "Beyond it, a new pattern of that role or database replaces its own least valuable one.",
                           &g_pattern_share, 0.5, 0.01, 1.0, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_exploration_cpu_budget",
                           "Share of one CPU the background explorer may use to re-execute captured read-only "
                           "statements under candidate arms (0 = no background exploration).",
                           "Measured as the explorer processes' wall time; unused budget accumulates for at most "
                           "30 seconds while users' statements leave a core free, and every run's timeout fits what "
                           "has accumulated.",
                           &g_explore_cpu_budget, 0.1, 0.0, 1.0, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_exploration_min_ms",
                           "Patterns whose default plan runs faster than this (ms) are not explored in the "
                           "background: there is little to gain.",
                           nullptr, &g_explore_min_ms, 1.0, 0.0, 1e6, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.dag_exploration_horizon",
                           "Seconds ahead over which a candidate arm's expected saving is counted against the "
                           "cost of measuring it (0 = every candidate is explored).",
                           "A candidate is explored only while the milliseconds it is expected to save on the "
                           "pattern's runs within this horizon (its observed rate x the horizon) exceed the "
                           "explorer time its trial is expected to cost.",
                           &g_explore_horizon_s, 3600.0, 0.0, 1e7, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  // Pattern sync (docs/sync.md, "In the server"): server-wide, in
  // postgresql.conf; the worker applies a change at the next reload.
  DefineCustomBoolVariable("ruvector.sync_enabled",
                           "Exchange learned patterns with the peer servers in $PGDATA/ruvector_sync.peers over "
                           "NATS JetStream.",
                           "Received patterns are priors (explored first), never deployments.", &g_sync_enabled,
                           false, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("ruvector.sync_nats_urls", "Comma-separated NATS server URLs (nats://host:port).",
                             nullptr, &g_sync_nats_urls, "nats://127.0.0.1:4222", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
                             nullptr, nullptr, nullptr);
  DefineCustomStringVariable("ruvector.sync_node_name",
                             "Name this server's sync identity gets when its keystore is created (informational).",
                             "Taken only when $PGDATA/ruvector_sync.keystore does not exist yet; empty = 'ruvector'.",
                             &g_sync_node_name, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.sync_min_interval", "Shortest time between two sync rounds.", nullptr,
                          &g_sync_min_interval_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.sync_max_interval",
                          "Longest time between two sync rounds (the interval backs off towards it when publishing "
                          "fails).",
                          "Also paces liveness: a server that sent nothing for half of it sends a heartbeat, and a "
                          "peer not heard from for twice it no longer counts toward a proposal's eligible stake.", &g_sync_max_interval_s, 3600, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("ruvector.sync_max_patterns", "Most patterns proposed in one sync round.", nullptr,
                          &g_sync_max_patterns, 100, 1, 10000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("ruvector.sync_pattern_maturity",
                          "How long an arm must have been deployed for a pattern before it is proposed.", nullptr,
                          &g_sync_maturity_s, 300, 0, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.sync_epsilon",
                           "Differential-privacy epsilon spent per proposed pattern (split over its gain and "
                           "execution count).",
                           nullptr, &g_sync_epsilon, 0.1, 0.0, 10.0, PGC_SIGHUP, 0, CheckSyncEpsilon, nullptr,
                           nullptr);
  DefineCustomRealVariable("ruvector.sync_delta",
                           "Differential-privacy delta per proposed pattern: 0 = Laplace noise, > 0 = Gaussian.",
                           nullptr, &g_sync_delta, 0.0, 0.0, 1e-3, PGC_SIGHUP, 0, CheckSyncDelta, nullptr,
                           nullptr);
  DefineCustomRealVariable("ruvector.sync_epsilon_budget",
                           "Total differential-privacy epsilon this server may spend on proposals (the amount "
                           "spent is kept in $PGDATA/ruvector_sync.state across restarts).",
                           nullptr, &g_sync_epsilon_budget, 10.0, 0.001, 1e6, PGC_SIGHUP, 0, nullptr, nullptr,
                           nullptr);
  DefineCustomIntVariable("ruvector.sync_stream_replicas",
                          "Replicas of the JetStream stream when this server creates it (3 for a 3-node cluster).",
                          nullptr, &g_sync_stream_replicas, 1, 1, 5, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable("ruvector.sync_ignore_below",
                           "Reputation stake below which a peer is ignored (every peer starts at 100; a refuted "
                           "proposal takes 30 % of its proposer's stake).",
                           "The default 10 ignores a peer after 7 refuted proposals, 50 after 2; its messages are "
                           "then rejected before they are opened, its proposals are not taken as priors and its "
                           "votes carry no weight.",
                           &g_sync_ignore_below, 10.0, 0.0, 99.0, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  // The required extension ruvector defines settings under the same reserved
  // prefix (ruvector.hnsw_ef_search): load its module so they exist in every
  // backend before anyone sets them.
  load_file("$libdir/ruvector", false);
  MarkGUCPrefixReserved("ruvector");
}

char g_worker_library[BGW_MAXLEN] = "ruvector_dag";

/// Sets g_worker_library to the file this module was loaded from.
void ResolveWorkerLibrary() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&_PG_init), &info) == 0 || info.dli_fname == nullptr) return;
  if (strlen(info.dli_fname) >= sizeof(g_worker_library)) {
    ereport(WARNING, (errmsg("ruvector_dag: the path it was loaded from is longer than %d bytes", BGW_MAXLEN - 1),
                      errdetail("Its background workers load \"ruvector_dag\" from $libdir instead; when that is "
                                "another file they find no shared memory and exit."),
                      errhint("Preload the library by its name or by a shorter path.")));
    return;
  }
  strlcpy(g_worker_library, info.dli_fname, sizeof(g_worker_library));
}

}  // namespace

const char* WorkerLibraryName() { return g_worker_library; }

}  // namespace ruvector_pg

void _PG_init(void) {
  using namespace ruvector_pg;
  // Hooks, shared memory and the worker only exist when the library is
  // preloaded; otherwise every SQL function reports how to fix that.
  if (!process_shared_preload_libraries_in_progress) return;
  g_loaded_by_preload = true;
  DefineGucs();
  g_prev_shmem_request = shmem_request_hook;
  shmem_request_hook = ShmemRequestHook;
  g_prev_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = ShmemStartupHook;
  EnableQueryId();
  InstallHooks();
  InstallCorrectionHooks();
  InstallHintHooks();
  InstallDriftHook();
  ResolveWorkerLibrary();
  RegisterWorker();
}
