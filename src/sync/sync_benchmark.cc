// Benchmarks of the sync module: ML-KEM-768 and ML-DSA-65 operations (PQClean
// "clean" C, no vector instructions), sealing and opening one pattern
// proposal, and its size on the wire (counter "wire_bytes").
#include <benchmark/benchmark.h>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;

void BM_KemKeyGen(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(KemGenerateKeyPair());
}
BENCHMARK(BM_KemKeyGen)->Unit(benchmark::kMicrosecond);

void BM_KemEncapsulate(benchmark::State& state) {
  const KemKeyPair kp = KemGenerateKeyPair().value();
  for (auto _ : state) benchmark::DoNotOptimize(KemEncapsulate(kp.public_key));
}
BENCHMARK(BM_KemEncapsulate)->Unit(benchmark::kMicrosecond);

void BM_KemDecapsulate(benchmark::State& state) {
  const KemKeyPair kp = KemGenerateKeyPair().value();
  const KemEncapsulation enc = KemEncapsulate(kp.public_key).value();
  for (auto _ : state) benchmark::DoNotOptimize(KemDecapsulate(kp.secret_key, enc.ciphertext));
}
BENCHMARK(BM_KemDecapsulate)->Unit(benchmark::kMicrosecond);

void BM_SigKeyGen(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(SigGenerateKeyPair());
}
BENCHMARK(BM_SigKeyGen)->Unit(benchmark::kMicrosecond);

Bytes Message(size_t n) {
  Rng rng(1);
  Bytes m(n);
  for (auto& b : m) b = static_cast<uint8_t>(rng.Next());
  return m;
}

void BM_Sign(benchmark::State& state) {
  const SigKeyPair kp = SigGenerateKeyPair().value();
  const Bytes msg = Message(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sign(kp.secret_key, msg, "bench"));
}
BENCHMARK(BM_Sign)->Arg(1300)->Unit(benchmark::kMicrosecond);

void BM_Verify(benchmark::State& state) {
  const SigKeyPair kp = SigGenerateKeyPair().value();
  const Bytes msg = Message(static_cast<size_t>(state.range(0)));
  const Bytes sig = Sign(kp.secret_key, msg, "bench").value();
  for (auto _ : state) benchmark::DoNotOptimize(Verify(kp.public_key, msg, sig, "bench"));
}
BENCHMARK(BM_Verify)->Arg(1300)->Unit(benchmark::kMicrosecond);

// A pattern as the engine would publish it: 256-float embedding.
PatternObservation Observation() {
  PatternObservation o;
  o.fingerprint = 0x1234;
  o.embedding.assign(256, 0.01f);
  o.arm = "no_nestloop";
  o.gain = 0.3;
  o.samples = 500;
  return o;
}

Bytes ProposalPayload() {
  SecureNoiseSource noise;
  PrivacyAccountant acc = PrivacyAccountant::Create(1.0, 0.0).value();
  return EncodeProposal(PrivatizePattern(Observation(), PrivacyOptions{}, noise, &acc).value());
}

void BM_SealPattern(benchmark::State& state) {
  NodeIdentity a = NodeIdentity::Generate("a").value();
  NodeIdentity b = NodeIdentity::Generate("b").value();
  MessageSealer sealer(&a);
  const Bytes payload = ProposalPayload();
  size_t wire = 0;
  for (auto _ : state) {
    auto m = sealer.Seal(MessageKind::kPatternProposal, b.info(), payload, kNow);
    wire = m->size();
    benchmark::DoNotOptimize(m);
  }
  state.counters["payload_bytes"] = static_cast<double>(payload.size());
  state.counters["wire_bytes"] = static_cast<double>(wire);
}
BENCHMARK(BM_SealPattern)->Unit(benchmark::kMicrosecond);

void BM_OpenPattern(benchmark::State& state) {
  NodeIdentity a = NodeIdentity::Generate("a").value();
  const PeerInfo a_info = a.info();
  Keystore ks(NodeIdentity::Generate("b").value());
  (void)ks.AddPeer(a_info);
  MessageSealer sealer(&a);
  const Bytes payload = ProposalPayload();
  // Fresh messages (the replay window refuses repeats), sealed outside timing.
  std::vector<Bytes> batch;
  MessageOpener opener(&ks, ReplayOptions{INT64_MAX / 2, 64});
  size_t i = 0;
  for (auto _ : state) {
    if (i == batch.size()) {
      state.PauseTiming();
      batch.clear();
      for (int k = 0; k < 64; ++k) {
        batch.push_back(sealer.Seal(MessageKind::kPatternProposal, ks.self().info(), payload, kNow).value());
      }
      i = 0;
      state.ResumeTiming();
    }
    auto r = opener.Open(batch[i++], kNow);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_OpenPattern)->Unit(benchmark::kMicrosecond);

void BM_PrivatizePattern(benchmark::State& state) {
  SecureNoiseSource noise;
  PrivacyAccountant acc = PrivacyAccountant::Create(1e12, 0.0).value();
  const PatternObservation o = Observation();
  PrivacyOptions opt;
  for (auto _ : state) benchmark::DoNotOptimize(PrivatizePattern(o, opt, noise, &acc));
}
BENCHMARK(BM_PrivatizePattern)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ruvector_dag::sync
