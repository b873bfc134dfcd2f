"""spec.py: shape profiles, precisions and BuildSpec <-> trtexec flags."""

from __future__ import annotations

import json
import re

import pytest

from trt_magic.errors import UsageError
from trt_magic.spec import (
    BuildSpec,
    Precision,
    ShapeProblem,
    ShapeProfile,
    ShapeRange,
    format_shape,
    parse_shapes,
)

HELP_VERSIONS = ("8.6.1", "10.0.1", "10.6.0", "10.16.1")


def help_flags(data_dir, version: str) -> set[str]:
    text = (data_dir / "trtexec" / f"help-trtexec-{version}.txt").read_text()
    return set(re.findall(r"^\s+(--[A-Za-z0-9]+)", text, flags=re.M))


def resnet_profile() -> ShapeProfile:
    return ShapeProfile(
        dims={"IMAGES": ("batch", 3, 224, 224)},
        ranges={"IMAGES": ShapeRange((1, 3, 224, 224), (8, 3, 224, 224), (16, 3, 224, 224))},
        dtypes={"IMAGES": "float32"},
    )


def test_classic_recipe_flags():
    # the FP16 command of the classic resnet50 recipe, plus the exports we always ask for
    spec = BuildSpec(
        "/models/resnet50.onnx",
        profile=resnet_profile(),
        precisions=(Precision.FP16,),
        opt_level=5,
        hardware_compat="ampere+",
        input_formats="fp32:chw",
    )
    assert spec.to_args() == [
        "--onnx=/models/resnet50.onnx",
        "--saveEngine=/models/resnet50_FP16_AMPERE+.plan",
        "--minShapes=IMAGES:1x3x224x224",
        "--optShapes=IMAGES:8x3x224x224",
        "--maxShapes=IMAGES:16x3x224x224",
        "--fp16",
        "--builderOptimizationLevel=5",
        "--hardwareCompatibilityLevel=ampere+",
        "--inputIOFormats=fp32:chw",
        "--profilingVerbosity=detailed",
        "--exportLayerInfo=/models/resnet50_FP16_AMPERE+.plan.graph.json",
        "--exportProfile=/models/resnet50_FP16_AMPERE+.plan.profile.json",
    ]
    assert spec.to_args(onnx=False)[0].startswith("--saveEngine=")


def test_engine_name_follows_precision_and_compat():
    spec = BuildSpec("model/m.onnx")
    assert spec.engine_path() == "model/m_FP32_NONE.plan"
    spec.precisions = (Precision.FP16, Precision.INT8)
    spec.hardware_compat = "sameComputeCapability"
    assert spec.engine_path() == "model/m_FP16-INT8_SAMECC.plan"
    spec.engine = "out/x.plan"
    assert spec.engine_path() == "out/x.plan"
    assert spec.layer_info_path() == "out/x.plan.graph.json"


@pytest.mark.parametrize(
    "field,value,flag",
    [
        ("tf32", False, "--noTF32"),
        ("workspace_mib", 1024, "--memPoolSize=workspace:1024"),
        ("output_formats", "fp16:chw", "--outputIOFormats=fp16:chw"),
        ("opt_level", 0, "--builderOptimizationLevel=0"),
    ],
)
def test_option_flags(field, value, flag):
    spec = BuildSpec("m.onnx", **{field: value})
    assert flag in spec.to_args()


def test_every_written_flag_exists_in_real_help(data_dir):
    spec = BuildSpec(
        "m.onnx",
        profile=resnet_profile(),
        precisions=tuple(Precision),
        tf32=False,
        opt_level=4,
        hardware_compat="ampere+",
        workspace_mib=512,
        input_formats="fp16:chw",
        output_formats="fp16:chw",
    )
    known = help_flags(data_dir, "10.16.1")
    written = {a.split("=")[0] for a in spec.to_args()}
    assert written <= known, written - known


def test_precision_flags_match_help_texts(data_dir):
    # what the version facts in the editor rely on: bf16 and stronglyTyped arrive in 10.0
    flags = {v: help_flags(data_dir, v) for v in HELP_VERSIONS}
    for precision in Precision:
        if precision.flag:
            assert precision.flag in flags["10.16.1"]
    assert "--bf16" not in flags["8.6.1"] and "--bf16" in flags["10.0.1"]
    assert "--stronglyTyped" not in flags["8.6.1"] and "--stronglyTyped" in flags["10.0.1"]
    assert "--fp8" in flags["8.6.1"]
    assert "--workspace" in flags["8.6.1"] and "--workspace" not in flags["10.0.1"]


def test_profile_validation_messages():
    profile = resnet_profile()
    assert profile.validate() == []
    profile.ranges["IMAGES"] = ShapeRange((0, 3, 224, 224), (8, 3, 224, 224), (4, 3, 225, 224))
    problems = profile.validate()
    messages = [p.message for p in problems]
    assert "IMAGES[0] (batch): min must be >= 1" in messages
    assert "IMAGES[0] (batch): opt 8 > max 4" in messages
    assert "IMAGES[2] is static 224; max 225 differs" in messages
    assert {(p.axis, p.which) for p in problems} == {(0, "min"), (0, "max"), (2, "max")}
    with pytest.raises(UsageError, match="min must be >= 1"):
        BuildSpec("m.onnx", profile=profile).to_args()


@pytest.mark.parametrize(
    ("lo", "mid", "hi", "expected"),
    [
        (1, 8, 16, []),
        (8, 8, 8, []),  # min == opt == max is a valid (fixed) range
        (9, 8, 16, [(0, "opt", "IMAGES[0] (batch): min 9 > opt 8")]),
        (1, 17, 16, [(0, "max", "IMAGES[0] (batch): opt 17 > max 16")]),
        (9, 8, 4, [(0, "opt", "IMAGES[0] (batch): min 9 > opt 8"),
                   (0, "max", "IMAGES[0] (batch): opt 8 > max 4")]),
        (0, 0, 0, [(0, w, f"IMAGES[0] (batch): {w} must be >= 1") for w in ("min", "opt", "max")]),
    ],
)  # fmt: skip
def test_profile_order_checks_are_exact(lo, mid, hi, expected):
    profile = resnet_profile()
    profile.ranges["IMAGES"] = ShapeRange((lo, 3, 224, 224), (mid, 3, 224, 224), (hi, 3, 224, 224))
    assert [(p.axis, p.which, p.message) for p in profile.validate()] == expected
    spec = BuildSpec("m.onnx", profile=profile)
    if expected:
        listed = "; ".join(m for _, _, m in expected)
        with pytest.raises(UsageError) as info:
            profile.check()
        assert info.value.message == f"The shape profile is invalid: {listed}"
        assert "1 <= min <= opt <= max" in info.value.hint
        with pytest.raises(UsageError) as info:  # the flags never go out
            spec.to_args()
        assert info.value.message == f"The build settings are invalid: {listed}"
    else:
        profile.check()
        assert f"--minShapes=IMAGES:{lo}x3x224x224" in spec.to_args()


def test_problems_of_every_input_are_listed_with_where_they_are():
    profile = ShapeProfile(
        dims={"a": ("n", 4), "b": ("m", 4), "c": ("k", 2)},
        ranges={"b": ShapeRange((2, 4), (1, 4), (3, 4)), "c": ShapeRange((1,), (1,), (1,)),
                "zz": ShapeRange((1,), (1,), (1,))},
    )  # fmt: skip
    assert profile.validate() == [
        ShapeProblem("a", None, "", "a: no min/opt/max shape"),
        ShapeProblem("b", 0, "opt", "b[0] (m): min 2 > opt 1"),
        ShapeProblem("c", None, "min", "c: min shape has 1 dims, the model 2"),
        ShapeProblem("c", None, "opt", "c: opt shape has 1 dims, the model 2"),
        ShapeProblem("c", None, "max", "c: max shape has 1 dims, the model 2"),
        ShapeProblem("zz", None, "", "zz: the model has no such input"),
    ]
    static = ShapeProfile(dims={"x": ("n", 3)}, ranges={"x": ShapeRange((1, 3), (1, 4), (2, 3))})
    assert static.validate() == [ShapeProblem("x", 1, "opt", "x[1] is static 3; opt 4 differs")]
    with pytest.raises(UsageError) as info:
        static.check()
    assert info.value.hint == (
        "every dynamic dim needs 1 <= min <= opt <= max; static dims keep the model's value"
    )


def test_shape_flags_of_several_inputs_and_quoted_names():
    profile = ShapeProfile(
        dims={"a:0": ("n", 4), "b": ("m",), "cX": ("k",)},
        ranges={"a:0": ShapeRange((1, 4), (2, 4), (3, 4)), "b": ShapeRange((1,), (5,), (9,)),
                "cX": ShapeRange((1,), (1,), (1,))},
    )  # fmt: skip
    assert profile.shape_flags() == [
        "--minShapes='a:0':1x4,b:1,cX:1",
        "--optShapes='a:0':2x4,b:5,cX:1",
        "--maxShapes='a:0':3x4,b:9,cX:1",
    ]


def test_precision_spellings_and_unknown():
    assert Precision.parse("--fp16") is Precision.FP16
    assert (
        Precision.parse(" strongly typed ") is Precision.parse("typed") is Precision.STRONGLY_TYPED
    )
    assert Precision.parse("tf32") is Precision.FP32
    with pytest.raises(UsageError) as info:
        Precision.parse("fp64")
    assert info.value.hint == "choose from " + ", ".join(p.name.lower() for p in Precision)
    assert info.value.hint.startswith("choose from fp32, ")


def test_with_precision_drops_per_engine_outputs_and_from_dict_defaults():
    spec = BuildSpec("m.onnx", engine="a.plan", layer_info="a.json", profile_json="p.json")
    other = spec.with_precision(Precision.FP16)
    assert (other.engine, other.layer_info, other.profile_json) == (None, None, None)
    assert other.precisions == (Precision.FP16,)
    data = BuildSpec("m.onnx", profile=ShapeProfile(dims={"x": ("n",)})).to_dict()
    assert data["profile"] == {"dims": {"x": ["n"]}, "ranges": {}, "dtypes": {}}
    assert "profile" not in spec.to_dict() and spec.to_dict()["onnx"] == "m.onnx"
    bare = BuildSpec.from_dict({"onnx": "m.onnx", "profile": {}})
    assert bare.precisions == () and bare.profile.dims == {} and bare.profile.ranges == {}
    assert bare.profile.dtypes == {}


def test_missing_range_and_unknown_input():
    profile = ShapeProfile(dims={"x": (None, 4)}, ranges={"y": ShapeRange((1,), (1,), (1,))})
    messages = [p.message for p in profile.validate()]
    assert "x: no min/opt/max shape" in messages
    assert "y: the model has no such input" in messages


def test_static_model_writes_no_shape_flags():
    profile = ShapeProfile(dims={"x": (1, 3, 8, 8)})
    args = BuildSpec("m.onnx", profile=profile).to_args()
    assert not any("Shapes=" in a for a in args)


def test_from_args_round_trip():
    spec = BuildSpec(
        "/models/resnet50.onnx",
        profile=resnet_profile(),
        precisions=(Precision.INT8, Precision.FP16),
        tf32=False,
        opt_level=5,
        hardware_compat="ampere+",
        workspace_mib=2048,
        extra="--verbose --timingCacheFile=cache.bin",
    )
    line = "trtexec " + spec.to_flags()
    back = BuildSpec.from_args(line)
    assert back.to_args() == spec.to_args()
    assert back.engine is None  # the default name stays a default
    assert back.extra == "--verbose --timingCacheFile=cache.bin"
    assert back.precisions == (Precision.INT8, Precision.FP16)


def test_from_args_reads_the_cookbook_command(data_dir):
    # the first line of a real 10.16.1 log is the exact command
    log = data_dir / "trtexec" / "log-10.16.1-build-fp16-dynamic-skipInference-verbose.log"
    first = log.read_text().splitlines()[0]
    command = first.split(" # ", 1)[1]
    spec = BuildSpec.from_args(command)
    assert spec.onnx.endswith("model-trained.onnx")
    assert spec.engine == "model-trained.trt"
    assert spec.precisions == (Precision.FP16,)
    assert spec.tf32 is False
    assert spec.workspace_mib == 1024
    assert spec.opt_level == 5
    assert spec.profile.ranges["x"] == ShapeRange((1, 1, 28, 28), (4, 1, 28, 28), (16, 1, 28, 28))
    assert spec.profile.dims["x"] == (None, 1, 28, 28)
    assert spec.extra == (
        "--timingCacheFile=model-trained.TimingCache --maxAuxStreams=4 --skipInference --verbose"
    )


def test_from_args_uses_model_dims():
    model = ShapeProfile(dims={"x": ("batch", 3)}, dtypes={"x": "float32"})
    spec = BuildSpec.from_args(
        "--onnx=m.onnx --minShapes=x:1x3 --optShapes=x:2x3 --maxShapes=x:4x3", profile=model
    )
    assert spec.profile.dims["x"] == ("batch", 3)
    assert spec.profile.dtypes == {"x": "float32"}


def test_from_args_reads_magic_lines_and_continuations():
    line = "%trtexec --onnx=m.onnx \\\n  --fp16 \\\n  --saveEngine=x.plan"
    spec = BuildSpec.from_args(line)
    assert spec.precisions == (Precision.FP16,) and spec.engine == "x.plan"
    with pytest.raises(UsageError, match="not a trtexec flag"):
        BuildSpec.from_args("--onnx=m.onnx --memPoolSize workspace:1")


def test_from_args_needs_onnx():
    with pytest.raises(UsageError, match="--onnx"):
        BuildSpec.from_args("--fp16")
    assert BuildSpec.from_args("--fp16", onnx="m.onnx").precisions == (Precision.FP16,)


@pytest.mark.parametrize(
    "pool,mib",
    [("workspace:1024MiB", 1024), ("workspace:2G", 2048), ("workspace:512", 512)],
)
def test_workspace_spellings(pool, mib):
    spec = BuildSpec.from_args(f"--onnx=m.onnx --memPoolSize={pool}")
    assert spec.workspace_mib == mib and spec.extra == ""


def test_other_pools_stay_extra():
    spec = BuildSpec.from_args("--onnx=m.onnx --memPoolSize=dlaSRAM:1")
    assert spec.workspace_mib is None and spec.extra == "--memPoolSize=dlaSRAM:1"


def test_parse_shapes_quoted_names_and_scalars():
    # grammar from the 10.16.1 --help: quoted names, "scalar" or nothing after the colon
    assert parse_shapes("'in:0':1x3,b:scalar,c:") == {"in:0": (1, 3), "b": (), "c": ()}
    assert format_shape(()) == "scalar"
    profile = ShapeProfile(
        dims={"in:0": (None, 3)}, ranges={"in:0": ShapeRange((1, 3), (2, 3), (4, 3))}
    )
    assert profile.shape_flags()[0] == "--minShapes='in:0':1x3"
    with pytest.raises(UsageError, match="NxNxN"):
        parse_shapes("x:1xa")


def test_invalid_options_are_reported():
    spec = BuildSpec("m.onnx", opt_level=7, hardware_compat="turing", workspace_mib=0, extra='"')
    problems = " | ".join(spec.validate())
    assert "level 7" in problems and "turing" in problems
    assert "workspace 0" in problems and "other flags" in problems


def test_dict_round_trip_is_json():
    spec = BuildSpec("m.onnx", profile=resnet_profile(), precisions=(Precision.BF16,))
    again = BuildSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_with_precision_resets_names():
    spec = BuildSpec("m.onnx", engine="x.plan", precisions=(Precision.FP16, Precision.INT8))
    one = spec.with_precision(Precision.INT8)
    assert one.precisions == (Precision.INT8,) and one.engine_path() == "m_INT8_NONE.plan"


def test_precision_parse():
    assert Precision.parse("fp16") is Precision.FP16
    assert Precision.parse("--stronglyTyped") is Precision.STRONGLY_TYPED
    with pytest.raises(UsageError, match="unknown precision"):
        Precision.parse("fp64")


def test_each_box_below_one_is_named_with_its_input():
    profile = resnet_profile()
    profile.ranges["IMAGES"] = ShapeRange((0, 3, 224, 224), (8, 3, 224, 224), (16, 3, 224, 224))
    assert profile.validate() == [
        ShapeProblem("IMAGES", 0, "min", "IMAGES[0] (batch): min must be >= 1")
    ]
    profile.ranges["IMAGES"] = ShapeRange((1, 3, 224, 224), (8, 3, 224, 224), (4, 3, 224, 224))
    assert profile.validate() == [
        ShapeProblem("IMAGES", 0, "max", "IMAGES[0] (batch): opt 8 > max 4")
    ]
    profile.ranges["IMAGES"] = ShapeRange((1, 1, 224, 224), (8, 3, 224, 224), (16, 3, 224, 224))
    assert profile.validate() == [
        ShapeProblem("IMAGES", 1, "min", "IMAGES[1] is static 3; min 1 differs")
    ]


def test_parse_shapes_commas_inside_quoted_names_and_errors():
    assert parse_shapes("'in,0':1x3,y:2") == {"in,0": (1, 3), "y": (2,)}
    assert parse_shapes("\\'in:0\\':4x8,X:1") == {"in:0": (4, 8), "X": (1,)}  # shell-escaped
    for bad in (":1x3", "1x3"):
        with pytest.raises(UsageError) as info:
            parse_shapes(bad)
        assert info.value.message == f"shape {bad!r} has no 'name:' part"
        assert info.value.hint == "write e.g. x:1x3x224x224"
    with pytest.raises(UsageError) as info:
        parse_shapes("x:1xa")
    assert info.value.message == "shape 'x:1xa' is not NxNxN"
    assert info.value.hint == "write dims as integers joined by x"


def test_fixed_range_is_the_same_shape_three_times():
    import numpy as np

    rng = ShapeRange.fixed([np.int64(1), 3, 224])  # dims as an ONNX reader gives them
    assert rng == ShapeRange((1, 3, 224), (1, 3, 224), (1, 3, 224))
    assert all(type(d) is int for d in rng.min + rng.opt + rng.max)


def test_default_spec_writes_no_compat_flag_and_bounds_are_inclusive():
    spec = BuildSpec("/models/m.onnx")
    assert spec.to_args() == [
        "--onnx=/models/m.onnx",
        "--saveEngine=/models/m_FP32_NONE.plan",
        "--profilingVerbosity=detailed",
        "--exportLayerInfo=/models/m_FP32_NONE.plan.graph.json",
        "--exportProfile=/models/m_FP32_NONE.plan.profile.json",
    ]
    assert BuildSpec("m.onnx", opt_level=5, workspace_mib=1, extra="  ").validate() == []
    assert BuildSpec("m.onnx", opt_level=0).validate() == []
    assert BuildSpec("m.onnx", opt_level=6).validate() == ["builder optimization level 6 is not in 0-5"]  # fmt: skip
    assert BuildSpec("m.onnx", opt_level=-1).validate() == ["builder optimization level -1 is not in 0-5"]  # fmt: skip
    assert BuildSpec("m.onnx", workspace_mib=0).validate() == ["workspace 0 MiB must be > 0"]
    with pytest.raises(UsageError) as info:
        BuildSpec("m.onnx", opt_level=6).check()
    assert info.value.message == "The build settings are invalid: builder optimization level 6 is not in 0-5"  # fmt: skip
    assert info.value.hint == "fix the fields named above"


def test_engine_name_of_every_compat_level():
    names = {c: BuildSpec("d/m.onnx", hardware_compat=c).engine_path() for c in ("none", "ampere+", "sameComputeCapability", "hopper+")}  # fmt: skip
    assert names == {
        "none": "d/m_FP32_NONE.plan",
        "ampere+": "d/m_FP32_AMPERE+.plan",
        "sameComputeCapability": "d/m_FP32_SAMECC.plan",
        "hopper+": "d/m_FP32_HOPPER+.plan",  # not valid (validate says so), still named
    }


def test_precision_names_with_dashes_only_are_stripped():
    assert Precision.parse("  --BF16 ") is Precision.BF16
    with pytest.raises(UsageError, match="unknown precision 'XFP16'"):
        Precision.parse("XFP16")
