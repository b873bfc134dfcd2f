"""Mutation testing of the modules where a silent bug costs most: ``python -m benchmarks.mutation``.

mutmut (the ``mutation`` extra; not run in CI) changes one thing at a time in these modules (an
operator, a constant, a string, a removed call) and runs the fast tests that reach the changed
function. A mutant no test notices is a bug the suite would let through: kill it with a test, or
list it in ``benchmarks/MUTANTS.md`` with the reason it cannot change behaviour (equivalent).

The run happens in a copy of the checkout (``benchmarks/.work/mutation``), so the work tree is
never touched. The score (killed / (all - equivalent)) goes to ``benchmarks/RESULTS.md`` with
``--write``. Run it before resolving an issue that touches these modules; it takes about 20 min
on 2 cores (``--modules`` narrows it).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "mutation"
STORE = ROOT / "benchmarks" / ".work" / "mutation-runs.json"  # each module's latest result
EQUIVALENT_FILE = ROOT / "benchmarks" / "MUTANTS.md"
RESULTS_FILE = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Mutation testing"
TARGET = 0.90

#: module -> why a silent bug there costs most
MODULES = {
    "trt_magic/results/tables.py": "the per-layer join (a wrong time on a layer)",
    "trt_magic/results/log.py": "trtexec log parsing (figures, status, errors)",
    "trt_magic/spec.py": "the profile/spec checks (bad flags reach trtexec)",
    "trt_magic/export/checks.py": "export checks (parity, graph reading)",
    "trt_magic/export/hints.py": "export error -> fix (a wrong fix)",
    "trt_magic/display/live.py": "the live log (escaping, throttle)",
    "trt_magic/runners/cache.py": "the engine cache key (a stale engine reused)",
    "trt_magic/commandline/command.py": "host <-> container path mapping",
    "trt_magic/results/exports.py": "trtexec JSON parsing (profile, layer info, times)",
    "trt_magic/results/layer_match.py": "layers paired across engines (a wrong pair)",
    "trt_magic/accuracy/report.py": "the tolerance rule (a parity check passing what it should not)",
    "trt_magic/runners/staging.py": "what the container may touch (isolation, integrity)",
    "trt_magic/export/preflight.py": "export preflight (a model refused or let through wrongly)",
}

#: the fast tests of those modules (mutmut runs, per mutant, those that reach its function)
TESTS = [
    "tests/test_results_run.py",
    "tests/test_results_tables.py",
    "tests/test_results_log.py",
    "tests/test_results_log_files.py",
    "tests/test_results_versions.py",
    "tests/test_results_exports.py",
    "tests/test_results_json.py",
    "tests/test_results_compare.py",
    "tests/test_results_layer_match.py",
    "tests/test_spec.py",
    "tests/test_export_parts.py",
    "tests/test_export_checks.py",
    "tests/test_export_hints.py",
    "tests/test_accuracy.py",
    "tests/test_runner_live.py",
    "tests/test_runner_cache.py",
    "tests/test_trtexec_command.py",
    "tests/test_runner_isolation.py",
    "tests/test_runner_staging.py",
    "tests/test_export_parity_rules.py",
]

MARKERS = "not docker and not browser and not slow and not slurm"
_MUTANT = re.compile(r"^\s*(?P<name>[\w.]+?\.x[_ǁ]\S*__mutmut_\d+): (?P<status>.+)$")
_LISTED = re.compile(r"^- `(?P<name>[^`]+__mutmut_\d+)`")


def copy_checkout(dest: Path) -> None:
    """Copy the files git knows (tracked and new, not ignored) into ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    source = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    (dest / "SOURCE").write_text(source or "?")


def config(modules: list[str], tests: list[str]) -> str:
    """The ``[tool.mutmut]`` table for the copy's pyproject.toml."""

    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["trt_magic"]\n'
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        f'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "{MARKERS}"]\n'
    )


def run_mutmut(workdir: Path, jobs: int, run: bool = True) -> dict[str, str]:
    """Run mutmut in ``workdir`` (unless ``run`` is False: read the last run's results); return
    mutant name -> status."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI")}
    mutmut = [sys.executable, "-m", "mutmut"]
    log = workdir / "mutmut-run.log"
    if run:
        with open(log, "w") as out:
            subprocess.run([*mutmut, "run", "--max-children", str(jobs)], cwd=workdir, env=env,
                           stdout=out, stderr=subprocess.STDOUT, check=False)  # fmt: skip
    listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=workdir, env=env,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    statuses = parse_results(listing)
    if not statuses:
        raise SystemExit(f"mutmut produced no results; see {log}")
    return statuses


def parse_results(text: str) -> dict[str, str]:
    """``mutmut results --all true`` lines (``    name: status``) as a dict."""
    found = {}
    for line in text.splitlines():
        m = _MUTANT.match(line)
        if m:
            found[m["name"]] = m["status"].strip()
    return found


def module_of(mutant: str) -> str:
    """``trt_magic.spec.xǁShapeProfileǁvalidate__mutmut_3`` -> ``trt_magic/spec.py``."""
    dotted = re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]
    return dotted.replace(".", "/") + ".py"


def equivalent_mutants(path: Path = EQUIVALENT_FILE) -> set[str]:
    """Names listed in MUTANTS.md (``- `name`: why it is equivalent``)."""
    if not path.exists():
        return set()
    return {m["name"] for line in path.read_text().splitlines() if (m := _LISTED.match(line))}


def score(statuses: dict[str, str], equivalent: set[str]) -> dict[str, Counter]:
    """Per module: killed (a test failed or the mutant timed out), survived, no tests, equivalent."""
    table: dict[str, Counter] = {}
    for name, status in statuses.items():
        row = table.setdefault(module_of(name), Counter())
        if name in equivalent:
            row["equivalent"] += 1
        elif status in ("killed", "timeout", "caught by type check"):
            row["killed"] += 1
        elif status == "no tests":
            row["no tests"] += 1
        elif status in ("not checked", "check was interrupted by user"):
            row["not run"] += 1  # the run was stopped before this mutant: left out of the score
        else:
            row["survived"] += 1
    return table


def render(table: dict[str, Counter], runs: list[str]) -> str:
    """The RESULTS.md section; ``runs``: when and how each module's result was measured."""
    total = Counter()
    rows = ["| module | mutants | killed | survived | no tests | equivalent | not run | score |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for module in sorted(table):
        c = table[module]
        total.update(c)
        rows.append(_row(module, c))
    rows.append(_row("**all**", total))
    killed, counted = total["killed"], _counted(total)
    verdict = "yes" if counted and killed / counted >= TARGET else "NO"
    return (
        f"{SECTION}\n\n"
        + "".join(f"Run: {r}  \n" for r in runs)
        + f"Score = killed (a test failed, or the mutant hung past mutmut's timeout) / (mutants - "
        f"equivalent); target >= {TARGET:.0%}: {verdict}. Surviving mutants judged equivalent "
        "are listed with the reason in `benchmarks/MUTANTS.md`; 'no tests': no fast test "
        "reaches the function; 'not run': the run was stopped first (not in the score).\n\n"
        + "\n".join(rows)
        + "\n"
    )


def _counted(c: Counter) -> int:
    """The mutants the score is over: all but the equivalent ones and those not run."""
    return sum(c.values()) - c["equivalent"] - c["not run"]


def _row(module: str, c: Counter) -> str:
    n = sum(c.values())
    counted = _counted(c)
    pct = f"{100 * c['killed'] / counted:.1f} %" if counted else "-"
    return (
        f"| {module} | {n} | {c['killed']} | {c['survived']} | {c['no tests']} | "
        f"{c['equivalent']} | {c['not run']} | {pct} |"
    )


def write_section(section: str, path: Path = RESULTS_FILE) -> None:
    """Replace (or add) the mutation section of RESULTS.md, keeping the benchmark table."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    head = text.split(SECTION, 1)[0].rstrip("\n")
    path.write_text(head + "\n\n" + section)


def survivors(statuses: dict[str, str], equivalent: set[str]) -> list[str]:
    done = ("killed", "timeout", "caught by type check", "not checked")
    return sorted(n for n, s in statuses.items() if s not in done and n not in equivalent)


def mutant_diffs(workdir: Path, names: list[str]) -> dict[str, str]:
    """Each mutant's change as ``-old / +new`` lines, read from mutmut's generated module (the
    original is ``<function>__mutmut_orig`` beside ``<function>__mutmut_<n>``); far faster than
    one ``mutmut show`` per mutant."""
    by_module: dict[str, list[str]] = {}
    for name in names:
        by_module.setdefault(module_of(name), []).append(name)
    diffs = {}
    for module, wanted in by_module.items():
        source = (workdir / "mutants" / module).read_text()
        lines = source.splitlines()
        functions = {  # by line span: ast.get_source_segment re-splits the file on every call
            node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for name in wanted:
            local = name.rsplit(".", 1)[1]
            orig = functions.get(re.sub(r"__mutmut_\d+$", "__mutmut_orig", local), "")
            lines = difflib.unified_diff(orig.splitlines()[1:], functions.get(local, "").splitlines()[1:], n=0, lineterm="")  # fmt: skip
            diffs[name] = " / ".join(
                ln[0] + ln[1:].strip() for ln in lines if ln[:1] in "+-" and ln[:3] not in ("+++", "---")
            )  # fmt: skip
    return diffs


def merge_runs(path: Path, modules: list[str], statuses: dict[str, str], diffs: dict[str, str],
               run: str, started: float = 0.0) -> dict[str, dict]:  # fmt: skip
    """Keep each module's latest result in ``path`` (JSON): re-running one module after adding
    its tests updates that module only (a run started before the stored one does not replace it).
    Returns the merged store."""
    import json

    store = json.loads(path.read_text()) if path.exists() else {}
    for module in modules:
        if store.get(module, {}).get("started", 0.0) > started:
            continue
        mine = {n: [st, diffs.get(n, "")] for n, st in statuses.items() if module_of(n) == module}
        store[module] = {"run": run, "started": started, "mutants": mine}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=1, ensure_ascii=False))
    return store


def _run_label(work: Path, command: str, seconds: float | None) -> tuple[str, float]:
    """When, how long and on what code a run happened (a rescore reads it from the work copy);
    and when it started (the copy of the code it tested)."""
    log = work / "mutmut-run.log"
    ended = log.stat().st_mtime if seconds is None and log.exists() else time.time()
    if seconds is None:
        seconds = ended - (work / "pyproject.toml").stat().st_mtime
    source = (work / "SOURCE").read_text().strip() if (work / "SOURCE").exists() else "?"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ended))
    return f"{when}: `{command}` ({seconds / 60:.0f} min; code {source})", ended - seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*", default=None, help="a subset of the modules")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--write", action="store_true", help="write the score to RESULTS.md")
    parser.add_argument("--workdir", type=Path, default=WORK,
                        help="the copy to run in (two runs at once need two)")  # fmt: skip
    parser.add_argument("--rescore", action="store_true",
                        help="no new run: score the last run again (after editing MUTANTS.md)")  # fmt: skip
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if not (ROOT / m).is_file()]
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)}")
    started = time.monotonic()
    work = args.workdir.resolve()
    if not args.rescore:
        copy_checkout(work)
        with open(work / "pyproject.toml", "a") as fh:
            fh.write(config(modules, [t for t in TESTS if (work / t).is_file()]))
    statuses = run_mutmut(work, args.jobs, run=not args.rescore)
    equivalent = equivalent_mutants()
    diffs = mutant_diffs(work, survivors(statuses, set()))
    command = "python -m benchmarks.mutation" + (
        " --modules " + " ".join(args.modules) if args.modules else ""
    )
    run, began = _run_label(work, command, None if args.rescore else time.monotonic() - started)
    store = merge_runs(STORE, modules, statuses, diffs, run, began)
    merged = {n: v[0] for m in MODULES if m in store for n, v in store[m]["mutants"].items()}
    table = score(merged, equivalent)
    runs = sorted({store[m]["run"] for m in MODULES if m in store})
    section = render(table, runs)
    print(section)
    left = survivors(merged, equivalent)
    diff_of = {n: v[1] for m in store.values() for n, v in m["mutants"].items()}
    lines = [f"{n} [{merged[n]}]: {diff_of.get(n, '')}" for n in left]
    out = STORE.with_name("mutation-survivors.txt")
    out.write_text("\n".join(lines) + "\n")
    print(f"{len(left)} mutants not killed nor listed as equivalent: {out}")
    if args.write:
        write_section(section)
    total = Counter()
    for c in table.values():
        total.update(c)
    counted = _counted(total)
    return 0 if counted and total["killed"] / counted >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
