#include "bindings/engine_registry.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bindings/linear/linear_binding.h"
#include "bindings/raid1/raid1_binding.h"
#include "bindings/writecache/writecache_binding.h"

namespace powercut::verifier {

namespace {

std::vector<const EngineEntry*>& Table() {
  static std::vector<const EngineEntry*> engines = {
      &LinearEngine(),
      &WriteCacheEngine(),
      &Raid1Engine(),
  };
  return engines;
}

}  // namespace

const std::vector<const EngineEntry*>& Engines() { return Table(); }

absl::Status RegisterEngine(const EngineEntry& entry) {
  if (entry.name.empty() || !entry.bind) {
    return absl::InvalidArgumentError("an engine needs a name and a bind function");
  }
  if (FindEngine(entry.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("an engine called '", entry.name, "' is already known"));
  }
  Table().push_back(&entry);
  return absl::OkStatus();
}

const EngineEntry* FindEngine(absl::string_view name) {
  for (const EngineEntry* engine : Engines()) {
    if (engine->name == name) return engine;
  }
  return nullptr;
}

absl::StatusOr<const EngineEntry*> LookUpEngine(absl::string_view name) {
  if (const EngineEntry* engine = FindEngine(name)) return engine;
  std::vector<std::string> names;
  for (const EngineEntry* engine : Engines()) names.push_back(engine->name);
  return absl::InvalidArgumentError(absl::StrCat("unknown engine '", name, "' (known: ",
                                                 absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<ParamValues> ParamValues::Resolve(absl::string_view engine,
                                                 const std::vector<EngineParam>& table,
                                                 const ParamList& given) {
  ParamValues values;
  for (const EngineParam& param : table) values.values_.emplace_back(param.name, param.default_value);
  for (const auto& [key, value] : given) {
    size_t i = 0;
    while (i < table.size() && table[i].name != key) ++i;
    if (i == table.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("engine '", engine, "' has no parameter '", key, "'"));
    }
    if (value < table[i].min || value > table[i].max) {
      return absl::InvalidArgumentError(absl::StrCat("parameter ", key, " = ", value,
                                                     " is outside [", table[i].min, ", ",
                                                     table[i].max, "]"));
    }
    values.values_[i].second = value;
  }
  return values;
}

uint64_t ParamValues::operator[](absl::string_view name) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  // A binding asked for a parameter its own table lacks: a bug in the binding.
  std::fprintf(stderr, "engine binding asked for undeclared parameter '%.*s'\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}

absl::StatusOr<BoundEngine> BindEngine(absl::string_view engine, const ParamList& params,
                                       const EngineEnvironment& environment) {
  absl::StatusOr<const EngineEntry*> entry = LookUpEngine(engine);
  if (!entry.ok()) return entry.status();
  absl::StatusOr<ParamValues> values = ParamValues::Resolve(engine, (*entry)->params, params);
  if (!values.ok()) return values.status();
  return (*entry)->bind(*values, environment);
}

}  // namespace powercut::verifier
