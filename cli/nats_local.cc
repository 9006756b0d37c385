// Local NATS JetStream cluster through scripts/nats_cluster.sh (nats_local.h).
#include "nats_local.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "pg_client.h"

#ifndef RUVECTOR_SOURCE_DIR
#define RUVECTOR_SOURCE_DIR ""
#endif

namespace ruvector_dag::cli {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string ExecutableDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// Exit status the script uses when nats-server is not installed.
constexpr int kScriptNoServer = 77;

}  // namespace

Result<std::string> LocalNatsCluster::FindScript(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!IsExecutable(explicit_path)) return Status::NotFound("NATS cluster script not executable: " + explicit_path);
    return explicit_path;
  }
  if (const char* env = std::getenv("RUVECTOR_NATS_CLUSTER_SCRIPT"); env != nullptr && *env != '\0') {
    if (!IsExecutable(env)) {
      return Status::NotFound(std::string("RUVECTOR_NATS_CLUSTER_SCRIPT is not an executable file: ") + env);
    }
    return std::string(env);
  }
  std::vector<std::string> candidates;
  if (std::string exe = ExecutableDir(); !exe.empty()) {
    candidates.push_back(exe + "/../share/ruvector-dag/nats_cluster.sh");
  }
  if (*RUVECTOR_SOURCE_DIR != '\0') candidates.push_back(std::string(RUVECTOR_SOURCE_DIR) + "/scripts/nats_cluster.sh");
  for (const std::string& c : candidates) {
    if (IsExecutable(c)) return c;
  }
  std::string tried;
  for (const std::string& c : candidates) tried += (tried.empty() ? "" : ", ") + c;
  return Status::NotFound("scripts/nats_cluster.sh not found (tried " + tried +
                          "); pass --nats-script or set RUVECTOR_NATS_CLUSTER_SCRIPT");
}

LocalNatsCluster::LocalNatsCluster(std::string script, std::string dir, int nodes)
    : script_(std::move(script)), dir_(std::move(dir)), nodes_(nodes) {}

Result<std::string> LocalNatsCluster::RunScript(const std::string& args) {
  const std::string cmd = ShellQuote(script_) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return Status::Internal("could not run " + script_);
  std::string out;
  char buf[1024];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (rc == -1) return Status::Internal("could not run " + script_);
  const int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  if (code == kScriptNoServer) {
    return Status::FailedPrecondition(
        "nats-server not found: install the Debian package nats-server (scripts/setup.sh does) or set "
        "RUVECTOR_NATS_SERVER");
  }
  if (code != 0) return Status::Internal("nats_cluster.sh " + args + " failed (exit " + std::to_string(code) + "): " + out);
  return out;
}

Status LocalNatsCluster::Start() {
  started_ = true;  // a partial start is cleaned up by Stop/Destroy
  Result<std::string> run = RunScript("start " + ShellQuote(dir_) + " " + std::to_string(nodes_));
  if (!run.ok()) {
    // Without nats-server the script started nothing.
    if (run.status().code() == StatusCode::kFailedPrecondition) started_ = false;
    return run.status();
  }
  const std::string& out = *run;
  std::istringstream lines(out);
  std::string line;
  urls_.clear();
  while (std::getline(lines, line)) {
    if (line.rfind("NATS_URLS=", 0) == 0) urls_ = line.substr(10);
  }
  if (urls_.empty()) return Status::Internal("nats_cluster.sh start printed no NATS_URLS line: " + out);
  url_list_.clear();
  std::istringstream parts(urls_);
  std::string url;
  while (std::getline(parts, url, ',')) url_list_.push_back(url);
  if (static_cast<int>(url_list_.size()) != nodes_) {
    return Status::Internal("nats_cluster.sh reported " + std::to_string(url_list_.size()) + " URLs for " +
                            std::to_string(nodes_) + " nodes");
  }
  return Status::Ok();
}

Status LocalNatsCluster::Kill(int index) {
  return RunScript("kill " + ShellQuote(dir_) + " " + std::to_string(index)).status();
}

Status LocalNatsCluster::Restart(int index) {
  return RunScript("restart " + ShellQuote(dir_) + " " + std::to_string(index)).status();
}

Result<NatsNodeStore> LocalNatsCluster::Store(int index) {
  RUVECTOR_ASSIGN_OR_RETURN(std::string body, RunScript("monitor " + ShellQuote(dir_) + " " + std::to_string(index) + " /jsz"));
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("messages") || !j["messages"].is_number_unsigned()) {
    return Status::Internal("node " + std::to_string(index) + "'s /jsz is not the expected JSON: " + body.substr(0, 200));
  }
  NatsNodeStore s;
  s.streams = j.value("streams", uint64_t{0});
  s.messages = j["messages"].get<uint64_t>();
  s.bytes = j.value("bytes", uint64_t{0});
  return s;
}

Status LocalNatsCluster::Stop() {
  if (!started_) return Status::Ok();
  return RunScript("stop " + ShellQuote(dir_)).status();
}

Status LocalNatsCluster::Destroy() {
  if (!started_) return Status::Ok();
  Status st = RunScript("destroy " + ShellQuote(dir_)).status();
  if (st.ok()) started_ = false;
  return st;
}

int LocalNatsCluster::NodeOfUrl(const std::string& url) const {
  for (size_t i = 0; i < url_list_.size(); ++i) {
    if (url_list_[i] == url) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace ruvector_dag::cli
