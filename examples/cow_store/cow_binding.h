// The powercut binding of the copy-on-write store: the stack the crash harness builds
// (one simulated SSD with a CowStore on it), the engine's registry entry "cow", and
// the two seeded scenario families, "cow" and "cow-broken".
//
// Register the engine before the families (RegisterCow does both, in that order), from
// the main thread, before powercut looks anything up.
//
// Threading and ownership: a stack belongs to the World it is built in and runs on its
// scheduler's thread; the entry and the families are static and immutable.
#ifndef COW_STORE_COW_BINDING_H_
#define COW_STORE_COW_BINDING_H_

#include <cstdint>

#include "absl/status/status.h"
#include "bindings/engine_registry.h"
#include "cow_store.h"
#include "harness/stack.h"
#include "scenario/seeded_scenarios.h"
#include "sim/sim_ssd.h"

namespace cowstore {

struct CowStackOptions {
  CowOptions store;
  powercut::sim::SimSsdOptions ssd;  // `sectors` is derived from the store's geometry
};

// Builds a CowStore over one disk; its Start() formats a blank disk or recovers a
// crash image. After Start(), the stack checks the store's in-memory consistency.
powercut::verifier::StackFactory CowStackFactory(CowStackOptions options);

// The registry entry of engine "cow": parameters logical_sectors, journal_sectors,
// spare_blocks, broken. No fault plans.
const powercut::verifier::EngineEntry& CowEngine();

// Seed `seed` of family "cow" (broken = false) or "cow-broken": a workload of 4 KiB
// aligned IO over 512..4096 sectors, a journal of 1..16 records and 8, 16 or 64 spare
// blocks, all drawn from the seed.
powercut::verifier::Scenario CowScenario(uint64_t seed, bool broken);

// Registers the engine and both families.
absl::Status RegisterCow();

}  // namespace cowstore

#endif  // COW_STORE_COW_BINDING_H_
