// libFuzzer target for ReadJson (our versioned JSON). A document that reads
// successfully must write, read back to an equal DAG and write the same
// bytes again; anything else aborts so libFuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ruvector_dag/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ruvector_dag;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<QueryDag> dag = ReadJson(input);
  if (!dag.ok()) return 0;
  if (!dag->Validate().ok()) {
    std::fprintf(stderr, "accepted DAG fails Validate\n");
    std::abort();
  }
  const std::string written = WriteJson(*dag);
  Result<QueryDag> again = ReadJson(written);
  if (!again.ok()) {
    std::fprintf(stderr, "re-read failed: %s\n", again.status().ToString().c_str());
    std::abort();
  }
  if (!(*again == *dag) || WriteJson(*again) != written) {
    std::fprintf(stderr, "round trip changed the DAG\n");
    std::abort();
  }
  // The binary format must carry the same DAG.
  Result<QueryDag> binary = ReadBinary(WriteBinary(*dag));
  if (!binary.ok() || !(*binary == *dag)) {
    std::fprintf(stderr, "binary round trip failed\n");
    std::abort();
  }
  return 0;
}
