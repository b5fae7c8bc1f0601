#!/usr/bin/python3
"""What Python adds to a run: tspike.Session.run from Python against the
C++ Session::run looped in C++, on the same Session and input, side by
side in one process (rounds alternate, medians compared).

    PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_overhead.py \\
        [--model models/fashion_tsnet.onnx] [--batch 1] [--iters 2000] [--rounds 15]

The Python side is the whole call: argument parsing, the input check (a
float32 C-contiguous array is used in place), releasing and taking back
the GIL, and the new NumPy output. A float64 input (converted to a float32
copy first) is shown for comparison.
"""

import argparse
import statistics
import sys
import time

import numpy as np

import tspike
from common import cpu, load


def python_seconds(session, x, iters):
    run = session.run
    start = time.perf_counter()
    for _ in range(iters):
        run(x)
    return (time.perf_counter() - start) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/fashion_tsnet.onnx")
    ap.add_argument("--image", default="models/samples/fashion_0_ankle_boot.png")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()

    model = tspike.Model.load(args.model)
    x = np.ascontiguousarray(np.repeat(tspike.load_image(args.image, model), args.batch, axis=0))
    x64 = x.astype(np.float64)
    session = tspike.Session(model)
    python_seconds(session, x, args.iters // 4)  # warm-up: plan, caches
    session._native_run_seconds(x, args.iters // 4)
    native, py, py64 = [], [], []
    before = load()
    for r in range(args.rounds):
        # Alternate which side goes first, so that drift hits both.
        if r % 2 == 0:
            native.append(session._native_run_seconds(x, args.iters))
            py.append(python_seconds(session, x, args.iters))
        else:
            py.append(python_seconds(session, x, args.iters))
            native.append(session._native_run_seconds(x, args.iters))
        py64.append(python_seconds(session, x64, args.iters // 4))
    after = load()
    n, p, p64 = statistics.median(native), statistics.median(py), statistics.median(py64)
    ratios = [b / a for a, b in zip(native, py)]
    print(f"machine: {cpu()}; {before} before, {after} after")
    print(f"model {args.model}, batch {args.batch}, T {session.timesteps}, {args.rounds} rounds x {args.iters} runs")
    print(f"C++ Session::run (C++ loop)         {n * 1e6:9.2f} us per run")
    print(f"tspike.Session.run, float32 input   {p * 1e6:9.2f} us per run   "
          f"ratio {p / n:.4f} (+{(p - n) * 1e6:.2f} us)")
    print(f"  per-round ratios: median {statistics.median(ratios):.4f}, "
          f"min {min(ratios):.4f}, max {max(ratios):.4f}")
    print(f"tspike.Session.run, float64 input   {p64 * 1e6:9.2f} us per run   "
          f"ratio {p64 / n:.4f} (the input converted to a float32 copy first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
