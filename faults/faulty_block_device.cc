// FaultyBlockDevice: applies a FaultPlan to each IO on its way to the device below
// (the model is documented in fault_plan.h and faulty_block_device.h).
//
// Per IO, in this order: count the ordinal; forward malformed requests untouched; decide
// an IO error (which may drop the IO or let it land); then, for IOs that go on, apply
// the plan's other faults. So a dropped IO carries no other fault, and every counted
// fault is one that really happened to the IO stream.
#include "faults/faulty_block_device.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace powercut::faults {

FaultCounts& FaultCounts::operator+=(const FaultCounts& other) {
  io_errors += other.io_errors;
  io_errors_landed += other.io_errors_landed;
  latent_sector_errors += other.latent_sector_errors;
  latent_sectors_cleared += other.latent_sectors_cleared;
  misdirected_writes += other.misdirected_writes;
  lying_flushes += other.lying_flushes;
  fua_dropped += other.fua_dropped;
  return *this;
}

FaultyBlockDevice::FaultyBlockDevice(sim::World& world, io::BlockDevice& wrapped, FaultPlan plan)
    : io::BlockDeviceWrapper(wrapped),
      world_(world),
      plan_(std::move(plan)),
      prng_(world.ForkPrng("faults:" + wrapped.name())),
      latent_(plan_.latent_sectors) {
  if (absl::Status valid = Validate(plan_, wrapped.sector_count()); !valid.ok()) {
    // A programming error in the caller: a plan must be validated before use.
    std::fprintf(stderr, "FaultyBlockDevice over %s: %s\n", wrapped.name().c_str(),
                 std::string(valid.message()).c_str());
    std::abort();
  }
}

absl::StatusOr<std::unique_ptr<FaultyBlockDevice>> FaultyBlockDevice::Create(
    sim::World& world, io::BlockDevice& wrapped, FaultPlan plan) {
  if (absl::Status valid = Validate(plan, wrapped.sector_count()); !valid.ok()) return valid;
  return std::make_unique<FaultyBlockDevice>(world, wrapped, std::move(plan));
}

bool FaultyBlockDevice::IoErrorDue(uint64_t ordinal, FaultOps op) {
  const bool listed = plan_.io_error_ordinals.contains(ordinal);
  // Drawn whether or not the IO is listed, so listing an ordinal never shifts the
  // random choices made for later IOs.
  const bool drawn = plan_.io_error_ppm > 0 && (plan_.io_error_ops & op) != 0 &&
                     prng_.Chance(plan_.io_error_ppm, kPpm);
  return listed || drawn;
}

bool FaultyBlockDevice::InjectIoError(uint64_t ordinal, std::string_view what, uint64_t sector,
                                      uint64_t sectors, bool may_land) {
  // A real device may fail a command before it runs (transport, queue) or report an
  // error after it ran (or partly ran); the engine cannot tell which.
  const bool lands = may_land && prng_.Chance(1, 2);
  ++counts_.io_errors;
  if (lands) ++counts_.io_errors_landed;
  const std::string flags =
      may_land ? absl::StrCat(std::string(what), lands ? " landed" : " dropped") : std::string(what);
  world_.Record(name(), "fault.ioerror", ordinal, sector, sectors, flags);
  return lands;
}

absl::Status FaultyBlockDevice::IoError(uint64_t ordinal, std::string_view what) const {
  return absl::DataLossError(absl::StrCat(name(), ": injected IO error on ", std::string(what),
                                          " (IO #", ordinal, ")"));
}

void FaultyBlockDevice::CompleteLater(io::IoCallback done, absl::Status status) {
  world_.CallAt(world_.Now() + plan_.fault_latency,
                [done = std::move(done), status = std::move(status)]() mutable {
                  done(std::move(status));
                });
}

std::optional<uint64_t> FaultyBlockDevice::FirstLatent(uint64_t sector, uint64_t sectors) const {
  auto it = latent_.lower_bound(sector);
  if (it == latent_.end() || *it >= sector + sectors) return std::nullopt;
  return *it;
}

void FaultyBlockDevice::Heal(uint64_t sector, uint64_t sectors) {
  auto it = latent_.lower_bound(sector);
  while (it != latent_.end() && *it < sector + sectors) {
    world_.Record(name(), "fault.lse.healed", 0, *it, 1);
    ++counts_.latent_sectors_cleared;
    it = latent_.erase(it);
  }
}

uint64_t FaultyBlockDevice::MisdirectedSector(uint64_t sector, uint64_t sectors) const {
  // The request was validated, so sectors <= sector_count() and sector <= last_start.
  const uint64_t last_start = sector_count() - sectors;
  const int64_t offset = plan_.misdirect_offset;
  if (offset < 0) {
    const uint64_t back = uint64_t{0} - static_cast<uint64_t>(offset);
    return back > sector ? 0 : sector - back;
  }
  const uint64_t ahead = static_cast<uint64_t>(offset);
  return ahead > last_start - sector ? last_start : sector + ahead;
}

void FaultyBlockDevice::ForwardWrite(uint64_t sector, uint64_t sectors,
                                     std::span<const std::byte> data, uint32_t flags,
                                     bool discard, std::optional<absl::Status> injected,
                                     io::IoCallback done) {
  auto completion = [this, sector, sectors, injected = std::move(injected),
                     done = std::move(done)](absl::Status status) mutable {
    if (injected) return done(*std::move(injected));
    // A write that completed at these sectors rewrote them: the drive has remapped any
    // latent error there.
    if (status.ok() && !latent_.empty()) Heal(sector, sectors);
    done(std::move(status));
  };
  if (discard) {
    wrapped().SubmitDiscard(sector, sectors, std::move(completion));
  } else {
    wrapped().SubmitWrite(sector, data, flags, std::move(completion));
  }
}

void FaultyBlockDevice::SubmitRead(uint64_t sector, std::span<std::byte> buffer,
                                   io::IoCallback done) {
  if (!armed_) return wrapped().SubmitRead(sector, buffer, std::move(done));
  const uint64_t ordinal = ++ios_;
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return wrapped().SubmitRead(sector, buffer, std::move(done));
  const uint64_t sectors = buffer.size() / io::kSectorSize;
  if (IoErrorDue(ordinal, kFaultRead)) {
    InjectIoError(ordinal, "read", sector, sectors, /*may_land=*/false);
    return CompleteLater(std::move(done), IoError(ordinal, "read"));
  }
  if (std::optional<uint64_t> bad = FirstLatent(sector, sectors)) {
    ++counts_.latent_sector_errors;
    world_.Record(name(), "fault.lse", ordinal, sector, sectors, absl::StrCat("bad ", *bad));
    return CompleteLater(std::move(done),
                         absl::DataLossError(absl::StrCat(name(), ": latent sector error at sector ",
                                                          *bad, " (read #", ordinal, ")")));
  }
  wrapped().SubmitRead(sector, buffer, std::move(done));
}

void FaultyBlockDevice::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                                    uint32_t flags, io::IoCallback done) {
  if (!armed_) return wrapped().SubmitWrite(sector, data, flags, std::move(done));
  const uint64_t ordinal = ++ios_;
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return wrapped().SubmitWrite(sector, data, flags, std::move(done));
  const uint64_t write = ++writes_;
  const uint64_t sectors = data.size() / io::kSectorSize;

  std::optional<absl::Status> injected;
  if (IoErrorDue(ordinal, kFaultWrite)) {
    injected = IoError(ordinal, "write");
    if (!InjectIoError(ordinal, "write", sector, sectors, /*may_land=*/true)) {
      return CompleteLater(std::move(done), *std::move(injected));
    }
  }
  if (plan_.fua_dropped && (flags & io::kFua) != 0) {
    flags &= ~static_cast<uint32_t>(io::kFua);
    ++counts_.fua_dropped;
    world_.Record(name(), "fault.fuadropped", ordinal, sector, sectors);
  }
  if (plan_.lying_flush && (flags & io::kPreflush) != 0) {
    flags &= ~static_cast<uint32_t>(io::kPreflush);
    ++counts_.lying_flushes;
    world_.Record(name(), "fault.lyingflush", ordinal, sector, sectors, "PREFLUSH");
  }
  uint64_t lands_at = sector;
  if (plan_.misdirected_writes.contains(write)) {
    lands_at = MisdirectedSector(sector, sectors);
    if (lands_at != sector) {
      ++counts_.misdirected_writes;
      world_.Record(name(), "fault.misdirect", ordinal, sector, sectors,
                    absl::StrCat("to ", lands_at));
    }
  }
  ForwardWrite(lands_at, sectors, data, flags, /*discard=*/false, std::move(injected),
               std::move(done));
}

void FaultyBlockDevice::SubmitFlush(io::IoCallback done) {
  if (!armed_) return wrapped().SubmitFlush(std::move(done));
  const uint64_t ordinal = ++ios_;
  if (IoErrorDue(ordinal, kFaultFlush)) {
    // A lying device never performs a flush, failed or not.
    absl::Status error = IoError(ordinal, "flush");
    if (!InjectIoError(ordinal, "flush", 0, 0, /*may_land=*/!plan_.lying_flush)) {
      return CompleteLater(std::move(done), std::move(error));
    }
    return wrapped().SubmitFlush(
        [error = std::move(error), done = std::move(done)](absl::Status) mutable {
          done(std::move(error));
        });
  }
  if (plan_.lying_flush) {
    ++counts_.lying_flushes;
    world_.Record(name(), "fault.lyingflush", ordinal);
    return CompleteLater(std::move(done), absl::OkStatus());
  }
  wrapped().SubmitFlush(std::move(done));
}

void FaultyBlockDevice::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (!armed_) return wrapped().SubmitDiscard(sector, sectors, std::move(done));
  const uint64_t ordinal = ++ios_;
  if (!io::ValidateRange(sector_count(), sector, sectors).ok()) {
    return wrapped().SubmitDiscard(sector, sectors, std::move(done));
  }
  std::optional<absl::Status> injected;
  if (IoErrorDue(ordinal, kFaultDiscard)) {
    injected = IoError(ordinal, "discard");
    if (!InjectIoError(ordinal, "discard", sector, sectors, /*may_land=*/true)) {
      return CompleteLater(std::move(done), *std::move(injected));
    }
  }
  ForwardWrite(sector, sectors, {}, io::kNoFlags, /*discard=*/true, std::move(injected),
               std::move(done));
}

std::vector<io::SectorRange> FaultyBlockDevice::DataRanges(uint64_t first, uint64_t count) const {
  std::vector<io::SectorRange> ranges = BlockDeviceWrapper::DataRanges(first, count);
  for (auto it = latent_.lower_bound(first); it != latent_.end() && *it < first + count; ++it) {
    ranges.push_back({*it, 1});
  }
  return io::Unite(std::move(ranges));
}

}  // namespace powercut::faults
