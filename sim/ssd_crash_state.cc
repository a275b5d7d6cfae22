#include "sim/ssd_crash_state.h"

#include <algorithm>
#include <limits>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "engine/probe/probe.h"

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

SectorRef PendingWrite::Piece(uint64_t i) const {
  return data == nullptr ? ZeroSector() : SectorRef(data, data.get() + i);
}

void PendingWrite::Retire(uint64_t first, uint64_t end) {
  first = std::max(first, sector);
  end = std::min(end, sector + sectors);
  if (first >= end) return;
  if (retired.empty()) retired.resize(sectors, false);
  std::fill(retired.begin() + static_cast<ptrdiff_t>(first - sector),
            retired.begin() + static_cast<ptrdiff_t>(end - sector), true);
}

void PendingWrite::ApplyRange(DiskImage& image, uint64_t first, uint64_t end) const {
  if (data == nullptr) {
    image.Erase(first, end - first);
  } else {
    image.PutExtent(first, end - first, SectorRef(data, data.get() + (first - sector)));
  }
}

void PendingWrite::ApplyTo(DiskImage& image) const {
  if (retired.empty()) return ApplyRange(image, sector, sector + sectors);
  for (uint64_t begin = 0; begin < sectors;) {
    uint64_t end = begin + 1;
    const bool run_live = live(begin);
    while (end < sectors && live(end) == run_live) ++end;
    if (run_live) ApplyRange(image, sector + begin, sector + end);
    begin = end;
  }
}

DiskImage SsdCrashState::Sample(Prng& prng, const FateVisitor& fates) const {
  const uint64_t keep_quarters = prng.Uniform(5);  // 0..4 quarters of pending pieces kept
  // (sector, index into pending_) of every surviving piece; sorted below, so the
  // writes of one sector stay in pending_ order.
  std::vector<std::pair<uint64_t, uint32_t>> survivors;
  for (uint32_t w = 0; w < pending_.size(); ++w) {
    const PendingWrite& write = pending_[w];
    const bool torn = prng.Chance(1, 4);
    const bool whole_kept = prng.Chance(keep_quarters, 4);
    PendingFate fate{.write = &write, .torn = torn};
    for (uint64_t i = 0; i < write.sectors; ++i) {
      if (!write.live(i)) continue;
      ++fate.live_sectors;
      const bool kept = torn ? prng.Chance(keep_quarters, 4) : whole_kept;
      if (kept) {
        survivors.emplace_back(write.sector + i, w);
        ++fate.kept_sectors;
        if (torn && fates) fate.torn_kept.push_back(write.sector + i);
      }
    }
    if (fate.kept_sectors > 0 && fate.kept_sectors < fate.live_sectors) {
      POWERCUT_PROBE(kSimTornWriteInCrashImage);
    }
    if (fates) fates(fate);
  }
  std::sort(survivors.begin(), survivors.end());
  DiskImage image = durable_;
  // Consecutive sectors won by one write go into the image as one extent.
  uint64_t run_begin = 0, run_end = 0;
  uint32_t run_write = 0;
  auto flush_run = [&] {
    if (run_end > run_begin) pending_[run_write].ApplyRange(image, run_begin, run_end);
  };
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
    const uint32_t winner = on_top[prng.Uniform(on_top.size())];
    if (winner != run_write || sector != run_end) {
      flush_run();
      run_begin = sector;
      run_write = winner;
    }
    run_end = sector + 1;
    begin = end;
  }
  flush_run();
  return image;
}

std::vector<std::pair<uint64_t, std::vector<SectorRef>>> SsdCrashState::TornChoices() const {
  absl::btree_map<uint64_t, std::vector<SectorRef>> choices;
  for (const PendingWrite& write : pending_) {
    for (uint64_t i = 0; i < write.sectors; ++i) {
      if (!write.live(i)) continue;
      const uint64_t sector = write.sector + i;
      const SectorRef piece = write.Piece(i);
      auto [it, inserted] = choices.try_emplace(sector);
      if (inserted) {
        const SectorBytes* current = durable_.Get(sector);
        it->second.push_back(current == nullptr
                                 ? ZeroSector()
                                 : SectorRef(std::make_shared<const SectorBytes>(*current)));
      }
      bool seen = false;
      for (const SectorRef& value : it->second) seen = seen || SameBytes(value, piece);
      if (!seen) it->second.push_back(piece);
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
      pending_[w].ApplyTo(image);
    }
    if (seen.insert(image.Hash()).second) visit(image);
  }
  return seen.size();
}

}  // namespace powercut::sim
