"""Optimization profiles of an engine, and the per-profile views behind ``Run``.

TensorRT names the layers and tensors of every optimization profile after the first with a
`` [profile N]`` suffix (NVIDIA/TensorRT tools/Polygraphy/examples/cli/inspect/
02_inspecting_a_tensorrt_engine/README.md: ``node_of_Y [profile 1]``; TREx trex/parser.py
``filter_profiles``). ``Run.layers`` shows one profile: the one asked for
(``run.shape_profile``), else the one the profile JSON timed, else profile 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .layer_match import shape_profile_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .run import Run


def _name(raw) -> str:
    return raw if isinstance(raw, str) else str(raw.get("Name", ""))


def profiles_of(run: Run) -> list[int]:
    """The optimization profiles the layer info (else the profile) has layers for."""
    names = [_name(r) for r in run.layer_info_raw] or [p.name for p in run.profile_records]
    if names and "[profile " not in "\n".join(names):  # one engine profile: no search per name
        return [0]
    return sorted({shape_profile_of(n) for n in names}) or [0]


def current_profile(run: Run) -> int:
    """``run.shape_profile``, else the profile with timings, else the first."""
    profiles = run.shape_profiles
    if run.shape_profile is not None:
        return run.shape_profile
    if len(profiles) == 1:
        return profiles[0]
    timed = [shape_profile_of(p.name) for p in run.profile_records]
    return max(profiles, key=lambda k: (timed.count(k), -k)) if timed else profiles[0]


def check_profile(run: Run, profile: int) -> None:
    from ..errors import UsageError

    profiles = run.shape_profiles
    if profile not in profiles:
        raise UsageError(f"the engine has no optimization profile {profile}",
                         hint=f"its profiles: {profiles}")  # fmt: skip


def profile_raw(run: Run, profile: int) -> list:
    """The ``--exportLayerInfo`` entries of one profile (all of them for one-profile engines)."""
    if len(run.shape_profiles) == 1:
        return run.layer_info_raw
    return [r for r in run.layer_info_raw if shape_profile_of(_name(r)) == profile]


def profile_records(run: Run, profile: int) -> list:
    """The profile JSON records of one profile."""
    records = run.profile_records
    if len(run.shape_profiles) == 1:
        return records
    return [p for p in records if shape_profile_of(p.name) == profile]


def layers_of(run: Run, profile: int) -> pd.DataFrame:
    """``Run.layers`` of one profile; ``attrs`` say which profile and which exist."""
    from .tables import layers_frame

    frame = layers_frame(run.profile_layer_info_raw(profile), profile_records(run, profile))
    frame.attrs["shape_profile"] = profile
    frame.attrs["shape_profiles"] = run.shape_profiles
    return frame


def layer_info_of(run: Run, profile: int) -> pd.DataFrame:
    """``Run.layer_info`` of one profile: the wide frame plus the profile's times."""
    from .layer_info import layer_info_frame
    from .tables import align

    frame = layer_info_frame(run.profile_layer_info_raw(profile))
    records = profile_records(run, profile)
    nan = float("nan")
    times = [p.average_ms for p in records]
    percents = [p.percent for p in records]
    matched = align(frame["Name"].tolist(), [p.name for p in records])
    if matched is not None:  # not in engine order: pick by (name, occurrence)
        index = matched[0]
        times = [times[j] if j >= 0 else nan for j in index]
        percents = [percents[j] if j >= 0 else nan for j in index]
    frame["time_ms"] = times if records else nan
    frame["percent"] = percents if records else nan
    return frame


def lint_of(run: Run) -> pd.DataFrame:
    """``Run.lint()``: the linters over the shown profile's layers with their times."""
    from .lint import findings_frame, lint_layers

    raw = run.profile_layer_info_raw()
    layers = run.layers
    n = len(raw)
    aligned = n and layers["name"].iloc[:n].tolist() == [_name(r) for r in raw]
    times = layers["time_ms"].iloc[:n].tolist() if aligned else None
    percents = layers["percent"].iloc[:n].tolist() if aligned else None
    return findings_frame(lint_layers(raw, times, percents, run.summary.get("precision")))
