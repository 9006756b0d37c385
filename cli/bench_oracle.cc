// The oracle of `ruvector-dag bench --oracle` (bench_oracle.h).
#include "bench_oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace ruvector_dag::cli {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// "enable_nestloop=off, enable_mergejoin=off" -> set_config calls.
Result<std::string> ArmSql(const std::string& settings) {
  std::string sql;
  size_t pos = 0;
  while (pos < settings.size()) {
    size_t end = settings.find(", ", pos);
    if (end == std::string::npos) end = settings.size();
    std::string kv = settings.substr(pos, end - pos);
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Internal("dag_arms(): unreadable settings: " + settings);
    sql += "SELECT set_config(" + SqlLiteral(kv.substr(0, eq)) + ", " + SqlLiteral(kv.substr(eq + 1)) + ", false);";
    pos = end + 2;
  }
  return sql;
}

constexpr const char* kSessionSql =
    "RESET ALL; SET ruvector.dag_enabled = off; SET ruvector.dag_exploration = off; SET client_min_messages = warning;";

}  // namespace

std::string SortedRows(const PgRows& rows) {
  std::vector<std::string> lines;
  for (const auto& row : rows.rows) {
    std::string l;
    for (size_t i = 0; i < row.size(); ++i) l += (i ? "\t" : "") + row[i];
    lines.push_back(std::move(l));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

Result<OracleResult> RunOracle(PgConnection& conn, const std::vector<WorkloadQuery>& queries, int repeats,
                               bool progress) {
  auto t0 = std::chrono::steady_clock::now();
  OracleResult out;
  // Built-in arms only: user-defined ones may hold settings that change
  // answers (they are the DBA's responsibility, not the oracle's). The arms
  // row_corrections and fix_worst_join are no sets of settings (their plans
  // depend on what was learned per pattern: built-in arms with no settings
  // other than the default), so the oracle, which applies settings, leaves
  // them out.
  RUVECTOR_ASSIGN_OR_RETURN(
      PgRows arms, conn.Exec("SELECT name, settings FROM ruvector.dag_arms() WHERE builtin AND (arm_id = 0 OR "
                             "settings <> '') ORDER BY arm_id"));
  std::vector<std::string> arm_sql;
  for (const auto& row : arms.rows) {
    out.arms.push_back(row.at(0));
    RUVECTOR_ASSIGN_OR_RETURN(std::string s, ArmSql(row.at(1)));
    arm_sql.push_back(std::move(s));
  }
  if (out.arms.empty() || out.arms[0] != "default") {
    return Status::Internal("dag_arms(): the first built-in arm is not 'default'");
  }
  RUVECTOR_ASSIGN_OR_RETURN(PgRows ignored, conn.Exec(kSessionSql));
  (void)ignored;
  const size_t na = out.arms.size();
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    const std::string& sql = queries[qi].sql;
    double warm_ms = 0;
    RUVECTOR_ASSIGN_OR_RETURN(PgRows first, conn.TimedExec(sql, &warm_ms));
    const std::string expected = SortedRows(first);
    const double timeout_ms = std::max(1000.0, 10.0 * warm_ms);
    OracleQuery q;
    std::vector<std::vector<double>> runs(na);
    std::vector<int> timeouts(na, 0);
    for (int rep = 0; rep < repeats; ++rep) {
      for (size_t a = 0; a < na; ++a) {
        RUVECTOR_ASSIGN_OR_RETURN(
            PgRows set, conn.Exec(std::string(kSessionSql) + arm_sql[a] +
                                  fmt::format("SET statement_timeout = {};", static_cast<long>(timeout_ms))));
        (void)set;
        double ms = 0;
        Result<PgRows> r = conn.TimedExec(sql, &ms);
        if (!r.ok()) {
          if (r.status().message().find("statement timeout") == std::string::npos) return r.status();
          ++timeouts[a];
          runs[a].push_back(timeout_ms);
          continue;
        }
        if (SortedRows(*r) != expected) q.results_identical = false;
        runs[a].push_back(ms);
      }
    }
    RUVECTOR_ASSIGN_OR_RETURN(PgRows reset, conn.Exec(kSessionSql));
    (void)reset;
    for (size_t a = 0; a < na; ++a) {
      q.arm_ms.push_back(Median(runs[a]));
      q.arm_timed_out.push_back(timeouts[a] == repeats);
      if (q.arm_ms[a] < q.arm_ms[q.best]) q.best = a;
    }
    if (progress) {
      std::cerr << fmt::format("bench: oracle {}/{} {}: default {:.2f} ms, best {} {:.2f} ms ({:.2f}x)\n", qi + 1,
                               queries.size(), queries[qi].name, q.arm_ms[0], out.arms[q.best], q.arm_ms[q.best],
                               q.arm_ms[0] / std::max(q.arm_ms[q.best], 1e-3));
    }
    out.queries.push_back(std::move(q));
  }
  out.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace ruvector_dag::cli
