// Invariant checkers for the RAID1 mirror set and its write-intent bitmap (docs/invariants.md,
// I1..I14), on raw member images and on the members' IO streams. They read bytes, never
// engine memory, and decode the bitmap with their own code (magic, fields, LSB-first
// bits), so a format bug in the engine's codec cannot hide from them.
//
// "Fresh" members of a set of images: readable md superblock, the highest events of
// all, and not listed faulty by the freshest superblock: what assembly trusts.
//
// External bitmaps (g.external_bitmap): every check that reads "a member's bitmap"
// reads the one bitmap file instead (its device's image, or its IO stream through a
// Raid1TraceChecker with index kTraceBitmapFile). The file's page writes need no
// PREFLUSH (they flush no member); I3 then asks every fresh member's data to be durable.
//
// On crash images (before recovery), CheckRaid1CrashImages:
//   I14  every member's bitmap superblock has the magic, version 4 and the array's
//        sync_size / chunksize; its md superblock decodes;
//   I5   a bitmap's events >= its member's md events (or the bitmap says stale);
//   I6   events_cleared <= events;
//   I1   wherever a fresh member's non-stale bitmap says a chunk is clean, every fresh
//        member holds the same durable data for it; if the freshest md superblock says
//        the whole array is clean (resync_offset done, not degraded), for every chunk.
// Of an assembly (DemandOfAssembly on the images it reads, CheckAssembly after it):
//   I10  a stale bitmap (events behind the freshest md superblock, or marked stale)
//        makes a full resync: every chunk copied to every in-sync member but the source;
//   I11  a stale member re-added with events older than events_cleared is recovered
//        fully (every chunk copied to it), one not older from the bitmap (md's
//        super_1_validate); the array's choice (Raid1Array::readd_recovery) must match.
// After recovery: CheckMirrorsIdentical (I8: in-sync mirrors hold the same data) and
// CheckBitmapsClear (I12: every bit clear, after resync and idle daemon periods).
// On the IO streams (Raid1TraceChecker, one BlockDevice wrapper per member, sharing a
// Raid1TraceState):
//   I14  a write touching the bitmap area stays inside it; md superblock writes stay in
//        their sector; data writes stay in the data area;
//   I2   a data write to a fresh member is submitted only when every fresh member's
//        durable bitmap has the bits of its chunks set;
//   I3   a bitmap write that clears a chunk's bit (durably 1 -> 0) carries PREFLUSH, no
//        write to the chunk is in flight on any member, and the chunk's data is
//        already durable on every other fresh member;
//   I1   an md superblock marked clean is written only while no data write is in
//        flight on any member;
//   I13  a bitmap write clears a chunk's bit only where every fresh member holds the
//        same data for it (a chunk that needs a resync keeps its bit);
//   I4   md and bitmap events written to a member never decrease;
//   I6   events_cleared <= events in every bitmap superblock written;
//   I7   once an md superblock listing a faulty member was written (degraded), no
//        bitmap superblock raises events_cleared to that superblock's events or
//        beyond, and no chunk written to a fresh member while degraded is cleared
//        (copies to a member being re-added follow I11 instead), until an md
//        superblock lists every member again; nor a chunk where a failed member that
//        a re-add would recover from the bitmap (events >= events_cleared) holds other
//        durable data (I11);
// On the array's acknowledgements (Raid1AckChecker, a wrapper over the array):
//   I9   when a write is acknowledged, every member still fresh in the durable metadata
//        holds its data (a mirror that missed it must already be recorded faulty),
//        except write-mostly members whose copy may lag (write-behind).
//
// Threading: the World's thread.
#ifndef POWERCUT_INVARIANTS_RAID1_INVARIANTS_H_
#define POWERCUT_INVARIANTS_RAID1_INVARIANTS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/io/block_device.h"
#include "engine/raid1/raid1.h"
#include "harness/failure.h"
#include "sim/disk_image.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

// The bitmap superblock fields the checkers need, decoded independently.
struct RawBitmapSuper {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint64_t events = 0;
  uint64_t events_cleared = 0;
  uint64_t sync_size = 0;
  uint32_t state = 0;
  uint32_t chunksize = 0;
  uint32_t daemon_sleep = 0;
  uint32_t write_behind = 0;
  bool stale() const { return (state & 2) != 0; }
};
RawBitmapSuper DecodeRawBitmapSuper(std::span<const std::byte> bytes);
// Chunk `chunk`'s bit in a bitmap image (superblock + bits), LSB first.
bool RawChunkBit(std::span<const std::byte> bitmap, uint64_t chunk);

// `disks` are the members' images; `bitmap_file` is the external bitmap device's image
// (g.external_bitmap; nullptr otherwise), where the bitmap is read from then.
// `file_may_be_old`: the bitmap file may still be an old copy a user put back before an
// earlier recovery that a power cut interrupted; its events may then lag without STALE
// (not the engine's doing: the assembly treats such a file as stale), so I5 is not asked.
std::optional<Violation> CheckRaid1CrashImages(const raid1::Raid1Geometry& g,
                                                 const std::vector<const sim::DiskImage*>& disks,
                                                 const sim::DiskImage* bitmap_file,
                                                 bool file_may_be_old = false);

std::optional<Violation> CheckMirrorsIdentical(const raid1::Raid1Geometry& g,
                                                 const std::vector<const sim::DiskImage*>& disks);

std::optional<Violation> CheckBitmapsClear(const raid1::Raid1Geometry& g,
                                             const std::vector<const sim::DiskImage*>& disks,
                                             const sim::DiskImage* bitmap_file);

// What an assembly of these images must do (I10, I11). Members not `readable` are
// missing. Where fresh members' bitmap copies disagree (a superblock write cut by the
// power cut), only what every copy demands is demanded.
struct Raid1AssemblyDemand {
  std::optional<std::string> stale_bitmap;  // why the bitmap is stale, if it is (I10)
  // With a stale bitmap, the chunks that end at or past this sector need a resync among
  // the fresh members: the freshest superblock's resync_offset (md_bitmap_load starts
  // NEEDED there: nowhere for an array shut down cleanly, whose mirrors agree).
  uint64_t stale_needed_from = 0;
  struct ReAdd {
    uint64_t events = 0;  // the stale member's md events
    uint64_t events_cleared_min = 0;
    uint64_t events_cleared_max = 0;
  };
  std::vector<std::optional<ReAdd>> readd;  // per member: stale ones (I11)
};
Raid1AssemblyDemand DemandOfAssembly(const raid1::Raid1Geometry& g,
                                     const std::vector<const sim::DiskImage*>& disks,
                                     const sim::DiskImage* bitmap_file,
                                     const std::vector<bool>& readable);

struct Raid1TraceState;
// Right after `array` assembled: the demand met, by the copies `trace` saw (it must
// record copies) and by the array's re-add choices.
std::optional<Violation> CheckAssembly(const Raid1AssemblyDemand& demand,
                                         const raid1::Raid1Array& array,
                                         const Raid1TraceState& trace);

// What the checkers of one array's members share.
struct Raid1TraceState {
  explicit Raid1TraceState(raid1::Raid1Geometry geometry) : g(geometry) {}
  raid1::Raid1Geometry g;
  std::vector<const sim::SimSsd*> members;   // by member index
  const sim::SimSsd* bitmap_file = nullptr;  // the external bitmap device, if any
  std::vector<Violation> violations;
  absl::btree_map<uint64_t, uint32_t> in_flight;  // chunk -> data writes in flight
  std::vector<std::optional<uint64_t>> md_events;      // last written, per member
  std::vector<std::optional<uint64_t>> bitmap_events;  // last written, per member
  std::optional<uint64_t> file_bitmap_events;          // last written to the file
  std::optional<uint64_t> degraded_since;  // events of the first md sb listing a faulty member
  absl::btree_set<uint64_t> written_while_degraded;
  // With record_copies: per member, the chunks a data write covered whole (resync and
  // recovery copy a chunk of up to raid1::kWholeCopySectors whole, if any member holds
  // data in it), and the data sectors written (array sectors; a larger chunk is copied
  // only where members hold data).
  bool record_copies = false;
  std::vector<absl::btree_set<uint64_t>> whole_chunks_written;
  std::vector<std::vector<io::SectorRange>> sectors_written;
};

// The index a Raid1TraceChecker over the external bitmap device takes.
inline constexpr size_t kTraceBitmapFile = ~size_t{0};

class Raid1TraceChecker : public io::BlockDeviceWrapper {
 public:
  // `index`: the member's position in the array, or kTraceBitmapFile for the external
  // bitmap device. Registers `ssd` in `state`.
  Raid1TraceChecker(sim::SimSsd& ssd, size_t index, std::shared_ptr<Raid1TraceState> state);

  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;

 private:
  // Records a violation found on this device's stream.
  void Report(Violation violation);
  // True if the write is a data write (and its chunks were counted in flight).
  bool CheckWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data,
                  uint32_t flags);
  void CheckBitmapWrite(uint64_t offset, std::span<const std::byte> data, uint32_t flags);
  void CheckMdWrite(std::span<const std::byte> data);
  // I2 for a data write; false if this member is not fresh (being recovered).
  bool CheckDataWrite(uint64_t first_chunk, uint64_t last_chunk);
  void EndData(uint64_t sector, uint64_t sectors);

  sim::SimSsd& ssd_;
  size_t index_;
  std::shared_ptr<Raid1TraceState> state_;
};

class Raid1AckChecker : public io::BlockDeviceWrapper {
 public:
  // `array` is the device under test; `lagging_mask`: members allowed to lag.
  Raid1AckChecker(io::BlockDevice& array, uint32_t lagging_mask,
                  std::shared_ptr<Raid1TraceState> state);

  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;

 private:
  uint32_t lagging_mask_;
  std::shared_ptr<Raid1TraceState> state_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_INVARIANTS_RAID1_INVARIANTS_H_
