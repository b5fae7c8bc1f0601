# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the tspike package tests (pytest, run by ctest).

TSPIKE_TOOLS_DIR names the built tools (tsrun, tsconvert, tseval) that the
Python results are compared with; the package itself comes from PYTHONPATH
(build/python).
"""

import json
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOOLS = os.environ.get("TSPIKE_TOOLS_DIR") or os.path.join(ROOT, "build", "tools")
MODELS = os.path.join(ROOT, "models")
DATA = os.path.join(ROOT, "tests", "data")
BROKEN = os.path.join(ROOT, "tests", "broken")
DEMO = os.path.join(MODELS, "fashion_tsnet.onnx")
BOOT = os.path.join(MODELS, "samples", "fashion_0_ankle_boot.png")
SEQUENCE = os.path.join(DATA, "binary_sequence.onnx")
TWO_OUTPUTS = os.path.join(DATA, "shared_weights.onnx")  # outputs fc and spike0


def shipped_models():
    """Every model the project ships: models/*.onnx and tests/data/*.onnx."""
    found = [os.path.join(MODELS, f) for f in sorted(os.listdir(MODELS)) if f.endswith(".onnx")]
    found += [os.path.join(DATA, f) for f in sorted(os.listdir(DATA)) if f.endswith(".onnx")]
    return found


def shipped_inputs(model_path):
    """The inputs shipped beside a model: models/golden/NAME.input.npy, or
    tests/data/NAME.input0.npy and NAME.input1.npy."""
    name = os.path.basename(model_path)[:-len(".onnx")]
    if os.path.dirname(model_path) == MODELS:
        return [os.path.join(MODELS, "golden", name + ".input.npy")]
    return [os.path.join(DATA, f"{name}.input{k}.npy") for k in (0, 1)]


def tool(name):
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not found: build first, or set TSPIKE_TOOLS_DIR")
    return path


def run_tool(name, *args):
    r = subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
    return r.stdout


def tsrun_outputs(model, input_path, *extra):
    """tsrun --json's outputs as {name: float32 array} (exactly the floats it
    computed: JSON keeps every float32 digit it needs)."""
    j = json.loads(run_tool("tsrun", model, "--input", input_path, "--json", *extra))
    return {o["name"]: np.array([np.nan if v is None else v for v in o["data"]], dtype=np.float32)
            .reshape(o["shape"]) for o in j["outputs"]}, j


@pytest.fixture(scope="session")
def demo():
    import tspike
    return tspike.Model.load(DEMO)
