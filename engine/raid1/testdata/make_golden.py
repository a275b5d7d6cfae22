#!/usr/bin/env python3
"""Golden bytes for engine/raid1's format tests, derived independently of the C++ code.

Packs bitmap_super_t (drivers/md/md-bitmap.h) and struct mdp_superblock_1
(include/uapi/linux/raid/md_p.h) field by field with Python's struct module, and
computes sb_csum as md's calc_sb_1_csum does (sum of little-endian 32-bit words over
256 + 2 * max_dev bytes with sb_csum taken as zero, a trailing 16-bit word if max_dev is
odd, folded once to 32 bits). The hex printed here is pasted into
bitmap_format_test.cc (kGoldenSuperHex) and md_superblock_test.cc (kGoldenHex).
Debian's mdadm 4.2 `--examine` on a member image holding the md superblock reports
"Checksum : 8b07ba2 - correct".
"""
import struct

uuid = bytes.fromhex("00112233445566778899aabbccddeeff")

# bitmap_super_t: magic, version, uuid, events, events_cleared, sync_size, state,
# chunksize, daemon_sleep, write_behind, sectors_reserved, nodes, cluster_name, pad.
bitmap = struct.pack("<II16sQQQIIIIII64s", 0x6D746962, 4, uuid, 0x0102030405060708,
                     0x1112131415161718, 2097152, 2, 65536, 5, 256, 136, 0, b"\0" * 64)
bitmap += b"\0" * (256 - len(bitmap))
assert len(bitmap) == 256
print("bitmap_super_t:", bitmap.hex())

# mdp_superblock_1, constant array information (128 bytes).
name = b"powercut:md0".ljust(32, b"\0")
array_info = struct.pack("<IIII16s32sQiIQIIiIQIIII", 0xA92B4EFC, 1, 1, 0, uuid, name,
                         1700000000, 1, 0, 2097152, 0, 2, 8, 0, 0, 0, 0, 0, 0)
assert len(array_info) == 128
# Constant this-device information (64 bytes).
device_info = struct.pack("<QQQQII16sBBHI", 2048, 2099200, 8, 0, 1, 0, bytes(range(16)),
                          1, 0, 8, 24)
assert len(device_info) == 64
# Array state information (64 bytes); sb_csum filled in below.
state_info = struct.pack("<QQQII32s", 1700000123, 42, 0xFFFFFFFFFFFFFFFF, 0, 3, b"\0" * 32)
assert len(state_info) == 64
roles = struct.pack("<3H", 0, 1, 0xFFFE)
sb = bytearray(array_info + device_info + state_info + roles)

size, at, total = 256 + 2 * 3, 0, 0
while size >= 4:
    total += struct.unpack_from("<I", sb, at)[0]
    at, size = at + 4, size - 4
if size == 2:
    total += struct.unpack_from("<H", sb, at)[0]
csum = ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF
struct.pack_into("<I", sb, 216, csum)
sb += b"\0" * (512 - len(sb))
print("sb_csum:", hex(csum))
print("mdp_superblock_1:", bytes(sb).hex())
