// DiskImage: the contents of a simulated disk, stored sparsely.
//
// Sectors never written read as zeroes. Sector data is immutable and shared
// (SectorRef), so copying an image or keeping many crash images costs pointers, not
// bytes: a write's sectors are one allocation, referenced by every image holding them.
// Iteration is in sector order, so hashes and comparisons are deterministic.
//
// Threading: not thread-safe; value type.
#ifndef POWERCUT_SIM_DISK_IMAGE_H_
#define POWERCUT_SIM_DISK_IMAGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/io/block_device.h"

namespace powercut::sim {

using SectorBytes = std::array<std::byte, io::kSectorSize>;
using SectorRef = std::shared_ptr<const SectorBytes>;

// Copies `data` (a multiple of 512 bytes) into one shared allocation and returns a
// reference per sector.
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
  // Put(first + i, pieces[i]) for each i, skipping nullptr pieces; one tree descent for
  // the whole run instead of one per sector.
  void PutRun(uint64_t first, std::span<const SectorRef> pieces);
  // Put() for each (sector, data), sectors strictly ascending; hinted inserts.
  void PutSorted(std::span<const std::pair<uint64_t, SectorRef>> entries);
  // The stored bytes, or nullptr for a sector that reads as zero.
  const SectorBytes* Get(uint64_t sector) const;
  // Copies out.size()/512 sectors starting at `sector`.
  void Read(uint64_t sector, std::span<std::byte> out) const;

  // Content hash over non-zero sectors (equal content -> equal hash).
  uint64_t Hash() const;
  bool SameContent(const DiskImage& other) const;
  size_t stored_sectors() const { return sectors_.size(); }

  template <typename Visitor>  // Visitor(uint64_t sector, const SectorBytes&)
  void ForEachStored(Visitor&& visit) const {
    for (const auto& [sector, data] : sectors_) visit(sector, *data);
  }

 private:
  uint64_t sector_count_;
  absl::btree_map<uint64_t, SectorRef> sectors_;
};

// Hash of one sector's bytes (FNV-1a over 64-bit words).
uint64_t HashSector(const SectorBytes& bytes);

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_DISK_IMAGE_H_
