#include "sim/sim_ssd.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace powercut::sim {
namespace {

std::string_view FlagNames(uint32_t flags) {
  if ((flags & io::kFua) && (flags & io::kPreflush)) return "PREFLUSH|FUA";
  if (flags & io::kFua) return "FUA";
  if (flags & io::kPreflush) return "PREFLUSH";
  return {};
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimSsd>> SimSsd::Create(World& world, SimSsdOptions options,
                                                       std::optional<DiskImage> initial) {
  if (options.sectors == 0) return absl::InvalidArgumentError("SimSsd: zero sectors");
  for (const LatencyRange* range :
       {&options.read_latency, &options.write_latency, &options.flush_latency}) {
    if (range->min.count() < 0 || range->min > range->max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SimSsd ", options.name, ": latency range [", range->min.count(), ", ",
          range->max.count(), "] ns is empty or negative"));
    }
  }
  if (initial && initial->sector_count() != options.sectors) {
    return absl::InvalidArgumentError(
        absl::StrCat("SimSsd ", options.name, ": initial image has ", initial->sector_count(),
                     " sectors, device has ", options.sectors));
  }
  DiskImage image = initial ? std::move(*initial) : DiskImage(options.sectors);
  return std::unique_ptr<SimSsd>(new SimSsd(world, std::move(options), std::move(image)));
}

SimSsd::SimSsd(World& world, SimSsdOptions options, DiskImage initial)
    : world_(world),
      options_(std::move(options)),
      prng_(world.ForkPrng("ssd:" + options_.name)),
      cache_(initial, options_.volatile_cache),
      visible_(std::move(initial)) {}

runtime::Nanos SimSsd::Draw(const LatencyRange& range) {
  return runtime::Nanos(static_cast<int64_t>(prng_.Range(
      static_cast<uint64_t>(range.min.count()), static_cast<uint64_t>(range.max.count()))));
}

void SimSsd::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  const uint64_t id = next_id_++;
  const uint64_t sectors = buffer.size() / io::kSectorSize;
  world_.Record(name(), "read", id, sector, sectors);
  world_.CallAt(world_.Now() + Draw(options_.read_latency),
                [this, id, sector, sectors, buffer, done = std::move(done)]() mutable {
                  visible_.Read(sector, buffer);
                  world_.Record(name(), "read.done", id, sector, sectors);
                  done(absl::OkStatus());
                });
}

void SimSsd::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                         io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  const uint64_t id = next_id_++;
  world_.Record(name(), "write", id, sector, data.size() / io::kSectorSize, FlagNames(flags));
  const uint64_t sectors = data.size() / io::kSectorSize;
  SectorRef copy = CopySectors(data);
  const bool fua = (flags & io::kFua) != 0;
  if (flags & io::kPreflush) {
    RunFlush(id, "preflush.done", [this, id, sector, sectors, fua, copy = std::move(copy),
                                   done = std::move(done)]() mutable {
      StartWrite(id, sector, sectors, std::move(copy), fua, "write.done", std::move(done));
    });
    return;
  }
  StartWrite(id, sector, sectors, std::move(copy), fua, "write.done", std::move(done));
}

void SimSsd::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sector_count(), sector, sectors);
  if (!valid.ok()) return done(valid);
  const uint64_t id = next_id_++;
  world_.Record(name(), "discard", id, sector, sectors);
  StartWrite(id, sector, sectors, /*data=*/nullptr, /*fua=*/false, "discard.done",
             std::move(done));
}

void SimSsd::StartWrite(uint64_t id, uint64_t sector, uint64_t sectors, SectorRef data,
                        bool fua, std::string_view op, io::IoCallback done) {
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  InFlight& entry = slots_[slot];
  entry.op = op;
  entry.done = std::move(done);
  PendingWrite& write = entry.write;
  write.id = id;
  write.sector = sector;
  write.sectors = sectors;
  write.data = std::move(data);
  write.fua = fua;
  cache_.Submit(write);
  world_.CallAt(world_.Now() + Draw(options_.write_latency),
                [this, slot] { CompleteWrite(slot); });
}

void SimSsd::CompleteWrite(uint32_t slot) {
  InFlight& entry = slots_[slot];
  PendingWrite write = std::move(entry.write);
  entry.write.id = 0;  // moved-from: mark the slot free before `done` may submit again
  const std::string_view op = entry.op;
  io::IoCallback done = std::move(entry.done);
  free_slots_.push_back(slot);
  write.ApplyTo(visible_);
  world_.Record(name(), op, write.id, write.sector, write.sectors, write.fua ? "FUA" : "");
  cache_.Complete(std::move(write));
  done(absl::OkStatus());
}

void SimSsd::RunFlush(uint64_t id, std::string_view done_op, absl::AnyInvocable<void()> then) {
  const uint64_t covers = cache_.FlushPoint();  // the writes completed before this flush
  world_.CallAt(world_.Now() + Draw(options_.flush_latency),
                [this, id, done_op, covers, then = std::move(then)]() mutable {
                  cache_.Flushed(covers);
                  world_.Record(name(), done_op, id);
                  then();
                });
}

void SimSsd::SubmitFlush(io::IoCallback done) {
  const uint64_t id = next_id_++;
  world_.Record(name(), "flush", id);
  RunFlush(id, "flush.done", [done = std::move(done)]() mutable { done(absl::OkStatus()); });
}

DiskImage SimSsd::SampleCrashImage(Prng& prng) const {
  return CrashState().Sample(prng, [this](const PendingFate& fate) {
    const PendingWrite& write = *fate.write;
    const bool in_flight = write.complete_seq == kStillInFlight;
    if (fate.kept_sectors == 0) {
      world_.Record(name(), "crash.dropped", write.id, write.sector, write.sectors,
                    in_flight ? "in-flight" : "");
    } else if (fate.kept_sectors == fate.live_sectors) {
      world_.Record(name(), "crash.kept", write.id, write.sector, write.sectors,
                    in_flight ? "in-flight" : "");
    } else {
      // Where: the sectors kept, as runs ("24,26-27").
      std::string where;
      for (size_t k = 0; k < fate.torn_kept.size();) {
        size_t end = k + 1;
        while (end < fate.torn_kept.size() && fate.torn_kept[end] == fate.torn_kept[end - 1] + 1) {
          ++end;
        }
        absl::StrAppend(&where, k == 0 ? "" : ",", fate.torn_kept[k]);
        if (end - k > 1) absl::StrAppend(&where, "-", fate.torn_kept[end - 1]);
        k = end;
      }
      const std::string flags = absl::StrCat("kept ", fate.kept_sectors, "/", fate.live_sectors,
                                             " (", where, ")", in_flight ? " in-flight" : "");
      world_.Record(name(), "crash.torn", write.id, write.sector, write.sectors, flags);
    }
  });
}

SsdCrashState SimSsd::CrashState() const {
  std::vector<PendingWrite> in_flight;
  for (const InFlight& entry : slots_) {
    if (entry.write.id != 0) in_flight.push_back(entry.write);
  }
  return cache_.CrashState(std::move(in_flight));
}

}  // namespace powercut::sim
