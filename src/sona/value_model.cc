#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/Core>

#include "ruvector_dag/sona.h"

namespace ruvector_dag {
namespace {

constexpr size_t kMaxHidden = 64;
constexpr uint32_t kMaxArms = 64;
constexpr size_t kMaxRank = 8;  // largest MicroLoRA rank (ValueModelOptions::lora_rank)
constexpr size_t kMaxActiveAdapters = kMaxActiveAdaptersPerPlan;

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatMap = Eigen::Map<const RowMat>;
using MatMap = Eigen::Map<RowMat>;
using ConstVecMap = Eigen::Map<const Eigen::VectorXf>;
using VecMap = Eigen::Map<Eigen::VectorXf>;

// The adapters a plan uses: the operator types present in it (presence flag
// of the max block), at most kMaxActiveAdapters, those with the most pooled
// attention mass first (ties: smaller type id). Bounds the adapt step's cost.
size_t ActiveAdapters(const float* x, uint8_t* active) {
  size_t count = 0;
  for (size_t t = 0; t < kOperatorTypeCount; ++t) {
    if (x[kEmbedMaxOffset + t] > 0.5f) active[count++] = static_cast<uint8_t>(t);
  }
  if (count > kMaxActiveAdapters) {
    std::stable_sort(active, active + count, [x](uint8_t a, uint8_t b) {
      return x[kEmbedMeanOffset + a] > x[kEmbedMeanOffset + b];
    });
    count = kMaxActiveAdapters;
    std::sort(active, active + count);
  }
  return count;
}

}  // namespace

Status ValidateValueModelOptions(const ValueModelOptions& o) {
  if (o.hidden < 1 || o.hidden > kMaxHidden) {
    return Status::InvalidArgument("ValueModelOptions.hidden must be in [1, 64], got " +
                                   std::to_string(o.hidden));
  }
  if (o.max_arms < 1 || o.max_arms > kMaxArms) {
    return Status::InvalidArgument("ValueModelOptions.max_arms must be in [1, 64], got " +
                                   std::to_string(o.max_arms));
  }
  if (o.lora_rank < 1 || o.lora_rank > kMaxRank) {
    return Status::InvalidArgument("ValueModelOptions.lora_rank must be in [1, 8], got " +
                                   std::to_string(o.lora_rank));
  }
  if (!(o.base_learning_rate > 0) || !std::isfinite(o.base_learning_rate)) {
    return Status::InvalidArgument("ValueModelOptions.base_learning_rate must be > 0");
  }
  if (!(o.adapter_learning_rate > 0) || !std::isfinite(o.adapter_learning_rate)) {
    return Status::InvalidArgument("ValueModelOptions.adapter_learning_rate must be > 0");
  }
  if (!(o.ewc_lambda >= 0) || !std::isfinite(o.ewc_lambda)) {
    return Status::InvalidArgument("ValueModelOptions.ewc_lambda must be >= 0");
  }
  if (!(o.fisher_decay > 0 && o.fisher_decay <= 1)) {
    return Status::InvalidArgument("ValueModelOptions.fisher_decay must be in (0, 1]");
  }
  if (!(o.error_clip > 0) || !std::isfinite(o.error_clip)) {
    return Status::InvalidArgument("ValueModelOptions.error_clip must be > 0");
  }
  return Status::Ok();
}

Status ValueModel::SetLearningRates(double base, double adapter) {
  ValueModelOptions o = options_;
  o.base_learning_rate = base;
  o.adapter_learning_rate = adapter;
  RUVECTOR_RETURN_IF_ERROR(ValidateValueModelOptions(o));
  options_ = o;
  return Status::Ok();
}

Result<ValueModel> ValueModel::Create(const ValueModelOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateValueModelOptions(options));
  return ValueModel(options);
}

ValueModel::ValueModel(const ValueModelOptions& options) : options_(options), rank_(options.lora_rank) {
  const size_t h = options_.hidden, d = kEmbeddingDim, arms = options_.max_arms;
  off_w1_ = 0;
  off_b1_ = off_w1_ + h * d;
  off_w2_ = off_b1_ + h;
  off_c_ = off_w2_ + arms * h;
  off_a_ = off_c_ + arms;
  off_b_ = off_a_ + kOperatorTypeCount * rank_ * d;
  const size_t total = off_b_ + kOperatorTypeCount * rank_ * h;
  theta_.assign(total, 0.0f);
  fisher_.assign(total, 0.0f);
  anchor_.assign(total, 0.0f);
  importance_.assign(total, 0.0f);
  Rng rng(options_.seed);
  // Xavier-style scales; LoRA's B starts at zero so adapters start as a no-op.
  const double w1_scale = std::sqrt(1.0 / static_cast<double>(d)) * 2.0;
  for (size_t i = 0; i < h * d; ++i) theta_[off_w1_ + i] = static_cast<float>(rng.Gaussian() * w1_scale);
  // The default's head is Gaussian; every other arm's head is its offset
  // from the default and starts at zero (an arm untrained is predicted as
  // the default).
  const double w2_scale = std::sqrt(1.0 / static_cast<double>(h));
  for (size_t i = 0; i < h; ++i) theta_[off_w2_ + i] = static_cast<float>(rng.Gaussian() * w2_scale);
  const double a_scale = std::sqrt(1.0 / static_cast<double>(d));
  for (size_t i = 0; i < kOperatorTypeCount * rank_ * d; ++i) {
    theta_[off_a_ + i] = static_cast<float>(rng.Gaussian() * a_scale);
  }
}

double ValueModel::Forward(const float* x, uint32_t arm, float* pre, float* h, float* z,
                           uint8_t* active, size_t* active_count) const {
  const size_t hd = options_.hidden, d = kEmbeddingDim;
  ConstVecMap xv(x, static_cast<Eigen::Index>(d));
  VecMap prev(pre, static_cast<Eigen::Index>(hd));
  ConstMatMap w1(theta_.data() + off_w1_, static_cast<Eigen::Index>(hd), static_cast<Eigen::Index>(d));
  prev.noalias() = w1 * xv;
  prev += ConstVecMap(theta_.data() + off_b1_, static_cast<Eigen::Index>(hd));
  const size_t count = ActiveAdapters(x, active);
  for (size_t k = 0; k < count; ++k) {
    const size_t t = active[k];
    ConstMatMap a(theta_.data() + off_a_ + t * rank_ * d, static_cast<Eigen::Index>(rank_), static_cast<Eigen::Index>(d));
    ConstMatMap b(theta_.data() + off_b_ + t * rank_ * hd, static_cast<Eigen::Index>(rank_), static_cast<Eigen::Index>(hd));
    float* zt = z + k * rank_;
    for (size_t r = 0; r < rank_; ++r) {
      zt[r] = a.row(static_cast<Eigen::Index>(r)).dot(xv);
      prev += zt[r] * b.row(static_cast<Eigen::Index>(r)).transpose();
    }
  }
  *active_count = count;
  VecMap hv(h, static_cast<Eigen::Index>(hd));
  hv = prev.array().tanh();
  return Head(h, 0) + (arm == 0 ? 0.0 : Head(h, arm));
}

double ValueModel::Head(const float* h, uint32_t arm) const {
  const Eigen::Index hd = static_cast<Eigen::Index>(options_.hidden);
  ConstVecMap w2(theta_.data() + off_w2_ + static_cast<size_t>(arm) * options_.hidden, hd);
  return static_cast<double>(w2.dot(ConstVecMap(h, hd))) + theta_[off_c_ + arm];
}

Result<double> ValueModel::Predict(const PlanEmbedding& x, uint32_t arm) const {
  if (arm >= options_.max_arms) {
    return Status::OutOfRange("ValueModel::Predict: arm " + std::to_string(arm) +
                              " >= max_arms " + std::to_string(options_.max_arms));
  }
  float pre[kMaxHidden], h[kMaxHidden], z[kOperatorTypeCount * kMaxRank];
  uint8_t active[kOperatorTypeCount];
  size_t count = 0;
  return Forward(x.data(), arm, pre, h, z, active, &count);
}

Status ValueModel::PredictArms(const PlanEmbedding& x, std::span<double> out) const {
  if (out.size() > options_.max_arms) {
    return Status::OutOfRange("ValueModel::PredictArms: " + std::to_string(out.size()) +
                              " arms requested, max_arms is " + std::to_string(options_.max_arms));
  }
  if (out.empty()) return Status::Ok();
  float pre[kMaxHidden], h[kMaxHidden], z[kOperatorTypeCount * kMaxRank];
  uint8_t active[kOperatorTypeCount];
  size_t count = 0;
  out[0] = Forward(x.data(), 0, pre, h, z, active, &count);
  for (size_t a = 1; a < out.size(); ++a) out[a] = out[0] + Head(h, static_cast<uint32_t>(a));
  return Status::Ok();
}

// One SGD step on 0.5 * (y - target)^2. g = dy/dtheta is formed per block;
// the data step is lr * err * g, the EWC++ penalty is applied as the exact
// proximal step of lr * lambda/2 * F (theta - anchor)^2, and the running
// Fisher moves toward g^2 (docs/sona.md, "EWC++").
double ValueModel::Step(const PlanEmbedding& xe, uint32_t arm, double target, double reference, double lr,
                        bool base) {
  const float* x = xe.data();
  const size_t hd = options_.hidden, d = kEmbeddingDim;
  float pre[kMaxHidden], h[kMaxHidden], z[kOperatorTypeCount * kMaxRank];
  float delta[kMaxHidden];
  uint8_t active[kOperatorTypeCount];
  size_t count = 0;
  const double y = Forward(x, arm, pre, h, z, active, &count);
  // With the default's measured log-latency, the arm's offset is stepped
  // toward the measured difference (target - reference): the error of the
  // default's own prediction on this plan does not leak into the offset.
  const bool relative = arm != 0 && std::isfinite(reference);
  const double raw_err = relative ? Head(h, arm) - (target - reference) : y - target;
  const float err = static_cast<float>(std::clamp(raw_err, -options_.error_clip, options_.error_clip));
  const float step = static_cast<float>(lr) * err;
  const float gamma = static_cast<float>(options_.fisher_decay);
  const float prox = consolidated_ ? static_cast<float>(lr * options_.ewc_lambda) : 0.0f;

  // Updates the contiguous block theta[off, off + n) given its prediction
  // gradient g (n floats): data step, EWC++ proximal step, Fisher average.
  auto update = [&](size_t off, const float* g, size_t n) {
    using Arr = Eigen::Map<Eigen::ArrayXf>;
    using CArr = Eigen::Map<const Eigen::ArrayXf>;
    const Eigen::Index len = static_cast<Eigen::Index>(n);
    Arr th(theta_.data() + off, len);
    Arr fi(fisher_.data() + off, len);
    CArr gv(g, len);
    th -= step * gv;
    if (prox > 0.0f) {
      CArr imp(importance_.data() + off, len);
      CArr anc(anchor_.data() + off, len);
      th = (th + prox * imp * anc) / (1.0f + prox * imp);
    }
    fi += gamma * (gv.square() - fi);
  };
  float grad[kEmbeddingDim];

  // delta = d(stepped output)/dpre, computed before w2 changes: w2[0] *
  // (1 - h^2) for the default, (w2[0] + w2[arm]) * (1 - h^2) for another
  // arm's full prediction, w2[arm] * (1 - h^2) for its offset alone.
  const float* w2 = theta_.data() + off_w2_;
  const float* w2a = theta_.data() + off_w2_ + static_cast<size_t>(arm) * hd;
  const float w0 = relative ? 0.0f : 1.0f, wa = arm == 0 ? 0.0f : 1.0f;
  for (size_t i = 0; i < hd; ++i) delta[i] = (w0 * w2[i] + wa * w2a[i]) * (1.0f - h[i] * h[i]);
  ConstVecMap xv(x, static_cast<Eigen::Index>(d));

  // Adapters: dy/dB_t[r] = z_t[r] * delta; dy/dA_t[r] = (B_t[r] . delta) x.
  for (size_t k = 0; k < count; ++k) {
    const size_t t = active[k];
    const float* zt = z + k * rank_;
    const float* bt = theta_.data() + off_b_ + t * rank_ * hd;
    float bdelta[kMaxRank];
    for (size_t r = 0; r < rank_; ++r) {
      float s = 0.0f;
      for (size_t i = 0; i < hd; ++i) s += bt[r * hd + i] * delta[i];
      bdelta[r] = s;
    }
    for (size_t r = 0; r < rank_; ++r) {
      for (size_t i = 0; i < hd; ++i) grad[i] = zt[r] * delta[i];
      update(off_b_ + t * rank_ * hd + r * hd, grad, hd);
      if (bdelta[r] == 0.0f) continue;  // the gradient on A_t[r] is exactly zero
      VecMap(grad, static_cast<Eigen::Index>(d)) = bdelta[r] * xv;
      update(off_a_ + t * rank_ * d + r * d, grad, d);
    }
  }
  if (base) {
    update(off_b1_, delta, hd);
    for (size_t i = 0; i < hd; ++i) {
      if (delta[i] == 0.0f) continue;
      VecMap(grad, static_cast<Eigen::Index>(d)) = delta[i] * xv;
      update(off_w1_ + i * d, grad, d);
    }
  }
  // Arm head: dy/dw2[arm] = h, dy/dc[arm] = 1. Another arm's run moves its
  // offset, never the default's head: where arms are measured (on some
  // plans more than others) must not move what the default is predicted at.
  update(off_w2_ + static_cast<size_t>(arm) * hd, h, hd);
  const float one = 1.0f;
  update(off_c_ + arm, &one, 1);
  ++steps_;
  return raw_err * raw_err;
}

Result<double> ValueModel::Adapt(const PlanEmbedding& x, uint32_t arm, double target, double lr_scale,
                                 double reference) {
  if (arm >= options_.max_arms) {
    return Status::OutOfRange("ValueModel::Adapt: arm " + std::to_string(arm) + " >= max_arms " +
                              std::to_string(options_.max_arms));
  }
  if (!std::isfinite(target)) return Status::InvalidArgument("ValueModel::Adapt: target is not finite");
  if (!(lr_scale > 0) || !std::isfinite(lr_scale)) {
    return Status::InvalidArgument("ValueModel::Adapt: lr_scale must be > 0");
  }
  return Step(x, arm, target, reference, options_.adapter_learning_rate * lr_scale, /*base=*/false);
}

Result<double> ValueModel::TrainStep(const PlanEmbedding& x, uint32_t arm, double target, double lr_scale,
                                     double reference) {
  if (arm >= options_.max_arms) {
    return Status::OutOfRange("ValueModel::TrainStep: arm " + std::to_string(arm) +
                              " >= max_arms " + std::to_string(options_.max_arms));
  }
  if (!std::isfinite(target)) {
    return Status::InvalidArgument("ValueModel::TrainStep: target is not finite");
  }
  if (!(lr_scale > 0) || !std::isfinite(lr_scale)) {
    return Status::InvalidArgument("ValueModel::TrainStep: lr_scale must be > 0");
  }
  return Step(x, arm, target, reference, options_.base_learning_rate * lr_scale, /*base=*/true);
}

void ValueModel::Consolidate() {
  anchor_ = theta_;
  importance_ = fisher_;
  consolidated_ = true;
}

double ValueModel::EwcPenalty() const {
  if (!consolidated_) return 0.0;
  double s = 0.0;
  for (size_t i = 0; i < theta_.size(); ++i) {
    const double diff = static_cast<double>(theta_[i]) - anchor_[i];
    s += importance_[i] * diff * diff;
  }
  return 0.5 * options_.ewc_lambda * s;
}

std::vector<float> ValueModel::SaveState() const {
  std::vector<float> out;
  out.reserve(theta_.size() * 4);
  out.insert(out.end(), theta_.begin(), theta_.end());
  out.insert(out.end(), fisher_.begin(), fisher_.end());
  out.insert(out.end(), anchor_.begin(), anchor_.end());
  out.insert(out.end(), importance_.begin(), importance_.end());
  return out;
}

Status ValueModel::RestoreState(std::span<const float> state, uint64_t steps, bool consolidated) {
  const size_t p = theta_.size();
  if (state.size() != 4 * p) {
    return Status::InvalidArgument("ValueModel::RestoreState: expected " + std::to_string(4 * p) +
                                   " floats for these options, got " + std::to_string(state.size()));
  }
  for (float v : state) {
    if (!std::isfinite(v)) return Status::DataLoss("ValueModel::RestoreState: non-finite parameter");
  }
  std::copy(state.begin(), state.begin() + p, theta_.begin());
  std::copy(state.begin() + p, state.begin() + 2 * p, fisher_.begin());
  std::copy(state.begin() + 2 * p, state.begin() + 3 * p, anchor_.begin());
  std::copy(state.begin() + 3 * p, state.end(), importance_.begin());
  steps_ = steps;
  consolidated_ = consolidated;
  return Status::Ok();
}

}  // namespace ruvector_dag
