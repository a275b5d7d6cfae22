// libFuzzer target: the md v1.2 superblock decoder (engine/raid1/md_superblock.h).
//
// The first 8 input bytes choose the member size the decoder checks against; the rest
// is the superblock. Anything must decode or be rejected with a status; a decoded
// superblock must re-encode to bytes that decode to the same encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "engine/raid1/md_superblock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t member_sectors;
  std::memcpy(&member_sectors, data, 8);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 8), size - 8);
  absl::StatusOr<powercut::raid1::MdSuperblock> sb =
      powercut::raid1::DecodeMdSuperblock(bytes, member_sectors);
  if (!sb.ok()) return 0;
  const std::vector<std::byte> encoded = powercut::raid1::EncodeMdSuperblock(*sb);
  absl::StatusOr<powercut::raid1::MdSuperblock> again =
      powercut::raid1::DecodeMdSuperblock(encoded, member_sectors);
  if (!again.ok() || powercut::raid1::EncodeMdSuperblock(*again) != encoded) std::abort();
  return 0;
}
