// pmem mode's access to the cache: the kernel's pmem_assign, memcpy_flushcache,
// pmem_wmb and plain loads, on a PersistentMemory.
//
// The cache area starts at start_sector * 512 bytes of the persistent memory and has
// the SSD layout (format.h): superblock, entries, then the data blocks. memory_ mirrors
// the metadata area in RAM (what the kernel's copy_mc reads give it); every change of
// an entry or of seq_count is made there and then stored to the persistent memory with
// a flushing store. What is durable when: a flushing store is durable once a later
// PmemFence() returns; nothing is durable before (a crash may keep any prefix of each
// 64-byte line's stores). The commit protocol (commit.cc) places the fences.
#include "engine/mutant/mutant.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::PmemStoreMetadata(uint64_t offset, uint64_t bytes) {
  pmem_->StoreFlushing(PmemOffset(offset), std::span<const std::byte>(memory_).subspan(offset, bytes));
}

void WriteCache::PmemWriteBlock(uint64_t cache_sector, std::span<const std::byte> data) {
  if (POWERCUT_MUTANT(kWcPmemDataNotFlushed)) {
    pmem_->Store(cache_sector * io::kSectorSize, data);  // the bug: never flushed
    return;
  }
  pmem_->StoreFlushing(cache_sector * io::kSectorSize, data);
}

void WriteCache::PmemReadBlock(uint64_t cache_sector, std::span<std::byte> out) const {
  pmem_->Load(cache_sector * io::kSectorSize, out);
}

void WriteCache::PmemFence() { pmem_->Fence(); }

}  // namespace powercut::writecache
