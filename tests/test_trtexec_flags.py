"""The flag table: read from the real --help texts of 8.6.1 / 10.0.1 / 10.6.0 / 10.16.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from trt_magic.commandline import flags


@pytest.mark.parametrize("version", sorted(flags.HELP_FILES))
def test_help_texts_are_the_real_ones(version, data_dir):
    shipped = (
        Path(flags.__file__).parent.parent / "data" / "trtexec_help" / flags.HELP_FILES[version]
    )
    assert shipped.read_bytes() == (data_dir / "trtexec" / shipped.name).read_bytes()
    banner = shipped.read_text().splitlines()[0]
    tag = {"8.6.1": "v8601", "10.0.1": "v100001", "10.6.0": "v100600", "10.16.1": "v101601"}[
        version
    ]
    assert f"[TensorRT {tag}]" in banner  # the file is the help of the version it is named by
    found = flags.help_flags(version)
    assert {"--onnx", "--saveEngine", "--fp16", "--exportProfile", "--help", "-h"} <= found


@pytest.mark.parametrize(
    ("flag", "version", "known"),
    [
        ("--workspace", "8.6.1", True),  # listed in 8.6.1's help
        ("--workspace=4096", "10.0.1", False),  # gone in 10.0.1's help
        ("--maxBatch", "10.16.1", False),
        ("--stronglyTyped", "8.6.1", False),  # new in 10.0.1
        ("--stronglyTyped", "10.0.1", True),
        ("--int4", "10.0.1", False),  # new in 10.6.0
        ("--int4", "10.6.0", True),
        ("--int4", "10.16.1", True),
        ("--vc", "10.6.0", True),  # the alias of --versionCompatible
        (
            "--plugins",
            "10.16.1",
            True,
        ),  # unlisted but accepted (log-10.16.1-plugins-deprecated-flag.log)
        ("--explicitBatch", "10.16.1", False),
        ("--explicitBatch", "7.1", True),  # log-7.x-resnet50-onnx-explicitBatch-notebook.log
        ("--fp16", None, True),
        ("--noSuchFlag", None, False),
    ],
)
def test_flag_known(flag, version, known):
    assert flags.flag_known(flag, version) is known


def test_versions_between_help_texts_accept_what_either_does():
    # 10.3 lies between 10.0.1 (no --int4) and 10.6.0 (--int4): not refused on no evidence
    assert flags.flag_known("--int4", "10.3")
    assert not flags.flag_known("--workspace", "10.3")  # in neither 10.0.1 nor 10.6.0
    assert flags.flag_versions("--workspace") == ["8.6.1"]


@pytest.mark.parametrize(
    ("arg", "new"),
    [
        ("--workspace=4096", "--memPoolSize=workspace:4096"),
        ("--buildOnly", "--skipInference"),
        ("--explicitBatch", None),
        ("--plugins=lib.so", "--staticPlugins=lib.so"),
    ],
)
def test_replacements(arg, new):
    got, why = flags.replacement_for(arg)
    assert got == new and why


def test_check_flags_names_the_replacement_for_the_images_version():
    notes = flags.check_flags(["--onnx=m.onnx", "--workspace=2048", "--fp61"], "10.16.1")
    assert any("--memPoolSize=workspace:2048" in n and "does not know" in n for n in notes)
    assert any("did you mean --fp16" in n for n in notes)
    assert not any(n.startswith("--onnx") for n in notes)
    # in 8.6 --workspace still works: a deprecation note, not "does not know"
    notes86 = flags.check_flags(["--workspace=2048"], "8.6.1")
    assert notes86 and "does not know" not in notes86[0]


def test_file_flags_cover_every_file_flag_of_the_help_texts():
    # every "=<file>" flag of every help text is in the table (the help marks them so)
    for version, name in flags.HELP_FILES.items():
        text = (Path(flags.__file__).parent.parent / "data" / "trtexec_help" / name).read_text()
        for line in text.splitlines():
            if line.startswith("  --") and "=<file>" in line.split()[0]:
                flag = line.split()[0].split("=")[0]
                assert flag in flags.FILE_FLAGS, (version, flag)
    assert flags.FILE_FLAGS["--saveEngine"].direction == "output"
    assert flags.FILE_FLAGS["--onnx"].direction == "input"
    assert flags.FILE_FLAGS["--timingCacheFile"].direction == "inout"
