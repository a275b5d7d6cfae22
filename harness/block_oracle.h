// BlockOracle: what a logical block device may legally hold after a power cut.
//
// It records the history of a workload (each write, discard, flush and read, with the
// order in which they were submitted and completed) and then judges contents:
//
//   A write W is REQUIRED (must survive) iff it completed successfully and either a
//   flush that was submitted after W completed itself completed successfully, or W was
//   a FUA write and the device under test promises FUA durability.
//   W is OLDER than X iff W completed before X was submitted.
//   After a crash, sector s may hold the data of any write W to s (acknowledged, failed
//   or still in flight) that is not older than a required write to s; zeroes only if no
//   write to s is required. A discard makes a sector's contents undefined, as the block
//   layer allows: once a discard of s is not older than a required write R, R no longer
//   has to survive, and s may read back as zeroes or as any earlier write to s (a cache
//   that drops its copy reveals the origin's). Never garbage, never data written for
//   another sector.
//
// Reads during the workload are checked as they complete: a read may return any write
// not older than a write that completed before the read was submitted, or, after a
// discard submitted before the read completed, zeroes or any write of the sector.
//
// Several power cuts: PowerCut() ends every operation still in flight (failed: it may
// or may not have reached the media), and a flush makes required only the writes of its
// own run (those that completed after the latest cut), since earlier unrequired writes
// may have been lost at a cut; for the same reason a read need not see a write of an
// earlier run that was not required. What recovery read back after a cut (SettleRecovered) is
// the sector's contents from then on: until a later write or discard of the sector, it
// must read back exactly that after later cuts too, and during later runs.
//
// "Order" is the oracle's own event counter, so concurrent operations (overlapping in
// time) are never mistaken for ordered ones. Violations are explained in one
// paragraph naming the writes, flushes and times involved.
//
// Threading: single-threaded; the recording calls must be made at the instant the
// operation is submitted or completed (in IO callbacks, not after a fiber resumes).
#ifndef POWERCUT_HARNESS_BLOCK_ORACLE_H_
#define POWERCUT_HARNESS_BLOCK_ORACLE_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/io/sector_range.h"
#include "engine/runtime/time.h"
#include "harness/failure.h"
#include "harness/sector_stamp.h"

namespace powercut::verifier {

struct OracleOptions {
  bool fua_is_durable = true;
  // A write that failed, or had not completed (it may yet fail), leaves its sectors
  // undefined (any bytes: old data, another sector's, garbage), for reads during the
  // run and after the crash, until a later write of the sector settles it (completed
  // before a read was submitted, in the read's run or required; required, after the
  // crash) and no discard of the sector since undid it. What a block device's
  // users may assume of a failed write, and what dm-writecache does in SSD mode: the
  // entry of a failed data write stays, over whatever its cache block held before, and
  // a commit may make it durable before the write's other pieces complete. For
  // devices with injected IO errors.
  bool failed_writes_undefined = false;
  // What recovery reads back after a power cut stays the logical contents until written,
  // across later cuts (SettleRecovered). False for engines that may legally change it
  // (a mirror set that can lose the member reads came from before resync copied them).
  bool recovered_contents_stable = true;
};

// What the oracle found wrong with one sector: the kind (lost durable write, older
// data, foreign data, garbage; bad read for reads during the run) and the explanation.
struct OracleViolation {
  FailureKind kind;
  uint64_t sector;
  std::string text;
};

class BlockOracle {
 public:
  explicit BlockOracle(OracleOptions options = {}) : options_(options) {}

  // --- Recording. Begin* returns the operation's id (write ids start at 1). --------
  uint64_t BeginWrite(uint32_t client, uint64_t sector, uint64_t sectors, bool fua,
                      runtime::Nanos now);
  uint64_t BeginDiscard(uint32_t client, uint64_t sector, uint64_t sectors, runtime::Nanos now);
  void EndWrite(uint64_t id, const absl::Status& status, runtime::Nanos now);
  uint64_t BeginFlush(uint32_t client, runtime::Nanos now);
  void EndFlush(uint64_t id, const absl::Status& status, runtime::Nanos now);
  uint64_t BeginRead(uint32_t client, uint64_t sector, uint64_t sectors, runtime::Nanos now);
  // Checks the data a read returned; violations are kept (see read_violations()).
  void EndRead(uint64_t id, const absl::Status& status, std::span<const std::byte> data,
               runtime::Nanos now);

  // --- Journal ----------------------------------------------------------------------
  // Receives every recording call above as one line of text, before the call takes
  // effect, so that another process can rebuild this history (a crash loop's parent,
  // after killing the child that ran the workload).
  void set_journal(absl::AnyInvocable<void(const std::string& line)> journal) {
    journal_ = std::move(journal);
  }
  // Applies one journal line as the original call did. The end of a read is skipped
  // (its data was checked where it ran; the read stays open here). InvalidArgument for
  // a line that does not parse or names an operation this oracle does not have.
  absl::Status ReplayJournalLine(absl::string_view line);

  // --- Power cuts -------------------------------------------------------------------
  // The power failed: every operation still in flight ends, failed.
  void PowerCut(runtime::Nanos now);
  // Recovery after the latest cut read `bytes` from `sector` (and CheckRecovered allowed
  // them): the sector must hold exactly that until a later write or discard of it. Not
  // recorded for a sector left undefined by a failed write (its bytes need not be data).
  void SettleRecovered(uint64_t sector, std::span<const std::byte> bytes);
  uint32_t power_cuts() const { return static_cast<uint32_t>(cut_seqs_.size()); }

  // --- Judging -----------------------------------------------------------------------
  // Empty if `bytes`, read back after the crash from `sector`, is allowed; otherwise
  // what is wrong.
  std::optional<OracleViolation> CheckRecovered(uint64_t sector,
                                                std::span<const std::byte> bytes) const;

  // Reads during the run that returned what they may not (kind kBadRead), in order.
  const std::vector<OracleViolation>& read_violations() const { return read_violations_; }
  // Sectors any write or discard touched (issued, whatever became of it), united.
  std::vector<io::SectorRange> TouchedRanges() const;
  uint64_t writes() const;
  uint64_t acknowledged_flushes() const { return acknowledged_flushes_; }

 private:
  static constexpr uint64_t kNever = ~0ull;
  enum class Kind { kWrite, kDiscard, kFlush, kRead };
  struct Op {
    Kind kind;
    uint32_t client;
    uint64_t sector;
    uint64_t sectors;
    bool fua;
    uint64_t begin_seq;
    uint64_t end_seq = kNever;
    runtime::Nanos begin_time;
    runtime::Nanos end_time{-1};
    bool ok = false;
    uint32_t run = 0;        // power cuts before it began
    bool cut = false;        // ended by a power cut
  };
  // What recovery read back from a sector after power cut `cut` (1-based): the data of
  // write `write_id`, or zeroes (0), settled at `seq`.
  struct Settled {
    uint64_t seq;
    uint64_t write_id;
    uint32_t cut;
  };

  // Write and discard ids of one sector, in order (most sectors see only a few).
  using History = absl::InlinedVector<uint64_t, 8>;
  // The histories of kChunkSectors consecutive sectors (one lookup per IO, not per
  // sector).
  static constexpr uint64_t kChunkSectors = 64;
  using Chunk = std::array<History, kChunkSectors>;

  using Ids = std::span<const uint64_t>;

  uint64_t Begin(Op op);
  // The history of `sector` (empty if no write or discard touched it).
  const History& HistoryOf(uint64_t sector) const;
  // What recovery settled for `sector` (nullptr: nothing), and the part of its history
  // that came after (the part that can change what it holds).
  const Settled* SettledOf(uint64_t sector) const;
  Ids HistorySince(uint64_t sector, const Settled* settled) const;
  bool Required(const Op& write) const;
  // True if some discard in `history` is not older than `write` and was submitted
  // before `before_seq`.
  bool DiscardedSince(Ids history, const Op& write, uint64_t before_seq) const;
  // True if some discard in `history` was submitted before `before_seq`.
  bool AnyDiscard(Ids history, uint64_t before_seq) const;
  // With failed_writes_undefined: true if a write of `history` submitted before
  // `before_seq` failed or has not completed, and no write of the sector that
  // `settles` accepts was submitted after it failed without a discard of the sector,
  // not older than that write and submitted before `before_seq`, undoing it.
  bool LeftUndefined(Ids history, uint64_t before_seq,
                     absl::FunctionRef<bool(const Op&)> settles) const;
  // "the data recovery read back after power cut 2 (write #5)".
  std::string DescribeSettled(const Settled& settled) const;
  bool Older(const Op& earlier, const Op& later) const {
    return earlier.end_seq != kNever && earlier.end_seq < later.begin_seq;
  }
  std::string DescribeOp(uint64_t id) const;
  OracleViolation Explain(FailureKind kind, uint64_t sector, const DecodedSector& found,
                          const std::string& why) const;

  OracleOptions options_;
  absl::AnyInvocable<void(const std::string& line)> journal_;
  uint64_t seq_ = 0;
  std::vector<Op> ops_;  // id = index + 1
  std::map<uint64_t, Chunk> chunks_;  // by sector / kChunkSectors
  // Per run (between cuts): begin_seq of its latest-submitted successful flush.
  std::vector<uint64_t> last_ok_flush_begin_ = {0};
  std::vector<uint64_t> cut_seqs_;
  std::map<uint64_t, Settled> settled_;  // by sector
  uint64_t acknowledged_flushes_ = 0;
  std::vector<OracleViolation> read_violations_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_BLOCK_ORACLE_H_
