// MappedPersistentMemory: an io::PersistentMemory over a file mapped with mmap, either
// on a DAX file system (real or emulated pmem) or a device DAX character device
// (/dev/daxN.M), or, as a stand-in, an ordinary file in the page cache.
//
//   auto pmem = posix::MappedPersistentMemory::Open("/mnt/pmem0/log", {});
//   if (!pmem.ok()) { /* missing, read-only, size not a multiple of 64 bytes ... */ }
//   (*pmem)->Store(0, bytes);
//   (*pmem)->Flush(0, bytes.size());
//   (*pmem)->Fence();  // the bytes are durable here (unless (*pmem)->error() is set)
//
// Two mapping modes, chosen at Open and reported by map_sync():
//   MAP_SYNC   (the file is on DAX) the mapping is the media. Flush writes the lines
//              back with the best instruction the CPU has (clwb, else clflushopt, else
//              clflush) and Fence is an sfence: after it the flushed lines are
//              durable, as the PersistentMemory contract says, with no system call.
//              MAP_SYNC also makes the file system commit a page's block mapping
//              before the first store to it, so no metadata is left for an fsync.
//   msync      (anything else: MAP_SHARED over the page cache) the flush instruction
//              only moves lines to the page cache, so durability comes from Fence,
//              which after the sfence runs msync(MS_SYNC) over the pages flushed (by
//              Flush or StoreFlushing) since the last Fence: one interval from the
//              lowest to the highest such page. The kernel may also write dirty pages
//              back at any moment, which the contract allows for plain stores. A
//              power cut tears what msync had not finished at the file system's block
//              granularity, not at 8-byte units as real pmem would.
// flush_method() names the combination: "clwb", "clflushopt" or "clflush", followed by
// "+msync" in the msync mode ("clwb+msync"); a build for another architecture has no
// flush instruction and says "msync" (Fence always runs msync there).
//
// Fence returns nothing, so a failed msync is kept: error() is the first one (OK until
// then), and every later Fence still tries. Opening writes nothing. A read-only mapping
// (MappedPmemOptions::read_only) may be loaded from; Store, StoreFlushing and Flush on
// it throw std::logic_error. An access outside [0, size()) throws std::out_of_range. A
// file truncated by someone else while mapped raises SIGBUS on access, as any mapping.
//
// Threading: the scheduler's thread only (the dirty interval and error() are not
// synchronized). Ownership: owns the mapping (the file descriptor is closed once the
// file is mapped); the destructor unmaps without fencing, so whatever was not fenced is
// not promised.
#ifndef POWERCUT_ENGINE_POSIX_MAPPED_PMEM_H_
#define POWERCUT_ENGINE_POSIX_MAPPED_PMEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/persistent_memory.h"

namespace powercut::posix {

struct MappedPmemOptions {
  bool read_only = false;  // map PROT_READ from a file opened O_RDONLY
  // Map a private copy (MAP_PRIVATE) of a file opened O_RDONLY: stores change only this
  // mapping, never the file, and Fence syncs nothing (`powercut recover` without
  // --in-place).
  bool copy_on_write = false;
  std::string name;        // for messages and traces; default: the path's basename
};

class MappedPersistentMemory : public io::PersistentMemory {
 public:
  // Errors, each naming the path: NotFound (missing); InvalidArgument (neither a regular
  // file nor a device DAX; a size of zero or not a multiple of 64 bytes, one pmem line);
  // FailedPrecondition (cannot be opened for writing while read_only is false, message
  // "<path>: read-only (...)"; other failures to open or map it).
  static absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> Open(const std::string& path,
                                                                      MappedPmemOptions options);

  ~MappedPersistentMemory() override;
  MappedPersistentMemory(const MappedPersistentMemory&) = delete;
  MappedPersistentMemory& operator=(const MappedPersistentMemory&) = delete;

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

  void Load(uint64_t offset, std::span<std::byte> out) const override;
  void Store(uint64_t offset, std::span<const std::byte> data) override;
  void StoreFlushing(uint64_t offset, std::span<const std::byte> data) override;
  void Flush(uint64_t offset, uint64_t length) override;
  void Fence() override;

  // True when the mapping was made with MAP_SYNC (the file is on DAX).
  bool map_sync() const { return map_sync_; }
  // "clwb", "clflushopt", "clflush", each with "+msync" unless map_sync(); or "msync".
  std::string_view flush_method() const;
  // The first msync failure of any Fence, naming the file; OK while there has been none.
  const absl::Status& error() const { return error_; }

 private:
  // The cache-line write-back instruction, found with CPUID at Open.
  enum class FlushInstruction { kNone, kClflush, kClflushopt, kClwb };

  static FlushInstruction DetectFlushInstruction();

  MappedPersistentMemory(std::string name, std::byte* base, uint64_t size, bool read_only,
                         bool map_sync, FlushInstruction instruction);

  // Throws std::out_of_range unless [offset, offset + length) lies inside the mapping.
  void CheckRange(const char* operation, uint64_t offset, uint64_t length) const;
  // Throws std::logic_error on a read-only mapping.
  void CheckWritable(const char* operation) const;
  // Writes back every line touching [offset, offset + length) and, in the msync mode,
  // adds its pages to the dirty interval.
  void WriteBack(uint64_t offset, uint64_t length);
  bool needs_msync() const {
    return !copy_on_write_ && (!map_sync_ || instruction_ == FlushInstruction::kNone);
  }

  const std::string name_;
  std::byte* const base_;
  const uint64_t size_;
  const uint64_t page_size_;
  const bool read_only_;
  bool copy_on_write_ = false;
  const bool map_sync_;
  const FlushInstruction instruction_;
  // Bytes [dirty_begin_, dirty_end_) to msync at the next Fence: whole pages, the last
  // one cut at size_; empty when equal. Only ever non-empty when needs_msync().
  uint64_t dirty_begin_ = 0;
  uint64_t dirty_end_ = 0;
  absl::Status error_;
};

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_MAPPED_PMEM_H_
