// The NATS JetStream transport (sync_transport.h), on the NATS C client
// (libnats). Built only when CMake finds libnats (RUVECTOR_SYNC_NATS); without
// it ConnectJetStream returns kUnimplemented.
//
// Layout in JetStream: one stream (file storage, the configured replicas,
// max age, max bytes and max message size) over "<prefix>.>"; a message for node N is
// published on "<prefix>.<N hex>" with a message id derived from its bytes,
// so a retried publish of the same bytes is stored once (within the stream's
// duplicate window); node N reads through its durable pull consumer, named
// after its id, filtered to its own subject, with explicit acks. The client
// reconnects on its own, failing over across the configured URLs; every call
// here is bounded by a timeout.
#include "ruvector_dag/sync_transport.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#if RUVECTOR_SYNC_WITH_NATS
#include <nats/nats.h>
#endif

namespace ruvector_dag::sync {

std::string RedactUrls(const std::string& urls) {
  std::string out;
  size_t start = 0;
  while (start <= urls.size()) {
    size_t end = urls.find_first_of(", ", start);
    if (end == std::string::npos) end = urls.size();
    const std::string url = urls.substr(start, end - start);
    const size_t scheme = url.find("://");
    const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
    // The last '@': a password may hold one too.
    const size_t at = url.rfind('@');
    out += at != std::string::npos && at >= host ? url.substr(0, host) + "***" + url.substr(at) : url;
    if (end < urls.size()) out += urls[end];
    start = end + 1;
  }
  return out;
}

#if RUVECTOR_SYNC_WITH_NATS

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr size_t kMaxFetchBatch = 1024;
// Room for the headers a publish adds (message id, expected stream): the
// server's max_payload and the stream's max message size count them.
constexpr size_t kHeaderRoom = 512;

// A JetStream stream or consumer name, or one token of a subject: letters,
// digits, '-' and '_'.
bool IsPlainToken(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

bool IsPlainSubjectPrefix(const std::string& s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!IsPlainToken(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start))) {
      return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

Status ValidateOptions(const TransportOptions& o) {
  if (o.urls.empty()) return Status::InvalidArgument("transport: no NATS server URL given");
  for (const std::string& url : o.urls) {
    if (url.empty() || url.size() > 512 || url.find_first_of(", \t\r\n") != std::string::npos) {
      return Status::InvalidArgument("transport: bad NATS URL '" + RedactUrls(url) +
                                     "' (one URL per entry, no spaces or commas)");
    }
  }
  if (!IsPlainToken(o.stream)) {
    return Status::InvalidArgument("transport: stream name '" + o.stream +
                                   "' must be 1..200 characters of [A-Za-z0-9_-]");
  }
  if (!IsPlainSubjectPrefix(o.subject_prefix)) {
    return Status::InvalidArgument("transport: subject prefix '" + o.subject_prefix +
                                   "' must be dot-separated tokens of [A-Za-z0-9_-] (no wildcards)");
  }
  if (o.replicas < 1 || o.replicas > 5) {
    return Status::InvalidArgument("transport: replicas " + std::to_string(o.replicas) + " not in 1..5");
  }
  if (o.max_age_ms <= 0) return Status::InvalidArgument("transport: max_age_ms must be positive");
  if (o.max_stream_bytes < static_cast<int64_t>(o.max_message_bytes)) {
    return Status::InvalidArgument("transport: max_stream_bytes must be at least max_message_bytes");
  }
  if (o.max_message_bytes == 0 || o.max_message_bytes > (size_t{1} << 30)) {
    return Status::InvalidArgument("transport: max_message_bytes must be in 1..2^30");
  }
  for (auto [name, value] : {std::pair{"timeout_ms", o.timeout_ms},
                             std::pair{"reconnect_wait_ms", o.reconnect_wait_ms},
                             std::pair{"ack_wait_ms", o.ack_wait_ms}}) {
    if (value <= 0 || value > 3'600'000) {
      return Status::InvalidArgument(std::string("transport: ") + name + " must be in 1..3600000");
    }
  }
  return Status::Ok();
}

// "what: <nats status text> (<library detail>) [JetStream error N]".
std::string NatsError(const std::string& what, natsStatus s, jsErrCode js_err = static_cast<jsErrCode>(0)) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && std::strstr(detail, natsStatus_GetText(s)) == nullptr) {
    msg += std::string(" (") + detail + ")";
  }
  if (js_err != 0) msg += " [JetStream error " + std::to_string(static_cast<int>(js_err)) + "]";
  return msg;
}

class JetStreamTransport final : public Transport {
 public:
  ~JetStreamTransport() override {
    // Destroying a subscription bound to an existing durable consumer keeps
    // the consumer (libnats >= 3.4), so the node resumes where it stopped.
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (stats_ != nullptr) natsStatistics_Destroy(stats_);
    if (opts_ != nullptr) natsOptions_Destroy(opts_);
  }

  static Result<std::unique_ptr<Transport>> Connect(const NodeId& self, const TransportOptions& options) {
    RUVECTOR_RETURN_IF_ERROR(ValidateOptions(options));
    std::unique_ptr<JetStreamTransport> t(new JetStreamTransport(options));
    t->self_hex_ = self.Hex();
    t->subject_ = options.subject_prefix + "." + t->self_hex_;
    RUVECTOR_RETURN_IF_ERROR(t->Open());
    RUVECTOR_RETURN_IF_ERROR(t->EnsureStream());
    RUVECTOR_RETURN_IF_ERROR(t->EnsureConsumer());
    return std::unique_ptr<Transport>(std::move(t));
  }

  Status Publish(const NodeId& recipient, ByteView message) override {
    if (message.empty()) return Status::InvalidArgument("transport: refusing to publish an empty message");
    if (message.size() > max_message_bytes_) {
      return Status::OutOfRange("transport: message of " + std::to_string(message.size()) +
                                " bytes exceeds the limit of " + std::to_string(max_message_bytes_) + " bytes");
    }
    // While reconnecting the library would buffer the message and send it
    // after reconnecting, although this call already reported a failure.
    if (!Connected()) {
      ++publish_failures_;
      return NotConnected("publish");
    }
    const std::string subject = options_.subject_prefix + "." + recipient.Hex();
    // The id names the bytes: a retry after a lost acknowledgement is stored
    // once. Sealed messages never repeat (fresh KEM ciphertext and nonce).
    const auto digest = Sha256(message);
    const std::string msg_id = ToHex(ByteView(digest.data(), 16));
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = options_.timeout_ms;
    po.MsgId = msg_id.c_str();
    po.ExpectStream = options_.stream.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js_, subject.c_str(), message.data(), static_cast<int>(message.size()), &po, &err);
    if (s != NATS_OK) {
      ++publish_failures_;
      if (ack != nullptr) jsPubAck_Destroy(ack);
      std::string what = "transport: publish of " + std::to_string(message.size()) + " bytes to " +
                         recipient.Short() + " not acknowledged";
      if (err == JSStreamMessageExceedsMaximumErr || s == NATS_MAX_PAYLOAD) {
        return Status::OutOfRange(NatsError(what, s, err));
      }
      return Status::FailedPrecondition(NatsError(what, s, err));
    }
    ++published_;
    bytes_published_ += message.size();
    if (ack->Duplicate) ++duplicates_;
    jsPubAck_Destroy(ack);
    return Status::Ok();
  }

  Result<std::vector<ReceivedMessage>> Fetch(size_t max_messages, int64_t timeout_ms) override {
    if (max_messages == 0 || max_messages > kMaxFetchBatch) {
      return Status::InvalidArgument("transport: fetch batch must be in 1.." + std::to_string(kMaxFetchBatch));
    }
    if (timeout_ms <= 0 || timeout_ms > 3'600'000) {
      return Status::InvalidArgument("transport: fetch timeout must be in 1..3600000 ms");
    }
    if (!Connected()) return NotConnected("fetch");
    natsMsgList list{};
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub_, static_cast<int>(max_messages), timeout_ms, &err);
    std::vector<ReceivedMessage> out;
    if (s != NATS_OK && s != NATS_TIMEOUT) {
      natsMsgList_Destroy(&list);
      return Status::FailedPrecondition(NatsError("transport: fetch failed", s, err));
    }
    jsOptions ack_opts;
    jsOptions_Init(&ack_opts);
    ack_opts.Wait = options_.timeout_ms;
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      const int len = natsMsg_GetDataLength(m);
      if (len < 0 || static_cast<size_t>(len) > max_message_bytes_) {
        // Larger than this node accepts: never handed out, never redelivered.
        ++dropped_;
        (void)natsMsg_Term(m, &ack_opts);
        continue;
      }
      ReceivedMessage r;
      const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(m));
      r.bytes.assign(data, data + len);
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        r.stream_sequence = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
      }
      // Confirmed ack: JetStream will not deliver it again. If the
      // confirmation is lost the message is still returned (it may come once
      // more after ack_wait; the receiver's replay window rejects it).
      if (natsMsg_AckSync(m, &ack_opts, nullptr) != NATS_OK) ++ack_failures_;
      ++received_;
      bytes_received_ += r.bytes.size();
      out.push_back(std::move(r));
    }
    natsMsgList_Destroy(&list);
    return out;
  }

  TransportStats Stats() const override {
    TransportStats st;
    st.connected = Connected();
    if (st.connected) {
      char url[512] = {0};
      if (natsConnection_GetConnectedUrl(nc_, url, sizeof(url)) == NATS_OK) st.connected_url = RedactUrls(url);
    }
    uint64_t reconnects = 0;
    if (natsConnection_GetStats(nc_, stats_) == NATS_OK &&
        natsStatistics_GetCounts(stats_, nullptr, nullptr, nullptr, nullptr, &reconnects) == NATS_OK) {
      st.reconnects = reconnects;
    }
    st.published = published_;
    st.publish_failures = publish_failures_;
    st.received = received_;
    st.bytes_published = bytes_published_;
    st.bytes_received = bytes_received_;
    st.duplicates = duplicates_;
    st.ack_failures = ack_failures_;
    st.dropped = dropped_;
    st.max_message_bytes = max_message_bytes_;
    return st;
  }

 private:
  explicit JetStreamTransport(TransportOptions options)
      : options_(std::move(options)), max_message_bytes_(options_.max_message_bytes) {}

  bool Connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }
  static Status NotConnected(const char* what) {
    return Status::FailedPrecondition(std::string("transport: ") + what + ": not connected to NATS (reconnecting)");
  }

  Status Open() {
    std::vector<const char*> urls;
    for (const std::string& u : options_.urls) urls.push_back(u.c_str());
    const std::string name = "ruvector-sync " + self_hex_.substr(0, 16);
    natsStatus s = natsOptions_Create(&opts_);
    if (s == NATS_OK) s = natsOptions_SetServers(opts_, urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK) s = natsOptions_SetName(opts_, name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts_, options_.timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts_, true);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts_, -1);  // until destroyed
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts_, options_.reconnect_wait_ms);
    // A request (publish, ack) in flight when the server is lost fails at
    // once instead of waiting out its timeout.
    if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(opts_, true);
    if (s != NATS_OK) return Status::Internal(NatsError("transport: NATS options", s));
    s = natsConnection_Connect(&nc_, opts_);
    if (s != NATS_OK) {
      std::string all;
      for (const std::string& u : options_.urls) all += (all.empty() ? "" : ",") + RedactUrls(u);
      return Status::FailedPrecondition(NatsError("transport: cannot connect to NATS at " + all, s));
    }
    s = natsStatistics_Create(&stats_);
    if (s != NATS_OK) return Status::Internal(NatsError("transport: NATS statistics", s));
    const int64_t server_max = natsConnection_GetMaxPayload(nc_);
    if (server_max > static_cast<int64_t>(kHeaderRoom)) {
      max_message_bytes_ = std::min(max_message_bytes_, static_cast<size_t>(server_max) - kHeaderRoom);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options_.timeout_ms;
    s = natsConnection_JetStream(&js_, nc_, &jo);
    if (s != NATS_OK) return Status::Internal(NatsError("transport: JetStream context", s));
    return Status::Ok();
  }

  Status EnsureStream() {
    const std::string wildcard = options_.subject_prefix + ".>";
    jsStreamInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &err);
    if (s == NATS_NOT_FOUND || err == JSStreamNotFoundErr) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      const char* subjects[] = {wildcard.c_str()};
      cfg.Name = options_.stream.c_str();
      cfg.Subjects = subjects;
      cfg.SubjectsLen = 1;
      cfg.Storage = js_FileStorage;
      cfg.Retention = js_LimitsPolicy;
      cfg.Replicas = options_.replicas;
      cfg.MaxAge = options_.max_age_ms * kNanosPerMilli;
      cfg.MaxBytes = options_.max_stream_bytes;
      cfg.Discard = js_DiscardOld;
      cfg.MaxMsgSize = static_cast<int32_t>(options_.max_message_bytes + kHeaderRoom);
      err = static_cast<jsErrCode>(0);
      s = js_AddStream(&info, js_, &cfg, nullptr, &err);
      if (s != NATS_OK && err == JSStreamNameExistErr) {  // another node created it meanwhile
        err = static_cast<jsErrCode>(0);
        s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &err);
      }
    }
    if (s != NATS_OK) {
      if (info != nullptr) jsStreamInfo_Destroy(info);
      const char* hint = (s == NATS_NO_RESPONDERS || err == JSNotEnabledErr || err == JSNotEnabledForAccountErr)
                             ? " (is JetStream enabled on the server?)"
                             : "";
      return Status::FailedPrecondition(
          NatsError("transport: stream " + options_.stream + " unavailable" + hint, s, err));
    }
    // An existing stream must carry this prefix; its own size limit binds.
    bool covers = false;
    for (int i = 0; i < info->Config->SubjectsLen; ++i) {
      if (wildcard == info->Config->Subjects[i]) covers = true;
    }
    const int32_t stream_max = info->Config->MaxMsgSize;
    jsStreamInfo_Destroy(info);
    if (!covers) {
      return Status::FailedPrecondition("transport: stream " + options_.stream + " exists but does not hold '" +
                                        wildcard + "'");
    }
    if (stream_max > 0) {
      const size_t room = static_cast<size_t>(stream_max) > kHeaderRoom ? stream_max - kHeaderRoom : 0;
      max_message_bytes_ = std::min(max_message_bytes_, room);
    }
    return Status::Ok();
  }

  Status EnsureConsumer() {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = self_hex_.c_str();
    cc.FilterSubject = subject_.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = options_.ack_wait_ms * kNanosPerMilli;
    jsConsumerInfo* ci = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_AddConsumer(&ci, js_, options_.stream.c_str(), &cc, nullptr, &err);
    if (s != NATS_OK && ci == nullptr) {
      // It exists with other settings (e.g. another ack wait): keep it if it
      // reads this node's subject, since it holds this node's position.
      jsErrCode get_err = static_cast<jsErrCode>(0);
      if (js_GetConsumerInfo(&ci, js_, options_.stream.c_str(), self_hex_.c_str(), nullptr, &get_err) != NATS_OK) {
        return Status::FailedPrecondition(
            NatsError("transport: durable consumer " + self_hex_.substr(0, 16) + " unavailable", s, err));
      }
    }
    const bool filter_ok = ci->Config != nullptr && ci->Config->FilterSubject != nullptr &&
                           subject_ == ci->Config->FilterSubject;
    jsConsumerInfo_Destroy(ci);
    if (!filter_ok) {
      return Status::FailedPrecondition("transport: consumer " + self_hex_.substr(0, 16) +
                                        " exists with another subject filter");
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = options_.stream.c_str();
    so.Consumer = self_hex_.c_str();  // bind: never create or delete it here
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options_.timeout_ms;
    err = static_cast<jsErrCode>(0);
    s = js_PullSubscribe(&sub_, js_, subject_.c_str(), self_hex_.c_str(), &jo, &so, &err);
    if (s != NATS_OK) {
      return Status::FailedPrecondition(NatsError("transport: pull subscription on " + subject_, s, err));
    }
    return Status::Ok();
  }

  TransportOptions options_;
  std::string self_hex_;
  std::string subject_;
  size_t max_message_bytes_;
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  natsStatistics* stats_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
  uint64_t published_ = 0;
  uint64_t publish_failures_ = 0;
  uint64_t received_ = 0;
  uint64_t bytes_published_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t ack_failures_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace

Result<std::unique_ptr<Transport>> ConnectJetStream(const NodeId& self, const TransportOptions& options) {
  return JetStreamTransport::Connect(self, options);
}

bool JetStreamBuiltIn() { return true; }

#else  // !RUVECTOR_SYNC_WITH_NATS

Result<std::unique_ptr<Transport>> ConnectJetStream(const NodeId& /*self*/, const TransportOptions& /*options*/) {
  return Status::Unimplemented(
      "transport: this build has no NATS JetStream transport (configure with libnats-dev installed, "
      "RUVECTOR_SYNC_NATS=AUTO or ON)");
}

bool JetStreamBuiltIn() { return false; }

#endif  // RUVECTOR_SYNC_WITH_NATS

}  // namespace ruvector_dag::sync
