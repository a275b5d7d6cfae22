#include "engine/writecache/entry_index.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace powercut::writecache {
namespace {

std::vector<uint32_t> Contents(const EntryList& list) {
  std::vector<uint32_t> out;
  for (uint32_t i = list.front(); i != kNoEntry; i = list.next(i)) out.push_back(i);
  return out;
}

TEST(WriteCacheEntryIndex, ListsAreIntrusiveAndAnEntryIsInOneListAtATime) {
  EntryArray entries(6);
  EntryList a(entries), b(entries);
  a.PushFront(1);
  a.PushFront(2);
  a.PushBack(3);
  EXPECT_EQ(Contents(a), (std::vector<uint32_t>{2, 1, 3}));
  b.PushFront(1);  // moves it
  EXPECT_EQ(Contents(a), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(Contents(b), (std::vector<uint32_t>{1}));
  EntryList::Unlist(entries, 3);
  EntryList::Unlist(entries, 4);  // in no list: a no-op
  EXPECT_EQ(Contents(a), (std::vector<uint32_t>{2}));
  b.PushBack(5);
  a.SpliceBack(b);
  EXPECT_EQ(Contents(a), (std::vector<uint32_t>{2, 1, 5}));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.back(), 5u);
}

TEST(WriteCacheEntryIndex, TheTreeKeepsDuplicatesInInsertionOrderNewestLast) {
  EntryArray entries(8);
  EntryTree tree(entries);
  auto put = [&](uint32_t i, uint64_t sector) {
    entries[i].original_sector = sector;
    tree.Insert(i);
  };
  put(0, 16);
  put(1, 8);
  put(2, 16);  // newer duplicate of sector 16
  put(3, 32);
  EXPECT_EQ(tree.FindNewest(16), 2u);
  EXPECT_EQ(tree.FindNewest(24), kNoEntry);
  EXPECT_EQ(tree.FindFollowing(16, /*lowest=*/false), 2u);
  EXPECT_EQ(tree.FindFollowing(16, /*lowest=*/true), 0u);
  EXPECT_EQ(tree.FindFollowing(17, false), 3u);
  EXPECT_EQ(tree.FindFollowing(33, false), kNoEntry);
  EXPECT_EQ(tree.First(), 1u);
  EXPECT_EQ(tree.Prev(2), 0u);
  EXPECT_EQ(tree.Next(0), 2u);
  EXPECT_EQ(tree.Next(3), kNoEntry);
  EXPECT_EQ(tree.Prev(1), kNoEntry);
  tree.Erase(2);
  EXPECT_EQ(tree.FindNewest(16), 0u);
  EXPECT_FALSE(entries[2].in_tree);
  EXPECT_EQ(tree.size(), 3u);
}

TEST(WriteCacheEntryIndex, SortBySectorIsStableOverEverySectorDigit) {
  // Sectors that differ in low, middle and top digits, with ties (kept in input order).
  SectorIndexArray items;
  uint64_t x = 0x243f6a8885a308d3ull;
  for (uint32_t i = 0; i < 5000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t sector = (i % 7 == 0) ? (x >> 60) << 56 : (x >> 40) & ~uint64_t{7};
    items.push_back({i > 0 && i % 11 == 0 ? items[i / 2].sector : sector, i});
  }
  SectorIndexArray expected = items;
  std::stable_sort(expected.begin(), expected.end(),
                   [](const SectorIndex& a, const SectorIndex& b) { return a.sector < b.sector; });
  SectorIndexArray scratch;
  SortBySector(items, scratch);
  ASSERT_EQ(items.size(), expected.size());
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].sector, expected[i].sector) << i;
    EXPECT_EQ(items[i].index, expected[i].index) << i;
  }
}

TEST(WriteCacheEntryIndex, ABulkLoadedTreeIsTheTreeOfInsertsInThatOrder) {
  EntryArray entries(6);
  const uint64_t sectors[] = {16, 8, 24, 0, 40, 32};
  for (uint32_t i = 0; i < 6; ++i) entries[i].original_sector = sectors[i];
  EntryTree tree(entries);
  tree.BuildSorted(SectorIndexArray{{0, 3}, {8, 1}, {16, 0}, {24, 2}, {32, 5}, {40, 4}});
  EXPECT_EQ(tree.size(), 6u);
  EXPECT_EQ(tree.First(), 3u);
  EXPECT_EQ(tree.Next(0), 2u);
  EXPECT_EQ(tree.FindNewest(32), 5u);
  EXPECT_TRUE(entries[4].in_tree);
  // Later inserts order after the bulk-loaded entries of their sector.
  entries.push_back(Entry{});
  entries[6].original_sector = 16;
  EXPECT_EQ(tree.Insert(6), 0u);
  EXPECT_EQ(tree.FindNewest(16), 6u);
  EXPECT_EQ(tree.FindFollowing(16, /*lowest=*/true), 0u);
}

TEST(WriteCacheEntryIndex, SortedFreeListAllocatesUpwardsFromItsCursorAndWraps) {
  EntryArray entries(8);
  FreeList free(entries, /*sorted=*/true);
  free.Add(5);  // the cursor starts at the first entry added to an empty list
  free.Add(2);
  free.Add(6);
  EXPECT_EQ(free.size(), 3u);
  EXPECT_EQ(free.Peek(), 5u);
  free.Pop();
  EXPECT_EQ(free.Peek(), 6u);
  free.Pop();
  EXPECT_EQ(free.Peek(), 2u);  // wrapped
  free.Pop();
  EXPECT_EQ(free.Peek(), kNoEntry);
  EXPECT_EQ(free.size(), 0u);
}

TEST(WriteCacheEntryIndex, FifoFreeListAllocatesInOrderOfFreeing) {
  EntryArray entries(8);
  FreeList free(entries, /*sorted=*/false);
  free.Add(5);
  free.Add(2);
  EXPECT_EQ(free.Peek(), 5u);
  free.Pop();
  EXPECT_EQ(free.Peek(), 2u);
  free.Pop();
  EXPECT_EQ(free.Peek(), kNoEntry);
}

}  // namespace
}  // namespace powercut::writecache
