# SPDX-License-Identifier: Apache-2.0
"""tspike.Model: loading from paths and bytes, options, info, limits."""

import json
import os
import pathlib

import pytest

import tspike
from conftest import BOOT, DEMO, SEQUENCE, TWO_OUTPUTS, run_tool, shipped_models


def test_load_from_str_pathlike_and_bytes_gives_the_same_model():
    by_str = tspike.Model.load(DEMO)
    by_path = tspike.Model.load(pathlib.Path(DEMO))
    with open(DEMO, "rb") as f:
        contents = f.read()
    by_bytes = tspike.Model.load(contents, name="demo-bytes")
    by_memoryview = tspike.Model.load(memoryview(bytearray(contents)))
    assert by_str.info["path"] == DEMO
    assert by_bytes.info["path"] == "demo-bytes"
    assert by_memoryview.info["path"] == "<bytes>"
    for m in (by_path, by_bytes, by_memoryview):
        info, ref = m.info, by_str.info
        for key in ("input", "outputs", "layers", "labels", "spike_nodes", "op_counts", "metadata"):
            assert info[key] == ref[key], key


@pytest.mark.parametrize("path", shipped_models(), ids=os.path.basename)
def test_info_matches_tsrun_info_json(path):
    info = tspike.Model.load(path).info
    j = json.loads(run_tool("tsrun", path, "--info", "--json"))
    assert info["input"]["name"] == j["input"]["name"]
    assert [d if d is not None else -1 for d in info["input"]["shape"]] == j["input"]["shape"]
    assert [o["name"] for o in info["outputs"]] == [o["name"] for o in j["outputs"]]
    assert [[d if d is not None else -1 for d in o["shape"]] for o in info["outputs"]] == \
        [o["shape"] for o in j["outputs"]]
    assert info["metadata"] == j["metadata"]
    assert info["timesteps"] == j["timesteps"]
    assert info["encoding"] == j["encoding"]
    assert info["readout"] == j["readout"]
    assert info["op_counts"] == j["op_counts"]
    assert info["layers"] == [{"node": l["node"], "op": l["op"], "multiplication_free": l["multiplication_free"],
                               "why": l["why"], "kernel": l["kernel"]} for l in j.get("layers", [])]
    assert info["folded"] == j["folded"]
    assert info["kept_amplitudes"] == j.get("kept_amplitudes", [])


def test_info_of_the_demo_model_in_plain_python_objects(demo):
    info = demo.info
    assert info["input"]["shape"] == (None, 1, 28, 28)
    assert info["input"]["dim_names"][0] == "N"
    assert info["outputs"][0]["shape"] == (None, 10)
    assert info["labels"][9] == "Ankle boot"
    assert demo.labels == info["labels"]
    assert demo.timesteps == info["timesteps"] == 4
    assert info["encoding"] == "direct" and info["readout"] == "mean"
    assert info["image"]["scale"] == pytest.approx(1 / 255)
    assert len(info["spike_nodes"]) >= 2
    # The first Conv reads the image; the others read spikes through an
    # average pool that the loader folds into them: add-only.
    assert [(l["op"], l["multiplication_free"]) for l in info["layers"]] == \
        [("Conv", False), ("Conv", True), ("Gemm", True)]
    assert all(l["kernel"] and l["why"] for l in info["layers"])
    json.dumps(info)  # plain objects only
    assert "fashion_tsnet.onnx" in repr(demo)


def test_engine_and_isa_choose_the_kernels():
    resnet = os.path.join(os.path.dirname(DEMO), "fashion_resnet.onnx")
    event = tspike.Model.load(resnet, engine="event", isa="portable")
    free = [l for l in event.info["layers"] if l["multiplication_free"]]
    # 8 of its 10 layers: all but the stem (the image) and the classifier
    # (behind a 4 x 4 global pool, kept by the default pool folding).
    assert len(free) == 8 and all(l["kernel"] == "event/portable" for l in free)
    auto = tspike.Model.load(resnet, isa="portable")
    assert all(l["kernel"].startswith("auto: event/portable") for l in auto.info["layers"] if l["multiplication_free"])
    dense = tspike.Model.load(resnet, engine="dense")
    assert all("event" not in l["kernel"] for l in dense.info["layers"])
    reference = tspike.Model.load(resnet, reference_kernels=True)
    assert all(l["kernel"] == "reference" for l in reference.info["layers"])


def test_unknown_options_are_refused_with_the_choices():
    with pytest.raises(tspike.BadInputError, match="'auto', 'event' or 'dense'"):
        tspike.Model.load(DEMO, engine="fast")
    with pytest.raises(tspike.BadInputError, match="'portable'"):
        tspike.Model.load(DEMO, isa="sse2")
    with pytest.raises(TypeError):
        tspike.Model.load(DEMO, "dense")  # options are keyword-only


def test_limits_are_applied_and_reported():
    limits = tspike.Limits(max_file_bytes=1000)
    assert limits.max_file_bytes == 1000
    assert limits.as_dict()["max_timesteps"] == 10000
    with pytest.raises(tspike.ResourceLimitError, match="limit") as e:
        tspike.Model.load(DEMO, limits=limits)
    assert e.value.code == tspike.ErrorCode.RESOURCE_LIMIT
    few = tspike.Model.load(DEMO, limits=tspike.Limits(max_timesteps=8))
    assert few.limits.max_timesteps == 8
    with pytest.raises(tspike.BadInputError, match="1..8"):
        tspike.Session(few, timesteps=9)
    with pytest.raises(tspike.BadInputError, match="no limit named 'max_pixels'"):
        tspike.Limits(max_pixels=3)
    assert "max_nodes=100000" in repr(tspike.Limits())


def test_missing_file_is_a_file_error_and_an_oserror():
    with pytest.raises(tspike.FileIOError) as e:
        tspike.Model.load("/nonexistent/model.onnx")
    assert isinstance(e.value, OSError) and isinstance(e.value, tspike.Error)
    assert "/nonexistent/model.onnx" in str(e.value)


def test_models_with_two_outputs_and_sequence_encoding_describe_themselves():
    two = tspike.Model.load(TWO_OUTPUTS).info
    assert len(two["outputs"]) == 2
    seq = tspike.Model.load(SEQUENCE).info
    assert seq["encoding"] == "sequence"


def test_a_model_is_usable_after_its_python_object_is_gone():
    session = tspike.Session(tspike.Model.load(DEMO))  # the Session keeps the C++ Model alive
    x = tspike.load_image(BOOT, session.model)
    assert session.run(x).shape == (1, 10)
