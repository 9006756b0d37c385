#include "cli_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include <unistd.h>

namespace ruvector_dag::cli {

Result<std::string> ReadInput(const std::string& path, size_t max_bytes) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::InvalidArgument("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string data;
  char buffer[1 << 16];
  bool too_big = false;
  for (;;) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, file);
    if (n == 0) break;
    if (data.size() + n > max_bytes) {
      too_big = true;
      break;
    }
    data.append(buffer, n);
  }
  const bool read_error = std::ferror(file) != 0;
  if (file != stdin) std::fclose(file);
  if (too_big) {
    return Status::OutOfRange(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  if (read_error) return Status::InvalidArgument("cannot read " + path + " (is it a directory?)");
  return data;
}

Status WriteOutput(const std::string& path, const std::string& data) {
  if (path == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return std::cout ? Status::Ok() : Status::Internal("cannot write to stdout");
  }
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::InvalidArgument("cannot create " + temp + ": " + std::strerror(errno));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      return Status::InvalidArgument("cannot write " + temp);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    return Status::InvalidArgument("cannot replace " + path + ": " + reason);
  }
  return Status::Ok();
}

Result<QueryDag> LoadDag(const std::string& path, DagFormat* detected) {
  const ParseLimits limits;
  RUVECTOR_ASSIGN_OR_RETURN(std::string bytes, ReadInput(path, limits.max_input_bytes));
  Result<QueryDag> dag = ReadAnyFormat(bytes, detected, limits);
  if (!dag.ok()) return dag.status().WithContext(path);
  return dag;
}

int ReportError(const std::string& context, const Status& status) {
  std::cerr << "ruvector-dag: " << context << ": " << status.message() << " ("
            << StatusCodeName(status.code()) << ")\n";
  return status.code() == StatusCode::kInternal ? kExitInternal : kExitBadInput;
}

}  // namespace ruvector_dag::cli
