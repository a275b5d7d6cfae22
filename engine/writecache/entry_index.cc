// The in-RAM index of cache entries (entry_index.h).
#include "engine/writecache/entry_index.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "engine/runtime/assertion.h"

namespace powercut::writecache {

// ---- EntryList -------------------------------------------------------------------

void EntryList::Detach(uint32_t i) {
  Entry& e = (*entries_)[i];
  if (e.list_prev != kNoEntry) {
    (*entries_)[e.list_prev].list_next = e.list_next;
  } else {
    head_ = e.list_next;
  }
  if (e.list_next != kNoEntry) {
    (*entries_)[e.list_next].list_prev = e.list_prev;
  } else {
    tail_ = e.list_prev;
  }
  e.list_prev = e.list_next = kNoEntry;
  e.list = nullptr;
  --size_;
}

void EntryList::Unlist(EntryArray& entries, uint32_t i) {
  if (entries[i].list != nullptr) entries[i].list->Detach(i);
}

void EntryList::PushFront(uint32_t i) {
  Unlist(*entries_, i);
  Entry& e = (*entries_)[i];
  e.list = this;
  e.list_prev = kNoEntry;
  e.list_next = head_;
  if (head_ != kNoEntry) {
    (*entries_)[head_].list_prev = i;
  } else {
    tail_ = i;
  }
  head_ = i;
  ++size_;
}

void EntryList::PushBack(uint32_t i) {
  Unlist(*entries_, i);
  Entry& e = (*entries_)[i];
  e.list = this;
  e.list_next = kNoEntry;
  e.list_prev = tail_;
  if (tail_ != kNoEntry) {
    (*entries_)[tail_].list_next = i;
  } else {
    head_ = i;
  }
  tail_ = i;
  ++size_;
}

void EntryList::SpliceBack(EntryList& other) {
  while (!other.empty()) PushBack(other.front());
}

void EntryList::Clear() {
  while (!empty()) Detach(head_);
}

// ---- Sorting by sector -------------------------------------------------------------

void SortBySector(SectorIndexArray& items, SectorIndexArray& scratch) {
  constexpr int kDigitBits = 11;
  constexpr int kDigits = (64 + kDigitBits - 1) / kDigitBits;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  // Already in order (a cache filled by sequential writes): nothing to do.
  if (std::is_sorted(items.begin(), items.end(),
                     [](const SectorIndex& a, const SectorIndex& b) { return a.sector < b.sector; })) {
    return;
  }
  // One pass counts every digit; a digit all sectors share moves nothing.
  std::vector<std::array<size_t, kBuckets>> counts(kDigits);
  for (auto& c : counts) c.fill(0);
  for (const SectorIndex& item : items) {
    for (int d = 0; d < kDigits; ++d) ++counts[d][(item.sector >> (d * kDigitBits)) & (kBuckets - 1)];
  }
  scratch.resize(items.size());
  for (int d = 0; d < kDigits; ++d) {
    std::array<size_t, kBuckets>& count = counts[d];
    if (std::find(count.begin(), count.end(), items.size()) != count.end()) continue;
    size_t sum = 0;
    for (size_t& c : count) sum += std::exchange(c, sum);  // bucket starts
    for (const SectorIndex& item : items) {
      scratch[count[(item.sector >> (d * kDigitBits)) & (kBuckets - 1)]++] = item;
    }
    items.swap(scratch);
  }
}

// ---- EntryTree -------------------------------------------------------------------

void EntryTree::Clear() {
  for (const Key& key : set_) (*entries_)[key.index].in_tree = false;
  set_.clear();
}

uint32_t EntryTree::Insert(uint32_t i) {
  Entry& e = (*entries_)[i];
  POWERCUT_ASSERT(!e.in_tree, "entry ", i, " is inserted into the tree twice");
  e.tree_order = next_order_++;
  e.in_tree = true;
  auto it = set_.insert(KeyOf(i)).first;
  if (it == set_.begin()) return kNoEntry;
  --it;
  return it->sector == e.original_sector ? it->index : kNoEntry;
}

void EntryTree::BuildSorted(std::span<const SectorIndex> sorted) {
  // Each entry's order is base + its index: distinct, and below every later insert's,
  // which is all Insert()'s orders promise. The keys come from `sorted` alone, and the
  // entries are then marked in index order: no random access to the entry array.
  const uint64_t base = next_order_;
  std::vector<bool> member(entries_->size());
  for (const SectorIndex& item : sorted) {
    member[item.index] = true;
    // Each key is the largest so far: the end is the right place, no descent.
    set_.insert(set_.end(), Key{item.sector, base + item.index, item.index});
  }
  for (uint32_t i = 0; i < entries_->size(); ++i) {
    if (!member[i]) continue;
    (*entries_)[i].tree_order = base + i;
    (*entries_)[i].in_tree = true;
  }
  next_order_ = base + entries_->size();
}

void EntryTree::Erase(uint32_t i) {
  const size_t erased = set_.erase(KeyOf(i));
  POWERCUT_ASSERT(erased == 1 || !(*entries_)[i].in_tree, "entry ", i,
                  " is marked in the tree but the tree does not hold it");
  (*entries_)[i].in_tree = false;
}

uint32_t EntryTree::FindNewest(uint64_t sector) const {
  auto it = set_.upper_bound(Key{sector, std::numeric_limits<uint64_t>::max(), 0});
  if (it == set_.begin()) return kNoEntry;
  --it;
  return it->sector == sector ? it->index : kNoEntry;
}

uint32_t EntryTree::FindFollowing(uint64_t sector, bool lowest) const {
  auto it = set_.lower_bound(Key{sector, 0, 0});
  if (it == set_.end()) return kNoEntry;
  if (it->sector == sector && !lowest) return FindNewest(sector);
  return it->index;
}

uint32_t EntryTree::First() const { return set_.empty() ? kNoEntry : set_.begin()->index; }

uint32_t EntryTree::Prev(uint32_t i) const {
  auto it = set_.find(KeyOf(i));
  if (it == set_.end() || it == set_.begin()) return kNoEntry;
  --it;
  return it->index;
}

uint32_t EntryTree::Next(uint32_t i) const {
  auto it = set_.find(KeyOf(i));
  if (it == set_.end()) return kNoEntry;
  ++it;
  return it == set_.end() ? kNoEntry : it->index;
}

// ---- FreeList --------------------------------------------------------------------

void FreeList::Clear() {
  tree_.clear();
  current_ = kNoEntry;
  fifo_.Clear();
  size_ = 0;
}

void FreeList::Add(uint32_t i) {
  if (sorted_) {
    // The cursor starts at the first entry added to an empty list.
    if (tree_.empty()) current_ = i;
    // Recovery adds entries mostly in ascending order: try the end first.
    tree_.insert(tree_.end(), i);
  } else {
    fifo_.PushBack(i);
  }
  ++size_;
}

uint32_t FreeList::Peek() const {
  if (sorted_) return current_;
  return fifo_.empty() ? kNoEntry : fifo_.front();
}

void FreeList::Pop() {
  POWERCUT_ASSERT(size_ > 0, "pop from an empty free list");
  if (sorted_) {
    auto it = tree_.find(current_);
    if (it == tree_.end()) return;  // nothing to take (Peek() said kNoEntry)
    auto next = tree_.erase(it);
    if (next == tree_.end()) next = tree_.begin();
    current_ = next == tree_.end() ? kNoEntry : *next;
  } else {
    EntryList::Unlist(*entries_, fifo_.front());
  }
  --size_;
}

}  // namespace powercut::writecache
