#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tspike.dask.classify on the Fashion-MNIST test set with a LocalCluster of
1 and of 2 worker processes (one thread each): images per second and the
ratio.

    PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_dask.py \\
        [--model models/fashion_tsnet.onnx] [--chunk 1024] [--batch 256] [--rounds 5]

The images are persisted on the workers first and a warm-up pass loads the
model in each worker process, so the timed passes measure classification
(plus Dask's scheduling), not cluster start-up or shipping the data set.
Rounds alternate between the two clusters (both stay up); medians.

On a machine busy with other work the wall-clock ratio is capped by the CPU
time the workers get; the CPU seconds the workers spend per pass (user +
system, summed over the worker processes) say whether a second worker adds
work of its own (scheduling, transfers) or only divides the same work.
"""

import argparse
import os
import statistics
import sys
import time

import dask.array as da
from distributed import Client, LocalCluster

import tspike
import tspike.dask
from common import cpu, load


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def timed_pass(client, x, model, batch):
    """Images per second and the workers' CPU seconds of one pass."""
    before = sum(client.run(cpu_seconds).values())
    start = time.perf_counter()
    predictions = client.compute(tspike.dask.classify(x, model, batch=batch).predictions, sync=True)
    rate = len(predictions) / (time.perf_counter() - start)
    return rate, sum(client.run(cpu_seconds).values()) - before, predictions


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/fashion_tsnet.onnx")
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    images, labels = tspike.load_idx_dir(tspike.FASHION_MNIST_DIR)
    setups = {}
    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster, set_as_default=False)
        x = client.persist(da.from_array(images, chunks=(args.chunk, 28, 28)))
        timed_pass(client, x, args.model, args.batch)  # warm-up: each worker loads the model
        setups[workers] = (cluster, client, x)
    rates = {1: [], 2: []}
    worker_cpu = {1: [], 2: []}
    before = load()
    reference = None
    for r in range(args.rounds):
        for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
            cluster, client, x = setups[workers]
            rate, seconds, predictions = timed_pass(client, x, args.model, args.batch)
            rates[workers].append(rate)
            worker_cpu[workers].append(seconds)
            if reference is None:
                reference = predictions
            assert (predictions == reference).all(), "the clusters disagree"
    after = load()
    for cluster, client, _ in setups.values():
        client.close()
        cluster.close()
    ratios = [b / a for a, b in zip(rates[1], rates[2])]
    print(f"machine: {cpu()}; {before} before, {after} after")
    print(f"model {args.model}: {len(images)} images, chunks of {args.chunk}, batch {args.batch}, "
          f"{args.rounds} rounds; accuracy {(reference == labels).mean():.4f}")
    for workers in (1, 2):
        print(f"{workers} worker process{'es' if workers > 1 else ''} x 1 thread: "
              f"{statistics.median(rates[workers]):9.1f} images/s (median; "
              f"{min(rates[workers]):.1f} to {max(rates[workers]):.1f})")
    print(f"2 workers / 1 worker: median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}")
    c1, c2 = statistics.median(worker_cpu[1]), statistics.median(worker_cpu[2])
    print(f"workers' CPU seconds per pass: 1 worker {c1:.2f}, 2 workers {c2:.2f} (ratio {c2 / c1:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
