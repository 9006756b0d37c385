// `ruvector-dag bench`: runs a workload against an existing database, once
// with the extension disabled (PostgreSQL alone) and once learning (by
// default the server's background explorer measures candidate arms within
// its CPU budget; --exploration online explores on the workload's own
// executions instead), and reports measured totals, the explorer's time,
// per-query percentiles, regressions, time-to-benefit, result identity and
// the planning overhead of the extension for known patterns.
#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "pg_client.h"
#include "workload.h"

namespace ruvector_dag::cli {
namespace {

struct BenchOptions {
  std::string dsn;
  std::string queries;
  std::string workload;  // misestimation | well-planned (bundled queries)
  bool generate = false;
  int rounds = 20;
  std::string format = "text";
  std::string exploration = "background";  // background | online
  double budget = 0.5;                     // online exploration's share of executions
  int planning_samples = 200;
  bool sync_learning = false;  // wait for the learner after every round
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

/// Splits a file on semicolons outside quotes, comments and dollar quotes.
std::vector<std::string> SplitStatements(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0, n = text.size();
  auto flush = [&]() {
    size_t b = cur.find_first_not_of(" \t\r\n");
    if (b != std::string::npos) {
      size_t e = cur.find_last_not_of(" \t\r\n");
      out.push_back(cur.substr(b, e - b + 1));
    }
    cur.clear();
  };
  while (i < n) {
    char c = text[i];
    if (c == '-' && i + 1 < n && text[i + 1] == '-') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      size_t e = text.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
      cur += ' ';
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < n && !(text[j] == c && (j + 1 >= n || text[j + 1] != c))) j += (text[j] == c ? 2 : 1);
      cur.append(text, i, std::min(j + 1, n) - i);
      i = j + 1;
      continue;
    }
    if (c == '$') {
      size_t j = i + 1;
      while (j < n && (isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      if (j < n && text[j] == '$') {
        std::string tag = text.substr(i, j - i + 1);
        size_t e = text.find(tag, j + 1);
        size_t end = e == std::string::npos ? n : e + tag.size();
        cur.append(text, i, end - i);
        i = end;
        continue;
      }
    }
    if (c == ';') {
      flush();
      ++i;
      continue;
    }
    cur += c;
    ++i;
  }
  flush();
  return out;
}

Result<std::vector<WorkloadQuery>> LoadQueries(const std::string& path) {
  std::vector<WorkloadQuery> out;
  DIR* d = ::opendir(path.c_str());
  if (d != nullptr) {
    std::vector<std::string> files;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".sql") files.push_back(name);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      RUVECTOR_ASSIGN_OR_RETURN(std::string text, ReadInput(path + "/" + f, 1 << 20));
      std::vector<std::string> stmts = SplitStatements(text);
      if (stmts.size() != 1) {
        return Status::InvalidArgument(path + "/" + f + ": expected one query, found " + std::to_string(stmts.size()));
      }
      out.push_back({f.substr(0, f.size() - 4), "", stmts[0]});
    }
  } else {
    RUVECTOR_ASSIGN_OR_RETURN(std::string text, ReadInput(path, 16 << 20));
    std::vector<std::string> stmts = SplitStatements(text);
    for (size_t i = 0; i < stmts.size(); ++i) out.push_back({fmt::format("q{}", i + 1), "", stmts[i]});
  }
  if (out.empty()) return Status::InvalidArgument(path + ": no queries");
  return out;
}

/// Result rows in a canonical, order-independent form.
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

/// Median planning time (EXPLAIN's "Planning Time") of `sql`.
Result<double> PlanningTime(PgConnection& c, const std::string& sql) {
  RUVECTOR_ASSIGN_OR_RETURN(std::string plan, c.Scalar("EXPLAIN (SUMMARY, FORMAT JSON) " + sql));
  nlohmann::json j = nlohmann::json::parse(plan, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty() || !j[0].contains("Planning Time")) {
    return Status::Internal("EXPLAIN returned no planning time");
  }
  return j[0]["Planning Time"].get<double>();
}

struct Phase {
  std::vector<std::vector<double>> ms;  // [query][round]
  std::vector<double> round_ms;
  double learn_ms = 0.0;
  double wall_ms = 0.0;
};

int RunBench(const BenchOptions& o) {
  std::vector<WorkloadQuery> queries;
  if (!o.workload.empty()) {
    queries = o.workload == "misestimation" ? MisestimationQueries() : WellPlannedQueries();
  } else {
    auto q = LoadQueries(o.queries);
    if (!q.ok()) return ReportError("bench: --queries", q.status());
    queries = std::move(q).value();
  }
  auto conn_or = PgConnection::Connect(o.dsn);
  if (!conn_or.ok()) return ReportError("bench: --dsn", conn_or.status());
  PgConnection db = std::move(conn_or).value();
  auto ext = db.Scalar("SELECT count(*) FROM pg_extension WHERE extname = 'ruvector_dag'");
  if (!ext.ok()) return ReportError("bench", ext.status());
  if (*ext == "0") {
    if (auto r = db.Exec("CREATE EXTENSION ruvector_dag CASCADE"); !r.ok()) {
      return ReportError("bench: the ruvector_dag extension is not installed in this database and could not be "
                         "created", r.status());
    }
  }
  if (o.generate) {
    std::cerr << "bench: generating the bundled workload data ..." << std::endl;
    if (auto r = db.Exec("SET client_min_messages = warning; SET ruvector.dag_enabled = off;" + WorkloadSchemaSql());
        !r.ok()) {
      return ReportError("bench: generating data", r.status());
    }
  }
  if (auto r = db.Exec("SELECT ruvector.dag_reset_learning(true)"); !r.ok()) return ReportError("bench", r.status());

  const size_t nq = queries.size();
  std::vector<std::string> expected(nq);
  std::vector<bool> identical(nq, true);
  // A query whose results differ between PostgreSQL's own runs (random(),
  // now(), LIMIT without a total order, concurrent writes) cannot be checked.
  std::vector<bool> deterministic(nq, true);
  // PostgreSQL alone runs on its own connection with the extension off; the
  // rounds of the two phases alternate (alone, learning, alone, ...), so
  // load changes on the machine affect both alike.
  auto base_or = PgConnection::Connect(o.dsn);
  if (!base_or.ok()) return ReportError("bench: --dsn", base_or.status());
  PgConnection base_db = std::move(base_or).value();
  if (auto r = base_db.Exec("SET ruvector.dag_enabled = off; SET ruvector.dag_exploration = off"); !r.ok()) {
    return ReportError("bench", r.status());
  }
  const bool online = o.exploration == "online";
  if (auto r = db.Exec(LearningSessionSql(online, o.budget)); !r.ok()) return ReportError("bench", r.status());
  auto cpu_budget = base_db.Scalar("SELECT cpu_budget FROM ruvector.dag_exploration_status()");
  if (!cpu_budget.ok()) return ReportError("bench", cpu_budget.status());
  if (!online && std::atof(cpu_budget->c_str()) <= 0.0) {
    std::cerr << "bench: warning: ruvector.dag_exploration_cpu_budget is 0 on this server: nothing is explored in "
                 "the background (set it, or use --exploration online)\n";
  }
  auto explorer_ms = [&base_db]() -> Result<double> {
    RUVECTOR_ASSIGN_OR_RETURN(std::string v,
                              base_db.Scalar("SELECT explorer_busy_ms FROM ruvector.dag_exploration_status()"));
    return std::atof(v.c_str());
  };

  Phase base, learn;
  base.ms.assign(nq, {});
  learn.ms.assign(nq, {});
  auto run_round = [&](bool learning, int round, Phase* p) -> Status {
    PgConnection& c = learning ? db : base_db;
    auto t0 = std::chrono::steady_clock::now();
    double total = 0;
    for (size_t i = 0; i < nq; ++i) {
      double ms = 0;
      RUVECTOR_ASSIGN_OR_RETURN(PgRows rows, c.TimedExec(queries[i].sql, &ms));
      std::string canon = SortedRows(rows);
      if (!learning && round == 0) {
        expected[i] = canon;
      } else if (canon != expected[i]) {
        (learning ? identical : deterministic)[i] = false;
      }
      p->ms[i].push_back(ms);
      total += ms;
    }
    if (learning && o.sync_learning) {
      double lm = 0;
      RUVECTOR_ASSIGN_OR_RETURN(PgRows ignored, c.TimedExec("SELECT ruvector.dag_learn_now()", &lm));
      (void)ignored;
      p->learn_ms += lm;
    }
    p->round_ms.push_back(total);
    p->wall_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return Status::Ok();
  };
  auto explorer_before = explorer_ms();
  if (!explorer_before.ok()) return ReportError("bench", explorer_before.status());
  for (int round = 0; round < o.rounds; ++round) {
    if (Status st = run_round(false, round, &base); !st.ok()) return ReportError("bench: PostgreSQL alone", st);
    if (Status st = run_round(true, round, &learn); !st.ok()) return ReportError("bench: learning", st);
    std::cerr << fmt::format("\rbench: round {}/{} (PostgreSQL alone, then learning)", round + 1, o.rounds)
              << std::flush;
  }
  std::cerr << "\n";
  auto explorer_after = explorer_ms();
  if (!explorer_after.ok()) return ReportError("bench", explorer_after.status());
  const double explorer_total = *explorer_after - *explorer_before;

  // Planning overhead for known patterns: EXPLAIN's planning time with the
  // extension on (exploration off: the served plan) vs off, alternating.
  if (auto r = db.Exec("SET ruvector.dag_exploration = off"); !r.ok()) return ReportError("bench", r.status());
  std::vector<double> plan_on, plan_off;
  for (int s = 0; s < o.planning_samples; ++s) {
    const std::string& sql = queries[static_cast<size_t>(s) % nq].sql;
    for (int on = 0; on < 2; ++on) {
      bool enabled = ((s + on) % 2) == 0;
      if (auto r = db.Exec(enabled ? "SET ruvector.dag_enabled = on" : "SET ruvector.dag_enabled = off"); !r.ok()) {
        return ReportError("bench", r.status());
      }
      auto t = PlanningTime(db, sql);
      if (!t.ok()) return ReportError("bench: planning time", t.status());
      (enabled ? plan_on : plan_off).push_back(*t);
    }
  }
  double plan_on_med = Percentile(plan_on, 50) * 1000.0, plan_off_med = Percentile(plan_off, 50) * 1000.0;

  size_t tail = std::max<size_t>(3, static_cast<size_t>(o.rounds) / 4);
  tail = std::min(tail, static_cast<size_t>(o.rounds));
  int regressed_12 = 0, regressed_2 = 0;
  double base_total = 0, learn_total = 0, base_conv = 0, learn_conv = 0;
  for (double v : base.round_ms) base_total += v;
  for (double v : learn.round_ms) learn_total += v;
  std::vector<double> base_med(nq), conv_med(nq);
  for (size_t i = 0; i < nq; ++i) {
    base_med[i] = Percentile(base.ms[i], 50);
    std::vector<double> last(learn.ms[i].end() - static_cast<long>(tail), learn.ms[i].end());
    conv_med[i] = Percentile(last, 50);
    if (conv_med[i] > 1.2 * base_med[i]) ++regressed_12;
    if (conv_med[i] > 2.0 * base_med[i]) ++regressed_2;
    base_conv += base_med[i];
    learn_conv += conv_med[i];
  }
  double base_round_med = Percentile(base.round_ms, 50);
  int time_to_benefit = -1;
  for (size_t r = 0; r < learn.round_ms.size(); ++r) {
    if (learn.round_ms[r] * 1.2 < base_round_med) {
      time_to_benefit = static_cast<int>(r) + 1;
      break;
    }
  }
  // Only deterministic queries can be compared.
  bool all_identical = true;
  size_t unchecked = 0;
  for (size_t i = 0; i < nq; ++i) {
    if (!deterministic[i]) {
      ++unchecked;
    } else if (!identical[i]) {
      all_identical = false;
    }
  }
  auto decisions = db.Exec("SELECT count(*) FILTER (WHERE deployed_arm <> 'default'), "
                           "coalesce(sum(deployments), 0), coalesce(sum(reverts), 0) FROM ruvector.dag_decisions()");
  if (!decisions.ok()) return ReportError("bench", decisions.status());
  const auto& drow = decisions->rows.at(0);

  if (o.format == "text") {
    std::cout << fmt::format("ruvector-dag bench: {} queries x {} rounds, {}\n\n", nq, o.rounds,
                             online ? fmt::format("online exploration, budget {} of the executions", o.budget)
                                    : fmt::format("background exploration, CPU budget {} of one core", *cpu_budget));
    std::cout << fmt::format("{:<12} {:>31}   {:>31}   {:>8}  {}\n", "", "PostgreSQL alone (ms)",
                             "learning (ms)", "", "");
    std::cout << fmt::format("{:<12} {:>7} {:>7} {:>7} {:>8}   {:>7} {:>7} {:>7} {:>8}   {:>8}  {}\n", "query",
                             "p50", "p95", "p99", "max", "p50", "p95", "p99", "max", "converged", "results");
    for (size_t i = 0; i < nq; ++i) {
      std::cout << fmt::format(
          "{:<12} {:7.2f} {:7.2f} {:7.2f} {:8.2f}   {:7.2f} {:7.2f} {:7.2f} {:8.2f}   {:7.2f}x  {}\n",
          queries[i].name.substr(0, 12), Percentile(base.ms[i], 50), Percentile(base.ms[i], 95),
          Percentile(base.ms[i], 99), Percentile(base.ms[i], 100), Percentile(learn.ms[i], 50),
          Percentile(learn.ms[i], 95), Percentile(learn.ms[i], 99), Percentile(learn.ms[i], 100),
          base_med[i] / conv_med[i],
          !deterministic[i] ? "not checked (PostgreSQL's own runs differ)" : identical[i] ? "identical" : "DIFFERENT");
    }
    std::cout << fmt::format("\ntotal, PostgreSQL alone: {:.1f} ms ({:.1f} ms wall)\n", base_total, base.wall_ms);
    std::cout << fmt::format("total, learning: {:.1f} ms of statements (planning and exploration included) + {:.1f} "
                             "ms waiting for the learner = {:.1f} ms ({:.2f}x){}\n",
                             learn_total, learn.learn_ms, learn_total + learn.learn_ms,
                             base_total / (learn_total + learn.learn_ms),
                             o.sync_learning ? "" : " (the worker learned in the background every 50 ms)");
    std::cout << fmt::format("background explorer: {:.1f} ms of re-executions, concurrent with the workload; "
                             "counted in: {:.1f} ms ({:.2f}x)\n",
                             explorer_total, learn_total + learn.learn_ms + explorer_total,
                             base_total / (learn_total + learn.learn_ms + explorer_total));
    std::cout << fmt::format("converged (median of the last {} rounds per query): {:.1f} ms vs {:.1f} ms per round: "
                             "{:.2f}x\n",
                             tail, learn_conv, base_conv, base_conv / learn_conv);
    std::cout << fmt::format("queries regressed once converged: {} by > 1.2x, {} by > 2x\n", regressed_12,
                             regressed_2);
    std::cout << fmt::format("time to benefit: {}\n", time_to_benefit < 0
                                                          ? std::string("no round was 1.2x faster")
                                                          : fmt::format("round {}", time_to_benefit));
    std::cout << fmt::format("arms deployed: {} patterns ({} deployments, {} reverts)\n", drow[0], drow[1], drow[2]);
    std::cout << fmt::format("planning time, median of {} EXPLAINs each: {:.1f} us with the extension, {:.1f} us "
                             "without: {:+.1f} us\n",
                             plan_on.size(), plan_on_med, plan_off_med, plan_on_med - plan_off_med);
    std::cout << "results identical to PostgreSQL alone: " << (all_identical ? "yes" : "NO")
              << (unchecked > 0 ? fmt::format(" ({} nondeterministic queries not checked)", unchecked) : "") << "\n";
  } else {
    nlohmann::ordered_json j;
    j["rounds"] = o.rounds;
    j["exploration"] = o.exploration;
    j["exploration_budget"] = online ? o.budget : 0.0;
    j["exploration_cpu_budget"] = std::atof(cpu_budget->c_str());
    nlohmann::ordered_json qs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < nq; ++i) {
      auto pct = [](const std::vector<double>& v) {
        return nlohmann::ordered_json{{"p50", Percentile(v, 50)}, {"p95", Percentile(v, 95)},
                                      {"p99", Percentile(v, 99)}, {"max", Percentile(v, 100)}};
      };
      qs.push_back({{"name", queries[i].name},
                    {"postgres_ms", pct(base.ms[i])},
                    {"learning_ms", pct(learn.ms[i])},
                    {"converged_ms", conv_med[i]},
                    {"speedup_converged", base_med[i] / conv_med[i]},
                    {"results_identical", static_cast<bool>(identical[i])},
                    {"deterministic", static_cast<bool>(deterministic[i])}});
    }
    j["queries"] = qs;
    j["total_postgres_ms"] = base_total;
    j["total_learning_ms"] = learn_total + learn.learn_ms;
    j["learner_wait_ms"] = learn.learn_ms;
    j["speedup_total"] = base_total / (learn_total + learn.learn_ms);
    j["explorer_busy_ms"] = explorer_total;
    j["speedup_total_with_explorer"] = base_total / (learn_total + learn.learn_ms + explorer_total);
    j["speedup_converged"] = base_conv / learn_conv;
    j["regressed_over_1_2x"] = regressed_12;
    j["regressed_over_2x"] = regressed_2;
    j["time_to_benefit_round"] = time_to_benefit;
    j["patterns_deployed"] = std::stoll(drow[0]);
    j["planning_us_with_extension"] = plan_on_med;
    j["planning_us_without_extension"] = plan_off_med;
    j["planning_overhead_us"] = plan_on_med - plan_off_med;
    j["results_identical"] = all_identical;
    j["queries_not_checked"] = unchecked;
    std::cout << j.dump(2) << "\n";
  }
  return all_identical ? kExitOk : kExitInternal;
}

}  // namespace

void RegisterBench(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Run a workload against a database with the extension disabled and learning; report measured latencies, "
      "regressions, time-to-benefit and result identity (resets the extension's learned decisions)");
  cmd->add_option("--dsn", opts->dsn, "libpq connection string or URI")->required();
  auto* q = cmd->add_option("--queries", opts->queries,
                            "FILE (queries separated by semicolons) or DIR (one query per .sql file)");
  auto* w = cmd->add_option("--workload", opts->workload, "a bundled workload instead of --queries")
                ->check(CLI::IsMember({"misestimation", "well-planned"}));
  q->excludes(w);
  cmd->add_flag("--generate", opts->generate, "(re)create the bundled workload's tables in the database first");
  cmd->add_option("--rounds", opts->rounds, "rounds of the workload per phase")->check(CLI::Range(1, 100000));
  cmd->add_option("--format", opts->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--exploration", opts->exploration,
                  "background: the server's explorer re-executes captured statements under candidate arms within "
                  "ruvector.dag_exploration_cpu_budget; online: the workload's own executions explore")
      ->check(CLI::IsMember({"background", "online"}));
  cmd->add_option("--budget", opts->budget,
                  "online exploration: share of a pattern's executions that may explore a candidate arm")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--sync-learning", opts->sync_learning,
                "wait for the learner (dag_learn_now) after every round; its waits are counted");
  cmd->add_option("--planning-samples", opts->planning_samples, "EXPLAINs per setting for the planning overhead")
      ->check(CLI::Range(2, 100000));
  cmd->callback([opts, exit_code]() {
    if (opts->queries.empty() && opts->workload.empty()) {
      std::cerr << "ruvector-dag bench: give --queries FILE_OR_DIR or --workload NAME\n";
      *exit_code = kExitBadInput;
      return;
    }
    *exit_code = RunBench(*opts);
  });
}

}  // namespace ruvector_dag::cli
