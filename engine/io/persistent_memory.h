// PersistentMemory: byte-addressable persistent memory (pmem / DAX), as the CPU sees it.
//
// Durability contract (x86 with clwb, the model of SimPmem):
//   - Store: a plain cached store. It may become durable at any moment (cache
//     eviction) or never, until it is flushed and fenced.
//   - StoreFlushing: a non-temporal copy (the kernel's memcpy_flushcache); durable once a
//     later Fence() returns.
//   - Flush(range): clwb of every 64-byte line touching the range; those lines' stores
//     so far are durable once a later Fence() returns.
//   - Fence(): sfence. May suspend the calling fiber (the simulator places crash
//     instants at fences), so call it only from a fiber.
//   - Stores are atomic only in aligned 8-byte units: a power cut may keep some units
//     of a larger store and not others. Lines persist independently of each other.
//
// Threading: the Scheduler's thread only. Offsets are bytes from the start.
#ifndef POWERCUT_ENGINE_IO_PERSISTENT_MEMORY_H_
#define POWERCUT_ENGINE_IO_PERSISTENT_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace powercut::io {

inline constexpr uint32_t kPmemLineSize = 64;
inline constexpr uint32_t kPmemAtomicUnit = 8;

class PersistentMemory {
 public:
  virtual ~PersistentMemory() = default;

  virtual uint64_t size() const = 0;
  virtual const std::string& name() const = 0;

  // Ranges must lie inside [0, size()); callers check (an out-of-range access is a
  // programming error and throws std::out_of_range).
  virtual void Load(uint64_t offset, std::span<std::byte> out) const = 0;
  virtual void Store(uint64_t offset, std::span<const std::byte> data) = 0;
  virtual void StoreFlushing(uint64_t offset, std::span<const std::byte> data) = 0;
  virtual void Flush(uint64_t offset, uint64_t length) = 0;
  virtual void Fence() = 0;
};

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_PERSISTENT_MEMORY_H_
