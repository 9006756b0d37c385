// PG zone: what the background explorer may re-execute, and with which
// search_path (docs/postgres.md, "What the explorer re-executes").
//
// The explorer re-runs a captured statement as the role that ran it, at times
// nobody chooses, many times. That is safe only when it runs exactly the code
// the user ran, and nothing a less-privileged role can change afterwards. So a
// statement is replayable only when its analyzed and rewritten query trees
// (views expanded, sublinks, CTEs, row-security quals) reference functions,
// operators, types and relations owned by the capturing role or by a superuser
// ("trusted owners"), read no foreign table, call no volatile function, and
// still have the captured query id. The check runs at capture (in the user's
// backend) and again before every re-execution (in the explorer), on the text
// analyzed under the captured search_path.
#ifndef RUVECTOR_PG_EXPLORER_GUARD_H_
#define RUVECTOR_PG_EXPLORER_GUARD_H_

#include "shim.h"

namespace ruvector_pg {

/// The session's effective search_path: the schemas it resolves to now
/// ("$user" expanded, missing schemas dropped, temporary schemas left out:
/// the explorer has none), quoted and comma-separated, "" when empty. False
/// when the text does not fit in `cap` bytes.
bool CurrentSearchPath(char* out, size_t cap);

/// Parses, analyzes and rewrites `text` (fixed parameter types) under the
/// current search_path and applies the re-execution rule for `role` and the
/// captured `query_id`. Returns the rewritten query (the one SELECT) when it
/// may be re-executed, else nullptr with the reason in `why`. Parse and
/// analysis errors are raised (ereport) for the caller to handle.
/// Allocates in CurrentMemoryContext; runs no user code except the input
/// functions of the statement's literals (base types: created by superusers).
Query* AnalyzeForReplay(const char* text, const Oid* param_types, int nparams, Oid role, uint64 query_id,
                        char* why, size_t why_cap);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_EXPLORER_GUARD_H_
