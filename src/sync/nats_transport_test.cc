// The NATS JetStream transport against real nats-server processes started by
// scripts/nats_cluster.sh: a single-server round trip and durable resume,
// size limits, sealed SyncNode messages to two peers (and garbage passed
// through untouched to be rejected by the receiver), and a 3-node cluster
// with a replicated stream that loses a server (SIGKILL) without losing a
// message, and a node that was down catching up from its durable consumer.
// Skipped when nats-server is not installed (label "nats").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "internal/nats_cluster.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"
#include "ruvector_dag/sync_transport.h"

namespace ruvector_dag::sync {
namespace {

using testing::NatsCluster;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kSeed = 20261206;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NodeId IdFromByte(uint8_t b) {
  NodeId id;
  id.bytes.fill(b);
  return id;
}

// Distinct, recognizable payloads: "<tag>-<i>-" then seeded random bytes.
Bytes MakeMessage(const std::string& tag, int i, size_t size, Rng& rng) {
  std::string head = tag + "-" + std::to_string(i) + "-";
  Bytes b(head.begin(), head.end());
  while (b.size() < size) b.push_back(static_cast<uint8_t>(rng.Next()));
  b.resize(size);
  return b;
}

std::unique_ptr<NatsCluster> StartOrSkip(int nodes, std::string* skip) {
  if (!JetStreamBuiltIn()) {
    *skip = "built without the NATS transport";
    return nullptr;
  }
  auto c = NatsCluster::Start(RUVECTOR_NATS_CLUSTER_SCRIPT, nodes);
  if (!c.ok()) {
    if (c.status().code() == StatusCode::kUnimplemented) *skip = c.status().ToString();
    else ADD_FAILURE() << c.status().ToString();
    return nullptr;
  }
  return std::move(c).value();
}

#define START_CLUSTER_OR_SKIP(var, nodes)                 \
  std::string var##_skip;                                 \
  auto var = StartOrSkip(nodes, &var##_skip);             \
  if (!var##_skip.empty()) GTEST_SKIP() << var##_skip;    \
  ASSERT_NE(var, nullptr)

std::unique_ptr<Transport> MustConnect(const NodeId& id, const TransportOptions& opt) {
  auto t = ConnectJetStream(id, opt);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

// Publishes, retrying failed attempts (each bounded by the transport's
// timeout) until `deadline`: what a host does while a cluster elects leaders.
// Prints the first failure of a run of failures.
Status PublishUntil(Transport& t, const NodeId& to, const Bytes& msg, Clock::time_point deadline) {
  Status s = t.Publish(to, msg);
  if (!s.ok()) std::printf("publish failed, retrying: %s\n", s.ToString().c_str());
  while (!s.ok() && s.code() == StatusCode::kFailedPrecondition && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry pace
    s = t.Publish(to, msg);
  }
  return s;
}

// Fetches until `want` messages arrived or `deadline` passed.
std::vector<ReceivedMessage> FetchUntil(Transport& t, size_t want, Clock::time_point deadline) {
  std::vector<ReceivedMessage> all;
  while (all.size() < want && Clock::now() < deadline) {
    auto got = t.Fetch(want - all.size(), 500);
    if (!got.ok()) {  // disconnected or electing: try again
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry pace
      continue;
    }
    for (auto& m : *got) all.push_back(std::move(m));
  }
  return all;
}

std::multiset<Bytes> AsSet(const std::vector<ReceivedMessage>& msgs) {
  std::multiset<Bytes> s;
  for (const auto& m : msgs) s.insert(m.bytes);
  return s;
}

TEST(NatsTransportTest, BadOptionsAreRefusedBeforeConnecting) {
  if (!JetStreamBuiltIn()) GTEST_SKIP() << "built without the NATS transport";
  const NodeId id = IdFromByte(1);
  TransportOptions o;
  auto r = ConnectJetStream(id, o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no NATS server URL"), std::string::npos);
  o.urls = {"nats://127.0.0.1:1"};
  o.subject_prefix = "ruvector.*";
  EXPECT_EQ(ConnectJetStream(id, o).status().code(), StatusCode::kInvalidArgument);
  o.subject_prefix = "ruvector.sync";
  o.stream = "A.B";
  EXPECT_EQ(ConnectJetStream(id, o).status().code(), StatusCode::kInvalidArgument);
  o.stream = "RUVECTOR_SYNC";
  o.replicas = 0;
  EXPECT_EQ(ConnectJetStream(id, o).status().code(), StatusCode::kInvalidArgument);
  o.replicas = 1;
  o.timeout_ms = 0;
  EXPECT_EQ(ConnectJetStream(id, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(NatsTransportTest, NoServerIsABoundedError) {
  if (!JetStreamBuiltIn()) GTEST_SKIP() << "built without the NATS transport";
  // Port 1 on loopback: nobody listens, the connect is refused.
  TransportOptions o;
  o.urls = {"nats://127.0.0.1:1", "nats://127.0.0.1:2"};
  o.timeout_ms = 500;
  const auto start = Clock::now();
  auto r = ConnectJetStream(IdFromByte(1), o);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(NatsTransportTest, SingleServerRoundTripAndDurableResume) {
  START_CLUSTER_OR_SKIP(cluster, 1);
  Rng rng(kSeed);
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  TransportOptions o;
  o.urls = cluster->Urls();
  const NodeId a = IdFromByte(0xa1), b = IdFromByte(0xb2);
  auto ta = MustConnect(a, o);
  auto tb = MustConnect(b, o);
  ASSERT_TRUE(ta && tb);
  EXPECT_TRUE(ta->Stats().connected);
  EXPECT_EQ(ta->Stats().connected_url.rfind("nats://127.0.0.1:", 0), 0u) << ta->Stats().connected_url;

  std::vector<Bytes> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(MakeMessage("a2b", i, 100 + 37 * i, rng));
    ASSERT_TRUE(ta->Publish(b, sent.back()).ok());
  }
  // Nothing for a: its consumer reads only its own subject.
  auto none = ta->Fetch(10, 200);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto got = tb->Fetch(10, 2000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ((*got)[i].bytes, sent[i]) << i;  // in order, untouched
    if (i > 0) EXPECT_GT((*got)[i].stream_sequence, (*got)[i - 1].stream_sequence);
  }
  // Acknowledged: a second fetch has nothing.
  auto again = tb->Fetch(10, 200);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());

  // The same bytes published again are stored once (message id).
  ASSERT_TRUE(ta->Publish(b, sent[0]).ok());
  TransportStats sa = ta->Stats();
  EXPECT_EQ(sa.published, 6u);
  EXPECT_EQ(sa.duplicates, 1u);
  EXPECT_EQ(sa.publish_failures, 0u);

  // b goes away; what arrives meanwhile waits in its durable consumer.
  tb.reset();
  std::vector<Bytes> later;
  for (int i = 0; i < 3; ++i) {
    later.push_back(MakeMessage("later", i, 64, rng));
    ASSERT_TRUE(ta->Publish(b, later.back()).ok());
  }
  tb = MustConnect(b, o);
  ASSERT_TRUE(tb);
  auto resumed = tb->Fetch(10, 2000);
  ASSERT_TRUE(resumed.ok());
  ASSERT_EQ(resumed->size(), later.size());
  for (size_t i = 0; i < later.size(); ++i) EXPECT_EQ((*resumed)[i].bytes, later[i]);
  TransportStats sb = tb->Stats();
  EXPECT_EQ(sb.received, 3u);
  EXPECT_EQ(sb.bytes_received, 3u * 64);
  EXPECT_EQ(sb.ack_failures, 0u);
}

// Polls `done` until it holds or `deadline` passes.
template <typename F>
bool WaitFor(F done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll pace
  }
  return true;
}

TEST(NatsTransportTest, ServerLossIsBoundedAndTheStreamSurvivesItsRestart) {
  START_CLUSTER_OR_SKIP(cluster, 1);
  Rng rng(kSeed + 4);
  TransportOptions o;
  o.urls = cluster->Urls();
  o.timeout_ms = 1000;
  const NodeId a = IdFromByte(0x0a), b = IdFromByte(0x0b);
  auto ta = MustConnect(a, o);
  auto tb = MustConnect(b, o);
  ASSERT_TRUE(ta && tb);
  std::vector<Bytes> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back(MakeMessage("kept", i, 500, rng));
    ASSERT_TRUE(ta->Publish(b, sent.back()).ok());
  }
  { Status s = cluster->Kill(1); ASSERT_TRUE(s.ok()) << s.ToString(); }
  ASSERT_TRUE(WaitFor([&] { return !ta->Stats().connected; }, Clock::now() + std::chrono::seconds(10)));
  EXPECT_TRUE(ta->Stats().connected_url.empty());

  // With no server every call returns within its bound, with an error, and
  // a failed publish is not sent later either.
  auto start = Clock::now();
  Status s = ta->Publish(b, MakeMessage("lost", 0, 500, rng));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(o.timeout_ms + 1000));
  EXPECT_EQ(ta->Stats().publish_failures, 1u);
  start = Clock::now();
  auto got = tb->Fetch(4, 300);
  EXPECT_TRUE(!got.ok() || got->empty());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1300));

  // The server returns with its file store: both clients reconnect on their
  // own and b gets what was stored before the crash.
  { Status r = cluster->Restart(1); ASSERT_TRUE(r.ok()) << r.ToString(); }
  ASSERT_TRUE(WaitFor([&] { return ta->Stats().connected && tb->Stats().connected; },
                      Clock::now() + std::chrono::seconds(10)));
  EXPECT_GE(ta->Stats().reconnects, 1u);
  auto kept = FetchUntil(*tb, sent.size(), Clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(AsSet(kept), std::multiset<Bytes>(sent.begin(), sent.end()));
  const Bytes after = MakeMessage("after", 0, 500, rng);
  EXPECT_TRUE(PublishUntil(*ta, b, after, Clock::now() + std::chrono::seconds(10)).ok());
  auto more = FetchUntil(*tb, 1, Clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].bytes, after);
}

TEST(NatsTransportTest, OversizedMessagesAreRefused) {
  START_CLUSTER_OR_SKIP(cluster, 1);
  Rng rng(kSeed + 1);
  TransportOptions o;
  o.urls = cluster->Urls();
  o.stream = "SMALL";
  o.max_message_bytes = 8192;
  const NodeId a = IdFromByte(1), b = IdFromByte(2);
  auto ta = MustConnect(a, o);
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->Stats().max_message_bytes, 8192u);
  Status s = ta->Publish(b, MakeMessage("big", 0, 8193, rng));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
  EXPECT_NE(s.message().find("exceeds the limit of 8192"), std::string::npos) << s.ToString();
  EXPECT_EQ(ta->Publish(b, Bytes{}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ta->Publish(b, MakeMessage("fits", 0, 8192, rng)).ok());

  // A node configured for larger messages is held to the stream's limit.
  TransportOptions wide = o;
  wide.max_message_bytes = 1 << 20;
  auto tb = MustConnect(b, wide);
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->Stats().max_message_bytes, 8192u);
  EXPECT_EQ(tb->Publish(a, MakeMessage("big", 1, 9000, rng)).code(), StatusCode::kOutOfRange);
  auto got = tb->Fetch(4, 2000);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].bytes.size(), 8192u);
}

// Three SyncNodes with each other's keys, each on its own transport.
class SealedOverNatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<NodeIdentity> ids;
    for (const char* name : {"pg-a", "pg-b", "pg-c"}) {
      auto id = NodeIdentity::Generate(name);
      ASSERT_TRUE(id.ok());
      ids.push_back(std::move(id).value());
    }
    std::vector<PeerInfo> infos;
    for (const auto& id : ids) infos.push_back(id.info());
    for (size_t i = 0; i < ids.size(); ++i) {
      Keystore ks(std::move(ids[i]));
      for (size_t j = 0; j < infos.size(); ++j) {
        if (j != i) ASSERT_TRUE(ks.AddPeer(infos[j]).ok());
      }
      SyncNodeOptions opt;
      opt.privacy.min_samples = 50;
      auto node = SyncNode::Create(std::move(ks), opt);
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      nodes_.push_back(std::move(node).value());
    }
  }
  std::vector<std::unique_ptr<SyncNode>> nodes_;
};

TEST_F(SealedOverNatsTest, AProposalReachesBothPeersAndGarbageIsRejected) {
  START_CLUSTER_OR_SKIP(cluster, 1);
  Rng rng(kSeed + 2);
  SeededNoiseSource noise(&rng);
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed + 2));
  TransportOptions o;
  o.urls = cluster->Urls();
  std::vector<std::unique_ptr<Transport>> t;
  for (const auto& n : nodes_) {
    t.push_back(MustConnect(n->id(), o));
    ASSERT_TRUE(t.back());
  }

  PatternObservation obs;
  obs.fingerprint = 42;
  obs.embedding.assign(256, 0.25f);
  obs.arm = "no_nestloop";
  obs.gain = 0.3;
  obs.samples = 400;
  const int64_t now = NowUs();
  auto out = nodes_[0]->Propose({obs}, noise, now);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  for (const auto& m : *out) {
    EXPECT_EQ(m.bytes.size(), 5606u);  // the documented wire size of a 256-float proposal
    ASSERT_TRUE(t[0]->Publish(m.recipient, m.bytes).ok());
  }
  ProposalId proposal{};
  for (size_t i = 1; i < 3; ++i) {
    auto got = t[i]->Fetch(8, 2000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    ReceiveResult r = nodes_[i]->Receive((*got)[0].bytes, NowUs());
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.kind, MessageKind::kPatternProposal);
    EXPECT_EQ(r.sender, nodes_[0]->id());
    proposal = r.proposal;
    EXPECT_NE(nodes_[i]->ledger().Find(proposal), nullptr);
  }

  // b and c measure the arm themselves and vote; the votes travel too and
  // the proposal is confirmed at a.
  for (size_t v = 1; v < 3; ++v) {
    auto votes = nodes_[v]->Validate(proposal, 0.2, 300, NowUs());
    ASSERT_TRUE(votes.ok()) << votes.status().ToString();
    for (const auto& m : *votes) ASSERT_TRUE(t[v]->Publish(m.recipient, m.bytes).ok());
  }
  auto at_a = FetchUntil(*t[0], 2, Clock::now() + std::chrono::seconds(10));
  ASSERT_EQ(at_a.size(), 2u);
  ProposalState state = ProposalState::kOpen;
  for (const auto& m : at_a) {
    ReceiveResult r = nodes_[0]->Receive(m.bytes, NowUs());
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.kind, MessageKind::kVote);
    state = r.state;
  }
  EXPECT_EQ(state, ProposalState::kConfirmed);

  // Bytes that are not a message, published on b's subject, arrive as they
  // were sent; b's SyncNode rejects them.
  const Bytes garbage = MakeMessage("garbage", 0, 777, rng);
  ASSERT_TRUE(t[2]->Publish(nodes_[1]->id(), garbage).ok());
  // A genuine message published again within the stream's duplicate window
  // is acknowledged but not stored twice.
  for (const auto& m : *out) {
    if (m.recipient == nodes_[1]->id()) ASSERT_TRUE(t[2]->Publish(m.recipient, m.bytes).ok());
  }
  EXPECT_EQ(t[2]->Stats().duplicates, 1u);
  auto junk = FetchUntil(*t[1], 2, Clock::now() + std::chrono::seconds(5));
  // c's vote for b and the garbage.
  ASSERT_EQ(junk.size(), 2u);
  std::map<RejectReason, int> reasons;
  for (const auto& m : junk) {
    ReceiveResult r = nodes_[1]->Receive(m.bytes, NowUs());
    reasons[r.reject]++;
    if (m.bytes == garbage) {
      EXPECT_EQ(r.reject, RejectReason::kMalformed) << r.status.ToString();
    }
  }
  EXPECT_EQ(reasons[RejectReason::kMalformed], 1);
  EXPECT_EQ(reasons[RejectReason::kNone], 1);  // c's vote
  auto nothing = t[1]->Fetch(4, 300);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

TEST(NatsClusterTest, ReplicatedStreamLosesNoMessageWhenAServerIsKilled) {
  START_CLUSTER_OR_SKIP(cluster, 3);
  Rng rng(kSeed + 3);
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed + 3));
  const std::vector<std::string> urls = cluster->Urls();
  TransportOptions all;
  all.urls = urls;
  all.replicas = 3;
  // a starts on n1 or n2; b on any; c on n3. (The client also learns the
  // other servers from the cluster and may fail over to them.)
  TransportOptions via12 = all;
  via12.urls = {urls[0], urls[1]};
  TransportOptions via3 = all;
  via3.urls = {urls[2]};
  const NodeId a = IdFromByte(0xaa), b = IdFromByte(0xbb), c = IdFromByte(0xcc);
  auto ta = MustConnect(a, via12);
  auto tb = MustConnect(b, all);
  auto tc = MustConnect(c, via3);
  ASSERT_TRUE(ta && tb && tc);
  const auto deadline = [] { return Clock::now() + std::chrono::seconds(30); };
  const auto t0 = Clock::now();
  auto Mark = [&](const char* what) {
    std::printf("%7.3f s  %s\n", std::chrono::duration<double>(Clock::now() - t0).count(), what);
  };

  std::vector<Bytes> for_b, for_c;
  auto publish_round = [&](const std::string& tag, int count) {
    for (int i = 0; i < count; ++i) {
      for_b.push_back(MakeMessage(tag + "-b", i, 300, rng));
      Status s = PublishUntil(*ta, b, for_b.back(), deadline());
      ASSERT_TRUE(s.ok()) << s.ToString();
      for_c.push_back(MakeMessage(tag + "-c", i, 300, rng));
      s = PublishUntil(*ta, c, for_c.back(), deadline());
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  };
  publish_round("before", 10);
  Mark("published 20 before");
  auto b1 = FetchUntil(*tb, 10, deadline());
  EXPECT_EQ(b1.size(), 10u);

  // SIGKILL the server a is connected to: a fails over to another server
  // (its URLs or one the cluster told it about), the stream keeps a quorum
  // of 2 of 3.
  const std::string a_url = ta->Stats().connected_url;
  const int a_node = a_url == urls[0] ? 1 : a_url == urls[1] ? 2 : 0;
  ASSERT_NE(a_node, 0) << a_url;
  { Status s = cluster->Kill(a_node); ASSERT_TRUE(s.ok()) << s.ToString(); }
  Mark("killed a's server");
  publish_round("a-server-down", 10);
  Mark("published 20 with it down");
  EXPECT_TRUE(ta->Stats().connected);
  EXPECT_NE(ta->Stats().connected_url, a_url);
  EXPECT_GE(ta->Stats().reconnects, 1u);
  auto b2 = FetchUntil(*tb, 10, deadline());
  b1.insert(b1.end(), b2.begin(), b2.end());
  EXPECT_EQ(AsSet(b1), std::multiset<Bytes>(for_b.begin(), for_b.end())) << "b lost or duplicated messages";

  // It returns and catches up. Then n3 and node c (which had fetched
  // nothing yet) go down together while more messages for c arrive.
  { Status s = cluster->Restart(a_node); ASSERT_TRUE(s.ok()) << s.ToString(); }
  Mark("restarted it");
  { Status s = cluster->Kill(3); ASSERT_TRUE(s.ok()) << s.ToString(); }
  tc.reset();
  Mark("killed n3, c down");
  publish_round("n3-down", 5);
  Mark("published 10 with n3 down");
  { Status s = cluster->Restart(3); ASSERT_TRUE(s.ok()) << s.ToString(); }
  Mark("restarted n3");

  // c returns through n3 and catches up from its durable consumer: every
  // message for it, once.
  tc = MustConnect(c, via3);
  ASSERT_TRUE(tc);
  auto c_all = FetchUntil(*tc, for_c.size(), deadline());
  Mark("c fetched");
  EXPECT_EQ(AsSet(c_all), std::multiset<Bytes>(for_c.begin(), for_c.end())) << "c lost or duplicated messages";
  auto extra = tc->Fetch(10, 300);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->empty());
  const TransportStats sa = ta->Stats();
  EXPECT_EQ(sa.published - sa.duplicates, for_b.size() + for_c.size());
  std::printf("a: published %llu, duplicates %llu, failed attempts %llu, reconnects %llu\n",
              static_cast<unsigned long long>(sa.published), static_cast<unsigned long long>(sa.duplicates),
              static_cast<unsigned long long>(sa.publish_failures),
              static_cast<unsigned long long>(sa.reconnects));
  ta.reset(); tb.reset(); tc.reset();
  Mark("transports closed");
}

}  // namespace
}  // namespace ruvector_dag::sync
