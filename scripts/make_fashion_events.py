#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Simulate an event camera watching Fashion-MNIST images move, the way
N-MNIST was recorded from MNIST, and write the recordings in N-MNIST's
binary format.

    /usr/bin/python3 scripts/make_fashion_events.py OUT [--data DIR] [--limit N] [--seed 0]

Each image (28 x 28) is shown to a 34 x 34 sensor and moved in three
saccades along a triangle (100 ms each, top-left corner at (0,0) -> (6,3)
-> (3,6) -> (0,0) sensor pixels), rendered at sub-pixel positions by
bilinear interpolation every 500 us. A pixel emits an event each time its
log intensity log(I + 0.2) (I in 0..1) moves by its contrast threshold
from the level of its last event: ON (polarity 1) upward, OFF (0)
downward. Thresholds differ from pixel to pixel like a real sensor's
(0.4 x (1 + 0.1 N(0, 1)), clipped to [0.25, 0.55], one map for the whole
data set, seeded). An event's timestamp is the moment the linearly
interpolated log intensity crosses the level, in whole microseconds.

Writes OUT/Train/<label>/<index>.bin and OUT/Test/<label>/<index>.bin
(index: the image's position in the IDX file, 5 digits), like N-MNIST's
folders. Needs python3-numpy and dataset-fashion-mnist.
"""

import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np

SENSOR = 34                      # sensor width and height
IMAGE = 28
SACCADE_US = 100_000             # one saccade
STEP_US = 500                    # rendering interval
VERTICES = [(0, 0), (6, 3), (3, 6), (0, 0)]   # image top-left (x, y) on the sensor
LOG_EPS = 0.2
THRESHOLD = 0.4
THRESHOLD_SPREAD = 0.1


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def positions():
    """Image offset (x, y) at every rendering time, and the times (us)."""
    steps = SACCADE_US // STEP_US
    xs, ys = [], []
    for (x0, y0), (x1, y1) in zip(VERTICES[:-1], VERTICES[1:]):
        f = np.arange(steps) / steps
        xs.append(x0 + (x1 - x0) * f)
        ys.append(y0 + (y1 - y0) * f)
    xs.append([VERTICES[-1][0]])
    ys.append([VERTICES[-1][1]])
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    return xs, ys, np.arange(len(xs)) * STEP_US


def render(images, ox, oy):
    """images [B, 28, 28] in 0..1 placed at sub-pixel offset (ox, oy) on the
    sensor, bilinear, zero outside: [B, 34, 34]."""
    ix, iy = int(np.floor(ox)), int(np.floor(oy))
    fx, fy = ox - ix, oy - iy
    canvas = np.zeros((images.shape[0], SENSOR + 2, SENSOR + 2), np.float64)
    out = np.zeros((images.shape[0], SENSOR, SENSOR), np.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            w = wx * wy
            if w == 0:
                continue
            canvas[:] = 0
            canvas[:, iy + dy:iy + dy + IMAGE, ix + dx:ix + dx + IMAGE] = images
            out += w * canvas[:, :SENSOR, :SENSOR]
    return out


def simulate(images, thresholds):
    """Events of each image: a list of (t, x, y, p) arrays, sorted by t."""
    xs, ys, times = positions()
    level = np.log(render(images, xs[0], ys[0]) + LOG_EPS)   # last event's level
    prev = level.copy()
    chunks = []   # (b, t, x, y, p) per step
    for k in range(1, len(times)):
        now = np.log(render(images, xs[k], ys[k]) + LOG_EPS)
        diff = now - level
        n = np.floor(np.abs(diff) / thresholds).astype(np.int64)
        b, y, x = np.nonzero(n)
        if len(b):
            sign = np.sign(diff[b, y, x])
            counts = n[b, y, x]
            c = thresholds[y, x]
            start, stop = prev[b, y, x], now[b, y, x]
            base = level[b, y, x]
            rep = np.repeat(np.arange(len(b)), counts)
            j = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
            crossing = base[rep] + sign[rep] * j * c[rep]
            frac = (crossing - start[rep]) / (stop[rep] - start[rep])
            t = np.floor(times[k - 1] + np.clip(frac, 0, 1) * STEP_US).astype(np.int64)
            chunks.append((b[rep], t, x[rep], y[rep], (sign[rep] > 0).astype(np.int64)))
            level[b, y, x] = base + sign * counts * c
        prev = now
    result = []
    if chunks:
        cat = [np.concatenate([ch[i] for ch in chunks]) for i in range(5)]
    else:
        cat = [np.zeros(0, np.int64)] * 5
    order = np.lexsort((cat[1], cat[0]))   # by image, then time (stable)
    cat = [a[order] for a in cat]
    bounds = np.searchsorted(cat[0], np.arange(images.shape[0] + 1))
    for i in range(images.shape[0]):
        s = slice(bounds[i], bounds[i + 1])
        result.append((cat[1][s], cat[2][s], cat[3][s], cat[4][s]))
    return result


def nmnist_bytes(t, x, y, p):
    """40 bits per event: x, y, polarity bit then a 23-bit timestamp."""
    if len(t) and (t.max() >= 1 << 23 or t.min() < 0):
        raise ValueError("timestamp beyond 23 bits")
    raw = np.zeros((len(t), 5), np.uint8)
    raw[:, 0] = x
    raw[:, 1] = y
    raw[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--limit", type=int, default=0, help="first N images of each split (0: all)")
    ap.add_argument("--splits", default="Test,Train")
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    thresholds = np.clip(THRESHOLD * (1 + THRESHOLD_SPREAD * rng.standard_normal((SENSOR, SENSOR))),
                         0.25, 0.55)
    for split in args.splits.split(","):
        prefix = "train" if split == "Train" else "t10k"
        images = read_idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz"))
        if args.limit:
            images, labels = images[:args.limit], labels[:args.limit]
        for c in range(10):
            os.makedirs(os.path.join(args.out, split, str(c)), exist_ok=True)
        t0, events = time.time(), 0
        for i in range(0, len(images), args.batch):
            batch = images[i:i + args.batch].astype(np.float64) / 255
            for j, (t, x, y, p) in enumerate(simulate(batch, thresholds)):
                k = i + j
                with open(os.path.join(args.out, split, str(labels[k]), f"{k:05d}.bin"), "wb") as f:
                    f.write(nmnist_bytes(t, x, y, p))
                events += len(t)
            done = min(i + args.batch, len(images))
            print(f"{split}: {done}/{len(images)} recordings, {events / done:.0f} events each on average "
                  f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
