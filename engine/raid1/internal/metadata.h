// How Raid1Array writes its metadata, and the md superblock it formats: shared by the
// formatting (geometry.cc), assembly (assembly.cc) and superblock/bitmap writes
// (superblocks.cc, daemon.cc). Declared here once; NewMdSuperblock is defined in
// geometry.cc.
#ifndef POWERCUT_ENGINE_RAID1_INTERNAL_METADATA_H_
#define POWERCUT_ENGINE_RAID1_INTERNAL_METADATA_H_

#include <cstdint>

#include "engine/io/block_device.h"
#include "engine/raid1/md_superblock.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1::internal {

// Every metadata write to a member (bitmap pages, md superblocks, formatting):
// PREFLUSH|FUA, so it is durable on completion and the member's earlier writes before it.
inline constexpr uint32_t kMetadataWrite = io::kPreflush | io::kFua;

// The md superblock Create() writes on member `index` of `mirrors` (events 0, clean,
// every mirror in its role); Assemble() uses it as well for a member it cannot read.
MdSuperblock NewMdSuperblock(const Raid1Geometry& geometry, const Raid1Options& options,
                             uint32_t mirrors, uint32_t index);

}  // namespace powercut::raid1::internal

#endif  // POWERCUT_ENGINE_RAID1_INTERNAL_METADATA_H_
