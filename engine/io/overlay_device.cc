#include "engine/io/overlay_device.h"

#include <cstring>
#include <utility>

namespace powercut::io {

void OverlayDevice::CompleteLater(IoCallback done, absl::Status status) {
  reactor_.CallAt(reactor_.Now(), [done = std::move(done), status = std::move(status)]() mutable {
    done(std::move(status));
  });
}

void OverlayDevice::SubmitRead(uint64_t sector, std::span<std::byte> buffer, IoCallback done) {
  // The lower device validates the request; the overlay's sectors go on top of its answer.
  wrapped().SubmitRead(sector, buffer,
                       [this, sector, buffer, done = std::move(done)](absl::Status status) mutable {
                         if (status.ok()) {
                           const uint64_t end = sector + buffer.size() / kSectorSize;
                           for (auto it = sectors_.lower_bound(sector);
                                it != sectors_.end() && it->first < end; ++it) {
                             std::memcpy(buffer.data() + (it->first - sector) * kSectorSize,
                                         it->second.data(), kSectorSize);
                           }
                         }
                         done(std::move(status));
                       });
}

void OverlayDevice::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t,
                                IoCallback done) {
  absl::Status status = ValidateBuffer(data.size());
  if (status.ok()) status = ValidateRange(sector_count(), sector, data.size() / kSectorSize);
  if (status.ok()) {
    for (uint64_t i = 0; i < data.size() / kSectorSize; ++i) {
      std::memcpy(sectors_[sector + i].data(), data.data() + i * kSectorSize, kSectorSize);
    }
  }
  CompleteLater(std::move(done), std::move(status));
}

void OverlayDevice::SubmitFlush(IoCallback done) { CompleteLater(std::move(done), absl::OkStatus()); }

void OverlayDevice::SubmitDiscard(uint64_t sector, uint64_t sectors, IoCallback done) {
  absl::Status status = ValidateRange(sector_count(), sector, sectors);
  if (status.ok()) {
    for (uint64_t i = 0; i < sectors; ++i) sectors_[sector + i].fill(std::byte{0});
  }
  CompleteLater(std::move(done), std::move(status));
}

std::vector<SectorRange> OverlayDevice::DataRanges(uint64_t first, uint64_t count) const {
  std::vector<SectorRange> ranges = BlockDeviceWrapper::DataRanges(first, count);
  for (auto it = sectors_.lower_bound(first); it != sectors_.end() && it->first < first + count;
       ++it) {
    ranges.push_back({it->first, 1});
  }
  return Unite(std::move(ranges));
}

}  // namespace powercut::io
