// powercut and powercut_with_mutants: the command line over the built-in engines.
#include "tools/powercut/cli_main.h"

int main(int argc, char** argv) { return powercut::tools::RunCli(argc, argv); }
