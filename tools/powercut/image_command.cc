#include "tools/powercut/image_command.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/io/io_batch.h"
#include "engine/io/overlay_device.h"
#include "engine/posix/file_block_device.h"
#include "engine/posix/mapped_pmem.h"
#include "engine/posix/signature_probe.h"
#include "engine/posix/uring_reactor.h"
#include "engine/raid1/bitmap_format.h"
#include "engine/raid1/md_superblock.h"
#include "engine/raid1/raid1.h"
#include "engine/runtime/scheduler.h"
#include "engine/writecache/params.h"
#include "engine/writecache/writecache.h"
#include "harness/device_dump.h"
#include "inspect/writecache_report.h"
#include "nlohmann/json.hpp"
#include "tools/powercut/image_files.h"
#include "tools/powercut/inspect_command.h"

namespace powercut::tools {
namespace {

using nlohmann::ordered_json;

constexpr int kExitDone = 0;
constexpr int kExitEngine = 1;
constexpr int kExitUsage = 2;

// md's signature as libblkid names it: a raid1 member powercut may write to.
const std::vector<std::string> kRaidMemberTypes = {"linux_raid_member"};

// An error and the exit code it ends the command with.
struct CommandError {
  int exit_code;
  absl::Status status;
};
CommandError Usage(absl::Status status) { return {kExitUsage, std::move(status)}; }
CommandError EngineFailure(absl::Status status) { return {kExitEngine, std::move(status)}; }

// The real world one command runs in: io_uring, the monotonic clock, fibers.
class RealWorld {
 public:
  static absl::StatusOr<std::unique_ptr<RealWorld>> Make() {
    absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
    if (!reactor.ok()) return reactor.status();
    return std::unique_ptr<RealWorld>(new RealWorld(*std::move(reactor)));
  }
  ~RealWorld() { scheduler_->AbandonAll(); }

  posix::UringReactor& reactor() { return *reactor_; }
  runtime::Scheduler& scheduler() { return *scheduler_; }

  // Runs `work` in a fiber until it returns; engine daemons still running are left (the
  // caller stops the engine inside `work`). The work's status, or how the run failed.
  absl::Status Run(absl::AnyInvocable<absl::Status()> work) {
    absl::Status result;
    scheduler_->Spawn("command", [&] { result = work(); });
    if (absl::Status run = scheduler_->Run(); !run.ok()) return run;
    return result;
  }

 private:
  explicit RealWorld(std::unique_ptr<posix::UringReactor> reactor)
      : reactor_(std::move(reactor)), scheduler_(std::make_unique<runtime::Scheduler>(*reactor_)) {}

  std::unique_ptr<posix::UringReactor> reactor_;
  std::unique_ptr<runtime::Scheduler> scheduler_;
};

// How recover reaches the images it is given.
enum class Access {
  kOverlay,  // read-only; the engine's writes stay in memory
  kCopies,   // copies in --out DIR, written
  kInPlace,  // the images themselves, written
};

Access AccessFor(const ImageCommandOptions& options) {
  if (options.in_place) return Access::kInPlace;
  return options.out_dir.empty() ? Access::kOverlay : Access::kCopies;
}

std::string_view AccessName(Access access) {
  switch (access) {
    case Access::kOverlay:
      return "nothing (the recovery's writes were kept in memory)";
    case Access::kCopies:
      return "copies";
    case Access::kInPlace:
      return "the images, in place";
  }
  return "";
}

// A block device over one image, maybe under an overlay.
struct ImageDevice {
  std::unique_ptr<posix::FileBlockDevice> file;
  std::unique_ptr<io::OverlayDevice> overlay;
  io::BlockDevice& device() {
    return overlay != nullptr ? static_cast<io::BlockDevice&>(*overlay) : *file;
  }
};

// The images of `devices` opened with buffered IO (--buffered, on a file system that
// refuses O_DIRECT), which the output names.
std::vector<std::string> BufferedPaths(std::initializer_list<const ImageDevice*> devices) {
  std::vector<std::string> paths;
  for (const ImageDevice* device : devices) {
    if (device != nullptr && device->file != nullptr && !device->file->direct()) {
      paths.push_back(device->file->path());
    }
  }
  return paths;
}

std::string BufferedNote(const std::vector<std::string>& paths) {
  if (paths.empty()) return "";
  return absl::StrCat("note: buffered IO for ", absl::StrJoin(paths, ", "),
                      " (its file system refuses O_DIRECT; --buffered: through the page cache, "
                      "flushes by fdatasync)\n");
}

// The path the engine opens for image `path`: a fresh sparse copy in --out DIR, or the
// image itself (checked for foreign signatures first when it will be written).
absl::StatusOr<std::string> WorkingPath(const std::string& path, const ImageCommandOptions& options,
                                        const std::vector<std::string>& own_types) {
  switch (AccessFor(options)) {
    case Access::kOverlay:
      return path;
    case Access::kInPlace:
      if (absl::Status safe = posix::RefuseForeignSignatures(path, own_types, options.force);
          !safe.ok()) {
        return safe;
      }
      return path;
    case Access::kCopies: {
      std::error_code error;
      std::filesystem::create_directories(options.out_dir, error);
      const std::string copy =
          (std::filesystem::path(options.out_dir) / std::filesystem::path(path).filename())
              .string();
      if (std::filesystem::exists(copy) && std::filesystem::equivalent(copy, path, error)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--out ", options.out_dir, " holds ", path, " itself; pick another folder"));
      }
      if (absl::Status copied = CopySparse(path, copy); !copied.ok()) return copied;
      return copy;
    }
  }
  return path;
}

absl::StatusOr<ImageDevice> OpenImage(RealWorld& world, const std::string& path, bool writable,
                                      bool overlay, const ImageCommandOptions& options) {
  absl::StatusOr<std::unique_ptr<posix::FileBlockDevice>> file = posix::FileBlockDevice::Open(
      world.reactor(), path,
      {.read_only = !writable || overlay, .allow_buffered = options.buffered});
  if (!file.ok()) return file.status();
  ImageDevice image{.file = *std::move(file)};
  if (overlay) image.overlay = std::make_unique<io::OverlayDevice>(world.reactor(), *image.file);
  return image;
}

void PrintError(const CommandError& failure, std::string_view command, std::ostream& err) {
  err << "powercut " << command << ": " << failure.status.message() << "\n";
}

// --- writecache -----------------------------------------------------------------------

// The devices of one table and the engine over them.
struct WriteCacheImages {
  ImageDevice origin;
  ImageDevice cache;  // SSD mode
  std::unique_ptr<posix::MappedPersistentMemory> pmem;
  std::unique_ptr<writecache::WriteCache> engine;
};

absl::StatusOr<writecache::Params> TableParams(const ImageCommandOptions& options) {
  if (options.words.size() < 4) {
    return absl::InvalidArgumentError(
        "writecache needs the kernel's table: s|p ORIGIN CACHE BLOCK_SIZE [N ARG...]");
  }
  return writecache::ParseTable(absl::StrJoin(options.words, " "));
}

absl::Status OpenWriteCache(RealWorld& world, const writecache::Params& params,
                            const std::string& origin_path, const std::string& cache_path,
                            bool origin_writable, bool overlay, const ImageCommandOptions& options,
                            WriteCacheImages& images) {
  absl::StatusOr<ImageDevice> origin = OpenImage(world, origin_path, origin_writable, overlay, options);
  if (!origin.ok()) return origin.status();
  images.origin = *std::move(origin);
  absl::StatusOr<std::unique_ptr<writecache::WriteCache>> engine;
  if (params.mode == writecache::Mode::kPmem) {
    absl::StatusOr<std::unique_ptr<posix::MappedPersistentMemory>> pmem =
        posix::MappedPersistentMemory::Open(cache_path, {.copy_on_write = overlay});
    if (!pmem.ok()) return pmem.status();
    images.pmem = *std::move(pmem);
    engine = writecache::WriteCache::Create(world.scheduler(), images.origin.device(), *images.pmem,
                                            params);
  } else {
    absl::StatusOr<ImageDevice> cache = OpenImage(world, cache_path, true, overlay, options);
    if (!cache.ok()) return cache.status();
    images.cache = *std::move(cache);
    engine = writecache::WriteCache::Create(world.scheduler(), images.origin.device(),
                                            images.cache.device(), params);
  }
  if (!engine.ok()) return engine.status();
  images.engine = *std::move(engine);
  return absl::OkStatus();
}

std::string DmsetupTable(const writecache::WriteCache& engine, const ImageCommandOptions& options) {
  return absl::StrCat("0 ", engine.sector_count(), " writecache ", absl::StrJoin(options.words, " "));
}

std::optional<CommandError> FormatWriteCache(const ImageCommandOptions& options, std::ostream& out) {
  absl::StatusOr<writecache::Params> params = TableParams(options);
  if (!params.ok()) return Usage(params.status());
  const std::string origin_path = params->origin_name;
  const std::string cache_path = params->cache_name;
  // The IO engine first: without io_uring nothing is created or written.
  absl::StatusOr<std::unique_ptr<RealWorld>> world = RealWorld::Make();
  if (!world.ok()) return Usage(world.status());
  for (const auto& [path, size] : {std::pair{origin_path, options.origin_size},
                                   std::pair{cache_path, options.cache_size}}) {
    if (size.empty()) continue;
    absl::StatusOr<uint64_t> bytes = ParseSize(size);
    if (!bytes.ok()) return Usage(bytes.status());
    if (absl::Status made = CreateImageIfMissing(path, *bytes); !made.ok()) return Usage(made);
  }
  if (absl::Status safe = posix::RefuseForeignSignatures(cache_path, {}, options.force); !safe.ok()) {
    return Usage(safe);
  }
  InspectCommandOptions existing{.image = cache_path, .format = "writecache",
                                 .start_sector = params->StartSector()};
  if (ReadWriteCacheMetadata(existing).ok() && !options.force) {
    return Usage(absl::FailedPreconditionError(absl::StrCat(
        cache_path, " already holds a dm-writecache superblock; formatting loses the blocks it "
                    "caches (--force formats anyway)")));
  }
  WriteCacheImages images;
  if (absl::Status opened = OpenWriteCache(**world, *params, origin_path, cache_path, false, false,
                                           options, images);
      !opened.ok()) {
    return Usage(opened);
  }
  writecache::WriteCache& engine = *images.engine;
  absl::Status formatted = (*world)->Run([&]() -> absl::Status {
    // A zero superblock is what the kernel (and Start) format.
    std::vector<std::byte> zeroes(writecache::kSuperblockBytes);
    if (images.pmem != nullptr) {
      images.pmem->Store(params->StartSector() * io::kSectorSize, zeroes);
      images.pmem->Flush(params->StartSector() * io::kSectorSize, zeroes.size());
      images.pmem->Fence();
      if (!images.pmem->error().ok()) return images.pmem->error();
    } else {
      zeroes.resize(std::max<size_t>(zeroes.size(), images.cache.device().block_sectors() *
                                                        io::kSectorSize));
      zeroes.resize((zeroes.size() + io::kSectorSize - 1) / io::kSectorSize * io::kSectorSize);
      if (absl::Status wrote = io::WriteSync((*world)->scheduler(), images.cache.device(),
                                             params->StartSector(), zeroes, io::kFua);
          !wrote.ok()) {
        return wrote;
      }
    }
    if (absl::Status started = engine.Start(); !started.ok()) return started;
    return engine.Suspend();
  });
  if (!formatted.ok()) return EngineFailure(formatted);
  out << BufferedNote(BufferedPaths({&images.origin, &images.cache}))
      << "formatted " << cache_path << ": " << engine.geometry().n_blocks << " blocks of "
      << engine.params().block_size << " bytes in front of " << origin_path << " ("
      << engine.sector_count() << " sectors)\n"
      << "kernel table: " << DmsetupTable(engine, options) << "\n"
      << "(dmsetup wants block devices: attach image files with losetup first)\n";
  return std::nullopt;
}

std::optional<CommandError> RecoverWriteCache(const ImageCommandOptions& options, std::ostream& out) {
  absl::StatusOr<writecache::Params> params = TableParams(options);
  if (!params.ok()) return Usage(params.status());
  const Access access = AccessFor(options);
  // What the metadata says before recovery touches it.
  InspectCommandOptions inspect{.image = params->cache_name, .format = "writecache",
                                .start_sector = params->StartSector()};
  absl::StatusOr<std::vector<std::byte>> metadata = ReadWriteCacheMetadata(inspect);
  if (!metadata.ok()) return Usage(metadata.status());
  absl::StatusOr<writecache::ParsedMetadata> parsed = writecache::ParseMetadata(*metadata);
  if (!parsed.ok()) return Usage(parsed.status());
  const inspect::WriteCacheSummary found = inspect::SummariseWriteCache(
      *parsed, std::span(*metadata).first(writecache::kSuperblockBytes), {});

  absl::StatusOr<std::string> origin_path = WorkingPath(params->origin_name, options, {});
  if (!origin_path.ok()) return Usage(origin_path.status());
  absl::StatusOr<std::string> cache_path = WorkingPath(params->cache_name, options, {});
  if (!cache_path.ok()) return Usage(cache_path.status());
  absl::StatusOr<std::unique_ptr<RealWorld>> world = RealWorld::Make();
  if (!world.ok()) return Usage(world.status());
  WriteCacheImages images;
  if (absl::Status opened = OpenWriteCache(**world, *params, *origin_path, *cache_path, true,
                                           access == Access::kOverlay, options, images);
      !opened.ok()) {
    return Usage(opened);
  }
  writecache::WriteCache& engine = *images.engine;
  std::string status_after;
  uint64_t dumped = 0;
  absl::Status recovered = (*world)->Run([&]() -> absl::Status {
    if (absl::Status started = engine.Start(); !started.ok()) {
      return absl::Status(started.code(), absl::StrCat("recovery refused the cache: ",
                                                       started.message()));
    }
    if (options.finish) {
      if (absl::Status flushed = engine.Message("flush"); !flushed.ok()) return flushed;
    }
    if (!options.dump.empty()) {
      absl::StatusOr<uint64_t> sectors = verifier::DumpDevice((*world)->scheduler(), engine, options.dump);
      if (!sectors.ok()) return sectors.status();
      dumped = *sectors;
    }
    status_after = engine.StatusLine();
    return engine.Suspend();
  });
  if (!recovered.ok()) return EngineFailure(recovered);

  ordered_json report = {
      {"engine", "writecache"},
      {"mode", params->mode == writecache::Mode::kPmem ? "pmem" : "ssd"},
      {"table", DmsetupTable(engine, options)},
      {"found",
       {{"seq_count", parsed->superblock.seq_count},
        {"committed", found.committed},
        {"dropped_uncommitted", found.uncommitted},
        {"duplicates", found.duplicates},
        {"cached_blocks", found.cached_blocks},
        {"free", found.free}}},
      {"after", {{"status", status_after}, {"blocks_in_use", engine.geometry().n_blocks - engine.free_blocks()}}},
      {"wrote", AccessName(access)},
  };
  if (access == Access::kCopies) report["copies"] = {*origin_path, *cache_path};
  if (!options.dump.empty()) report["dump"] = {{"path", options.dump}, {"sectors_with_data", dumped}};
  const std::vector<std::string> buffered = BufferedPaths({&images.origin, &images.cache});
  if (!buffered.empty()) report["buffered"] = buffered;
  if (options.json) {
    out << report.dump(2) << "\n";
    return std::nullopt;
  }
  out << BufferedNote(buffered) << "recovered " << params->cache_name << " (seq_count " << parsed->superblock.seq_count
      << "): " << found.committed << " committed entries, " << found.duplicates
      << " of them superseded duplicates, " << found.uncommitted
      << " uncommitted entries dropped; " << found.cached_blocks << " blocks cached\n"
      << "status after" << (options.finish ? " writeback" : " recovery") << ": " << status_after
      << "\n"
      << "wrote: " << AccessName(access) << "\n";
  if (!options.dump.empty()) {
    out << "logical device: " << options.dump << " (" << engine.sector_count() << " sectors, "
        << dumped << " read from data ranges)\n";
  }
  return std::nullopt;
}

// --- raid1 ----------------------------------------------------------------------------

struct Raid1Images {
  std::vector<ImageDevice> members;
  std::optional<ImageDevice> bitmap_file;
  std::unique_ptr<raid1::Raid1Array> array;
};

// The members and bitmap file of `images` opened with buffered IO.
std::vector<std::string> BufferedPaths(const Raid1Images& images) {
  std::vector<std::string> paths;
  for (const ImageDevice& member : images.members) {
    for (std::string& path : BufferedPaths({&member})) paths.push_back(std::move(path));
  }
  if (images.bitmap_file) {
    for (std::string& path : BufferedPaths({&*images.bitmap_file})) paths.push_back(std::move(path));
  }
  return paths;
}

std::vector<io::BlockDevice*> MemberDevices(Raid1Images& images) {
  std::vector<io::BlockDevice*> devices;
  for (ImageDevice& member : images.members) devices.push_back(&member.device());
  return devices;
}

std::string MdadmAssemble(const ImageCommandOptions& options, bool external) {
  return absl::StrCat("mdadm --assemble /dev/mdX ", absl::StrJoin(options.words, " "),
                      external ? absl::StrCat(" --bitmap=", options.bitmap) : "");
}

std::optional<CommandError> FormatRaid1(const ImageCommandOptions& options, std::ostream& out) {
  if (options.words.size() < 2 || options.words.size() > raid1::kRaid1MaxMirrors) {
    return Usage(absl::InvalidArgumentError(
        absl::StrCat("raid1 needs 2 to ", raid1::kRaid1MaxMirrors, " member paths")));
  }
  absl::StatusOr<uint64_t> chunk = ParseSize(options.bitmap_chunk);
  if (!chunk.ok()) return Usage(chunk.status());
  raid1::Raid1Options raid;
  raid.chunk_sectors = *chunk / io::kSectorSize;
  // A fresh array uuid, as mdadm makes one.
  if (getrandom(raid.uuid.data(), raid.uuid.size(), 0) != static_cast<ssize_t>(raid.uuid.size())) {
    return Usage(absl::InternalError("getrandom failed: no array uuid"));
  }
  const bool external = options.bitmap != "internal";
  // The IO engine first: without io_uring nothing is created or written.
  absl::StatusOr<std::unique_ptr<RealWorld>> world = RealWorld::Make();
  if (!world.ok()) return Usage(world.status());
  for (const std::string& member : options.words) {
    if (!options.member_size.empty()) {
      absl::StatusOr<uint64_t> bytes = ParseSize(options.member_size);
      if (!bytes.ok()) return Usage(bytes.status());
      if (absl::Status made = CreateImageIfMissing(member, *bytes); !made.ok()) return Usage(made);
    }
    if (absl::Status safe = posix::RefuseForeignSignatures(member, {}, options.force); !safe.ok()) {
      return Usage(safe);
    }
  }
  Raid1Images images;
  for (const std::string& member : options.words) {
    absl::StatusOr<ImageDevice> device = OpenImage(**world, member, true, false, options);
    if (!device.ok()) return Usage(device.status());
    images.members.push_back(*std::move(device));
  }
  if (external) {
    absl::StatusOr<raid1::Raid1Geometry> geometry =
        raid1::Raid1Geometry::For(images.members[0].device().sector_count(), raid);
    if (!geometry.ok()) return Usage(geometry.status());
    if (absl::Status made = CreateImageIfMissing(options.bitmap, geometry->bitmap_area_bytes());
        !made.ok()) {
      return Usage(made);
    }
    if (absl::Status safe = posix::RefuseForeignSignatures(options.bitmap, {}, options.force);
        !safe.ok()) {
      return Usage(safe);
    }
    absl::StatusOr<ImageDevice> file = OpenImage(**world, options.bitmap, true, false, options);
    if (!file.ok()) return Usage(file.status());
    images.bitmap_file = *std::move(file);
    raid.bitmap_file = &images.bitmap_file->device();
  }
  absl::StatusOr<std::unique_ptr<raid1::Raid1Array>> array =
      raid1::Raid1Array::Open((*world)->scheduler(), MemberDevices(images), raid);
  if (!array.ok()) return Usage(array.status());
  images.array = *std::move(array);
  absl::Status made = (*world)->Run([&]() -> absl::Status {
    if (absl::Status created = images.array->Create(); !created.ok()) return created;
    return images.array->Stop();
  });
  if (!made.ok()) return EngineFailure(made);
  const raid1::Raid1Geometry& geometry = images.array->geometry();
  out << BufferedNote(BufferedPaths(images)) << "formatted md 1.2 raid1 of " << options.words.size() << " members: "
      << geometry.array_sectors << " sectors, data at sector " << geometry.data_offset
      << ", bitmap " << (external ? options.bitmap : "internal") << " with "
      << geometry.chunk_sectors * io::kSectorSize / 1024 << "K chunks\n"
      << "assemble with: " << MdadmAssemble(options, external) << "\n"
      << "(mdadm wants block devices: attach image files with losetup first)\n";
  return std::nullopt;
}

// The options an array was made with, read back from its metadata: the md superblock of
// the first member that has one, and the bitmap superblock it points to (or the file's).
absl::StatusOr<raid1::Raid1Options> ReadRaid1Options(const ImageCommandOptions& options,
                                                     std::vector<uint32_t>& dev_numbers) {
  raid1::Raid1Options raid;
  std::optional<raid1::MdSuperblock> first;
  for (const std::string& member : options.words) {
    InspectCommandOptions inspect{.image = member, .format = "md"};
    absl::StatusOr<raid1::MdSuperblock> sb = ReadMdSuperblock(inspect);
    if (!sb.ok()) return sb.status();
    if (first && sb->set_uuid != first->set_uuid) {
      return absl::InvalidArgumentError(
          absl::StrCat(member, " belongs to another array than ", options.words[0]));
    }
    if (!first) first = *sb;
    dev_numbers.push_back(sb->dev_number);
    if (sb->write_mostly() && sb->dev_number < options.words.size()) {
      raid.write_mostly_mask |= 1u << sb->dev_number;
    }
  }
  raid.array_sectors = first->size;
  raid.data_offset = first->data_offset;
  raid.uuid = first->set_uuid;
  raid.name = first->name();
  std::string bitmap_path = options.words[0];
  uint64_t bitmap_offset = 0;
  if (first->has_internal_bitmap()) {
    if (first->bitmap_offset != raid1::kRaid1BitmapOffset) {
      return absl::InvalidArgumentError(absl::StrCat(
          options.words[0], ": its internal bitmap is ", first->bitmap_offset,
          " sectors from the superblock; powercut supports mdadm's layout (+",
          raid1::kRaid1BitmapOffset, ")"));
    }
    bitmap_offset = (first->super_offset + first->bitmap_offset) * io::kSectorSize;
    raid.bitmap_area_sectors = first->data_offset - first->super_offset - first->bitmap_offset;
  } else if (options.bitmap == "internal") {
    return absl::InvalidArgumentError(absl::StrCat(
        options.words[0], " has no internal bitmap: give its bitmap file with --bitmap FILE"));
  } else {
    bitmap_path = options.bitmap;
  }
  InspectCommandOptions inspect{.image = bitmap_path, .format = "bitmap"};
  absl::StatusOr<raid1::BitmapSuper> bitmap = ReadBitmapSuper(inspect, bitmap_offset);
  if (!bitmap.ok()) return bitmap.status();
  raid.chunk_sectors = bitmap->chunksize / io::kSectorSize;
  raid.daemon_sleep_s = bitmap->daemon_sleep;
  raid.write_behind = bitmap->write_behind;
  return raid;
}

// mdadm makes a bitmap file of its superblock and bits alone (256 bytes and one bit per
// chunk: 318 bytes for 496 chunks), which the kernel reads as it is; the engine
// addresses the file in whole 4 KiB pages. A file whose size is not a multiple of
// 4 KiB is read with zeros after its end: in place, the file grows (said in `notes`);
// a copy grows; under the overlay, a padded copy in the temporary folder is used (and
// `temporary` is set to it, for the caller to remove).
absl::StatusOr<std::string> WholePagesBitmapFile(const std::string& path, Access access,
                                                 std::string& temporary, std::string& notes) {
  std::error_code error;
  const uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) return absl::NotFoundError(absl::StrCat(path, ": ", error.message()));
  constexpr uint64_t kPage = 4096;
  if (bytes % kPage == 0) return path;
  const uint64_t padded = (bytes / kPage + 1) * kPage;
  std::string target = path;
  if (access == Access::kOverlay) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "powercut-bitmap-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) return absl::InternalError(absl::StrCat("a temporary copy of ", path, ": ", strerror(errno)));
    close(fd);
    temporary = pattern;
    if (absl::Status copied = CopySparse(path, temporary); !copied.ok()) return copied;
    target = temporary;
  }
  if (truncate(target.c_str(), static_cast<off_t>(padded)) != 0) {
    return absl::InternalError(absl::StrCat(target, ": cannot extend it to whole pages: ", strerror(errno)));
  }
  if (access == Access::kInPlace) {
    absl::StrAppend(&notes, "note: the bitmap file ", path, " grew from ", bytes, " to ", padded,
                    " bytes (zeros after the bits, which md ignores) so that it holds whole pages\n");
  }
  return target;
}

std::optional<CommandError> RecoverRaid1(const ImageCommandOptions& options, std::ostream& out) {
  if (options.words.size() < 2 || options.words.size() > raid1::kRaid1MaxMirrors) {
    return Usage(absl::InvalidArgumentError(
        absl::StrCat("raid1 needs 2 to ", raid1::kRaid1MaxMirrors, " member paths")));
  }
  std::vector<uint32_t> dev_numbers;
  absl::StatusOr<raid1::Raid1Options> raid = ReadRaid1Options(options, dev_numbers);
  if (!raid.ok()) return Usage(raid.status());
  // The engine's member i is md's dev_number i: put the paths in that order.
  std::vector<std::string> paths(options.words.size());
  for (size_t i = 0; i < options.words.size(); ++i) {
    if (dev_numbers[i] >= paths.size() || !paths[dev_numbers[i]].empty()) {
      return Usage(absl::InvalidArgumentError(absl::StrCat(
          options.words[i], " is device ", dev_numbers[i],
          " of its array; give every member once (devices 0 to ", paths.size() - 1, ")")));
    }
    paths[dev_numbers[i]] = options.words[i];
  }
  const Access access = AccessFor(options);
  absl::StatusOr<std::unique_ptr<RealWorld>> world = RealWorld::Make();
  if (!world.ok()) return Usage(world.status());
  Raid1Images images;
  std::vector<std::string> working;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> at = WorkingPath(path, options, kRaidMemberTypes);
    if (!at.ok()) return Usage(at.status());
    absl::StatusOr<ImageDevice> device =
        OpenImage(**world, *at, true, access == Access::kOverlay, options);
    if (!device.ok()) return Usage(device.status());
    images.members.push_back(*std::move(device));
    working.push_back(*at);
  }
  std::string temporary_bitmap;
  const absl::Cleanup remove_temporary = [&temporary_bitmap] {
    if (!temporary_bitmap.empty()) std::filesystem::remove(temporary_bitmap);
  };
  std::string notes;
  if (options.bitmap != "internal") {
    absl::StatusOr<std::string> at = WorkingPath(options.bitmap, options, {});
    if (!at.ok()) return Usage(at.status());
    at = WholePagesBitmapFile(*at, access, temporary_bitmap, notes);
    if (!at.ok()) return Usage(at.status());
    absl::StatusOr<ImageDevice> file =
        OpenImage(**world, *at, true, access == Access::kOverlay, options);
    if (!file.ok()) return Usage(file.status());
    images.bitmap_file = *std::move(file);
    raid->bitmap_file = &images.bitmap_file->device();
    working.push_back(*at);
  }
  absl::StatusOr<std::unique_ptr<raid1::Raid1Array>> array =
      raid1::Raid1Array::Open((*world)->scheduler(), MemberDevices(images), *raid);
  if (!array.ok()) return Usage(array.status());
  images.array = *std::move(array);
  raid1::Raid1Array& engine = *images.array;
  uint64_t dumped = 0;
  absl::Status recovered = (*world)->Run([&]() -> absl::Status {
    if (absl::Status assembled = engine.Assemble(); !assembled.ok()) {
      return absl::Status(assembled.code(),
                          absl::StrCat("assembly refused the members: ", assembled.message()));
    }
    if (!options.dump.empty()) {
      absl::StatusOr<uint64_t> sectors = verifier::DumpDevice((*world)->scheduler(), engine, options.dump);
      if (!sectors.ok()) return sectors.status();
      dumped = *sectors;
    }
    return engine.Stop();
  });
  if (!recovered.ok()) return EngineFailure(recovered);

  ordered_json members = ordered_json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    const raid1::MemberState state = engine.member_state(i);
    members.push_back({{"path", paths[i]},
                       {"state", state == raid1::MemberState::kInSync    ? "in_sync"
                                 : state == raid1::MemberState::kFaulty ? "faulty"
                                                                         : "recovering"}});
  }
  ordered_json report = {
      {"engine", "raid1"},
      {"array_sectors", engine.sector_count()},
      {"chunk_sectors", engine.geometry().chunk_sectors},
      {"events", engine.events()},
      {"resynced_chunks", engine.resynced_chunks()},
      {"recovered_chunks", engine.recovered_chunks()},
      {"degraded", engine.degraded()},
      {"members", members},
      {"wrote", AccessName(access)},
  };
  if (access == Access::kCopies) report["copies"] = working;
  if (!options.dump.empty()) report["dump"] = {{"path", options.dump}, {"sectors_with_data", dumped}};
  absl::StrAppend(&notes, BufferedNote(BufferedPaths(images)));
  if (!notes.empty()) report["notes"] = notes;
  if (options.json) {
    out << report.dump(2) << "\n";
    return std::nullopt;
  }
  out << notes << "assembled " << paths.size() << " members (events " << engine.events() << "): "
      << engine.resynced_chunks() << " dirty chunks resynced, " << engine.recovered_chunks()
      << " copied to re-added members" << (engine.degraded() ? "; degraded" : "") << "\n"
      << "wrote: " << AccessName(access) << "\n";
  if (!options.dump.empty()) {
    out << "logical device: " << options.dump << " (" << engine.sector_count() << " sectors, "
        << dumped << " read from data ranges)\n";
  }
  return std::nullopt;
}

int Finish(std::optional<CommandError> failure, std::string_view command, std::ostream& err) {
  if (!failure) return kExitDone;
  PrintError(*failure, command, err);
  return failure->exit_code;
}

}  // namespace

int RunFormatCommand(const ImageCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.engine == "writecache") return Finish(FormatWriteCache(options, out), "format", err);
  return Finish(FormatRaid1(options, out), "format", err);
}

int RunRecoverCommand(const ImageCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.finish && !options.in_place && options.out_dir.empty()) {
    return Finish(Usage(absl::InvalidArgumentError(
                      "--writeback/--resync write their result: give --out DIR (copies) or "
                      "--in-place")),
                  "recover", err);
  }
  if (options.engine == "writecache") return Finish(RecoverWriteCache(options, out), "recover", err);
  return Finish(RecoverRaid1(options, out), "recover", err);
}

}  // namespace powercut::tools
