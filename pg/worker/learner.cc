// C++ zone: adapters from the trajectory ring to the engine (learner.h).
#include "worker/learner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "planner/dag_bridge.h"
#include "planner/plan_snapshot.h"

namespace ruvector_pg {

using ruvector_dag::Status;

Status SampleToDag(const PlanSample& plan, ruvector_dag::QueryDag* dag) {
  if (plan.count <= 0 || plan.count > kMaxTrajectoryNodes) {
    return Status::InvalidArgument("plan sample: " + std::to_string(plan.count) + " nodes");
  }
  std::vector<PlanNodeSnapshot> nodes(static_cast<size_t>(plan.count));
  for (int i = 0; i < plan.count; ++i) {
    PlanNodeSnapshot& n = nodes[static_cast<size_t>(i)];
    n.parent = plan.parent_plus_one[i] == 0 ? -1 : plan.parent_plus_one[i] - 1;
    n.type = plan.type[i];
    n.plan_rows = plan.estimated_rows[i];
    n.has_actuals = plan.actual_rows[i] >= 0.0f;
    n.actual_rows = n.has_actuals ? plan.actual_rows[i] : 0.0;
    n.actual_loops = n.has_actuals ? 1.0 : 0.0;
  }
  PlanSnapshot snap;
  snap.query_id = plan.query_id;
  snap.count = plan.count;
  snap.nodes = nodes.data();
  return BuildDag(snap, dag);
}

RunSample::RunSample(uint32_t per_group) : per_group_(per_group < 1 ? 1 : per_group) { Reset(0, 0); }

void RunSample::Reset(size_t max_groups, uint64_t seed) {
  size_t cap = 16;
  while (cap < 2 * max_groups) cap *= 2;
  if (groups_.size() < max_groups) groups_.resize(max_groups);
  if (slot_of_.size() < max_groups * per_group_) slot_of_.resize(max_groups * per_group_);
  if (table_.size() < cap) table_.resize(cap);
  std::fill(table_.begin(), table_.end(), kNoGroup);
  max_groups_ = max_groups;
  group_count_ = 0;
  next_slot_ = 0;
  last_ = kNoGroup;
  rng_ = ruvector_dag::Rng(seed);
}

RunSample::Offered RunSample::Offer(uint64_t a, uint32_t b, double weight, uint32_t runs) noexcept {
  if (runs == 0) runs = 1;
  Offered o;
  if (last_ != kNoGroup && groups_[last_].a == a && groups_[last_].b == b) {
    o.group = last_;
  } else {
    const size_t mask = table_.size() - 1;
    size_t i = ruvector_dag::HashCombine(a, b) & mask;
    while (table_[i] != kNoGroup && (groups_[table_[i]].a != a || groups_[table_[i]].b != b)) i = (i + 1) & mask;
    if (table_[i] == kNoGroup) {
      // The table is at most half full: a free entry is always found.
      if (group_count_ >= max_groups_) return o;
      table_[i] = static_cast<uint32_t>(group_count_);
      groups_[group_count_] = Group{a, b, 0, 0.0, 0};
      ++group_count_;
    }
    o.group = table_[i];
    last_ = o.group;
  }
  Group& g = groups_[o.group];
  const uint64_t n = g.runs;  // runs offered to the group before these
  const uint64_t offers = g.offers++;
  g.runs += runs;
  g.weight += weight;
  int32_t* slots = &slot_of_[static_cast<size_t>(o.group) * per_group_];
  if (offers < per_group_) {
    slots[offers] = static_cast<int32_t>(next_slot_++);
    o.slot = slots[offers];
    return o;
  }
  // Kept with `runs` times a single run's chance (per_group / runs so far),
  // in place of a uniformly chosen kept one.
  const uint64_t j = rng_.Uniform(n + runs);
  if (j < uint64_t{per_group_} * runs) o.slot = slots[j % per_group_];
  return o;
}

LearnEvent ToLearnEvent(const ruvector_dag::PatternEvent& e) {
  LearnEvent ev;
  ev.pattern_key = e.pattern_key;
  ev.query_id = e.query_id;
  ev.database_oid = e.database_oid;
  ev.role_oid = e.role_oid;
  switch (e.type) {
    case ruvector_dag::PatternEventType::kDeploy: ev.type = LearnEventType::kDeploy; break;
    case ruvector_dag::PatternEventType::kRevert: ev.type = LearnEventType::kRevert; break;
    case ruvector_dag::PatternEventType::kReject: ev.type = LearnEventType::kReject; break;
  }
  ev.arm = e.arm;
  ev.confidence = e.confidence;
  ev.default_ms = e.default_ms;
  ev.arm_ms = e.arm_ms;
  return ev;
}

ruvector_dag::EngineOptions ServerEngineOptions(uint32_t num_arms, size_t max_clusters, double learning_rate,
                                                double ewc_lambda, uint32_t lora_rank) {
  ruvector_dag::EngineOptions o;
  o.num_arms = num_arms;
  o.bandit = Learner::HostBanditOptions(num_arms);
  o.max_patterns = kDecisionSlots / 8 * 7;
  o.exploration_budget = 0.0;  // the backends explore (steer_state.h), the engine orders
  o.trajectory_capacity = 2;   // the server's ring is in shared memory
  // Seven value models (one per attention mechanism) train on the same
  // runs: a pass trains each on at most 128 runs (7 x 128 model steps).
  o.select_mechanism = true;
  o.max_train_per_learn = 128;
  o.max_train_per_arm = 8;      // pgbench-like floods of one pattern: a few samples per pass
  // ... and a few per second: passes come every 50 ms under load, and each
  // trained run costs seven model steps and their replay.
  o.train_rate_per_arm = 4.0;
  o.train_burst_per_arm = 32;
  o.replay_capacity = 512;      // per mechanism: 7 x 512 samples of 1 KB
  o.bank.capacity = kDecisionSlots;
  o.bank.min_cluster_size = 2;
  o.bank.max_clusters = max_clusters < 1 ? 1 : max_clusters;
  o.model.base_learning_rate = learning_rate;
  o.model.adapter_learning_rate = 2.0 * learning_rate;  // the adapters' default ratio
  o.model.ewc_lambda = ewc_lambda;
  o.model.lora_rank = lora_rank;
  return o;
}

std::optional<ruvector_dag::AttentionMechanism> WantedMechanism(uint8_t request, const char* setting,
                                                                const char** source) {
  if (request != kAttentionRequestNone) {
    *source = "dag_set_attention";
    if (request == kAttentionRequestAuto) return std::nullopt;
    const size_t m = static_cast<size_t>(request - kAttentionRequestForced);
    if (m < ruvector_dag::kAttentionMechanismCount) return ruvector_dag::kAllAttentionMechanisms[m];
    return std::nullopt;  // not written by dag_set_attention: the selector
  }
  *source = "ruvector.dag_attention";
  if (setting == nullptr) return std::nullopt;
  return ruvector_dag::AttentionMechanismFromName(setting);  // "auto" (or anything else) = the selector
}

void ConstantGroups::Add(uint64_t constants_hash, double latency_ms) {
  if (constants_hash == 0 || !(latency_ms > 0.0) || !std::isfinite(latency_ms)) return;
  int g = 0;
  while (g < count && hash[g] != constants_hash) ++g;
  if (g == count) {
    if (count == kMaxGroups) return;
    hash[count++] = constants_hash;
  }
  const double y = std::log(latency_ms);
  if (n[g] >= kMaxGroupRuns) {
    // Keep the mean and spread, weigh the past less.
    const double keep = (kMaxGroupRuns - 1.0) / n[g];
    n[g] *= keep;
    sum[g] *= keep;
    sum2[g] *= keep;
  }
  n[g] += 1.0;
  sum[g] += y;
  sum2[g] += y * y;
}

bool ConstantGroups::Split() const {
  double total_n = 0.0, total_sum = 0.0, total_sum2 = 0.0, within = 0.0;
  int groups = 0;
  for (int g = 0; g < count; ++g) {
    if (n[g] < 2.0) continue;
    ++groups;
    total_n += n[g];
    total_sum += sum[g];
    total_sum2 += sum2[g];
    within += std::max(0.0, sum2[g] - sum[g] * sum[g] / n[g]);
  }
  if (groups < 2 || total_n < kSplitEarlyRuns) return false;
  const double total = std::max(0.0, total_sum2 - total_sum * total_sum / total_n);
  const double total_sd = std::sqrt(total / (total_n - 1.0));
  const double within_sd = std::sqrt(within / (total_n - groups));
  if (!std::isfinite(total_sd) || !std::isfinite(within_sd)) return false;
  if (total_n < kSplitMinRuns) return total_sd > kSplitEarlySpread && within_sd <= 0.25 * total_sd;
  return total_sd > kSplitSpread && within_sd <= 0.5 * total_sd;
}

uint64_t ConstantGroups::MeasuredConstants(const bool* armed) const {
  if (count == 0 || count > 2) return 0;
  double total = 0.0;
  int repeated = 0, with_arm = 0, top = 0, arm_group = -1;
  for (int g = 0; g < count; ++g) {
    total += n[g];
    if (n[g] >= 2.0) ++repeated;
    if (n[g] > n[top]) top = g;
    if (armed != nullptr && armed[g]) {
      ++with_arm;
      arm_group = g;
    }
  }
  if (count == 2 && repeated == 2 && total >= kSplitMinRuns) return 0;  // the split test had its data
  if (with_arm == 2) return 0;
  if (with_arm == 1) return hash[arm_group];
  return n[top] > 0.0 ? hash[top] : 0;
}

bool ArmEffectsDiffer(const GroupRun* runs, int groups, int stride, const int* counts,
                      const double* default_ms, bool (*skip_arm)(int)) {
  if (runs == nullptr || counts == nullptr || default_ms == nullptr || groups < 2 || stride <= 0) return false;
  // The arms with completed runs (bit a = arm a; arms 1..63).
  uint64_t arms = 0;
  for (int g = 0; g < groups; ++g) {
    for (int k = 0; k < std::min(counts[g], stride); ++k) {
      const GroupRun& r = runs[g * stride + k];
      if (!r.censored && !r.same_plan && r.arm > 0 && r.arm < 64) arms |= uint64_t{1} << r.arm;
    }
  }
  for (int a = 1; a < 64; ++a) {
    if ((arms & (uint64_t{1} << a)) == 0 || (skip_arm != nullptr && skip_arm(a))) continue;
    bool hurts = false, helps = false;
    for (int g = 0; g < groups; ++g) {
      const double ref = default_ms[g];
      if (!(ref > 0.0) || !std::isfinite(ref)) continue;
      // The arm's fastest and slowest completed runs, and whether any run
      // of it was cancelled at its timeout (then it does not help here).
      double a_min = 0.0, a_max = 0.0;
      int n_arm = 0;
      bool cancelled = false;
      for (int k = 0; k < std::min(counts[g], stride); ++k) {
        const GroupRun& r = runs[g * stride + k];
        if (r.arm != a) continue;
        if (r.censored) cancelled = true;
        if (r.censored || r.same_plan || !(r.latency_ms > 0.0) || !std::isfinite(r.latency_ms)) continue;
        a_min = n_arm == 0 ? r.latency_ms : std::min(a_min, r.latency_ms);
        a_max = n_arm == 0 ? r.latency_ms : std::max(a_max, r.latency_ms);
        ++n_arm;
      }
      if (n_arm < 2) continue;
      if (a_min > kArmSplitRatio * ref) hurts = true;
      if (!cancelled && a_max * kArmSplitRatio < ref) helps = true;
    }
    if (hurts && helps) return true;
  }
  return false;
}

std::string MechanismReason(const ruvector_dag::MechanismStatus& status, uint64_t min_runs, const char* source) {
  std::string out;
  if (status.forced) {
    out = std::string("forced by ") + source + "; held-out error:";
  } else if (!status.lanes.empty() && status.lanes[0].evaluated < min_runs) {
    out = "selecting: " + std::to_string(status.lanes[0].evaluated) + " of " + std::to_string(min_runs) +
          " held-out runs per mechanism so far; held-out error:";
  } else {
    out = "selected: by held-out error, switching only to a clearly lower one (" + std::to_string(status.switches) + " switches):";
  }
  if (status.lanes.empty() || status.lanes[0].evaluated == 0) return out + " none measured yet";
  char buf[64];
  for (const ruvector_dag::MechanismLaneStatus& l : status.lanes) {
    snprintf(buf, sizeof(buf), " %s %.3f,", std::string(ruvector_dag::AttentionMechanismName(l.mechanism)).c_str(),
             l.error);
    out += buf;
  }
  out.back() = ' ';
  out += "over " + std::to_string(status.lanes[0].evaluated) + " runs";
  return out;
}

}  // namespace ruvector_pg
