/*
 * wcops: runs a list of block operations on a block device, one after another, for the
 * differential parity check wc-diff (ci/kernel/wcdiff.py writes the list from a powercut
 * replay file). Built on the host with gcc -static and put in the guest's initramfs.
 *
 *   wcops DEVICE OPS_FILE [DM_NAME]
 *
 * OPS_FILE, one operation a line (sectors of 512 bytes):
 *   W ID SECTOR COUNT [fua]   write COUNT sectors stamped as powercut's write ID
 *                             (harness/sector_stamp.h: the same bytes powercut's engine
 *                             writes); with fua, followed by fdatasync (a flush: the
 *                             guest's virtio disk has no FUA)
 *   F                         flush: fsync of the device
 *   R SECTOR COUNT            read (O_DIRECT), the data is not judged
 *   D SECTOR COUNT            discard (BLKDISCARD)
 *   C WORD                    an operator's command on the dm device DM_NAME (default
 *                             wc): `dmsetup message DM_NAME 0 WORD` (flush,
 *                             flush_on_suspend, cleaner, clear_stats), or for suspend
 *                             `dmsetup suspend` then `dmsetup resume`
 * Every IO is O_DIRECT. Prints "WCOPS ran N operations" and exits 0; on a failed
 * operation prints it with errno and exits 1; a bad line or file exits 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAGIC 0x32504d4154534350ull /* "PCSTAMP2" */
#define STRIDE 0x9e3779b97f4a7c15ull

static uint64_t check_word(uint64_t id, uint64_t target) {
  uint64_t h = (id ^ MAGIC) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 31)) + target;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

static void stamp(uint64_t *buf, uint64_t id, uint64_t first, uint64_t count) {
  for (uint64_t s = 0; s < count; s++) {
    uint64_t *w = buf + s * 64, target = first + s, check = check_word(id, target);
    w[0] = MAGIC;
    w[1] = id;
    w[2] = target;
    w[3] = check;
    for (int j = 4; j < 64; j++) w[j] = check + (uint64_t)j * STRIDE;
  }
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: wcops DEVICE OPS_FILE [DM_NAME]\n");
    return 2;
  }
  int fd = open(argv[1], O_RDWR | O_DIRECT);
  if (fd < 0) {
    fprintf(stderr, "wcops: open %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  FILE *ops = fopen(argv[2], "r");
  if (!ops) {
    fprintf(stderr, "wcops: open %s: %s\n", argv[2], strerror(errno));
    return 2;
  }
  char line[256];
  long n = 0, lineno = 0;
  while (fgets(line, sizeof line, ops)) {
    lineno++;
    char kind, fua[8] = "", word[32] = "", cmd[128];
    const char *dm = argc == 4 ? argv[3] : "wc";
    unsigned long long id = 0, sector = 0, count = 0;
    int f;
    if (line[0] == '\n' || line[0] == '#') continue;
    if (line[0] == 'W') {
      f = sscanf(line, "%c %llu %llu %llu %7s", &kind, &id, &sector, &count, fua);
      if (f < 4 || count == 0 || id == 0) goto bad;
    } else if (line[0] == 'R' || line[0] == 'D') {
      f = sscanf(line, "%c %llu %llu", &kind, &sector, &count);
      if (f != 3 || count == 0) goto bad;
    } else if (line[0] == 'F') {
      kind = 'F';
    } else if (line[0] == 'C') {
      if (sscanf(line, "%c %31[a-z_]", &kind, word) != 2) goto bad;
    } else {
      goto bad;
    }
    void *buf = NULL;
    int r = 0;
    if ((kind == 'W' || kind == 'R') && posix_memalign(&buf, 4096, count * 512)) {
      fprintf(stderr, "wcops: out of memory\n");
      return 2;
    }
    switch (kind) {
      case 'W':
        stamp(buf, id, sector, count);
        r = pwrite(fd, buf, count * 512, (off_t)sector * 512) == (ssize_t)(count * 512) ? 0 : -1;
        if (r == 0 && strcmp(fua, "fua") == 0) r = fdatasync(fd);
        break;
      case 'R':
        r = pread(fd, buf, count * 512, (off_t)sector * 512) == (ssize_t)(count * 512) ? 0 : -1;
        break;
      case 'D': {
        uint64_t range[2] = {sector * 512, count * 512};
        r = ioctl(fd, BLKDISCARD, range);
        break;
      }
      case 'F':
        r = fsync(fd);
        break;
      case 'C':
        if (strcmp(word, "suspend") == 0)
          snprintf(cmd, sizeof cmd, "dmsetup suspend %s && dmsetup resume %s", dm, dm);
        else
          snprintf(cmd, sizeof cmd, "dmsetup message %s 0 %s", dm, word);
        r = system(cmd) == 0 ? 0 : -1;
        errno = r ? EIO : 0;
        break;
    }
    free(buf);
    if (r != 0) {
      fprintf(stderr, "wcops: line %ld (%.*s): %s\n", lineno, (int)strcspn(line, "\n"), line,
              strerror(errno));
      return 1;
    }
    n++;
  }
  printf("WCOPS ran %ld operations\n", n);
  return 0;
bad:
  fprintf(stderr, "wcops: %s line %ld: not an operation: %s", argv[2], lineno, line);
  return 2;
}
