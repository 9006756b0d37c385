// The ruvector-dag subcommands. Each Register* adds its subcommand to the
// app; the callback stores the exit code in *exit_code.
#ifndef RUVECTOR_DAG_CLI_COMMANDS_H_
#define RUVECTOR_DAG_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace ruvector_dag::cli {

void RegisterAnalyze(CLI::App& app, int* exit_code);
void RegisterConvert(CLI::App& app, int* exit_code);
void RegisterMinCut(CLI::App& app, int* exit_code);
void RegisterAttention(CLI::App& app, int* exit_code);
void RegisterDemo(CLI::App& app, int* exit_code);
void RegisterBench(CLI::App& app, int* exit_code);
void RegisterClusterDemo(CLI::App& app, int* exit_code);

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_COMMANDS_H_
