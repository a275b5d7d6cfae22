// EntropyTape: bytes that stand in for a generator's randomness, so that a guided
// search (fuzz/scenario_search_fuzzer.cc: libFuzzer's input) decides what a scenario
// draws, and mutating the input changes the scenario a little at a time.
//
// Every sim::Prng built over a tape, and every generator forked from one, reads the
// tape in order: a value below n takes the fewest whole bytes that hold n - 1
// (little-endian, reduced mod n), so one input byte is often one decision. Once the
// tape is spent, the generators go on with their own seeded sequences; a run over a
// given tape is therefore as deterministic as a seeded one.
//
// Ownership: the tape copies the bytes and must outlive the generators built over it.
// Threading: not thread-safe; one owner.
#ifndef POWERCUT_SIM_ENTROPY_TAPE_H_
#define POWERCUT_SIM_ENTROPY_TAPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace powercut::sim {

class EntropyTape {
 public:
  explicit EntropyTape(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}

  // A value in [0, n) from the next bytes, n = 0 meaning the whole 64-bit range; nullopt
  // (from then on) when fewer bytes are left than the value needs.
  std::optional<uint64_t> Take(uint64_t n);

  // Bytes read so far.
  size_t consumed() const { return next_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t next_ = 0;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_ENTROPY_TAPE_H_
