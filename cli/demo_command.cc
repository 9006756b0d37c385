// `ruvector-dag demo`: starts a private PostgreSQL cluster with the
// extension preloaded, creates the misestimation workload (workload.h),
// measures PostgreSQL's own plans, then runs the workload for N rounds with
// the learner exploring online and prints a convergence log per round. Every
// latency is measured by the client (wall time of the statement, planning
// included); nothing is simulated.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "pg_client.h"
#include "workload.h"

namespace ruvector_dag::cli {
namespace {

struct DemoOptions {
  int rounds = 40;  // enough for every candidate arm to be measured or rejected
  std::string format = "text";
  bool keep = false;
  bool fresh = false;
  std::string dir;
  std::string plot = "ruvector-dag-demo.svg";
  std::string exploration = "background";  // background | online
  double budget = 0.5;                     // online exploration's share of executions
  int baseline_runs = 5;
};

struct QueryRound {
  double ms = 0.0;
  std::string arm;  // deployed arm after the round
  bool explored = false;
};

struct Round {
  int index = 0;
  double total_ms = 0.0;
  double base_ms = 0.0;                // PostgreSQL alone, measured in this round
  std::vector<double> base_queries;    // per query
  double learn_ms = 0.0;  // dag_learn_now
  double tension = -1.0;            // main query's pattern (dag_decisions), -1 = not tracked yet
  double predicted_ms = 0.0;        // value model's latency of its deployed arm (0 = none yet)
  double measured_ms = 0.0;         // measured latency of its deployed arm (0 = none yet)
  double model_error = -1.0;        // value model's prequential error (dag_status), -1 = none yet
  std::vector<QueryRound> queries;
  std::vector<std::string> events;
  int explorations = 0;
  bool results_identical = true;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void Progress(const DemoOptions& o, const std::string& msg) {
  if (o.format == "text") {
    std::cerr << msg << std::endl;
  } else {
    std::cerr << "ruvector-dag demo: " << msg << std::endl;
  }
}

std::string Svg(const std::vector<Round>& rounds, double baseline_total) {
  const double w = 760, h = 360, left = 70, right = 20, top = 40, bottom = 50;
  double ymax = baseline_total;
  for (const Round& r : rounds) ymax = std::max({ymax, r.total_ms, r.base_ms});
  ymax *= 1.1;
  if (ymax <= 0) ymax = 1;
  size_t n = std::max<size_t>(rounds.size(), 2);
  auto x = [&](size_t i) { return left + (w - left - right) * static_cast<double>(i) / static_cast<double>(n - 1); };
  auto y = [&](double v) { return top + (h - top - bottom) * (1.0 - v / ymax); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" font-size=\"15\">ruvector-dag demo: workload latency per round (measured)</text>\n",
      w, h, left);
  for (int t = 0; t <= 4; ++t) {
    double v = ymax * t / 4.0;
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f} ms</text>\n",
                     left, y(v), w - right, y(v), left - 6, y(v) + 4, v);
  }
  // PostgreSQL alone, measured in every round (rounds alternate).
  std::string base_pts;
  for (size_t i = 0; i < rounds.size(); ++i) base_pts += fmt::format("{:.1f},{:.1f} ", x(i), y(rounds[i].base_ms));
  s += "<polyline fill=\"none\" stroke=\"#c33\" stroke-dasharray=\"6,4\" points=\"" + base_pts + "\"/>\n";
  s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#c33\" text-anchor=\"end\">PostgreSQL alone</text>\n",
                   w - right, y(rounds.empty() ? baseline_total : rounds.back().base_ms) - 6);
  std::string pts;
  for (size_t i = 0; i < rounds.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", x(i), y(rounds[i].total_ms));
  s += "<polyline fill=\"none\" stroke=\"#2762c7\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
  for (size_t i = 0; i < rounds.size(); ++i) {
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#2762c7\"><title>round {}: {:.1f} ms"
                     "</title></circle>\n",
                     x(i), y(rounds[i].total_ms), rounds[i].index, rounds[i].total_ms);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">round (1 .. {})</text>\n", (left + w - right) / 2,
                   h - 15, rounds.size());
  s += "</svg>\n";
  return s;
}

int RunDemo(const DemoOptions& o) {
  auto t_start = std::chrono::steady_clock::now();
  std::string dir = o.dir.empty() ? PrivateCluster::DefaultDir() : o.dir;
  if (o.fresh) {
    Status st = PrivateCluster::Destroy(dir);
    if (!st.ok()) return ReportError("demo", st);
  }
  Progress(o, "starting the private PostgreSQL cluster in " + dir + " ...");
  bool created = false;
  Result<PrivateCluster> cluster_or = PrivateCluster::Start(dir, &created);
  if (!cluster_or.ok()) return ReportError("demo", cluster_or.status());
  PrivateCluster cluster = std::move(cluster_or).value();
  auto finish = [&](int code) {
    if (!o.keep) {
      Status st = PrivateCluster::Destroy(dir);
      if (!st.ok()) ReportError("demo: cleanup", st);
    } else {
      Status st = cluster.Stop();
      if (!st.ok()) ReportError("demo: stopping the cluster", st);
    }
    return code;
  };
  auto fail = [&](const Status& st) { return finish(ReportError("demo", st)); };

  Result<PgConnection> admin_or = PgConnection::Connect(cluster.ConnInfo("postgres"));
  if (!admin_or.ok()) return fail(admin_or.status());
  PgConnection admin = std::move(admin_or).value();
  auto exists = admin.Scalar("SELECT count(*) FROM pg_database WHERE datname = 'ruvector_demo'");
  if (!exists.ok()) return fail(exists.status());
  if (*exists == "0") {
    if (auto r = admin.Exec("CREATE DATABASE ruvector_demo"); !r.ok()) return fail(r.status());
  }
  Result<PgConnection> db_or = PgConnection::Connect(cluster.ConnInfo("ruvector_demo"));
  if (!db_or.ok()) return fail(db_or.status());
  PgConnection db = std::move(db_or).value();
  if (auto r = db.Exec("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE"); !r.ok()) {
    return fail(r.status());
  }
  auto version = db.Scalar("SELECT coalesce(obj_description(to_regclass('rv_events'), 'pg_class'), '')");
  if (!version.ok()) return fail(version.status());
  std::string want_version = fmt::format("ruvector-dag demo data v{}", kWorkloadDataVersion);
  if (*version != want_version) {
    Progress(o, "creating the demo data (correlated columns, skewed join; about 300k rows) ...");
    auto t0 = std::chrono::steady_clock::now();
    if (auto r = db.Exec("SET client_min_messages = warning; SET ruvector.dag_enabled = off;" + WorkloadSchemaSql() +
                         "COMMENT ON TABLE rv_events IS " + SqlLiteral(want_version));
        !r.ok()) {
      return fail(r.status());
    }
    Progress(o, fmt::format("  done in {:.1f} s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                                                      .count()));
  }
  std::vector<WorkloadQuery> queries = MisestimationQueries();
  for (WorkloadQuery& q : WellPlannedQueries()) queries.push_back(q);

  // A clean start for the learner (the cluster may be reused).
  if (auto r = db.Exec("SELECT ruvector.dag_reset_learning(false)"); !r.ok()) return fail(r.status());

  // 1. PostgreSQL alone: the extension off in this session.
  Progress(o, fmt::format("measuring PostgreSQL's own plans ({} rounds) ...", o.baseline_runs));
  if (auto r = db.Exec("SET ruvector.dag_enabled = off"); !r.ok()) return fail(r.status());
  // One warm-up round (hint bits of freshly loaded rows, caches), then
  // `baseline_runs` rounds in the same order as the learning rounds (so both
  // see the same interleaving); the baseline is each query's median.
  for (const WorkloadQuery& q : queries) {
    if (auto r = db.Exec(q.sql); !r.ok()) return fail(r.status());
  }
  std::vector<double> baseline(queries.size());
  std::vector<std::string> expected(queries.size());
  std::vector<std::vector<double>> baseline_runs(queries.size());
  for (int k = 0; k < o.baseline_runs; ++k) {
    for (size_t i = 0; i < queries.size(); ++i) {
      double ms = 0;
      auto r = db.TimedExec(queries[i].sql, &ms);
      if (!r.ok()) return fail(r.status());
      if (k == 0) expected[i] = r->Canonical();
      baseline_runs[i].push_back(ms);
    }
  }
  for (size_t i = 0; i < queries.size(); ++i) baseline[i] = Median(baseline_runs[i]);
  double baseline_total = 0;
  for (double b : baseline) baseline_total += b;
  std::vector<std::string> qids(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    auto q = QueryIdentifier(db, queries[i].sql);
    if (!q.ok()) return fail(q.status());
    qids[i] = *q;
  }

  // Bookkeeping session (decisions, events, learn_now): not observed itself.
  Result<PgConnection> monitor_or = PgConnection::Connect(cluster.ConnInfo("ruvector_demo"));
  if (!monitor_or.ok()) return fail(monitor_or.status());
  PgConnection monitor = std::move(monitor_or).value();
  if (auto r = monitor.Exec("SET ruvector.dag_enabled = off"); !r.ok()) return fail(r.status());

  // PostgreSQL alone is measured again in every round, on its own session
  // with the extension off, just before the learning round: both see the
  // same machine load.
  Result<PgConnection> base_or = PgConnection::Connect(cluster.ConnInfo("ruvector_demo"));
  if (!base_or.ok()) return fail(base_or.status());
  PgConnection base = std::move(base_or).value();
  if (auto r = base.Exec("SET ruvector.dag_enabled = off"); !r.ok()) return fail(r.status());

  // 2. Learning: the background explorer measures candidate arms (or, with
  // --exploration online, the workload's own executions do).
  const bool online = o.exploration == "online";
  if (auto r = db.Exec(LearningSessionSql(online, o.budget)); !r.ok()) return fail(r.status());
  // Explorations: online ones (per decision) plus the explorer's runs.
  const std::string kExplorations =
      "SELECT (SELECT coalesce(sum(explorations), 0) FROM ruvector.dag_decisions()) + "
      "(SELECT runs FROM ruvector.dag_exploration_status())";
  auto explorer_busy_before = monitor.Scalar("SELECT explorer_busy_ms FROM ruvector.dag_exploration_status()");
  if (!explorer_busy_before.ok()) return fail(explorer_busy_before.status());
  size_t main_query = static_cast<size_t>(std::max_element(baseline.begin(), baseline.end()) - baseline.begin());
  // The learner's attention mechanism and why (published by its first pass:
  // dag_learn_now waits for passes).
  if (auto lr = monitor.Exec("SELECT ruvector.dag_learn_now()"); !lr.ok()) return fail(lr.status());
  std::string mechanism = "(learner not started)", mechanism_reason;
  auto mech_row = monitor.Exec("SELECT mechanism, mechanism_reason FROM ruvector.dag_status()");
  if (!mech_row.ok()) return fail(mech_row.status());
  if (!mech_row->rows.empty() && !mech_row->rows[0][0].empty()) {
    mechanism = mech_row->rows[0][0];
    mechanism_reason = mech_row->rows[0][1];
  }
  if (o.format == "text") {
    std::cout << fmt::format("RuVector DAG demo: {} queries ({} misplanned by PostgreSQL, {} planned well), {} rounds\n",
                             queries.size(), MisestimationQueries().size(), WellPlannedQueries().size(), o.rounds);
    for (size_t i = 0; i < queries.size(); ++i) {
      std::cout << fmt::format("  {}  {:9.2f} ms  {}\n", queries[i].name, baseline[i], queries[i].reason);
    }
    std::cout << fmt::format("PostgreSQL alone: {:.2f} ms per round (per query the median of {} rounds)\n\n",
                             baseline_total, o.baseline_runs);
    std::cout << fmt::format("Learner's attention mechanism: {}{}\n", mechanism,
                             mechanism_reason.empty() ? "" : " -- " + mechanism_reason);
    std::cout << fmt::format("Per round: {0} = the main query; its tension, and the value model's prediction vs the "
                             "measured latency of its deployed arm; model err = the model's prequential error "
                             "(EWMA of |predicted - actual| log-latency)\n\n",
                             queries[main_query].name);
    std::cout << fmt::format("{:>5}  {:<21} {:>7}  {:>17}  {:>9}  {:>10}  {:>10}  {:>7}  {}\n", "round",
                             fmt::format("arm ({})", queries[main_query].name), "tension", "pred/meas ms",
                             "model err", "latency", "baseline", "speedup", "learning events");
  }
  std::vector<Round> rounds;
  uint64_t last_event = 0, last_repair = 0;
  {
    auto e = monitor.Scalar("SELECT coalesce(max(seq), 0) FROM ruvector.dag_learning_events(1000)");
    if (!e.ok()) return fail(e.status());
    last_event = std::stoull(*e);
    auto h = monitor.Scalar("SELECT coalesce(max(seq), 0) FROM ruvector.dag_repair_history(1000)");
    if (!h.ok()) return fail(h.status());
    last_repair = std::stoull(*h);
  }
  bool all_identical = true;
  std::map<std::string, std::string> arm_by_qid;
  for (int round = 1; round <= o.rounds; ++round) {
    Round r;
    r.index = round;
    for (size_t i = 0; i < queries.size(); ++i) {
      double ms = 0;
      auto res = base.TimedExec(queries[i].sql, &ms);
      if (!res.ok()) return fail(res.status());
      r.base_queries.push_back(ms);
      r.base_ms += ms;
    }
    auto explorations_before = monitor.Scalar(kExplorations);
    if (!explorations_before.ok()) return fail(explorations_before.status());
    for (size_t i = 0; i < queries.size(); ++i) {
      QueryRound qr;
      auto res = db.TimedExec(queries[i].sql, &qr.ms);
      if (!res.ok()) return fail(res.status());
      if (res->Canonical() != expected[i]) {
        r.results_identical = false;
        all_identical = false;
      }
      r.total_ms += qr.ms;
      r.queries.push_back(qr);
    }
    double learn_ms = 0;
    if (auto lr = monitor.TimedExec("SELECT ruvector.dag_learn_now()", &learn_ms); !lr.ok()) return fail(lr.status());
    r.learn_ms = learn_ms;
    auto explorations_after = monitor.Scalar(kExplorations);
    if (!explorations_after.ok()) return fail(explorations_after.status());
    r.explorations = static_cast<int>(std::stoll(*explorations_after) - std::stoll(*explorations_before));
    // Deployed arm per query (after this round's learning).
    auto dec = monitor.Exec("SELECT query_id, deployed_arm FROM ruvector.dag_decisions() ORDER BY observed_runs DESC");
    if (!dec.ok()) return fail(dec.status());
    arm_by_qid.clear();
    for (const auto& row : dec->rows) arm_by_qid.emplace(row[0], row[1]);
    for (size_t i = 0; i < queries.size(); ++i) {
      auto it = arm_by_qid.find(qids[i]);
      r.queries[i].arm = it == arm_by_qid.end() ? "default" : it->second;
    }
    // The learner's view of the main query's pattern (the one it ran most):
    // tension of its executed plans, the value model's latency of the
    // deployed arm and that arm's measured latency.
    auto view = monitor.Exec(fmt::format(
        "SELECT tension, coalesce(predicted_deployed_ms, 0), "
        "coalesce(CASE WHEN deployed_arm = 'default' THEN default_ms ELSE deployed_ms END, 0) "
        "FROM ruvector.dag_decisions() WHERE query_id = {} ORDER BY observed_runs DESC, pattern_id LIMIT 1",
        qids[main_query]));
    if (!view.ok()) return fail(view.status());
    if (!view->rows.empty()) {
      r.tension = std::atof(view->rows[0][0].c_str());
      r.predicted_ms = std::atof(view->rows[0][1].c_str());
      r.measured_ms = std::atof(view->rows[0][2].c_str());
    }
    auto err = monitor.Scalar("SELECT coalesce(model_prediction_error, -1) FROM ruvector.dag_status()");
    if (!err.ok()) return fail(err.status());
    r.model_error = std::atof(err->c_str());
    auto ev = monitor.Exec(fmt::format(
        "SELECT seq, event, arm, query_id, round(default_ms::numeric, 1), round(arm_ms::numeric, 1) "
        "FROM ruvector.dag_learning_events(1000) WHERE seq > {} AND event IN ('deploy', 'revert', 'reject', 'drift') "
        "ORDER BY seq",
        last_event));
    if (!ev.ok()) return fail(ev.status());
    // Arms rejected unrun because their plan is PostgreSQL's: one event per
    // query, in the order the queries first had one.
    std::vector<std::pair<std::string, std::string>> same_plan;  // query name, its arms
    for (const auto& row : ev->rows) {
      last_event = std::max<uint64_t>(last_event, std::stoull(row[0]));
      std::string name = "?";
      for (size_t i = 0; i < queries.size(); ++i) {
        if (qids[i] == row[3]) name = queries[i].name;
      }
      if (row[1] == "drift") {
        r.events.push_back("drift");
      } else if (row[1] == "reject" && row[5].empty()) {  // NULL arm_ms: its plan is PostgreSQL's
        auto it = std::find_if(same_plan.begin(), same_plan.end(), [&](const auto& q) { return q.first == name; });
        if (it == same_plan.end()) {
          same_plan.emplace_back(name, row[2]);
        } else {
          it->second += ", " + row[2];
        }
      } else if (row[5].empty()) {
        r.events.push_back(fmt::format("{} {} {} (same plan as PostgreSQL's)", row[1], name, row[2]));
      } else {
        r.events.push_back(fmt::format("{} {} {} ({} -> {} ms)", row[1], name, row[2], row[4], row[5]));
      }
    }
    for (const auto& [name, arms] : same_plan) {
      r.events.push_back(fmt::format("reject {} {} (same plan as PostgreSQL's)", name, arms));
    }
    // Healing actions (the worker's cycle) in this round.
    auto heal = monitor.Exec(fmt::format(
        "SELECT seq, strategy, outcome, coalesce(d.query_id::text, ''), "
        "h.action = 'verdict of the re-validation' FROM ruvector.dag_repair_history(1000) h "
        "LEFT JOIN ruvector.dag_decisions() d USING (pattern_id) WHERE seq > {} ORDER BY seq",
        last_repair));
    if (!heal.ok()) return fail(heal.status());
    for (const auto& row : heal->rows) {
      last_repair = std::max<uint64_t>(last_repair, std::stoull(row[0]));
      std::string name;
      for (size_t i = 0; i < queries.size(); ++i) {
        if (qids[i] == row[3]) name = " " + queries[i].name;
      }
      // A re-validation is started (unverified), then judged on later runs.
      r.events.push_back(fmt::format("healing {}{} {}{}", row[1], name, row[4] == "t" ? "verdict " : "", row[2]));
    }
    if (o.format == "text") {
      std::string events;
      for (const std::string& e : r.events) events += (events.empty() ? "" : "; ") + e;
      if (r.explorations > 0) {
        events = fmt::format("{} explored{}{}", r.explorations, events.empty() ? "" : "; ", events);
      }
      if (!r.results_identical) events += " RESULTS DIFFER";
      const std::string tension = r.tension < 0.0 ? "-" : fmt::format("{:.3f}", r.tension);
      const std::string pred = r.predicted_ms > 0.0 ? fmt::format("{:.1f}", r.predicted_ms) : "-";
      const std::string meas = r.measured_ms > 0.0 ? fmt::format("{:.1f}", r.measured_ms) : "-";
      const std::string err = r.model_error < 0.0 ? "-" : fmt::format("{:.3f}", r.model_error);
      std::cout << fmt::format("{:>5}  {:<21} {:>7}  {:>17}  {:>9}  {:>7.1f} ms  {:>7.1f} ms  {:>6.2f}x  {}\n", round,
                               r.queries[main_query].arm, tension, pred + " / " + meas, err, r.total_ms, r.base_ms,
                               r.base_ms / r.total_ms, events.empty() ? "-" : events);
    }
    rounds.push_back(std::move(r));
  }

  // Summary over the last quarter of the rounds (at least 3).
  size_t tail = std::max<size_t>(3, rounds.size() / 4);
  tail = std::min(tail, rounds.size());
  std::vector<double> final_per_query(queries.size());
  std::vector<double> base_per_query(queries.size());  // PostgreSQL alone, same rounds
  std::vector<double> tail_totals, tail_base_totals;
  for (size_t k = rounds.size() - tail; k < rounds.size(); ++k) {
    tail_totals.push_back(rounds[k].total_ms);
    tail_base_totals.push_back(rounds[k].base_ms);
  }
  int regressed_12 = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    std::vector<double> v, b;
    for (size_t k = rounds.size() - tail; k < rounds.size(); ++k) {
      v.push_back(rounds[k].queries[i].ms);
      b.push_back(rounds[k].base_queries[i]);
    }
    final_per_query[i] = Median(v);
    base_per_query[i] = Median(b);
    if (final_per_query[i] > 1.2 * base_per_query[i]) ++regressed_12;
  }
  double final_total = Median(tail_totals);
  double final_base_total = Median(tail_base_totals);
  int time_to_benefit = -1;
  for (const Round& r : rounds) {
    if (r.total_ms * 1.2 < r.base_ms) {
      time_to_benefit = r.index;
      break;
    }
  }
  double learn_total = 0, workload_total = 0;
  for (const Round& r : rounds) {
    learn_total += r.learn_ms;
    workload_total += r.total_ms;
  }
  auto explorer_busy_after = monitor.Scalar("SELECT explorer_busy_ms FROM ruvector.dag_exploration_status()");
  if (!explorer_busy_after.ok()) return fail(explorer_busy_after.status());
  const double explorer_ms = std::atof(explorer_busy_after->c_str()) - std::atof(explorer_busy_before->c_str());
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::string svg = Svg(rounds, baseline_total);
  Status plot_status = o.plot.empty() ? Status::Ok() : WriteOutput(o.plot, svg);

  if (o.format == "text") {
    std::cout << "\nSummary (converged = median of the last " << tail
              << " rounds; PostgreSQL alone measured in the same rounds)\n";
    for (size_t i = 0; i < queries.size(); ++i) {
      std::cout << fmt::format("  {}  PostgreSQL {:9.2f} ms   learned {:9.2f} ms   {:6.2f}x   arm {}\n",
                               queries[i].name, base_per_query[i], final_per_query[i],
                               base_per_query[i] / final_per_query[i], rounds.back().queries[i].arm);
    }
    std::cout << fmt::format("  workload: PostgreSQL {:.1f} ms per round, learned {:.1f} ms per round: {:.2f}x\n",
                             final_base_total, final_total, final_base_total / final_total);
    std::cout << fmt::format("  queries slower than PostgreSQL by > 1.2x once converged: {}\n", regressed_12);
    std::cout << fmt::format("  first round >= 1.2x faster than PostgreSQL: {}\n",
                             time_to_benefit < 0 ? std::string("none") : std::to_string(time_to_benefit));
    std::cout << fmt::format("  all rounds {:.1f} s (learning waits {:.2f} s); results identical to PostgreSQL's: {}\n",
                             workload_total / 1000.0, learn_total / 1000.0, all_identical ? "yes" : "NO");
    std::cout << fmt::format("  exploration: {}; background explorer time {:.2f} s (concurrent with the rounds)\n",
                             online ? "online, on the workload's executions" : "background re-executions",
                             explorer_ms / 1000.0);
    std::cout << fmt::format("  demo wall time {:.1f} s; cluster {} ({})\n", wall_s, dir,
                             o.keep ? "kept, stopped" : "removed");
    if (!o.plot.empty()) {
      std::cout << (plot_status.ok() ? "  plot: " + o.plot + "\n" : "  plot not written: " + plot_status.message() + "\n");
    }
  } else {
    nlohmann::ordered_json j;
    j["rounds_requested"] = o.rounds;
    j["mechanism"] = mechanism;
    j["mechanism_reason"] = mechanism_reason;
    j["exploration"] = o.exploration;
    j["exploration_budget"] = online ? o.budget : 0.0;
    j["explorer_busy_ms"] = explorer_ms;
    nlohmann::ordered_json qs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < queries.size(); ++i) {
      qs.push_back({{"name", queries[i].name},
                    {"reason", queries[i].reason},
                    {"sql", queries[i].sql},
                    {"query_id", qids[i]},
                    {"baseline_ms", baseline[i]},
                    {"postgres_converged_ms", base_per_query[i]},
                    {"converged_ms", final_per_query[i]},
                    {"speedup", base_per_query[i] / final_per_query[i]},
                    {"arm", rounds.back().queries[i].arm}});
    }
    j["queries"] = qs;
    nlohmann::ordered_json rs = nlohmann::ordered_json::array();
    for (const Round& r : rounds) {
      nlohmann::ordered_json per = nlohmann::ordered_json::array();
      for (size_t i = 0; i < queries.size(); ++i) {
        per.push_back({{"name", queries[i].name}, {"ms", r.queries[i].ms}, {"arm", r.queries[i].arm}});
      }
      rs.push_back({{"round", r.index},
                    {"tension", r.tension < 0.0 ? nlohmann::ordered_json() : nlohmann::ordered_json(r.tension)},
                    {"predicted_deployed_ms",
                     r.predicted_ms > 0.0 ? nlohmann::ordered_json(r.predicted_ms) : nlohmann::ordered_json()},
                    {"measured_deployed_ms",
                     r.measured_ms > 0.0 ? nlohmann::ordered_json(r.measured_ms) : nlohmann::ordered_json()},
                    {"model_prediction_error",
                     r.model_error < 0.0 ? nlohmann::ordered_json() : nlohmann::ordered_json(r.model_error)},
                    {"latency_ms", r.total_ms},
                    {"baseline_ms", r.base_ms},
                    {"speedup", r.base_ms / r.total_ms},
                    {"explorations", r.explorations},
                    {"learn_wait_ms", r.learn_ms},
                    {"events", r.events},
                    {"results_identical", r.results_identical},
                    {"queries", per}});
    }
    j["rounds"] = rs;
    j["summary"] = {{"baseline_ms_per_round", final_base_total},
                    {"converged_ms_per_round", final_total},
                    {"speedup", final_base_total / final_total},
                    {"regressed_over_1_2x", regressed_12},
                    {"time_to_benefit_round", time_to_benefit},
                    {"results_identical", all_identical},
                    {"wall_seconds", wall_s},
                    {"plot", plot_status.ok() ? o.plot : ""}};
    std::cout << j.dump(2) << "\n";
  }
  return finish(all_identical ? kExitOk : kExitInternal);
}

}  // namespace

void RegisterDemo(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Start a private PostgreSQL with the extension, run a workload PostgreSQL misplans and show the learner "
      "converging (every number measured)");
  cmd->add_option("--rounds", opts->rounds, "rounds of the workload")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--format", opts->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("--keep", opts->keep, "keep the cluster directory (stopped) for the next run");
  cmd->add_flag("--fresh", opts->fresh, "remove an existing demo cluster first");
  cmd->add_option("--dir", opts->dir, "cluster directory (default: the user's cache directory)");
  cmd->add_option("--plot", opts->plot, "SVG plot of latency per round ('' = none)")->capture_default_str();
  cmd->add_option("--exploration", opts->exploration,
                  "background: the server's explorer re-executes captured statements under candidate arms; "
                  "online: the workload's own executions explore as well (the server's explorer keeps running)")
      ->check(CLI::IsMember({"background", "online"}))
      ->capture_default_str();
  cmd->add_option("--budget", opts->budget,
                  "online exploration: share of a pattern's plannings that may explore a candidate arm")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--baseline-runs", opts->baseline_runs, "rounds of the workload to measure PostgreSQL alone")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->callback([opts, exit_code]() { *exit_code = RunDemo(*opts); });
}

}  // namespace ruvector_dag::cli
