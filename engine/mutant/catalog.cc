#include "engine/mutant/mutant.h"

namespace powercut::mutant {
namespace {

// One section per engine, in the order of mutant::Id.
constexpr Info kCatalog[] = {
    // engine/linear
    {Id::kLinearFlushDropped, "linear_flush_dropped", "linear",
     "a flush completes at once without reaching the device below",
     "a lying flush (devices that ignore cache flushes)"},
    {Id::kLinearFuaDropped, "linear_fua_dropped", "linear",
     "the FUA flag is stripped from writes, so they sit in the volatile cache",
     "FUA ignored by a stacking driver"},
    {Id::kLinearMisdirectedWrite, "linear_misdirected_write", "linear",
     "writes that start 8 sectors past a 16-sector boundary land 8 sectors early",
     "misdirected writes (firmware address bugs)"},
};

}  // namespace

std::span<const Info> Catalog() { return kCatalog; }

const Info* Find(std::string_view name) {
  for (const Info& info : kCatalog) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace powercut::mutant
