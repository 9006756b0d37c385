// Declarations shared by the PG zone files of the extension (include after
// shim.h). GUC variables are defined in init.cc, shared memory in
// state/shmem.cc, hooks in planner/hooks.cc, the worker in worker/worker.cc.
#ifndef RUVECTOR_PG_EXTENSION_H_
#define RUVECTOR_PG_EXTENSION_H_

#include "state/shared_state.h"

namespace ruvector_pg {

// --- GUCs (init.cc) -----------------------------------------------------------
extern bool g_enabled;
extern double g_learning_rate;
extern char* g_attention;
extern int g_max_patterns;
extern int g_trajectory_capacity;
extern bool g_healing_enabled;
extern int g_persist_interval_s;
extern bool g_explain_section;
extern int g_sona_micro_lora_rank;
extern double g_sona_ewc_lambda;
extern int g_sona_pattern_clusters;
extern double g_row_sample_rate;  // ruvector.dag_row_sample_rate
extern double g_pattern_share;    // ruvector.dag_pattern_share
extern double g_vector_recall_target;  // ruvector.dag_vector_recall_target
extern bool g_hint_arms_enabled;       // ruvector.dag_hint_arms

/// Fault injection for tests (ruvector.dag_debug_fault, superuser only):
/// makes the observation hooks and the analysis functions fail on purpose,
/// to prove that failures are contained.
enum DebugFault { kFaultNone = 0, kFaultCppException = 1, kFaultPgError = 2 };
extern int g_debug_fault;

/// True when _PG_init ran from shared_preload_libraries (hooks, shared
/// memory and the worker exist). Otherwise every SQL function raises an
/// error that says how to load the library.
extern bool g_loaded_by_preload;
/// ERROR (SQLSTATE 55000) when not preloaded; call first in SQL functions.
void RequirePreload();
/// The library our background workers name (bgw_library_name): the file
/// this module was preloaded from. A worker's process then finds that copy
/// (PostgreSQL matches a library by its file), whose shared-memory pointers
/// the postmaster set up, even when shared_preload_libraries names a path
/// other than $libdir/ruvector_dag.so; "ruvector_dag" when the path is
/// unknown or longer than BGW_MAXLEN.
const char* WorkerLibraryName();
/// Parses, analyzes and plans the query text of argument `n` (one SELECT,
/// no data-modifying WITH; never executes it), then checks the caller's
/// privileges on the plan exactly as EXPLAIN does (api/sql_functions.cc).
PlannedStmt* PlanQueryText(FunctionCallInfo fcinfo, int n);

// --- shared memory (state/shmem.cc) -------------------------------------------------
void RequestSharedMemory();  // from shmem_request_hook
void StartupSharedMemory();  // from shmem_startup_hook
/// The state (null before startup or when not preloaded).
SharedState* State();
/// The lock around every access to State().
LWLock* StateLock();
/// Writes the state file now ($PGDATA/ruvector_dag.state, via a temporary
/// file and a durable rename). Returns false and logs at `elevel` on I/O
/// errors unless elevel >= ERROR.
bool PersistState(int elevel);
/// Writes `size` bytes to `name` (relative to $PGDATA) durably: a temporary
/// file, fsync, durable rename. Returns false and logs at `elevel` (< ERROR)
/// on failure; the old file stays.
bool WriteFileDurably(const char* name, const char* data, size_t size, int elevel);
/// Records a failed save of `name` (shown by dag_health_check).
void NoteSaveFailure(const char* name, const char* why);
/// Reads a whole regular file of at most `max_bytes` into `out` (palloc'd).
/// Returns false when it is missing (*missing = true) or unreadable, not a
/// regular file (a FIFO, a device, a directory: refused before reading, never
/// waited on) or too large (logged at WARNING; the reason also in `why`).
bool ReadWholeFile(const char* name, size_t max_bytes, StringInfo out, bool* missing, char* why = nullptr,
                   size_t why_cap = 0);
/// The state file's path relative to $PGDATA.
inline constexpr const char* kStateFile = "ruvector_dag.state";
/// Wall clock in Unix epoch microseconds.
int64_t NowUnixMicros();
/// Converts Unix epoch microseconds to a TimestampTz.
TimestampTz UnixMicrosToTimestamp(int64_t us);
/// Counts an internal error that was logged and ignored.
void CountInternalError();

/// CREATE EXTENSION ruvector_dag was run in this database (presence.cc;
/// cached per backend, re-checked after its functions or schema change).
/// Only in a transaction; false outside one.
bool ExtensionCreatedHere();

/// Plans of at most this many nodes are analyzed by the SQL functions and
/// the EXPLAIN section: every analysis is linear in the node count (a
/// 10,000-node plan takes a few MB); the bound keeps one call's memory small
/// whatever the query.
inline constexpr int kMaxAnalyzedNodes = 10000;

// --- hooks (planner/hooks.cc) -----------------------------------------------------------
void InstallHooks();
/// Statements that a DO block or a CALLed procedure runs are nested, as
/// those a function runs: observed and flagged nested, never captured for the
/// background explorer; the explorer yields to the whole block as to one
/// statement. Call BeginProceduralUtility before running such a utility
/// statement and EndProceduralUtility with its result after it, also when it
/// fails.
bool BeginProceduralUtility();
void EndProceduralUtility(bool top);

/// What the last EXPLAIN of this backend observed (filled by the planner and
/// executor hooks while an EXPLAIN runs; read by the EXPLAIN hook).
struct ExplainCapture;

// --- background worker (worker/worker.cc) ------------------------------------------------
void RegisterWorker();
extern "C" PGDLLEXPORT void ruvector_dag_worker_main(Datum arg);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_EXTENSION_H_
