"""Execute notebooks headless with nbclient and save the executed copies.

Usage: python scripts/execute_notebook.py NOTEBOOK... [--out DIR] [--timeout S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def execute(path: Path, out_dir: Path, timeout: int) -> Path:
    """Run every cell of ``path`` in a fresh kernel started in its folder; return the copy."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / path.name
        nbformat.write(nb, out)
    print(f"executed {path} in {time.perf_counter() - started:.1f} s -> {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("notebooks/executed"))
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        execute(nb, args.out, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
