// Index health: thresholds on measured numbers -> status + recommendations.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "ruvector_dag/healing.h"

namespace ruvector_dag {
namespace healing {
namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

}  // namespace

bool IsVectorIndex(IndexKind kind) { return kind == IndexKind::kHnsw || kind == IndexKind::kIvfFlat; }

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kHealthy: return "healthy";
    case HealthStatus::kWarning: return "warning";
    case HealthStatus::kCritical: return "critical";
  }
  return "unknown";
}

std::string_view IndexActionName(IndexAction action) {
  switch (action) {
    case IndexAction::kVacuum: return "vacuum";
    case IndexAction::kAnalyze: return "analyze";
    case IndexAction::kTuneSearch: return "tune_search";
    case IndexAction::kReindex: return "reindex";
  }
  return "unknown";
}

Result<IndexHealthReport> IndexHealthChecker::Check(const IndexStats& s) const {
  if (s.name.empty()) return Status::InvalidArgument("index stats: the index name is empty");
  const std::string where = "index '" + s.name + "'";
  auto bad_ratio = [](const std::optional<double>& v) {
    return v.has_value() && !(std::isfinite(*v) && *v >= 0.0 && *v <= 1.0);
  };
  auto bad_count = [](const std::optional<double>& v) {
    return v.has_value() && !(std::isfinite(*v) && *v >= 0.0);
  };
  if (bad_ratio(s.bloat_ratio)) return Status::InvalidArgument(where + ": bloat_ratio must lie in [0,1]");
  if (bad_ratio(s.leaf_fragmentation)) return Status::InvalidArgument(where + ": leaf_fragmentation must lie in [0,1]");
  if (bad_ratio(s.recall_estimate)) return Status::InvalidArgument(where + ": recall_estimate must lie in [0,1]");
  if (bad_count(s.live_tuples)) return Status::InvalidArgument(where + ": live_tuples must be finite and >= 0");
  if (bad_count(s.dead_tuples)) return Status::InvalidArgument(where + ": dead_tuples must be finite and >= 0");
  if (bad_count(s.seconds_since_maintenance)) {
    return Status::InvalidArgument(where + ": seconds_since_maintenance must be finite and >= 0");
  }

  const IndexHealthConfig& c = config_;
  IndexHealthReport report;
  report.index = s.name;
  report.relation = s.relation;
  std::vector<IndexAction> actions;
  // Higher-is-worse checks.
  auto check_high = [&](const char* name, double v, double warn, double crit, const char* what,
                        std::initializer_list<IndexAction> fix) {
    HealthStatus st = v >= crit ? HealthStatus::kCritical : v >= warn ? HealthStatus::kWarning : HealthStatus::kHealthy;
    if (st == HealthStatus::kHealthy) return;
    IndexFinding f;
    f.check = name;
    f.measured = v;
    f.threshold = st == HealthStatus::kCritical ? crit : warn;
    f.status = st;
    f.message = where + ": " + what + " " + Fmt(v) + " >= " + Fmt(f.threshold);
    report.findings.push_back(std::move(f));
    actions.insert(actions.end(), fix.begin(), fix.end());
  };
  if (s.bloat_ratio) {
    check_high("bloat_ratio", *s.bloat_ratio, c.bloat_warning, c.bloat_critical, "wasted space fraction",
               {IndexAction::kReindex});
  }
  if (s.leaf_fragmentation) {
    check_high("leaf_fragmentation", *s.leaf_fragmentation, c.fragmentation_warning, c.fragmentation_critical,
               "leaf fragmentation", {IndexAction::kReindex});
  }
  bool many_dead = false;
  if (s.dead_tuples && s.live_tuples && (*s.dead_tuples + *s.live_tuples) > 0.0) {
    const double ratio = *s.dead_tuples / (*s.dead_tuples + *s.live_tuples);
    many_dead = ratio >= c.dead_ratio_warning;
    // Dead tuples are VACUUM's job; a vector graph index also loses recall
    // through them, which the recall check below turns into a REINDEX.
    check_high("dead_ratio", ratio, c.dead_ratio_warning, c.dead_ratio_critical, "dead tuple fraction",
               {IndexAction::kVacuum});
  }
  if (s.recall_estimate) {
    const double v = *s.recall_estimate;
    HealthStatus st = v < c.recall_critical ? HealthStatus::kCritical
                      : v < c.recall_warning ? HealthStatus::kWarning
                                              : HealthStatus::kHealthy;
    if (st != HealthStatus::kHealthy) {
      IndexFinding f;
      f.check = "recall";
      f.measured = v;
      f.threshold = st == HealthStatus::kCritical ? c.recall_critical : c.recall_warning;
      f.status = st;
      f.message = where + ": recall estimate " + Fmt(v) + " < " + Fmt(f.threshold);
      report.findings.push_back(std::move(f));
      // Degraded structure (dead entries, bloat) needs a rebuild; a clean
      // index with low recall needs a wider search (ef_search / probes).
      const bool degraded = many_dead || (s.bloat_ratio && *s.bloat_ratio >= c.bloat_warning);
      actions.push_back(degraded ? IndexAction::kReindex : IndexAction::kTuneSearch);
    }
  }
  if (s.seconds_since_maintenance && *s.seconds_since_maintenance >= c.maintenance_warning_seconds) {
    IndexFinding f;
    f.check = "maintenance_age";
    f.measured = *s.seconds_since_maintenance;
    f.threshold = c.maintenance_warning_seconds;
    f.status = HealthStatus::kWarning;
    f.message = where + ": no maintenance for " + Fmt(f.measured / 86400.0) + " days";
    report.findings.push_back(std::move(f));
    actions.push_back(IndexAction::kVacuum);
    actions.push_back(IndexAction::kAnalyze);
  }
  for (const IndexFinding& f : report.findings) report.status = std::max(report.status, f.status);
  std::sort(actions.begin(), actions.end());
  actions.erase(std::unique(actions.begin(), actions.end()), actions.end());
  report.recommendations = std::move(actions);
  report.score = report.status == HealthStatus::kHealthy ? 1.0 : report.status == HealthStatus::kWarning ? 0.5 : 0.0;
  return report;
}

}  // namespace healing
}  // namespace ruvector_dag
