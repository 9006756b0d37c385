// Little-endian binary writer/reader for learned-state images (sona, engine).
// The reader never reads past its end: every getter reports failure instead.
#ifndef RUVECTOR_DAG_SRC_SONA_INTERNAL_BINARY_IO_H_
#define RUVECTOR_DAG_SRC_SONA_INTERNAL_BINARY_IO_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ruvector_dag::internal {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void PutF32(std::string* out, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  PutU32(out, bits);
}
inline void PutF64(std::string* out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  PutU64(out, bits);
}

/// Reads from data[*offset ...]; each getter returns false (leaving *offset
/// unspecified) when the data ends early.
class ByteReader {
 public:
  ByteReader(std::string_view data, size_t* offset) : data_(data), off_(offset) {}
  bool U8(uint8_t* v) {
    if (!Has(1)) return false;
    *v = static_cast<uint8_t>(data_[(*off_)++]);
    return true;
  }
  bool U32(uint32_t* v) {
    if (!Has(4)) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>(static_cast<uint8_t>(data_[*off_ + i])) << (8 * i);
    *off_ += 4;
    *v = r;
    return true;
  }
  bool U64(uint64_t* v) {
    if (!Has(8)) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(static_cast<uint8_t>(data_[*off_ + i])) << (8 * i);
    *off_ += 8;
    *v = r;
    return true;
  }
  bool F32(float* v) {
    uint32_t bits;
    if (!U32(&bits)) return false;
    std::memcpy(v, &bits, 4);
    return true;
  }
  bool F64(double* v) {
    uint64_t bits;
    if (!U64(&bits)) return false;
    std::memcpy(v, &bits, 8);
    return true;
  }
  size_t remaining() const { return *off_ <= data_.size() ? data_.size() - *off_ : 0; }

 private:
  bool Has(size_t n) const { return *off_ <= data_.size() && data_.size() - *off_ >= n; }
  std::string_view data_;
  size_t* off_;
};

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_SONA_INTERNAL_BINARY_IO_H_
