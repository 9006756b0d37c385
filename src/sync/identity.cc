// Node identities, peers and the keystore file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/crypto.h>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"
#include "sync/internal/private_file.h"
#include "sync/internal/wire.h"

namespace ruvector_dag::sync {
namespace {

constexpr char kKeystoreMagic[4] = {'R', 'V', 'K', 'S'};
constexpr uint8_t kKeystoreVersion = 1;
constexpr size_t kMaxPeers = 4096;
constexpr size_t kMaxNameBytes = 64;
constexpr std::string_view kKeyCheckContext = "ruvector-sync/v1 key check";

Status ValidateName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("node name must be 1.." + std::to_string(kMaxNameBytes) + " bytes, got " +
                                   std::to_string(name.size()));
  }
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) return Status::InvalidArgument("node name must be printable ASCII");
  }
  return Status::Ok();
}

NodeId DeriveId(ByteView sig_pk, ByteView kem_pk) {
  Bytes both(sig_pk.begin(), sig_pk.end());
  both.insert(both.end(), kem_pk.begin(), kem_pk.end());
  NodeId id;
  id.bytes = Sha256(both);
  return id;
}

void WritePeer(internal::Writer& w, const PeerInfo& p) {
  w.Str(p.name);
  w.Raw(p.sig_public_key);
  w.Raw(p.kem_public_key);
}

Result<PeerInfo> ReadPeer(internal::Reader& r) {
  std::string name;
  Bytes sig(kSigPublicKeyBytes), kem(kKemPublicKeyBytes);
  r.Str(&name, kMaxNameBytes, "peer name");
  r.Raw(sig.data(), sig.size(), "peer ML-DSA public key");
  r.Raw(kem.data(), kem.size(), "peer ML-KEM public key");
  RUVECTOR_RETURN_IF_ERROR(r.status());
  return PeerInfo::FromKeys(std::move(name), std::move(sig), std::move(kem));
}

}  // namespace

std::string NodeId::Short() const { return ToHex(ByteView(bytes.data(), 8)); }

Result<PeerInfo> PeerInfo::FromKeys(std::string name, Bytes sig_public_key, Bytes kem_public_key) {
  RUVECTOR_RETURN_IF_ERROR(ValidateName(name));
  if (sig_public_key.size() != kSigPublicKeyBytes) {
    return Status::InvalidArgument("ML-DSA-65 public key has " + std::to_string(sig_public_key.size()) + " bytes");
  }
  if (kem_public_key.size() != kKemPublicKeyBytes) {
    return Status::InvalidArgument("ML-KEM-768 public key has " + std::to_string(kem_public_key.size()) + " bytes");
  }
  PeerInfo p;
  p.id = DeriveId(sig_public_key, kem_public_key);
  p.name = std::move(name);
  p.sig_public_key = std::move(sig_public_key);
  p.kem_public_key = std::move(kem_public_key);
  return p;
}

Bytes PeerInfo::Serialize() const {
  Bytes out;
  internal::Writer w(&out);
  w.Raw("RVPK", 4);
  w.U8(1);
  WritePeer(w, *this);
  return out;
}

Result<PeerInfo> PeerInfo::Parse(ByteView bytes) {
  internal::Reader r(bytes, "peer public keys");
  uint8_t magic[4];
  uint8_t version = 0;
  r.Raw(magic, 4, "magic");
  r.U8(&version, "version");
  RUVECTOR_RETURN_IF_ERROR(r.status());
  if (std::memcmp(magic, "RVPK", 4) != 0) return Status::InvalidArgument("peer public keys: bad magic");
  if (version != 1) return Status::InvalidArgument("peer public keys: unsupported version " + std::to_string(version));
  RUVECTOR_ASSIGN_OR_RETURN(PeerInfo p, ReadPeer(r));
  if (!r.End()) return r.status();
  return p;
}

Result<NodeIdentity> NodeIdentity::Generate(std::string name) {
  RUVECTOR_RETURN_IF_ERROR(ValidateName(name));
  RUVECTOR_ASSIGN_OR_RETURN(SigKeyPair sig, SigGenerateKeyPair());
  RUVECTOR_ASSIGN_OR_RETURN(KemKeyPair kem, KemGenerateKeyPair());
  NodeIdentity id;
  RUVECTOR_ASSIGN_OR_RETURN(id.info_, PeerInfo::FromKeys(std::move(name), sig.public_key, kem.public_key));
  id.sig_secret_ = std::move(sig.secret_key);
  id.kem_secret_ = std::move(kem.secret_key);
  return id;
}

Result<NodeIdentity> NodeIdentity::FromKeys(std::string name, SigKeyPair sig, KemKeyPair kem) {
  if (sig.secret_key.size() != kSigSecretKeyBytes || kem.secret_key.size() != kKemSecretKeyBytes) {
    return Status::InvalidArgument("secret key of the wrong size");
  }
  RUVECTOR_ASSIGN_OR_RETURN(PeerInfo info, PeerInfo::FromKeys(std::move(name), sig.public_key, kem.public_key));
  // FIPS 203 decapsulation key: dk_pke (1152) || ek (1184) || H(ek) (32) || z (32).
  constexpr size_t kEkOffset = 1152;
  const ByteView dk = kem.secret_key.view();
  if (std::memcmp(dk.data() + kEkOffset, kem.public_key.data(), kKemPublicKeyBytes) != 0) {
    return Status::InvalidArgument("ML-KEM-768 secret key does not belong to the public key");
  }
  Bytes probe(kKeyCheckContext.begin(), kKeyCheckContext.end());
  RUVECTOR_ASSIGN_OR_RETURN(Bytes sig_check, sync::Sign(sig.secret_key, probe, kKeyCheckContext));
  if (!Verify(sig.public_key, probe, sig_check, kKeyCheckContext).ok()) {
    return Status::InvalidArgument("ML-DSA-65 secret key does not belong to the public key");
  }
  NodeIdentity id;
  id.info_ = std::move(info);
  id.sig_secret_ = std::move(sig.secret_key);
  id.kem_secret_ = std::move(kem.secret_key);
  return id;
}

Result<Bytes> NodeIdentity::Sign(ByteView message, std::string_view context) const {
  return sync::Sign(sig_secret_, message, context);
}

Result<SecretBytes> NodeIdentity::Decapsulate(ByteView ciphertext) const {
  return KemDecapsulate(kem_secret_, ciphertext);
}

Status Keystore::AddPeer(PeerInfo peer) {
  if (peer.id == self_.id()) return Status::InvalidArgument("a keystore cannot list its own node as a peer");
  if (!peers_.count(peer.id) && peers_.size() >= kMaxPeers) {
    return Status::ResourceExhausted("keystore holds the maximum of " + std::to_string(kMaxPeers) + " peers");
  }
  peers_[peer.id] = std::move(peer);
  return Status::Ok();
}

Status Keystore::RemovePeer(const NodeId& id) {
  if (peers_.erase(id) == 0) return Status::NotFound("no peer " + id.Short());
  return Status::Ok();
}

const PeerInfo* Keystore::FindPeer(const NodeId& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

// Layout: magic "RVKS", version u8, own name, own ML-DSA pk + sk, own ML-KEM
// pk + sk, peer count u32, peers (name, pks), CRC-32C u32 of all before.
SecretBytes Keystore::Serialize() const {
  Bytes out;
  out.reserve(16 + kSigPublicKeyBytes + kSigSecretKeyBytes + kKemPublicKeyBytes + kKemSecretKeyBytes +
              peers_.size() * (kSigPublicKeyBytes + kKemPublicKeyBytes + 80));
  internal::Writer w(&out);
  w.Raw(kKeystoreMagic, 4);
  w.U8(kKeystoreVersion);
  const PeerInfo& me = self_.info();
  w.Str(me.name);
  w.Raw(me.sig_public_key);
  w.Raw(self_.sig_secret_key().view());
  w.Raw(me.kem_public_key);
  w.Raw(self_.kem_secret_key().view());
  w.U32(static_cast<uint32_t>(peers_.size()));
  for (const auto& [id, peer] : peers_) WritePeer(w, peer);
  w.U32(Crc32c(out.data(), out.size()));
  SecretBytes image(out.data(), out.size());
  OPENSSL_cleanse(out.data(), out.size());
  return image;
}

Result<Keystore> Keystore::Parse(ByteView image) {
  if (image.size() < 9) return Status::DataLoss("keystore: file of " + std::to_string(image.size()) + " bytes is truncated");
  const size_t body = image.size() - 4;
  uint32_t stored_crc = 0;
  for (int i = 0; i < 4; ++i) stored_crc |= static_cast<uint32_t>(image[body + i]) << (8 * i);
  if (Crc32c(image.data(), body) != stored_crc) return Status::DataLoss("keystore: checksum mismatch (corrupt file)");
  internal::Reader r(image.first(body), "keystore");
  uint8_t magic[4];
  uint8_t version = 0;
  r.Raw(magic, 4, "magic");
  r.U8(&version, "version");
  RUVECTOR_RETURN_IF_ERROR(r.status());
  if (std::memcmp(magic, kKeystoreMagic, 4) != 0) return Status::InvalidArgument("keystore: bad magic, not a keystore file");
  if (version != kKeystoreVersion) {
    return Status::InvalidArgument("keystore: unsupported version " + std::to_string(version));
  }
  std::string name;
  SigKeyPair sig{Bytes(kSigPublicKeyBytes), SecretBytes(kSigSecretKeyBytes)};
  KemKeyPair kem{Bytes(kKemPublicKeyBytes), SecretBytes(kKemSecretKeyBytes)};
  r.Str(&name, kMaxNameBytes, "own name");
  r.Raw(sig.public_key.data(), kSigPublicKeyBytes, "own ML-DSA public key");
  r.Raw(sig.secret_key.data(), kSigSecretKeyBytes, "own ML-DSA secret key");
  r.Raw(kem.public_key.data(), kKemPublicKeyBytes, "own ML-KEM public key");
  r.Raw(kem.secret_key.data(), kKemSecretKeyBytes, "own ML-KEM secret key");
  uint32_t n_peers = 0;
  r.U32(&n_peers, "peer count");
  RUVECTOR_RETURN_IF_ERROR(r.status());
  if (n_peers > kMaxPeers) return Status::InvalidArgument("keystore: " + std::to_string(n_peers) + " peers, at most " + std::to_string(kMaxPeers));
  RUVECTOR_ASSIGN_OR_RETURN(NodeIdentity self, NodeIdentity::FromKeys(std::move(name), std::move(sig), std::move(kem)));
  Keystore ks(std::move(self));
  for (uint32_t i = 0; i < n_peers; ++i) {
    auto peer = ReadPeer(r);
    if (!peer.ok()) return peer.status().WithContext("keystore peer " + std::to_string(i));
    RUVECTOR_RETURN_IF_ERROR(ks.AddPeer(std::move(peer).value()));
  }
  if (!r.End()) return r.status();
  return ks;
}

Status Keystore::Save(const std::string& path) const {
  const SecretBytes image = Serialize();
  return internal::WritePrivateFile(path, image.data(), image.size(), "keystore");
}

Result<Keystore> Keystore::Load(const std::string& path) {
  // O_NONBLOCK: a FIFO at the path must not block the caller; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("keystore: cannot open " + path + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::FailedPrecondition("keystore: cannot stat " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition("keystore: " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::FailedPrecondition("keystore: " + path + " has mode " + mode +
                                      ", readable or writable by others; chmod 600 it");
  }
  constexpr off_t kMaxFile = 64 << 20;
  if (st.st_size <= 0 || st.st_size > kMaxFile) {
    ::close(fd);
    return Status::DataLoss("keystore: " + path + " has an implausible size " + std::to_string(st.st_size));
  }
  SecretBytes image(static_cast<size_t>(st.st_size));
  const bool complete = internal::ReadExactly(fd, image.data(), image.size());
  ::close(fd);
  if (!complete) return Status::DataLoss("keystore: short read of " + path);
  return Parse(image.view());
}

}  // namespace ruvector_dag::sync
