# SPDX-License-Identifier: Apache-2.0
"""tspike.convert: tsconvert as a function, its report as a dict equal to
`tsconvert --json`'s, verification included."""

import json
import os

import numpy as np
import pytest

import tspike
from conftest import DATA, run_tool, shipped_models


@pytest.mark.parametrize("model", shipped_models(), ids=os.path.basename)
def test_report_equals_tsconvert_json(model, tmp_path):
    report = tspike.convert(model, tmp_path / "py.onnx", verify=True)
    j = json.loads(run_tool("tsconvert", model, "-o", tmp_path / "cli.onnx", "--verify", "--json"))
    assert report["output"] == str(tmp_path / "py.onnx")
    for key in ("already_reparameterized", "folded", "kept_amplitudes", "kept_pools", "layers",
                "multiplication_free_layers"):
        assert report[key] == j[key], key
    v, jv = report["verify"], j["verify"]
    assert list(v["input_shape"]) == jv["input_shape"]
    for key in ("inputs", "max_abs_difference", "max_rel_difference", "limit", "spike_count_difference", "ok"):
        assert v[key] == jv[key], key
    assert v["ok"]
    with open(tmp_path / "py.onnx", "rb") as a, open(tmp_path / "cli.onnx", "rb") as b:
        assert a.read() == b.read()
    json.dumps(report)


def test_the_converted_model_runs_like_the_original(tmp_path):
    src = os.path.join(DATA, "residual_block.onnx")
    report = tspike.convert(src, tmp_path / "out.onnx")
    assert "verify" not in report and report["folded"]
    x = np.load(os.path.join(DATA, "residual_block.input1.npy"))
    converted = tspike.Model.load(tmp_path / "out.onnx")
    assert converted.info["reparameterized"]
    np.testing.assert_allclose(tspike.Session(converted).run(x), tspike.Session(src).run(x), rtol=0, atol=1e-5)


def test_strict_refuses_an_amplitude_it_cannot_fold(tmp_path):
    src = os.path.join(DATA, "unfoldable.onnx")
    assert tspike.convert(src, tmp_path / "lenient.onnx")["kept_amplitudes"]
    with pytest.raises(tspike.Error, match="amplitude"):
        tspike.convert(src, tmp_path / "strict.onnx", strict=True)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(tspike.FileIOError, match="no_such.onnx"):
        tspike.convert(tmp_path / "no_such.onnx", tmp_path / "out.onnx")
    with pytest.raises(tspike.FileIOError):
        tspike.convert(os.path.join(DATA, "residual_block.onnx"), tmp_path / "missing_dir" / "out.onnx")
