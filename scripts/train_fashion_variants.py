#!/usr/bin/python3
"""Train the binary twin of fashion_tsnet, or a small spiking ResNet, on
Fashion-MNIST, and export it.

    /usr/bin/python3 scripts/train_fashion_variants.py --model binary
    /usr/bin/python3 scripts/train_fashion_variants.py --model resnet
    /usr/bin/python3 scripts/train_fashion_variants.py --model ternary --out /tmp/x

Models (T = 4, direct encoding, mean readout, threshold 0.5, decay 0.25):
  binary   fashion_tsnet_binary: the network of scripts/train_fashion.py
           (FashionTSNet, imported from there) with both neurons in binary
           mode, trained exactly as fashion_tsnet was (same seed, data order,
           epochs, optimizer, schedule).
  resnet   fashion_resnet: a spiking ResNet in the block structure of the
           Ternary-Spike reference code's CIFAR ResNet-19/20 (BasicBlock:
           conv-BN-spike-conv-BN, + shortcut, then spike), ternary neurons
           with per-channel trainable amplitudes.
  ternary  fashion_tsnet again, through this script's training loop: a
           check that the loop is the one of scripts/train_fashion.py (it
           reproduces models/fashion_tsnet.onnx bit for bit); use --out.

Needs Debian 12's python3-torch python3-onnx python3-numpy and
dataset-fashion-mnist. Writes, relative to the repository root (or --out):
    models/<name>.onnx                         the exported model (BatchNormalization
                                               nodes kept, for the converter to fold;
                                               --model ternary folds them like
                                               train_fashion.py)
    models/golden/<name>.input.npy             first 8 test images, preprocessed, float32 [8,1,28,28]
    models/golden/<name>.output.npy            PyTorch mean-over-T logits for them, float32 [8,10]
    models/golden/<name>.test_predictions.npy  PyTorch predicted class of every test image, float32 [10000]
    models/golden/<name>.margin.npy            per golden input, smallest distance of a membrane
                                               from a value where its spike changes, float32 [8]
and prints test accuracy, learned amplitudes, firing rates and timings.
With --tools DIR (a build/tools with tsrun) it also runs the C++ runtime over
the whole test set and prints its accuracy.
"""

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from tspike.torch import TernarySpike, export_tspike, reset_net, spike_layers  # noqa: E402
from tspike.torch.reference import Reference  # noqa: E402
from train_fashion import (LABELS, MEAN, STD, T, FashionTSNet, evaluate,  # noqa: E402
                           load, preprocess, run_T)

NAMES = {"binary": "fashion_tsnet_binary", "resnet": "fashion_resnet",
         "ternary": "fashion_tsnet"}


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


def build(kind):
    if kind == "resnet":
        return FashionResNet()
    model = FashionTSNet()
    if kind == "binary":
        # TernarySpike draws no random numbers: the convs and the linear
        # layer start from the same weights as fashion_tsnet's.
        model.spike1 = TernarySpike(mode="binary")
        model.spike2 = TernarySpike(mode="binary")
    return model


def amplitudes_str(model):
    parts = []
    for name, m in spike_layers(model):
        a = m.amplitude.detach().numpy()
        if a.size == 1:
            parts.append(f"{name} {a[0]:.4f}")
        else:
            parts.append(f"{name} [{a.min():.3f}..{a.max():.3f}, mean {a.mean():.3f}]")
    return ", ".join(parts)


@torch.no_grad()
def margins(model, x):
    """Per sample: the smallest distance, over all neurons and timesteps, of
    a membrane from a value where its spike changes (+-threshold for
    ternary, +threshold for binary), computed in float64."""
    m64 = copy.deepcopy(model).double().eval()
    best = torch.full((len(x),), float("inf"), dtype=torch.float64)

    def hook(mod, inputs):
        u = inputs[0] if mod.mem is None else mod.mem * mod.decay + inputs[0]
        d = (u.abs() - mod.threshold).abs() if mod.mode == "ternary" else (u - mod.threshold).abs()
        best.copy_(torch.minimum(best, d.flatten(1).min(1).values))

    hs = [m.register_forward_pre_hook(hook) for _, m in spike_layers(m64)]
    run_T(m64, x.double())
    for h in hs:
        h.remove()
    return best.numpy()


def tspike_accuracy(onnx_path, x, y, tools_dir, batch=1000):
    """Runs the C++ runtime over x (preprocessed) in chunks: tseval when the
    tools folder has it, else tsrun --json per chunk. Returns (accuracy,
    predictions, firing rates, tool used)."""
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
    return float((preds == y).mean()), preds, {k: v / n for k, v in rates.items()}, "tsrun"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(NAMES), required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--tools", default=None,
                    help="folder with the C++ tsrun: also measure tspike's test accuracy")
    ap.add_argument("--subset", type=int, default=0,
                    help="smoke test: train on the first N training images only")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip checking the ONNX file with the NumPy reference")
    args = ap.parse_args()
    name = NAMES[args.model]

    # The same seeding, data and training loop as scripts/train_fashion.py.
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)

    tr_img, tr_lab = load(args.data, "train")
    te_img, te_lab = load(args.data, "test")
    if args.subset:
        tr_img, tr_lab = tr_img[:args.subset], tr_lab[:args.subset]
    xtr, ytr = torch.from_numpy(preprocess(tr_img)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_img)), torch.from_numpy(te_lab)

    model = build(args.model)
    print(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            logits = run_T(model, xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            loss_sum += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} train acc "
              f"{correct / total:.4f} ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0

    t1 = time.time()
    acc, preds, rates = evaluate(model, xte, yte)
    eval_s = time.time() - t1
    print(f"test accuracy {acc:.4f} (train {train_s:.0f} s, test pass {eval_s:.0f} s)")
    print("amplitudes: " + amplitudes_str(model))
    print("firing rates (PyTorch, test set): "
          + ", ".join(f"{k} {v:.4f}" for k, v in rates.items()))
    print("mean firing rate over layers: "
          f"{np.mean(list(rates.values())):.4f}")

    os.makedirs(os.path.join(args.out, "golden"), exist_ok=True)
    # torch warns about constant folding with TrainingMode.PRESERVE whatever
    # the mode; the model is in eval mode here, so nothing is mutated.
    warnings.filterwarnings("ignore", message=".*constant folding.*")
    onnx_path = os.path.join(args.out, f"{name}.onnx")
    proto = export_tspike(model, xte[:1], onnx_path, timesteps=T, encoding="direct",
                          readout="mean", labels=LABELS, image_scale=1 / 255,
                          image_mean=[MEAN], image_std=[STD],
                          input_name="input", output_name="logits",
                          fold_batchnorm=(args.model == "ternary"))
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {digest[:16]}): "
          + " -> ".join(n.op_type for n in proto.graph.node))

    model.eval()
    with torch.no_grad():
        golden_out = run_T(model, xte[:8]).numpy().astype(np.float32)
    gdir = os.path.join(args.out, "golden")
    np.save(os.path.join(gdir, f"{name}.input.npy"), xte[:8].numpy().astype(np.float32))
    np.save(os.path.join(gdir, f"{name}.output.npy"), golden_out)
    np.save(os.path.join(gdir, f"{name}.test_predictions.npy"), preds.numpy().astype(np.float32))
    marg = margins(model, xte[:8])
    np.save(os.path.join(gdir, f"{name}.margin.npy"), marg.astype(np.float32))
    print("golden inputs: predicted " + " ".join(str(int(v)) for v in golden_out.argmax(1))
          + ", true " + " ".join(str(int(v)) for v in te_lab[:8]))
    print("golden inputs: margin per sample " + " ".join(f"{m:.2g}" for m in marg))

    if not args.no_verify:
        # The exported file (BN kept) run by the NumPy interpreter, against PyTorch.
        t2 = time.time()
        ref = Reference(onnx_path)
        out = ref.run(xte[:8].numpy())[0]
        print(f"ONNX reference vs PyTorch on golden inputs: max |diff| "
              f"{np.abs(out - golden_out).max():.3g} (max |logit| {np.abs(golden_out).max():.3g})")
        ref_preds = np.concatenate([ref.run(xte[i:i + 500].numpy())[0].argmax(1)
                                    for i in range(0, len(xte), 500)])
        agree = int((ref_preds == preds.numpy()).sum())
        print(f"ONNX reference predictions equal PyTorch's on {agree}/{len(xte)} test images; "
              f"ONNX reference accuracy {(ref_preds == te_lab).mean():.4f} ({time.time() - t2:.0f} s)")

    if args.tools:
        t3 = time.time()
        tacc, tpreds, trates, tool = tspike_accuracy(onnx_path, xte.numpy(), te_lab, args.tools)
        agree = int((tpreds == preds.numpy()).sum())
        print(f"tspike ({tool}) test accuracy {tacc:.4f}; predictions equal PyTorch's on "
              f"{agree}/{len(xte)} ({time.time() - t3:.0f} s)")
        print("firing rates (tspike, test set): "
              + ", ".join(f"{k} {v:.4f}" for k, v in trates.items()))


if __name__ == "__main__":
    main()
