// Mutants: named, deliberate bugs that exist only in test builds of the engine.
//
// A mutant point in engine code reads
//     if (POWERCUT_MUTANT(kLinearFlushDropped)) { ...the bug... }
// In the shipped libraries (no POWERCUT_MUTANTS definition) the macro is the constant
// `false`, so the bug is compiled out. The test-only variants of the engine libraries
// (`*_mutants` CMake targets) define POWERCUT_MUTANTS; there the macro compares with
// the one active mutant, selected at run time (ScopedMutant), so one test binary can
// try every mutant in turn. See docs/architecture.md ("Mutants") for the rules. Which
// variant an executable gets is decided when it is linked (active.cc or inactive.cc).
//
// Threading: the active mutant is a process-wide setting of test builds, changed only
// between runs.
#ifndef POWERCUT_ENGINE_MUTANT_MUTANT_H_
#define POWERCUT_ENGINE_MUTANT_MUTANT_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace powercut::mutant {

enum class Id : uint16_t {
  kNone = 0,
  // engine/linear: a pass-through target (dm-linear)
  kLinearFlushDropped,
  kLinearFuaDropped,
  kLinearMisdirectedWrite,
  // engine/writecache: the write-back cache (dm-writecache)
  kWcFlushBeforeDataWait,
  kWcSbNoFua,
  kWcOriginFlushDropped,
  kWcSeqFromEntries,
  kWcFreeWithoutCommit,
  kWcWritebackNoOriginFlush,
  kWcLowerSeqWins,
  kWcEntryNotMarkedDirty,
  kWcOverwriteNoFlush,
  kWcWritebackUncommitted,
  kWcReuseWhileReading,
  kWcExtendOverCached,
  kWcFlushIgnoresIdleOverwrite,
  kWcCommitAfterError,
  kWcRecoveryKeepsUncommitted,
  kWcWritebackStopsAtHigh,
  kWcSkippedWritebackNotRequeued,
  kWcRecoveryCleanupNotFlushed,
  kWcPmemFuaIgnored,
  kWcPmemCommitNoFence,
  kWcPmemDataNotFlushed,
  // engine/raid1: the mirror set and its write-intent bitmap (md raid1)
  kBmUnplugNoWait,
  kBmFailedWriteClears,
  kBmClearWhileDegraded,
  kBmNeededDecays,
  kBmMsbBitOrder,
  kBmWritePastArea,
  kBmUnplugFirstMemberOnly,
  kBmStartWriteNotDirty,
  kBmLoadIgnoresUnclean,
  kRaid1AckBeforeFaultRecorded,
  kRaid1DaemonNoFlush,
  kRaid1ResyncFromStale,
  kRaid1OverlapUnserialized,
  kRaid1ReadWriteMostlyBehind,
  kRaid1StopCleanBeforeDrain,
  kRaid1StopNoDrain,
  kBmLoadTrustsStale,
  kRaid1ReAddIgnoresEventsCleared,
  kRaid1ReAddNoQuiesce,
  kRaid1DaemonBusyWait,
  kBmChunkOfSector32,
  kRaid1AckOnFailedMirror,
  kRaid1ReAddCopiedDecay,
  kRaid1AssembleWithoutFreshMember,
  kRaid1ResyncLeavesClean,
  kRaid1FailBitmapUnaware,
  kBmSyncKeepsEventsCleared,
};

struct Info {
  Id id;
  std::string_view name;      // as used on the command line and in replay files
  std::string_view target;    // the engine it breaks
  std::string_view bug;       // what goes wrong
  std::string_view based_on;  // the real bug or rule it mirrors
  // Only seeds far past the CI budgets reach it (a campaign found the path): the
  // mutation tests kill it with corpus/<name>.replay, that find shrunk, instead of seeds.
  bool rare = false;
};

// Every mutant, in declaration order. Available in all builds (it is only metadata).
std::span<const Info> Catalog();
// nullptr if no mutant has that name.
const Info* Find(std::string_view name);

// Whether this build can activate mutants (only the test-only *_mutants libraries).
bool Available();
Id Active();
// Selects the active mutant for the runs that follow. In a shipped build anything but
// kNone fails with FailedPrecondition.
absl::Status SetActive(Id id);

#if defined(POWERCUT_MUTANTS)
// Activates a mutant for the lifetime of this object (tests only).
class ScopedMutant {
 public:
  explicit ScopedMutant(Id id) : previous_(Active()) { (void)SetActive(id); }
  ~ScopedMutant() { (void)SetActive(previous_); }
  ScopedMutant(const ScopedMutant&) = delete;
  ScopedMutant& operator=(const ScopedMutant&) = delete;

 private:
  Id previous_;
};

#define POWERCUT_MUTANT(name) (::powercut::mutant::Active() == ::powercut::mutant::Id::name)
#else
#define POWERCUT_MUTANT(name) false
#endif

}  // namespace powercut::mutant

#endif  // POWERCUT_ENGINE_MUTANT_MUTANT_H_
