#include "ruvector_dag/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
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

/// What a pattern's deployment is worth as a prior: the measured log gain of
/// its deployed arm over the default (>= 0) and the bandit's confidence in it
/// (both 0 when nothing is deployed).
void DeploymentWorth(const PatternBandit& b, double* gain, double* quality) {
  const uint32_t d = b.deployed_arm();
  *gain = d == 0 ? 0.0 : std::max(0.0, b.Summary(0).mean_log_ms - b.Summary(d).mean_log_ms);
  *quality = d == 0 ? 0.0 : std::clamp(b.Confidence(), 0.0, 1.0);
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
  if (!std::isfinite(o.prune_margin)) return Status::InvalidArgument("EngineOptions.prune_margin must be finite");
  if (o.selection_min_runs < 1) return Status::InvalidArgument("EngineOptions.selection_min_runs must be >= 1");
  if (!(o.selection_margin >= 0 && o.selection_margin < 1)) {
    return Status::InvalidArgument("EngineOptions.selection_margin must be in [0, 1)");
  }
  if (!(o.train_rate_per_arm >= 0) || !std::isfinite(o.train_rate_per_arm)) {
    return Status::InvalidArgument("EngineOptions.train_rate_per_arm must be finite and >= 0");
  }
  if (o.train_burst_per_arm < 1) return Status::InvalidArgument("EngineOptions.train_burst_per_arm must be >= 1");
  if (!(o.exploration_horizon_s >= 0) || !std::isfinite(o.exploration_horizon_s)) {
    return Status::InvalidArgument("EngineOptions.exploration_horizon_s must be finite and >= 0");
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

Status Engine::SetModelTraining(double base_learning_rate, double adapter_learning_rate, double ewc_lambda) {
  ValueModelOptions m = options_.model;
  m.base_learning_rate = base_learning_rate;
  m.adapter_learning_rate = adapter_learning_rate;
  m.ewc_lambda = ewc_lambda;
  RUVECTOR_RETURN_IF_ERROR(ValidateValueModelOptions(m).WithContext("Engine::SetModelTraining"));
  for (Lane& lane : lanes_) {
    RUVECTOR_RETURN_IF_ERROR(lane.model.SetLearningRates(base_learning_rate, adapter_learning_rate));
    lane.model.set_ewc_lambda(ewc_lambda);
  }
  options_.model = m;
  return Status::Ok();
}

Result<std::vector<Engine::Lane>> Engine::MakeLanes(const EngineOptions& options, size_t* active) {
  std::vector<Lane> lanes;
  *active = 0;
  for (AttentionMechanism m : kAllAttentionMechanisms) {
    if (!options.select_mechanism && m != options.mechanism) continue;
    if (m == options.mechanism) *active = lanes.size();
    // Every lane starts from the same seeded parameters: they differ only by
    // the pooling of their inputs.
    RUVECTOR_ASSIGN_OR_RETURN(ValueModel model, ValueModel::Create(ModelOptionsFor(options)));
    RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<Attention> attention, MakeAttention(m, options.attention));
    lanes.push_back(Lane{m, std::move(attention), std::move(model)});
    lanes.back().replay.reserve(options.replay_capacity);
  }
  return lanes;
}

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateEngineOptions(options));
  size_t active = 0;
  RUVECTOR_ASSIGN_OR_RETURN(std::vector<Lane> lanes, MakeLanes(options, &active));
  RUVECTOR_ASSIGN_OR_RETURN(ReasoningBank bank, ReasoningBank::Create(options.bank));
  return std::unique_ptr<Engine>(new Engine(options, std::move(lanes), active, std::move(bank)));
}

Engine::Engine(const EngineOptions& options, std::vector<Lane> lanes, size_t active, ReasoningBank bank)
    : options_(options),
      lanes_(std::move(lanes)),
      active_(active),
      bank_(std::move(bank)),
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
  learner_.Reset(options_.num_arms, options_.bandit);
  MinCutOptions mo;
  mo.compute_criticality = false;  // tension only
  mincut_ = std::make_unique<MinCutEngine>(MinCutEngine::Create(mo).value());  // defaults are valid
  models_.reserve(std::min<size_t>(options_.max_patterns, 65536));
}

Status Engine::Reset() {
  // A forced mechanism stays forced; every model starts over.
  const AttentionMechanism keep = lanes_[active_].mechanism;
  for (Lane& lane : lanes_) {
    RUVECTOR_ASSIGN_OR_RETURN(lane.model, ValueModel::Create(options_.model));
    lane.replay.clear();
    lane.replay_next = 0;
    lane.arm_samples.fill(0);
    lane.error = 0.0;
    lane.evaluated = 0;
  }
  for (size_t l = 0; l < lanes_.size(); ++l) {
    if (lanes_[l].mechanism == (forced_ ? keep : options_.mechanism)) active_ = l;
  }
  switches_ = 0;
  RUVECTOR_ASSIGN_OR_RETURN(bank_, ReasoningBank::Create(options_.bank));
  learner_.Reset(options_.num_arms, options_.bandit);
  models_.clear();
  since_consolidation_ = 0;
  batch_.clear();
  trajectories_.Drain(&batch_);  // recorded before the reset: dropped
  batch_.clear();
  stats_ = EngineStats();
  clock_us_ = 0;
  return Status::Ok();
}

Status Engine::Embed(const QueryDag& dag, PlanEmbedding* out) {
  if (dag.empty()) return Status::FailedPrecondition("Engine: the plan DAG is empty");
  RUVECTOR_RETURN_IF_ERROR(prepared_.Reset(dag));
  RUVECTOR_RETURN_IF_ERROR(lanes_[active_].attention->Compute(prepared_, nullptr, &scores_));
  return featurizer_.Featurize(dag, scores_.weights, out);
}

Status Engine::EmbedAll(const QueryDag& dag, PlanEmbedding* out, bool* ok) {
  if (dag.empty()) return Status::FailedPrecondition("Engine: the plan DAG is empty");
  RUVECTOR_RETURN_IF_ERROR(prepared_.Reset(dag));
  for (size_t l = 0; l < lanes_.size(); ++l) {
    ok[l] = lanes_[l].attention->Compute(prepared_, nullptr, &scores_).ok() &&
            featurizer_.Featurize(dag, scores_.weights, &out[l]).ok();
  }
  return Status::Ok();
}

void Engine::Activate(size_t index) {
  if (index == active_) return;
  active_ = index;
  // Stored embeddings were pooled by the previous mechanism: each pattern is
  // embedded again with its next plan, and the new model earns the
  // pattern's trust (pruning) afresh.
  for (auto& [key, state] : models_) {
    state.has_embedding = false;
    state.error_ewma = 0.0;
    state.error_samples = 0;
  }
  // The bank keeps its entries (their measured gains stay priors); each is
  // replaced by the new mechanism's embedding when its pattern is touched
  // with a plan again.
}

Status Engine::ForceMechanism(std::optional<AttentionMechanism> m) {
  if (!m.has_value()) {
    if (!options_.select_mechanism) {
      return Status::FailedPrecondition("Engine::ForceMechanism: this engine has no selector (select_mechanism)");
    }
    forced_ = false;
    return Status::Ok();
  }
  for (size_t l = 0; l < lanes_.size(); ++l) {
    if (lanes_[l].mechanism != *m) continue;
    Activate(l);
    forced_ = options_.select_mechanism;
    return Status::Ok();
  }
  return Status::FailedPrecondition("Engine::ForceMechanism: no model for mechanism " +
                                    std::string(AttentionMechanismName(*m)) + " (select_mechanism is off)");
}

MechanismStatus Engine::Mechanisms() const {
  MechanismStatus s;
  s.active = lanes_[active_].mechanism;
  s.selecting = options_.select_mechanism;
  s.forced = forced_;
  s.switches = switches_;
  for (const Lane& lane : lanes_) s.lanes.push_back({lane.mechanism, lane.error, lane.evaluated});
  return s;
}

void Engine::Select() {
  if (lanes_.size() < 2) return;
  // Every lane predicted the same runs (EvaluateRun): their errors compare.
  const size_t n = lanes_[active_].call_trained;
  if (n == 0) return;
  const double w = 1.0 - std::pow(1.0 - kSelectionRate, static_cast<double>(n));
  for (Lane& lane : lanes_) {
    if (lane.call_trained != n) continue;  // defensive: counted together
    const double mean = lane.call_error / static_cast<double>(n);
    lane.error = lane.evaluated == 0 ? mean : lane.error + w * (mean - lane.error);
    lane.evaluated += n;
  }
  if (forced_) return;
  size_t best = active_;
  for (size_t l = 0; l < lanes_.size(); ++l) {
    if (lanes_[l].evaluated < options_.selection_min_runs) return;  // not every mechanism is known yet
    if (lanes_[l].error < lanes_[best].error) best = l;
  }
  if (best != active_ && lanes_[best].error < lanes_[active_].error * (1.0 - options_.selection_margin)) {
    Activate(best);
    ++switches_;
  }
}

Status Engine::PreQuery(const QueryDag& dag, uint64_t pattern_key, EngineDecision* decision,
                        PlanEmbedding* embedding) {
  if (decision == nullptr) return Status::InvalidArgument("Engine::PreQuery: decision is null");
  PlanEmbedding* e = embedding != nullptr ? embedding : &scratch_;
  RUVECTOR_RETURN_IF_ERROR(Embed(dag, e));
  ++stats_.pre_queries;
  EngineDecision d;
  d.pattern_key = pattern_key;
  d.mechanism = lanes_[active_].mechanism;
  PatternBandit* bandit = learner_.MutableBandit(pattern_key);
  if (bandit != nullptr) {
    auto it = models_.find(pattern_key);
    const double boost = it != models_.end() ? it->second.lr_boost : 1.0;
    const uint64_t n = it != models_.end() ? ++it->second.pre_queries : 1;
    bool explore = false;
    const double share = std::min(1.0, options_.exploration_budget * boost);
    if (share > 0.0) {
      const uint64_t period = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(1.0 / share)));
      explore = n % period == 0;
    }
    const BanditChoice c = bandit->Choose(explore);
    d.known_pattern = true;
    d.arm = c.arm;
    d.action = c.action;
    d.deployed_arm = bandit->deployed_arm();
    d.confidence = bandit->Confidence();
  }
  double preds[kMaxArms];
  RUVECTOR_RETURN_IF_ERROR(lanes_[active_].model.PredictArms(*e, std::span<double>(preds, d.arm + 1)));
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

double Engine::DefaultReference(uint64_t key) const {
  const PatternBandit* b = learner_.Bandit(key);
  if (b == nullptr) return std::numeric_limits<double>::quiet_NaN();
  const ArmSummary s = b->Summary(0);
  return s.runs > 0 && std::isfinite(s.mean_log_ms) ? s.mean_log_ms : std::numeric_limits<double>::quiet_NaN();
}

Result<double> Engine::Train(Lane* lane, const PlanEmbedding& x, uint32_t arm, double latency_ms, bool censored,
                             double lr, double reference) {
  // Prequential error, then MicroLoRA adapt + base step. A censored run only
  // pushes predictions up to its bound.
  const double observed = std::log(latency_ms);
  RUVECTOR_ASSIGN_OR_RETURN(const double pred, lane->model.Predict(x, arm));
  double target = censored ? std::max(observed, pred) : observed;
  if (censored && arm != 0 && std::isfinite(reference)) {
    // Trained as an offset from `reference`: the bound only raises an
    // offset that is below it (target - reference >= the offset).
    RUVECTOR_ASSIGN_OR_RETURN(const double pred0, lane->model.Predict(x, 0));
    target = reference + std::max(observed - reference, pred - pred0);
  }
  RUVECTOR_RETURN_IF_ERROR(lane->model.Adapt(x, arm, target, lr, reference));
  RUVECTOR_RETURN_IF_ERROR(lane->model.TrainStep(x, arm, target, lr, reference));
  ReplaySample sample{x, arm, static_cast<float>(target), static_cast<float>(lr), static_cast<float>(reference)};
  if (lane->replay.size() < options_.replay_capacity) {
    lane->replay.push_back(sample);
  } else {
    lane->replay[lane->replay_next] = sample;
    lane->replay_next = (lane->replay_next + 1) % options_.replay_capacity;
  }
  if (censored) return -1.0;
  ++lane->arm_samples[arm];
  return std::abs(pred - observed);
}

void Engine::PublishToBank(uint64_t key, const PatternModel& state) {
  // Every embedded pattern is stored (the bank's clusters group the tracked
  // plans); only a deployed arm with its measured gain makes it a prior.
  const PatternBandit* b = learner_.Bandit(key);
  if (b == nullptr || !state.has_embedding) return;
  const ReasoningPattern* existing = bank_.Find(key);
  if (existing != nullptr && existing->from_network) return;  // a merged prior keeps its data
  const uint32_t d = b->deployed_arm();
  ReasoningPattern p;
  p.key = key;
  p.embedding = state.embedding;
  p.best_arm = d;
  DeploymentWorth(*b, &p.gain, &p.quality);
  p.usage = existing != nullptr ? existing->usage : 0;
  (void)bank_.Upsert(p);  // valid by construction
}

void Engine::CollectSiblings() {
  siblings_.clear();
  for (const auto& [key, m] : models_) {
    const PatternBandit* b = learner_.Bandit(key);
    if (!m.has_embedding || b == nullptr || b->deployed_arm() == 0) continue;
    double gain = 0.0, quality = 0.0;
    DeploymentWorth(*b, &gain, &quality);
    const double weight = quality * gain;
    const std::vector<uint32_t>* relations = learner_.Relations(key);
    if (!(weight > 0.0) || !std::isfinite(weight) || relations == nullptr || relations->empty()) continue;
    Sibling s;
    s.key = key;
    s.relations = *relations;
    s.arm = b->deployed_arm();
    s.weight = weight;
    learner_.Owner(key, &s.database_oid, &s.role_oid);
    siblings_.push_back(s);
  }
  // The map's order is not the input's: vote in key order.
  std::sort(siblings_.begin(), siblings_.end(), [](const Sibling& a, const Sibling& b) { return a.key < b.key; });
}

void Engine::Plan(uint64_t key, PatternModel* state, HostLearnOutput* out) {
  PatternBandit* b = learner_.MutableBandit(key);
  if (b == nullptr || !state->has_embedding) return;
  const uint32_t k = options_.num_arms;
  double preds[kMaxArms], bonus[kMaxArms] = {};
  if (!lanes_[active_].model.PredictArms(state->embedding, std::span<double>(preds, k)).ok()) return;
  // Priors: arms that similar plans of the same owner deployed, weighted by
  // similarity, confidence and measured gain (never another owner's).
  uint32_t db = 0, role = 0;
  learner_.Owner(key, &db, &role);
  int prior = -1;
  if (options_.prior_weight > 0.0 && options_.prior_neighbours > 0 && bank_.size() > 0) {
    bank_.Search(state->embedding, 4 * options_.prior_neighbours + 1, &matches_);
    uint32_t used = 0;
    for (const PatternMatch& m : matches_) {
      if (m.key == key || used == options_.prior_neighbours) continue;
      // The nearest plans of the same owner vote; only those with a
      // deployed arm give it a bonus.
      const ReasoningPattern* p = bank_.Find(m.key);
      if (p == nullptr) continue;
      uint32_t pdb = 0, prole = 0;
      if (!p->from_network && learner_.Owner(m.key, &pdb, &prole) && (pdb != db || prole != role)) continue;
      ++used;
      if (p->best_arm == 0 || p->best_arm >= k) continue;
      bonus[p->best_arm] += options_.prior_weight * m.similarity * p->quality * p->gain;
      bank_.MarkUsed(m.key);
    }
  }
  // Siblings: deployed patterns of the same owner whose plans read exactly
  // the same relations vote too (similarity 1), wherever their plans are in
  // the embedding space: a query over the same tables and joins with
  // another aggregation or other constants is misplanned the same way more
  // often than not, while the rows and costs in the embedding can place it
  // far from them, behind nearer plans that decided nothing.
  const std::vector<uint32_t>* relations = learner_.Relations(key);
  if (options_.prior_weight > 0.0 && relations != nullptr && !relations->empty()) {
    for (const Sibling& s : siblings_) {
      if (s.key == key || s.database_oid != db || s.role_oid != role || s.arm >= k || s.relations != *relations) {
        continue;
      }
      bonus[s.arm] += options_.prior_weight * s.weight;
    }
  }
  double best_bonus = 0.0;
  for (uint32_t a = 1; a < k; ++a) {
    if (bonus[a] > best_bonus) {
      best_bonus = bonus[a];
      prior = static_cast<int>(a);
    }
  }
  // A network prior (SetNetworkPrior) is the pattern's prior, and outranks
  // every bonus of similar plans while its arm is unmeasured here.
  if (state->network_prior > 0 && state->network_prior < k) {
    if (b->Summary(state->network_prior).total_runs == 0) {
      double top = 0.0;
      for (uint32_t a = 1; a < k; ++a) top = std::max(top, bonus[a]);
      bonus[state->network_prior] = top + 1.0;
    }
    prior = static_cast<int>(state->network_prior);
  }
  uint32_t order[kMaxArms];
  for (uint32_t a = 1; a < k; ++a) order[a - 1] = a;
  // A gain measured on similar plans outranks a prediction (an arm the
  // model has seen little of predicts near its initial value): arms with a
  // prior first, by bonus, then the rest by predicted latency.
  // An arm the model was trained on fewer than kMinArmSamples times counts
  // as predicted equal to the default: such arms keep the id order, after
  // trained arms predicted faster and before those predicted slower.
  double key_of[kMaxArms];
  for (uint32_t a = 1; a < k; ++a) key_of[a] = lanes_[active_].arm_samples[a] >= kMinArmSamples ? preds[a] : preds[0];
  std::stable_sort(order, order + (k - 1), [&](uint32_t a, uint32_t c) {
    if ((bonus[a] > 0.0) != (bonus[c] > 0.0)) return bonus[a] > 0.0;
    if (bonus[a] > 0.0) return bonus[a] > bonus[c];
    return key_of[a] < key_of[c];
  });
  const bool first_time = learner_.Unexplored(key);
  b->SetExplorationOrder(std::span<const uint32_t>(order, k - 1));
  if (prior > 0 && state->prior_arm != prior && first_time && out != nullptr) ++out->priors;
  state->prior_arm = prior;
  state->prior_bonus = prior > 0 ? bonus[prior] : 0.0;
  b->SetPrior(prior > 0 ? static_cast<uint32_t>(prior) : 0u);
  // Pruning: only where the model has been right about this pattern, only
  // arms predicted clearly worse than the default, never a prior's arm.
  const bool trusted = state->error_samples >= kTrustSamples && state->error_ewma < kTrustError;
  uint64_t skipped = NetworkPriorFocus(*b, state->network_prior, preds, trusted);
  if (options_.prune_margin > 0.0 && trusted) {
    for (uint32_t a = 1; a < k; ++a) {
      // Only arms the model knows and the bandit never measured here (a
      // measured arm is judged by its measurements).
      if (bonus[a] <= 0.0 && lanes_[active_].arm_samples[a] >= kMinArmSamples && b->Summary(a).total_runs == 0 &&
          preds[a] > preds[0] + options_.prune_margin) {
        skipped |= uint64_t{1} << a;
      }
    }
  }
  // Candidates whose trial is not worth its cost are not explored (a cap on
  // the explorer's time, not a target: docs/engine.md).
  skipped |= UnprofitableArms(key, preds, bonus);
  b->SetSkipped(skipped);
}

namespace {

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

Engine::TrialValue Engine::ValueTrial(uint64_t key, uint32_t arm, const double* preds, double bonus) const {
  TrialValue v;
  const PatternBandit* b = learner_.Bandit(key);
  const uint32_t k = options_.num_arms;
  if (b == nullptr || arm == 0 || arm >= k || !(options_.exploration_horizon_s > 0.0)) return v;
  // The latency the arm must beat: the deployed arm's, else the default's.
  uint32_t ref_arm = b->deployed_arm();
  if (b->Summary(ref_arm).runs == 0) ref_arm = 0;
  const ArmSummary ref = b->Summary(ref_arm);
  if (ref.runs == 0 || !std::isfinite(ref.mean_log_ms)) return v;
  const double log_ref = ref.mean_log_ms;
  // The arm's mean log-latency before this pattern's runs of it: the value
  // model's prediction relative to the reference's, where the model knows
  // the arm and its error on the pattern was measured, with that error;
  // else uninformed (the
  // reference's latency, sd kUninformedSigma). A prior's gain (log units,
  // at most 2) moves it down.
  double mu = log_ref, sigma = kUninformedSigma;
  auto it = models_.find(key);
  if (preds != nullptr && lanes_[active_].arm_samples[arm] >= kMinArmSamples && std::isfinite(preds[arm]) &&
      std::isfinite(preds[ref_arm]) && it != models_.end() && it->second.error_samples >= kTrustSamples) {
    mu = log_ref + (preds[arm] - preds[ref_arm]);
    // |error| of a normal error is sd x sqrt(2 / pi).
    sigma = std::clamp(it->second.error_ewma * 1.2533141373155003, 0.25, kUninformedSigma);
  }
  if (bonus > 0.0 && std::isfinite(bonus)) mu = std::min(mu, log_ref - std::min(bonus, 2.0));
  // Runs of the arm in its current window update that belief (a normal
  // prior with normal runs of sd at least 0.25); a rejected arm's window is
  // from another regime and is dropped when it is tried again, and a window
  // with timeouts holds lower bounds (often of a loaded server) that are
  // retried with longer timeouts, not verdicts.
  const ArmSummary s = b->Summary(arm);
  if (s.runs > 0 && s.censored == 0 && !s.rejected && std::isfinite(s.mean_log_ms)) {
    const double run_sd = std::max(s.sd_log_ms, 0.25);
    const double precision = 1.0 / (sigma * sigma) + s.runs / (run_sd * run_sd);
    mu = (mu / (sigma * sigma) + s.runs * s.mean_log_ms / (run_sd * run_sd)) / precision;
    sigma = 1.0 / std::sqrt(precision);
  }
  // With log L ~ N(mu, sigma^2) and R the reference's latency:
  //   gain per run E[max(0, R - L)] = R Phi(d) - e^(mu + sigma^2/2) Phi(d - sigma), d = (ln R - mu) / sigma
  //   cost per run E[min(L, c)] = e^(mu + sigma^2/2) Phi((ln c - mu - sigma^2) / sigma) + c (1 - Phi((ln c - mu) / sigma))
  // with c = kTrialTimeoutFactor x R, the run's timeout.
  const double r = std::exp(log_ref);
  const double mean = std::exp(mu + 0.5 * sigma * sigma);
  const double d = (log_ref - mu) / sigma;
  const double gain = std::max(0.0, r * NormalCdf(d) - mean * NormalCdf(d - sigma));
  const double log_c = log_ref + std::log(kTrialTimeoutFactor);
  const double per_run = mean * NormalCdf((log_c - mu - sigma * sigma) / sigma) +
                         std::exp(log_c) * (1.0 - NormalCdf((log_c - mu) / sigma));
  const double tension = it != models_.end() ? std::clamp(it->second.tension, 0.0, 1.0) : 0.0;
  v.valued = true;
  v.future_runs = learner_.FutureRuns(key, clock_us_, options_.exploration_horizon_s);
  // An arm with the runs it needs to be compared is judged once its gain
  // over the reference clears the deployment bound or falls below it: at the
  // measured spread that takes n runs a side with |gain - min_improvement|
  // >= z x spread x sqrt(2 / n). Those runs are the trial's cost; when they
  // are more than the bandit measures before it gives the arm up, no verdict
  // is in reach -- an arm within the noise of its reference, which the
  // bandit's optimism would measure to that cap -- and the trial is worth
  // nothing.
  double runs = static_cast<double>(b->RunsToJudge(arm));
  bool in_reach = true;
  if (runs <= 1.0 && s.runs >= 2 && s.censored == 0 && !s.rejected && ref.runs >= 2) {
    const double spread = std::sqrt(0.5 * (s.sd_log_ms * s.sd_log_ms + ref.sd_log_ms * ref.sd_log_ms));
    const double margin = std::abs(log_ref - s.mean_log_ms - options_.bandit.min_improvement);
    const double left = static_cast<double>(options_.bandit.max_explore_runs) - s.runs;
    const double z = options_.bandit.confidence_z * spread;
    const double needed = margin > 0.0 ? std::ceil(2.0 * z * z / (margin * margin)) - s.runs : left + 1.0;
    in_reach = needed <= left;
    runs = std::clamp(needed, 1.0, std::max(1.0, left));
  }
  v.cost_ms = per_run * runs;
  v.gain_ms = in_reach ? gain * v.future_runs * (1.0 + tension) : 0.0;
  if (!std::isfinite(v.gain_ms) || !std::isfinite(v.cost_ms)) v = TrialValue{};
  return v;
}

bool Engine::TrialPays(uint64_t key, uint32_t arm, const TrialValue& v) const {
  if (!v.valued || v.gain_ms > v.cost_ms) return true;
  // A started arm is finished (its verdict retires it), whatever its value.
  const PatternBandit* b = learner_.Bandit(key);
  return b != nullptr && b->Started(arm);
}

uint64_t Engine::UnprofitableArms(uint64_t key, const double* preds, const double* bonus) const {
  uint64_t mask = 0;
  // A fresh deployment is watched before it is refined: until the deployed
  // arm has kWatchRuns runs beyond the min_runs that can deploy it, the
  // latency its alternatives must beat rests on a trial's few runs, and the
  // explorer's time is worth more on patterns with nothing deployed. (Arms
  // already started are still finished.)
  const PatternBandit* b = learner_.Bandit(key);
  const bool watching = options_.exploration_horizon_s > 0.0 && b != nullptr && b->deployed_arm() != 0 &&
                        b->Summary(b->deployed_arm()).total_runs < options_.bandit.min_runs + kWatchRuns;
  for (uint32_t a = 1; a < options_.num_arms && a < 64; ++a) {
    if (watching && !b->Started(a)) {
      mask |= uint64_t{1} << a;
      continue;
    }
    if (!TrialPays(key, a, ValueTrial(key, a, preds, bonus != nullptr ? bonus[a] : 0.0))) mask |= uint64_t{1} << a;
  }
  return mask;
}

uint64_t Engine::NetworkPriorFocus(PatternBandit& b, uint32_t prior, const double* preds, bool trusted) const {
  const uint32_t k = options_.num_arms;
  if (prior == 0 || prior >= k) return 0;
  const uint32_t deployed = b.deployed_arm();
  if (deployed != 0 && deployed != prior) return 0;  // another arm won here: nothing to focus on
  uint64_t others = 0;
  for (uint32_t a = 1; a < k; ++a) others |= a == prior ? 0 : uint64_t{1} << a;
  if (deployed == prior) {
    // Verified here: the others stay unexplored, except an arm the trusted
    // value model predicts clearly faster than the deployed one.
    for (uint32_t a = 1; a < k && trusted && options_.prune_margin > 0.0; ++a) {
      if (a != prior && lanes_[active_].arm_samples[a] >= kMinArmSamples &&
          preds[a] < preds[prior] - options_.prune_margin) {
        others &= ~(uint64_t{1} << a);
      }
    }
    return others;
  }
  // Not decided yet: only the prior's arm is measured while the bandit still
  // explores it (not rejected, not given up). Once it is refuted, the
  // candidates are explored as usual.
  const ArmSummary p = b.Summary(prior);
  if (p.rejected) return 0;
  // The arm has the runs its comparison needs but the default does not yet
  // (its runs come with the statement's own executions): nothing is explored
  // meanwhile, neither the arm (more runs would not decide it) nor others
  // (the arm is not refuted; it was given up only for want of a baseline).
  const uint32_t need = std::min(PatternBandit::kPriorMinRuns, options_.bandit.min_runs);
  if (p.runs >= need && b.Summary(0).runs < need) return others | (uint64_t{1} << prior);
  const uint64_t before = b.skipped();
  b.SetSkipped(others);
  const bool measuring = b.NextExploration() == static_cast<int32_t>(prior);
  b.SetSkipped(before);
  return measuring ? others : 0;
}

void Engine::Annotate(uint64_t key, PatternDecision* d) const {
  auto it = models_.find(key);
  double tension = 0.0;
  double preds[kMaxArms];
  bool predicted = false;
  if (it != models_.end() && it->second.has_embedding) {
    predicted =
        lanes_[active_].model.PredictArms(it->second.embedding, std::span<double>(preds, options_.num_arms)).ok();
  }
  // A validation quota's arm is the candidate while it has runs left and is
  // not deployed (SetValidationQuota).
  if (it != models_.end() && it->second.validation_left > 0 &&
      d->deployed_arm != static_cast<int>(it->second.validation_arm)) {
    d->explore_arm = static_cast<int>(it->second.validation_arm);
    d->explore_runs = it->second.validation_left;
    d->validation = true;
  }
  // The candidate's trial, valued as of the latest run time seen (a pattern
  // that stopped running loses its rate): one that no longer pays is not
  // offered, unless a vote is owed on it.
  if (d->explore_arm > 0) {
    const uint32_t arm = static_cast<uint32_t>(d->explore_arm);
    const bool prior = it != models_.end() && it->second.prior_arm == d->explore_arm;
    const TrialValue v = ValueTrial(key, arm, predicted ? preds : nullptr, prior ? it->second.prior_bonus : 0.0);
    d->future_runs = v.future_runs;
    d->explore_gain_ms = v.gain_ms;
    d->explore_cost_ms = v.cost_ms;
    if (!d->validation && !TrialPays(key, arm, v)) {
      d->explore_arm = -1;
      d->explore_runs = 1;
    }
  }
  if (it != models_.end()) {
    const PatternModel& s = it->second;
    tension = s.tension;
    d->prior_arm = s.prior_arm;
    if (s.has_embedding) {
      const uint32_t k = options_.num_arms;
      if (predicted) {
        d->predicted_default_ms = std::exp(preds[0]);
        if (d->deployed_arm >= 0 && static_cast<uint32_t>(d->deployed_arm) < k) {
          d->predicted_deployed_ms = std::exp(preds[d->deployed_arm]);
        }
        if (d->explore_arm > 0 && static_cast<uint32_t>(d->explore_arm) < k) {
          d->predicted_explore_ms = std::exp(preds[d->explore_arm]);
        }
      }
    }
  }
  d->tension = tension;
  d->priority = learner_.TimeAtStake(key, clock_us_) * (1.0 + tension);
  // What the verdict that waits for default runs is worth: the candidate's
  // measured saving over the runs expected within the horizon.
  const PatternBandit* b = learner_.Bandit(key);
  uint32_t verdict_arm = 0;
  d->verdict_gain_ms = 0.0;
  if (d->default_runs_wanted > 0 && b != nullptr && b->DefaultRunsWanted(&verdict_arm) > 0 &&
      options_.exploration_horizon_s > 0.0) {
    const double saving = std::exp(b->Summary(0).mean_log_ms) - std::exp(b->Summary(verdict_arm).mean_log_ms);
    const double gain =
        saving * learner_.FutureRuns(key, clock_us_, options_.exploration_horizon_s) * (1.0 + tension);
    if (std::isfinite(gain) && gain > 0.0) d->verdict_gain_ms = gain;
  }
}

bool Engine::TakeTrainToken(PatternModel* model, uint32_t arm, int64_t at_us) {
  const double rate = options_.train_rate_per_arm;
  if (!(rate > 0.0)) return true;
  const double burst = static_cast<double>(options_.train_burst_per_arm);
  if (model->train_budget.size() < options_.num_arms) {
    model->train_budget.resize(options_.num_arms, TrainBudget{burst, at_us});
  }
  TrainBudget& b = model->train_budget[arm];
  if (at_us > b.at_us) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(at_us - b.at_us) * 1e-6 * rate);
    b.at_us = at_us;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

Status Engine::LearnRuns(std::span<const PatternRun> runs, std::span<const PlanEmbedding* const> embeddings,
                         HostLearnOutput* out) {
  LearnReport& report = out->report;
  double abs_err = 0.0;
  size_t err_count = 0;
  // A flood of runs trains the model on an even sample of them (the
  // bandits still see every run): the learner's CPU stays bounded.
  const size_t cap = options_.max_train_per_learn;
  const size_t stride = cap > 0 && runs.size() > cap ? (runs.size() + cap - 1) / cap : 1;
  train_counts_.clear();
  const size_t lanes = lanes_.size();
  for (Lane& lane : lanes_) {
    lane.call_error = 0.0;
    lane.call_trained = 0;
  }
  auto embedding_of = [&](size_t i, size_t l) -> const PlanEmbedding* {
    return i * lanes + l < embeddings.size() ? embeddings[i * lanes + l] : nullptr;
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    const PatternRun& r = runs[i];
    clock_us_ = std::max(clock_us_, r.at_us);
    if (i % stride != 0) continue;
    if (r.arm < 0 || static_cast<uint32_t>(r.arm) >= options_.num_arms || !(r.latency_ms > 0.0) ||
        !std::isfinite(r.latency_ms)) {
      continue;
    }
    if (options_.max_train_per_arm > 0 &&
        ++train_counts_[{r.pattern_key, static_cast<uint32_t>(r.arm)}] > options_.max_train_per_arm) {
      continue;
    }
    auto it = models_.find(r.pattern_key);
    const PlanEmbedding* x = embedding_of(i, active_);
    const bool fresh = x != nullptr;
    if (x == nullptr && it != models_.end() && it->second.has_embedding) x = &it->second.embedding;
    if (x == nullptr) continue;
    if (it != models_.end() && !TakeTrainToken(&it->second, static_cast<uint32_t>(r.arm), r.at_us)) continue;
    // A run of the default plan under another arm's name measured arm 0.
    const uint32_t arm = r.same_plan && !r.censored ? 0u : static_cast<uint32_t>(r.arm);
    const double lr = (it != models_.end() ? it->second.lr_boost : 1.0);
    // Another arm's run teaches its offset from the default measured on the
    // same pattern (ValueModel::TrainStep).
    const double reference = arm != 0 ? DefaultReference(r.pattern_key) : std::numeric_limits<double>::quiet_NaN();
    RUVECTOR_ASSIGN_OR_RETURN(const double err,
                              Train(&lanes_[active_], *x, arm, r.latency_ms, r.censored, lr, reference));
    ++since_consolidation_;
    // Selection: when this call embedded the run's plan with every
    // mechanism, every other lane predicts it before training on it too, so
    // all lanes' held-out errors are measured on the same runs.
    bool every_lane = fresh && lanes > 1;
    for (size_t l = 0; l < lanes && every_lane; ++l) every_lane = embedding_of(i, l) != nullptr;
    if (every_lane) {
      for (size_t l = 0; l < lanes; ++l) {
        if (l == active_) continue;
        RUVECTOR_ASSIGN_OR_RETURN(const double e, Train(&lanes_[l], *embedding_of(i, l), arm, r.latency_ms,
                                                        r.censored, lr, reference));
        if (e < 0.0) continue;
        lanes_[l].call_error += e;
        ++lanes_[l].call_trained;
      }
      if (err >= 0.0) {
        lanes_[active_].call_error += err;
        ++lanes_[active_].call_trained;
      }
    }
    if (err < 0.0) continue;
    abs_err += err;
    ++err_count;
    if (it != models_.end()) {
      PatternModel& s = it->second;
      s.error_ewma = s.error_samples == 0 ? err : 0.8 * s.error_ewma + 0.2 * err;
      ++s.error_samples;
    }
  }
  // Validation quotas count down with every run of their arm.
  for (const PatternRun& r : runs) {
    auto it = models_.find(r.pattern_key);
    if (it == models_.end() || it->second.validation_left == 0 || r.arm < 0 ||
        static_cast<uint32_t>(r.arm) != it->second.validation_arm) {
      continue;
    }
    const uint64_t n = 1 + uint64_t{r.also_runs};
    it->second.validation_left = n >= it->second.validation_left ? 0 : it->second.validation_left - static_cast<uint32_t>(n);
  }
  const size_t first_decision = out->decisions.size();
  const size_t first_event = out->events.size();
  const size_t first_evicted = out->evicted.size();
  RUVECTOR_RETURN_IF_ERROR(learner_.Learn(runs, options_.max_patterns, &out->decisions, &out->events,
                                          &out->untracked, &out->evicted));
  for (size_t i = first_evicted; i < out->evicted.size(); ++i) {
    models_.erase(out->evicted[i]);
    const ReasoningPattern* p = bank_.Find(out->evicted[i]);
    if (p != nullptr && !p->from_network) bank_.Erase(out->evicted[i]);
  }
  // Replay recent samples for the base network: the active lane for every
  // run it learned, the others for the runs they were evaluated on.
  for (size_t l = 0; l < lanes; ++l) {
    Lane& lane = lanes_[l];
    const size_t learned = l == active_ ? err_count : lane.call_trained;
    const size_t steps = std::min<size_t>(
        static_cast<size_t>(std::llround(options_.replay_ratio * static_cast<double>(learned))),
        lane.replay.size() * 4);
    for (size_t i = 0; i < steps && !lane.replay.empty(); ++i) {
      const ReplaySample& s = lane.replay[rng_.Uniform(lane.replay.size())];
      RUVECTOR_RETURN_IF_ERROR(lane.model.TrainStep(s.x, s.arm, s.target, s.lr, s.reference));
    }
    if (l == active_) report.replay_steps += steps;
  }
  // A switch drops the stored embeddings; this call's fresh ones of the
  // new mechanism are stored below.
  Select();
  for (size_t i = 0; i < runs.size(); ++i) {
    const PlanEmbedding* x = embedding_of(i, active_);
    if (x == nullptr || learner_.Bandit(runs[i].pattern_key) == nullptr) continue;
    auto [it, inserted] = models_.try_emplace(runs[i].pattern_key);
    if (inserted) ++report.new_patterns;
    it->second.embedding = *x;
    it->second.has_embedding = true;
  }
  for (size_t i = first_event; i < out->events.size(); ++i) {
    report.deployments += out->events[i].type == PatternEventType::kDeploy;
    report.reverts += out->events[i].type == PatternEventType::kRevert;
  }
  report.patterns_refused += out->untracked;


  // Bank first (so that a pattern deployed in this pass is a prior for its
  // siblings in the same pass), then exploration plans and annotations.
  (void)first_decision;  // drift decisions of this call are re-planned too
  for (size_t i = 0; i < out->decisions.size(); ++i) {
    auto it = models_.find(out->decisions[i].pattern_key);
    if (it != models_.end()) PublishToBank(it->first, it->second);
  }
  report.reclustered = bank_.MaybeRecluster();
  out->reclustered = out->reclustered || report.reclustered;
  if (!out->decisions.empty()) CollectSiblings();
  for (size_t i = 0; i < out->decisions.size(); ++i) {
    PatternDecision& d = out->decisions[i];
    auto it = models_.find(d.pattern_key);
    if (it != models_.end()) {
      Plan(d.pattern_key, &it->second, out);
      it->second.lr_boost = std::max(1.0, it->second.lr_boost * 0.9);
    } else if (PatternBandit* b = learner_.MutableBandit(d.pattern_key); b != nullptr) {
      // No plan embedded yet: no order, only the value of each trial.
      b->SetSkipped(UnprofitableArms(d.pattern_key, nullptr, nullptr));
    }
    if (const PatternBandit* b = learner_.Bandit(d.pattern_key); b != nullptr) {
      d.explore_arm = b->NextExploration();
      d.explore_runs = d.explore_arm > 0 ? b->RunsToJudge(static_cast<uint32_t>(d.explore_arm)) : 1;
    }
    Annotate(d.pattern_key, &d);
  }
  if (since_consolidation_ >= options_.consolidate_interval) {
    for (Lane& lane : lanes_) lane.model.Consolidate();
    since_consolidation_ = 0;
    report.consolidated = true;
  }
  // Runs a sampling host left out count as learned (PatternRun::also_runs).
  uint64_t represented = runs.size();
  for (const PatternRun& r : runs) represented += r.also_runs;
  report.trajectories += represented;
  report.prediction_mae = err_count > 0 ? abs_err / static_cast<double>(err_count) : 0.0;
  if (err_count > 0) {
    // Seeded by the first pass that predicted a run (passes before it, whose
    // runs had no embedded plan, measured nothing); continued after Import.
    stats_.prediction_mae_ewma = stats_.predicted_runs == 0 && stats_.prediction_mae_ewma == 0.0
                                     ? report.prediction_mae
                                     : 0.95 * stats_.prediction_mae_ewma + 0.05 * report.prediction_mae;
  }
  stats_.trajectories_learned += represented;
  stats_.predicted_runs += err_count;
  stats_.deployments += report.deployments;
  stats_.reverts += report.reverts;
  return Status::Ok();
}

Status Engine::Learn(std::span<const PatternRun> runs, std::span<const PlanObservation> plans,
                     std::span<const DriftScope> drifts, HostLearnOutput* out) {
  if (out == nullptr) return Status::InvalidArgument("Engine::Learn: out is null");
  for (const DriftScope& scope : drifts) {
    const size_t touched = learner_.NotifyDrift(scope, &out->decisions);
    out->drift_touched.push_back(touched);
    if (touched > 0) {
      // What was learned before the change is kept (EWC++ anchor).
      for (Lane& lane : lanes_) lane.model.Consolidate();
      since_consolidation_ = 0;
    }
  }
  // The latest executed plan of each pattern: its embedding by every lane's
  // mechanism and its tension.
  const size_t lanes = lanes_.size();
  std::unordered_map<uint64_t, size_t> embedded;  // pattern -> first row in `vectors`
  embedded.reserve(plans.size());
  std::vector<PlanEmbedding> vectors;
  vectors.reserve(plans.size() * lanes);
  std::vector<uint8_t> valid;
  valid.reserve(plans.size() * lanes);
  bool ok[kAttentionMechanismCount];
  for (const PlanObservation& p : plans) {
    if (p.dag == nullptr || p.dag->empty() || p.pattern_key == 0) continue;
    const size_t row = vectors.size();
    vectors.resize(row + lanes);
    if (!EmbedAll(*p.dag, &vectors[row], ok).ok()) {
      vectors.resize(row);
      continue;
    }
    // A plan the active mechanism or the featurizer refuses teaches the
    // bandit only.
    if (!ok[active_]) {
      vectors.resize(row);
      continue;
    }
    for (size_t l = 0; l < lanes; ++l) valid.push_back(ok[l] ? 1 : 0);
    embedded[p.pattern_key] = row;
    Result<TensionReport> t = mincut_->ComputeTension(*p.dag);
    // A planned-only plan has no misestimation evidence.
    if (!t.ok() || t->nodes_with_actuals == 0 || !std::isfinite(t->tension)) continue;
    PatternModel& s = models_[p.pattern_key];
    const double prev = s.tension;
    s.tension = s.tension_samples == 0 ? t->tension : 0.7 * s.tension + 0.3 * t->tension;
    ++s.tension_samples;
    // Rising tension: learn faster (and explore more) for this pattern.
    if (s.tension_samples > 1 && t->tension > prev + 0.1) {
      s.lr_boost = std::max(s.lr_boost, std::min(10.0, 1.0 + 4.0 * t->tension));
    }
  }
  std::vector<const PlanEmbedding*> per_run(runs.size() * lanes, nullptr);
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = embedded.find(runs[i].pattern_key);
    if (it == embedded.end()) continue;
    for (size_t l = 0; l < lanes; ++l) {
      if (valid[it->second + l] != 0) per_run[i * lanes + l] = &vectors[it->second + l];
    }
  }
  RUVECTOR_RETURN_IF_ERROR(LearnRuns(runs, per_run, out));
  // Patterns whose tension came only with a plan (tracked, no run here).
  for (auto it = models_.begin(); it != models_.end();) {
    if (learner_.Bandit(it->first) == nullptr) {
      it = models_.erase(it);  // never admitted
    } else {
      ++it;
    }
  }
  return Status::Ok();
}

Result<LearnReport> Engine::BackgroundLearn() {
  batch_.clear();
  trajectories_.Drain(&batch_);
  std::vector<PatternRun> runs;
  // Trajectories carry the active mechanism's embedding only: the other
  // lanes neither train nor compete on them.
  const size_t lanes = lanes_.size();
  std::vector<const PlanEmbedding*> embeddings;
  runs.reserve(2 * batch_.size());
  embeddings.reserve(2 * batch_.size() * lanes);
  auto push = [&](const PlanEmbedding* e) {
    for (size_t l = 0; l < lanes; ++l) embeddings.push_back(l == active_ ? e : nullptr);
  };
  for (const Trajectory& t : batch_) {
    if (t.arm >= options_.num_arms || !(t.latency_ms > 0.0) || !std::isfinite(t.latency_ms)) continue;
    PatternRun r;
    r.pattern_key = t.pattern_key;
    r.query_id = t.pattern_key;
    r.arm = static_cast<int>(t.arm);
    r.latency_ms = t.latency_ms;
    r.censored = t.censored;
    r.at_us = t.timestamp_us;
    runs.push_back(r);
    push(&t.embedding);
    if (t.baseline_ms > 0.0 && std::isfinite(t.baseline_ms) && t.arm != 0) {
      r.arm = 0;
      r.latency_ms = t.baseline_ms;
      r.censored = false;
      runs.push_back(r);
      push(&t.embedding);
    }
  }
  HostLearnOutput out;
  RUVECTOR_RETURN_IF_ERROR(LearnRuns(runs, embeddings, &out));
  out.report.trajectories = batch_.size();
  return out.report;
}

Status Engine::BoostLearningRate(uint64_t pattern_key, double factor) {
  if (learner_.Bandit(pattern_key) == nullptr) {
    return Status::NotFound("Engine::BoostLearningRate: unknown pattern " + std::to_string(pattern_key));
  }
  if (!std::isfinite(factor) || factor < 1.0 || factor > 10.0) {
    return Status::InvalidArgument("Engine::BoostLearningRate: factor must be in [1, 10]");
  }
  PatternModel& s = models_[pattern_key];
  s.lr_boost = std::max(s.lr_boost, factor);
  return Status::Ok();
}

Status Engine::NotifyDrift(uint64_t pattern_key, double severity) {
  PatternBandit* b = learner_.MutableBandit(pattern_key);
  if (b == nullptr) {
    return Status::NotFound("Engine::NotifyDrift: unknown pattern " + std::to_string(pattern_key));
  }
  if (!(severity > 0.0 && severity <= 1.0)) {
    return Status::InvalidArgument("Engine::NotifyDrift: severity must be in (0, 1]");
  }
  b->NotifyDrift(severity);
  for (Lane& lane : lanes_) lane.model.Consolidate();
  since_consolidation_ = 0;
  return Status::Ok();
}

EngineStats Engine::Stats() const {
  EngineStats s = stats_;
  s.trajectories_dropped = trajectories_.dropped();
  s.patterns = learner_.patterns();
  s.deployed_patterns = 0;
  for (uint64_t key : learner_.Keys()) s.deployed_patterns += learner_.DeployedArm(key) != 0;
  s.bank_patterns = bank_.size();
  return s;
}

Result<PatternInfo> Engine::Pattern(uint64_t pattern_key) const {
  const PatternBandit* b = learner_.Bandit(pattern_key);
  if (b == nullptr) {
    return Status::NotFound("Engine::Pattern: unknown pattern " + std::to_string(pattern_key));
  }
  PatternInfo info;
  info.key = pattern_key;
  info.deployed_arm = b->deployed_arm();
  info.confidence = b->Confidence();
  auto it = models_.find(pattern_key);
  info.learning_rate_boost = it != models_.end() ? it->second.lr_boost : 1.0;
  info.runs = b->runs();
  info.deployments = b->deployments();
  info.reverts = b->reverts();
  for (uint32_t a = 0; a < options_.num_arms; ++a) info.arms.push_back(b->Summary(a));
  return info;
}

Status Engine::SetNetworkPrior(uint64_t pattern_key, uint32_t arm) {
  if (arm >= options_.num_arms) {
    return Status::InvalidArgument("Engine: network prior arm " + std::to_string(arm) + " is not below " +
                                   std::to_string(options_.num_arms));
  }
  auto it = models_.find(pattern_key);
  if (it == models_.end() || learner_.Bandit(pattern_key) == nullptr) {
    return Status::NotFound("Engine: pattern " + std::to_string(pattern_key) + " is not tracked");
  }
  it->second.network_prior = arm;
  CollectSiblings();
  Plan(pattern_key, &it->second, nullptr);
  return Status::Ok();
}

Status Engine::SetExplorationHorizon(double seconds) {
  if (!(seconds >= 0.0) || !std::isfinite(seconds)) {
    return Status::InvalidArgument("Engine: the exploration horizon must be finite and >= 0 seconds");
  }
  options_.exploration_horizon_s = seconds;
  return Status::Ok();
}

Status Engine::SetValidationQuota(uint64_t pattern_key, uint32_t arm, uint32_t runs) {
  if (arm == 0 || arm >= options_.num_arms) {
    return Status::InvalidArgument("Engine: a validation quota needs a candidate arm in 1.." +
                                   std::to_string(options_.num_arms - 1) + ", not " + std::to_string(arm));
  }
  auto it = models_.find(pattern_key);
  if (it == models_.end() || learner_.Bandit(pattern_key) == nullptr) {
    return Status::NotFound("Engine: pattern " + std::to_string(pattern_key) + " is not tracked");
  }
  it->second.validation_arm = runs > 0 ? arm : 0;
  it->second.validation_left = runs;
  return Status::Ok();
}

uint32_t Engine::ValidationQuota(uint64_t pattern_key, uint32_t* arm) const {
  auto it = models_.find(pattern_key);
  const uint32_t left = it == models_.end() ? 0 : it->second.validation_left;
  if (arm != nullptr) *arm = left > 0 ? it->second.validation_arm : 0;
  return left;
}

uint32_t Engine::NetworkPrior(uint64_t pattern_key) const {
  auto it = models_.find(pattern_key);
  return it == models_.end() ? 0 : it->second.network_prior;
}

Result<PatternDecision> Engine::Decide(uint64_t pattern_key) const {
  RUVECTOR_ASSIGN_OR_RETURN(PatternDecision d, learner_.DescribePattern(pattern_key));
  Annotate(pattern_key, &d);
  return d;
}

}  // namespace ruvector_dag
