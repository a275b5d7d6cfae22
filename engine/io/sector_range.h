// SectorRange: a run of consecutive sectors, and the union of many.
//
// The currency of DataRanges (block_device.h): which parts of a device may hold data.
// Value types; no IO.
#ifndef POWERCUT_ENGINE_IO_SECTOR_RANGE_H_
#define POWERCUT_ENGINE_IO_SECTOR_RANGE_H_

#include <cstdint>
#include <vector>

namespace powercut::io {

// Sectors [first, first + count).
struct SectorRange {
  uint64_t first = 0;
  uint64_t count = 0;

  uint64_t end() const { return first + count; }
  bool operator==(const SectorRange&) const = default;
};

// The union of `ranges`: sorted by first sector, overlapping and adjacent ranges
// merged, empty ones dropped.
std::vector<SectorRange> Unite(std::vector<SectorRange> ranges);

// `ranges` (sorted and disjoint, as Unite returns them) cut to [first, first + count),
// each shifted by `shift` (first sector `first` becomes `first + shift`; unsigned
// wrap-around makes a negative shift).
std::vector<SectorRange> Clip(const std::vector<SectorRange>& ranges, uint64_t first,
                              uint64_t count, uint64_t shift = 0);

// Sectors the ranges cover (disjoint ranges).
uint64_t CountSectors(const std::vector<SectorRange>& ranges);

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_SECTOR_RANGE_H_
