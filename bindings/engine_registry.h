// The engine registry: one entry per engine, kept beside its binding
// (bindings/<engine>/<engine>_binding.cc), listed once in engine_registry.cc.
//
// An entry names the engine, documents its parameters (name, default, range, one line
// of meaning) and binds a scenario's parameters to a stack factory: it resolves the
// parameters into the binding's typed options once, checks them against each other and
// against the scenario's environment (SSD settings, fault plan), and returns the
// factory with the logical device size the workload addresses. The scenario runner,
// the replay parser, `powercut scenario --help`, `powercut run --engines` and the docs
// all read this table; nothing else compares engine names.
//
// Adding an engine: a folder bindings/<engine>/ with its stack binding and its entry,
// and one line in engine_registry.cc. An engine outside this repository (linked with the
// installed package, docs/testing-your-engine.md) calls RegisterEngine before anything
// looks engines up, e.g. first thing in main() or in a test's SetUp.
//
// Threading: the table is read without locks; register from one thread, before use.
#ifndef POWERCUT_BINDINGS_ENGINE_REGISTRY_H_
#define POWERCUT_BINDINGS_ENGINE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "faults/fault_plan.h"
#include "harness/stack.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

// The largest logical device an engine offers to run on (2^40 sectors, 512 TiB): a crash
// check costs what the run writes, not the device size (harness/judged_sectors.h).
inline constexpr uint64_t kMaxLogicalSectors = uint64_t{1} << 40;

struct EngineParam {
  std::string name;
  uint64_t default_value;
  uint64_t min;
  uint64_t max;
  std::string meaning;
  // Injects a fault when not at its default (a member that vanishes): where it strikes
  // then follows the timing of the run, so `powercut parity` refuses such a scenario.
  bool fault = false;
};

// Parameters as a scenario or replay file gives them: (name, value), in order.
using ParamList = std::vector<std::pair<std::string, uint64_t>>;

// A scenario's parameters resolved against an engine's table: every parameter of the
// table has a value (the one given, or its default), each inside its range.
class ParamValues {
 public:
  // InvalidArgument for a name the table lacks or a value outside its range.
  static absl::StatusOr<ParamValues> Resolve(absl::string_view engine,
                                             const std::vector<EngineParam>& table,
                                             const ParamList& given);
  // REQUIRES: `name` is in the table (a binding asks only for its own parameters).
  uint64_t operator[](absl::string_view name) const;

 private:
  ParamList values_;  // in table order
};

// What a scenario gives an engine besides its parameters.
struct EngineEnvironment {
  sim::SimSsdOptions ssd;
  std::optional<faults::FaultPlan> faults;
  // False when the devices are real files (harness/file_devices.h): the engines'
  // invariant checkers, which read the simulation's view of each device, are off.
  bool simulated = true;
};

// What a simulated check of the engine holds in memory, as an upper bound in three
// parts (scenario.h's MemoryEstimate adds them up; docs/cli.md lists the peak sizes
// measured against it). Simulated devices are sparse: a check costs what is written,
// except for what an engine keeps dense (persistent memory, per-block tables).
struct MemoryModel {
  uint64_t fixed_bytes = 0;      // whatever the workload does (tables, prefilled data)
  uint64_t per_image_bytes = 0;  // for each crash image checked (a pmem image)
  uint64_t per_written_byte = 2;  // bytes held for each byte the workload writes
};

struct BoundEngine {
  StackFactory factory;
  uint64_t logical_sectors = 0;  // the device the workload and the oracle address
  // The longest the engine may wait with nothing to do (a daemon period, a commit or
  // writeback timer): a check's time limit grows with it (scenario.cc).
  runtime::Nanos longest_wait{0};
  MemoryModel memory;
  // Whether the stack takes `command` as a control operation (Stack::Control):
  // InvalidArgument naming the commands it takes. Empty: it takes none.
  std::function<absl::Status(absl::string_view command)> check_control;
};

struct EngineEntry {
  std::string name;     // as scenarios and replay files spell it, e.g. "writecache"
  std::string summary;  // one line for --help
  std::vector<EngineParam> params;
  // The typed options for `values` checked against each other and `environment`, and
  // the factory over them; InvalidArgument naming what is wrong.
  std::function<absl::StatusOr<BoundEngine>(const ParamValues& values,
                                            const EngineEnvironment& environment)>
      bind;
};

// Every engine, in the order listings show them: the built-in ones, then the registered.
const std::vector<const EngineEntry*>& Engines();
// Adds `entry` (which must outlive every use: a function-local static) after the
// others. AlreadyExists if an engine of that name is known, InvalidArgument for an
// entry without a name or a bind function.
absl::Status RegisterEngine(const EngineEntry& entry);
// The engine called `name`, or nullptr.
const EngineEntry* FindEngine(absl::string_view name);
// The engine called `name`, or InvalidArgument listing the known ones.
absl::StatusOr<const EngineEntry*> LookUpEngine(absl::string_view name);

// LookUpEngine + ParamValues::Resolve + EngineEntry::bind.
absl::StatusOr<BoundEngine> BindEngine(absl::string_view engine, const ParamList& params,
                                       const EngineEnvironment& environment);

// --- For bindings: one table maps an engine's typed options to and from parameters. --

// One parameter and where it lives in the binding's options.
template <typename Options>
struct ParamField {
  EngineParam param;
  uint64_t (*get)(const Options&);
  void (*set)(Options&, uint64_t);
};

template <typename Options>
std::vector<EngineParam> ParamTable(const std::vector<ParamField<Options>>& fields) {
  std::vector<EngineParam> table;
  for (const ParamField<Options>& field : fields) table.push_back(field.param);
  return table;
}

// `base` with every field set from `values`, in table order (a field's setter may read
// the fields set before it).
template <typename Options>
Options OptionsFromParams(const std::vector<ParamField<Options>>& fields,
                          const ParamValues& values, Options base = {}) {
  for (const ParamField<Options>& field : fields) field.set(base, values[field.param.name]);
  return base;
}

// Every parameter's effective value in `options`, in table order.
template <typename Options>
ParamList ParamsFromOptions(const std::vector<ParamField<Options>>& fields,
                            const Options& options) {
  ParamList params;
  for (const ParamField<Options>& field : fields) {
    params.emplace_back(field.param.name, field.get(options));
  }
  return params;
}

}  // namespace powercut::verifier

#endif  // POWERCUT_BINDINGS_ENGINE_REGISTRY_H_
