// The oracle of `ruvector-dag bench --oracle`: every query run under every
// built-in arm of the extension (ruvector.dag_arms()) by PostgreSQL alone,
// the arm's settings applied with set_config, repeated, median per arm; the
// best arm per query is what a perfect learner could deploy.
#ifndef RUVECTOR_DAG_CLI_BENCH_ORACLE_H_
#define RUVECTOR_DAG_CLI_BENCH_ORACLE_H_

#include <string>
#include <vector>

#include "pg_client.h"
#include "ruvector_dag/status.h"
#include "workload.h"

namespace ruvector_dag::cli {

/// Measurements of one query under every arm.
struct OracleQuery {
  std::vector<double> arm_ms;       // median per arm (the timeout when censored)
  std::vector<bool> arm_timed_out;  // every repeat hit the timeout
  size_t best = 0;                  // index of the fastest arm
  bool results_identical = true;    // every arm returned the default arm's rows
};

struct OracleResult {
  std::vector<std::string> arms;  // names, arms[0] = "default"
  std::vector<OracleQuery> queries;
  double wall_ms = 0.0;
};

/// Measures `queries` under every built-in arm on `conn` (the extension is
/// switched off in that session first). Per query: one warm-up run with the
/// default settings, then `repeats` rounds over the arms in a fixed order,
/// each run limited to max(1 s, 10 x the warm-up). `progress` prints a line
/// per query on stderr when set. Errors other than the timeout end the run.
Result<OracleResult> RunOracle(PgConnection& conn, const std::vector<WorkloadQuery>& queries, int repeats,
                               bool progress);

/// Result rows in a canonical, order-independent form.
std::string SortedRows(const PgRows& rows);

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_BENCH_ORACLE_H_
