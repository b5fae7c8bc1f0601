#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

    /usr/bin/python3 tests/fuzz/make_seeds.py

Needs numpy and PIL (Debian's python3-numpy, python3-pil). The seeds are
small and committed; scripts/fuzz.sh copies them into build-fuzz/ and fuzzes
from there, so fuzzing never writes into the source tree.
"""
import gzip
import io
import os
import shutil
import struct
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")


def out_dir(name):
    """The corpus directory, emptied of all but its regress_* files (inputs
    that fuzzing once found, kept by hand)."""
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress_"):
            os.remove(os.path.join(d, f))
    return d


def npy_bytes(array, version=(1, 0)):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), version=version)
    return buf.getvalue()


def main():
    # Models: the test models as they are.
    d = out_dir("model")
    for f in sorted(os.listdir(DATA)):
        if f.endswith(".onnx"):
            shutil.copy(os.path.join(DATA, f), os.path.join(d, f))

    # .npy: float32 of a few ranks and header versions, and a wrong dtype.
    d = out_dir("npy")
    rng = np.random.default_rng(1)
    seeds = {
        "scalar.npy": npy_bytes(np.float32(1.5)),
        "vector.npy": npy_bytes(rng.standard_normal(5).astype(np.float32)),
        "image.npy": npy_bytes(rng.standard_normal((1, 1, 8, 8)).astype(np.float32)),
        "empty.npy": npy_bytes(np.zeros((0, 3), np.float32)),
        "v2.npy": npy_bytes(rng.standard_normal((2, 3)).astype(np.float32), version=(2, 0)),
        "float64.npy": npy_bytes(rng.standard_normal(4)),
        "fortran.npy": npy_bytes(np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32))),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    # Images: one selector byte (fuzz_image.cpp) + a tiny file of each kind.
    d = out_dir("image")
    px = (np.arange(48, dtype=np.uint32) * 37 % 256).astype(np.uint8)
    images = {
        "gray.png": (0x00, Image.fromarray(px[:16].reshape(4, 4), "L"), "PNG"),
        "rgb.png": (0x03, Image.fromarray(px[:45].reshape(3, 5, 3), "RGB"), "PNG"),
        "rgba.png": (0x05, Image.fromarray(px[:48].reshape(3, 4, 4), "RGBA"), "PNG"),
        "gray.jpg": (0x22, Image.fromarray(np.kron(px[:4].reshape(2, 2), np.ones((4, 4), np.uint8)), "L"), "JPEG"),
        "rgb.jpg": (0x11, Image.fromarray(px[:48].reshape(4, 4, 3), "RGB").resize((8, 8)), "JPEG"),
        "rgb.bmp": (0x01, Image.fromarray(px[:27].reshape(3, 3, 3), "RGB"), "BMP"),
        "pal.gif": (0x00, Image.fromarray(px[:4].reshape(2, 2), "L"), "GIF"),
    }
    for name, (pick, img, fmt) in images.items():
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([pick]) + buf.getvalue())

    # IDX (fuzz_idx.cpp): one selector byte (bit 0: 3 dimensions, else 1) +
    # a small file, plain and gzip-compressed (mtime 0: the same bytes each run).
    d = out_dir("idx")
    def idx_bytes(array):
        return bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()
    images_idx = idx_bytes(px[:18].reshape(2, 3, 3))
    labels_idx = idx_bytes(np.array([3, 9], np.uint8))
    idx = {
        "images.idx": b"\x01" + images_idx,
        "images.idx.gz": b"\x01" + gzip.compress(images_idx, mtime=0),
        "labels.idx": b"\x00" + labels_idx,
        "labels.idx.gz": b"\x00" + gzip.compress(labels_idx, mtime=0),
    }
    for name, data in idx.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    # Runs (fuzz_run.cpp): mode, rank, timesteps, dims (200 + d), float32 values.
    d = out_dir("run")
    def run_seed(mode, timesteps, dims, values):
        return bytes([mode, len(dims), timesteps]) + bytes(200 + x for x in dims) + \
            np.asarray(values, np.float32).tobytes()
    x = np.load(os.path.join(DATA, "residual_block.input1.npy"))
    s = np.load(os.path.join(DATA, "binary_sequence.input1.npy"))
    runs = {
        "residual_n1.bin": run_seed(0, 4, [1, 1, 8, 8], x[:1].ravel()),
        "residual_n3.bin": run_seed(0, 2, [3, 1, 8, 8], x.ravel()),
        "residual_noN_steps.bin": run_seed(8, 0, [1, 8, 8], x[0].ravel()),
        "residual_threads.bin": run_seed(4, 3, [2, 1, 8, 8], x[:2].ravel()),
        "sequence.bin": run_seed(1, 0, list(s.shape), s.ravel()),
        "sequence_steps.bin": run_seed(9, 0, list(s.shape[1:]), s[0].ravel()),
    }
    for name, data in runs.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    # Event recordings (fuzz_events.cpp): one selector byte (format, binning
    # rule) + a recording of tests/events/ (tests/events/make_events.py).
    d = out_dir("events")
    ev = os.path.join(ROOT, "tests", "events")
    events = {
        "nmnist.bin": (0x00, "recording.bin"),
        "evt2.raw": (0x12, "recording.raw"),
        "tonic.npy": (0x21, "recording.npy"),
        "aligned.npy": (0x31, "recording_aligned.npy"),
        "fields.npz": (0x0d, "recording_fields.npz"),
        "structured.npz": (0x1d, "recording_structured.npz"),
    }
    for name, (pick, source) in events.items():
        with open(os.path.join(ev, source), "rb") as f, open(os.path.join(d, name), "wb") as g:
            g.write(bytes([pick]) + f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
