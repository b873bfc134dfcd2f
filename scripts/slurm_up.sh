#!/usr/bin/env bash
# Start the single-node Slurm cluster the sweep tests use, when it is not running (needs root):
# munged + slurmctld + slurmd, partition "debug", typed GPU GRES gpu:h100:2,gpu:l4:2 backed by
# fake character devices made with mknod (slurmd only stat()s them). scripts/slurm/ holds the
# start/stop scripts (the tested recipe this workplace shares, adapted); stop with
#   bash scripts/slurm/stop_slurm.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "slurm_up: not root, not starting Slurm (Slurm tests use whatever cluster is there)" >&2
  exit 0
fi
if command -v sinfo >/dev/null 2>&1 && [ -n "$(timeout 5 sinfo -h -o %t 2>/dev/null | grep -E 'idle|mix|alloc')" ]; then
  exit 0  # already up
fi
FAKESLURM_DIR=${FAKESLURM_DIR:-/tmp/fakeslurm} bash "$here/slurm/start_slurm.sh" | tail -n 1
