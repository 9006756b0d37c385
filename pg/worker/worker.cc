// PG zone: the background worker. It learns from new trajectories every
// 50 ms (learn_pass.cc), starts background explorers within the CPU budget
// (explorer.cc), and persists the shared state periodically
// (ruvector.dag_persist_interval) when something changed, and once more when
// asked to shut down.
#include "shim.h"

extern "C" {
#include "postmaster/interrupt.h"
}

#include "extension.h"
#include "guard.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"
#include "worker/learn_pass.h"
#include "worker/sync_pass.h"

namespace ruvector_pg {

void RegisterWorker() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 10;
  strlcpy(worker.bgw_library_name, WorkerLibraryName(), BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "ruvector_dag_worker_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "ruvector_dag state persister", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "ruvector_dag", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

namespace {

/// A cheap fingerprint of the state: when it is unchanged there is nothing
/// new to write.
uint64_t Fingerprint() {
  SharedState* s = State();
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t f = s->counters.executions_observed * 1000003u + s->counters.plans_observed * 31u + s->generation +
               RingNextSeq(s) * 7u;
  LWLockRelease(StateLock());
  return f;
}

void Heartbeat() {
  SharedState* s = State();
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  s->worker_pid = MyProcPid;
  s->worker_heartbeat_us = NowUnixMicros();
  LWLockRelease(StateLock());
}

/// Runs one step of the worker's loop; an error is logged (naming `what`),
/// our locks are released and the worker carries on.
void RunStep(const char* what, void (*step)(), MemoryContext cxt) {
  PG_TRY();
  {
    step();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    ereport(LOG, (errmsg("ruvector_dag worker: %s failed: %s", what,
                         edata->message != nullptr ? edata->message : "(no message)")));
    FreeErrorData(edata);
    if (LWLockHeldByMe(StateLock())) LWLockRelease(StateLock());
    if (LWLockHeldByMe(SteerLock())) LWLockRelease(SteerLock());
    CountInternalError();
  }
  PG_END_TRY();
}

/// Learns every new trajectory (in passes of 8192).
void LearnAll() {
  while (LearnStep(8192) >= 8192) {
    CHECK_FOR_INTERRUPTS();
  }
}

}  // namespace

extern "C" PGDLLEXPORT void ruvector_dag_worker_main(Datum arg) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  if (State() == nullptr) {
    // This process loaded a copy of the library that the postmaster did not
    // set up (WorkerLibraryName): it cannot do anything and is restarted.
    ereport(WARNING, (errmsg("ruvector_dag worker: shared state missing; exiting"),
                      errdetail("The worker runs the library \"%s\", which was not the one preloaded.",
                                WorkerLibraryName()),
                      errhint("Preload ruvector_dag by its name, or by the path of the installed file.")));
    proc_exit(1);
  }
  MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "ruvector_dag worker", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(cxt);
  ereport(LOG, (errmsg("ruvector_dag worker started (persist interval %d s)", g_persist_interval_s)));
  uint64_t saved = Fingerprint();
  int64_t last_save = NowUnixMicros();
  while (!ShutdownRequestPending) {
    Heartbeat();
    // The learner drains new trajectories every 50 ms (dag_learn_now sets the
    // latch to make it run at once).
    long timeout_ms = 50;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      ApplyModelSettings();
    }
    if (ShutdownRequestPending) break;
    RunStep("learning step", &LearnAll, cxt);
    MemoryContextReset(cxt);
    RunStep("exploration step", &ExplorerTick, cxt);
    MemoryContextReset(cxt);
    RunStep("pattern sync step", &SyncTick, cxt);
    int64_t now = NowUnixMicros();
    if (g_persist_interval_s > 0 && now - last_save >= int64_t{1000000} * g_persist_interval_s) {
      uint64_t f = Fingerprint();
      // Learning changes only with new trajectories, which change f.
      if (f != saved && PersistState(WARNING) && PersistLearner(WARNING)) saved = f;
      last_save = now;
    }
    MemoryContextReset(cxt);
  }
  StopExplorer();
  StopSync();
  PersistState(LOG);
  PersistLearner(LOG);
  LWLockAcquire(StateLock(), LW_EXCLUSIVE);
  State()->worker_pid = 0;
  LWLockRelease(StateLock());
  proc_exit(0);
}

}  // namespace ruvector_pg
