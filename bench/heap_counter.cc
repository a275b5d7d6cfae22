#include "bench/heap_counter.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace powercut::bench {
namespace {

std::atomic<uint64_t> live{0};
std::atomic<uint64_t> peak{0};
std::atomic<uint64_t> base{0};

void* Allocate(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  const uint64_t now = live.fetch_add(malloc_usable_size(p), std::memory_order_relaxed) +
                       malloc_usable_size(p);
  uint64_t seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  return p;
}

void Free(void* p) {
  if (p == nullptr) return;
  live.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}

}  // namespace

void ResetHeapPeak() {
  const uint64_t now = live.load(std::memory_order_relaxed);
  base.store(now, std::memory_order_relaxed);
  peak.store(now, std::memory_order_relaxed);
}

uint64_t HeapPeakSinceReset() {
  return peak.load(std::memory_order_relaxed) - base.load(std::memory_order_relaxed);
}

}  // namespace powercut::bench

void* operator new(std::size_t bytes) { return powercut::bench::Allocate(bytes); }
void* operator new[](std::size_t bytes) { return powercut::bench::Allocate(bytes); }
void operator delete(void* p) noexcept { powercut::bench::Free(p); }
void operator delete[](void* p) noexcept { powercut::bench::Free(p); }
void operator delete(void* p, std::size_t) noexcept { powercut::bench::Free(p); }
void operator delete[](void* p, std::size_t) noexcept { powercut::bench::Free(p); }
