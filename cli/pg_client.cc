// libpq client and private cluster (pg_client.h).
#include "pg_client.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <nlohmann/json.hpp>
#include <utility>

namespace ruvector_dag::cli {

std::string PgRows::Canonical() const {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += '\t';
      out += row[i];
    }
    out += '\n';
  }
  return out;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

PgConnection::PgConnection(PgConnection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

Result<PgConnection> PgConnection::Connect(const std::string& conninfo) {
  PgConnection c;
  c.conn_ = PQconnectdb(conninfo.c_str());
  if (c.conn_ == nullptr) return Status::ResourceExhausted("libpq: out of memory while connecting");
  if (PQstatus(c.conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c.conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::FailedPrecondition("could not connect to PostgreSQL: " + msg);
  }
  PQsetNoticeProcessor(c.conn_, [](void*, const char*) {}, nullptr);
  return c;
}

Result<PgRows> PgConnection::Exec(const std::string& sql) {
  if (conn_ == nullptr) return Status::FailedPrecondition("not connected");
  PGresult* res = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
    std::string msg = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
    PQclear(res);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::string head = sql.substr(0, 120);
    for (char& ch : head) {
      if (ch == '\n') ch = ' ';
    }
    return Status::InvalidArgument("query failed: " + msg + " (statement: " + head +
                                   (sql.size() > 120 ? "..." : "") + ")");
  }
  PgRows rows;
  int nf = PQnfields(res), nt = PQntuples(res);
  for (int f = 0; f < nf; ++f) rows.columns.emplace_back(PQfname(res, f));
  rows.rows.reserve(static_cast<size_t>(nt));
  for (int t = 0; t < nt; ++t) {
    std::vector<std::string> row;
    row.reserve(static_cast<size_t>(nf));
    for (int f = 0; f < nf; ++f) row.emplace_back(PQgetisnull(res, t, f) ? "" : PQgetvalue(res, t, f));
    rows.rows.push_back(std::move(row));
  }
  PQclear(res);
  return rows;
}

Result<PgRows> PgConnection::TimedExec(const std::string& sql, double* elapsed_ms) {
  auto start = std::chrono::steady_clock::now();
  Result<PgRows> r = Exec(sql);
  *elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

Result<std::string> PgConnection::Scalar(const std::string& sql) {
  RUVECTOR_ASSIGN_OR_RETURN(PgRows rows, Exec(sql));
  if (rows.rows.empty() || rows.rows[0].empty()) return Status::NotFound("no value returned by: " + sql);
  return rows.rows[0][0];
}

std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

int RunShell(const std::string& cmd) {
  // posix_spawn + waitpid rather than system(): system() ignores SIGINT and
  // SIGQUIT in the caller while the child runs, so a command's Ctrl-C
  // handler would never see them.
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

Result<std::string> QueryIdentifier(PgConnection& c, const std::string& sql) {
  RUVECTOR_ASSIGN_OR_RETURN(std::string plan, c.Scalar("EXPLAIN (VERBOSE, FORMAT JSON) " + sql));
  nlohmann::json j = nlohmann::json::parse(plan, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty() || !j[0].contains("Query Identifier")) {
    return Status::Internal("EXPLAIN returned no query identifier (compute_query_id off?)");
  }
  return j[0]["Query Identifier"].dump();
}

// --- private cluster ------------------------------------------------------------

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int Run(const std::string& cmd, bool as_postgres) {
  return RunShell(as_postgres ? "runuser -u postgres -- " + cmd : cmd);
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& path, size_t max_bytes) {
  std::string s = ReadSmallFile(path);
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

}  // namespace

std::string PrivateCluster::DefaultDir() {
  if (const char* d = std::getenv("RUVECTOR_DAG_DEMO_DIR"); d != nullptr && *d != '\0') return d;
  if (::geteuid() == 0) return "/var/tmp/ruvector-dag-demo";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x == '/') {
    return std::string(x) + "/ruvector-dag/demo";
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    struct passwd* pw = ::getpwuid(::getuid());
    home = pw != nullptr ? pw->pw_dir : "/tmp";
  }
  return std::string(home) + "/.cache/ruvector-dag/demo";
}

Result<PrivateCluster> PrivateCluster::Start(const std::string& dir_in, bool* created, const std::string& extra_conf) {
  PrivateCluster c;
  c.dir = dir_in;
  if (c.dir.empty() || c.dir[0] != '/') return Status::InvalidArgument("cluster directory must be absolute: " + c.dir);
  for (char ch : c.dir) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '_' || ch == '-' || ch == '.')) {
      return Status::InvalidArgument("cluster directory may only contain [A-Za-z0-9_./-]: " + c.dir);
    }
  }
  if (c.dir.size() > 80) return Status::InvalidArgument("cluster directory path is too long for a socket: " + c.dir);
  const char* bin = std::getenv("RUVECTOR_PG_BIN");
  c.bin_dir = bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "pg_ctl", "postgres", "pg_config"}) {
    if (!FileExists(c.bin_dir + "/" + tool)) {
      return Status::NotFound(c.bin_dir + "/" + tool +
                              " not found: install PostgreSQL 15 (Debian: postgresql-15) or set RUVECTOR_PG_BIN");
    }
  }
  // The extension must be installed into this PostgreSQL.
  {
    std::string cmd = ShellQuote(c.bin_dir + "/pg_config") + " --pkglibdir";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    if (p != nullptr) {
      char buf[512];
      while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
      ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (out.empty() || !FileExists(out + "/ruvector_dag.so")) {
      return Status::FailedPrecondition(
          "the ruvector_dag extension is not installed into PostgreSQL (" + (out.empty() ? "?" : out) +
          "/ruvector_dag.so missing): run `cmake --install <build> --component pg` (as root) first");
    }
  }
  c.as_postgres = ::geteuid() == 0;
  c.log_path = c.dir + "/server.log";
  *created = false;
  if (Run("mkdir -p " + ShellQuote(c.dir), false) != 0) return Status::Internal("could not create " + c.dir);
  if (c.as_postgres && Run("chown postgres:postgres " + ShellQuote(c.dir), false) != 0) {
    return Status::Internal("could not hand " + c.dir + " to the postgres user");
  }
  std::string data = c.dir + "/data";
  std::string port_file = c.dir + "/port";
  if (!FileExists(data + "/PG_VERSION")) {
    *created = true;
    Run("rm -rf " + ShellQuote(data), c.as_postgres);
    std::string cmd = ShellQuote(c.bin_dir + "/initdb") + " -D " + ShellQuote(data) +
                      " -U postgres -A trust -E UTF8 --locale=C --no-sync > " + ShellQuote(c.dir + "/initdb.log") +
                      " 2>&1";
    if (Run(cmd, c.as_postgres) != 0) {
      return Status::Internal("initdb failed: " + Tail(c.dir + "/initdb.log", 2000));
    }
    std::mt19937 rng(static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                     static_cast<uint32_t>(::getpid()));
    c.port = 20000 + static_cast<int>(rng() % 40000);
    std::ostringstream conf;
    conf << "\n# --- ruvector-dag demo (private cluster) ---\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << c.dir << "'\n"
         << "port = " << c.port << "\n"
         << "shared_preload_libraries = 'ruvector_dag'\n"
         << "max_connections = 20\n"
         << "shared_buffers = 128MB\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "dynamic_shared_memory_type = mmap\njit = off\nautovacuum = off\n"
         << extra_conf;
    std::string conf_cmd = "sh -c " + ShellQuote("cat >> " + ShellQuote(data + "/postgresql.conf"));
    FILE* p = ::popen((c.as_postgres ? "runuser -u postgres -- " + conf_cmd : conf_cmd).c_str(), "w");
    if (p == nullptr) return Status::Internal("could not write postgresql.conf");
    fputs(conf.str().c_str(), p);
    if (::pclose(p) != 0) return Status::Internal("could not write " + data + "/postgresql.conf");
    std::ofstream(port_file) << c.port << "\n";
  }
  std::string port_text = ReadSmallFile(port_file);
  c.port = std::atoi(port_text.c_str());
  if (c.port <= 0) return Status::DataLoss("cluster directory " + c.dir + " has no valid port file; use --fresh");
  std::string status_cmd = ShellQuote(c.bin_dir + "/pg_ctl") + " -D " + ShellQuote(data) + " status >/dev/null 2>&1";
  if (Run(status_cmd, c.as_postgres) != 0) {
    std::string cmd = ShellQuote(c.bin_dir + "/pg_ctl") + " -D " + ShellQuote(data) + " -l " +
                      ShellQuote(c.log_path) + " -w -t 60 start >/dev/null 2>&1";
    if (Run(cmd, c.as_postgres) != 0) {
      return Status::Internal("the PostgreSQL server did not start; end of " + c.log_path + ":\n" +
                              Tail(c.log_path, 2000));
    }
  }
  return c;
}

std::string PrivateCluster::ConnInfo(const std::string& db) const {
  return "host=" + dir + " port=" + std::to_string(port) + " user=postgres dbname=" + db +
         " application_name=ruvector-dag";
}

Status PrivateCluster::Stop() const {
  std::string cmd = ShellQuote(bin_dir + "/pg_ctl") + " -D " + ShellQuote(dir + "/data") +
                    " -m fast -w stop >/dev/null 2>&1";
  if (Run(cmd, as_postgres) != 0) return Status::Internal("pg_ctl stop failed for " + dir);
  return Status::Ok();
}

Status PrivateCluster::WriteDataFile(const std::string& name, const std::string& content) const {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return Status::InvalidArgument("data file name must be a plain file name: " + name);
  }
  const std::string path = dir + "/data/" + name;
  std::string script = "umask 077 && cat > " + ShellQuote(path + ".tmp") + " && mv -f " + ShellQuote(path + ".tmp") +
                       " " + ShellQuote(path);
  std::string cmd = "sh -c " + ShellQuote(script);
  FILE* p = ::popen((as_postgres ? "runuser -u postgres -- " + cmd : cmd).c_str(), "w");
  if (p == nullptr) return Status::Internal("could not write " + path);
  size_t written = fwrite(content.data(), 1, content.size(), p);
  int rc = ::pclose(p);
  if (written != content.size() || rc != 0) return Status::Internal("could not write " + path);
  return Status::Ok();
}

Status PrivateCluster::Destroy(const std::string& dir) {
  if (!FileExists(dir)) return Status::Ok();
  const char* bin = std::getenv("RUVECTOR_PG_BIN");
  std::string bin_dir = bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
  bool as_postgres = ::geteuid() == 0;
  if (FileExists(dir + "/data/postmaster.pid")) {
    Run(ShellQuote(bin_dir + "/pg_ctl") + " -D " + ShellQuote(dir + "/data") + " -m immediate -w stop >/dev/null 2>&1",
        as_postgres);
  }
  if (Run("rm -rf " + ShellQuote(dir), false) != 0) return Status::Internal("could not remove " + dir);
  return Status::Ok();
}

}  // namespace ruvector_dag::cli
