#!/usr/bin/env python3
"""Differential parity of dm-writecache (parity check wc-diff): one powercut replay
file's operations run by the kernel (in qemu, guest/wcops.c) and by powercut's engine
(`powercut parity FILE`, on real files), one after another in file order, then settled
(every block written back by the "flush" message, a suspend); then each side's images
are read by both recoveries.

    wcdiff.py prepare REPLAY DIR   writes DIR/table-args (the dm table's block size and
                                   optional arguments from the file's parameters), DIR/ops.txt
                                   (the operations for wcops; a write's id is its op's
                                   number in the file, as powercut stamps it)
    wcdiff.py compare DIR          judges, from the files parity.sh leaves in DIR:
      - the kernel's logical device after its run (kernel-device.img) against the
        engine's (engine/real/logical.img), sector by sector;
      - `powercut recover --dump` of the kernel's images (powercut-kernel-dump.img)
        against the kernel's own read-back of them (kernel-device.img);
      - the kernel's read-back of the engine's images (kernel-engine-readback.img)
        against `powercut recover --dump` of them (powercut-engine-dump.img);
      - dmsetup status right after loading each side's images (kernel-status-kernel,
        kernel-status-engine) against `powercut inspect` (powercut-status-*).
    Sectors whose last operation was a discard may hold zeros or older data on either
    side (a discard allows both) and are left out of the first comparison.

Exit codes: 0 all agree, 1 a difference (printed; the images stay in DIR), 2 bad input:
a replay this check cannot run (not writecache in SSD mode, faults, a control
operation other than flush, flush_on_suspend, cleaner, clear_stats and suspend, a
prefilled cache, a device over 64 MiB) is refused with the reason. A file with several power
cuts is run up to its first `cut:` line, as `powercut parity --family F --seed N` runs it.
"""
import os
import re
import struct
import sys

MAGIC = 0x32504D4154534350  # powercut's sector stamp, harness/sector_stamp.h


def die(msg, code=2):
    print(f"wcdiff.py: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_replay(path):
    params, ops, lines = {}, [], open(path).read().splitlines()
    for ln in lines:
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        key, _, val = ln.partition(":")
        val = val.strip()
        if key == "engine" and val != "writecache":
            die(f"{path}: engine {val}: wc-diff runs writecache scenarios only")
        elif key == "param":
            k, _, v = val.partition("=")
            params[k] = v
        elif key in ("faults", "mutant") and val:
            die(f"{path}: {key}: {val}: the kernel run has no faults or mutants")
        elif key == "cut":
            break  # the first workload only, as `powercut parity --family F --seed N` runs
        elif key == "op":
            ops.append(val)
    if not ops:
        die(f"{path}: no operations")
    return params, ops


def prepare(replay, d):
    params, ops = parse_replay(replay)
    num = lambda k, dflt=0: int(params.get(k, dflt))
    if num("mode") != 0:
        die(f"{replay}: pmem mode: wc-diff runs SSD mode (the pmem path is check wc-pmem)")
    if num("logical_sectors") > 131072:
        die(f"{replay}: logical_sectors={params['logical_sectors']}: wc-diff reads the whole "
            f"device in the guest and compares it whole; it takes devices up to 64 MiB")
    for k in ("prefill_blocks", "fault_device", "metadata_only"):
        if num(k):
            die(f"{replay}: {k}={params[k]}: not run by wc-diff")
    args = []
    if num("start_sector"):
        args += ["start_sector", str(num("start_sector"))]
    for k, name in (("high_watermark", "high_watermark"), ("low_watermark", "low_watermark")):
        if k in params:
            args += [name, str(num(k))]
    if num("writeback_jobs"):
        args += ["writeback_jobs", str(num("writeback_jobs"))]
    if "autocommit_blocks" in params:
        args += ["autocommit_blocks", str(num("autocommit_blocks"))]
    if "autocommit_time_ms" in params:
        args += ["autocommit_time", str(num("autocommit_time_ms"))]
    if num("max_age_ms"):
        args += ["max_age", str(num("max_age_ms"))]
    if num("cleaner"):
        args += ["cleaner"]
    if "pause_writeback_ms" in params:
        args += ["pause_writeback", str(num("pause_writeback_ms"))]
    out = []
    for n, op in enumerate(ops, 1):
        m = re.fullmatch(r"c\d+ (write|read|discard) (\d+)\+(\d+)( fua)?", op)
        if m:
            kind, sec, cnt, fua = m.groups()
            if kind == "write":
                out.append(f"W {n} {sec} {cnt}{' fua' if fua else ''}")
            else:
                out.append(f"{kind[0].upper()} {sec} {cnt}")
        elif re.fullmatch(r"c\d+ flush", op):
            out.append("F")
        elif re.fullmatch(r"c\d+ control (flush|flush_on_suspend|cleaner|clear_stats|suspend)", op):
            out.append("C " + op.split()[-1])
        else:
            die(f"{replay}: op {n} ({op}): a control operation, not run by wc-diff")
    with open(os.path.join(d, "table-args"), "w") as f:
        f.write(f"{num('block_size', 4096)} {len(args)} {' '.join(args)}".strip() + "\n")
    with open(os.path.join(d, "ops.txt"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(d, "discarded-last"), "w") as f:
        f.write(" ".join(map(str, sorted(discarded_last(ops)))) + "\n")
    print(f"wcdiff: {replay}: {len(ops)} operations; table arguments: {len(args)} {' '.join(args)}")


def discarded_last(ops):
    """Sectors whose last operation was a discard."""
    last = {}
    for op in ops:
        m = re.fullmatch(r"c\d+ (write|discard) (\d+)\+(\d+)( fua)?", op)
        if m:
            for s in range(int(m.group(2)), int(m.group(2)) + int(m.group(3))):
                last[s] = m.group(1)
    return {s for s, k in last.items() if k == "discard"}


def describe(sec_bytes):
    w = struct.unpack_from("<QQQ", sec_bytes)
    if w[0] == MAGIC:
        return f"write #{w[1]} (for sector {w[2]})"
    return "zeros" if not any(sec_bytes) else "other data"


def cmp_images(what, a_path, a_name, b_path, b_name, skip=frozenset()):
    try:
        a, b = open(a_path, "rb").read(), open(b_path, "rb").read()
    except OSError as e:
        print(f"  DIFFER  {what}: {e}")
        return 1
    n = max(len(a), len(b)) // 512
    a, b = a.ljust(n * 512, b"\0"), b.ljust(n * 512, b"\0")
    diff = [s for s in range(n) if s not in skip and a[s * 512:(s + 1) * 512] != b[s * 512:(s + 1) * 512]]
    data = sum(1 for s in range(n) if any(a[s * 512:(s + 1) * 512]))
    if not diff:
        print(f"  AGREE   {what}: {n} sectors ({data} with data"
              f"{f', {len(skip)} last discarded left out' if skip else ''})")
        return 0
    print(f"  DIFFER  {what}: {len(diff)} of {n} sectors")
    for s in diff[:8]:
        print(f"            sector {s}: {a_name} {describe(a[s * 512:(s + 1) * 512])}, "
              f"{b_name} {describe(b[s * 512:(s + 1) * 512])}")
    return 1


def compare(d):
    p = lambda f: os.path.join(d, f)
    skip = frozenset(int(x) for x in open(p("discarded-last")).read().split())
    bad = 0
    bad += cmp_images("logical device after the run: kernel = powercut's engine",
                      p("kernel-device.img"), "kernel", p("engine/real/logical.img"), "engine", skip)
    bad += cmp_images("the kernel's images: powercut recover --dump = the kernel's read-back",
                      p("powercut-kernel-dump.img"), "powercut", p("kernel-device.img"), "kernel")
    bad += cmp_images("the engine's images: the kernel's read-back = powercut recover --dump",
                      p("kernel-engine-readback.img"), "kernel", p("powercut-engine-dump.img"), "powercut")
    for side in ("kernel", "engine"):
        k = open(p(f"kernel-status-{side}")).read().split()[3:]
        q = open(p(f"powercut-status-{side}")).read().split()
        if k == q:
            print(f"  AGREE   the {side}'s images: powercut inspect Status = dmsetup status after loading: {' '.join(k)}")
        else:
            print(f"  DIFFER  the {side}'s images: powercut inspect Status \"{' '.join(q)}\", "
                  f"dmsetup status after loading \"{' '.join(k)}\"")
            bad += 1
    print("wcdiff: PARITY OK" if not bad else f"wcdiff: {bad} DIFFERENCES (images in {d})")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "prepare":
        if not os.path.isfile(argv[2]) or not os.path.isdir(argv[3]):
            die("prepare REPLAY DIR: no such file or folder")
        prepare(argv[2], argv[3])
        return 0
    if len(argv) == 3 and argv[1] == "compare":
        return compare(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
