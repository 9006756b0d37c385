// Little-endian encoding with bounds-checked decoding for the sync formats.
#ifndef RUVECTOR_DAG_SYNC_INTERNAL_WIRE_H_
#define RUVECTOR_DAG_SYNC_INTERNAL_WIRE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ruvector_dag/status.h"
#include "ruvector_dag/sync.h"

namespace ruvector_dag::sync::internal {

class Writer {
 public:
  explicit Writer(Bytes* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    Le(bits, 8);
  }
  void F32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    Le(bits, 4);
  }
  void Raw(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    out_->insert(out_->end(), p, p + n);
  }
  void Raw(ByteView b) { Raw(b.data(), b.size()); }
  /// u16 length + bytes; callers bound the length.
  void Str(std::string_view s) {
    U16(static_cast<uint16_t>(s.size()));
    Raw(s.data(), s.size());
  }


 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes* out_;
};

/// Reads fields in order; the first read past the end makes every later read
/// fail and status() report which field was truncated.
class Reader {
 public:
  Reader(ByteView in, std::string_view what) : in_(in), what_(what) {}
  bool U8(uint8_t* v, const char* field) { return Le(v, 1, field); }
  bool U16(uint16_t* v, const char* field) { return Le(v, 2, field); }
  bool U32(uint32_t* v, const char* field) { return Le(v, 4, field); }
  bool U64(uint64_t* v, const char* field) { return Le(v, 8, field); }
  bool I64(int64_t* v, const char* field) {
    uint64_t u;
    if (!Le(&u, 8, field)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool F64(double* v, const char* field) {
    uint64_t u;
    if (!Le(&u, 8, field)) return false;
    std::memcpy(v, &u, 8);
    return true;
  }
  bool F32(float* v, const char* field) {
    uint32_t u;
    if (!Le(&u, 4, field)) return false;
    std::memcpy(v, &u, 4);
    return true;
  }
  bool Raw(uint8_t* out, size_t n, const char* field) {
    if (!Need(n, field)) return false;
    if (n > 0) std::memcpy(out, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool View(ByteView* out, size_t n, const char* field) {
    if (!Need(n, field)) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  /// u16 length (at most max_len) + bytes.
  bool Str(std::string* s, size_t max_len, const char* field) {
    uint16_t n;
    if (!U16(&n, field)) return false;
    if (n > max_len) return Fail(std::string(field) + " is " + std::to_string(n) + " bytes, at most " +
                                 std::to_string(max_len) + " allowed");
    ByteView v;
    if (!View(&v, n, field)) return false;
    s->assign(reinterpret_cast<const char*>(v.data()), v.size());
    return true;
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  size_t position() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  /// Fails unless every byte was consumed.
  bool End() {
    if (!error_.empty()) return false;
    if (pos_ != in_.size()) return Fail(std::to_string(in_.size() - pos_) + " trailing bytes");
    return true;
  }
  Status status() const {
    if (error_.empty()) return Status::Ok();
    return Status::InvalidArgument(std::string(what_) + ": " + error_);
  }

 private:
  bool Need(size_t n, const char* field) {
    if (!error_.empty()) return false;
    if (in_.size() - pos_ < n) {
      return Fail(std::string("truncated at ") + field + " (offset " + std::to_string(pos_) + ", need " +
                  std::to_string(n) + " bytes, have " + std::to_string(in_.size() - pos_) + ")");
    }
    return true;
  }
  template <typename T>
  bool Le(T* v, int n, const char* field) {
    if (!Need(static_cast<size_t>(n), field)) return false;
    uint64_t x = 0;
    for (int i = 0; i < n; ++i) x |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(n);
    *v = static_cast<T>(x);
    return true;
  }
  ByteView in_;
  std::string_view what_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace ruvector_dag::sync::internal

#endif  // RUVECTOR_DAG_SYNC_INTERNAL_WIRE_H_
