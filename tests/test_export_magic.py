"""%%onnx_export through a real IPython shell."""

from __future__ import annotations

import sys
import types

import torch  # noqa: F401 - the suite needs it (test extra)

from trt_magic.errors import ExportError, UsageError  # noqa: E402
from trt_magic.export import ExportResult  # noqa: E402

CELL = """
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
    def forward(self, x):
        return self.conv(x).mean((2, 3))
net = Net()
net
"""


def run(shell, line, cell):
    result = shell.run_cell(f"%%onnx_export {line}\n{cell}")
    return result


def test_cell_last_expression_is_the_model(ipython_shell, tmp_path):
    out = tmp_path / "net.onnx"
    res = run(
        ipython_shell,
        f"-o {out} -i images:1x3x8x8 -d images:0=batch --name exp --simplify none",
        CELL,
    )
    assert res.success, res.error_in_exec
    result = ipython_shell.user_ns["exp"]
    assert isinstance(result, ExportResult) and res.result is result
    assert result.path == out and out.is_file()
    assert result.inputs[0].shape == ("batch", 3, 8, 8)
    assert "Net" in ipython_shell.user_ns  # the cell ran in the user namespace


def test_external_data_flag_writes_the_data_file(ipython_shell, tmp_path):
    big = CELL.replace("Conv2d(3, 4, 3)", "Conv2d(3, 64, 3)")  # 6.9 KB of weights
    out = tmp_path / "net.onnx"
    res = run(ipython_shell, f"-o {out} -i images:1x3x8x8 --external-data", big)
    assert res.success, res.error_in_exec
    assert res.result.data_file == tmp_path / "net.onnx.data" and res.result.data_size > 6000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx", "net.onnx.data"]


def test_model_var_and_sample_expr(ipython_shell, tmp_path):
    ipython_shell.run_cell(CELL)
    ipython_shell.run_cell("import torch; batch = {'x': torch.randn(2, 3, 8, 8)}")
    out = tmp_path / "m.onnx"
    res = run(
        ipython_shell,
        f"--model net --sample batch -o {out} --output-names score --no-check --simplify none",
        "# IPython refuses an empty cell body; with --model the cell may hold just a comment",
    )
    assert res.success, res.error_in_exec
    assert res.result.outputs[0].name == "score" and res.result.parity == []
    assert res.result.sample_shapes == {"x": (2, 3, 8, 8)}


def test_default_output_name_uses_the_model_var(ipython_shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ipython_shell.run_cell(CELL)
    res = run(ipython_shell, "--model net -i x:1x3x8x8 --simplify none", "net.eval(); ran = 1")
    assert res.success, res.error_in_exec
    assert ipython_shell.user_ns["ran"] == 1  # the cell ran before the export
    assert (tmp_path / "net.onnx").is_file()


def test_errors_are_short_and_keep_the_cause(ipython_shell, tmp_path):
    res = run(ipython_shell, f"-o {tmp_path / 'x.onnx'} -i x:1", "def f(x):\n    return x\nf")
    assert isinstance(res.error_in_exec, UsageError)
    assert "not a torch.nn.Module" in str(res.error_in_exec)
    res = run(ipython_shell, "--sample undefined_thing", CELL)
    assert isinstance(res.error_in_exec, UsageError)
    assert "--sample undefined_thing: NameError" in str(res.error_in_exec)
    res = run(ipython_shell, "--model nothing_here -i x:1", "# nothing")
    assert isinstance(res.error_in_exec, UsageError) and "nothing_here" in str(res.error_in_exec)


def test_export_error_in_the_magic(ipython_shell, tmp_path):
    cell = "import torch\nclass F(torch.nn.Module):\n    def forward(self, x):\n        return torch.nn.functional.fold(x, (4, 4), (2, 2))\nF()"
    res = run(ipython_shell, f"-o {tmp_path / 'f.onnx'} -i x:1x12x9 --simplify none", cell)
    assert isinstance(res.error_in_exec, ExportError)
    assert "needs ONNX opset 18" in res.error_in_exec.message


def test_bad_option_is_a_usage_error(ipython_shell):
    res = run(ipython_shell, "--exporter onnx2", CELL)
    from IPython.core.error import UsageError as IPythonUsageError

    # argparse errors are IPython's UsageError (shown as one line, the cell fails)
    assert type(res.error_in_exec) is IPythonUsageError, repr(res.error_in_exec)
    message = str(res.error_in_exec)  # the choices' quoting differs across Python versions
    assert message.startswith("argument --exporter: invalid choice: 'onnx2' (choose from ")
    assert all(choice in message for choice in ("auto", "dynamo", "torchscript"))


def test_netron_flag_shows_the_file(ipython_shell, tmp_path, monkeypatch):
    shown = []
    fake = types.ModuleType("trt_magic.netron")
    fake.netron_view = lambda path, height=600: shown.append(path) or f"netron:{path}"
    monkeypatch.setitem(sys.modules, "trt_magic.netron", fake)
    out = tmp_path / "n.onnx"
    res = run(ipython_shell, f"-o {out} -i x:1x3x8x8 --netron --simplify none", CELL)
    assert res.success, res.error_in_exec
    assert shown == [out]


def test_help_lists_every_option(ipython_shell):
    doc = ipython_shell.find_cell_magic("onnx_export").__doc__
    for opt in ("-o", "-i", "-d", "--model", "--sample", "--output-names", "--opset",
                "--exporter", "--submodule", "--no-check", "--rtol", "--atol", "--timeout",
                "--netron", "--name", "--simplify"):  # fmt: skip
        assert opt in doc, opt


def test_line_form_exports_an_existing_model(ipython_shell, tmp_path):
    """``%onnx_export --model net`` (no cell) exports a model defined earlier."""

    ipython_shell.user_ns["net"] = torch.nn.Sequential(torch.nn.Linear(4, 2))
    out = tmp_path / "line.onnx"
    result = ipython_shell.run_line_magic(
        "onnx_export", f"--model net -o {out} -i X:1x4 --simplify none --no-check"
    )
    assert out.exists() and result.path == out


def test_a_cell_ending_in_an_assignment_exports_the_assigned_model(ipython_shell, tmp_path):
    monkey = tmp_path / "a"
    monkey.mkdir()
    cell = CELL.rsplit("net = Net()", 1)[0] + "model = Net()\n"
    res = run(ipython_shell, f"-o {monkey / 'm.onnx'} -i x:1x3x8x8 --simplify none", cell)
    assert res.success, res.error_in_exec
    assert res.result.path == monkey / "m.onnx"
    for last in ("model: torch.nn.Module = Net()", "a = model = Net()"):
        res = run(ipython_shell, f"-o {monkey / 'n.onnx'} -i x:1x3x8x8 --simplify none",
                  CELL.rsplit("net = Net()", 1)[0] + last)  # fmt: skip
        assert res.success, (last, res.error_in_exec)


def test_assigned_name_is_the_default_file_name(ipython_shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cell = CELL.rsplit("net = Net()", 1)[0] + "encoder = Net()"
    res = run(ipython_shell, "-i x:1x3x8x8 --simplify none", cell)
    assert res.success, res.error_in_exec
    assert (tmp_path / "encoder.onnx").is_file()


def test_sample_takes_any_expression_with_spaces(ipython_shell, tmp_path):
    out = tmp_path / "s.onnx"
    res = run(
        ipython_shell,
        f"--sample torch.randn(1, 3, 8, 8) -o {out} --simplify none",
        CELL,
    )
    assert res.success, res.error_in_exec
    assert res.result.sample_shapes == {"x": (1, 3, 8, 8)}
    res = run(
        ipython_shell,
        f"-o {out} --sample {{'x': torch.randn(2, 3, 8, 8)}} --simplify none --no-check",
        CELL,
    )
    assert res.success, res.error_in_exec
    assert res.result.sample_shapes == {"x": (2, 3, 8, 8)}
