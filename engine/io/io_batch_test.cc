#include "engine/io/io_batch.h"

#include <vector>

#include "engine/runtime/manual_reactor_for_test.h"
#include "gtest/gtest.h"

namespace powercut::io {
namespace {

using runtime::ManualReactor;
using runtime::Microseconds;
using runtime::Scheduler;

// Completes IO number i after (3 - i % 3) * 10 us, so a batch completes out of order;
// fails writes to sector 13.
class ReorderingDevice : public BlockDevice {
 public:
  explicit ReorderingDevice(ManualReactor& reactor) : reactor_(reactor) {}
  uint64_t sector_count() const override { return 64; }
  const std::string& name() const override { return name_; }
  void SubmitRead(uint64_t sector, std::span<std::byte>, IoCallback done) override {
    Complete(sector, std::move(done), absl::OkStatus());
  }
  void SubmitWrite(uint64_t sector, std::span<const std::byte>, uint32_t,
                   IoCallback done) override {
    Complete(sector, std::move(done),
             sector == 13 ? absl::DataLossError("bad sector 13") : absl::OkStatus());
  }
  void SubmitFlush(IoCallback done) override { Complete(~0ull, std::move(done), {}); }
  void SubmitDiscard(uint64_t sector, uint64_t, IoCallback done) override {
    Complete(sector, std::move(done), {});
  }
  std::vector<uint64_t> completed;

 private:
  void Complete(uint64_t sector, IoCallback done, absl::Status status) {
    uint64_t n = submitted_++;
    reactor_.CallAt(reactor_.Now() + Microseconds(static_cast<int64_t>(3 - n % 3) * 10),
                    [this, sector, status, done = std::move(done)]() mutable {
                      completed.push_back(sector);
                      done(status);
                    });
  }
  ManualReactor& reactor_;
  std::string name_ = "reorder";
  uint64_t submitted_ = 0;
};

TEST(IoBatch, WaitsForEveryIoEvenWhenTheyCompleteOutOfOrder) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  ReorderingDevice device(reactor);
  std::vector<std::byte> buffer(512);
  absl::Status status = absl::UnknownError("not run");
  scheduler.Spawn("engine", [&] {
    IoBatch batch(scheduler, "test");
    batch.Write(device, 1, buffer, kNoFlags);
    batch.Write(device, 2, buffer, kFua);
    batch.Read(device, 3, buffer);
    EXPECT_EQ(batch.outstanding(), 3u);
    status = batch.Wait();
    EXPECT_EQ(batch.outstanding(), 0u);
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(device.completed, (std::vector<uint64_t>{3, 2, 1}));
}

TEST(IoBatch, ReportsTheFirstErrorAfterAllIosComplete) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  ReorderingDevice device(reactor);
  std::vector<std::byte> buffer(512);
  absl::Status status;
  scheduler.Spawn("engine", [&] {
    IoBatch batch(scheduler, "test");
    batch.Write(device, 13, buffer, kNoFlags);
    batch.Flush(device);
    status = batch.Wait();
    EXPECT_TRUE(WriteSync(scheduler, device, 1, buffer, kNoFlags).ok());
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(device.completed.size(), 3u);
}

TEST(BlockDeviceValidation, RejectsEmptyUnalignedAndOutOfRangeRequests) {
  EXPECT_EQ(ValidateBuffer(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateBuffer(100).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateBuffer(1024).ok());
  EXPECT_EQ(ValidateRange(10, 9, 2).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ValidateRange(10, ~0ull, 2).code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(ValidateRange(10, 8, 2).ok());
}

}  // namespace
}  // namespace powercut::io
