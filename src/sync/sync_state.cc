// The state file of a sync node (docs/sync.md, "What survives a restart"):
// replay windows, reputation stakes, the proposal ledger and the privacy
// budget spent, so that a restart neither forgets votes and stakes nor
// accepts a message it had already accepted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "ruvector_dag/core.h"
#include "ruvector_dag/sync.h"
#include "sync/internal/private_file.h"
#include "sync/internal/wire.h"

namespace ruvector_dag::sync {
namespace {

constexpr uint8_t kStateMagic[4] = {'R', 'V', 'S', 'S'};
constexpr uint8_t kStateVersion = 1;
constexpr size_t kMaxProposalBytes = 64 << 10;  // an encoded proposal (1,024 floats at most) fits easily

void PutId(internal::Writer& w, const std::array<uint8_t, 32>& id) { w.Raw(id.data(), id.size()); }

bool GetId(internal::Reader& r, std::array<uint8_t, 32>* id, const char* field) {
  return r.Raw(id->data(), id->size(), field);
}

bool Finite(double v) { return std::isfinite(v) && v >= 0.0; }

}  // namespace

Bytes SyncNode::SaveState() const {
  Bytes out;
  internal::Writer w(&out);
  w.Raw(kStateMagic, sizeof(kStateMagic));
  w.U8(kStateVersion);
  w.U8(0);
  w.U16(0);
  PutId(w, id().bytes);
  w.F64(accountant_.epsilon_spent());
  w.F64(accountant_.delta_spent());
  w.U64(accountant_.releases());
  const auto& windows = opener_.replay().windows();
  w.U32(static_cast<uint32_t>(windows.size()));
  for (const auto& [sender, win] : windows) {
    PutId(w, sender.bytes);
    w.U64(win.highest);
    w.U64(win.seen);
  }
  w.U32(static_cast<uint32_t>(book_.stakes().size()));
  for (const auto& [node, stake] : book_.stakes()) {
    PutId(w, node.bytes);
    w.F64(stake);
  }
  const auto& proposals = ledger_.proposals();
  w.U32(static_cast<uint32_t>(proposals.size()));
  for (const auto& [pid, st] : proposals) {
    PutId(w, pid);
    PutId(w, st.proposer.bytes);
    w.U8(static_cast<uint8_t>(st.state));
    w.I64(st.created_us);
    w.F64(st.confirm_stake);
    w.F64(st.refute_stake);
    w.F64(st.eligible_stake);
    const Bytes encoded = EncodeProposal(st.proposal);
    w.U32(static_cast<uint32_t>(encoded.size()));
    w.Raw(encoded);
    w.U32(static_cast<uint32_t>(st.votes.size()));
    for (const auto& [validator, verdict] : st.votes) {
      PutId(w, validator.bytes);
      w.U8(static_cast<uint8_t>(verdict));
    }
  }
  w.U32(Crc32c(out.data(), out.size()));
  return out;
}

Status SyncNode::RestoreState(ByteView image) {
  if (image.size() < sizeof(kStateMagic) + 4 + 32 + 4 || std::memcmp(image.data(), kStateMagic, 4) != 0) {
    return Status::DataLoss("sync state: not a sync state image (bad magic or too short)");
  }
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= static_cast<uint32_t>(image[image.size() - 4 + i]) << (8 * i);
  if (Crc32c(image.data(), image.size() - 4) != crc) return Status::DataLoss("sync state: checksum mismatch");
  internal::Reader r(image.first(image.size() - 4), "sync state");
  uint8_t magic[4], version = 0, reserved8 = 0;
  uint16_t reserved16 = 0;
  r.Raw(magic, 4, "magic");
  r.U8(&version, "version");
  r.U8(&reserved8, "reserved");
  r.U16(&reserved16, "reserved");
  NodeId self;
  GetId(r, &self.bytes, "node id");
  if (!r.status().ok()) return Status::DataLoss(r.status().message());
  if (version != kStateVersion) {
    return Status::FailedPrecondition("sync state: version " + std::to_string(version) + ", this build reads " +
                                      std::to_string(kStateVersion));
  }
  if (reserved8 != 0 || reserved16 != 0) return Status::DataLoss("sync state: reserved bytes are not 0");
  if (self != id()) {
    return Status::FailedPrecondition("sync state: saved by node " + self.Short() + ", this node is " + id().Short());
  }
  auto bad = [](const std::string& what) { return Status::DataLoss("sync state: " + what); };
  // The reader's message names the image and the field.
  auto truncated = [&r]() { return Status::DataLoss(r.status().message()); };
  double eps = 0.0, delta = 0.0;
  uint64_t releases = 0;
  r.F64(&eps, "epsilon spent");
  r.F64(&delta, "delta spent");
  r.U64(&releases, "releases");
  if (!r.status().ok()) return truncated();
  if (!Finite(eps) || !Finite(delta)) return bad("the privacy budget spent is not a finite amount >= 0");
  // Windows of senders that are still peers.
  uint32_t n = 0;
  r.U32(&n, "replay window count");
  if (!r.status().ok()) return truncated();
  if (n > r.remaining() / 48) return bad("implausible replay window count " + std::to_string(n));
  std::map<NodeId, ReplayGuard::Window> windows;
  for (uint32_t i = 0; i < n; ++i) {
    NodeId sender;
    ReplayGuard::Window win;
    GetId(r, &sender.bytes, "replay window sender");
    r.U64(&win.highest, "replay window highest");
    r.U64(&win.seen, "replay window bits");
    if (!r.status().ok()) return truncated();
    if ((win.seen & 1) == 0 || !windows.emplace(sender, win).second) {
      return bad("replay window " + std::to_string(i) + " is invalid or repeated");
    }
  }
  r.U32(&n, "stake count");
  if (!r.status().ok()) return truncated();
  if (n > r.remaining() / 40) return bad("implausible stake count " + std::to_string(n));
  std::map<NodeId, double> stakes;
  for (uint32_t i = 0; i < n; ++i) {
    NodeId node;
    double stake = 0.0;
    GetId(r, &node.bytes, "stake node");
    r.F64(&stake, "stake");
    if (!r.status().ok()) return truncated();
    if (!Finite(stake) || stake > book_.options().max_stake || !stakes.emplace(node, stake).second) {
      return bad("stake " + std::to_string(i) + " is invalid or repeated");
    }
  }
  r.U32(&n, "proposal count");
  if (!r.status().ok()) return truncated();
  if (n > options_.quorum.max_proposals || n > r.remaining() / 105) {
    return bad("implausible proposal count " + std::to_string(n));
  }
  std::map<ProposalId, ProposalStatus> proposals;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string at = "proposal " + std::to_string(i);
    ProposalStatus st;
    uint8_t state = 0;
    uint32_t len = 0, votes = 0;
    GetId(r, &st.id, "proposal id");
    GetId(r, &st.proposer.bytes, "proposer");
    r.U8(&state, "proposal state");
    r.I64(&st.created_us, "proposal time");
    r.F64(&st.confirm_stake, "confirming stake");
    r.F64(&st.refute_stake, "refuting stake");
    r.F64(&st.eligible_stake, "eligible stake");
    r.U32(&len, "proposal length");
    if (!r.status().ok()) return truncated();
    if (state > static_cast<uint8_t>(ProposalState::kExpired) || len > kMaxProposalBytes ||
        !Finite(st.confirm_stake) || !Finite(st.refute_stake) || !Finite(st.eligible_stake)) {
      return bad(at + " has an invalid field");
    }
    st.state = static_cast<ProposalState>(state);
    ByteView encoded;
    if (!r.View(&encoded, len, "proposal")) return truncated();
    auto proposal = DecodeProposal(encoded);
    if (!proposal.ok()) return bad(at + ": " + proposal.status().message());
    st.proposal = std::move(*proposal);
    if (MakeProposalId(st.proposer, st.proposal.fingerprint, st.proposal.arm) != st.id) {
      return bad(at + ": its id does not match its proposer, pattern and arm");
    }
    r.U32(&votes, "vote count");
    if (!r.status().ok()) return truncated();
    if (votes > r.remaining() / 33) return bad(at + ": implausible vote count");
    for (uint32_t v = 0; v < votes; ++v) {
      NodeId validator;
      uint8_t verdict = 0;
      GetId(r, &validator.bytes, "validator");
      r.U8(&verdict, "verdict");
      if (!r.status().ok()) return truncated();
      if ((verdict != static_cast<uint8_t>(Verdict::kConfirm) && verdict != static_cast<uint8_t>(Verdict::kRefute)) ||
          validator == st.proposer || !st.votes.emplace(validator, static_cast<Verdict>(verdict)).second) {
        return bad(at + ": vote " + std::to_string(v) + " is invalid or repeated");
      }
    }
    if (!proposals.emplace(st.id, std::move(st)).second) return bad(at + " is repeated");
  }
  if (!r.End()) return truncated();
  // Valid as a whole: applied.
  RUVECTOR_RETURN_IF_ERROR(accountant_.Restore(eps, delta, releases));
  for (auto it = windows.begin(); it != windows.end();) {
    it = keystore_.FindPeer(it->first) == nullptr ? windows.erase(it) : std::next(it);
  }
  opener_.mutable_replay().Restore(std::move(windows));
  for (const auto& [node, stake] : stakes) (void)book_.Restore(node, stake);  // former peers are left out
  ledger_.Restore(std::move(proposals));
  return Status::Ok();
}

Status SyncNode::SaveStateFile(const std::string& path) const {
  const Bytes image = SaveState();
  return internal::WritePrivateFile(path, image.data(), image.size(), "sync state");
}

Status SyncNode::LoadStateFile(const std::string& path) {
  // O_NONBLOCK: a FIFO at the path must not block the caller; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("sync state: " + path + " does not exist");
    return Status::FailedPrecondition("sync state: cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition("sync state: " + path + " is not a regular file");
  }
  if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kMaxStateFileBytes) {
    ::close(fd);
    return Status::DataLoss("sync state: " + path + " has an implausible size " + std::to_string(st.st_size));
  }
  Bytes image(static_cast<size_t>(st.st_size));
  const bool complete = internal::ReadExactly(fd, image.data(), image.size());
  ::close(fd);
  if (!complete) return Status::DataLoss("sync state: short read of " + path);
  return RestoreState(image);
}

}  // namespace ruvector_dag::sync
