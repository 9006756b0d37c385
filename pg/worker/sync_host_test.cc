// The PostgreSQL-free parts of the worker's pattern sync: the peers file,
// the portable pattern identity and the embedding match.
#include "worker/sync_host.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "ruvector_dag/sync.h"
#include "state/steer_state.h"

namespace ruvector_pg {
namespace {

namespace sync = ruvector_dag::sync;
using ruvector_dag::OperatorNode;
using ruvector_dag::OperatorType;
using ruvector_dag::QueryDag;

QueryDag JoinPlan(double rows) {
  QueryDag dag;
  OperatorNode scan_a;
  scan_a.type = OperatorType::kSeqScan;
  scan_a.relation = "rv_events";
  scan_a.estimated_rows = rows;
  OperatorNode scan_b = scan_a;
  OperatorNode join;
  join.type = OperatorType::kNestedLoop;
  join.estimated_rows = rows;
  const auto a = dag.AddNode(scan_a).value();
  const auto b = dag.AddNode(scan_b).value();
  const auto j = dag.AddNode(join).value();
  EXPECT_TRUE(dag.AddEdge(a, j).ok());
  EXPECT_TRUE(dag.AddEdge(b, j).ok());
  return dag;
}

TEST(SyncHostTest, PortableFingerprintIgnoresNamesAndFollowsShapeAndBucket) {
  const QueryDag one = JoinPlan(1.0);
  QueryDag renamed = JoinPlan(1.0);
  renamed.mutable_node(0)->relation = "another_name";  // names and OIDs are not part of it
  EXPECT_EQ(PortableFingerprint(one), PortableFingerprint(renamed));
  EXPECT_EQ(PortableFingerprint(one), PortableFingerprint(JoinPlan(1.2)));  // same bucket
  EXPECT_NE(PortableFingerprint(one), PortableFingerprint(JoinPlan(5000.0)));  // another bucket
  QueryDag hash_join = JoinPlan(1.0);
  hash_join.mutable_node(2)->type = OperatorType::kHashJoin;
  EXPECT_NE(PortableFingerprint(one), PortableFingerprint(hash_join));
  EXPECT_NE(PortableFingerprint(one), one.ShapeHash());
}

TEST(SyncHostTest, EmbeddingDistanceIgnoresRedactedEntries) {
  ruvector_dag::PlanEmbedding a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) * 0.1f;
  std::vector<float> b(a.begin(), a.end());
  EXPECT_DOUBLE_EQ(EmbeddingDistance(a, b, {}), 0.0);
  b[66] = 9.0f;  // a redacted entry (the LIMIT count)
  EXPECT_DOUBLE_EQ(EmbeddingDistance(a, b, {66, 162}), 0.0);
  EXPECT_GT(EmbeddingDistance(a, b, {}), kSameEmbeddingDistance);
  for (float& x : b) x *= 2.0f;
  EXPECT_GT(EmbeddingDistance(a, b, {66, 162}), kSameEmbeddingDistance);
  EXPECT_GT(EmbeddingDistance(a, std::vector<float>(3, 0.0f), {}), 1.0);  // wrong size never matches
}

TEST(SyncHostTest, PeersFileTakesCompactKeysAndNamesBadLines) {
  auto id = sync::NodeIdentity::Generate("peer-b").value();
  const std::string hex = sync::ToHex(id.info().Serialize());
  auto peers = ParsePeersFile("# comment\n\n  " + hex + "  \r\n");
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].name, "peer-b");
  EXPECT_EQ((*peers)[0].id, id.id());
  auto odd = ParsePeersFile("# a\n" + hex + "\nabc\n");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().ToString().find("line 3"), std::string::npos) << odd.status().ToString();
  auto bad_digit = ParsePeersFile("zz\n");
  ASSERT_FALSE(bad_digit.ok());
  EXPECT_NE(bad_digit.status().ToString().find("line 1"), std::string::npos);
  std::string flipped = hex;
  flipped[10] = flipped[10] == '0' ? '1' : '0';  // a changed key byte changes or breaks the entry
  auto changed = ParsePeersFile(flipped);
  EXPECT_TRUE(!changed.ok() || (*changed)[0].id != id.id());
  auto empty = ParsePeersFile("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(SyncHostTest, AnArmPlannedWithLocalContentIsNeverProposedTheBestPortableArmIs) {
  ruvector_dag::BanditOptions o;
  o.num_arms = kRowCorrectionsArm + 2;
  auto b = ruvector_dag::PatternBandit::Create(o).value();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Observe(0, 100.0 + i).ok());
  // Only the row-corrections arm measured: deployed, but nothing portable.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Observe(kRowCorrectionsArm, 10.0 + 0.1 * i).ok());
  ASSERT_EQ(b.deployed_arm(), static_cast<uint32_t>(kRowCorrectionsArm));
  EXPECT_EQ(PortableArm(b, kRowCorrectionsArm, o.num_arms), 0);
  EXPECT_EQ(StandInCandidate(b, kRowCorrectionsArm, o.num_arms), 0) << "no portable arm measured";
  // Two runs of arm 3 faster than the default, one of arm 4 slower: not
  // judged, but arm 3 is the one to measure further.
  ASSERT_TRUE(b.Observe(3, 60.0).ok());
  ASSERT_TRUE(b.Observe(3, 62.0).ok());
  ASSERT_TRUE(b.Observe(4, 150.0).ok());
  EXPECT_EQ(PortableArm(b, kRowCorrectionsArm, o.num_arms), 0);
  EXPECT_EQ(StandInCandidate(b, kRowCorrectionsArm, o.num_arms), 3);
  EXPECT_EQ(StandInCandidate(b, 3, o.num_arms), 0) << "a portable deployed arm needs no stand-in";
  // Two portable arms measured faster: the one with the better bound.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Observe(3, 50.0 + i).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Observe(2, 20.0 + 0.1 * i).ok());
  ASSERT_EQ(b.deployed_arm(), static_cast<uint32_t>(kRowCorrectionsArm));
  EXPECT_EQ(PortableArm(b, kRowCorrectionsArm, o.num_arms), 2);
  // An arm beyond the server's arm list is not proposed; a portable deployed arm is proposed as is.
  EXPECT_EQ(PortableArm(b, kRowCorrectionsArm, 2), 0);
  EXPECT_EQ(PortableArm(b, 3, o.num_arms), 3);
}

// --- the per-execution gains a proposal releases (GainTally) ----------------------------

std::unique_ptr<ruvector_dag::Engine> MakeEngine(uint32_t num_arms = 4) {
  ruvector_dag::EngineOptions o;
  o.num_arms = num_arms;
  o.bandit = ruvector_dag::PatternLearner::HostBanditOptions(num_arms);
  o.exploration_budget = 0.0;
  return ruvector_dag::Engine::Create(o).value();
}

ruvector_dag::PatternRun Run1(uint64_t key, int arm, double ms, int64_t at) {
  ruvector_dag::PatternRun r;
  r.pattern_key = key;
  r.query_id = key;
  r.arm = arm;
  r.latency_ms = ms;
  r.at_us = at;
  r.database_oid = 5;
  r.role_oid = 10;
  return r;
}

/// Learns `runs` in one pass and tallies them, as the worker's learning pass does.
void LearnAndTally(ruvector_dag::Engine* e, GainTally* tally, const std::vector<ruvector_dag::PatternRun>& runs) {
  ruvector_dag::HostLearnOutput out;
  ASSERT_TRUE(e->Learn(runs, {}, {}, &out).ok());
  tally->Observe(*e, runs);
}

TEST(SyncHostTest, TheTallyIsTheMeanOfClippedPerExecutionGainsOfCompletedRuns) {
  auto e = MakeEngine();
  GainTally tally;
  int64_t t = 0;
  const uint32_t min_runs = e->options().bandit.min_runs;
  // Runs of the arm while the default has fewer than min_runs runs: no reference, not tallied.
  std::vector<ruvector_dag::PatternRun> runs;
  for (uint32_t i = 0; i + 1 < min_runs; ++i) runs.push_back(Run1(1, 0, 1000.0, ++t));
  runs.push_back(Run1(1, 2, 100.0, ++t));
  LearnAndTally(e.get(), &tally, runs);
  EXPECT_EQ(tally.Find(1, 2), nullptr);
  // The default's geometric mean is the reference from now on.
  runs.clear();
  for (int i = 0; i < 20; ++i) runs.push_back(Run1(1, 0, 900.0 + 10.0 * (i % 3), ++t));
  LearnAndTally(e.get(), &tally, runs);
  ASSERT_GE(e->patterns().Bandit(1)->Summary(0).runs, min_runs);
  // Arm 2: fast runs, runs slower than twice the default (gain clipped at -1),
  // a timeout and a same-plan run (neither tallied), and arm 0's runs (never).
  runs.clear();
  std::vector<double> tallied_ms;
  for (int i = 0; i < 30; ++i) {
    const double ms = i % 10 == 3 ? 50000.0 : 100.0 + i;
    runs.push_back(Run1(1, 2, ms, ++t));
    tallied_ms.push_back(ms);
  }
  ruvector_dag::PatternRun timeout = Run1(1, 2, 5.0, ++t);
  timeout.censored = true;
  ruvector_dag::PatternRun same = Run1(1, 2, 7.0, ++t);
  same.same_plan = true;
  runs.push_back(timeout);
  runs.push_back(same);
  ruvector_dag::HostLearnOutput out;
  ASSERT_TRUE(e->Learn(runs, {}, {}, &out).ok());
  // The reference is the default's window when the runs are tallied (the
  // same-plan run measured the default too).
  const double reference = std::exp(e->patterns().Bandit(1)->Summary(0).mean_log_ms);
  tally.Observe(*e, runs);
  double sum = 0.0;
  for (double ms : tallied_ms) sum += std::clamp(1.0 - ms / reference, -1.0, 1.0);
  const GainTally::Entry* g = tally.Find(1, 2);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->count, tallied_ms.size());
  EXPECT_NEAR(g->mean(), sum / static_cast<double>(tallied_ms.size()), 1e-12);
  EXPECT_EQ(tally.Find(1, 0), nullptr) << "the default's runs are the reference, never tallied";
  // Three slow runs are clipped at -1 each: the mean is not the bandit's ratio of geometric means.
  const ruvector_dag::PatternBandit* bandit = e->patterns().Bandit(1);
  EXPECT_GT(std::fabs(g->mean() - (1.0 - std::exp(bandit->Summary(2).mean_log_ms - bandit->Summary(0).mean_log_ms))),
            0.05);
}

TEST(SyncHostTest, OneOutlierExecutionMovesTheTalliedMeanByAtMostTwoOverN) {
  // Two servers' histories that differ in one execution of the arm, replaced
  // by ever more extreme latencies.
  for (double outlier : {0.001, 1.0, 5000.0, 1e6, 1e12}) {
    auto e1 = MakeEngine(), e2 = MakeEngine();
    GainTally t1, t2;
    int64_t t = 0;
    std::vector<ruvector_dag::PatternRun> base;
    for (int i = 0; i < 20; ++i) base.push_back(Run1(1, 0, 1000.0 + i, ++t));
    LearnAndTally(e1.get(), &t1, base);
    LearnAndTally(e2.get(), &t2, base);
    std::vector<ruvector_dag::PatternRun> a, b;
    for (int i = 0; i < 100; ++i) a.push_back(Run1(1, 3, 300.0 + 3.0 * i, ++t));
    b = a;
    b[57].latency_ms = outlier;
    LearnAndTally(e1.get(), &t1, a);
    LearnAndTally(e2.get(), &t2, b);
    const GainTally::Entry* g1 = t1.Find(1, 3);
    const GainTally::Entry* g2 = t2.Find(1, 3);
    ASSERT_NE(g1, nullptr);
    ASSERT_NE(g2, nullptr);
    ASSERT_EQ(g1->count, 100u);
    ASSERT_EQ(g2->count, 100u);
    EXPECT_LE(std::fabs(g1->mean() - g2->mean()), 2.0 / 100 + 1e-12) << "outlier " << outlier << " ms";
  }
}

TEST(SyncHostTest, TheTallyIsBoundedAndForgetsPatternsTheEngineNoLongerTracks) {
  auto e = MakeEngine();
  GainTally tally(/*max_entries=*/2);
  int64_t t = 0;
  std::vector<ruvector_dag::PatternRun> runs;
  for (uint64_t key = 1; key <= 3; ++key) {
    for (int i = 0; i < 10; ++i) runs.push_back(Run1(key, 0, 1000.0, ++t));
  }
  LearnAndTally(e.get(), &tally, runs);
  runs.clear();
  for (uint64_t key = 1; key <= 3; ++key) runs.push_back(Run1(key, 1, 500.0, ++t));
  LearnAndTally(e.get(), &tally, runs);
  EXPECT_EQ(tally.size(), 2u);
  EXPECT_NE(tally.Find(1, 1), nullptr);
  EXPECT_NE(tally.Find(2, 1), nullptr);
  EXPECT_EQ(tally.Find(3, 1), nullptr) << "a new tally that does not fit is not started";
  EXPECT_EQ(tally.dropped_runs(), 1u);
  // Learning reset (a new engine): every tally is forgotten.
  auto fresh = MakeEngine();
  tally.Observe(*fresh, {});
  EXPECT_EQ(tally.size(), 0u);
}

}  // namespace
}  // namespace ruvector_pg

// --- two hosts over a private NATS JetStream server -------------------------------------

namespace ruvector_pg {
namespace {

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SyncHostNatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rv_sync_host.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    int rc = 0;
    const std::string out = Shell(std::string(RUVECTOR_NATS_CLUSTER_SCRIPT) + " start " + dir_ + "/nats 1 2>&1", &rc);
    if (rc == 77) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh)";
    ASSERT_EQ(rc, 0) << out;
    urls_ = Shell(std::string(RUVECTOR_NATS_CLUSTER_SCRIPT) + " urls " + dir_ + "/nats", &rc);
    ASSERT_EQ(rc, 0);
  }
  void TearDown() override {
    int rc = 0;
    if (!dir_.empty()) Shell(std::string(RUVECTOR_NATS_CLUSTER_SCRIPT) + " destroy " + dir_ + "/nats 2>&1", &rc);
    if (!dir_.empty()) Shell("rm -rf " + dir_, &rc);
  }
  SyncSettings Settings(const std::string& name) {
    SyncSettings s;
    s.data_dir = dir_ + "/" + name;
    mkdir(s.data_dir.c_str(), 0700);
    s.nats_urls = urls_;
    s.node_name = name;
    s.min_interval_us = 1000000;
    s.maturity_us = 0;
    return s;
  }
  std::string dir_;
  std::string urls_;
};

void WriteFile(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(text.c_str(), f);
  fclose(f);
}

/// Creates the identities of hosts a and b (a first start of each) and
/// writes each one's key into the other's peers file.
void IntroducePair(const SyncSettings& sa, const SyncSettings& sb) {
  auto status = std::make_unique<SyncShared>();
  std::string keys[2];
  const SyncSettings* both[2] = {&sa, &sb};
  for (int i = 0; i < 2; ++i) {
    auto h = SyncHost::Start(*both[i], NowUs());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    (*h)->Fill(status.get());
    keys[i] = status->public_key;
  }
  WriteFile(sa.data_dir + "/" + kSyncPeersFile, "# b\n" + keys[1] + "\n");
  WriteFile(sb.data_dir + "/" + kSyncPeersFile, "# a\n" + keys[0] + "\n");
}

/// One learning pass of `runs` ({arm, ms}) of pattern `key`; its runs go to
/// `tally` afterwards, as the worker's learning pass does.
void Learn(ruvector_dag::Engine* e, GainTally* tally, uint64_t key, const QueryDag& plan,
           const std::vector<std::pair<int, double>>& runs, int64_t* t) {
  std::vector<ruvector_dag::PatternRun> batch;
  for (const auto& [arm, ms] : runs) batch.push_back(Run1(key, arm, ms, ++*t));
  std::vector<ruvector_dag::PlanObservation> plans = {{key, &plan}};
  ruvector_dag::HostLearnOutput out;
  ASSERT_TRUE(e->Learn(batch, plans, {}, &out).ok());
  tally->Observe(*e, batch);
}

// B learned three statements on its own and deployed no_hashjoin (arm 2) for
// each before A proposed no_mergejoin (arm 3) for all three: B owes three
// votes on an arm its bandit would not explore again. Each proposal gets a
// validation quota, at most two of A's at once; B's explorer (simulated: the
// quota's candidate, 5 runs per job) measures the arm and B votes on each.
TEST_F(SyncHostNatsTest, AValidatorThatDeployedAnotherArmFirstGetsBoundedQuotasAndVotes) {
  const std::vector<std::string> arms = {"default", "no_nestloop", "no_hashjoin", "no_mergejoin"};
  const SyncSettings sa = Settings("a"), sb = Settings("b");
  auto status = std::make_unique<SyncShared>();
  IntroducePair(sa, sb);
  auto a = SyncHost::Start(sa, NowUs());
  auto b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(a.ok() && b.ok());
  auto ea = MakeEngine(), eb = MakeEngine();
  GainTally ta, tb;  // A's and B's per-execution gains
  int64_t t = 0;
  const uint64_t kKeys[3] = {77, 78, 79};
  std::vector<QueryDag> plans;
  for (int p = 0; p < 3; ++p) plans.push_back(JoinPlan(std::pow(10.0, 1 + 2 * p)));
  for (int p = 0; p < 3; ++p) {
    std::vector<std::pair<int, double>> runs;
    for (int i = 0; i < 60; ++i) runs.push_back({0, 3900.0 + i});
    for (int i = 0; i < 100; ++i) runs.push_back({3, 700.0 + i});
    Learn(ea.get(), &ta, 1 + p, plans[p], runs, &t);
    ASSERT_EQ(ea->patterns().DeployedArm(1 + p), 3u);
    (*a)->ObserveDefaultPlans(ea.get(), {{static_cast<uint64_t>(1 + p), &plans[p]}});
    runs.clear();
    for (int i = 0; i < 12; ++i) runs.push_back({0, 3900.0 + 10 * i});
    for (int i = 0; i < 12; ++i) runs.push_back({2, 1200.0 + 10 * i});
    Learn(eb.get(), &tb, kKeys[p], plans[p], runs, &t);
    ASSERT_EQ(eb->patterns().DeployedArm(kKeys[p]), 2u);
    ASSERT_EQ(eb->patterns().Bandit(kKeys[p])->Summary(3).total_runs, 0u);
    (*b)->ObserveDefaultPlans(eb.get(), {{kKeys[p], &plans[p]}});
  }
  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  ASSERT_EQ(status->counters.proposals_made, 3u) << status->last_error;
  auto quotas = [&]() {
    int n = 0;
    for (uint64_t key : kKeys) n += eb->ValidationQuota(key) > 0;
    return n;
  };
  auto priors = [&]() {
    int n = 0;
    for (uint64_t key : kKeys) n += eb->NetworkPrior(key) == 3;
    return n;
  };
  std::vector<uint64_t> changed;
  for (int i = 0; i < 400 && priors() < 3; ++i) {  // at most 20 s
    ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
    for (uint64_t k : (*b)->TakeChangedPatterns()) changed.push_back(k);
    if (priors() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(priors(), 3);
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());  // matched: the quotas are granted now
  EXPECT_EQ(quotas(), static_cast<int>(SyncHost::kValidationQuotasPerPeer)) << "one peer holds at most two quotas";
  for (uint64_t key : kKeys) {
    EXPECT_NE(std::find(changed.begin(), changed.end(), key), changed.end()) << "decision of " << key << " not republished";
  }
  // Each pass: one user execution of each statement, and B's explorer runs 5
  // runs of a pattern's candidate when it is a validation (the PostgreSQL
  // explorer's job, kMaxJobRuns). Latencies on B by arm:
  const double kMs[4] = {3900.0, 3900.0, 1200.0, 900.0};
  int passes = 0;
  uint64_t voted = 0;
  for (; passes < 20 && voted < 3; ++passes) {
    for (uint64_t key : kKeys) {
      const ruvector_dag::PatternDecision d = eb->Decide(key).value();
      // One user execution of the statement (the served arm) ...
      const uint32_t served = eb->patterns().MutableBandit(key)->Choose(false).arm;
      std::vector<std::pair<int, double>> runs = {{static_cast<int>(served), kMs[served]}};
      // ... and, for a validation, the explorer's job.
      if (d.validation) {
        EXPECT_EQ(d.explore_arm, 3);
        for (uint32_t i = 0; i < std::min<uint32_t>(d.explore_runs, 5); ++i) runs.push_back({3, kMs[3] + 10 * i});
      }
      Learn(eb.get(), &tb, key, plans[key - kKeys[0]], runs, &t);
    }
    ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
    (*b)->Fill(status.get());
    voted = status->counters.votes_cast;
    EXPECT_LE(quotas(), static_cast<int>(SyncHost::kValidationQuotasPerPeer));
  }
  std::printf("# B voted on %llu of 3 proposals in %d explorer passes; %llu quotas granted\n",
              static_cast<unsigned long long>(voted), passes,
              static_cast<unsigned long long>(status->counters.validation_quotas));
  EXPECT_EQ(voted, 3u);
  EXPECT_EQ(status->counters.validation_quotas, 3u) << "one quota per proposal";
  EXPECT_EQ(quotas(), 0) << "a quota ends with the vote";
  for (uint64_t key : kKeys) {
    EXPECT_FALSE(eb->Decide(key)->validation);
    EXPECT_GE(eb->patterns().Bandit(key)->Summary(3).total_runs, 5u);
  }
  for (int p = 0; p < status->proposal_count; ++p) EXPECT_STREQ(status->proposals[p].local, "confirmed");
}

TEST_F(SyncHostNatsTest, AProposalBecomesAPriorIsMeasuredLocallyAndConfirmed) {
  const std::vector<std::string> arms = {"default", "no_nestloop", "no_hashjoin", "no_mergejoin"};
  const SyncSettings sa = Settings("a"), sb = Settings("b");
  auto a = SyncHost::Start(sa, NowUs());
  auto b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto status = std::make_unique<SyncShared>();
  (*a)->Fill(status.get());
  const std::string key_a = status->public_key;
  (*b)->Fill(status.get());
  const std::string key_b = status->public_key;
  WriteFile(sa.data_dir + "/" + kSyncPeersFile, "# b\n" + key_b + "\n");
  WriteFile(sb.data_dir + "/" + kSyncPeersFile, "# a\n" + key_a + "\n");
  EXPECT_TRUE((*a)->PeersFileChanged());
  // As the worker does: a changed peers file restarts the host.
  a->reset();
  b->reset();
  a = SyncHost::Start(sa, NowUs());
  b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE((*a)->PeersFileChanged());

  // A: pattern 1 deploys arm 3 (60 default runs, 100 of the arm: the privacy unit's minimum).
  const QueryDag plan = JoinPlan(1.0);
  auto ea = MakeEngine(), eb = MakeEngine();
  GainTally ta, tb;  // A's and B's per-execution gains
  int64_t t = 0;
  std::vector<std::pair<int, double>> runs;
  for (int i = 0; i < 60; ++i) runs.push_back({0, 3900.0 + i});
  for (int i = 0; i < 100; ++i) runs.push_back({3, 700.0 + i});
  Learn(ea.get(), &ta, 1, plan, runs, &t);
  ASSERT_EQ(ea->patterns().DeployedArm(1), 3u);
  (*a)->ObserveDefaultPlans(ea.get(), {{1, &plan}});
  // B: the same statement under another local key, one default run.
  Learn(eb.get(), &tb, 77, plan, {{0, 3900.0}}, &t);
  (*b)->ObserveDefaultPlans(eb.get(), {{77, &plan}});

  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  ASSERT_EQ(status->counters.proposals_made, 1u) << status->last_error;
  EXPECT_GT(status->epsilon_spent, 0.0);
  const int64_t proposed_us = NowUs();
  int64_t prior_us = 0;
  for (int i = 0; i < 400 && eb->NetworkPrior(77) == 0; ++i) {  // at most 20 s
    ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
    if (eb->NetworkPrior(77) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  prior_us = NowUs();
  ASSERT_EQ(eb->NetworkPrior(77), 3u);
  EXPECT_EQ(eb->Decide(77)->explore_arm, 3);
  EXPECT_EQ(eb->patterns().DeployedArm(77), 0u);  // a prior, not a deployment
  std::printf("# proposal to prior on B: %.1f ms\n", (prior_us - proposed_us) / 1e3);

  // B measures the arm itself: 12 runs each side deploy it; its vote confirms.
  runs.clear();
  for (int i = 0; i < 12; ++i) runs.push_back({0, 3900.0 + 10 * i});
  for (int i = 0; i < 12; ++i) runs.push_back({3, 700.0 + 10 * i});
  Learn(eb.get(), &tb, 77, plan, runs, &t);
  EXPECT_EQ(eb->patterns().DeployedArm(77), 3u);
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
  (*b)->Fill(status.get());
  EXPECT_EQ(status->counters.votes_cast, 1u);
  ASSERT_EQ(status->proposal_count, 1);
  EXPECT_STREQ(status->proposals[0].local, "confirmed");
  EXPECT_EQ(status->proposals[0].local_pattern, 77u);
  bool confirmed_seen = false;
  for (int i = 0; i < 400 && !confirmed_seen; ++i) {
    ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, false, NowUs()).ok());
    (*a)->Fill(status.get());
    for (int v = 0; v < status->vote_count; ++v) {
      confirmed_seen = confirmed_seen || (std::string(status->votes[v].validator) == "b" &&
                                          std::string(status->votes[v].verdict) == "confirm");
    }
    if (!confirmed_seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(confirmed_seen);
  std::printf("# A published %llu messages, %llu bytes\n", static_cast<unsigned long long>(status->counters.published),
              static_cast<unsigned long long>(status->counters.bytes_published));

  // Forged and replayed messages reach B through the stream and are rejected.
  auto keystore_a = sync::Keystore::Load(sa.data_dir + "/" + kSyncKeystoreFile).value();
  auto peer_b = ParsePeersFile(key_b).value();
  ASSERT_TRUE(keystore_a.AddPeer(peer_b[0]).ok());
  auto node = sync::SyncNode::Create(std::move(keystore_a), sync::SyncNodeOptions()).value();
  sync::PatternObservation o;
  o.fingerprint = 12345;
  o.embedding.assign(256, 0.5f);
  o.arm = "no_hashjoin";
  o.gain = 0.5;
  o.samples = 500;
  sync::SecureNoiseSource noise;
  auto sealed = node->Propose({o}, noise, NowUs()).value();
  ASSERT_EQ(sealed.size(), 1u);
  sync::TransportOptions topt;
  topt.urls = {urls_};
  sync::NodeId injector;
  injector.bytes.fill(0x42);
  auto tr = sync::ConnectJetStream(injector, topt);
  ASSERT_TRUE(tr.ok()) << tr.status().ToString();
  (*b)->Fill(status.get());
  const uint64_t accepted_before = status->counters.messages_accepted;
  sync::Bytes forged = sealed[0].bytes;
  forged[forged.size() / 2] ^= 0x01;
  ASSERT_TRUE((*tr)->Publish(peer_b[0].id, forged).ok());
  ASSERT_TRUE((*tr)->Publish(peer_b[0].id, sealed[0].bytes).ok());
  // The same bytes again: JetStream's duplicate window drops an identical
  // publish; a copy that gets past it fails B's replay window. Either way it
  // is never accepted twice.
  ASSERT_TRUE((*tr)->Publish(peer_b[0].id, sealed[0].bytes).ok());
  o.fingerprint = 67890;  // a later genuine message marks the end of the batch
  auto sentinel = node->Propose({o}, noise, NowUs()).value();
  ASSERT_TRUE((*tr)->Publish(peer_b[0].id, sentinel[0].bytes).ok());
  for (int i = 0; i < 400 && status->counters.messages_accepted < accepted_before + 2; ++i) {
    ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
    (*b)->Fill(status.get());
    if (status->counters.messages_accepted < accepted_before + 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ(status->counters.messages_accepted, accepted_before + 2);  // the replay was not accepted
  EXPECT_EQ(status->counters.rejected_by_reason[static_cast<int>(sync::RejectReason::kBadSignature)], 1u);
  EXPECT_EQ(status->counters.no_match, 2u);  // the injected proposals match no pattern of B

  // A restart of B (as a worker restart: the host is destroyed and started
  // again) keeps its ledger, its vote, the stakes and the replay windows.
  (*b)->Fill(status.get());
  const int proposals_before = status->proposal_count;
  const double stake_a_before = status->peers[1].stake;
  b->reset();
  struct stat st;
  ASSERT_EQ(stat((sb.data_dir + "/" + kSyncStateFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE((*b)->state_load_failed());
  EXPECT_NE((*b)->state_load_message().find("restored 3 proposals"), std::string::npos)
      << (*b)->state_load_message();
  (*b)->Fill(status.get());
  EXPECT_EQ(status->proposal_count, proposals_before);
  EXPECT_DOUBLE_EQ(status->peers[1].stake, stake_a_before);
  bool voted = false;
  for (int v = 0; v < status->vote_count; ++v) voted = voted || (status->votes[v].own && std::string(status->votes[v].verdict) == "confirm");
  EXPECT_TRUE(voted) << "B's own vote was lost";
  // The saved replay window refuses the message B accepted before the restart.
  auto keystore_b = sync::Keystore::Load(sb.data_dir + "/" + kSyncKeystoreFile).value();
  ASSERT_TRUE(keystore_b.AddPeer(ParsePeersFile(key_a).value()[0]).ok());
  auto restarted = sync::SyncNode::Create(std::move(keystore_b), sync::SyncNodeOptions()).value();
  ASSERT_TRUE(restarted->LoadStateFile(sb.data_dir + "/" + kSyncStateFile).ok());
  EXPECT_EQ(restarted->Receive(sealed[0].bytes, NowUs()).reject, sync::RejectReason::kReplayed);
  // A corrupt state file is ignored: the host starts empty and says why.
  b->reset();
  WriteFile(sb.data_dir + "/" + kSyncStateFile, "RVSS garbage");
  b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE((*b)->state_load_failed());
  EXPECT_NE((*b)->state_load_message().find("ignoring ruvector_sync.state"), std::string::npos)
      << (*b)->state_load_message();
  (*b)->Fill(status.get());
  EXPECT_EQ(status->proposal_count, 0);
}

// Three servers: "m" proposes arms that are slower on "a" and "b" (its own
// workload differs). Each validator takes the proposal as a prior only,
// measures the arm on its own runs, does not deploy it, and refutes it; the
// refutations cost m stake on every node until its messages are refused.
// What A releases for a pattern is the mean of the arm's clipped
// per-execution gains (the statistic the privacy bound is about), and only
// once the arm has min_samples (100) of them. Epsilon 10 makes the noise
// small (Laplace scale 0.02 / 5 = 0.004) so that the released value can be
// compared with the tally's mean.
TEST_F(SyncHostNatsTest, TheReleasedGainIsTheMeanOfClippedGainsOfAtLeastMinSamplesExecutions) {
  const std::vector<std::string> arms = {"default", "no_nestloop", "no_hashjoin", "no_mergejoin"};
  SyncSettings sa = Settings("a");
  const SyncSettings sb = Settings("b");
  sa.epsilon = 10.0;
  sa.epsilon_budget = 100.0;
  auto status = std::make_unique<SyncShared>();
  IntroducePair(sa, sb);
  auto a = SyncHost::Start(sa, NowUs());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto ea = MakeEngine();
  GainTally ta;
  int64_t t = 0;
  // Pattern 1: arm 3 is 10x faster than the default but every 10th run is
  // 50x slower (clipped at -1). Pattern 2: the same arm, 99 runs.
  const QueryDag plan1 = JoinPlan(10.0), plan2 = JoinPlan(1e5);
  std::vector<std::pair<int, double>> runs;
  for (int i = 0; i < 60; ++i) runs.push_back({0, 1000.0 + i % 7});
  Learn(ea.get(), &ta, 1, plan1, runs, &t);
  Learn(ea.get(), &ta, 2, plan2, runs, &t);
  runs.clear();
  for (int i = 0; i < 120; ++i) runs.push_back({3, i % 10 == 4 ? 50000.0 : 100.0 + i % 5});
  Learn(ea.get(), &ta, 1, plan1, runs, &t);
  runs.resize(99);
  Learn(ea.get(), &ta, 2, plan2, runs, &t);
  ASSERT_EQ(ea->patterns().DeployedArm(1), 3u);
  ASSERT_EQ(ea->patterns().DeployedArm(2), 3u);
  (*a)->ObserveDefaultPlans(ea.get(), {{1, &plan1}, {2, &plan2}});
  const GainTally::Entry* g1 = ta.Find(1, 3);
  ASSERT_NE(g1, nullptr);
  ASSERT_EQ(g1->count, 120u);
  ASSERT_EQ(ta.Find(2, 3)->count, 99u);
  // What the old release (the ratio of the bandit's geometric means) would be: far from the mean.
  const ruvector_dag::PatternDecision d = ea->Decide(1).value();
  ASSERT_GT(std::fabs((1.0 - d.deployed_ms / d.default_ms) - g1->mean()), 0.1);

  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  ASSERT_EQ(status->counters.proposals_made, 1u) << "pattern 2's arm has 99 executions: not proposed";
  ASSERT_EQ(status->proposal_count, 1);
  EXPECT_NEAR(status->proposals[0].noisy_gain, g1->mean(), 0.05);
  EXPECT_NEAR(status->proposals[0].noisy_samples, 120.0, 2.0);
  const uint64_t fingerprint1 = status->proposals[0].fingerprint;
  EXPECT_EQ(fingerprint1, PortableFingerprint(plan1));
  // Its 100th execution makes pattern 2 eligible at the next sync.
  Learn(ea.get(), &ta, 2, plan2, {{3, 101.0}}, &t);
  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  EXPECT_EQ(status->counters.proposals_made, 2u);
}

/// Three settings arms, filler arms, then row_corrections at its built-in
/// index (a locally planned arm).
std::vector<std::string> ArmsWithRowCorrections() {
  std::vector<std::string> arms = {"default", "no_nestloop", "no_hashjoin", "no_mergejoin"};
  while (arms.size() <= static_cast<size_t>(kRowCorrectionsArm)) arms.push_back("arm" + std::to_string(arms.size()));
  arms[kRowCorrectionsArm] = "row_corrections";
  return arms;
}

// A deployed row_corrections (planned with what A learned: never proposed);
// the portable arm that stands in for it was only explored. A asks its
// background explorer for the runs the arm's tally lacks (a quota on the
// arm), once, and proposes the arm when the tally has 100.
TEST_F(SyncHostNatsTest, AnArmStandingInForALocalArmGetsTheRunsItsTallyLacksFromTheExplorer) {
  const std::vector<std::string> arms = ArmsWithRowCorrections();
  const SyncSettings sa = Settings("a"), sb = Settings("b");
  IntroducePair(sa, sb);
  auto a = SyncHost::Start(sa, NowUs());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto ea = MakeEngine(static_cast<uint32_t>(arms.size()));
  GainTally ta;
  int64_t t = 0;
  const QueryDag plan = JoinPlan(10.0);
  std::vector<std::pair<int, double>> runs;
  for (int i = 0; i < 20; ++i) runs.push_back({0, 1000.0 + i % 7});
  for (int i = 0; i < 10; ++i) runs.push_back({2, 300.0 + i});
  for (int i = 0; i < 120; ++i) runs.push_back({kRowCorrectionsArm, 100.0 + i % 5});
  Learn(ea.get(), &ta, 1, plan, runs, &t);
  ASSERT_EQ(ea->patterns().DeployedArm(1), static_cast<uint32_t>(kRowCorrectionsArm));
  ASSERT_EQ(PortableArm(*ea->patterns().Bandit(1), kRowCorrectionsArm, arms.size()), 2);
  ASSERT_EQ(ta.Find(1, 2)->count, 10u);
  (*a)->ObserveDefaultPlans(ea.get(), {{1, &plan}});
  auto status = std::make_unique<SyncShared>();
  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  EXPECT_EQ(status->counters.proposals_made, 0u) << "10 executions of the arm: nothing released";
  uint32_t quota_arm = 0;
  EXPECT_EQ(ea->ValidationQuota(1, &quota_arm), 90u);
  EXPECT_EQ(quota_arm, 2u);
  EXPECT_EQ(ea->Decide(1)->explore_arm, 2) << "the explorer measures the arm";
  std::vector<uint64_t> changed = (*a)->TakeChangedPatterns();
  EXPECT_EQ(changed, std::vector<uint64_t>{1}) << "the worker publishes the decision again";
  // The explorer's runs of the arm arrive (the quota counts them down).
  runs.assign(90, {2, 310.0});
  Learn(ea.get(), &ta, 1, plan, runs, &t);
  EXPECT_EQ(ea->ValidationQuota(1, &quota_arm), 0u);
  ASSERT_EQ(ta.Find(1, 2)->count, 100u);
  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  ASSERT_EQ(status->counters.proposals_made, 1u);
  EXPECT_STREQ(status->proposals[0].arm, "no_hashjoin");
}

// B deployed row_corrections on its own; the portable arm it measured
// fastest holds a sample quota for B's own proposal (RequestSamples). Then A
// proposes another arm for the same plan: the vote B owes takes the pattern's
// quota over (else it would wait for up to 255 explorer runs of the sample
// quota, about a run per second), B votes on its own runs of A's arm, and the
// sample quota is granted again afterwards.
TEST_F(SyncHostNatsTest, AVoteOwedTakesTheQuotaOverFromASampleQuotaWhichComesBackAfterTheVote) {
  const std::vector<std::string> arms = ArmsWithRowCorrections();
  const SyncSettings sa = Settings("a"), sb = Settings("b");
  IntroducePair(sa, sb);
  auto a = SyncHost::Start(sa, NowUs());
  auto b = SyncHost::Start(sb, NowUs());
  ASSERT_TRUE(a.ok() && b.ok());
  auto ea = MakeEngine(static_cast<uint32_t>(arms.size())), eb = MakeEngine(static_cast<uint32_t>(arms.size()));
  GainTally ta, tb;
  int64_t t = 0;
  const QueryDag plan = JoinPlan(10.0);
  constexpr uint64_t kA = 1, kB = 11;
  std::vector<std::pair<int, double>> runs;
  for (int i = 0; i < 20; ++i) runs.push_back({0, 1000.0 + i % 7});
  for (int i = 0; i < 10; ++i) runs.push_back({2, 300.0 + i});
  for (int i = 0; i < 120; ++i) runs.push_back({kRowCorrectionsArm, 100.0 + i % 5});
  Learn(eb.get(), &tb, kB, plan, runs, &t);
  ASSERT_EQ(eb->patterns().DeployedArm(kB), static_cast<uint32_t>(kRowCorrectionsArm));
  (*b)->ObserveDefaultPlans(eb.get(), {{kB, &plan}});
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, /*sync_now=*/true, NowUs()).ok());
  uint32_t quota_arm = 0;
  ASSERT_EQ(eb->ValidationQuota(kB, &quota_arm), 90u) << "B's sample quota for its own stand-in arm";
  ASSERT_EQ(quota_arm, 2u);

  runs.clear();
  for (int i = 0; i < 60; ++i) runs.push_back({0, 1000.0 + i});
  for (int i = 0; i < 100; ++i) runs.push_back({3, 200.0 + i % 9});
  Learn(ea.get(), &ta, kA, plan, runs, &t);
  ASSERT_EQ(ea->patterns().DeployedArm(kA), 3u);
  (*a)->ObserveDefaultPlans(ea.get(), {{kA, &plan}});
  auto status = std::make_unique<SyncShared>();
  ASSERT_TRUE((*a)->Step(ea.get(), arms, ta, /*sync_now=*/true, NowUs()).ok());
  (*a)->Fill(status.get());
  ASSERT_EQ(status->counters.proposals_made, 1u) << status->last_error;

  for (int i = 0; i < 400 && eb->NetworkPrior(kB) != 3; ++i) {  // at most 20 s
    ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
    if (eb->NetworkPrior(kB) != 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(eb->NetworkPrior(kB), 3u);
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());  // matched: the quota is granted now
  EXPECT_EQ(eb->ValidationQuota(kB, &quota_arm), 20u) << "the vote owed took the pattern's quota over";
  EXPECT_EQ(quota_arm, 3u);
  (*b)->Fill(status.get());
  EXPECT_EQ(status->counters.validation_quotas, 1u);
  EXPECT_EQ(status->counters.votes_cast, 0u);

  // B's explorer measures A's arm (the quota's candidate) and B votes.
  ASSERT_TRUE(eb->Decide(kB)->validation);
  ASSERT_EQ(eb->Decide(kB)->explore_arm, 3);
  runs.assign(20, {3, 250.0});
  Learn(eb.get(), &tb, kB, plan, runs, &t);
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, false, NowUs()).ok());
  (*b)->Fill(status.get());
  EXPECT_EQ(status->counters.votes_cast, 1u);
  ASSERT_EQ(status->proposal_count, 1);
  EXPECT_STREQ(status->proposals[0].local, "confirmed");
  // The vote quota ended with the vote; the sample quota for B's own
  // proposal is granted again.
  ASSERT_TRUE((*b)->Step(eb.get(), arms, tb, /*sync_now=*/true, NowUs()).ok());
  const uint32_t left = eb->ValidationQuota(kB, &quota_arm);
  std::printf("# after the vote: sample quota of %u runs for arm %u\n", left, quota_arm);
  EXPECT_GT(left, 0u);
  EXPECT_TRUE(quota_arm == 2 || quota_arm == 3) << quota_arm;
}

class SyncHostBadPeerTest : public SyncHostNatsTest {
 protected:
  /// Runs rounds of one bad proposal by m each, every host with
  /// SyncSettings::ignore_below (ruvector.sync_ignore_below) `ignore_below`,
  /// until a and b ignore m; *refuted_out is the number of m's proposals
  /// refuted by then.
  void RefuteUntilIgnored(double ignore_below, int* refuted_out) {
    const std::vector<std::string> arms = {"default", "no_nestloop", "no_hashjoin", "no_mergejoin"};
    const char* names[] = {"a", "b", "m"};
    std::vector<SyncSettings> settings;
    std::vector<std::string> keys;
    std::vector<std::unique_ptr<SyncHost>> hosts;
    auto status = std::make_unique<SyncShared>();
    for (const char* n : names) {
      settings.push_back(Settings(n));
      settings.back().ignore_below = ignore_below;
      auto h = SyncHost::Start(settings.back(), NowUs());
      ASSERT_TRUE(h.ok()) << h.status().ToString();
      (*h)->Fill(status.get());
      keys.push_back(status->public_key);
    }
    for (size_t i = 0; i < 3; ++i) {
      std::string peers;
      for (size_t j = 0; j < 3; ++j) peers += j == i ? "" : "# " + std::string(names[j]) + "\n" + keys[j] + "\n";
      WriteFile(settings[i].data_dir + "/" + kSyncPeersFile, peers);
      auto h = SyncHost::Start(settings[i], NowUs());
      ASSERT_TRUE(h.ok()) << h.status().ToString();
      hosts.push_back(std::move(*h));
    }
    std::vector<std::unique_ptr<ruvector_dag::Engine>> engines;
    for (int i = 0; i < 3; ++i) engines.push_back(MakeEngine());
    std::vector<GainTally> tallies(3);
    auto step_all = [&]() {
      for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(hosts[i]->Step(engines[i].get(), arms, tallies[i], false, NowUs()).ok());
    };
    auto m_stake_on = [&](size_t node, bool* ignored) {
      hosts[node]->Fill(status.get());
      for (int p = 0; p < status->peer_count; ++p) {
        if (std::string(status->peers[p].name) == "m") {
          *ignored = status->peers[p].ignored;
          return status->peers[p].stake;
        }
      }
      return -1.0;
    };
    int64_t t = 0;
    double stake_before = 100.0;
    bool ignored = false;
    *refuted_out = 0;
    // Round r: a pattern of its own shape bucket (its own portable identity).
    for (int r = 0; r < 12 && !ignored; ++r) {
      const QueryDag plan = JoinPlan(std::pow(10.0, 1 + r));
      const uint64_t key = 100 + static_cast<uint64_t>(r);
      // m deploys no_hashjoin (arm 2) on its runs; a and b know the statement
      // (default runs only).
      std::vector<std::pair<int, double>> runs;
      for (int i = 0; i < 60; ++i) runs.push_back({0, 3900.0 + i});
      for (int i = 0; i < 100; ++i) runs.push_back({2, 700.0 + i});
      Learn(engines[2].get(), &tallies[2], key, plan, runs, &t);
      ASSERT_EQ(engines[2]->patterns().DeployedArm(key), 2u);
      for (size_t v = 0; v < 2; ++v) {
        Learn(engines[v].get(), &tallies[v], key, plan, {{0, 3900.0}}, &t);
        hosts[v]->ObserveDefaultPlans(engines[v].get(), {{key, &plan}});
      }
      hosts[2]->ObserveDefaultPlans(engines[2].get(), {{key, &plan}});
      hosts[2]->Fill(status.get());
      const uint64_t made = status->counters.proposals_made;
      ASSERT_TRUE(hosts[2]->Step(engines[2].get(), arms, tallies[2], /*sync_now=*/true, NowUs()).ok());
      hosts[2]->Fill(status.get());
      if (status->counters.proposals_made == made) {
        // Refused by m's own node: its privacy budget is spent (or its stake
        // already ignored on its own ledger). Nothing more to send.
        std::printf("# m could not propose in round %d: %s\n", r, status->last_error);
        break;
      }
      // Each validator: the proposal becomes the pattern's prior, never a deployment.
      for (int i = 0; i < 400; ++i) {
        step_all();
        if (engines[0]->NetworkPrior(key) != 0 && engines[1]->NetworkPrior(key) != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      bool m_refused = false;
      for (size_t v = 0; v < 2; ++v) {
        hosts[v]->Fill(status.get());
        m_refused = m_refused ||
                    status->counters.rejected_by_reason[static_cast<int>(sync::RejectReason::kIgnoredSender)] > 0;
      }
      if (m_refused) {
        std::printf("# round %d: m's proposal was refused (m is ignored)\n", r);
        break;
      }
      for (size_t v = 0; v < 2; ++v) {
        ASSERT_EQ(engines[v]->NetworkPrior(key), 2u) << "round " << r << " node " << names[v];
        EXPECT_EQ(engines[v]->Decide(key)->explore_arm, 2) << "the prior's arm is measured first";
        // Measured here: the arm is slower than the default.
        runs.clear();
        for (int i = 0; i < 5; ++i) runs.push_back({2, 9000.0 + 10 * i});
        for (int i = 0; i < 19; ++i) runs.push_back({0, 3900.0 + 10 * (i % 5)});
        Learn(engines[v].get(), &tallies[v], key, plan, runs, &t);
        EXPECT_EQ(engines[v]->patterns().DeployedArm(key), 0u) << "a slower prior must never be deployed";
      }
      // Both refute; the proposal is decided (refuted) on every node.
      bool decided = false;
      for (int i = 0; i < 400 && !decided; ++i) {
        step_all();
        decided = true;
        for (size_t v = 0; v < 3; ++v) {
          hosts[v]->Fill(status.get());
          int m_refuted = 0;
          for (int p = 0; p < status->proposal_count; ++p) {
            const SyncProposalRow& row = status->proposals[p];
            m_refuted += std::string(row.proposer) == "m" && std::string(row.state) == "refuted";
          }
          decided = decided && m_refuted == *refuted_out + 1;
        }
        if (!decided) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ASSERT_TRUE(decided) << "round " << r << ": the bad proposal was not refuted everywhere";
      ++*refuted_out;
      const double stake = m_stake_on(1, &ignored);
      EXPECT_LT(stake, stake_before) << "round " << r;
      stake_before = stake;
      std::printf("# round %d: m's stake on b %.1f%s\n", r, stake, ignored ? " (ignored)" : "");
    }
    EXPECT_GE(*refuted_out, 1);
    bool ignored_a = false, ignored_b = false;
    m_stake_on(0, &ignored_a);
    m_stake_on(1, &ignored_b);
    EXPECT_TRUE(ignored_a && ignored_b) << "after " << *refuted_out << " refuted proposals m is still heard";
    // Nothing m proposed was deployed on a or b.
    for (size_t v = 0; v < 2; ++v) {
      for (int r = 0; r < 12; ++r) EXPECT_EQ(engines[v]->patterns().DeployedArm(100 + r), 0u);
    }
  }
};

// The default threshold (10): m is ignored after 7 refuted proposals
// (100 * 0.7^7 = 8.2 < 10 <= 100 * 0.7^6).
TEST_F(SyncHostBadPeerTest, ABadPeersProposalsAreRefutedOnLocalRunsUntilItIsIgnored) {
  int refuted = 0;
  RefuteUntilIgnored(10.0, &refuted);
  EXPECT_EQ(refuted, 7);
}

// ruvector.sync_ignore_below = 50: m is ignored after 2 (100 * 0.7^2 = 49).
TEST_F(SyncHostBadPeerTest, AHigherIgnoreThresholdIgnoresABadPeerAfterFewerRefutations) {
  int refuted = 0;
  RefuteUntilIgnored(50.0, &refuted);
  EXPECT_EQ(refuted, 2);
}

}  // namespace
}  // namespace ruvector_pg
