#include "engine/io/overlay_device.h"

#include <vector>

#include "engine/io/io_batch.h"
#include "engine/runtime/manual_reactor_for_test.h"
#include "engine/runtime/scheduler.h"
#include "gtest/gtest.h"

namespace powercut::io {
namespace {

// A lower device in memory that counts the writes reaching it.
class RamDevice : public BlockDevice {
 public:
  RamDevice(runtime::Reactor& reactor, uint64_t sectors)
      : reactor_(reactor), bytes_(sectors * kSectorSize, std::byte{0x11}) {}
  uint64_t sector_count() const override { return bytes_.size() / kSectorSize; }
  const std::string& name() const override { return name_; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, IoCallback done) override {
    std::copy_n(bytes_.begin() + sector * kSectorSize, buffer.size(), buffer.begin());
    Later(std::move(done));
  }
  void SubmitWrite(uint64_t, std::span<const std::byte>, uint32_t, IoCallback done) override {
    ++writes;
    Later(std::move(done));
  }
  void SubmitFlush(IoCallback done) override { Later(std::move(done)); }
  void SubmitDiscard(uint64_t, uint64_t, IoCallback done) override {
    ++writes;
    Later(std::move(done));
  }
  std::vector<SectorRange> DataRanges(uint64_t, uint64_t) const override { return {{2, 2}}; }

  int writes = 0;

 private:
  void Later(IoCallback done) {
    reactor_.CallAt(reactor_.Now(), [done = std::move(done)]() mutable { done(absl::OkStatus()); });
  }
  runtime::Reactor& reactor_;
  std::string name_ = "ram";
  std::vector<std::byte> bytes_;
};

TEST(OverlayDevice, WritesStayInTheOverlayAndReadsSeeThem) {
  runtime::ManualReactor reactor;
  runtime::Scheduler scheduler(reactor);
  RamDevice lower(reactor, 16);
  OverlayDevice overlay(reactor, lower);
  std::vector<std::byte> data(2 * kSectorSize, std::byte{0x77});
  std::vector<std::byte> back(4 * kSectorSize);
  scheduler.Spawn("test", [&] {
    ASSERT_TRUE(WriteSync(scheduler, overlay, 5, data, kFua).ok());
    ASSERT_TRUE(FlushSync(scheduler, overlay).ok());
    IoBatch batch(scheduler, "discard");
    batch.Discard(overlay, 6, 1);
    ASSERT_TRUE(batch.Wait().ok());
    ASSERT_TRUE(ReadSync(scheduler, overlay, 4, back).ok());
    EXPECT_EQ(WriteSync(scheduler, overlay, 15, data, kNoFlags).code(),
              absl::StatusCode::kOutOfRange);
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(lower.writes, 0);
  EXPECT_EQ(back[0], std::byte{0x11});                // sector 4: the lower device's
  EXPECT_EQ(back[kSectorSize], std::byte{0x77});      // 5: written through the overlay
  EXPECT_EQ(back[2 * kSectorSize], std::byte{0});     // 6: discarded
  EXPECT_EQ(back[3 * kSectorSize], std::byte{0x11});  // 7
  EXPECT_EQ(overlay.overlaid_sectors(), 2u);
  EXPECT_EQ(overlay.DataRanges(0, 16), (std::vector<SectorRange>{{2, 2}, {5, 2}}));
}

}  // namespace
}  // namespace powercut::io
