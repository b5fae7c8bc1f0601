# SPDX-License-Identifier: Apache-2.0
"""Inputs from files: load_image (the model's preprocessing), load_npy, the
IDX data sets and images_to_input, as tsrun and tseval read them."""

import gzip
import os

import numpy as np
import pytest

import tspike
from conftest import BOOT, DATA, MODELS, tsrun_outputs

FASHION = tspike.FASHION_MNIST_DIR


def test_load_image_from_path_and_bytes_is_the_golden_input(demo):
    x = tspike.load_image(BOOT, demo)
    assert x.dtype == np.float32 and x.shape == (1, 1, 28, 28)
    with open(BOOT, "rb") as f:
        np.testing.assert_array_equal(tspike.load_image(f.read(), demo), x)
    golden = np.load(os.path.join(MODELS, "golden", "fashion_tsnet.input.npy"))
    np.testing.assert_allclose(x[0], golden[0], rtol=0, atol=1e-5)


def test_an_image_runs_as_tsrun_runs_it(demo, tmp_path):
    y = tspike.Session(demo).run(tspike.load_image(BOOT, demo))
    expected, _ = tsrun_outputs(os.path.join(MODELS, "fashion_tsnet.onnx"), BOOT)
    np.testing.assert_array_equal(y, next(iter(expected.values())))


def test_load_image_needs_a_model(demo):
    with pytest.raises(TypeError, match="tspike.Model"):
        tspike.load_image(BOOT, "models/fashion_tsnet.onnx")
    with pytest.raises(tspike.FileIOError, match="nope.png"):
        tspike.load_image("nope.png", demo)


def test_load_npy_reads_what_numpy_reads(tmp_path):
    path = os.path.join(DATA, "residual_block.input1.npy")
    np.testing.assert_array_equal(tspike.load_npy(path), np.load(path))
    with open(path, "rb") as f:
        np.testing.assert_array_equal(tspike.load_npy(f.read()), np.load(path))
    with pytest.raises(tspike.ResourceLimitError):
        tspike.load_npy(path, limits=tspike.Limits(max_file_bytes=100))


def test_the_fashion_mnist_test_set_and_images_to_input(demo):
    images, labels = tspike.load_idx_dir(FASHION)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8 and labels.max() == 9
    x = tspike.images_to_input(images[:3], demo)
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
    # The same arithmetic as load_image: the bundled ankle boot is test image 0.
    np.testing.assert_array_equal(x[:1], tspike.load_image(BOOT, demo))
    np.testing.assert_array_equal(tspike.images_to_input(images[0], demo), x[:1])  # one [H, W] image
    info = demo.info["image"]
    expected = (images[:3].astype(np.float32) * np.float32(info["scale"]) - np.float32(info["mean"][0])) \
        / np.float32(info["std"][0])
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-6, atol=1e-6)


def test_load_idx_from_files(tmp_path):
    names = sorted(os.listdir(FASHION))
    images_file = next(os.path.join(FASHION, n) for n in names if n.startswith("t10k-images"))
    labels_file = next(os.path.join(FASHION, n) for n in names if n.startswith("t10k-labels"))
    images, labels = tspike.load_idx(images_file, labels_file)
    ref_images, ref_labels = tspike.load_idx_dir(FASHION)
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    # A truncated copy is an error naming the problem, not a short array.
    opener = gzip.open if images_file.endswith(".gz") else open
    with opener(images_file, "rb") as f:
        head = f.read(16 + 28 * 28 * 5)
    cut = tmp_path / "cut-images-idx3-ubyte"
    cut.write_bytes(head)
    with pytest.raises(tspike.ParseError, match=r"needs 7840000 bytes of data, the file has 3920"):
        tspike.load_idx(cut, labels_file)


def test_images_to_input_refuses_what_is_not_gray_uint8(demo):
    with pytest.raises(tspike.BadInputError, match="uint8 gray images"):
        tspike.images_to_input(np.zeros((2, 28, 28), np.float32), demo)
    with pytest.raises(tspike.BadInputError, match="H x W"):
        tspike.images_to_input(np.zeros((2, 32, 32), np.uint8), demo)


def test_log_level(capfd):
    tspike.set_log_level("info")
    try:
        tspike.Model.load(os.path.join(MODELS, "fashion_tsnet.onnx"))
    finally:
        tspike.set_log_level("off")
    assert "fashion_tsnet.onnx" in capfd.readouterr().err
    tspike.Model.load(os.path.join(MODELS, "fashion_tsnet.onnx"))
    assert capfd.readouterr().err == ""
    with pytest.raises(tspike.BadInputError, match="'debug'"):
        tspike.set_log_level("loud")
