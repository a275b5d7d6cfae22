// OverlayDevice: a copy-on-write view of another device. Reads see the lower device with
// every sector written through the overlay on top; writes and discards stay in memory
// and never reach the lower device, whose contents are left exactly as they were.
//
// What `powercut recover` uses to run an engine's real recovery (which writes metadata)
// on images it must not change: the lower device can be opened read-only.
//
//   io::OverlayDevice view(reactor, *image);   // image: read-only FileBlockDevice
//   auto cache = writecache::WriteCache::Create(scheduler, origin_view, view, params);
//
// Durability: everything written is "durable" at once (flushes complete at once) but
// only for the overlay's lifetime; a discarded sector reads as zeroes. Requests complete
// from the reactor, never inside Submit*. Memory: 512 bytes per sector written.
//
// Threading and ownership: the reactor's thread only; does not own the lower device or
// the reactor, which must outlive it.
#ifndef POWERCUT_ENGINE_IO_OVERLAY_DEVICE_H_
#define POWERCUT_ENGINE_IO_OVERLAY_DEVICE_H_

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "engine/io/block_device.h"
#include "engine/runtime/reactor.h"

namespace powercut::io {

class OverlayDevice : public BlockDeviceWrapper {
 public:
  OverlayDevice(runtime::Reactor& reactor, BlockDevice& lower)
      : BlockDeviceWrapper(lower), reactor_(reactor) {}

  // Sectors written (or discarded) through the overlay.
  uint64_t overlaid_sectors() const { return sectors_.size(); }

  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   IoCallback done) override;
  void SubmitFlush(IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, IoCallback done) override;
  std::vector<SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  using Sector = std::array<std::byte, kSectorSize>;

  void CompleteLater(IoCallback done, absl::Status status);

  runtime::Reactor& reactor_;
  std::map<uint64_t, Sector> sectors_;
};

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_OVERLAY_DEVICE_H_
