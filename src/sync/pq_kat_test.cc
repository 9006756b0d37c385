// Accumulated known-answer tests for the PQClean ML-KEM-768 and ML-DSA-65
// builds, driven through this module's wrappers and randombytes():
//
// ML-KEM-768, as Go's crypto/internal/mlkem768 TestAccumulated: a SHAKE-128
// stream (empty input) supplies per iteration the 64-byte key seed d || z,
// the 32-byte encapsulation message m, and a random 1088-byte ciphertext; a
// second SHAKE-128 absorbs ek, ct, the shared key, and the implicit-rejection
// key of the random ciphertext; the result is its first 32 output bytes.
//
// ML-DSA-65, as C2SP/CCTV's accumulated vectors (ML-DSA/accumulated): a
// SHAKE-128 stream supplies the 32-byte key-generation seed xi; the public key
// and the deterministic signature (rnd = 32 zero bytes) of the empty message
// with the empty context are absorbed into a second SHAKE-128; every signature
// must verify.
//
// 10,000 iterations in optimized builds. Under sanitizers (unoptimized and
// instrumented, docs/sync.md) the 100-iteration prefix, whose hashes the same
// sources publish, is checked instead.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "ruvector_dag/sync.h"
#include "sync/internal/randomness.h"

extern "C" {
#include "fips202.h"
}

namespace ruvector_dag::sync {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A SHAKE-128 instance used either as a stream (empty input, then squeezed)
// or as an accumulator (absorbed, then squeezed once).
class Shake128 {
 public:
  Shake128() { shake128_inc_init(&ctx_); }
  ~Shake128() { shake128_inc_ctx_release(&ctx_); }
  Shake128(const Shake128&) = delete;
  Shake128& operator=(const Shake128&) = delete;
  void Absorb(ByteView b) { shake128_inc_absorb(&ctx_, b.data(), b.size()); }
  void Finalize() { shake128_inc_finalize(&ctx_); }
  void Squeeze(uint8_t* out, size_t n) { shake128_inc_squeeze(out, n, &ctx_); }
  std::string HexDigest32() {
    Finalize();
    uint8_t out[32];
    Squeeze(out, sizeof(out));
    return ToHex(ByteView(out, sizeof(out)));
  }

 private:
  shake128incctx ctx_;
};

// randombytes() for the KATs: from the SHAKE-128 stream, or zeros (ML-DSA's
// rnd for deterministic signing).
struct KatRandomness {
  Shake128* stream = nullptr;
  bool zeros = false;
  size_t draws = 0;
  static void Fill(void* self, uint8_t* out, size_t n) {
    auto* r = static_cast<KatRandomness*>(self);
    ++r->draws;
    if (r->zeros) {
      std::memset(out, 0, n);
    } else {
      r->stream->Squeeze(out, n);
    }
  }
};

std::string AccumulatedMlKem768(int iterations) {
  Shake128 stream;
  stream.Finalize();
  Shake128 acc;
  KatRandomness rnd{&stream};
  internal::ScopedRandomness scoped(&KatRandomness::Fill, &rnd);
  Bytes random_ct(kKemCiphertextBytes);
  for (int i = 0; i < iterations; ++i) {
    auto kp = KemGenerateKeyPair();  // draws d || z (64 bytes)
    EXPECT_TRUE(kp.ok()) << kp.status().ToString();
    if (!kp.ok()) return "";
    acc.Absorb(kp->public_key);
    auto enc = KemEncapsulate(kp->public_key);  // draws m (32 bytes)
    EXPECT_TRUE(enc.ok()) << enc.status().ToString();
    if (!enc.ok()) return "";
    acc.Absorb(enc->ciphertext);
    acc.Absorb(enc->shared_secret.view());
    auto dec = KemDecapsulate(kp->secret_key, enc->ciphertext);
    EXPECT_TRUE(dec.ok());
    if (!dec.ok()) return "";
    EXPECT_EQ(0, std::memcmp(dec->data(), enc->shared_secret.data(), kKemSharedSecretBytes)) << "iteration " << i;
    stream.Squeeze(random_ct.data(), random_ct.size());
    auto rejected = KemDecapsulate(kp->secret_key, random_ct);
    EXPECT_TRUE(rejected.ok());
    if (!rejected.ok()) return "";
    acc.Absorb(rejected->view());
  }
  EXPECT_EQ(rnd.draws, static_cast<size_t>(2 * iterations)) << "randombytes() calls";
  return acc.HexDigest32();
}

std::string AccumulatedMlDsa65(int iterations) {
  Shake128 stream;
  stream.Finalize();
  Shake128 acc;
  KatRandomness rnd{&stream};
  internal::ScopedRandomness scoped(&KatRandomness::Fill, &rnd);
  for (int i = 0; i < iterations; ++i) {
    rnd.zeros = false;
    auto kp = SigGenerateKeyPair();  // draws xi (32 bytes)
    EXPECT_TRUE(kp.ok()) << kp.status().ToString();
    if (!kp.ok()) return "";
    acc.Absorb(kp->public_key);
    rnd.zeros = true;
    auto sig = Sign(kp->secret_key, ByteView(), "");
    EXPECT_TRUE(sig.ok()) << sig.status().ToString();
    if (!sig.ok()) return "";
    acc.Absorb(*sig);
    EXPECT_TRUE(Verify(kp->public_key, ByteView(), *sig, "").ok()) << "iteration " << i;
  }
  EXPECT_EQ(rnd.draws, static_cast<size_t>(2 * iterations)) << "randombytes() calls";
  return acc.HexDigest32();
}

TEST(PqKatTest, ShakeStreamStartsAsPublished) {
  Shake128 stream;
  stream.Finalize();
  uint8_t out[16];
  stream.Squeeze(out, sizeof(out));
  EXPECT_EQ(ToHex(ByteView(out, sizeof(out))), "7f9c2ba4e88f827d616045507605853e");
}

TEST(PqKatTest, MlKem768Accumulated100) {
  EXPECT_EQ(AccumulatedMlKem768(100), "1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415");
}

TEST(PqKatTest, MlDsa65Accumulated100) {
  EXPECT_EQ(AccumulatedMlDsa65(100), "8358a1843220194417cadbc2651295cd8fc65125b5a5c1a239a16dc8b57ca199");
}

TEST(PqKatTest, MlKem768Accumulated10000) {
  if (kSanitized) GTEST_SKIP() << "sanitizer build: the 100-iteration prefix is checked (docs/sync.md)";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(AccumulatedMlKem768(10000), "8a518cc63da366322a8e7a818c7a0d63483cb3528d34a4cf42f35d5ad73f22fc");
  std::printf("10,000 ML-KEM-768 iterations: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

TEST(PqKatTest, MlDsa65Accumulated10000) {
  if (kSanitized) GTEST_SKIP() << "sanitizer build: the 100-iteration prefix is checked (docs/sync.md)";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(AccumulatedMlDsa65(10000), "5ff5e196f0b830c3b10a9eb5358e7c98a3a20136cb677f3ae3b90175c3ace329");
  std::printf("10,000 ML-DSA-65 iterations: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace
}  // namespace ruvector_dag::sync
