// PG zone: the steering state in shared memory (steer_shmem.cc). Include
// after shim.h.
#ifndef RUVECTOR_PG_STATE_STEER_SHMEM_H_
#define RUVECTOR_PG_STATE_STEER_SHMEM_H_

#include "state/steer_state.h"

namespace ruvector_pg {

/// The steering state and its lock (nullptr before StartupSteerMemory and
/// without shared_preload_libraries).
extern SteerState* g_steer;
extern LWLock* g_steer_lock;

/// _PG_init: requests the shared memory and the lock tranche.
void RequestSteerMemory();
/// shmem_startup_hook: places the state; the first process loads the
/// steering file (custom arms and pins).
void StartupSteerMemory();
SteerState* Steer();
LWLock* SteerLock();
/// Writes the custom arms and pins to $PGDATA/ruvector_dag.steering (temp
/// file + durable rename) after a change; a failure is a WARNING: the change
/// is active but would not survive a restart.
void SaveSteerFile();

/// Wakes the background worker (its latch, re-read from the steering state
/// each time: the worker may restart) and polls `done` every millisecond,
/// interruptibly, until it returns true or `timeout_ms` passed. Returns the
/// last answer of `done`. `done` takes its own locks; it must not throw and
/// should hold no object with a destructor (CHECK_FOR_INTERRUPTS may
/// longjmp).
template <typename Done>
bool WakeWorkerUntil(Done&& done, int timeout_ms) {
  for (int waited_ms = 0; waited_ms < timeout_ms; ++waited_ms) {
    if (done()) return true;
    LWLockAcquire(g_steer_lock, LW_SHARED);
    const int procno = g_steer->worker_procno;
    LWLockRelease(g_steer_lock);
    if (procno >= 0) SetLatch(&ProcGlobal->allProcs[procno].procLatch);
    CHECK_FOR_INTERRUPTS();
    pg_usleep(1000L);
  }
  return done();
}

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_STATE_STEER_SHMEM_H_
