"""Which precisions and options the target TensorRT version knows (for enabling toggles).

Asks ``trt_magic.commandline.flags.flag_known`` (built from the real ``--help`` texts); when that
cannot answer, falls back to the first versions seen in those texts
(tests/data/trtexec/help-trtexec-{8.6.1,10.0.1,10.6.0,10.16.1}.txt, checked by
tests/test_widgets.py).
"""

from __future__ import annotations

from ..spec import HARDWARE_COMPAT, Precision

#: flag -> the first --help text it appears in (used only when flags.py cannot answer)
FIRST_SEEN = {
    "--fp16": "8.6",
    "--int8": "8.6",
    "--best": "8.6",
    "--fp8": "8.6",
    "--noTF32": "8.6",
    "--bf16": "10.0",
    "--stronglyTyped": "10.0",
    "--builderOptimizationLevel": "8.6",
    "--hardwareCompatibilityLevel": "8.6",
}
#: hardware compatibility level -> first --help listing it ("sameComputeCapability": 10.16.1,
#: absent from 10.6.0)
COMPAT_FIRST_SEEN = {"none": "8.6", "ampere+": "8.6", "sameComputeCapability": "10.16"}


#: precision flags TensorRT 11 removed that a build turns into a model rewrite
REWRITTEN_ON_11 = ("--fp16", "--bf16", "--int8", "--fp8", "--best")


def _is_11(trt_version: str | None) -> bool:
    return bool(trt_version) and version_tuple(trt_version)[:1] >= (11,)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


def flag_available(flag: str, trt_version: str | None) -> bool:
    """True when trtexec of ``trt_version`` takes ``flag`` (unknown version: True)."""
    if not trt_version:
        return True
    try:
        from ..commandline.flags import flag_known

        return bool(flag_known(flag, trt_version))
    except Exception:  # flags.py absent or unable to answer: use what the help texts showed
        first = FIRST_SEEN.get(flag)
        return first is None or version_tuple(trt_version) >= version_tuple(first)


def precision_reasons(trt_version: str | None, image: str) -> dict[Precision, str | None]:
    """Precision -> None when usable, else the reason it is not (the toggle's tooltip)."""
    reasons: dict[Precision, str | None] = {}
    for precision in Precision:
        flag = precision.flag
        if flag in REWRITTEN_ON_11 and _is_11(trt_version):
            reasons[precision] = None  # the build rewrites the model (commandline.precision)
        elif flag is None or flag_available(flag, trt_version):
            reasons[precision] = None
        else:
            since = FIRST_SEEN.get(flag)
            reasons[precision] = (
                f"{flag} is not a flag of trtexec in TensorRT {trt_version} ({image})"
                + (f"; it arrives in TensorRT {since}" if since else "")
                + ". Pick a newer image to use it."
            )
    return reasons


def compat_levels(trt_version: str | None) -> list[str]:
    """The hardware compatibility levels ``trt_version`` accepts (unknown version: all)."""
    if not trt_version:
        return list(HARDWARE_COMPAT)
    have = version_tuple(trt_version)
    return [m for m in HARDWARE_COMPAT if have >= version_tuple(COMPAT_FIRST_SEEN[m])]


def target_version(image: str, trt_version: str | None = None) -> str | None:
    """The TensorRT version to target: given, else the image's (tag table or an earlier run)."""
    if trt_version:
        return trt_version
    from ..config import get_settings
    from ..tensorrt import image_tensorrt

    # the tag table, or what an earlier run of this image stated (its environment or banner)
    return image_tensorrt(image, cache_dir=get_settings().cache_dir).version
