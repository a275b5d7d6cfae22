/* fuaw: writes one 4 KiB block (read from a file) to a block device with O_DIRECT,
 * in one of three ways, so a guest scenario can choose which flags reach the device:
 *
 *   fuaw aio-dsync DEV BLOCK FILE   Linux AIO (io_submit) with RWF_DSYNC: an
 *                                   asynchronous O_DIRECT write with IOCB_DSYNC
 *   fuaw sync-dsync DEV BLOCK FILE  pwritev2(RWF_DSYNC): a synchronous one
 *   fuaw plain DEV BLOCK FILE       pwrite: no sync flag
 *
 * Built static on the host (experiment.sh) and copied into the guest initramfs.
 * Only raw system calls: no libaio needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: fuaw aio-dsync|sync-dsync|plain DEV BLOCK FILE\n");
    return 2;
  }
  const char *mode = argv[1];
  long long block = atoll(argv[3]);
  void *buf;
  if (posix_memalign(&buf, 4096, 4096)) die("posix_memalign");
  int in = open(argv[4], O_RDONLY);
  if (in < 0) die(argv[4]);
  if (read(in, buf, 4096) != 4096) die("read of the block file");
  close(in);
  int fd = open(argv[2], O_WRONLY | O_DIRECT);
  if (fd < 0) die(argv[2]);
  off_t off = (off_t)block * 4096;
  if (strcmp(mode, "plain") == 0) {
    if (pwrite(fd, buf, 4096, off) != 4096) die("pwrite");
  } else if (strcmp(mode, "sync-dsync") == 0) {
    struct iovec iov = {buf, 4096};
    if (syscall(SYS_pwritev2, fd, &iov, 1, (long)off, (long)(off >> 32), RWF_DSYNC) != 4096)
      die("pwritev2");
  } else if (strcmp(mode, "aio-dsync") == 0) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, 1, &ctx) < 0) die("io_setup");
    struct iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_fildes = fd;
    cb.aio_buf = (uint64_t)(uintptr_t)buf;
    cb.aio_nbytes = 4096;
    cb.aio_offset = off;
    cb.aio_rw_flags = RWF_DSYNC;
    struct iocb *list[1] = {&cb};
    if (syscall(SYS_io_submit, ctx, 1, list) != 1) die("io_submit");
    struct io_event ev;
    if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1) die("io_getevents");
    if ((long long)ev.res != 4096) {
      fprintf(stderr, "aio write result %lld\n", (long long)ev.res);
      return 1;
    }
    syscall(SYS_io_destroy, ctx);
  } else {
    fprintf(stderr, "fuaw: unknown mode %s\n", mode);
    return 2;
  }
  printf("fuaw: %s wrote block %lld of %s\n", mode, block, argv[2]);
  return 0;
}
