#!/usr/bin/env bash
# Installs every build and test dependency of powercut from Debian 12 packages.
# Idempotent: packages already installed are left alone, and apt is only touched when
# something is missing. Needs root (or sudo) when it has to install.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libabsl-dev
  libgtest-dev libgmock-dev
  librapidcheck-dev
  libboost-context-dev
  catch2
  libbenchmark-dev
  liburing-dev
  libblkid-dev
  fio
  libcli11-dev
  nlohmann-json3-dev
  mdadm
  clang libclang-rt-14-dev
  libjs-chart.js
  python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
