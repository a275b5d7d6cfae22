// libFuzzer target: the bitmap_super_t decoder (engine/raid1/bitmap_format.h).
//
// Any bytes must decode to a valid superblock or be rejected with a status; a decoded
// superblock must encode back to the same 256 bytes it came from, and its geometry must
// be computable without overflow.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "engine/raid1/bitmap_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  absl::StatusOr<powercut::raid1::BitmapSuper> sb = powercut::raid1::DecodeBitmapSuper(bytes);
  if (!sb.ok()) return 0;
  const auto encoded = powercut::raid1::EncodeBitmapSuper(*sb);
  absl::StatusOr<powercut::raid1::BitmapSuper> again = powercut::raid1::DecodeBitmapSuper(encoded);
  if (!again.ok() || powercut::raid1::EncodeBitmapSuper(*again) != encoded) std::abort();
  return 0;
}
