#include "engine/mutant/mutant.h"

namespace powercut::mutant {
namespace {

// One section per engine, in the order of mutant::Id.
constexpr Info kCatalog[] = {
    // engine/linear
    {Id::kLinearFlushDropped, "linear_flush_dropped", "linear",
     "a flush completes at once without reaching the device below",
     "a lying flush (devices that ignore cache flushes)"},
    {Id::kLinearFuaDropped, "linear_fua_dropped", "linear",
     "the FUA flag is stripped from writes, so they sit in the volatile cache",
     "FUA ignored by a stacking driver"},
    {Id::kLinearMisdirectedWrite, "linear_misdirected_write", "linear",
     "writes that start 8 sectors past a 16-sector boundary land 8 sectors early",
     "misdirected writes (firmware address bugs)"},
    // engine/writecache
    {Id::kWcFlushBeforeDataWait, "wc_flush_before_data_wait", "writecache",
     "the commit flushes the SSD before waiting for in-flight data writes",
     "kernel fix aa9509209c5a"},
    {Id::kWcSbNoFua, "wc_sb_no_fua", "writecache",
     "the superblock is written without FUA; a flush is acknowledged while the seq bump is volatile",
     "kernel fix dc8a01ae1dbd"},
    {Id::kWcOriginFlushDropped, "wc_origin_flush_dropped", "writecache",
     "a flush is not forwarded to the origin, so writes around the cache stay volatile",
     "kernel fix ee55b92a7391"},
    {Id::kWcSeqFromEntries, "wc_seq_from_entries", "writecache",
     "recovery derives the epoch from max(entry seq)+1 instead of the superblock",
     "a rejected 2019 patch"},
    {Id::kWcFreeWithoutCommit, "wc_free_without_commit", "writecache",
     "an older duplicate is freed, and its block reusable, before the free is durable",
     "pre-merge code"},
    {Id::kWcWritebackNoOriginFlush, "wc_writeback_no_origin_flush", "writecache",
     "entries are freed after writeback without flushing the origin",
     "endio ordering (W1)"},
    {Id::kWcLowerSeqWins, "wc_lower_seq_wins", "writecache",
     "recovery keeps the lower seq of two duplicates", "recovery rule"},
    {Id::kWcEntryNotMarkedDirty, "wc_entry_not_marked_dirty", "writecache",
     "a new entry's metadata region is not written before the superblock bump",
     "commit rule (E2)"},
    {Id::kWcOverwriteNoFlush, "wc_overwrite_no_flush", "writecache",
     "an in-place overwrite of a committed block is not made durable by the next flush",
     "kernel fix ee50cc19d80e"},
    {Id::kWcWritebackUncommitted, "wc_writeback_uncommitted", "writecache",
     "writeback copies an uncommitted entry without committing it first",
     "writeback rule: only committed entries are written back"},
    {Id::kWcReuseWhileReading, "wc_reuse_while_reading", "writecache",
     "writeback frees blocks without waiting for cache reads in flight",
     "completion ordering (W3)"},
    {Id::kWcExtendOverCached, "wc_extend_over_cached", "writecache",
     "a write extended over free blocks also takes sectors that are already cached, "
     "making same-seq duplicates", "the kernel's writecache_bio_copy_ssd (no lookup)"},
    {Id::kWcFlushIgnoresIdleOverwrite, "wc_flush_ignores_idle_overwrite", "writecache",
     "a flush with every entry under writeback skips the SSD flush that in-place overwrites "
     "of committed blocks need", "the kernel's writecache_flush (empty-LRU early return)"},
    {Id::kWcPmemFuaIgnored, "wc_pmem_fua_ignored", "writecache",
     "a pmem-mode FUA write is acknowledged without committing it", "kernel fix c1005322ff02"},
    {Id::kWcPmemCommitNoFence, "wc_pmem_commit_no_fence", "writecache",
     "a pmem-mode commit stores the new seq_count without the fence that makes the epoch's "
     "data and entries durable first", "commit rule (E1, E2: pmem_wmb before the seq bump)"},
    {Id::kWcPmemDataNotFlushed, "wc_pmem_data_not_flushed", "writecache",
     "pmem-mode data blocks are copied with plain stores, so the commit's fence does not cover "
     "them", "memcpy_flushcache in bio_copy_block (E1)"},
};

}  // namespace

std::span<const Info> Catalog() { return kCatalog; }

const Info* Find(std::string_view name) {
  for (const Info& info : kCatalog) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace powercut::mutant
