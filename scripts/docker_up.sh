#!/usr/bin/env bash
# Start the Docker engines the test suite uses, when they are not running (needs root):
#   - the default daemon on /var/run/docker.sock
#   - a second daemon on tcp://127.0.0.1:23751 with its own data root (a "remote" host)
set -euo pipefail
state=${TRT_MAGIC_DOCKER_STATE:-/var/lib/trt_magic-test}
docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] || docker_cli=docker

wait_for() {  # wait_for HOST SECONDS
  for _ in $(seq 1 "$2"); do
    DOCKER_HOST=$1 "$docker_cli" version >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "docker_up: daemon at $1 did not start; see $state/*.log" >&2
  return 1
}

# A daemon killed with -9 (a machine's session ending does that) leaves its pid file, and dockerd
# then refuses to start ("pid file found"). Remove a pid file whose process is not a live dockerd.
clear_stale_pidfile() {  # clear_stale_pidfile FILE
  local p
  [ -f "$1" ] || return 0
  p=$(cat "$1" 2>/dev/null || true)
  if [ -n "$p" ] && [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] \
    && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dockerd ]; then
    return 0
  fi
  echo "docker_up: removing stale pid file $1"
  rm -f "$1"
}

if [ "$(id -u)" != 0 ]; then
  echo "docker_up: not root, not starting daemons (Docker tests use whatever daemon is there)" >&2
  exit 0
fi
mkdir -p "$state"
if ! DOCKER_HOST=unix:///var/run/docker.sock "$docker_cli" version >/dev/null 2>&1; then
  echo "docker_up: starting dockerd"
  clear_stale_pidfile /var/run/docker.pid
  nohup /usr/sbin/dockerd >"$state/dockerd.log" 2>&1 &
  wait_for unix:///var/run/docker.sock 60
fi
if ! DOCKER_HOST=tcp://127.0.0.1:23751 "$docker_cli" version >/dev/null 2>&1; then
  echo "docker_up: starting a second dockerd on tcp://127.0.0.1:23751"
  mkdir -p "$state/second/data" "$state/second/exec"
  clear_stale_pidfile "$state/second/docker.pid"
  nohup /usr/sbin/dockerd \
    --host tcp://127.0.0.1:23751 --host "unix://$state/second/docker.sock" \
    --data-root "$state/second/data" --exec-root "$state/second/exec" \
    --pidfile "$state/second/docker.pid" --bridge none --iptables=false --ip-masq=false \
    >"$state/dockerd-second.log" 2>&1 &
  wait_for tcp://127.0.0.1:23751 60
fi
