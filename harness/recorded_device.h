// RecordedDevice: a wrapper that watches a device's IO (a real file, usually) and keeps
// what a power cut at any moment could leave on it, with the simulator's own model
// (sim/volatile_cache.h): flushed and FUA writes durable, the rest pending, each kept,
// dropped or torn when a crash image is drawn. It also keeps the IO log, in the spirit
// of dm-log-writes: every write, discard and flush with its submission and completion.
//
//   RecordedDevice recorded(file, sim::DiskImage(file.sector_count()));
//   ... the engine runs on `recorded` ...
//   sim::DiskImage image = recorded.CrashState().Sample(prng);
//
// The starting contents given must be what the device holds (they are durable). A
// PREFLUSH write is passed on as a flush, then the write. A write or discard that fails
// stays pending for good (it may or may not have landed). Reads pass through.
//
// Memory: the durable image keeps every sector written (a sparse copy), the pending
// writes their data until a flush covers them.
//
// Threading: the device's thread; does not own the wrapped device.
#ifndef POWERCUT_HARNESS_RECORDED_DEVICE_H_
#define POWERCUT_HARNESS_RECORDED_DEVICE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/io/block_device.h"
#include "sim/disk_image.h"
#include "sim/ssd_crash_state.h"
#include "sim/volatile_cache.h"

namespace powercut::verifier {

// One line of the IO log.
struct IoLogEntry {
  std::string op;  // "write", "discard", "flush", and "<op>.done" / "<op>.failed"
  uint64_t id = 0;
  uint64_t sector = 0;
  uint64_t sectors = 0;
  bool fua = false;
};

class RecordedDevice : public io::BlockDeviceWrapper {
 public:
  RecordedDevice(io::BlockDevice& device, sim::DiskImage initial)
      : io::BlockDeviceWrapper(device), cache_(std::move(initial), /*volatile_cache=*/true) {}

  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;

  // What a power cut now could leave (writes still in flight included).
  sim::SsdCrashState CrashState() const;
  const std::vector<IoLogEntry>& log() const { return log_; }
  // The log as text, one entry per line ("write 7 128+8 FUA").
  std::string LogText() const;

 private:
  void Start(sim::PendingWrite write, uint32_t flags, std::span<const std::byte> data,
             io::IoCallback done);

  sim::VolatileCache cache_;
  std::map<uint64_t, sim::PendingWrite> in_flight_;  // by id, including failed ones
  uint64_t next_id_ = 1;
  std::vector<IoLogEntry> log_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_RECORDED_DEVICE_H_
