#!/usr/bin/env bash
# Mutation testing of the modules where a silent bug costs most (not part of CI; ~20 min on 2
# cores). Installs mutmut (the pin of the `mutation` extra in pyproject.toml), then runs
# benchmarks/mutation.py in a copy of the checkout. Arguments go to it, e.g. `--write` (score
# into benchmarks/RESULTS.md) or `--modules trt_magic/spec.py`. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
pin=$(grep -o '"mutmut==[^"]*"' pyproject.toml | tr -d '"')
"$py" -m pip install -q "$pin"
exec "$py" -m benchmarks.mutation "$@"
