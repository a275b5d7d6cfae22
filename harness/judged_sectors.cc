#include "harness/judged_sectors.h"

#include <algorithm>

namespace powercut::verifier {

std::vector<io::SectorRange> JudgedSectors(const std::vector<io::SectorRange>& touched,
                                           const std::vector<io::SectorRange>& data,
                                           uint64_t device_sectors, uint32_t block_sectors,
                                           sim::Prng& prng) {
  // Whole blocks; a partial block at the end cannot be read at all.
  const uint64_t block = std::max<uint32_t>(block_sectors, 1);
  const uint64_t readable = device_sectors / block * block;
  if (readable == 0) return {};
  std::vector<io::SectorRange> judged = touched;
  judged.insert(judged.end(), data.begin(), data.end());
  auto sample = [&](uint64_t sector) {
    if (sector < device_sectors) judged.push_back({sector, 1});
  };
  sample(0);
  sample(readable - 1);
  constexpr uint64_t k2To32 = uint64_t{1} << 32;
  sample(k2To32 - 1);
  sample(k2To32);
  for (const io::SectorRange& r : touched) {
    if (r.first > 0) sample(r.first - 1);
    sample(r.end());
  }
  for (uint32_t i = 0; i < kUniformSamples; ++i) sample(prng.Uniform(device_sectors));
  for (io::SectorRange& r : judged) {
    const uint64_t first = std::min(r.first / block * block, readable);
    const uint64_t end = std::min(readable, (r.end() + block - 1) / block * block);
    r = {first, end - first};
  }
  return io::Unite(std::move(judged));
}

}  // namespace powercut::verifier
