# SPDX-License-Identifier: Apache-2.0
"""Python and C++ compute the same floats: on every shipped model and its
shipped inputs, Session.run equals `tsrun --json` exactly (the same
library, through NumPy instead of .npy files), for each engine; the firing
rates equal tsrun's; and the golden outputs of the shipped models hold."""

import os

import numpy as np
import pytest

import tspike
from conftest import MODELS, shipped_inputs, shipped_models, tsrun_outputs

CASES = [(m, i) for m in shipped_models() for i in shipped_inputs(m)]


@pytest.mark.parametrize("engine", ["auto", "dense"])
@pytest.mark.parametrize("model_path, input_path", CASES,
                         ids=[f"{os.path.basename(m)}-{os.path.basename(i)}" for m, i in CASES])
def test_run_equals_tsrun(model_path, input_path, engine):
    expected, j = tsrun_outputs(model_path, input_path, "--engine", engine)
    model = tspike.Model.load(model_path, engine=engine)
    session = tspike.Session(model)
    got = session.run(np.load(input_path), as_dict=True)
    assert list(got) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    assert session.stats["firing_rates"] == pytest.approx(j["firing_rates"], rel=1e-12, abs=0)


@pytest.mark.parametrize("model_path", [m for m in shipped_models() if os.path.dirname(m) == MODELS],
                         ids=os.path.basename)
def test_golden_outputs_of_the_shipped_models(model_path):
    """PyTorch's outputs (models/golden), to 1e-4, on the inputs whose
    membranes all stay 1e-5 away from a threshold (closer, float rounding
    may flip a spike: format spec section 4), as test_bundled_model does."""
    name = os.path.basename(model_path)[:-len(".onnx")]
    golden_dir = os.path.join(MODELS, "golden")
    x = np.load(os.path.join(golden_dir, name + ".input.npy"))
    golden = np.load(os.path.join(golden_dir, name + ".output.npy"))
    margin = np.load(os.path.join(golden_dir, name + ".margin.npy"))
    y = tspike.Session(tspike.Model.load(model_path)).run(x)
    assert y.shape == golden.shape
    safe = margin >= 1e-5
    assert safe.any()
    np.testing.assert_allclose(y[safe], golden[safe], rtol=0, atol=1e-4)
