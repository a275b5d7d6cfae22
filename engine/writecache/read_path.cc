// The read path (the kernel's writecache_map_read), both modes.
//
// Each piece is mapped under the engine lock: a block whose newest entry is cached is
// read from its cache block, one block per piece (SSD mode: an uncommitted block waits
// for every in-flight data write first, so the read sees the data its entry stands
// for; pmem mode: copied from the persistent memory under the lock); anything
// else is read from the origin, trimmed at the next cached block. Blocks under
// writeback are still read from the cache. Reads from cache blocks are counted in
// bio_in_progress_[kRead] (SSD mode; a pmem read completes under the lock), so a block
// is never reused while a read of it is in flight (W3: writeback completion and
// discard wait for them).
//
// Reads work in the error state. Nothing here changes what is durable.
//
// DataRanges follows the same map: a block with an entry in the tree may be read from
// the cache, any other sector from the origin.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::RunRead(uint64_t sector, std::span<std::byte> buffer, Tracker tracker) {
  Admit(tracker);
  const uint64_t total = buffer.size() / io::kSectorSize;
  if (!Aligned(sector, total)) {
    return tracker->Finish(absl::InvalidArgumentError(
        absl::StrCat("writecache: I/O is not aligned, sector ", sector, ", size ",
                     buffer.size(), ", block size ", geometry_.block_size)));
  }
  uint64_t done = 0;
  while (done < total) {
    lock_.Lock();
    const Mapping m = MapRead(sector + done, total - done);
    const auto piece = buffer.subspan(done * io::kSectorSize, m.sectors * io::kSectorSize);
    if (m.op == MapOp::kRemapCache && PmemMode()) {
      PmemReadBlock(m.cache_sector, piece);
    } else if (m.op == MapOp::kRemapCache) {
      SubmitToCache(kRead, m.cache_sector, piece, {}, io::kNoFlags, tracker);
    } else {
      SubmitToOrigin(kRead, sector + done, piece, {}, io::kNoFlags, tracker);
    }
    lock_.Unlock();
    done += m.sectors;
  }
  tracker->Finish(absl::OkStatus());
}

WriteCache::Mapping WriteCache::MapRead(uint64_t sector, uint64_t sectors) {
  const uint64_t bs = BlockSectors();
  ++stats_.reads;
  const uint32_t e = tree_.FindFollowing(sector, /*lowest=*/false);
  if (e != kNoEntry && entries_[e].original_sector == sector) {
    ++stats_.read_hits;
    // The data write of an uncommitted entry may still be in flight.
    if (!PmemMode() && !IsCommitted(e)) WaitForIos(kWrite);
    return Mapping{MapOp::kRemapCache, bs, CacheSector(e), {}};
  }
  const uint64_t piece = TrimAtNextCached(sector, sectors);
  stats_.reads += piece / bs - 1;
  return Mapping{MapOp::kRemapOrigin, piece, 0, {}};
}

std::vector<io::SectorRange> WriteCache::DataRanges(uint64_t first, uint64_t count) const {
  std::vector<io::SectorRange> ranges = origin_.DataRanges(first, count);
  const uint64_t end = first + count;
  const uint64_t bs = BlockSectors();
  for (uint32_t e = tree_.FindFollowing(first / bs * bs, /*lowest=*/true);
       e != kNoEntry && entries_[e].original_sector < end; e = tree_.Next(e)) {
    const uint64_t block = entries_[e].original_sector;
    const uint64_t from = std::max(block, first);
    ranges.push_back({from, std::min(block + bs, end) - from});
  }
  return io::Unite(std::move(ranges));
}

}  // namespace powercut::writecache
