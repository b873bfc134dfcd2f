#!/usr/bin/env bash
# Install what is missing for trt_magic: Debian packages (when root) and a virtualenv in .venv.
#   bash scripts/setup.sh quickstart   # what the notebooks need
#   bash scripts/setup.sh test         # plus Docker, busybox, chromium for the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-quickstart}

apt_pkgs=(graphviz fonts-dejavu-core)
if [ "$what" = test ]; then
  apt_pkgs+=(docker.io busybox-static chromium fonts-noto-core)
fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages (needs root): ${missing[*]}" >&2
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# The CPU build of torch (a plain `torch` would pull a multi-GB CUDA build).
"${pip[@]}" "torch==${TRT_MAGIC_TORCH_VERSION:-2.13.0}"
"${pip[@]}" -e ".[test]"
