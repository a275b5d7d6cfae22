#include "engine/writecache/entry_index.h"

#include "gtest/gtest.h"

namespace powercut::writecache {
namespace {

std::vector<uint32_t> Contents(const EntryList& list) {
  std::vector<uint32_t> out;
  for (uint32_t i = list.front(); i != kNoEntry; i = list.next(i)) out.push_back(i);
  return out;
}

TEST(WritecacheEntryIndex, ListsAreIntrusiveAndAnEntryIsInOneListAtATime) {
  std::vector<Entry> entries(6);
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

TEST(WritecacheEntryIndex, TheTreeKeepsDuplicatesInInsertionOrderNewestLast) {
  std::vector<Entry> entries(8);
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

TEST(WritecacheEntryIndex, SortedFreeListAllocatesUpwardsFromItsCursorAndWraps) {
  std::vector<Entry> entries(8);
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

TEST(WritecacheEntryIndex, FifoFreeListAllocatesInOrderOfFreeing) {
  std::vector<Entry> entries(8);
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
