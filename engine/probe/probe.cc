#include "engine/probe/probe.h"

#include <algorithm>

namespace powercut::probe {
namespace internal {
uint64_t hits[kProbes] = {};
}  // namespace internal

namespace {

constexpr Info kCatalog[] = {
    {Id::kWcWriteAroundFullCache, "wc_write_around_full_cache",
     "writecache: a write found no free block and went straight to the origin"},
    {Id::kWcWriterWaitsForFreeBlock, "wc_writer_waits_for_free_block",
     "writecache: a write to a cached block (or in pmem mode) waited for a free block"},
    {Id::kWcDuplicateOfBlockUnderWriteback, "wc_duplicate_of_block_under_writeback",
     "writecache: a committed block being written back was overwritten (a newer duplicate)"},
    {Id::kWcOverwriteCommittedInPlace, "wc_overwrite_committed_in_place",
     "writecache: a committed block was overwritten in place (the next flush flushes it)"},
    {Id::kWcDuplicateResolvedAtRecovery, "wc_duplicate_resolved_at_recovery",
     "writecache: recovery met two committed entries of one block and kept the newer"},
    {Id::kWcAutocommitByTime, "wc_autocommit_by_time", "writecache: the autocommit timer committed"},
    {Id::kWcStickyError, "wc_sticky_error", "writecache: an IO error made the cache fail for good"},
    {Id::kRaid1MemberFailed, "raid1_member_failed", "raid1: a member was marked faulty"},
    {Id::kRaid1LastMirrorKept, "raid1_last_mirror_kept",
     "raid1: an IO failed on the last working mirror, which is never failed"},
    {Id::kRaid1WriteBehindLimitReached, "raid1_write_behind_limit_reached",
     "raid1: a write could have gone behind but the write-behind budget was used up"},
    {Id::kRaid1ResyncChunkAborted, "raid1_resync_chunk_aborted",
     "raid1: a chunk's resync copy failed and the chunk stays NEEDED"},
    {Id::kRaid1FullRecovery, "raid1_full_recovery",
     "raid1: a re-added member older than events_cleared is recovered in full"},
    {Id::kRaid1WriteReachedNoWorkingMirror, "raid1_write_reached_no_working_mirror",
     "raid1: a write ended well only on mirrors failed meanwhile, so it failed"},
    {Id::kRaid1StaleBitmapLoaded, "raid1_stale_bitmap_loaded",
     "raid1: a bitmap behind the array was loaded as stale (every bit set)"},
    {Id::kSimTornWriteInCrashImage, "sim_torn_write_in_crash_image",
     "sim: a crash image kept part of a multi-sector write and lost the rest"},
};
static_assert(std::size(kCatalog) == kProbes, "one catalog entry per probe");

}  // namespace

std::span<const Info> Catalog() { return kCatalog; }

ProbeCounts Counts() {
  ProbeCounts counts;
  std::copy(std::begin(internal::hits), std::end(internal::hits), counts.begin());
  return counts;
}

}  // namespace powercut::probe
