#include "harness/block_oracle.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/io/block_device.h"

namespace powercut::verifier {
namespace {

std::string Time(runtime::Nanos t) {
  return absl::StrFormat("%.3fms", static_cast<double>(t.count()) / 1e6);
}

}  // namespace

uint64_t BlockOracle::Begin(Op op) {
  op.begin_seq = ++seq_;
  op.run = power_cuts();
  ops_.push_back(op);
  const uint64_t id = ops_.size();
  if (op.kind == Kind::kWrite || op.kind == Kind::kDiscard) {
    for (uint64_t s = op.sector; s < op.sector + op.sectors;) {
      Chunk& chunk = chunks_[s / kChunkSectors];
      const uint64_t end = std::min(op.sector + op.sectors, (s / kChunkSectors + 1) * kChunkSectors);
      for (; s < end; ++s) chunk[s % kChunkSectors].push_back(id);
    }
  }
  return id;
}

const BlockOracle::History& BlockOracle::HistoryOf(uint64_t sector) const {
  static const History kNone;
  auto it = chunks_.find(sector / kChunkSectors);
  return it == chunks_.end() ? kNone : it->second[sector % kChunkSectors];
}

const BlockOracle::Settled* BlockOracle::SettledOf(uint64_t sector) const {
  if (settled_.empty()) return nullptr;
  auto it = settled_.find(sector);
  return it == settled_.end() ? nullptr : &it->second;
}

BlockOracle::Ids BlockOracle::HistorySince(uint64_t sector, const Settled* settled) const {
  const History& history = HistoryOf(sector);
  if (settled == nullptr) return history;
  // Ids are in the order their operations began.
  auto first = std::find_if(history.begin(), history.end(), [&](uint64_t id) {
    return ops_[id - 1].begin_seq > settled->seq;
  });
  return Ids(history).subspan(static_cast<size_t>(first - history.begin()));
}

void BlockOracle::PowerCut(runtime::Nanos now) {
  const uint64_t cut = ++seq_;
  for (Op& op : ops_) {
    if (op.end_seq != kNever) continue;
    op.end_seq = cut;
    op.end_time = now;
    op.ok = false;
    op.cut = true;
  }
  cut_seqs_.push_back(cut);
  last_ok_flush_begin_.push_back(0);
}

void BlockOracle::SettleRecovered(uint64_t sector, std::span<const std::byte> bytes) {
  const Settled* before = SettledOf(sector);
  if (LeftUndefined(HistorySince(sector, before), kNever,
                    [this](const Op& write) { return Required(write); })) {
    return;
  }
  const DecodedSector found = DecodeSector(bytes, sector);
  if (found.kind != SectorKind::kStamped && found.kind != SectorKind::kZero) return;
  settled_[sector] = Settled{.seq = ++seq_,
                             .write_id = found.kind == SectorKind::kZero ? 0 : found.write_id,
                             .cut = power_cuts()};
}

absl::Status BlockOracle::ReplayJournalLine(absl::string_view line) {
  const std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
  std::vector<uint64_t> n;
  for (size_t i = 1; i < words.size(); ++i) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(words[i], &value)) break;
    n.push_back(value);
  }
  const absl::string_view op = words.front();
  const size_t want = op == "bw" ? 5 : op == "bd" || op == "br" ? 4 : op == "bf" ? 2 : 3;
  if (n.size() + 1 != words.size() || n.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat("bad journal line \"", line, "\""));
  }
  const auto client = static_cast<uint32_t>(n[0]);
  const auto now = [&n] { return runtime::Nanos(static_cast<int64_t>(n.back())); };
  const bool ends = op == "ew" || op == "ef" || op == "er";
  if (ends && (n[0] == 0 || n[0] > ops_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("journal line \"", line, "\" ends an unknown op"));
  }
  const absl::Status status = ends && n[1] == 0 ? absl::UnknownError("failed") : absl::OkStatus();
  if (op == "bw") {
    BeginWrite(client, n[1], n[2], n[3] != 0, now());
  } else if (op == "bd") {
    BeginDiscard(client, n[1], n[2], now());
  } else if (op == "bf") {
    BeginFlush(client, now());
  } else if (op == "br") {
    BeginRead(client, n[1], n[2], now());
  } else if (op == "ew") {
    EndWrite(n[0], status, now());
  } else if (op == "ef") {
    EndFlush(n[0], status, now());
  } else if (op != "er") {
    return absl::InvalidArgumentError(absl::StrCat("bad journal line \"", line, "\""));
  }
  return absl::OkStatus();
}

uint64_t BlockOracle::BeginWrite(uint32_t client, uint64_t sector, uint64_t sectors, bool fua,
                                 runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("bw ", client, " ", sector, " ", sectors, " ", fua ? 1 : 0, " ", now.count()));
  return Begin(Op{Kind::kWrite, client, sector, sectors, fua, 0, kNever, now});
}

uint64_t BlockOracle::BeginDiscard(uint32_t client, uint64_t sector, uint64_t sectors,
                                   runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("bd ", client, " ", sector, " ", sectors, " ", now.count()));
  return Begin(Op{Kind::kDiscard, client, sector, sectors, false, 0, kNever, now});
}

uint64_t BlockOracle::BeginFlush(uint32_t client, runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("bf ", client, " ", now.count()));
  return Begin(Op{Kind::kFlush, client, 0, 0, false, 0, kNever, now});
}

uint64_t BlockOracle::BeginRead(uint32_t client, uint64_t sector, uint64_t sectors,
                                runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("br ", client, " ", sector, " ", sectors, " ", now.count()));
  return Begin(Op{Kind::kRead, client, sector, sectors, false, 0, kNever, now});
}

void BlockOracle::EndWrite(uint64_t id, const absl::Status& status, runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("ew ", id, " ", status.ok() ? 1 : 0, " ", now.count()));
  Op& op = ops_.at(id - 1);
  op.end_seq = ++seq_;
  op.end_time = now;
  op.ok = status.ok();
}

void BlockOracle::EndFlush(uint64_t id, const absl::Status& status, runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("ef ", id, " ", status.ok() ? 1 : 0, " ", now.count()));
  Op& op = ops_.at(id - 1);
  op.end_seq = ++seq_;
  op.end_time = now;
  op.ok = status.ok();
  if (op.ok) {
    ++acknowledged_flushes_;
    uint64_t& last = last_ok_flush_begin_[op.run];
    last = std::max(last, op.begin_seq);
  }
}

bool BlockOracle::Required(const Op& write) const {
  if (write.kind != Kind::kWrite || !write.ok) return false;
  if (write.fua && options_.fua_is_durable) return true;
  return write.end_seq < last_ok_flush_begin_[write.run];
}

bool BlockOracle::AnyDiscard(Ids history, uint64_t before_seq) const {
  return std::any_of(history.begin(), history.end(), [&](uint64_t id) {
    const Op& op = ops_[id - 1];
    return op.kind == Kind::kDiscard && op.begin_seq < before_seq;
  });
}

bool BlockOracle::DiscardedSince(Ids history, const Op& write, uint64_t before_seq) const {
  for (uint64_t id : history) {
    const Op& discard = ops_[id - 1];
    if (discard.kind == Kind::kDiscard && !Older(discard, write) && discard.begin_seq < before_seq) {
      return true;
    }
  }
  return false;
}

bool BlockOracle::LeftUndefined(Ids history, uint64_t before_seq,
                                absl::FunctionRef<bool(const Op&)> settles) const {
  if (!options_.failed_writes_undefined) return false;
  for (uint64_t id : history) {
    const Op& failed = ops_[id - 1];
    if (failed.kind != Kind::kWrite || failed.ok || failed.begin_seq >= before_seq) {
      continue;
    }
    // A discard of the sector since the settling write undoes the settling: the cache
    // may drop the newer copy and reveal an older one, the failed write's included
    // (dm-writecache's discard skips entries under writeback, so an older duplicate
    // that maps the failed write's block becomes the newest again).
    const bool settled = std::any_of(history.begin(), history.end(), [&](uint64_t later) {
      const Op& write = ops_[later - 1];
      return write.kind == Kind::kWrite && Older(failed, write) && settles(write) &&
             !DiscardedSince(history, write, before_seq);
    });
    if (!settled) return true;
  }
  return false;
}

std::optional<OracleViolation> BlockOracle::CheckRecovered(
    uint64_t sector, std::span<const std::byte> bytes) const {
  const Settled* settled = SettledOf(sector);
  const Ids history = HistorySince(sector, settled);
  if (LeftUndefined(history, kNever, [this](const Op& write) { return Required(write); })) {
    return std::nullopt;
  }
  const DecodedSector found = DecodeSector(bytes, sector);
  if (found.kind == SectorKind::kGarbage) {
    return Explain(FailureKind::kGarbage, sector, found, "no write ever produced these bytes.");
  }
  if (found.kind == SectorKind::kForeign) {
    return Explain(FailureKind::kForeignData, sector, found,
                   "the data belongs to another sector (a misdirected or misplaced write).");
  }

  // The value found must come from some write or discard of this sector ...
  std::optional<uint64_t> source;
  if (found.kind == SectorKind::kStamped) {
    if (found.write_id == 0 || found.write_id > ops_.size() ||
        ops_[found.write_id - 1].kind != Kind::kWrite) {
      return Explain(FailureKind::kGarbage, sector, found, "no write with that id was ever issued.");
    }
    const Op& w = ops_[found.write_id - 1];
    if (sector < w.sector || sector >= w.sector + w.sectors) {
      return Explain(FailureKind::kForeignData, sector, found, "that write never covered this sector.");
    }
    source = found.write_id;
  }
  // ... be what recovery settled after an earlier cut, or newer, unless a discard since
  // made the contents undefined ...
  const bool is_settled = settled != nullptr && (source ? *source == settled->write_id
                                                        : settled->write_id == 0);
  if (settled != nullptr && !is_settled &&
      (source ? ops_[*source - 1].begin_seq < settled->seq : true) &&
      !AnyDiscard(history, kNever)) {
    return Explain(source ? FailureKind::kOlderData : FailureKind::kLostDurableWrite, sector,
                   found,
                   absl::StrCat(DescribeSettled(*settled),
                                " had to stay until the sector was written again."));
  }
  // ... and must not be older than any required write of this sector, unless a discard
  // of the sector that is not older than that write made its contents undefined. What
  // recovery settled is older than every write after it.
  for (uint64_t id : history) {
    const Op& required = ops_[id - 1];
    if (!Required(required)) continue;
    if (source && !is_settled && !Older(ops_[*source - 1], required)) continue;
    if (DiscardedSince(history, required, kNever)) continue;
    return Explain(source ? FailureKind::kOlderData : FailureKind::kLostDurableWrite, sector, found,
                   source ? absl::StrCat("it is older than ", DescribeOp(id),
                                         ", which had to survive: an acknowledged durable "
                                         "write was lost.")
                          : absl::StrCat(DescribeOp(id),
                                         " had to survive: an acknowledged durable write was "
                                         "lost."));
  }
  return std::nullopt;
}

void BlockOracle::EndRead(uint64_t id, const absl::Status& status, std::span<const std::byte> data,
                          runtime::Nanos now) {
  if (journal_) journal_(absl::StrCat("er ", id, " ", status.ok() ? 1 : 0, " ", now.count()));
  Op& read = ops_.at(id - 1);
  read.end_seq = ++seq_;
  read.end_time = now;
  read.ok = status.ok();
  if (!read.ok) return;
  for (uint64_t i = 0; i < read.sectors; ++i) {
    const uint64_t sector = read.sector + i;
    const Settled* settled = SettledOf(sector);
    const Ids history = HistorySince(sector, settled);
    // A write of an earlier run settles the sector only if it was required: one that
    // was not may have been lost at the cut, leaving the failed write's bytes.
    if (LeftUndefined(history, read.end_seq, [this, &read](const Op& write) {
          return write.ok && write.end_seq < read.begin_seq &&
                 (write.run == read.run || Required(write));
        })) {
      continue;
    }
    const DecodedSector found = DecodeSector(data.subspan(i * io::kSectorSize, io::kSectorSize), sector);
    std::string problem;
    if (found.kind == SectorKind::kGarbage || found.kind == SectorKind::kForeign) {
      problem = "the read returned data no write put there.";
    } else if (settled != nullptr &&
               (found.kind == SectorKind::kZero
                    ? settled->write_id != 0
                    : found.write_id != settled->write_id &&
                          (found.write_id == 0 || found.write_id > ops_.size() ||
                           ops_[found.write_id - 1].begin_seq < settled->seq)) &&
               !AnyDiscard(history, read.end_seq)) {
      problem = absl::StrCat("it returned older data than ", DescribeSettled(*settled), ".");
    } else {
      for (uint64_t wid : history) {
        const Op& done = ops_[wid - 1];
        // Writes that completed successfully before the read was submitted: of the
        // read's own run, or required ones of earlier runs (a power cut since may have
        // lost the others).
        if (done.kind != Kind::kWrite || !done.ok || done.end_seq > read.begin_seq) continue;
        if (done.run != read.run && !Required(done)) continue;
        // A discard since `done` excuses whatever is found; looked for only when needed.
        if (found.kind == SectorKind::kZero) {
          if (DiscardedSince(history, done, read.end_seq)) continue;
          problem = absl::StrCat("it returned zeroes after ", DescribeOp(wid), " completed.");
          break;
        } else if (found.write_id == wid) {
          continue;
        } else if (found.write_id > ops_.size() || Older(ops_[found.write_id - 1], done) ||
                   ops_[found.write_id - 1].begin_seq > read.end_seq) {
          if (DiscardedSince(history, done, read.end_seq)) continue;
          problem = absl::StrCat("it returned stale data although ", DescribeOp(wid),
                                 " completed before the read was submitted.");
          break;
        }
      }
    }
    if (!problem.empty()) {
      read_violations_.push_back(OracleViolation{FailureKind::kBadRead, sector, absl::StrCat(
          "Read #", id, " (client ", read.client, ", sectors ", read.sector, "+", read.sectors,
          ", submitted ", Time(read.begin_time),
          read.run > 0 ? absl::StrCat(" after power cut ", read.run) : "",
          ", completed ", Time(read.end_time),
          ") found ", found.Describe(), " in sector ", sector, ": ", problem)});
    }
  }
}

std::vector<io::SectorRange> BlockOracle::TouchedRanges() const {
  std::vector<io::SectorRange> ranges;
  for (const Op& op : ops_) {
    if (op.kind == Kind::kWrite || op.kind == Kind::kDiscard) ranges.push_back({op.sector, op.sectors});
  }
  return io::Unite(std::move(ranges));
}

uint64_t BlockOracle::writes() const {
  uint64_t n = 0;
  for (const Op& op : ops_) n += op.kind == Kind::kWrite;
  return n;
}

std::string BlockOracle::DescribeOp(uint64_t id) const {
  const Op& op = ops_[id - 1];
  std::string kind = op.kind == Kind::kWrite ? (op.fua ? "FUA write" : "write") : "discard";
  std::string out = absl::StrCat(kind, " #", id, " (client ", op.client, ", sectors ", op.sector,
                                 "+", op.sectors, ", submitted ", Time(op.begin_time));
  // Each run's clock starts at zero.
  if (op.run > 0) absl::StrAppend(&out, " after power cut ", op.run);
  if (op.end_seq == kNever || (op.cut && power_cuts() == 1)) {
    absl::StrAppend(&out, ", still in flight at the crash)");
  } else if (op.cut) {
    absl::StrAppend(&out, ", still in flight at power cut ", op.run + 1, ")");
  } else {
    absl::StrAppend(&out, ", ", op.ok ? "acknowledged" : "failed", " ", Time(op.end_time));
    if (Required(op) && !(op.fua && options_.fua_is_durable)) {
      // Name the flush that made it required.
      for (size_t f = 0; f < ops_.size(); ++f) {
        const Op& flush = ops_[f];
        if (flush.kind == Kind::kFlush && flush.ok && flush.run == op.run &&
            flush.begin_seq > op.end_seq) {
          absl::StrAppend(&out, ", then flush #", f + 1, " submitted ", Time(flush.begin_time),
                          " and acknowledged ", Time(flush.end_time));
          break;
        }
      }
    }
    absl::StrAppend(&out, ")");
  }
  return out;
}

std::string BlockOracle::DescribeSettled(const Settled& settled) const {
  return absl::StrCat("what recovery read back after power cut ", settled.cut, " (",
                      settled.write_id == 0 ? std::string("zeroes")
                                            : absl::StrCat("write #", settled.write_id),
                      ")");
}

OracleViolation BlockOracle::Explain(FailureKind kind, uint64_t sector,
                                     const DecodedSector& found, const std::string& why) const {
  std::string out = absl::StrCat("After the crash, sector ", sector, " holds ", found.Describe());
  if (found.kind != SectorKind::kZero && found.kind != SectorKind::kGarbage &&
      found.write_id >= 1 && found.write_id <= ops_.size() &&
      ops_[found.write_id - 1].kind == Kind::kWrite) {
    absl::StrAppend(&out, ", i.e. ", DescribeOp(found.write_id));
  }
  absl::StrAppend(&out, "; but ", why);
  return OracleViolation{kind, sector, std::move(out)};
}

}  // namespace powercut::verifier
