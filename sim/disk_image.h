// DiskImage: the contents of a simulated disk, stored sparsely as extents.
//
// Sectors never written read as zeroes. Sector data is immutable and shared: a write's
// sectors are one allocation (CopySectors), and an image holds it as one extent (first
// sector, length, reference to the first sector's bytes; the rest follow contiguously).
// Copying an image or keeping many crash images costs one reference per extent, not
// bytes. Storing over part of an extent splits it: the pieces keep referencing the
// same allocation. Iteration is in sector order, so hashes and comparisons are
// deterministic and do not depend on how the extents happen to be cut.
//
// Threading: not thread-safe; value type. Shared sector data is reference counted
// atomically, so images on different threads may share it.
#ifndef POWERCUT_SIM_DISK_IMAGE_H_
#define POWERCUT_SIM_DISK_IMAGE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/io/block_device.h"

namespace powercut::sim {

using SectorBytes = std::array<std::byte, io::kSectorSize>;
// One sector's bytes; when it comes from CopySectors, the following sectors of the same
// copy sit right after it (ref.get() + i), kept alive by the same reference.
using SectorRef = std::shared_ptr<const SectorBytes>;

// Copies `data` (a multiple of 512 bytes) into one new allocation and returns a
// reference to its first sector.
SectorRef CopySectors(std::span<const std::byte> data);
// CopySectors, then one reference per sector into that one allocation.
std::vector<SectorRef> SplitIntoSectors(std::span<const std::byte> data);
// The shared all-zero sector (what a discard leaves behind).
const SectorRef& ZeroSector();
bool IsZero(const SectorBytes& bytes);

class DiskImage {
 public:
  explicit DiskImage(uint64_t sector_count = 0) : sector_count_(sector_count) {}

  uint64_t sector_count() const { return sector_count_; }
  // Stores `data` at `sector` (ZeroSector() erases). `sector` must be in range.
  void Put(uint64_t sector, SectorRef data);
  // Stores sectors [first, first + sectors) from `data`, the first of `sectors`
  // contiguous sectors of one allocation (see SectorRef). One extent.
  void PutExtent(uint64_t first, uint64_t sectors, SectorRef data);
  // Makes sectors [first, first + sectors) read as zero again (nothing stored).
  void Erase(uint64_t first, uint64_t sectors);
  // Put(first + i, pieces[i]) for each i, skipping nullptr pieces; pieces contiguous in
  // one allocation (as SplitIntoSectors returns them) become one extent.
  void PutRun(uint64_t first, std::span<const SectorRef> pieces);
  // The stored bytes, or nullptr for a sector that reads as zero.
  const SectorBytes* Get(uint64_t sector) const;
  // Copies out.size()/512 sectors starting at `sector`.
  void Read(uint64_t sector, std::span<std::byte> out) const;
  // Visits [sector, sector + sectors) without copying, in order, as runs:
  // visit(uint64_t first, uint64_t count, const SectorBytes* data), where data points at
  // `count` contiguous sectors, or is nullptr for a run that reads as zero. Every run has
  // count >= 1; an empty range visits nothing.
  template <typename Visitor>
  void ForEachRun(uint64_t sector, uint64_t sectors, Visitor&& visit) const {
    if (sectors == 0) return;
    const uint64_t end = sector + sectors;
    auto it = extents_.upper_bound(sector);
    if (it != extents_.begin() && std::prev(it)->first + std::prev(it)->second.sectors > sector) {
      --it;
    }
    uint64_t at = sector;  // first sector not visited yet
    for (; it != extents_.end() && it->first < end; ++it) {
      if (it->first > at) visit(at, it->first - at, static_cast<const SectorBytes*>(nullptr));
      at = std::max(at, it->first);
      const uint64_t extent_end = std::min(end, it->first + it->second.sectors);
      visit(at, extent_end - at, it->second.data.get() + (at - it->first));
      at = extent_end;
    }
    if (at < end) visit(at, end - at, static_cast<const SectorBytes*>(nullptr));
  }

  // The parts of [first, first + count) that hold stored sectors (the rest reads as
  // zero), sorted, disjoint, adjacent extents merged. Costs the extents in the range.
  std::vector<io::SectorRange> StoredRanges(uint64_t first, uint64_t count) const;

  // Content hash over non-zero sectors (equal content -> equal hash).
  uint64_t Hash() const;
  bool SameContent(const DiskImage& other) const;
  // The first sector of [first, first + sectors) that reads differently in the two
  // images, if any; costs the sectors either image stores there, not the range.
  std::optional<uint64_t> FirstDifference(const DiskImage& other, uint64_t first,
                                          uint64_t sectors) const;
  bool SameContent(const DiskImage& other, uint64_t first, uint64_t sectors) const {
    return !FirstDifference(other, first, sectors);
  }
  size_t stored_sectors() const { return stored_sectors_; }
  size_t extents() const { return extents_.size(); }

  template <typename Visitor>  // Visitor(uint64_t sector, const SectorBytes&)
  void ForEachStored(Visitor&& visit) const {
    for (const auto& [first, extent] : extents_) {
      for (uint64_t i = 0; i < extent.sectors; ++i) visit(first + i, extent.data.get()[i]);
    }
  }

 private:
  struct Extent {
    uint64_t sectors;
    SectorRef data;  // first sector; the others follow it in the same allocation
  };
  using Map = absl::btree_map<uint64_t, Extent>;  // by first sector; extents are disjoint

  void CheckRange(uint64_t first, uint64_t sectors, const char* what) const;
  // Removes [first, end) from the map, cutting extents that straddle either bound;
  // returns the first extent at or after `end` (the insertion hint for `first`).
  Map::iterator Carve(uint64_t first, uint64_t end);

  uint64_t sector_count_;
  uint64_t stored_sectors_ = 0;
  Map extents_;
};

// Hash of one sector's bytes (FNV-1a over 64-bit words).
uint64_t HashSector(const SectorBytes& bytes);

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_DISK_IMAGE_H_
