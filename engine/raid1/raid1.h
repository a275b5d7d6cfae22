// Raid1Array: an md RAID1 mirror set over N member BlockDevices, with a write-intent
// bitmap, as drivers/md/raid1.c and md-bitmap.c run it: internal (a copy on every
// member) or external (one bitmap file, Raid1Options::bitmap_file). It is itself a
// BlockDevice and keeps that contract.
//
// Member layout (md v1.2, what mdadm --metadata=1.2 creates; see Raid1Geometry):
//
//   sector 0                 unused (4 KiB)
//   sector 8                 md superblock (one sector, 128 role slots)
//   sector 8 + 8             internal bitmap only: the bitmap (bitmap_offset = 8 sectors
//                            from the superblock), bitmap_area_sectors reserved
//   data_offset              the array's data: sector s of the array is data_offset + s
//                            (by default the first 4 KiB boundary after the bitmap area,
//                            or after the md superblock with an external bitmap)
//
// External bitmap: the bitmap file's bytes on their own BlockDevice, from byte 0
// (bitmap_super_t, then the bits at byte 256), nothing of it on the members. Their md
// superblocks say so as md v1.2 does for a file bitmap (super_1_sync sets
// MD_FEATURE_BITMAP_OFFSET and bitmap_offset only when bitmap_info.file is NULL):
// feature_map without kMdFeatureBitmapOffset, bitmap_offset 0; the array is assembled
// with the file given again (mdadm --assemble --bitmap=FILE). The kernel writes a file
// bitmap's pages with submit_bh(REQ_OP_WRITE | REQ_SYNC): neither PREFLUSH nor FUA, so
// on a device with a volatile write cache its bits are not durable when md submits the
// data (I2) and its superblock not before the md superblocks (I5). Here every page
// write to the file carries FUA: durable on completion, which is what I2 and I5 need.
// No PREFLUSH: it would only flush the bitmap device's own earlier writes, all FUA
// already; the members' data is made durable before a clear by the daemon's flush of
// every member (I3). A write to the file that fails fails the request that needed it
// (md kicks the bitmap: marks it stale and runs without it; not modelled).
//
// Writes follow docs/raid1.md ("The write path"): StartWrite (in memory), unplug (every page
// the bitmap hands over is written to every in-sync member with PREFLUSH|FUA, or to the
// file with FUA, and waited for: I2), the data writes to every in-sync mirror (flags
// passed through, so FUA on the array is FUA on every mirror), EndWrite, acknowledge. Flush goes to every in-sync
// member. Overlapping writes are serialized (md's serialize_policy, always on): two
// writes to the same sectors in flight at once could complete in different orders on
// two mirrors, leaving them different under a bit that later decays to clean (I1).
// Reads go to one in-sync member, round-robin, avoiding write-mostly members. The
// bitmap daemon is a fiber that sweeps every daemon_sleep seconds of virtual time;
// before it writes pages that clear bits it flushes every member (I1/I3, see daemon.cc).
//
// Member failure (raid1_error + md_update_sb): any IO error on a member (data, flush,
// bitmap or superblock write, a read, a resync copy) marks it faulty. The array is then
// degraded: writes go to the remaining in-sync mirrors, their chunks become NEEDED and
// keep their bits, events_cleared stops rising (I7). Before any request that saw (or
// could be affected by) the failure is acknowledged, and before any further data write
// is submitted, the failure is recorded durably: events bumped, the bitmap superblock
// and then the md superblocks (the failed member's role faulty) written to the
// remaining members (I9, I5). The last in-sync member is never failed: an IO error
// there fails the request instead (as md does).
//
// Write-mostly members (Raid1Options::write_mostly_mask) are read only when no other
// mirror is in sync. With write_behind > 0, a write (not FUA) is acknowledged once the
// other mirrors completed it while at most write_behind writes to write-mostly members
// are outstanding (a copy of the data is kept); its bitmap count ends when those
// complete. A flush first waits for outstanding write-behind writes, so what a flush
// covers is durable on every mirror (md does not wait; one member failing after the
// flush would then lose data only the write-mostly member was still to get).
//
// Assembly: a member that cannot be read is missing (faulty); one whose events are older
// than the freshest member's, or that the freshest superblock lists as faulty, is stale
// and re-added: bitmap-based recovery (the bitmap's set chunks) if its events are at
// least events_cleared, else a full recovery (every chunk) (I11). A resync copies every
// NEEDED chunk from a fresh (preferably not write-mostly) member to the others; a copy
// that fails leaves the chunk NEEDED (I13). Re-added members are flushed, get the whole
// bitmap, and only then are recorded in sync.
//
// Lifecycle (all from a fiber):
//   auto array = Raid1Array::Open(scheduler, {&ssd0, &ssd1}, options);  // no IO
//   absl::Status s = (*array)->Create();     // format the members, then Assemble()
//   absl::Status s = (*array)->Assemble();   // read superblocks + bitmap, resync, run
//   absl::Status s = (*array)->Stop();       // clean: the next Assemble resyncs nothing
// FormatMember() and FormatBitmapFile() give the bytes Create() writes, so a harness
// can build freshly formatted member and bitmap file images without IO.
//
// Hot re-add (ReAdd, mdadm --re-add on a running array): a faulty member whose device
// works again is recovered by the same rule (I11) while the array serves reads; writes
// wait until it is in sync (md lets them run beside the recovery behind a moving resync
// barrier; here the barrier covers the whole array). Its copies keep their bits NEEDED
// until it is recorded in sync, so a power cut in between leaves every copied chunk set
// for the next re-add.
//
// Not implemented yet (issue 4): md's read-error correction (a read error fails
// the member instead of rewriting the sector), bad-block logs, spares, md's events
// rollback on a clean stop (events always rise), and kicking a bitmap file whose write
// failed (the request fails instead).
//
// Threading: the Scheduler's thread; Submit* from fibers or callbacks, `done` runs on a
// fiber of the array (or inline for rejected requests and reads, from the member's
// completion). Does not own the members, which must outlive it.
#ifndef POWERCUT_ENGINE_RAID1_RAID1_H_
#define POWERCUT_ENGINE_RAID1_RAID1_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/io/io_batch.h"
#include "engine/raid1/bitmap_format.h"
#include "engine/raid1/md_superblock.h"
#include "engine/raid1/write_intent_bitmap.h"
#include "engine/runtime/scheduler.h"
#include "engine/runtime/sync.h"

namespace powercut::raid1 {

inline constexpr uint32_t kRaid1MaxMirrors = 16;
// Where the bitmap starts, in sectors from the md superblock (mdadm's choice for 1.2).
inline constexpr int32_t kRaid1BitmapOffset = 8;

struct Raid1Options {
  // Sectors the array exposes; 0: as many as the smallest layout leaves.
  uint64_t array_sectors = 0;
  uint64_t chunk_sectors = 128;  // bitmap chunk (64 KiB); a power of two
  uint32_t daemon_sleep_s = 5;   // bitmap daemon period, >= 1
  // Sectors reserved for the bitmap (on each member, or at the start of the external
  // bitmap device); 0: just enough (whole 4 KiB pages).
  uint64_t bitmap_area_sectors = 0;
  // Where the data starts on a member; 0: the first 4 KiB boundary after the bitmap
  // area (external bitmap: after the md superblock). Otherwise at least
  // bitmap_sector + bitmap_area_sectors (external: super_sector + 1).
  uint64_t data_offset = 0;
  // The external bitmap: a device holding the bitmap file's bytes from sector 0, at
  // least bitmap_area_sectors long; nullptr: an internal bitmap on every member. Not
  // owned; must outlive the array.
  io::BlockDevice* bitmap_file = nullptr;
  // Bit i: member i is write-mostly (devflags WriteMostly).
  uint32_t write_mostly_mask = 0;
  // Write-behind writes outstanding to write-mostly members at most (bitmap
  // write_behind, <= 16383); 0: no write-behind.
  uint32_t write_behind = 0;
  // mdadm --run: Assemble starts the array even when a member that the newest
  // superblock present records working cannot be read (that member may be the only one
  // holding the newest data: a double failure, which only an operator may accept).
  bool run_degraded = false;
  std::array<uint8_t, 16> uuid = {0x70, 0x63, 0x72, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::string name = "powercut:raid1";
};

// Where everything is on a member (and on the bitmap device); computed once and
// validated.
struct Raid1Geometry {
  uint64_t member_sectors = 0;
  uint64_t array_sectors = 0;
  uint64_t chunk_sectors = 0;
  uint64_t super_sector = kMdSuperOffsetSectors;
  // The bitmap file on its own device (bitmap_sector is then 0, on that device).
  bool external_bitmap = false;
  uint64_t bitmap_sector = kMdSuperOffsetSectors + kRaid1BitmapOffset;
  uint64_t bitmap_area_sectors = 0;
  uint64_t data_offset = 0;
  BitmapGeometry bitmap;

  // InvalidArgument for: a chunk size not a power of two (or below one sector), a
  // bitmap area too small for the bitmap, members too small for metadata + data, a
  // zero daemon_sleep. External when options.bitmap_file is set, or when
  // `external_bitmap` says so (to lay out an array before its devices exist).
  [[nodiscard]] static absl::StatusOr<Raid1Geometry> For(uint64_t member_sectors,
                                                         const Raid1Options& options);
  [[nodiscard]] static absl::StatusOr<Raid1Geometry> For(uint64_t member_sectors,
                                                         const Raid1Options& options,
                                                         bool external_bitmap);
  uint64_t bitmap_area_bytes() const { return bitmap_area_sectors * io::kSectorSize; }
};

// One piece of metadata to put on a member: `bytes` at `sector`.
struct MetadataBlock {
  uint64_t sector = 0;
  std::vector<std::byte> bytes;
};

// A resync or recovery copies a bitmap chunk of up to this many sectors whole; a larger
// chunk only where some member that is not faulty holds data; a chunk no such member
// holds data in, not at all (resync.cc).
inline constexpr uint64_t kWholeCopySectors = 2048;  // 1 MiB

enum class MemberState : uint8_t {
  kInSync,      // a working mirror
  kRecovering,  // stale at assembly, being re-added (receives resync copies only)
  kFaulty,      // failed, or missing at assembly: no IO
};

class Raid1Array : public io::BlockDevice {
 public:
  // Checks the members (2..kRaid1MaxMirrors, same size) and the geometry. No IO.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Raid1Array>> Open(
      runtime::Scheduler& scheduler, std::vector<io::BlockDevice*> members, Raid1Options options);
  ~Raid1Array() override;

  // What Create() writes on member `index`: a clean internal bitmap (superblock + zero
  // bits), then the md superblock (events 0, clean); with an external bitmap only the
  // md superblock. Members start out identical (zeroes).
  static std::vector<MetadataBlock> FormatMember(const Raid1Geometry& geometry,
                                                 const Raid1Options& options, uint32_t mirrors,
                                                 uint32_t index);
  // What Create() writes on the external bitmap device (before any md superblock): the
  // clean bitmap file at sector 0.
  static MetadataBlock FormatBitmapFile(const Raid1Geometry& geometry, const Raid1Options& options);

  // From a fiber: formats every member and the bitmap file (bitmaps before md
  // superblocks, durable), then Assemble().
  [[nodiscard]] absl::Status Create();
  // From a fiber: reads every member's md superblock; the bitmap file, or else the
  // freshest member (highest events), supplies the bitmap, loaded with
  // WriteIntentBitmap::Load. Bumps events and writes
  // the bitmap superblock, then the md superblock, marked active (I5). Resyncs every
  // NEEDED chunk from the first fresh member to the others (a member whose events are
  // older than events_cleared gets everything copied), then starts the daemon.
  // FailedPrecondition, nothing written, when a member the newest superblock present
  // records working cannot be read and options.run_degraded is off (mdadm's refusal to
  // start an array with members missing, without --run).
  [[nodiscard]] absl::Status Assemble();
  // From a fiber: a clean shutdown (md's do_md_stop). Refuses new requests
  // (FailedPrecondition), waits for every request already accepted (write-behind
  // included) and stops the daemon; then md_bitmap_flush (three daemon sweeps, each
  // after flushing every member, so every idle bit is cleared on disk) and md_update_sb
  // with the array in sync: events bumped, the bitmap superblock, then the md
  // superblocks with resync_offset = kMdResyncDone. The next Assemble then resyncs
  // nothing: md_bitmap_load only marks bits NEEDED past resync_offset (a degraded
  // array's kept bits excepted). The array cannot be restarted: Open a new one.
  [[nodiscard]] absl::Status Stop();
  // From a fiber, while running: re-adds faulty member `index` (see the top). New writes
  // wait from the call until it returns. FailedPrecondition if the array is not running,
  // the member is not faulty or another re-add is under way; InvalidArgument if its md
  // superblock is not this array's; Unavailable if it cannot be read or fails during its
  // recovery (it stays faulty). readd_recovery(index) then says how it was recovered.
  [[nodiscard]] absl::Status ReAdd(size_t index);
  // From a fiber, while running: fails member `index` as `mdadm --fail` does (md_error):
  // it takes no more IO, its bits are kept for a re-add, and the failure is recorded in
  // the others' superblocks before this returns. OK if it is already faulty;
  // FailedPrecondition if the array is not running or it is the last working mirror
  // (md never fails that one); InvalidArgument for a member the array lacks.
  [[nodiscard]] absl::Status Fail(size_t index);

  const Raid1Geometry& geometry() const { return geometry_; }
  const WriteIntentBitmap& bitmap() const { return *bitmap_; }
  uint64_t events() const { return events_; }
  uint64_t resynced_chunks() const { return resynced_chunks_; }
  // Chunks copied to re-added members beyond the resync plan (full recoveries).
  uint64_t recovered_chunks() const { return recovered_chunks_; }
  // Assembled and not stopped.
  bool running() const { return bitmap_ != nullptr && !stopping_; }
  MemberState member_state(size_t index) const { return state_.at(index); }
  // Fewer in-sync members than mirrors.
  bool degraded() const;
  // How each member re-added at the last assembly or ReAdd was recovered (kNone: not
  // re-added).
  ReAddRecovery readd_recovery(size_t index) const { return readd_.at(index); }

  // io::BlockDevice
  uint64_t sector_count() const override { return geometry_.array_sectors; }
  const std::string& name() const override { return name_; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // The union of the data ranges of the members that are not faulty (read_path.cc).
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  Raid1Array(runtime::Scheduler& scheduler, std::vector<io::BlockDevice*> members,
             Raid1Options options, Raid1Geometry geometry);

  // The write path of one request (data empty: a discard of `sectors`).
  void RunWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data, uint32_t flags,
                io::IoCallback done);
  void RunFlush(io::IoCallback done);
  void RunRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done);
  // md_bitmap_unplug: after earlier bitmap writes, every DIRTY/NEEDWRITE page to every
  // in-sync member (PREFLUSH|FUA), waited for; then any member failure recorded.
  [[nodiscard]] absl::Status Unplug();
  // Runs `submit(batch, member)` for every member of `targets` and waits; members whose
  // IO failed are marked faulty (not yet recorded). The last in-sync member cannot be
  // failed: its IO is retried, and the error returned if it keeps failing.
  [[nodiscard]] absl::Status OnMembers(std::vector<size_t> targets, const char* what,
                                       const std::function<void(io::IoBatch&, size_t)>& submit);
  // Writes `pages` to every in-sync member (OnMembers), or to the bitmap file.
  // `unplug`: from Unplug.
  [[nodiscard]] absl::Status WritePages(const std::vector<PageWrite>& pages, bool unplug = false);
  // Writes the md superblock (events_, roles from state_) to every in-sync member.
  [[nodiscard]] absl::Status WriteMdSuperblocks();
  // md_update_sb: bumps events, writes the bitmap superblock, then the md superblocks,
  // to every in-sync member (I5).
  [[nodiscard]] absl::Status UpdateSuperblocks();
  // Records every member failure marked so far (I9); returns once it is durable.
  [[nodiscard]] absl::Status RecordFailures();
  bool FailuresPending() const { return failures_recorded_ < failures_marked_; }
  // raid1_error: marks member `index` faulty, unless it is the last in-sync member
  // (then returns false and the caller fails its request).
  bool MarkFaulty(size_t index);
  // md's R1BIO_Uptodate: whether one of `targets` outside `failed` is still in sync,
  // i.e. an IO that ended well there counts (a member failed meanwhile does not).
  bool EndedOnWorkingMember(const std::vector<size_t>& targets, const std::vector<size_t>& failed) const;
  std::vector<size_t> Members(MemberState state) const;
  bool WriteMostly(size_t index) const { return (options_.write_mostly_mask >> index) & 1; }
  bool external() const { return geometry_.external_bitmap; }
  // Flushes every in-sync member (OnMembers).
  [[nodiscard]] absl::Status FlushAll();
  // The in-sync member reads and resync copies come from: not write-mostly if possible.
  std::optional<size_t> PickSource();
  // Copies every NEEDED chunk to the other members, then every other chunk to members
  // re-added with a full recovery. `keep_needed`: copied chunks stay NEEDED (their
  // indexes appended to `copied`), for a caller that releases them once the copies are
  // recorded.
  [[nodiscard]] absl::Status Resync(bool keep_needed, std::vector<uint64_t>* copied = nullptr);
  // The md superblock of member `index`, checked against this array: Unavailable if it
  // cannot be read, InvalidArgument if it is not this array's.
  [[nodiscard]] absl::StatusOr<MdSuperblock> ReadMemberSuperblock(size_t index);
  // ReAdd's work, behind its write barrier.
  [[nodiscard]] absl::Status Recover(size_t index);
  // Members being recovered: flushed, in sync, the whole bitmap written to them, then
  // recorded (UpdateSuperblocks). One whose flush fails is faulty instead.
  [[nodiscard]] absl::Status FinishRecovery();
  // Resync, then FinishRecovery, for assembly and re-add alike. While members are being
  // re-added, the chunks copied stay NEEDED until they are recorded in sync: a re-added
  // member whose flush then fails is faulty again with copies that may never have
  // reached its media, and a chunk that decayed meanwhile would be missing from its
  // next re-add (I7). Once the array is whole, those chunks decay as usual.
  [[nodiscard]] absl::Status ResyncAndFinishRecovery();
  // Copies `chunk` from source_ to `to`; false if any target failed (aborted).
  [[nodiscard]] absl::StatusOr<bool> CopyChunk(uint64_t chunk, const std::vector<size_t>& to);
  // md_bitmap_daemon_work: flush every member, sweep, write the pages (see daemon.cc).
  // Fails only when no mirror is left to keep in sync.
  [[nodiscard]] absl::Status DaemonWork();
  void RunDaemon();
  // A request accepted by Submit* has completed (Stop waits for all of them).
  void EndRequest();

  runtime::Scheduler& scheduler_;
  std::vector<io::BlockDevice*> members_;
  Raid1Options options_;
  Raid1Geometry geometry_;
  std::string name_;
  std::vector<MdSuperblock> supers_;  // per member, as last written (or formatted)
  std::vector<MemberState> state_;
  std::vector<ReAddRecovery> readd_;
  std::unique_ptr<WriteIntentBitmap> bitmap_;
  uint64_t events_ = 0;
  size_t source_ = 0;       // the fresh member resync copies from
  size_t next_reader_ = 0;  // round-robin read balancing
  uint64_t resynced_chunks_ = 0;
  uint64_t recovered_chunks_ = 0;
  uint64_t failures_marked_ = 0;
  uint64_t failures_recorded_ = 0;
  runtime::Mutex sb_update_;         // one md_update_sb at a time
  runtime::Mutex bitmap_io_;         // one bitmap write (unplug or daemon) at a time
  runtime::WaitQueue counter_wait_;  // StartWrite hit COUNTER_MAX
  runtime::WaitQueue behind_wait_;   // write-behind writes completing
  // Sector ranges [first, end) of writes in flight; an overlapping write waits (I1).
  std::vector<std::pair<uint64_t, uint64_t>> writes_in_flight_;
  runtime::WaitQueue serialize_wait_;
  bool write_barrier_ = false;  // a ReAdd holds new writes back
  bool stopping_ = false;  // Stop() was called
  bool clean_ = false;     // md superblocks are written clean (after Stop)
  uint64_t active_requests_ = 0;
  runtime::WaitQueue idle_wait_;    // active_requests_ reached 0
  runtime::WaitQueue daemon_wait_;  // the daemon's sleep, cut short by Stop
  bool daemon_started_ = false;
  runtime::Event daemon_done_;  // the daemon has exited
};

}  // namespace powercut::raid1

#endif  // POWERCUT_ENGINE_RAID1_RAID1_H_
