// The bundled synthetic workloads of `ruvector-dag demo` and `bench`:
// deterministic data generated in SQL (no downloads) whose default plans are
// bad for real reasons, and a set of queries PostgreSQL already plans well.
// Documented in docs/demo.md.
#ifndef RUVECTOR_DAG_CLI_WORKLOAD_H_
#define RUVECTOR_DAG_CLI_WORKLOAD_H_

#include <string>
#include <vector>

namespace ruvector_dag::cli {

struct WorkloadQuery {
  std::string name;    // short label (Q1, ...)
  std::string reason;  // why PostgreSQL misplans it (or "planned well")
  std::string sql;
  std::string family = "";  // sibling group (same tables and joins), if any
  bool late = false;        // a sibling held back by `bench --siblings-from`
};

/// Version of the generated data (the demo regenerates when it changes).
inline constexpr int kWorkloadDataVersion = 1;

/// SQL that (re)creates the tables of both workloads in the current
/// database and ANALYZEs them. Deterministic; about 250k rows.
std::string WorkloadSchemaSql();
/// Queries whose default plans are bad: correlated predicates that the
/// planner multiplies into a 1-row estimate, so it picks nested loops.
std::vector<WorkloadQuery> MisestimationQueries();
/// Queries PostgreSQL plans well (point lookups, selective index scans,
/// aggregates with accurate estimates).
std::vector<WorkloadQuery> WellPlannedQueries();

/// The SET commands of a learning session: the extension on, and either the
/// server's background explorer measures candidates (`online` false: the
/// session itself never explores) or the session's own executions explore
/// within `budget` (a share of each pattern's executions).
std::string LearningSessionSql(bool online, double budget);

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_WORKLOAD_H_
