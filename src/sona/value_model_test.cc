#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "ruvector_dag/sona.h"
#include "sona/internal/sim_env.h"

namespace ruvector_dag {
namespace {

struct Example {
  PlanEmbedding x;
  uint32_t arm;
  double y;  // noiseless target
  double reference = std::nan("");  // the default's measured log-latency, when known
};

// A learnable synthetic relation (test harness): log-latency grows with the
// plan's summed cost; arm 1 helps join-heavy plans, arm 2 hurts them.
double TrueLogLatency(const sim::PlanTruth& t, uint32_t arm, int family) {
  double y = 0.35 * t.log_cost + 0.1 * t.log_rows;
  if (arm == 1) y -= 1.2 * t.join_share;
  if (arm == 2) y += 0.8 * t.join_share;
  // Family B reacts the opposite way to cost (a conflicting pattern that
  // shares the cost features with family A).
  if (family == 1) y = 7.0 - 0.35 * t.log_cost + 0.3 * arm;
  return y;
}

std::vector<Example> MakeExamples(int family, size_t count, uint64_t seed) {
  Featurizer f;
  Rng rng(seed);
  std::vector<Example> out;
  for (size_t i = 0; i < count; ++i) {
    const QueryDag dag = sim::FamilyPlan(family, 4 + rng.Uniform(30), rng.Next());
    Example ex;
    EXPECT_TRUE(f.Featurize(dag, {}, &ex.x).ok());
    ex.arm = static_cast<uint32_t>(rng.Uniform(3));
    ex.y = TrueLogLatency(sim::TruthOf(dag), ex.arm, family);
    out.push_back(ex);
  }
  return out;
}

double Mse(const ValueModel& m, const std::vector<Example>& data) {
  double s = 0.0;
  for (const Example& ex : data) {
    const double d = m.Predict(ex.x, ex.arm).value() - ex.y;
    s += d * d;
  }
  return s / static_cast<double>(data.size());
}

void Train(ValueModel* m, const std::vector<Example>& data, int epochs, uint64_t seed) {
  Rng rng(seed);
  for (int e = 0; e < epochs; ++e) {
    for (size_t i = 0; i < data.size(); ++i) {
      const Example& ex = data[rng.Uniform(data.size())];
      const double noisy = ex.y + rng.Gaussian() * 0.1;
      ASSERT_TRUE(m->TrainStep(ex.x, ex.arm, noisy, 1.0, ex.reference).ok());
      ASSERT_TRUE(m->Adapt(ex.x, ex.arm, noisy, 1.0, ex.reference).ok());
    }
  }
}

TEST(ValueModelTest, RejectsBadOptionsAndArms) {
  ValueModelOptions o;
  o.hidden = 0;
  EXPECT_EQ(ValueModel::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = {};
  o.fisher_decay = 0;
  EXPECT_EQ(ValueModel::Create(o).status().code(), StatusCode::kInvalidArgument);
  ValueModel m = ValueModel::Create().value();
  PlanEmbedding x{};
  EXPECT_EQ(m.Predict(x, 16).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(m.Adapt(x, 0, std::nan("")).status().code(), StatusCode::kInvalidArgument);
  std::vector<double> too_many(17);
  EXPECT_EQ(m.PredictArms(x, too_many).code(), StatusCode::kOutOfRange);
}

TEST(ValueModelTest, TheLoraRankShapesTheAdapters) {
  ValueModelOptions o;
  o.lora_rank = 0;
  EXPECT_EQ(ValueModel::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.lora_rank = 9;
  EXPECT_EQ(ValueModel::Create(o).status().code(), StatusCode::kInvalidArgument);
  // Each rank adds one row of A_t (256) and of B_t (hidden) per operator type.
  o.lora_rank = 2;
  const size_t rank2 = ValueModel::Create(o).value().parameter_count();
  o.lora_rank = 5;
  ValueModel m5 = ValueModel::Create(o).value();
  EXPECT_EQ(m5.parameter_count() - rank2, 3 * kOperatorTypeCount * (kEmbeddingDim + o.hidden));
  // A rank-5 model learns (its adapters take real steps).
  const auto data = MakeExamples(0, 1, 9);
  const double before = Mse(m5, data);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m5.Adapt(data[0].x, data[0].arm, data[0].y).ok());
  EXPECT_LT(Mse(m5, data), 0.01 * before + 1e-4);
  // Restoring an image of another rank is refused.
  o.lora_rank = 2;
  ValueModel m2 = ValueModel::Create(o).value();
  EXPECT_EQ(m2.RestoreState(m5.SaveState(), 1, false).code(), StatusCode::kInvalidArgument);
}

TEST(ValueModelTest, TheLearningRateAndEwcLambdaChangeTheStep) {
  // One TrainStep moves the prediction by an amount that grows with the rate;
  // after Consolidate a larger lambda keeps it nearer the anchor.
  const auto data = MakeExamples(0, 1, 9);
  auto moved = [&](double rate, double lambda, bool consolidate) {
    ValueModelOptions o;
    o.base_learning_rate = rate;
    o.ewc_lambda = lambda;
    ValueModel m = ValueModel::Create(o).value();
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(m.TrainStep(data[0].x, data[0].arm, data[0].y + 1.0).ok());
    if (consolidate) m.Consolidate();
    const double before = m.Predict(data[0].x, data[0].arm).value();
    EXPECT_TRUE(m.TrainStep(data[0].x, data[0].arm, before + 2.0).ok());
    return m.Predict(data[0].x, data[0].arm).value() - before;
  };
  EXPECT_GT(moved(0.02, 0.0, false), 1.5 * moved(0.01, 0.0, false));
  EXPECT_LT(moved(0.01, 1e6, true), 0.5 * moved(0.01, 0.0, true));
}

TEST(ValueModelTest, SetLearningRatesChangesLaterStepsAndRefusesBadRates) {
  // Two identical models; one's rate doubled after some training: its next
  // step moves the prediction about twice as far.
  const auto data = MakeExamples(0, 1, 9);
  ValueModel a = ValueModel::Create({}).value(), b = ValueModel::Create({}).value();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(a.TrainStep(data[0].x, data[0].arm, data[0].y + 1.0).ok());
    ASSERT_TRUE(b.TrainStep(data[0].x, data[0].arm, data[0].y + 1.0).ok());
  }
  EXPECT_EQ(b.SetLearningRates(0.0, 0.04).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.SetLearningRates(0.02, NAN).code(), StatusCode::kInvalidArgument);
  EXPECT_DOUBLE_EQ(b.options().base_learning_rate, 0.01) << "a refused change changes nothing";
  ASSERT_TRUE(b.SetLearningRates(0.02, 0.04).ok());
  EXPECT_DOUBLE_EQ(b.options().adapter_learning_rate, 0.04);
  const double before = a.Predict(data[0].x, data[0].arm).value();
  ASSERT_DOUBLE_EQ(before, b.Predict(data[0].x, data[0].arm).value());
  ASSERT_TRUE(a.TrainStep(data[0].x, data[0].arm, before + 2.0).ok());
  ASSERT_TRUE(b.TrainStep(data[0].x, data[0].arm, before + 2.0).ok());
  const double moved_a = a.Predict(data[0].x, data[0].arm).value() - before;
  const double moved_b = b.Predict(data[0].x, data[0].arm).value() - before;
  EXPECT_GT(moved_b, 1.5 * moved_a);
}

TEST(ValueModelTest, PredictArmsMatchesPredict) {
  ValueModel m = ValueModel::Create().value();
  const auto data = MakeExamples(0, 3, 5);
  std::vector<double> all(5);
  ASSERT_TRUE(m.PredictArms(data[0].x, all).ok());
  for (uint32_t a = 0; a < 5; ++a) EXPECT_NEAR(all[a], m.Predict(data[0].x, a).value(), 1e-5);
}

// Arms are measured unevenly: the explorer tries an arm on some plans and
// not on others. Arm 1 here makes every plan 0.3 nats faster but is measured
// only on 30 of the cheapest quarter's plans, each with the default's
// measured latency of that plan; the default is measured everywhere. On the
// expensive plans, which arm 1 never ran, its predicted effect must be the
// one it showed, not the cheap plans' latency level, and not the default
// model's error on the cheap plans either.
TEST(ValueModelTest, AnArmMeasuredOnCheapPlansOnlyKeepsItsEffectElsewhere) {
  Featurizer f;
  Rng rng(37);
  std::vector<Example> plans;  // the default's (noiseless) latency of each plan
  for (size_t i = 0; i < 600; ++i) {
    const QueryDag dag = sim::FamilyPlan(0, 4 + rng.Uniform(30), rng.Next());
    Example ex;
    ASSERT_TRUE(f.Featurize(dag, {}, &ex.x).ok());
    ex.arm = 0;
    ex.y = TrueLogLatency(sim::TruthOf(dag), 0, 0);
    plans.push_back(ex);
  }
  std::vector<double> levels;
  for (const Example& ex : plans) levels.push_back(ex.y);
  std::sort(levels.begin(), levels.end());
  const double cheap = levels[levels.size() / 4], expensive = levels[3 * levels.size() / 4];
  for (int epochs : {1, 3, 8}) {
    std::vector<Example> train, expensive_plans;
    int arm_runs = 0;
    for (const Example& ex : plans) {
      train.push_back(ex);
      if (ex.y <= cheap && arm_runs < 30) {
        ++arm_runs;
        train.push_back(Example{ex.x, 1, ex.y - 0.3, ex.y + 0.05 * rng.Gaussian()});
      }
      if (ex.y >= expensive) expensive_plans.push_back(ex);
    }
    ValueModel m = ValueModel::Create().value();
    Train(&m, train, epochs, 41);
    double offset = 0.0;
    for (const Example& ex : expensive_plans) {
      offset += m.Predict(ex.x, 1).value() - m.Predict(ex.x, 0).value();
    }
    offset /= static_cast<double>(expensive_plans.size());
    printf("%d epochs: arm 1 predicted at %+.3f of the default on the expensive plans (true -0.3)\n", epochs, offset);
    EXPECT_NEAR(offset, -0.3, 0.2) << epochs << " epochs; cheap quartile up to " << cheap << ", expensive from "
                                   << expensive;
  }
}

TEST(ValueModelTest, HeldOutErrorFallsAsTrajectoriesAccumulate) {
  ValueModel m = ValueModel::Create().value();
  const auto train = MakeExamples(0, 400, 1);
  const auto held_out = MakeExamples(0, 200, 2);
  std::vector<double> curve = {Mse(m, held_out)};
  for (int round = 0; round < 6; ++round) {
    Train(&m, train, 1, 100 + round);
    curve.push_back(Mse(m, held_out));
  }
  std::printf("held-out MSE curve:");
  for (double v : curve) std::printf(" %.4f", v);
  std::printf("\n");
  EXPECT_LT(curve.back(), 0.1 * curve.front());
  EXPECT_LT(curve.back(), curve[1]);
  // Better than predicting the mean of the targets.
  double mean = 0.0, var = 0.0;
  for (const auto& ex : held_out) mean += ex.y;
  mean /= static_cast<double>(held_out.size());
  for (const auto& ex : held_out) var += (ex.y - mean) * (ex.y - mean);
  var /= static_cast<double>(held_out.size());
  EXPECT_LT(curve.back(), 0.5 * var);
}

TEST(ValueModelTest, AdaptAloneReducesErrorOnOnePattern) {
  // MicroLoRA steps (adapters + arm head only) must learn by themselves.
  ValueModel m = ValueModel::Create().value();
  const auto data = MakeExamples(0, 1, 9);
  const double before = Mse(m, data);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.Adapt(data[0].x, data[0].arm, data[0].y).ok());
  EXPECT_LT(Mse(m, data), 0.01 * before + 1e-4);
}

struct ShiftResult {
  double a_before = 0, a_after = 0, b_initial = 0, b_after = 0;
};

ShiftResult RunShift(double lambda) {
  ValueModelOptions o;
  o.ewc_lambda = lambda;
  ValueModel m = ValueModel::Create(o).value();
  const auto a_train = MakeExamples(0, 300, 11), a_test = MakeExamples(0, 150, 12);
  const auto b_train = MakeExamples(1, 300, 13), b_test = MakeExamples(1, 150, 14);
  ShiftResult r;
  Train(&m, a_train, 6, 21);
  r.a_before = Mse(m, a_test);
  m.Consolidate();
  r.b_initial = Mse(m, b_test);
  Train(&m, b_train, 6, 22);
  r.a_after = Mse(m, a_test);
  r.b_after = Mse(m, b_test);
  return r;
}

TEST(ValueModelTest, EwcRetainsTheOldWorkloadAfterAShift) {
  const ShiftResult with = RunShift(5000.0);
  const ShiftResult without = RunShift(0.0);
  std::printf("EWC on : A before %.4f after %.4f | B initial %.4f after %.4f\n", with.a_before,
              with.a_after, with.b_initial, with.b_after);
  std::printf("EWC off: A before %.4f after %.4f | B initial %.4f after %.4f\n", without.a_before,
              without.a_after, without.b_initial, without.b_after);
  // Same seed, same data: identical before the shift.
  EXPECT_DOUBLE_EQ(with.a_before, without.a_before);
  // EWC keeps A's error clearly lower than plain training does.
  EXPECT_LT(with.a_after, 0.5 * without.a_after);
  // Retention: A's error stays within 20 % of its pre-shift value (plus a
  // small absolute floor for near-zero errors).
  EXPECT_LE(with.a_after, 1.2 * with.a_before + 0.01);
  // B is still learned with EWC on, not much worse than without EWC.
  EXPECT_LT(with.b_after, 0.5 * with.b_initial);
  EXPECT_LT(with.b_after, 2.0 * without.b_after);
}

}  // namespace
}  // namespace ruvector_dag
