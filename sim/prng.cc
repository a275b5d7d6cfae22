#include "sim/prng.h"

#include <stdexcept>

namespace powercut::sim {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Prng::Prng(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (uint64_t& word : s_) {
    x += 0x9e3779b97f4a7c15ull;  // splitmix64 step
    word = Mix64(x);
  }
}

uint64_t Prng::Next() {
  if (tape_ != nullptr) {
    if (const std::optional<uint64_t> value = tape_->Take(0)) return *value;
  }
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Prng::Uniform(uint64_t n) {
  if (n == 0) throw std::invalid_argument("Prng::Uniform(0)");
  if (tape_ != nullptr) {
    if (const std::optional<uint64_t> value = tape_->Take(n)) return *value;
  }
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

uint64_t Prng::Range(uint64_t lo, uint64_t hi) {
  if (lo > hi) throw std::invalid_argument("Prng::Range: lo > hi");
  if (lo == 0 && hi == ~0ull) return Next();
  return lo + Uniform(hi - lo + 1);
}

Prng Prng::Fork(std::string_view label) const {
  return Prng(Mix64(seed_ ^ Mix64(HashLabel(label))), tape_);
}

}  // namespace powercut::sim
