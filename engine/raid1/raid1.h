// Raid1Array: an md RAID1 mirror set over N member BlockDevices, with an internal
// write-intent bitmap (a copy on every member), as drivers/md/raid1.c and md-bitmap.c
// run it. It is itself a BlockDevice and keeps that contract.
//
// Member layout (md v1.2, what mdadm --metadata=1.2 creates; see Raid1Geometry):
//
//   sector 0                 unused (4 KiB)
//   sector 8                 md superblock (one sector, 128 role slots)
//   sector 8 + 8             the bitmap (bitmap_offset = 8 sectors from the superblock),
//                            bitmap_area_sectors reserved, whole 4 KiB pages
//   data_offset              the array's data: sector s of the array is data_offset + s
//
// Writes follow BITMAP.md "Write ordering": StartWrite (in memory), unplug (every page
// the bitmap hands over is written to every member with PREFLUSH|FUA and waited for:
// I2), the data writes to every in-sync mirror (flags passed through, so FUA on the
// array is FUA on every mirror), EndWrite, acknowledge. Flush goes to every member.
// Overlapping writes are serialized (md's serialize_policy, always on): two writes
// to the same sectors in flight at once could complete in different orders on two
// mirrors, leaving them different under a bit that later decays to clean (I1).
// Reads go to one in-sync member, round-robin. The bitmap daemon is a fiber that sweeps
// every daemon_sleep seconds of virtual time; before it writes pages that clear bits
// it flushes every member (I1/I3, see raid1.cc for why the page's own PREFLUSH is not
// enough with several members).
//
// Lifecycle (all from a fiber):
//   auto array = Raid1Array::Open(scheduler, {&ssd0, &ssd1}, options);  // no IO
//   absl::Status s = (*array)->Create();     // format the members, then Assemble()
//   absl::Status s = (*array)->Assemble();   // read superblocks + bitmap, resync, run
// FormatMember() gives the bytes Create() writes, so a harness can build a freshly
// formatted member image without IO.
//
// Not implemented yet (issue 4): member failure (an IO error fails the request),
// degraded mode, re-add, write-mostly/write-behind, external bitmaps, clean shutdown
// (the array is marked active at assembly and stays so; every assembly is unclean and
// resyncs the bitmap's set chunks).
//
// Threading: the Scheduler's thread; Submit* from fibers or callbacks, `done` runs on a
// fiber of the array (or inline for rejected requests and reads/flushes, from the
// member's completion). Does not own the members, which must outlive it.
#ifndef POWERCUT_ENGINE_RAID1_RAID1_H_
#define POWERCUT_ENGINE_RAID1_RAID1_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
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
  // Sectors reserved for the bitmap; 0: just enough (whole 4 KiB pages).
  uint64_t bitmap_area_sectors = 0;
  std::array<uint8_t, 16> uuid = {0x70, 0x63, 0x72, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::string name = "powercut:raid1";
};

// Where everything is on a member; computed once and validated.
struct Raid1Geometry {
  uint64_t member_sectors = 0;
  uint64_t array_sectors = 0;
  uint64_t chunk_sectors = 0;
  uint64_t super_sector = kMdSuperOffsetSectors;
  uint64_t bitmap_sector = kMdSuperOffsetSectors + kRaid1BitmapOffset;
  uint64_t bitmap_area_sectors = 0;
  uint64_t data_offset = 0;
  BitmapGeometry bitmap;

  // InvalidArgument for: a chunk size not a power of two (or below one sector), a
  // bitmap area too small for the bitmap, members too small for metadata + data, a
  // zero daemon_sleep.
  [[nodiscard]] static absl::StatusOr<Raid1Geometry> For(uint64_t member_sectors,
                                                         const Raid1Options& options);
  uint64_t bitmap_area_bytes() const { return bitmap_area_sectors * io::kSectorSize; }
};

// One piece of metadata to put on a member: `bytes` at `sector`.
struct MetadataBlock {
  uint64_t sector = 0;
  std::vector<std::byte> bytes;
};

class Raid1Array : public io::BlockDevice {
 public:
  // Checks the members (2..kRaid1MaxMirrors, same size) and the geometry. No IO.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Raid1Array>> Open(
      runtime::Scheduler& scheduler, std::vector<io::BlockDevice*> members, Raid1Options options);
  ~Raid1Array() override;

  // What Create() writes on member `index`: a clean bitmap (superblock + zero bits),
  // then the md superblock (events 0, clean). Members start out identical (zeroes).
  static std::vector<MetadataBlock> FormatMember(const Raid1Geometry& geometry,
                                                 const Raid1Options& options, uint32_t mirrors,
                                                 uint32_t index);

  // From a fiber: formats every member (bitmap before md superblock, flushed), then
  // Assemble().
  [[nodiscard]] absl::Status Create();
  // From a fiber: reads every member's md superblock; the freshest (highest events)
  // supplies the bitmap, loaded with WriteIntentBitmap::Load. Bumps events and writes
  // the bitmap superblock, then the md superblock, marked active (I5). Resyncs every
  // NEEDED chunk from the first fresh member to the others (a member whose events are
  // older than events_cleared gets everything copied), then starts the daemon.
  [[nodiscard]] absl::Status Assemble();

  const Raid1Geometry& geometry() const { return geometry_; }
  const WriteIntentBitmap& bitmap() const { return *bitmap_; }
  uint64_t events() const { return events_; }
  uint64_t resynced_chunks() const { return resynced_chunks_; }
  bool running() const { return bitmap_ != nullptr; }

  // io::BlockDevice
  uint64_t sector_count() const override { return geometry_.array_sectors; }
  const std::string& name() const override { return name_; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;

 private:
  Raid1Array(runtime::Scheduler& scheduler, std::vector<io::BlockDevice*> members,
             Raid1Options options, Raid1Geometry geometry);

  // The write path of one request (data empty: a discard of `sectors`).
  void RunWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data, uint32_t flags,
                io::IoCallback done);
  // md_bitmap_unplug: after earlier bitmap writes, every DIRTY/NEEDWRITE page to every
  // member (PREFLUSH|FUA), waited for.
  [[nodiscard]] absl::Status Unplug();
  [[nodiscard]] absl::Status WritePages(const std::vector<PageWrite>& pages);
  [[nodiscard]] absl::Status WriteMdSuperblocks();
  [[nodiscard]] absl::Status FlushAll();
  [[nodiscard]] absl::Status Resync();
  [[nodiscard]] absl::Status CopyChunk(uint64_t chunk, const std::vector<size_t>& to);
  void RunDaemon();

  runtime::Scheduler& scheduler_;
  std::vector<io::BlockDevice*> members_;
  Raid1Options options_;
  Raid1Geometry geometry_;
  std::string name_;
  std::vector<MdSuperblock> supers_;  // per member, as last written
  std::unique_ptr<WriteIntentBitmap> bitmap_;
  uint64_t events_ = 0;
  size_t source_ = 0;       // the fresh member resync copies from
  size_t next_reader_ = 0;  // round-robin read balancing
  uint64_t resynced_chunks_ = 0;
  runtime::Mutex bitmap_io_;         // one bitmap write (unplug or daemon) at a time
  runtime::WaitQueue counter_wait_;  // StartWrite hit COUNTER_MAX
  // Sector ranges [first, end) of writes in flight; an overlapping write waits (I1).
  std::vector<std::pair<uint64_t, uint64_t>> writes_in_flight_;
  runtime::WaitQueue serialize_wait_;
};

}  // namespace powercut::raid1

#endif  // POWERCUT_ENGINE_RAID1_RAID1_H_
