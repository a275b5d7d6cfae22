#include "harness/recorded_pmem.h"

#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "sim/sim_pmem.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

std::vector<std::byte> Bytes(size_t n, uint8_t value) {
  return std::vector<std::byte>(n, std::byte{value});
}

// The wrapped memory here is a SimPmem of a world of the test's (in realcrash it is a
// mapped file): what matters is that both see every operation, in order.
TEST(RecordedPmem, FencedFlushesAreDurableAndOtherStoresMayOrMayNotBe) {
  sim::World world(3);
  auto memory = *sim::SimPmem::Create(world, {.name = "cache", .size = 4096});
  std::vector<std::byte> initial = Bytes(4096, 0);
  std::memset(initial.data() + 1024, 0x11, 64);  // durable from the start
  auto seeded = *sim::SimPmem::Create(world, {.name = "cache", .size = 4096}, initial);
  auto recorded = *RecordedPmem::Create(*seeded, initial);
  EXPECT_EQ(recorded->size(), 4096u);
  EXPECT_EQ(recorded->name(), "cache");
  recorded->Store(0, Bytes(64, 0xaa));  // flushed and fenced: durable
  recorded->Flush(0, 64);
  recorded->Fence();
  recorded->Store(128, Bytes(64, 0xbb));  // never flushed
  recorded->Store(256, Bytes(8, 0xcc));   // flushed, not fenced
  recorded->Flush(256, 8);
  std::vector<std::byte> loaded(64);
  recorded->Load(128, loaded);
  EXPECT_EQ(loaded, Bytes(64, 0xbb));  // loads read the wrapped memory

  sim::Prng prng(9);
  std::set<uint8_t> at_128, at_256;
  for (int i = 0; i < 64; ++i) {
    const std::vector<std::byte> image = recorded->SampleCrashImage(prng);
    ASSERT_EQ(image.size(), 4096u);
    EXPECT_EQ(std::vector<std::byte>(image.begin(), image.begin() + 64), Bytes(64, 0xaa));
    EXPECT_EQ(image[1024], std::byte{0x11});
    at_128.insert(static_cast<uint8_t>(image[128]));
    at_256.insert(static_cast<uint8_t>(image[256]));
  }
  EXPECT_EQ(at_128, (std::set<uint8_t>{0x00, 0xbb}));
  EXPECT_EQ(at_256, (std::set<uint8_t>{0x00, 0xcc}));
  EXPECT_FALSE(RecordedPmem::Create(*memory, Bytes(64, 0)).ok());  // another size
}

}  // namespace
}  // namespace powercut::verifier
