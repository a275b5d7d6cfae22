// Little-endian loads and stores of unsigned integers at a byte offset of a span: the
// one codec of the engines' on-disk formats (engine/raid1's md superblock and bitmap,
// engine/writecache's superblock and entries, and the checkers and tools that read
// them). Every such format is little-endian regardless of the host; these helpers make
// the byte order explicit instead of relying on struct layout and host order.
//
// Any offset works (unaligned included: the bytes are copied with memcpy). On a
// big-endian host the value is byte-swapped (Boost.Endian); on a little-endian one each
// call compiles to a plain load or store. Inline: writecache recovery decodes a million
// entries with them.
//
// REQUIRES: `offset + sizeof(T)` lies inside the span (callers check lengths first).
//
// Threading: pure functions; thread-compatible.
#ifndef POWERCUT_ENGINE_IO_LITTLE_ENDIAN_H_
#define POWERCUT_ENGINE_IO_LITTLE_ENDIAN_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <boost/endian/conversion.hpp>

namespace powercut::io {

// An unsigned integer type a format field can have: uint8_t .. uint64_t.
template <typename T>
concept LeField = std::unsigned_integral<T> && !std::same_as<T, bool>;

// The sizeof(T)-byte little-endian value at `offset` of `bytes`.
template <LeField T>
inline T LoadLe(std::span<const std::byte> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return boost::endian::little_to_native(value);
}

// Stores `value` little-endian in the sizeof(T) bytes at `offset` of `bytes`.
template <LeField T>
inline void StoreLe(std::span<std::byte> bytes, size_t offset, T value) {
  const T little = boost::endian::native_to_little(value);
  std::memcpy(bytes.data() + offset, &little, sizeof(T));
}

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_LITTLE_ENDIAN_H_
