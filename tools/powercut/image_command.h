// `powercut format` and `powercut recover`: the engines over image files or block
// devices (engine/posix), for images made by the Linux kernel as well as by powercut.
//
//   powercut format writecache s origin.img cache.img 4096 0 --origin-size 1G --cache-size 64M
//   powercut recover writecache s origin.img cache.img 4096 0 --dump logical.img --json
//   powercut format raid1 m0.img m1.img --size 1G [--bitmap internal|FILE] [--bitmap-chunk 64K]
//   powercut recover raid1 m0.img m1.img [--bitmap FILE] --resync --out copies/
//
// The words after `writecache` are the kernel's table (what follows `0 LEN writecache`
// in a dmsetup table), the device names being paths. recover runs the engine's own
// recovery; it writes nothing to the images it is given unless --in-place (copies with
// --out DIR; otherwise the recovery's writes stay in memory). Nothing is ever written
// to a path that carries a signature libblkid knows (a file system, a partition table,
// LVM, md, ...) other than the engine's own, unless --force.
//
// Exit codes: 0 done, 2 a usage or input error (the reason on stderr), 1 the engine
// failed on images it accepted (recovery refused them, or an IO error).
#ifndef POWERCUT_TOOLS_POWERCUT_IMAGE_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_IMAGE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace powercut::tools {

struct ImageCommandOptions {
  std::string engine;              // "writecache" or "raid1"
  std::vector<std::string> words;  // writecache: the table; raid1: member paths
  bool force = false;              // write over foreign signatures
  bool buffered = false;           // where O_DIRECT is refused, use the page cache
  // format
  std::string origin_size;         // writecache: create the origin file this big if missing
  std::string cache_size;          // writecache: the same for the cache
  std::string member_size;         // raid1: the same for each member
  std::string bitmap = "internal";  // raid1: "internal", or the external bitmap file's path
  std::string bitmap_chunk = "64K";  // raid1 format
  // recover
  std::string dump;                // write the logical device here
  bool json = false;
  bool finish = false;             // --writeback (cache) / --resync (raid1)
  bool in_place = false;           // write to the given images
  std::string out_dir;             // work on copies of the images made here
};

int RunFormatCommand(const ImageCommandOptions& options, std::ostream& out, std::ostream& err);
int RunRecoverCommand(const ImageCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_IMAGE_COMMAND_H_
