#include "engine/io/sector_range.h"

#include <algorithm>

namespace powercut::io {

std::vector<SectorRange> Unite(std::vector<SectorRange> ranges) {
  std::erase_if(ranges, [](const SectorRange& r) { return r.count == 0; });
  std::sort(ranges.begin(), ranges.end(), [](const SectorRange& a, const SectorRange& b) {
    return a.first < b.first;
  });
  std::vector<SectorRange> united;
  for (const SectorRange& r : ranges) {
    if (!united.empty() && r.first <= united.back().end()) {
      united.back().count = std::max(united.back().end(), r.end()) - united.back().first;
    } else {
      united.push_back(r);
    }
  }
  return united;
}

std::vector<SectorRange> Clip(const std::vector<SectorRange>& ranges, uint64_t first,
                              uint64_t count, uint64_t shift) {
  const uint64_t end = first + count;
  std::vector<SectorRange> clipped;
  auto it = std::lower_bound(ranges.begin(), ranges.end(), first,
                             [](const SectorRange& r, uint64_t at) { return r.end() <= at; });
  for (; it != ranges.end() && it->first < end; ++it) {
    const uint64_t from = std::max(it->first, first);
    const uint64_t to = std::min(it->end(), end);
    clipped.push_back({from + shift, to - from});
  }
  return clipped;
}

uint64_t CountSectors(const std::vector<SectorRange>& ranges) {
  uint64_t n = 0;
  for (const SectorRange& r : ranges) n += r.count;
  return n;
}

}  // namespace powercut::io
