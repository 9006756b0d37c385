#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ruvector_dag/sona.h"
#include "sona/internal/binary_io.h"

namespace ruvector_dag {
namespace {

constexpr uint32_t kBanditMagic = 0x44425652u;  // "RVBD"
// Version 2 adds the timeout-retry state (per arm: censored streak,
// retirement; per bandit: the observation counter and timeout_retry_after).
constexpr uint32_t kBanditVersion = 2;

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Student-t quantile with `df` degrees of freedom at the normal quantile z
// (Cornish-Fisher expansion; slightly conservative for small df).
double StudentT(double z, double df) {
  if (!(df > 0.0)) return z;
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;
  return z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df) +
         (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df * df * df);
}

// Calls f on the newest k observations of a ring of w slots whose next
// write position is head, newest first (the order of At(arm, 0..k-1)),
// without a modulo per element.
template <typename Obs, typename F>
void ForNewest(const Obs* ring, uint32_t w, uint32_t head, uint32_t k, F f) {
  const uint32_t before_head = std::min(k, head);
  for (uint32_t i = 0; i < before_head; ++i) f(ring[head - 1 - i]);
  for (uint32_t i = 0; i < k - before_head; ++i) f(ring[w - 1 - i]);
}

}  // namespace

std::string_view BanditActionName(BanditAction action) {
  switch (action) {
    case BanditAction::kServe: return "serve";
    case BanditAction::kExplore: return "explore";
    case BanditAction::kBaselineCheck: return "baseline_check";
  }
  return "unknown";
}

Status ValidateBanditOptions(const BanditOptions& o) {
  if (o.num_arms < 2 || o.num_arms > 64) {
    return Status::InvalidArgument("BanditOptions.num_arms must be in [2, 64], got " +
                                   std::to_string(o.num_arms));
  }
  if (o.window < 8 || o.window > 256) {
    return Status::InvalidArgument("BanditOptions.window must be in [8, 256], got " +
                                   std::to_string(o.window));
  }
  if (o.min_runs < 2 || o.min_runs > o.window) {
    return Status::InvalidArgument("BanditOptions.min_runs must be in [2, window], got " +
                                   std::to_string(o.min_runs));
  }
  if (o.max_explore_runs < o.min_runs) {
    return Status::InvalidArgument("BanditOptions.max_explore_runs must be >= min_runs");
  }
  if (!(o.confidence_z > 0) || !std::isfinite(o.confidence_z)) {
    return Status::InvalidArgument("BanditOptions.confidence_z must be > 0");
  }
  if (!(o.min_improvement >= 0) || !std::isfinite(o.min_improvement)) {
    return Status::InvalidArgument("BanditOptions.min_improvement must be >= 0");
  }
  if (!(o.sd_floor > 0) || !std::isfinite(o.sd_floor)) {
    return Status::InvalidArgument("BanditOptions.sd_floor must be > 0");
  }
  if (o.monitor_window < 2 || o.monitor_window > o.window) {
    return Status::InvalidArgument("BanditOptions.monitor_window must be in [2, window], got " +
                                   std::to_string(o.monitor_window));
  }
  if (!(o.revert_z >= 0) || !std::isfinite(o.revert_z)) {
    return Status::InvalidArgument("BanditOptions.revert_z must be >= 0");
  }
  return Status::Ok();
}

Result<PatternBandit> PatternBandit::Create(const BanditOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateBanditOptions(options));
  return PatternBandit(options);
}

PatternBandit::PatternBandit(const BanditOptions& options)
    : options_(options),
      obs_(static_cast<size_t>(options.num_arms) * options.window),
      arms_(options.num_arms) {
  order_.reserve(options_.num_arms - 1);
  for (uint32_t a = 1; a < options_.num_arms; ++a) order_.push_back(a);
  RefreshBaseline();
}

PatternBandit::Obs& PatternBandit::At(uint32_t arm, uint32_t i) {
  const uint32_t w = options_.window;
  return obs_[static_cast<size_t>(arm) * w + (arms_[arm].head + w - 1 - i) % w];
}
const PatternBandit::Obs& PatternBandit::At(uint32_t arm, uint32_t i) const {
  const uint32_t w = options_.window;
  return obs_[static_cast<size_t>(arm) * w + (arms_[arm].head + w - 1 - i) % w];
}

void PatternBandit::Stats(uint32_t arm, uint32_t last, double* mean, double* var, uint32_t* n,
                          uint32_t* censored, double censored_floor) const {
  if (arm == 0 && last >= options_.window && censored_floor == -std::numeric_limits<double>::infinity()) {
    *mean = baseline_.mean;
    *var = baseline_.var;
    *n = baseline_.n;
    *censored = baseline_.censored;
    return;
  }
  ComputeStats(arm, last, mean, var, n, censored, censored_floor);
}

void PatternBandit::RefreshBaseline() {
  ComputeStats(0, options_.window, &baseline_.mean, &baseline_.var, &baseline_.n, &baseline_.censored,
               -std::numeric_limits<double>::infinity());
}

void PatternBandit::ComputeStats(uint32_t arm, uint32_t last, double* mean, double* var, uint32_t* n,
                                 uint32_t* censored, double censored_floor) const {
  const uint32_t w = options_.window;
  const uint32_t k = std::min(last, arms_[arm].count);
  const Obs* ring = obs_.data() + static_cast<size_t>(arm) * w;
  const uint32_t head = arms_[arm].head;
  // Arm 0 is the baseline every candidate must beat: its high outliers are
  // capped at median + 3 * 1.4826 * MAD, which can only lower its mean and
  // so only make candidates look less good (a candidate keeps its tails).
  float cap = std::numeric_limits<float>::infinity();
  if (arm == 0 && k >= 4) {
    float buf[256];
    uint32_t j = 0;
    ForNewest(ring, w, head, k, [&](const Obs& o) { buf[j++] = o.log_ms; });
    std::nth_element(buf, buf + k / 2, buf + k);
    const float median = buf[k / 2];
    for (uint32_t i = 0; i < k; ++i) buf[i] = std::abs(buf[i] - median);
    std::nth_element(buf, buf + k / 2, buf + k);
    const float mad = buf[k / 2];
    cap = median + 3.0f * 1.4826f * std::max(mad, static_cast<float>(options_.sd_floor));
  }
  auto value = [&](const Obs& o) {
    const double v = std::min(o.log_ms, cap);
    return o.censored != 0 ? std::max(v, censored_floor) : v;
  };
  double s = 0.0, s2 = 0.0;
  uint32_t c = 0;
  ForNewest(ring, w, head, k, [&](const Obs& o) {
    s += value(o);
    c += o.censored;
  });
  const double m = k > 0 ? s / k : 0.0;
  ForNewest(ring, w, head, k, [&](const Obs& o) {
    const double d = value(o) - m;
    s2 += d * d;
  });
  const double floor = options_.sd_floor * options_.sd_floor;
  *mean = m;
  *var = std::max(floor, k > 1 ? s2 / (k - 1) : floor);
  *n = k;
  *censored = c;
}

// Lower bound of gain = mean_0 - mean_arm at `z` (Welch standard error).
// -inf when either side has fewer than min_runs runs.
double PatternBandit::ImprovementLcb(uint32_t arm, double z, double* gain, double* se,
                                     double censored_floor) const {
  double m0, v0, ma, va;
  uint32_t n0, na, c0, ca;
  Stats(0, options_.window, &m0, &v0, &n0, &c0);
  Stats(arm, options_.window, &ma, &va, &na, &ca, censored_floor);
  *gain = 0.0;
  *se = 0.0;
  if (n0 < MinRuns(arm) || na < MinRuns(arm)) return -std::numeric_limits<double>::infinity();
  *gain = m0 - ma;
  // A handful of runs often underestimates an arm's variance badly. Arms of
  // one pattern share most of their noise (the machine, the cache, the
  // data), so the candidate's variance is shrunk toward arm 0's with a prior
  // weight of min_runs runs -- only ever upward (docs/sona.md).
  const double kappa = options_.min_runs;
  va = std::max(va, (na * va + kappa * v0) / (na + kappa));
  const double q0 = v0 / n0, qa = va / na;
  *se = std::sqrt(q0 + qa);
  // Welch-Satterthwaite degrees of freedom: small samples widen the bound.
  const double df = (q0 + qa) * (q0 + qa) / (q0 * q0 / (n0 - 1) + qa * qa / (na - 1));
  return *gain - StudentT(z, df) * *se;
}

// An arm retired by timeouts is tried again once timeout_retry_after
// observations of the pattern went by, doubled per consecutive censored run
// beyond the first: the load that caused them may be gone, and the host
// gives the retry a longer timeout (ArmSummary::censored_streak). An arm
// that keeps timing out costs geometrically fewer runs.
bool PatternBandit::RetryDue(uint32_t arm) const {
  const ArmState& s = arms_[arm];
  if (!s.timeout_retired || options_.timeout_retry_after == 0) return false;
  const uint32_t doublings = std::min<uint32_t>(s.censored_streak > 0 ? s.censored_streak - 1 : 0, 6);
  const uint64_t wait = static_cast<uint64_t>(options_.timeout_retry_after) << doublings;
  return observations_ - s.retired_at >= wait;
}

bool PatternBandit::Explorable(uint32_t arm) const {
  if (arm == 0 || arm == deployed_ || arm >= options_.num_arms) return false;
  if (arm < 64 && ((skipped_ >> arm) & 1) != 0) return false;
  const ArmState& s = arms_[arm];
  if (RetryDue(arm)) return true;
  if (s.rejected) {
    return options_.reexplore_after > 0 && runs_ - s.rejected_at >= options_.reexplore_after;
  }
  return s.since_reset < options_.max_explore_runs;
}

void PatternBandit::Retire(uint32_t arm, bool by_timeouts) {
  ArmState& s = arms_[arm];
  s.rejected = true;
  s.rejected_at = runs_;
  s.timeout_retired = by_timeouts;
  s.retired_at = observations_;
}

// A rejected arm chosen again (cool-down over, or a timeout retry due) is
// measured afresh: its old window is from another regime.
void PatternBandit::ReviveIfDue(uint32_t arm) {
  if (arm == 0 || arm >= options_.num_arms || arm == deployed_) return;
  ArmState& s = arms_[arm];
  const bool due = RetryDue(arm) ||
                   (s.rejected && options_.reexplore_after > 0 && runs_ - s.rejected_at >= options_.reexplore_after);
  if (!due) return;
  s.rejected = false;
  s.timeout_retired = false;
  s.count = 0;
  s.since_reset = 0;
}

// An arm whose measurement started (some but fewer than min_runs runs since
// its reset, the last one completed) is finished first: hosts re-order the
// arms as their value model learns, and starting the new favourite each time
// would leave every arm half measured and none decided. Then candidates get
// min_runs each, in exploration order; after that the explorable arm with
// the highest upper bound on its gain is measured (optimism: the arm most
// likely to turn out faster). An arm whose last run timed out waits its turn
// in the order (its retry costs a longer timeout).
bool PatternBandit::Started(uint32_t arm) const {
  if (arm == 0 || arm >= options_.num_arms) return false;
  const ArmState& s = arms_[arm];
  return !s.rejected && !RetryDue(arm) && s.since_reset > 0 && s.since_reset < MinRuns(arm) && s.censored_streak == 0;
}

uint32_t PatternBandit::DefaultRunsWanted(uint32_t* arm) const {
  if (arm != nullptr) *arm = 0;
  if (deployed_ != 0) return 0;
  double m0, v0;
  uint32_t n0, c0;
  Stats(0, options_.window, &m0, &v0, &n0, &c0);
  if (n0 == 0) return 0;
  uint32_t wanted = 0;
  double best_gain = kPromisingGain;
  for (uint32_t a = 1; a < options_.num_arms; ++a) {
    const ArmState& s = arms_[a];
    if (s.rejected || n0 >= MinRuns(a)) continue;
    double ma, va;
    uint32_t na, ca;
    Stats(a, options_.window, &ma, &va, &na, &ca);
    if (ca > 0 || na < MinRuns(a) || !(m0 - ma > best_gain)) continue;
    best_gain = m0 - ma;
    wanted = MinRuns(a) - n0;
    if (arm != nullptr) *arm = a;
  }
  return wanted;
}

int32_t PatternBandit::NextExploration() const {
  for (uint32_t a : order_) {
    if (Explorable(a) && Started(a)) return static_cast<int32_t>(a);
  }
  // The prior's arm (similar plans deployed it), once its runs show it at
  // least kPromisingGain faster than the default but not yet deployable, is
  // measured to its verdict before another arm is started: a few more runs
  // of a likely winner cost less than min_runs of each other arm, and deploy
  // it sooner (or show that the gain was noise: then it drops out here). The
  // deployment test is unchanged.
  if (prior_ != 0 && Explorable(prior_)) {
    const ArmState& s = arms_[prior_];
    double m0, v0, ma, va;
    uint32_t n0, c0, na, ca;
    Stats(0, options_.window, &m0, &v0, &n0, &c0);
    Stats(prior_, options_.window, &ma, &va, &na, &ca);
    if (!s.rejected && !RetryDue(prior_) && s.since_reset >= MinRuns(prior_) && s.censored_streak == 0 && n0 > 0 &&
        na > 0 && ca == 0 && m0 - ma > kPromisingGain) {
      return static_cast<int32_t>(prior_);
    }
  }
  for (uint32_t a : order_) {
    if (Explorable(a) && (arms_[a].rejected || RetryDue(a) || arms_[a].since_reset < MinRuns(a))) {
      return static_cast<int32_t>(a);
    }
  }
  int32_t best = -1;
  double best_ucb = -std::numeric_limits<double>::infinity();
  for (uint32_t a : order_) {
    if (!Explorable(a)) continue;
    double gain, se;
    const double lcb = ImprovementLcb(a, options_.confidence_z, &gain, &se);
    const double ucb = std::isfinite(lcb) ? 2.0 * gain - lcb : std::numeric_limits<double>::max();
    if (best < 0 || ucb > best_ucb) {
      best = static_cast<int32_t>(a);
      best_ucb = ucb;
    }
  }
  return best;
}

BanditChoice PatternBandit::Choose(bool allow_explore) {
  ++runs_;
  if (deployed_ != 0 && options_.baseline_refresh_interval > 0 &&
      since_baseline_ >= options_.baseline_refresh_interval) {
    since_baseline_ = 0;
    return {0, BanditAction::kBaselineCheck};
  }
  ++since_baseline_;
  if (allow_explore) {
    const int32_t a = NextExploration();
    if (a >= 0) {
      ReviveIfDue(static_cast<uint32_t>(a));
      return {static_cast<uint32_t>(a), BanditAction::kExplore};
    }
  }
  return {deployed_, BanditAction::kServe};
}

void PatternBandit::SetExplorationOrder(std::span<const uint32_t> arms) {
  // Stable partition: listed arms first (in the given order), then the rest.
  size_t pos = 0;
  for (uint32_t a : arms) {
    if (a == 0 || a >= options_.num_arms) continue;
    auto it = std::find(order_.begin() + static_cast<std::ptrdiff_t>(pos), order_.end(), a);
    if (it == order_.end()) continue;  // duplicate in `arms`
    std::rotate(order_.begin() + static_cast<std::ptrdiff_t>(pos), it, it + 1);
    ++pos;
  }
}

void PatternBandit::Revert() {
  ArmState& s = arms_[deployed_];
  s.count = 0;
  s.since_reset = 0;
  s.rejected = true;
  s.rejected_at = runs_;
  s.timeout_retired = false;
  deployed_ = 0;
  ++reverts_;
}

Status PatternBandit::Observe(uint32_t arm, double latency_ms, bool censored) {
  if (arm >= options_.num_arms) {
    return Status::InvalidArgument("PatternBandit::Observe: arm " + std::to_string(arm) +
                                   " >= num_arms " + std::to_string(options_.num_arms));
  }
  if (!std::isfinite(latency_ms) || !(latency_ms > 0.0)) {
    return Status::InvalidArgument("PatternBandit::Observe: latency of arm " + std::to_string(arm) +
                                   " must be finite and > 0");
  }
  const double log_ms = std::log(latency_ms);
  // A host that only observes (no Choose) revives a due arm with its run.
  if (arm != 0) ReviveIfDue(arm);
  ++observations_;
  ArmState& s = arms_[arm];
  s.censored_streak = censored ? s.censored_streak + 1 : 0;
  Obs& slot = obs_[static_cast<size_t>(arm) * options_.window + s.head];
  slot.log_ms = static_cast<float>(log_ms);
  slot.censored = censored ? 1 : 0;
  s.head = (s.head + 1) % options_.window;
  s.count = std::min(s.count + 1, options_.window);
  ++s.since_reset;
  ++s.total;
  if (arm == 0) RefreshBaseline();
  Evaluate(arm, censored, log_ms);
  // Undecided after max_explore_runs with timeouts in its window: given up
  // for now, retried later (a load may have caused the timeouts).
  if (arm != 0 && arm != deployed_ && !s.rejected && s.since_reset >= options_.max_explore_runs) {
    for (uint32_t i = 0; i < s.count; ++i) {
      if (At(arm, i).censored != 0) {
        s.timeout_retired = true;
        s.retired_at = observations_;
        break;
      }
    }
  }
  return Status::Ok();
}

Status PatternBandit::CountUnobserved(uint32_t arm, uint64_t runs) {
  if (arm >= options_.num_arms) {
    return Status::InvalidArgument("PatternBandit::CountUnobserved: arm " + std::to_string(arm) +
                                   " >= num_arms " + std::to_string(options_.num_arms));
  }
  observations_ += runs;
  arms_[arm].total += runs;
  return Status::Ok();
}

Status PatternBandit::ObserveSamePlan(uint32_t arm, double bound_ms) {
  RUVECTOR_RETURN_IF_ERROR(Observe(arm, bound_ms, /*censored=*/true));
  if (arm != 0 && arm != deployed_ && !arms_[arm].rejected) Retire(arm, /*by_timeouts=*/true);
  return Status::Ok();
}

void PatternBandit::Evaluate(uint32_t observed, bool censored, double log_ms) {
  double m0, v0;
  uint32_t n0, c0;
  Stats(0, options_.window, &m0, &v0, &n0, &c0);

  // 1. Monitor the deployed arm against arm 0's recent baseline.
  if (deployed_ != 0 && n0 >= 2) {
    if (observed == deployed_ && censored && log_ms >= m0) {
      Revert();  // a timeout of the deployed arm at or above the baseline
    } else {
      double mr, vr;
      uint32_t nr, cr;
      Stats(deployed_, options_.monitor_window, &mr, &vr, &nr, &cr);
      if (nr >= 2) {
        const double se = std::sqrt(vr / nr + v0 / n0);
        if (mr - m0 - options_.revert_z * se > 0.0) Revert();
      }
    }
  }

  // 2. A censored candidate run is a lower bound, not a veto: the first one
  //    at or above the baseline may be the load's, and the host retries the
  //    arm with a longer timeout. A second consecutive one retires the arm
  //    for now, to be retried later (RetryDue) with a longer timeout still.
  if (observed != 0 && observed != deployed_ && censored && n0 >= 1 && log_ms >= m0 &&
      arms_[observed].censored_streak >= 2) {
    Retire(observed, /*by_timeouts=*/true);
  }

  // 3. Deploy the candidate with the best lower bound; reject the ones whose
  //    upper bound cannot clear the margin.
  const double z = options_.confidence_z;
  int32_t best = -1;
  double best_lcb = options_.min_improvement;
  double deployed_gain = -std::numeric_limits<double>::infinity();
  for (uint32_t a = 1; a < options_.num_arms; ++a) {
    ArmState& s = arms_[a];
    if (s.rejected || s.count < MinRuns(a)) continue;
    double ma, va;
    uint32_t na, ca;
    Stats(a, options_.window, &ma, &va, &na, &ca);
    // Peeking correction: the test runs after every observation, so the
    // bound widens slowly with the runs seen (docs/sona.md).
    const double z_eff = z + 0.5 * std::log(static_cast<double>(na) / MinRuns(a));
    // Censored runs at their bound underestimate the arm's latency, so this
    // bound's mirror image (2 gain - lcb) is a valid upper bound on the gain:
    // below the margin, the arm is proven slower.
    double gain, se;
    double lcb = ImprovementLcb(a, z_eff, &gain, &se);
    if (!std::isfinite(lcb)) continue;
    if (a == deployed_) deployed_gain = gain;
    if (2.0 * gain - lcb < options_.min_improvement && a != deployed_) {
      Retire(a, /*by_timeouts=*/ca > 0);
      continue;
    }
    if (ca > 0) {
      // Deployment needs confidence from completed runs: at least min_runs
      // of them and at most a third as many censored ones, with every
      // censored run counted as no faster than arm 0's mean (or its bound,
      // if higher) -- a cancelled run earns the arm no gain.
      const uint32_t completed = na - ca;
      if (completed < MinRuns(a) || 3 * ca > completed) continue;
      double pessimistic_gain, pessimistic_se;
      lcb = ImprovementLcb(a, z_eff, &pessimistic_gain, &pessimistic_se, m0);
      if (!std::isfinite(lcb)) continue;
    }
    if (lcb > best_lcb) {
      best_lcb = lcb;
      best = static_cast<int32_t>(a);
    }
  }
  // Replacing a deployed candidate takes confidence that the newcomer beats
  // it, not only the default: its lower bound must clear the deployed arm's
  // estimated gain by the margin (else two equivalent arms would flap).
  if (best > 0 && static_cast<uint32_t>(best) != deployed_ &&
      (deployed_ == 0 || best_lcb > deployed_gain + options_.min_improvement)) {
    deployed_ = static_cast<uint32_t>(best);
    since_baseline_ = 0;
    ++deployments_;
  }
}

void PatternBandit::NotifyDrift(double severity) {
  if (!(severity > 0.0)) return;
  severity = std::min(severity, 1.0);
  for (ArmState& s : arms_) {
    s.count = static_cast<uint32_t>(std::floor((1.0 - severity) * s.count));
    s.since_reset = s.count;
    s.rejected = false;
    s.timeout_retired = false;
  }
  RefreshBaseline();
  if (deployed_ != 0) {
    double gain, se;
    const double lcb = ImprovementLcb(deployed_, options_.confidence_z, &gain, &se);
    if (!(lcb > options_.min_improvement)) deployed_ = 0;
  }
}

void PatternBandit::ForgetArm(uint32_t arm) {
  if (arm == 0 || arm >= options_.num_arms) return;
  ArmState& s = arms_[arm];
  s.head = 0;
  s.count = 0;
  s.since_reset = 0;
  s.censored_streak = 0;
  s.rejected = false;
  s.timeout_retired = false;
  if (deployed_ == arm) deployed_ = 0;
}

double PatternBandit::Confidence() const {
  if (deployed_ != 0) {
    double gain, se;
    ImprovementLcb(deployed_, options_.confidence_z, &gain, &se);
    return se > 0.0 ? NormalCdf(gain / se) : 0.0;
  }
  double worst = 0.0;
  for (uint32_t a = 1; a < options_.num_arms; ++a) {
    double gain, se;
    const double lcb = ImprovementLcb(a, options_.confidence_z, &gain, &se);
    if (!std::isfinite(lcb) || se <= 0.0) continue;
    worst = std::max(worst, NormalCdf(gain / se));
  }
  return 1.0 - worst;
}

ArmSummary PatternBandit::Summary(uint32_t arm) const {
  ArmSummary out;
  out.arm = arm;
  if (arm >= options_.num_arms) return out;
  double m, v;
  uint32_t n, c;
  Stats(arm, options_.window, &m, &v, &n, &c);
  out.runs = n;
  out.censored = c;
  out.mean_log_ms = m;
  out.sd_log_ms = std::sqrt(v);
  if (arm != 0) {
    double gain, se;
    const double lcb = ImprovementLcb(arm, options_.confidence_z, &gain, &se);
    out.improvement_lcb = std::isfinite(lcb) ? lcb : 0.0;
  }
  out.rejected = arms_[arm].rejected;
  out.total_runs = arms_[arm].total;
  out.censored_streak = arms_[arm].censored_streak;
  out.timeout_retired = arms_[arm].timeout_retired;
  return out;
}

void PatternBandit::AppendTo(std::string* out) const {
  using namespace internal;
  PutU32(out, kBanditMagic);
  PutU32(out, kBanditVersion);
  const BanditOptions& o = options_;
  PutU32(out, o.num_arms);
  PutU32(out, o.window);
  PutU32(out, o.min_runs);
  PutU32(out, o.max_explore_runs);
  PutF64(out, o.confidence_z);
  PutF64(out, o.min_improvement);
  PutF64(out, o.sd_floor);
  PutU32(out, o.monitor_window);
  PutF64(out, o.revert_z);
  PutU32(out, o.baseline_refresh_interval);
  PutU32(out, o.reexplore_after);
  PutU32(out, o.timeout_retry_after);
  PutU64(out, observations_);
  PutU32(out, deployed_);
  PutU64(out, runs_);
  PutU64(out, since_baseline_);
  PutU64(out, deployments_);
  PutU64(out, reverts_);
  for (const ArmState& s : arms_) {
    PutU32(out, s.head);
    PutU32(out, s.count);
    PutU8(out, s.rejected ? 1 : 0);
    PutU64(out, s.rejected_at);
    PutU64(out, s.total);
    PutU32(out, s.since_reset);
    PutU32(out, s.censored_streak);
    PutU8(out, s.timeout_retired ? 1 : 0);
    PutU64(out, s.retired_at);
  }
  for (const Obs& ob : obs_) {
    PutF32(out, ob.log_ms);
    PutU8(out, ob.censored);
  }
  for (uint32_t a : order_) PutU32(out, a);
}

Result<PatternBandit> PatternBandit::Load(std::string_view data, size_t* offset) {
  internal::ByteReader r(data, offset);
  auto truncated = [] { return Status::DataLoss("bandit image is truncated"); };
  uint32_t magic, version;
  if (!r.U32(&magic) || !r.U32(&version)) return truncated();
  if (magic != kBanditMagic) return Status::DataLoss("bandit image has a bad magic number");
  // Version 1 images (before timeout retries) load with none pending.
  if (version != kBanditVersion && version != 1) {
    return Status::DataLoss("bandit image version " + std::to_string(version) + " is not supported");
  }
  BanditOptions o;
  if (!r.U32(&o.num_arms) || !r.U32(&o.window) || !r.U32(&o.min_runs) ||
      !r.U32(&o.max_explore_runs) || !r.F64(&o.confidence_z) || !r.F64(&o.min_improvement) ||
      !r.F64(&o.sd_floor) || !r.U32(&o.monitor_window) || !r.F64(&o.revert_z) ||
      !r.U32(&o.baseline_refresh_interval) || !r.U32(&o.reexplore_after)) {
    return truncated();
  }
  uint64_t observations = 0;
  if (version >= 2 && (!r.U32(&o.timeout_retry_after) || !r.U64(&observations))) return truncated();
  Status valid = ValidateBanditOptions(o);
  if (!valid.ok()) return Status::DataLoss("bandit image: " + valid.message());
  PatternBandit b(o);
  b.observations_ = observations;
  if (!r.U32(&b.deployed_) || !r.U64(&b.runs_) || !r.U64(&b.since_baseline_) ||
      !r.U64(&b.deployments_) || !r.U64(&b.reverts_)) {
    return truncated();
  }
  if (b.deployed_ >= o.num_arms) return Status::DataLoss("bandit image: deployed arm out of range");
  for (ArmState& s : b.arms_) {
    uint8_t rejected;
    if (!r.U32(&s.head) || !r.U32(&s.count) || !r.U8(&rejected) || !r.U64(&s.rejected_at) ||
        !r.U64(&s.total) || !r.U32(&s.since_reset)) {
      return truncated();
    }
    uint8_t retired = 0;
    if (version >= 2 && (!r.U32(&s.censored_streak) || !r.U8(&retired) || !r.U64(&s.retired_at))) {
      return truncated();
    }
    if (s.head >= o.window || s.count > o.window || rejected > 1 || retired > 1 || s.retired_at > observations) {
      return Status::DataLoss("bandit image: arm ring state out of range");
    }
    s.rejected = rejected == 1;
    s.timeout_retired = retired == 1;
  }
  for (Obs& ob : b.obs_) {
    if (!r.F32(&ob.log_ms) || !r.U8(&ob.censored)) return truncated();
    if (!std::isfinite(ob.log_ms) || ob.censored > 1) {
      return Status::DataLoss("bandit image: bad observation");
    }
  }
  std::vector<bool> seen(o.num_arms, false);
  for (uint32_t& a : b.order_) {
    if (!r.U32(&a)) return truncated();
    if (a == 0 || a >= o.num_arms || seen[a]) {
      return Status::DataLoss("bandit image: exploration order is not a permutation");
    }
    seen[a] = true;
  }
  b.RefreshBaseline();
  return b;
}

}  // namespace ruvector_dag
