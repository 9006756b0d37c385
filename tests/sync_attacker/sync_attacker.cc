// sync_attacker: the attacker of docs/sync.md's threat model who can connect
// to the NATS servers, as a command-line tool for pg/t/280_sync_forged.sh. It
// reads the sync messages stored in the JetStream stream, publishes copies of
// them (the exact bytes, one bit flipped, or on another node's subject), and
// publishes messages it seals and signs with keys of its own. Built with the
// tests only and never installed: it is not a feature of the product.
//
//   sync_attacker capture URL KIND RECIPIENT_KEY OUT
//       writes the newest stored message of KIND (proposal, vote, heartbeat)
//       addressed to the node whose public key is RECIPIENT_KEY to OUT
//   sync_attacker publish URL RECIPIENT_KEY FILE [header|sealed|signature BIT]
//       publishes FILE on RECIPIENT_KEY's subject as it is, or with bit BIT of
//       its header (88 bytes: bit 576 is the sequence's lowest), of its sealed
//       payload or of its signature flipped
//   sync_attacker forge-proposal URL NAME RECIPIENT_KEY FINGERPRINT ARM [CLAIMED_KEY]
//       (FINGERPRINT as qudag_proposals() shows it: a signed 64-bit decimal)
//   sync_attacker forge-vote URL NAME RECIPIENT_KEY PROPOSAL_ID PROPOSER_KEY [CLAIMED_KEY]
//       seals a well-formed proposal (for FINGERPRINT and ARM) or confirming
//       vote (on PROPOSAL_ID, 64 hex digits, by PROPOSER_KEY) for RECIPIENT_KEY
//       and signs it with a new identity named NAME that no keystore holds;
//       with CLAIMED_KEY the sender field names that node instead, and the
//       message is signed again, over the changed header, with the new key
//
// Keys are the hex lines of ruvector_sync.peers (qudag_status().public_key).
// The stream and subjects are TransportOptions' defaults, as the server uses
// them. Messages are published without a Nats-Msg-Id header, so JetStream's
// duplicate window stores a replay like any other message: the receivers'
// checks must stop it. Each publication prints "published KIND SIZE bytes on
// SUBJECT (stream sequence N)". Exit status: 0 done, 1 failed (why on stderr),
// 2 bad usage.
#include <nats/nats.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/sync.h"
#include "ruvector_dag/sync_transport.h"

namespace {

using ruvector_dag::sync::Bytes;
using ruvector_dag::sync::ByteView;
using ruvector_dag::sync::MessageKind;
using ruvector_dag::sync::NodeId;
using ruvector_dag::sync::NodeIdentity;
using ruvector_dag::sync::PeerInfo;

// Envelope layout (docs/sync.md, "Message format").
constexpr size_t kKindOffset = 5;
constexpr size_t kSenderOffset = 8;
constexpr size_t kSealedOffset = ruvector_dag::sync::kEnvelopeHeaderBytes + ruvector_dag::sync::kKemCiphertextBytes +
                                 ruvector_dag::sync::kAeadNonceBytes + 4;
// The signature's context string (FIPS 204), as src/sync/envelope.cc signs.
constexpr std::string_view kSignatureContext = "ruvector-sync/v1 message";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "sync_attacker: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: sync_attacker capture URL proposal|vote|heartbeat RECIPIENT_KEY OUT\n"
               "       sync_attacker publish URL RECIPIENT_KEY FILE [header|sealed|signature BIT]\n"
               "       sync_attacker forge-proposal URL NAME RECIPIENT_KEY FINGERPRINT ARM [CLAIMED_KEY]\n"
               "       sync_attacker forge-vote URL NAME RECIPIENT_KEY PROPOSAL_ID PROPOSER_KEY [CLAIMED_KEY]\n");
  std::exit(2);
}

Bytes FromHex(std::string_view hex, const char* what) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    Fail(std::string(what) + ": '" + std::string(1, c) + "' is not a hex digit");
  };
  if (hex.size() % 2 != 0 || hex.empty()) Fail(std::string(what) + ": an even, non-zero number of hex digits expected");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return out;
}

PeerInfo ParseKey(std::string_view hex, const char* what) {
  Bytes bytes = FromHex(hex, what);
  auto peer = PeerInfo::Parse(bytes);
  if (!peer.ok()) Fail(std::string(what) + ": " + peer.status().message());
  return std::move(peer).value();
}

MessageKind ParseKind(std::string_view name) {
  if (name == "proposal") return MessageKind::kPatternProposal;
  if (name == "vote") return MessageKind::kVote;
  if (name == "heartbeat") return MessageKind::kHeartbeat;
  Usage();
}

std::string KindName(uint8_t kind) {
  switch (kind) {
    case 1: return "proposal";
    case 2: return "vote";
    case 3: return "heartbeat";
    default: return "kind " + std::to_string(kind);
  }
}

std::string SubjectFor(const NodeId& recipient) {
  return ruvector_dag::sync::TransportOptions().subject_prefix + "." + recipient.Hex();
}

// A JetStream context on one connection, closed on destruction.
class Nats {
 public:
  explicit Nats(const std::string& url) {
    if (natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str()); s != NATS_OK) {
      Fail("cannot connect to " + url + ": " + natsStatus_GetText(s));
    }
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, nullptr); s != NATS_OK) {
      Fail(std::string("no JetStream context: ") + natsStatus_GetText(s));
    }
  }
  ~Nats() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
    nats_Close();
  }
  Nats(const Nats&) = delete;
  Nats& operator=(const Nats&) = delete;

  // Stores `bytes` on `subject` and waits for the stream's acknowledgement.
  void Publish(const std::string& subject, ByteView bytes) {
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js_, subject.c_str(), bytes.data(), static_cast<int>(bytes.size()), nullptr, &err);
    if (s != NATS_OK) Fail("publish on " + subject + " failed: " + natsStatus_GetText(s) + " (JetStream error " + std::to_string(err) + ")");
    const std::string kind = bytes.size() > kKindOffset ? KindName(bytes[kKindOffset]) : "message";
    std::printf("published %s %zu bytes on %s (stream sequence %llu%s)\n", kind.c_str(), bytes.size(), subject.c_str(),
                static_cast<unsigned long long>(ack->Sequence), ack->Duplicate ? ", duplicate" : "");
    const bool duplicate = ack->Duplicate;
    jsPubAck_Destroy(ack);
    if (duplicate) Fail("the stream took the message for a duplicate and did not store it");
  }

  // The newest stored message on `subject` whose kind byte is `kind`.
  Bytes Newest(const std::string& subject, MessageKind kind) {
    const std::string stream = ruvector_dag::sync::TransportOptions().stream;
    jsStreamInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    if (natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &err); s != NATS_OK) {
      Fail("no stream " + stream + ": " + natsStatus_GetText(s));
    }
    const uint64_t first = info->State.FirstSeq;
    const uint64_t last = info->State.LastSeq;
    jsStreamInfo_Destroy(info);
    for (uint64_t seq = last; seq >= first && seq > 0; --seq) {
      natsMsg* msg = nullptr;
      if (js_GetMsg(&msg, js_, stream.c_str(), seq, nullptr, &err) != NATS_OK) continue;  // deleted
      const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg));
      const size_t size = static_cast<size_t>(natsMsg_GetDataLength(msg));
      Bytes found;
      if (subject == natsMsg_GetSubject(msg) && size > kKindOffset && data[kKindOffset] == static_cast<uint8_t>(kind)) {
        found.assign(data, data + size);
      }
      natsMsg_Destroy(msg);
      if (!found.empty()) {
        std::printf("captured %s %zu bytes on %s (stream sequence %llu)\n", KindName(found[kKindOffset]).c_str(),
                    found.size(), subject.c_str(), static_cast<unsigned long long>(seq));
        return found;
      }
    }
    Fail("no " + KindName(static_cast<uint8_t>(kind)) + " on " + subject + " in stream " + stream);
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read " + path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) Fail("cannot write " + path);
}

uint64_t ParseU64(const std::string& text, const char* what) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) Fail(std::string(what) + ": not a number: " + text);
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno != 0) Fail(std::string(what) + ": out of range: " + text);
  return v;
}

// Flips bit `bit` of the header, of the sealed payload (AEAD ciphertext and
// tag) or of the signature of `message`.
void FlipBit(Bytes* message, const std::string& region, uint64_t bit) {
  if (message->size() < ruvector_dag::sync::kEnvelopeOverheadBytes) Fail("not a sync message: too short");
  const size_t sig_offset = message->size() - ruvector_dag::sync::kSignatureBytes;
  size_t begin = 0, end = 0;
  if (region == "header") {
    end = ruvector_dag::sync::kEnvelopeHeaderBytes;
  } else if (region == "signature") {
    begin = sig_offset;
    end = message->size();
  } else if (region == "sealed") {
    begin = kSealedOffset;
    end = sig_offset;
  } else {
    Usage();
  }
  if (bit >= (end - begin) * 8) Fail(region + " has only " + std::to_string((end - begin) * 8) + " bits");
  (*message)[begin + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
}

// Seals `payload` as `forger` for `recipient`; with `claimed`, names that node
// as the sender and signs the changed message again with the forger's key.
Bytes Forge(const NodeIdentity& forger, MessageKind kind, const PeerInfo& recipient, const Bytes& payload,
            const PeerInfo* claimed) {
  ruvector_dag::sync::MessageSealer sealer(&forger);
  const int64_t now_us = static_cast<int64_t>(nats_Now()) * 1000;
  auto sealed = sealer.Seal(kind, recipient, payload, now_us);
  if (!sealed.ok()) Fail("seal: " + sealed.status().message());
  Bytes message = std::move(sealed).value();
  if (claimed == nullptr) return message;
  std::copy(claimed->id.bytes.begin(), claimed->id.bytes.end(), message.begin() + kSenderOffset);
  const size_t signed_len = message.size() - ruvector_dag::sync::kSignatureBytes;
  auto signature = forger.Sign(ByteView(message.data(), signed_len), kSignatureContext);
  if (!signature.ok()) Fail("sign: " + signature.status().message());
  std::copy(signature->begin(), signature->end(), message.begin() + static_cast<std::ptrdiff_t>(signed_len));
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) Usage();
  const std::string& command = args[0];
  const std::string& url = args[1];
  if (command == "capture") {
    if (args.size() != 5) Usage();
    const MessageKind kind = ParseKind(args[2]);
    const PeerInfo recipient = ParseKey(args[3], "RECIPIENT_KEY");
    Nats nats(url);
    WriteFile(args[4], nats.Newest(SubjectFor(recipient.id), kind));
    return 0;
  }
  if (command == "publish") {
    if (args.size() != 4 && args.size() != 6) Usage();
    const PeerInfo recipient = ParseKey(args[2], "RECIPIENT_KEY");
    Bytes message = ReadFile(args[3]);
    if (args.size() == 6) FlipBit(&message, args[4], ParseU64(args[5], "BIT"));
    Nats nats(url);
    nats.Publish(SubjectFor(recipient.id), message);
    return 0;
  }
  if (command == "forge-proposal" || command == "forge-vote") {
    if (args.size() != 6 && args.size() != 7) Usage();
    auto forger = NodeIdentity::Generate(args[2]);
    if (!forger.ok()) Fail("identity: " + forger.status().message());
    const PeerInfo recipient = ParseKey(args[3], "RECIPIENT_KEY");
    PeerInfo claimed;
    if (args.size() == 7) claimed = ParseKey(args[6], "CLAIMED_KEY");
    Bytes payload;
    MessageKind kind = MessageKind::kPatternProposal;
    if (command == "forge-proposal") {
      ruvector_dag::sync::PatternProposal p;
      // qudag_proposals() shows the u64 fingerprint as a bigint (negative
      // above 2^63): the same bits.
      const bool negative = !args[4].empty() && args[4][0] == '-';
      const uint64_t magnitude = ParseU64(negative ? args[4].substr(1) : args[4], "FINGERPRINT");
      p.fingerprint = negative ? ~magnitude + 1 : magnitude;
      p.arm = args[5];
      p.noisy_gain = 0.9;
      p.noisy_samples = 1000;
      p.gain_sensitivity = 0.02;
      payload = ruvector_dag::sync::EncodeProposal(p);
    } else {
      kind = MessageKind::kVote;
      ruvector_dag::sync::Vote v;
      const Bytes id = FromHex(args[4], "PROPOSAL_ID");
      if (id.size() != v.proposal.size()) Fail("PROPOSAL_ID: 64 hex digits expected");
      std::copy(id.begin(), id.end(), v.proposal.begin());
      v.proposer = ParseKey(args[5], "PROPOSER_KEY").id;
      v.verdict = ruvector_dag::sync::Verdict::kConfirm;
      v.local_gain = 0.9;
      v.local_samples = 1000;
      payload = ruvector_dag::sync::EncodeVote(v);
    }
    const Bytes message = Forge(*forger, kind, recipient, payload, args.size() == 7 ? &claimed : nullptr);
    const std::string sender = args.size() == 7 ? claimed.id.Short() : forger->id().Short();
    std::printf("forger %s, id %s, sender field %s\n", forger->info().name.c_str(), forger->id().Short().c_str(),
                sender.c_str());
    Nats nats(url);
    nats.Publish(SubjectFor(recipient.id), message);
    return 0;
  }
  Usage();
}
