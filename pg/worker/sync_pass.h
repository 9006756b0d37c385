// PG zone: pattern sync in the background worker (sync_pass.cc) and its
// shared memory. Include after shim.h.
#ifndef RUVECTOR_PG_WORKER_SYNC_PASS_H_
#define RUVECTOR_PG_WORKER_SYNC_PASS_H_

#include <vector>

#include "state/sync_state.h"

namespace ruvector_dag {
struct PatternRun;  // ruvector_dag/engine.h
}  // namespace ruvector_dag

namespace ruvector_pg {

struct PlanSample;  // worker/learner.h

// --- settings (init.cc) ---------------------------------------------------------------
extern bool g_sync_enabled;
extern char* g_sync_nats_urls;
extern char* g_sync_node_name;
extern int g_sync_min_interval_s;
extern int g_sync_max_interval_s;
extern int g_sync_max_patterns;
extern int g_sync_maturity_s;
extern double g_sync_epsilon;
extern double g_sync_delta;
extern double g_sync_epsilon_budget;
extern int g_sync_stream_replicas;
extern double g_sync_ignore_below;
/// GUC check hooks (init.cc registers them).
bool CheckSyncEpsilon(double* newval, void** extra, GucSource source);
bool CheckSyncDelta(double* newval, void** extra, GucSource source);

// --- shared memory --------------------------------------------------------------------
void RequestSyncMemory();  // from shmem_request_hook
void StartupSyncMemory();  // from shmem_startup_hook
/// The sync status region and its lock (null before startup).
SyncShared* SyncStatus();
LWLock* SyncLock();

// --- the worker -----------------------------------------------------------------------
/// One step of pattern sync (worker loop): starts, restarts or stops the
/// sync host as the settings and peers file say, then receives, matches,
/// validates and proposes. Never blocks on the network.
void SyncTick();
/// Learning pass: default plans of patterns seen in this pass (their
/// portable identity). Cheap when sync is off.
void SyncObserveDefaultPlans(const std::vector<PlanSample>& plans);
/// Learning pass, after the engine learned `runs`: tallies the per-execution
/// gains pattern sync releases (GainTally, worker lifetime; kept across
/// restarts of sync, started from zero with the worker). Nothing while
/// ruvector.sync_enabled is off.
void SyncObserveRuns(const std::vector<ruvector_dag::PatternRun>& runs);
/// Worker exit: stops the transport thread.
void StopSync();

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_SYNC_PASS_H_
