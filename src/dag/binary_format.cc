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
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
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

constexpr uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

uint64_t DoubleBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

// --- writing -------------------------------------------------------------------

// Fields are written into a small chunk through a raw pointer and appended
// to the output a chunk at a time: in the -Oz WASM build each std::string
// append or push_back is a call into libc++, once per field otherwise.
class ByteWriter {
 public:
  void U8(uint8_t v) {
    *Room() = static_cast<char>(v);
    ++used_;
  }
  // Little-endian, `width` bytes.
  void Fixed(uint64_t v, int width) {
    char* b = Room();
    for (int i = 0; i < width; ++i) b[i] = static_cast<char>(v >> (8 * i));
    used_ += width;
  }
  void U16(uint16_t v) { Fixed(v, 2); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void F64(double d) { Fixed(DoubleBits(d), 8); }
  void F32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    Fixed(bits, 4);
  }
  void Varint(uint64_t v) {
    char* b = Room();
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) b[n++] = static_cast<char>(v | 0x80);
    b[n++] = static_cast<char>(v);
    used_ += n;
  }
  void Bytes(std::string_view b) {
    Flush();
    out_.append(b.data(), b.size());
  }
  std::string& str() {
    Flush();
    return out_;
  }

 private:
  static constexpr size_t kMaxField = 10;  // a varint's longest form
  // Space for one field (kMaxField bytes) at chunk_ + used_.
  char* Room() {
    if (used_ > sizeof(chunk_) - kMaxField) Flush();
    return chunk_ + used_;
  }
  void Flush() {
    out_.append(chunk_, used_);
    used_ = 0;
  }

  std::string out_;
  char chunk_[512];
  size_t used_ = 0;
};

// Strings numbered by first use: 0 is the empty string, others from 1. An
// open-addressing table of indexes (load at most 1/2) over the strings.
class StringTable {
 public:
  uint32_t Ref(const std::string& s) {
    if (s.empty()) return 0;
    if (2 * (strings_.size() + 1) > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash64(s) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) {
        strings_.push_back(std::string_view(s));
        slots_[i] = static_cast<uint32_t>(strings_.size());
        return slots_[i];
      }
      if (strings_[slots_[i] - 1] == s) return slots_[i];
    }
  }
  const std::vector<std::string_view>& strings() const { return strings_; }

 private:
  void Grow() {
    slots_.assign(std::max<size_t>(16, 2 * slots_.size()), 0);
    const size_t mask = slots_.size() - 1;
    for (uint32_t k = 1; k <= strings_.size(); ++k) {
      size_t i = Hash64(strings_[k - 1]) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = k;
    }
  }

  std::vector<uint32_t> slots_;  // 0: free; k: strings_[k - 1]
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

constexpr size_t kNoOffset = ~size_t{0};
using Arg = internal::MessageArg;

// "binary DAG: " + "at byte <at>: " (unless kNoOffset) + `text` with each '%'
// replaced by the next argument.
[[gnu::noinline]] Status Problem(StatusCode code, size_t at, std::string_view text,
                                 std::initializer_list<Arg> args) {
  std::string message(kWhat);
  message += ": ";
  if (at != kNoOffset) {
    message += "at byte ";
    message += std::to_string(at);
    message += ": ";
  }
  internal::AppendFormat(message, text, args);
  return Status(code, std::move(message));
}

std::string Hex(uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(digits, '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 0xF];
  return s;
}

const char* SectionName(int tag) {
  static constexpr const char* kNames[] = {"header", "string table", "node table", "edge"};
  return kNames[tag - kHeader];
}

struct Header {
  uint64_t node_count = 0;
  uint64_t id_bound = 0;
  uint64_t edge_count = 0;
  uint64_t string_count = 0;
};

// Reads the document in one pass. Every read is bounds-checked against the
// end of the current section; the first problem is kept in error_ and every
// step returns false from then on. Nodes are placed straight into the DAG's
// slots (DagBuilder) and the edges are added at once (AddEdgesByTarget).
class Reader {
 public:
  Reader(std::string_view bytes, const ParseLimits& limits)
      : bytes_(bytes), data_(reinterpret_cast<const uint8_t*>(bytes.data())), limits_(limits) {}

  Result<QueryDag> Read() {
    if (!CheckFrame() || !ReadSections()) return std::move(error_);
    return std::move(dag_);
  }

 private:
  // --- primitives ----------------------------------------------------------
  bool Fail(StatusCode code, size_t at, std::string_view text, std::initializer_list<Arg> args) {
    error_ = Problem(code, at, text, args);
    return false;
  }
  bool Invalid(size_t at, std::string_view text, std::initializer_list<Arg> args) {
    return Fail(StatusCode::kInvalidArgument, at, text, args);
  }
  // A library check's Status, placed at byte `at`.
  bool Take(Status status, size_t at) {
    if (status.ok()) return true;
    error_ = status.WithContext(std::string(kWhat) + ": at byte " + std::to_string(at));
    return false;
  }

  size_t remaining() const { return end_ - pos_; }
  // Through a raw pointer: string_view's operator[] is a call in the -Oz
  // WASM build, once per byte read.
  uint8_t Byte(size_t at) const { return data_[at]; }
  uint64_t LittleEndian(size_t at, int width) const {
    uint64_t v = 0;
    for (int i = width; i-- > 0;) v = (v << 8) | Byte(at + i);
    return v;
  }

  // `what` names the value read; a '%' in it stands for `number` ("string %
  // length"). Arg objects are built only for a message.
  bool Truncated(const char* what, uint64_t number = 0) {
    return Fail(StatusCode::kDataLoss, kNoOffset, "truncated at byte % while reading %", {pos_, Arg(what, number)});
  }
  bool U8(const char* what, uint8_t* out) {
    if (pos_ == end_) return Truncated(what);
    *out = Byte(pos_++);
    return true;
  }
  // Little-endian fixed-width number of `width` bytes.
  bool Fixed(const char* what, int width, uint64_t* out) {
    if (remaining() < static_cast<size_t>(width)) return Truncated(what);
    *out = LittleEndian(pos_, width);
    pos_ += width;
    return true;
  }
  bool Varint(const char* what, uint64_t* out, uint64_t number = 0) {
    if (remaining() >= 2) {  // one or two bytes: ids, counts and indexes below 16,384
      const uint64_t low = Byte(pos_);
      if (low < 0x80) {
        *out = low;
        ++pos_;
        return true;
      }
      if (Byte(pos_ + 1) < 0x80) {
        *out = (low & 0x7F) | (uint64_t{Byte(pos_ + 1)} << 7);
        pos_ += 2;
        return true;
      }
    }
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_) return Truncated(what, number);
      const uint8_t byte = Byte(pos_++);
      if (shift == 63 && byte > 1) return Invalid(start, "%: varint overflows 64 bits", {Arg(what, number)});
      v |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return Invalid(start, "%: varint longer than 10 bytes", {Arg(what, number)});
  }
  // A varint that must not exceed `max`.
  bool Bounded(const char* what, uint64_t max, uint64_t* out, uint64_t number = 0) {
    const size_t start = pos_;
    if (!Varint(what, out, number)) return false;
    if (*out > max) return Invalid(start, "% % exceeds %", {Arg(what, number), *out, max});
    return true;
  }
  bool Bytes(const char* what, uint64_t n, std::string_view* out, uint64_t number = 0) {
    if (remaining() < n) return Truncated(what, number);
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // --- frame and sections ----------------------------------------------------
  bool CheckFrame() {
    const size_t size = bytes_.size();
    if (size == 0) return Invalid(kNoOffset, "empty input", {});
    if (size > limits_.max_input_bytes) {
      return Fail(StatusCode::kOutOfRange, kNoOffset, "input is % bytes; the limit is %",
                  {size, limits_.max_input_bytes});
    }
    if (std::memcmp(bytes_.data(), kMagic, std::min<size_t>(size, 4)) != 0) {
      return Invalid(kNoOffset, "bad magic (expected \"RVDG\")", {});
    }
    if (size < kPrefixBytes + kChecksumBytes) {
      return Fail(StatusCode::kDataLoss, kNoOffset, "truncated: % bytes, at least % needed",
                  {size, kPrefixBytes + kChecksumBytes});
    }
    const uint64_t version = LittleEndian(4, 2);
    if (version != kBinaryVersion) {
      return Invalid(kNoOffset, "unsupported version % (this build reads version %)", {version, kBinaryVersion});
    }
    const uint64_t flags = LittleEndian(6, 2);
    if (flags != 0) {
      return Invalid(kNoOffset, "unknown flags 0x% (version 1 defines none)", {Hex(static_cast<uint32_t>(flags), 4)});
    }
    const size_t body_end = size - kChecksumBytes;
    const auto stored = static_cast<uint32_t>(LittleEndian(body_end, 4));
    const uint32_t computed = Crc32c(bytes_.data(), body_end);
    if (stored != computed) {
      return Fail(StatusCode::kDataLoss, kNoOffset, "checksum mismatch (stored 0x%, computed 0x%): truncated or corrupted",
                  {Hex(stored, 8), Hex(computed, 8)});
    }
    return true;
  }

  bool ReadSections() {
    size_t pos = kPrefixBytes;
    const size_t body_end = bytes_.size() - kChecksumBytes;
    for (int tag = kHeader; tag <= kEdges; ++tag) {
      pos_ = pos;
      end_ = body_end;
      uint8_t got = 0;
      uint64_t length = 0;
      if (!U8("section tag", &got)) return false;
      if (got != tag) {
        return Invalid(pos, "expected section % (%), found tag %", {tag, SectionName(tag), got});
      }
      if (!Fixed("section length", 4, &length)) return false;
      if (length > remaining()) {
        return Fail(StatusCode::kDataLoss, pos, "% section claims % bytes but only % remain",
                    {SectionName(tag), length, remaining()});
      }
      end_ = pos_ + length;
      bool ok = false;
      switch (tag) {
        case kHeader: ok = ReadHeader(); break;
        case kStrings: ok = ReadStrings(); break;
        case kNodes: ok = ReadNodes(); break;
        default: ok = ReadEdges(); break;
      }
      if (!ok) return false;
      if (pos_ != end_) {
        return Invalid(pos_, "% unread bytes at the end of the % section", {remaining(), SectionName(tag)});
      }
      pos = end_;
    }
    if (pos != body_end) {
      return Invalid(pos, "% unexpected bytes after the last section", {body_end - pos});
    }
    return true;
  }

  bool ReadHeader() {
    Header& h = header_;
    if (!Bounded("node count", limits_.max_nodes, &h.node_count) ||
        !Bounded("id bound", uint64_t{kMaxNodeId} + 1, &h.id_bound) || !Varint("edge count", &h.edge_count) ||
        !Varint("string count", &h.string_count)) {
      return false;
    }
    if (h.node_count > h.id_bound) {
      return Invalid(pos_, "node count % exceeds the id bound %", {h.node_count, h.id_bound});
    }
    Status space = internal::CheckIdSpace(h.id_bound, h.node_count, limits_, kWhat);  // names kWhat itself
    if (!space.ok()) {
      error_ = std::move(space);
      return false;
    }
    // A DAG on n nodes has at most n(n-1)/2 edges.
    const uint64_t n = h.node_count;
    if (h.edge_count > n * (n == 0 ? 0 : n - 1) / 2) {
      return Invalid(pos_, "edge count % is impossible for % nodes", {h.edge_count, n});
    }
    return true;
  }

  bool ReadStrings() {
    // Each string takes at least one byte (its length), so the count is
    // checked against the section size before anything is reserved.
    if (header_.string_count > remaining()) {
      return Invalid(pos_, "string count % exceeds the % bytes of the string table",
                     {header_.string_count, remaining()});
    }
    strings_.reserve(header_.string_count + 1);
    strings_.emplace_back();  // index 0: the empty string
    for (uint64_t i = 1; i <= header_.string_count; ++i) {
      uint64_t length = 0;
      std::string_view s;
      if (!Bounded("string % length", limits_.max_string_bytes, &length, i)) return false;
      const size_t at = pos_;
      if (!Bytes("string %", length, &s, i)) return false;
      if (s.empty()) return Invalid(pos_, "string % is empty (the empty string is index 0)", {i});
      if (!internal::IsValidUtf8(s)) return Invalid(at, "string % is not valid UTF-8", {i});
      strings_.push_back(s);
    }
    return true;
  }

  bool StringRef(uint64_t id, const char* field, std::string* out) {
    const size_t start = pos_;
    uint64_t index = 0;
    if (!Varint("string index", &index)) return false;
    if (index >= strings_.size()) {
      return Invalid(start, "node % % string index % exceeds %", {id, field, index, strings_.size() - 1});
    }
    out->assign(strings_[index].data(), strings_[index].size());
    return true;
  }

  bool ReadDouble(uint64_t id, const char* field, double* out) {
    if (remaining() < 8) return Truncated(field);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(out, data_ + pos_, 8);  // one load instead of eight
    } else {
      const uint64_t bits = LittleEndian(pos_, 8);
      std::memcpy(out, &bits, sizeof bits);
    }
    pos_ += 8;
    if (!(std::isfinite(*out) && *out >= 0.0)) {
      return Invalid(pos_ - 8, "node %: field \"%\" must be a finite number >= 0", {id, field});
    }
    return true;
  }
  bool ReadOptional(uint64_t id, const char* field, std::optional<double>* out) {
    double d = 0;
    if (!ReadDouble(id, field, &d)) return false;
    *out = d;
    return true;
  }

  bool ReadNode(int64_t prev_id, NodeId* placed) {
    uint64_t gap = 0;
    if (!Varint("node id", &gap)) return false;
    const uint64_t id = static_cast<uint64_t>(prev_id + 1) + gap;
    if (gap >= header_.id_bound) {  // also rules out overflow in `id`: id_bound <= 2^24
      return Invalid(pos_, "node id after % with gap % is not below the id bound %", {prev_id, gap, header_.id_bound});
    }
    if (id >= header_.id_bound) {
      return Invalid(pos_, "node id % is not below the id bound %", {id, header_.id_bound});
    }
    *placed = static_cast<NodeId>(id);
    OperatorNode& n = internal::DagBuilder::Place(dag_, static_cast<NodeId>(id));
    uint8_t type = 0;
    if (!U8("operator type", &type)) return false;
    if (type >= kOperatorTypeCount) return Invalid(pos_, "node %: unknown operator type code %", {id, type});
    n.type = static_cast<OperatorType>(type);
    uint64_t bits = 0;
    if (!Varint("field bits", &bits)) return false;
    if (bits & ~uint64_t{kAllFieldBits}) {
      return Invalid(pos_, "node %: unknown field bits 0x% above bit 20", {id, Hex(static_cast<uint32_t>(bits >> 21), 8)});
    }
    if ((bits & kRelation) && !StringRef(id, "relation", &n.relation)) return false;
    if ((bits & kAlias) && !StringRef(id, "alias", &n.alias)) return false;
    if ((bits & kIndex) && !StringRef(id, "index", &n.index)) return false;
    if ((bits & kPredicate) && !StringRef(id, "predicate", &n.predicate)) return false;
    uint64_t count = 0;
    if (bits & kKeys) {
      const size_t at = pos_;
      if (!Varint("key count", &count)) return false;
      if (count > remaining()) {
        return Invalid(at, "node % key count % exceeds the % bytes left", {id, count, remaining()});
      }
      n.keys.resize(count);
      for (auto& key : n.keys) {
        if (!StringRef(id, "key", &key)) return false;
      }
    }
    if (bits & kDescending) {
      std::string_view packed;
      if (!Bounded("descending count", uint64_t{remaining()} * 8, &count) ||
          !Bytes("descending flags", (count + 7) / 8, &packed)) {
        return false;
      }
      n.descending = std::vector<bool>(count);  // not resize(): no reallocating copy is linked
      for (size_t i = 0; i < count; ++i) n.descending[i] = (static_cast<uint8_t>(packed[i / 8]) >> (i % 8)) & 1u;
    }
    if ((bits & kDetail) && !StringRef(id, "detail", &n.detail)) return false;
    uint64_t raw = 0;
    if (bits & kParameter) {
      if (!Varint("parameter", &raw)) return false;
      n.parameter = UnZigZag(raw);
    }
    if ((bits & kSubplanName) && !StringRef(id, "subplan_name", &n.subplan_name)) return false;
    n.parallel_aware = (bits & kParallelAware) != 0;
    constexpr uint64_t kMaxZigZagInt32 = ZigZag(std::numeric_limits<int32_t>::max()) + 1;
    if (bits & kWorkersPlanned) {
      if (!Bounded("workers_planned", kMaxZigZagInt32, &raw)) return false;
      n.workers_planned = static_cast<int32_t>(UnZigZag(raw));
    }
    if (bits & kWorkersLaunched) {
      if (!Bounded("workers_launched", kMaxZigZagInt32, &raw)) return false;
      n.workers_launched = static_cast<int32_t>(UnZigZag(raw));
    }
    if ((bits & kEstimatedRows) && !ReadDouble(id, "estimated_rows", &n.estimated_rows)) return false;
    if ((bits & kEstimatedCost) && !ReadDouble(id, "estimated_cost", &n.estimated_cost)) return false;
    if ((bits & kStartupCost) && !ReadDouble(id, "startup_cost", &n.startup_cost)) return false;
    if ((bits & kTotalCost) && !ReadDouble(id, "total_cost", &n.total_cost)) return false;
    if ((bits & kWidth) && !ReadDouble(id, "width", &n.width)) return false;
    if ((bits & kActualRows) && !ReadOptional(id, "actual_rows", &n.actual_rows)) return false;
    if ((bits & kActualTimeMs) && !ReadOptional(id, "actual_time_ms", &n.actual_time_ms)) return false;
    if ((bits & kActualLoops) && !ReadOptional(id, "actual_loops", &n.actual_loops)) return false;
    if (bits & kEmbedding) {
      if (!Bounded("embedding length", remaining() / 4, &count)) return false;
      n.embedding.resize(count);
      for (float& f : n.embedding) {
        uint64_t b = 0;
        if (!Fixed("embedding value", 4, &b)) return false;
        const auto b32 = static_cast<uint32_t>(b);
        std::memcpy(&f, &b32, sizeof f);
      }
    }
    // The doubles were checked as they were read; CheckNodeValues covers the
    // rest (embedding values, descending vs keys, worker counts).
    constexpr uint64_t kCheckedLater = kEmbedding | kDescending | kWorkersPlanned | kWorkersLaunched;
    return (bits & kCheckedLater) == 0 || Take(internal::CheckNodeValues(n), pos_);
  }

  bool ReadNodes() {
    // Each node record takes at least 3 bytes (id gap, type, field bits).
    if (header_.node_count > remaining() / 3) {
      return Invalid(pos_, "node count % does not fit the % bytes of the node table", {header_.node_count, remaining()});
    }
    internal::DagBuilder::Start(dag_, static_cast<NodeId>(header_.id_bound));
    int64_t prev_id = -1;
    for (uint64_t i = 0; i < header_.node_count; ++i) {
      NodeId id = 0;
      if (!ReadNode(prev_id, &id)) return false;
      prev_id = id;
    }
    return true;
  }

  bool ReadEdges() {
    const Header& h = header_;
    // Every edge takes at least one byte (its source id), so the header's
    // edge count is checked against the section before anything is reserved.
    if (h.edge_count > remaining()) {
      return Invalid(pos_, "edge count % exceeds the % bytes of the edge section", {h.edge_count, remaining()});
    }
    uint64_t groups = 0;
    if (!Bounded("edge group count", h.node_count, &groups)) return false;
    // The section lists each target's inputs, targets ascending: that is the
    // inputs' CSR layout, filled in place (in_start holds counts until the
    // prefix sum below).
    std::vector<uint32_t> in_start(h.id_bound + 1, 0);
    std::vector<NodeId> in_adj(h.edge_count);
    NodeId* adj = in_adj.data();
    uint64_t read = 0;
    int64_t prev_target = -1;
    for (uint64_t g = 0; g < groups; ++g) {
      uint64_t gap = 0;
      uint64_t inputs = 0;
      if (!Bounded("edge target", h.id_bound, &gap)) return false;
      const uint64_t target = static_cast<uint64_t>(prev_target + 1) + gap;
      if (target >= h.id_bound || !dag_.Contains(static_cast<NodeId>(target))) {
        return Invalid(pos_, "edge target % is not a node", {target});
      }
      prev_target = static_cast<int64_t>(target);
      const size_t count_at = pos_;
      if (!Varint("input count", &inputs)) return false;
      const uint64_t left = h.edge_count - read;
      if (inputs > left) {
        return Invalid(count_at, "node % input count % exceeds % (the edges the header has left)", {target, inputs, left});
      }
      if (inputs == 0) return Invalid(pos_, "node %: edge group with no inputs", {target});
      in_start[target + 1] = static_cast<uint32_t>(inputs);
      for (uint64_t k = 0; k < inputs; ++k) {
        uint64_t source = 0;
        if (!Varint("edge source", &source)) return false;
        if (source > kMaxNodeId) return Invalid(pos_, "edge %->%: unknown node %", {source, target, source});
        adj[read++] = static_cast<NodeId>(source);
      }
    }
    if (read != h.edge_count) {
      return Invalid(pos_, "edge section holds % edges; the header says %", {read, h.edge_count});
    }
    for (size_t v = 0; v < h.id_bound; ++v) in_start[v + 1] += in_start[v];
    Status status = internal::AddEdgesByTarget(dag_, std::move(in_start), std::move(in_adj));
    if (!status.ok()) error_ = status.WithContext(kWhat);
    return status.ok();
  }

  std::string_view bytes_;
  const uint8_t* data_;
  const ParseLimits& limits_;
  size_t pos_ = 0;
  size_t end_ = 0;  // end of the current section
  Header header_;
  std::vector<std::string_view> strings_;
  QueryDag dag_;
  Status error_;
};

}  // namespace

std::string WriteBinary(const QueryDag& dag) {
  StringTable strings;
  ByteWriter nodes;
  ByteWriter edges;
  int64_t prev_id = -1;
  size_t groups = 0;
  for (NodeId id = 0; id < dag.id_bound(); ++id) {
    const OperatorNode* n = dag.node(id);
    if (n == nullptr) continue;
    WriteNode(nodes, strings, *n, prev_id);
    prev_id = id;
    if (!dag.parents(id).empty()) ++groups;
  }
  edges.Varint(groups);
  int64_t prev_target = -1;
  for (NodeId id = 0; id < dag.id_bound(); ++id) {
    const auto& inputs = dag.parents(id);  // empty for dead ids
    if (inputs.empty()) continue;
    edges.Varint(static_cast<uint64_t>(static_cast<int64_t>(id) - prev_target - 1));
    prev_target = id;
    edges.Varint(inputs.size());
    for (NodeId source : inputs) edges.Varint(source);
  }

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
