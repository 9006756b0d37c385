// Sealed, signed messages: round trip, and rejection with a reason of forged,
// replayed, tampered, stale, misaddressed and malformed messages.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <memory>

#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;  // 2027-01-15, microseconds

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr size_t kBitStride = 29;  // every 29th bit: every byte's neighbourhood, at sanitizer speed
#else
constexpr size_t kBitStride = 1;
#endif

NodeIdentity MakeIdentity(const std::string& name) {
  auto id = NodeIdentity::Generate(name);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return std::move(id).value();
}

// Alice sends to Bob; Bob knows Alice. Mallory is known to nobody.
class EnvelopeTest : public ::testing::Test {
 protected:
  EnvelopeTest()
      : alice_(MakeIdentity("alice")),
        bob_(std::make_unique<Keystore>(MakeIdentity("bob"))),
        mallory_(MakeIdentity("mallory")) {
    EXPECT_TRUE(bob_->AddPeer(alice_.info()).ok());
  }
  Bytes SealToBob(const Bytes& payload, int64_t now = kNow) {
    auto m = sealer_.Seal(MessageKind::kPatternProposal, bob_->self().info(), payload, now);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::move(m).value();
  }
  RejectReason OpenReason(MessageOpener& opener, const Bytes& m, int64_t now = kNow) {
    RejectReason why = RejectReason::kNone;
    auto r = opener.Open(m, now, &why);
    EXPECT_EQ(r.ok(), why == RejectReason::kNone);
    if (!r.ok()) EXPECT_NE(r.status().message().find(RejectReasonName(why)), std::string::npos);
    return why;
  }

  NodeIdentity alice_;
  std::unique_ptr<Keystore> bob_;
  NodeIdentity mallory_;
  MessageSealer sealer_{&alice_};
};

TEST_F(EnvelopeTest, RoundTripCarriesHeaderAndPayload) {
  const Bytes payload = {1, 2, 3, 4, 5};
  const Bytes m = SealToBob(payload);
  EXPECT_EQ(m.size(), kEnvelopeOverheadBytes + payload.size());
  MessageOpener opener(bob_.get());
  auto opened = opener.Open(m, kNow);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->payload, payload);
  EXPECT_EQ(opened->header.sender, alice_.id());
  EXPECT_EQ(opened->header.recipient, bob_->self().id());
  EXPECT_EQ(opened->header.kind, MessageKind::kPatternProposal);
  EXPECT_EQ(opened->header.timestamp_us, kNow);
  EXPECT_EQ(opened->header.sequence, static_cast<uint64_t>(kNow));
  // An empty payload works too.
  auto empty = opener.Open(SealToBob({}), kNow);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->payload.empty());
}

TEST_F(EnvelopeTest, ReplayIsRejectedAndOutOfOrderWithinWindowAccepted) {
  MessageOpener opener(bob_.get());
  const Bytes m1 = SealToBob({1}), m2 = SealToBob({2}), m3 = SealToBob({3});
  EXPECT_EQ(OpenReason(opener, m1), RejectReason::kNone);
  EXPECT_EQ(OpenReason(opener, m1), RejectReason::kReplayed);
  EXPECT_EQ(OpenReason(opener, m3), RejectReason::kNone);
  EXPECT_EQ(OpenReason(opener, m2), RejectReason::kNone) << "one behind the highest, inside the window";
  EXPECT_EQ(OpenReason(opener, m2), RejectReason::kReplayed);
  EXPECT_EQ(OpenReason(opener, m3), RejectReason::kReplayed);
}

TEST_F(EnvelopeTest, SequencesOlderThanTheWindowAreRejected) {
  MessageOpener opener(bob_.get(), ReplayOptions{300'000'000, 4});
  std::vector<Bytes> ms;
  for (int i = 0; i < 6; ++i) ms.push_back(SealToBob({static_cast<uint8_t>(i)}));
  EXPECT_EQ(OpenReason(opener, ms[5]), RejectReason::kNone);
  EXPECT_EQ(OpenReason(opener, ms[2]), RejectReason::kNone);  // 3 behind, window 4
  EXPECT_EQ(OpenReason(opener, ms[1]), RejectReason::kReplayed);  // 4 behind
}

TEST_F(EnvelopeTest, SequencesStayIncreasingAcrossARestartedSealer) {
  const Bytes first = SealToBob({1}, kNow);
  MessageSealer restarted(&alice_);  // same identity, fresh counter
  auto second = restarted.Seal(MessageKind::kVote, bob_->self().info(), Bytes{2}, kNow + 1000);
  ASSERT_TRUE(second.ok());
  MessageOpener opener(bob_.get());
  EXPECT_EQ(OpenReason(opener, first), RejectReason::kNone);
  EXPECT_EQ(OpenReason(opener, *second, kNow + 1000), RejectReason::kNone);
  EXPECT_GT(restarted.last_sequence(), sealer_.last_sequence());
}

TEST_F(EnvelopeTest, ForgedSenderIsRejected) {
  MessageOpener opener(bob_.get());
  // Mallory is unknown to Bob.
  MessageSealer mallory_sealer(&mallory_);
  auto unknown = mallory_sealer.Seal(MessageKind::kVote, bob_->self().info(), Bytes{9}, kNow);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(OpenReason(opener, *unknown), RejectReason::kUnknownSender);
  // Mallory writes Alice's id into the sender field: her signature does not
  // verify under Alice's key.
  Bytes forged = *unknown;
  std::copy(alice_.id().bytes.begin(), alice_.id().bytes.end(), forged.begin() + 8);
  EXPECT_EQ(OpenReason(opener, forged), RejectReason::kBadSignature);
  // Mallory replaces the signature of a genuine message by her own.
  Bytes resigned = SealToBob({7});
  const size_t signed_len = resigned.size() - kSignatureBytes;
  auto sig = mallory_.Sign(ByteView(resigned.data(), signed_len), "ruvector-sync/v1 message");
  ASSERT_TRUE(sig.ok());
  std::copy(sig->begin(), sig->end(), resigned.begin() + static_cast<std::ptrdiff_t>(signed_len));
  EXPECT_EQ(OpenReason(opener, resigned), RejectReason::kBadSignature);
}

TEST_F(EnvelopeTest, EveryFlippedBitIsRejectedAndTheOriginalStillOpens) {
  MessageOpener opener(bob_.get());
  const Bytes m = SealToBob({'g', 'a', 'i', 'n'});
  size_t checked = 0;
  for (size_t bit = 0; bit < m.size() * 8; bit += kBitStride) {
    Bytes t = m;
    t[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    RejectReason why = RejectReason::kNone;
    auto r = opener.Open(t, kNow, &why);
    ASSERT_FALSE(r.ok()) << "bit " << bit << " accepted";
    ASSERT_NE(why, RejectReason::kNone);
    // Only framing fields may fail before the signature check.
    if (bit / 8 >= 88) ASSERT_TRUE(why == RejectReason::kBadSignature || why == RejectReason::kMalformed) << bit;
    ++checked;
  }
  EXPECT_GT(checked, m.size() * 8 / 30);
  // None of the rejected copies touched the replay window.
  EXPECT_EQ(OpenReason(opener, m), RejectReason::kNone);
}

TEST_F(EnvelopeTest, WrongRecipientStaleAndMalformedAreRejected) {
  MessageOpener opener(bob_.get());
  // Sealed for Mallory, delivered to Bob.
  auto to_mallory = sealer_.Seal(MessageKind::kVote, mallory_.info(), Bytes{1}, kNow);
  ASSERT_TRUE(to_mallory.ok());
  EXPECT_EQ(OpenReason(opener, *to_mallory), RejectReason::kWrongRecipient);
  // Timestamps beyond the skew either way.
  const Bytes old_msg = SealToBob({1}, kNow - 301'000'000);
  EXPECT_EQ(OpenReason(opener, old_msg), RejectReason::kStale);
  MessageSealer other(&alice_);
  auto future = other.Seal(MessageKind::kVote, bob_->self().info(), Bytes{1}, kNow + 301'000'000);
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(OpenReason(opener, *future), RejectReason::kStale);
  // Truncations and extensions.
  const Bytes good = SealToBob({1, 2, 3});
  for (size_t cut : {size_t{0}, size_t{3}, size_t{88}, size_t{1191}, good.size() - 1}) {
    EXPECT_EQ(OpenReason(opener, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut))),
              RejectReason::kMalformed)
        << cut;
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_EQ(OpenReason(opener, longer), RejectReason::kMalformed);
  Bytes version = good;
  version[4] = 2;
  EXPECT_EQ(OpenReason(opener, version), RejectReason::kUnsupportedVersion);
  EXPECT_EQ(OpenReason(opener, good), RejectReason::kNone);
}

TEST_F(EnvelopeTest, IgnoredSenderIsRejectedBeforeAnyCryptography) {
  ReputationBook book;
  ASSERT_TRUE(book.Register(alice_.id()).ok());
  MessageOpener opener(bob_.get(), ReplayOptions{}, &book);
  EXPECT_EQ(OpenReason(opener, SealToBob({1})), RejectReason::kNone);
  for (int i = 0; i < 7; ++i) book.SlashProposer(alice_.id());  // 100 * 0.7^7 = 8.2 < 10
  ASSERT_TRUE(book.IsIgnored(alice_.id()));
  EXPECT_EQ(OpenReason(opener, SealToBob({2})), RejectReason::kIgnoredSender);
}

TEST_F(EnvelopeTest, OversizedPayloadIsRefusedBySealer) {
  auto r = sealer_.Seal(MessageKind::kVote, bob_->self().info(), Bytes(kMaxPayloadBytes + 1), kNow);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
}

RC_GTEST_PROP(EnvelopeProperty, ArbitraryBytesAreRejectedWithAReason, (std::vector<uint8_t> bytes)) {
  static Keystore ks(MakeIdentity("prop-store"));
  MessageOpener opener(&ks);
  // Half of the cases get a valid-looking header so deeper checks run.
  if (*rc::gen::arbitrary<bool>() && bytes.size() >= 8) {
    bytes[0] = 'R'; bytes[1] = 'V'; bytes[2] = 'Q'; bytes[3] = 'S'; bytes[4] = 1; bytes[5] = 1;
  }
  RejectReason why = RejectReason::kNone;
  auto r = opener.Open(bytes, kNow, &why);
  RC_ASSERT(!r.ok());
  RC_ASSERT(why != RejectReason::kNone);
}

}  // namespace
}  // namespace ruvector_dag::sync
