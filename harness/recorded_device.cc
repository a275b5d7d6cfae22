#include "harness/recorded_device.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace powercut::verifier {

void RecordedDevice::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                                 io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);  // rejected up front: nothing reached the device
  sim::PendingWrite write{.id = next_id_++,
                          .sector = sector,
                          .sectors = data.size() / io::kSectorSize,
                          .data = sim::CopySectors(data),
                          .fua = (flags & io::kFua) != 0};
  if ((flags & io::kPreflush) == 0) return Start(std::move(write), flags, data, std::move(done));
  SubmitFlush([this, write = std::move(write), flags, data, done = std::move(done)](
                  absl::Status flushed) mutable {
    if (!flushed.ok()) return done(flushed);
    Start(std::move(write), flags & ~uint32_t{io::kPreflush}, data, std::move(done));
  });
}

void RecordedDevice::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sector_count(), sector, sectors);
  if (!valid.ok()) return done(valid);
  Start(sim::PendingWrite{.id = next_id_++, .sector = sector, .sectors = sectors}, 0, {},
        std::move(done));
}

void RecordedDevice::Start(sim::PendingWrite write, uint32_t flags, std::span<const std::byte> data,
                           io::IoCallback done) {
  const uint64_t id = write.id;
  const std::string op = write.data == nullptr ? "discard" : "write";
  log_.push_back({op, id, write.sector, write.sectors, write.fua});
  cache_.Submit(write);
  const uint64_t sector = write.sector;
  const uint64_t sectors = write.sectors;
  in_flight_.emplace(id, std::move(write));
  auto completed = [this, id, op, done = std::move(done)](absl::Status status) mutable {
    auto it = in_flight_.find(id);
    log_.push_back({op + (status.ok() ? ".done" : ".failed"), id, it->second.sector,
                    it->second.sectors, it->second.fua});
    if (status.ok()) {
      cache_.Complete(std::move(it->second));
      in_flight_.erase(it);
    }
    done(std::move(status));
  };
  if (op == "discard") {
    wrapped().SubmitDiscard(sector, sectors, std::move(completed));
  } else {
    wrapped().SubmitWrite(sector, data, flags, std::move(completed));
  }
}

void RecordedDevice::SubmitFlush(io::IoCallback done) {
  const uint64_t id = next_id_++;
  log_.push_back({"flush", id});
  const uint64_t point = cache_.FlushPoint();
  wrapped().SubmitFlush([this, id, point, done = std::move(done)](absl::Status status) mutable {
    log_.push_back({status.ok() ? "flush.done" : "flush.failed", id});
    if (status.ok()) cache_.Flushed(point);
    done(std::move(status));
  });
}

sim::SsdCrashState RecordedDevice::CrashState() const {
  std::vector<sim::PendingWrite> in_flight;
  for (const auto& [id, write] : in_flight_) in_flight.push_back(write);
  return cache_.CrashState(std::move(in_flight));
}

std::string RecordedDevice::LogText() const {
  std::string text;
  for (const IoLogEntry& entry : log_) {
    absl::StrAppend(&text, entry.op, " ", entry.id);
    if (entry.sectors > 0) absl::StrAppend(&text, " ", entry.sector, "+", entry.sectors);
    if (entry.fua) absl::StrAppend(&text, " FUA");
    absl::StrAppend(&text, "\n");
  }
  return text;
}

}  // namespace powercut::verifier
