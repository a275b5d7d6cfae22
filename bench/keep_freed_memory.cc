// Keeps memory the benchmarks free inside the process (glibc only).
//
// Several benchmarks build a world, fill it (one lap of a 64 MiB region holds 64 MiB
// of unflushed copies) and drop it untimed between iterations. By default glibc hands
// a large free block at the top of the heap back to the kernel, so the next iteration
// takes page faults on every fresh 4 KiB copy inside its timed region: the figure then
// measures the kernel's fault path and, worse, swings by 15x with where unrelated
// allocations happen to sit (seen after the world's event queue shrank). Raising the
// trim threshold keeps freed memory for reuse; it changes no simulated result.
#include <malloc.h>

namespace powercut::bench {
namespace {

const bool kKeepFreedMemory = [] {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

}  // namespace
}  // namespace powercut::bench
