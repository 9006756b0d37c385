// libFuzzer target for ReadBinary. Most random inputs die at the checksum,
// so the target also re-frames the input: it treats the bytes after the
// 8-byte prefix as the body and appends a valid CRC-32C, which lets the
// fuzzer reach the section parsers. A file that reads successfully must
// write, read back to an equal DAG and write the same bytes again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ruvector_dag/core.h"
#include "ruvector_dag/formats.h"

namespace {

void CheckRoundTrip(const ruvector_dag::QueryDag& dag) {
  using namespace ruvector_dag;
  if (!dag.Validate().ok()) {
    std::fprintf(stderr, "accepted DAG fails Validate\n");
    std::abort();
  }
  const std::string written = WriteBinary(dag);
  Result<QueryDag> again = ReadBinary(written);
  if (!again.ok()) {
    std::fprintf(stderr, "re-read failed: %s\n", again.status().ToString().c_str());
    std::abort();
  }
  if (!(*again == dag) || WriteBinary(*again) != written) {
    std::fprintf(stderr, "round trip changed the DAG\n");
    std::abort();
  }
  Result<QueryDag> json = ReadJson(WriteJson(dag));
  if (!json.ok() || !(*json == dag)) {
    std::fprintf(stderr, "JSON round trip failed\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ruvector_dag;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<QueryDag> dag = ReadBinary(input);
  if (dag.ok()) CheckRoundTrip(*dag);
  // Re-framed: "RVDG", version 1, flags 0, then the input minus its first
  // 8 and last 4 bytes (when present), then a correct checksum.
  std::string framed("RVDG\x01\x00\x00\x00", 8);
  if (size > 12) {
    framed.append(input.substr(8, size - 12));
  } else if (size > 8) {
    framed.append(input.substr(8));
  }
  const uint32_t crc = Crc32c(framed.data(), framed.size());
  for (int i = 0; i < 4; ++i) framed.push_back(static_cast<char>(crc >> (8 * i)));
  Result<QueryDag> reframed = ReadBinary(framed);
  if (reframed.ok()) CheckRoundTrip(*reframed);
  return 0;
}
