#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Avalanche(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

// Slicing-by-8 tables: t[0] is the byte-at-a-time table; t[k][b] is the CRC
// of byte b followed by k zero bytes, so eight bytes take one step.
struct CrcTables {
  uint32_t t[8][256];
};

CrcTables MakeCrcTables() {
  CrcTables tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0x82F63B78u ^ (c >> 1)) : (c >> 1);
    tables.t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) {
      const uint32_t prev = tables.t[k - 1][i];
      tables.t[k][i] = (prev >> 8) ^ tables.t[0][prev & 0xFFu];
    }
  }
  return tables;
}

uint32_t LoadLittle32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t state = seed;
  for (auto& s : s_) s = SplitMix64(state);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Rng::Uniform(uint64_t bound) {
  if (bound == 0) return 0;
  // Lemire's rejection method: unbiased and deterministic.
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = Next();
    if (r >= threshold) return r % bound;
  }
}

double Rng::UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Gaussian() {
  double u1 = UniformDouble();
  while (u1 <= 0.0) u1 = UniformDouble();
  const double u2 = UniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xCBF29CE484222325ULL ^ Avalanche(seed);
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return Avalanche(h);
}

uint64_t HashCombine(uint64_t h, uint64_t value) {
  return Avalanche(h ^ (Avalanche(value) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2)));
}

uint64_t HashDouble(double v) {
  if (v == 0.0) v = 0.0;  // -0.0 == 0.0
  if (std::isnan(v)) return 0x7FF8000000000000ULL;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

uint32_t Crc32c(const void* data, size_t size, uint32_t crc) {
  static const CrcTables kTables = MakeCrcTables();  // computed once, not stored in the binary
  const auto& t = kTables.t;
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (; size >= 8; p += 8, size -= 8) {
    const uint32_t lo = LoadLittle32(p) ^ crc;
    const uint32_t hi = LoadLittle32(p + 4);
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; size > 0; ++p, --size) crc = t[0][(crc ^ *p) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

namespace {

// a * b - p exactly, for p = fl(a * b) (Dekker's product, no fma: none is
// linked into the WASM module).
double ProductError(double a, double b, double p) {
  const auto split = [](double x, double* hi, double* lo) {
    const double c = 134217729.0 * x;  // 2^27 + 1
    *hi = c - (c - x);
    *lo = x - *hi;
  };
  double ah, al, bh, bl;
  split(a, &ah, &al);
  split(b, &bh, &bl);
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

}  // namespace

std::string FormatSignificant(double v, int digits) {
  if (digits < 1) digits = 1;
  if (digits > 15) digits = 15;
  std::string out = std::signbit(v) ? "-" : "";
  v = std::fabs(v);
  if (std::isnan(v)) return out + "nan";
  if (std::isinf(v)) return out + "inf";
  if (v == 0.0) return out + "0";
  // Scales v to `digits` integer digits: 10^(digits-1) <= r < 10^digits,
  // v ~ r * 10^(x - digits + 1); rounded half to even, as printf does.
  const auto pow10 = [](int k) {
    double p = 1.0;
    for (double base = 10.0; k > 0; k >>= 1, base *= base) {
      if (k & 1) p *= base;
    }
    return p;
  };
  const double low = pow10(digits - 1);
  const double high = pow10(digits);
  int x = static_cast<int>(std::floor(std::log10(v)));
  double r = 0.0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int k = digits - 1 - x;
    // Two steps for large |k| so that 10^k stays finite.
    const double scaled = k >= 0 ? (k > 300 ? v * pow10(k - 300) * pow10(300) : v * pow10(k))
                                 : (k < -300 ? v / pow10(-k - 300) / pow10(300) : v / pow10(-k));
    r = std::nearbyint(scaled);
    if (scaled - std::floor(scaled) == 0.5 && k >= -22 && k <= 22) {
      // A tie after rounding: the exact v * 10^k (10^|k| is exact up to
      // 10^22) decides, from the error of the rounded product or quotient.
      const double p = pow10(k >= 0 ? k : -k);
      const double err = k >= 0 ? ProductError(v, p, scaled) : -ProductError(scaled, p, v) / p;
      if (err > 0) r = std::floor(scaled) + 1.0;
      if (err < 0) r = std::floor(scaled);
    }
    if (r >= high) {
      ++x;  // rounded up to the next power of ten, or log10 was one too low
      if (scaled >= high) continue;
      r = low;
    } else if (r < low) {
      --x;
      continue;
    }
    break;
  }
  const std::string d = std::to_string(static_cast<uint64_t>(r));
  const auto trim = [](std::string s) {
    if (s.find('.') == std::string::npos) return s;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  };
  if (x < -4 || x >= digits) {
    const int e = x < 0 ? -x : x;
    return out + trim(d.substr(0, 1) + "." + d.substr(1)) + (x < 0 ? "e-" : "e+") + (e < 10 ? "0" : "") +
           std::to_string(e);
  }
  if (x >= 0) return out + trim(d.substr(0, x + 1) + "." + d.substr(x + 1));
  return out + trim("0." + std::string(-x - 1, '0') + d);
}

}  // namespace ruvector_dag
