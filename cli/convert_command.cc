// `ruvector-dag convert`: rewrites a plan in another format.
#include <memory>
#include <string>

#include "cli_io.h"
#include "commands.h"

namespace ruvector_dag::cli {
namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string to;
  bool pretty = false;
};

int RunConvert(const ConvertOptions& opt) {
  DagFormat from = DagFormat::kJson;
  Result<QueryDag> dag = LoadDag(opt.input, &from);
  if (!dag.ok()) return ReportError("convert", dag.status());
  std::string bytes;
  if (opt.to == "json") {
    bytes = WriteJson(*dag, opt.pretty ? 2 : -1) + "\n";
  } else if (opt.to == "binary") {
    bytes = WriteBinary(*dag);
  } else {
    Result<std::string> rust = WriteRustJson(*dag);
    if (!rust.ok()) return ReportError("convert", rust.status().WithContext(opt.input));
    bytes = std::move(rust).value() + "\n";
  }
  Status written = WriteOutput(opt.output, bytes);
  return written.ok() ? kExitOk : ReportError("convert", written);
}

}  // namespace

void RegisterConvert(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Convert a plan between formats. The input format is detected (EXPLAIN JSON, ruvector-dag "
      "JSON or binary, the original crate's JSON).");
  cmd->add_option("input", opt->input, "input plan file, or - for stdin")->required();
  cmd->add_option("output", opt->output, "output file, or - for stdout")->required();
  cmd->add_option("--to,-t", opt->to, "output format")
      ->required()
      ->check(CLI::IsMember({"json", "binary", "rust-json"}));
  cmd->add_flag("--pretty", opt->pretty, "indent JSON output");
  cmd->callback([opt, exit_code] { *exit_code = RunConvert(*opt); });
}

}  // namespace ruvector_dag::cli
