// `powercut mutants`: the mutation matrix. For every mutant in the catalog, campaign
// seeds of every scenario family of its engine run with the mutant active until a
// property kills it (or the seed budget runs out); the table shows killed/survived, the
// seeds needed, the family and failure category that killed it and the time taken.
// With `trials` > 1 the hunt repeats over disjoint seed ranges (trial t starts at seed
// 1 + t * 1,000,000) and the table gives the median seeds and seconds to a kill; a
// mutant counts as killed only if every trial killed it. The first trial's killing
// scenario is saved as a replay file (scenario/failure_report.h).
// Needs a build with mutants (powercut_with_mutants).
#ifndef POWERCUT_TOOLS_POWERCUT_MUTANTS_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_MUTANTS_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace powercut::tools {

struct MutantsCommandOptions {
  uint64_t seeds = 2000;  // budget per mutant
  uint32_t images = 4;
  uint32_t trials = 1;    // independent seed ranges per mutant
  std::string only;       // run just this mutant if not empty
  bool json = false;
};

// Exit code: 0 every mutant killed, 1 a mutant survived, 2 unusable (no mutants in
// this build, unknown mutant name).
int RunMutantsCommand(const MutantsCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_MUTANTS_COMMAND_H_
