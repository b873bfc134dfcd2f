"""Run the benchmarks: ``python -m benchmarks [NAME ...]``.

Each ``benchmarks/bench_<name>.py`` defines ``run() -> list[Figure]``. A figure is a ratio
against a baseline measured in the same run, so the numbers mean the same on any machine.
Results are printed as a table and written to ``benchmarks/RESULTS.md`` with the machine details.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks.figure import Figure

HERE = Path(__file__).parent
MUTATION_SECTION = "## Mutation testing"  # benchmarks/mutation.py's part of RESULTS.md: kept


def discover() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores{mem}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


def render(figures: list[Figure]) -> str:
    rows = [
        "| benchmark | figure | measured | baseline | ratio | target | ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        rows.append(f.row())
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="trt_magic benchmarks")
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(discover())}")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    names = args.names or discover()
    figures: list[Figure] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        try:
            got = module.run()
        except Exception as exc:  # one broken benchmark must not hide the others
            got = [Figure(name, f"error: {type(exc).__name__}: {exc}", None, None)]
        for f in got:
            f.bench = name
        figures += got
        print(f"[{name}] {time.perf_counter() - started:.1f} s", file=sys.stderr)
    table = render(figures)
    print(table)
    if not args.no_write:
        text = (
            "# Benchmark results\n\n"
            f"Machine: {machine()}  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  \n"
            f"Command: `python -m benchmarks {' '.join(names) if args.names else ''}`\n\n"
            "Each figure is a ratio against a baseline measured in the same run.\n\n" + table + "\n"
        )
        out = HERE / "RESULTS.md"
        if args.names and out.exists():  # keep other benchmarks' rows
            figures_part = out.read_text().split(MUTATION_SECTION, 1)[0]  # not the mutation table
            kept = [
                line
                for line in figures_part.splitlines()
                if line.startswith("| ") and line.split("|")[1].strip() not in names
            ]
            kept = [k for k in kept if not k.startswith("| benchmark")]
            text = text.rstrip("\n") + "\n" + "\n".join(kept) + "\n"
        if out.exists() and MUTATION_SECTION in out.read_text():  # written by benchmarks.mutation
            text += "\n" + MUTATION_SECTION + out.read_text().split(MUTATION_SECTION, 1)[1]
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
