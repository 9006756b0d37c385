// How busy the server is with users' statements, so that background
// exploration yields to them (docs/postgres.md, "Background exploration",
// "Foreground first").
//
// Every backend marks its own slot (one cache line, indexed by its PGPROC
// number) while it executes a top-level statement (ExecutorRun of the
// outermost level, including the parallel workers of that statement); only
// it writes its slot, so the hot path is two plain stores with no lock and
// no shared cache line. The background worker counts the marked slots every
// tick and keeps a moving average of that count, which the worker and the
// explorer read before starting a run. The explorer's own statements (and
// its parallel workers) are not counted.
#ifndef RUVECTOR_PG_FOREGROUND_H_
#define RUVECTOR_PG_FOREGROUND_H_

#include <cstdint>

namespace ruvector_pg {

/// From the shared-memory request and startup hooks (postmaster).
void RequestForegroundMemory();
void StartupForegroundMemory();

/// The executor hook's top-level ExecutorRun starts / ends (on every path).
void ForegroundBegin();
void ForegroundEnd();

/// Worker, every tick: samples the user statements executing now and
/// updates the moving average (time constant kForegroundTauSeconds).
void SampleForeground(int64_t now_us);
inline constexpr double kForegroundTauSeconds = 1.0;

/// CPUs this server may use (the postmaster's CPU affinity, at least 1).
int ServerCores();
/// The moving average of user statements executing (0 before the first
/// sample).
double ForegroundBusy();
/// Whether the users' statements leave no core free for the explorer: the
/// average number executing is above the cores minus kMinFreeCore.
bool ForegroundSaturated();
inline constexpr double kMinFreeCore = 0.5;

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_FOREGROUND_H_
