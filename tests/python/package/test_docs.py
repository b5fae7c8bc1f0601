# SPDX-License-Identifier: Apache-2.0
"""docs/python.md's five-minute walk-through runs as written: its Python
blocks, in order, in a fresh interpreter (training a small network for a
few seconds, then from_torch, a Session, export and convert)."""

import os
import re
import subprocess
import sys

import tspike
from conftest import ROOT


def walkthrough():
    with open(os.path.join(ROOT, "docs", "python.md")) as f:
        text = f.read()
    section = text.split("## Five minutes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_walkthrough_runs(tmp_path):
    blocks = walkthrough()
    assert len(blocks) == 4
    os.symlink(os.path.join(ROOT, "models"), tmp_path / "models")  # its image path is relative to the checkout
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tspike.__file__))))
    r = subprocess.run([sys.executable, "-c", "\n".join(blocks)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "/fc/Gemm True event/" in out
    accuracy = float(re.search(r"accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.7, out
    last = out.strip().splitlines()[-1]
    assert "folded into Gemm /fc/Gemm" in last and last.endswith("True"), out
    assert (tmp_path / "fashion.tspike.onnx").is_file()
