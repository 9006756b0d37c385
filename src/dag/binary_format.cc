// Our binary format (byte-level specification: docs/formats.md, "Binary"):
//
//   "RVDG" | u16 version | u16 flags | section* | u32 CRC-32C
//   section = u8 tag | u32 payload length | payload
//   v1 sections, in order: 1 header, 2 string table, 3 nodes, 4 edges.
//
// Fixed-width numbers are little-endian; ids, counts and lengths are LEB128
// varints; signed integers are zigzag varints. The reader checks the
// checksum first, then every length against the bytes left before it
// allocates, every count against ParseLimits and every id.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dag/internal/format_util.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

constexpr char kMagic[4] = {'R', 'V', 'D', 'G'};
constexpr uint16_t kBinaryVersion = 1;
constexpr size_t kPrefixBytes = 8;    // magic + version + flags
constexpr size_t kChecksumBytes = 4;  // trailing CRC-32C
constexpr std::string_view kWhat = "binary DAG";

enum SectionTag : uint8_t {
  kHeader = 1,
  kStrings = 2,
  kNodes = 3,
  kEdges = 4,
};

// Field-presence bits of a node record, in payload order.
enum FieldBit : uint32_t {
  kRelation = 1u << 0,
  kAlias = 1u << 1,
  kIndex = 1u << 2,
  kPredicate = 1u << 3,
  kKeys = 1u << 4,
  kDescending = 1u << 5,
  kDetail = 1u << 6,
  kParameter = 1u << 7,
  kSubplanName = 1u << 8,
  kParallelAware = 1u << 9,
  kWorkersPlanned = 1u << 10,
  kWorkersLaunched = 1u << 11,
  kEstimatedRows = 1u << 12,
  kEstimatedCost = 1u << 13,
  kStartupCost = 1u << 14,
  kTotalCost = 1u << 15,
  kWidth = 1u << 16,
  kActualRows = 1u << 17,
  kActualTimeMs = 1u << 18,
  kActualLoops = 1u << 19,
  kEmbedding = 1u << 20,
};
constexpr uint32_t kAllFieldBits = (1u << 21) - 1;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

uint64_t DoubleBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

// --- writing -------------------------------------------------------------------

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    for (int i = 0; i < 2; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void F64(double d) { U64(DoubleBits(d)); }
  void F32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    U32(bits);
  }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      U8(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    U8(static_cast<uint8_t>(v));
  }
  void Bytes(std::string_view b) { out_.append(b.data(), b.size()); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class StringTable {
 public:
  // 0 is the empty string; others are numbered from 1 in order of first use.
  uint32_t Ref(const std::string& s) {
    if (s.empty()) return 0;
    auto [it, inserted] = index_.emplace(std::string_view(s), static_cast<uint32_t>(strings_.size() + 1));
    if (inserted) strings_.push_back(std::string_view(s));
    return it->second;
  }
  const std::vector<std::string_view>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string_view, uint32_t> index_;
  std::vector<std::string_view> strings_;
};

void AppendSection(ByteWriter& file, SectionTag tag, const std::string& payload) {
  file.U8(tag);
  file.U32(static_cast<uint32_t>(payload.size()));
  file.Bytes(payload);
}

uint32_t PresenceOf(const OperatorNode& n) {
  uint32_t bits = 0;
  if (!n.relation.empty()) bits |= kRelation;
  if (!n.alias.empty()) bits |= kAlias;
  if (!n.index.empty()) bits |= kIndex;
  if (!n.predicate.empty()) bits |= kPredicate;
  if (!n.keys.empty()) bits |= kKeys;
  if (!n.descending.empty()) bits |= kDescending;
  if (!n.detail.empty()) bits |= kDetail;
  if (n.parameter != 0) bits |= kParameter;
  if (!n.subplan_name.empty()) bits |= kSubplanName;
  if (n.parallel_aware) bits |= kParallelAware;
  if (n.workers_planned != 0) bits |= kWorkersPlanned;
  if (n.workers_launched != -1) bits |= kWorkersLaunched;
  // Compare bits, not values, so that -0.0 survives.
  if (DoubleBits(n.estimated_rows) != 0) bits |= kEstimatedRows;
  if (DoubleBits(n.estimated_cost) != 0) bits |= kEstimatedCost;
  if (DoubleBits(n.startup_cost) != 0) bits |= kStartupCost;
  if (DoubleBits(n.total_cost) != 0) bits |= kTotalCost;
  if (DoubleBits(n.width) != 0) bits |= kWidth;
  if (n.actual_rows) bits |= kActualRows;
  if (n.actual_time_ms) bits |= kActualTimeMs;
  if (n.actual_loops) bits |= kActualLoops;
  if (!n.embedding.empty()) bits |= kEmbedding;
  return bits;
}

void WriteNode(ByteWriter& w, StringTable& strings, const OperatorNode& n, int64_t prev_id) {
  w.Varint(static_cast<uint64_t>(static_cast<int64_t>(n.id) - prev_id - 1));
  w.U8(static_cast<uint8_t>(n.type));
  const uint32_t bits = PresenceOf(n);
  w.Varint(bits);
  if (bits & kRelation) w.Varint(strings.Ref(n.relation));
  if (bits & kAlias) w.Varint(strings.Ref(n.alias));
  if (bits & kIndex) w.Varint(strings.Ref(n.index));
  if (bits & kPredicate) w.Varint(strings.Ref(n.predicate));
  if (bits & kKeys) {
    w.Varint(n.keys.size());
    for (const std::string& k : n.keys) w.Varint(strings.Ref(k));
  }
  if (bits & kDescending) {
    w.Varint(n.descending.size());
    for (size_t i = 0; i < n.descending.size(); i += 8) {
      uint8_t byte = 0;
      for (size_t b = 0; b < 8 && i + b < n.descending.size(); ++b) {
        if (n.descending[i + b]) byte |= static_cast<uint8_t>(1u << b);
      }
      w.U8(byte);
    }
  }
  if (bits & kDetail) w.Varint(strings.Ref(n.detail));
  if (bits & kParameter) w.Varint(ZigZag(n.parameter));
  if (bits & kSubplanName) w.Varint(strings.Ref(n.subplan_name));
  if (bits & kWorkersPlanned) w.Varint(ZigZag(n.workers_planned));
  if (bits & kWorkersLaunched) w.Varint(ZigZag(n.workers_launched));
  if (bits & kEstimatedRows) w.F64(n.estimated_rows);
  if (bits & kEstimatedCost) w.F64(n.estimated_cost);
  if (bits & kStartupCost) w.F64(n.startup_cost);
  if (bits & kTotalCost) w.F64(n.total_cost);
  if (bits & kWidth) w.F64(n.width);
  if (bits & kActualRows) w.F64(*n.actual_rows);
  if (bits & kActualTimeMs) w.F64(*n.actual_time_ms);
  if (bits & kActualLoops) w.F64(*n.actual_loops);
  if (bits & kEmbedding) {
    w.Varint(n.embedding.size());
    for (float f : n.embedding) w.F32(f);
  }
}

// --- reading -------------------------------------------------------------------

// Reads bytes [pos, end) of `data`; every read is bounds-checked and errors
// name the absolute byte offset.
class Cursor {
 public:
  Cursor(std::string_view data, size_t pos, size_t end) : data_(data), pos_(pos), end_(end) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return end_ - pos_; }
  bool done() const { return pos_ == end_; }

  Status Truncated(std::string_view what) const {
    return Status::DataLoss(std::string(kWhat) + ": truncated at byte " + std::to_string(pos_) +
                            " while reading " + std::string(what));
  }
  Status Invalid(std::string message) const {
    return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(pos_) + ": " +
                                   std::move(message));
  }

  Status U8(std::string_view what, uint8_t* out) {
    if (remaining() < 1) return Truncated(what);
    *out = static_cast<uint8_t>(data_[pos_++]);
    return Status::Ok();
  }
  Status U32(std::string_view what, uint32_t* out) {
    if (remaining() < 4) return Truncated(what);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += 4;
    *out = v;
    return Status::Ok();
  }
  Status U64(std::string_view what, uint64_t* out) {
    if (remaining() < 8) return Truncated(what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += 8;
    *out = v;
    return Status::Ok();
  }
  Status F64(std::string_view what, double* out) {
    uint64_t bits = 0;
    RUVECTOR_RETURN_IF_ERROR(U64(what, &bits));
    std::memcpy(out, &bits, sizeof bits);
    return Status::Ok();
  }
  Status F32(std::string_view what, float* out) {
    uint32_t bits = 0;
    RUVECTOR_RETURN_IF_ERROR(U32(what, &bits));
    std::memcpy(out, &bits, sizeof bits);
    return Status::Ok();
  }
  Status Varint(std::string_view what, uint64_t* out) {
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() < 1) return Truncated(what);
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && byte > 1) {
        pos_ = start;
        return Invalid(std::string(what) + ": varint overflows 64 bits");
      }
      v |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) {
        *out = v;
        return Status::Ok();
      }
    }
    pos_ = start;
    return Invalid(std::string(what) + ": varint longer than 10 bytes");
  }
  // A varint that must not exceed `max`.
  Status Bounded(std::string_view what, uint64_t max, uint64_t* out) {
    const size_t start = pos_;
    RUVECTOR_RETURN_IF_ERROR(Varint(what, out));
    if (*out > max) {
      pos_ = start;
      return Invalid(std::string(what) + " " + std::to_string(*out) + " exceeds " + std::to_string(max));
    }
    return Status::Ok();
  }
  Status Bytes(std::string_view what, size_t n, std::string_view* out) {
    if (remaining() < n) return Truncated(what);
    *out = data_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }

 private:
  std::string_view data_;
  size_t pos_;
  size_t end_;
};

struct Header {
  uint64_t node_count = 0;
  uint64_t id_bound = 0;
  uint64_t edge_count = 0;
  uint64_t string_count = 0;
};

class Reader {
 public:
  Reader(std::string_view bytes, const ParseLimits& limits) : bytes_(bytes), limits_(limits) {}

  Result<QueryDag> Read() {
    RUVECTOR_RETURN_IF_ERROR(CheckFrame());
    size_t pos = kPrefixBytes;
    const size_t body_end = bytes_.size() - kChecksumBytes;
    for (SectionTag tag : {kHeader, kStrings, kNodes, kEdges}) {
      Cursor c(bytes_, pos, body_end);
      uint8_t got = 0;
      RUVECTOR_RETURN_IF_ERROR(c.U8("section tag", &got));
      if (got != tag) {
        return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(pos) +
                                       ": expected section " + std::to_string(tag) + " (" +
                                       SectionName(tag) + "), found tag " + std::to_string(got));
      }
      uint32_t length = 0;
      RUVECTOR_RETURN_IF_ERROR(c.U32("section length", &length));
      if (length > c.remaining()) {
        return Status::DataLoss(std::string(kWhat) + ": at byte " + std::to_string(pos) + ": " +
                                SectionName(tag) + " section claims " + std::to_string(length) +
                                " bytes but only " + std::to_string(c.remaining()) + " remain");
      }
      Cursor section(bytes_, c.pos(), c.pos() + length);
      switch (tag) {
        case kHeader: RUVECTOR_RETURN_IF_ERROR(ReadHeader(section)); break;
        case kStrings: RUVECTOR_RETURN_IF_ERROR(ReadStrings(section)); break;
        case kNodes: RUVECTOR_RETURN_IF_ERROR(ReadNodes(section)); break;
        case kEdges: RUVECTOR_RETURN_IF_ERROR(ReadEdges(section)); break;
      }
      if (!section.done()) {
        return section.Invalid(std::to_string(section.remaining()) + " unread bytes at the end of the " +
                               SectionName(tag) + " section");
      }
      pos = c.pos() + length;
    }
    if (pos != body_end) {
      return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(pos) + ": " +
                                     std::to_string(body_end - pos) + " unexpected bytes after the last section");
    }
    return std::move(dag_);
  }

 private:
  static const char* SectionName(SectionTag tag) {
    switch (tag) {
      case kHeader: return "header";
      case kStrings: return "string table";
      case kNodes: return "node table";
      case kEdges: return "edge";
    }
    return "unknown";
  }

  Status CheckFrame() {
    if (bytes_.empty()) return Status::InvalidArgument(std::string(kWhat) + ": empty input");
    if (bytes_.size() > limits_.max_input_bytes) {
      return Status::OutOfRange(std::string(kWhat) + ": input is " + std::to_string(bytes_.size()) +
                                " bytes; the limit is " + std::to_string(limits_.max_input_bytes));
    }
    const size_t magic_len = std::min<size_t>(bytes_.size(), 4);
    if (std::memcmp(bytes_.data(), kMagic, magic_len) != 0) {
      return Status::InvalidArgument(std::string(kWhat) + ": bad magic (expected \"RVDG\")");
    }
    if (bytes_.size() < kPrefixBytes + kChecksumBytes) {
      return Status::DataLoss(std::string(kWhat) + ": truncated: " + std::to_string(bytes_.size()) +
                              " bytes, at least " + std::to_string(kPrefixBytes + kChecksumBytes) +
                              " needed");
    }
    const auto b = [&](size_t i) { return static_cast<uint8_t>(bytes_[i]); };
    const uint16_t version = static_cast<uint16_t>(b(4) | (b(5) << 8));
    if (version != kBinaryVersion) {
      return Status::InvalidArgument(std::string(kWhat) + ": unsupported version " + std::to_string(version) +
                                     " (this build reads version " + std::to_string(kBinaryVersion) + ")");
    }
    const uint16_t flags = static_cast<uint16_t>(b(6) | (b(7) << 8));
    if (flags != 0) {
      return Status::InvalidArgument(std::string(kWhat) + ": unknown flags 0x" + Hex(flags, 4) +
                                     " (version 1 defines none)");
    }
    const size_t body_end = bytes_.size() - kChecksumBytes;
    const uint32_t stored = static_cast<uint32_t>(b(body_end)) | (static_cast<uint32_t>(b(body_end + 1)) << 8) |
                            (static_cast<uint32_t>(b(body_end + 2)) << 16) |
                            (static_cast<uint32_t>(b(body_end + 3)) << 24);
    const uint32_t computed = Crc32c(bytes_.data(), body_end);
    if (stored != computed) {
      return Status::DataLoss(std::string(kWhat) + ": checksum mismatch (stored 0x" + Hex(stored, 8) +
                              ", computed 0x" + Hex(computed, 8) + "): truncated or corrupted");
    }
    return Status::Ok();
  }

  static std::string Hex(uint32_t v, int digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(digits, '0');
    for (int i = digits - 1; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 0xF];
    return s;
  }

  Status ReadHeader(Cursor& c) {
    RUVECTOR_RETURN_IF_ERROR(c.Bounded("node count", limits_.max_nodes, &header_.node_count));
    RUVECTOR_RETURN_IF_ERROR(c.Bounded("id bound", uint64_t{kMaxNodeId} + 1, &header_.id_bound));
    RUVECTOR_RETURN_IF_ERROR(c.Varint("edge count", &header_.edge_count));
    RUVECTOR_RETURN_IF_ERROR(c.Varint("string count", &header_.string_count));
    if (header_.node_count > header_.id_bound) {
      return c.Invalid("node count " + std::to_string(header_.node_count) + " exceeds the id bound " +
                       std::to_string(header_.id_bound));
    }
    RUVECTOR_RETURN_IF_ERROR(internal::CheckIdSpace(header_.id_bound, header_.node_count, limits_, kWhat));
    // A DAG on n nodes has at most n(n-1)/2 edges.
    const uint64_t n = header_.node_count;
    if (header_.edge_count > n * (n == 0 ? 0 : n - 1) / 2) {
      return c.Invalid("edge count " + std::to_string(header_.edge_count) + " is impossible for " +
                       std::to_string(n) + " nodes");
    }
    return Status::Ok();
  }

  Status ReadStrings(Cursor& c) {
    // Each string takes at least one byte (its length), so the count is
    // checked against the section size before anything is reserved.
    if (header_.string_count > c.remaining()) {
      return c.Invalid("string count " + std::to_string(header_.string_count) + " exceeds the " +
                       std::to_string(c.remaining()) + " bytes of the string table");
    }
    strings_.reserve(header_.string_count + 1);
    strings_.emplace_back();  // index 0: the empty string
    for (uint64_t i = 0; i < header_.string_count; ++i) {
      const std::string what = "string " + std::to_string(i + 1);
      uint64_t length = 0;
      RUVECTOR_RETURN_IF_ERROR(c.Bounded(what + " length", limits_.max_string_bytes, &length));
      const size_t at = c.pos();
      std::string_view s;
      RUVECTOR_RETURN_IF_ERROR(c.Bytes(what, length, &s));
      if (s.empty()) return c.Invalid(what + " is empty (the empty string is index 0)");
      if (!internal::IsValidUtf8(s)) {
        return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(at) + ": " + what +
                                       " is not valid UTF-8");
      }
      strings_.push_back(s);
    }
    return Status::Ok();
  }

  // Messages are built only on failure: this runs for every field.
  Status StringRef(Cursor& c, uint64_t id, const char* field, std::string* out) {
    const size_t start = c.pos();
    uint64_t index = 0;
    RUVECTOR_RETURN_IF_ERROR(c.Varint("string index", &index));
    if (index >= strings_.size()) {
      return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(start) + ": " +
                                     internal::NodeWhere(id) + " " + field + " string index " +
                                     std::to_string(index) + " exceeds " + std::to_string(strings_.size() - 1));
    }
    out->assign(strings_[index].data(), strings_[index].size());
    return Status::Ok();
  }

  Status ReadDouble(Cursor& c, uint64_t id, const char* field, double* out) {
    RUVECTOR_RETURN_IF_ERROR(c.F64(field, out));
    Status s = internal::CheckNonNegative(*out, id, field);
    if (!s.ok()) return s.WithContext(std::string(kWhat) + ": at byte " + std::to_string(c.pos() - 8));
    return Status::Ok();
  }

  Status ReadNode(Cursor& c, int64_t prev_id, OperatorNode* n) {
    uint64_t gap = 0;
    RUVECTOR_RETURN_IF_ERROR(c.Varint("node id", &gap));
    const uint64_t id = static_cast<uint64_t>(prev_id + 1) + gap;
    if (gap >= header_.id_bound || id >= header_.id_bound) {
      // gap < id_bound <= 2^24 rules out overflow in `id` below.
      const std::string shown = gap >= header_.id_bound ? "after " + std::to_string(prev_id) + " with gap " +
                                                              std::to_string(gap)
                                                        : std::to_string(id);
      return c.Invalid("node id " + shown + " is not below the id bound " + std::to_string(header_.id_bound));
    }
    n->id = static_cast<NodeId>(id);
    const auto where = [id] { return internal::NodeWhere(id); };
    uint8_t type = 0;
    RUVECTOR_RETURN_IF_ERROR(c.U8("operator type", &type));
    if (type >= kOperatorTypeCount) {
      return c.Invalid(where() + ": unknown operator type code " + std::to_string(type));
    }
    n->type = static_cast<OperatorType>(type);
    uint64_t bits = 0;
    RUVECTOR_RETURN_IF_ERROR(c.Varint("field bits", &bits));
    if (bits & ~uint64_t{kAllFieldBits}) {
      return c.Invalid(where() + ": unknown field bits 0x" + Hex(static_cast<uint32_t>(bits >> 21), 8) +
                       " above bit 20");
    }
    if (bits & kRelation) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "relation", &n->relation));
    if (bits & kAlias) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "alias", &n->alias));
    if (bits & kIndex) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "index", &n->index));
    if (bits & kPredicate) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "predicate", &n->predicate));
    uint64_t count = 0;
    if (bits & kKeys) {
      const size_t start = c.pos();
      RUVECTOR_RETURN_IF_ERROR(c.Varint("key count", &count));
      if (count > c.remaining()) {
        return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(start) + ": " + where() +
                                       " key count " + std::to_string(count) + " exceeds the " +
                                       std::to_string(c.remaining()) + " bytes left");
      }
      n->keys.resize(count);
      for (auto& key : n->keys) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "key", &key));
    }
    if (bits & kDescending) {
      RUVECTOR_RETURN_IF_ERROR(c.Bounded("descending count", uint64_t{c.remaining()} * 8, &count));
      std::string_view packed;
      RUVECTOR_RETURN_IF_ERROR(c.Bytes("descending flags", (count + 7) / 8, &packed));
      n->descending.resize(count);
      for (size_t i = 0; i < count; ++i) {
        n->descending[i] = (static_cast<uint8_t>(packed[i / 8]) >> (i % 8)) & 1u;
      }
    }
    if (bits & kDetail) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "detail", &n->detail));
    uint64_t raw = 0;
    if (bits & kParameter) {
      RUVECTOR_RETURN_IF_ERROR(c.Varint("parameter", &raw));
      n->parameter = UnZigZag(raw);
    }
    if (bits & kSubplanName) RUVECTOR_RETURN_IF_ERROR(StringRef(c, id, "subplan_name", &n->subplan_name));
    n->parallel_aware = (bits & kParallelAware) != 0;
    if (bits & kWorkersPlanned) {
      RUVECTOR_RETURN_IF_ERROR(c.Bounded("workers_planned", ZigZag(std::numeric_limits<int32_t>::max()) + 1, &raw));
      n->workers_planned = static_cast<int32_t>(UnZigZag(raw));
    }
    if (bits & kWorkersLaunched) {
      RUVECTOR_RETURN_IF_ERROR(c.Bounded("workers_launched", ZigZag(std::numeric_limits<int32_t>::max()) + 1, &raw));
      n->workers_launched = static_cast<int32_t>(UnZigZag(raw));
    }
    if (bits & kEstimatedRows) RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "estimated_rows", &n->estimated_rows));
    if (bits & kEstimatedCost) RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "estimated_cost", &n->estimated_cost));
    if (bits & kStartupCost) RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "startup_cost", &n->startup_cost));
    if (bits & kTotalCost) RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "total_cost", &n->total_cost));
    if (bits & kWidth) RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "width", &n->width));
    double d = 0;
    if (bits & kActualRows) {
      RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "actual_rows", &d));
      n->actual_rows = d;
    }
    if (bits & kActualTimeMs) {
      RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "actual_time_ms", &d));
      n->actual_time_ms = d;
    }
    if (bits & kActualLoops) {
      RUVECTOR_RETURN_IF_ERROR(ReadDouble(c, id, "actual_loops", &d));
      n->actual_loops = d;
    }
    if (bits & kEmbedding) {
      RUVECTOR_RETURN_IF_ERROR(c.Bounded("embedding length", c.remaining() / 4, &count));
      n->embedding.resize(count);
      for (float& f : n->embedding) RUVECTOR_RETURN_IF_ERROR(c.F32("embedding value", &f));
    }
    Status s = internal::CheckNodeValues(*n);
    if (!s.ok()) return s.WithContext(std::string(kWhat) + ": at byte " + std::to_string(c.pos()));
    return Status::Ok();
  }

  Status ReadNodes(Cursor& c) {
    // Each node record takes at least 3 bytes (id gap, type, field bits).
    if (header_.node_count > c.remaining() / 3) {
      return c.Invalid("node count " + std::to_string(header_.node_count) + " does not fit the " +
                       std::to_string(c.remaining()) + " bytes of the node table");
    }
    int64_t prev_id = -1;
    for (uint64_t i = 0; i < header_.node_count; ++i) {
      OperatorNode node;
      RUVECTOR_RETURN_IF_ERROR(ReadNode(c, prev_id, &node));
      prev_id = node.id;
      const NodeId id = node.id;
      RUVECTOR_RETURN_IF_ERROR(dag_.AddNodeWithId(id, std::move(node)));
    }
    return dag_.ReserveIds(static_cast<NodeId>(header_.id_bound));
  }

  Status ReadEdges(Cursor& c) {
    // Every edge takes at least one byte (its source id), so the header's
    // edge count is checked against the section before anything is reserved.
    if (header_.edge_count > c.remaining()) {
      return c.Invalid("edge count " + std::to_string(header_.edge_count) + " exceeds the " +
                       std::to_string(c.remaining()) + " bytes of the edge section");
    }
    uint64_t groups = 0;
    RUVECTOR_RETURN_IF_ERROR(c.Bounded("edge group count", header_.node_count, &groups));
    std::vector<std::pair<NodeId, NodeId>> edges;
    edges.reserve(header_.edge_count);
    int64_t prev_target = -1;
    for (uint64_t g = 0; g < groups; ++g) {
      uint64_t gap = 0;
      RUVECTOR_RETURN_IF_ERROR(c.Bounded("edge target", header_.id_bound, &gap));
      const uint64_t target = static_cast<uint64_t>(prev_target + 1) + gap;
      if (target >= header_.id_bound || !dag_.Contains(static_cast<NodeId>(target))) {
        return c.Invalid("edge target " + std::to_string(target) + " is not a node");
      }
      prev_target = static_cast<int64_t>(target);
      uint64_t inputs = 0;
      const size_t count_at = c.pos();
      RUVECTOR_RETURN_IF_ERROR(c.Varint("input count", &inputs));
      if (inputs > header_.edge_count - edges.size()) {
        return Status::InvalidArgument(std::string(kWhat) + ": at byte " + std::to_string(count_at) + ": " +
                                       internal::NodeWhere(target) + " input count " + std::to_string(inputs) +
                                       " exceeds " + std::to_string(header_.edge_count - edges.size()) +
                                       " (the edges the header has left)");
      }
      if (inputs == 0) return c.Invalid(internal::NodeWhere(target) + ": edge group with no inputs");
      for (uint64_t k = 0; k < inputs; ++k) {
        uint64_t source = 0;
        RUVECTOR_RETURN_IF_ERROR(c.Varint("edge source", &source));
        if (source > kMaxNodeId) {
          return c.Invalid("edge " + std::to_string(source) + "->" + std::to_string(target) +
                           ": unknown node " + std::to_string(source));
        }
        edges.emplace_back(static_cast<NodeId>(source), static_cast<NodeId>(target));
      }
    }
    if (edges.size() != header_.edge_count) {
      return c.Invalid("edge section holds " + std::to_string(edges.size()) + " edges; the header says " +
                       std::to_string(header_.edge_count));
    }
    return internal::AddEdgesInOrder(dag_, edges).WithContext(kWhat);
  }

  std::string_view bytes_;
  const ParseLimits& limits_;
  Header header_;
  std::vector<std::string_view> strings_;
  QueryDag dag_;
};

}  // namespace

std::string WriteBinary(const QueryDag& dag) {
  StringTable strings;
  ByteWriter nodes;
  int64_t prev_id = -1;
  dag.ForEachNode([&](const OperatorNode& n) {
    WriteNode(nodes, strings, n, prev_id);
    prev_id = n.id;
  });

  ByteWriter edges;
  size_t groups = 0;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (!dag.parents(n.id).empty()) ++groups;
  });
  edges.Varint(groups);
  int64_t prev_target = -1;
  dag.ForEachNode([&](const OperatorNode& n) {
    const auto& inputs = dag.parents(n.id);
    if (inputs.empty()) return;
    edges.Varint(static_cast<uint64_t>(static_cast<int64_t>(n.id) - prev_target - 1));
    prev_target = n.id;
    edges.Varint(inputs.size());
    for (NodeId source : inputs) edges.Varint(source);
  });

  ByteWriter table;
  for (std::string_view s : strings.strings()) {
    table.Varint(s.size());
    table.Bytes(s);
  }

  ByteWriter header;
  header.Varint(dag.node_count());
  header.Varint(dag.id_bound());
  header.Varint(dag.edge_count());
  header.Varint(strings.strings().size());

  ByteWriter file;
  file.Bytes(std::string_view(kMagic, 4));
  file.U16(kBinaryVersion);
  file.U16(0);  // flags
  AppendSection(file, kHeader, header.str());
  AppendSection(file, kStrings, table.str());
  AppendSection(file, kNodes, nodes.str());
  AppendSection(file, kEdges, edges.str());
  file.U32(Crc32c(file.str().data(), file.str().size()));
  return std::move(file.str());
}

Result<QueryDag> ReadBinary(std::string_view bytes, const ParseLimits& limits) {
  return Reader(bytes, limits).Read();
}

}  // namespace ruvector_dag
