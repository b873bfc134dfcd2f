"""Sweeps: variant expansion and search modes, the Pareto front, the slot scheduler (with a test
double for the build), and (with Docker) real sweeps over two daemons with the test image."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from trt_magic.errors import UsageError
from trt_magic.spec import ShapeProfile, ShapeRange
from trt_magic.sweeps import start_sweep, sweep
from trt_magic.sweeps.result import SweepResult, render_html
from trt_magic.sweeps.scheduler import Row, Scheduler, Slot
from trt_magic.sweeps.variants import (
    Axes,
    Variant,
    as_profile,
    expand,
    fast_variants,
    full_variants,
    mixed_second_phase,
    pareto_front,
    pin_to_slots,
)

# ------------------------------------------------------------------ variants and search


def _axes(**kw):
    base = dict(precisions=["fp32", "fp16", "best"], opt_levels=[3, 5], profiles=[None])
    base.update(kw)
    return Axes.build(**base)


def test_full_is_the_cartesian_product():
    variants = full_variants(_axes())
    assert len(variants) == 6
    assert len({v.label for v in variants}) == 6
    assert {(v.precision, v.opt_level) for v in variants} == {
        (p, o) for p in ("fp32", "fp16", "best") for o in (3, 5)
    }


def test_fast_is_baseline_plus_one_change_at_a_time():
    # trtexec README: 3 binary knobs -> full 8 routes, fast 4 (baseline + 3 one-off flips)
    axes = Axes.build(precisions=["fp32", "fp16"], opt_levels=[3, 5], images=["a", "b"])
    assert len(full_variants(axes)) == 8
    fast = fast_variants(axes)
    assert len(fast) == 4
    base = fast[0]
    assert (base.precision, base.opt_level, base.image) == ("fp32", 3, "a")
    for v in fast[1:]:
        changed = [k for k, x in v.axis_values().items() if x != base.axis_values()[k]]
        assert len(changed) == 1


def test_mixed_sweeps_only_the_improving_values():
    axes = Axes.build(precisions=["fp32", "fp16"], opt_levels=[3, 5], images=["a", "b"])
    fast = fast_variants(axes)
    base, fp16, o5, img_b = fast
    # fp16 and O5 beat the baseline, image b is slower: phase 2 is fp16 x O5 with image a
    scores = {base: 10.0, fp16: 6.0, o5: 9.0, img_b: 12.0}
    more = mixed_second_phase(axes, scores, fast)
    assert [(v.precision, v.opt_level, v.image) for v in more] == [("fp16", 5, "a")]


def test_mixed_treats_failed_or_inaccurate_variants_as_no_improvement():
    axes = Axes.build(precisions=["fp32", "fp16"], opt_levels=[3, 5])
    base, fp16, o5 = fast_variants(axes)
    assert mixed_second_phase(axes, {base: 10.0, fp16: None, o5: 9.0}, [base, fp16, o5]) == []
    assert mixed_second_phase(axes, {base: None, fp16: 1.0, o5: 1.0}, [base, fp16, o5]) == []


def test_unknown_search_and_bad_axes_are_usage_errors():
    with pytest.raises(UsageError, match="search="):
        expand(_axes(), "exhaustive")
    with pytest.raises(UsageError, match="repeats"):
        Axes.build(precisions=["fp16", "FP16"])
    with pytest.raises(UsageError, match="0-5"):
        Axes.build(opt_levels=[7])
    with pytest.raises(UsageError, match="unknown precision"):
        Axes.build(precisions=["fp64"])


def test_profiles_from_flags_specs_and_shape_profiles():
    p = as_profile("x:8x4", 0)
    assert p.flags == ("--minShapes=x:8x4", "--optShapes=x:8x4", "--maxShapes=x:8x4")
    q = as_profile("--minShapes=x:1x4 --optShapes=x:8x4 --maxShapes=x:16x4", 1)
    assert q.flags[1] == "--optShapes=x:8x4" and q.name == "p1"
    sp = ShapeProfile(dims={"x": ("batch", 4)}, ranges={"x": ShapeRange((1, 4), (2, 4), (4, 4))})
    assert as_profile(sp, 2).flags == tuple(sp.shape_flags())
    with pytest.raises(UsageError):
        as_profile(3.5, 0)


def test_build_args_of_a_variant():
    v = Variant("fp16", as_profile("x:8x4", 1), 5, None, None)
    args = v.build_args("m.onnx", "/out/fp16")
    assert args[:2] == ["--onnx=m.onnx", "--saveEngine=/out/fp16/m_fp16_p1_O5.plan"]
    assert "--fp16" in args and "--builderOptimizationLevel=5" in args
    assert "--optShapes=x:8x4" in args and "--profilingVerbosity=detailed" in args
    assert v.label == "fp16_p1_O5"
    routed = Variant("fp32", route="-match_ragged_mha=[on|off]")
    assert "--tuneBuildRoutes=-match_ragged_mha=[on|off]" in routed.build_args("m", "o")


def test_pin_to_slots_repeats_each_variant_per_slot():
    pinned = pin_to_slots(full_variants(_axes()), [("h1", "0"), ("h2", "0")])
    assert len(pinned) == 12 and len({v.label for v in pinned}) == 12


def test_pareto_front_minimizes_every_objective():
    points = [
        [1.0, 0.1, 10.0],  # fastest
        [2.0, 0.01, 10.0],  # most accurate
        [2.0, 0.1, 5.0],  # smallest
        [3.0, 0.1, 10.0],  # dominated by the first
        [None, None, None],  # failed
    ]
    assert pareto_front(points) == [True, True, True, False, False]
    # accuracy not measured: it neither helps nor hurts
    assert pareto_front([[1.0, None, 10.0], [2.0, None, 5.0], [3.0, None, 20.0]]) == [
        True,
        True,
        False,
    ]


# ------------------------------------------------------------------ the scheduler (test double)


class _FakeBuild:
    """Stands in for the runner: records which slot ran what, and when."""

    def __init__(self, seconds=0.05, fail=()):
        self.seconds, self.fail = seconds, set(fail)
        self.intervals: list[tuple[Slot, float, float, str]] = []
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)  # released once per build that starts

    def __call__(self, row: Row, slot: Slot, cancel: threading.Event) -> None:
        start = time.monotonic()
        self.started.release()
        cancel.wait(self.seconds)
        with self.lock:
            self.intervals.append((slot, start, time.monotonic(), row.variant.label))
        ok = row.variant.label not in self.fail and not cancel.is_set()
        row.run = SimpleNamespace(ok=ok, exit_code=0 if ok else 1, status="passed" if ok else "failed",
                                  errors=[] if ok else ["[E] boom"], cached=False, summary={}, files={})  # fmt: skip


@pytest.fixture
def private_cache(tmp_path):
    """A private Settings.cache_dir for one test."""
    from trt_magic.config import get_settings

    settings = get_settings()
    old = settings.cache_dir
    settings.cache_dir = str(tmp_path / "cache")
    yield settings
    settings.cache_dir = old


def _scheduler(slots, work):
    changes = []
    sched = Scheduler(slots, work, changes.append)
    return sched, changes


def test_at_most_one_build_per_slot_and_all_slots_used():
    slots = [Slot("h1", "0"), Slot("h1", "1"), Slot("h2", "0")]
    work = _FakeBuild(seconds=0.05)
    sched, _ = _scheduler(slots, work)
    sched.add(full_variants(_axes()) + full_variants(_axes(precisions=["int8", "fp8"])))
    sched.run()
    assert all(r.status == "passed" for r in sched.rows) and len(sched.rows) == 10
    by_slot: dict[Slot, list] = {}
    for slot, a, b, _ in work.intervals:
        by_slot.setdefault(slot, []).append((a, b))
    assert set(by_slot) == set(slots)
    for spans in by_slot.values():
        spans.sort()
        assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:], strict=False))


def test_one_failure_does_not_stop_the_others():
    variants = full_variants(_axes())
    work = _FakeBuild(fail={variants[2].label})
    sched, _ = _scheduler([Slot(None, "0"), Slot(None, "1")], work)
    sched.add(variants)
    sched.run()
    statuses = {r.variant.label: r.status for r in sched.rows}
    assert statuses.pop(variants[2].label) == "failed"
    assert set(statuses.values()) == {"passed"}
    failed = next(r for r in sched.rows if r.status == "failed")
    assert failed.error == "[E] boom"


def test_an_exception_in_one_variant_is_kept_in_its_row():
    def work(row, slot, cancel):
        if row.variant.precision == "fp16":
            raise UsageError("no such image", hint="pull it")
        row.run = SimpleNamespace(ok=True, exit_code=0, status="passed")

    sched, _ = _scheduler([Slot(None, "0")], work)
    sched.add(full_variants(_axes(opt_levels=[3])))
    sched.run()
    rows = {r.variant.precision: r for r in sched.rows}
    assert rows["fp16"].status == "failed" and "no such image (hint: pull it)" == rows["fp16"].error
    assert rows["fp32"].status == rows["best"].status == "passed"


def test_cancel_stops_running_work_and_cancels_the_queue():
    work = _FakeBuild(seconds=30)
    sched, _ = _scheduler([Slot(None, "0"), Slot(None, "1")], work)
    sched.add(full_variants(_axes()))
    t = threading.Thread(target=sched.run)
    started = time.monotonic()
    t.start()
    assert work.started.acquire(timeout=10) and work.started.acquire(timeout=10)  # both slots busy
    sched.cancel.set()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - started < 5
    assert {r.status for r in sched.rows} == {"cancelled"}
    assert len(work.intervals) == 2  # only the two running ones ever started


def test_pinned_variants_wait_for_their_slot():
    slots = [Slot("a", "0"), Slot("b", "0")]
    work = _FakeBuild(seconds=0.01)
    sched, _ = _scheduler(slots, work)
    sched.add(pin_to_slots(full_variants(_axes(opt_levels=[3])), [("a", "0"), ("b", "0")]))
    sched.run()
    for slot, _, _, label in work.intervals:
        assert label.endswith(f"{slot.host}-gpu0")


def test_result_table_html_and_best(tmp_path):
    slots = [Slot(None, "0")]
    sched, _ = _scheduler(slots, _FakeBuild(seconds=0))
    sched.add(full_variants(_axes(opt_levels=[3])))
    sched.run()
    lat = {"fp32": 3.0, "fp16": 1.5, "best": 1.0}
    size = {"fp32": 40.0, "fp16": 20.0, "best": 25.0}
    for r in sched.rows:
        p = r.variant.precision
        r.run.summary = {"gpu_compute_median_ms": lat[p], "engine_size_mib": size[p]}
    result = SweepResult("m.onnx", "full", slots, rows=sched.rows)
    table = result.table
    assert list(table["latency_ms"]) == [3.0, 1.5, 1.0]
    assert table.set_index("precision")["pareto"].to_dict() == {
        "fp32": False,
        "fp16": True,
        "best": True,
    }
    assert list(result.sort("engine_mib")["precision"]) == ["fp16", "best", "fp32"]
    assert result.best().variant.precision == "best"
    assert list(result.pareto["precision"]) == ["fp16", "best"]
    html = render_html(result)
    assert "3/3 done" in html and "onclick" in html and "Pareto" in html
    page = result.to_html(tmp_path / "sweep.html").read_text()
    assert page.startswith("<!doctype html>") and html in page


def test_sweep_rejects_a_missing_model(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        start_sweep(tmp_path / "nope.onnx")


def test_sweep_with_an_injected_runner_passes_slot_options(tmp_path, private_cache):
    """The sweep's own wiring (args, GPU request, host, outdir) with a runner test double."""
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    calls = []
    lock = threading.Lock()

    def runner(args, **options):
        with lock:
            calls.append((args, options))
        return SimpleNamespace(ok=True, exit_code=0, status="passed", cached=False,
                               files={}, summary={}, read_log=lambda: "")  # fmt: skip

    result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[3], gpus=[0, 1],
                   hosts=["h1"], container_gpus="none", outdir=tmp_path / "out",
                   runner=runner, display=False)  # fmt: skip
    assert [r.status for r in result.rows] == ["passed", "passed"]
    for args, options in calls:
        assert options["gpus"] == "none" and options["docker_host"] == "h1"
        assert any(a in ("--device=0", "--device=1") for a in args)
        assert args[1].startswith(f"--saveEngine={tmp_path / 'out'}/")
    for args, _ in calls:  # one timing cache per device, never shared by concurrent builds
        device = next(a for a in args if a.startswith("--device="))[-1]
        cache = next(a for a in args if a.startswith("--timingCacheFile="))
        assert cache.startswith(f"--timingCacheFile={tmp_path / 'cache'}/")
        assert cache.endswith(f"-{device}.cache")
    assert (tmp_path / "out" / "sweep.json").is_file()


def test_sweep_accuracy_run_keeps_the_slots_device(tmp_path, private_cache, monkeypatch):
    """container_gpus + --device=N: the accuracy run goes to the same GPU as the build."""
    import trt_magic.accuracy

    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    builds, checks = [], []
    lock = threading.Lock()

    def runner(args, **options):
        with lock:
            builds.append((_device(args), options["docker_host"], options["gpus"]))
        return SimpleNamespace(ok=True, exit_code=0, status="passed", cached=False, files={},
                               summary={}, read_log=lambda: "", device=_device(args))  # fmt: skip

    def check_accuracy(run, onnx_path, **options):
        with lock:  # the build's device and what the accuracy run was given, per row
            checks.append((run.device, options["extra_args"], options["docker_host"], options["gpus"]))  # fmt: skip
        return SimpleNamespace(passed=True, outputs=[])

    monkeypatch.setattr(trt_magic.accuracy, "check_accuracy", check_accuracy)
    result = sweep(onnx, precisions=["fp32", "fp16", "best", "int8"], gpus=[0, 1], hosts=["h1"],
                   container_gpus="all", check_accuracy=True, runner=runner,
                   outdir=tmp_path / "out", display=False)  # fmt: skip
    assert [r.status for r in result.rows] == ["passed"] * 4
    assert {b[1:] for b in builds} == {("h1", "all")}
    assert {d for d, _, _ in builds} == {"0", "1"}  # both slots built
    assert len(checks) == 4
    for device, extra_args, host, gpus in checks:
        assert (extra_args, host, gpus) == ([f"--device={device}"], "h1", "all")


def test_sweep_accuracy_run_without_container_gpus_asks_the_slots_gpu(tmp_path, private_cache, monkeypatch):  # fmt: skip
    import trt_magic.accuracy

    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    checks = []

    def runner(args, **options):
        assert _device(args) == "?"  # one GPU per container: no --device flag
        return SimpleNamespace(ok=True, exit_code=0, status="passed", cached=False,
                               files={}, summary={}, read_log=lambda: "")  # fmt: skip

    def check_accuracy(run, onnx_path, **options):
        checks.append((options["extra_args"], options["gpus"]))
        return SimpleNamespace(passed=True, outputs=[])

    monkeypatch.setattr(trt_magic.accuracy, "check_accuracy", check_accuracy)
    sweep(onnx, precisions=["fp32"], gpus=[1], check_accuracy=True, runner=runner,
          outdir=tmp_path / "out", display=False)  # fmt: skip
    assert checks == [([], "1")]


def _latency_runner(latency):
    """A runner double whose runs report a GPU compute median per precision/opt level."""

    def runner(args, **options):
        prec = "fp16" if "--fp16" in args else "fp32"
        level = next((a[-1] for a in args if a.startswith("--builderOptimizationLevel=")), "3")
        summary = {"gpu_compute_median_ms": latency[(prec, level)]}
        return SimpleNamespace(ok=True, exit_code=0, status="passed", cached=False, files={},
                               summary=summary, read_log=lambda: "")  # fmt: skip

    return runner


def test_mixed_search_adds_a_second_phase(tmp_path, capsys):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    latency = {("fp32", "3"): 10.0, ("fp16", "3"): 5.0, ("fp32", "5"): 8.0, ("fp16", "5"): 4.0}
    result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[3, 5], search="mixed",
                   runner=_latency_runner(latency), outdir=tmp_path / "out")  # fmt: skip
    phases = [(r.variant.label, r.phase) for r in result.rows]
    assert phases == [("fp32_O3", 1), ("fp16_O3", 1), ("fp32_O5", 1), ("fp16_O5", 2)]
    assert result.best().variant.label == "fp16_O5"
    printed = capsys.readouterr().out  # no notebook here: one line per finished variant
    assert "[passed] fp16_O5" in printed and "sweep done: 4 passed" in printed


def test_fast_search_stops_after_the_one_off_variations(tmp_path):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    latency = {("fp32", "3"): 10.0, ("fp16", "3"): 5.0, ("fp32", "5"): 8.0, ("fp16", "5"): 4.0}
    result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[3, 5], search="fast",
                   runner=_latency_runner(latency), outdir=tmp_path / "out", display=False)  # fmt: skip
    assert [r.variant.label for r in result.rows] == ["fp32_O3", "fp16_O3", "fp32_O5"]


def test_accuracy_with_the_replay_backend_is_refused(tmp_path):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    with pytest.raises(UsageError, match="replay backend"):
        start_sweep(onnx, backend="replay", check_accuracy=True, outdir=tmp_path / "out")


def test_sweep_over_replayed_runs_compares_them(tmp_path):
    """The replay backend (recorded real runs) end to end: table, Pareto front, compare."""
    from accuracy_helpers import linear_model

    onnx = linear_model(tmp_path / "model.onnx")
    result = sweep(onnx, precisions=["fp32", "fp16"], backend="replay",
                   outdir=tmp_path / "out", display=False)  # fmt: skip
    table = result.table.set_index("precision")
    assert list(table["status"]) == ["passed", "passed"]
    assert table.loc["fp16", "latency_ms"] < table.loc["fp32", "latency_ms"]
    # recorded figures are shown, labelled, and never ranked as measured (issue 14)
    assert not table["pareto"].any() and result.best() is None
    assert all(s.startswith("recorded") for s in table["source"])
    assert "2 recorded rows" in result._repr_html_()
    comparison = result.comparison
    assert list(comparison.table.index) == ["fp32", "fp16"]


# ------------------------------------------------------------------ real sweeps over two daemons


@pytest.fixture
def docker_settings(tmp_path):
    """Docker backend and a private engine cache for one test."""
    from trt_magic.config import get_settings

    settings = get_settings()
    old = settings.backend, settings.cache_dir
    settings.backend, settings.cache_dir = "docker", str(tmp_path / "cache")
    yield settings
    settings.backend, settings.cache_dir = old


def _owner() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _ours(client) -> list:
    """Containers of this test process (other processes may share the daemons)."""
    from trt_magic.runners.docker import LABEL, OWNER_LABEL

    labels = [f"{LABEL}=1", f"{OWNER_LABEL}={_owner()}"]
    return client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)


class ContainerTimes:
    """Start and stop times of this process's containers, from each daemon's event stream.

    Each container is inspected when it is created, for its trtexec arguments (``--device=N``
    names the slot's GPU).
    """

    def __init__(self, clients: dict[str, object]):
        from trt_magic.runners.docker import OWNER_LABEL

        self.records: dict[str, dict] = {}
        self.changed = threading.Condition()  # notified on every event
        self.streams, self.threads = [], []
        self.t0 = time.time()
        since = int(self.t0) - 1  # whole seconds: events before t0 are dropped in _read
        for name, client in clients.items():
            stream = client.events(since=since, decode=True, filters={
                "type": "container", "label": f"{OWNER_LABEL}={_owner()}"})  # fmt: skip
            t = threading.Thread(target=self._read, args=(name, client, stream), daemon=True)
            self.streams.append(stream)
            self.threads.append(t)
            t.start()

    def _read(self, daemon, client, stream) -> None:
        try:
            for ev in stream:
                action = ev.get("Action") or ev.get("status")
                cid, when = ev.get("id"), ev.get("timeNano", 0) / 1e9
                if when < self.t0:
                    continue
                args = None
                if action == "create":
                    try:
                        args = client.api.inspect_container(cid)["Args"]
                    except Exception:
                        args = []
                with self.changed:
                    rec = self.records.setdefault(cid, {"daemon": daemon, "args": []})
                    if args is not None:
                        rec["args"] = args
                    elif action in ("start", "die"):
                        rec[action] = when
                    self.changed.notify_all()
        except Exception:  # the stream was closed
            pass

    def running(self) -> list[dict]:
        """Containers started and not yet dead."""
        return [r for r in self.records.values() if "start" in r and "die" not in r]

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (re-checked on each event); False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self), timeout)

    def stop(self, expected: int = 0, timeout: float = 30) -> dict[str, dict]:
        """Close the streams once ``expected`` containers have started and died (their events
        arrive after the sweep returns); return the records."""
        done = self.wait_for(
            lambda t: sum("start" in r and "die" in r for r in t.records.values()) >= expected,
            timeout,
        )
        for s in self.streams:
            s.close()
        assert done, f"{expected} containers never all started and died: {self.records}"
        return self.records


def _device(args: list[str]) -> str:
    return next((a.split("=", 1)[1] for a in args if a.startswith("--device=")), "?")


@pytest.mark.docker
@pytest.mark.slow
def test_sweep_spreads_over_two_daemons_one_build_per_slot(
    docker_client, trtexec_image, second_docker, tmp_path, docker_settings
):
    from accuracy_helpers import identity_model
    from conftest import SECOND_DOCKER

    onnx = identity_model(tmp_path / "identity-fixed1.onnx")  # each build takes 1 s
    times = ContainerTimes({"default": docker_client, "second": second_docker[0]})
    result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[0, 1, 2, 3],
                   profiles=["--minShapes=x:1x4 --optShapes=x:8x4 --maxShapes=x:16x4"],
                   images=[trtexec_image], hosts=[None, SECOND_DOCKER], gpus=[0, 1],
                   container_gpus="none", check_accuracy=True, display=False,
                   outdir=tmp_path / "sweep")  # fmt: skip
    records = times.stop(expected=16)  # 8 builds + 8 accuracy runs
    table = result.table
    assert list(table["status"]) == ["passed"] * 8, table[
        ["variant", "status", "error"]
    ].to_string()
    assert all(r.accuracy is not None and r.accuracy.passed for r in result.rows)
    assert {r.slot.host for r in result.rows} == {None, SECOND_DOCKER}

    spans: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for rec in records.values():
        assert "start" in rec and "die" in rec, rec
        spans.setdefault((rec["daemon"], _device(rec["args"])), []).append(
            (rec["start"], rec["die"])
        )
    assert {d for d, _ in spans} == {"default", "second"}  # really spread across both daemons
    assert set(spans) == {(d, g) for d in ("default", "second") for g in ("0", "1")}
    assert sum(len(s) for s in spans.values()) == 16  # 8 builds + 8 accuracy runs
    for slot, intervals in spans.items():  # one container at a time on each slot
        intervals.sort()
        for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert end <= start, f"two containers at once on {slot}"
    every = sorted(t for s in spans.values() for t in s)
    overlapping = any(b[0] < a[1] for a, b in zip(every, every[1:], strict=False))
    assert overlapping  # and slots did run at the same time
    assert not _ours(docker_client) and not _ours(second_docker[0])


@pytest.mark.docker
def test_cancel_stops_every_container(
    docker_client, trtexec_image, second_docker, tmp_path, docker_settings
):
    from accuracy_helpers import linear_model
    from conftest import SECOND_DOCKER

    onnx = linear_model(tmp_path / "model-slow.onnx")  # the test image sleeps 60 s on it
    times = ContainerTimes({"default": docker_client, "second": second_docker[0]})
    handle = start_sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[0, 1, 2, 3],
                         images=[trtexec_image], hosts=[None, SECOND_DOCKER], gpus=[0, 1],
                         container_gpus="none", cache=False, outdir=tmp_path / "sweep")  # fmt: skip
    four = times.wait_for(lambda t: len(t.running()) == 4, timeout=60)  # one per slot
    assert four, f"four builds never ran at once: {times.records}"
    assert {r["daemon"] for r in times.running()} == {"default", "second"}
    started = time.monotonic()
    handle.cancel()
    result = handle.wait(45)
    assert handle.done and time.monotonic() - started < 45  # not the 60 s of the builds
    assert [r.status for r in result.rows] == ["cancelled"] * 8
    assert len(times.stop(expected=4)) == 4  # the four running builds died; no other started
    assert not _ours(docker_client) and not _ours(second_docker[0])  # none left (trt_magic=1)


@pytest.mark.docker
def test_resumed_sweep_comes_from_the_engine_cache(
    docker_client, trtexec_image, tmp_path, docker_settings
):
    from accuracy_helpers import linear_model

    onnx = linear_model(tmp_path / "model-fixed1.onnx")
    options = dict(precisions=["fp32", "fp16"], opt_levels=[3], images=[trtexec_image],
                   gpus=[0, 1], container_gpus="none", display=False,
                   outdir=tmp_path / "sweep")  # fmt: skip
    first = sweep(onnx, **options)
    assert [r.status for r in first.rows] == ["passed", "passed"]
    assert not any(r.cached for r in first.rows)
    times = ContainerTimes({"default": docker_client})
    again = sweep(onnx, **options)
    assert [r.status for r in again.rows] == ["passed", "passed"]
    assert all(r.cached for r in again.rows)
    assert times.stop() == {}  # no container ran: the engine cache answered


@pytest.mark.docker
def test_a_variant_that_cannot_run_is_reported_in_its_row(
    docker_client, trtexec_image, tmp_path, docker_settings
):
    from accuracy_helpers import linear_model

    onnx = linear_model(tmp_path / "model.onnx")
    result = sweep(onnx, precisions=["fp16"], routes=[None, "-match_ragged_mha=[on|off]"],
                   images=[trtexec_image], gpus=["none"], display=False,
                   outdir=tmp_path / "sweep")  # fmt: skip
    rows = {r.variant.route: r for r in result.rows}
    assert rows[None].status == "passed"
    bad = rows["-match_ragged_mha=[on|off]"]
    assert bad.status == "failed" and "--tuneBuildRoutes" in bad.error
    assert "TensorRT 11" in bad.error


def test_start_sweep_is_the_widget_hook(tmp_path):
    """What the widgets' sweep mode calls: non-blocking, on_change per row, cancel()."""
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"onnx")
    seen = []
    fp32_running = threading.Event()

    def runner(args, **options):
        options["cancel"].wait(30)  # a build that runs until cancelled
        return SimpleNamespace(ok=False, exit_code=None, status="interrupted", cached=False,
                               files={}, summary={}, read_log=lambda: "")  # fmt: skip

    def on_change(result, row):
        seen.append((row.variant.label, row.status))
        if (row.variant.label, row.status) == ("fp32", "running"):
            fp32_running.set()

    handle = start_sweep(onnx, precisions=["fp32", "fp16", "best"], runner=runner,
                         outdir=tmp_path / "out", on_change=on_change)  # fmt: skip
    assert fp32_running.wait(10), seen
    assert not handle.done
    assert "running" in handle.result._repr_html_()
    handle.cancel()
    result = handle.wait(10)
    assert handle.done and [r.status for r in result.rows] == ["cancelled"] * 3
    assert ("fp16", "cancelled") in seen and ("best", "cancelled") in seen


def test_sweep_is_callable_in_every_import_order(tmp_path):
    import subprocess
    import sys

    code = (
        "import trt_magic.sweeps\n"  # the package first: it must not shadow the function
        "from trt_magic import sweep\n"
        "from types import SimpleNamespace as NS\n"
        f"onnx = {str(tmp_path / 'm.onnx')!r}\n"
        "open(onnx, 'wb').write(b'x')\n"
        "run = lambda args, **o: NS(ok=True, exit_code=0, status='passed', cached=False,"
        " files={}, summary={}, read_log=lambda: '')\n"
        f"r = sweep(onnx, precisions=['fp16'], runner=run, display=False, outdir={str(tmp_path / 'o')!r})\n"
        "print(r.rows[0].status)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "passed", out.stderr[-2000:]


@pytest.mark.browser
def test_the_html_table_sorts_on_a_header_click(browser):
    slots = [Slot(None, "0")]
    sched, _ = _scheduler(slots, _FakeBuild(seconds=0))
    sched.add(full_variants(_axes(opt_levels=[3])))
    sched.run()
    for r, (lat, size) in zip(sched.rows, [(3.0, 40.0), (1.5, 20.0), (1.0, 25.0)], strict=True):
        r.run.summary = {"gpu_compute_median_ms": lat, "engine_size_mib": size}
    html = render_html(SweepResult("m.onnx", "full", slots, rows=sched.rows))
    page = browser.new_page()
    try:
        page.set_content(html)

        def order():
            return page.eval_on_selector_all(
                "tbody tr", "rs => rs.map(r => r.cells[1].textContent)"
            )

        assert order() == ["fp32", "fp16", "best"]
        page.click("th:has-text('latency_ms')")
        assert order() == ["best", "fp16", "fp32"]
        page.click("th:has-text('latency_ms')")  # again: descending
        assert order() == ["fp32", "fp16", "best"]
        page.click("th:has-text('engine_mib')")
        assert order() == ["fp16", "best", "fp32"]
    finally:
        page.close()


def test_notebook_view_updates_one_display_in_place(monkeypatch):
    import IPython.display

    from trt_magic.sweeps.result import SweepView

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj.data)

    def display(obj, display_id=False):
        shown.append(obj.data)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    slots = [Slot(None, "0")]
    sched, _ = _scheduler(slots, _FakeBuild(seconds=0))
    sched.add(full_variants(_axes(opt_levels=[3])))
    result = SweepResult("m.onnx", "full", slots, rows=sched.rows)
    view = SweepView(result, mode="notebook")
    view.start()
    view.refresh()
    assert len(shown) == 1 and "0/3 done" in shown[0] and updates == []  # nothing changed yet
    sched.run()
    view.refresh()
    view.refresh()  # no change since: no second update
    assert len(updates) == 1 and "3/3 done (3 passed)" in updates[0]
