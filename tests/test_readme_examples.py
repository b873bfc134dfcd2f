"""The README's ``%%onnx_export`` examples, copied out of README.md and run as written.

The models they name (ResNet50, ResNet18) are small stand-ins defined here: the point is the
magic's line and the cell's shape (a last line that assigns or evaluates to the model).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch  # noqa: F401 - the suite needs it (test extra)

README = Path(__file__).resolve().parents[1] / "README.md"

STAND_INS = """
import torch

class ResNet50(torch.nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 7, stride=8)
        self.head = torch.nn.Linear(4, classes)
    def forward(self, x):
        return self.head(torch.relu(self.stem(x)).mean((2, 3)))

ResNet18 = ResNet50
"""


def readme_cells() -> list[str]:
    """Every notebook cell of the README's python blocks that runs ``%%onnx_export``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    cells = [c.strip() for b in blocks for c in re.split(r"\n\s*\n", b)]
    return [c for c in cells if c.startswith("%%onnx_export")]


def test_the_readme_has_export_examples():
    cells = readme_cells()
    assert len(cells) >= 2
    assert any(re.search(r"^\w+ = \w+\(", c.splitlines()[-1]) for c in cells)  # an assignment


@pytest.mark.parametrize("cell", readme_cells(), ids=lambda c: c.split()[2])
def test_readme_export_example_runs_as_written(ipython_shell, tmp_path, monkeypatch, cell):
    monkeypatch.chdir(tmp_path)
    assert ipython_shell.run_cell(STAND_INS).success
    res = ipython_shell.run_cell(cell)
    assert res.success, res.error_in_exec
    out = re.search(r"-o (\S+)", cell).group(1)
    assert (tmp_path / out).is_file()
    assert res.result.ok and res.result.inputs[0].shape[0] == "batch"
