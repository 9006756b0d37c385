// The per-pattern half of the engine's loop (engine.h, PatternLearner):
// no-regression bandits with admission by time at stake, scoped drift,
// re-validation of deployed arms and the persistent image.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "ruvector_dag/core.h"
#include "ruvector_dag/engine.h"

namespace ruvector_dag {
BanditOptions PatternLearner::HostBanditOptions(uint32_t num_arms) {
  BanditOptions o;
  o.num_arms = num_arms;
  // Online exploration runs candidates on users' statements: judge each
  // candidate after four runs (the bandit's t-based bound is very wide with
  // fewer), with a one-sided 99.4 % bound (z = 2.5), so a bad arm costs few
  // runs and a clearly better one is deployed soon.
  o.min_runs = 4;
  o.confidence_z = 2.5;
  // ... and stop measuring an undecided candidate after eight runs.
  o.max_explore_runs = 8;
  return o;
}

void PatternLearner::Reset(uint32_t num_arms, const BanditOptions& options) {
  bandit_options_ = options;
  bandit_options_.num_arms = num_arms;
  entries_.clear();
  per_role_.clear();
  waiting_.clear();
  num_arms_ = num_arms;
}

double PatternLearner::Decayed(double value_ms, int64_t at_us, int64_t now_us) {
  if (now_us <= at_us) return value_ms;
  return value_ms * std::exp2(-static_cast<double>(now_us - at_us) / static_cast<double>(kValueHalfLifeUs));
}

bool PatternLearner::Admit(const PatternRun& in, double value_ms, size_t max_patterns, std::vector<uint64_t>* evicted) {
  const size_t role_cap = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(max_patterns) * kRoleShare));
  auto held = per_role_.find(in.role_oid);
  const bool over_share = held != per_role_.end() && held->second >= role_cap;
  // The victim: the least time at stake, patterns on the default plan before
  // deployed ones (their win is what the learner is for); a role over its
  // share gives up one of its own.
  auto victim = entries_.end();
  bool victim_deployed = true;
  double victim_value = 0.0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = it->second;
    if (over_share && e.role_oid != in.role_oid) continue;
    const bool deployed = e.bandit.deployed_arm() != 0;
    const double v = Decayed(e.value_ms, e.value_at_us, in.at_us);
    if (victim == entries_.end() || (!deployed && victim_deployed) ||
        (deployed == victim_deployed && (v < victim_value || (v == victim_value && it->first < victim->first)))) {
      victim = it;
      victim_deployed = deployed;
      victim_value = v;
    }
  }
  if (victim == entries_.end() || !(value_ms > victim_value)) return false;
  auto role = per_role_.find(victim->second.role_oid);
  if (role != per_role_.end() && --role->second == 0) per_role_.erase(role);
  if (evicted != nullptr) evicted->push_back(victim->first);
  entries_.erase(victim);
  return true;
}

Status PatternLearner::RequestRevalidation(uint64_t key, int64_t now_us) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  Entry& e = it->second;
  if (e.bandit.deployed_arm() == 0) {
    return Status::FailedPrecondition("pattern " + std::to_string(key) + " runs the default plan");
  }
  e.revalidate_since_us = std::max<int64_t>(now_us, 1);
  e.fresh_default_log_sum = e.fresh_arm_log_sum = 0.0;
  e.fresh_default_runs = e.fresh_arm_runs = 0;
  return Status::Ok();
}

void PatternLearner::CancelRevalidation(uint64_t key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.revalidate_since_us = 0;
}

bool PatternLearner::Revalidating(uint64_t key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.revalidate_since_us != 0;
}

std::vector<PatternLearner::RevalidationVerdict> PatternLearner::TakeRevalidationVerdicts() {
  std::vector<RevalidationVerdict> out;
  out.swap(verdicts_);
  return out;
}

void PatternLearner::AddVerdict(const RevalidationVerdict& v) {
  if (verdicts_.size() >= kMaxVerdicts) verdicts_.erase(verdicts_.begin());
  verdicts_.push_back(v);
}

void PatternLearner::CheckRevalidation(uint64_t key, Entry* e, int64_t at_us, std::vector<PatternEvent>* events) {
  if (e->revalidate_since_us == 0) return;
  if (e->bandit.deployed_arm() == 0) {
    e->revalidate_since_us = 0;  // reverted meanwhile (monitor, drift): no verdict of its own
    return;
  }
  // One fresh default run and three of the arm, measured in the same
  // period: the arm is kept unless it was slower than the default.
  if (e->fresh_default_runs < 1 || e->fresh_arm_runs < 3) return;
  const double default_log = e->fresh_default_log_sum / e->fresh_default_runs;
  const double arm_log = e->fresh_arm_log_sum / e->fresh_arm_runs;
  e->revalidate_since_us = 0;
  RevalidationVerdict v;
  v.key = key;
  v.arm = e->bandit.deployed_arm();
  v.arm_ms = std::exp(arm_log);
  v.default_ms = std::exp(default_log);
  v.at_us = at_us;
  v.kind = arm_log > default_log ? RevalidationVerdict::Kind::kReverted : RevalidationVerdict::Kind::kKept;
  AddVerdict(v);
  if (!(arm_log > default_log)) return;
  PatternEvent ev;
  ev.pattern_key = key;
  ev.database_oid = e->database_oid;
  ev.role_oid = e->role_oid;
  ev.query_id = e->query_id;
  ev.type = PatternEventType::kRevert;
  ev.arm = static_cast<int32_t>(e->bandit.deployed_arm());
  ev.default_ms = std::exp(default_log);
  ev.arm_ms = std::exp(arm_log);
  e->bandit.RevertNow();
  ev.confidence = e->bandit.Confidence();
  events->push_back(ev);
}

PatternDecision PatternLearner::Describe(uint64_t key, const Entry& e) const {
  const PatternBandit& b = e.bandit;
  PatternDecision u;
  u.pattern_key = key;
  u.query_id = e.query_id;
  u.deployed_arm = static_cast<int>(b.deployed_arm());
  u.explore_arm = b.NextExploration();
  if (u.explore_arm > 0) u.explore_runs = b.RunsToJudge(static_cast<uint32_t>(u.explore_arm));
  u.confidence = b.Confidence();
  ArmSummary base = b.Summary(0);
  if (base.runs > 0) u.default_ms = std::exp(base.mean_log_ms);
  if (u.deployed_arm != 0) {
    ArmSummary dep = b.Summary(static_cast<uint32_t>(u.deployed_arm));
    if (dep.runs > 0) u.deployed_ms = std::exp(dep.mean_log_ms);
  } else {
    u.deployed_ms = u.default_ms;
  }
  for (uint32_t a = 1; a < num_arms_; ++a) {
    ArmSummary s = b.Summary(a);
    if (s.runs == 0 || s.censored == s.runs) continue;
    double ms = std::exp(s.mean_log_ms);
    if (u.best_candidate_arm < 0 || ms < u.best_candidate_ms) {
      u.best_candidate_arm = static_cast<int>(a);
      u.best_candidate_ms = ms;
    }
  }
  for (uint32_t a = 0; a < num_arms_; ++a) u.observed_runs += b.Summary(a).total_runs;
  u.deployments = b.deployments();
  u.reverts = b.reverts();
  u.baseline_wanted = e.revalidate_since_us != 0 && e.fresh_default_runs == 0;
  u.default_runs_wanted = b.DefaultRunsWanted();
  u.database_oid = e.database_oid;
  u.role_oid = e.role_oid;
  return u;
}

size_t PatternLearner::NotifyDrift(const DriftScope& scope, std::vector<PatternDecision>* updates) {
  double severity = scope.severity;
  if (!(severity > 0.0)) return 0;
  if (severity > 1.0) severity = 1.0;
  std::vector<uint32_t> changed = scope.relations;
  std::sort(changed.begin(), changed.end());
  size_t touched = 0;
  for (auto& [key, e] : entries_) {
    if (scope.database_oid != 0 && e.database_oid != scope.database_oid) continue;
    if (!scope.every_relation) {
      // Both ascending: a merge finds a common relation.
      bool common = false;
      for (size_t i = 0, j = 0; i < e.relations.size() && j < changed.size() && !common;) {
        if (e.relations[i] == changed[j]) {
          common = true;
        } else if (e.relations[i] < changed[j]) {
          ++i;
        } else {
          ++j;
        }
      }
      if (!common) continue;
    }
    e.bandit.NotifyDrift(severity);
    updates->push_back(Describe(key, e));
    ++touched;
  }
  return touched;
}

double PatternLearner::RunValue(const PatternRun& in) {
  const bool also = std::isfinite(in.also_latency_ms) && in.also_latency_ms >= 0.0;
  return in.latency_ms + (also ? in.also_latency_ms : 0.0);
}

Result<PatternLearner::Entry*> PatternLearner::TrackOrWait(const PatternRun& in, size_t max_patterns,
                                                           uint64_t* untracked, std::vector<uint64_t>* evicted) {
  double value = RunValue(in);
  auto w = waiting_.find(in.pattern_key);
  if (w != waiting_.end()) value += Decayed(w->second.value_ms, w->second.value_at_us, in.at_us);
  if (entries_.size() >= max_patterns && !Admit(in, value, max_patterns, evicted)) {
    if (w == waiting_.end() && waiting_.size() >= kMaxWaiting) {
      // Full: the waiting pattern with the least time at stake leaves
      // (a flood of cheap statements cannot wipe a slow one's total).
      auto least = waiting_.begin();
      double least_value = Decayed(least->second.value_ms, least->second.value_at_us, in.at_us);
      for (auto c = waiting_.begin(); c != waiting_.end(); ++c) {
        const double v = Decayed(c->second.value_ms, c->second.value_at_us, in.at_us);
        if (v < least_value) {
          least = c;
          least_value = v;
        }
      }
      if (least_value >= value) {  // this one has even less: it does not wait
        ++*untracked;
        return static_cast<Entry*>(nullptr);
      }
      waiting_.erase(least);
    }
    waiting_[in.pattern_key] = Waiting{value, in.at_us};
    ++*untracked;
    return static_cast<Entry*>(nullptr);
  }
  if (w != waiting_.end()) waiting_.erase(in.pattern_key);
  RUVECTOR_ASSIGN_OR_RETURN(PatternBandit b, PatternBandit::Create(bandit_options_));
  Entry fresh{std::move(b), in.query_id};
  fresh.database_oid = in.database_oid;
  fresh.role_oid = in.role_oid;
  fresh.value_ms = value - RunValue(in);  // this run is added by the caller
  fresh.value_at_us = in.at_us;
  ++per_role_[in.role_oid];
  return &entries_.emplace(in.pattern_key, std::move(fresh)).first->second;
}

Status PatternLearner::Learn(std::span<const PatternRun> batch, size_t max_patterns,
                             std::vector<PatternDecision>* updates, std::vector<PatternEvent>* events,
                             uint64_t* untracked, std::vector<uint64_t>* evicted) {
  std::unordered_set<uint64_t> touched;
  std::vector<uint64_t> order;  // touched patterns, first touch first
  for (const PatternRun& in : batch) {
    if (in.pattern_key == 0 || in.arm < 0 || static_cast<uint32_t>(in.arm) >= num_arms_) continue;
    if (!(in.latency_ms > 0.0) || !std::isfinite(in.latency_ms)) continue;
    auto it = entries_.find(in.pattern_key);
    if (it == entries_.end()) {
      RUVECTOR_ASSIGN_OR_RETURN(Entry * tracked, TrackOrWait(in, max_patterns, untracked, evicted));
      if (tracked == nullptr) continue;
      it = entries_.find(in.pattern_key);
    }
    Entry& entry = it->second;
    const size_t kept = std::min<size_t>(in.relation_count, in.relations.size());
    for (size_t i = 0; i < kept && entry.relations.size() < kMaxPatternRelations; ++i) {
      auto pos = std::lower_bound(entry.relations.begin(), entry.relations.end(), in.relations[i]);
      if (pos == entry.relations.end() || *pos != in.relations[i]) entry.relations.insert(pos, in.relations[i]);
    }
    entry.value_ms = Decayed(entry.value_ms, entry.value_at_us, in.at_us) + RunValue(in);
    entry.value_at_us = std::max(entry.value_at_us, in.at_us);
    PatternBandit& b = entry.bandit;
    const uint32_t before = b.deployed_arm();
    const bool was_rejected = in.arm > 0 && b.Summary(static_cast<uint32_t>(in.arm)).rejected;
    if (in.censored && !(in.same_plan && in.arm > 0)) {
      RUVECTOR_RETURN_IF_ERROR(b.Observe(static_cast<uint32_t>(in.arm), in.latency_ms, /*censored=*/true));
    } else if (in.same_plan && in.arm > 0) {
      // Executed: a run of the default plan. Censored: planned only (the
      // host saw the default plan and did not run it), at the default's
      // latency.
      if (!in.censored) RUVECTOR_RETURN_IF_ERROR(b.Observe(0, in.latency_ms));
      // The same plan's latency is distributed as the default's: the arm is
      // at least as slow as the default's recent (geometric) mean.
      const double bound = std::max(in.latency_ms, std::exp(b.Summary(0).mean_log_ms));
      RUVECTOR_RETURN_IF_ERROR(b.ObserveSamePlan(static_cast<uint32_t>(in.arm), bound));
    } else {
      RUVECTOR_RETURN_IF_ERROR(b.Observe(static_cast<uint32_t>(in.arm), in.latency_ms));
    }
    // The pattern's rate counts the runs it was served with (the deployed
    // arm, arm 0 before a deployment), not the candidates' trials.
    if (static_cast<uint32_t>(in.arm) == before && !in.censored && !in.same_plan) {
      if (entry.first_served_us == 0 || in.at_us < entry.first_served_us) entry.first_served_us = in.at_us;
      entry.served_runs = Decayed(entry.served_runs, entry.served_at_us, in.at_us) + 1.0 + in.also_runs;
      entry.served_at_us = std::max(entry.served_at_us, in.at_us);
    }
    // The runs this one stands for count in the totals, not in the windows.
    if (in.also_runs > 0) {
      if (in.same_plan && !in.censored && in.arm > 0) RUVECTOR_RETURN_IF_ERROR(b.CountUnobserved(0, in.also_runs));
      RUVECTOR_RETURN_IF_ERROR(b.CountUnobserved(static_cast<uint32_t>(in.arm), in.also_runs));
    }
    if (entry.revalidate_since_us != 0) {
      if (in.at_us - entry.revalidate_since_us > kRevalidationTimeoutUs) {
        entry.revalidate_since_us = 0;
        RevalidationVerdict v;
        v.kind = RevalidationVerdict::Kind::kExpired;
        v.key = in.pattern_key;
        v.arm = b.deployed_arm();
        v.at_us = in.at_us;
        AddVerdict(v);
      } else if (in.at_us >= entry.revalidate_since_us && !in.censored && !in.same_plan) {
        if (in.arm == 0) {
          entry.fresh_default_log_sum += std::log(in.latency_ms);
          ++entry.fresh_default_runs;
        } else if (static_cast<uint32_t>(in.arm) == b.deployed_arm()) {
          entry.fresh_arm_log_sum += std::log(in.latency_ms);
          ++entry.fresh_arm_runs;
        }
      }
    }
    const uint32_t after = b.deployed_arm();
    // A re-validation's verdict (its revert event is appended there).
    if (after == before && after != 0) CheckRevalidation(in.pattern_key, &entry, in.at_us, events);
    const bool revalidated = b.deployed_arm() != after;
    const bool rejected_now = !revalidated && after == before && in.arm > 0 && !was_rejected &&
                              b.Summary(static_cast<uint32_t>(in.arm)).rejected;
    if (!revalidated && (after != before || rejected_now)) {
      // Describe walks every arm's window several times: only for events
      // here, and once per touched pattern after the batch.
      PatternDecision d = Describe(in.pattern_key, it->second);
      PatternEvent ev;
      ev.pattern_key = in.pattern_key;
      ev.database_oid = it->second.database_oid;
      ev.role_oid = it->second.role_oid;
      ev.query_id = in.query_id;
      ev.type = after != before ? (after != 0 ? PatternEventType::kDeploy : PatternEventType::kRevert)
                                : PatternEventType::kReject;
      ev.arm = after != before ? static_cast<int32_t>(after != 0 ? after : before) : in.arm;
      ev.confidence = d.confidence;
      ev.default_ms = d.default_ms;
      ArmSummary s = b.Summary(static_cast<uint32_t>(ev.arm));
      // A rejection because the arm's plan is the default's: the arm has no
      // latency of its own (0), only the default's as a bound.
      const bool same_plan_reject = ev.type == PatternEventType::kReject && in.same_plan;
      ev.arm_ms = s.runs > 0 && !same_plan_reject ? std::exp(s.mean_log_ms) : 0.0;
      events->push_back(ev);
    }
    if (touched.insert(in.pattern_key).second) order.push_back(in.pattern_key);
  }
  for (uint64_t key : order) {
    auto found = entries_.find(key);  // a pattern touched early in the batch may have been evicted since
    if (found != entries_.end()) updates->push_back(Describe(key, found->second));
  }
  return Status::Ok();
}

uint32_t PatternLearner::DeployedArm(uint64_t key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.bandit.deployed_arm();
}

Result<std::string> PatternLearner::RevertPattern(uint64_t key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  std::string image;
  it->second.bandit.AppendTo(&image);
  it->second.bandit.RevertNow();
  return image;
}

Status PatternLearner::ForgetArm(uint64_t key, uint32_t arm, std::vector<PatternDecision>* updates) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  it->second.bandit.ForgetArm(arm);
  if (updates != nullptr) updates->push_back(Describe(key, it->second));
  return Status::Ok();
}

Result<std::string> PatternLearner::ResetPattern(uint64_t key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  std::string image;
  it->second.bandit.AppendTo(&image);
  RUVECTOR_ASSIGN_OR_RETURN(it->second.bandit, PatternBandit::Create(bandit_options_));
  return image;
}

Status PatternLearner::RestorePattern(uint64_t key, std::string_view image) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  size_t offset = 0;
  RUVECTOR_ASSIGN_OR_RETURN(PatternBandit b, PatternBandit::Load(image, &offset));
  if (b.options().num_arms != num_arms_) return Status::FailedPrecondition("the arms changed since the snapshot");
  it->second.bandit = std::move(b);
  return Status::Ok();
}

Result<PatternDecision> PatternLearner::DescribePattern(uint64_t key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  return Describe(key, it->second);
}

namespace {

constexpr char kLearnerMagic[8] = {'R', 'V', 'D', 'G', 'L', 'R', 'N', '1'};
constexpr uint32_t kLearnerVersion = 2;

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <typename T>
bool Get(std::string_view in, size_t* pos, T* v) {
  if (in.size() - *pos < sizeof(T)) return false;
  std::memcpy(v, in.data() + *pos, sizeof(T));
  *pos += sizeof(T);
  return true;
}

}  // namespace

void PatternLearner::SaveTo(std::string* out, uint64_t arm_fingerprint, uint64_t learned_through) const {
  const size_t start = out->size();
  out->append(kLearnerMagic, sizeof(kLearnerMagic));
  Put<uint32_t>(out, kLearnerVersion);
  Put<uint32_t>(out, num_arms_);
  Put<uint64_t>(out, arm_fingerprint);
  Put<uint64_t>(out, learned_through);
  Put<uint64_t>(out, entries_.size());
  // Sorted by key: the same state always gives the same bytes.
  std::vector<uint64_t> keys;
  keys.reserve(entries_.size());
  for (const auto& [key, e] : entries_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  std::string image;
  for (uint64_t key : keys) {
    const Entry& e = entries_.at(key);
    image.clear();
    e.bandit.AppendTo(&image);
    Put<uint64_t>(out, key);
    Put<uint64_t>(out, e.query_id);
    Put<uint32_t>(out, e.database_oid);
    Put<uint32_t>(out, e.role_oid);
    Put<double>(out, e.value_ms);
    Put<int64_t>(out, e.value_at_us);
    Put<uint32_t>(out, static_cast<uint32_t>(e.relations.size()));
    for (uint32_t relid : e.relations) Put<uint32_t>(out, relid);
    Put<uint32_t>(out, static_cast<uint32_t>(image.size()));
    out->append(image);
  }
  Put<uint32_t>(out, Crc32c(out->data() + start, out->size() - start));
}

Status PatternLearner::LoadFrom(std::string_view in, uint64_t arm_fingerprint, size_t max_patterns,
                         uint64_t* learned_through) {
  if (in.size() < sizeof(kLearnerMagic) + 4 || std::memcmp(in.data(), kLearnerMagic, sizeof(kLearnerMagic)) != 0) {
    return Status::DataLoss("learner image: bad magic");
  }
  uint32_t crc = 0;
  std::memcpy(&crc, in.data() + in.size() - 4, 4);
  if (Crc32c(in.data(), in.size() - 4) != crc) return Status::DataLoss("learner image: checksum mismatch");
  std::string_view body = in.substr(0, in.size() - 4);
  size_t pos = sizeof(kLearnerMagic);
  uint32_t version = 0, arms = 0;
  uint64_t fingerprint = 0, through = 0, count = 0;
  if (!Get(body, &pos, &version) || !Get(body, &pos, &arms) || !Get(body, &pos, &fingerprint) ||
      !Get(body, &pos, &through) || !Get(body, &pos, &count)) {
    return Status::DataLoss("learner image: truncated header");
  }
  if (version != kLearnerVersion) return Status::FailedPrecondition("learner image: version " + std::to_string(version));
  if (arms != num_arms_ || fingerprint != arm_fingerprint) {
    return Status::FailedPrecondition("learner image: learned with another arm table");
  }
  if (count > (body.size() - pos) / 48) return Status::DataLoss("learner image: implausible pattern count");
  std::unordered_map<uint64_t, Entry> loaded;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key = 0, query_id = 0;
    uint32_t len = 0, database = 0, role = 0, nrel = 0;
    double value = 0.0;
    int64_t value_at = 0;
    if (!Get(body, &pos, &key) || !Get(body, &pos, &query_id) || !Get(body, &pos, &database) ||
        !Get(body, &pos, &role) || !Get(body, &pos, &value) || !Get(body, &pos, &value_at) || !Get(body, &pos, &nrel)) {
      return Status::DataLoss("learner image: truncated at pattern " + std::to_string(i));
    }
    if (!std::isfinite(value) || value < 0.0 || nrel > kMaxPatternRelations) {
      return Status::DataLoss("learner image: bad pattern " + std::to_string(i));
    }
    std::vector<uint32_t> relations(nrel);
    for (uint32_t r = 0; r < nrel; ++r) {
      if (!Get(body, &pos, &relations[r]) || (r > 0 && relations[r] <= relations[r - 1])) {
        return Status::DataLoss("learner image: bad relations at pattern " + std::to_string(i));
      }
    }
    if (!Get(body, &pos, &len) || body.size() - pos < len) {
      return Status::DataLoss("learner image: truncated at pattern " + std::to_string(i));
    }
    if (key == 0 || loaded.count(key) != 0) return Status::DataLoss("learner image: bad or repeated pattern key");
    size_t offset = 0;
    std::string_view bytes = body.substr(pos, len);
    RUVECTOR_ASSIGN_OR_RETURN(PatternBandit b, PatternBandit::Load(bytes, &offset));
    if (offset != len || b.options().num_arms != num_arms_) {
      return Status::DataLoss("learner image: pattern " + std::to_string(i) + " does not match its length or arms");
    }
    pos += len;
    if (loaded.size() < max_patterns) {
      Entry e{std::move(b), query_id};
      e.database_oid = database;
      e.role_oid = role;
      e.relations = std::move(relations);
      e.value_ms = value;
      e.value_at_us = value_at;
      loaded.emplace(key, std::move(e));
    }
  }
  if (pos != body.size()) return Status::DataLoss("learner image: trailing bytes");
  entries_ = std::move(loaded);
  per_role_.clear();
  waiting_.clear();
  for (const auto& [key, e] : entries_) ++per_role_[e.role_oid];
  *learned_through = through;
  return Status::Ok();
}

void PatternLearner::DescribeAll(std::vector<PatternDecision>* updates) const {
  for (const auto& [key, e] : entries_) updates->push_back(Describe(key, e));
}

const std::vector<uint32_t>* PatternLearner::Relations(uint64_t key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.relations;
}

bool PatternLearner::Unexplored(uint64_t key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  for (uint32_t a = 1; a < num_arms_; ++a) {
    if (it->second.bandit.Summary(a).total_runs > 0) return false;
  }
  return true;
}

Status PatternLearner::SetExplorationOrder(uint64_t key, std::span<const uint32_t> arms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("pattern " + std::to_string(key) + " is not tracked");
  it->second.bandit.SetExplorationOrder(arms);
  return Status::Ok();
}

const PatternBandit* PatternLearner::Bandit(uint64_t key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.bandit;
}

PatternBandit* PatternLearner::MutableBandit(uint64_t key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.bandit;
}

bool PatternLearner::Owner(uint64_t key, uint32_t* database_oid, uint32_t* role_oid) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *database_oid = it->second.database_oid;
  *role_oid = it->second.role_oid;
  return true;
}

double PatternLearner::TimeAtStake(uint64_t key, int64_t now_us) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? 0.0 : Decayed(it->second.value_ms, it->second.value_at_us, now_us);
}

double PatternLearner::FutureRuns(uint64_t key, int64_t now_us, double horizon_s) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || !(horizon_s > 0.0)) return 0.0;
  const Entry& e = it->second;
  if (!(e.served_runs > 0.0)) return 0.0;
  // Runs decayed with half-life H over an observed age A estimate a steady
  // rate r as n / W, W = (H / ln 2) (1 - 2^(-A / H)) (the decayed weight of
  // r runs per unit of time over A); A is at least kMinRateWindowUs, so a
  // pattern seen once is not taken for a flood.
  const double n = Decayed(e.served_runs, e.served_at_us, now_us);
  const double age_s =
      static_cast<double>(std::max<int64_t>(kMinRateWindowUs, now_us - e.first_served_us)) / 1e6;
  const double half_life_s = static_cast<double>(kValueHalfLifeUs) / 1e6;
  const double window_s = -std::expm1(-age_s / half_life_s * std::log(2.0)) * half_life_s / std::log(2.0);
  return window_s > 0.0 ? n / window_s * horizon_s : 0.0;
}

std::vector<uint64_t> PatternLearner::Keys() const {
  std::vector<uint64_t> keys;
  keys.reserve(entries_.size());
  for (const auto& [key, e] : entries_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace ruvector_dag
