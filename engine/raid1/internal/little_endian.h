// Little-endian loads and stores on byte spans, for the on-disk formats of engine/raid1.
// Every md structure is little-endian regardless of the host; these helpers make the
// byte order explicit instead of relying on struct layout and host order.
//
// REQUIRES: `offset + width` lies inside the span (callers check lengths first).
#ifndef POWERCUT_ENGINE_RAID1_INTERNAL_LITTLE_ENDIAN_H_
#define POWERCUT_ENGINE_RAID1_INTERNAL_LITTLE_ENDIAN_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace powercut::raid1::internal {

template <typename T>
T LoadLe(std::span<const std::byte> bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<T>(bytes[offset + i]) << (8 * i));
  }
  return value;
}

template <typename T>
void StoreLe(std::span<std::byte> bytes, size_t offset, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
  }
}

}  // namespace powercut::raid1::internal

#endif  // POWERCUT_ENGINE_RAID1_INTERNAL_LITTLE_ENDIAN_H_
