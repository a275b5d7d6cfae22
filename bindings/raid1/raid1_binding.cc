// Raid1StackFactory: builds the RAID1 stack on the devices it is given, with member
// faults, the operator actions (operated_array.h) and the invariant checks
// (raid1_binding.h); and the engine's registry entry.
#include "bindings/raid1/raid1_binding.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "bindings/raid1/operated_array.h"
#include "faults/faulty_block_device.h"
#include "faults/vanishing_device.h"
#include "invariants/raid1_invariants.h"

namespace powercut::verifier {
namespace {

class Raid1Stack : public Stack {
 public:
  Raid1Stack(Raid1StackOptions options, raid1::Raid1Geometry geometry,
             std::vector<sim::SimSsd*> members, sim::SimSsd* bitmap_file,
             std::vector<std::unique_ptr<io::BlockDevice>> wrappers,
             std::unique_ptr<OperatedArray> array, std::shared_ptr<Raid1TraceState> own,
             bool recovering, sim::World& world)
      : options_(std::move(options)),
        geometry_(geometry),
        members_(std::move(members)),
        bitmap_file_(bitmap_file),
        wrappers_(std::move(wrappers)),
        array_(std::move(array)),
        own_(std::move(own)),
        recovering_(recovering),
        world_(world) {
    if (options_.check_invariants) {
      const uint32_t lagging = options_.write_behind > 0 ? options_.write_mostly_mask : 0;
      ack_checker_ = std::make_unique<Raid1AckChecker>(*array_, lagging, own_);
    }
  }

  io::BlockDevice& logical() override {
    return ack_checker_ ? static_cast<io::BlockDevice&>(*ack_checker_) : *array_;
  }

  absl::Status Start() override {
    if (options_.check_invariants && recovering_) {
      // What the assembly must do, from the images it starts from (old devices
      // included), before it changes them.
      std::vector<bool> readable(members_.size(), true);
      if (options_.vanish_persists && options_.vanish_member != 0) {
        readable[options_.vanish_member - 1] = false;
      }
      demand_ = DemandOfAssembly(geometry_, Images(/*in_sync_only=*/false),
                                 BitmapFile(/*durable=*/true), readable);
    }
    return array_->array().Assemble();
  }

  // A clean stop: every bit cleared on disk, superblocks marked in sync.
  absl::Status Settle(runtime::Scheduler&) override { return array_->array().Stop(); }

  absl::Status Control(absl::string_view command) override { return array_->Operate(command); }

  // Until resync has copied a dirty chunk, reads come from the first working member; a
  // member that fails (or vanishes) first leaves them to another member's copy, which
  // may be older: then what recovery read back need not stay.
  OracleOptions oracle_options() const override {
    return OracleOptions{.recovered_contents_stable =
                             !options_.faults.has_value() && options_.vanish_member == 0};
  }

  // I1, I5, I6, I14 on the images the power cut left (not the old devices put back).
  // After a later cut, a member that vanished for good keeps the image the first cut
  // left, which may tie the others' events (a torn superblock update) although it can
  // never come back: the images are then left to the assembly's checks.
  std::optional<Violation> CheckCrashImage(const CrashImages& images) const override {
    if (!options_.check_invariants) return std::nullopt;
    if (images.power_cuts >= 2 && options_.vanish_persists && options_.vanish_member != 0) {
      return std::nullopt;
    }
    std::vector<const sim::DiskImage*> disks;
    for (size_t i = 0; i < members_.size(); ++i) disks.push_back(&images.disks[i]);
    const sim::DiskImage* file = bitmap_file_ ? &images.disks[members_.size()] : nullptr;
    // After a later cut, the old file put back at the first recovery may still be there.
    const bool file_may_be_old = options_.old_bitmap_file && images.power_cuts >= 2;
    if (auto problem = CheckRaid1CrashImages(geometry_, disks, file, file_may_be_old)) {
      return problem->In("raid1 crash image: ");
    }
    return std::nullopt;
  }

  // The members' and the array's IO streams while the workload ran (I2, I3, I4, I6, I7,
  // I9, I13, I14; clean restarts and hot re-adds: I1, I11).
  // On a stack rebuilt after a power cut whose member vanished for good, the stream
  // checkers still count the gone member's frozen image among the fresh ones when the
  // cut tore the superblock updates (equal events), and ask its bitmap for the bits of
  // writes that can never reach it: the run is then left to the oracle.
  std::optional<Violation> CheckRun() override {
    if (!options_.check_invariants || own_->violations.empty()) return std::nullopt;
    if (recovering_ && options_.vanish_persists && options_.vanish_member != 0) {
      return std::nullopt;
    }
    return own_->violations.front().In("raid1 invariant violated before the power cut: ");
  }

  // After a recovered array assembled: its IO during recovery, the assembly (I10,
  // I11), the mirrors (I8) and, when whole, three idle daemon periods (I12).
  std::optional<Violation> CheckStarted() override {
    if (!demand_) return std::nullopt;
    if (!own_->violations.empty()) {
      return own_->violations.front().In("raid1 invariant violated during recovery: ");
    }
    if (auto problem = CheckAssembly(*demand_, array_->array(), *own_)) {
      return problem->In("raid1 assembly: ");
    }
    if (auto problem = CheckMirrorsIdentical(geometry_, Images(/*in_sync_only=*/true))) {
      return problem->In("raid1 recovery: ");
    }
    if (array_->array().degraded()) return std::nullopt;  // bits are kept for the re-add (I7)
    return CheckIdle("recovery");
  }

  // Progress after the workload (I12 as after a recovery): an array that is whole
  // clears every bit and counter in three idle daemon periods. A degraded one keeps
  // its bits for the re-add; violations of the run itself are CheckRun's.
  std::optional<Violation> CheckProgress() override {
    if (!options_.check_invariants || !own_->violations.empty() || array_->array().degraded()) {
      return std::nullopt;
    }
    return CheckIdle("the workload");
  }

 private:
  // I12: three idle daemon periods (plus IO time) after `what` clear every bit and
  // counter of a whole array, and leave its mirrors identical. Each of the three daemon
  // passes may write bitmap pages (a preflush, the write, its FUA) at the slowest
  // latencies before the next period starts.
  std::optional<Violation> CheckIdle(absl::string_view what) {
    const raid1::Raid1Array& array = array_->array();
    const runtime::Nanos io_time =
        4 * (options_.ssd.flush_latency.max + options_.ssd.write_latency.max) +
        3 * (2 * options_.ssd.flush_latency.max + options_.ssd.write_latency.max);
    world_.scheduler().SleepFor(3 * runtime::Seconds(options_.daemon_sleep_s) + io_time +
                                runtime::Milliseconds(1));
    const std::string context = absl::StrCat("raid1, idle after ", what, ": ");
    if (!own_->violations.empty()) {
      return own_->violations.front().In(absl::StrCat("raid1 invariant violated while idle after ",
                                                      what, ": "));
    }
    // A member that failed meanwhile (faults at recovery) keeps the bits for its re-add.
    if (array.degraded()) return std::nullopt;
    if (auto problem = CheckBitmapsClear(geometry_, Images(/*in_sync_only=*/true),
                                         BitmapFile(/*durable=*/false))) {
      return problem->In(context);
    }
    for (uint64_t chunk = 0; chunk < geometry_.bitmap.chunks; ++chunk) {
      if (array.bitmap().counter(chunk) != 0) {
        return InvariantViolated("I12", ": chunk ", chunk, "'s counter is ",
                                 array.bitmap().counter(chunk), " after three idle daemon periods")
            .In(context);
      }
    }
    if (CheckMirrorsIdentical(geometry_, Images(/*in_sync_only=*/true))) {
      return InvariantViolated("I12", ": mirrors differ after idle periods").In(context);
    }
    return std::nullopt;
  }

  // Durable images before assembly; visible ones of in-sync members after it.
  std::vector<const sim::DiskImage*> Images(bool in_sync_only) const {
    std::vector<const sim::DiskImage*> images;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!in_sync_only) {
        images.push_back(&members_[i]->durable());
      } else if (array_->array().member_state(i) == raid1::MemberState::kInSync) {
        images.push_back(&members_[i]->visible());
      }
    }
    return images;
  }
  const sim::DiskImage* BitmapFile(bool durable) const {
    if (!bitmap_file_) return nullptr;
    return durable ? &bitmap_file_->durable() : &bitmap_file_->visible();
  }

  Raid1StackOptions options_;
  raid1::Raid1Geometry geometry_;
  std::vector<sim::SimSsd*> members_;  // the simulation's view of each member
  sim::SimSsd* bitmap_file_;           // the external bitmap's device, if any
  std::vector<std::unique_ptr<io::BlockDevice>> wrappers_;  // over members_, outermost last
  std::unique_ptr<OperatedArray> array_;                  // over members_ / wrappers_
  std::unique_ptr<Raid1AckChecker> ack_checker_;            // over array_ (I9)
  std::shared_ptr<Raid1TraceState> own_;  // what the checkers found on this stack's IO
  bool recovering_;
  std::optional<Raid1AssemblyDemand> demand_;  // set by a recovering Start() with checks
  sim::World& world_;
};

absl::Status NeedsSimulation() {
  return absl::FailedPreconditionError(
      "raid1 stack: the member checks need simulated devices");
}

}  // namespace

raid1::Raid1Options Raid1ArrayOptions(const Raid1StackOptions& options) {
  raid1::Raid1Options array;
  array.array_sectors = options.logical_sectors;
  array.chunk_sectors = options.chunk_sectors;
  array.daemon_sleep_s = options.daemon_sleep_s;
  array.write_mostly_mask = options.write_mostly_mask;
  array.write_behind = options.write_behind;
  if (options.tight_layout) {
    absl::StatusOr<raid1::BitmapGeometry> bitmap = raid1::BitmapGeometry::For(
        options.logical_sectors, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
    if (bitmap.ok()) {
      array.bitmap_area_sectors = (bitmap->bytes + io::kSectorSize - 1) / io::kSectorSize;
      array.data_offset = options.external_bitmap ? raid1::kMdSuperOffsetSectors + 1
                                                  : raid1::kMdSuperOffsetSectors +
                                                        raid1::kRaid1BitmapOffset +
                                                        array.bitmap_area_sectors;
    }
  }
  return array;
}

absl::StatusOr<raid1::Raid1Geometry> Raid1StackGeometry(const Raid1StackOptions& options) {
  const raid1::Raid1Options array = Raid1ArrayOptions(options);
  // The layout before the data depends only on the array's size, not the member's: size
  // it on a member with room to spare (metadata takes far less than 2^32 sectors).
  absl::StatusOr<raid1::Raid1Geometry> sizing = raid1::Raid1Geometry::For(
      options.logical_sectors + (uint64_t{1} << 32), array, options.external_bitmap);
  if (!sizing.ok()) return sizing.status();
  return raid1::Raid1Geometry::For(sizing->data_offset + options.logical_sectors, array,
                                   options.external_bitmap);
}

// `blocks` written into a blank image of `sectors` sectors, without IO.
sim::DiskImage ImageOf(uint64_t sectors, const std::vector<raid1::MetadataBlock>& blocks) {
  sim::DiskImage image(sectors);
  for (const raid1::MetadataBlock& block : blocks) {
    const std::vector<sim::SectorRef> refs = sim::SplitIntoSectors(block.bytes);
    for (size_t k = 0; k < refs.size(); ++k) image.Put(block.sector + k, refs[k]);
  }
  return image;
}

StackFactory Raid1StackFactory(Raid1StackOptions options) {
  return [options](sim::World& world, Devices& devices) -> absl::StatusOr<std::unique_ptr<Stack>> {
    absl::StatusOr<raid1::Raid1Geometry> geometry = Raid1StackGeometry(options);
    if (!geometry.ok()) return geometry.status();
    const bool recovering = devices.recovering();
    // Old devices go back at the first recovery only (after later cuts, the devices the
    // first recovery brought up to date are what the power cut left).
    const bool putting_back = devices.power_cuts() == 1;
    auto trace = std::make_shared<Raid1TraceState>(*geometry);
    trace->record_copies = recovering;
    raid1::Raid1Options array_options = Raid1ArrayOptions(options);
    std::vector<std::unique_ptr<io::BlockDevice>> wrappers;
    // The members, then the bitmap file's device (the crash images' order). A fresh
    // stack starts from what Raid1Array::Create writes; an old device put back at the
    // recovery starts from it too.
    std::vector<sim::SimSsd*> members;
    std::vector<io::BlockDevice*> member_devices;
    faults::VanishingDevice* vanishing = nullptr;
    for (uint32_t i = 0; i < options.mirrors; ++i) {
      std::optional<sim::DiskImage> contents;
      if (!recovering || (putting_back && options.old_member == i + 1)) {
        contents = ImageOf(geometry->member_sectors,
                           raid1::Raid1Array::FormatMember(*geometry, array_options,
                                                           options.mirrors, i));
      }
      absl::StatusOr<Disk> member = devices.AddDisk({.name = absl::StrCat("ssd", i),
                                                     .sectors = geometry->member_sectors,
                                                     .contents = std::move(contents),
                                                     .simulated = options.ssd});
      if (!member.ok()) return member.status();
      if (options.check_invariants && member->simulated == nullptr) return NeedsSimulation();
      io::BlockDevice* device = member->device;
      if (options.check_invariants) {
        wrappers.push_back(std::make_unique<Raid1TraceChecker>(*member->simulated, i, trace));
        device = wrappers.back().get();
      }
      if (options.faults && options.fault_member == i && recovering == options.faults_at_recovery) {
        absl::StatusOr<std::unique_ptr<faults::FaultyBlockDevice>> faulty =
            faults::FaultyBlockDevice::Create(world, *device, *options.faults);
        if (!faulty.ok()) return faulty.status();
        wrappers.push_back(std::move(*faulty));
        device = wrappers.back().get();
      }
      if (options.vanish_member == i + 1 && (!recovering || options.vanish_persists)) {
        const uint64_t after = recovering ? 0 : options.vanish_after_ios;
        auto gone = std::make_unique<faults::VanishingDevice>(world, *device, after);
        vanishing = gone.get();
        device = gone.get();
        wrappers.push_back(std::move(gone));
      }
      member_devices.push_back(device);
      members.push_back(member->simulated);
    }
    sim::SimSsd* bitmap_file = nullptr;
    if (options.external_bitmap) {
      std::optional<sim::DiskImage> contents;
      if (!recovering || (putting_back && options.old_bitmap_file)) {
        contents = ImageOf(geometry->bitmap_area_sectors,
                           {raid1::Raid1Array::FormatBitmapFile(*geometry, array_options)});
      }
      absl::StatusOr<Disk> file = devices.AddDisk({.name = "bitmap",
                                                   .sectors = geometry->bitmap_area_sectors,
                                                   .contents = std::move(contents),
                                                   .simulated = options.ssd});
      if (!file.ok()) return file.status();
      if (options.check_invariants && file->simulated == nullptr) return NeedsSimulation();
      bitmap_file = file->simulated;
      array_options.bitmap_file = file->device;
      if (options.check_invariants) {
        wrappers.push_back(
            std::make_unique<Raid1TraceChecker>(*bitmap_file, kTraceBitmapFile, trace));
        array_options.bitmap_file = wrappers.back().get();
      }
    }
    OperatedArray::Plan plan;
    if (!recovering) {
      plan.restart_at_flush = options.restart_at_flush;
      plan.readd_at_flush = options.readd_at_flush;
      plan.repair = [vanishing] {
        if (vanishing != nullptr) vanishing->ComeBack();
      };
      plan.check = options.check_invariants;
    }
    // After a power cut the harness assembles like `mdadm --assemble --run`: the check
    // is what recovery can save, a member gone for good included. A clean restart in
    // the middle of the run assembles like plain `mdadm --assemble`, which does not
    // start while a member recorded working is missing.
    raid1::Raid1Options first_options = array_options;
    first_options.run_degraded = true;
    OperatedArray::Reopen open = [&world, member_devices, array_options] {
      return raid1::Raid1Array::Open(world.scheduler(), member_devices, array_options);
    };
    absl::StatusOr<std::unique_ptr<raid1::Raid1Array>> array =
        raid1::Raid1Array::Open(world.scheduler(), member_devices, first_options);
    if (!array.ok()) return array.status();
    std::vector<const sim::SimSsd*> member_views(members.begin(), members.end());
    auto operated = std::make_unique<OperatedArray>(world, std::move(*array), std::move(open),
                                                    std::move(plan), std::move(member_views),
                                                    trace);
    return std::unique_ptr<Stack>(new Raid1Stack(options, *geometry, std::move(members),
                                                 bitmap_file, std::move(wrappers),
                                                 std::move(operated), trace, recovering, world));
  };
}

namespace {

const std::vector<ParamField<Raid1StackOptions>>& Raid1Fields() {
  static const std::vector<ParamField<Raid1StackOptions>> fields = {
      {{"mirrors", 2, 2, 4,
        "number of mirrors (members)"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.mirrors; },
       [](Raid1StackOptions& o, uint64_t v) { o.mirrors = static_cast<uint32_t>(v); }},
      {{"logical_sectors", 4096, 8, kMaxLogicalSectors,
        "size of the array"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.logical_sectors; },
       [](Raid1StackOptions& o, uint64_t v) { o.logical_sectors = v; }},
      {{"chunk_sectors", 64, 1, uint64_t{1} << 22,
        "bitmap chunk, a power of two; at most 4194304 chunks (logical_sectors / chunk_sectors)"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.chunk_sectors; },
       [](Raid1StackOptions& o, uint64_t v) { o.chunk_sectors = v; }},
      {{"daemon_sleep_s", 1, 1, 3600,
        "bitmap daemon period (virtual seconds)"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.daemon_sleep_s; },
       [](Raid1StackOptions& o, uint64_t v) { o.daemon_sleep_s = static_cast<uint32_t>(v); }},
      {{"write_mostly_mask", 0, 0, 15,
        "bit i: member i is write-mostly"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.write_mostly_mask; },
       [](Raid1StackOptions& o, uint64_t v) { o.write_mostly_mask = static_cast<uint32_t>(v); }},
      {{"write_behind", 0, 0, 16383,
        "write-behind writes outstanding at most"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.write_behind; },
       [](Raid1StackOptions& o, uint64_t v) { o.write_behind = static_cast<uint32_t>(v); }},
      {{"tight_layout", 0, 0, 1,
        "data right after the bitmap's last sector"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.tight_layout ? 1u : 0u; },
       [](Raid1StackOptions& o, uint64_t v) { o.tight_layout = v != 0; }},
      {{"fault_member", 0, 0, 3,
        "the member the fault plan applies to"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.fault_member; },
       [](Raid1StackOptions& o, uint64_t v) { o.fault_member = static_cast<uint32_t>(v); }},
      {{"faults_at_recovery", 0, 0, 1,
        "the fault plan strikes the recoveries (assembly, resync, re-add) instead of the run"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.faults_at_recovery ? 1u : 0u; },
       [](Raid1StackOptions& o, uint64_t v) { o.faults_at_recovery = v != 0; }},
      {{"vanish_member", 0, 0, 4,
        "0: none; k: member k-1 vanishes", /*fault=*/true},
       [](const Raid1StackOptions& o) -> uint64_t { return o.vanish_member; },
       [](Raid1StackOptions& o, uint64_t v) { o.vanish_member = static_cast<uint32_t>(v); }},
      {{"vanish_after_ios", 0, 0, uint64_t{1} << 32,
        "IOs the vanishing member completes first"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.vanish_after_ios; },
       [](Raid1StackOptions& o, uint64_t v) { o.vanish_after_ios = v; }},
      {{"vanish_persists", 0, 0, 1,
        "the vanished member is gone at recovery too"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.vanish_persists ? 1u : 0u; },
       [](Raid1StackOptions& o, uint64_t v) { o.vanish_persists = v != 0; }},
      {{"external_bitmap", 0, 0, 1,
        "the bitmap is a file on its own device, not on the members"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.external_bitmap ? 1u : 0u; },
       [](Raid1StackOptions& o, uint64_t v) { o.external_bitmap = v != 0; }},
      {{"restart_at_flush", 0, 0, 1000,
        "0: never; k: the k-th flush stops the array cleanly and assembles it again"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.restart_at_flush; },
       [](Raid1StackOptions& o, uint64_t v) { o.restart_at_flush = static_cast<uint32_t>(v); }},
      {{"readd_at_flush", 0, 0, 1000,
        "0: never; k: from the k-th flush on, the first one that finds a member faulty re-adds it"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.readd_at_flush; },
       [](Raid1StackOptions& o, uint64_t v) { o.readd_at_flush = static_cast<uint32_t>(v); }},
      {{"old_member", 0, 0, 4,
        "0: none; k: member k-1 is put back at the recovery as it was created"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.old_member; },
       [](Raid1StackOptions& o, uint64_t v) { o.old_member = static_cast<uint32_t>(v); }},
      {{"old_bitmap_file", 0, 0, 1,
        "the bitmap file is put back at the recovery as it was created"},
       [](const Raid1StackOptions& o) -> uint64_t { return o.old_bitmap_file ? 1u : 0u; },
       [](Raid1StackOptions& o, uint64_t v) { o.old_bitmap_file = v != 0; }},
  };
  return fields;
}

// The checks a scenario's options must pass beyond each parameter's range.
absl::Status CheckRaid1Options(const Raid1StackOptions& options) {
  // The engine keeps a 16-bit counter per chunk in one array (and the bitmap in memory):
  // bound them (4 Mi chunks: 8 MiB of counters, a 512 KiB bitmap).
  constexpr uint64_t kMaxChunks = uint64_t{1} << 22;
  if (options.chunk_sectors != 0 &&
      (options.logical_sectors + options.chunk_sectors - 1) / options.chunk_sectors > kMaxChunks) {
    uint64_t enough = options.chunk_sectors;
    while ((options.logical_sectors + enough - 1) / enough > kMaxChunks) enough *= 2;
    return absl::InvalidArgumentError(absl::StrCat(
        "raid1: ", options.logical_sectors, " sectors in bitmap chunks of ", options.chunk_sectors,
        " sectors make more than ", kMaxChunks, " chunks; use chunk_sectors=", enough,
        " or more"));
  }
  absl::StatusOr<raid1::Raid1Geometry> geometry = Raid1StackGeometry(options);
  if (!geometry.ok()) return geometry.status();
  if (options.fault_member >= options.mirrors || options.vanish_member > options.mirrors) {
    return absl::InvalidArgumentError(absl::StrCat("fault_member ", options.fault_member,
                                                   " or vanish_member ", options.vanish_member,
                                                   " names no member of ", options.mirrors));
  }
  if (options.old_member > options.mirrors) {
    return absl::InvalidArgumentError(absl::StrCat("old_member ", options.old_member,
                                                   " names no member of ", options.mirrors));
  }
  if (options.old_bitmap_file && !options.external_bitmap) {
    return absl::InvalidArgumentError("old_bitmap_file needs external_bitmap=1");
  }
  // An old member is no copy of the data: with the other member of a two-way mirror
  // vanished too (stale or gone at the recovery), none is left to recover from.
  if (options.old_member != 0 && options.vanish_member != 0 &&
      options.vanish_member != options.old_member && options.mirrors == 2) {
    return absl::InvalidArgumentError(
        "old_member beside a vanishing member leaves a two-way mirror no current copy");
  }
  if ((options.write_mostly_mask >> options.mirrors) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("write_mostly_mask ", options.write_mostly_mask,
                                                   " names members beyond ", options.mirrors - 1));
  }
  // Fault sectors address the member below the array.
  if (options.faults) return faults::Validate(*options.faults, geometry->member_sectors);
  return absl::OkStatus();
}

}  // namespace

const EngineEntry& Raid1Engine() {
  static const EngineEntry entry{
      .name = "raid1",
      .summary = "an md RAID1 mirror set with the write-intent bitmap",
      .params = ParamTable(Raid1Fields()),
      .bind = [](const ParamValues& values,
                 const EngineEnvironment& environment) -> absl::StatusOr<BoundEngine> {
        Raid1StackOptions options = OptionsFromParams(Raid1Fields(), values);
        options.ssd = environment.ssd;
        options.faults = environment.faults;
        options.check_invariants = environment.simulated;
        if (absl::Status valid = CheckRaid1Options(options); !valid.ok()) return valid;
        // Each member holds its own copy of what is written, the oracle and the
        // workload one more; the bitmap's counters and pages are small beside them.
        const uint64_t chunks = options.logical_sectors / options.chunk_sectors + 1;
        return BoundEngine{Raid1StackFactory(options), options.logical_sectors,
                           runtime::Seconds(options.daemon_sleep_s),
                           MemoryModel{.fixed_bytes = 16 * chunks * (options.mirrors + 1),
                                       .per_written_byte = options.mirrors + 1},
                           [mirrors = options.mirrors](absl::string_view command) {
                             return CheckRaid1Control(command, mirrors);
                           }};
      },
  };
  return entry;
}

uint64_t Raid1ChunkFor(uint64_t sectors, uint64_t usual) {
  uint64_t chunk = usual;
  while (sectors / chunk > (uint64_t{1} << 16) && chunk < (uint64_t{1} << 22)) chunk *= 2;
  return chunk;
}

}  // namespace powercut::verifier
