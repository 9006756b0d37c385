// Learning of row-count corrections (row_corrections.h).
#include "worker/row_corrections.h"

#include "worker/pattern_samples.h"

#include <algorithm>
#include <cmath>

namespace ruvector_pg {

namespace {

// Factors are kept within this range (a correction by more than a million
// is a measurement error, not an estimate).
constexpr double kMaxLogFactor = 13.8155;  // log(1e6)

}  // namespace

RowCorrectionLearner::RowCorrectionLearner(const Options& options) : options_(options) {
  if (options_.window < 2) options_.window = 2;
  if (options_.min_observations < 1) options_.min_observations = 1;
  if (options_.max_patterns < 1) options_.max_patterns = 1;
  if (options_.max_sets_per_pattern < 1) options_.max_sets_per_pattern = 1;
  if (!(options_.min_q_error >= 1.0)) options_.min_q_error = 1.0;
}

bool RowCorrectionLearner::Qualifies(const SetStats& s) const {
  if (s.n < options_.min_observations) return false;
  const double magnitude = std::fabs(s.mean);
  if (magnitude < std::log(options_.min_q_error) || magnitude == 0.0) return false;
  const double variance = s.n > 1 ? s.m2 / static_cast<double>(s.n - 1) : 0.0;
  return std::sqrt(std::max(0.0, variance)) <= options_.max_relative_spread * magnitude;
}

void RowCorrectionLearner::Update(SetStats* s, double log_q, double log_actual, double log_estimated,
                                  uint32_t relation_count) {
  // Welford's update with the count capped at the window: beyond it each
  // observation weighs 1/window (an exponentially weighted mean).
  if (s->n < options_.window) ++s->n;
  const double n = static_cast<double>(s->n);
  const double delta = log_q - s->mean;
  s->mean += delta / n;
  s->m2 = s->m2 * (s->n >= options_.window ? (n - 1.0) / n : 1.0) + delta * (log_q - s->mean);
  s->mean_log_actual += (log_actual - s->mean_log_actual) / n;
  s->mean_log_estimated += (log_estimated - s->mean_log_estimated) / n;
  if (relation_count != 0) s->relation_count = relation_count;
}

void RowCorrectionLearner::EvictOne() {
  if (!patterns_.empty()) patterns_.erase(LeastRecentPattern(patterns_));
}

void RowCorrectionLearner::Observe(const RowSample& sample, int64_t now_us) {
  if (sample.pattern_key == 0 || sample.nodes.empty()) return;
  // A relation set measured twice in one plan (the same tables joined in
  // two places) cannot be told apart by the planner either: skip it.
  std::vector<uint32_t> seen;
  std::vector<uint32_t> twice;
  for (const RowObservation& o : sample.nodes) {
    if (o.relset == 0) continue;
    if (std::find(seen.begin(), seen.end(), o.relset) != seen.end()) {
      twice.push_back(o.relset);
    } else {
      seen.push_back(o.relset);
    }
  }
  auto it = patterns_.find(sample.pattern_key);
  if (it == patterns_.end()) {
    if (patterns_.size() >= options_.max_patterns) EvictOne();
    it = patterns_.emplace(sample.pattern_key, PatternRows()).first;
  }
  PatternRows& p = it->second;
  p.last_us = now_us;
  p.database_oid = sample.database_oid;
  AddScopeRelations(sample.relations, &p.relations);
  bool changed = false;
  for (const RowObservation& o : sample.nodes) {
    if (o.relset == 0 || std::find(twice.begin(), twice.end(), o.relset) != twice.end()) continue;
    if (!(o.estimated_rows > 0.0f) || !(o.actual_rows >= 0.0f) || !std::isfinite(o.actual_rows) ||
        !std::isfinite(o.estimated_rows)) {
      continue;
    }
    // PostgreSQL never estimates below one row; a count of 0 is taken as 1
    // (the estimate cannot be improved below its floor).
    const double actual = std::max(1.0, static_cast<double>(o.actual_rows));
    const double estimated = std::max(1.0, static_cast<double>(o.estimated_rows));
    double log_q = std::log(actual / estimated);
    // An execution that may have stopped early proves only a lower bound
    // of the true count: fewer rows than estimated is no evidence.
    if (sample.may_stop_early && log_q < 0.0) continue;
    log_q = std::clamp(log_q, -kMaxLogFactor, kMaxLogFactor);
    auto s = p.sets.find(o.relset);
    if (s == p.sets.end()) {
      if (p.sets.size() >= options_.max_sets_per_pattern) {
        // Make room: drop the set whose estimates are best (smallest error).
        auto smallest = p.sets.begin();
        for (auto q = p.sets.begin(); q != p.sets.end(); ++q) {
          if (std::fabs(q->second.mean) < std::fabs(smallest->second.mean)) smallest = q;
        }
        if (std::fabs(smallest->second.mean) > std::fabs(log_q)) continue;
        changed |= Qualifies(smallest->second);
        p.sets.erase(smallest);
      }
      s = p.sets.emplace(o.relset, SetStats()).first;
    }
    const bool before = Qualifies(s->second);
    const double old_mean = s->second.mean;
    Update(&s->second, log_q, std::log(actual), std::log(estimated), o.relation_count);
    const bool after = Qualifies(s->second);
    if (before != after || (after && old_mean != s->second.mean)) changed = true;
  }
  if (changed) ++generation_;
}

void RowCorrectionLearner::Forget(uint64_t pattern_key) {
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) return;
  bool had = false;
  for (const auto& [relset, s] : it->second.sets) had |= Qualifies(s);
  patterns_.erase(it);
  if (had) ++generation_;
}

void RowCorrectionLearner::ForgetTouching(uint32_t database_oid, const std::vector<uint32_t>& relations,
                                          bool every_relation) {
  std::vector<uint64_t> gone;
  for (const auto& [key, p] : patterns_) {
    if (p.database_oid != database_oid) continue;
    bool touched = every_relation;
    for (uint32_t relid : relations) {
      touched = touched || std::find(p.relations.begin(), p.relations.end(), relid) != p.relations.end();
    }
    if (touched) gone.push_back(key);
  }
  for (uint64_t key : gone) Forget(key);
}

PatternCorrections RowCorrectionLearner::CorrectionsOf(uint64_t pattern_key) const {
  PatternCorrections out;
  out.pattern_key = pattern_key;
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) return out;
  std::vector<const std::pair<const uint32_t, SetStats>*> ranked;
  for (const auto& entry : it->second.sets) {
    if (Qualifies(entry.second)) ranked.push_back(&entry);
  }
  // Largest error first; the relation-set id breaks ties (deterministic).
  std::sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
    const double ea = std::fabs(a->second.mean), eb = std::fabs(b->second.mean);
    return ea != eb ? ea > eb : a->first < b->first;
  });
  for (const auto* entry : ranked) {
    if (out.count >= static_cast<uint32_t>(kMaxCorrectionsPerPattern)) break;
    RowCorrection& c = out.items[out.count++];
    c.relset = entry->first;
    c.observations = entry->second.n;
    c.factor = static_cast<float>(std::exp(entry->second.mean));
    c.actual_rows = static_cast<float>(std::exp(entry->second.mean_log_actual));
    c.estimated_rows = static_cast<float>(std::exp(entry->second.mean_log_estimated));
    c.relation_count = entry->second.relation_count;
  }
  return out;
}

std::vector<PatternCorrections> RowCorrectionLearner::Corrections() const {
  std::vector<PatternCorrections> out;
  for (const auto& entry : patterns_) {
    PatternCorrections c = CorrectionsOf(entry.first);
    if (c.count > 0) out.push_back(c);
  }
  return out;
}

}  // namespace ruvector_pg
