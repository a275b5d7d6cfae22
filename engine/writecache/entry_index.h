// The in-RAM index of cache entries: the tree by original sector, the intrusive lists
// (LRU, writeback batches) and the free list.
//
// These mirror the kernel's wc_entry rb-tree, lru list_heads and freelist/freetree, so
// the engine code can follow the kernel's algorithms step by step:
//   - EntryTree orders entries by original sector; duplicates of one sector are kept
//     in insertion order (the newest, which holds the highest seq_count, is last).
//   - EntryList is an intrusive doubly-linked list over Entry::list_prev/list_next. An
//     entry is in at most one list; Unlist() takes it out of whichever list holds it
//     (the kernel's list_del). front() is the most recently added by PushFront.
//   - FreeList: SSD mode keeps free entries sorted by index with a rotating cursor, so
//     consecutive allocations get consecutive blocks (contiguous IO); pmem mode is FIFO.
//
// Nothing here does IO or touches on-media bytes. Iteration order depends only on
// sectors, indices and insertion order: deterministic.
//
// Threading: no locking of its own; the engine's lock protects it.
#ifndef POWERCUT_ENGINE_WRITECACHE_ENTRY_INDEX_H_
#define POWERCUT_ENGINE_WRITECACHE_ENTRY_INDEX_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/btree_set.h"
#include "engine/runtime/time.h"
#include "engine/writecache/huge_page_allocator.h"
#include "engine/writecache/format.h"

namespace powercut::writecache {

inline constexpr uint32_t kNoEntry = ~uint32_t{0};

class EntryList;
struct Entry;
// The entry array, indexed by cache block (huge pages: a big cache has a big one).
using EntryArray = std::vector<Entry, HugePageAllocator<Entry>>;

struct Entry {
  // RAM mirror of the on-media entry (kept in step with the metadata bytes).
  uint64_t original_sector = kFreeSeq;
  uint64_t seq_count = kFreeSeq;
  runtime::Nanos age{0};       // when it was inserted into the tree (for max_age)
  uint64_t tree_order = 0;     // orders duplicates in the tree
  uint32_t list_prev = kNoEntry;
  uint32_t list_next = kNoEntry;
  EntryList* list = nullptr;   // the list holding it, if any
  uint32_t wc_list_contiguous = 0;  // writeback: blocks in this entry's copy job
  bool write_in_progress = false;   // under writeback
  bool in_tree = false;
};

class EntryList {
 public:
  explicit EntryList(EntryArray& entries) : entries_(&entries) {}
  EntryList(const EntryList&) = delete;
  EntryList& operator=(const EntryList&) = delete;
  ~EntryList() { Clear(); }

  bool empty() const { return head_ == kNoEntry; }
  size_t size() const { return size_; }
  uint32_t front() const { return head_; }
  uint32_t back() const { return tail_; }
  // Neighbours towards the back / the front; kNoEntry at the ends.
  uint32_t next(uint32_t i) const { return (*entries_)[i].list_next; }
  uint32_t prev(uint32_t i) const { return (*entries_)[i].list_prev; }

  // Adds `i`, first taking it out of any list that holds it (list_move).
  void PushFront(uint32_t i);
  void PushBack(uint32_t i);
  // Moves every entry of `other`, in order, to the back of this list.
  void SpliceBack(EntryList& other);
  // Detaches every entry (they end up in no list).
  void Clear();

  // Takes entry `i` out of the list holding it; a no-op if it is in none.
  static void Unlist(EntryArray& entries, uint32_t i);

 private:
  void Detach(uint32_t i);

  EntryArray* entries_;
  uint32_t head_ = kNoEntry;
  uint32_t tail_ = kNoEntry;
  size_t size_ = 0;
};

// An entry's original sector and index, for sorting entries by sector.
struct SectorIndex {
  uint64_t sector;
  uint32_t index;
};
using SectorIndexArray = std::vector<SectorIndex, HugePageAllocator<SectorIndex>>;

// Sorts `items` by sector, stably (entries of one sector keep their order): an LSD
// radix sort in 11-bit digits that skips the digits every sector shares, so a cache's
// worth of entries costs a few linear passes. `scratch` is working space.
void SortBySector(SectorIndexArray& items, SectorIndexArray& scratch);

class EntryTree {
 public:
  explicit EntryTree(EntryArray& entries) : entries_(&entries) {}

  bool empty() const { return set_.empty(); }
  size_t size() const { return set_.size(); }
  void Clear();
  // Inserts `i` after every entry of the same sector and returns the entry that was
  // the newest of that sector until now (kNoEntry if none): one descent for both.
  uint32_t Insert(uint32_t i);
  void Erase(uint32_t i);
  // Inserts `sorted` (strictly ascending sectors, with each entry's original_sector)
  // into an empty tree, as Insert() of each would, in linear time (recovery's bulk
  // load).
  void BuildSorted(std::span<const SectorIndex> sorted);

  // The newest entry of exactly `sector`, or kNoEntry.
  uint32_t FindNewest(uint64_t sector) const;
  // The entry of `sector` (newest, or oldest if `lowest`), else the first entry of a
  // higher sector, else kNoEntry (the kernel's WFE_RETURN_FOLLOWING [| WFE_LOWEST_SEQ]).
  uint32_t FindFollowing(uint64_t sector, bool lowest) const;
  uint32_t First() const;
  // Tree neighbours of entry `i` (which must be in the tree).
  uint32_t Prev(uint32_t i) const;
  uint32_t Next(uint32_t i) const;

 private:
  struct Key {
    uint64_t sector;
    uint64_t order;
    uint32_t index;
  };
  struct Less {
    bool operator()(const Key& a, const Key& b) const {
      return a.sector != b.sector ? a.sector < b.sector : a.order < b.order;
    }
  };
  Key KeyOf(uint32_t i) const {
    const Entry& e = (*entries_)[i];
    return Key{e.original_sector, e.tree_order, i};
  }

  EntryArray* entries_;
  absl::btree_set<Key, Less> set_;
  uint64_t next_order_ = 1;
};

// Free entries. SSD mode (`sorted`): by index, allocation from a cursor that moves
// upwards and wraps. pmem mode: first in, first out.
class FreeList {
 public:
  FreeList(EntryArray& entries, bool sorted)
      : entries_(&entries), sorted_(sorted), fifo_(entries) {}

  size_t size() const { return size_; }
  void Clear();
  void Add(uint32_t i);
  // The next free entry to allocate (kNoEntry if none), without taking it.
  uint32_t Peek() const;
  // Takes the entry Peek() names.
  void Pop();

 private:
  EntryArray* entries_;
  bool sorted_;
  absl::btree_set<uint32_t> tree_;  // sorted mode
  uint32_t current_ = kNoEntry;     // sorted mode: the cursor
  EntryList fifo_;                  // FIFO mode
  size_t size_ = 0;
};

}  // namespace powercut::writecache

#endif  // POWERCUT_ENGINE_WRITECACHE_ENTRY_INDEX_H_
