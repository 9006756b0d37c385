// PG zone: the steering state's shared memory (steer_state.h placed in
// shared memory under one LWLock) and the steering file
// $PGDATA/ruvector_dag.steering (custom arms and pins).
#include "shim.h"
#include "hot.h"

#include "extension.h"
#include "state/steer_shmem.h"

namespace ruvector_pg {

RUVECTOR_HOT_DATA SteerState* g_steer = nullptr;
LWLock* g_steer_lock = nullptr;

namespace {

constexpr const char* kSteerShmemName = "ruvector_dag steering";
constexpr const char* kSteerTranche = "ruvector_dag_steer";

}  // namespace

void RequestSteerMemory() {
  RequestAddinShmemSpace(sizeof(SteerState));
  RequestNamedLWLockTranche(kSteerTranche, 1);
}

namespace {

constexpr const char* kSteerFile = "ruvector_dag.steering";

/// Reads $PGDATA/ruvector_dag.steering (custom arms and pins) into the new
/// steering state. Postmaster, before any backend: no lock. A missing file
/// is normal; a damaged one gives a WARNING and the built-in arms only.
void LoadSteerFile() {
  StringInfoData buf;
  bool missing = false;
  if (!ReadWholeFile(kSteerFile, 1 << 20, &buf, &missing)) return;
  char error[160] = {0};
  int arms = 0, pins = 0;
  if (!LoadSteerConfig(buf.data, static_cast<size_t>(buf.len), g_steer, error, sizeof(error), &arms, &pins)) {
    ereport(WARNING, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("ruvector_dag: ignoring \"%s\": %s", kSteerFile, error),
                      errdetail("Only the built-in arms are defined and nothing is pinned.")));
  } else {
    ereport(LOG, (errmsg("ruvector_dag: loaded %d custom arms and %d pins from \"%s\"", arms, pins, kSteerFile)));
  }
  pfree(buf.data);
}

}  // namespace

void StartupSteerMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kSteerShmemName, sizeof(SteerState), &found);
  g_steer_lock = &GetNamedLWLockTranche(kSteerTranche)[0].lock;
  g_steer = static_cast<SteerState*>(region);
  if (!found) {
    InitSteerState(g_steer);
    g_steer->worker_procno = -1;
    LoadSteerFile();
  }
  LWLockRelease(AddinShmemInitLock);
}

/// Writes the custom arms and pins to $PGDATA/ruvector_dag.steering (temp
/// file + durable rename) after a change; a failure is a WARNING: the change
/// is active but would not survive a restart.
void SaveSteerFile() {
  LWLockAcquire(g_steer_lock, LW_SHARED);
  size_t size = SteerConfigImage(g_steer, nullptr, 0);
  char* image = static_cast<char*>(palloc(size));
  SteerConfigImage(g_steer, image, size);
  LWLockRelease(g_steer_lock);
  if (!WriteFileDurably(kSteerFile, image, size, WARNING)) {
    ereport(WARNING, (errmsg("ruvector_dag: the arm/pin change is active but will not survive a restart")));
  }
  pfree(image);
}

SteerState* Steer() { return g_steer; }
LWLock* SteerLock() { return g_steer_lock; }

}  // namespace ruvector_pg
