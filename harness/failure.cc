#include "harness/failure.h"

#include "absl/strings/str_cat.h"

namespace powercut::verifier {
absl::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kLostDurableWrite: return "lost durable write";
    case FailureKind::kOlderData: return "older data";
    case FailureKind::kForeignData: return "foreign data";
    case FailureKind::kGarbage: return "garbage";
    case FailureKind::kBadRead: return "bad read";
    case FailureKind::kInvariantViolated: return "invariant violated";
    case FailureKind::kRecoveryRefused: return "recovery refused";
    case FailureKind::kEngineError: return "engine error";
    case FailureKind::kEngineAssertion: return "engine assertion";
    case FailureKind::kDeadlock: return "deadlock";
    case FailureKind::kHang: return "hang";
    case FailureKind::kOutOfMemory: return "out of memory";
  }
  return "unknown";
}

absl::string_view FailurePhaseName(FailurePhase phase) {
  switch (phase) {
    case FailurePhase::kRun: return "run";
    case FailurePhase::kCrashImage: return "crash image";
    case FailurePhase::kRecovery: return "recovery";
  }
  return "unknown";
}

std::string Failure::Group() const {
  return invariant.empty() ? std::string(FailureKindName(kind))
                           : absl::StrCat(FailureKindName(kind), " ", invariant);
}

std::string Failure::Where() const {
  std::string where;
  switch (phase) {
    case FailurePhase::kRun: where = "during the run"; break;
    case FailurePhase::kCrashImage: where = absl::StrCat("on crash image ", image.value_or(0)); break;
    case FailurePhase::kRecovery:
      where = absl::StrCat("recovering crash image ", image.value_or(0));
      break;
  }
  if (after_cut > 0) absl::StrAppend(&where, ", after power cut ", after_cut);
  return where;
}

FailureKind KindOfRunStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded: return FailureKind::kHang;
    case absl::StatusCode::kFailedPrecondition: return FailureKind::kDeadlock;
    case absl::StatusCode::kAborted: return FailureKind::kEngineAssertion;
    case absl::StatusCode::kResourceExhausted: return FailureKind::kOutOfMemory;
    default: return FailureKind::kEngineError;
  }
}

}  // namespace powercut::verifier
