#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a calibrated benchmark model in the three forms tsbench runs.

    /usr/bin/python3 tools/bench/make_bench_models.py --arch resnet19 --density 0.1 --out DIR

Untrained weights fire at meaningless rates, so every BatchNorm before a
neuron is set (running statistics of its input, a gain found by bisection)
so that each spike layer fires at --density on the benchmark input
(bench_nets.calibrate_bn). Then weights, biases, amplitudes and input are
rounded to short binary fractions (bench_nets.make_dyadic) so that every sum
is exact in float32 and all runtimes must produce the same spikes. Files, named DIR/NAME.* (NAME: --name, default
ARCH_dDD, e.g. resnet19_d10):

- NAME.tspike.onnx   the tspike model (tspike.torch export, BatchNorm folded)
- NAME.unrolled.onnx the same network over T timesteps with standard ONNX
                     ops only (no custom op), for ONNX Runtime
- NAME.pt            the state_dict, rebuilt by torch_eager.py from NAME.json
- NAME.json          arch, T, target and achieved densities per spike layer
- NAME.input.npy     the benchmark input: 16 images [16, 3, 32, 32]; a run
                     with batch B takes the first B (repeated beyond 16)

Needs Debian's python3-torch 1.13, python3-onnx and python3-numpy
(/usr/bin/python3).
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))   # for tspike.torch

import bench_nets  # noqa: E402
from tspike.torch import export_tspike, reset_net  # noqa: E402

INPUT_SAMPLES = 16


def bench_input(seed=0):
    """Images with some spatial structure (smoothed noise), normalised to
    zero mean and unit variance per channel, as a CIFAR pipeline would."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(INPUT_SAMPLES, 3, 8, 8, generator=g)
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    x = x + 0.15 * torch.randn(INPUT_SAMPLES, 3, 32, 32, generator=g)
    return (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)


def build(arch, density, timesteps, seed=0):
    torch.manual_seed(seed)
    net = bench_nets.BenchNet(arch)
    net.eval()
    x = bench_nets.dyadic_input(bench_input(seed))
    ops = bench_nets.SeqOps(calibrate=density)
    with torch.no_grad():
        bench_nets.run_reference(net, x, timesteps, ops)
        bench_nets.make_dyadic(net)
    names = {id(m): n for n, m in net.named_modules()}
    achieved = [(names[id(m)], d) for m, d in ops.achieved]
    return net, x, achieved


def torch_rates(net, x, timesteps):
    """Per-neuron firing rates of the single-step network (what tspike runs)."""
    spikes = [(n, m) for n, m in net.named_modules() if isinstance(m, bench_nets.TernarySpike)]
    for _, m in spikes:
        m.count_spikes = True
        m.reset_stats()
    reset_net(net)
    with torch.no_grad():
        out = sum(net(x) for _ in range(timesteps)) / timesteps
    rates = {n: m.spike_count / m.element_count for n, m in spikes}
    for _, m in spikes:
        m.count_spikes = False
    return out, rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=bench_nets.ARCHS, required=True)
    ap.add_argument("--density", type=float, required=True, help="target firing rate of every spike layer, e.g. 0.1")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--name", help="file stem (default ARCH_dDD)")
    ap.add_argument("--timesteps", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not 0 < args.density < 1:
        ap.error("--density must be in (0, 1)")
    name = args.name or f"{args.arch}_d{round(args.density * 100):02d}"
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, name)

    net, x, achieved = build(args.arch, args.density, args.timesteps, args.seed)
    ref = bench_nets.run_reference(net, x, args.timesteps)
    step_out, rates = torch_rates(net, x, args.timesteps)
    diff = float((ref - step_out).abs().max())

    torch.save(net.state_dict(), stem + ".pt")
    np.save(stem + ".input.npy", x.numpy().astype(np.float32))
    reset_net(net)
    export_tspike(net, x[:1], stem + ".tspike.onnx", timesteps=args.timesteps,
                  image_scale=1.0, fold_batchnorm=True, output_name="logits")

    unrolled = bench_nets.Unrolled(net, args.timesteps).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The amplitude's size picks a Python branch: constant per model, as traced.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(unrolled, (x[:1],), stem + ".unrolled.onnx", opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          do_constant_folding=True)
    reset_net(net)

    meta = {
        "arch": args.arch, "timesteps": args.timesteps, "seed": args.seed,
        "target_density": args.density,
        "calibrated_density": dict(achieved),
        "torch_step_density": rates,
        "mean_density": float(np.mean(list(rates.values()))),
        "reference_vs_step_max_diff": diff,
        "input": os.path.basename(stem + ".input.npy"),
        "params": sum(p.numel() for p in net.parameters()),
    }
    with open(stem + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({"model": stem + ".tspike.onnx", "mean_density": meta["mean_density"],
                      "min": min(rates.values()), "max": max(rates.values()),
                      "reference_vs_step_max_diff": diff, "params": meta["params"]}))


if __name__ == "__main__":
    main()
