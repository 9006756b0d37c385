// ML-KEM-768 and ML-DSA-65 through PQClean's "clean" C sources, the
// randombytes() they call, and the secret-holding buffer.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <cstring>

#include "ruvector_dag/sync.h"
#include "sync/internal/randomness.h"

extern "C" {
#include "crypto_kem/ml-kem-768/clean/api.h"
#include "crypto_sign/ml-dsa-65/clean/api.h"
}

static_assert(ruvector_dag::sync::kKemPublicKeyBytes == PQCLEAN_MLKEM768_CLEAN_CRYPTO_PUBLICKEYBYTES);
static_assert(ruvector_dag::sync::kKemSecretKeyBytes == PQCLEAN_MLKEM768_CLEAN_CRYPTO_SECRETKEYBYTES);
static_assert(ruvector_dag::sync::kKemCiphertextBytes == PQCLEAN_MLKEM768_CLEAN_CRYPTO_CIPHERTEXTBYTES);
static_assert(ruvector_dag::sync::kKemSharedSecretBytes == PQCLEAN_MLKEM768_CLEAN_CRYPTO_BYTES);
static_assert(ruvector_dag::sync::kSigPublicKeyBytes == PQCLEAN_MLDSA65_CLEAN_CRYPTO_PUBLICKEYBYTES);
static_assert(ruvector_dag::sync::kSigSecretKeyBytes == PQCLEAN_MLDSA65_CLEAN_CRYPTO_SECRETKEYBYTES);
static_assert(ruvector_dag::sync::kSignatureBytes == PQCLEAN_MLDSA65_CLEAN_CRYPTO_BYTES);

namespace ruvector_dag::sync {
namespace internal {
namespace {

thread_local RandomnessFn t_fn = nullptr;
thread_local void* t_context = nullptr;
thread_local bool t_failed = false;

}  // namespace

ScopedRandomness::ScopedRandomness(RandomnessFn fn, void* context)
    : previous_fn_(t_fn), previous_context_(t_context) {
  t_fn = fn;
  t_context = context;
}
ScopedRandomness::~ScopedRandomness() {
  t_fn = previous_fn_;
  t_context = previous_context_;
}
void ResetRandomnessFailure() { t_failed = false; }
bool RandomnessFailed() { return t_failed; }

// PQClean's callers ignore randombytes()'s result, so a failure is recorded
// for the wrapper below to turn into an error (and the bytes are zeros).
static int FillRandom(uint8_t* out, size_t n) {
  if (t_fn != nullptr) {
    t_fn(t_context, out, n);
    return 0;
  }
  while (n > 0) {
    const int chunk = n > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) {
      std::memset(out, 0, n);
      t_failed = true;
      return -1;
    }
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return 0;
}

}  // namespace internal

namespace {

// Runs a PQClean call that draws randomness, turning a CSPRNG failure into an
// error.
template <typename F>
Status WithRandomness(const char* what, F&& call) {
  internal::ResetRandomnessFailure();
  const int rc = call();
  if (internal::RandomnessFailed()) {
    return Status::Internal(std::string(what) + ": the system random generator failed");
  }
  if (rc != 0) return Status::Internal(std::string(what) + " failed (PQClean returned " + std::to_string(rc) + ")");
  return Status::Ok();
}

Status CheckSize(ByteView bytes, size_t expected, const char* what) {
  if (bytes.size() != expected) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(bytes.size()) +
                                   " bytes, expected " + std::to_string(expected));
  }
  return Status::Ok();
}

}  // namespace
}  // namespace ruvector_dag::sync

extern "C" int PQCLEAN_randombytes(uint8_t* output, size_t n) {
  return ruvector_dag::sync::internal::FillRandom(output, n);
}

namespace ruvector_dag::sync {

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}
SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}
void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
  bytes_.shrink_to_fit();
}

std::string ToHex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::array<uint8_t, 32> Sha256(ByteView bytes) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail on valid arguments short of memory
  // exhaustion, which is a bug-level condition here.
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    out.fill(0);
  }
  return out;
}

Result<KemKeyPair> KemGenerateKeyPair() {
  KemKeyPair kp{Bytes(kKemPublicKeyBytes), SecretBytes(kKemSecretKeyBytes)};
  RUVECTOR_RETURN_IF_ERROR(WithRandomness("ML-KEM-768 key generation", [&] {
    return PQCLEAN_MLKEM768_CLEAN_crypto_kem_keypair(kp.public_key.data(), kp.secret_key.data());
  }));
  return kp;
}

Result<KemEncapsulation> KemEncapsulate(ByteView public_key) {
  RUVECTOR_RETURN_IF_ERROR(CheckSize(public_key, kKemPublicKeyBytes, "ML-KEM-768 public key"));
  KemEncapsulation enc{Bytes(kKemCiphertextBytes), SecretBytes(kKemSharedSecretBytes)};
  RUVECTOR_RETURN_IF_ERROR(WithRandomness("ML-KEM-768 encapsulation", [&] {
    return PQCLEAN_MLKEM768_CLEAN_crypto_kem_enc(enc.ciphertext.data(), enc.shared_secret.data(),
                                                 public_key.data());
  }));
  return enc;
}

Result<SecretBytes> KemDecapsulate(const SecretBytes& secret_key, ByteView ciphertext) {
  RUVECTOR_RETURN_IF_ERROR(CheckSize(secret_key.view(), kKemSecretKeyBytes, "ML-KEM-768 secret key"));
  RUVECTOR_RETURN_IF_ERROR(CheckSize(ciphertext, kKemCiphertextBytes, "ML-KEM-768 ciphertext"));
  SecretBytes ss(kKemSharedSecretBytes);
  if (PQCLEAN_MLKEM768_CLEAN_crypto_kem_dec(ss.data(), ciphertext.data(), secret_key.data()) != 0) {
    return Status::Internal("ML-KEM-768 decapsulation failed");
  }
  return ss;
}

Result<SigKeyPair> SigGenerateKeyPair() {
  SigKeyPair kp{Bytes(kSigPublicKeyBytes), SecretBytes(kSigSecretKeyBytes)};
  RUVECTOR_RETURN_IF_ERROR(WithRandomness("ML-DSA-65 key generation", [&] {
    return PQCLEAN_MLDSA65_CLEAN_crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  }));
  return kp;
}

Result<Bytes> Sign(const SecretBytes& secret_key, ByteView message, std::string_view context) {
  RUVECTOR_RETURN_IF_ERROR(CheckSize(secret_key.view(), kSigSecretKeyBytes, "ML-DSA-65 secret key"));
  if (context.size() > 255) return Status::InvalidArgument("ML-DSA context longer than 255 bytes");
  Bytes sig(kSignatureBytes);
  size_t sig_len = 0;
  RUVECTOR_RETURN_IF_ERROR(WithRandomness("ML-DSA-65 signing", [&] {
    return PQCLEAN_MLDSA65_CLEAN_crypto_sign_signature_ctx(
        sig.data(), &sig_len, message.data(), message.size(),
        reinterpret_cast<const uint8_t*>(context.data()), context.size(), secret_key.data());
  }));
  if (sig_len != kSignatureBytes) return Status::Internal("ML-DSA-65 signature of unexpected length");
  return sig;
}

Status Verify(ByteView public_key, ByteView message, ByteView signature, std::string_view context) {
  RUVECTOR_RETURN_IF_ERROR(CheckSize(public_key, kSigPublicKeyBytes, "ML-DSA-65 public key"));
  if (signature.size() != kSignatureBytes) {
    return Status::DataLoss("signature has " + std::to_string(signature.size()) + " bytes, expected " +
                            std::to_string(kSignatureBytes));
  }
  if (context.size() > 255) return Status::InvalidArgument("ML-DSA context longer than 255 bytes");
  if (PQCLEAN_MLDSA65_CLEAN_crypto_sign_verify_ctx(
          signature.data(), signature.size(), message.data(), message.size(),
          reinterpret_cast<const uint8_t*>(context.data()), context.size(), public_key.data()) != 0) {
    return Status::DataLoss("signature does not verify");
  }
  return Status::Ok();
}

}  // namespace ruvector_dag::sync
