"""The local test image: a busybox-static rootfs whose ``trtexec`` replays REAL trtexec outputs.

No registry is reachable in CI, so the image is a ``docker import`` of a tarball built here:
``/bin/busybox`` (Debian's busybox-static) with its applets linked, ``/usr/bin/trtexec`` (the
shell script below) and ``/data/`` holding real files from ``tests/data/trtexec`` and
``tests/data/trex`` (provenance in tests/data/SOURCES.md). The tag is a hash of the content plus
this test run's id: every run imports its own copy (a few MB, under a second) and removes it at the
end (``remove_test_image``), so the Docker host keeps nothing and concurrent runs never remove an
image another run still uses.

The fake trtexec reads its flags like trtexec does (``--name=value``), so a wrong path mapping
fails: ``--onnx``, ``--loadEngine``, ``--timingCacheFile`` (when present), ``--calib``, plugin
libraries and ``--loadInputs`` files must be readable at the path given; outputs are written at
the path given. Unreadable input: a message on stderr and exit 2 (not a trtexec log).

Scenario, chosen by the ONNX (or ``--loadEngine``) file NAME:
- contains ``fail``: prints log-10.16.0-FAILED-custom-op-plugin-not-found.log, exits 1, writes
  no output (as that real failed build did);
- contains ``slow``: writes half an engine, prints the first 40 lines of
  log-10.16.1-onnx-default-run.log, then sleeps 60 s (for interrupt and timeout tests);
- contains ``huge``: prints log-8.6.1-segformer-build-verbose-workspace-plugin.log (a real 18,331
  line ``--verbose`` build) ten times over (183,310 lines), then succeeds;
- otherwise: success. With ``--loadEngine`` it prints log-10.16.1-dumpProfile-exportProfile.log,
  else log-10.16.1-onnx-default-run.log; exits 0.
On success it writes what the flags ask for: ``--saveEngine`` gets the bytes of the ONNX it read
(not a real engine: none is shipped; the test compares the bytes to prove both mappings),
``--exportProfile`` / ``--exportLayerInfo`` / ``--exportTimes`` the real TREx A100 FP32 ResNet-18
profile and graph JSON and the RTX 3090 timing JSON, ``--timingCacheFile`` / ``--calib`` are
created when missing. ``--exportOutput`` is not written: no real ``--exportOutput`` file is in
the fixtures.

The TensorRT 11 variant (issue 17, ``build_test_image(client, "11")``): the same image with
``ENV TRT_VERSION=11.1.0`` (as NVIDIA's images state their version; variant "8.6" states 8.6.1) and a trtexec that refuses
every flag TensorRT 11.0 removed (``trt_magic.commandline.flags.REMOVED_IN_11``, read off
sampleOptions.cpp at NVIDIA/TensorRT v11.0): a message on stderr naming the flag and exit 1.
That message is the fake's own, not a trtexec log: no real 11.x log is public. Otherwise it
behaves as above (it replays the real 10.16.1 logs; the image environment is what says 11.x).

Added for external data (issue 21), chosen by the ONNX file's NAME: ``withdata``: the model's
``<name>.data`` must be readable beside it (else exit 2); ``rodata``: it must not be writable
(else exit 4: a bind mount that is not read-only).

Added for the accuracy check and sweeps (issue 9), chosen by NAME too:
- ``fixed<N>`` in the ONNX file's base name: the build sleeps N seconds first (a build of fixed
  time, for sweep scheduling tests and benchmarks/bench_sweep.py), then succeeds as above;
- ``identity`` in the ``--loadEngine`` path with ``--exportOutput``: the "engine" computes y = x
  for a model whose one input ``x`` and one output ``y`` are float32: it reads the first
  ``--loadInputs`` file as float32 (``od``), and writes ``y`` with the dims of ``--shapes`` (else
  the element count) in the layout of trtexec's ``exportJSONOutput`` (tests/data/SOURCES.md,
  "--exportOutput"; values with awk's ``%g``, 6 significant digits like C++'s ``os << float``);
  with ``perturbed`` in the path too, 0.5 is added to every value (an engine past tolerance).
  Every ``--loadInputs`` file must be readable where the flag says.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tarfile
from pathlib import Path

DATA = Path(__file__).parent / "data"
REPOSITORY = "trt_magic-test/trtexec"
#: this test run (its pid, then random): its images carry it in their tag, "-run<pid>p<hex>"
RUN_ID = f"{os.getpid()}p{secrets.token_hex(3)}"
_STALE = re.compile(r"-?run(\d+)p[0-9a-f]+$")
_swept: set[int] = set()
BUSYBOX = Path("/bin/busybox")
APPLETS = [
    "sh", "cat", "cp", "head", "sleep", "mkdir", "touch", "test", "[", "echo", "printf",
    "id", "ls", "rm", "seq", "dd", "dirname", "true", "false",
    "od", "awk",  # issue 9: the identity engine of the accuracy scenario
]  # fmt: skip

#: image path -> file under tests/data
FILES = {
    "/data/default.log": "trtexec/log-10.16.1-onnx-default-run.log",
    "/data/profile-run.log": "trtexec/log-10.16.1-dumpProfile-exportProfile.log",
    "/data/failed.log": "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log",
    "/data/huge.log": "trtexec/log-8.6.1-segformer-build-verbose-workspace-plugin.log",
    "/data/profile.json": "trex/A100-fp32/resnet.onnx.engine.profile.json",
    "/data/layer_info.json": "trex/A100-fp32/resnet.onnx.engine.graph.json",
    "/data/times.json": "trtexec/trex-tf-resnet50-rtx3090-fp32.timing.json",
}

TRTEXEC = r"""#!/bin/sh
# Fake trtexec of the trt_magic test image: see tests/docker_image.py for what it does.
onnx=""; engine_in=""; save=""; profile=""; layers=""; times=""; tcache=""; calib=""
need=""
for arg in "$@"; do
  case "$arg" in
    --onnx=*) onnx="${arg#--onnx=}" ;;
    --loadEngine=*) engine_in="${arg#--loadEngine=}" ;;
    --saveEngine=*) save="${arg#--saveEngine=}" ;;
    --exportProfile=*) profile="${arg#--exportProfile=}" ;;
    --exportLayerInfo=*) layers="${arg#--exportLayerInfo=}" ;;
    --exportTimes=*) times="${arg#--exportTimes=}" ;;
    --timingCacheFile=*) tcache="${arg#--timingCacheFile=}" ;;
    --calib=*) calib="${arg#--calib=}" ;;
    --plugins=*|--staticPlugins=*|--dynamicPlugins=*|--leanDLLPath=*) need="${arg#*=}" ;;
    --exportOutput=*) expout="${arg#--exportOutput=}" ;;
    --loadInputs=*) loadin="${arg#--loadInputs=}" ;;
    --shapes=*) shapes="${arg#--shapes=}" ;;
  esac
done
check() {  # check FLAG PATH: the input must be readable where the flag says
  if [ -n "$2" ] && ! cat -- "$2" > /dev/null 2>&1; then
    echo "fake trtexec: cannot read $1=$2 (wrong path mapping?)" >&2
    exit 2
  fi
}
check --onnx "$onnx"; check --loadEngine "$engine_in"; check --plugins "$need"
if [ -n "$tcache" ] && [ -e "$tcache" ]; then check --timingCacheFile "$tcache"; fi
name="${onnx##*/}${engine_in##*/}"  # the file NAME picks the scenario
rest="$loadin"
while [ -n "$rest" ]; do  # every --loadInputs file (name:file,name:file) must be readable
  item="${rest%%,*}"; check --loadInputs "${item##*:}"
  case "$rest" in *,*) rest="${rest#*,}" ;; *) rest="" ;; esac
done
case "${onnx##*/}" in  # issue 21: the model's <name>.data must be beside it (read-only)
  *withdata*) check "--onnx's external data" "$onnx.data" ;;
esac
case "${onnx##*/}" in
  *rodata*) if touch -- "$onnx.data" 2>/dev/null; then
      echo "fake trtexec: $onnx.data is writable (an input must be read-only)" >&2; exit 4; fi ;;
esac
case "${onnx##*/}" in
  *fixed[0-9]*) t="${onnx##*/}"; t="${t#*fixed}"; sleep "${t%%[!0-9]*}" ;;
esac
case "$name" in
  *fail*) cat /data/failed.log; exit 1 ;;
  *slow*)
    if [ -n "$save" ]; then head -c 4096 -- "$onnx" > "$save"; fi
    head -n 40 /data/default.log; sleep 60; exit 0 ;;
  *huge*) for i in 1 2 3 4 5 6 7 8 9 10; do cat /data/huge.log; done ;;
  *) if [ -n "$engine_in" ]; then cat /data/profile-run.log; else cat /data/default.log; fi ;;
esac
if [ -n "$save" ]; then cat -- "$onnx" > "$save" || exit 3; fi
if [ -n "$profile" ]; then cp /data/profile.json "$profile" || exit 3; fi
if [ -n "$layers" ]; then cp /data/layer_info.json "$layers" || exit 3; fi
if [ -n "$times" ]; then cp /data/times.json "$times" || exit 3; fi
if [ -n "$tcache" ] && [ ! -e "$tcache" ]; then touch -- "$tcache" || exit 3; fi
if [ -n "$calib" ] && [ ! -e "$calib" ]; then touch -- "$calib" || exit 3; fi
case "$expout:$engine_in" in
  ?*:*identity*)
    add=0; case "$engine_in" in *perturbed*) add=0.5 ;; esac
    first="${loadin%%,*}"; dims="${shapes#*:}"; dims="${dims%%,*}"
    od -An -v -tf4 "${first##*:}" | awk -v dims="$dims" -v add="$add" '
      { for (i = 1; i <= NF; i++) v[n++] = $i + add }
      END { if (dims == "") dims = n
        printf "[\n  { \"name\" : \"y\"\n  , \"dimensions\" : \"%s\"\n  , \"values\" : [ ", dims
        for (i = 0; i < n; i++) printf "%s%g", (i ? ", " : ""), v[i]
        printf " ]\n  }\n]\n" }' > "$expout" || exit 3 ;;
esac
exit 0
"""


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, **kw) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.mtime = 0
    for key, value in kw.items():
        setattr(info, key, value)
    if data is None:
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


#: variants: the environment NVIDIA's images set (TRT_VERSION); "11" also refuses removed flags
VARIANT_ENV = {"10": None, "11": ["ENV TRT_VERSION=11.1.0"], "8.6": ["ENV TRT_VERSION=8.6.1"]}


def trtexec_11() -> str:
    """The fake trtexec of the 11.x variant: refuse what TensorRT 11.0 removed, then as usual."""
    from trt_magic.commandline.flags import REMOVED_IN_11

    removed = "|".join(sorted(REMOVED_IN_11))
    refuse = (
        "#!/bin/sh\n"
        "# TensorRT 11.x variant (tests/docker_image.py): removed flags are refused\n"
        'for arg in "$@"; do\n'
        f'  case "${{arg%%=*}}" in\n    {removed})\n'
        '      echo "fake trtexec (TensorRT 11 test image): Unknown option: ${arg%%=*}'
        ' (removed in TensorRT 11.0)" >&2; exit 1 ;;\n'
        "  esac\ndone\n"
    )
    return refuse + TRTEXEC.split("\n", 1)[1]


def rootfs_tar(trtexec: str = TRTEXEC) -> bytes:
    """The image's root filesystem as a tar (deterministic: same content, same bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "usr", "usr/bin", "data", "etc"):
            _add(tar, d, type=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "tmp", type=tarfile.DIRTYPE, mode=0o1777)
        _add(tar, "bin/busybox", BUSYBOX.read_bytes(), mode=0o755)
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", type=tarfile.SYMTYPE, linkname="busybox", mode=0o777)
        _add(tar, "usr/bin/trtexec", trtexec.encode(), mode=0o755)
        for target, source in FILES.items():
            _add(tar, target, (DATA / source).read_bytes(), mode=0o644)
    return buf.getvalue()


def build_test_image(client, variant: str = "10") -> str:
    """Import the test image on ``client``'s daemon (once per content); return its tag.

    ``variant`` "11" is the TensorRT 11.x image (see the module docstring); "8.6" the usual one
    stating ``TRT_VERSION=8.6.1``; "10" (default) states no version.
    """
    import docker

    data = rootfs_tar(trtexec_11()) if variant == "11" else rootfs_tar()
    changes = VARIANT_ENV[variant]
    digest = hashlib.sha256(data + repr(changes).encode()).hexdigest()[:12]
    tag = f"{REPOSITORY}:{digest}-run{RUN_ID}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    if id(client) not in _swept:
        _swept.add(id(client))
        sweep_stale_images(client)
    repo, _, version = tag.partition(":")
    client.api.import_image_from_data(data, repository=repo, tag=version, changes=changes)
    client.images.get(tag)  # raises if the import did not take
    return tag


def sweep_stale_images(client) -> list[str]:
    """Remove test images of runs whose pytest process is gone (killed before its teardown)."""
    stale = []
    for image in client.images.list(name="trt_magic-test/*"):
        for tag in image.tags:
            match = _STALE.search(tag.rpartition(":")[2])
            if match and not _alive(int(match.group(1))):
                stale.append(tag)
    for tag in stale:
        remove_test_image(client, tag)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_test_image(client, tag: str) -> None:
    """Remove the image ``tag`` names (this run's own import) and the containers made from it.

    By image id, not by tag: every other name this run gave it (a tag pushed to the test
    registry, the digest of a pull back) goes with it, so no ``<none>`` image is left. The id is
    this run's alone: an import records its own creation time.
    """
    import docker

    try:
        image_id = client.images.get(tag).id
    except docker.errors.ImageNotFound:
        return
    for c in client.api.containers(all=True, filters={"ancestor": image_id}):
        try:
            client.api.remove_container(c["Id"], force=True)
        except docker.errors.APIError:  # already gone
            pass
    try:
        client.images.remove(image_id, force=True)
    except docker.errors.ImageNotFound:
        pass


def local_trtexec(folder: Path, data_dir: Path) -> Path:
    """The fake trtexec as a host program in ``folder/bin`` (its real outputs in ``folder/data``)."""
    import shutil

    bindir, store = folder / "bin", folder / "data"
    bindir.mkdir(parents=True, exist_ok=True)
    store.mkdir(parents=True, exist_ok=True)
    for target, source in FILES.items():
        shutil.copyfile(data_dir / source, store / Path(target).name)
    exe = bindir / "trtexec"
    exe.write_text(TRTEXEC.replace("/data/", f"{store}/"))
    exe.chmod(0o755)
    return exe
