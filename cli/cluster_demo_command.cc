// `ruvector-dag cluster-demo`: pattern sync across three PostgreSQL servers
// over a 3-node NATS JetStream cluster (docs/sync.md, "Cluster demo").
// Server A learns the misestimation workload until it deploys; B and C get
// A's proposals as priors and deploy only what their own runs prove; one
// NATS node is killed while that happens and restarted afterwards. Every
// number is measured on the servers (dag_* and qudag_* functions) or on the
// NATS servers (/jsz); nothing is simulated.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "nats_local.h"
#include "pg_client.h"
#include "workload.h"

namespace ruvector_dag::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }

constexpr int kExitInterrupted = 130;
constexpr const char* kDatabase = "ruvector_demo";
constexpr const char* kMarker = ".ruvector-cluster-demo";
// The server's learner seeds its bandits with EngineOptions::seed (0xE61E)
// on every server; the privacy noise comes from OpenSSL's CSPRNG (not
// seedable by design, docs/sync.md); the data is deterministic SQL.
constexpr uint64_t kLearnerSeed = 0xE61Eu;
// A proposal needs this many executions of the proposed arm (the privacy
// unit's minimum, docs/sync.md "Differential privacy"): the released gain is
// the mean of their clipped per-execution gains.
constexpr int64_t kProposalMinRuns = 100;

struct Options {
  std::string dir;
  std::string format = "text";
  std::vector<std::string> queries = {"Q1", "Q2", "Q3"};
  int runs_per_round = 5;
  int max_rounds = 100;
  int timeout_s = 120;
  int kill_node = 0;  // 0 = the node server A is connected to
  bool keep = false;
  std::string nats_script;
};

/// One workload query on one server: what the demo measured.
struct QueryResult {
  std::string name;
  std::string pattern_id;
  std::string deployed_arm = "default";
  int64_t observed_runs = 0;
  int64_t arm_runs = 0;         // recorded runs of the deployed arm (the proposal's executions)
  int executions = 0;           // executions the demo issued on this server
  int workload_runs = 0;        // of them, until the deployment of the current arm was seen
  std::string event_arm;        // the arm of the deploy event recorded below
  std::string first_arm;        // the first arm deployed, with its executions and candidate runs
  int first_executions = 0;
  int64_t first_candidate_runs = 0;
  bool deployed = false;
  double first_run_epoch = 0;   // client clock, s
  double deploy_epoch = 0;      // the deploy event's time (server clock, same machine), s
  double default_ms = 0, arm_ms = 0;  // the deploy event's measured latencies
  int64_t candidate_runs = 0;   // runs steered to explore a candidate, up to the deployment
  int64_t candidate_arms = 0;   // distinct candidate arms among them
  int64_t deployed_arm_runs = 0;  // runs of the deployed arm on this server before it deployed
  // B and C only: A's proposal for this query.
  std::string proposed_arm;
  bool prior_seen = false;      // dag_decisions().prior named the proposed arm
  bool prior_applied = false;   // the proposal matched this pattern and became its prior
  double received_epoch = 0;    // client clock when A's proposals were seen here, s
  std::string local_status;     // qudag_proposals().local_status at the end
  double local_gain = 0;
  int64_t local_samples = 0;
};

struct Server {
  std::string name;
  std::string dir;
  PrivateCluster pg;
  bool started = false;
  PgConnection admin;  // database postgres: qudag_*
  PgConnection work;   // the learning session (background explorer measures candidates)
  PgConnection mon;    // bookkeeping, observation off
  std::vector<std::string> qids;
  std::vector<QueryResult> results;
  nlohmann::ordered_json final_status;
};

class Clock {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  static double Epoch() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// The per-step log: stdout in text mode, stderr with --format json.
class Log {
 public:
  Log(const Options& o, const Clock& clock) : json_(o.format == "json"), clock_(clock) {}
  void Step(const std::string& title) { Line("== " + title); }
  void Line(const std::string& msg) {
    std::string line = fmt::format("[{:6.1f} s] {}", clock_.Seconds(), msg);
    if (json_) {
      std::cerr << "ruvector-dag cluster-demo: " << line << std::endl;
    } else {
      std::cout << line << std::endl;
    }
  }

 private:
  bool json_;
  const Clock& clock_;
};

/// The status of a result (a copy: the result may be a temporary).
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}

Status Interrupted() {
  if (g_signal == 0) return Status::Ok();
  return Status::FailedPrecondition(fmt::format("interrupted by signal {}", static_cast<int>(g_signal)));
}

/// Polls `ready` every 100 ms until it returns true, an error, the deadline
/// or a signal. The interval is a polling period, not a stand-in for work.
template <typename Fn>
Status WaitUntil(int timeout_s, const std::string& what, Fn ready) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    RUVECTOR_RETURN_IF_ERROR(Interrupted());
    Result<bool> r = ready();
    if (!r.ok()) return r.status();
    if (*r) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Internal(fmt::format("timed out after {} s waiting until {}", timeout_s, what));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

/// Stops what the demo started, on every path (errors, signals included).
class Teardown {
 public:
  Teardown(std::vector<Server>* servers, LocalNatsCluster* nats, const std::string& dir, bool keep)
      : servers_(servers), nats_(nats), dir_(dir), keep_(keep) {}
  ~Teardown() {
    Status st = Run();  // reached only on paths that already report an error
    (void)st;
  }
  Status Run() {
    if (done_) return Status::Ok();
    done_ = true;
    Status first = Status::Ok();
    auto note = [&first](const Status& st) {
      if (!st.ok() && first.ok()) first = st;
    };
    for (Server& s : *servers_) {
      s.admin = PgConnection();
      s.work = PgConnection();
      s.mon = PgConnection();
      if (!s.started) continue;
      note(keep_ ? s.pg.Stop() : PrivateCluster::Destroy(s.dir));
    }
    note(keep_ ? nats_->Stop() : nats_->Destroy());
    if (!keep_) {
      std::string cmd = "rm -rf " + ShellQuote(dir_);
      if (RunShell(cmd) != 0) note(Status::Internal("could not remove " + dir_));
    }
    return first;
  }

 private:
  std::vector<Server>* servers_;
  LocalNatsCluster* nats_;
  std::string dir_;
  bool keep_;
  bool done_ = false;
};

/// The demo's directory: created with a marker; an existing one is reused
/// only if it carries the marker (it is removed at the end).
Status PrepareDir(const std::string& dir) {
  if (dir.empty() || dir[0] != '/') return Status::InvalidArgument("--dir must be an absolute path: " + dir);
  if (dir.size() > 60) return Status::InvalidArgument("--dir is too long for the servers' socket paths: " + dir);
  for (char ch : dir) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '_' || ch == '-' || ch == '.')) {
      return Status::InvalidArgument("--dir may only contain [A-Za-z0-9_./-]: " + dir);
    }
  }
  const std::string marker = dir + "/" + kMarker;
  std::string probe = "test ! -e " + ShellQuote(dir) + " || test -e " + ShellQuote(marker) + " || test -z \"$(ls -A " +
                      ShellQuote(dir) + ")\"";
  if (RunShell(probe) != 0) {
    return Status::FailedPrecondition(dir + " exists and is not a cluster-demo directory; choose another --dir");
  }
  // Leftovers of an earlier run (its servers may still run): stop and remove.
  for (const char* n : {"a", "b", "c"}) RUVECTOR_RETURN_IF_ERROR(PrivateCluster::Destroy(dir + "/" + n));
  std::string cmd = "rm -rf " + ShellQuote(dir) + " && mkdir -p " + ShellQuote(dir) + " && chmod 755 " +
                    ShellQuote(dir) + " && touch " + ShellQuote(marker);
  if (RunShell(cmd) != 0) return Status::Internal("could not create " + dir);
  return Status::Ok();
}

/// The background explorer's CPU budget on every server while it learns.
/// B and C start with 0 (EnableExplorer gives them this at step 3): their
/// explorer would otherwise measure candidates of the patterns their first
/// runs (step 2) captured before A's proposals arrive, and step 3 would show
/// what B and C learned alone, not what the proposals changed.
constexpr double kExplorerBudget = 0.5;

/// A measures no row counts (ruvector.dag_row_sample_rate = 0), so that it
/// learns no row corrections and no hint arm and what it deploys is a
/// settings arm that pattern sync proposes as it is (an arm planned with what
/// a server learned is never proposed; the portable arm standing in for it
/// first needs 100 explorer runs in the validation share: minutes on a small
/// machine, docs/sync.md). B and C keep the default.
std::string SyncConf(const std::string& name, const std::string& urls, double explorer_budget) {
  return fmt::format(
      "ruvector.dag_exploration_cpu_budget = {}\n"
      "ruvector.dag_exploration_min_ms = 0\n"
      "{}"
      "ruvector.sync_enabled = on\n"
      "ruvector.sync_nats_urls = '{}'\n"
      "ruvector.sync_node_name = '{}'\n"
      "ruvector.sync_stream_replicas = 3\n"
      // The schedule stays out of the way (1 h): A proposes when the demo
      // calls qudag_sync_now(), after it killed a NATS node. Votes and
      // retries of unsent messages do not wait for the schedule.
      "ruvector.sync_min_interval = 3600\n"
      "ruvector.sync_max_interval = 3600\n"
      "ruvector.sync_pattern_maturity = 0\n",
      explorer_budget, name == "a" ? "ruvector.dag_row_sample_rate = 0\n" : "", urls, name);
}

Status StartServer(Server& s, const std::string& urls) {
  bool created = false;
  RUVECTOR_ASSIGN_OR_RETURN(s.pg, PrivateCluster::Start(s.dir, &created,
                                                         SyncConf(s.name, urls, s.name == "a" ? kExplorerBudget : 0.0)));
  s.started = true;
  RUVECTOR_ASSIGN_OR_RETURN(s.admin, PgConnection::Connect(s.pg.ConnInfo("postgres")));
  RUVECTOR_RETURN_IF_ERROR(StatusOf(s.admin
                               .Exec("SET client_min_messages = warning; SET ruvector.dag_enabled = off; "
                                     "CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE")
                               ));
  return Status::Ok();
}

Result<bool> ScalarTrue(PgConnection& c, const std::string& sql) {
  RUVECTOR_ASSIGN_OR_RETURN(std::string v, c.Scalar(sql));
  return v == "t";
}

/// Each server's public key into every server's peers file (own key skipped
/// by the server), then waits until each runs with two peers.
Status ConnectPeers(std::vector<Server>& servers, int timeout_s, Log& log) {
  std::string peers = "# written by ruvector-dag cluster-demo\n";
  for (Server& s : servers) {
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(timeout_s, s.name + " runs pattern sync with an identity", [&]() {
      return ScalarTrue(s.admin,
                        "SELECT state = 'running' AND public_key IS NOT NULL FROM ruvector.qudag_status()");
    }));
    RUVECTOR_ASSIGN_OR_RETURN(std::string key, s.admin.Scalar("SELECT public_key FROM ruvector.qudag_status()"));
    RUVECTOR_ASSIGN_OR_RETURN(std::string id, s.admin.Scalar("SELECT node_id FROM ruvector.qudag_status()"));
    log.Line(fmt::format("server {}: sync identity {}... (ML-DSA-65 + ML-KEM-768 keys, keystore mode 0600)", s.name,
                         id.substr(0, 16)));
    peers += "# " + s.name + "\n" + key + "\n";
  }
  for (Server& s : servers) RUVECTOR_RETURN_IF_ERROR(s.pg.WriteDataFile("ruvector_sync.peers", peers));
  for (Server& s : servers) {
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(timeout_s, s.name + " took its two peers from its peers file", [&]() {
      return ScalarTrue(s.admin, "SELECT state = 'running' AND peers = 2 FROM ruvector.qudag_status()");
    }));
  }
  return Status::Ok();
}

Status CreateWorkload(Server& s, const std::vector<WorkloadQuery>& queries) {
  RUVECTOR_RETURN_IF_ERROR(StatusOf(s.admin.Exec(std::string("CREATE DATABASE ") + kDatabase)));
  RUVECTOR_ASSIGN_OR_RETURN(s.mon, PgConnection::Connect(s.pg.ConnInfo(kDatabase)));
  RUVECTOR_RETURN_IF_ERROR(StatusOf(s.mon
                               .Exec("SET client_min_messages = warning; SET ruvector.dag_enabled = off; "
                                     "CREATE EXTENSION ruvector_dag CASCADE;" +
                                     WorkloadSchemaSql())
                               ));
  RUVECTOR_ASSIGN_OR_RETURN(s.work, PgConnection::Connect(s.pg.ConnInfo(kDatabase)));
  RUVECTOR_RETURN_IF_ERROR(StatusOf(s.work.Exec(LearningSessionSql(false, 0.0))));
  s.qids.clear();
  s.results.clear();
  for (const WorkloadQuery& q : queries) {
    RUVECTOR_ASSIGN_OR_RETURN(std::string qid, QueryIdentifier(s.mon, q.sql));
    s.qids.push_back(qid);
    QueryResult r;
    r.name = q.name;
    s.results.push_back(r);
  }
  return Status::Ok();
}

/// Runs every query `runs` times on the learning session, then waits for a
/// learning pass.
Status RunRound(Server& s, const std::vector<WorkloadQuery>& queries, int runs) {
  for (size_t i = 0; i < queries.size(); ++i) {
    if (s.results[i].first_run_epoch == 0) s.results[i].first_run_epoch = Clock::Epoch();
    for (int k = 0; k < runs; ++k) {
      RUVECTOR_RETURN_IF_ERROR(Interrupted());
      RUVECTOR_RETURN_IF_ERROR(StatusOf(s.work.Exec(queries[i].sql)));
      ++s.results[i].executions;
    }
  }
  return StatusOf(s.mon.Exec("SELECT ruvector.dag_learn_now()"));
}

/// Refreshes the decision of every query; the first time one is deployed,
/// records its deploy event and what was explored before it.
Status ReadDecisions(Server& s) {
  for (size_t i = 0; i < s.results.size(); ++i) {
    QueryResult& r = s.results[i];
    RUVECTOR_ASSIGN_OR_RETURN(
        PgRows d, s.mon.Exec(fmt::format("SELECT pattern_id, deployed_arm, observed_runs, coalesce(prior, '') "
                                         "FROM ruvector.dag_decisions() WHERE query_id = {} "
                                         "ORDER BY observed_runs DESC, pattern_id LIMIT 1",
                                         s.qids[i])));
    if (d.rows.empty()) continue;
    r.pattern_id = d.rows[0][0];
    r.deployed_arm = d.rows[0][1];
    r.observed_runs = std::stoll(d.rows[0][2]);
    if (!r.proposed_arm.empty() && d.rows[0][3] == r.proposed_arm) r.prior_seen = true;
    r.arm_runs = 0;
    if (r.deployed_arm != "default") {
      RUVECTOR_ASSIGN_OR_RETURN(
          std::string n,
          s.mon.Scalar(fmt::format("SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 1000000) t "
                                   "JOIN ruvector.dag_arms() a ON a.arm_id = t.arm WHERE t.pattern_id = {} AND a.name = {}",
                                   r.pattern_id, SqlLiteral(r.deployed_arm))));
      r.arm_runs = std::stoll(n);
    }
    // The deployment of the arm deployed now (an earlier arm may have been
    // deployed and replaced by a faster one).
    if (r.deployed_arm == "default" || r.event_arm == r.deployed_arm) continue;
    RUVECTOR_ASSIGN_OR_RETURN(
        PgRows ev, s.mon.Exec(fmt::format("SELECT extract(epoch FROM at), at, coalesce(default_ms, 0), "
                                          "coalesce(arm_ms, 0) FROM ruvector.dag_learning_events(100000) "
                                          "WHERE event = 'deploy' AND pattern_id = {} AND arm = {} "
                                          "ORDER BY seq DESC LIMIT 1",
                                          r.pattern_id, SqlLiteral(r.deployed_arm))));
    if (ev.rows.empty()) continue;
    r.deployed = true;
    r.event_arm = r.deployed_arm;
    r.workload_runs = r.executions;
    r.deploy_epoch = std::atof(ev.rows[0][0].c_str());
    r.default_ms = std::atof(ev.rows[0][2].c_str());
    r.arm_ms = std::atof(ev.rows[0][3].c_str());
    RUVECTOR_ASSIGN_OR_RETURN(
        PgRows t,
        s.mon.Exec(fmt::format(
            "SELECT count(*) FILTER (WHERE t.steering LIKE 'explore%'), "
            "count(DISTINCT t.arm) FILTER (WHERE t.steering LIKE 'explore%' AND t.arm <> 0), "
            "count(*) FILTER (WHERE a.name = {}) "
            "FROM ruvector.dag_trajectory_history(NULL, 1000000) t LEFT JOIN ruvector.dag_arms() a ON a.arm_id = t.arm "
            "WHERE t.pattern_id = {} AND t.recorded_at <= {}::timestamptz",
            SqlLiteral(r.deployed_arm), r.pattern_id, SqlLiteral(ev.rows[0][1]))));
    r.candidate_runs = std::stoll(t.rows[0][0]);
    r.candidate_arms = std::stoll(t.rows[0][1]);
    r.deployed_arm_runs = std::stoll(t.rows[0][2]);
    if (r.first_arm.empty()) {
      r.first_arm = r.deployed_arm;
      r.first_executions = r.workload_runs;
      r.first_candidate_runs = r.candidate_runs;
    }
  }
  return Status::Ok();
}

std::string RoundLine(const Server& s) {
  std::string out;
  for (const QueryResult& r : s.results) {
    out += fmt::format("{}{} {} ({} runs, {} of the arm)", out.empty() ? "" : "; ", r.name, r.deployed_arm,
                       r.observed_runs, r.arm_runs);
  }
  return out;
}

/// Phase 1: A learns until every query is deployed with the runs a proposal
/// needs (or the round limit; at least one must be).
Status LearnOnA(Server& a, const std::vector<WorkloadQuery>& queries, const Options& o, Log& log) {
  log.Step(fmt::format("1. server A learns the workload ({} executions per query and round)", o.runs_per_round));
  for (int round = 1; round <= o.max_rounds; ++round) {
    RUVECTOR_RETURN_IF_ERROR(RunRound(a, queries, o.runs_per_round));
    RUVECTOR_RETURN_IF_ERROR(ReadDecisions(a));
    RUVECTOR_ASSIGN_OR_RETURN(std::string runs, a.mon.Scalar("SELECT runs FROM ruvector.dag_exploration_status()"));
    log.Line(fmt::format("A round {:>2}: {}; background explorer runs {}", round, RoundLine(a), runs));
    bool all = true;
    for (const QueryResult& r : a.results) all = all && r.deployed_arm != "default" && r.arm_runs >= kProposalMinRuns;
    if (all) break;
  }
  int ready = 0;
  for (const QueryResult& r : a.results) {
    if (r.deployed) {
      log.Line(fmt::format("A deployed {} for {} after {} of its executions and {} candidate runs ({} arms), "
                           "{:.1f} s after its first run: {:.1f} -> {:.1f} ms",
                           r.deployed_arm, r.name, r.workload_runs, r.candidate_runs, r.candidate_arms,
                           r.deploy_epoch - r.first_run_epoch, r.default_ms, r.arm_ms));
    }
    if (r.deployed_arm != "default" && r.arm_runs >= kProposalMinRuns) ++ready;
  }
  if (ready == 0) {
    return Status::Internal(fmt::format("server A deployed no arm with {} runs of it within {} rounds (--max-rounds)",
                                        kProposalMinRuns, o.max_rounds));
  }
  return Status::Ok();
}

struct Counters {
  int64_t published = 0, bytes = 0, proposals = 0, votes = 0, syncs = 0;
};

Result<Counters> ReadCounters(Server& s) {
  RUVECTOR_ASSIGN_OR_RETURN(PgRows r, s.admin.Exec("SELECT messages_published, bytes_published, proposals_made, "
                                                   "votes_cast, syncs FROM ruvector.qudag_status()"));
  Counters c;
  c.published = std::stoll(r.rows[0][0]);
  c.bytes = std::stoll(r.rows[0][1]);
  c.proposals = std::stoll(r.rows[0][2]);
  c.votes = std::stoll(r.rows[0][3]);
  c.syncs = std::stoll(r.rows[0][4]);
  return c;
}

/// What the demo measured about the cluster as a whole.
struct Measured {
  int killed_node = 0;
  uint64_t killed_node_messages = 0;      // its replicas' messages when killed
  uint64_t cluster_messages_at_restart = 0;
  uint64_t restarted_node_messages = 0;   // after catching up
  double catch_up_s = 0;
  std::string a_url_before, a_url_after;
  int proposals = 0;                      // A's proposals sent while the node was down
  double proposal_bytes = 0;              // A's bytes published per proposed pattern (all copies)
  double proposal_message_bytes = 0;      // per message (one copy per peer)
  double publish_to_receipt_s[2] = {0, 0};  // A's sync_now until B / C hold every proposal
  std::string a_proposal_states;          // A's ledger at the end
  bool confirmed_while_down = false;
};

/// Refreshes B's or C's view of A's proposals (status, local gain, samples).
Status ReadProposalStatus(Server& s) {
  // From the workload's database: the local pattern and its gain are shown
  // only to sessions that may see the pattern (its database and role).
  RUVECTOR_ASSIGN_OR_RETURN(PgRows p, s.mon.Exec("SELECT arm, local_status, coalesce(local_pattern_id, 0), "
                                                   "coalesce(local_gain, 0), coalesce(local_samples, 0) "
                                                   "FROM ruvector.qudag_proposals() WHERE NOT own AND proposer = 'a'"));
  for (QueryResult& r : s.results) {
    for (const auto& row : p.rows) {
      // The proposal this server matched to the query's pattern.
      if (r.pattern_id.empty() || row[2] != r.pattern_id) continue;
      if (r.proposed_arm.empty()) r.proposed_arm = row[0];
      if (row[0] != r.proposed_arm) continue;
      r.local_status = row[1];
      r.prior_applied = r.prior_applied || (row[1] != "no_match" && row[1] != "unknown_arm");
      r.local_gain = std::atof(row[3].c_str());
      r.local_samples = std::stoll(row[4]);
    }
  }
  return Status::Ok();
}

/// Phase 2: the node A is connected to is killed; A proposes; B and C
/// receive the proposals through the surviving nodes.
Status ProposeWithNodeDown(std::vector<Server>& servers, const std::vector<WorkloadQuery>& queries,
                           LocalNatsCluster& nats, const Options& o, Log& log,
                           Measured* m) {
  Server& a = servers[0];
  log.Step("2. one NATS node is killed; A proposes what it learned");
  RUVECTOR_ASSIGN_OR_RETURN(m->a_url_before, a.admin.Scalar("SELECT coalesce(nats_url, '') FROM ruvector.qudag_status()"));
  m->killed_node = o.kill_node > 0 ? o.kill_node : nats.NodeOfUrl(m->a_url_before);
  if (m->killed_node == 0) m->killed_node = 1;
  RUVECTOR_ASSIGN_OR_RETURN(NatsNodeStore before, nats.Store(m->killed_node));
  m->killed_node_messages = before.messages;
  RUVECTOR_RETURN_IF_ERROR(nats.Kill(m->killed_node));
  log.Line(fmt::format("killed NATS node n{} with SIGKILL (A was connected to {}); its replicas held {} messages",
                       m->killed_node, m->a_url_before.empty() ? "?" : m->a_url_before, before.messages));
  RUVECTOR_ASSIGN_OR_RETURN(Counters c0, ReadCounters(a));
  const auto t0 = std::chrono::steady_clock::now();
  // One sync round proposes every eligible pattern (docs/sync.md: the
  // deployed arm, or, when it plans with row corrections or a hint learned on
  // A, the best other arm measured faster with confidence; either once it has
  // 100 tallied executions). When there is none yet, A runs another round
  // (its explorer keeps measuring) and syncs again.
  Counters c1;
  for (int round = 1;; ++round) {
    const Counters before = c1.syncs == 0 ? c0 : c1;
    RUVECTOR_RETURN_IF_ERROR(StatusOf(a.admin.Exec("SELECT ruvector.qudag_sync_now()")));
    // A's publishes fail while the stream elects a new leader; the worker
    // backs off and retries by itself.
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(o.timeout_s, "A published its proposals", [&]() -> Result<bool> {
      RUVECTOR_ASSIGN_OR_RETURN(c1, ReadCounters(a));
      return c1.syncs > before.syncs && c1.published - c0.published >= 2 * (c1.proposals - c0.proposals);
    }));
    if (c1.proposals > c0.proposals) break;
    // The tally fills with the worker's learning passes, not with rounds:
    // give up only after --max-rounds rounds and --timeout seconds both.
    const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (round >= o.max_rounds && waited_s >= o.timeout_s) {
      return Status::FailedPrecondition(fmt::format(
          "A proposed nothing in {} rounds: an arm that plans with row corrections or a hint learned on A is not "
          "proposed, and no other arm was measured faster with confidence and has the 100 tallied executions a "
          "proposal releases (--max-rounds; docs/sync.md)",
          round));
    }
    log.Line("A has nothing to propose yet (its arm plans with what A learned -- row corrections or a hint -- or has "
             "fewer than 100 tallied executions: timeouts, same-plan runs and runs before the default had its "
             "minimum are not tallied); one more round on A");
    RUVECTOR_RETURN_IF_ERROR(RunRound(a, queries, o.runs_per_round));  // (ends with a learning pass)
  }
  m->proposals = static_cast<int>(c1.proposals - c0.proposals);
  RUVECTOR_ASSIGN_OR_RETURN(std::string proposed_arms,
                            a.admin.Scalar("SELECT string_agg(arm, ', ' ORDER BY arm) FROM ruvector.qudag_proposals() "
                                           "WHERE own"));
  const int64_t messages = c1.published - c0.published;
  m->proposal_message_bytes = messages > 0 ? static_cast<double>(c1.bytes - c0.bytes) / messages : 0;
  m->proposal_bytes = m->proposals > 0 ? static_cast<double>(c1.bytes - c0.bytes) / m->proposals : 0;
  RUVECTOR_ASSIGN_OR_RETURN(m->a_url_after, a.admin.Scalar("SELECT coalesce(nats_url, '') FROM ruvector.qudag_status()"));
  log.Line(fmt::format("A proposed {} pattern(s) ({}): {} messages, {:.0f} bytes per pattern on the wire ({:.0f} per "
                       "message, one sealed copy per peer); A now connected to {}",
                       m->proposals, proposed_arms, messages, m->proposal_bytes, m->proposal_message_bytes,
                       m->a_url_after));
  for (size_t k = 1; k < servers.size(); ++k) {
    Server& s = servers[k];
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(o.timeout_s, s.name + " received A's proposals", [&]() {
      return ScalarTrue(s.admin, fmt::format("SELECT count(*) >= {} FROM ruvector.qudag_proposals() "
                                             "WHERE NOT own AND proposer = 'a'",
                                             m->proposals));
    }));
    m->publish_to_receipt_s[k - 1] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (QueryResult& r : s.results) r.received_epoch = Clock::Epoch();
    log.Line(fmt::format("{} received A's proposals {:.1f} s after A's sync began (NATS node n{} still down)", s.name,
                         m->publish_to_receipt_s[k - 1], m->killed_node));
  }
  // Each receiver matches the proposals to its own patterns (its worker loop,
  // every 50 ms): from then on they are priors. Which query a proposal is
  // for is what the receiver matched it to (its pattern).
  for (size_t k = 1; k < servers.size(); ++k) {
    Server& s = servers[k];
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(o.timeout_s, s.name + " matched A's proposals to its patterns", [&]() -> Result<bool> {
      return ScalarTrue(s.admin, "SELECT count(*) FILTER (WHERE local_status = 'no_match') = 0 "
                                 "FROM ruvector.qudag_proposals() WHERE NOT own AND proposer = 'a'");
    }));
    RUVECTOR_RETURN_IF_ERROR(ReadDecisions(s));
    RUVECTOR_RETURN_IF_ERROR(ReadProposalStatus(s));
    RUVECTOR_RETURN_IF_ERROR(ReadDecisions(s));  // with the proposed arms known: is it the pattern's prior?
    std::string st;
    for (const QueryResult& r : s.results) {
      if (r.proposed_arm.empty()) continue;
      st += fmt::format("{}{}: {} is the prior of its own pattern {} ({})", st.empty() ? "" : "; ", r.name,
                        r.proposed_arm, r.pattern_id, r.prior_seen ? "dag_decisions().prior" : "qudag_proposals().local_status");
    }
    log.Line(s.name + " " + st);
  }
  return Status::Ok();
}

bool Validated(const QueryResult& r) {
  return r.proposed_arm.empty() || (r.deployed && (r.local_status == "confirmed" || r.local_status == "refuted"));
}

/// Gives B's or C's background explorer its budget (postgresql.auto.conf and
/// a reload; the worker applies it at its next loop, within 50 ms).
Status EnableExplorer(Server& s) {
  RUVECTOR_RETURN_IF_ERROR(StatusOf(s.admin.Exec(
      fmt::format("ALTER SYSTEM SET ruvector.dag_exploration_cpu_budget = {}", kExplorerBudget))));
  return StatusOf(s.admin.Exec("SELECT pg_reload_conf()"));
}

/// Phase 3: B and C run the same workload; each deploys on its own runs and
/// votes on A's proposal.
Status ValidateOnPeers(std::vector<Server>& servers, const std::vector<WorkloadQuery>& queries, const Options& o,
                       Log& log) {
  log.Step("3. servers B and C run the same workload; A's proposals are priors, not deployments");
  for (size_t k = 1; k < servers.size(); ++k) RUVECTOR_RETURN_IF_ERROR(EnableExplorer(servers[k]));
  log.Line(fmt::format("b and c: background explorer on (CPU budget {}; off until A's proposals were matched)",
                       kExplorerBudget));
  for (int round = 1; round <= o.max_rounds; ++round) {
    bool done = true;
    for (size_t k = 1; k < servers.size(); ++k) {
      Server& s = servers[k];
      RUVECTOR_RETURN_IF_ERROR(RunRound(s, queries, o.runs_per_round));
      RUVECTOR_RETURN_IF_ERROR(ReadDecisions(s));
      RUVECTOR_RETURN_IF_ERROR(ReadProposalStatus(s));
      std::string st;
      for (const QueryResult& r : s.results) {
        if (!r.proposed_arm.empty()) st += fmt::format("{}{} {}", st.empty() ? "" : ", ", r.name, r.local_status);
        done = done && Validated(r);
      }
      log.Line(fmt::format("{} round {:>2}: {}; A's proposal: {}", s.name, round, RoundLine(s), st));
    }
    if (done) break;
  }
  for (size_t k = 1; k < servers.size(); ++k) {
    for (const QueryResult& r : servers[k].results) {
      if (r.proposed_arm.empty()) continue;
      if (!r.deployed) {
        return Status::Internal(fmt::format("server {} deployed no arm for {} within {} rounds (--max-rounds)",
                                            servers[k].name, r.name, o.max_rounds));
      }
      if (!Validated(r)) {
        // The validation policy votes only at >= 20 runs and a gain >= 0.05
        // or <= 0; between, it keeps measuring.
        log.Line(fmt::format("{} deployed {} for {} but has not voted on A's {} within {} rounds ({}; local gain "
                             "{:.2f} over {} runs)",
                             servers[k].name, r.deployed_arm, r.name, r.proposed_arm, o.max_rounds, r.local_status,
                             r.local_gain, r.local_samples));
        continue;
      }
      log.Line(fmt::format("{} deployed {} for {} ({} A's proposal {}) after {} executions and {} candidate runs; "
                           "({} arms); its own runs: {:.1f} -> {:.1f} ms, {} runs of the arm; voted {} (local gain {:.2f} over {} "
                           "runs)",
                           servers[k].name, r.deployed_arm, r.name, r.deployed_arm == r.proposed_arm ? "=" : "!=",
                           r.proposed_arm, r.workload_runs, r.candidate_runs, r.candidate_arms, r.default_ms, r.arm_ms,
                           r.deployed_arm_runs, r.local_status == "confirmed" ? "confirm" : "refute", r.local_gain,
                           r.local_samples));
    }
  }
  return Status::Ok();
}

/// A's ledger: its proposals are confirmed once B's and C's votes arrived.
Status AwaitQuorum(std::vector<Server>& servers, const Options& o, Log& log, Measured* m) {
  Server& a = servers[0];
  // Only proposals every validator voted on can be decided (two validators
  // are needed, docs/sync.md "Quorum").
  int voted = 0;
  for (size_t i = 0; i < a.results.size(); ++i) {
    bool all = !servers[1].results[i].proposed_arm.empty();
    for (size_t k = 1; k < servers.size(); ++k) all = all && Validated(servers[k].results[i]);
    voted += all ? 1 : 0;
  }
  const std::string sql = "SELECT count(*) FILTER (WHERE state = 'confirmed') = count(*) FROM ruvector.qudag_proposals() WHERE own";
  Status st = WaitUntil(o.timeout_s, "A's proposals are decided", [&]() -> Result<bool> {
    RUVECTOR_ASSIGN_OR_RETURN(std::string v, a.admin.Scalar(fmt::format(
        "SELECT count(*) FILTER (WHERE state <> 'open') >= {} FROM ruvector.qudag_proposals() WHERE own", voted)));
    return v == "t";
  });
  if (!st.ok() && st.code() != StatusCode::kInternal) return st;
  RUVECTOR_ASSIGN_OR_RETURN(m->a_proposal_states,
                            a.admin.Scalar("SELECT string_agg(arm || ' ' || state || ' (' || votes || ' votes, stake ' || "
                                           "round(confirm_stake::numeric) || '/' || round(eligible_stake::numeric) || ')', "
                                           "'; ' ORDER BY arm) FROM ruvector.qudag_proposals() WHERE own"));
  RUVECTOR_ASSIGN_OR_RETURN(std::string all, a.admin.Scalar(sql));
  m->confirmed_while_down = all == "t";
  log.Line("A's ledger: " + m->a_proposal_states);
  return Status::Ok();
}

/// Phase 4: the killed node comes back and its replicas catch up.
Status RestartNode(std::vector<Server>& servers, LocalNatsCluster& nats, const Options& o, Log& log, Measured* m) {
  log.Step(fmt::format("4. NATS node n{} restarts and catches up", m->killed_node));
  const auto t0 = std::chrono::steady_clock::now();
  RUVECTOR_RETURN_IF_ERROR(nats.Restart(m->killed_node));
  auto others_max = [&]() -> Result<uint64_t> {
    uint64_t best = 0;
    for (int i = 1; i <= nats.nodes(); ++i) {
      if (i == m->killed_node) continue;
      RUVECTOR_ASSIGN_OR_RETURN(NatsNodeStore s, nats.Store(i));
      best = std::max(best, s.messages);
    }
    return best;
  };
  RUVECTOR_RETURN_IF_ERROR(WaitUntil(o.timeout_s, "the restarted node holds every message", [&]() -> Result<bool> {
    RUVECTOR_ASSIGN_OR_RETURN(uint64_t want, others_max());
    RUVECTOR_ASSIGN_OR_RETURN(NatsNodeStore mine, nats.Store(m->killed_node));
    m->cluster_messages_at_restart = want;
    m->restarted_node_messages = mine.messages;
    return mine.streams > 0 && mine.messages >= want;
  }));
  m->catch_up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log.Line(fmt::format("n{} holds {} messages again (had {} when killed; the others hold {}), {:.1f} s after its restart",
                       m->killed_node, m->restarted_node_messages, m->killed_node_messages,
                       m->cluster_messages_at_restart, m->catch_up_s));
  for (Server& s : servers) {
    RUVECTOR_RETURN_IF_ERROR(WaitUntil(o.timeout_s, s.name + " is connected to NATS", [&]() {
      return ScalarTrue(s.admin, "SELECT connected FROM ruvector.qudag_status()");
    }));
  }
  return Status::Ok();
}

Status CollectStatus(Server& s) {
  RUVECTOR_ASSIGN_OR_RETURN(
      PgRows r, s.admin.Exec("SELECT nats_url, messages_published, bytes_published, messages_received, "
                             "messages_accepted, messages_rejected, rejected_by_reason::text, proposals_made, "
                             "votes_cast, priors_applied, publish_failures, connection_problems, errors "
                             "FROM ruvector.qudag_status()"));
  const auto& v = r.rows[0];
  s.final_status = {{"nats_url", v[0]},
                    {"messages_published", std::stoll(v[1])},
                    {"bytes_published", std::stoll(v[2])},
                    {"messages_received", std::stoll(v[3])},
                    {"messages_accepted", std::stoll(v[4])},
                    {"messages_rejected", std::stoll(v[5])},
                    {"rejected_by_reason", nlohmann::ordered_json::parse(v[6].empty() ? "{}" : v[6], nullptr, false)},
                    {"proposals_made", std::stoll(v[7])},
                    {"votes_cast", std::stoll(v[8])},
                    {"priors_applied", std::stoll(v[9])},
                    {"publish_failures", std::stoll(v[10])},
                    {"connection_problems", std::stoll(v[11])},
                    {"errors", std::stoll(v[12])}};
  return Status::Ok();
}

nlohmann::ordered_json QueryJson(const QueryResult& r, const QueryResult* on_a) {
  nlohmann::ordered_json j = {{"query", r.name},
                              {"deployed_arm", r.deployed_arm},
                              {"deployed", r.deployed},
                              {"observed_runs", r.observed_runs},
                              {"deployed_arm_runs", r.arm_runs},
                              {"executions_to_deploy", r.workload_runs},
                              {"candidate_runs_to_deploy", r.candidate_runs},
                              {"candidate_arms_to_deploy", r.candidate_arms},
                              {"deployed_arm_runs_before_deploy", r.deployed_arm_runs},
                              {"seconds_first_run_to_deploy", r.deployed ? r.deploy_epoch - r.first_run_epoch : 0.0},
                              {"first_deployed_arm", r.first_arm},
                              {"first_deploy_executions", r.first_executions},
                              {"first_deploy_candidate_runs", r.first_candidate_runs},
                              {"deploy_default_ms", r.default_ms},
                              {"deploy_arm_ms", r.arm_ms}};
  if (on_a != nullptr) {
    j["proposed_arm"] = r.proposed_arm;
    j["prior_applied"] = r.prior_applied;
    j["prior_seen"] = r.prior_seen;
    j["same_arm_as_a"] = r.deployed_arm == r.proposed_arm;
    j["proposal_local_status"] = r.local_status;
    j["local_gain"] = r.local_gain;
    j["local_samples"] = r.local_samples;
    j["seconds_received_to_deploy"] = r.deployed ? r.deploy_epoch - r.received_epoch : 0.0;
    j["seconds_after_a_deployed"] = r.deployed && on_a->deployed ? r.deploy_epoch - on_a->deploy_epoch : 0.0;
    j["explorations_vs_a"] = on_a->candidate_runs > 0 ? static_cast<double>(r.candidate_runs) / on_a->candidate_runs : 0.0;
  }
  return j;
}

void PrintSummary(const std::vector<Server>& servers, const Measured& m, double wall_s) {
  std::cout << "\nSummary (every number measured in this run)\n";
  std::cout << fmt::format("{:<6} {:<5} {:<28} {:<16} {:>6} {:>6} {:>7} {:>7} {:>15}  {}\n", "server", "query",
                           "first deployed (execs/cand.)", "deployed at end", "execs", "cand.", "s", "s>A", "ms",
                           "A's proposal");
  const Server& a = servers[0];
  for (const Server& s : servers) {
    for (size_t i = 0; i < s.results.size(); ++i) {
      const QueryResult& r = s.results[i];
      const bool is_a = &s == &a;
      if (!is_a && r.proposed_arm.empty()) continue;
      std::string after = is_a || !r.deployed || !a.results[i].deployed
                              ? "-"
                              : fmt::format("{:.1f}", r.deploy_epoch - a.results[i].deploy_epoch);
      std::string prop = is_a ? "proposed" : fmt::format("{} {} (prior {})", r.proposed_arm, r.local_status,
                                                          r.prior_applied ? "applied" : "not applied");
      std::cout << fmt::format("{:<6} {:<5} {:<28} {:<16} {:>6} {:>6} {:>7.1f} {:>7} {:>15}  {}\n", s.name, r.name,
                               fmt::format("{} ({}/{})", r.first_arm, r.first_executions, r.first_candidate_runs),
                               r.deployed_arm, r.workload_runs, r.candidate_runs,
                               !r.deployed ? 0.0
                               : is_a    ? r.deploy_epoch - r.first_run_epoch
                                         : r.deploy_epoch - r.received_epoch,
                               after,
                               fmt::format("{:.1f}>{:.1f}", r.default_ms, r.arm_ms), prop);
    }
  }
  std::cout << "  execs = the demo's executions of the query on that server until a deployment was seen; cand. = "
               "runs steered to a candidate arm (explorer or online, default-plan measurements included) before it; "
               "execs, cand., s, s>A and ms refer to the deployment of the arm deployed at the end; s = from A's first "
               "execution (A), from the proposal's arrival (B, C); s>A = between A's and this deploy event\n";
  for (size_t i = 0; i < a.results.size(); ++i) {
    std::string line;
    for (const Server& s : servers) {
      const QueryResult& r = s.results[i];
      if (&s != &a && r.proposed_arm.empty()) continue;
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", s.name,
                          r.deployed ? std::to_string(r.candidate_runs) : std::string("-"));
    }
    std::cout << fmt::format("  {}: candidate runs until the deployment: {}\n", a.results[i].name, line);
  }
  std::cout << fmt::format("  wire: {:.0f} bytes per proposed pattern ({:.0f} per sealed message, one per peer)\n",
                           m.proposal_bytes, m.proposal_message_bytes);
  std::cout << fmt::format("  NATS node n{} killed before A proposed: B received after {:.1f} s, C after {:.1f} s; "
                           "A's ledger: {}\n",
                           m.killed_node, m.publish_to_receipt_s[0], m.publish_to_receipt_s[1], m.a_proposal_states);
  std::cout << fmt::format("  n{} restarted: {} -> {} messages (cluster {}) in {:.1f} s\n", m.killed_node,
                           m.killed_node_messages, m.restarted_node_messages, m.cluster_messages_at_restart,
                           m.catch_up_s);
  for (const Server& s : servers) {
    std::cout << fmt::format("  {}: published {} ({} bytes), accepted {}, rejected {} {}\n", s.name,
                             s.final_status.value("messages_published", int64_t{0}),
                             s.final_status.value("bytes_published", int64_t{0}),
                             s.final_status.value("messages_accepted", int64_t{0}),
                             s.final_status.value("messages_rejected", int64_t{0}),
                             s.final_status.contains("rejected_by_reason") ? s.final_status["rejected_by_reason"].dump()
                                                                            : "{}");
  }
  std::cout << fmt::format("  wall time {:.1f} s\n", wall_s);
}

nlohmann::ordered_json ReportJson(const Options& o, const std::vector<Server>& servers, const Measured& m,
                                  double wall_s) {
  nlohmann::ordered_json j;
  j["seeds"] = {{"learner", kLearnerSeed}, {"privacy_noise", "OpenSSL CSPRNG (not seeded)"}};
  j["queries"] = o.queries;
  j["runs_per_round"] = o.runs_per_round;
  nlohmann::ordered_json ss = nlohmann::ordered_json::array();
  for (const Server& s : servers) {
    nlohmann::ordered_json qs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < s.results.size(); ++i) {
      qs.push_back(QueryJson(s.results[i], &s == &servers[0] ? nullptr : &servers[0].results[i]));
    }
    ss.push_back({{"name", s.name}, {"queries", qs}, {"sync", s.final_status}});
  }
  j["servers"] = ss;
  j["nats"] = {{"nodes", 3},
               {"stream_replicas", 3},
               {"killed_node", m.killed_node},
               {"a_url_before_kill", m.a_url_before},
               {"a_url_after_kill", m.a_url_after},
               {"killed_node_messages", m.killed_node_messages},
               {"restarted_node_messages", m.restarted_node_messages},
               {"cluster_messages", m.cluster_messages_at_restart},
               {"catch_up_seconds", m.catch_up_s}};
  j["sync"] = {{"proposals_while_node_down", m.proposals},
               {"bytes_per_pattern", m.proposal_bytes},
               {"bytes_per_message", m.proposal_message_bytes},
               {"seconds_sync_to_b", m.publish_to_receipt_s[0]},
               {"seconds_sync_to_c", m.publish_to_receipt_s[1]},
               {"a_proposals", m.a_proposal_states},
               {"a_proposals_confirmed_while_node_down", m.confirmed_while_down}};
  j["wall_seconds"] = wall_s;
  return j;
}

Status RunPhases(const Options& o, std::vector<Server>& servers, LocalNatsCluster& nats, Log& log, Measured* m) {
  std::vector<WorkloadQuery> queries;
  for (const std::string& name : o.queries) {
    bool found = false;
    for (const WorkloadQuery& q : MisestimationQueries()) {
      if (q.name == name) {
        queries.push_back(q);
        found = true;
      }
    }
    if (!found) return Status::InvalidArgument("unknown query '" + name + "' (the misestimation queries are Q1, Q2, Q3)");
  }
  log.Step("0. a 3-node NATS JetStream cluster and three PostgreSQL servers");
  RUVECTOR_RETURN_IF_ERROR(nats.Start());
  log.Line("NATS cluster up (stream replicas 3): " + nats.urls());
  for (Server& s : servers) {
    RUVECTOR_RETURN_IF_ERROR(StartServer(s, nats.urls()));
    log.Line(fmt::format("server {} started in {} (sync on, peers: the other two)", s.name, s.dir));
  }
  RUVECTOR_RETURN_IF_ERROR(ConnectPeers(servers, o.timeout_s, log));
  for (Server& s : servers) {
    RUVECTOR_RETURN_IF_ERROR(Interrupted());
    RUVECTOR_RETURN_IF_ERROR(CreateWorkload(s, queries));
    log.Line("server " + s.name + ": the workload's tables created (same deterministic data on every server)");
  }
  RUVECTOR_RETURN_IF_ERROR(LearnOnA(servers[0], queries, o, log));
  // B and C run each query a few times: their patterns and default plans
  // exist (what a proposal is matched against), nothing is learned yet.
  for (size_t k = 1; k < servers.size(); ++k) {
    for (size_t i = 0; i < queries.size(); ++i) {
      servers[k].results[i].first_run_epoch = Clock::Epoch();
    }
    RUVECTOR_RETURN_IF_ERROR(RunRound(servers[k], queries, 1));
  }
  RUVECTOR_RETURN_IF_ERROR(ProposeWithNodeDown(servers, queries, nats, o, log, m));
  RUVECTOR_RETURN_IF_ERROR(ValidateOnPeers(servers, queries, o, log));
  RUVECTOR_RETURN_IF_ERROR(AwaitQuorum(servers, o, log, m));
  RUVECTOR_RETURN_IF_ERROR(RestartNode(servers, nats, o, log, m));
  for (Server& s : servers) RUVECTOR_RETURN_IF_ERROR(CollectStatus(s));
  return Status::Ok();
}

int RunClusterDemo(const Options& o) {
  Clock clock;
  Log log(o, clock);
  std::string dir = o.dir;
  if (dir.empty()) dir = PrivateCluster::DefaultDir() + "-cluster";
  auto script = LocalNatsCluster::FindScript(o.nats_script);
  if (!script.ok()) return ReportError("cluster-demo", script.status());
  if (Status st = PrepareDir(dir); !st.ok()) return ReportError("cluster-demo", st);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int, old_term, old_hup;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);

  LocalNatsCluster nats(*script, dir + "/nats", 3);
  std::vector<Server> servers(3);
  const char* names[] = {"a", "b", "c"};
  for (size_t i = 0; i < servers.size(); ++i) {
    servers[i].name = names[i];
    servers[i].dir = dir + "/" + names[i];
  }
  log.Line(fmt::format("seeds: learner {:#x} on every server (EngineOptions::seed); workload data deterministic; "
                       "privacy noise from OpenSSL's CSPRNG (not seeded, by design)",
                       kLearnerSeed));
  Measured m;
  Teardown teardown(&servers, &nats, dir, o.keep);
  Status st = RunPhases(o, servers, nats, log, &m);
  const double wall_s = clock.Seconds();
  int code = kExitOk;
  if (st.ok()) {
    if (o.format == "text") {
      PrintSummary(servers, m, wall_s);
    } else {
      std::cout << ReportJson(o, servers, m, wall_s).dump(2) << "\n";
    }
  } else {
    if (g_signal != 0) {
      // Whatever step was cut short, the cause is the signal.
      ReportError("cluster-demo", Interrupted());
      code = kExitInterrupted;
    } else {
      code = ReportError("cluster-demo", st);
    }
  }
  log.Line(o.keep ? "stopping every process (directory kept: " + dir + ")" : "stopping every process and removing " + dir);
  if (Status t = teardown.Run(); !t.ok()) {
    ReportError("cluster-demo: cleanup", t);
    if (code == kExitOk) code = kExitInternal;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  return code;
}

}  // namespace

void RegisterClusterDemo(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "cluster-demo",
      "Pattern sync across three private PostgreSQL servers over a 3-node NATS JetStream cluster: A learns, B and "
      "C verify A's proposals on their own runs, one NATS node is killed and restarted (every number measured)");
  cmd->add_option("--dir", opts->dir,
                  "working directory, removed at the end (default: the demo's cache directory + '-cluster')");
  cmd->add_option("--format", opts->format, "text or json (the per-step log goes to stderr then)")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--queries", opts->queries, "misestimation queries to run (Q1 Q2 Q3)")->delimiter(',');
  cmd->add_option("--runs-per-round", opts->runs_per_round, "executions of each query per round on a server")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-rounds", opts->max_rounds, "most rounds per phase before giving up")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--timeout", opts->timeout_s, "seconds each wait for the cluster may take")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--kill-node", opts->kill_node, "NATS node to kill (1-3; default: the one server A is connected to)")
      ->check(CLI::Range(1, 3));
  cmd->add_flag("--keep", opts->keep, "keep the directory (servers stopped) for inspecting the logs");
  cmd->add_option("--nats-script", opts->nats_script, "path of scripts/nats_cluster.sh (default: found by itself)");
  cmd->callback([opts, exit_code]() { *exit_code = RunClusterDemo(*opts); });
}

}  // namespace ruvector_dag::cli
