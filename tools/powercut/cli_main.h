// RunCli: the whole `powercut` command line (run, replay, shrink, scenario, inspect,
// format, recover, parity, realcrash, crashloop, mutants; docs/cli.md) over the engines
// and scenario families registered when it is called. The shipped binaries call it from
// main(); a project testing its own engine links the installed powercut::cli, registers
// its engine and families (bindings/engine_registry.h, scenario/seeded_scenarios.h), then
// returns RunCli(argc, argv) from its own main().
//
// Threading: call once, from the main thread (it installs SIGINT/SIGTERM handlers and
// forks for the real-file commands). Returns the process exit code.
#ifndef POWERCUT_TOOLS_POWERCUT_CLI_MAIN_H_
#define POWERCUT_TOOLS_POWERCUT_CLI_MAIN_H_

namespace powercut::tools {

int RunCli(int argc, char** argv);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CLI_MAIN_H_
