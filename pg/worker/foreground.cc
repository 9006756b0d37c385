// PG zone: per-backend "executing a user statement" marks and their moving
// average (foreground.h).
#include "worker/foreground.h"

#include <sched.h>
#include <unistd.h>

#include "shim.h"
#include "hot.h"

extern "C" {
#include "storage/proc.h"
#include "storage/shmem.h"
}

#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"

namespace ruvector_pg {
namespace {

constexpr const char* kForegroundShmemName = "ruvector_dag foreground";

/// One backend's mark: its pid while it executes a top-level statement, 0
/// otherwise. A slot of its own cache line, written only by that backend.
struct alignas(64) ForegroundSlot {
  volatile int32_t pid;
};

struct ForegroundState {
  int32_t slot_count;
  int32_t cores;
  /// Written by the worker only, read by the explorer (an aligned double:
  /// never torn on the platforms PostgreSQL 15 runs on with 8-byte atomics).
  volatile double busy;
  int64_t sampled_us;
  ForegroundSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

RUVECTOR_HOT_DATA ForegroundState* g_foreground = nullptr;
RUVECTOR_HOT_DATA int g_my_slot = -1;  // the slot this backend marked (-1 = none)

int SlotCount() { return MaxBackends + NUM_AUXILIARY_PROCS; }

size_t ForegroundSize() {
  return add_size(offsetof(ForegroundState, slots), mul_size(sizeof(ForegroundSlot), SlotCount()));
}

int CountCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

void RequestForegroundMemory() { RequestAddinShmemSpace(ForegroundSize()); }

void StartupForegroundMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  g_foreground = static_cast<ForegroundState*>(ShmemInitStruct(kForegroundShmemName, ForegroundSize(), &found));
  if (!found) {
    memset(static_cast<void*>(g_foreground), 0, ForegroundSize());
    g_foreground->slot_count = SlotCount();
    g_foreground->cores = CountCores();
  }
  LWLockRelease(AddinShmemInitLock);
}

RUVECTOR_HOT void ForegroundBegin() {
  if (g_foreground == nullptr || g_in_explorer || MyProc == nullptr) return;
  const int slot = MyProc->pgprocno;
  if (slot < 0 || slot >= g_foreground->slot_count) return;
  // A parallel worker of the explorer's statement is the explorer's work.
  if (IsParallelWorker() && MyProc->lockGroupLeader != nullptr && Steer() != nullptr &&
      MyProc->lockGroupLeader->pid == Steer()->explorer_pid) {
    return;
  }
  g_foreground->slots[slot].pid = MyProcPid;
  g_my_slot = slot;
}

RUVECTOR_HOT void ForegroundEnd() {
  if (g_my_slot < 0) return;
  g_foreground->slots[g_my_slot].pid = 0;
  g_my_slot = -1;
}

void SampleForeground(int64_t now_us) {
  if (g_foreground == nullptr || ProcGlobal == nullptr) return;
  // A mark counts while its backend still owns the PGPROC (a backend that
  // exited in the middle of a statement leaves a stale pid behind).
  const int procs = std::min<int>(g_foreground->slot_count, static_cast<int>(ProcGlobal->allProcCount));
  int running = 0;
  for (int i = 0; i < procs; ++i) {
    const int32_t pid = g_foreground->slots[i].pid;
    if (pid != 0 && pid == ProcGlobal->allProcs[i].pid) ++running;
  }
  const double dt = g_foreground->sampled_us == 0 ? 1e9 : static_cast<double>(now_us - g_foreground->sampled_us) / 1e6;
  const double alpha = dt > 0.0 ? 1.0 - std::exp(-dt / kForegroundTauSeconds) : 0.0;
  g_foreground->busy = g_foreground->busy + alpha * (static_cast<double>(running) - g_foreground->busy);
  g_foreground->sampled_us = now_us;
}

int ServerCores() { return g_foreground != nullptr && g_foreground->cores > 0 ? g_foreground->cores : 1; }

double ForegroundBusy() { return g_foreground != nullptr ? g_foreground->busy : 0.0; }

bool ForegroundSaturated() { return ForegroundBusy() > static_cast<double>(ServerCores()) - kMinFreeCore; }

}  // namespace ruvector_pg
