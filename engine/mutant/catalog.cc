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
    {Id::kWcCommitAfterError, "wc_commit_after_error", "writecache",
     "a commit whose metadata write or flush failed still writes the new superblock, committing "
     "entries the failed IO left stale (after a power cut, blocks map to the wrong sectors)",
     "the kernel's writecache_flush (no error check before ssd_commit_superblock)"},
    {Id::kWcRecoveryKeepsUncommitted, "wc_recovery_keeps_uncommitted", "writecache",
     "recovery frees the blocks of uncommitted entries without clearing their seq_count, so "
     "the next commit would make them committed", "recovery rule (the kernel clears them)"},
    {Id::kWcWritebackStopsAtHigh, "wc_writeback_stops_at_high", "writecache",
     "writeback stops once the cache is back under its high watermark instead of the low one, "
     "so a cache hovering at the high watermark never drains (safe, but slow and full)",
     "the writeback loop's stop condition (progress: P1)"},
    {Id::kWcSkippedWritebackNotRequeued, "wc_skipped_writeback_not_requeued", "writecache",
     "entries skipped because an older duplicate was under writeback are not written back "
     "when it completes, but only at the next trigger (with the cleaner on, maybe never)",
     "the kernel's writecache_writeback (no requeue after a skip; progress: P1, P2)"},
    {Id::kWcRecoveryCleanupNotFlushed, "wc_recovery_cleanup_not_flushed", "writecache",
     "recovery writes the cleaned metadata (older duplicates freed) without flushing it, so "
     "a freed block is reused while its durable entry still commits it: harmless until the "
     "run after the recovery reuses it (a second power cut)",
     "recovery rule (the kernel's writecache_resume commits the cleanup before any request)"},
    {Id::kWcPmemFuaIgnored, "wc_pmem_fua_ignored", "writecache",
     "a pmem-mode FUA write is acknowledged without committing it", "kernel fix c1005322ff02"},
    {Id::kWcPmemCommitNoFence, "wc_pmem_commit_no_fence", "writecache",
     "a pmem-mode commit stores the new seq_count without the fence that makes the epoch's "
     "data and entries durable first", "commit rule (E1, E2: pmem_wmb before the seq bump)"},
    {Id::kWcPmemDataNotFlushed, "wc_pmem_data_not_flushed", "writecache",
     "pmem-mode data blocks are copied with plain stores, so the commit's fence does not cover "
     "them", "memcpy_flushcache in bio_copy_block (E1)"},
    // engine/raid1
    {Id::kBmUnplugNoWait, "bm_unplug_no_wait", "raid1",
     "data writes are submitted before the bitmap page write completes", "kernel fix 85c9ccd4f026"},
    {Id::kBmFailedWriteClears, "bm_failed_write_clears", "raid1",
     "a write that failed on one mirror is ended as a success, so its bit decays",
     "kernel fix 2417b9869b81"},
    {Id::kBmClearWhileDegraded, "bm_clear_while_degraded", "raid1",
     "events_cleared is raised and bits are cleared while the array is degraded",
     "kernel fix d0a4bb492772"},
    {Id::kBmNeededDecays, "bm_needed_decays", "raid1",
     "the daemon decays counters by their COUNTER value only, so NEEDED chunks get cleared",
     "code review (I13)"},
    {Id::kBmMsbBitOrder, "bm_msb_bit_order", "raid1",
     "bits are stored MSB-first, disagreeing with the kernel and mdadm", "format (I14)"},
    {Id::kBmWritePastArea, "bm_write_past_area", "raid1",
     "the last bitmap page write is rounded up to 4 KiB, past the bitmap area",
     "kernel fix ab99a87542f1"},
    {Id::kBmUnplugFirstMemberOnly, "bm_unplug_first_member_only", "raid1",
     "unplug writes dirty bitmap pages to the first in-sync member only", "I2 (every member)"},
    {Id::kBmStartWriteNotDirty, "bm_startwrite_not_dirty", "raid1",
     "startwrite sets a bit without marking its page DIRTY, so unplug does not write it",
     "I2 (intent before data)"},
    {Id::kBmLoadIgnoresUnclean, "bm_load_ignores_unclean", "raid1",
     "assembly after an unclean shutdown trusts the set bits instead of resyncing them",
     "I8 (mirrors agree after resync)"},
    {Id::kRaid1AckBeforeFaultRecorded, "raid1_ack_before_fault_recorded", "raid1",
     "a write that failed on one mirror is acknowledged before the failure is durable",
     "I9 (md's Blocked rdev / MD_SB_CHANGE_PENDING)"},
    {Id::kRaid1DaemonNoFlush, "raid1_daemon_no_flush", "raid1",
     "the daemon writes cleared bits without flushing every member first",
     "I3 (clear after durable completion)"},
    {Id::kRaid1ResyncFromStale, "raid1_resync_from_stale", "raid1",
     "assembly trusts the first readable member, even a stale one, as the resync source",
     "I11 (re-add rule)"},
    {Id::kRaid1OverlapUnserialized, "raid1_overlap_unserialized", "raid1",
     "overlapping writes are not serialized, so mirrors can complete them in different orders",
     "md serialize_policy (I1)"},
    {Id::kRaid1ReadWriteMostlyBehind, "raid1_read_write_mostly_behind", "raid1",
     "reads go to write-mostly members without waiting for write-behind writes",
     "raid1 read_balance (write-behind)"},
    {Id::kRaid1StopCleanBeforeDrain, "raid1_stop_clean_before_drain", "raid1",
     "a clean stop writes the md superblocks clean before the writes in flight complete",
     "md's do_md_stop (quiesce before md_update_sb with in_sync; I1)"},
    {Id::kRaid1StopNoDrain, "raid1_stop_no_drain", "raid1",
     "a clean stop does not wait for the requests in flight before flushing the bitmap and "
     "marking the array clean", "md's do_md_stop (mddev_suspend / quiesce; I1)"},
    {Id::kBmLoadTrustsStale, "bm_load_trusts_stale", "raid1",
     "a bitmap older than the array (events behind the md superblock) is loaded as current, "
     "so its clean bits are trusted", "md_bitmap_read_sb's out-of-date check (I10)"},
    {Id::kRaid1ReAddIgnoresEventsCleared, "raid1_readd_ignores_events_cleared", "raid1",
     "a stale member is recovered from the bitmap even when its events are older than "
     "events_cleared, so chunks cleared since it left are not copied",
     "super_1_validate's events_cleared check (I11)"},
    {Id::kRaid1ReAddNoQuiesce, "raid1_readd_no_quiesce", "raid1",
     "a hot re-add copies chunks while writes submitted before it are still in flight, so "
     "the copy can miss them", "md's raise_barrier around recovery (I1, I8)"},
    {Id::kRaid1DaemonBusyWait, "raid1_daemon_busy_wait", "raid1",
     "the bitmap daemon polls the clock by yielding instead of sleeping until its next "
     "period, so it never blocks and nothing else's IO completes",
     "a busy-wait in a kernel thread (a soft lockup); the harness's step watchdog (hang)"},
    {Id::kBmChunkOfSector32, "bm_chunk_of_sector_32bit", "raid1",
     "the bitmap's sector-to-chunk arithmetic keeps only the low 32 bits of the sector, so "
     "a write past 2^32 sectors sets the bit of a chunk near the start",
     "md-bitmap's 32-bit chunk and offset overflows (I2; caught only because the checkers "
     "do their own arithmetic)"},
    {Id::kRaid1AckOnFailedMirror, "raid1_ack_on_failed_mirror", "raid1",
     "a write that ended well only on a mirror failed meanwhile (by another request's "
     "superblock write) is acknowledged, while the last working mirror failed it",
     "md's R1BIO_Uptodate (raid1_end_write_request: In_sync and not Faulty); I9",
     /*rare=*/true},
    {Id::kRaid1ReAddCopiedDecay, "raid1_readd_copied_decay", "raid1",
     "chunks copied to a re-added member (at assembly or hot) decay at once instead of staying NEEDED "
     "until it is recorded in sync, so if its flush then fails they are cleared while "
     "degraded", "md keeps a recovering rdev's bits (I7)", /*rare=*/true},
    {Id::kRaid1AssembleWithoutFreshMember, "raid1_assemble_without_fresh_member", "raid1",
     "assembly starts while a member the newest superblock present records working is "
     "missing, so a stale member alone rolls the array back",
     "mdadm --assemble without --run (I4, I9)", /*rare=*/true},
    {Id::kRaid1ResyncLeavesClean, "raid1_resync_leaves_clean", "raid1",
     "an assembly after an unclean shutdown records the array clean once its resync is done, "
     "though it keeps running, so the next power cut's assembly trusts chunks whose mirrors "
     "differ (only a second power cut shows it)", "md's in_sync rule (I1: active until stopped)"},
    {Id::kRaid1FailBitmapUnaware, "raid1_fail_bitmap_unaware", "raid1",
     "a member failed by the operator (mdadm --fail) is marked faulty without telling the "
     "bitmap, so chunks written while degraded decay and a re-add misses them",
     "md_error's bitmap side (I7; the control operation 'fail K')"},
    {Id::kBmSyncKeepsEventsCleared, "bm_sync_keeps_events_cleared", "raid1",
     "a resync that copied a chunk to every member leaves events_cleared where it was, so "
     "when every write since the last one was made while degraded, a member as old as "
     "events_cleared is re-added from a bitmap whose bits for those writes are cleared",
     "md's bitmap: events_cleared moves only in bitmap_endwrite (I11)", /*rare=*/true},
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
