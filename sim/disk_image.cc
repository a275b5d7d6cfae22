#include "sim/disk_image.h"

#include <algorithm>
#include <array>
#include <new>
#include <cstring>
#include <stdexcept>

#include "sim/prng.h"

namespace powercut::sim {
namespace {

// True when `next` is the sector right after `previous` in the same allocation.
bool Continues(const SectorRef& previous, const SectorRef& next) {
  return next.get() == previous.get() + 1 && !previous.owner_before(next) &&
         !next.owner_before(previous);
}

// Recycles the memory of freed sector copies. Under a steady write load every write
// frees the copy an earlier write left far behind, whose memory is cold; through malloc
// that costs several cache misses in its bins per write. Here a freed block goes on a
// per-thread LIFO list for its size class (512-byte steps, up to kMaxRecycledBytes) and
// the next copy of that class reuses it, while at most kMaxCachedBytes are held back.
// Which block is reused never affects what a simulation does: only addresses change.
class BlockRecycler {
 public:
  static constexpr size_t kStep = 512;
  static constexpr size_t kMaxRecycledBytes = 64 * 1024 + kStep;
  static constexpr size_t kMaxCachedBytes = 1 << 20;

  ~BlockRecycler() {
    for (void*& head : heads_) {
      while (head != nullptr) {
        void* next = *static_cast<void**>(head);
        ::operator delete(head);
        head = next;
      }
    }
    gone = true;
  }

  static void* Take(size_t bytes) {
    if (bytes > kMaxRecycledBytes || gone) return ::operator new(bytes);
    BlockRecycler& self = Local();
    const size_t size_class = (bytes + kStep - 1) / kStep;
    void*& head = self.heads_[size_class];
    if (head == nullptr) return ::operator new(size_class * kStep);
    void* block = head;
    head = *static_cast<void**>(block);
    self.cached_bytes_ -= size_class * kStep;
    return block;
  }

  static void Give(void* block, size_t bytes) {
    if (bytes > kMaxRecycledBytes || gone) return ::operator delete(block);
    BlockRecycler& self = Local();
    const size_t size_class = (bytes + kStep - 1) / kStep;
    if (self.cached_bytes_ + size_class * kStep > kMaxCachedBytes) return ::operator delete(block);
    *static_cast<void**>(block) = self.heads_[size_class];
    self.heads_[size_class] = block;
    self.cached_bytes_ += size_class * kStep;
  }

 private:
  static BlockRecycler& Local() {
    thread_local BlockRecycler recycler;
    return recycler;
  }

  // Set once this thread's recycler is destroyed: later frees go straight to the heap.
  static thread_local inline constinit bool gone = false;
  std::array<void*, kMaxRecycledBytes / kStep + 2> heads_{};
  size_t cached_bytes_ = 0;
};

template <typename T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() = default;
  template <typename U>
  RecyclingAllocator(const RecyclingAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(BlockRecycler::Take(n * sizeof(T))); }
  void deallocate(T* block, size_t n) { BlockRecycler::Give(block, n * sizeof(T)); }
  friend bool operator==(const RecyclingAllocator&, const RecyclingAllocator&) { return true; }
};

}  // namespace

SectorRef CopySectors(std::span<const std::byte> data) {
  const size_t count = data.size() / io::kSectorSize;
  std::shared_ptr<SectorBytes[]> block =
      std::allocate_shared_for_overwrite<SectorBytes[]>(RecyclingAllocator<SectorBytes>(), count);
  SectorBytes* first = block.get();
  std::memcpy(first, data.data(), count * io::kSectorSize);
  return SectorRef(std::move(block), first);
}

std::vector<SectorRef> SplitIntoSectors(std::span<const std::byte> data) {
  const SectorRef first = CopySectors(data);
  const size_t count = data.size() / io::kSectorSize;
  std::vector<SectorRef> sectors;
  sectors.reserve(count);
  for (size_t i = 0; i < count; ++i) sectors.emplace_back(first, first.get() + i);  // aliasing
  return sectors;
}

const SectorRef& ZeroSector() {
  static const SectorRef zero = std::make_shared<const SectorBytes>();
  return zero;
}

bool IsZero(const SectorBytes& bytes) {
  // Eight bytes at a time (a byte loop was a third of a raid1 campaign's time).
  uint64_t any = 0;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    any |= word;
  }
  return any == 0;
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

void DiskImage::CheckRange(uint64_t first, uint64_t sectors, const char* what) const {
  if (first > sector_count_ || sectors > sector_count_ - first) throw std::out_of_range(what);
}

DiskImage::Map::iterator DiskImage::Carve(uint64_t first, uint64_t end) {
  auto it = extents_.lower_bound(first);
  if (it != extents_.begin()) {
    auto prev = std::prev(it);
    const uint64_t prev_end = prev->first + prev->second.sectors;
    if (prev_end > first) {
      stored_sectors_ -= std::min(prev_end, end) - first;
      prev->second.sectors = first - prev->first;  // > 0: prev starts before `first`
      if (prev_end > end) {  // [first, end) lies inside prev: its tail stays
        const SectorBytes* tail = prev->second.data.get() + (end - prev->first);
        Extent rest{prev_end - end, SectorRef(prev->second.data, tail)};
        return extents_.emplace_hint(it, end, std::move(rest));
      }
    }
  }
  while (it != extents_.end() && it->first < end) {
    const uint64_t it_end = it->first + it->second.sectors;
    if (it_end <= end) {
      stored_sectors_ -= it->second.sectors;
      it = extents_.erase(it);
      continue;
    }
    const uint64_t cut = end - it->first;
    const SectorBytes* tail = it->second.data.get() + cut;
    Extent rest{it_end - end, SectorRef(std::move(it->second.data), tail)};
    stored_sectors_ -= cut;
    it = extents_.erase(it);
    return extents_.emplace_hint(it, end, std::move(rest));
  }
  return it;
}

void DiskImage::PutExtent(uint64_t first, uint64_t sectors, SectorRef data) {
  CheckRange(first, sectors, "DiskImage::PutExtent beyond the end");
  if (sectors == 0) return;
  auto it = extents_.lower_bound(first);
  if (it != extents_.end() && it->first == first && it->second.sectors == sectors) {
    it->second.data = std::move(data);  // exactly over an earlier extent: the common case
    return;
  }
  it = Carve(first, first + sectors);
  extents_.emplace_hint(it, first, Extent{sectors, std::move(data)});
  stored_sectors_ += sectors;
}

void DiskImage::Erase(uint64_t first, uint64_t sectors) {
  CheckRange(first, sectors, "DiskImage::Erase beyond the end");
  if (sectors != 0) Carve(first, first + sectors);
}

void DiskImage::Put(uint64_t sector, SectorRef data) {
  CheckRange(sector, 1, "DiskImage::Put beyond the end");
  if (data == ZeroSector()) {
    Erase(sector, 1);
  } else {
    PutExtent(sector, 1, std::move(data));
  }
}

void DiskImage::PutRun(uint64_t first, std::span<const SectorRef> pieces) {
  CheckRange(first, pieces.size(), "DiskImage::PutRun beyond the end");
  const SectorRef& zero = ZeroSector();
  for (size_t begin = 0; begin < pieces.size();) {
    const SectorRef& head = pieces[begin];
    size_t end = begin + 1;
    if (head == nullptr) {
      begin = end;
      continue;
    }
    if (head == zero) {
      while (end < pieces.size() && pieces[end] == zero) ++end;
      Erase(first + begin, end - begin);
    } else {
      while (end < pieces.size() && pieces[end] != nullptr && Continues(pieces[end - 1], pieces[end])) {
        ++end;
      }
      PutExtent(first + begin, end - begin, head);
    }
    begin = end;
  }
}

const SectorBytes* DiskImage::Get(uint64_t sector) const {
  auto it = extents_.upper_bound(sector);
  if (it == extents_.begin()) return nullptr;
  --it;
  const uint64_t offset = sector - it->first;
  return offset < it->second.sectors ? it->second.data.get() + offset : nullptr;
}

void DiskImage::Read(uint64_t sector, std::span<std::byte> out) const {
  ForEachRun(sector, out.size() / io::kSectorSize,
             [&](uint64_t first, uint64_t count, const SectorBytes* data) {
               std::byte* dest = out.data() + (first - sector) * io::kSectorSize;
               if (data == nullptr) {
                 std::memset(dest, 0, count * io::kSectorSize);
               } else {
                 std::memcpy(dest, data, count * io::kSectorSize);
               }
             });
}

uint64_t DiskImage::Hash() const {
  uint64_t hash = Mix64(sector_count_);
  ForEachStored([&](uint64_t sector, const SectorBytes& data) {
    if (!IsZero(data)) hash = Mix64(hash ^ Mix64(sector) ^ HashSector(data));
  });
  return hash;
}

bool DiskImage::SameContent(const DiskImage& other) const {
  if (sector_count_ != other.sector_count_) return false;
  auto nonzero_subset = [](const DiskImage& a, const DiskImage& b) {
    bool same = true;
    a.ForEachStored([&](uint64_t sector, const SectorBytes& data) {
      if (!same || IsZero(data)) return;
      const SectorBytes* theirs = b.Get(sector);
      same = theirs != nullptr && std::memcmp(theirs->data(), data.data(), data.size()) == 0;
    });
    return same;
  };
  return nonzero_subset(*this, other) && nonzero_subset(other, *this);
}

std::optional<uint64_t> DiskImage::FirstDifference(const DiskImage& other, uint64_t first,
                                                    uint64_t sectors) const {
  CheckRange(first, sectors, "FirstDifference");
  other.CheckRange(first, sectors, "FirstDifference");
  // One pass over both images' extents in sector order, stopping at the first sector
  // that reads differently: it costs the extents and stored sectors before that sector,
  // so a caller walking the differences one by one pays for each once. Sectors neither
  // image stores are zero in both.
  const uint64_t end = first + sectors;
  struct Cursor {
    const Map& extents;
    Map::const_iterator it;
    // Past the extents that end at or before `at`.
    void SkipTo(uint64_t at) {
      while (it != extents.end() && it->first + it->second.sectors <= at) ++it;
    }
    // The sector's bytes if this image stores it, else nullptr.
    const SectorBytes* At(uint64_t at) const {
      return it != extents.end() && it->first <= at ? it->second.data.get() + (at - it->first) : nullptr;
    }
    // Where this image changes from storing to not storing `at`'s run (or back).
    uint64_t NextChange(uint64_t at, uint64_t limit) const {
      if (it == extents.end()) return limit;
      return std::min(limit, it->first <= at ? it->first + it->second.sectors : it->first);
    }
  };
  auto cursor = [first](const DiskImage& image) {
    auto it = image.extents_.upper_bound(first);
    if (it != image.extents_.begin() && std::prev(it)->first + std::prev(it)->second.sectors > first) --it;
    return Cursor{image.extents_, it};
  };
  Cursor a = cursor(*this);
  Cursor b = cursor(other);
  for (uint64_t at = first; at < end;) {
    a.SkipTo(at);
    b.SkipTo(at);
    const uint64_t run_end = std::min(a.NextChange(at, end), b.NextChange(at, end));
    const SectorBytes* mine = a.At(at);
    const SectorBytes* theirs = b.At(at);
    // Images that share sectors (copies of one another) share their bytes: equal.
    if (mine == theirs) {
      // Both store nothing, or the same bytes.
    } else if (mine != nullptr && theirs != nullptr) {
      // One memcmp over the run (a run's sectors are contiguous in both images; an
      // element-wise compare of std::byte arrays is a byte loop), then the sector.
      const uint64_t n = run_end - at;
      if (std::memcmp(mine, theirs, n * sizeof(SectorBytes)) != 0) {
        for (uint64_t i = 0; i < n; ++i) {
          if (std::memcmp(&mine[i], &theirs[i], sizeof(SectorBytes)) != 0) return at + i;
        }
      }
    } else {
      const SectorBytes* stored = mine != nullptr ? mine : theirs;
      for (uint64_t i = 0; i < run_end - at; ++i) {
        if (!IsZero(stored[i])) return at + i;
      }
    }
    at = run_end;
  }
  return std::nullopt;
}

std::vector<io::SectorRange> DiskImage::StoredRanges(uint64_t first, uint64_t count) const {
  std::vector<io::SectorRange> ranges;
  ForEachRun(first, count, [&](uint64_t at, uint64_t n, const SectorBytes* data) {
    if (data == nullptr) return;
    if (!ranges.empty() && ranges.back().end() == at) {
      ranges.back().count += n;
    } else {
      ranges.push_back({at, n});
    }
  });
  return ranges;
}

}  // namespace powercut::sim
