// PG zone: drift detection (drift.cc). Include after shim.h.
#ifndef RUVECTOR_PG_PLANNER_DRIFT_H_
#define RUVECTOR_PG_PLANNER_DRIFT_H_

namespace ruvector_pg {

/// Installs the ProcessUtility hook that reports drift (ANALYZE, DDL,
/// planner settings), chained after the one installed before it.
void InstallDriftHook();

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_PLANNER_DRIFT_H_
