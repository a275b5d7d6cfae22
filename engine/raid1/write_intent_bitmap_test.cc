// The in-memory write-intent bitmap, one rule of docs/raid1.md per test. Test names state
// the guarantee; the invariant they cover (I1..I14) is in the name or the comment.
#include "engine/raid1/write_intent_bitmap.h"

#include <vector>

#include "engine/raid1/md_superblock.h"
#include "engine/runtime/assertion.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::raid1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::array<uint8_t, 16> kUuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr uint64_t kEvents = 10;

// 512 MiB in 64 KiB chunks: 8192 chunks of 128 sectors, one page (1280 bytes).
BitmapSuper SmallSuper() {
  return {.uuid = kUuid,
          .events = kEvents,
          .events_cleared = kEvents,
          .sync_size = uint64_t{1} << 20,
          .chunksize = 65536};
}

// 100000 chunks of one sector: 12756 bytes, four pages; page 0 holds chunks
// [0, 30720), page 1 [30720, 63488), page 2 [63488, 96256), page 3 the rest.
BitmapSuper FourPageSuper() {
  return {.uuid = kUuid,
          .events = kEvents,
          .events_cleared = kEvents,
          .sync_size = 100000,
          .chunksize = 512};
}

LoadContext Clean() {
  return {.array_uuid = kUuid, .array_events = kEvents, .resync_offset = kMdResyncDone};
}
LoadContext Unclean() { return {.array_uuid = kUuid, .array_events = kEvents, .resync_offset = 0}; }

std::vector<std::byte> Image(const BitmapSuper& sb, std::initializer_list<uint64_t> set_chunks) {
  std::vector<std::byte> image = *NewBitmapImage(sb, /*all_dirty=*/false);
  const BitmapGeometry geometry = *BitmapGeometry::For(sb);
  for (uint64_t chunk : set_chunks) SetChunkBit(geometry, image, chunk, true);
  return image;
}

WriteIntentBitmap LoadOrDie(const std::vector<std::byte>& image, const LoadContext& context,
                            const BitmapOptions& options = {}) {
  absl::StatusOr<WriteIntentBitmap> bitmap = WriteIntentBitmap::Load(image, context, options);
  if (!bitmap.ok()) throw std::runtime_error(std::string(bitmap.status().message()));
  return *std::move(bitmap);
}

WriteIntentBitmap FreshSmall() { return LoadOrDie(Image(SmallSuper(), {}), Clean()); }

// What a written page says about `chunk` (bit offsets relative to the page).
bool PageBit(const PageWrite& write, uint64_t chunk) {
  const uint64_t byte = kBitmapSuperSize + chunk / 8 - write.range.offset;
  return (static_cast<uint8_t>(write.data.at(byte)) & (1u << (chunk % 8))) != 0;
}

std::vector<uint64_t> Pages(const std::vector<PageWrite>& writes) {
  std::vector<uint64_t> pages;
  for (const PageWrite& w : writes) pages.push_back(w.page);
  return pages;
}

constexpr uint64_t kChunk = 128;  // sectors per chunk of SmallSuper

// --- startwrite ---------------------------------------------------------------------

TEST(StartWrite, SetsTheBitInMemoryAndMarksItsPageDirtyWithoutIo) {  // I2
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(5 * kChunk, 8, false));
  EXPECT_EQ(b.counter(5), 3);
  EXPECT_TRUE(b.bit(5));
  EXPECT_EQ(b.page_attrs(0), kPageDirty);
  // The intent is written by Unplug, in the page image, before any data goes out.
  std::vector<PageWrite> writes = b.TakeUnplugWrites();
  ASSERT_THAT(Pages(writes), ElementsAre(0));
  EXPECT_TRUE(PageBit(writes[0], 5));
  EXPECT_FALSE(PageBit(writes[0], 4));
  EXPECT_EQ(b.page_attrs(0), 0);
  EXPECT_THAT(b.TakeUnplugWrites(), IsEmpty());
}

TEST(StartWrite, CountsEveryChunkTheRangeTouches) {
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(kChunk - 1, 2, false));  // the last sector of 0, first of 1
  EXPECT_EQ(b.counter(0), 3);
  EXPECT_EQ(b.counter(1), 3);
  EXPECT_EQ(b.counter(2), 0);
  ASSERT_TRUE(b.StartWrite(0, 3 * kChunk, false));
  EXPECT_EQ(b.counter(0), 4);
  EXPECT_EQ(b.counter(1), 4);
  EXPECT_EQ(b.counter(2), 3);
}

TEST(StartWrite, TakesIdleAndRecentChunksBackToThree) {
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(0, 2 * kChunk, false));
  b.EndWrite(0, 2 * kChunk, true, false);
  EXPECT_EQ(b.counter(0), 2);
  b.TakeUnplugWrites();
  ASSERT_TRUE(b.DaemonSweep());
  EXPECT_EQ(b.counter(0), 1);
  ASSERT_TRUE(b.StartWrite(0, kChunk, false));
  EXPECT_EQ(b.counter(0), 3);  // 1 -> 3: the bit is still set, no page dirtied
  EXPECT_EQ(b.page_attrs(0) & kPageDirty, 0);
}

TEST(StartWrite, RefusesAtCounterMaxAndChangesNothing) {
  WriteIntentBitmap b = FreshSmall();
  while (b.counter(0) < kCounterMax) ASSERT_TRUE(b.StartWrite(0, 1, false));
  EXPECT_FALSE(b.StartWrite(0, 2 * kChunk, /*behind=*/true));
  EXPECT_EQ(b.counter(1), 0);  // untouched: no partial update
  EXPECT_EQ(b.behind_writes(), 0u);
  b.EndWrite(0, 1, true, false);
  EXPECT_TRUE(b.StartWrite(0, 2 * kChunk, false));
  EXPECT_EQ(b.counter(0), kCounterMax);
}

TEST(StartWrite, RangePastTheSyncSizeIsAProgrammingError) {
  WriteIntentBitmap b = FreshSmall();
  EXPECT_THROW((void)b.StartWrite(uint64_t{1} << 20, 1, false), runtime::AssertionFailure);
  EXPECT_THROW((void)b.StartWrite((uint64_t{1} << 20) - 1, 2, false), runtime::AssertionFailure);
  EXPECT_TRUE(b.StartWrite(0, 0, false));  // empty: nothing to count
}

// --- endwrite -----------------------------------------------------------------------

TEST(EndWrite, OnAWholeArrayRaisesEventsClearedToTheArrayEvents) {
  WriteIntentBitmap b = FreshSmall();
  b.set_array_events(kEvents + 2);
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  b.EndWrite(0, 8, /*success=*/true, false);
  EXPECT_EQ(b.events_cleared(), kEvents + 2);
  EXPECT_TRUE(b.need_sync());
  EXPECT_EQ(b.counter(0), 2);
  EXPECT_FALSE(b.all_clean());
}

TEST(EndWrite, WhileDegradedKeepsTheBitAndEventsCleared) {  // I7
  WriteIntentBitmap b = FreshSmall();
  b.set_array_events(kEvents + 2);
  b.set_degraded(true);
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  b.EndWrite(0, 8, /*success=*/true, false);
  EXPECT_EQ(b.events_cleared(), kEvents);
  EXPECT_FALSE(b.need_sync());
  EXPECT_EQ(b.counter(0), kCounterNeeded | 2);
  b.TakeUnplugWrites();
  for (int sweep = 0; sweep < 5; ++sweep) {
    b.DaemonSweep();
    b.TakeDaemonWrites();
  }
  EXPECT_TRUE(b.bit(0));
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{0, 1}));
}

TEST(EndWrite, AFailedWriteMakesTheChunkNeededSoItNeverDecays) {  // bm_failed_write_clears
  WriteIntentBitmap b = FreshSmall();
  b.set_array_events(kEvents + 1);
  ASSERT_TRUE(b.StartWrite(3 * kChunk, 8, false));
  b.EndWrite(3 * kChunk, 8, /*success=*/false, false);
  EXPECT_EQ(b.counter(3), kCounterNeeded | 2);
  EXPECT_EQ(b.events_cleared(), kEvents);  // a failed write does not move it either
  for (int sweep = 0; sweep < 5; ++sweep) b.DaemonSweep();
  EXPECT_TRUE(b.bit(3));
  EXPECT_EQ(b.counter(3), kCounterNeeded | 2);
}

TEST(EndWrite, WithoutAWriteInFlightIsAProgrammingError) {
  WriteIntentBitmap b = FreshSmall();
  EXPECT_THROW(b.EndWrite(0, 8, true, false), runtime::AssertionFailure);
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  EXPECT_THROW(b.EndWrite(0, 8, true, /*behind=*/true), runtime::AssertionFailure);
}

TEST(EndWrite, CountsWriteBehindSeparately) {
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(0, 8, /*behind=*/true));
  ASSERT_TRUE(b.StartWrite(kChunk, 8, /*behind=*/true));
  EXPECT_EQ(b.behind_writes(), 2u);
  b.EndWrite(0, 8, true, /*behind=*/true);
  EXPECT_EQ(b.behind_writes(), 1u);
  EXPECT_EQ(b.behind_writes_used(), 2u);
}

// --- the daemon ---------------------------------------------------------------------

TEST(Daemon, ClearsAnIdleBitOnDiskOnlyAtTheThirdSweep) {  // I3, I12
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  ASSERT_THAT(Pages(b.TakeUnplugWrites()), ElementsAre(0));
  b.EndWrite(0, 8, true, false);

  ASSERT_TRUE(b.DaemonSweep());  // 2 -> 1
  EXPECT_EQ(b.counter(0), 1);
  EXPECT_TRUE(b.bit(0));
  EXPECT_THAT(b.TakeDaemonWrites(), IsEmpty());

  ASSERT_TRUE(b.DaemonSweep());  // 1 -> 0: cleared in memory, page PENDING
  EXPECT_EQ(b.counter(0), 0);
  EXPECT_FALSE(b.bit(0));
  EXPECT_EQ(b.page_attrs(0), kPagePending);
  EXPECT_THAT(b.TakeDaemonWrites(), IsEmpty());

  ASSERT_TRUE(b.DaemonSweep());  // PENDING -> NEEDWRITE: the clear goes to disk now
  std::vector<PageWrite> writes = b.TakeDaemonWrites();
  ASSERT_THAT(Pages(writes), ElementsAre(0));
  EXPECT_FALSE(PageBit(writes[0], 0));
  EXPECT_TRUE(b.all_clean());
  EXPECT_EQ(b.dirty_chunks(), 0u);
  EXPECT_FALSE(b.DaemonSweep());  // nothing left: the daemon may sleep
}

TEST(Daemon, NeverDecaysAChunkWithWritesInFlight) {  // I3
  WriteIntentBitmap b = FreshSmall();
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  ASSERT_TRUE(b.StartWrite(kChunk, 8, false));
  b.EndWrite(kChunk, 8, true, false);
  b.TakeUnplugWrites();
  for (int sweep = 0; sweep < 6; ++sweep) {
    b.DaemonSweep();
    b.TakeDaemonWrites();
  }
  EXPECT_EQ(b.counter(0), 3);
  EXPECT_TRUE(b.bit(0));
  EXPECT_FALSE(b.bit(1));
}

TEST(Daemon, NeverDecaysNeededOrResyncChunks) {  // I13, bm_needed_decays
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {1, 2}), Unclean());
  EXPECT_EQ(b.counter(1), kCounterNeeded | 2);
  ASSERT_TRUE(b.StartSync(2, /*degraded=*/false));
  EXPECT_EQ(b.counter(2), kCounterResync | 2);
  for (int sweep = 0; sweep < 6; ++sweep) {
    b.DaemonSweep();
    b.TakeDaemonWrites();
  }
  EXPECT_TRUE(b.bit(1));
  EXPECT_TRUE(b.bit(2));
  EXPECT_EQ(b.counter(1), kCounterNeeded | 2);
  EXPECT_EQ(b.counter(2), kCounterResync | 2);
}

TEST(Daemon, WritesARaisedEventsClearedIntoTheSuperblockPage) {  // I6
  WriteIntentBitmap b = FreshSmall();
  // md bumps its events only after writing them to the bitmap superblock first.
  b.set_array_events(kEvents + 3);
  (void)b.UpdateSuper();
  ASSERT_TRUE(b.StartWrite(kChunk, 8, false));
  b.TakeUnplugWrites();
  b.EndWrite(kChunk, 8, true, false);
  ASSERT_TRUE(b.DaemonSweep());
  EXPECT_FALSE(b.need_sync());
  std::vector<PageWrite> writes = b.TakeDaemonWrites();
  ASSERT_THAT(Pages(writes), ElementsAre(0));
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(writes[0].data);
  ASSERT_TRUE(sb.ok()) << sb.status();
  EXPECT_EQ(sb->events_cleared, kEvents + 3);
  EXPECT_LE(sb->events_cleared, sb->events);
  EXPECT_TRUE(PageBit(writes[0], 1));  // still set: it decays later
}

TEST(Daemon, WritesInPageOrderAndStopsAtADirtyPage) {
  WriteIntentBitmap b = LoadOrDie(Image(FourPageSuper(), {}), Clean());
  ASSERT_EQ(b.geometry().pages, 4u);
  b.WriteAll();                                // every page NEEDWRITE
  ASSERT_TRUE(b.StartWrite(40000, 1, false));  // page 1 DIRTY
  ASSERT_TRUE(b.DaemonSweep());
  EXPECT_THAT(Pages(b.TakeDaemonWrites()), ElementsAre(0));
  // Unplug writes the dirty page and everything the daemon left behind it.
  EXPECT_THAT(Pages(b.TakeUnplugWrites()), ElementsAre(1, 2, 3));
}

TEST(Daemon, AClearRidesAlongWhenItsPageIsAlreadyDueForWriting) {
  WriteIntentBitmap b = LoadOrDie(Image(FourPageSuper(), {}), Clean());
  ASSERT_TRUE(b.StartWrite(0, 2, false));  // chunks 0 and 1
  b.TakeUnplugWrites();
  b.EndWrite(0, 1, true, false);
  b.DaemonSweep();  // chunk 0: 2 -> 1
  b.EndWrite(1, 1, true, false);
  b.DaemonSweep();  // chunk 0: 1 -> 0, page 0 PENDING; chunk 1: 2 -> 1
  EXPECT_EQ(b.page_attrs(0), kPagePending);
  EXPECT_THAT(b.TakeDaemonWrites(), IsEmpty());
  // Page 0 turns NEEDWRITE first, so chunk 1's clear in the same sweep is written with
  // it instead of waiting another period.
  b.DaemonSweep();
  EXPECT_EQ(b.counter(1), 0);
  std::vector<PageWrite> writes = b.TakeDaemonWrites();
  ASSERT_THAT(Pages(writes), ElementsAre(0));
  EXPECT_FALSE(PageBit(writes[0], 0));
  EXPECT_FALSE(PageBit(writes[0], 1));
  EXPECT_EQ(b.page_attrs(0), 0);
  EXPECT_TRUE(b.all_clean());
}

// --- unplug and page writes ---------------------------------------------------------

TEST(Unplug, WritesDirtyAndNeedWritePagesInOrderAndTakesPendingClearsAlong) {
  WriteIntentBitmap b = LoadOrDie(Image(FourPageSuper(), {}), Clean());
  ASSERT_TRUE(b.StartWrite(99999, 1, false));  // page 3
  ASSERT_TRUE(b.StartWrite(70000, 1, false));  // page 2
  ASSERT_TRUE(b.StartWrite(5, 1, false));      // page 0
  std::vector<PageWrite> writes = b.TakeUnplugWrites();
  EXPECT_THAT(Pages(writes), ElementsAre(0, 2, 3));
  EXPECT_TRUE(PageBit(writes[2], 99999));
  EXPECT_TRUE(PageBit(writes[1], 70000));
}

TEST(PageWrites, CoverWholePagesAndRoundTheLastToTheLogicalBlock) {  // I14
  WriteIntentBitmap b = LoadOrDie(Image(FourPageSuper(), {}), Clean(),
                                  {.logical_block_size = 512, .area_bytes = 13 * 1024});
  b.WriteAll();
  std::vector<PageWrite> writes = b.TakeUnplugWrites();
  ASSERT_EQ(writes.size(), 4u);
  EXPECT_EQ(writes[0].range, (ByteRange{0, 4096}));
  EXPECT_EQ(writes[3].range, (ByteRange{3 * 4096, 512}));  // 468 bytes used
  for (const PageWrite& w : writes) {
    EXPECT_EQ(w.data.size(), w.range.length);
    EXPECT_LE(w.range.end(), 13u * 1024);
  }
}

TEST(PageWrites, FileBitmapsHaveOneCopySoWriteAllIsANoOp) {
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {}), Clean(), {.file = true});
  b.WriteAll();
  EXPECT_THAT(b.TakeUnplugWrites(), IsEmpty());
}

TEST(Kick, DisablesTheBitmapAndMarksItStaleOnDisk) {
  WriteIntentBitmap b = FreshSmall();
  std::optional<PageWrite> sb_write = b.Kick();
  ASSERT_TRUE(sb_write.has_value());
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(sb_write->data);
  ASSERT_TRUE(sb.ok());
  EXPECT_TRUE(sb->stale());
  EXPECT_FALSE(b.Kick().has_value());
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  EXPECT_THAT(b.TakeUnplugWrites(), IsEmpty());
  b.WriteAll();
  b.DaemonSweep();
  EXPECT_THAT(b.TakeDaemonWrites(), IsEmpty());
}

// --- the superblock -----------------------------------------------------------------

TEST(UpdateSuper, WritesTheArrayEventsAndNeverAnEventsClearedAboveThem) {  // I4, I6
  WriteIntentBitmap b = FreshSmall();
  b.set_array_events(kEvents + 5);
  PageWrite w = b.UpdateSuper();
  EXPECT_EQ(w.page, 0u);
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(w.data);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->events, kEvents + 5);
  EXPECT_EQ(sb->events_cleared, kEvents);
  EXPECT_EQ(sb->state, 0u);
  ASSERT_TRUE(b.StartWrite(0, 8, false));
  b.EndWrite(0, 8, true, false);
  EXPECT_EQ(b.events_cleared(), kEvents + 5);
  // md's clean rollback lowers the array's events by one; events_cleared follows.
  b.set_array_events(kEvents + 4);
  sb = DecodeBitmapSuper(b.UpdateSuper().data);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->events, kEvents + 4);
  EXPECT_EQ(sb->events_cleared, kEvents + 4);
  EXPECT_EQ(b.super(), *sb);
}

// --- load ---------------------------------------------------------------------------

TEST(Load, AfterACleanShutdownTrustsSetBitsAndLetsThemDecay) {  // I1, I12
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {3, 5}), Clean());
  EXPECT_EQ(b.counter(3), 2);
  EXPECT_EQ(b.counter(5), 2);
  EXPECT_EQ(b.counter(4), 0);
  EXPECT_THAT(b.ResyncPlan(), IsEmpty());
  EXPECT_THAT(b.TakeLoadWrites(), IsEmpty());
  for (int sweep = 0; sweep < 3; ++sweep) {
    b.DaemonSweep();
    b.TakeDaemonWrites();
  }
  EXPECT_EQ(b.dirty_chunks(), 0u);
  EXPECT_EQ(b.counter(3), 0);
}

TEST(Load, AfterAnUncleanShutdownEverySetBitIsNeededAndClearBitsAreTrusted) {  // I1
  WriteIntentBitmap b = LoadOrDie(Image(FourPageSuper(), {0, 1, 2, 40000, 99999}), Unclean());
  EXPECT_EQ(b.counter(0), kCounterNeeded | 2);
  EXPECT_EQ(b.counter(99999), kCounterNeeded | 2);
  EXPECT_EQ(b.counter(3), 0);
  EXPECT_THAT(b.ResyncPlan(),
              ElementsAre(ChunkRange{0, 3}, ChunkRange{40000, 1}, ChunkRange{99999, 1}));
}

TEST(Load, ResyncOffsetLimitsNeededChunksToThoseEndingAtOrPastIt) {
  LoadContext context = Unclean();
  context.resync_offset = 10 * kChunk;  // md had resynced [0, 10 chunks)
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {3, 9, 10, 20}), context);
  EXPECT_EQ(b.counter(3), 2);
  // Chunk 9 ends exactly at the offset: md's test is `end >= offset`, so it resyncs.
  EXPECT_EQ(b.counter(9), kCounterNeeded | 2);
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{9, 2}, ChunkRange{20, 1}));
}

TEST(Load, AStaleBitmapSetsEveryBitRewritesEveryPageAndResyncsAll) {  // I5, I10
  BitmapSuper sb = FourPageSuper();
  sb.events = kEvents - 1;  // missed an update of the array
  WriteIntentBitmap b = LoadOrDie(Image(sb, {7}), Unclean());
  EXPECT_FALSE(b.stale());  // stale is resolved by loading
  EXPECT_EQ(b.events_cleared(), kEvents);
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{0, 100000}));
  std::vector<PageWrite> writes = b.TakeLoadWrites();
  ASSERT_THAT(Pages(writes), ElementsAre(0, 1, 2, 3));
  EXPECT_TRUE(PageBit(writes[1], 33333));
  EXPECT_EQ(b.dirty_chunks(), 100000u);
  EXPECT_THAT(b.TakeLoadWrites(), IsEmpty());
  absl::StatusOr<BitmapSuper> written = DecodeBitmapSuper(b.UpdateSuper().data);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->events, kEvents);
  EXPECT_FALSE(written->stale());
}

TEST(Load, TheStaleStateBitOnDiskMeansStaleToo) {  // I10
  BitmapSuper sb = SmallSuper();
  sb.state = kBitmapStateStale;
  WriteIntentBitmap b = LoadOrDie(Image(sb, {}), Unclean());
  EXPECT_EQ(b.dirty_chunks(), b.geometry().chunks);
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{0, 8192}));
}

TEST(Load, AStaleBitmapOnACleanArraySetsBitsButNeedsNoResync) {
  // md resyncs only what the array's own state says is out of sync; a stale bitmap on
  // a cleanly stopped array is rewritten as all ones (so a re-added member gets a full
  // recovery) but starts no resync.
  BitmapSuper sb = SmallSuper();
  sb.events = kEvents - 1;
  WriteIntentBitmap b = LoadOrDie(Image(sb, {}), Clean());
  EXPECT_EQ(b.dirty_chunks(), 8192u);
  EXPECT_THAT(b.ResyncPlan(), IsEmpty());
  EXPECT_EQ(b.ReAddRecoveryFor(kEvents - 1), ReAddRecovery::kFull);
}

TEST(Load, ADegradedArrayWithBitsKeptForReAddResyncsThemAfterACleanStop) {
  BitmapSuper sb = SmallSuper();
  sb.events_cleared = kEvents - 4;  // bits kept since a member went missing
  LoadContext context = Clean();
  context.degraded = true;
  WriteIntentBitmap b = LoadOrDie(Image(sb, {6}), context);
  EXPECT_EQ(b.counter(6), kCounterNeeded | 2);
  // A whole array with the same bitmap trusts the clean stop.
  b = LoadOrDie(Image(sb, {6}), Clean());
  EXPECT_EQ(b.counter(6), 2);
}

TEST(Load, RejectsAnotherArraysBitmap) {
  LoadContext context = Clean();
  context.array_uuid[0] ^= 1;
  absl::StatusOr<WriteIntentBitmap> b =
      WriteIntentBitmap::Load(Image(SmallSuper(), {}), context, {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("uuid"));
}

TEST(Load, RejectsATruncatedImageAndACorruptSuperblock) {
  std::vector<std::byte> image = Image(SmallSuper(), {});
  image.pop_back();
  absl::StatusOr<WriteIntentBitmap> b = WriteIntentBitmap::Load(image, Clean(), {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("too short"));
  image = Image(SmallSuper(), {});
  image[52] = std::byte{1};  // chunksize 65537
  b = WriteIntentBitmap::Load(image, Clean(), {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("chunksize"));
}

TEST(Load, RejectsAWriteErrorRecordedOnDisk) {
  BitmapSuper sb = SmallSuper();
  sb.state = kBitmapStateWriteError;
  absl::StatusOr<WriteIntentBitmap> b = WriteIntentBitmap::Load(Image(sb, {}), Clean(), {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("WRITE_ERROR"));
}

TEST(Load, RejectsABitmapThatDoesNotFitItsArea) {  // I14
  // 1280 bytes do not fit 1024.
  absl::StatusOr<WriteIntentBitmap> b =
      WriteIntentBitmap::Load(Image(SmallSuper(), {}), Clean(), {.area_bytes = 1024});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("does not fit"));
  // 1280 bytes fit 2048, but a 4 KiB-sector member would write 4096.
  b = WriteIntentBitmap::Load(Image(SmallSuper(), {}), Clean(),
                              {.logical_block_size = 4096, .area_bytes = 2048});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kOutOfRange);
}

// --- resync -------------------------------------------------------------------------

TEST(Resync, CopiesNeededChunksAndLetsThemDecayAfterwards) {  // I12
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {4}), Unclean());
  EXPECT_FALSE(b.StartSync(3, false));
  ASSERT_TRUE(b.StartSync(4, false));
  EXPECT_EQ(b.counter(4), kCounterResync | 2);
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{4, 1}));  // still running
  b.EndSync(4, /*aborted=*/false);
  EXPECT_EQ(b.counter(4), 2);
  EXPECT_THAT(b.ResyncPlan(), IsEmpty());
  for (int sweep = 0; sweep < 3; ++sweep) {
    b.DaemonSweep();
    b.TakeDaemonWrites();
  }
  EXPECT_EQ(b.dirty_chunks(), 0u);
  EXPECT_TRUE(b.all_clean());
}

TEST(Resync, AnAbortedResyncLeavesTheChunkNeeded) {  // I13
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {4, 5}), Unclean());
  ASSERT_TRUE(b.StartSync(4, false));
  ASSERT_TRUE(b.StartSync(5, false));
  b.EndSync(4, /*aborted=*/true);
  EXPECT_EQ(b.counter(4), kCounterNeeded | 2);
  b.CloseSync();  // what finished stays finished
  EXPECT_EQ(b.counter(5), 2);
  EXPECT_THAT(b.ResyncPlan(), ElementsAre(ChunkRange{4, 1}));
}

TEST(Resync, ADegradedArrayKeepsNeededForTheMissingMember) {  // I7
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {4}), Unclean());
  EXPECT_TRUE(b.StartSync(4, /*degraded=*/true));
  EXPECT_EQ(b.counter(4), kCounterNeeded | 2);
  b.EndSync(4, false);  // not RESYNC: nothing to end
  EXPECT_EQ(b.counter(4), kCounterNeeded | 2);
}

TEST(Resync, WritesDuringAResyncKeepTheFlags) {
  WriteIntentBitmap b = LoadOrDie(Image(SmallSuper(), {4}), Unclean());
  ASSERT_TRUE(b.StartSync(4, false));
  ASSERT_TRUE(b.StartWrite(4 * kChunk, 8, false));
  EXPECT_EQ(b.counter(4), kCounterResync | 3);
  b.EndWrite(4 * kChunk, 8, true, false);
  b.EndSync(4, false);
  EXPECT_EQ(b.counter(4), 2);
}

TEST(ReAdd, UsesTheBitmapOnlyForMembersNoOlderThanEventsCleared) {  // I11
  BitmapSuper sb = SmallSuper();
  sb.events = 20;
  sb.events_cleared = 15;
  LoadContext context = Clean();
  context.array_events = 20;
  WriteIntentBitmap b = LoadOrDie(Image(sb, {}), context);
  EXPECT_EQ(b.ReAddRecoveryFor(14), ReAddRecovery::kFull);
  EXPECT_EQ(b.ReAddRecoveryFor(15), ReAddRecovery::kBitmap);
  EXPECT_EQ(b.ReAddRecoveryFor(19), ReAddRecovery::kBitmap);
  EXPECT_EQ(b.ReAddRecoveryFor(20), ReAddRecovery::kNone);
}

TEST(ResyncPlan, OfAMillionChunkBitmapListsExactlyTheNeededRuns) {
  const BitmapSuper sb = {.uuid = kUuid,
                          .events = kEvents,
                          .events_cleared = kEvents,
                          .sync_size = 1000000,
                          .chunksize = 512};
  std::vector<std::byte> image = *NewBitmapImage(sb, false);
  const BitmapGeometry geometry = *BitmapGeometry::For(sb);
  for (uint64_t chunk = 0; chunk < geometry.chunks; chunk += 1000) {
    SetChunkBit(geometry, image, chunk, true);
    SetChunkBit(geometry, image, chunk + 1, true);
  }
  WriteIntentBitmap b = LoadOrDie(image, Unclean());
  std::vector<ChunkRange> plan = b.ResyncPlan();
  ASSERT_EQ(plan.size(), 1000u);
  EXPECT_EQ(plan[7], (ChunkRange{7000, 2}));
}

}  // namespace
}  // namespace powercut::raid1
