#include "sim/disk_image.h"

#include <cstring>
#include <stdexcept>

#include "sim/prng.h"

namespace powercut::sim {

std::vector<SectorRef> SplitIntoSectors(std::span<const std::byte> data) {
  const size_t count = data.size() / io::kSectorSize;
  std::shared_ptr<SectorBytes[]> block(new SectorBytes[count]);
  std::memcpy(block.get(), data.data(), count * io::kSectorSize);
  std::vector<SectorRef> sectors;
  sectors.reserve(count);
  for (size_t i = 0; i < count; ++i) sectors.emplace_back(block, &block[i]);  // aliasing
  return sectors;
}

const SectorRef& ZeroSector() {
  static const SectorRef zero = std::make_shared<const SectorBytes>();
  return zero;
}

bool IsZero(const SectorBytes& bytes) {
  for (std::byte b : bytes) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

uint64_t HashSector(const SectorBytes& bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  return Mix64(hash);
}

void DiskImage::Put(uint64_t sector, SectorRef data) {
  if (sector >= sector_count_) throw std::out_of_range("DiskImage::Put beyond the end");
  if (data == ZeroSector()) {
    sectors_.erase(sector);
  } else {
    sectors_.insert_or_assign(sector, std::move(data));
  }
}

void DiskImage::PutRun(uint64_t first, std::span<const SectorRef> pieces) {
  if (first > sector_count_ || pieces.size() > sector_count_ - first) {
    throw std::out_of_range("DiskImage::PutRun beyond the end");
  }
  const SectorRef& zero = ZeroSector();
  auto it = sectors_.lower_bound(first);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const uint64_t sector = first + i;
    const SectorRef& piece = pieces[i];
    const bool here = it != sectors_.end() && it->first == sector;
    if (piece == nullptr) {
      if (here) ++it;
    } else if (piece == zero) {
      if (here) it = sectors_.erase(it);
    } else if (here) {
      it->second = piece;
      ++it;
    } else {
      it = std::next(sectors_.insert(it, {sector, piece}));
    }
  }
}

void DiskImage::PutSorted(std::span<const std::pair<uint64_t, SectorRef>> entries) {
  if (entries.empty()) return;
  if (entries.back().first >= sector_count_) {
    throw std::out_of_range("DiskImage::PutSorted beyond the end");
  }
  const SectorRef& zero = ZeroSector();
  auto it = sectors_.lower_bound(entries.front().first);
  for (const auto& [sector, piece] : entries) {
    while (it != sectors_.end() && it->first < sector) ++it;
    const bool here = it != sectors_.end() && it->first == sector;
    if (piece == zero) {
      if (here) it = sectors_.erase(it);
    } else if (here) {
      it->second = piece;
      ++it;
    } else {
      it = std::next(sectors_.insert(it, {sector, piece}));
    }
  }
}

const SectorBytes* DiskImage::Get(uint64_t sector) const {
  auto it = sectors_.find(sector);
  return it == sectors_.end() ? nullptr : it->second.get();
}

void DiskImage::Read(uint64_t sector, std::span<std::byte> out) const {
  const size_t count = out.size() / io::kSectorSize;
  for (size_t i = 0; i < count; ++i) {
    std::byte* dest = out.data() + i * io::kSectorSize;
    const SectorBytes* data = Get(sector + i);
    if (data == nullptr) {
      std::memset(dest, 0, io::kSectorSize);
    } else {
      std::memcpy(dest, data->data(), io::kSectorSize);
    }
  }
}

uint64_t DiskImage::Hash() const {
  uint64_t hash = Mix64(sector_count_);
  for (const auto& [sector, data] : sectors_) {
    if (IsZero(*data)) continue;
    hash = Mix64(hash ^ Mix64(sector) ^ HashSector(*data));
  }
  return hash;
}

bool DiskImage::SameContent(const DiskImage& other) const {
  if (sector_count_ != other.sector_count_) return false;
  auto nonzero_subset = [](const DiskImage& a, const DiskImage& b) {
    for (const auto& [sector, data] : a.sectors_) {
      if (IsZero(*data)) continue;
      const SectorBytes* theirs = b.Get(sector);
      if (theirs == nullptr || *theirs != *data) return false;
    }
    return true;
  };
  return nonzero_subset(*this, other) && nonzero_subset(other, *this);
}

}  // namespace powercut::sim
