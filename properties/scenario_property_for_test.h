// The body of a RapidCheck property over scenarios (tests only): run the scenario and,
// on failure, fail the property with the full report (failure, replay file, command).
// The first failure of a test process, before RapidCheck shrinks it, is also printed to
// stderr, so a failure is reproducible both before and after shrinking.
#ifndef POWERCUT_PROPERTIES_SCENARIO_PROPERTY_FOR_TEST_H_
#define POWERCUT_PROPERTIES_SCENARIO_PROPERTY_FOR_TEST_H_

#include <rapidcheck.h>

#include <iostream>

#include "scenario/failure_report.h"
#include "scenario/scenario.h"

namespace powercut::verifier {

inline void CheckScenarioProperty(const Scenario& scenario) {
  absl::StatusOr<CrashCheckResult> result = RunScenario(scenario);
  if (!result.ok()) RC_FAIL(std::string(result.status().message()));
  if (result->passed) return;
  const std::string report = ReportFailure(scenario, *result);
  static bool first = true;
  if (first) {
    first = false;
    std::cerr << "First failure, before shrinking:\n" << report << "\n";
  }
  RC_FAIL(report);
}

}  // namespace powercut::verifier

#endif  // POWERCUT_PROPERTIES_SCENARIO_PROPERTY_FOR_TEST_H_
