// Differential privacy for the numbers a pattern carries (docs/sync.md,
// "Differential privacy").
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

constexpr double kTwoTo53 = 9007199254740992.0;
constexpr double kMaxLaplaceEpsilon = 10.0;
constexpr double kMaxGaussianDelta = 1e-3;

// (k + 0.5) / 2^53 for k in [0, 2^53): never 0, never 1.
double OpenUnit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) / kTwoTo53; }

std::string Num(double v) { return FormatSignificant(v, 6); }

}  // namespace

std::string_view NoiseMechanismName(NoiseMechanism m) {
  return m == NoiseMechanism::kLaplace ? "laplace" : m == NoiseMechanism::kGaussian ? "gaussian" : "unknown";
}

Status ValidatePrivacyParams(const PrivacyParams& p) {
  if (!std::isfinite(p.epsilon) || !std::isfinite(p.delta)) {
    return Status::InvalidArgument("privacy: epsilon and delta must be finite");
  }
  switch (p.mechanism) {
    case NoiseMechanism::kLaplace:
      if (!(p.epsilon > 0.0 && p.epsilon <= kMaxLaplaceEpsilon)) {
        return Status::InvalidArgument("privacy: Laplace epsilon must be in (0, 10], got " + Num(p.epsilon));
      }
      if (p.delta != 0.0) {
        return Status::InvalidArgument("privacy: the Laplace mechanism is pure epsilon-DP, delta must be 0, got " +
                                       Num(p.delta));
      }
      return Status::Ok();
    case NoiseMechanism::kGaussian:
      if (!(p.epsilon > 0.0 && p.epsilon < 1.0)) {
        return Status::InvalidArgument(
            "privacy: the Gaussian mechanism's bound holds for epsilon in (0, 1), got " + Num(p.epsilon));
      }
      if (!(p.delta > 0.0 && p.delta <= kMaxGaussianDelta)) {
        return Status::InvalidArgument("privacy: Gaussian delta must be in (0, 0.001], got " + Num(p.delta));
      }
      return Status::Ok();
  }
  return Status::InvalidArgument("privacy: unknown noise mechanism " + std::to_string(static_cast<int>(p.mechanism)));
}

Result<double> NoiseScale(const PrivacyParams& params, double sensitivity) {
  RUVECTOR_RETURN_IF_ERROR(ValidatePrivacyParams(params));
  if (!(sensitivity > 0.0) || !std::isfinite(sensitivity)) {
    return Status::InvalidArgument("privacy: sensitivity must be positive and finite, got " + Num(sensitivity));
  }
  if (params.mechanism == NoiseMechanism::kLaplace) return sensitivity / params.epsilon;
  return sensitivity * std::sqrt(2.0 * std::log(1.25 / params.delta)) / params.epsilon;
}

Result<double> SecureNoiseSource::Uniform01() {
  uint8_t b[8];
  if (RAND_bytes(b, sizeof(b)) != 1) return Status::Internal("privacy: the system random generator failed");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(b[i]) << (8 * i);
  return OpenUnit(bits);
}

Result<double> SeededNoiseSource::Uniform01() { return OpenUnit(rng_->Next()); }

Result<double> SampleLaplace(double scale, NoiseSource& source) {
  if (!(scale > 0.0) || !std::isfinite(scale)) return Status::InvalidArgument("Laplace scale must be positive");
  RUVECTOR_ASSIGN_OR_RETURN(double u, source.Uniform01());
  const double c = u - 0.5;  // in (-0.5, 0.5)
  const double magnitude = -scale * std::log1p(-2.0 * std::fabs(c));
  return c < 0 ? -magnitude : magnitude;
}

Result<double> SampleGaussian(double sigma, NoiseSource& source) {
  if (!(sigma > 0.0) || !std::isfinite(sigma)) return Status::InvalidArgument("Gaussian sigma must be positive");
  RUVECTOR_ASSIGN_OR_RETURN(double u1, source.Uniform01());
  RUVECTOR_ASSIGN_OR_RETURN(double u2, source.Uniform01());
  return sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Result<PrivacyAccountant> PrivacyAccountant::Create(double epsilon_budget, double delta_budget) {
  if (!(epsilon_budget > 0.0) || !std::isfinite(epsilon_budget)) {
    return Status::InvalidArgument("privacy budget: epsilon must be positive and finite, got " + Num(epsilon_budget));
  }
  if (!(delta_budget >= 0.0 && delta_budget < 1.0)) {
    return Status::InvalidArgument("privacy budget: delta must be in [0, 1), got " + Num(delta_budget));
  }
  return PrivacyAccountant(epsilon_budget, delta_budget);
}

Status PrivacyAccountant::Charge(double epsilon, double delta) {
  if (!(epsilon > 0.0) || !std::isfinite(epsilon) || !(delta >= 0.0) || !std::isfinite(delta)) {
    return Status::InvalidArgument("privacy budget: a release must cost epsilon > 0 and delta >= 0");
  }
  // A relative slack of 1e-9 keeps k equal charges of budget/k from being
  // refused by rounding.
  if (epsilon_spent_ + epsilon > epsilon_budget_ * (1 + 1e-9) || delta_spent_ + delta > delta_budget_ * (1 + 1e-9)) {
    return Status::ResourceExhausted("privacy budget exhausted: a release costing epsilon " + Num(epsilon) +
                                     ", delta " + Num(delta) + " would exceed the budget (" + Describe() + ")");
  }
  epsilon_spent_ += epsilon;
  delta_spent_ += delta;
  ++releases_;
  return Status::Ok();
}

Status PrivacyAccountant::Restore(double epsilon_spent, double delta_spent, uint64_t releases) {
  if (!(epsilon_spent >= 0.0) || !std::isfinite(epsilon_spent) || !(delta_spent >= 0.0) ||
      !std::isfinite(delta_spent)) {
    return Status::InvalidArgument("privacy budget: the amounts spent must be finite and >= 0");
  }
  epsilon_spent_ = epsilon_spent;
  delta_spent_ = delta_spent;
  releases_ = releases;
  return Status::Ok();
}

std::string PrivacyAccountant::Describe() const {
  return "epsilon " + Num(epsilon_spent_) + " of " + Num(epsilon_budget_) + " spent, delta " + Num(delta_spent_) +
         " of " + Num(delta_budget_) + ", " + std::to_string(releases_) + " releases";
}

Result<PatternProposal> PrivatizePattern(const PatternObservation& obs, const PrivacyOptions& options,
                                         NoiseSource& noise, PrivacyAccountant* accountant) {
  if (accountant == nullptr) return Status::InvalidArgument("privacy: an accountant is required");
  RUVECTOR_RETURN_IF_ERROR(ValidatePrivacyParams(options.per_release));
  if (!(options.gain_min < options.gain_max) || !std::isfinite(options.gain_min) || !std::isfinite(options.gain_max)) {
    return Status::InvalidArgument("privacy: gain clip range must be finite with gain_min < gain_max");
  }
  if (!(options.samples_cap >= 1.0) || !std::isfinite(options.samples_cap)) {
    return Status::InvalidArgument("privacy: samples_cap must be finite and >= 1");
  }
  if (options.min_samples < 1) return Status::InvalidArgument("privacy: min_samples must be >= 1");
  if (!std::isfinite(obs.gain)) return Status::InvalidArgument("pattern gain is not finite");
  if (obs.samples < options.min_samples) {
    return Status::FailedPrecondition("pattern " + std::to_string(obs.fingerprint) + " has " +
                                      std::to_string(obs.samples) + " executions, fewer than the " +
                                      std::to_string(options.min_samples) + " a private release needs");
  }
  PatternProposal out;
  out.fingerprint = obs.fingerprint;
  out.embedding = obs.embedding;
  for (uint32_t d : options.redact_dims) {
    if (d < out.embedding.size()) out.embedding[d] = 0.0f;
  }
  out.arm = obs.arm;
  out.privacy = options.per_release;
  out.privacy.epsilon /= 2;
  out.privacy.delta /= 2;
  out.gain_sensitivity = (options.gain_max - options.gain_min) / static_cast<double>(options.min_samples);
  // Validates the structure (arm, embedding) before any budget is spent.
  if (auto check = DecodeProposal(EncodeProposal(out)); !check.ok()) return check.status();
  RUVECTOR_ASSIGN_OR_RETURN(double gain_scale, NoiseScale(out.privacy, out.gain_sensitivity));
  RUVECTOR_ASSIGN_OR_RETURN(double samples_scale, NoiseScale(out.privacy, 1.0));
  RUVECTOR_RETURN_IF_ERROR(accountant->Charge(options.per_release.epsilon, options.per_release.delta));

  auto draw = [&](double scale) {
    return out.privacy.mechanism == NoiseMechanism::kLaplace ? SampleLaplace(scale, noise)
                                                             : SampleGaussian(scale, noise);
  };
  const double gain = std::clamp(obs.gain, options.gain_min, options.gain_max);
  const double samples = std::min(static_cast<double>(obs.samples), options.samples_cap);
  RUVECTOR_ASSIGN_OR_RETURN(double gain_noise, draw(gain_scale));
  RUVECTOR_ASSIGN_OR_RETURN(double samples_noise, draw(samples_scale));
  // Clamping after the noise is post-processing: it costs no privacy.
  out.noisy_gain = std::clamp(gain + gain_noise, options.gain_min, options.gain_max);
  out.noisy_samples = std::clamp(samples + samples_noise, 0.0, options.samples_cap);
  return out;
}

}  // namespace ruvector_dag::sync
