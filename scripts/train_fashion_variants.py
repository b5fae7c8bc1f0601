#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Train the other Fashion-MNIST models of models/ (and the runs of
scripts/ternary_vs_binary.py) and export them.

    /usr/bin/python3 scripts/train_fashion_variants.py --model binary     # fashion_tsnet_binary
    /usr/bin/python3 scripts/train_fashion_variants.py --model resnet     # fashion_resnet
    /usr/bin/python3 scripts/train_fashion_variants.py --model resnet19   # fashion_resnet19
    /usr/bin/python3 scripts/train_fashion_variants.py --model resnet20   # fashion_resnet20
    /usr/bin/python3 scripts/train_fashion_variants.py --model tsnet --mode binary --timesteps 2 --seed 1 --out DIR

Models (direct encoding, mean readout, threshold 0.5, decay 0.25; T = 4
unless --timesteps):
  binary   fashion_tsnet_binary: FashionTSNet (scripts/train_fashion.py) with
           both neurons binary, trained as fashion_tsnet_dense was (same seed,
           initial weights, data order, epochs, optimizer, schedule).
  resnet   fashion_resnet: a small spiking ResNet in the block structure of
           the reference code (BasicBlock: conv-BN-spike-conv-BN, + shortcut,
           then spike), ternary, per-channel amplitudes.
  resnet19, resnet20
           the reference code's ResNet-19 and ResNet-20 ("modified")
           topologies (scripts/fashion_resnets.py) at a fraction of their
           width (--width), on 1 x 28 x 28 images, ternary, one trainable
           amplitude per channel.
  tsnet    FashionTSNet with --mode, --timesteps, --seed, --rate-penalty;
           --init-onnx fine-tunes an exported one.
Seeds: torch.manual_seed(--seed) and np.random.seed(--seed) before
anything random; --threads torch threads.

Needs Debian 12's python3-torch python3-onnx python3-numpy and
dataset-fashion-mnist. Writes, relative to the repository root (or --out):
    models/<name>.onnx                         the exported model
    models/golden/<name>.input.npy             first 8 test images, preprocessed, float32 [8,1,28,28]
    models/golden/<name>.output.npy            PyTorch mean-over-T logits for them, float32 [8,10]
    models/golden/<name>.test_predictions.npy  PyTorch predicted class of every test image, float32 [10000]
    models/golden/<name>.margin.npy            per golden input, smallest distance of a membrane
                                               from a value where its spike changes, float32 [8]
and prints test accuracy, learned amplitudes, firing rates and timings
(--results: also as JSON). With --tools DIR (a build/tools with tsrun) it
also runs the C++ runtime over the whole test set.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from tspike.torch import TernarySpike, spike_layers  # noqa: E402
from fashion_resnets import FashionRefResNet  # noqa: E402
from train_fashion import (FashionTSNet, amplitudes_str, evaluate, export_with_golden,  # noqa: E402
                           load, load_tsnet_onnx, preprocess, train)
from torch import nn  # noqa: E402

NAMES = {"binary": "fashion_tsnet_binary", "resnet": "fashion_resnet",
         "tsnet": "fashion_tsnet", "resnet19": "fashion_resnet19", "resnet20": "fashion_resnet20"}
# How the shipped models were trained (models/README.md); the command line
# overrides each. The ResNets: one thread, one or two epochs (the budget of a
# shared 2-core machine).
DEFAULTS = {"binary": {"epochs": 3, "threads": 2}, "resnet": {"epochs": 3, "threads": 2},
            "tsnet": {"epochs": 3, "threads": 2},
            "resnet19": {"epochs": 2, "threads": 1, "width": 0.0625},
            "resnet20": {"epochs": 1, "threads": 1, "width": 0.125}}


class BasicBlock(nn.Module):
    """The reference code's BasicBlock, one timestep per call:
    conv3x3-BN-spike-conv3x3-BN, plus the shortcut (the block's input
    spikes, or conv1x1-BN of them when the shape changes), then a spike.
    Convs have no bias (the BN follows)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.spike1 = TernarySpike(channels=cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))
        self.spike2 = TernarySpike(channels=cout)

    def forward(self, x):
        out = self.bn2(self.conv2(self.spike1(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.spike2(out + shortcut)


class FashionResNet(nn.Module):
    """Stem conv3x3(1->16)-BN-spike, AvgPool 2 (14x14), BasicBlock(16->16),
    BasicBlock(16->32, stride 2; 7x7), BasicBlock(32->64, stride 2; 4x4),
    global average pool, Linear(64->10). The stride-2 blocks have a
    conv1x1-BN shortcut; every neuron has per-channel amplitudes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.spike1 = TernarySpike(channels=16)
        self.pool = nn.AvgPool2d(2)
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, stride=2)
        self.layer3 = BasicBlock(32, 64, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(self.spike1(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(kind, mode="ternary", width=None):
    if kind == "resnet":
        return FashionResNet()
    if kind in ("resnet19", "resnet20"):
        # The reference code's topologies on 1 x 28 x 28 images; ResNet-20's
        # stem pads to 32 x 32 so that its AvgPools all halve even sizes (as
        # on CIFAR's 32 x 32).
        return FashionRefResNet(kind, width=width or DEFAULTS[kind]["width"], in_channels=1,
                                stem_padding=3 if kind == "resnet20" else 1, neuron={"mode": mode})
    model = FashionTSNet()
    if kind == "binary" or mode == "binary":
        # TernarySpike draws no random numbers: the convs and the linear
        # layer start from the same weights as the ternary network's.
        model.spike1 = TernarySpike(mode="binary")
        model.spike2 = TernarySpike(mode="binary")
    return model


def tspike_accuracy(onnx_path, x, y, tools_dir, batch=1000):
    """Runs the C++ runtime over x (preprocessed) in chunks with tsrun --json.
    Returns (accuracy, predictions, firing rates)."""
    tsrun = os.path.join(tools_dir, "tsrun")
    preds, rates, n = [], {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(0, len(x), batch):
            path = os.path.join(tmp, "x.npy")
            np.save(path, np.ascontiguousarray(x[i:i + batch], np.float32))
            res = subprocess.run([tsrun, onnx_path, "--input", path, "--json"],
                                 check=True, capture_output=True, text=True)
            out = json.loads(res.stdout)
            o = out["outputs"][0]
            logits = np.array(o["data"], np.float32).reshape(o["shape"])
            preds.append(logits.argmax(1))
            k = len(logits)
            for name, r in out["firing_rates"].items():
                rates[name] = rates.get(name, 0.0) + r * k
            n += k
    preds = np.concatenate(preds)
    return float((preds == y).mean()), preds, {k: v / n for k, v in rates.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(NAMES), required=True)
    ap.add_argument("--mode", choices=("ternary", "binary"), default="ternary",
                    help="neuron mode (tsnet, resnet19, resnet20)")
    ap.add_argument("--width", type=float, default=None,
                    help="channel scale of resnet19 / resnet20 (default 0.0625 / 0.125)")
    ap.add_argument("--timesteps", type=int, default=4)
    ap.add_argument("--rate-penalty", type=float, default=0.0,
                    help="weight of the firing-rate penalty (train_fashion.RatePenalty)")
    ap.add_argument("--rate-target", default="0",
                    help="the penalty counts only each layer's rate above this (0: all of it); "
                         "one value, or one per spike layer separated by commas")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the model's)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=None, help="default: the model's (3; ResNet-19: 2, ResNet-20: 1)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--init-onnx", default=None,
                    help="tsnet only: start from this exported fashion_tsnet file and fine-tune "
                         "(BatchNorm frozen as an identity; train_fashion.load_tsnet_onnx)")
    ap.add_argument("--calibrate-bn", action="store_true",
                    help="with --init-onnx: BatchNorm trains (batch statistics), calibrated on the "
                         "training images to start as an identity")
    ap.add_argument("--bn-gain-divisor", default=None,
                    help="with --init-onnx (BatchNorm frozen): start each spike layer's BatchNorm at gain 1/k "
                         "(k per spike layer, comma-separated), i.e. membranes k times smaller, as with a k "
                         "times higher threshold: a sparser start for the rate penalty")
    ap.add_argument("--teacher-onnx", default=None,
                    help="tsnet only: distil from this exported fashion_tsnet file as well")
    ap.add_argument("--kd-weight", type=float, default=0.5, help="weight of the distillation loss")
    ap.add_argument("--save-state", default=None, help="also save the trained state_dict here (.pt)")
    ap.add_argument("--init-state", default=None, help="start from this state_dict (.pt, from --save-state)")
    ap.add_argument("--name", default=None, help="file stem (default by --model)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--results", default=None,
                    help="also write a JSON file: settings, per-epoch log, test accuracy, "
                         "firing rates, predictions")
    ap.add_argument("--tools", default=None,
                    help="folder with the C++ tsrun: also measure tspike's test accuracy")
    ap.add_argument("--subset", type=int, default=0,
                    help="smoke test: train on the first N training images only")
    ap.add_argument("--time-batches", type=int, default=0,
                    help="only time this many training batches (no export)")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip checking the ONNX file with the NumPy reference")
    args = ap.parse_args()
    name = args.name or NAMES[args.model]
    if args.model == "binary":
        args.mode = "binary"
    for key, value in DEFAULTS[args.model].items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    tr_img, tr_lab = load(args.data, "train")
    te_img, te_lab = load(args.data, "test")
    if args.subset:
        tr_img, tr_lab = tr_img[:args.subset], tr_lab[:args.subset]
    xtr, ytr = torch.from_numpy(preprocess(tr_img)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_img)), torch.from_numpy(te_lab)

    model = build(args.model, args.mode, args.width)
    if args.init_onnx:
        if args.model != "tsnet":
            ap.error("--init-onnx takes a fashion_tsnet file (--model tsnet)")
        load_tsnet_onnx(model, args.init_onnx, xtr[:10000] if args.calibrate_bn else None)
    if args.bn_gain_divisor:
        if not args.init_onnx or args.calibrate_bn:
            ap.error("--bn-gain-divisor goes with --init-onnx, without --calibrate-bn")
        divisors = [float(v) for v in args.bn_gain_divisor.split(",")]
        bns = [model.bn1, model.bn2]
        if len(divisors) != len(bns):
            ap.error(f"--bn-gain-divisor: {len(divisors)} values for {len(bns)} spike layers")
        with torch.no_grad():
            for bn, k in zip(bns, divisors):
                bn.weight.fill_(1.0 / k)
    if args.init_state:
        model.load_state_dict(torch.load(args.init_state))
    targets = [float(v) for v in args.rate_target.split(",")]
    rate_target = targets[0] if len(targets) == 1 else targets
    teacher = None
    if args.teacher_onnx:
        teacher = FashionTSNet()
        load_tsnet_onnx(teacher, args.teacher_onnx)
    print(model)
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} parameters")
    if args.time_batches:
        n = args.time_batches * args.batch
        t = time.time()
        train(model, xtr[:n], ytr[:n], 1, args.batch, args.lr, args.timesteps, args.rate_penalty)
        per_batch = (time.time() - t) / args.time_batches
        print(f"{per_batch:.3f} s per batch of {args.batch}: one epoch of {len(xtr)} images "
              f"~ {per_batch * len(xtr) / args.batch:.0f} s")
        return

    t0 = time.time()
    history = train(model, xtr, ytr, args.epochs, args.batch, args.lr, args.timesteps,
                    args.rate_penalty, log=lambda m: print(m, flush=True),
                    freeze_bn=bool(args.init_onnx) and not args.calibrate_bn, rate_target=rate_target,
                    teacher=teacher, kd_weight=args.kd_weight if teacher else 0.0)
    train_s = time.time() - t0
    if args.save_state:
        torch.save(model.state_dict(), args.save_state)

    t1 = time.time()
    acc, preds, rates = evaluate(model, xte, yte, timesteps=args.timesteps)
    eval_s = time.time() - t1
    print(f"test accuracy {acc:.4f} (train {train_s:.0f} s, test pass {eval_s:.0f} s)")
    print("amplitudes: " + amplitudes_str(model))
    print("firing rates (PyTorch, test set): "
          + ", ".join(f"{k} {v:.4f}" for k, v in rates.items()))
    print(f"mean firing rate over layers: {np.mean(list(rates.values())):.4f}")

    # BatchNorm kept for the converter to fold for the old models; the
    # ResNet-19/20 ones are folded by torch's export (eval mode), which also
    # avoids torch merging two equal BatchNorm biases behind an Identity.
    onnx_path = export_with_golden(model, name, args.out, xte, te_lab, preds, args.timesteps,
                                   fold_batchnorm=args.model in ("tsnet", "resnet19", "resnet20"),
                                   verify=not args.no_verify, log=lambda m: print(m, flush=True))

    if args.results:
        with open(args.results, "w") as f:
            json.dump({"model": args.model, "mode": args.mode, "timesteps": args.timesteps,
                       "seed": args.seed, "epochs": args.epochs, "rate_penalty": args.rate_penalty,
                       "rate_target": args.rate_target, "init_state": args.init_state,
                       "width": args.width, "params": params, "threads": args.threads,
                       "init_onnx": args.init_onnx, "bn_gain_divisor": args.bn_gain_divisor, "calibrate_bn": args.calibrate_bn, "lr": args.lr,
                       "teacher_onnx": args.teacher_onnx, "kd_weight": args.kd_weight if teacher else 0.0,
                       "onnx": os.path.relpath(onnx_path, ROOT), "history": history,
                       "train_seconds": train_s, "test_accuracy": acc, "firing_rates": rates,
                       "predictions": "".join(str(int(p)) for p in preds)}, f, indent=1)

    if args.tools:
        t3 = time.time()
        tacc, tpreds, trates = tspike_accuracy(onnx_path, xte.numpy(), te_lab, args.tools)
        agree = int((tpreds == preds.numpy()).sum())
        print(f"tspike test accuracy {tacc:.4f}; predictions equal PyTorch's on "
              f"{agree}/{len(xte)} ({time.time() - t3:.0f} s)")
        print("firing rates (tspike, test set): "
              + ", ".join(f"{k} {v:.4f}" for k, v in trates.items()))


if __name__ == "__main__":
    main()
