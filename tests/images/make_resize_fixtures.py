#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the resize fixtures of tests/images/: a small RGBA image and what PIL
(and PyTorch) make of it for each tspike.image.resize method.

    /usr/bin/python3 tests/images/make_resize_fixtures.py

Debian's python3 with python3-pil, python3-numpy and python3-torch. The
source is resize_src.png (41x23 RGBA, lossless). Each resize_<case>.npy holds
float32 [C, H, W] values 0..255: the image's channels as load_image takes them
(alpha dropped; gray = 0.299 R + 0.587 G + 0.114 B in float32), each plane
resized in float (PIL mode "F", no 8-bit rounding), as listed in CASES.
tests/test_image_resize.cpp checks that load_image gives the same values.
Deterministic: a rerun writes the same bytes.
"""

import os

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (tspike.image.resize, channels, height, width)
CASES = {
    "antialias_down_rgb": ("bilinear_antialias", 3, 12, 16),
    "antialias_up_gray": ("bilinear_antialias", 1, 30, 50),
    "nearest_down_rgb": ("nearest", 3, 12, 16),
    "bilinear_down_rgb": ("bilinear", 3, 12, 16),
    "antialias_crop_rgb": ("bilinear_antialias_crop", 3, 16, 16),
}


def pil_resize(planes, width, height, method):
    resample = {"bilinear_antialias": Image.BILINEAR, "nearest": Image.NEAREST}[method]
    out = [np.asarray(Image.fromarray(p, "F").resize((width, height), resample, reducing_gap=None)) for p in planes]
    return np.stack(out).astype(np.float32)


def torch_bilinear(planes, width, height):
    x = torch.from_numpy(planes)[None]
    y = torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    return y[0].numpy().astype(np.float32)


def fixture(planes, method, height, width):
    crop = method.endswith("_crop")
    method = method[: -len("_crop")] if crop else method
    h, w = planes.shape[1:]
    rh, rw = height, width
    if crop:  # torchvision Resize(S) of the shorter side, then CenterCrop
        if w * height >= h * width:
            rw = max(width, int(height * w / h))
        else:
            rh = max(height, int(width * h / w))
    out = torch_bilinear(planes, rw, rh) if method == "bilinear" else pil_resize(planes, rw, rh, method)
    if crop:
        top, left = int(round((rh - height) / 2.0)), int(round((rw - width) / 2.0))
        out = out[:, top:top + height, left:left + width]
    return np.ascontiguousarray(out)


def main():
    rng = np.random.default_rng(20261205)
    y, x = np.mgrid[0:23, 0:41]
    base = np.stack([x * 6, y * 10, (x + y) * 4, 255 - x * 3], axis=-1).astype(np.float64)
    rgba = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    path = os.path.join(HERE, "resize_src.png")
    Image.fromarray(rgba, "RGBA").save(path)
    pixels = np.asarray(Image.open(path), dtype=np.float32).transpose(2, 0, 1)[:3]
    gray = (np.float32(0.299) * pixels[0] + np.float32(0.587) * pixels[1] + np.float32(0.114) * pixels[2])[None]
    for name, (method, channels, height, width) in CASES.items():
        planes = np.ascontiguousarray(pixels if channels == 3 else gray)
        out = fixture(planes, method, height, width)
        np.save(os.path.join(HERE, f"resize_{name}.npy"), out)
        print(name, method, out.shape)


if __name__ == "__main__":
    main()
