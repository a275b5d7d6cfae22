// bitmap_super_t and the bit layout (I14: format, sizes, ranges).
#include "engine/raid1/bitmap_format.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::raid1 {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> FromHex(const std::string& hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Worked out independently of this code (testdata/make_golden.py): Python struct.pack over
// the field list of bitmap_super_t in md-bitmap.h, zero-padded to 256 bytes.
const std::string kGoldenSuperHex =
    "6269746d0400000000112233445566778899aabbccddeeff0807060504030201"
    "1817161514131211000020000000000002000000000001000500000000010000"
    "8800000000000000" +
    std::string(2 * (256 - 72), '0');

BitmapSuper GoldenSuper() {
  BitmapSuper sb;
  sb.version = 4;
  sb.uuid = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
             0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  sb.events = 0x0102030405060708;
  sb.events_cleared = 0x1112131415161718;
  sb.sync_size = 2097152;  // 1 GiB
  sb.state = kBitmapStateStale;
  sb.chunksize = 65536;
  sb.daemon_sleep = 5;
  sb.write_behind = 256;
  sb.sectors_reserved = 136;
  return sb;
}

// A valid superblock as bytes, for corrupting one field at a time.
std::vector<std::byte> GoldenBytes() { return FromHex(kGoldenSuperHex); }

void Put32(std::vector<std::byte>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}
void Put64(std::vector<std::byte>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}

TEST(BitmapSuper, EncodesToTheKernelLayoutByteForByte) {
  const std::vector<std::byte> golden = GoldenBytes();
  ASSERT_EQ(golden.size(), kBitmapSuperSize);
  const auto encoded = EncodeBitmapSuper(GoldenSuper());
  EXPECT_EQ(std::vector<std::byte>(encoded.begin(), encoded.end()), golden);
}

TEST(BitmapSuper, DecodesTheKernelLayout) {
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(GoldenBytes());
  ASSERT_TRUE(sb.ok()) << sb.status();
  EXPECT_EQ(*sb, GoldenSuper());
  EXPECT_TRUE(sb->stale());
}

TEST(BitmapSuper, RoundTripsEveryField) {
  BitmapSuper sb = GoldenSuper();
  sb.version = kBitmapVersionHostEndian;
  sb.state = kBitmapStateWriteError | 0x8000;
  sb.daemon_sleep = 1;
  sb.write_behind = kBitmapMaxWriteBehind;
  sb.sectors_reserved = 0;
  sb.chunksize = 512;
  sb.sync_size = 12345;
  const auto bytes = EncodeBitmapSuper(sb);
  absl::StatusOr<BitmapSuper> back = DecodeBitmapSuper(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sb);
}

TEST(BitmapSuper, ReadsOnlyTheFirst256BytesAndIgnoresPadding) {
  std::vector<std::byte> bytes = GoldenBytes();
  bytes[200] = std::byte{0x5a};  // padding: the kernel neither checks nor uses it
  bytes.resize(4096, std::byte{0xff});
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(bytes);
  ASSERT_TRUE(sb.ok()) << sb.status();
  EXPECT_EQ(*sb, GoldenSuper());
}

struct Corruption {
  std::string name;
  size_t offset;
  uint64_t value;
  int width;  // 4 or 8
  std::string field;
};

class BitmapSuperRejects : public ::testing::TestWithParam<Corruption> {};

TEST_P(BitmapSuperRejects, CorruptFieldWithAnErrorNamingIt) {
  const Corruption& c = GetParam();
  std::vector<std::byte> bytes = GoldenBytes();
  if (c.width == 4) Put32(bytes, c.offset, static_cast<uint32_t>(c.value));
  if (c.width == 8) Put64(bytes, c.offset, c.value);
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(bytes);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sb.status().message(), HasSubstr(c.field + ":"));
}

INSTANTIATE_TEST_SUITE_P(
    EachField, BitmapSuperRejects,
    ::testing::Values(Corruption{"MagicZero", 0, 0, 4, "magic"},
                      Corruption{"MagicByteSwapped", 0, 0x6269746d, 4, "magic"},
                      Corruption{"VersionTwo", 4, 2, 4, "version"},
                      Corruption{"VersionClustered", 4, 5, 4, "version"},
                      Corruption{"VersionSix", 4, 6, 4, "version"},
                      Corruption{"ChunksizeZero", 52, 0, 4, "chunksize"},
                      Corruption{"Chunksize256", 52, 256, 4, "chunksize"},
                      Corruption{"ChunksizeNotPowerOfTwo", 52, 65536 + 512, 4, "chunksize"},
                      Corruption{"DaemonSleepZero", 56, 0, 4, "daemon_sleep"},
                      Corruption{"WriteBehindPastCounterMax", 60, 16384, 4, "write_behind"},
                      Corruption{"NodesInANonClusteredBitmap", 68, 2, 4, "nodes"},
                      Corruption{"SyncSizeZero", 40, 0, 8, "sync_size"},
                      Corruption{"SyncSizeTooManyChunks", 40, uint64_t{1} << 60, 8, "sync_size"},
                      Corruption{"SyncSizeMaximal", 40, ~uint64_t{0}, 8, "sync_size"},
                      // 4 sectors cannot hold 256 + 2048 bytes.
                      Corruption{"SectorsReservedTooSmall", 64, 4, 4, "sectors_reserved"}),
    [](const ::testing::TestParamInfo<Corruption>& info) { return info.param.name; });

TEST(BitmapSuper, RejectsTruncatedInput) {
  std::vector<std::byte> bytes = GoldenBytes();
  bytes.resize(255);
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(bytes);
  ASSERT_FALSE(sb.ok());
  EXPECT_THAT(sb.status().message(), HasSubstr("truncated"));
  EXPECT_FALSE(DecodeBitmapSuper({}).ok());
}

TEST(BitmapSuper, ValidateNamesTheField) {
  BitmapSuper sb = GoldenSuper();
  sb.daemon_sleep = 0;
  EXPECT_THAT(ValidateBitmapSuper(sb).message(), HasSubstr("daemon_sleep"));
  EXPECT_TRUE(ValidateBitmapSuper(GoldenSuper()).ok());
}

// The decoder is fuzzed; this is the deterministic smoke version: random bytes and
// random single-field corruptions of a valid superblock never crash it, and whatever
// it accepts re-encodes to the same 256 bytes except padding.
TEST(BitmapSuper, DecoderSurvivesArbitraryBytes) {
  std::mt19937_64 rng(20261123);
  int accepted = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::vector<std::byte> bytes = GoldenBytes();
    if (iteration % 4 == 0) {
      bytes.resize(rng() % 300);
      for (auto& b : bytes) b = static_cast<std::byte>(rng());
    } else {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % 136] = static_cast<std::byte>(rng());
    }
    absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(bytes);
    if (!sb.ok()) continue;
    ++accepted;
    const auto again = EncodeBitmapSuper(*sb);
    EXPECT_TRUE(std::equal(again.begin(), again.begin() + 136, bytes.begin()));
    EXPECT_TRUE(BitmapGeometry::For(*sb).ok());
  }
  EXPECT_GT(accepted, 0);
}

TEST(BitmapGeometry, CountsChunksRoundingUp) {
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(2048, 65536);  // 1 MiB
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->chunks, 16u);
  EXPECT_EQ(g->bytes, 256u + 2);
  EXPECT_EQ(g->pages, 1u);
  EXPECT_EQ(g->chunk_shift, 7u);

  g = BitmapGeometry::For(2048 * 1000 + 3, 4096);  // 256000 chunks and 3 sectors
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->chunks, 256001u);
  EXPECT_EQ(g->bytes, 256u + 32001);
  EXPECT_EQ(g->pages, 8u);
  EXPECT_EQ(g->SectorsInChunk(256000), 3u);
  EXPECT_EQ(g->SectorsInChunk(0), 8u);

  g = BitmapGeometry::For(1, 512);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->chunks, 1u);
  EXPECT_EQ(g->bytes, 257u);
}

TEST(BitmapGeometry, RejectsBadParameters) {
  EXPECT_FALSE(BitmapGeometry::For(2048, 3 * 512).ok());
  EXPECT_FALSE(BitmapGeometry::For(2048, 256).ok());
  EXPECT_FALSE(BitmapGeometry::For(0, 4096).ok());
  EXPECT_FALSE(BitmapGeometry::For(~uint64_t{0}, 512).ok());
  EXPECT_TRUE(BitmapGeometry::For(kBitmapMaxChunks, 512).ok());
  EXPECT_FALSE(BitmapGeometry::For(kBitmapMaxChunks + 1, 512).ok());
}

TEST(BitmapGeometry, StoresChunkBitsLsbFirstAfterTheSuperblock) {
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(2048, 65536);
  ASSERT_TRUE(g.ok());
  std::vector<std::byte> image(g->bytes);
  SetChunkBit(*g, image, 0, true);
  SetChunkBit(*g, image, 9, true);
  SetChunkBit(*g, image, 15, true);
  EXPECT_EQ(image[256], std::byte{0x01});
  EXPECT_EQ(image[257], std::byte{0x82});
  EXPECT_TRUE(TestChunkBit(*g, image, 9));
  EXPECT_FALSE(TestChunkBit(*g, image, 8));
  EXPECT_EQ(CountDirtyChunks(*g, image), 3u);
  SetChunkBit(*g, image, 9, false);
  EXPECT_EQ(image[257], std::byte{0x80});
  EXPECT_EQ(CountDirtyChunks(*g, image), 2u);
}

TEST(BitmapGeometry, IgnoresBitsPastTheLastChunk) {
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(11 * 128, 65536);  // 11 chunks
  ASSERT_TRUE(g.ok());
  std::vector<std::byte> image(g->bytes, std::byte{0xff});
  EXPECT_EQ(CountDirtyChunks(*g, image), 11u);
}

TEST(BitmapGeometry, MapsChunksToFourKibPagesCountingTheSuperblock) {
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(uint64_t{1} << 20, 512);
  ASSERT_TRUE(g.ok());
  // Page 0 holds the superblock and (4096 - 256) * 8 = 30720 bits.
  EXPECT_EQ(g->PageOfChunk(0), 0u);
  EXPECT_EQ(g->PageOfChunk(30719), 0u);
  EXPECT_EQ(g->PageOfChunk(30720), 1u);
  EXPECT_EQ(g->PageOfChunk(30720 + 32768), 2u);
  EXPECT_EQ(g->ByteOfChunk(30720), 4096u);
}

TEST(BitmapGeometry, WritesWholePagesAndRoundsTheLastToTheLogicalBlock) {
  // 256001 chunks: 32257 bytes, 8 pages; the last holds 32257 - 7 * 4096 = 3585 bytes.
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(2048 * 1000 + 3, 4096);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->BytesInPage(7), 3585u);
  absl::StatusOr<ByteRange> r = g->PageWriteRange(0, 512, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (ByteRange{0, 4096}));
  r = g->PageWriteRange(7, 512, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (ByteRange{7 * 4096, 3584 + 512}));

  // A one-page bitmap of 258 bytes: one sector, or a whole 4 KiB block.
  g = BitmapGeometry::For(2048, 65536);
  ASSERT_TRUE(g.ok());
  r = g->PageWriteRange(0, 512, 512);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (ByteRange{0, 512}));
  r = g->PageWriteRange(0, 4096, 4096);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (ByteRange{0, 4096}));
}

TEST(BitmapGeometry, NeverWritesPastTheBitmapArea) {                    // I14
  absl::StatusOr<BitmapGeometry> g = BitmapGeometry::For(2048, 65536);  // 258 bytes
  ASSERT_TRUE(g.ok());
  absl::StatusOr<ByteRange> r = g->PageWriteRange(0, 4096, 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r.status().message(), HasSubstr("bitmap area"));
  EXPECT_FALSE(g->PageWriteRange(1, 512, 0).ok());   // no such page
  EXPECT_FALSE(g->PageWriteRange(0, 1000, 0).ok());  // not a power of two
  EXPECT_FALSE(g->PageWriteRange(0, 8192, 0).ok());  // larger than a page
}

}  // namespace
}  // namespace powercut::raid1
