#include "ruvector_dag/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace ruvector_dag {
namespace {

constexpr uint32_t kMaxArms = 64;

ValueModelOptions ModelOptionsFor(const EngineOptions& o) {
  ValueModelOptions m = o.model;
  m.max_arms = std::max(m.max_arms, o.num_arms);
  return m;
}

BanditOptions BanditOptionsFor(const EngineOptions& o) {
  BanditOptions b = o.bandit;
  b.num_arms = o.num_arms;
  return b;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status ValidateEngineOptions(const EngineOptions& o) {
  if (o.num_arms < 2 || o.num_arms > kMaxArms) {
    return Status::InvalidArgument("EngineOptions.num_arms must be in [2, 64], got " +
                                   std::to_string(o.num_arms));
  }
  if (!(o.exploration_budget >= 0 && o.exploration_budget <= 1)) {
    return Status::InvalidArgument("EngineOptions.exploration_budget must be in [0, 1]");
  }
  if (o.trajectory_capacity < 2) {
    return Status::InvalidArgument("EngineOptions.trajectory_capacity must be >= 2");
  }
  if (o.max_patterns < 1) return Status::InvalidArgument("EngineOptions.max_patterns must be >= 1");
  if (o.replay_capacity < 1) return Status::InvalidArgument("EngineOptions.replay_capacity must be >= 1");
  if (!(o.replay_ratio >= 0) || !std::isfinite(o.replay_ratio)) {
    return Status::InvalidArgument("EngineOptions.replay_ratio must be >= 0");
  }
  if (o.consolidate_interval < 1) {
    return Status::InvalidArgument("EngineOptions.consolidate_interval must be >= 1");
  }
  if (!(o.prior_weight >= 0) || !std::isfinite(o.prior_weight)) {
    return Status::InvalidArgument("EngineOptions.prior_weight must be >= 0");
  }
  RUVECTOR_RETURN_IF_ERROR(ValidateAttentionParams(o.attention).WithContext("EngineOptions.attention"));
  RUVECTOR_RETURN_IF_ERROR(ValidateValueModelOptions(ModelOptionsFor(o)).WithContext("EngineOptions.model"));
  RUVECTOR_RETURN_IF_ERROR(ValidateBanditOptions(BanditOptionsFor(o)).WithContext("EngineOptions.bandit"));
  RUVECTOR_RETURN_IF_ERROR(ValidateReasoningBankOptions(o.bank).WithContext("EngineOptions.bank"));
  return Status::Ok();
}

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateEngineOptions(options));
  RUVECTOR_ASSIGN_OR_RETURN(ValueModel model, ValueModel::Create(ModelOptionsFor(options)));
  RUVECTOR_ASSIGN_OR_RETURN(ReasoningBank bank, ReasoningBank::Create(options.bank));
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<Attention> attention,
                            MakeAttention(options.mechanism, options.attention));
  return std::unique_ptr<Engine>(
      new Engine(options, std::move(model), std::move(bank), std::move(attention)));
}

Engine::Engine(const EngineOptions& options, ValueModel model, ReasoningBank bank,
               std::unique_ptr<Attention> attention)
    : options_(options),
      model_(std::move(model)),
      bank_(std::move(bank)),
      attention_(std::move(attention)),
      featurizer_([&] {
        FeaturizerOptions f = options.featurizer;
        f.use_actuals = false;  // decide and learn on the same (pre-execution) view
        return f;
      }()),
      trajectories_(options.trajectory_capacity),
      rng_(options.seed) {
  options_.featurizer.use_actuals = false;
  options_.model = ModelOptionsFor(options);
  options_.bandit = BanditOptionsFor(options);
  patterns_.reserve(options_.max_patterns);
  replay_.reserve(options_.replay_capacity);
}

Status Engine::Embed(const QueryDag& dag, PlanEmbedding* out) {
  if (dag.empty()) return Status::FailedPrecondition("Engine: the plan DAG is empty");
  RUVECTOR_RETURN_IF_ERROR(prepared_.Reset(dag));
  RUVECTOR_RETURN_IF_ERROR(attention_->Compute(prepared_, nullptr, &scores_));
  return featurizer_.Featurize(dag, scores_.weights, out);
}

Status Engine::PreQuery(const QueryDag& dag, uint64_t pattern_key, EngineDecision* decision,
                        PlanEmbedding* embedding) {
  if (decision == nullptr) return Status::InvalidArgument("Engine::PreQuery: decision is null");
  PlanEmbedding* e = embedding != nullptr ? embedding : &scratch_;
  RUVECTOR_RETURN_IF_ERROR(Embed(dag, e));
  ++stats_.pre_queries;
  EngineDecision d;
  d.pattern_key = pattern_key;
  d.mechanism = options_.mechanism;
  auto it = patterns_.find(pattern_key);
  if (it != patterns_.end()) {
    PatternState& s = it->second;
    ++s.pre_queries;
    bool explore = false;
    const double share = std::min(1.0, options_.exploration_budget * s.lr_boost);
    if (share > 0.0) {
      const uint64_t period = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(1.0 / share)));
      explore = s.pre_queries % period == 0;
    }
    const BanditChoice c = s.bandit.Choose(explore);
    d.known_pattern = true;
    d.arm = c.arm;
    d.action = c.action;
    d.deployed_arm = s.bandit.deployed_arm();
    d.confidence = s.bandit.Confidence();
  }
  double preds[kMaxArms];
  RUVECTOR_RETURN_IF_ERROR(model_.PredictArms(*e, std::span<double>(preds, d.arm + 1)));
  d.predicted_latency_ms = std::exp(preds[d.arm]);
  d.predicted_default_ms = std::exp(preds[0]);
  *decision = d;
  return Status::Ok();
}

Result<EngineDecision> Engine::PreQuery(const QueryDag& dag) {
  EngineDecision d;
  RUVECTOR_RETURN_IF_ERROR(PreQuery(dag, dag.ShapeHash(), &d));
  return d;
}

Status Engine::PostQuery(const QueryDag& dag, uint64_t pattern_key, uint32_t arm, double latency_ms,
                         double baseline_ms, AttentionMechanism mechanism, bool censored) {
  if (arm >= options_.num_arms) {
    return Status::InvalidArgument("Engine::PostQuery: arm " + std::to_string(arm) +
                                   " >= num_arms " + std::to_string(options_.num_arms));
  }
  if (!std::isfinite(latency_ms) || !(latency_ms > 0.0)) {
    return Status::InvalidArgument("Engine::PostQuery: latency must be finite and > 0");
  }
  if (!std::isfinite(baseline_ms) || baseline_ms < 0.0) {
    return Status::InvalidArgument("Engine::PostQuery: baseline must be finite and >= 0");
  }
  Trajectory t;
  RUVECTOR_RETURN_IF_ERROR(Embed(dag, &t.embedding));
  t.pattern_key = pattern_key;
  t.arm = arm;
  t.mechanism = static_cast<uint8_t>(mechanism);
  t.censored = censored;
  t.latency_ms = latency_ms;
  t.baseline_ms = baseline_ms;
  t.timestamp_us = NowMicros();
  t.actual_rows.reserve(dag.node_count());
  t.estimated_rows.reserve(dag.node_count());
  for (NodeId id = 0; id < dag.id_bound(); ++id) {
    const OperatorNode* n = dag.node(id);
    if (n == nullptr) continue;
    t.actual_rows.push_back(n->actual_rows.has_value() ? static_cast<float>(*n->actual_rows) : -1.0f);
    t.estimated_rows.push_back(static_cast<float>(n->estimated_rows));
  }
  ++stats_.post_queries;
  trajectories_.Push(std::move(t));
  return Status::Ok();
}

void Engine::UpdateExplorationOrder(PatternState* state) {
  if (!state->has_embedding) return;
  const uint32_t k = options_.num_arms;
  double preds[kMaxArms], bonus[kMaxArms] = {};
  if (!model_.PredictArms(state->embedding, std::span<double>(preds, k)).ok()) return;
  if (options_.prior_weight > 0.0 && options_.prior_neighbours > 0 && bank_.size() > 0) {
    bank_.Search(state->embedding, options_.prior_neighbours + 1, &matches_);
    for (const PatternMatch& m : matches_) {
      const ReasoningPattern* p = bank_.Find(m.key);
      if (p == nullptr || p->best_arm == 0 || p->best_arm >= k) continue;
      if (p->embedding == state->embedding) continue;  // itself
      bonus[p->best_arm] += options_.prior_weight * m.similarity * p->quality * p->gain;
      bank_.MarkUsed(m.key);
    }
  }
  uint32_t order[kMaxArms];
  for (uint32_t a = 1; a < k; ++a) order[a - 1] = a;
  std::stable_sort(order, order + (k - 1), [&](uint32_t a, uint32_t b) {
    return preds[a] - bonus[a] < preds[b] - bonus[b];
  });
  state->bandit.SetExplorationOrder(std::span<const uint32_t>(order, k - 1));
}

void Engine::PublishToBank(uint64_t key, PatternState* state) {
  const uint32_t d = state->bandit.deployed_arm();
  const ReasoningPattern* existing = bank_.Find(key);
  if (d == 0) {
    // A pattern whose improvement was reverted is no longer a useful prior.
    if (existing != nullptr && !existing->from_network && existing->best_arm != 0) bank_.Erase(key);
    return;
  }
  ReasoningPattern p;
  p.key = key;
  p.embedding = state->embedding;
  p.best_arm = d;
  p.gain = std::max(0.0, state->bandit.Summary(0).mean_log_ms - state->bandit.Summary(d).mean_log_ms);
  p.quality = std::clamp(state->bandit.Confidence(), 0.0, 1.0);
  p.usage = existing != nullptr ? existing->usage : 0;
  (void)bank_.Upsert(p);  // valid by construction
}

Result<LearnReport> Engine::BackgroundLearn() {
  LearnReport report;
  batch_.clear();
  trajectories_.Drain(&batch_);
  report.trajectories = batch_.size();
  std::vector<uint64_t> touched;
  touched.reserve(batch_.size());
  double abs_err = 0.0;
  size_t err_count = 0;
  for (Trajectory& t : batch_) {
    if (t.arm >= options_.num_arms || !(t.latency_ms > 0.0) || !std::isfinite(t.latency_ms)) continue;
    PatternState* state = nullptr;
    auto it = patterns_.find(t.pattern_key);
    if (it != patterns_.end()) {
      state = &it->second;
    } else if (patterns_.size() < options_.max_patterns) {
      RUVECTOR_ASSIGN_OR_RETURN(PatternBandit b, PatternBandit::Create(options_.bandit));
      state = &patterns_.emplace(t.pattern_key, PatternState(std::move(b))).first->second;
      ++report.new_patterns;
    } else {
      ++report.patterns_refused;
    }

    // Value model: prequential error, then MicroLoRA adapt + base step. A
    // censored run only pushes predictions up to its bound.
    const double observed = std::log(t.latency_ms);
    const double pred = model_.Predict(t.embedding, t.arm).value();
    double target = observed;
    if (t.censored) {
      target = std::max(observed, pred);
    } else {
      abs_err += std::abs(pred - observed);
      ++err_count;
    }
    const double lr = state != nullptr ? state->lr_boost : 1.0;
    RUVECTOR_RETURN_IF_ERROR(model_.Adapt(t.embedding, t.arm, target, lr));
    RUVECTOR_RETURN_IF_ERROR(model_.TrainStep(t.embedding, t.arm, target, lr));
    ReplaySample sample{t.embedding, t.arm, static_cast<float>(target), static_cast<float>(lr)};
    if (replay_.size() < options_.replay_capacity) {
      replay_.push_back(sample);
    } else {
      replay_[replay_next_] = sample;
      replay_next_ = (replay_next_ + 1) % options_.replay_capacity;
    }

    if (state != nullptr) {
      const uint64_t dep = state->bandit.deployments(), rev = state->bandit.reverts();
      RUVECTOR_RETURN_IF_ERROR(state->bandit.Observe(t.arm, t.latency_ms, t.censored));
      if (t.baseline_ms > 0.0 && t.arm != 0) {
        RUVECTOR_RETURN_IF_ERROR(state->bandit.Observe(0, t.baseline_ms));
      }
      report.deployments += state->bandit.deployments() - dep;
      report.reverts += state->bandit.reverts() - rev;
      state->embedding = t.embedding;
      state->has_embedding = true;
      touched.push_back(t.pattern_key);
    }
    ++since_consolidation_;
  }

  // Replay recent samples for the base network.
  const size_t steps = std::min<size_t>(
      static_cast<size_t>(std::llround(options_.replay_ratio * static_cast<double>(batch_.size()))),
      replay_.size() * 4);
  for (size_t i = 0; i < steps && !replay_.empty(); ++i) {
    const ReplaySample& s = replay_[rng_.Uniform(replay_.size())];
    RUVECTOR_RETURN_IF_ERROR(model_.TrainStep(s.x, s.arm, s.target, s.lr));
  }
  report.replay_steps = steps;

  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint64_t key : touched) {
    PatternState& s = patterns_.at(key);
    PublishToBank(key, &s);
  }
  report.reclustered = bank_.MaybeRecluster();
  for (uint64_t key : touched) {
    PatternState& s = patterns_.at(key);
    UpdateExplorationOrder(&s);
    s.lr_boost = std::max(1.0, s.lr_boost * 0.9);
  }
  if (since_consolidation_ >= options_.consolidate_interval) {
    model_.Consolidate();
    since_consolidation_ = 0;
    report.consolidated = true;
  }

  report.prediction_mae = err_count > 0 ? abs_err / static_cast<double>(err_count) : 0.0;
  if (err_count > 0) {
    stats_.prediction_mae_ewma = stats_.trajectories_learned == 0
                                     ? report.prediction_mae
                                     : 0.95 * stats_.prediction_mae_ewma + 0.05 * report.prediction_mae;
  }
  stats_.trajectories_learned += report.trajectories;
  stats_.deployments += report.deployments;
  stats_.reverts += report.reverts;
  return report;
}

Status Engine::BoostLearningRate(uint64_t pattern_key, double factor) {
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) {
    return Status::NotFound("Engine::BoostLearningRate: unknown pattern " + std::to_string(pattern_key));
  }
  if (!std::isfinite(factor) || factor < 1.0 || factor > 10.0) {
    return Status::InvalidArgument("Engine::BoostLearningRate: factor must be in [1, 10]");
  }
  it->second.lr_boost = std::max(it->second.lr_boost, factor);
  return Status::Ok();
}

Status Engine::NotifyDrift(uint64_t pattern_key, double severity) {
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) {
    return Status::NotFound("Engine::NotifyDrift: unknown pattern " + std::to_string(pattern_key));
  }
  if (!(severity > 0.0 && severity <= 1.0)) {
    return Status::InvalidArgument("Engine::NotifyDrift: severity must be in (0, 1]");
  }
  it->second.bandit.NotifyDrift(severity);
  model_.Consolidate();
  since_consolidation_ = 0;
  return Status::Ok();
}

EngineStats Engine::Stats() const {
  EngineStats s = stats_;
  s.trajectories_dropped = trajectories_.dropped();
  s.patterns = patterns_.size();
  s.deployed_patterns = 0;
  for (const auto& [key, state] : patterns_) s.deployed_patterns += state.bandit.deployed_arm() != 0;
  s.bank_patterns = bank_.size();
  return s;
}

Result<PatternInfo> Engine::Pattern(uint64_t pattern_key) const {
  auto it = patterns_.find(pattern_key);
  if (it == patterns_.end()) {
    return Status::NotFound("Engine::Pattern: unknown pattern " + std::to_string(pattern_key));
  }
  const PatternState& s = it->second;
  PatternInfo info;
  info.key = pattern_key;
  info.deployed_arm = s.bandit.deployed_arm();
  info.confidence = s.bandit.Confidence();
  info.learning_rate_boost = s.lr_boost;
  info.runs = s.bandit.runs();
  info.deployments = s.bandit.deployments();
  info.reverts = s.bandit.reverts();
  for (uint32_t a = 0; a < options_.num_arms; ++a) info.arms.push_back(s.bandit.Summary(a));
  return info;
}

}  // namespace ruvector_dag
