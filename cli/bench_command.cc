// `ruvector-dag bench`: runs a workload against an existing database, once
// with the extension disabled (PostgreSQL alone) and once learning (by
// default the server's background explorer measures candidate arms within
// its CPU budget; --exploration online explores on the workload's own
// executions instead), and reports measured totals, the explorer's time and
// timeouts, per-query percentiles, regressions, time-to-benefit per pattern,
// result identity and the planning overhead of the extension for known
// patterns; with --oracle it first measures every built-in arm per query and
// reports the share of the best arms' speed-up the learner captured.
#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_oracle.h"
#include "cli_io.h"
#include "commands.h"
#include "pg_client.h"
#include "star_workload.h"
#include "workload.h"

namespace ruvector_dag::cli {
namespace {

struct BenchOptions {
  std::string dsn;
  std::string queries;
  std::string workload;  // misestimation | well-planned | star (bundled queries)
  bool generate = false;
  uint64_t seed = 1;    // star data
  double scale = 1.0;   // star data
  bool oracle = false;  // measure every built-in arm per query first
  int oracle_repeats = 3;
  int siblings_from = 0;  // round at which queries marked late join (0: all from round 1)
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
  std::vector<std::vector<double>> ms;  // [query][executed round]
  std::vector<double> round_ms;
  double learn_ms = 0.0;
  double wall_ms = 0.0;
};

struct ExplorerCounters {
  double busy_ms = 0.0;
  long long runs = 0;
  long long timeouts = 0;
};

Result<ExplorerCounters> ReadExplorer(PgConnection& c) {
  RUVECTOR_ASSIGN_OR_RETURN(PgRows r,
                            c.Exec("SELECT explorer_busy_ms, runs, timeouts FROM ruvector.dag_exploration_status()"));
  if (r.rows.empty() || r.rows[0].size() < 3) return Status::Internal("dag_exploration_status() returned no row");
  return ExplorerCounters{std::atof(r.rows[0][0].c_str()), std::atoll(r.rows[0][1].c_str()),
                          std::atoll(r.rows[0][2].c_str())};
}

/// The pattern of each query (dag_estimate plans it, never executes it); ""
/// when the extension shows none or refuses the statement (dag_estimate takes
/// one SELECT): such a query's deployed arm is not followed.
std::vector<std::string> PatternIds(PgConnection& learning, const std::vector<WorkloadQuery>& queries) {
  std::vector<std::string> out;
  for (const WorkloadQuery& q : queries) {
    Result<std::string> id =
        learning.Scalar("SELECT coalesce(pattern_id::text, '') FROM ruvector.dag_estimate(" + SqlLiteral(q.sql) + ")");
    out.push_back(id.ok() ? *id : std::string());
  }
  return out;
}

/// pattern id -> deployed arm, from dag_decisions().
Result<std::map<std::string, std::string>> DeployedArms(PgConnection& c) {
  RUVECTOR_ASSIGN_OR_RETURN(PgRows r, c.Exec("SELECT pattern_id, deployed_arm FROM ruvector.dag_decisions()"));
  std::map<std::string, std::string> out;
  for (const auto& row : r.rows) out[row.at(0)] = row.at(1);
  return out;
}

Result<std::vector<WorkloadQuery>> WorkloadQueries(const BenchOptions& o) {
  if (o.workload == "misestimation") return MisestimationQueries();
  if (o.workload == "well-planned") return WellPlannedQueries();
  if (o.workload == "star") return StarQueries();
  return LoadQueries(o.queries);
}

/// Generates the bundled data when asked; returns the stamp of the star data
/// ("" for the other workloads).
Result<std::string> PrepareData(PgConnection& db, const BenchOptions& o) {
  const std::string prologue = "SET client_min_messages = warning; SET ruvector.dag_enabled = off;";
  if (o.workload == "star") {
    if (o.generate) {
      RUVECTOR_ASSIGN_OR_RETURN(std::string sql, StarSchemaSql(o.seed, o.scale));
      const StarSizes n = StarSizesAt(o.scale);
      std::cerr << fmt::format("bench: generating the star workload: seed {}, scale {} ({} sales, {} items, {} "
                               "customers) ...",
                               o.seed, o.scale, n.sales, n.items, n.customers)
                << std::endl;
      RUVECTOR_ASSIGN_OR_RETURN(PgRows done, db.Exec(prologue + sql));
      (void)done;
    }
    RUVECTOR_ASSIGN_OR_RETURN(std::string stamp,
                              db.Scalar("SELECT coalesce(obj_description(to_regclass('rs_sales'), 'pg_class'), '')"));
    if (stamp.rfind(fmt::format("ruvector-dag star data v{} ", kStarDataVersion), 0) != 0) {
      return Status::FailedPrecondition("the star workload's tables are missing or of another version (found '" +
                                        stamp + "'): run with --generate");
    }
    return stamp;
  }
  if (o.generate && !o.workload.empty()) {
    std::cerr << "bench: generating the bundled workload data ..." << std::endl;
    RUVECTOR_ASSIGN_OR_RETURN(PgRows done, db.Exec(prologue + WorkloadSchemaSql()));
    (void)done;
  }
  return std::string();
}

/// What the learner did for one query instance (its pattern).
struct PatternReport {
  double base_med = 0.0;
  double conv_med = 0.0;
  int first_round = 0;      // round (0-based) the query joined the workload
  int time_to_benefit = -1;  // its rounds until within 20 % of converged; -1: no benefit
  int deployed_round = -1;   // its rounds until a non-default arm was deployed; -1: never
  std::string final_arm = "-";
  std::string pattern_id;  // its pattern at the end (dag_estimate), "" = none
};

/// Converged latency = median of the last `tail` executions; a pattern
/// benefits when it ends on a deployed (non-default) arm and converged >= 1.2x
/// faster than PostgreSQL alone (a pattern on PostgreSQL's own plan in both
/// sessions differs by noise only); its time-to-benefit is the first of its
/// rounds within 20 % of that level.
void Summarize(const Phase& base, const Phase& learn, size_t tail, std::vector<PatternReport>* reports) {
  for (size_t i = 0; i < reports->size(); ++i) {
    PatternReport& p = (*reports)[i];
    const std::vector<double>& l = learn.ms[i];
    p.base_med = Percentile(base.ms[i], 50);
    size_t t = std::min(tail, l.size());
    p.conv_med = Percentile(std::vector<double>(l.end() - static_cast<long>(t), l.end()), 50);
    if (p.final_arm != "default" && p.conv_med * 1.2 <= p.base_med) {
      for (size_t k = 0; k < l.size(); ++k) {
        if (l[k] <= 1.2 * p.conv_med) {
          p.time_to_benefit = static_cast<int>(k) + 1;
          break;
        }
      }
    }
  }
}

std::string RoundsText(int r) { return r < 0 ? std::string("-") : std::to_string(r); }

/// Everything a bench run measured, for printing.
struct BenchReport {
  const BenchOptions* options = nullptr;
  const std::vector<WorkloadQuery>* queries = nullptr;
  const Phase* base = nullptr;
  const Phase* learn = nullptr;
  const std::vector<PatternReport>* patterns = nullptr;
  const OracleResult* oracle = nullptr;
  std::vector<bool> identical, deterministic;
  std::string stamp, cpu_budget;
  // The learner's value model (dag_status): the mechanism in use and why,
  // the prequential error (-1 = not measured yet) and the runs it learned
  // from; dag_attention_status: every mechanism's held-out error ("" = not
  // measured yet), scored runs and whether it is in use.
  std::string mechanism, mechanism_reason;
  std::vector<std::vector<std::string>> per_mechanism;
  double model_error = -1.0;
  int64_t model_runs = 0;
  std::vector<std::string> decisions;  // deployed patterns, deployments, reverts
  bool online = false, all_identical = true, oracle_identical = true;
  size_t tail = 0, unchecked = 0, plan_samples = 0;
  long long explorer_runs = 0, explorer_timeouts = 0;
  int regressed_12 = 0, regressed_12_deployed = 0, regressed_2 = 0;
  int workload_ttb = -1;  // first learning round >= 1.2x faster than PostgreSQL's median round
  std::vector<int> ttb_all, ttb_late;
  double base_total = 0, learn_total = 0, learn_all = 0, base_conv = 0, learn_conv = 0, explorer_total = 0;
  double whole_speedup = 0, conv_speedup = 0, oracle_default = 0, oracle_best = 0, oracle_speedup = 0;
  double saved = 0, oracle_saved = 0, plan_on_med = 0, plan_off_med = 0;
  /// The same medians over the queries served PostgreSQL's plan at the end
  /// (the cost of recognizing a known pattern) and over those served a
  /// deployed arm (which are planned a second time under it); NaN when no
  /// query is in the class.
  double plan_on_default = 0, plan_off_default = 0, plan_on_deployed = 0, plan_off_deployed = 0;
};


std::string TimeToBenefitText(std::vector<int> v) {
  if (v.empty()) return std::string("no pattern benefited");
  std::sort(v.begin(), v.end());
  long within3 = std::count_if(v.begin(), v.end(), [](int r) { return r <= 3; });
  return fmt::format("{} patterns benefited; median {} rounds, max {}; {} within 3 rounds", v.size(), v[v.size() / 2],
                     v.back(), within3);
}

void PrintText(const BenchReport& r) {
  const BenchOptions& o = *r.options;
  const std::vector<WorkloadQuery>& queries = *r.queries;
  const Phase& base = *r.base;
  const Phase& learn = *r.learn;
  const std::vector<PatternReport>& reports = *r.patterns;
  const OracleResult& oracle = *r.oracle;
  const size_t nq = queries.size();
  std::cout << fmt::format("ruvector-dag bench: {} queries x {} rounds, {}\n", nq, o.rounds,
                           r.online ? fmt::format("online exploration (budget {} of the plannings) and background "
                                                  "exploration, CPU budget {} of one core",
                                                  o.budget, r.cpu_budget)
                                  : fmt::format("background exploration, CPU budget {} of one core", r.cpu_budget));
  if (!r.stamp.empty()) std::cout << "data: " << r.stamp << "\n";
  if (o.siblings_from > 1) {
    std::cout << fmt::format("late siblings join at round {}\n", o.siblings_from);
  }
  std::cout << fmt::format("\n{:<12} {:>31}   {:>31}   {:>8}  {}\n", "", "PostgreSQL alone (ms)", "learning (ms)", "",
                           "");
  std::cout << fmt::format("{:<12} {:>7} {:>7} {:>7} {:>8}   {:>7} {:>7} {:>7} {:>8}   {:>8}  {}\n", "query",
                           "p50", "p95", "p99", "max", "p50", "p95", "p99", "max", "converged", "results");
  for (size_t i = 0; i < nq; ++i) {
    std::cout << fmt::format(
        "{:<12} {:7.2f} {:7.2f} {:7.2f} {:8.2f}   {:7.2f} {:7.2f} {:7.2f} {:8.2f}   {:7.2f}x  {}\n",
        queries[i].name.substr(0, 12), Percentile(base.ms[i], 50), Percentile(base.ms[i], 95),
        Percentile(base.ms[i], 99), Percentile(base.ms[i], 100), Percentile(learn.ms[i], 50),
        Percentile(learn.ms[i], 95), Percentile(learn.ms[i], 99), Percentile(learn.ms[i], 100),
        reports[i].base_med / reports[i].conv_med,
        !r.deterministic[i] ? "not checked (PostgreSQL's own runs differ)"
        : r.identical[i]    ? "identical"
                            : "DIFFERENT");
  }
  std::cout << fmt::format("\nper pattern (time to benefit: its rounds until within 20 % of its converged latency, "
                           "for patterns on a deployed arm converged >= 1.2x faster)\n");
  std::cout << fmt::format("{:<8} {:<10} {:>9} {:>9} {:>8}  {:<22} {:>5}  {:<22} {:>8}\n", "query", "family",
                           "PG ms", "learned", "speed-up", "deployed arm", "at", "oracle arm", "oracle");
  for (size_t i = 0; i < nq; ++i) {
    const PatternReport& p = reports[i];
    std::string family = queries[i].family + (queries[i].late ? "*" : "");
    std::string orc_arm = "-", orc_x = "-";
    if (o.oracle) {
      const OracleQuery& q = oracle.queries[i];
      orc_arm = oracle.arms[q.best];
      orc_x = fmt::format("{:.2f}x", q.arm_ms[0] / std::max(q.arm_ms[q.best], 1e-9));
    }
    std::cout << fmt::format("{:<8} {:<10} {:9.2f} {:9.2f} {:7.2f}x  {:<22} {:>5}  {:<22} {:>8}   ttb {}\n",
                             queries[i].name.substr(0, 8), family.empty() ? "-" : family, p.base_med, p.conv_med,
                             p.base_med / p.conv_med, p.final_arm, RoundsText(p.deployed_round), orc_arm, orc_x,
                             RoundsText(p.time_to_benefit));
  }
  std::cout << fmt::format("\ntotal, PostgreSQL alone: {:.1f} ms ({:.1f} ms wall)\n", r.base_total, base.wall_ms);
  std::cout << fmt::format("total, learning: {:.1f} ms of statements (planning and exploration included) + {:.1f} "
                           "ms waiting for the learner = {:.1f} ms ({:.2f}x){}\n",
                           r.learn_total, learn.learn_ms, r.learn_all, r.base_total / r.learn_all,
                           o.sync_learning ? "" : " (the worker learned in the background every 50 ms)");
  std::cout << fmt::format("background explorer: {:.1f} ms of re-executions, {} runs, {} timeouts ({:.1f} %), "
                           "concurrent with the workload; whole run counting it: {:.1f} ms ({:.2f}x)\n",
                           r.explorer_total, r.explorer_runs, r.explorer_timeouts,
                           r.explorer_runs > 0 ? 100.0 * static_cast<double>(r.explorer_timeouts) /
                                                   static_cast<double>(r.explorer_runs)
                                             : 0.0,
                           r.learn_all + r.explorer_total, r.whole_speedup);
  std::cout << fmt::format("converged (median of the last {} rounds per query): {:.1f} ms vs {:.1f} ms per round: "
                           "{:.2f}x\n",
                           r.tail, r.learn_conv, r.base_conv, r.conv_speedup);
  if (o.oracle) {
    std::cout << fmt::format("oracle (best built-in arm per query, median of {} runs each, {:.1f} s): {:.1f} ms vs "
                             "{:.1f} ms per round: {:.2f}x; share of the oracle's speed-up: converged {:.0f} %, "
                             "whole run {:.0f} %; of its time saving: {:.0f} %{}\n",
                             o.oracle_repeats, oracle.wall_ms / 1000.0, r.oracle_best, r.oracle_default,
                             r.oracle_speedup,
                             100.0 * r.conv_speedup / r.oracle_speedup, 100.0 * r.whole_speedup / r.oracle_speedup,
                             r.oracle_saved > 0 ? 100.0 * r.saved / r.oracle_saved : 0.0,
                             r.oracle_identical ? "" : "; some arm returned DIFFERENT rows");
  }
  std::cout << fmt::format("queries regressed once converged: {} by > 1.2x ({} of them on a deployed arm, the "
                           "others ran PostgreSQL's own plan in both sessions), {} by > 2x\n",
                           r.regressed_12, r.regressed_12_deployed, r.regressed_2);
  std::cout << fmt::format("time to benefit, whole workload: {}\n",
                           r.workload_ttb < 0 ? std::string("no round was 1.2x faster")
                                              : fmt::format("round {}", r.workload_ttb));
  std::cout << "time to benefit per pattern: " << TimeToBenefitText(r.ttb_all) << "\n";
  if (o.siblings_from > 1) std::cout << "  late siblings (*): " << TimeToBenefitText(r.ttb_late) << "\n";
  if (r.model_error < 0.0) {
    std::cout << "model prediction error: not measured yet (no run was predicted before training)\n";
  } else {
    std::cout << fmt::format("model prediction error (EWMA of |predicted - actual| log-latency, over {} runs "
                             "learned): {:.3f}\n",
                             r.model_runs, r.model_error);
  }
  std::cout << fmt::format("  mechanism in use: {} ({})\n", r.mechanism.empty() ? "?" : r.mechanism,
                           r.mechanism_reason);
  for (const auto& row : r.per_mechanism) {
    std::cout << fmt::format("  held-out error {:<22} {:>7} over {} runs{}\n", row.at(0),
                             row.at(1).empty() ? std::string("-") : fmt::format("{:.3f}", std::atof(row.at(1).c_str())),
                             row.at(2), row.at(3) == "t" ? "  (in use)" : "");
  }
  std::cout << fmt::format("arms deployed: {} patterns ({} deployments, {} reverts)\n", r.decisions[0],
                           r.decisions[1], r.decisions[2]);
  std::cout << fmt::format("planning time, median of {} EXPLAINs each: {:.1f} us with the extension, {:.1f} us "
                           "without: {:+.1f} us\n",
                           r.plan_samples, r.plan_on_med, r.plan_off_med, r.plan_on_med - r.plan_off_med);
  auto overhead = [](double on, double off) {
    return std::isnan(on) ? std::string("no such query") : fmt::format("{:.1f} vs {:.1f} us: {:+.1f} us", on, off, on - off);
  };
  std::cout << fmt::format("  queries served PostgreSQL's plan (a known pattern recognized): {}\n",
                           overhead(r.plan_on_default, r.plan_off_default));
  std::cout << fmt::format("  queries served a deployed arm (planned again under it): {}\n",
                           overhead(r.plan_on_deployed, r.plan_off_deployed));
  std::cout << "results identical to PostgreSQL alone: " << (r.all_identical ? "yes" : "NO")
            << (r.unchecked > 0 ? fmt::format(" ({} nondeterministic queries not checked)", r.unchecked) : "") << "\n";
}

void PrintJson(const BenchReport& r) {
  const BenchOptions& o = *r.options;
  const std::vector<WorkloadQuery>& queries = *r.queries;
  const Phase& base = *r.base;
  const Phase& learn = *r.learn;
  const std::vector<PatternReport>& reports = *r.patterns;
  const OracleResult& oracle = *r.oracle;
  const size_t nq = queries.size();
  nlohmann::ordered_json j;
  j["workload"] = o.workload.empty() ? o.queries : o.workload;
  if (!r.stamp.empty()) j["data"] = r.stamp;
  j["rounds"] = o.rounds;
  j["siblings_from"] = o.siblings_from;
  j["exploration"] = o.exploration;
  j["exploration_budget"] = r.online ? o.budget : 0.0;
  j["exploration_cpu_budget"] = std::atof(r.cpu_budget.c_str());
  nlohmann::ordered_json qs = nlohmann::ordered_json::array();
  for (size_t i = 0; i < nq; ++i) {
    auto pct = [](const std::vector<double>& v) {
      return nlohmann::ordered_json{{"p50", Percentile(v, 50)}, {"p95", Percentile(v, 95)},
                                    {"p99", Percentile(v, 99)}, {"max", Percentile(v, 100)}};
    };
    const PatternReport& p = reports[i];
    nlohmann::ordered_json q{{"name", queries[i].name},
                             {"family", queries[i].family},
                             {"late", queries[i].late},
                             {"first_round", p.first_round + 1},
                             {"postgres_ms", pct(base.ms[i])},
                             {"learning_ms", pct(learn.ms[i])},
                             {"converged_ms", p.conv_med},
                             {"speedup_converged", p.base_med / p.conv_med},
                             {"pattern_id", p.pattern_id},
                             {"deployed_arm", p.final_arm},
                             {"deployed_round", p.deployed_round},
                             {"time_to_benefit_rounds", p.time_to_benefit},
                             {"results_identical", static_cast<bool>(r.identical[i])},
                             {"deterministic", static_cast<bool>(r.deterministic[i])}};
    if (o.oracle) {
      const OracleQuery& oq = oracle.queries[i];
      nlohmann::ordered_json arms;
      for (size_t a = 0; a < oracle.arms.size(); ++a) {
        arms[oracle.arms[a]] = {{"ms", oq.arm_ms[a]}, {"timed_out", static_cast<bool>(oq.arm_timed_out[a])}};
      }
      q["oracle"] = {{"best_arm", oracle.arms[oq.best]},
                     {"speedup", oq.arm_ms[0] / std::max(oq.arm_ms[oq.best], 1e-9)},
                     {"results_identical", oq.results_identical},
                     {"arms", arms}};
    }
    qs.push_back(q);
  }
  j["queries"] = qs;
  j["total_postgres_ms"] = r.base_total;
  j["total_learning_ms"] = r.learn_all;
  j["learner_wait_ms"] = learn.learn_ms;
  j["speedup_total"] = r.base_total / r.learn_all;
  j["explorer_busy_ms"] = r.explorer_total;
  j["explorer_runs"] = r.explorer_runs;
  j["explorer_timeouts"] = r.explorer_timeouts;
  j["speedup_total_with_explorer"] = r.whole_speedup;
  j["speedup_converged"] = r.conv_speedup;
  if (o.oracle) {
    j["oracle"] = {{"repeats", o.oracle_repeats},
                   {"wall_ms", oracle.wall_ms},
                   {"speedup", r.oracle_speedup},
                   {"share_converged", r.conv_speedup / r.oracle_speedup},
                   {"share_whole_run", r.whole_speedup / r.oracle_speedup},
                   {"share_time_saving", r.oracle_saved > 0 ? r.saved / r.oracle_saved : 0.0},
                   {"results_identical", r.oracle_identical}};
  }
  j["regressed_over_1_2x"] = r.regressed_12;
  j["regressed_over_1_2x_on_deployed_arm"] = r.regressed_12_deployed;
  j["regressed_over_2x"] = r.regressed_2;
  j["time_to_benefit_round"] = r.workload_ttb;
  j["time_to_benefit_rounds"] = r.ttb_all;
  j["time_to_benefit_late_siblings_rounds"] = r.ttb_late;
  j["model_prediction_error"] = r.model_error < 0.0 ? nlohmann::ordered_json() : nlohmann::ordered_json(r.model_error);
  j["model_runs_learned"] = r.model_runs;
  j["mechanism"] = r.mechanism;
  j["mechanism_reason"] = r.mechanism_reason;
  // Every mechanism's value model: held-out error (null = not measured yet), scored runs.
  nlohmann::ordered_json per_mechanism = nlohmann::ordered_json::object();
  for (const auto& row : r.per_mechanism) {
    nlohmann::ordered_json m;
    m["held_out_error"] = row.at(1).empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(std::atof(row.at(1).c_str()));
    m["scored_runs"] = std::atoll(row.at(2).c_str());
    m["in_use"] = row.at(3) == "t";
    per_mechanism[row.at(0)] = m;
  }
  j["model_prediction_error_per_mechanism"] = per_mechanism;
  j["patterns_deployed"] = std::stoll(r.decisions[0]);
  j["planning_us_with_extension"] = r.plan_on_med;
  j["planning_us_without_extension"] = r.plan_off_med;
  j["planning_overhead_us"] = r.plan_on_med - r.plan_off_med;
  auto number = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  j["planning_overhead_us_default_plan"] = number(r.plan_on_default - r.plan_off_default);
  j["planning_overhead_us_deployed_arm"] = number(r.plan_on_deployed - r.plan_off_deployed);
  j["results_identical"] = r.all_identical;
  j["queries_not_checked"] = r.unchecked;
  std::cout << j.dump(2) << "\n";
}

int RunBench(const BenchOptions& o) {
  auto t_start = std::chrono::steady_clock::now();
  auto queries_or = WorkloadQueries(o);
  if (!queries_or.ok()) return ReportError("bench: --queries", queries_or.status());
  const std::vector<WorkloadQuery> queries = std::move(queries_or).value();
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
  auto stamp = PrepareData(db, o);
  if (!stamp.ok()) return ReportError("bench: data", stamp.status());
  if (!stamp->empty()) std::cerr << "bench: data: " << *stamp << std::endl;

  const size_t nq = queries.size();
  // PostgreSQL alone runs on its own connection with the extension off; the
  // rounds of the two phases alternate (alone, learning, alone, ...), so
  // load changes on the machine affect both alike.
  auto base_or = PgConnection::Connect(o.dsn);
  if (!base_or.ok()) return ReportError("bench: --dsn", base_or.status());
  PgConnection base_db = std::move(base_or).value();
  if (auto r = base_db.Exec("SET ruvector.dag_enabled = off; SET ruvector.dag_exploration = off"); !r.ok()) {
    return ReportError("bench", r.status());
  }
  // The oracle first, before anything is learned: PostgreSQL alone under
  // every built-in arm.
  OracleResult oracle;
  if (o.oracle) {
    std::cerr << fmt::format("bench: oracle: {} queries x every built-in arm x {} repeats ...", nq, o.oracle_repeats)
              << std::endl;
    auto orc = RunOracle(base_db, queries, o.oracle_repeats, true);
    if (!orc.ok()) return ReportError("bench: oracle", orc.status());
    oracle = std::move(orc).value();
  }
  if (auto r = db.Exec("SELECT ruvector.dag_reset_learning(true)"); !r.ok()) return ReportError("bench", r.status());
  const bool online = o.exploration == "online";
  if (auto r = db.Exec(LearningSessionSql(online, o.budget)); !r.ok()) return ReportError("bench", r.status());
  auto cpu_budget = base_db.Scalar("SELECT cpu_budget FROM ruvector.dag_exploration_status()");
  if (!cpu_budget.ok()) return ReportError("bench", cpu_budget.status());
  if (!online && std::atof(cpu_budget->c_str()) <= 0.0) {
    std::cerr << "bench: warning: ruvector.dag_exploration_cpu_budget is 0 on this server: nothing is explored in "
                 "the background (set it, or use --exploration online)\n";
  }
  // Re-read after every round: a pattern split by constants gives its
  // queries patterns of their own (docs/postgres.md, "Pattern identity").
  std::vector<std::string> patterns = PatternIds(db, queries);

  std::vector<std::string> expected(nq);
  std::vector<bool> has_expected(nq, false), identical(nq, true);
  // A query whose results differ between PostgreSQL's own runs (random(),
  // now(), LIMIT without a total order, concurrent writes) cannot be checked.
  std::vector<bool> deterministic(nq, true);
  std::vector<PatternReport> reports(nq);
  std::vector<bool> joined(nq, false);
  auto active = [&](size_t i, int round) {
    return !(queries[i].late && o.siblings_from > 0 && round + 1 < o.siblings_from);
  };
  Phase base, learn;
  base.ms.assign(nq, {});
  learn.ms.assign(nq, {});
  auto run_round = [&](bool learning, int round, Phase* p) -> Status {
    PgConnection& c = learning ? db : base_db;
    auto t0 = std::chrono::steady_clock::now();
    double total = 0;
    for (size_t i = 0; i < nq; ++i) {
      if (!active(i, round)) continue;
      double ms = 0;
      RUVECTOR_ASSIGN_OR_RETURN(PgRows rows, c.TimedExec(queries[i].sql, &ms));
      std::string canon = SortedRows(rows);
      if (!learning && !has_expected[i]) {
        expected[i] = canon;
        has_expected[i] = true;
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
  auto explorer_before = ReadExplorer(base_db);
  if (!explorer_before.ok()) return ReportError("bench", explorer_before.status());
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t i = 0; i < nq; ++i) {
      if (!joined[i] && active(i, round)) {
        joined[i] = true;
        reports[i].first_round = round;
      }
    }
    if (Status st = run_round(false, round, &base); !st.ok()) return ReportError("bench: PostgreSQL alone", st);
    if (Status st = run_round(true, round, &learn); !st.ok()) return ReportError("bench: learning", st);
    patterns = PatternIds(db, queries);
    auto arms = DeployedArms(base_db);
    if (!arms.ok()) return ReportError("bench", arms.status());
    int deployed = 0;
    for (size_t i = 0; i < nq; ++i) {
      if (!joined[i]) continue;
      auto it = patterns[i].empty() ? arms->end() : arms->find(patterns[i]);
      reports[i].final_arm = it == arms->end() ? "default" : it->second;
      reports[i].pattern_id = patterns[i];
      if (reports[i].final_arm != "default") {
        ++deployed;
        if (reports[i].deployed_round < 0) reports[i].deployed_round = round - reports[i].first_round + 1;
      }
    }
    auto explorer_now = ReadExplorer(base_db);
    if (!explorer_now.ok()) return ReportError("bench", explorer_now.status());
    std::cerr << fmt::format("bench: round {}/{}: PostgreSQL alone {:.1f} ms, learning {:.1f} ms, {} of {} queries "
                             "on a deployed arm, explorer {:.0f} ms so far, {:.0f} s elapsed\n",
                             round + 1, o.rounds, base.round_ms.back(), learn.round_ms.back(), deployed, nq,
                             explorer_now->busy_ms - explorer_before->busy_ms,
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  }
  auto explorer_after = ReadExplorer(base_db);
  if (!explorer_after.ok()) return ReportError("bench", explorer_after.status());
  const double explorer_total = explorer_after->busy_ms - explorer_before->busy_ms;
  const long long explorer_runs = explorer_after->runs - explorer_before->runs;
  const long long explorer_timeouts = explorer_after->timeouts - explorer_before->timeouts;

  // Planning overhead for known patterns: EXPLAIN's planning time with the
  // extension on (exploration off: the served plan) vs off, alternating.
  if (auto r = db.Exec("SET ruvector.dag_exploration = off"); !r.ok()) return ReportError("bench", r.status());
  std::vector<double> plan_on, plan_off;
  std::vector<size_t> plan_query;  // the query of each sample (same index in plan_on and plan_off)
  for (int s = 0; s < o.planning_samples; ++s) {
    plan_query.push_back(static_cast<size_t>(s) % nq);
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
  Summarize(base, learn, tail, &reports);
  int regressed_12 = 0, regressed_12_deployed = 0, regressed_2 = 0, workload_ttb = -1;
  double base_total = 0, learn_total = 0, base_conv = 0, learn_conv = 0;
  for (double v : base.round_ms) base_total += v;
  for (double v : learn.round_ms) learn_total += v;
  std::vector<int> ttb_all, ttb_late;
  for (size_t i = 0; i < nq; ++i) {
    const PatternReport& p = reports[i];
    if (p.conv_med > 1.2 * p.base_med) {
      ++regressed_12;
      if (p.final_arm != "default") ++regressed_12_deployed;
    }
    if (p.conv_med > 2.0 * p.base_med) ++regressed_2;
    base_conv += p.base_med;
    learn_conv += p.conv_med;
    if (p.time_to_benefit > 0) {
      ttb_all.push_back(p.time_to_benefit);
      if (queries[i].late && o.siblings_from > 1) ttb_late.push_back(p.time_to_benefit);
    }
  }
  const double base_round_med = Percentile(base.round_ms, 50);
  for (size_t k = 0; k < learn.round_ms.size() && workload_ttb < 0; ++k) {
    if (learn.round_ms[k] * 1.2 < base_round_med) workload_ttb = static_cast<int>(k) + 1;
  }
  const double learn_all = learn_total + learn.learn_ms;
  const double whole_speedup = base_total / (learn_all + explorer_total);
  const double conv_speedup = base_conv / learn_conv;
  // The oracle: per query the best arm's median over the default's, measured
  // in the same oracle run; its time saving scaled onto this run's baseline.
  double oracle_default = 0, oracle_best = 0, saved = 0, oracle_saved = 0;
  if (o.oracle) {
    for (size_t i = 0; i < nq; ++i) {
      const OracleQuery& q = oracle.queries[i];
      oracle_default += q.arm_ms[0];
      oracle_best += q.arm_ms[q.best];
      saved += reports[i].base_med - reports[i].conv_med;
      oracle_saved += reports[i].base_med * (1.0 - q.arm_ms[q.best] / std::max(q.arm_ms[0], 1e-9));
    }
  }
  const double oracle_speedup = o.oracle ? oracle_default / oracle_best : 0.0;
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
  bool oracle_identical = true;
  for (const OracleQuery& q : oracle.queries) oracle_identical = oracle_identical && q.results_identical;
  auto decisions = db.Exec("SELECT count(*) FILTER (WHERE deployed_arm <> 'default'), "
                           "coalesce(sum(deployments), 0), coalesce(sum(reverts), 0) FROM ruvector.dag_decisions()");
  if (!decisions.ok()) return ReportError("bench", decisions.status());
  const auto& drow = decisions->rows.at(0);
  auto model = db.Exec("SELECT coalesce(mechanism, ''), coalesce(mechanism_reason, ''), "
                       "coalesce(model_prediction_error, -1), model_runs_learned FROM ruvector.dag_status()");
  if (!model.ok()) return ReportError("bench", model.status());
  const auto& mrow = model->rows.at(0);
  auto lanes = db.Exec("SELECT mechanism, held_out_error, scored_runs, in_use FROM ruvector.dag_attention_status()");
  if (!lanes.ok()) return ReportError("bench", lanes.status());

  BenchReport r;
  r.options = &o;
  r.queries = &queries;
  r.base = &base;
  r.learn = &learn;
  r.patterns = &reports;
  r.oracle = &oracle;
  r.identical = identical;
  r.deterministic = deterministic;
  r.stamp = *stamp;
  r.cpu_budget = *cpu_budget;
  r.mechanism = mrow.at(0);
  r.mechanism_reason = mrow.at(1);
  r.per_mechanism = lanes->rows;
  r.model_error = std::atof(mrow.at(2).c_str());
  r.model_runs = std::atoll(mrow.at(3).c_str());
  r.decisions = drow;
  r.online = online;
  r.all_identical = all_identical;
  r.oracle_identical = oracle_identical;
  r.tail = tail;
  r.unchecked = unchecked;
  r.plan_samples = plan_on.size();
  r.explorer_runs = explorer_runs;
  r.explorer_timeouts = explorer_timeouts;
  r.regressed_12 = regressed_12;
  r.regressed_12_deployed = regressed_12_deployed;
  r.regressed_2 = regressed_2;
  r.workload_ttb = workload_ttb;
  r.ttb_all = ttb_all;
  r.ttb_late = ttb_late;
  r.base_total = base_total;
  r.learn_total = learn_total;
  r.learn_all = learn_all;
  r.base_conv = base_conv;
  r.learn_conv = learn_conv;
  r.explorer_total = explorer_total;
  r.whole_speedup = whole_speedup;
  r.conv_speedup = conv_speedup;
  r.oracle_default = oracle_default;
  r.oracle_best = oracle_best;
  r.oracle_speedup = oracle_speedup;
  r.saved = saved;
  r.oracle_saved = oracle_saved;
  r.plan_on_med = plan_on_med;
  r.plan_off_med = plan_off_med;
  for (int deployed = 0; deployed < 2; ++deployed) {
    std::vector<double> on, off;
    for (size_t k = 0; k < plan_query.size(); ++k) {
      if ((reports[plan_query[k]].final_arm != "default") != (deployed == 1)) continue;
      on.push_back(plan_on[k]);
      off.push_back(plan_off[k]);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    (deployed ? r.plan_on_deployed : r.plan_on_default) = on.empty() ? nan : Percentile(on, 50) * 1000.0;
    (deployed ? r.plan_off_deployed : r.plan_off_default) = off.empty() ? nan : Percentile(off, 50) * 1000.0;
  }
  if (o.format == "text") {
    PrintText(r);
  } else {
    PrintJson(r);
  }
  return all_identical && oracle_identical ? kExitOk : kExitInternal;
}

}  // namespace

void RegisterBench(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Run a workload against a database with the extension disabled and learning; report measured latencies, "
      "regressions, time-to-benefit per pattern, the explorer's time and result identity, and with --oracle the "
      "share of the best built-in arms' speed-up captured. Every run first resets the extension's learned "
      "decisions (dag_reset_learning(true)).");
  cmd->add_option("--dsn", opts->dsn, "libpq connection string or URI")->required();
  auto* q = cmd->add_option("--queries", opts->queries,
                            "FILE (queries separated by semicolons) or DIR (one query per .sql file)");
  auto* w = cmd->add_option("--workload", opts->workload,
                            "a bundled workload instead of --queries: misestimation, well-planned, or star (18 "
                            "templates x 2 parameterizations over a skewed, correlated star/snowflake schema)")
                ->check(CLI::IsMember({"misestimation", "well-planned", "star"}));
  q->excludes(w);
  cmd->add_flag("--generate", opts->generate, "(re)create the bundled workload's tables in the database first");
  cmd->add_option("--seed", opts->seed, "star workload with --generate: seed of the generated data (printed)")
      ->check(CLI::Range(uint64_t{0}, (uint64_t{1} << 40) - 1))
      ->capture_default_str();
  cmd->add_option("--scale", opts->scale,
                  "star workload with --generate: data scale; 1 = 200,000 sales, 5,000 items, 20,000 customers "
                  "(the tests use 0.02)")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();
  cmd->add_flag("--oracle", opts->oracle,
                "first run every query under every built-in arm (PostgreSQL alone, median of --oracle-repeats) and "
                "report the share of the best arms' speed-up the learner captured");
  cmd->add_option("--oracle-repeats", opts->oracle_repeats, "runs per query and arm for --oracle")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--siblings-from", opts->siblings_from,
                  "star workload: the sibling templates marked late join at this round (their time-to-benefit then "
                  "shows what was learned from their siblings); 0 = every query from round 1")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--rounds", opts->rounds, "rounds of the workload per phase")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--format", opts->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--exploration", opts->exploration,
                  "background: the server's explorer re-executes captured statements under candidate arms within "
                  "ruvector.dag_exploration_cpu_budget; online: the workload's own executions explore as well (the "
                  "server's explorer keeps running)")
      ->check(CLI::IsMember({"background", "online"}))
      ->capture_default_str();
  cmd->add_option("--budget", opts->budget,
                  "online exploration: share of a pattern's plannings that may explore a candidate arm")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_flag("--sync-learning", opts->sync_learning,
                "wait for the learner (dag_learn_now) after every round; its waits are counted");
  cmd->add_option("--planning-samples", opts->planning_samples, "EXPLAINs per setting for the planning overhead")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->callback([opts, exit_code]() {
    if (opts->queries.empty() && opts->workload.empty()) {
      std::cerr << "ruvector-dag bench: give --queries FILE_OR_DIR or --workload NAME\n";
      *exit_code = kExitBadInput;
      return;
    }
    if (opts->siblings_from > opts->rounds) {
      std::cerr << "ruvector-dag bench: --siblings-from must not exceed --rounds\n";
      *exit_code = kExitBadInput;
      return;
    }
    *exit_code = RunBench(*opts);
  });
}

}  // namespace ruvector_dag::cli
