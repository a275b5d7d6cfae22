#!/usr/bin/env python3
"""Prints the on-disk superblock seq_count and every entry of a dm-writecache SSD cache
image that is not free, with whether it is committed (entry seq_count < superblock
seq_count: the superblock holds the sequence number of the next commit's writes) and the first bytes of its cache block; also free entries whose cache block
holds tagged data (a "b" tag: data written there without a durable entry).

    wcentries.py CACHE.img [BLOCK_SIZE]      (start_sector 0; BLOCK_SIZE default 4096)

On-disk layout (dm-writecache SSD mode, start_sector 0): a 64-byte superblock (magic,
version, block_size, pad: le32; n_blocks, seq_count: le64) followed by n_blocks entries
of 16 bytes (original_sector, seq_count: le64; seq_count all ones when free, and
original_sector too when never used); the data blocks
start at the first block_size boundary after the metadata."""
import struct
import sys

img = open(sys.argv[1], "rb").read()
bs = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
magic, version, bsize, _pad, n, sb_seq = struct.unpack_from("<IIIIQQ", img, 0)
meta = 64 + 16 * n
data_off = (meta + bs - 1) // bs * bs
print(f"superblock: magic {magic:#x} version {version} block_size {bsize} n_blocks {n} seq_count {sb_seq}")
ones = (1 << 64) - 1
shown = 0
for i in range(n):
    sector, seq = struct.unpack_from("<QQ", img, 64 + 16 * i)
    if seq == ones:
        head = img[data_off + i * bs: data_off + i * bs + 15]
        if head[:1] == b"b":
            print(f"entry {i:4d}: free; cache block holds {head.decode(errors='replace')!r}")
        continue
    if sector == 0 and seq == 0 and img[data_off + i * bs: data_off + i * bs + 1] == b"\0":
        continue  # never written
    state = "committed" if seq < sb_seq else "uncommitted"
    head = img[data_off + i * bs: data_off + i * bs + 15]
    tag = head.decode(errors="replace") if head[:1] == b"b" else head.hex()
    print(f"entry {i:4d}: origin block {sector * 512 // bs:6d} (sector {sector}) seq {seq} {state}; cache block holds {tag!r}")
    shown += 1
print(f"{shown} entries not free")
