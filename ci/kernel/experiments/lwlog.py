#!/usr/bin/env python3
"""Prints the entries of a dm-log-writes log device image, one a line, in log order.

    lwlog.py LOG.img [--wc]     (--wc: the logged device is a dm-writecache SSD cache
                                 device: name metadata / data writes, decode seq_count)

Log layout (Documentation/admin-guide/device-mapper/log-writes.rst): sector 0 holds the
log superblock (magic, version, nr_entries, sectorsize); from sector 1 on, each entry
is one sectorsize block (sector, nr_sectors, flags, data_len: little-endian u64; sector
and nr_sectors count sectorsize units) followed by the logged data. A zero block ends the log (the image starts zeroed). The entry count
in the superblock is updated only now and then, so the scan does not rely on it."""
import struct
import sys

MAGIC = 0x6A736677736872
FLAGS = [(1, "FLUSH"), (2, "FUA"), (4, "DISCARD"), (8, "MARK"), (16, "METADATA")]


def main():
    path = sys.argv[1]
    wc = "--wc" in sys.argv[2:]
    data = open(path, "rb").read()
    magic, version, nr, secsize = struct.unpack_from("<QQQI", data, 0)
    if magic != MAGIC:
        print(f"{path}: no log-writes superblock (magic {magic:#x})")
        return 1
    print(f"# log superblock: version {version}, nr_entries {nr}, sectorsize {secsize}")
    pos = secsize
    i = 0
    while pos + 32 <= len(data):
        sector, nsec, flags, dlen = struct.unpack_from("<QQQQ", data, pos)
        if sector == 0 and nsec == 0 and flags == 0 and dlen == 0:
            break
        names = "|".join(n for b, n in FLAGS if flags & b) or "-"
        line = f"{i:4d} flags={names:<10} sector={sector:<7d} sectors={nsec:<4d}"
        pos += secsize
        if flags & 8:  # a mark: its text follows the entry header in the same block
            text = data[pos - secsize + 32: pos - secsize + 32 + dlen].decode(errors="replace")
            line += f" mark={text!r}"
        elif nsec:
            payload = data[pos: pos + nsec * secsize]
            if wc and sector == 0:
                wmagic, wver, bsize, _pad, nblocks, seq = struct.unpack_from("<IIIIQQ", payload, 0)
                line += f" [writecache superblock: magic {wmagic:#x} seq_count {seq} n_blocks {nblocks}]"
            else:
                head = payload[:15]
                tag = head.decode(errors="replace") if head[:1] == b"b" else head.hex()
                line += f" first bytes {tag!r}"
            pos += nsec * secsize
        print(line)
        i += 1
    print(f"# {i} entries scanned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
