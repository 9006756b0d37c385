// Differential privacy: parameter validation, noise distributions, budget
// accounting, and what a privatized pattern carries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

constexpr uint64_t kSeed = 20261206;

TEST(PrivacyTest, ParametersAreValidated) {
  EXPECT_TRUE(ValidatePrivacyParams({NoiseMechanism::kLaplace, 0.1, 0.0}).ok());
  EXPECT_TRUE(ValidatePrivacyParams({NoiseMechanism::kGaussian, 0.5, 1e-6}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kLaplace, 0.0, 0.0}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kLaplace, -1, 0.0}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kLaplace, 11, 0.0}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kLaplace, NAN, 0.0}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kLaplace, 0.1, 1e-6}).ok()) << "Laplace has no delta";
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kGaussian, 0.5, 0.0}).ok()) << "Gaussian needs delta";
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kGaussian, 1.0, 1e-6}).ok()) << "bound needs epsilon < 1";
  EXPECT_FALSE(ValidatePrivacyParams({NoiseMechanism::kGaussian, 0.5, 0.01}).ok());
  EXPECT_FALSE(ValidatePrivacyParams({static_cast<NoiseMechanism>(7), 0.5, 0.0}).ok());
  EXPECT_DOUBLE_EQ(*NoiseScale({NoiseMechanism::kLaplace, 0.5, 0.0}, 2.0), 4.0);
  EXPECT_NEAR(*NoiseScale({NoiseMechanism::kGaussian, 0.5, 1e-5}, 1.0),
              std::sqrt(2 * std::log(1.25e5)) / 0.5, 1e-12);
  EXPECT_FALSE(NoiseScale({NoiseMechanism::kLaplace, 0.5, 0.0}, 0.0).ok());
}

// Kolmogorov-Smirnov statistic of `xs` against `cdf`.
template <typename Cdf>
double KsStatistic(std::vector<double> xs, Cdf cdf) {
  std::sort(xs.begin(), xs.end());
  double d = 0;
  const double n = static_cast<double>(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

TEST(PrivacyTest, LaplaceNoiseHasTheLaplaceDistribution) {
  Rng rng(kSeed);
  SeededNoiseSource src(&rng);
  const double b = 2.5;
  const int n = 40000;
  std::vector<double> xs;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = *SampleLaplace(b, src);
    xs.push_back(x);
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 4 * std::sqrt(2 * b * b / n)) << "seed " << kSeed;
  EXPECT_NEAR(var / (2 * b * b), 1.0, 0.05);
  const double d = KsStatistic(xs, [b](double x) {
    return x < 0 ? 0.5 * std::exp(x / b) : 1 - 0.5 * std::exp(-x / b);
  });
  EXPECT_LT(d, 1.63 / std::sqrt(n)) << "KS rejects at the 1% level";
  // The wrong scale is detected by the same test (it can fail).
  const double wrong = KsStatistic(xs, [b](double x) {
    const double w = 1.2 * b;
    return x < 0 ? 0.5 * std::exp(x / w) : 1 - 0.5 * std::exp(-x / w);
  });
  EXPECT_GT(wrong, 1.63 / std::sqrt(n));
}

TEST(PrivacyTest, GaussianNoiseHasTheNormalDistribution) {
  Rng rng(kSeed + 1);
  SeededNoiseSource src(&rng);
  const double sigma = 0.7;
  const int n = 40000;
  std::vector<double> xs;
  for (int i = 0; i < n; ++i) xs.push_back(*SampleGaussian(sigma, src));
  const double d = KsStatistic(xs, [sigma](double x) { return 0.5 * std::erfc(-x / (sigma * std::numbers::sqrt2)); });
  EXPECT_LT(d, 1.63 / std::sqrt(n));
  double sum2 = 0;
  for (double x : xs) sum2 += x * x;
  EXPECT_NEAR(sum2 / n / (sigma * sigma), 1.0, 0.05);
}

TEST(PrivacyTest, SecureSourceIsInsideTheOpenUnitInterval) {
  SecureNoiseSource src;
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = *src.Uniform01();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_LT(lo, 0.01);
  EXPECT_GT(hi, 0.99);
}

TEST(PrivacyTest, AccountantComposesSequentiallyAndRefusesOverspending) {
  auto acc = PrivacyAccountant::Create(1.0, 1e-5);
  ASSERT_TRUE(acc.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(acc->Charge(0.1, 1e-6).ok()) << i;
  EXPECT_NEAR(acc->epsilon_spent(), 1.0, 1e-12);
  EXPECT_NEAR(acc->delta_spent(), 1e-5, 1e-15);
  EXPECT_EQ(acc->releases(), 10u);
  const Status s = acc->Charge(0.01, 0.0);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("10 releases"), std::string::npos) << s.message();
  EXPECT_EQ(acc->releases(), 10u) << "a refused release charges nothing";
  EXPECT_FALSE(PrivacyAccountant::Create(0, 0).ok());
  EXPECT_FALSE(PrivacyAccountant::Create(1, 1).ok());
  auto delta_only = PrivacyAccountant::Create(5.0, 0.0);
  ASSERT_TRUE(delta_only.ok());
  EXPECT_EQ(delta_only->Charge(0.1, 1e-9).code(), StatusCode::kResourceExhausted);
}

PatternObservation Observation(double gain, uint64_t samples) {
  PatternObservation o;
  o.fingerprint = 0xfeed;
  o.embedding = {0.25f, -0.5f, 1.0f};
  o.arm = "no_nestloop";
  o.gain = gain;
  o.samples = samples;
  return o;
}

TEST(PrivacyTest, PrivatizedPatternCarriesStructureAndNoisyNumbers) {
  Rng rng(kSeed + 2);
  SeededNoiseSource src(&rng);
  auto acc = PrivacyAccountant::Create(1e5, 0.0);
  ASSERT_TRUE(acc.ok());
  PrivacyOptions opt;
  opt.per_release = {NoiseMechanism::kLaplace, 1.0, 0.0};
  opt.min_samples = 100;
  const int n = 4000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    auto p = PrivatizePattern(Observation(0.3, 500), opt, src, &*acc);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->fingerprint, 0xfeedu);
    EXPECT_EQ(p->arm, "no_nestloop");
    EXPECT_EQ(p->embedding.size(), 3u);
    EXPECT_EQ(p->privacy.epsilon, 0.5);
    EXPECT_DOUBLE_EQ(p->gain_sensitivity, 2.0 / 100);
    EXPECT_GE(p->noisy_gain, -1.0);
    EXPECT_LE(p->noisy_gain, 1.0);
    EXPECT_GE(p->noisy_samples, 0.0);
    sum += p->noisy_gain;
    sum2 += (p->noisy_gain - 0.3) * (p->noisy_gain - 0.3);
  }
  // Laplace scale b = (2 / 100) / 0.5 = 0.04: variance 2 b^2 around the truth.
  EXPECT_NEAR(sum / n, 0.3, 0.01);
  EXPECT_NEAR(sum2 / n / (2 * 0.04 * 0.04), 1.0, 0.1);
  EXPECT_EQ(acc->releases(), static_cast<uint64_t>(n));
  EXPECT_NEAR(acc->epsilon_spent(), n * 1.0, 1e-6);
}

TEST(PrivacyTest, QueryConstantsInTheEmbeddingAreRedacted) {
  Rng rng(kSeed + 5);
  SeededNoiseSource src(&rng);
  auto acc = PrivacyAccountant::Create(10.0, 0.0);
  ASSERT_TRUE(acc.ok());
  PatternObservation o = Observation(0.3, 500);
  o.embedding.assign(256, 0.5f);
  auto p = PrivatizePattern(o, PrivacyOptions{}, src, &*acc);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (size_t i = 0; i < 256; ++i) {
    EXPECT_EQ(p->embedding[i], (i == 66 || i == 162) ? 0.0f : 0.5f) << i;
  }
}

TEST(PrivacyTest, ReleasesAreRefusedWithoutSpendingBudget) {
  Rng rng(kSeed + 3);
  SeededNoiseSource src(&rng);
  auto acc = PrivacyAccountant::Create(0.25, 0.0);
  ASSERT_TRUE(acc.ok());
  PrivacyOptions opt;  // Laplace, epsilon 0.1 per release
  EXPECT_EQ(PrivatizePattern(Observation(0.3, 99), opt, src, &*acc).status().code(),
            StatusCode::kFailedPrecondition) << "fewer executions than min_samples";
  PatternObservation bad_arm = Observation(0.3, 500);
  bad_arm.arm = "SET work_mem TO '1GB'; DROP TABLE t";
  EXPECT_EQ(PrivatizePattern(bad_arm, opt, src, &*acc).status().code(), StatusCode::kInvalidArgument);
  PatternObservation nan_embedding = Observation(0.3, 500);
  nan_embedding.embedding[1] = NAN;
  EXPECT_FALSE(PrivatizePattern(nan_embedding, opt, src, &*acc).ok());
  EXPECT_EQ(acc->releases(), 0u);
  ASSERT_TRUE(PrivatizePattern(Observation(0.3, 500), opt, src, &*acc).ok());
  ASSERT_TRUE(PrivatizePattern(Observation(0.3, 500), opt, src, &*acc).ok());
  EXPECT_EQ(PrivatizePattern(Observation(0.3, 500), opt, src, &*acc).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(acc->releases(), 2u);
}

TEST(PrivacyTest, GaussianReleaseSplitsDelta) {
  Rng rng(kSeed + 4);
  SeededNoiseSource src(&rng);
  auto acc = PrivacyAccountant::Create(1.0, 1e-5);
  ASSERT_TRUE(acc.ok());
  PrivacyOptions opt;
  opt.per_release = {NoiseMechanism::kGaussian, 0.5, 2e-6};
  auto p = PrivatizePattern(Observation(0.1, 1000), opt, src, &*acc);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->privacy.mechanism, NoiseMechanism::kGaussian);
  EXPECT_DOUBLE_EQ(p->privacy.delta, 1e-6);
  EXPECT_DOUBLE_EQ(acc->delta_spent(), 2e-6);
}

TEST(PayloadTest, ProposalAndVoteRoundTripAndRejectBadInput) {
  PatternProposal p;
  p.fingerprint = 42;
  p.embedding = {1.5f, -2.0f};
  p.arm = "hash_only";
  p.noisy_gain = 0.2;
  p.noisy_samples = 120.5;
  p.privacy = {NoiseMechanism::kLaplace, 0.05, 0.0};
  p.gain_sensitivity = 0.02;
  auto back = DecodeProposal(EncodeProposal(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->embedding, p.embedding);
  EXPECT_EQ(back->arm, p.arm);
  EXPECT_EQ(back->noisy_samples, p.noisy_samples);
  Bytes enc = EncodeProposal(p);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    EXPECT_FALSE(DecodeProposal(ByteView(enc.data(), cut)).ok()) << cut;
  }
  PatternProposal bad = p;
  bad.noisy_samples = -1;
  EXPECT_FALSE(DecodeProposal(EncodeProposal(bad)).ok());
  bad = p;
  bad.privacy.delta = 0.5;
  EXPECT_FALSE(DecodeProposal(EncodeProposal(bad)).ok());
  bad = p;
  bad.embedding.assign(kMaxEmbeddingDims + 1, 0.0f);
  EXPECT_FALSE(DecodeProposal(EncodeProposal(bad)).ok());

  Vote v;
  v.proposal = MakeProposalId(NodeId{}, 42, "hash_only");
  v.verdict = Verdict::kRefute;
  v.local_gain = -0.3;
  v.local_samples = 77;
  auto vb = DecodeVote(EncodeVote(v));
  ASSERT_TRUE(vb.ok());
  EXPECT_EQ(vb->proposal, v.proposal);
  EXPECT_EQ(vb->verdict, Verdict::kRefute);
  EXPECT_EQ(vb->local_samples, 77u);
  Bytes ve = EncodeVote(v);
  ve[1 + 32 + 32] = 9;
  EXPECT_FALSE(DecodeVote(ve).ok());
  EXPECT_NE(MakeProposalId(NodeId{}, 42, "hash_only"), MakeProposalId(NodeId{}, 43, "hash_only"));
}

}  // namespace
}  // namespace ruvector_dag::sync
