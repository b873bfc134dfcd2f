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
    # quiet: no needrestart prompt or report, no progress; errors still reach stderr
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages (needs root): ${missing[*]}" >&2
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
# The CPU build of torch (a plain `torch` from PyPI is the multi-GB CUDA build on Linux): the one
# the configured indexes offer, else from PyTorch's CPU index; it says which (scripts/torch_cpu.py).
.venv/bin/python scripts/torch_cpu.py "${TRT_MAGIC_TORCH_VERSION:-2.13.0}"
# pip warns once per page missing from a local mirror ("Location ... is ignored"): not for the user
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
