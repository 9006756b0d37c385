// A local NATS JetStream cluster for `ruvector-dag cluster-demo`, driven
// through scripts/nats_cluster.sh (the same script the tests and the sync
// benchmark use): configs, free ports, readiness polling, kill and restart
// live there, not in a second copy here. Not thread-safe.
#ifndef RUVECTOR_DAG_CLI_NATS_LOCAL_H_
#define RUVECTOR_DAG_CLI_NATS_LOCAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ruvector_dag/status.h"

namespace ruvector_dag::cli {

/// The JetStream totals one server reports for its own replicas (/jsz).
struct NatsNodeStore {
  uint64_t streams = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

class LocalNatsCluster {
 public:
  /// Finds the script: `explicit_path` if not empty, else
  /// $RUVECTOR_NATS_CLUSTER_SCRIPT, else share/ruvector-dag/nats_cluster.sh
  /// beside the installed executable, else the source tree's scripts/.
  static Result<std::string> FindScript(const std::string& explicit_path);

  /// A cluster of `nodes` servers under `dir` (not started yet).
  LocalNatsCluster(std::string script, std::string dir, int nodes);

  /// Starts every node and waits until JetStream is ready on each. A missing
  /// nats-server is a kFailedPrecondition naming the Debian package.
  Status Start();
  /// SIGKILL node `index` (1-based) and wait until it is gone.
  Status Kill(int index);
  /// Starts node `index` again on its ports and store; waits until ready.
  Status Restart(int index);
  /// JetStream totals of node `index` (its replicas only).
  Result<NatsNodeStore> Store(int index);
  /// Stops every node (SIGTERM, SIGKILL after the script's deadline).
  Status Stop();
  /// Stops every node and removes the directory.
  Status Destroy();

  /// Comma-separated client URLs, in node order (after Start).
  const std::string& urls() const { return urls_; }
  /// Node index (1-based) of a client URL, 0 if none.
  int NodeOfUrl(const std::string& url) const;
  int nodes() const { return nodes_; }
  bool started() const { return started_; }

 private:
  Result<std::string> RunScript(const std::string& args);

  std::string script_;
  std::string dir_;
  int nodes_;
  bool started_ = false;
  std::string urls_;
  std::vector<std::string> url_list_;
};

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_NATS_LOCAL_H_
