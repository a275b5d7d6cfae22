// cow_store_powercut: the powercut command line (run, replay, shrink, scenario, ...)
// with the copy-on-write store's engine "cow" and its families "cow" and "cow-broken"
// registered next to the built-in ones. Single-threaded setup, then RunCli's exit code.
#include <cstdio>

#include "cow_binding.h"
#include "tools/powercut/cli_main.h"

int main(int argc, char** argv) {
  if (absl::Status registered = cowstore::RegisterCow(); !registered.ok()) {
    std::fprintf(stderr, "cow_store_powercut: %s\n", registered.ToString().c_str());
    return 2;
  }
  return powercut::tools::RunCli(argc, argv);
}
