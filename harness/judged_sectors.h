// JudgedSectors: which sectors of a recovered logical device a crash check reads back
// and judges, so that its cost follows what the run wrote, not the device size.
//
// Why judging these settles the whole device: the oracle allows exactly zeroes in a
// sector that no write or discard touched. A recovered device's DataRanges
// (engine/io/block_device.h) cover every sector that may read as anything but zeroes.
// So a sector outside both the touched ranges and the data ranges reads as zeroes and
// passes; judging the union gives the verdict a read of every sector would.
//
// That argument trusts the engine's DataRanges. What it would miss (an engine that
// serves data where it says there is none) is looked for in a seeded sample of the
// other sectors: the device's first and last (readable) sectors, the sectors on both sides of the
// 2^32 boundary, the sector before and the one after every touched range, and
// kUniformSamples sectors drawn uniformly.
//
// Deterministic: the same inputs and PRNG state give the same ranges.
#ifndef POWERCUT_HARNESS_JUDGED_SECTORS_H_
#define POWERCUT_HARNESS_JUDGED_SECTORS_H_

#include <cstdint>
#include <vector>

#include "engine/io/sector_range.h"
#include "sim/prng.h"

namespace powercut::verifier {

inline constexpr uint32_t kUniformSamples = 64;

// `touched` and `data` sorted and disjoint (io::Unite); the result is too, every range
// widened to whole blocks of `block_sectors` (a device's smallest IO), and a partial
// block at the device's end (which no IO can read) left out.
std::vector<io::SectorRange> JudgedSectors(const std::vector<io::SectorRange>& touched,
                                           const std::vector<io::SectorRange>& data,
                                           uint64_t device_sectors, uint32_t block_sectors,
                                           sim::Prng& prng);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_JUDGED_SECTORS_H_
