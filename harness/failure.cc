#include "harness/failure.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace powercut::props {
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
    case FailureKind::kDeadlock: return "deadlock";
    case FailureKind::kHang: return "hang";
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
  switch (phase) {
    case FailurePhase::kRun: return "during the run";
    case FailurePhase::kCrashImage: return absl::StrCat("on crash image ", image.value_or(0));
    case FailurePhase::kRecovery: return absl::StrCat("recovering crash image ", image.value_or(0));
  }
  return "";
}

Violation Violation::Named(absl::string_view context, absl::string_view explanation) {
  return Violation{.invariant = InvariantNamedIn(explanation),
                   .text = absl::StrCat(context, explanation)};
}

std::string InvariantNamedIn(absl::string_view text) {
  const auto digits = [&](size_t at) {
    size_t end = at;
    while (end < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[end]))) ++end;
    return end;
  };
  for (size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if ((c != 'I' && c != 'E' && c != 'W') || (at > 0 && text[at - 1] != ' ')) continue;
    size_t end = digits(at + 1);
    if (end == at + 1) continue;
    // Joined names: "E5/W2".
    while (end + 2 < text.size() && text[end] == '/' &&
           (text[end + 1] == 'E' || text[end + 1] == 'W') && digits(end + 2) > end + 2) {
      end = digits(end + 2);
    }
    const absl::string_view rest = text.substr(end);
    if (c == 'I' ? absl::StartsWith(rest, ": ") : absl::StartsWith(rest, " (")) {
      return std::string(text.substr(at, end - at));
    }
  }
  return "";
}

FailureKind KindOfRunStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded: return FailureKind::kHang;
    case absl::StatusCode::kFailedPrecondition: return FailureKind::kDeadlock;
    default: return FailureKind::kEngineError;
  }
}

}  // namespace powercut::props
