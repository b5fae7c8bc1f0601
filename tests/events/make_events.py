#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the event-recording fixtures of tests/test_events.cpp into this folder.

    /usr/bin/python3 tests/events/make_events.py

One recording of 300 events (seeded) on a 16 x 16 sensor, written in every
format the runtime reads: N-MNIST (.bin, with a timestamp-overflow marker),
EVT 2.0 (.raw), a structured .npy (Tonic's dtype, and an aligned one with
padding), an .npz of the arrays t, x, y, p (stored) and an .npz of one
structured array (deflated). events.npy holds the events as they must read
back ([N, 4] int64: t, x, y, p). frames_<rule>.npy hold the frames that
Tonic's ToFrame arithmetic gives for them (transcribed below with NumPy,
float32 [T, P, H, W]); the C++ binning must give exactly these.
Needs python3-numpy.
"""
import io
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
W = H = 16


def recording():
    rng = np.random.default_rng(19)
    n = 300
    t = np.sort(rng.integers(0, 40_000, n))
    t[100:] += 8192 - 7   # the N-MNIST writer below stores these via an overflow marker
    t[150:153] = t[149]   # equal timestamps
    x = rng.integers(0, W, n)
    y = rng.integers(0, H, n)
    p = rng.integers(0, 2, n)
    return t.astype(np.int64), x, y, p


def nmnist(t, x, y, p):
    """40-bit records; a y == 240 record before event 100 adds 2^13 us to
    every later timestamp, so those events store t - 8192."""
    out = bytearray()
    for i in range(len(t)):
        ts = int(t[i])
        if i == 100:
            out += bytes([0, 240, 0, 0, 0])
        if i >= 100:
            ts -= 8192
        out += bytes([x[i], y[i], (p[i] << 7) | (ts >> 16) & 0x7F, (ts >> 8) & 0xFF, ts & 0xFF])
    return bytes(out)


def evt2(t, x, y, p):
    """EVT 2.0: header, then little-endian words: a CD event before any
    time-high (skipped by readers), a time-high whenever t >> 6 changes, an
    external trigger now and then (skipped), CD events."""
    words = [(1 << 28) | (5 << 11) | 5]
    high = None
    for i in range(len(t)):
        if t[i] >> 6 != high:
            high = int(t[i]) >> 6
            words.append((8 << 28) | high)
        if i % 50 == 0:
            words.append((10 << 28) | ((int(t[i]) & 63) << 22) | 1)
        words.append((int(p[i]) << 28) | ((int(t[i]) & 63) << 22) | (int(x[i]) << 11) | int(y[i]))
    header = b"% camera_integrator_name Prophesee\n% format EVT2;height=16;width=16\n% end\n"
    return header + np.array(words, "<u4").tobytes()


def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


# ---- Tonic's ToFrame arithmetic (tonic.slicers, overlap 0), transcribed ----

def slices_time_bins(t, bins):
    window = (t[-1] - t[0]) // bins * (1 + 0.0)
    starts = np.arange(bins) * window + t[0]
    return list(zip(np.searchsorted(t, starts), np.searchsorted(t, starts + window)))


def slices_event_bins(t, bins):
    count = int(len(t) // bins * (1 + 0.0))
    starts = np.arange(bins) * count
    return list(zip(starts, starts + count))


def slices_time_window(t, window, include_incomplete):
    stride = window - 0.0
    duration = t[-1] - t[0]
    f = np.ceil if include_incomplete else np.floor
    n = max(int(f((duration - window) / stride) + 1), 1)
    starts = np.arange(n) * stride + t[0]
    return list(zip(np.searchsorted(t, starts)[:n], np.searchsorted(t, starts + window)[:n]))


def slices_event_count(t, count, include_incomplete):
    n_events = len(t)
    c = min(count, n_events)
    f = np.ceil if include_incomplete else np.floor
    n = int(f((n_events - c) / count) + 1)
    starts = (np.arange(n) * count).astype(int)
    return list(zip(starts, starts + c))


def frames(slices, x, y, p, polarities, binary=False):
    out = np.zeros((len(slices), polarities, H, W), np.float32)
    for i, (a, b) in enumerate(slices):
        pp = p[a:b] if polarities == 2 else np.zeros(b - a, int)
        np.add.at(out, (i, pp, y[a:b], x[a:b]), 1)
    return np.minimum(out, 1) if binary else out


def main():
    t, x, y, p = recording()
    with open(os.path.join(HERE, "recording.bin"), "wb") as f:
        f.write(nmnist(t, x, y, p))
    with open(os.path.join(HERE, "recording.raw"), "wb") as f:
        f.write(evt2(t, x, y, p))
    tonic = np.zeros(len(t), np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    tonic["x"], tonic["y"], tonic["t"], tonic["p"] = x, y, t, p
    np.save(os.path.join(HERE, "recording.npy"), tonic)
    aligned = np.zeros(len(t), np.dtype([("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "?")], align=True))
    aligned["x"], aligned["y"], aligned["t"], aligned["p"] = x, y, t, p.astype(bool)
    np.save(os.path.join(HERE, "recording_aligned.npy"), aligned)
    np.savez(os.path.join(HERE, "recording_fields.npz"), t=t, x=x.astype(np.uint16),
             y=y.astype(np.uint16), p=np.where(p > 0, 1, -1).astype(np.int8))
    np.savez_compressed(os.path.join(HERE, "recording_structured.npz"), events=tonic)
    np.save(os.path.join(HERE, "events.npy"), np.stack([t, x, y, p], 1).astype(np.int64))

    rules = {
        "time_bins_7": slices_time_bins(t, 7),
        "event_bins_7": slices_event_bins(t, 7),
        "time_window_5000": slices_time_window(t, 5000, False),
        "time_window_5000_incomplete": slices_time_window(t, 5000, True),
        "event_count_64": slices_event_count(t, 64, False),
        "event_count_64_incomplete": slices_event_count(t, 64, True),
    }
    for name, s in rules.items():
        np.save(os.path.join(HERE, f"frames_{name}.npy"), frames(s, x, y, p, 2))
    np.save(os.path.join(HERE, "frames_time_bins_7_merged_binary.npy"),
            frames(rules["time_bins_7"], x, y, p, 1, binary=True))


if __name__ == "__main__":
    main()
