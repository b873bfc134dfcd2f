"""The accuracy check: exportOutput reading, comparison rules, inputs inside the profile, the
ONNX Runtime reference, and (with Docker) the whole path through the test image's trtexec."""

from __future__ import annotations

import math

import numpy as np
import pytest
from accuracy_helpers import export_output_text, identity_model, linear_model

from trt_magic.accuracy import (
    FP16_MAX,
    build_report,
    check_accuracy,
    check_user_inputs,
    choose_shapes,
    compare_output,
    error_histogram,
    make_inputs,
    onnx_inputs,
    profile_from_args,
    read_export_output,
    reference_outputs,
)
from trt_magic.errors import ResultError, UsageError
from trt_magic.results.run import Run

# ------------------------------------------------------------------ reading --exportOutput


def test_reads_the_writer_layout_with_several_outputs(tmp_path):
    y = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    z = np.array([3.0, -1.5], dtype=np.float32)
    path = tmp_path / "out.json"
    path.write_text(export_output_text({"y": y, "z": z}))
    got = read_export_output(path)
    assert list(got) == ["y", "z"]
    assert got["y"].shape == (2, 3)
    np.testing.assert_allclose(got["y"], y, rtol=1e-5)  # 6 significant digits
    np.testing.assert_array_equal(got["z"], z)


def test_reads_the_real_pasted_sample_layout(tmp_path):
    # the layout of a real --exportOutput file pasted in a public repository (SOURCES.md)
    text = (
        "[\n"
        '  { "name" : "probs_phone"\n'
        '  , "dimensions" : "1x5"\n'
        '  , "values" : [ 0.0435101, 0.0340782, 0.0555826, 0.195444, 0.671385 ]\n'
        "  }\n"
        ', { "name" : "probs_headset"\n'
        '  , "dimensions" : "1x3"\n'
        '  , "values" : [ 0.79014, 0.206794, 0.00306536 ]\n'
        "  }\n"
        "]\n"
    )
    path = tmp_path / "out.json"
    path.write_text(text)
    got = read_export_output(path)
    assert got["probs_phone"].shape == (1, 5)
    assert got["probs_headset"][0, 2] == pytest.approx(0.00306536)


def test_non_finite_values_and_a_name_containing_inf(tmp_path):
    arr = np.array([np.inf, -np.inf, np.nan, 1.0])
    path = tmp_path / "out.json"
    # glibc prints a negative NaN as -nan
    path.write_text(export_output_text({"inf nan": arr}).replace("nan, 1", "-nan, 1"))
    got = read_export_output(path)["inf nan"]
    assert got[0] == math.inf and got[1] == -math.inf and math.isnan(got[2]) and got[3] == 1.0


def test_zero_d_output(tmp_path):
    path = tmp_path / "out.json"
    path.write_text(export_output_text({"loss": np.array(2.5)}))
    got = read_export_output(path)["loss"]
    assert got.shape == () and float(got) == 2.5


@pytest.mark.parametrize("text", ["", "not json", '{"name": "y"}', '[{"name": "y"}]'])
def test_bad_export_output_is_a_result_error(tmp_path, text):
    path = tmp_path / "out.json"
    path.write_text(text)
    with pytest.raises(ResultError, match="not a trtexec --exportOutput file"):
        read_export_output(path)


def test_missing_export_output_names_the_file(tmp_path):
    with pytest.raises(ResultError, match="no --exportOutput file"):
        read_export_output(tmp_path / "nope.json")


# ------------------------------------------------------------------ comparing


def test_identical_outputs_pass():
    ref = np.linspace(-3, 3, 50)
    o = compare_output("y", ref, ref.copy(), rtol=1e-3, atol=1e-3)
    assert o.passed and o.max_abs_error == 0 and o.out_of_tolerance == 0


def test_perturbed_past_tolerance_fails_with_the_right_figures():
    ref = np.ones(100)
    got = ref.copy()
    got[:10] += 0.5  # 10% of the elements, 0.5 off
    o = compare_output("y", ref, got, rtol=1e-3, atol=1e-3)
    assert not o.passed
    assert o.mismatched == 10 and o.out_of_tolerance == pytest.approx(0.1)
    assert o.max_abs_error == pytest.approx(0.5) and o.max_rel_error == pytest.approx(0.5)


def test_tolerance_is_atol_plus_rtol_times_reference():
    ref = np.array([100.0, 0.0])
    got = np.array([100.09, 0.0009])  # 0.09 <= 0.001 + 1e-3*100; 0.0009 <= 0.001
    assert compare_output("y", ref, got, rtol=1e-3, atol=1e-3).passed
    got[1] = 0.0011
    assert not compare_output("y", ref, got, rtol=1e-3, atol=1e-3).passed


def test_tolerance_boundary_is_inclusive_and_scaled_by_the_reference():
    # exact binary values: the limit is atol + rtol * |ref| = 0.25 + 0.125 * 4 = 0.75
    ref = np.array([4.0, -4.0])
    at_limit = np.array([4.75, -4.75])
    assert compare_output("y", ref, at_limit, rtol=0.125, atol=0.25).passed
    past = np.array([4.8125, -4.5])  # 0.8125 off: within rtol * |engine| but not |ref|
    o = compare_output("y", ref, past, rtol=0.125, atol=0.25)
    assert (o.passed, o.mismatched) == (False, 1)
    assert not compare_output("y", ref, at_limit, rtol=0.125, atol=0.0).passed  # atol counts
    assert not compare_output("y", ref, at_limit, rtol=0.0, atol=0.5).passed  # rtol counts
    assert compare_output("y", ref, at_limit, rtol=0.0, atol=0.75).passed


def test_mismatches_follow_numpy_isclose_on_random_data():
    rng = np.random.default_rng(7)
    for rtol, atol in ((1e-3, 1e-3), (0.05, 0.0), (0.0, 0.02), (0.01, 1e-3)):
        ref = rng.standard_normal(2000) * rng.choice([1e-3, 1.0, 100.0], 2000)
        got = ref + rng.standard_normal(2000) * 0.02 * np.abs(ref).clip(0.01)
        o = compare_output("y", ref, got, rtol=rtol, atol=atol)
        expected = int(np.count_nonzero(~np.isclose(got, ref, rtol=rtol, atol=atol)))
        assert 0 < expected < 2000  # the case separates the rules
        assert o.mismatched == expected and o.passed is False
        assert o.out_of_tolerance == pytest.approx(expected / 2000)


def test_nan_and_inf_rules():
    ref = np.array([np.nan, np.inf, 1.0])
    assert compare_output("y", ref, ref.copy(), rtol=0, atol=0).passed
    got = np.array([np.nan, np.inf, np.nan])
    o = compare_output("y", ref, got, rtol=0, atol=0)
    assert not o.passed and o.mismatched == 1 and o.max_abs_error == math.inf


def test_shape_mismatch_fails_with_a_note():
    o = compare_output("y", np.ones((2, 3)), np.ones(5), rtol=1, atol=1)
    assert not o.passed and "differs" in o.note


def test_same_size_other_shape_is_reshaped():
    # trtexec prints the engine's shape, e.g. 1x10 where the reference is [10]
    assert compare_output("y", np.ones(10), np.ones((1, 10)), rtol=0, atol=0).passed


def test_fp16_overflow_is_explained():
    ref = np.array([1.0, 70000.0, -80000.0])
    got = np.array([1.0, np.inf, -np.inf])
    o = compare_output("y", ref, got, rtol=1e-3, atol=1e-3)
    assert not o.passed and o.fp16_overflow == 2
    assert "65504" in o.note and "2 engine values became inf" in o.note
    assert o.reference_max_abs == 80000.0 > FP16_MAX


def test_inf_from_an_intermediate_overflow_is_explained():
    o = compare_output("y", np.array([1.0, 2.0]), np.array([1.0, np.inf]), rtol=0, atol=0)
    assert "overflowed FP16" in o.note


def test_histogram_counts_every_element():
    diff = np.array([0.0, 5e-7, 5e-4, 0.5, 50.0, np.inf])
    hist = error_histogram(diff)
    assert sum(c for _, c in hist) == diff.size
    counts = dict(hist)
    assert counts["< 1e-07"] == 1 and counts["1e-07..1e-06"] == 1 and counts[">= 10"] == 2


def test_report_verdict_table_and_html():
    ref = {"a": np.ones(4), "b": np.zeros(3)}
    got = {"a": np.ones(4), "b": np.array([0.0, 0.0, 1.0])}
    report = build_report(ref, got, rtol=1e-3, atol=1e-3, histogram=True)
    assert not report.passed
    assert [o.passed for o in report.outputs] == [True, False]
    table = report.table
    assert list(table["output"]) == ["a", "b"] and table["passed"].tolist() == [True, False]
    html = report._repr_html_()
    assert "accuracy FAILED" in html and "abs error histogram" in html
    assert "FAIL" in repr(report)


def test_report_flags_outputs_the_engine_did_not_export():
    report = build_report({"a": np.ones(2)}, {}, rtol=1e-3, atol=1e-3)
    assert not report.passed and "no values" in report.notes[0]


def test_a_shape_mismatch_reports_the_engine_shape_and_counts_every_element():
    ref = np.array([[1.0, -3.0, np.inf], [2.0, np.nan, 0.5]])
    o = compare_output("y", ref, np.ones(7), rtol=1, atol=1)
    assert (o.name, o.shape, o.max_abs_error, o.max_rel_error) == ("y", (7,), math.inf, math.inf)
    assert (o.out_of_tolerance, o.mismatched, o.passed) == (1.0, 7, False)
    assert o.reference_max_abs == 3.0
    assert o.note == "shape (7,) differs from the reference (2, 3)"
    small = compare_output("y", np.ones(4), np.ones((1, 3)), rtol=1, atol=1)
    assert (small.shape, small.mismatched) == ((1, 3), 4)
    assert small.note == "shape (1, 3) differs from the reference (4,)"
    (same,) = build_report({"y": np.ones((2, 2))}, {"y": np.ones(4)}, rtol=0, atol=0).outputs
    assert same.passed and same.shape == (2, 2) and same.note == ""


def test_figures_of_a_comparison():
    ref = np.array([[2.0, -4.0], [0.0, 8.0]])
    got = np.array([[2.5, -4.0], [0.25, 7.0]])
    o = compare_output("out", ref, got, rtol=0.0, atol=0.3)
    assert (o.name, o.shape) == ("out", (2, 2))
    assert o.max_abs_error == 1.0  # |7 - 8|
    assert o.max_rel_error == 0.25  # 0.5 / 2; the zero reference element has no relative error
    assert (o.mismatched, o.out_of_tolerance, o.passed) == (2, 0.5, False)
    assert (o.reference_max_abs, o.fp16_overflow, o.histogram, o.note) == (8.0, 0, None, "")
    zero = compare_output("z", np.zeros(3), np.array([0.0, 1e-9, -1e-9]), rtol=0, atol=1e-8)
    assert (zero.max_rel_error, zero.max_abs_error, zero.passed) == (0.0, 1e-9, True)
    empty = compare_output("e", np.zeros((0, 4)), np.zeros((0, 4)), rtol=0, atol=0)
    assert (empty.max_abs_error, empty.max_rel_error, empty.out_of_tolerance) == (0.0, 0.0, 0.0)
    assert empty.passed and empty.shape == (0, 4) and math.isnan(empty.reference_max_abs)
    lists = compare_output("l", [1, 2], [1, 3], rtol=0, atol=0)  # plain lists and ints
    assert (lists.max_abs_error, lists.max_rel_error, lists.mismatched) == (1.0, 0.5, 1)


def test_figures_are_taken_in_float64_whatever_the_input_type():
    ref = np.array([-128, 5], np.int8)
    o = compare_output("y", ref, np.array([127, 5], np.int8), rtol=1, atol=0)
    assert (o.max_abs_error, o.max_rel_error, o.mismatched) == (255.0, 255 / 128, 1)
    assert o.reference_max_abs == 128.0
    assert compare_output("y", ref, ref.copy(), rtol=1, atol=0).passed
    big = compare_output("y", [10**30], [10**30 + 1], rtol=1e-9, atol=0)  # Python ints
    assert big.passed and big.max_abs_error == 0.0
    assert compare_output("y", [1.0], [10**30], rtol=0, atol=0).max_abs_error == 1e30
    assert error_histogram([10**30]) == error_histogram([1e30])


def test_a_comparison_warns_of_nothing():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = compare_output("y", [np.inf, 1e308, 0.0], [np.inf, -1e308, np.nan], rtol=10, atol=0)
    assert (o.mismatched, o.max_abs_error) == (1, math.inf)  # 2e308 is within 10 * 1e308


def test_non_finite_pairs():
    ref = np.array([np.nan, np.inf, -np.inf, np.inf, 1.0, np.nan])
    got = np.array([np.nan, np.inf, -np.inf, -np.inf, np.nan, 1.0])
    o = compare_output("y", ref, got, rtol=0.5, atol=0.5)  # atol + rtol * inf is no tolerance
    assert (o.mismatched, o.max_abs_error, o.max_rel_error) == (3, math.inf, math.inf)
    assert not compare_output("y", [np.nan], [1.0], rtol=1, atol=1).passed
    assert not compare_output("y", [-np.inf], [1e300], rtol=1, atol=1).passed
    assert compare_output("y", [1e300], [np.inf], rtol=1, atol=1).mismatched == 1
    assert o.reference_max_abs == 1.0
    assert o.note == ""  # the reference holds inf itself: no overflow story
    ok = compare_output("y", ref[:3], got[:3], rtol=0, atol=0)
    assert (ok.passed, ok.max_abs_error, ok.max_rel_error) == (True, 0.0, 0.0)
    assert math.isnan(compare_output("y", [np.nan], [np.nan], rtol=0, atol=0).reference_max_abs)


def test_fp16_overflow_counts_finite_values_past_65504_and_names_the_fix():
    ref = np.array([65504.0, -65504.5, 70000.0, np.inf, 1.0])
    got = ref.copy()
    o = compare_output("y", ref, got, rtol=0, atol=0)
    assert o.passed and o.fp16_overflow == 2 and o.reference_max_abs == 70000.0
    assert o.note == (
        "2 reference values lie past FP16's range (|x| > 65504; largest 7e+04). An FP16 engine "
        "cannot hold them. Keep the layers that produce them in FP32 (--layerPrecisions / "
        "--precisionConstraints) or rescale the model."
    )
    got = np.array([np.inf, -65504.5, np.inf, np.inf, -np.inf])
    o = compare_output("y", ref, got, rtol=0, atol=0)
    assert o.note.startswith(
        "2 reference values lie past FP16's range (|x| > 65504; largest 7e+04). An FP16 engine "
        "cannot hold them, and 3 engine values became inf. Keep"
    )


def test_an_engine_inf_is_explained_only_when_it_fails_and_the_reference_is_finite():
    text = (
        "the engine produced inf where the reference is finite: an intermediate value "
        "probably overflowed FP16 (|x| > 65504); try FP32 for the layers before this output."
    )
    assert compare_output("y", [1.0, 2.0], [1.0, -np.inf], rtol=0, atol=0).note == text
    assert compare_output("y", [1.0, 2.0], [1.0, 3.0], rtol=0, atol=0).note == ""
    assert compare_output("y", [1.0, np.inf], [2.0, np.inf], rtol=0, atol=0).note == ""
    assert compare_output("y", [np.inf, 2.0], [np.inf, 2.0], rtol=0, atol=0).note == ""


def test_histogram_bins_are_decades_with_exact_labels():
    diff = np.array([0.0, 1e-7, 5e-7, 1e-6, 3e-5, 2e-4, 1e-3, 0.05, 0.5, 1.0, 10.0, 9.0, np.inf])
    assert error_histogram(diff.reshape(1, -1)) == [
        ("< 1e-07", 1), ("1e-07..1e-06", 2), ("1e-06..1e-05", 1), ("1e-05..0.0001", 1),
        ("0.0001..0.001", 1), ("0.001..0.01", 1), ("0.01..0.1", 1), ("0.1..1", 1),
        ("1..10", 2), (">= 10", 2),
    ]  # fmt: skip
    o = compare_output("y", np.zeros(3), np.array([0.0, 2e-3, np.nan]), rtol=0, atol=1,
                       histogram=True)  # fmt: skip
    assert dict(o.histogram) == {**{label: 0 for label, _ in error_histogram([])},
                                 "< 1e-07": 1, "0.001..0.01": 1, ">= 10": 1}  # fmt: skip


def test_report_figures_repr_and_table():
    ref = {"a": np.ones((2, 2)), "b": np.array([1.0, 2.0, 4.0, 8.0])}
    got = {"b": np.array([1.0, 2.0, 4.5, 8.0]), "a": np.ones((2, 2)), "extra": np.ones(1)}
    report = build_report(ref, got, rtol=1e-3, atol=2e-2, engine="e.plan", onnx="m.onnx")
    assert [o.name for o in report.outputs] == ["a", "b"]
    assert (report.engine, report.onnx) == ("e.plan", "m.onnx")
    assert (report.rtol, report.atol) == (1e-3, 2e-2)
    assert report.max_abs_error == 0.5 and report.notes == [] and not report.passed
    assert repr(report) == (
        "accuracy FAILED (rtol=0.001, atol=0.02)\n"
        "  a: max abs 0, max rel 0, 0.00% out of tolerance -> ok\n"
        "  b: max abs 0.5, max rel 0.125, 25.00% out of tolerance -> FAIL"
    )
    table = report.table
    assert list(table.columns) == ["output", "shape", "max abs error", "max rel error",
                                   "out of tolerance %", "passed"]  # fmt: skip
    assert table.to_dict("records") == [
        {"output": "a", "shape": "2x2", "max abs error": 0.0, "max rel error": 0.0,
         "out of tolerance %": 0.0, "passed": True},
        {"output": "b", "shape": "4", "max abs error": 0.5, "max rel error": 0.125,
         "out of tolerance %": 25.0, "passed": False},
    ]  # fmt: skip
    good = build_report({"a": np.ones(2)}, {"a": np.ones(2)}, rtol=1e-3, atol=0)
    assert good.passed and repr(good).startswith("accuracy PASSED (rtol=0.001, atol=0)\n")
    nothing = build_report({}, {"a": np.ones(2)}, rtol=1e-3, atol=0)
    assert not nothing.passed and math.isnan(nothing.max_abs_error)


def test_outputs_the_engine_did_not_export_fail_the_report():
    ref = {"a": np.ones(2), "m1": np.ones(2), "b": np.ones(2), "m2": np.ones(3)}
    report = build_report(ref, {"b": np.ones(2), "a": np.ones(2)}, rtol=1e-3, atol=1e-3)
    assert not report.passed
    assert report.notes == ["the engine exported no values for ['m1', 'm2']"]
    assert [o.name for o in report.outputs] == ["a", "b", "m1", "m2"]
    m1 = report.outputs[2]
    assert (m1.shape, m1.max_abs_error, m1.max_rel_error) == ((), math.inf, math.inf)
    assert (m1.out_of_tolerance, m1.mismatched, m1.passed, m1.note) == (1.0, 0, False, "missing")
    assert math.isnan(m1.reference_max_abs)
    assert repr(report).endswith("  note: the engine exported no values for ['m1', 'm2']")


def test_a_relative_tolerance_below_the_printed_digits_is_noted():
    text = (
        "trtexec writes --exportOutput values with 6 significant digits, so relative "
        "differences below ~1e-6 are rounding, not the engine"
    )
    one = {"a": np.ones(2)}
    assert build_report(one, one, rtol=1e-7, atol=1).notes == [text]
    assert build_report(one, one, rtol=1e-6, atol=0).notes == []
    both = build_report({"a": np.ones(2), "b": np.ones(1)}, one, rtol=0, atol=1)
    assert both.notes == ["the engine exported no values for ['b']", text]


def test_report_html_is_exact_and_escaped():
    ref = {"<a>": np.array([1.0, 2.0]), "b": np.array([1.0, 1e5])}
    got = {"<a>": np.array([1.0, 2.0]), "b": np.array([1.0, np.inf])}
    report = build_report(ref, got, rtol=1e-3, atol=1e-3, histogram=True)
    report.notes.append("x < y & z")
    expected = (
        '<div class="trt-magic-accuracy"><b style="color:#cf222e">accuracy FAILED</b> '
        "<span>rtol=0.001, atol=0.001; reference: ONNX Runtime (CPU)</span>"
        "<table><thead><tr><th>output</th><th>shape</th><th>max abs error</th>"
        "<th>max rel error</th><th>out of tolerance</th><th></th></tr></thead><tbody>"
        "<tr><td>&lt;a&gt;</td><td>2</td><td>0</td><td>0</td><td>0.000%</td>"
        '<td style="color:#1a7f37">pass</td></tr>'
        "<tr><td>b</td><td>2</td><td>inf</td><td>inf</td><td>50.000%</td>"
        '<td style="color:#cf222e">FAIL</td></tr></tbody></table>'
        "<ul><li>x &lt; y &amp; z</li><li>b: 1 reference values lie past FP16&#x27;s range"
    )
    html = report._repr_html_()
    assert html.startswith(expected)
    row = '<td><div style="background:#4c72b0;height:0.8em;width:{}px"></div></td></tr>'
    assert html.endswith(
        "</li></ul>"
        "<details><summary>&lt;a&gt;: abs error histogram</summary><table>"
        + "<tr><td>&lt; 1e-07</td><td>2</td>" + row.format(200)
        + "".join(f"<tr><td>{lo}</td><td>0</td>" + row.format(0) for lo in [
            "1e-07..1e-06", "1e-06..1e-05", "1e-05..0.0001", "0.0001..0.001", "0.001..0.01",
            "0.01..0.1", "0.1..1", "1..10", "&gt;= 10"])
        + "</table></details>"
        "<details><summary>b: abs error histogram</summary><table>"
        + "<tr><td>&lt; 1e-07</td><td>1</td>" + row.format(100)
        + "".join(f"<tr><td>{lo}</td><td>0</td>" + row.format(0) for lo in [
            "1e-07..1e-06", "1e-06..1e-05", "1e-05..0.0001", "0.0001..0.001", "0.001..0.01",
            "0.01..0.1", "0.1..1", "1..10"])
        + "<tr><td>&gt;= 10</td><td>1</td>" + row.format(100)
        + "</table></details></div>"
    )  # fmt: skip
    passed = build_report({"a": np.ones(1)}, {"a": np.ones(1)}, rtol=0.5, atol=0)
    assert passed._repr_html_() == (
        '<div class="trt-magic-accuracy"><b style="color:#1a7f37">accuracy PASSED</b> '
        "<span>rtol=0.5, atol=0; reference: ONNX Runtime (CPU)</span>"
        "<table><thead><tr><th>output</th><th>shape</th><th>max abs error</th>"
        "<th>max rel error</th><th>out of tolerance</th><th></th></tr></thead><tbody>"
        "<tr><td>a</td><td>1</td><td>0</td><td>0</td><td>0.000%</td>"
        '<td style="color:#1a7f37">pass</td></tr></tbody></table></div>'
    )


# ------------------------------------------------------------------ inputs and reference


@pytest.fixture
def linear_onnx(tmp_path):
    return linear_model(tmp_path / "linear.onnx")


def test_onnx_inputs_and_shapes_from_the_profile(linear_onnx):
    specs = onnx_inputs(linear_onnx)
    assert [(s.name, s.dtype, s.shape, s.dynamic) for s in specs] == [
        ("x", "float32", ["batch", 4], True)
    ]
    args = ["--onnx=m.onnx", "--minShapes=x:1x4", "--optShapes=x:8x4", "--maxShapes=x:16x4"]
    profile = profile_from_args(args)
    assert profile["opt"] == {"x": (8, 4)}
    assert choose_shapes(specs, profile) == {"x": (8, 4)}
    feed = make_inputs(specs, {"x": (8, 4)}, seed=1)
    assert feed["x"].shape == (8, 4) and feed["x"].dtype == np.float32
    assert np.all(np.abs(feed["x"]) <= 1)


def test_dynamic_input_without_a_profile_is_a_usage_error(linear_onnx):
    with pytest.raises(UsageError, match="dynamic dims") as info:
        choose_shapes(onnx_inputs(linear_onnx), {})
    assert "--optShapes" in info.value.hint


def test_user_inputs_must_fit_the_profile(linear_onnx):
    specs = onnx_inputs(linear_onnx)
    profile = profile_from_args(["--minShapes=x:1x4", "--optShapes=x:2x4", "--maxShapes=x:4x4"])
    ok = check_user_inputs(specs, {"x": np.zeros((3, 4), dtype=np.float64)}, profile)
    assert ok["x"].dtype == np.float32
    with pytest.raises(UsageError, match="outside the engine's profile"):
        check_user_inputs(specs, {"x": np.zeros((5, 4))}, profile)
    with pytest.raises(UsageError, match="missing"):
        check_user_inputs(specs, {"y": np.zeros((1, 4))}, profile)


def test_reference_comes_from_onnxruntime(linear_onnx):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(linear_onnx))
    w, b = (numpy_helper.to_array(i) for i in model.graph.initializer)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ref = reference_outputs(linear_onnx, {"x": x})
    np.testing.assert_allclose(ref["y"], x @ w + b, rtol=1e-5)


def test_replayed_run_cannot_be_checked(tmp_path, linear_onnx):
    engine = tmp_path / "m.plan"
    engine.write_bytes(b"x")
    run = Run(backend="replay", files={"engine": engine})
    with pytest.raises(UsageError, match="replayed run"):
        check_accuracy(run, linear_onnx)


def test_run_without_onnx_is_a_usage_error(tmp_path):
    engine = tmp_path / "m.plan"
    engine.write_bytes(b"x")
    with pytest.raises(UsageError, match="no ONNX model"):
        check_accuracy(Run(backend="docker", files={"engine": engine}))


def test_run_without_engine_is_a_usage_error(linear_onnx):
    with pytest.raises(UsageError, match="saved no engine") as info:
        check_accuracy(Run(backend="docker"), linear_onnx)
    assert "--saveEngine" in info.value.hint


# ------------------------------------------------------------------ through Docker


@pytest.fixture
def docker_settings(tmp_path):
    """Docker backend and a private engine cache for one test."""
    from trt_magic.config import get_settings

    settings = get_settings()
    old = settings.backend, settings.cache_dir
    settings.backend, settings.cache_dir = "docker", str(tmp_path / "cache")
    yield settings
    settings.backend, settings.cache_dir = old


PROFILE = ["--minShapes=x:1x4", "--optShapes=x:8x4", "--maxShapes=x:16x4"]


def _build(tmp_path, engine_name, image, docker_host=None):
    from trt_magic.runners import trtexec

    onnx = identity_model(tmp_path / "model.onnx")
    engine = tmp_path / engine_name
    run = trtexec([f"--onnx={onnx}", f"--saveEngine={engine}", *PROFILE], image=image,
                  gpus="none", docker_host=docker_host, display=False, cache=False)  # fmt: skip
    assert run.ok, run.read_log()[-2000:]
    return run, onnx


@pytest.mark.docker
def test_engine_matching_the_reference_passes(
    docker_client, trtexec_image, tmp_path, docker_settings
):
    run, onnx = _build(tmp_path, "identity.plan", trtexec_image)
    report = check_accuracy(run, rtol=1e-3, atol=1e-3, histogram=True)  # the run's --onnx
    assert report.passed, report
    (out,) = report.outputs
    assert out.name == "y" and out.shape == (8, 4)  # the profile's opt shape
    assert 0 <= out.max_abs_error < 1e-5  # only trtexec's 6-digit printing differs
    assert report.inputs == {"x": (8, 4)}
    assert report.run.backend == "docker" and report.run.image == trtexec_image
    assert "accuracy PASSED" in report._repr_html_()


@pytest.mark.docker
def test_engine_past_tolerance_is_reported(docker_client, trtexec_image, tmp_path, docker_settings):
    run, onnx = _build(tmp_path, "identity-perturbed.plan", trtexec_image)
    x = np.random.default_rng(3).uniform(-1, 1, (2, 4)).astype(np.float32)
    report = check_accuracy(run, onnx, inputs={"x": x}, rtol=1e-3, atol=1e-3)
    assert not report.passed
    (out,) = report.outputs
    assert out.shape == (2, 4) and out.out_of_tolerance == 1.0 and out.mismatched == 8
    assert out.max_abs_error == pytest.approx(0.5, abs=1e-5)
    assert "FAILED" in repr(report)


@pytest.mark.docker
def test_accuracy_runs_on_the_daemon_that_built_the_engine(
    second_docker, tmp_path, docker_settings
):
    from conftest import SECOND_DOCKER

    client, image = second_docker
    run, onnx = _build(tmp_path, "identity.plan", image, docker_host=SECOND_DOCKER)
    report = check_accuracy(run, onnx, rtol=1e-3, atol=1e-3)
    assert report.passed
    assert report.run.host == run.host and "23751" in report.run.host


def test_input_files_follow_the_input_io_formats():
    from trt_magic.accuracy import input_io_types

    assert input_io_types(["--onnx=m.onnx"], 2) == [None, None]
    assert input_io_types(["--inputIOFormats=fp16:chw"], 2) == ["float16", "float16"]
    assert input_io_types(["--inputIOFormats=fp16:chw,int32:chw"], 2) == ["float16", "int32"]
    with pytest.raises(UsageError, match="bf16"):
        input_io_types(["--inputIOFormats=bf16:chw"], 1)


@pytest.mark.docker
def test_a_failed_check_leaves_no_temp_folder_and_inputs_follow_no_symlink(
    docker_client, trtexec_image, tmp_path, docker_settings
):
    import glob
    import os
    import tempfile

    from trt_magic.errors import ResultError

    run, onnx = _build(tmp_path, "identity.plan", trtexec_image)
    # the fake engine writes no --exportOutput unless "identity" is in its path: the check fails
    other = tmp_path / "plain.plan"
    other.write_bytes(b"x")
    pattern = os.path.join(tempfile.gettempdir(), "trt_magic-accuracy-*")
    before = set(glob.glob(pattern))
    with pytest.raises(ResultError):
        check_accuracy(other, onnx, shapes="x:2x4", image=trtexec_image, gpus="none")
    assert set(glob.glob(pattern)) == before
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (work / "input0.bin").symlink_to(victim)
    assert check_accuracy(run, workdir=work).passed
    assert victim.read_text() == "keep" and not (work / "input0.bin").is_symlink()


def test_html_of_a_one_element_histogram_and_a_matrix():
    report = build_report({"m": np.ones((1, 1))}, {"m": np.ones((1, 1))}, rtol=0, atol=0,
                          histogram=True)  # fmt: skip
    html = report._repr_html_()
    assert "<tr><td>m</td><td>1x1</td>" in html
    assert (
        '<tr><td>&lt; 1e-07</td><td>1</td><td><div style="background:#4c72b0;height:0.8em;'
        'width:200px"></div></td></tr>'
    ) in html
