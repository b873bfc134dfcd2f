"""benchmarks/mutation.py: reading mutmut's results, the score, and its section of RESULTS.md
(mutmut itself is not run here: it takes minutes and stays outside CI)."""

from __future__ import annotations

from collections import Counter

from benchmarks import mutation

# the lines `mutmut results --all true` prints (mutmut 3.8.1, this repository)
LISTING = """\
    trt_magic.display.live.x_line_level__mutmut_19: survived
    trt_magic.display.live.xǁThrottleǁpoke__mutmut_4: killed
    trt_magic.display.live.x_in_notebook__mutmut_1: no tests
    trt_magic.spec.xǁShapeProfileǁvalidate__mutmut_3: timeout
    trt_magic.spec.x__range_problems__mutmut_12: killed
    trt_magic.spec.x__range_problems__mutmut_13: survived
    trt_magic.spec.x__range_problems__mutmut_14: not checked
"""


def test_results_are_read_per_mutant_and_module():
    statuses = mutation.parse_results("header line\n" + LISTING)
    assert len(statuses) == 7
    assert statuses["trt_magic.display.live.xǁThrottleǁpoke__mutmut_4"] == "killed"
    assert mutation.module_of("trt_magic.spec.x__range_problems__mutmut_12") == "trt_magic/spec.py"
    assert (
        mutation.module_of("trt_magic.display.live.xǁThrottleǁpoke__mutmut_4")
        == "trt_magic/display/live.py"
    )


def test_score_counts_timeouts_as_killed_and_listed_mutants_as_equivalent(tmp_path):
    listed = tmp_path / "MUTANTS.md"
    listed.write_text(
        "# Equivalent mutants\n\n"
        "- `trt_magic.spec.x__range_problems__mutmut_13`: same message either way\n"
        "- not a mutant line\n"
    )
    equivalent = mutation.equivalent_mutants(listed)
    assert equivalent == {"trt_magic.spec.x__range_problems__mutmut_13"}
    table = mutation.score(mutation.parse_results(LISTING), equivalent)
    assert table["trt_magic/spec.py"] == Counter(killed=2, equivalent=1, **{"not run": 1})
    assert table["trt_magic/display/live.py"] == Counter(killed=1, survived=1, **{"no tests": 1})
    section = mutation.render(
        table, ["2026-11-29 23:00 UTC: `python -m benchmarks.mutation` (1 min)"]
    )
    assert "Run: 2026-11-29 23:00 UTC: `python -m benchmarks.mutation` (1 min)  \n" in section
    assert "| trt_magic/spec.py | 4 | 2 | 0 | 0 | 1 | 1 | 100.0 % |" in section
    assert "| trt_magic/display/live.py | 3 | 1 | 1 | 1 | 0 | 0 | 33.3 % |" in section
    assert "| **all** | 7 | 3 | 1 | 1 | 1 | 1 | 60.0 % |" in section
    assert "target >= 90%: NO" in section


def test_section_replaces_the_old_one_and_keeps_the_benchmarks(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n| a | b |\n\n## Mutation testing\n\nold\n")
    mutation.write_section("## Mutation testing\n\nnew\n", results)
    assert results.read_text() == "# Benchmark results\n\n| a | b |\n\n## Mutation testing\n\nnew\n"


def test_mutant_diffs_show_the_changed_line(tmp_path):
    module = tmp_path / "mutants" / "trt_magic" / "spec.py"
    module.parent.mkdir(parents=True)
    module.write_text(  # the layout mutmut 3.8.1 generates (functions and methods)
        "def x_check__mutmut_orig(lo, mid):\n    if lo > mid:\n        return 1\n\n"
        "def x_check__mutmut_1(lo, mid):\n    if lo >= mid:\n        return 1\n\n"
        "class A:\n    def xǁAǁf__mutmut_orig(self):\n        return 'a'\n"
        "    def xǁAǁf__mutmut_2(self):\n        return 'XXaXX'\n"
    )
    diffs = mutation.mutant_diffs(
        tmp_path, ["trt_magic.spec.x_check__mutmut_1", "trt_magic.spec.xǁAǁf__mutmut_2"]
    )
    assert diffs == {
        "trt_magic.spec.x_check__mutmut_1": "-if lo > mid: / +if lo >= mid:",
        "trt_magic.spec.xǁAǁf__mutmut_2": "-return 'a' / +return 'XXaXX'",
    }


def test_runs_merge_per_module(tmp_path):
    store = tmp_path / "runs.json"
    first = mutation.parse_results(LISTING)
    mutation.merge_runs(store, ["trt_magic/spec.py", "trt_magic/display/live.py"], first, {}, "r1")
    again = {"trt_magic.spec.x__range_problems__mutmut_13": "killed"}
    merged = mutation.merge_runs(store, ["trt_magic/spec.py"], again, {}, "r2", started=2.0)
    assert merged["trt_magic/spec.py"] == {
        "run": "r2",
        "started": 2.0,
        "mutants": {"trt_magic.spec.x__range_problems__mutmut_13": ["killed", ""]},
    }
    older = mutation.merge_runs(store, ["trt_magic/spec.py"], first, {}, "r0", started=1.0)
    assert older["trt_magic/spec.py"]["run"] == "r2"  # a run of older code does not replace it
    assert merged["trt_magic/display/live.py"]["run"] == "r1"
    assert len(merged["trt_magic/display/live.py"]["mutants"]) == 3
