#!/usr/bin/env python3
"""Crash parity of dm-writecache from the kernel's own IO log (parity check wc-log).

The guest (guest/wc-log-write.sh) runs dm-writecache in SSD mode with its origin and its
cache on two dm-linear parts of one virtio disk; qemu's blklogwrites driver logs every
write and flush that reaches that disk, in the order qemu completed them. This script
writes the guest's workload, builds crash images from the log under the volatile-cache
model, recovers every one with powercut, judges an oracle on each, and compares a
sample with the kernel's own recovery of the same images.

    wclog.py plan --seed S                 print the guest's workload (shell, appended
                                           to guest/wc-log-write.sh)
    wclog.py delay --seed S --max SEC      a delay in [0, SEC) drawn from the seed (when
                                           to kill qemu, for parity check wc-log-rand)
    wclog.py images DIR [--seed S] [--subsets N] [--kernel N]
                                           list the crash images of DIR/log.img in
                                           DIR/images.txt and write the kernel's sample
                                           as whole-disk files DIR/kimg-I.img
    wclog.py readback DIR                  the kernel's read-back (DIR/kernel-readback.img,
                                           8 MiB a sampled image) as DIR/kernel-readback.blocks
    wclog.py check DIR --powercut BIN      rebuild every image listed in DIR/images.txt,
                                           `powercut recover --dump` each, judge the
                                           oracle on each, compare the sample with the
                                           kernel's read-back and dmsetup status
    wclog.py check DIR --powercut BIN --lying-flush SEED
                                           the oracle's own test: the same images but
                                           with writes before the last flush dropped at
                                           random (a disk whose flushes lie); exit 0 when
                                           the oracle rejects some, 1 when it sees none

DIR holds guest-write.sh (the workload run), log.img (the blklogwrites log), seed, and
for check the kernel's side (kernel-readback.blocks, kernel-status). Images that fail
are kept in DIR/failed/ (origin and cache image files, for `powercut recover`).

Crash images (volatile-cache model of the disk): the disk starts zeroed; a flush entry
of the log completed, so every write logged before it is durable; a write logged after
the last flush in the image may have been lost. So the images are: the log up to each
flush entry; the whole log (the disk as the kill left it); and, drawn from the seed,
the log up to a flush entry plus a random subset of the writes up to the next flush.
One disk gives one order of writes and flushes across origin and cache; its price is
that a flush the cache sends to its own device also makes origin writes durable (fewer
states than two disks allow, none that they do not).

Oracle, on every image and on both recoveries: the guest wrote blocks tagged
"bBBBBB.eE.vV" in epochs, fsync'ed each and then wrote the epoch's marker block
(after the fsync returned); an image holding the marker of epoch E had that fsync
complete, so each block must read a version at least as new as its last write in
epochs <= E; and every block must read back its initial content (zeros, or the
origin's e0.v0 tag) or a version the guest wrote to it, nothing else.

Exit codes: 0 all agree and the oracle holds, 1 a difference or an oracle violation,
2 bad input or missing files.

Images cut before the kernel finished formatting the cache: with no superblock at all,
loading the table formats the cache anew, so the device is the origin (judged so; in
the kernel's sample, its status is compared with a copy `powercut format` made); with
a superblock whose magic is still zero, the kernel and powercut both refuse the cache
(counted, not judged).
"""
import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

# The disk layout of guest/wc-log-write.sh, in bytes.
SECTOR = 512
BS = 4096
ORIGIN_OFF, ORIGIN_LEN = 0, 16384 * SECTOR
CACHE_OFF, CACHE_LEN = 16384 * SECTOR, 1024 * SECTOR
MARKER_OFF = 17408 * SECTOR  # epoch E's marker: block MARKER_OFF / BS + E
DISK_LEN = 17536 * SECTOR
ORIGIN_BLOCKS = ORIGIN_LEN // BS
PREFILL_LAST = 127
EPOCHS = 8  # epochs 1..7 are fsync'ed, epoch 8 is not
# The write boot's optional table arguments: writeback without waiting for 3 s of idle
# IO (the default pause_writeback), so that it runs during the epochs.
WC_ARGS = "2 pause_writeback 0"
READ_ARGS = "6 autocommit_time 60000 high_watermark 100 low_watermark 99"
LOG_MAGIC = 0x6A736677736872
WC_MAGIC = 0x23489321  # dm-writecache's superblock magic
F_FLUSH, F_FUA, F_DISCARD, F_MARK = 1, 2, 4, 8


def die(msg, code=2):
    print(f"wclog.py: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------- the workload
def plan(seed):
    rng = random.Random(seed)
    version = {}
    out = [f"# wclog.py plan --seed {seed}: prefill, then {EPOCHS} epochs "
           f"(1-{EPOCHS - 1} fsync'ed, {EPOCHS} not)",
           f"WC_ARGS='{WC_ARGS}'",
           f"prefill {PREFILL_LAST}; fsync_done 0", "create", "mark start"]
    for e in range(1, EPOCHS + 1):
        n = rng.randint(16, 40)
        line = []
        for _ in range(n):
            if rng.random() < 0.7:
                b = rng.randint(0, 159)  # the prefilled blocks and a few past them
            else:
                b = rng.randint(160, ORIGIN_BLOCKS - 1)
            version[b] = version.get(b, 0) + 1
            line.append(f"w {b} {e} {version[b]}")
        out.append("; ".join(line))
        if e < EPOCHS:
            out.append(f"flush $W; fsync_done {e}")
    out += ['echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"', "mark cut", "sleep 120"]
    return "\n".join(out) + "\n"


def parse_plan(path):
    """Returns (writes: block -> [(epoch, version)] in order, prefill_last, table args)."""
    writes, prefill_last = {}, -1
    text = open(path).read()
    m = re.search(r"^WC_ARGS='([^']*)'$", text, re.M)
    if not m:
        die(f"{path}: no WC_ARGS line")
    args = m.group(1)
    for m in re.finditer(r"^prefill (\d+)", text, re.M):
        prefill_last = int(m.group(1))
    for m in re.finditer(r"\bw (\d+) (\d+) (\d+)", text):
        b, e, v = map(int, m.groups())
        writes.setdefault(b, []).append((e, v))
    if not writes:
        die(f"{path}: no workload (w BLOCK EPOCH VERSION lines)")
    return writes, prefill_last, args


# ---------------------------------------------------------------- the log
def read_log(path, trim=False):
    """Entries (kind, byte offset, data) in log order; kind 'w' or 'f'. With trim, the
    file is cut to the end of the entries read (qemu's log file is made large and sparse)."""
    try:
        data = open(path, "rb").read()
    except OSError as e:
        die(f"cannot read the log: {e}")
    if len(data) < 32:
        die(f"{path}: too short for a log superblock")
    magic, version, _nr, secsize = struct.unpack_from("<QQQI", data, 0)
    if magic != LOG_MAGIC or version != 1:
        die(f"{path}: not a blklogwrites/dm-log-writes log (magic {magic:#x}, version {version})")
    if secsize != SECTOR:
        die(f"{path}: log sector size {secsize}, expected {SECTOR}")
    entries, pos = [], secsize
    while pos + 32 <= len(data):
        sector, nsec, flags, dlen = struct.unpack_from("<QQQQ", data, pos)
        if sector == 0 and nsec == 0 and flags == 0 and dlen == 0:
            break  # the end (the log file starts zeroed)
        pos += secsize
        if flags & F_MARK:
            continue
        if flags & F_FUA:
            die(f"{path}: a FUA write in the log: the volatile-cache model here assumes none")
        if flags & F_DISCARD:
            entries.append(("w", sector * SECTOR, bytes(nsec * SECTOR)))  # read back as zeros
            continue
        if nsec:
            if pos + nsec * SECTOR > len(data):
                break  # a write whose data the kill cut off: not logged
            entries.append(("w", sector * SECTOR, data[pos:pos + nsec * SECTOR]))
            pos += nsec * SECTOR
        if flags & F_FLUSH:
            entries.append(("f", 0, b""))
    if trim and len(data) > pos + secsize:
        os.truncate(path, pos + secsize)  # the last entry and one zero block
    return entries


def image_list(entries, seed, subsets, nkernel):
    """Crash images: (id, prefix_end, kept) -- entries[:prefix_end] and the writes kept."""
    rng = random.Random(seed)
    flushes = [i for i, e in enumerate(entries) if e[0] == "f"]
    imgs = [(f"F{i}", i + 1, ()) for i in flushes]
    imgs.append(("A", len(entries), ()))
    # Segments: the writes after a flush (or the start) up to the next flush (or the end).
    starts = [0] + [i + 1 for i in flushes]
    segs = []
    for s in starts:
        nxt = next((f for f in flushes if f >= s), len(entries))
        ws = [i for i in range(s, nxt) if entries[i][0] == "w"]
        if len(ws) >= 2:
            segs.append((s, ws))
    for k in range(subsets if segs else 0):
        s, ws = rng.choice(segs)
        p = rng.random()
        kept = tuple(i for i in ws if rng.random() < p)
        if len(kept) == len(ws):
            kept = kept[:-1]
        if not kept:
            kept = (rng.choice(ws),)  # (none kept is the flush point itself)
        imgs.append((f"S{k}", s, kept))
    # The kernel's sample: half flush points (with the whole log), half subsets, from
    # those past the marker of epoch 1 (the cache holds data by then).
    m1 = next((i for i, e in enumerate(entries) if e[0] == "w" and e[1] == MARKER_OFF + BS),
              len(entries))
    pts = [i for i in imgs if not i[2] and i[1] > m1 and superblock_ok(entries, i)]
    sub = [i for i in imgs if i[2] and i[1] > m1 and superblock_ok(entries, i)]
    nsub = min(len(sub), nkernel // 2)
    if len(sub) < nkernel // 2 or len(pts) < nkernel - nsub:
        # Cut early in the workload: any image whose cache the kernel loads (a valid
        # superblock, or none at all: the kernel formats it anew and reads the origin).
        pts = [i for i in imgs if not i[2] and superblock_ok(entries, i)]
        sub = [i for i in imgs if i[2] and superblock_ok(entries, i)]
        nsub = min(len(sub), nkernel // 2)
    sample = rng.sample(sub, nsub) + rng.sample(pts, min(len(pts), nkernel - nsub))
    chosen = {i[0] for i in sample}
    return imgs, [i[0] for i in imgs if i[0] in chosen]  # in the list's order (kimg-N)


def superblock_ok(entries, img):
    """Whether the kernel loads the image's cache: its first sector (the superblock's
    magic and version) from the last write of it in the image is valid or all zero."""
    _, end, kept = img
    head = b"\0" * 8
    for i in list(range(end)) + list(kept):
        kind, off, data = entries[i]
        if kind == "w" and off <= CACHE_OFF < off + len(data):
            head = data[CACHE_OFF - off:CACHE_OFF - off + 8]
    magic, version = struct.unpack("<II", head)
    return magic == WC_MAGIC or (magic == 0 and version == 0)


def build(entries, prefix_end, kept, base=None, base_end=0):
    disk = bytearray(DISK_LEN) if base is None else bytearray(base)
    for i in range(base_end, prefix_end):
        apply(disk, entries[i])
    for i in kept:
        apply(disk, entries[i])
    return disk


def apply(disk, entry):
    kind, off, data = entry
    if kind == "w":
        if off + len(data) > DISK_LEN:
            die(f"a logged write at byte {off} ends past the disk ({DISK_LEN} bytes)")
        disk[off:off + len(data)] = data


def write_list(path, imgs, sample):
    with open(path, "w") as f:
        f.write("# ID PREFIX_END KEPT (log entries: the first PREFIX_END, then the writes KEPT)"
                " KERNEL (1: in the kernel's sample)\n")
        for iid, end, kept in imgs:
            f.write(f"{iid} {end} {','.join(map(str, kept)) or '-'} {int(iid in sample)}\n")


def read_list(path):
    imgs, sample = [], []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        iid, end, kept, k = line.split()
        imgs.append((iid, int(end), () if kept == "-" else tuple(map(int, kept.split(",")))))
        if k == "1":
            sample.append(iid)
    return imgs, sample


# ---------------------------------------------------------------- block contents
TAG = re.compile(rb"b(\d{5})\.e(\d)\.v(\d+) *\n")


def classify(block):
    """'zero', 'bB.eE.vV' for a whole block of one tag, else 'data:SHA1'."""
    if block.count(0) == len(block):
        return "zero"
    head = block[:16]
    m = TAG.fullmatch(head)
    if m and head * (len(block) // 16) == block:
        return head.decode().rstrip()
    return "data:" + hashlib.sha1(block).hexdigest()[:12]


def blocks_of(dev):
    return [classify(dev[i:i + BS]) for i in range(0, ORIGIN_LEN, BS)]


def runs(classes):
    """Runs of equal classes, zero blocks left out: ['FIRST-LAST CLASS', ...]."""
    out, i = [], 0
    while i < len(classes):
        j = i
        while j + 1 < len(classes) and classes[j + 1] == classes[i]:
            j += 1
        if classes[i] != "zero":
            out.append(f"{i}-{j} {classes[i]}")
        i = j + 1
    return out


def unruns(lines):
    classes = ["zero"] * ORIGIN_BLOCKS
    for ln in lines:
        rng_, cls = ln.split()
        a, b = map(int, rng_.split("-"))
        for i in range(a, b + 1):
            classes[i] = cls
    return classes


def oracle(classes, disk, writes, prefill_last):
    """Violations of the oracle for one recovered device; [] when it holds."""
    done = -1
    for e in range(EPOCHS, -1, -1):
        off = MARKER_OFF + e * BS
        if disk[off:off + 16].startswith(b"fsync-done.e%d" % e):
            done = e
            break
    bad = []
    for b, cls in enumerate(classes):
        initial = "b%05d.e0.v0" % b if b <= prefill_last else "zero"
        ws = writes.get(b, [])
        legal = {"zero": -1, initial: 0 if b <= prefill_last else -1}  # zero: the disk's start
        for e, v in ws:
            legal["b%05d.e%d.v%d" % (b, e, v)] = v
        if cls not in legal:
            bad.append(f"block {b}: reads {cls}, never written there "
                       f"(legal: {', '.join(sorted(legal))})")
            continue
        need = max([v for e, v in ws if e <= done] + [legal[initial] if done >= 0 else -1])
        if legal[cls] < need:
            bad.append(f"block {b}: reads {cls}, but the fsync of epoch {done} had returned "
                       f"after version {need} was written")
    return done, bad


# ---------------------------------------------------------------- commands
def cmd_images(d, seed, subsets, nkernel):
    entries = read_log(os.path.join(d, "log.img"), trim=True)
    imgs, sample = image_list(entries, seed, subsets, nkernel)
    write_list(os.path.join(d, "images.txt"), imgs, sample)
    byid = {i[0]: i for i in imgs}
    for n, iid in enumerate(sample):
        _, end, kept = byid[iid]
        with open(os.path.join(d, f"kimg-{n}.img"), "wb") as f:
            f.write(build(entries, end, kept))
    nf = sum(1 for e in entries if e[0] == "f")
    print(f"wclog: seed {seed}: {len(entries)} log entries ({nf} flushes), {len(imgs)} crash "
          f"images ({nf} flush points, the whole log, {len(imgs) - nf - 1} subsets); "
          f"kernel sample: {' '.join(sample)}")


def cmd_readback(d):
    _, sample = read_list(os.path.join(d, "images.txt"))
    # The status lines of the read boot (guest/wc-log-read.sh) name the disk's index.
    with open(os.path.join(d, "kernel-status"), "w") as f:
        for ln in open(os.path.join(d, "read.console"), errors="replace"):
            m = re.match(r"KERNEL-STATUS-AFTER-LOAD (\d+) (.*)", ln.strip())
            if m:
                f.write(f"{sample[int(m.group(1))]} {m.group(2)}\n")
    data = open(os.path.join(d, "kernel-readback.img"), "rb").read()
    with open(os.path.join(d, "kernel-readback.blocks"), "w") as f:
        for n, iid in enumerate(sample):
            dev = data[n * ORIGIN_LEN:(n + 1) * ORIGIN_LEN]
            if len(dev) != ORIGIN_LEN:
                die("kernel-readback.img is shorter than the sample")
            for r in runs(blocks_of(dev)):
                f.write(f"{iid} {r}\n")


def inspect_status(powercut, cache):
    r = subprocess.run([powercut, "inspect", cache, "--format", "writecache"],
                       capture_output=True, text=True)
    m = re.search(r"^ *Status : (.*)$", r.stdout, re.M)
    return m.group(1).strip() if m else f"(inspect failed: {r.stderr.strip()[:200]})"


def cmd_check(d, powercut, lying_seed=None):
    for f in ("log.img", "images.txt", "guest-write.sh"):
        if not os.path.isfile(os.path.join(d, f)):
            die(f"{d} has no {f}")
    if not os.access(powercut, os.X_OK):
        die(f"no powercut at {powercut}")
    try:
        seed = int(open(os.path.join(d, "seed")).read())
    except (OSError, ValueError) as e:
        die(f"{d}/seed: no seed: {e}")
    entries = read_log(os.path.join(d, "log.img"))
    imgs, sample = read_list(os.path.join(d, "images.txt"))
    again, again_sample = image_list(entries, seed, sum(1 for i in imgs if i[0][0] == "S"),
                                     len(sample))
    if again != imgs or again_sample != sample:
        die(f"images.txt is not what seed {seed} gives for this log")
    writes, prefill_last, wc_args = parse_plan(os.path.join(d, "guest-write.sh"))
    kblocks, kstatus = {}, {}
    if sample:
        try:
            for ln in open(os.path.join(d, "kernel-readback.blocks")):
                iid, r = ln.split(" ", 1)
                kblocks.setdefault(iid, []).append(r.strip())
            for ln in open(os.path.join(d, "kernel-status")):
                iid, st = ln.rstrip("\n").split(" ", 1)
                kstatus[iid] = st
        except OSError as e:
            die(f"the kernel's side is missing: {e}")
    print(f"wclog: seed {seed}: {len(entries)} log entries, {len(imgs)} crash images, "
          f"kernel sample {' '.join(sample)}")
    failed = os.path.join(d, "failed")
    shutil.rmtree(failed, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix="wclog.")
    t0 = time.time()
    nbad, compared, blocks_compared, done_hist = 0, 0, 0, {}
    unformatted = unfinished = 0
    base, base_end = None, 0
    lying = None if lying_seed is None else random.Random(lying_seed)
    if lying is not None:
        sample, failed = [], os.path.join(d, "lying-flush")
    try:
        origin, cache, dump = (os.path.join(tmp, n) for n in ("origin.img", "cache.img", "dump.img"))
        for iid, end, kept in sorted(imgs, key=lambda i: i[1]):
            # Images sorted by prefix: the shared prefix is built once.
            if base is None or end < base_end:
                base, base_end = bytearray(DISK_LEN), 0
            if not kept:
                base = build(entries, end, (), base, base_end)
                base_end = end
                disk = base
            else:
                base = build(entries, end, (), base, base_end)
                base_end = end
                disk = build(entries, end, kept, base, end)
            if lying is not None:
                # A disk whose flushes lie: writes before the image's last completed flush
                # (back to the fourth flush before it) dropped at random, as if never durable.
                fl = [i for i in range(end) if entries[i][0] == "f"]
                if len(fl) < 5:
                    continue
                g, f_ = fl[-5], fl[-1]
                drop = {i for i in range(g + 1, f_) if entries[i][0] == "w" and lying.random() < 0.5}
                disk = bytearray(DISK_LEN)
                for i in list(range(end)) + list(kept):
                    if i not in drop:
                        apply(disk, entries[i])
            with open(origin, "wb") as f:
                f.write(disk[ORIGIN_OFF:ORIGIN_OFF + ORIGIN_LEN])
            with open(cache, "wb") as f:
                f.write(disk[CACHE_OFF:CACHE_OFF + CACHE_LEN])
            problems, fresh = [], False
            r = subprocess.run([powercut, "recover", "writecache", "s", origin, cache, str(BS),
                                *wc_args.split(), "--dump", dump, "--json"],
                               capture_output=True, text=True)
            if r.returncode != 0 and "the cache was never formatted" in r.stderr:
                # Cut before the kernel's first superblock write: the kernel formats
                # such a cache anew when the table is loaded, and the device is the origin.
                unformatted += 1
                fresh = True
                classes = blocks_of(disk[ORIGIN_OFF:ORIGIN_OFF + ORIGIN_LEN])
                done, bad = oracle(classes, disk, writes, prefill_last)
                problems += [f"oracle (the origin of a never formatted cache): {b}" for b in bad[:10]]
            elif r.returncode != 0 and "formatting did not finish" in r.stderr:
                unfinished += 1  # the kernel refuses it too (magic zero): nothing to judge
                classes = None
            elif r.returncode != 0 or not os.path.isfile(dump):
                problems.append(f"powercut recover failed (exit {r.returncode}): {r.stderr.strip()[:300]}")
                classes = None
            else:
                dev = open(dump, "rb").read()
                dev = dev + bytes(ORIGIN_LEN - len(dev)) if len(dev) < ORIGIN_LEN else dev
                classes = blocks_of(dev)
                done, bad = oracle(classes, disk, writes, prefill_last)
                done_hist[done] = done_hist.get(done, 0) + 1
                problems += [f"oracle (powercut): {b}" for b in bad[:10]]
            if iid in sample and classes is not None:
                kcls = unruns(kblocks.get(iid, []))
                _, kbad = oracle(kcls, disk, writes, prefill_last)
                problems += [f"oracle (kernel): {b}" for b in kbad[:10]]
                diff = [b for b in range(ORIGIN_BLOCKS) if kcls[b] != classes[b]]
                blocks_compared += ORIGIN_BLOCKS
                compared += 1
                for b in diff[:10]:
                    problems.append(f"block {b}: kernel reads {kcls[b]}, powercut {classes[b]}")
                if len(diff) > 10:
                    problems.append(f"... {len(diff)} blocks differ")
                if fresh:
                    # The kernel formatted this cache when loading the table: compare with
                    # the cache `powercut format` makes on a copy of it.
                    shutil.copy(cache, cache + ".fresh")
                    f = subprocess.run([powercut, "format", "writecache", "s", origin, cache + ".fresh",
                                        str(BS), *wc_args.split()], capture_output=True, text=True)
                    pst = inspect_status(powercut, cache + ".fresh") if f.returncode == 0 else \
                        f"(powercut format failed: {f.stderr.strip()[:200]})"
                else:
                    pst = inspect_status(powercut, cache)
                kst = kstatus.get(iid, "(none)")
                kst = " ".join(kst.split()[3:])  # dmsetup status: start length target, then the status
                if pst != kst:
                    problems.append(f"status: powercut inspect \"{pst}\", kernel dmsetup status \"{kst}\"")
                print(f"  {'AGREE ' if not problems else 'DIFFER'}  {iid}: kernel read-back = powercut "
                      f"recover, block by block ({ORIGIN_BLOCKS} blocks), status \"{kst}\"")
            if problems:
                nbad += 1
                os.makedirs(failed, exist_ok=True)
                shutil.copy(origin, os.path.join(failed, f"{iid}-origin.img"))
                shutil.copy(cache, os.path.join(failed, f"{iid}-cache.img"))
                print(f"  FAIL    {iid} (the first {end} log entries, then {list(kept) or 'nothing'}): "
                      f"images kept in {failed}/{iid}-*.img")
                for p in problems:
                    print(f"            {p}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secs = time.time() - t0
    hist = ", ".join(f"{n} with epoch {e}" if e >= 0 else f"{n} with none"
                     for e, n in sorted(done_hist.items()))
    print(f"wclog: {len(imgs)} crash images recovered by powercut and judged in {secs:.1f}s "
          f"({len(imgs) / secs * 60:.0f} a minute); fsync known done: {hist}")
    print(f"wclog: cut before the cache was formatted: {unformatted} images with no superblock "
          f"(judged as the origin: the kernel formats anew), {unfinished} with a superblock but "
          f"magic zero (formatting unfinished: powercut and the kernel refuse them)")
    print(f"wclog: kernel sample: {compared} images, {blocks_compared} blocks compared")
    if lying is not None:
        print(f"wclog: --lying-flush: the oracle rejects {nbad} of {len(imgs)} images whose "
              f"flushes lied ({'it bites' if nbad else 'it caught NOTHING'})")
        return 0 if nbad else 1
    if nbad:
        print(f"wclog: {nbad} images FAILED")
        return 1
    print("wclog: PARITY OK (oracle holds on every image; the sample agrees with the kernel)")
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[2] if len(argv) < 2 else __doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[1], argv[2:]
    opts, pos = {}, []
    i = 0
    while i < len(rest):
        if rest[i].startswith("--"):
            if i + 1 >= len(rest):
                die(f"{rest[i]} needs a value")
            opts[rest[i][2:]] = rest[i + 1]
            i += 2
        else:
            pos.append(rest[i])
            i += 1

    def num(name, default):
        v = opts.pop(name, default)
        if not str(v).isdigit():
            die(f"--{name}: not a number: {v}")
        return int(v)

    if cmd == "plan":
        if "seed" not in opts:
            die("usage: wclog.py plan --seed S")
        seed = num("seed", None)
        if opts or pos:
            die("usage: wclog.py plan --seed S")
        sys.stdout.write(plan(seed))
        return 0
    if cmd == "delay":
        if "seed" not in opts or "max" not in opts:
            die("usage: wclog.py delay --seed S --max SEC")
        rng = random.Random(num("seed", None) * 7919 + 1)
        print(f"{rng.uniform(0, float(opts['max'])):.2f}")
        return 0
    if len(pos) != 1 or not os.path.isdir(pos[0]):
        die(f"{cmd}: give one existing folder (see wclog.py --help)")
    d = pos[0]
    if cmd == "images":
        seed = num("seed", open(os.path.join(d, "seed")).read().strip() if os.path.exists(
            os.path.join(d, "seed")) else "x")
        cmd_images(d, seed, num("subsets", 100), num("kernel", 8))
        return 0
    if cmd == "readback":
        cmd_readback(d)
        return 0
    if cmd == "check":
        if "powercut" not in opts:
            die("check needs --powercut BIN")
        lying = opts.get("lying-flush")
        if lying is not None and not lying.isdigit():
            die(f"--lying-flush: not a number: {lying}")
        return cmd_check(d, opts["powercut"], None if lying is None else int(lying))
    die(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
