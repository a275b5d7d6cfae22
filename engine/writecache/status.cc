// The status lines and the messages of the write-back cache.
//
// Status (14 fields, counts in blocks): error n_blocks free writeback reads read_hits
// writes write_hits_uncommitted write_hits_committed writes_around writes_allocate
// writes_blocked_on_freelist flushes discards. `error` is 0 or 1.
//
// Messages:
//   flush            commit, then write every cached block back and wait for it
//                    (FailedPrecondition while suspended; the error state fails it);
//   flush_on_suspend the next Suspend() writes everything back;
//   cleaner          new writes of uncached blocks go to the origin and everything is
//                    written back (the watermarks become n_blocks);
//   clear_stats      zeroes the counters.
// What is durable when: after "flush" succeeds, every block written before it is on the
// origin, durably (writeback flushes the origin before freeing, W1).
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

std::string WriteCache::StatusLine() const {
  return absl::StrCat(has_error() ? 1 : 0, " ", geometry_.n_blocks, " ", freelist_.size(), " ",
                      writeback_size_, " ", stats_.reads, " ", stats_.read_hits, " ",
                      stats_.writes, " ", stats_.write_hits_uncommitted, " ",
                      stats_.write_hits_committed, " ", stats_.writes_around, " ",
                      stats_.writes_allocate, " ", stats_.writes_blocked_on_freelist, " ",
                      stats_.flushes, " ", stats_.discards);
}

std::string WriteCache::TableLine() const {
  Params shown = params_;
  shown.origin_name = origin_.name();
  shown.cache_name = PmemMode() ? pmem_->name() : cache_->name();
  return FormatTable(shown);
}

void WriteCache::ActivateCleaner() {
  flush_on_suspend_ = true;
  cleaner_ = true;
  freelist_high_watermark_ = geometry_.n_blocks;
  freelist_low_watermark_ = geometry_.n_blocks;
}

absl::Status WriteCache::FlushMessage() {
  lock_.Lock();
  if (suspended_) {
    lock_.Unlock();
    return absl::FailedPreconditionError("writecache: flush: the device is suspended");
  }
  if (has_error()) {
    lock_.Unlock();
    return ErrorStatus();
  }
  Commit();
  ++writeback_all_;
  QueueWriteback();
  lock_.Unlock();

  FlushWritebackQueue();

  lock_.Lock();
  --writeback_all_;
  const bool failed = has_error();
  lock_.Unlock();
  return failed ? ErrorStatus() : absl::OkStatus();
}

absl::Status WriteCache::Message(std::string_view message) {
  if (!started_) return absl::FailedPreconditionError("writecache: not started");
  std::vector<absl::string_view> argv = absl::StrSplit(
      absl::string_view(message.data(), message.size()), ' ', absl::SkipEmpty());
  if (argv.empty()) return absl::InvalidArgumentError("writecache: empty message");
  const absl::string_view verb = argv[0];
  const bool one_word = argv.size() == 1;
  if (absl::EqualsIgnoreCase(verb, "flush")) {
    if (!one_word) return absl::InvalidArgumentError("writecache: flush takes no arguments");
    return FlushMessage();
  }
  if (absl::EqualsIgnoreCase(verb, "flush_on_suspend")) {
    if (!one_word) return absl::InvalidArgumentError("writecache: flush_on_suspend takes no arguments");
    lock_.Lock();
    flush_on_suspend_ = true;
    lock_.Unlock();
    return absl::OkStatus();
  }
  if (absl::EqualsIgnoreCase(verb, "cleaner")) {
    if (!one_word) return absl::InvalidArgumentError("writecache: cleaner takes no arguments");
    lock_.Lock();
    ActivateCleaner();
    if (!suspended_) VerifyWatermark();
    lock_.Unlock();
    return absl::OkStatus();
  }
  if (absl::EqualsIgnoreCase(verb, "clear_stats")) {
    if (!one_word) return absl::InvalidArgumentError("writecache: clear_stats takes no arguments");
    lock_.Lock();
    stats_ = Stats{};
    lock_.Unlock();
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("writecache: unrecognised message received: ", std::string(verb)));
}

}  // namespace powercut::writecache
