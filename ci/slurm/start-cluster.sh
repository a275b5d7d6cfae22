#!/usr/bin/env bash
# Starts a private one-node Slurm cluster on this machine for ci/slurm/e2e-test.sh:
# installs Debian's slurm-wlm and munge with apt-get when missing (root only), writes a
# munge key and a minimal slurm.conf (the node line from `slurmd -C`: this machine's real
# CPUs and memory) into the state folder, starts munged, slurmctld and slurmd in the
# foreground (-F/-D) as background processes, keeps their PIDs in the state folder and
# waits until `sinfo` shows the node idle. Everything (config, key, sockets, spool,
# logs) lives in the state folder on its own ports, so a system Slurm or munge is left
# alone. Stop it with ci/slurm/stop-cluster.sh STATE.
#   start-cluster.sh [STATE]     STATE default /tmp/powercut-slurm; then
#   export SLURM_CONF=STATE/slurm.conf   to use sbatch, squeue, sinfo, scontrol on it
# Environment: SLURM_CTLD_PORT (default 16817), SLURMD_PORT (default 16818),
# START_TIMEOUT seconds (default 60), NO_INSTALL=1 (fail instead of apt-get install).
# Exit: 0 started, 77 cannot run here (not root, packages unavailable), 1 failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="${1:-/tmp/powercut-slurm}"
ctld_port="${SLURM_CTLD_PORT:-16817}"
slurmd_port="${SLURMD_PORT:-16818}"
timeout="${START_TIMEOUT:-60}"

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "start-cluster: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (it installs packages and runs slurmd as root)"
export PATH="$PATH:/usr/sbin:/sbin"

have_all() { command -v munged && command -v slurmctld && command -v slurmd &&
             command -v sbatch && command -v sinfo; } >/dev/null
if ! have_all; then
  [ -z "${NO_INSTALL:-}" ] || skip "slurm-wlm/munge not installed and NO_INSTALL is set"
  command -v apt-get >/dev/null || skip "slurm-wlm/munge not installed and there is no apt-get"
  echo "start-cluster: installing slurm-wlm and munge with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends slurm-wlm munge >&2; }
  if ! apt_install; then
    apt-get update -q >&2 || skip "apt-get update failed (no network or no Debian mirror?)"
    apt_install || skip "apt-get install slurm-wlm munge failed"
  fi
  have_all || skip "slurm-wlm/munge installed but munged/slurmctld/slurmd/sbatch not found"
fi

# ours: a process with that PID and that name (a PID of a long-gone daemon may be reused).
ours() { [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]; }
if [ -f "$state/pids" ]; then
  while read -r name pid; do
    ! ours "$name" "$pid" ||
      fail "a cluster already runs from $state ($name, pid $pid): stop it with stop-cluster.sh $state"
  done <"$state/pids"
fi
# STATE is wiped: only a folder this script made before (its marker) or an empty one.
if [ -d "$state" ] && [ -n "$(ls -A "$state")" ] && [ ! -f "$state/.powercut-slurm" ]; then
  fail "$state is not empty and not a folder of start-cluster.sh: give another STATE"
fi
rm -rf "$state"
mkdir -p "$state"/{munge,ctld,spool,log}
touch "$state/.powercut-slurm"
chmod 0755 "$state" "$state"/munge
: >"$state/pids"
# From here on, a failure stops what was started.
on_exit() { local rc=$?; [ "$rc" = 0 ] || "$here/stop-cluster.sh" "$state" || true; }
trap on_exit EXIT

# munge: a fresh key, its own socket (slurm finds it through AuthInfo below).
dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$state/munge/munge.key"
sock="$state/munge/munge.socket"
# started NAME: wait until the last background process has become NAME (a fresh PID
# names the forked shell until its exec), record its PID.
started() {
  local pid=$!
  for _ in $(seq 1 100); do
    ours "$1" "$pid" && { echo "$1 $pid" >>"$state/pids"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  tail -n 30 "$state/log/$1".* >&2 || true
  fail "$1 did not start; logs in $state/log"
}
setsid munged --foreground --force --key-file "$state/munge/munge.key" \
  --socket "$sock" --pid-file "$state/munge/munged.pid" --seed-file "$state/munge/munge.seed" \
  --log-file "$state/log/munged.log" </dev/null >>"$state/log/munged.out" 2>&1 &
started munged

host=$(hostname -s)
# `slurmd -C` prints e.g. "NodeName=h CPUs=2 Boards=1 ... RealMemory=24105": this machine.
node=$(slurmd -C | head -n 1)
case "$node" in NodeName=*) ;; *) fail "unexpected slurmd -C output: $node" ;; esac
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
cat >"$state/slurm.conf" <<CONF
# Written by ci/slurm/start-cluster.sh: one node, this machine, everything in $state.
ClusterName=powercut-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
MailProg=/bin/true
NodeName=$host ${node#* } NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$state/slurm.conf"

# Wait for munged's socket before the Slurm daemons need it.
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.2; done
[ -S "$sock" ] || { tail -n 20 "$state"/log/munged.* >&2 || true; fail "munged did not start"; }

setsid slurmctld -D -f "$SLURM_CONF" </dev/null >>"$state/log/slurmctld.out" 2>&1 &
started slurmctld
setsid slurmd -D -f "$SLURM_CONF" -N "$host" </dev/null >>"$state/log/slurmd.out" 2>&1 &
started slurmd
echo "$cpus" >"$state/cpus"

deadline=$((SECONDS + timeout))
while :; do
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null && continue
    tail -n 30 "$state/log/$name".* >&2 || true
    fail "$name (pid $pid) exited; logs in $state/log"
  done <"$state/pids"
  nodestate=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  [ "$nodestate" = idle ] && break
  if [ $SECONDS -ge $deadline ]; then
    tail -n 30 "$state"/log/*.log >&2 || true
    fail "node $host not idle after ${timeout}s (sinfo: '${nodestate}'); logs in $state/log"
  fi
  sleep 1
done
echo "start-cluster: node $host idle ($cpus CPUs); export SLURM_CONF=$SLURM_CONF" >&2
