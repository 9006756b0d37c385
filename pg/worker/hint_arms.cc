// Learning of hint arms' content (hint_arms.h).
#include "worker/hint_arms.h"

#include <algorithm>
#include <cmath>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/mincut.h"
#include "worker/learner.h"
#include "worker/pattern_samples.h"

namespace ruvector_pg {

namespace {

using ruvector_dag::OperatorType;

bool IsJoin(uint8_t type) {
  return type == static_cast<uint8_t>(OperatorType::kNestedLoop) ||
         type == static_cast<uint8_t>(OperatorType::kHashJoin) ||
         type == static_cast<uint8_t>(OperatorType::kMergeJoin);
}

/// log((actual + 1) / (estimate + 1)) of a measured node; false when the
/// node was not measured or its numbers are unusable.
bool LogError(const HintNode& n, double* out) {
  if (!(n.estimated_rows > 0.0f) || !(n.actual_rows >= 0.0f) || !std::isfinite(n.actual_rows) ||
      !std::isfinite(n.estimated_rows)) {
    return false;
  }
  *out = std::log((static_cast<double>(n.actual_rows) + 1.0) / (static_cast<double>(n.estimated_rows) + 1.0));
  return true;
}

/// Per node: whether it is in the plan's min-cut bottleneck with the rows it
/// produced as its work (capacity W / (w + 1e-6 W), as the kBottleneck mode
/// does with time: docs/mincut.md). All false when the cut cannot be computed.
std::vector<uint8_t> BottleneckNodes(const HintSample& sample) {
  std::vector<uint8_t> in_cut(sample.nodes.size(), 0);
  PlanSample plan;
  plan.count = static_cast<int>(std::min<size_t>(sample.nodes.size(), kMaxTrajectoryNodes));
  std::vector<double> work(static_cast<size_t>(plan.count), 0.0);
  double total = 0.0;
  for (int i = 0; i < plan.count; ++i) {
    const HintNode& n = sample.nodes[static_cast<size_t>(i)];
    if (n.parent >= i || n.parent < -1) return in_cut;
    plan.type[i] = n.type;
    plan.parent_plus_one[i] = static_cast<uint8_t>(n.parent + 1);
    plan.estimated_rows[i] = n.estimated_rows;
    plan.actual_rows[i] = n.actual_rows;
    const double rows = n.actual_rows >= 0.0f ? n.actual_rows : n.estimated_rows;
    work[static_cast<size_t>(i)] = std::isfinite(rows) && rows > 0.0 ? rows : 0.0;
    total += work[static_cast<size_t>(i)];
  }
  ruvector_dag::QueryDag dag;
  if (plan.count == 0 || !SampleToDag(plan, &dag).ok()) return in_cut;
  std::vector<double> capacity(dag.id_bound(), 0.0);
  for (int i = 0; i < plan.count; ++i) {
    capacity[static_cast<size_t>(i)] = total > 0.0 ? total / (work[static_cast<size_t>(i)] + 1e-6 * total) : 1.0;
  }
  ruvector_dag::MinCutOptions options;
  options.compute_criticality = false;
  auto engine = ruvector_dag::MinCutEngine::Create(options);
  if (!engine.ok()) return in_cut;
  auto cut = engine->AnalyzeWithCapacities(dag, capacity);
  if (!cut.ok()) return in_cut;
  for (ruvector_dag::NodeId id : cut->cut_nodes) {
    if (id < in_cut.size()) in_cut[id] = 1;
  }
  return in_cut;
}

}  // namespace

HintArmLearner::HintArmLearner(const Options& options) : options_(options) {
  if (options_.window < 2) options_.window = 2;
  if (options_.min_observations < 1) options_.min_observations = 1;
  if (options_.max_patterns < 1) options_.max_patterns = 1;
  if (options_.max_joins_per_pattern < 1) options_.max_joins_per_pattern = 1;
  if (!(options_.min_q_error > 1.0)) options_.min_q_error = 1.0 + 1e-9;
}

void HintArmLearner::Observe(const HintSample& sample, int64_t now_us) {
  if (sample.pattern_key == 0 || sample.nodes.empty()) return;
  const size_t count = sample.nodes.size();
  // The outer input of each join: its first child in pre-order.
  std::vector<int> outer(count, -1);
  std::map<uint32_t, int> seen;  // relset -> joins with it in this plan
  for (size_t i = 0; i < count; ++i) {
    const int parent = sample.nodes[i].parent;
    if (parent >= 0 && static_cast<size_t>(parent) < i && outer[static_cast<size_t>(parent)] < 0) {
      outer[static_cast<size_t>(parent)] = static_cast<int>(i);
    }
    if (IsJoin(sample.nodes[i].type) && sample.nodes[i].relset != 0) ++seen[sample.nodes[i].relset];
  }
  if (seen.empty()) return;
  const std::vector<uint8_t> in_cut = BottleneckNodes(sample);
  auto it = patterns_.find(sample.pattern_key);
  if (it == patterns_.end()) {
    if (patterns_.size() >= options_.max_patterns) Forget(LeastRecentPattern(patterns_));
    it = patterns_.emplace(sample.pattern_key, PatternHints()).first;
  }
  PatternHints& p = it->second;
  p.last_us = now_us;
  p.database_oid = sample.database_oid;
  AddScopeRelations(sample.relations, &p.relations);
  for (size_t i = 0; i < count; ++i) {
    const HintNode& n = sample.nodes[i];
    if (!IsJoin(n.type) || n.relset == 0 || seen[n.relset] > 1) continue;
    // The error that decided the join's method: its outer input's rows (a
    // nested loop's loop count), less what that input inherited in the same
    // direction from its own outer input when it is a join -- an error is
    // attributed to the first join that consumes it.
    const int o = outer[i];
    double e = 0.0;
    if (o < 0 || !LogError(sample.nodes[static_cast<size_t>(o)], &e)) continue;
    const int o2 = outer[static_cast<size_t>(o)];
    double inherited = 0.0;
    if (IsJoin(sample.nodes[static_cast<size_t>(o)].type) && o2 >= 0 &&
        LogError(sample.nodes[static_cast<size_t>(o2)], &inherited) && inherited * e > 0.0) {
      e = std::copysign(std::max(0.0, std::fabs(e) - std::fabs(inherited)), e);
    }
    if (sample.may_stop_early && e < 0.0) continue;  // fewer rows than estimated proves nothing then
    auto j = p.joins.find(n.relset);
    if (j == p.joins.end()) {
      if (p.joins.size() >= options_.max_joins_per_pattern) continue;
      j = p.joins.emplace(n.relset, JoinStats()).first;
    }
    JoinStats& s = j->second;
    if (s.n > 0 && s.method != n.type) s = JoinStats();  // the default plan joins it otherwise now
    s.method = n.type;
    s.relation_count = n.relation_count;
    const bool bottleneck = in_cut[i] != 0 || (outer[i] >= 0 && in_cut[static_cast<size_t>(outer[i])] != 0);
    // Welford's update with the count capped at the window.
    if (s.n < options_.window) ++s.n;
    const double weight = 1.0 / static_cast<double>(s.n);
    const double delta = e - s.mean;
    s.mean += delta * weight;
    s.m2 = s.m2 * (s.n >= options_.window ? 1.0 - weight : 1.0) + delta * (e - s.mean);
    s.bottleneck += ((bottleneck ? 1.0 : 0.0) - s.bottleneck) * weight;
  }
  Refresh(sample.pattern_key, &p);
}

LearnedHint HintArmLearner::Choose(uint64_t key, const PatternHints& p) const {
  LearnedHint best;
  best.pattern_key = key;
  double best_score = 0.0;
  for (const auto& [relset, s] : p.joins) {
    if (s.n < options_.min_observations) continue;
    const double magnitude = std::fabs(s.mean);
    if (magnitude < std::log(options_.min_q_error)) continue;
    const double variance = s.n > 1 ? s.m2 / static_cast<double>(s.n - 1) : 0.0;
    if (std::sqrt(std::max(0.0, variance)) > options_.max_relative_spread * magnitude) continue;
    HintKind kind = HintKind::kNone;
    if (s.method == static_cast<uint8_t>(OperatorType::kNestedLoop) && s.mean > 0.0) kind = HintKind::kHashJoin;
    if (s.method != static_cast<uint8_t>(OperatorType::kNestedLoop) && s.mean < 0.0) kind = HintKind::kNestLoop;
    if (kind == HintKind::kNone) continue;
    const double score = magnitude * (1.0 + s.bottleneck);
    if (score > best_score) {  // ties: the lower relation-set id (map order) stays
      best_score = score;
      best.kind = kind;
      best.relset = relset;
      best.relation_count = s.relation_count;
      best.log_error = static_cast<float>(s.mean);
      best.observations = s.n;
      best.bottleneck = s.bottleneck >= 0.5 ? 1 : 0;
    }
  }
  return best;
}

void HintArmLearner::Refresh(uint64_t key, PatternHints* p) {
  LearnedHint next = Choose(key, *p);
  const bool changed = next.kind != p->current.kind || next.relset != p->current.relset;
  next.version = p->current.version;
  if (changed) {
    ++next.version;
    changed_.push_back(key);
  }
  if (changed || next.log_error != p->current.log_error || next.observations != p->current.observations ||
      next.bottleneck != p->current.bottleneck) {
    ++generation_;
  }
  p->current = next;
}

void HintArmLearner::Forget(uint64_t pattern_key) {
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) return;
  if (it->second.current.kind != HintKind::kNone) {
    changed_.push_back(pattern_key);
    ++generation_;
  }
  patterns_.erase(it);
}

void HintArmLearner::ForgetTouching(uint32_t database_oid, const std::vector<uint32_t>& relations,
                                    bool every_relation) {
  for (auto it = patterns_.begin(); it != patterns_.end();) {
    const PatternHints& p = it->second;
    const bool touched =
        p.database_oid == database_oid &&
        (every_relation || std::any_of(relations.begin(), relations.end(), [&](uint32_t r) {
           return std::find(p.relations.begin(), p.relations.end(), r) != p.relations.end();
         }));
    const uint64_t key = it->first;
    ++it;
    if (touched) Forget(key);
  }
}

std::vector<LearnedHint> HintArmLearner::Hints() const {
  std::vector<LearnedHint> out;
  for (const auto& [key, p] : patterns_) {
    if (p.current.kind != HintKind::kNone) out.push_back(p.current);
  }
  return out;
}

LearnedHint HintArmLearner::HintOf(uint64_t pattern_key) const {
  auto it = patterns_.find(pattern_key);
  if (it != patterns_.end()) return it->second.current;
  LearnedHint none;
  none.pattern_key = pattern_key;
  return none;
}

std::vector<uint64_t> HintArmLearner::TakeChanged() {
  std::vector<uint64_t> out;
  out.swap(changed_);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PinnedHints HintsOfLearned(const LearnedHint& hint) {
  PinnedHints h;
  if (hint.kind == HintKind::kNone || hint.relset == 0) return h;
  h.count = 1;
  h.kinds[0] = hint.kind;
  h.relsets[0] = hint.relset;
  return h;
}

}  // namespace ruvector_pg
