// ruvector-dag: command-line front end over the library's public API.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_io.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace ruvector_dag::cli;
  CLI::App app("ruvector-dag: a self-learning query optimizer's plan tools", "ruvector-dag");
  app.set_version_flag("--version", "ruvector-dag 0.1.0");
  app.require_subcommand(1);
  int exit_code = kExitOk;
  RegisterAnalyze(app, &exit_code);
  RegisterConvert(app, &exit_code);
  RegisterMinCut(app, &exit_code);
  RegisterAttention(app, &exit_code);
  RegisterDemo(app, &exit_code);
  RegisterBench(app, &exit_code);
  RegisterClusterDemo(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints help, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and usage on stderr
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    std::cerr << "ruvector-dag: out of memory\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "ruvector-dag: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return exit_code;
}
