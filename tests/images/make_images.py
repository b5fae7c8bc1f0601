#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the JPEG fixtures of tests/images/ and their pixels as PIL decodes them.

    /usr/bin/python3 tests/images/make_images.py

Debian's python3 with python3-pil and python3-numpy (PIL decodes through the
system's libjpeg-turbo). For each NAME.jpg, NAME.pil.npy holds float32
[C, H, W] values 0..255: what a PyTorch pipeline built on PIL feeds the
network. tests/test_input.cpp checks that load_image gives the same values.
Deterministic: a rerun writes the same bytes.
"""

import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(20261129)
    # Smooth gradients plus noise, an odd size (partial 16x16 blocks).
    y, x = np.mgrid[0:37, 0:29]
    base = np.stack([x * 8, y * 6, (x + y) * 4], axis=-1).astype(np.float64)
    rgb = np.clip(base + rng.normal(0, 24, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    files = {
        "rgb_420.jpg": dict(image=image, quality=80),  # chroma subsampled 2x2: upsampling matters
        "rgb_444_progressive.jpg": dict(image=image, quality=90, subsampling=0, progressive=True),
        "gray.jpg": dict(image=image.convert("L"), quality=85),
    }
    for name, args in files.items():
        path = os.path.join(HERE, name)
        args = dict(args)
        args.pop("image").save(path, **args)
        decoded = Image.open(path)
        pixels = np.asarray(decoded, dtype=np.float32)
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        np.save(os.path.join(HERE, name.replace(".jpg", ".pil.npy")), np.ascontiguousarray(pixels))
        print(name, decoded.mode, pixels.shape)


if __name__ == "__main__":
    main()
