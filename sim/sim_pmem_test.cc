#include "sim/sim_pmem.h"

#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/world.h"

namespace powercut::sim {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSize = 4096;

std::vector<std::byte> Bytes(size_t n, uint8_t value) {
  return std::vector<std::byte>(n, std::byte{value});
}

// True if image[offset, offset + n) is all `value`.
bool Holds(const std::vector<std::byte>& image, uint64_t offset, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; ++i) {
    if (image[offset + i] != std::byte{value}) return false;
  }
  return true;
}

std::unique_ptr<SimPmem> MakePmem(World& world, uint64_t size = kSize) {
  SimPmemOptions options;
  options.name = "pmem0";
  options.size = size;
  return SimPmem::Create(world, options).value();
}

// Runs `body` in a fiber of `world` to completion.
void RunInFiber(World& world, absl::AnyInvocable<void()> body) {
  world.scheduler().Spawn("writer", std::move(body));
  ASSERT_TRUE(world.Run().ok());
}

// Every image of the crash state, as a vector (small states only).
std::vector<std::vector<std::byte>> AllImages(const PmemCrashState& state) {
  std::vector<std::vector<std::byte>> images;
  EXPECT_TRUE(state.Enumerate(1000, [&](const std::vector<std::byte>& image) {
    images.push_back(image);
  }).ok());
  return images;
}

TEST(SimPmem, LoadSeesEveryStoreAtOnce) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(100, Bytes(20, 0xab));
  std::vector<std::byte> out(20);
  pmem->Load(100, out);
  EXPECT_EQ(out, Bytes(20, 0xab));
  EXPECT_TRUE(Holds(pmem->DurableImage(), 100, 20, 0));
}

TEST(SimPmem, FlushedAndFencedStoreIsInEveryCrashImage) {
  World world(1);
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->Store(64, Bytes(64, 0x11));
    pmem->Flush(64, 64);
    pmem->Fence();
    pmem->Store(256, Bytes(8, 0x22));  // unflushed: gives the state some choices
  });
  EXPECT_TRUE(Holds(pmem->DurableImage(), 64, 64, 0x11));
  const PmemCrashState state = pmem->CrashState();
  EXPECT_EQ(state.CountStates(), 2u);
  for (const auto& image : AllImages(state)) EXPECT_TRUE(Holds(image, 64, 64, 0x11));
  Prng prng(7);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(Holds(state.Sample(prng), 64, 64, 0x11));
}

TEST(SimPmem, UnflushedStoreMayOrMayNotPersist) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(0, Bytes(8, 0x33));
  const PmemCrashState state = pmem->CrashState();
  int kept = 0, lost = 0;
  Prng prng(42);
  for (int i = 0; i < 200; ++i) {
    const auto image = state.Sample(prng);
    if (Holds(image, 0, 8, 0x33)) {
      ++kept;
    } else {
      EXPECT_TRUE(Holds(image, 0, 8, 0));
      ++lost;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(lost, 0);
}

TEST(SimPmem, SampledCrashImagesAreTracedLineByLineAndMatchTheCrashState) {
  World world(1);
  std::vector<std::string> lines;
  world.trace().set_observer([&](const TraceEvent& event) {
    if (event.op == "crash.line") lines.push_back(Trace::Format(event));
  });
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->Store(0, Bytes(8, 0x33));  // line 0: one store, nothing fenced
    pmem->Store(64, Bytes(64, 0x11));
    pmem->Flush(64, 64);
    pmem->Fence();  // line 1: durable, no choice
  });
  Prng a(9), b(9);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pmem->SampleCrashImage(a), pmem->CrashState().Sample(b));
  ASSERT_EQ(lines.size(), 20u);  // only line 0 had a choice
  EXPECT_NE(lines[0].find("pmem0"), std::string::npos);
  EXPECT_NE(lines[0].find("/1 stores (0 fenced)"), std::string::npos) << lines[0];
}

TEST(SimPmem, FlushedButNotFencedStoreIsNotGuaranteed) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(0, Bytes(8, 0x44));
  pmem->Flush(0, 8);
  EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0));
  const auto images = AllImages(pmem->CrashState());
  ASSERT_EQ(images.size(), 2u);
  EXPECT_TRUE(Holds(images[0], 0, 8, 0));
  EXPECT_TRUE(Holds(images[1], 0, 8, 0x44));
}

TEST(SimPmem, StoreAfterAFlushIsNotCoveredByIt) {
  World world(1);
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->Store(0, Bytes(8, 0x01));
    pmem->Flush(0, 64);
    pmem->Store(8, Bytes(8, 0x02));  // same line, after the clwb
    pmem->Fence();
  });
  const auto durable = pmem->DurableImage();
  EXPECT_TRUE(Holds(durable, 0, 8, 0x01));
  EXPECT_TRUE(Holds(durable, 8, 8, 0));
  const auto images = AllImages(pmem->CrashState());
  ASSERT_EQ(images.size(), 2u);
  for (const auto& image : images) EXPECT_TRUE(Holds(image, 0, 8, 0x01));
}

TEST(SimPmem, StoresPersistInEightByteUnitsInOrderWithinALine) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(16, Bytes(16, 0x55));  // units 2 and 3 of line 0
  const PmemCrashState state = pmem->CrashState();
  EXPECT_EQ(state.CountStates(), 3u);
  bool first_only = false;
  for (const auto& image : AllImages(state)) {
    const bool first = Holds(image, 16, 8, 0x55);
    const bool second = Holds(image, 24, 8, 0x55);
    EXPECT_TRUE(first || Holds(image, 16, 8, 0)) << "unit torn";
    EXPECT_TRUE(second || Holds(image, 24, 8, 0)) << "unit torn";
    EXPECT_FALSE(second && !first) << "later unit persisted without the earlier one";
    first_only |= first && !second;
  }
  EXPECT_TRUE(first_only);
}

TEST(SimPmem, PartialUnitStoreChangesOnlyItsOwnBytes) {
  World world(1);
  std::vector<std::byte> initial = Bytes(kSize, 0xee);
  SimPmemOptions options;
  options.size = kSize;
  auto pmem = SimPmem::Create(world, options, initial).value();
  pmem->Store(5, Bytes(6, 0x66));  // bytes 5..7 of unit 0, bytes 0..2 of unit 1
  const auto images = AllImages(pmem->CrashState());
  ASSERT_EQ(images.size(), 3u);
  for (const auto& image : images) {
    EXPECT_TRUE(Holds(image, 0, 5, 0xee));
    EXPECT_TRUE(Holds(image, 11, kSize - 11, 0xee));
  }
  EXPECT_TRUE(Holds(images[2], 5, 6, 0x66));
}

TEST(SimPmem, LinesPersistIndependently) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(0, Bytes(8, 0x77));
  pmem->Store(128, Bytes(8, 0x88));
  const PmemCrashState state = pmem->CrashState();
  std::set<std::pair<bool, bool>> seen;
  EXPECT_EQ(*state.Enumerate(10, [&](const std::vector<std::byte>& image) {
    seen.emplace(Holds(image, 0, 8, 0x77), Holds(image, 128, 8, 0x88));
  }),
            4u);
  EXPECT_EQ(seen.size(), 4u);
}

TEST(SimPmem, StoreSpanningLinesSplitsAtTheLineBoundary) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(56, Bytes(16, 0x99));  // last unit of line 0, first unit of line 1
  const PmemCrashState state = pmem->CrashState();
  ASSERT_EQ(state.lines().size(), 2u);
  std::set<std::pair<bool, bool>> seen;
  ASSERT_TRUE(state.Enumerate(10, [&](const std::vector<std::byte>& image) {
    seen.emplace(Holds(image, 56, 8, 0x99), Holds(image, 64, 8, 0x99));
  }).ok());
  EXPECT_EQ(seen.size(), 4u);  // the second half may land without the first
}

TEST(SimPmem, StoreFlushingThenFenceIsDurable) {
  World world(1);
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->StoreFlushing(200, Bytes(100, 0xaa));
    pmem->Fence();
  });
  EXPECT_TRUE(Holds(pmem->DurableImage(), 200, 100, 0xaa));
  const PmemCrashState state = pmem->CrashState();
  EXPECT_EQ(state.CountStates(), 1u);
  EXPECT_EQ(pmem->lines_with_history(), 0u) << "a fully durable line keeps no history";
  EXPECT_EQ(pmem->pending_flushes(), 0u);
}

TEST(SimPmem, StoreFlushingWithoutFenceIsNotGuaranteed) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->StoreFlushing(0, Bytes(8, 0xab));
  EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0));
  EXPECT_EQ(pmem->CrashState().CountStates(), 2u);
}

TEST(SimPmem, CrashInsideAFencePromisesNothing) {
  World world(1);
  SimPmemOptions options;
  options.size = kSize;
  options.fence_latency = runtime::Microseconds(1);
  auto pmem = SimPmem::Create(world, options).value();
  world.scheduler().Spawn("writer", [&] {
    pmem->StoreFlushing(0, Bytes(8, 0xcd));
    pmem->Fence();
  });
  world.CallAt(runtime::Nanos(500), [&] { world.Crash(); });  // mid-fence
  EXPECT_EQ(world.Run().code(), absl::StatusCode::kCancelled);
  world.Halt();
  EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0));
  EXPECT_EQ(pmem->CrashState().CountStates(), 2u);
}

TEST(SimPmem, AFenceCoversEveryFlushIssuedBeforeItFromAnyFiber) {
  // `a` flushes and fences; `b` fences right after the flush, at the same instant, so
  // both fences end together and the seed decides which returns first. Whichever it
  // is, the flush issued before it must be durable when it returns.
  int b_returned_first = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    World world(seed);
    auto pmem = MakePmem(world);
    bool flushed = false, a_returned = false;
    world.scheduler().Spawn("a", [&] {
      pmem->StoreFlushing(0, Bytes(8, 0x12));
      flushed = true;
      pmem->Fence();
      a_returned = true;
      EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0x12));
    });
    world.scheduler().Spawn("b", [&] {
      while (!flushed) world.scheduler().Yield();
      pmem->Fence();
      if (!a_returned) ++b_returned_first;
      EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0x12)) << "seed " << seed;
    });
    ASSERT_TRUE(world.Run().ok());
  }
  EXPECT_GT(b_returned_first, 0) << "no seed exercised the other fence returning first";
}

TEST(SimPmem, CountStatesMatchesEnumerate) {
  World world(3);
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->Store(0, Bytes(24, 0x01));    // line 0: 3 units
    pmem->Store(64, Bytes(8, 0x02));    // line 1: 1 unit, then flushed and fenced
    pmem->Flush(64, 1);
    pmem->Fence();
    pmem->Store(64, Bytes(16, 0x03));   // line 1: 2 more
    pmem->Store(1000, Bytes(3, 0x04));  // line 15: 1 partial unit
  });
  const PmemCrashState state = pmem->CrashState();
  EXPECT_EQ(state.CountStates(), 4u * 3u * 2u);
  uint64_t visits = 0;
  EXPECT_EQ(*state.Enumerate(24, [&](const std::vector<std::byte>&) { ++visits; }), 24u);
  EXPECT_EQ(visits, 24u);
  // Over the limit: nothing visited, ResourceExhausted.
  visits = 0;
  EXPECT_EQ(state.Enumerate(23, [&](const std::vector<std::byte>&) { ++visits; }).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(visits, 0u);
}

TEST(SimPmem, CountStatesSaturates) {
  World world(1);
  SimPmemOptions options;
  options.size = 64 * 100;
  auto pmem = SimPmem::Create(world, options).value();
  for (uint64_t line = 0; line < 100; ++line) pmem->Store(line * 64, Bytes(64, 1));
  EXPECT_EQ(pmem->CrashState().CountStates(), std::numeric_limits<uint64_t>::max());
}

TEST(SimPmem, EnumerateVisitsEveryChoiceExactlyOnce) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->Store(0, Bytes(8, 1));
  pmem->Store(8, Bytes(8, 2));
  pmem->Store(64, Bytes(8, 3));
  const PmemCrashState state = pmem->CrashState();
  std::set<std::vector<std::byte>> images;
  for (uint32_t a = 0; a <= 2; ++a) {
    for (uint32_t b = 0; b <= 1; ++b) images.insert(state.Build(std::vector<uint32_t>{a, b}));
  }
  std::set<std::vector<std::byte>> enumerated;
  ASSERT_TRUE(state.Enumerate(100, [&](const std::vector<std::byte>& image) {
    enumerated.insert(image);
  }).ok());
  EXPECT_EQ(enumerated, images);
  EXPECT_EQ(enumerated.size(), 6u);
}

TEST(SimPmem, FenceInAFiberTakesFenceLatency) {
  World world(1);
  SimPmemOptions options;
  options.size = kSize;
  options.fence_latency = runtime::Nanos(250);
  auto pmem = SimPmem::Create(world, options).value();
  runtime::Nanos before{-1}, after{-1};
  RunInFiber(world, [&] {
    before = world.Now();
    pmem->Fence();
    after = world.Now();
  });
  EXPECT_EQ(after - before, runtime::Nanos(250));
}

TEST(SimPmem, FenceOutsideAFiberAppliesAtOnce) {
  World world(1);
  auto pmem = MakePmem(world);
  pmem->StoreFlushing(0, Bytes(8, 0x5a));
  pmem->Fence();
  EXPECT_EQ(world.Now(), runtime::Nanos(0));
  EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 0x5a));
}

TEST(SimPmem, RebuiltFromDurableImageReadsBackDurableContent) {
  World world(1);
  auto pmem = MakePmem(world);
  RunInFiber(world, [&] {
    pmem->StoreFlushing(0, Bytes(64, 0x10));
    pmem->Fence();
    pmem->Store(64, Bytes(64, 0x20));  // lost in the durable image
  });
  World after(2);
  SimPmemOptions options;
  options.size = kSize;
  auto rebuilt = SimPmem::Create(after, options, pmem->DurableImage()).value();
  std::vector<std::byte> out(128);
  rebuilt->Load(0, out);
  EXPECT_TRUE(Holds(out, 0, 64, 0x10));
  EXPECT_TRUE(Holds(out, 64, 64, 0));
  EXPECT_EQ(rebuilt->CrashState().CountStates(), 1u);
  EXPECT_EQ(rebuilt->DurableImage(), pmem->DurableImage());
}

TEST(SimPmem, SameSeedSamplesSameImage) {
  World world(1);
  auto pmem = MakePmem(world);
  for (uint64_t i = 0; i < 32; ++i) pmem->Store(i * 40, Bytes(24, static_cast<uint8_t>(i + 1)));
  const PmemCrashState state = pmem->CrashState();
  Prng a(99), b(99), c(100);
  std::set<std::vector<std::byte>> distinct;
  for (int i = 0; i < 20; ++i) {
    const auto image = state.Sample(a);
    EXPECT_EQ(image, state.Sample(b));
    distinct.insert(image);
    distinct.insert(state.Sample(c));
  }
  EXPECT_GT(distinct.size(), 1u);
}

TEST(SimPmem, SampleExploresBothExtremes) {
  World world(1);
  auto pmem = MakePmem(world);
  for (uint64_t line = 0; line < 20; ++line) pmem->Store(line * 64, Bytes(64, 0xff));
  const PmemCrashState state = pmem->CrashState();
  const auto none = state.base();
  const auto all = pmem->visible();
  bool saw_none = false, saw_all = false;
  Prng prng(5);
  for (int i = 0; i < 100; ++i) {
    const auto image = state.Sample(prng);
    saw_none |= image == none;
    saw_all |= image == all;
  }
  EXPECT_TRUE(saw_none);
  EXPECT_TRUE(saw_all);
}

TEST(SimPmem, OutOfRangeAccessThrows) {
  World world(1);
  auto pmem = MakePmem(world);
  std::vector<std::byte> buffer(16);
  EXPECT_THROW(pmem->Load(kSize - 8, buffer), std::out_of_range);
  EXPECT_THROW(pmem->Store(kSize, buffer), std::out_of_range);
  EXPECT_THROW(pmem->StoreFlushing(std::numeric_limits<uint64_t>::max() - 4, buffer),
               std::out_of_range);
  EXPECT_THROW(pmem->Flush(kSize - 1, 2), std::out_of_range);
  EXPECT_NO_THROW(pmem->Load(kSize - 16, buffer));
  EXPECT_NO_THROW(pmem->Flush(kSize, 0));
}

TEST(SimPmem, CreateRejectsBadGeometry) {
  World world(1);
  SimPmemOptions options;
  options.size = 0;
  auto zero = SimPmem::Create(world, options);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.status().message(), HasSubstr("multiple of the 64-byte line"));
  options.size = 100;
  EXPECT_EQ(SimPmem::Create(world, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.size = 128;
  auto wrong_image = SimPmem::Create(world, options, Bytes(64, 0));
  EXPECT_EQ(wrong_image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_image.status().message(), HasSubstr("image of 64 bytes"));
  options.fence_latency = runtime::Nanos(-1);
  EXPECT_EQ(SimPmem::Create(world, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SimPmem, LongUnflushedHistoryIsEvictedOldestFirst) {
  World world(1);
  SimPmemOptions options;
  options.size = kSize;
  options.max_line_history = 4;
  auto pmem = SimPmem::Create(world, options).value();
  for (uint8_t v = 1; v <= 5; ++v) pmem->Store(0, Bytes(8, v));
  // Five stores to one unit exceed the cap of 4: the oldest three reach the media.
  EXPECT_TRUE(Holds(pmem->DurableImage(), 0, 8, 3));
  const PmemCrashState state = pmem->CrashState();
  ASSERT_EQ(state.lines().size(), 1u);
  EXPECT_EQ(state.lines()[0].history.size(), 2u);
}

TEST(SimPmem, RecordsStoresFlushesAndFencesInTheTrace) {
  World world(1);
  std::vector<std::string> lines;
  world.trace().set_observer([&](const TraceEvent& event) { lines.push_back(Trace::Format(event)); });
  auto pmem = MakePmem(world);
  pmem->Store(64, Bytes(8, 1));
  pmem->StoreFlushing(128, Bytes(8, 1));
  pmem->Flush(64, 8);
  pmem->Fence();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], HasSubstr("store"));
  EXPECT_THAT(lines[1], HasSubstr("flushing"));
  EXPECT_THAT(lines[2], HasSubstr("flush"));
  EXPECT_THAT(lines[3], HasSubstr("fence"));
}

TEST(PmemCrashState, RejectsInconsistentInput) {
  EXPECT_THROW(PmemCrashState(Bytes(100, 0), {}), std::invalid_argument);
  PmemCrashState::Line line;
  line.index = 2;  // out of range for a 128-byte base
  EXPECT_THROW(PmemCrashState(Bytes(128, 0), {line}), std::invalid_argument);
  line.index = 0;
  line.guaranteed = 1;  // more than its history
  EXPECT_THROW(PmemCrashState(Bytes(128, 0), {line}), std::invalid_argument);
}

TEST(PmemCrashState, GuaranteedPrefixIsInEveryImage) {
  PmemCrashState::Line line;
  line.index = 1;
  for (uint8_t u = 0; u < 3; ++u) {
    PmemUnitStore store;
    store.unit = u;
    store.mask = 0xff;
    store.bytes.fill(std::byte{0x42});
    line.history.push_back(store);
  }
  line.guaranteed = 2;
  const PmemCrashState state(Bytes(128, 0), {line});
  EXPECT_EQ(state.CountStates(), 2u);
  for (const auto& image : AllImages(state)) EXPECT_TRUE(Holds(image, 64, 16, 0x42));
  EXPECT_THROW(state.Build(std::vector<uint32_t>{1}), std::invalid_argument);
}

}  // namespace
}  // namespace powercut::sim
