#include "harness/block_oracle.h"

#include <vector>

#include "engine/io/block_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::verifier {
namespace {

using ::testing::HasSubstr;
using runtime::Microseconds;

std::vector<std::byte> Stamped(uint64_t id, uint64_t sector) {
  std::vector<std::byte> bytes(io::kSectorSize);
  StampWrite(id, sector, bytes);
  return bytes;
}
const std::vector<std::byte> kZero(io::kSectorSize);
const absl::Status kOk = absl::OkStatus();

TEST(BlockOracle, AFlushedWriteMustSurvive) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(w, kOk, Microseconds(2));
  uint64_t f = oracle.BeginFlush(0, Microseconds(3));
  oracle.EndFlush(f, kOk, Microseconds(4));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(w, 5)));
  auto lost = oracle.CheckRecovered(5, kZero);
  ASSERT_TRUE(lost);
  EXPECT_THAT(lost->text, HasSubstr("write #1"));
  EXPECT_THAT(lost->text, HasSubstr("flush #2"));
  EXPECT_THAT(lost->text, HasSubstr("acknowledged durable write was lost"));
  EXPECT_EQ(lost->kind, FailureKind::kLostDurableWrite);
  EXPECT_EQ(lost->sector, 5u);
}

TEST(BlockOracle, AnUnflushedWriteMayBeLostOrKept) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(w, kOk, Microseconds(2));
  EXPECT_FALSE(oracle.CheckRecovered(5, kZero));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(w, 5)));
}

TEST(BlockOracle, AFlushSubmittedBeforeTheWriteCompletedDoesNotCoverIt) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  uint64_t f = oracle.BeginFlush(1, Microseconds(2));
  oracle.EndWrite(w, kOk, Microseconds(3));
  oracle.EndFlush(f, kOk, Microseconds(4));
  EXPECT_FALSE(oracle.CheckRecovered(5, kZero));
}

TEST(BlockOracle, OlderDataUnderAFlushedWriteIsALostWrite) {
  BlockOracle oracle;
  uint64_t old_write = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(old_write, kOk, Microseconds(2));
  uint64_t new_write = oracle.BeginWrite(0, 5, 1, false, Microseconds(3));
  oracle.EndWrite(new_write, kOk, Microseconds(4));
  uint64_t f = oracle.BeginFlush(0, Microseconds(5));
  oracle.EndFlush(f, kOk, Microseconds(6));
  auto problem = oracle.CheckRecovered(5, Stamped(old_write, 5));
  ASSERT_TRUE(problem);
  EXPECT_THAT(problem->text, HasSubstr("older than write #2"));
  EXPECT_EQ(problem->kind, FailureKind::kOlderData);
}

TEST(BlockOracle, ConcurrentWritesMayLandInEitherOrder) {
  BlockOracle oracle;
  uint64_t a = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  uint64_t b = oracle.BeginWrite(1, 5, 1, false, Microseconds(1));
  oracle.EndWrite(b, kOk, Microseconds(2));
  oracle.EndWrite(a, kOk, Microseconds(3));
  uint64_t f = oracle.BeginFlush(0, Microseconds(4));
  oracle.EndFlush(f, kOk, Microseconds(5));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(a, 5)));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(b, 5)));
  EXPECT_TRUE(oracle.CheckRecovered(5, kZero));
}

TEST(BlockOracle, FuaMakesAWriteRequiredOnlyWhenTheDevicePromisesIt) {
  for (bool promised : {true, false}) {
    BlockOracle oracle(OracleOptions{.fua_is_durable = promised});
    uint64_t w = oracle.BeginWrite(0, 5, 1, true, Microseconds(1));
    oracle.EndWrite(w, kOk, Microseconds(2));
    EXPECT_EQ(oracle.CheckRecovered(5, kZero).has_value(), promised);
  }
}

TEST(BlockOracle, GarbageAndForeignDataAreNeverAllowed) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 8, 1, false, Microseconds(1));
  oracle.EndWrite(w, kOk, Microseconds(2));
  auto foreign = oracle.CheckRecovered(0, Stamped(w, 8));
  ASSERT_TRUE(foreign);
  EXPECT_THAT(foreign->text, HasSubstr("meant for sector 8"));
  EXPECT_EQ(foreign->kind, FailureKind::kForeignData);
  std::vector<std::byte> garbage(io::kSectorSize, std::byte{0x42});
  ASSERT_TRUE(oracle.CheckRecovered(3, garbage));
  EXPECT_EQ(oracle.CheckRecovered(3, garbage)->kind, FailureKind::kGarbage);
  EXPECT_TRUE(oracle.CheckRecovered(3, Stamped(99, 3)));  // no such write
}

TEST(BlockOracle, AWriteStillInFlightAtTheCrashMayHaveLanded) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  uint64_t f = oracle.BeginFlush(0, Microseconds(2));
  oracle.EndFlush(f, kOk, Microseconds(3));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(w, 5)));
}

TEST(BlockOracle, ADiscardNotOlderThanTheFlushedWriteAllowsZeroes) {
  BlockOracle oracle;
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(w, kOk, Microseconds(2));
  uint64_t d = oracle.BeginDiscard(0, 5, 1, Microseconds(3));
  oracle.EndWrite(d, kOk, Microseconds(4));
  uint64_t f = oracle.BeginFlush(0, Microseconds(5));
  oracle.EndFlush(f, kOk, Microseconds(6));
  EXPECT_FALSE(oracle.CheckRecovered(5, kZero));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(w, 5)));
}

TEST(BlockOracle, ADiscardMayRevealOlderDataOfTheSectorButNotAfterALaterWrite) {
  BlockOracle oracle;
  uint64_t old_write = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(old_write, kOk, Microseconds(2));
  uint64_t cached = oracle.BeginWrite(0, 5, 1, false, Microseconds(3));
  oracle.EndWrite(cached, kOk, Microseconds(4));
  uint64_t f = oracle.BeginFlush(0, Microseconds(5));
  oracle.EndFlush(f, kOk, Microseconds(6));
  uint64_t d = oracle.BeginDiscard(0, 5, 1, Microseconds(7));
  oracle.EndWrite(d, kOk, Microseconds(8));
  uint64_t stale = oracle.BeginRead(1, 5, 1, Microseconds(9));
  oracle.EndRead(stale, kOk, Stamped(old_write, 5), Microseconds(10));
  EXPECT_TRUE(oracle.read_violations().empty());
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(old_write, 5)));
  EXPECT_TRUE(oracle.CheckRecovered(5, Stamped(old_write, 6)));  // still never foreign

  uint64_t after = oracle.BeginWrite(0, 5, 1, false, Microseconds(11));
  oracle.EndWrite(after, kOk, Microseconds(12));
  uint64_t f2 = oracle.BeginFlush(0, Microseconds(13));
  oracle.EndFlush(f2, kOk, Microseconds(14));
  auto lost = oracle.CheckRecovered(5, Stamped(cached, 5));
  ASSERT_TRUE(lost);
  EXPECT_THAT(lost->text, HasSubstr("older than write #"));
}

TEST(BlockOracle, AReadMustSeeEveryWriteCompletedBeforeItWasSubmitted) {
  BlockOracle oracle;
  uint64_t a = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(a, kOk, Microseconds(2));
  uint64_t b = oracle.BeginWrite(0, 5, 1, false, Microseconds(3));
  oracle.EndWrite(b, kOk, Microseconds(4));
  uint64_t good = oracle.BeginRead(1, 5, 1, Microseconds(5));
  oracle.EndRead(good, kOk, Stamped(b, 5), Microseconds(6));
  EXPECT_TRUE(oracle.read_violations().empty());
  uint64_t stale = oracle.BeginRead(1, 5, 1, Microseconds(7));
  oracle.EndRead(stale, kOk, Stamped(a, 5), Microseconds(8));
  ASSERT_EQ(oracle.read_violations().size(), 1u);
  EXPECT_THAT(oracle.read_violations()[0].text, HasSubstr("stale data"));
  EXPECT_EQ(oracle.read_violations()[0].kind, FailureKind::kBadRead);
  uint64_t zero = oracle.BeginRead(1, 5, 1, Microseconds(9));
  oracle.EndRead(zero, kOk, kZero, Microseconds(10));
  EXPECT_EQ(oracle.read_violations().size(), 2u);
}

TEST(BlockOracle, AFailedWriteLeavesItsSectorsUndefinedOnlyWhenTheEngineSaysSo) {
  const absl::Status kFailed = absl::DataLossError("injected");
  const std::vector<std::byte> foreign = Stamped(99, 8);
  for (bool undefined : {false, true}) {
    BlockOracle oracle(OracleOptions{.failed_writes_undefined = undefined});
    uint64_t a = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
    oracle.EndWrite(a, kOk, Microseconds(2));
    uint64_t f = oracle.BeginFlush(0, Microseconds(3));
    oracle.EndFlush(f, kOk, Microseconds(4));
    uint64_t failed = oracle.BeginWrite(0, 5, 1, false, Microseconds(5));
    oracle.EndWrite(failed, kFailed, Microseconds(6));
    // Another sector's data, read during the run and found after the crash.
    uint64_t read = oracle.BeginRead(1, 5, 1, Microseconds(7));
    oracle.EndRead(read, kOk, foreign, Microseconds(8));
    EXPECT_EQ(oracle.read_violations().empty(), undefined);
    EXPECT_EQ(oracle.CheckRecovered(5, foreign).has_value(), !undefined);
    EXPECT_EQ(oracle.CheckRecovered(5, kZero).has_value(), !undefined);
    // A write after the failure settles the sector again once it completed (for reads)
    // and once it is required (after the crash).
    uint64_t b = oracle.BeginWrite(0, 5, 1, false, Microseconds(9));
    oracle.EndWrite(b, kOk, Microseconds(10));
    uint64_t after = oracle.BeginRead(1, 5, 1, Microseconds(11));
    oracle.EndRead(after, kOk, foreign, Microseconds(12));
    EXPECT_EQ(oracle.read_violations().size(), undefined ? 1u : 2u);
    EXPECT_EQ(oracle.CheckRecovered(5, foreign).has_value(), !undefined);
    uint64_t g = oracle.BeginFlush(0, Microseconds(13));
    oracle.EndFlush(g, kOk, Microseconds(14));
    EXPECT_TRUE(oracle.CheckRecovered(5, foreign).has_value());
    EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(b, 5)).has_value());
    // A write still in flight at the crash may yet have failed.
    oracle.BeginWrite(0, 5, 1, false, Microseconds(15));
    EXPECT_EQ(oracle.CheckRecovered(5, foreign).has_value(), !undefined);
  }
}


TEST(BlockOracle, AFlushAfterAPowerCutDoesNotRequireWritesFromBeforeIt) {
  BlockOracle oracle;
  uint64_t before = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(before, kOk, Microseconds(2));
  uint64_t in_flight = oracle.BeginWrite(0, 6, 1, false, Microseconds(3));
  oracle.PowerCut(Microseconds(4));
  EXPECT_EQ(oracle.power_cuts(), 1u);
  uint64_t f = oracle.BeginFlush(0, Microseconds(5));
  oracle.EndFlush(f, kOk, Microseconds(6));
  // Both may have been lost at the cut; the flush after it changes nothing.
  EXPECT_FALSE(oracle.CheckRecovered(5, kZero));
  EXPECT_FALSE(oracle.CheckRecovered(6, kZero));
  EXPECT_FALSE(oracle.CheckRecovered(6, Stamped(in_flight, 6)));
  uint64_t read = oracle.BeginRead(1, 5, 1, Microseconds(6));
  oracle.EndRead(read, kOk, kZero, Microseconds(7));
  EXPECT_TRUE(oracle.read_violations().empty());
  // A write after the cut that a flush covers is required, and the writes before the
  // cut are older than it.
  uint64_t after = oracle.BeginWrite(0, 5, 1, false, Microseconds(7));
  oracle.EndWrite(after, kOk, Microseconds(8));
  uint64_t g = oracle.BeginFlush(0, Microseconds(9));
  oracle.EndFlush(g, kOk, Microseconds(10));
  oracle.PowerCut(Microseconds(11));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(after, 5)));
  auto older = oracle.CheckRecovered(5, Stamped(before, 5));
  ASSERT_TRUE(older);
  EXPECT_EQ(older->kind, FailureKind::kOlderData);
  EXPECT_THAT(older->text, HasSubstr("flush #"));
}

TEST(BlockOracle, WhatRecoveryReadBackStaysUntilWritten) {
  BlockOracle oracle;
  uint64_t a = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(a, kOk, Microseconds(2));
  uint64_t b = oracle.BeginWrite(0, 5, 1, false, Microseconds(3));
  oracle.EndWrite(b, kOk, Microseconds(4));
  uint64_t c = oracle.BeginWrite(0, 6, 1, false, Microseconds(5));
  oracle.PowerCut(Microseconds(6));
  // Either write of sector 5 may be what recovery finds; it found `a`, and zeroes in 6.
  ASSERT_FALSE(oracle.CheckRecovered(5, Stamped(a, 5)));
  oracle.SettleRecovered(5, Stamped(a, 5));
  oracle.SettleRecovered(6, kZero);
  // From then on, during the next run and after the next cut, `a` it is.
  uint64_t read = oracle.BeginRead(1, 5, 1, Microseconds(7));
  oracle.EndRead(read, kOk, Stamped(a, 5), Microseconds(8));
  EXPECT_TRUE(oracle.read_violations().empty());
  std::vector<std::byte> flipped = Stamped(b, 5);
  std::vector<std::byte> revived = Stamped(c, 6);
  flipped.insert(flipped.end(), revived.begin(), revived.end());
  uint64_t bad = oracle.BeginRead(1, 5, 2, Microseconds(9));
  oracle.EndRead(bad, kOk, flipped, Microseconds(10));
  ASSERT_EQ(oracle.read_violations().size(), 2u);
  EXPECT_THAT(oracle.read_violations()[0].text,
              HasSubstr("older data than what recovery read back after power cut 1 (write #1)"));
  EXPECT_THAT(oracle.read_violations()[1].text, HasSubstr("(zeroes)"));
  oracle.PowerCut(Microseconds(11));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(a, 5)));
  EXPECT_FALSE(oracle.CheckRecovered(6, kZero));
  auto flip = oracle.CheckRecovered(5, Stamped(b, 5));
  ASSERT_TRUE(flip);
  EXPECT_EQ(flip->kind, FailureKind::kOlderData);
  EXPECT_THAT(flip->text, HasSubstr("had to stay until the sector was written again"));
  auto gone = oracle.CheckRecovered(5, kZero);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->kind, FailureKind::kLostDurableWrite);
  EXPECT_TRUE(oracle.CheckRecovered(6, Stamped(c, 6)));
  EXPECT_THAT(oracle.CheckRecovered(6, Stamped(c, 6))->text,
              HasSubstr("write #3 (client 0, sectors 6+1, submitted 0.005ms, still in flight at "
                        "power cut 1)"));

  // A later write of the sector may or may not survive the next cut; a discard makes it
  // undefined again.
  uint64_t d = oracle.BeginWrite(0, 5, 1, false, Microseconds(12));
  oracle.EndWrite(d, kOk, Microseconds(13));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(d, 5)));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(a, 5)));
  EXPECT_TRUE(oracle.CheckRecovered(5, Stamped(b, 5)));
  uint64_t f = oracle.BeginFlush(0, Microseconds(14));
  oracle.EndFlush(f, kOk, Microseconds(15));
  EXPECT_TRUE(oracle.CheckRecovered(5, Stamped(a, 5)));
  uint64_t discard = oracle.BeginDiscard(0, 6, 1, Microseconds(16));
  oracle.EndWrite(discard, kOk, Microseconds(17));
  EXPECT_FALSE(oracle.CheckRecovered(6, Stamped(c, 6)));
}

// writecache-faults seed 36000110942: a failed write left sector 5 undefined, a
// required write settled it, then a discard undid the settling (the cache freed the
// newer entry and kept the failed write's, under writeback, mapping another sector's
// data).
TEST(BlockOracle, ADiscardAfterTheSettlingWriteLeavesTheSectorUndefinedAgain) {
  const absl::Status kFailed = absl::DataLossError("injected");
  const std::vector<std::byte> foreign = Stamped(99, 8);
  BlockOracle oracle(OracleOptions{.failed_writes_undefined = true});
  uint64_t failed = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(failed, kFailed, Microseconds(2));
  uint64_t w = oracle.BeginWrite(1, 5, 1, false, Microseconds(3));
  oracle.EndWrite(w, kOk, Microseconds(4));
  uint64_t f = oracle.BeginFlush(0, Microseconds(5));
  oracle.EndFlush(f, kOk, Microseconds(6));
  EXPECT_TRUE(oracle.CheckRecovered(5, foreign).has_value());
  uint64_t before = oracle.BeginRead(1, 5, 1, Microseconds(7));
  oracle.EndRead(before, kOk, foreign, Microseconds(8));
  EXPECT_EQ(oracle.read_violations().size(), 1u);
  uint64_t discard = oracle.BeginDiscard(2, 0, 16, Microseconds(9));
  // In flight at a crash here, as in the seed.
  EXPECT_FALSE(oracle.CheckRecovered(5, foreign).has_value());
  uint64_t after = oracle.BeginRead(1, 5, 1, Microseconds(10));
  oracle.EndRead(after, kOk, foreign, Microseconds(11));
  EXPECT_EQ(oracle.read_violations().size(), 1u);
  oracle.EndWrite(discard, kOk, Microseconds(12));
  EXPECT_FALSE(oracle.CheckRecovered(5, foreign).has_value());
  // A required write after the discard settles it again.
  uint64_t x = oracle.BeginWrite(0, 5, 1, false, Microseconds(13));
  oracle.EndWrite(x, kOk, Microseconds(14));
  uint64_t g = oracle.BeginFlush(0, Microseconds(15));
  oracle.EndFlush(g, kOk, Microseconds(16));
  EXPECT_TRUE(oracle.CheckRecovered(5, foreign).has_value());
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(x, 5)).has_value());
}

// writecache-faults seed 36000057446: a failed write left sector 5 undefined; a later
// write of that run completed but was never flushed, so the cut lost it; a read of a
// later run may still find the failed write's bytes.
TEST(BlockOracle, AnUnflushedWriteOfAnEarlierRunDoesNotSettleASectorForReads) {
  const absl::Status kFailed = absl::DataLossError("injected");
  const std::vector<std::byte> foreign = Stamped(99, 8);
  BlockOracle oracle(OracleOptions{.failed_writes_undefined = true});
  uint64_t failed = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.EndWrite(failed, kFailed, Microseconds(2));
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(3));
  oracle.EndWrite(w, kOk, Microseconds(4));
  oracle.PowerCut(Microseconds(5));
  EXPECT_FALSE(oracle.CheckRecovered(5, foreign).has_value());
  oracle.SettleRecovered(5, foreign);
  uint64_t read = oracle.BeginRead(1, 5, 1, Microseconds(6));
  oracle.EndRead(read, kOk, foreign, Microseconds(7));
  EXPECT_TRUE(oracle.read_violations().empty());
  // A required one does.
  uint64_t x = oracle.BeginWrite(0, 5, 1, false, Microseconds(8));
  oracle.EndWrite(x, kOk, Microseconds(9));
  uint64_t f = oracle.BeginFlush(0, Microseconds(10));
  oracle.EndFlush(f, kOk, Microseconds(11));
  oracle.PowerCut(Microseconds(12));
  uint64_t again = oracle.BeginRead(1, 5, 1, Microseconds(13));
  oracle.EndRead(again, kOk, foreign, Microseconds(14));
  EXPECT_EQ(oracle.read_violations().size(), 1u);
}

TEST(BlockOracle, NothingIsSettledInASectorAFailedWriteLeftUndefined) {
  BlockOracle oracle(OracleOptions{.failed_writes_undefined = true});
  uint64_t w = oracle.BeginWrite(0, 5, 1, false, Microseconds(1));
  oracle.PowerCut(Microseconds(2));
  oracle.SettleRecovered(5, Stamped(99, 8));
  oracle.PowerCut(Microseconds(3));
  EXPECT_FALSE(oracle.CheckRecovered(5, Stamped(w, 5)));
  EXPECT_FALSE(oracle.CheckRecovered(5, kZero));
}

}  // namespace
}  // namespace powercut::verifier
