#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Sessions on Python threads: one thread running N inferences against two
threads running N each (two Sessions sharing one Model), rounds
alternating; the speed-up in throughput says how much run() runs outside
the GIL.

    PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_threads.py \\
        [--model models/fashion_tsnet.onnx] [--batch 1] [--runs 1000] [--rounds 7]

On a machine whose cores are busy with other work the speed-up is capped
by the cores left: the load average is printed before and after.

Less sensitive to that: the process's CPU time per image with 1 and 2
threads (equal when the second thread only divides the work), and how much Python work the main thread gets
done while another thread runs a Session, against the same time with no
Session running (spins of a counting loop). Were the GIL held during run(),
the main thread could run only between calls: a ratio near 0.01. With the
GIL released it is near 1 on two free cores, about 0.5 when the process
gets one core's worth of CPU time.
"""

import argparse
import statistics
import sys
import threading
import time

import numpy as np

import tspike
from common import cpu, load


def throughput(model, x, threads, runs, cpu=None):
    sessions = [tspike.Session(model) for _ in range(threads)]
    for s in sessions:
        s.run(x)  # plan outside the timing
    barrier = threading.Barrier(threads + 1)

    def work(s):
        barrier.wait()
        for _ in range(runs):
            s.run(x)

    workers = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for w in workers:
        w.start()
    barrier.wait()
    start, start_cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.join()
    images = threads * runs * x.shape[0]
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) / images)  # CPU seconds per image
    return images / (time.perf_counter() - start)


def spins(seconds, busy=None):
    """Iterations of a counting loop in `seconds`, while `busy` (a thread
    running a Session) runs."""
    stop = threading.Event()
    if busy:
        t = threading.Thread(target=busy, args=(stop,))
        t.start()
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    stop.set()
    if busy:
        t.join()
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/fashion_tsnet.onnx")
    ap.add_argument("--image", default="models/samples/fashion_0_ankle_boot.png")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    model = tspike.Model.load(args.model)
    x = np.ascontiguousarray(np.repeat(tspike.load_image(args.image, model), args.batch, axis=0))
    one, two = [], []
    cpu1, cpu2 = [], []
    before = load()
    for r in range(args.rounds):
        if r % 2 == 0:
            one.append(throughput(model, x, 1, args.runs, cpu1))
            two.append(throughput(model, x, 2, args.runs, cpu2))
        else:
            two.append(throughput(model, x, 2, args.runs, cpu2))
            one.append(throughput(model, x, 1, args.runs, cpu1))
    session = tspike.Session(model)

    def busy(stop):
        while not stop.is_set():
            session.run(x)

    alone, beside = [], []
    for _ in range(args.rounds):
        alone.append(spins(0.5))
        beside.append(spins(0.5, busy))
    after = load()
    speedups = [b / a for a, b in zip(one, two)]
    print(f"machine: {cpu()}; {before} before, {after} after")
    print(f"model {args.model}, batch {args.batch}, {args.rounds} rounds of {args.runs} runs per thread")
    print(f"1 thread,  1 Session:  {statistics.median(one):10.1f} images/s (median)")
    print(f"2 threads, 2 Sessions: {statistics.median(two):10.1f} images/s (median)")
    print(f"speed-up: median {statistics.median(speedups):.3f}, min {min(speedups):.3f}, max {max(speedups):.3f}")
    c1, c2 = statistics.median(cpu1), statistics.median(cpu2)
    print(f"CPU time per image: 1 thread {c1 * 1e6:.1f} us, 2 threads {c2 * 1e6:.1f} us (ratio {c2 / c1:.3f})")
    ratios = [b / a for a, b in zip(alone, beside)]
    print(f"Python loop in the main thread while another thread runs a Session / alone: "
          f"median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
