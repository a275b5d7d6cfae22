// WriteIntentBitmap: the md write-intent bitmap in memory, as drivers/md/md-bitmap.c
// keeps it, without the IO. The RAID1 engine drives it and performs the writes it asks
// for; this class decides *what* must be written and *when* a bit may be cleared.
//
// Two structures, as in the kernel:
//   - the storage image (the "filemap"): the on-disk bytes, superblock + one bit per
//     chunk, in 4 KiB pages. Each page carries attributes:
//       DIRTY      a bit was set; the page must be written (by Unplug) before the data
//                  write that set it is submitted (I2);
//       PENDING    a bit was cleared in memory; write it at the next daemon sweep;
//       NEEDWRITE  to be written by this daemon sweep (or the next Unplug).
//   - a 16-bit counter per chunk:  NEEDED (0x8000) | RESYNC (0x4000) | COUNTER (0x3fff)
//       0   bit clear;            1  bit set, idle: the next sweep clears it;
//       2   bit set, recently written: the next sweep makes it 1;
//       k>2 bit set, k - 2 writes in flight.
//     NEEDED: the chunk must be resynced (a failed or degraded write, an unclean start);
//     RESYNC: a resync of the chunk is running. Either one stops the counter from
//     decaying, so the bit stays set until the chunk is resynced (I13).
//
// The protocol for one RAID1 write (docs/raid1.md, "The write path"):
//   1. StartWrite(range)                       -- sets bits in memory, pages DIRTY
//   2. TakeUnplugWrites(); write each page to every active member (PREFLUSH+FUA) or
//      the file, after earlier bitmap writes, and wait for all of them      (I2)
//   3. submit the data writes; when all mirrors completed:
//   4. EndWrite(range, success)                -- NEEDED if failed/degraded   (I7)
// The daemon, every daemon_sleep seconds while !all_clean():
//   DaemonSweep(); wait for earlier bitmap writes; TakeDaemonWrites(); write them.
// A bit therefore reaches disk as 0 only ~2-3 sweeps after the last write to its chunk
// completed, and only via a PREFLUSH write that makes that data durable first (I3).
//
// Loading (Load) follows md_bitmap_read_sb + md_bitmap_init_from_disk + md_bitmap_load:
// a bitmap older than the array (events < array events) or marked stale is stale: every
// bit is set and its pages rewritten (TakeLoadWrites); set bits become NEEDED when the
// array was not shut down cleanly (or is degraded with old bits); clean bits are trusted
// (I1). The caller then writes the superblock with UpdateSuper() before the md
// superblock (I5).
//
//   absl::StatusOr<WriteIntentBitmap> bitmap = WriteIntentBitmap::Load(image, context, {});
//   bitmap->StartWrite(sector, sectors, /*behind=*/false);
//   for (const PageWrite& w : bitmap->TakeUnplugWrites()) { ...write w.data at w.range... }
//
// Ranges are in sectors of the array's sync range ([0, sync_size)). Programming errors
// (a range past the end, EndWrite without StartWrite) fail an always-on assertion
// (engine/runtime/assertion.h).
//
// Threading: not thread-safe; one Scheduler's fibers use it. Every call is atomic with
// respect to fibers (none blocks), so a call sequence never interleaves mid-update.
#ifndef POWERCUT_ENGINE_RAID1_WRITE_INTENT_BITMAP_H_
#define POWERCUT_ENGINE_RAID1_WRITE_INTENT_BITMAP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/raid1/bitmap_format.h"

namespace powercut::raid1 {

// Counter bits (md-bitmap.h).
inline constexpr uint16_t kCounterNeeded = 0x8000;
inline constexpr uint16_t kCounterResync = 0x4000;
inline constexpr uint16_t kCounterMax = 0x3fff;  // also the COUNTER() mask
// Counters per in-memory counter page (PAGE_COUNTER_RATIO): a 4 KiB page of 16-bit
// counters. The kernel's "pending" hint for the daemon is kept per counter page.
inline constexpr uint64_t kCountersPerPage = 2048;

// Storage page attributes (enum bitmap_page_attr, as masks).
inline constexpr uint8_t kPageDirty = 1u << 0;
inline constexpr uint8_t kPagePending = 1u << 1;
inline constexpr uint8_t kPageNeedWrite = 1u << 2;

// One storage page to write: `data` (a snapshot of the page when it was taken) goes to
// `range` of the bitmap area, on every active member or in the file.
struct PageWrite {
  uint64_t page = 0;
  ByteRange range;
  std::vector<std::byte> data;  // range.length bytes
};

struct ChunkRange {
  uint64_t first = 0;
  uint64_t count = 0;
  bool operator==(const ChunkRange&) const = default;
};

// How a member that comes back (re-add) is recovered (super_1_validate, I11).
enum class ReAddRecovery {
  kNone,    // its events equal the array's: it is in sync
  kBitmap,  // events_cleared <= its events < array events: copy the set chunks
  kFull,    // its events are older than events_cleared: copy everything
};

struct BitmapOptions {
  // The member's logical block size: the last page's writes are rounded up to it.
  uint32_t logical_block_size = 512;
  // Bytes reserved for the bitmap (internal: from its start to data_offset or the
  // next metadata). 0: unbounded, as for a bitmap file.
  uint64_t area_bytes = 0;
  // A bitmap file has a single copy: WriteAll() (for a newly added member) is a no-op.
  bool file = false;
};

// What the array tells the bitmap when it loads it.
struct LoadContext {
  std::array<uint8_t, 16> array_uuid{};
  uint64_t array_events = 0;   // events of the freshest md superblock
  uint64_t resync_offset = 0;  // md's recovery_cp: kMdResyncDone after a clean shutdown
  bool degraded = false;       // fewer working mirrors than raid_disks
};

class WriteIntentBitmap {
 public:
  // Reads an on-disk image (superblock + bits; at least the bitmap's bytes) and builds
  // the in-memory state. Fails (InvalidArgument) for a corrupt superblock, another
  // array's uuid, an image shorter than the bitmap, a WRITE_ERROR state on disk, or a
  // bitmap that does not fit `options.area_bytes` (I14).
  [[nodiscard]] static absl::StatusOr<WriteIntentBitmap> Load(std::span<const std::byte> image,
                                                              const LoadContext& context,
                                                              const BitmapOptions& options);

  // --- Array state the bitmap reads (mddev->events, mddev->degraded) --------------
  void set_array_events(uint64_t events) { array_events_ = events; }
  void set_degraded(bool degraded) { degraded_ = degraded; }
  uint64_t array_events() const { return array_events_; }
  bool degraded() const { return degraded_; }

  // --- Writes (md_bitmap_startwrite / md_bitmap_endwrite) --------------------------
  // Counts a write to sectors [sector, sector + sectors) in every chunk it touches:
  // 0 -> 3 (setting the bit, page DIRTY), 1 or 2 -> 3, k -> k + 1. Returns false and
  // changes nothing if a counter is at kCounterMax: wait for an EndWrite, then retry.
  // `behind`: the write is write-behind on a write-mostly member (counted separately).
  [[nodiscard]] bool StartWrite(uint64_t sector, uint64_t sectors, bool behind);
  // Ends a write counted by StartWrite. `success`: written on every in-sync mirror.
  // Not degraded and successful: events_cleared rises to the array's events. Failed or
  // degraded: the chunks become NEEDED and keep their bits (I7). Counters of 2 or less
  // are left for the daemon.
  void EndWrite(uint64_t sector, uint64_t sectors, bool success, bool behind);

  // --- Writing pages ---------------------------------------------------------------
  // md_bitmap_unplug: every DIRTY or NEEDWRITE page, in page order, attributes cleared.
  // Empty while the bitmap is stale (disabled after a write error). The caller waits
  // for earlier bitmap writes, writes all of these, and waits, before data goes out.
  std::vector<PageWrite> TakeUnplugWrites();
  // md_bitmap_daemon_work, first half: PENDING pages become NEEDWRITE, events_cleared
  // goes into the superblock (page 0 NEEDWRITE) if it rose, and counters decay:
  // 2 -> 1, 1 -> 0 with the bit cleared (page PENDING, or written now if already
  // NEEDWRITE). NEEDED, RESYNC and in-flight counters never decay. Returns false and
  // does nothing if the bitmap was already all clean.
  bool DaemonSweep();
  // Second half, after waiting for earlier bitmap writes: the NEEDWRITE pages from page
  // 0 on, stopping at the first DIRTY page (Unplug must write that one and the rest, so
  // no page is written before an updated superblock page).
  std::vector<PageWrite> TakeDaemonWrites();
  // md_bitmap_update_sb: the superblock page with the array's events, events_cleared
  // (lowered to events if the array rolled back) and state. Write it, and wait, before
  // the md superblock (I5).
  [[nodiscard]] PageWrite UpdateSuper();
  // Pages a stale load filled with ones; write them before anything else.
  std::vector<PageWrite> TakeLoadWrites();
  // md_bitmap_write_all: every page NEEDWRITE (a member was added and needs a copy).
  void WriteAll();
  // md_bitmap_file_kick: a bitmap write failed, so the bitmap can no longer be trusted:
  // mark it stale and return the superblock to write (once; nullopt if already stale).
  // Unplug and the daemon write nothing afterwards; the next load does a full resync.
  [[nodiscard]] std::optional<PageWrite> Kick();

  // A member failed. It may have lost writes it completed into its volatile cache
  // (a failed flush makes nothing durable), so every chunk whose bit is still set
  // becomes NEEDED and keeps its bit until the member is re-added and resynced (I7,
  // I11). Chunks already clean were flushed on every member before they were cleared.
  void MemberFailed();

  // --- Resync (md_bitmap_start_sync / end_sync / close_sync) ------------------------
  // Whether `chunk` needs resyncing. If NEEDED and not `degraded`, it becomes RESYNC
  // (resync running; cleared by EndSync). A degraded array keeps NEEDED (bits kept for
  // a re-add).
  bool StartSync(uint64_t chunk, bool degraded);
  // A resync of `chunk` finished: RESYNC clears; an aborted one leaves NEEDED (I13);
  // a completed one lets the counter decay.
  void EndSync(uint64_t chunk, bool aborted);
  // EndSync(completed) on every chunk still RESYNC.
  void CloseSync();
  // The chunks a resync must copy: NEEDED or RESYNC, as ascending maximal runs.
  std::vector<ChunkRange> ResyncPlan() const;
  // I11: how a member with `member_events` is recovered on re-add.
  ReAddRecovery ReAddRecoveryFor(uint64_t member_events) const;

  // --- State -----------------------------------------------------------------------
  const BitmapGeometry& geometry() const { return geometry_; }
  const BitmapOptions& options() const { return options_; }
  // The superblock as last encoded into page 0.
  const BitmapSuper& super() const { return sb_; }
  uint16_t counter(uint64_t chunk) const { return counters_.at(chunk); }
  // The chunk's bit in the in-memory storage image (what the next write of its page
  // puts on disk).
  bool bit(uint64_t chunk) const { return TestChunkBit(geometry_, storage_, chunk); }
  uint8_t page_attrs(uint64_t page) const { return page_attrs_.at(page); }
  std::span<const std::byte> image() const { return {storage_.data(), geometry_.bytes}; }
  uint64_t dirty_chunks() const { return CountDirtyChunks(geometry_, storage_); }
  uint64_t events_cleared() const { return events_cleared_; }
  bool need_sync() const { return need_sync_; }
  // No counter is 1 or 2, no page PENDING: the daemon may sleep until woken.
  bool all_clean() const { return all_clean_; }
  bool stale() const { return (flags_ & kBitmapStateStale) != 0; }
  uint32_t behind_writes() const { return behind_writes_; }
  uint32_t behind_writes_used() const { return behind_writes_used_; }
  uint32_t max_write_behind() const { return max_write_behind_; }

 private:
  WriteIntentBitmap() = default;

  // Chunks overlapping sectors [sector, sector + sectors); throws if past the end.
  ChunkRange ChunksOf(uint64_t sector, uint64_t sectors, const char* what) const;
  void SetBit(uint64_t chunk);
  void ClearBit(uint64_t chunk);
  void SetCounterPagePending(uint64_t chunk);
  // md_bitmap_set_memory_bits: a bit read from disk.
  void SetMemoryBits(uint64_t chunk, bool needed);
  PageWrite MakePageWrite(uint64_t page) const;
  void EncodeSuper();  // sb_ into the first 256 bytes of page 0

  BitmapSuper sb_;
  BitmapGeometry geometry_;
  BitmapOptions options_;
  std::vector<std::byte> storage_;             // geometry_.pages * 4096 bytes
  std::vector<uint8_t> page_attrs_;            // per storage page
  std::vector<uint16_t> counters_;             // per chunk
  std::vector<uint8_t> counter_page_pending_;  // per kCountersPerPage chunks
  std::vector<uint64_t> load_writes_;          // pages a stale load rewrote
  uint32_t flags_ = 0;                         // bitmap->flags: kBitmapState* bits
  uint64_t events_cleared_ = 0;
  bool need_sync_ = false;
  bool all_clean_ = false;
  uint64_t array_events_ = 0;
  bool degraded_ = false;
  uint32_t behind_writes_ = 0;
  uint32_t behind_writes_used_ = 0;
  uint32_t max_write_behind_ = 0;
};

}  // namespace powercut::raid1

#endif  // POWERCUT_ENGINE_RAID1_WRITE_INTENT_BITMAP_H_
