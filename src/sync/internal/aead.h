// HKDF-SHA256 and AES-256-GCM (OpenSSL) for sealing payloads under a key
// derived from an ML-KEM-768 shared secret.
#ifndef RUVECTOR_DAG_SYNC_INTERNAL_AEAD_H_
#define RUVECTOR_DAG_SYNC_INTERNAL_AEAD_H_

#include "ruvector_dag/status.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync::internal {

inline constexpr size_t kAeadKeyBytes = 32;

/// RFC 5869 HKDF-SHA256 with an empty salt: `length` bytes from `ikm`, bound
/// to `info`.
Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView info, size_t length);
/// AES-256-GCM: ciphertext followed by the 16-byte tag.
Result<Bytes> AeadSeal(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView plaintext);
/// kDataLoss when authentication fails.
Result<Bytes> AeadOpen(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView sealed);
/// `n` bytes from the system CSPRNG.
Status RandomBytes(uint8_t* out, size_t n);

}  // namespace ruvector_dag::sync::internal

#endif  // RUVECTOR_DAG_SYNC_INTERNAL_AEAD_H_
