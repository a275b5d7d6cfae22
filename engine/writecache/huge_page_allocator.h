// HugePageAllocator: an allocator for the engine's big per-block arrays (the entry
// array of a million-block cache is 56 MB). Faulting such an array in 4 KiB pages is
// most of what recovery of a big cache costs; arrays of 2 MiB or more are therefore
// aligned to 2 MiB and advised as transparent huge pages (MADV_HUGEPAGE, Linux; a mere
// hint: without it, or where the kernel declines, they are ordinary memory). Smaller
// arrays come from operator new. Stateless: every instance is interchangeable.
//
//   std::vector<Entry, HugePageAllocator<Entry>> entries;
#ifndef POWERCUT_ENGINE_WRITECACHE_HUGE_PAGE_ALLOCATOR_H_
#define POWERCUT_ENGINE_WRITECACHE_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace powercut::writecache {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding converts

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* memory = std::aligned_alloc(kHugePage, rounded);
    if (memory == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(memory, rounded, MADV_HUGEPAGE);  // a hint; failure changes nothing
#endif
    return static_cast<T*>(memory);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(p);
    } else {
      std::free(p);
    }
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
};

}  // namespace powercut::writecache

#endif  // POWERCUT_ENGINE_WRITECACHE_HUGE_PAGE_ALLOCATOR_H_
