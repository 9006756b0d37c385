// The one place PostgreSQL headers enter the extension (PG zone files only).
//
// Standard C++ headers come first: PostgreSQL's port.h redefines snprintf,
// printf and friends as macros, which would break <string>, <vector>, ...
// included afterwards. Version differences between PostgreSQL majors live
// here and nowhere else.
#ifndef RUVECTOR_PG_SHIM_H_
#define RUVECTOR_PG_SHIM_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/queryjumble.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "ruvector_dag supports PostgreSQL 15 only (version shims for 16/17 go in pg/shim.h)"
#endif

namespace ruvector_pg {

// --- version shims (PostgreSQL 15) ------------------------------------------

/// Parse analysis with fixed parameter types (renamed in 15 from
/// pg_analyze_and_rewrite).
inline List* AnalyzeAndRewrite(RawStmt* raw, const char* query_string) {
  return pg_analyze_and_rewrite_fixedparams(raw, query_string, nullptr, 0, nullptr);
}

/// Starts a materialized set-returning function (tuplestore + tuple desc).
inline void InitMaterializedResult(FunctionCallInfo fcinfo) { InitMaterializedSRF(fcinfo, 0); }

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_SHIM_H_
