"""``%trtexec``: run the real trtexec (a thin shell over :func:`trt_magic.runners.trtexec`)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments


@magic_arguments()
@argument("--image", help="TensorRT container image (default: %%config TrtMagic.image)")
@argument("--gpus", help="'all', 'none', N (= device=N) or 'N,M' (default: TrtMagic.gpus)")
@argument(
    "--backend",
    choices=("auto", "docker", "local", "replay"),
    help="where trtexec runs (default: TrtMagic.backend, 'auto': a GPU Docker host, else trtexec on PATH)",
)
@argument("--timeout", type=float, help="stop trtexec after this many seconds")
@argument("--no-cache", action="store_true", help="build even if the engine cache has this run")
@argument("--name", help="also store the run in this variable")
@argument("--check-accuracy", action="store_true", help="then compare the engine with ONNX Runtime")
@argument("--rtol", type=float, default=1e-3, help="relative tolerance for --check-accuracy")
@argument("--atol", type=float, default=1e-3, help="absolute tolerance for --check-accuracy")
def trtexec(self, line, cell=None):
    """Run trtexec with the given flags (in the TensorRT container by default); return the run.

    Every option not listed here goes to trtexec verbatim, so a command pasted from a tutorial
    works: ``%trtexec --onnx=model.onnx --saveEngine=model.plan --fp16``. ``{var}`` expands
    Python variables. The same as ``trt_magic.trtexec(flags, image=..., gpus=..., ...)``.
    """
    from ..commandline.command import split_words
    from ..runners import trtexec as run_trtexec

    opts, flags = trtexec.parser.parse_known_args(split_words(line))
    run = run_trtexec(
        flags,
        image=opts.image,
        gpus=opts.gpus,
        backend=opts.backend,
        timeout=opts.timeout,
        cache=not opts.no_cache,
    )
    if opts.name:
        self.shell.user_ns[opts.name] = run
    if opts.check_accuracy:
        _check_accuracy(run, flags, opts)
    return run


def _check_accuracy(run, flags, opts) -> None:
    from IPython.display import display

    from ..accuracy import check_accuracy
    from ..commandline.command import flag_value
    from ..errors import UsageError

    onnx = flag_value(flags, "--onnx")
    if not onnx:
        raise UsageError("--check-accuracy needs --onnx=... to compare against.")
    display(check_accuracy(run, onnx, rtol=opts.rtol, atol=opts.atol))


# trtexec's own flags must never be taken for abbreviations of ours (argparse's prefix matching)
trtexec.parser.allow_abbrev = False
