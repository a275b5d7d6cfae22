// OperatedArray: a Raid1Array as an operator runs it while the workload's IO flows
// through it (the RAID1 binding's operator actions).
//
// Restarted once: the `restart_at_flush`-th flush stops it cleanly (Raid1Array::Stop)
// and assembles a new one over the same devices (`reopen`), as `mdadm --stop` then
// `mdadm --assemble` would; requests that arrive meanwhile wait for the new array.
// After a clean stop of a whole array, its members' durable data must agree (a clean
// array is in sync: I1) and the next assembly must resync nothing. Members re-added
// once: from the `readd_at_flush`-th flush on, the first flush that finds a member
// faulty runs `repair` (vanished members come back) and re-adds every faulty member
// (Raid1Array::ReAdd, `mdadm --re-add`) before it runs; with `check`, each re-add must
// follow I11 (CheckAssembly). Violations are recorded in `trace`.
//
// An operator's commands (Operate) do the same at the workload's control operations.
//
// Threading: the World's thread. Does not own the members.
#ifndef POWERCUT_BINDINGS_RAID1_OPERATED_ARRAY_H_
#define POWERCUT_BINDINGS_RAID1_OPERATED_ARRAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/io/block_device.h"
#include "engine/raid1/raid1.h"
#include "engine/runtime/sync.h"
#include "invariants/raid1_invariants.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::verifier {

// OK if `command` is one Operate takes on an array of `mirrors` members, else
// InvalidArgument naming the commands.
absl::Status CheckRaid1Control(absl::string_view command, uint32_t mirrors);

class OperatedArray : public io::BlockDevice {
 public:
  using Reopen = std::function<absl::StatusOr<std::unique_ptr<raid1::Raid1Array>>()>;
  struct Plan {
    uint32_t restart_at_flush = 0;
    uint32_t readd_at_flush = 0;
    std::function<void()> repair;
    bool check = false;
  };
  OperatedArray(sim::World& world, std::unique_ptr<raid1::Raid1Array> array, Reopen reopen,
                Plan plan, std::vector<const sim::SimSsd*> members,
                std::shared_ptr<Raid1TraceState> trace);

  raid1::Raid1Array& array() { return *array_; }
  // From a fiber: an operator's command while the workload runs (Stack::Control):
  // "fail K" (mdadm --fail of member K), "readd" (every faulty member re-added, vanished
  // ones brought back first, checked as the planned re-add is), "restart" (a clean stop
  // and a new assembly, checked as the planned restart is; refused while degraded).
  // FailedPrecondition while a restart or re-add is under way, or for what the array
  // refuses; InvalidArgument for an unknown command (CheckRaid1Control).
  absl::Status Operate(absl::string_view command);
  uint64_t sector_count() const override { return array_->sector_count(); }
  const std::string& name() const override { return array_->name(); }
  uint32_t block_sectors() const override { return array_->block_sectors(); }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override {
    return array_->DataRanges(first, count);
  }

 private:
  // Runs `submit` once the restart is over.
  void Later(absl::AnyInvocable<void()> submit);
  void ReAddFaulty();
  void Restart();

  sim::World& world_;
  std::unique_ptr<raid1::Raid1Array> array_;
  std::vector<std::unique_ptr<raid1::Raid1Array>> retired_;
  Reopen reopen_;
  Plan plan_;
  std::vector<const sim::SimSsd*> members_;
  std::shared_ptr<Raid1TraceState> trace_;
  uint32_t flushes_ = 0;
  bool restarting_ = false;
  bool readded_ = false;
  bool readding_ = false;
  runtime::WaitQueue restarted_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_BINDINGS_RAID1_OPERATED_ARRAY_H_
