// A private NATS JetStream server or cluster for the transport's tests and
// benchmarks: a thin owner of scripts/nats_cluster.sh (which writes the
// configs, picks free ports and polls for readiness) in a fresh temporary
// directory, destroyed with the object. Not part of the library.
#ifndef RUVECTOR_DAG_SRC_SYNC_INTERNAL_NATS_CLUSTER_H_
#define RUVECTOR_DAG_SRC_SYNC_INTERNAL_NATS_CLUSTER_H_

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ruvector_dag/status.h"

namespace ruvector_dag::sync::testing {

class NatsCluster {
 public:
  /// Starts `nodes` servers (1: a single server, 3: a JetStream cluster).
  /// kUnimplemented when nats-server is not installed (callers skip);
  /// kInternal with the script's output for any other failure.
  static Result<std::unique_ptr<NatsCluster>> Start(const std::string& script, int nodes) {
    char tmpl[] = "/tmp/ruvector_nats.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::Internal("mkdtemp failed");
    std::unique_ptr<NatsCluster> c(new NatsCluster(script, tmpl, nodes));
    std::string out;
    int rc = c->Run("start", std::to_string(nodes), &out);
    if (rc == 77) return Status::Unimplemented("nats-server is not installed: " + out);
    if (rc != 0) return Status::Internal("nats_cluster.sh start failed (" + std::to_string(rc) + "): " + out);
    return c;
  }

  ~NatsCluster() {
    std::string out;
    (void)Run("destroy", "", &out);
  }
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int nodes() const { return nodes_; }
  /// Client URL of node `i` (1-based).
  std::string Url(int i) const {
    std::string out;
    if (Run("urls", std::to_string(i), &out) != 0) return "";
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  std::vector<std::string> Urls() const {
    std::vector<std::string> urls;
    for (int i = 1; i <= nodes_; ++i) urls.push_back(Url(i));
    return urls;
  }
  /// SIGKILL node `i` and wait until its process is gone.
  Status Kill(int i) { return Checked("kill", i); }
  /// Start node `i` again with its ports and store; waits until it is healthy.
  Status Restart(int i) { return Checked("restart", i); }
  const std::string& dir() const { return dir_; }

 private:
  NatsCluster(std::string script, std::string dir, int nodes)
      : script_(std::move(script)), dir_(std::move(dir)), nodes_(nodes) {}

  Status Checked(const char* cmd, int i) {
    std::string out;
    int rc = Run(cmd, std::to_string(i), &out);
    if (rc != 0) return Status::Internal(std::string("nats_cluster.sh ") + cmd + " failed: " + out);
    return Status::Ok();
  }

  // Paths are mkdtemp's and the script's (no shell metacharacters).
  int Run(const std::string& cmd, const std::string& arg, std::string* out) const {
    const std::string line = "'" + script_ + "' " + cmd + " '" + dir_ + "' " + arg + " 2>&1";
    FILE* p = popen(line.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string script_;
  std::string dir_;
  int nodes_;
};

}  // namespace ruvector_dag::sync::testing

#endif  // RUVECTOR_DAG_SRC_SYNC_INTERNAL_NATS_CLUSTER_H_
