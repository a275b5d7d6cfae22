#include "bindings/raid1/operated_array.h"

#include <optional>
#include <stdexcept>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace powercut::verifier {
namespace {

// The member "fail K" names (K parsed), or nullopt for another command.
std::optional<uint64_t> FailedMember(absl::string_view command) {
  uint64_t member = 0;
  if (!absl::ConsumePrefix(&command, "fail ") || !absl::SimpleAtoi(command, &member)) {
    return std::nullopt;
  }
  return member;
}

}  // namespace

absl::Status CheckRaid1Control(absl::string_view command, uint32_t mirrors) {
  if (command == "readd" || command == "restart") return absl::OkStatus();
  if (std::optional<uint64_t> member = FailedMember(command); member && *member < mirrors) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "the mirror set takes the control operations 'fail K' (K from 0 to ", mirrors - 1,
      "), 'readd' and 'restart', not '", command, "'"));
}

absl::Status OperatedArray::Operate(absl::string_view command) {
  if (absl::Status known = CheckRaid1Control(command, static_cast<uint32_t>(members_.size()));
      !known.ok()) {
    return known;
  }
  if (restarting_ || readding_) {
    return absl::FailedPreconditionError("raid1: a restart or re-add is under way");
  }
  if (std::optional<uint64_t> member = FailedMember(command)) return array_->Fail(*member);
  if (command == "readd") {
    readding_ = true;
    ReAddFaulty();
    readding_ = false;
    return absl::OkStatus();
  }
  if (array_->degraded()) {
    return absl::FailedPreconditionError("raid1: a degraded array is not restarted");
  }
  restarting_ = true;
  Restart();
  return absl::OkStatus();
}

OperatedArray::OperatedArray(sim::World& world, std::unique_ptr<raid1::Raid1Array> array,
                             Reopen reopen, Plan plan, std::vector<const sim::SimSsd*> members,
                             std::shared_ptr<Raid1TraceState> trace)
    : world_(world),
      array_(std::move(array)),
      reopen_(std::move(reopen)),
      plan_(std::move(plan)),
      members_(std::move(members)),
      trace_(std::move(trace)),
      restarted_(world.scheduler(), "raid1 restart") {}

void OperatedArray::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  if (!restarting_) return array_->SubmitRead(sector, buffer, std::move(done));
  Later([this, sector, buffer, done = std::move(done)]() mutable {
    array_->SubmitRead(sector, buffer, std::move(done));
  });
}

void OperatedArray::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                                io::IoCallback done) {
  if (!restarting_) return array_->SubmitWrite(sector, data, flags, std::move(done));
  Later([this, sector, data, flags, done = std::move(done)]() mutable {
    array_->SubmitWrite(sector, data, flags, std::move(done));
  });
}

void OperatedArray::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (!restarting_) return array_->SubmitDiscard(sector, sectors, std::move(done));
  Later([this, sector, sectors, done = std::move(done)]() mutable {
    array_->SubmitDiscard(sector, sectors, std::move(done));
  });
}

void OperatedArray::SubmitFlush(io::IoCallback done) {
  // A degraded array is not restarted: its assembly could need the member that is
  // gone (a fault plan's errors on the last one are a double failure).
  ++flushes_;
  if (plan_.readd_at_flush != 0 && flushes_ >= plan_.readd_at_flush && !readded_ &&
      !restarting_ && array_->degraded()) {
    readded_ = true;
    readding_ = true;
    world_.scheduler().Spawn(
        "raid1-readd",
        [this, done = std::move(done)]() mutable {
          ReAddFaulty();
          readding_ = false;
          array_->SubmitFlush(std::move(done));
        },
        runtime::FiberKind::kDaemon);
    return;
  }
  if (flushes_ == plan_.restart_at_flush && !restarting_ && !readding_ &&
      !array_->degraded()) {
    restarting_ = true;
    world_.scheduler().Spawn(
        "raid1-restart",
        [this, done = std::move(done)]() mutable {
          Restart();
          array_->SubmitFlush(std::move(done));
        },
        runtime::FiberKind::kDaemon);
    return;
  }
  if (!restarting_) return array_->SubmitFlush(std::move(done));
  Later([this, done = std::move(done)]() mutable { array_->SubmitFlush(std::move(done)); });
}

void OperatedArray::Later(absl::AnyInvocable<void()> submit) {
  world_.scheduler().Spawn(
      "raid1-restart-wait",
      [this, submit = std::move(submit)]() mutable {
        restarted_.Await([this] { return !restarting_; });
        submit();
      },
      runtime::FiberKind::kDaemon);
}

void OperatedArray::ReAddFaulty() {
  if (plan_.repair) plan_.repair();
  std::optional<Raid1AssemblyDemand> demand;
  if (plan_.check) {
    std::vector<const sim::DiskImage*> durable;
    for (const sim::SimSsd* m : members_) durable.push_back(&m->durable());
    const sim::DiskImage* file = trace_->bitmap_file ? &trace_->bitmap_file->durable() : nullptr;
    demand = DemandOfAssembly(trace_->g, durable, file, std::vector<bool>(members_.size(), true));
    trace_->record_copies = true;
    trace_->whole_chunks_written.clear();
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (array_->member_state(i) != raid1::MemberState::kFaulty) continue;
    const absl::Status readd = array_->ReAdd(i);
    world_.Record("raid1", "readd", readd.ok() ? 1 : 0);
  }
  if (!demand) return;
  trace_->record_copies = false;
  if (auto problem = CheckAssembly(*demand, *array_, *trace_)) {
    trace_->violations.push_back(problem->In("hot re-add: "));
  }
}

void OperatedArray::Restart() {
  const absl::Status stopped = array_->Stop();
  world_.Record("raid1", "restart.stopped", stopped.ok() ? 1 : 0);
  // Member faults may have failed a member during the stop.
  const bool clean = stopped.ok() && !array_->degraded();
  if (clean && plan_.check) {
    std::vector<const sim::DiskImage*> durable;
    for (const sim::SimSsd* m : members_) durable.push_back(&m->durable());
    if (auto problem = CheckMirrorsIdentical(trace_->g, durable)) {
      trace_->violations.push_back(InvariantViolated(
          "I1", ": members differ after a clean stop (", problem->text, ")"));
    }
  }
  retired_.push_back(std::move(array_));  // its daemon fiber may still wake up
  absl::StatusOr<std::unique_ptr<raid1::Raid1Array>> next = reopen_();
  if (!next.ok()) throw std::logic_error(std::string(next.status().message()));
  array_ = std::move(*next);
  // An assembly that fails (the fault plan's errors on every member) leaves requests
  // failing, as a real array that cannot start would.
  const absl::Status assembled = array_->Assemble();
  world_.Record("raid1", "restart.assembled", assembled.ok() ? 1 : 0);
  if (assembled.ok() && clean && array_->resynced_chunks() + array_->recovered_chunks() != 0) {
    trace_->violations.push_back(Violation{
        .text = absl::StrCat("clean stop: the next assembly resynced ",
                             array_->resynced_chunks(), " and recovered ",
                             array_->recovered_chunks(), " chunks (a clean array needs none)")});
  }
  restarting_ = false;
  restarted_.NotifyAll();
}

}  // namespace powercut::verifier
