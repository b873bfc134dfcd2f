"""Execute notebooks headless with nbclient and save the executed copies.

Usage: python scripts/execute_notebook.py NOTEBOOK... [--out DIR] [--timeout S] [--html]

A cell tagged ``raises-exception`` may fail (the lessons show errors on purpose); any other cell
error stops the run, prints the failing cell, and exits non-zero. The executed copy is written
either way, so the failure can be read in place. It keeps the widgets' state (they render, as saved,
with no kernel) and is signed as trusted for this user, as `jupyter trust` would: the user made it,
so its HTML and scripts (the engine graph, the report's layout) show when it is opened later.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path


def execute(
    path: Path,
    out_dir: Path,
    timeout: int,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
):
    """Run every cell of ``path`` in a fresh kernel; write the copy to ``out_dir``; return it.

    Args:
        path: the notebook to run (read only; never rewritten in place).
        out_dir: where the executed copy goes (same file name).
        timeout: seconds one cell may take.
        env: extra environment variables for the kernel (on top of this process's).
        cwd: the kernel's working folder; the notebook's own folder by default, so relative
            paths in the notebook mean what they mean when a person opens it.

    Returns:
        The executed notebook (an ``nbformat.NotebookNode``).

    Raises:
        nbclient.exceptions.CellExecutionError: a cell not tagged ``raises-exception`` failed.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    folder = Path(cwd) if cwd is not None else path.parent
    km = _ipc_kernel_manager()
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,  # widgets render from the saved state once the kernel is gone
    )
    kernel_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    try:
        client.execute(env=kernel_env)
    finally:
        if km is not None and km.has_kernel:
            km.shutdown_kernel()  # ours, not nbclient's: stop it (and remove its sockets)
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / path.name
        nbformat.write(nb, out)
        trust(out)
        print(f"executed {path} in {time.perf_counter() - started:.1f} s -> {out}")
    return nb


def trust(path: Path) -> None:
    """Sign the notebook at ``path`` for this user (what `jupyter trust path` does)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    NotebookNotary().sign(nbformat.read(path, as_version=4))


def _ipc_kernel_manager():
    """A kernel on local IPC sockets in Jupyter's runtime folder (POSIX), else None (TCP).

    Over TCP ipykernel warns that it "is running over TCP without encryption" in every run.
    """
    if os.name != "posix":
        return None
    import uuid

    from jupyter_client.manager import KernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    Path(jupyter_runtime_dir()).mkdir(parents=True, exist_ok=True)
    ip = os.path.join(jupyter_runtime_dir(), f"trt-magic-ipc-{uuid.uuid4().hex[:8]}")
    return KernelManager(kernel_name="python3", transport="ipc", ip=ip)


def export_html(path: Path, out: Path) -> Path:
    """Write the notebook at ``path`` as one HTML file that renders offline, with no kernel.

    Widgets render from the notebook's saved state by the vendored @jupyter-widgets/html-manager
    (``trt_magic/data/widgets_embed/``, inlined: nbconvert would fetch it from a CDN); the engine
    graph and the reports are in the outputs already.
    """
    import base64
    from importlib import resources

    from nbconvert import HTMLExporter

    embed = resources.files("trt_magic").joinpath("data", "widgets_embed", "embed.js")
    url = "data:text/javascript;base64," + base64.b64encode(embed.read_bytes()).decode("ascii")
    body, _ = HTMLExporter(widget_renderer_url=url).from_filename(str(path))
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("notebooks/executed"))
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument(
        "--html", action="store_true", help="also write NAME.html beside it (opens offline)"
    )
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    for nb in args.notebooks:
        try:
            execute(nb, args.out, args.timeout)
        except CellExecutionError as exc:
            print(
                f"\n{nb}: a cell failed (open {args.out / nb.name} to see it)\n{exc}",
                file=sys.stderr,
            )
            return 1
        if args.html:
            html = export_html(args.out / nb.name, args.out / (nb.stem + ".html"))
            print(f"offline HTML copy -> {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
