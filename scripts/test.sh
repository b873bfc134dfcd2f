#!/usr/bin/env bash
# Command 2 of the README: install what is missing, then lint and run the whole test suite.
# Extra arguments go to pytest. With CI=true, a test that needs Docker or a browser fails
# instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/docker_up.sh
bash scripts/remote_up.sh
bash scripts/slurm_up.sh
.venv/bin/ruff check trt_magic tests benchmarks scripts
.venv/bin/ruff format --check trt_magic tests benchmarks scripts
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit "$rc"
