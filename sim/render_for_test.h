// RenderSectors (tests only): the first sectors of a DiskImage as a string, one
// character per sector, so a test can state a whole expected image in one literal:
// '.' for a sector that reads as zero, otherwise `base` plus the sector's first byte.
//
// Threading: any; reads the image only.
#ifndef POWERCUT_SIM_RENDER_FOR_TEST_H_
#define POWERCUT_SIM_RENDER_FOR_TEST_H_

#include <cstdint>
#include <string>

#include "sim/disk_image.h"

namespace powercut::sim {

inline std::string RenderSectors(const DiskImage& image, uint64_t n, char base) {
  std::string out;
  for (uint64_t s = 0; s < n; ++s) {
    const SectorBytes* bytes = image.Get(s);
    out += bytes == nullptr ? '.' : static_cast<char>(base + static_cast<int>((*bytes)[0]));
  }
  return out;
}

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_RENDER_FOR_TEST_H_
