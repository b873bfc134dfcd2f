#!/usr/bin/env bash
# Command 1 of the README: install what is missing, then execute notebooks/01_quickstart.ipynb
# end to end (headless). The executed copy (trusted, widgets saved) is left in notebooks/executed/.
#   bash scripts/quickstart.sh          # headless
#   bash scripts/quickstart.sh --lab    # open the notebook in JupyterLab instead
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh quickstart
lab=(.venv/bin/jupyter lab --ip 127.0.0.1)
if [ "$(id -u)" = 0 ]; then
  lab+=(--allow-root)  # JupyterLab refuses root without it (containers, cloud boxes)
fi
if [ "${1:-}" = "--lab" ]; then
  exec "${lab[@]}" notebooks/01_quickstart.ipynb
fi
.venv/bin/python scripts/execute_notebook.py notebooks/01_quickstart.ipynb --html
echo "quickstart: done. Open the executed notebook with:"
echo "  ${lab[*]} notebooks/executed/01_quickstart.ipynb"
echo "or, with no kernel, notebooks/executed/01_quickstart.html in any browser (works offline)"
