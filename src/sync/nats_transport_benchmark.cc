// Publish -> fetch latency of the NATS JetStream transport on a local
// single server and a local 3-node cluster (stream R3), with a sealed
// pattern proposal's size. Each iteration publishes one message (waiting for
// JetStream's acknowledgement, i.e. stored on a quorum of replicas) and
// fetches it on the recipient's durable consumer (with a confirmed ack).
// Counters: median and 90th percentile of the round trip and of the publish
// alone (µs), the message size, and the bytes JetStream stores per message
// per replica. Skipped when nats-server is not installed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "internal/nats_cluster.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"
#include "ruvector_dag/sync_transport.h"

namespace ruvector_dag::sync {
namespace {

using Clock = std::chrono::steady_clock;

// One real sealed 256-float pattern proposal from a to b.
Bytes SealedProposal(Keystore* b_keys_out) {
  auto a = NodeIdentity::Generate("bench-a");
  auto b = NodeIdentity::Generate("bench-b");
  if (!a.ok() || !b.ok()) return {};
  PeerInfo b_info = b->info();
  Keystore ka(std::move(a).value());
  (void)ka.AddPeer(b_info);
  *b_keys_out = Keystore(std::move(b).value());
  auto node = SyncNode::Create(std::move(ka), SyncNodeOptions{});
  if (!node.ok()) return {};
  Rng rng(1);
  SeededNoiseSource noise(&rng);
  PatternObservation obs;
  obs.fingerprint = 7;
  obs.embedding.assign(256, 0.5f);
  obs.arm = "no_nestloop";
  obs.gain = 0.3;
  obs.samples = 400;
  auto out = (*node)->Propose({obs}, noise, 1'800'000'000'000'000);
  if (!out.ok() || out->size() != 1) return {};
  return (*out)[0].bytes;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// The first top-level "key": number in the monitoring JSON.
double JsonNumber(const std::string& json, const std::string& key) {
  std::smatch m;
  if (std::regex_search(json, m, std::regex("\"" + key + "\": *([0-9]+)"))) return std::stod(m[1]);
  return 0.0;
}

std::string Monitor(const testing::NatsCluster& c, int node, const std::string& path) {
  const std::string cmd = "'" RUVECTOR_NATS_CLUSTER_SCRIPT "' monitor '" + c.dir() + "' " +
                          std::to_string(node) + " '" + path + "' 2>/dev/null";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

void BM_JetStreamPublishFetch(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  if (!JetStreamBuiltIn()) {
    state.SkipWithError("built without the NATS transport");
    return;
  }
  // One cluster and one sealed message per node count for the whole run
  // (the library calls this function several times to size the run).
  static std::map<int, std::unique_ptr<testing::NatsCluster>> clusters;
  static std::unique_ptr<Keystore> b_keys;
  static Bytes message;
  static uint64_t seq = 0;
  if (clusters.count(nodes) == 0) {
    auto c = testing::NatsCluster::Start(RUVECTOR_NATS_CLUSTER_SCRIPT, nodes);
    if (!c.ok()) {
      state.SkipWithError(c.status().ToString().c_str());
      return;
    }
    clusters[nodes] = std::move(c).value();
  }
  if (message.empty()) {
    b_keys = std::make_unique<Keystore>(NodeIdentity::Generate("recipient").value());
    message = SealedProposal(b_keys.get());
    if (message.empty()) {
      state.SkipWithError("could not seal a proposal");
      return;
    }
  }
  const testing::NatsCluster& cluster = *clusters[nodes];
  TransportOptions o;
  o.urls = cluster.Urls();
  o.replicas = nodes;
  NodeId a_id;
  a_id.bytes.fill(0xa1);
  auto ta = ConnectJetStream(a_id, o);
  auto tb = ConnectJetStream(b_keys->self().id(), o);
  if (!ta.ok() || !tb.ok()) {
    state.SkipWithError((ta.ok() ? tb.status() : ta.status()).ToString().c_str());
    return;
  }
  std::vector<double> round_trip_us, publish_us;
  for (auto _ : state) {
    // A distinct message id per iteration: the sequence field changes (the
    // transport never interprets the bytes; the receiver's checks are timed
    // by BM_OpenPattern).
    ++seq;
    for (int i = 0; i < 8; ++i) message[72 + i] = static_cast<uint8_t>(seq >> (8 * i));
    const auto t0 = Clock::now();
    Status s = (*ta)->Publish(b_keys->self().id(), message);
    const auto t1 = Clock::now();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    auto got = (*tb)->Fetch(1, 5000);
    const auto t2 = Clock::now();
    if (!got.ok() || got->size() != 1 || (*got)[0].bytes != message) {
      state.SkipWithError("fetch did not return the published message");
      break;
    }
    publish_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    round_trip_us.push_back(std::chrono::duration<double, std::micro>(t2 - t0).count());
  }
  const std::string jsz = Monitor(cluster, 1, "/jsz");
  const double stored_msgs = JsonNumber(jsz, "messages");
  state.counters["rt_p50_us"] = Percentile(round_trip_us, 0.5);
  state.counters["rt_p90_us"] = Percentile(round_trip_us, 0.9);
  state.counters["pub_p50_us"] = Percentile(publish_us, 0.5);
  state.counters["msg_bytes"] = static_cast<double>(message.size());
  state.counters["stored_bytes_per_msg"] = stored_msgs > 0 ? JsonNumber(jsz, "bytes") / stored_msgs : 0.0;
}
BENCHMARK(BM_JetStreamPublishFetch)->Arg(1)->Arg(3)->ArgName("nodes")->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag::sync
