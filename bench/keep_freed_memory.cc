// Keeps memory the benchmarks free inside the process (glibc only).
//
// Several benchmarks build a world, fill it (one lap of a 64 MiB region holds 64 MiB
// of unflushed copies) and drop it untimed between iterations. By default glibc hands
// a large free block at the top of the heap back to the kernel, so the next iteration
// takes page faults on every fresh 4 KiB copy inside its timed region: the figure then
// measures the kernel's fault path and, worse, swings by 15x with where unrelated
// allocations happen to sit (seen after the world's event queue shrank). Raising the
// trim threshold keeps freed memory for reuse.
//
// Setting any threshold by hand switches off glibc's sliding mmap threshold, which would
// leave every block over 128 KiB (simulated device images, cache metadata) to its own
// mmap and munmap: the crash-check cycle ran 5x slower that way. So the mmap threshold
// is pinned at glibc's ceiling as well. Neither setting changes a simulated result.
#include <malloc.h>

namespace powercut::bench {
namespace {

constexpr int kMmapThresholdCeiling = 32 << 20;  // glibc's limit on 64-bit targets

const bool kKeepFreedMemory = [] {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdCeiling);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

}  // namespace
}  // namespace powercut::bench
