#include "sync/internal/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

namespace ruvector_dag::sync::internal {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Status CheckAeadArgs(const SecretBytes& key, ByteView nonce, size_t length) {
  if (key.size() != kAeadKeyBytes) return Status::InvalidArgument("AEAD key must be 32 bytes");
  if (nonce.size() != kAeadNonceBytes) return Status::InvalidArgument("AEAD nonce must be 12 bytes");
  if (length > static_cast<size_t>(INT_MAX) / 2) return Status::OutOfRange("AEAD input too large");
  return Status::Ok();
}

}  // namespace

Status RandomBytes(uint8_t* out, size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) return Status::OutOfRange("random request too large");
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    return Status::Internal("the system random generator failed");
  }
  return Status::Ok();
}

Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return Status::Internal("OpenSSL has no HKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return Status::Internal("HKDF context allocation failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  SecretBytes out(length);
  const int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return Status::Internal("HKDF-SHA256 derivation failed");
  return out;
}

Result<Bytes> AeadSeal(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView plaintext) {
  RUVECTOR_RETURN_IF_ERROR(CheckAeadArgs(key, nonce, plaintext.size() + aad.size()));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("AEAD context allocation failed");
  Bytes out(plaintext.size() + kAeadTagBytes);
  int len = 0;
  int total = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagBytes),
                          out.data() + plaintext.size()) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<Bytes> AeadOpen(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView sealed) {
  RUVECTOR_RETURN_IF_ERROR(CheckAeadArgs(key, nonce, sealed.size() + aad.size()));
  if (sealed.size() < kAeadTagBytes) return Status::DataLoss("sealed payload shorter than its tag");
  const size_t n = sealed.size() - kAeadTagBytes;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("AEAD context allocation failed");
  Bytes out(n);
  int len = 0;
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(n), sealed.end());
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagBytes), tag.data()) != 1) {
    return Status::Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Status::DataLoss("AEAD authentication failed");
  }
  return out;
}

}  // namespace ruvector_dag::sync::internal
