// HeapCounter: live and peak bytes of the bench process's heap, for memory figures.
//
// The bench binary replaces the global operator new and delete (heap_counter.cc) to
// count the bytes every allocation asks for (its usable size, as malloc reports it).
// ResetPeak() starts a measurement at the live figure; PeakSinceReset() is the most
// that was live since, minus what was live at the reset. Counts C++ allocations only
// (not malloc called directly by a library). Thread-safe (relaxed atomics).
#ifndef POWERCUT_BENCH_HEAP_COUNTER_H_
#define POWERCUT_BENCH_HEAP_COUNTER_H_

#include <cstdint>

namespace powercut::bench {

void ResetHeapPeak();
uint64_t HeapPeakSinceReset();

}  // namespace powercut::bench

#endif  // POWERCUT_BENCH_HEAP_COUNTER_H_
