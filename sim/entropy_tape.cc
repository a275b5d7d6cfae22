#include "sim/entropy_tape.h"

namespace powercut::sim {

std::optional<uint64_t> EntropyTape::Take(uint64_t n) {
  size_t width = 8;
  if (n != 0) {
    width = 1;
    for (uint64_t top = (n - 1) >> 8; top != 0; top >>= 8) ++width;
  }
  if (bytes_.size() - next_ < width) {
    next_ = bytes_.size();
    return std::nullopt;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint64_t{bytes_[next_ + i]} << (8 * i);
  next_ += width;
  return n == 0 ? value : value % n;
}

}  // namespace powercut::sim
