#include "sim/ssd_crash_state.h"

#include <algorithm>
#include <limits>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"

namespace powercut::sim {
namespace {

bool Supersedes(const PendingWrite& later, const PendingWrite& earlier) {
  return earlier.complete_seq != kStillInFlight && later.submit_seq > earlier.complete_seq;
}

bool SameBytes(const SectorRef& a, const SectorRef& b) {
  if (a == b) return true;
  const bool a_zero = a == nullptr || IsZero(*a);
  const bool b_zero = b == nullptr || IsZero(*b);
  if (a_zero || b_zero) return a_zero && b_zero;
  return *a == *b;
}

constexpr size_t kMaxWholeWrites = 20;

}  // namespace

DiskImage SsdCrashState::Sample(Prng& prng) const {
  const uint64_t keep_quarters = prng.Uniform(5);  // 0..4 quarters of pending pieces kept
  // (sector, index into pending_) of every surviving piece; sorted below, so the
  // writes of one sector stay in pending_ order, as before.
  std::vector<std::pair<uint64_t, uint32_t>> survivors;
  for (uint32_t w = 0; w < pending_.size(); ++w) {
    const PendingWrite& write = pending_[w];
    const bool torn = prng.Chance(1, 4);
    const bool whole_kept = prng.Chance(keep_quarters, 4);
    for (size_t i = 0; i < write.pieces.size(); ++i) {
      if (write.pieces[i] == nullptr) continue;
      const bool kept = torn ? prng.Chance(keep_quarters, 4) : whole_kept;
      if (kept) survivors.emplace_back(write.sector + i, w);
    }
  }
  std::sort(survivors.begin(), survivors.end());
  std::vector<std::pair<uint64_t, SectorRef>> winners;
  winners.reserve(survivors.size());
  std::vector<uint32_t> on_top;
  for (size_t begin = 0; begin < survivors.size();) {
    const uint64_t sector = survivors[begin].first;
    size_t end = begin;
    while (end < survivors.size() && survivors[end].first == sector) ++end;
    on_top.clear();
    for (size_t c = begin; c < end; ++c) {
      const uint32_t candidate = survivors[c].second;
      bool superseded = false;
      for (size_t o = begin; o < end; ++o) {
        const uint32_t other = survivors[o].second;
        if (other != candidate && Supersedes(pending_[other], pending_[candidate])) {
          superseded = true;
          break;
        }
      }
      if (!superseded) on_top.push_back(candidate);
    }
    const PendingWrite& winner = pending_[on_top[prng.Uniform(on_top.size())]];
    winners.emplace_back(sector, winner.pieces[sector - winner.sector]);
    begin = end;
  }
  DiskImage image = durable_;
  image.PutSorted(winners);
  return image;
}

std::vector<std::pair<uint64_t, std::vector<SectorRef>>> SsdCrashState::TornChoices() const {
  absl::btree_map<uint64_t, std::vector<SectorRef>> choices;
  for (const PendingWrite& write : pending_) {
    for (size_t i = 0; i < write.pieces.size(); ++i) {
      if (write.pieces[i] == nullptr) continue;
      const uint64_t sector = write.sector + i;
      auto [it, inserted] = choices.try_emplace(sector);
      if (inserted) {
        const SectorBytes* current = durable_.Get(sector);
        it->second.push_back(current == nullptr
                                 ? ZeroSector()
                                 : SectorRef(std::make_shared<const SectorBytes>(*current)));
      }
      bool seen = false;
      for (const SectorRef& value : it->second) seen = seen || SameBytes(value, write.pieces[i]);
      if (!seen) it->second.push_back(write.pieces[i]);
    }
  }
  std::vector<std::pair<uint64_t, std::vector<SectorRef>>> out;
  for (auto& [sector, values] : choices) {
    if (values.size() > 1) out.emplace_back(sector, std::move(values));
  }
  return out;
}

uint64_t SsdCrashState::CountTorn() const {
  uint64_t count = 1;
  for (const auto& [sector, values] : TornChoices()) {
    if (count > std::numeric_limits<uint64_t>::max() / values.size()) {
      return std::numeric_limits<uint64_t>::max();
    }
    count *= values.size();
  }
  return count;
}

absl::StatusOr<uint64_t> SsdCrashState::EnumerateTorn(uint64_t limit,
                                                      const Visitor& visit) const {
  const auto choices = TornChoices();
  const uint64_t count = CountTorn();
  if (count > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat(count == std::numeric_limits<uint64_t>::max() ? "more than 2^64"
                                                                  : absl::StrCat(count),
                     " torn crash images exceed the limit of ", limit));
  }
  std::vector<size_t> digit(choices.size(), 0);
  for (uint64_t n = 0; n < count; ++n) {
    DiskImage image = durable_;
    for (size_t i = 0; i < choices.size(); ++i) {
      image.Put(choices[i].first, choices[i].second[digit[i]]);
    }
    visit(image);
    for (size_t i = 0; i < digit.size(); ++i) {  // mixed-radix increment
      if (++digit[i] < choices[i].second.size()) break;
      digit[i] = 0;
    }
  }
  return count;
}

absl::StatusOr<uint64_t> SsdCrashState::EnumerateWholeWrites(const Visitor& visit) const {
  if (pending_.size() > kMaxWholeWrites) {
    return absl::ResourceExhaustedError(absl::StrCat(
        pending_.size(), " pending writes: more than ", kMaxWholeWrites, " to enumerate"));
  }
  absl::btree_set<uint64_t> seen;
  for (uint64_t subset = 0; subset < (uint64_t{1} << pending_.size()); ++subset) {
    DiskImage image = durable_;
    for (size_t w = 0; w < pending_.size(); ++w) {
      if ((subset >> w & 1) == 0) continue;
      const PendingWrite& write = pending_[w];
      for (size_t i = 0; i < write.pieces.size(); ++i) {
        if (write.pieces[i] != nullptr) image.Put(write.sector + i, write.pieces[i]);
      }
    }
    if (seen.insert(image.Hash()).second) visit(image);
  }
  return seen.size();
}

}  // namespace powercut::sim
