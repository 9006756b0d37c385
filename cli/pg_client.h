// A small libpq client for the commands that talk to PostgreSQL (demo,
// bench), and a private PostgreSQL cluster managed by the demo. Errors are
// Status values naming what failed; nothing throws.
#ifndef RUVECTOR_DAG_CLI_PG_CLIENT_H_
#define RUVECTOR_DAG_CLI_PG_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ruvector_dag/status.h"

struct pg_conn;

namespace ruvector_dag::cli {

/// Rows of a result, every value as text ("" for NULL).
struct PgRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  /// Canonical text of the rows (for comparing results across runs).
  std::string Canonical() const;
};

/// One connection. Move-only; closes on destruction. Not thread-safe.
class PgConnection {
 public:
  PgConnection() = default;
  ~PgConnection();
  PgConnection(PgConnection&& other) noexcept;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Connects with a libpq conninfo string or URI.
  static Result<PgConnection> Connect(const std::string& conninfo);
  /// Runs `sql` (one or more statements; the last one's rows are returned).
  Result<PgRows> Exec(const std::string& sql);
  /// Runs `sql` and measures the client-observed wall time in ms.
  Result<PgRows> TimedExec(const std::string& sql, double* elapsed_ms);
  /// The first value of the first row.
  Result<std::string> Scalar(const std::string& sql);

 private:
  pg_conn* conn_ = nullptr;
};

/// Quotes `s` as an SQL string literal.
std::string SqlLiteral(const std::string& s);
/// Quotes `s` for /bin/sh (single quotes).
std::string ShellQuote(const std::string& s);
/// Runs `cmd` with /bin/sh; returns its exit status (128 if it died of a
/// signal, -1 if it could not run). Signals reach the caller meanwhile.
int RunShell(const std::string& cmd);
/// PostgreSQL's query identifier of `sql` (EXPLAIN VERBOSE's "Query
/// Identifier"; needs compute_query_id, which the extension turns on).
Result<std::string> QueryIdentifier(PgConnection& c, const std::string& sql);

/// A private cluster: initdb into DIR/data, unix socket in DIR, a port that
/// names the socket, the ruvector_dag library preloaded, no TCP listener.
/// As root the server runs as the `postgres` user.
struct PrivateCluster {
  std::string dir;
  std::string bin_dir;  // PostgreSQL's bin directory
  int port = 0;
  bool as_postgres = false;
  std::string log_path;

  /// The directory used by default: $RUVECTOR_DAG_DEMO_DIR, else
  /// $XDG_CACHE_HOME/ruvector-dag/demo or ~/.cache/ruvector-dag/demo; as root
  /// /var/tmp/ruvector-dag-demo (root's home is not reachable by `postgres`).
  static std::string DefaultDir();
  /// Prepares `dir` (initdb when needed), checks that the extension is
  /// installed, and starts the server unless it runs already. `extra_conf`
  /// (postgresql.conf lines) is appended when the cluster is created.
  static Result<PrivateCluster> Start(const std::string& dir, bool* created, const std::string& extra_conf = "");
  /// libpq conninfo for database `db`.
  std::string ConnInfo(const std::string& db) const;
  /// Fast shutdown.
  Status Stop() const;
  /// Writes `content` to DIR/data/`name` (a plain file name) as the server's
  /// user, mode 0600, replacing it (temporary file + rename).
  Status WriteDataFile(const std::string& name, const std::string& content) const;
  /// Stops (if running) and removes the directory.
  static Status Destroy(const std::string& dir);
};

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_PG_CLIENT_H_
