// Moving sealed sync messages between servers. The library side of sync
// (sync.h) produces and consumes opaque, sealed, signed messages; a Transport
// carries them. The production transport is NATS JetStream
// (ConnectJetStream): one stream holds every message, a message for node N is
// published on the subject "<subject_prefix>.<N's id in hex>", and each node
// reads its own subject through a durable pull consumer, so a node that was
// down catches up from the stream when it returns.
//
// A Transport never interprets the bytes: authenticity, confidentiality and
// replay protection are the job of MessageOpener/SyncNode on the receiving
// side. Thread-safety: one owner thread per Transport object.
#ifndef RUVECTOR_DAG_SYNC_TRANSPORT_H_
#define RUVECTOR_DAG_SYNC_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ruvector_dag/status.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag {
namespace sync {

/// Where and how to connect.
struct TransportOptions {
  /// NATS server URLs ("nats://host:port"); the client fails over between them.
  std::vector<std::string> urls;
  /// The JetStream stream holding every sync message (created when absent).
  std::string stream = "RUVECTOR_SYNC";
  /// Subjects are "<subject_prefix>.<recipient id hex>".
  std::string subject_prefix = "ruvector.sync";
  /// Stream replicas when this node creates the stream (1 for a single server,
  /// 3 for a 3-node cluster).
  int replicas = 1;
  /// How long the stream keeps messages; a node down longer misses them.
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  /// Upper bound on one message's size; larger publishes are refused.
  size_t max_message_bytes = 1 << 20;
  /// Upper bound on the stream's stored bytes when this node creates it; the
  /// oldest messages are discarded beyond it.
  int64_t max_stream_bytes = 256LL << 20;
  /// Connect/request timeout.
  int64_t timeout_ms = 2000;
  /// Pause between reconnect attempts after the server is lost; the client
  /// keeps trying every URL until the Transport is destroyed.
  int64_t reconnect_wait_ms = 250;
  /// A fetched message whose acknowledgement never reached JetStream (a crash
  /// between fetch and ack) is delivered again after this long.
  int64_t ack_wait_ms = 30000;
};

/// One message read from the stream.
struct ReceivedMessage {
  Bytes bytes;
  uint64_t stream_sequence = 0;  // JetStream's sequence of the message
};

/// Counters a host can show (qudag_status, cluster-demo).
struct TransportStats {
  bool connected = false;
  std::string connected_url;      // RedactUrls'd; empty when not connected
  uint64_t published = 0;         // messages acknowledged by JetStream
  uint64_t publish_failures = 0;  // publishes that got no acknowledgement
  uint64_t received = 0;          // messages fetched
  uint64_t reconnects = 0;
  uint64_t bytes_published = 0;
  uint64_t bytes_received = 0;
  uint64_t duplicates = 0;        // publishes JetStream had already stored (a retry of the same bytes)
  uint64_t ack_failures = 0;      // fetched messages whose ack was not confirmed (may come again)
  uint64_t dropped = 0;           // fetched messages larger than max_message_bytes, discarded
  size_t max_message_bytes = 0;   // the limit in force (options, stream and server, the smallest)
};

/// Carries sealed messages. Every call is bounded by the options' timeout.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Publishes `message` for `recipient` and waits for JetStream's
  /// acknowledgement (the message is then stored with the stream's replicas).
  virtual Status Publish(const NodeId& recipient, ByteView message) = 0;
  /// Up to `max_messages` messages for this node, waiting at most
  /// `timeout_ms` for the first; acknowledged when returned, so each is
  /// delivered once to this node's durable consumer (at least once across a
  /// crash between fetch and use). An empty vector when there is nothing.
  virtual Result<std::vector<ReceivedMessage>> Fetch(size_t max_messages, int64_t timeout_ms) = 0;
  virtual TransportStats Stats() const = 0;
};

/// Connects to NATS JetStream as node `self` (its durable consumer is named
/// after the id), creating the stream when it does not exist. Errors:
/// kInvalidArgument for bad options, kFailedPrecondition when no server
/// answers or JetStream refuses the stream or consumer, kUnimplemented in a
/// build without the transport (see JetStreamBuiltIn).
Result<std::unique_ptr<Transport>> ConnectJetStream(const NodeId& self, const TransportOptions& options);

/// `urls` (one NATS URL, or a comma- or space-separated list of them) for
/// display: the user information of each URL (user and password, or token:
/// everything before the host's '@') becomes "***". Stats().connected_url,
/// the transport's error messages and the server's log use it, so a password
/// in ruvector.sync_nats_urls reaches only those who may read that setting.
std::string RedactUrls(const std::string& urls);

/// True when this build contains the NATS JetStream transport (CMake option
/// RUVECTOR_SYNC_NATS, on when libnats-dev is installed).
bool JetStreamBuiltIn();

}  // namespace sync
}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_SYNC_TRANSPORT_H_
