#!/usr/bin/env bash
# Proves the installed package from outside (issue: "test your own engine"): installs a
# build of powercut into a temporary prefix, moves the prefix (the package must be
# relocatable), configures and builds examples/cow_store as a separate CMake project
# from a copy outside the source tree against that prefix alone, runs its ctest (the
# correct engine passes, the broken variant is caught with a reproduction command, its
# corpus gives the verdicts it expects), then builds the .deb with CPack and checks its
# file list and dependencies.
#   scripts/check_install.sh BUILD_DIR
# Exit 0 when all of it holds. ctest runs it as the `install` test (label e2e) of
# non-sanitizer builds.
set -euo pipefail
build="$(cd "${1:?usage: check_install.sh BUILD_DIR}" && pwd)"
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/powercut-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== install into a temporary prefix, then move it"
cmake --install "$build" --prefix "$work/stage" >/dev/null
mv "$work/stage" "$work/prefix"
for f in lib/cmake/powercut/powercutConfig.cmake lib/cmake/powercut/powercutConfigVersion.cmake \
         lib/cmake/powercut/PowercutCTest.cmake include/powercut/engine/io/block_device.h \
         include/powercut/bindings/engine_registry.h include/powercut/tools/powercut/cli_main.h \
         bin/powercut; do
  [ -e "$work/prefix/$f" ] || { echo "missing from the install: $f"; exit 1; }
done
if find "$work/prefix/include" -name '*_test.h' -o -name '*_for_test.h' -o -path '*/internal/*' | grep .; then
  echo "test or internal headers were installed"; exit 1
fi

echo "== the example, built from a copy against the prefix alone"
cp -r "$source_dir/examples/cow_store" "$work/cow_store"
cmake -S "$work/cow_store" -B "$work/cow_build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >/dev/null
if grep -rq "$source_dir" "$work/cow_build/CMakeCache.txt"; then
  echo "the example's build refers to the powercut source tree"; exit 1
fi
cmake --build "$work/cow_build" -j "$(nproc)" >/dev/null
ctest --test-dir "$work/cow_build" -j "$(nproc)" --output-on-failure

echo "== the Debian package"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >/dev/null)
deb="$(ls "$work"/deb/*.deb)"
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/deb-files.txt"
for f in ./usr/bin/powercut ./usr/lib/cmake/powercut/powercutConfig.cmake \
         ./usr/include/powercut/engine/io/block_device.h ./usr/lib/libpowercut_runtime.a; do
  grep -qx "$f" "$work/deb-files.txt" || { echo "missing from the .deb: $f"; exit 1; }
done
depends="$(dpkg-deb -f "$deb" Depends)"
for p in libabsl-dev libboost-context-dev liburing-dev libblkid-dev; do
  grep -q "$p" <<<"$depends" || { echo "the .deb does not depend on $p: $depends"; exit 1; }
done
echo "$(basename "$deb"): $(grep -c . "$work/deb-files.txt") entries; Depends: $depends"
echo "install check passed"
