"""The command the editor stands for, as text a user can copy: the ``%trtexec`` line and the
equivalent ``docker run ... trtexec`` line. Pure functions (no widgets) so tests read them."""

from __future__ import annotations

import html
import os
import shlex
from collections.abc import Sequence


def magic_line(args: Sequence[str]) -> str:
    """``%trtexec --onnx=... --saveEngine=...`` (``args`` include ``--onnx=``)."""
    return "%trtexec " + shlex.join(args)


def docker_line(args: Sequence[str], image: str, gpus: str = "all") -> str:
    """The ``docker run`` command that runs the same trtexec by hand.

    Built by the runner's own ``trtexec/command.py`` (the mounts and container paths a run
    uses), with ``--user`` so the engine and JSON files stay the user's, not root's.
    """
    from ..commandline.command import docker_run_command, format_command, plan_paths
    from ..config import get_settings

    plan = plan_paths(list(args), get_settings().resolve_path, temp_engines=False)
    user = f"{os.getuid()}:{os.getgid()}" if hasattr(os, "getuid") else None
    return format_command(docker_run_command(image, plan, gpus=gpus, user=user))


def preview_html(magic: str, docker: str, problems: Sequence[str] = ()) -> str:
    """Both lines in selectable ``<pre>`` blocks; problems (not applied) above them in red."""
    pre = (
        "<pre class='trt-preview-{cls}' style='user-select:text;-webkit-user-select:text;"
        "white-space:pre-wrap;word-break:break-all;margin:2px 0;padding:6px;"
        "background:#f6f8fa;border:1px solid #ddd;border-radius:4px;font-size:12px'>{text}</pre>"
    )
    warning = ""
    if problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        warning = (
            "<div class='trt-preview-problems' style='color:#d62728'>Not applied (the command "
            f"below is the last valid one):<ul style='margin:0'>{items}</ul></div>"
        )
    return (
        warning
        + "<div style='font-size:12px;color:#555'>notebook:</div>"
        + pre.format(cls="magic", text=html.escape(magic))
        + "<div style='font-size:12px;color:#555'>shell:</div>"
        + pre.format(cls="docker", text=html.escape(docker))
    )
