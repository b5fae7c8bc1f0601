#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs a benchmark model (make_bench_models.py) in PyTorch eager mode, the
way the Ternary Spike reference code does: the image repeated T times, convs
and pools on the T*B batch, BatchNorm, Linear and the neuron in a Python loop
over T, the output averaged over T; under torch.inference_mode() with
torch.set_num_threads(N).

    /usr/bin/python3 tools/bench/torch_eager.py DIR/NAME.json [--batch B] [--threads N]
        [--iters K] [--warmup W] [--timesteps T] [--serve]

Prints one JSON object: times_ms (per iteration), peak_rss_mb (the process's
peak RSS, VmHWM), base_rss_mb (RSS after importing torch, before the model),
logits.
--serve (used by tsbench, which interleaves runners): after loading and
warming up, prints {"ready": true}; then each line "run" on stdin runs one
inference and prints {"ms": ...}; "done" prints the JSON above and exits.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))   # for tspike.torch

import bench_nets  # noqa: E402


def status_mb(field):
    """VmRSS (now) or VmHWM (peak) of this process, in MB. Not getrusage's
    ru_maxrss: Linux carries that over from the parent across exec, so a
    runner started by tsbench would report tsbench's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def batch_input(path, batch):
    x = np.load(path).astype(np.float32)
    reps = -(-batch // x.shape[0])
    return torch.from_numpy(np.ascontiguousarray(np.concatenate([x] * reps)[:batch]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("meta", help="NAME.json written by make_bench_models.py")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--timesteps", type=int, default=0, help="0: the model's T")
    ap.add_argument("--input", help="float32 .npy [S, 3, 32, 32] (default: the model's)")
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    base = status_mb("VmRSS")
    with open(args.meta) as f:
        meta = json.load(f)
    stem = args.meta[:-len(".json")] if args.meta.endswith(".json") else args.meta
    T = args.timesteps or meta["timesteps"]
    net = bench_nets.BenchNet(meta["arch"])
    net.load_state_dict(torch.load(stem + ".pt"))
    net.eval()
    x = batch_input(args.input or os.path.join(os.path.dirname(args.meta), meta["input"]), args.batch)

    def once():
        t0 = time.perf_counter()
        with torch.inference_mode():
            y = bench_nets.run_reference(net, x, T)
        return (time.perf_counter() - t0) * 1e3, y

    y = None
    for _ in range(args.warmup):
        _, y = once()
    times = []
    if args.serve:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "run":
                ms, y = once()
                times.append(ms)
                print(json.dumps({"ms": ms}), flush=True)
            elif cmd == "done":
                break
    else:
        for _ in range(args.iters):
            ms, y = once()
            times.append(ms)
    if y is None:
        _, y = once()
    print(json.dumps({
        "runner": "pytorch-eager", "version": torch.__version__, "threads": args.threads,
        "batch": args.batch, "timesteps": T, "times_ms": times,
        "peak_rss_mb": status_mb("VmHWM"), "base_rss_mb": base,
        "logits_shape": list(y.shape), "logits": [float(v) for v in y.flatten()],
    }), flush=True)


if __name__ == "__main__":
    main()
