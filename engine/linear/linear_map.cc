#include "engine/linear/linear_map.h"

#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"

namespace powercut::linear {

absl::StatusOr<std::unique_ptr<LinearMap>> LinearMap::Create(io::BlockDevice& lower,
                                                                   uint64_t start,
                                                                   uint64_t sectors) {
  if (sectors == 0) return absl::InvalidArgumentError("linear: zero-length mapping");
  if (start >= lower.sector_count() || sectors > lower.sector_count() - start) {
    return absl::InvalidArgumentError(
        absl::StrCat("linear: mapping [", start, ", +", sectors, ") does not fit in ",
                     lower.name(), " (", lower.sector_count(), " sectors)"));
  }
  return std::unique_ptr<LinearMap>(new LinearMap(lower, start, sectors));
}

LinearMap::LinearMap(io::BlockDevice& lower, uint64_t start, uint64_t sectors)
    : lower_(lower), start_(start), sectors_(sectors), name_("linear(" + lower.name() + ")") {}

void LinearMap::SubmitRead(uint64_t sector, std::span<std::byte> buffer,
                              io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok()) valid = io::ValidateRange(sectors_, sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  lower_.SubmitRead(start_ + sector, buffer, std::move(done));
}

void LinearMap::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                               uint32_t flags, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sectors_, sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  if (POWERCUT_MUTANT(kLinearFuaDropped)) flags &= ~static_cast<uint32_t>(io::kFua);
  if (POWERCUT_MUTANT(kLinearMisdirectedWrite) && sector % 16 == 8) sector -= 8;
  lower_.SubmitWrite(start_ + sector, data, flags, std::move(done));
}

void LinearMap::SubmitFlush(io::IoCallback done) {
  if (POWERCUT_MUTANT(kLinearFlushDropped)) return done(absl::OkStatus());
  lower_.SubmitFlush(std::move(done));
}

void LinearMap::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sectors_, sector, sectors);
  if (!valid.ok()) return done(valid);
  lower_.SubmitDiscard(start_ + sector, sectors, std::move(done));
}

std::vector<io::SectorRange> LinearMap::DataRanges(uint64_t first, uint64_t count) const {
  return io::Clip(lower_.DataRanges(start_ + first, count), start_ + first, count, 0 - start_);
}

}  // namespace powercut::linear
