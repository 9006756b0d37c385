// Round trips and tamper rejection of the ML-KEM / ML-DSA wrappers, the
// AEAD, identities and the keystore file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ruvector_dag/sync.h"
#include "sync/internal/aead.h"

namespace ruvector_dag::sync {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr size_t kBitStride = 29;  // sanitizer builds: every 29th bit (docs/sync.md)
#else
constexpr size_t kBitStride = 1;
#endif

TEST(CryptoTest, KemRoundTripAndImplicitRejection) {
  auto kp = KemGenerateKeyPair();
  ASSERT_TRUE(kp.ok()) << kp.status().ToString();
  EXPECT_EQ(kp->public_key.size(), kKemPublicKeyBytes);
  EXPECT_EQ(kp->secret_key.size(), kKemSecretKeyBytes);
  auto enc = KemEncapsulate(kp->public_key);
  ASSERT_TRUE(enc.ok());
  auto dec = KemDecapsulate(kp->secret_key, enc->ciphertext);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(0, std::memcmp(dec->data(), enc->shared_secret.data(), kKemSharedSecretBytes));
  // A flipped bit gives a different (pseudo-random) secret, never the real one.
  for (size_t byte : {size_t{0}, size_t{500}, kKemCiphertextBytes - 1}) {
    Bytes ct = enc->ciphertext;
    ct[byte] ^= 0x10;
    auto other = KemDecapsulate(kp->secret_key, ct);
    ASSERT_TRUE(other.ok());
    EXPECT_NE(0, std::memcmp(other->data(), enc->shared_secret.data(), kKemSharedSecretBytes)) << byte;
  }
  EXPECT_FALSE(KemEncapsulate(Bytes(kKemPublicKeyBytes - 1)).ok());
  EXPECT_FALSE(KemDecapsulate(kp->secret_key, Bytes(10)).ok());
}

TEST(CryptoTest, SignatureRoundTripAndEveryFlippedBitRejected) {
  auto kp = SigGenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  const Bytes msg = {'p', 'a', 't', 't', 'e', 'r', 'n'};
  auto sig = Sign(kp->secret_key, msg, "ctx");
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), kSignatureBytes);
  EXPECT_TRUE(Verify(kp->public_key, msg, *sig, "ctx").ok());
  EXPECT_FALSE(Verify(kp->public_key, msg, *sig, "other context").ok());
  // Every bit of the message and of the signature.
  for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
    Bytes m = msg;
    m[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(Verify(kp->public_key, m, *sig, "ctx").code(), StatusCode::kDataLoss) << "message bit " << bit;
  }
  for (size_t bit = 0; bit < kSignatureBytes * 8; bit += kBitStride) {
    Bytes s = *sig;
    s[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_EQ(Verify(kp->public_key, msg, s, "ctx").code(), StatusCode::kDataLoss) << "signature bit " << bit;
  }
  EXPECT_FALSE(Verify(kp->public_key, msg, Bytes(sig->begin(), sig->end() - 1), "ctx").ok());
  auto other = SigGenerateKeyPair();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(Verify(other->public_key, msg, *sig, "ctx").ok());
}

TEST(CryptoTest, AeadRoundTripAndTamper) {
  SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.data()[i] = static_cast<uint8_t>(i);
  const Bytes nonce(12, 7), aad = {1, 2, 3}, plain = {'h', 'e', 'l', 'l', 'o'};
  auto sealed = internal::AeadSeal(key, nonce, aad, plain);
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), plain.size() + kAeadTagBytes);
  auto opened = internal::AeadOpen(key, nonce, aad, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
  for (size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    Bytes s = *sealed;
    s[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(internal::AeadOpen(key, nonce, aad, s).status().code(), StatusCode::kDataLoss) << bit;
  }
  EXPECT_FALSE(internal::AeadOpen(key, nonce, Bytes{1, 2, 4}, *sealed).ok());
}

TEST(CryptoTest, HkdfMatchesRfc5869Case3) {
  // RFC 5869, test case 3 (SHA-256, empty salt and info).
  const Bytes ikm(22, 0x0b);
  auto okm = internal::HkdfSha256(ikm, ByteView(), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(ToHex(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(CryptoTest, SecretBytesAreEmptiedWhenMovedOrWiped) {
  SecretBytes a(16);
  std::memset(a.data(), 0xab, a.size());
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(b.data()[15], 0xab);
  b.Wipe();
  EXPECT_TRUE(b.empty());
}

TEST(IdentityTest, IdsDeriveFromKeysAndPeerInfoRoundTrips) {
  auto a = NodeIdentity::Generate("node-a");
  ASSERT_TRUE(a.ok());
  auto b = NodeIdentity::Generate("node-b");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->id(), b->id());
  auto again = PeerInfo::FromKeys("renamed", a->info().sig_public_key, a->info().kem_public_key);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, a->id());
  auto parsed = PeerInfo::Parse(a->info().Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id, a->id());
  EXPECT_EQ(parsed->name, "node-a");
  Bytes cut = a->info().Serialize();
  cut.pop_back();
  EXPECT_FALSE(PeerInfo::Parse(cut).ok());
  EXPECT_FALSE(NodeIdentity::Generate("").ok());
  EXPECT_FALSE(NodeIdentity::Generate(std::string(65, 'x')).ok());
  EXPECT_FALSE(NodeIdentity::Generate("tab\there").ok());
}

TEST(IdentityTest, MismatchedKeysAreRefused) {
  auto sig1 = SigGenerateKeyPair(), sig2 = SigGenerateKeyPair();
  auto kem1 = KemGenerateKeyPair(), kem2 = KemGenerateKeyPair();
  ASSERT_TRUE(sig1.ok() && sig2.ok() && kem1.ok() && kem2.ok());
  SigKeyPair mixed_sig{sig1->public_key, std::move(sig2->secret_key)};
  KemKeyPair good_kem{kem1->public_key, SecretBytes(kem1->secret_key.data(), kem1->secret_key.size())};
  auto r1 = NodeIdentity::FromKeys("x", std::move(mixed_sig), std::move(good_kem));
  EXPECT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("ML-DSA-65 secret key does not belong"), std::string::npos);
  SigKeyPair good_sig{sig1->public_key, std::move(sig1->secret_key)};
  KemKeyPair mixed_kem{kem1->public_key, std::move(kem2->secret_key)};
  auto r2 = NodeIdentity::FromKeys("x", std::move(good_sig), std::move(mixed_kem));
  EXPECT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("ML-KEM-768 secret key does not belong"), std::string::npos);
}

class KeystoreFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ruvector_keystore_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/node.keys";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".tmp").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(KeystoreFileTest, SaveLoadRoundTripWithPeersAndMode0600) {
  auto self = NodeIdentity::Generate("self");
  auto peer = NodeIdentity::Generate("peer");
  ASSERT_TRUE(self.ok() && peer.ok());
  Keystore ks(std::move(self).value());
  ASSERT_TRUE(ks.AddPeer(peer->info()).ok());
  EXPECT_FALSE(ks.AddPeer(ks.self().info()).ok()) << "own id as a peer";
  ASSERT_TRUE(ks.Save(path_).ok());
  struct stat st{};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = Keystore::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->self().id(), ks.self().id());
  ASSERT_NE(loaded->FindPeer(peer->id()), nullptr);
  EXPECT_EQ(loaded->FindPeer(peer->id())->name, "peer");
  // The loaded secret keys work: a signature verifies, a decapsulation agrees.
  const Bytes msg = {1, 2, 3};
  auto sig = loaded->self().Sign(msg, "t");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Verify(ks.self().info().sig_public_key, msg, *sig, "t").ok());
  auto enc = KemEncapsulate(ks.self().info().kem_public_key);
  ASSERT_TRUE(enc.ok());
  auto ss = loaded->self().Decapsulate(enc->ciphertext);
  ASSERT_TRUE(ss.ok());
  EXPECT_EQ(0, std::memcmp(ss->data(), enc->shared_secret.data(), 32));
}

TEST_F(KeystoreFileTest, WhatIsAtTheTemporaryPathIsReplacedNeverWrittenThrough) {
  auto self = NodeIdentity::Generate("self");
  ASSERT_TRUE(self.ok());
  Keystore ks(std::move(self).value());
  // A symlink to another file: that file keeps its bytes (no secret key is
  // written into it), the keystore is a regular file.
  const std::string victim = dir_ + "/victim";
  {
    std::FILE* f = std::fopen(victim.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("precious", f);
    std::fclose(f);
  }
  ASSERT_EQ(symlink(victim.c_str(), (path_ + ".tmp").c_str()), 0);
  ASSERT_TRUE(ks.Save(path_).ok());
  char buf[32] = {0};
  std::FILE* f = std::fopen(victim.c_str(), "r");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(std::fread(buf, 1, sizeof(buf) - 1, f), 8u);
  std::fclose(f);
  EXPECT_STREQ(buf, "precious");
  struct stat st{};
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_TRUE(Keystore::Load(path_).ok());
  // A FIFO there: replaced, not waited on.
  ASSERT_EQ(mkfifo((path_ + ".tmp").c_str(), 0600), 0);
  ASSERT_TRUE(ks.Save(path_).ok());
  EXPECT_TRUE(Keystore::Load(path_).ok());
  std::remove(victim.c_str());
}

TEST_F(KeystoreFileTest, CorruptTruncatedAndExposedFilesAreRefused) {
  auto self = NodeIdentity::Generate("self");
  ASSERT_TRUE(self.ok());
  Keystore ks(std::move(self).value());
  ASSERT_TRUE(ks.Save(path_).ok());
  SecretBytes image = ks.Serialize();
  // Any flipped byte fails the checksum (or, in the checksum, the comparison).
  for (size_t i = 0; i < image.size(); i += 97) {
    Bytes b(image.data(), image.data() + image.size());
    b[i] ^= 0x01;
    auto r = Keystore::Parse(b);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << i;
  }
  EXPECT_FALSE(Keystore::Parse(ByteView(image.data(), 100)).ok());
  EXPECT_FALSE(Keystore::Parse(ByteView()).ok());
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  auto exposed = Keystore::Load(path_);
  EXPECT_EQ(exposed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(exposed.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(Keystore::Load(dir_ + "/missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ruvector_dag::sync
