// Prng: the only source of randomness in a simulation, and its distributions.
//
// Algorithm: xoshiro256** (Blackman & Vigna, 2018), state seeded by four successive
// outputs of splitmix64 from the 64-bit seed. Distributions are the project's own and
// use integer arithmetic only, so a seed gives the same sequence on every machine and
// with every standard library (std:: and absl distributions are not stable across
// versions and must never be used in the simulation):
//   - Uniform(n): Lemire's multiply-and-reject method, exact over [0, n);
//   - Chance(k, n): Uniform(n) < k;
//   - Fork(label): an independent stream derived from this stream's seed and a label,
//     so one component's extra draws never shift another's.
//
// A generator built over an EntropyTape (sim/entropy_tape.h) draws from the tape while
// it lasts, and so do its forks: a guided search's input decides the draws. Without a
// tape nothing changes: the sequences above are pinned.
//
// Threading: not thread-safe; one owner.
#ifndef POWERCUT_SIM_PRNG_H_
#define POWERCUT_SIM_PRNG_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "sim/entropy_tape.h"

namespace powercut::sim {

// The splitmix64 finaliser: a good 64-bit mixing function, used for seeding and
// hashing. Inline: the trace folds several per event.
constexpr uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a over a string, for deriving seeds from labels.
constexpr uint64_t HashLabel(std::string_view label) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : label) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

class Prng {
 public:
  explicit Prng(uint64_t seed);
  // Draws from `tape` (not owned; it outlives this generator and its forks) while it
  // lasts, then from `seed`'s sequence.
  Prng(uint64_t seed, EntropyTape* tape) : Prng(seed) { tape_ = tape; }

  uint64_t seed() const { return seed_; }
  uint64_t Next();
  // Uniform in [0, n); n must be > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi], inclusive; lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi);
  // True with probability k/n.
  bool Chance(uint64_t k, uint64_t n) { return Uniform(n) < k; }
  // An independent generator for `label`, determined by this generator's seed only.
  Prng Fork(std::string_view label) const;

  template <typename T>
  void Shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(Uniform(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  uint64_t seed_;
  uint64_t s_[4];
  EntropyTape* tape_ = nullptr;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_PRNG_H_
