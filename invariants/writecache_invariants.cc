// Invariant checkers for the write-back cache on raw images and IO streams
// (writecache_invariants.h).
#include "invariants/writecache_invariants.h"

#include <algorithm>
#include <cstring>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "harness/sector_stamp.h"

namespace powercut::verifier {
namespace {

using writecache::Geometry;
using writecache::MemoryEntry;
using writecache::ParsedMetadata;

void ReadSectorsInto(const sim::DiskImage& image, uint64_t sector, std::span<std::byte> out) {
  image.Read(sector, out);
}

// From `sector` of a pmem image (zeroes past its end).
void ReadSectorsInto(std::span<const std::byte> image, uint64_t sector, std::span<std::byte> out) {
  const uint64_t begin = std::min<uint64_t>(sector * io::kSectorSize, image.size());
  const uint64_t end = std::min<uint64_t>(begin + out.size(), image.size());
  std::copy(image.begin() + static_cast<ptrdiff_t>(begin), image.begin() + static_cast<ptrdiff_t>(end),
            out.begin());
  std::fill(out.begin() + static_cast<ptrdiff_t>(end - begin), out.end(), std::byte{0});
}

// Calls visit(k, bytes) for sector k = 0, 1, ... of the `count` sectors from `sector`
// of an image, without copying, until visit returns false.
template <typename Visit>
void VisitSectors(const sim::DiskImage& image, uint64_t sector, uint64_t count, Visit visit) {
  bool more = true;
  image.ForEachRun(sector, count, [&](uint64_t first, uint64_t n, const sim::SectorBytes* data) {
    for (uint64_t i = 0; i < n && more; ++i) {
      more = visit(first - sector + i, std::span<const std::byte>(data ? data[i] : *sim::ZeroSector()));
    }
  });
}

template <typename Visit>
void VisitSectors(std::span<const std::byte> image, uint64_t sector, uint64_t count, Visit visit) {
  for (uint64_t k = 0; k < count; ++k) {
    const uint64_t offset = (sector + k) * io::kSectorSize;
    if (offset + io::kSectorSize <= image.size()) {
      if (!visit(k, image.subspan(offset, io::kSectorSize))) return;
    } else {
      sim::SectorBytes tail{};  // past the end: zeroes, as ReadSectorsInto reads it
      ReadSectorsInto(image, sector + k, tail);
      if (!visit(k, std::span<const std::byte>(tail))) return;
    }
  }
}

template <typename Image>
std::vector<std::byte> ReadSectors(const Image& image, uint64_t sector, uint64_t count) {
  std::vector<std::byte> out(count * io::kSectorSize);
  ReadSectorsInto(image, sector, out);
  return out;
}

uint64_t SectorCount(const sim::DiskImage& image) { return image.sector_count(); }
uint64_t SectorCount(std::span<const std::byte> image) { return image.size() / io::kSectorSize; }

// Whether every sector of data block `index` holds data written for its sector;
// otherwise what it holds.
template <typename Image>
std::optional<std::string> CheckBlock(const Image& cache, uint64_t start_sector,
                                      const Geometry& geometry, uint64_t index,
                                      const MemoryEntry& entry) {
  std::optional<std::string> problem;
  VisitSectors(cache, start_sector + geometry.DataSector(index), geometry.block_sectors(),
               [&](uint64_t k, std::span<const std::byte> bytes) {
                 const DecodedSector found = DecodeSector(bytes, entry.original_sector + k);
                 if (found.kind == SectorKind::kStamped) return true;
                 problem = absl::StrCat("entry ", index, " (sector ", entry.original_sector,
                                        ", seq ", entry.seq_count,
                                        ") is committed but its block holds ", found.Describe(),
                                        " in its sector ", k);
                 return false;
               });
  return problem;
}

template <typename Image>
absl::StatusOr<ParsedMetadata> ReadMetadataOf(const Image& cache, uint64_t start_sector) {
  const std::vector<std::byte> first = ReadSectors(cache, start_sector, 1);
  const writecache::Superblock sb = writecache::DecodeSuperblock(first);
  if (sb.magic == 0) return absl::NotFoundError("the cache is not formatted");
  absl::StatusOr<Geometry> geometry = writecache::GeometryFor(sb.n_blocks, sb.block_size);
  if (!geometry.ok()) return geometry.status();
  if (start_sector + geometry->metadata_sectors() > SectorCount(cache)) {
    return absl::InvalidArgumentError("the metadata area does not fit on the cache device");
  }
  return writecache::ParseMetadata(ReadSectors(cache, start_sector, geometry->metadata_sectors()));
}

// E1 for the entries of `metadata` that superblock seq `seq` commits. `known_good(i, e)`
// lets a caller skip blocks it has already checked; `found_good(i, e)` hears of each
// block that passed.
template <typename Image, typename KnownGood, typename FoundGood>
std::optional<Violation> CheckCommittedDataOf(const Image& cache, uint64_t start_sector,
                                              const ParsedMetadata& metadata, uint64_t seq,
                                              KnownGood known_good, FoundGood found_good) {
  const Geometry geometry = *writecache::GeometryFor(metadata.superblock.n_blocks,
                                                      metadata.superblock.block_size);
  for (uint64_t i = 0; i < metadata.entries.size(); ++i) {
    const MemoryEntry& e = metadata.entries[i];
    if (e.seq_count >= seq || known_good(i, e)) continue;
    if (auto problem = CheckBlock(cache, start_sector, geometry, i, e)) {
      return InvariantViolated("E1", " (committed data durable): superblock seq ", seq, ": ",
                               *problem);
    }
    found_good(i, e);
  }
  return std::nullopt;
}

template <typename Image>
std::optional<Violation> CheckCommittedDataOf(const Image& cache, uint64_t start_sector,
                                              const ParsedMetadata& metadata,
                                              const absl::btree_set<uint64_t>& undefined_blocks) {
  return CheckCommittedDataOf(
      cache, start_sector, metadata, metadata.superblock.seq_count,
      [&](uint64_t i, const MemoryEntry&) { return undefined_blocks.contains(i); },
      [](uint64_t, const MemoryEntry&) {});
}

// E5/W2: `data`, written to data block `index` from its first sector on, must not be
// foreign to the sector the block's durable entry commits it to.
std::optional<Violation> CheckReuse(const ParsedMetadata& durable, uint64_t index,
                                    std::span<const std::byte> data) {
  if (index >= durable.entries.size()) return std::nullopt;
  const MemoryEntry& e = durable.entries[index];
  if (!durable.IsCommitted(e)) return std::nullopt;
  const DecodedSector found = DecodeSector(data.first(io::kSectorSize), e.original_sector);
  if (found.kind != SectorKind::kForeign) return std::nullopt;
  return InvariantViolated("E5/W2", " (reuse after a durable free): block ", index,
                           " is rewritten with data for sector ", found.target_sector,
                           " while its durable entry still commits it to sector ",
                           e.original_sector, " (seq ", e.seq_count, ")");
}

}  // namespace

absl::StatusOr<ParsedMetadata> ReadCacheMetadata(const sim::DiskImage& cache, uint64_t start_sector) {
  return ReadMetadataOf(cache, start_sector);
}

absl::StatusOr<ParsedMetadata> ReadCacheMetadata(std::span<const std::byte> pmem,
                                                 uint64_t start_sector) {
  return ReadMetadataOf(pmem, start_sector);
}

std::optional<Violation> CheckCommittedData(const sim::DiskImage& cache, uint64_t start_sector,
                                            const ParsedMetadata& metadata,
                                            const absl::btree_set<uint64_t>& undefined_blocks) {
  return CheckCommittedDataOf(cache, start_sector, metadata, undefined_blocks);
}

std::optional<Violation> CheckCommittedData(std::span<const std::byte> pmem,
                                            uint64_t start_sector,
                                            const ParsedMetadata& metadata,
                                            const absl::btree_set<uint64_t>& undefined_blocks) {
  return CheckCommittedDataOf(pmem, start_sector, metadata, undefined_blocks);
}

std::optional<Violation> CheckRecovered(const ParsedMetadata& metadata) {
  absl::btree_map<uint64_t, uint64_t> committed;  // sector -> entry index
  for (uint64_t i = 0; i < metadata.entries.size(); ++i) {
    const MemoryEntry& e = metadata.entries[i];
    if (metadata.IsCommitted(e)) {
      auto [it, inserted] = committed.emplace(e.original_sector, i);
      if (!inserted) {
        return Violation{.text = absl::StrCat("after recovery, entries ", it->second, " and ", i,
                                              " are both committed for sector ",
                                              e.original_sector)};
      }
    } else if (e.seq_count != writecache::kFreeSeq) {
      return Violation{.text = absl::StrCat(
                           "after recovery, entry ", i, " (sector ", e.original_sector, ", seq ",
                           e.seq_count, ") is neither committed nor free (superblock seq ",
                           metadata.superblock.seq_count, "): free + used != n_blocks")};
    }
  }
  return std::nullopt;
}

CacheTraceChecker::CacheTraceChecker(sim::SimSsd& cache, io::BlockDevice& below,
                                     uint64_t start_sector,
                                     std::shared_ptr<CacheTraceFindings> violations)
    : BlockDeviceWrapper(below),
      cache_(cache),
      start_sector_(start_sector),
      violations_(std::move(violations)) {
  cache_.SetDurableObserver(
      [this](uint64_t sector, uint64_t sectors) { OnDurable(sector, sectors); });
}

CacheTraceChecker::~CacheTraceChecker() { cache_.SetDurableObserver(nullptr); }

void CacheTraceChecker::Report(Violation violation) {
  if (violations_->found.size() < 16) violations_->found.push_back(std::move(violation));
}

void CacheTraceChecker::OnDurable(uint64_t sector, uint64_t sectors) {
  const uint64_t end = sector + sectors;
  if (!durable_ || sector < data_start_) durable_stale_ = true;
  if (end <= data_start_ || verified_for_.empty()) return;
  const uint64_t first = sector <= data_start_ ? 0 : (sector - data_start_) / block_sectors_;
  const uint64_t last = std::min<uint64_t>((end - 1 - data_start_) / block_sectors_ + 1,
                                           verified_for_.size());
  for (uint64_t i = first; i < last; ++i) verified_for_[i] = kUnverified;
}

const ParsedMetadata* CacheTraceChecker::DurableMetadata() {
  if (durable_stale_) {
    durable_stale_ = false;
    absl::StatusOr<ParsedMetadata> parsed = ReadCacheMetadata(cache_.durable(), start_sector_);
    if (!parsed.ok()) {
      durable_.reset();
      verified_for_.clear();
      return nullptr;
    }
    const Geometry geometry = *writecache::GeometryFor(parsed->superblock.n_blocks,
                                                        parsed->superblock.block_size);
    const uint64_t data_start = start_sector_ + geometry.metadata_sectors();
    if (!durable_ || data_start != data_start_ || geometry.block_sectors() != block_sectors_ ||
        parsed->entries.size() != verified_for_.size()) {
      data_start_ = data_start;
      block_sectors_ = geometry.block_sectors();
      verified_for_.assign(parsed->entries.size(), kUnverified);
    }
    durable_ = *std::move(parsed);
  }
  return durable_ ? &*durable_ : nullptr;
}

void CacheTraceChecker::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                                    uint32_t flags, io::IoCallback done) {
  if (const ParsedMetadata* durable = DurableMetadata()) {
    if (sector == start_sector_ && writecache::LoadU32(data, 0) == writecache::kMagic) {
      const uint64_t seq = writecache::LoadU64(data, writecache::kSeqCountOffset);
      if (last_seq_ && seq < *last_seq_) {
        Report(Violation{.text = absl::StrCat("superblock seq_count decreased from ", *last_seq_,
                                            " to ", seq)});
      }
      // A superblock write that fails leaves the device's (a recovery that re-reads it,
      // a resume after the error, may write that one back): it does not count.
      done = [this, seq, before = last_seq_, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok() && last_seq_ == seq) last_seq_ = before;
        done(std::move(status));
      };
      last_seq_ = seq;
      if (seq > durable->superblock.seq_count) CheckCommit(seq, *durable);
    } else if (sector >= data_start_) {
      CheckDataWrite(sector, data, *durable);
      const uint64_t first = (sector - data_start_) / block_sectors_;
      const uint64_t last = (sector + data.size() / io::kSectorSize - 1 - data_start_) / block_sectors_;
      const bool fua = (flags & io::kFua) != 0;
      done = [this, first, last, fua, done = std::move(done)](absl::Status status) mutable {
        OnDataWriteDone(first, last, fua, status);
        done(std::move(status));
      };
    }
  }
  BlockDeviceWrapper::SubmitWrite(sector, data, flags, std::move(done));
}

void CacheTraceChecker::SubmitFlush(io::IoCallback done) {
  std::vector<uint64_t> settles(rewritten_.begin(), rewritten_.end());
  BlockDeviceWrapper::SubmitFlush(
      [this, settles = std::move(settles), done = std::move(done)](absl::Status status) mutable {
        if (status.ok()) {
          for (uint64_t block : settles) {
            if (rewritten_.erase(block) != 0) violations_->failed_blocks.erase(block);
          }
        }
        done(std::move(status));
      });
}

void CacheTraceChecker::OnDataWriteDone(uint64_t first, uint64_t last, bool fua,
                                        const absl::Status& status) {
  for (uint64_t i = first; i <= last; ++i) {
    if (!status.ok()) {
      violations_->failed_blocks.insert(i);
      rewritten_.erase(i);
    } else if (fua) {
      violations_->failed_blocks.erase(i);
      rewritten_.erase(i);
    } else if (violations_->failed_blocks.contains(i)) {
      rewritten_.insert(i);
    }
  }
}

void CacheTraceChecker::CheckCommit(uint64_t new_seq, const ParsedMetadata& durable) {
  const Geometry geometry = *writecache::GeometryFor(durable.superblock.n_blocks,
                                                      durable.superblock.block_size);
  // E2: everything written to the metadata area so far is durable (the superblock's
  // own 64 bytes aside: they are what this write changes).
  // Sectors the two images share are equal without a look at their bytes.
  for (uint64_t k = 0; k < geometry.metadata_sectors(); ++k) {
    const sim::SectorBytes* visible = cache_.visible().Get(start_sector_ + k);
    const sim::SectorBytes* stable = cache_.durable().Get(start_sector_ + k);
    if (visible == stable) continue;
    const sim::SectorBytes& zero = *sim::ZeroSector();
    const sim::SectorBytes& v = visible ? *visible : zero;
    const sim::SectorBytes& d = stable ? *stable : zero;
    const size_t skip = k == 0 ? writecache::kSuperblockBytes : 0;
    const auto differ = std::mismatch(v.begin() + skip, v.end(), d.begin() + skip);
    if (differ.first == v.end()) continue;
    const uint64_t i = k * io::kSectorSize + static_cast<uint64_t>(differ.first - v.begin());
    const uint64_t entry = (i - writecache::kSuperblockBytes) / writecache::kEntryBytes;
    Report(InvariantViolated("E2", " (entries durable before the commit): seq_count ", new_seq,
                           " is being written while metadata byte ", i, " (entry ", entry,
                           ") is not durable"));
    return;
  }
  // E1: every entry the new seq commits has durable data. A block whose durable data
  // was found good for the same sector and has not changed since needs no second look.
  auto problem = CheckCommittedDataOf(
      cache_.durable(), start_sector_, durable, new_seq,
      [&](uint64_t i, const MemoryEntry& e) {
        return verified_for_[i] == e.original_sector || violations_->failed_blocks.contains(i);
      },
      [&](uint64_t i, const MemoryEntry& e) { verified_for_[i] = e.original_sector; });
  if (problem) {
    Report(problem->In(absl::StrCat("while writing superblock seq_count ", new_seq, ": ")));
  }
}

void CacheTraceChecker::CheckDataWrite(uint64_t sector, std::span<const std::byte> data,
                                       const ParsedMetadata& durable) {
  const uint64_t sectors = data.size() / io::kSectorSize;
  for (uint64_t off = 0; off < sectors; ++off) {
    const uint64_t s = sector + off;
    // One check per block, at its first sector.
    if ((s - data_start_) % block_sectors_ != 0) continue;
    const uint64_t index = (s - data_start_) / block_sectors_;
    if (index >= durable.entries.size()) break;
    if (auto problem = CheckReuse(durable, index, data.subspan(off * io::kSectorSize))) {
      Report(*std::move(problem));
    }
  }
}

PmemTraceChecker::PmemTraceChecker(sim::SimPmem& pmem, uint64_t start_sector,
                                   std::shared_ptr<CacheTraceFindings> violations)
    : pmem_(pmem), start_sector_(start_sector), violations_(std::move(violations)) {}

void PmemTraceChecker::Report(Violation violation) {
  if (violations_->found.size() < 16) violations_->found.push_back(std::move(violation));
}

void PmemTraceChecker::Store(uint64_t offset, std::span<const std::byte> data) {
  Check(offset, data);
  pmem_.Store(offset, data);
}

void PmemTraceChecker::StoreFlushing(uint64_t offset, std::span<const std::byte> data) {
  Check(offset, data);
  pmem_.StoreFlushing(offset, data);
}

void PmemTraceChecker::Check(uint64_t offset, std::span<const std::byte> data) {
  const uint64_t area = start_sector_ * io::kSectorSize;
  std::vector<std::byte> superblock(writecache::kSuperblockBytes);
  pmem_.Load(area, superblock);
  const writecache::Superblock sb = writecache::DecodeSuperblock(superblock);
  if (sb.magic != writecache::kMagic) return;  // not formatted yet
  absl::StatusOr<Geometry> geometry = writecache::GeometryFor(sb.n_blocks, sb.block_size);
  if (!geometry.ok()) return;
  const uint64_t seq_at = area + writecache::kSeqCountOffset;
  const uint64_t data_start = area + geometry->metadata_bytes;
  const uint64_t end = offset + data.size();
  const bool stores_seq = offset <= seq_at && end >= seq_at + 8;
  if (!stores_seq && end <= data_start) return;
  const std::vector<std::byte> durable_image = pmem_.DurableImage();
  absl::StatusOr<ParsedMetadata> durable = ReadCacheMetadata(durable_image, start_sector_);
  if (!durable.ok()) return;  // the magic is not durable yet
  if (stores_seq) {
    const uint64_t seq = writecache::LoadU64(data, seq_at - offset);
    if (last_seq_ && seq < *last_seq_) {
      Report(Violation{.text = absl::StrCat("superblock seq_count decreased from ", *last_seq_,
                                            " to ", seq)});
    }
    last_seq_ = seq;
    if (seq <= durable->superblock.seq_count) return;
    // E2: every entry stored so far is durable (the superblock aside) ...
    std::vector<std::byte> visible(geometry->metadata_bytes);
    pmem_.Load(area, visible);
    for (uint64_t i = writecache::kSuperblockBytes; i < visible.size(); ++i) {
      if (visible[i] != durable_image[area + i]) {
        Report(InvariantViolated("E2", " (entries durable before the commit): seq_count ", seq,
                               " is being stored while metadata byte ", i, " (entry ",
                               (i - writecache::kSuperblockBytes) / writecache::kEntryBytes,
                               ") is not durable"));
        return;
      }
    }
    // ... and so is the data of every entry the new seq commits (E1).
    ParsedMetadata committed = *durable;
    committed.superblock.seq_count = seq;
    if (auto problem = CheckCommittedData(durable_image, start_sector_, committed)) {
      Report(problem->In(absl::StrCat("while storing superblock seq_count ", seq, ": ")));
    }
    return;
  }
  // E5/W2: a data block is rewritten only once its durable entry no longer commits it
  // to another sector (checked on the first sector of each block the store starts).
  const uint64_t block = geometry->block_size;
  const uint64_t first = offset <= data_start ? 0 : (offset - data_start + block - 1) / block;
  for (uint64_t index = first; data_start + index * block + io::kSectorSize <= end; ++index) {
    const uint64_t at = data_start + index * block;
    if (auto problem = CheckReuse(*durable, index, data.subspan(at - offset))) {
      Report(*std::move(problem));
    }
  }
}

}  // namespace powercut::verifier
