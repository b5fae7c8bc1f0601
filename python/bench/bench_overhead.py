#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What Python adds to a run: tspike.Session.run from Python against the
C++ Session::run looped in C++, on the same Session and input, side by
side in one process (rounds alternate, medians compared).

    PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_overhead.py \\
        [--model models/fashion_tsnet.onnx] [--batch 1] [--iters 2000] [--rounds 15]

With --callgrind it counts instructions instead (repeatable on a busy
machine): the script runs itself under valgrind's callgrind with N and
N + K calls of each side, and the difference of the totals over K is the
count per call (start-up cancels out). Valgrind caps the kernels at AVX2.

The Python side is the whole call: argument parsing, the input check (a
float32 C-contiguous array is used in place), releasing and taking back
the GIL, and the new NumPy output. A float64 input (converted to a float32
copy first) is shown for comparison.
"""

import argparse
import os
import re
import statistics
import subprocess
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


def callgrind_child(args, session, x):
    """Runs `args.count` calls of one side; the parent counts the instructions."""
    if args.side == "python":
        python_seconds(session, x, args.count)
    else:
        session._native_run_seconds(x, args.count)
    return 0


def callgrind(args):
    def instructions(side, count):
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
               os.path.abspath(__file__), "--model", args.model, "--image", args.image, "--batch", str(args.batch),
               "--side", side, "--count", str(count)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
        return int(re.search(r"Collected : (\d+)", r.stderr).group(1))

    low, high = args.iters // 10, args.iters
    per_call = {}
    for side in ("native", "python"):
        per_call[side] = (instructions(side, high) - instructions(side, low)) / (high - low)
    n, p = per_call["native"], per_call["python"]
    print(f"callgrind, model {args.model}, batch {args.batch}: instructions per run, from {high} - {low} runs")
    print(f"C++ Session::run (C++ loop)   {n:14.0f}")
    print(f"tspike.Session.run (Python)   {p:14.0f}   ratio {p / n:.4f} (+{p - n:.0f} instructions)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/fashion_tsnet.onnx")
    ap.add_argument("--image", default="models/samples/fashion_0_ankle_boot.png")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--callgrind", action="store_true", help="count instructions under callgrind instead")
    ap.add_argument("--side", choices=["python", "native"], help=argparse.SUPPRESS)  # callgrind's child
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.callgrind:
        return callgrind(args)

    model = tspike.Model.load(args.model)
    x = np.ascontiguousarray(np.repeat(tspike.load_image(args.image, model), args.batch, axis=0))
    x64 = x.astype(np.float64)
    session = tspike.Session(model)
    if args.side:
        session.run(x)  # plan
        return callgrind_child(args, session, x)
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
