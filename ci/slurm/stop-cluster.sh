#!/usr/bin/env bash
# Stops the cluster ci/slurm/start-cluster.sh started from STATE: cancels its jobs,
# waits briefly for them to end, then stops exactly the processes whose PIDs start
# recorded in STATE/pids (slurmd, slurmctld, munged: TERM, then KILL after 10 s).
# Other Slurm or munge daemons on the machine are not touched. Leaves STATE (logs) in
# place; KEEP_STATE=0 removes it.
#   stop-cluster.sh [STATE]     STATE default /tmp/powercut-slurm
set -euo pipefail
state="${1:-/tmp/powercut-slurm}"
export PATH="$PATH:/usr/sbin:/sbin"
[ -f "$state/pids" ] || { echo "stop-cluster: no $state/pids: nothing to stop" >&2; exit 0; }
export SLURM_CONF="$state/slurm.conf"

alive() { kill -0 "$1" 2>/dev/null; }
# ours: a process with that PID and that name (a PID of a long-gone daemon may be reused).
ours() { [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]; }
ctld_pid=$(awk '$1 == "slurmctld" { print $2 }' "$state/pids")
if [ -n "$ctld_pid" ] && ours slurmctld "$ctld_pid" && command -v squeue >/dev/null; then
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
  if [ -n "${jobs// /}" ]; then
    echo "stop-cluster: cancelling jobs $jobs" >&2
    # shellcheck disable=SC2086  # a list of job ids
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 20); do
      [ -z "$(squeue -h -o %A 2>/dev/null || true)" ] && break
      sleep 1
    done
  fi
fi

# Reverse start order: slurmd, slurmctld, munged.
tac "$state/pids" | while read -r name pid; do
  ours "$name" "$pid" || continue
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.2; done
  if alive "$pid"; then
    echo "stop-cluster: $name (pid $pid) ignored TERM: killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stop-cluster: stopped $name (pid $pid)" >&2
done
mv "$state/pids" "$state/pids.stopped"
if [ "${KEEP_STATE:-1}" = 0 ]; then rm -rf "$state"; fi
