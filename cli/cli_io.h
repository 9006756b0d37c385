// Shared plumbing of the ruvector-dag commands: exit codes, input/output.
#ifndef RUVECTOR_DAG_CLI_CLI_IO_H_
#define RUVECTOR_DAG_CLI_CLI_IO_H_

#include <string>

#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag::cli {

/// Process exit codes: 0 success, 1 internal error, 2 bad input or usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

/// Reads a whole file ("-" = stdin), refusing more than `max_bytes`.
Result<std::string> ReadInput(const std::string& path, size_t max_bytes);
/// Writes `data` to a file ("-" = stdout), replacing it atomically (temp + rename).
Status WriteOutput(const std::string& path, const std::string& data);
/// Reads and parses a plan in any supported format.
Result<QueryDag> LoadDag(const std::string& path, DagFormat* detected);
/// Prints "ruvector-dag: <context>: <message>" on stderr and returns the exit
/// code for the status (2 for input errors, 1 for internal ones).
int ReportError(const std::string& context, const Status& status);

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_CLI_IO_H_
