// CowStore: requests, commits, checkpoints and recovery (cow_store.h).
#include "cow_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"

namespace cowstore {

namespace io = powercut::io;
namespace runtime = powercut::runtime;

CowStore::CowStore(runtime::Scheduler& scheduler, io::BlockDevice& disk, const Geometry& geometry,
                   bool broken)
    : scheduler_(scheduler),
      disk_(disk),
      geometry_(geometry),
      broken_(broken),
      map_(geometry.logical_blocks(), kUnmapped),
      committed_(geometry.logical_blocks(), kUnmapped),
      pins_(geometry.physical_blocks(), 0),
      free_on_unpin_(geometry.physical_blocks(), false),
      commit_mutex_(scheduler, "cow commit"),
      alloc_mutex_(scheduler, "cow alloc"),
      space_(scheduler, "cow free blocks") {}

absl::StatusOr<std::unique_ptr<CowStore>> CowStore::Create(runtime::Scheduler& scheduler,
                                                           io::BlockDevice& disk,
                                                           const CowOptions& options) {
  absl::StatusOr<Geometry> geometry =
      Geometry::Make(options.logical_sectors, options.journal_sectors, options.spare_blocks);
  if (!geometry.ok()) return geometry.status();
  if (disk.sector_count() < geometry->DeviceSectors()) {
    return absl::InvalidArgumentError(absl::StrCat("cow: the device has ", disk.sector_count(),
                                                   " sectors, the store needs ",
                                                   geometry->DeviceSectors()));
  }
  return std::unique_ptr<CowStore>(new CowStore(scheduler, disk, *geometry, options.broken));
}

// ---- Requests ------------------------------------------------------------------------

absl::Status CowStore::CheckRequest(uint64_t sector, uint64_t sectors) const {
  if (absl::Status valid = io::ValidateRange(sector_count(), sector, sectors); !valid.ok()) {
    return valid;
  }
  if (sector % kBlockSectors != 0 || sectors % kBlockSectors != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cow: IO of ", sectors, " sectors at ", sector,
                                                   " is not aligned to 4 KiB blocks"));
  }
  return absl::OkStatus();
}

void CowStore::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok()) valid = CheckRequest(sector, buffer.size() / kSectorBytes);
  if (!valid.ok()) return done(valid);
  scheduler_.Spawn("cow-read", [this, sector, buffer, done = std::move(done)]() mutable {
    RunRead(sector, buffer, std::move(done));
  }, runtime::FiberKind::kDaemon);
}

void CowStore::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                           io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = CheckRequest(sector, data.size() / kSectorBytes);
  if (!valid.ok()) return done(valid);
  scheduler_.Spawn("cow-write", [this, sector, data, flags, done = std::move(done)]() mutable {
    RunWrite(sector, data, flags, std::move(done));
  }, runtime::FiberKind::kDaemon);
}

void CowStore::SubmitFlush(io::IoCallback done) {
  scheduler_.Spawn("cow-flush", [this, done = std::move(done)]() mutable { done(Commit()); },
                   runtime::FiberKind::kDaemon);
}

void CowStore::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (absl::Status valid = CheckRequest(sector, sectors); !valid.ok()) return done(valid);
  scheduler_.Spawn("cow-discard", [this, sector, sectors, done = std::move(done)]() mutable {
    for (uint64_t b = sector / kBlockSectors; b < (sector + sectors) / kBlockSectors; ++b) {
      Remap(b, kUnmapped);
    }
    done(absl::OkStatus());
  }, runtime::FiberKind::kDaemon);
}

std::vector<io::SectorRange> CowStore::DataRanges(uint64_t first, uint64_t count) const {
  std::vector<io::SectorRange> ranges;
  if (count == 0) return ranges;
  const uint64_t end = first + count;
  for (uint64_t b = first / kBlockSectors; b * kBlockSectors < end; ++b) {
    if (map_[b] == kUnmapped) continue;
    const uint64_t from = std::max(first, b * kBlockSectors);
    const uint64_t to = std::min(end, (b + 1) * kBlockSectors);
    if (!ranges.empty() && ranges.back().end() == from) {
      ranges.back().count += to - from;
    } else {
      ranges.push_back({from, to - from});
    }
  }
  return ranges;
}

void CowStore::RunRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  io::IoBatch batch(scheduler_, "cow read");
  std::vector<uint64_t> pinned;
  for (uint64_t i = 0; i < buffer.size() / kBlockBytes; ++i) {
    const uint64_t physical = map_[sector / kBlockSectors + i];
    std::span<std::byte> part = buffer.subspan(i * kBlockBytes, kBlockBytes);
    if (physical == kUnmapped) {
      std::fill(part.begin(), part.end(), std::byte{0});
      continue;
    }
    Pin(physical);
    pinned.push_back(physical);
    batch.Read(disk_, geometry_.PhysicalSector(physical), part);
  }
  absl::Status status = batch.Wait();
  for (uint64_t physical : pinned) Unpin(physical);
  done(std::move(status));
}

void CowStore::RunWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                        io::IoCallback done) {
  absl::Status status = (flags & io::kPreflush) ? Commit() : absl::OkStatus();
  // At most spare_blocks at a time, so a write larger than the spare area still fits.
  const uint64_t chunk = geometry_.physical_blocks() - geometry_.logical_blocks();
  const uint64_t blocks = data.size() / kBlockBytes;
  for (uint64_t at = 0; status.ok() && at < blocks; at += chunk) {
    const uint64_t count = std::min(chunk, blocks - at);
    status = WriteBlocks(sector / kBlockSectors + at, count,
                         data.subspan(at * kBlockBytes, count * kBlockBytes));
  }
  if (status.ok() && (flags & io::kFua)) status = Commit();
  done(std::move(status));
}

absl::Status CowStore::WriteBlocks(uint64_t first, uint64_t count, std::span<const std::byte> data) {
  absl::StatusOr<std::vector<uint64_t>> blocks = Allocate(count);
  if (!blocks.ok()) return blocks.status();
  io::IoBatch batch(scheduler_, "cow data");
  for (uint64_t i = 0; i < count; ++i) {
    batch.Write(disk_, geometry_.PhysicalSector((*blocks)[i]),
                data.subspan(i * kBlockBytes, kBlockBytes), io::kNoFlags);
  }
  if (absl::Status written = batch.Wait(); !written.ok()) {
    // Never mapped: nothing can point at these blocks, whatever reached them.
    for (uint64_t physical : *blocks) Release(physical);
    return written;
  }
  for (uint64_t i = 0; i < count; ++i) Remap(first + i, (*blocks)[i]);
  return absl::OkStatus();
}

// ---- Blocks --------------------------------------------------------------------------

absl::StatusOr<std::vector<uint64_t>> CowStore::Allocate(uint64_t count) {
  runtime::MutexLock lock(alloc_mutex_);
  std::vector<uint64_t> blocks;
  while (blocks.size() < count) {
    if (!free_.empty()) {
      blocks.push_back(*free_.begin());
      free_.erase(free_.begin());
    } else if (!replaced_.empty()) {
      if (absl::Status committed = Commit(); !committed.ok()) {
        for (uint64_t physical : blocks) Release(physical);
        return committed;
      }
    } else {
      // Blocks come back when writes in flight remap (then a commit frees what they
      // replaced) or when reads unpin.
      space_.Wait();
    }
  }
  return blocks;
}

void CowStore::Remap(uint64_t logical, uint64_t physical) {
  const uint64_t old = map_[logical];
  map_[logical] = physical;
  dirty_.insert(logical);
  if (old != kUnmapped) replaced_.push_back(old);
  space_.NotifyAll();
}

void CowStore::Unpin(uint64_t physical) {
  if (--pins_[physical] > 0 || !free_on_unpin_[physical]) return;
  free_on_unpin_[physical] = false;
  Release(physical);
}

void CowStore::Release(uint64_t physical) {
  if (pins_[physical] > 0) {
    free_on_unpin_[physical] = true;
    return;
  }
  free_.insert(physical);
  space_.NotifyAll();
}

// ---- Commits -------------------------------------------------------------------------

absl::Status CowStore::Commit() {
  runtime::MutexLock lock(commit_mutex_);
  if (dirty_.empty()) return absl::OkStatus();
  // Every change taken here belongs to a data write that already completed.
  std::vector<Mapping> changes;
  for (uint64_t logical : dirty_) changes.push_back({logical, map_[logical]});
  std::vector<uint64_t> replaced = std::move(replaced_);
  dirty_.clear();
  replaced_.clear();

  absl::Status status;
  const uint64_t records = (changes.size() + kMappingsPerRecord - 1) / kMappingsPerRecord;
  if (journal_used_ + records <= geometry_.journal_sectors()) {
    status = WriteJournal(changes);
  } else {
    std::vector<uint64_t> table = committed_;
    for (const Mapping& change : changes) table[change.logical] = change.physical;
    status = Checkpoint(table);
  }
  if (!status.ok()) {
    for (const Mapping& change : changes) dirty_.insert(change.logical);
    replaced_.insert(replaced_.end(), replaced.begin(), replaced.end());
    return status;
  }
  for (const Mapping& change : changes) committed_[change.logical] = change.physical;
  for (uint64_t physical : replaced) Release(physical);
  return absl::OkStatus();
}

absl::Status CowStore::WriteJournal(const std::vector<Mapping>& changes) {
  if (!broken_) {
    // The data the records point at is durable before any record can be.
    if (absl::Status flushed = io::FlushSync(scheduler_, disk_); !flushed.ok()) return flushed;
  }
  const uint64_t records = (changes.size() + kMappingsPerRecord - 1) / kMappingsPerRecord;
  std::vector<std::byte> sectors(records * kSectorBytes);
  io::IoBatch batch(scheduler_, "cow journal");
  for (uint64_t r = 0; r < records; ++r) {
    JournalRecord record{.generation = generation_, .seq = next_seq_ + r};
    const uint64_t from = r * kMappingsPerRecord;
    const uint64_t to = std::min<uint64_t>(changes.size(), from + kMappingsPerRecord);
    record.mappings.assign(changes.begin() + from, changes.begin() + to);
    std::span<std::byte> sector = std::span(sectors).subspan(r * kSectorBytes, kSectorBytes);
    EncodeJournalRecord(record, sector);
    batch.Write(disk_, Geometry::JournalStart() + journal_used_ + r, sector, io::kFua);
  }
  if (absl::Status written = batch.Wait(); !written.ok()) return written;
  journal_used_ += records;
  next_seq_ += records;
  return absl::OkStatus();
}

absl::Status CowStore::Checkpoint(const std::vector<uint64_t>& table) {
  const uint64_t generation = generation_ + 1;
  const std::vector<std::byte> area = EncodeTable(geometry_, table);
  if (absl::Status written = io::WriteSync(scheduler_, disk_, geometry_.TableStart(generation),
                                           area, io::kNoFlags);
      !written.ok()) {
    return written;
  }
  // The table, and the data it points at, durable before the superblock names it.
  if (absl::Status flushed = io::FlushSync(scheduler_, disk_); !flushed.ok()) return flushed;
  const Superblock superblock{.generation = generation,
                              .logical_blocks = geometry_.logical_blocks(),
                              .physical_blocks = geometry_.physical_blocks(),
                              .journal_sectors = geometry_.journal_sectors(),
                              .journal_first_seq = next_seq_,
                              .table_crc = Crc32c(area)};
  std::vector<std::byte> sector(kSectorBytes);
  EncodeSuperblock(superblock, sector);
  if (absl::Status written = io::WriteSync(scheduler_, disk_, Geometry::SuperblockSector(generation),
                                           sector, io::kFua);
      !written.ok()) {
    return written;
  }
  generation_ = generation;
  journal_used_ = 0;
  return absl::OkStatus();
}

// ---- Start ---------------------------------------------------------------------------

absl::Status CowStore::Start() {
  std::optional<Superblock> newest;
  for (uint64_t slot = 0; slot < 2; ++slot) {
    std::vector<std::byte> sector(kSectorBytes);
    if (absl::Status read =
            io::ReadSync(scheduler_, disk_, Geometry::SuperblockSector(slot), sector);
        !read.ok()) {
      return read;
    }
    absl::StatusOr<Superblock> superblock = DecodeSuperblock(sector);
    // A slot of the wrong parity is a stale copy (impossible unless corrupted): skipped.
    if (!superblock.ok() || Geometry::SuperblockSector(superblock->generation) !=
                                Geometry::SuperblockSector(slot)) {
      continue;
    }
    if (!newest || superblock->generation > newest->generation) newest = *superblock;
  }
  absl::Status status = newest ? Recover(*newest) : Format();
  if (!status.ok()) return status;
  return RebuildFreeList();
}

absl::Status CowStore::Format() {
  generation_ = 0;
  next_seq_ = 1;
  return Checkpoint(committed_);
}

absl::Status CowStore::Recover(const Superblock& superblock) {
  if (superblock.logical_blocks != geometry_.logical_blocks() ||
      superblock.physical_blocks != geometry_.physical_blocks() ||
      superblock.journal_sectors != geometry_.journal_sectors()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cow: the superblock describes ", superblock.logical_blocks, " logical blocks, ",
        superblock.physical_blocks, " physical, a journal of ", superblock.journal_sectors,
        " sectors; the options ", geometry_.logical_blocks(), ", ", geometry_.physical_blocks(),
        ", ", geometry_.journal_sectors()));
  }
  std::vector<std::byte> area(geometry_.TableSectors() * kSectorBytes);
  if (absl::Status read =
          io::ReadSync(scheduler_, disk_, geometry_.TableStart(superblock.generation), area);
      !read.ok()) {
    return read;
  }
  absl::StatusOr<std::vector<uint64_t>> table =
      DecodeTable(geometry_, area, superblock.table_crc);
  if (!table.ok()) return table.status();
  committed_ = std::move(*table);

  std::vector<std::byte> journal(geometry_.journal_sectors() * kSectorBytes);
  if (absl::Status read = io::ReadSync(scheduler_, disk_, Geometry::JournalStart(), journal);
      !read.ok()) {
    return read;
  }
  uint64_t seq = superblock.journal_first_seq;
  for (uint64_t r = 0; r < geometry_.journal_sectors(); ++r, ++seq) {
    absl::StatusOr<JournalRecord> record =
        DecodeJournalRecord(std::span(journal).subspan(r * kSectorBytes, kSectorBytes));
    if (!record.ok() || record->generation != superblock.generation || record->seq != seq) break;
    for (const Mapping& mapping : record->mappings) {
      if (mapping.logical >= geometry_.logical_blocks() ||
          (mapping.physical != kUnmapped && mapping.physical >= geometry_.physical_blocks())) {
        return absl::DataLossError(absl::StrCat("cow: journal record ", seq, " maps logical block ",
                                                mapping.logical, " to physical block ",
                                                mapping.physical));
      }
      committed_[mapping.logical] = mapping.physical;
    }
  }
  map_ = committed_;
  generation_ = superblock.generation;
  next_seq_ = seq;
  // A new generation: whatever follows the replayed records is never replayed.
  return Checkpoint(committed_);
}

absl::Status CowStore::RebuildFreeList() {
  std::vector<bool> used(geometry_.physical_blocks(), false);
  for (uint64_t logical = 0; logical < committed_.size(); ++logical) {
    const uint64_t physical = committed_[logical];
    if (physical == kUnmapped) continue;
    if (used[physical]) {
      return absl::DataLossError(
          absl::StrCat("cow: physical block ", physical, " is mapped twice (logical block ",
                       logical, " and another)"));
    }
    used[physical] = true;
  }
  free_.clear();
  for (uint64_t physical = 0; physical < used.size(); ++physical) {
    if (!used[physical]) free_.insert(physical);
  }
  return absl::OkStatus();
}

std::optional<std::string> CowStore::CheckConsistency() const {
  if (map_ != committed_) return "the map differs from what was committed";
  if (!dirty_.empty() || !replaced_.empty()) return "changes are pending before any IO";
  std::vector<bool> used(geometry_.physical_blocks(), false);
  uint64_t mapped = 0;
  for (uint64_t logical = 0; logical < map_.size(); ++logical) {
    const uint64_t physical = map_[logical];
    if (physical == kUnmapped) continue;
    if (used[physical] || free_.contains(physical)) {
      return absl::StrCat("physical block ", physical, " of logical block ", logical,
                          " is mapped twice or also free");
    }
    used[physical] = true;
    ++mapped;
  }
  if (mapped + free_.size() != geometry_.physical_blocks()) {
    return absl::StrCat(mapped, " mapped and ", free_.size(), " free blocks of ",
                        geometry_.physical_blocks());
  }
  return std::nullopt;
}

}  // namespace cowstore
