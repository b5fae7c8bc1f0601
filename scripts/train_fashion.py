#!/usr/bin/python3
"""Train a small ternary-spike CNN on Fashion-MNIST and export it.

    /usr/bin/python3 scripts/train_fashion.py [--epochs 2] [--data DIR]

Needs Debian 12's python3-torch python3-onnx python3-numpy and
dataset-fashion-mnist (IDX files in /usr/share/datasets/fashion-mnist).
Writes, relative to the repository root:
    models/fashion_tsnet.onnx                      the exported model (tspike format)
    models/samples/fashion_<i>_<label>.png         the first 4 test images
    models/golden/fashion_tsnet.input.npy          first 8 test images, preprocessed, float32 [8,1,28,28]
    models/golden/fashion_tsnet.output.npy         PyTorch mean-over-T logits for them, float32 [8,10]
    models/golden/fashion_tsnet.test_predictions.npy  PyTorch predicted class of every test image, float32 [10000]
    models/golden/fashion_tsnet.margin.npy         per golden input, smallest | |u| - threshold |, float32 [8]
and prints test accuracy, learned amplitudes, firing rates and timings.
"""

import argparse
import gzip
import os
import re
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from tspike.torch import TernarySpike, export_tspike, reset_net, spike_layers  # noqa: E402
from tspike.torch.reference import Reference  # noqa: E402

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN, STD = 0.2860, 0.3530
T = 4


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def preprocess(images_u8):
    x = images_u8.astype(np.float32)[:, None] * np.float32(1 / 255)
    return (x - np.float32(MEAN)) / np.float32(STD)


def write_png_gray(path, img):
    """Minimal 8-bit grayscale PNG writer (no PIL needed)."""
    h, w = img.shape

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + img[r].astype(np.uint8).tobytes() for r in range(h))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


class FashionTSNet(nn.Module):
    """Conv(1->16)+BN -> TS -> AvgPool2 -> Conv(16->32)+BN -> TS -> AvgPool2
    -> Flatten -> Linear(1568->10). One call = one timestep."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.spike1 = TernarySpike()          # per-layer amplitude, shape [1]
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.spike2 = TernarySpike()
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(self.spike1(self.bn1(self.conv1(x))))
        x = self.pool(self.spike2(self.bn2(self.conv2(x))))
        return self.fc(torch.flatten(x, 1))


def run_T(model, x, timesteps=T):
    """Mean over T timesteps of the logits (direct encoding)."""
    reset_net(model)
    out = 0
    for _ in range(timesteps):
        out = out + model(x)
    return out / timesteps


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    for _, m in spike_layers(model):
        m.count_spikes = True
        m.reset_stats()
    preds = []
    for i in range(0, len(x), batch):
        preds.append(run_T(model, x[i:i + batch]).argmax(1))
    rates = {}
    for name, m in spike_layers(model):
        rates[name] = m.spike_count / m.element_count
        m.count_spikes = False
    preds = torch.cat(preds)
    return (preds == y).float().mean().item(), preds, rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--no-verify", action="store_true",
                    help="skip checking the ONNX file with the NumPy reference")
    args = ap.parse_args()

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)

    tr_img, tr_lab = load(args.data, "train")
    te_img, te_lab = load(args.data, "test")
    xtr, ytr = torch.from_numpy(preprocess(tr_img)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_img)), torch.from_numpy(te_lab)

    model = FashionTSNet()
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
        amps = [round(m.amplitude.item(), 4) for _, m in spike_layers(model)]
        print(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} train acc "
              f"{correct / total:.4f} amplitudes {amps} ({time.time() - t0:.0f} s)",
              flush=True)
    train_s = time.time() - t0

    t1 = time.time()
    acc, preds, rates = evaluate(model, xte, yte)
    eval_s = time.time() - t1
    print(f"test accuracy {acc:.4f} (train {train_s:.0f} s, test pass {eval_s:.0f} s)")
    for name, m in spike_layers(model):
        print(f"  {name}: amplitude {m.amplitude.item():.4f}, firing rate {rates[name]:.4f}")

    # Export and reference data.
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "golden"), exist_ok=True)
    onnx_path = os.path.join(args.out, "fashion_tsnet.onnx")
    proto = export_tspike(model, xte[:1], onnx_path, timesteps=T, encoding="direct",
                          readout="mean", labels=LABELS, image_scale=1 / 255,
                          image_mean=[MEAN], image_std=[STD],
                          input_name="input", output_name="logits")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes): "
          + " -> ".join(n.op_type for n in proto.graph.node))

    for i in range(4):
        slug = re.sub(r"[^a-z0-9]+", "_", LABELS[te_lab[i]].lower()).strip("_")
        write_png_gray(os.path.join(args.out, "samples", f"fashion_{i}_{slug}.png"), te_img[i])

    model.eval()
    with torch.no_grad():
        golden_out = run_T(model, xte[:8]).numpy().astype(np.float32)
    gdir = os.path.join(args.out, "golden")
    np.save(os.path.join(gdir, "fashion_tsnet.input.npy"), xte[:8].numpy().astype(np.float32))
    np.save(os.path.join(gdir, "fashion_tsnet.output.npy"), golden_out)
    np.save(os.path.join(gdir, "fashion_tsnet.test_predictions.npy"),
            preds.numpy().astype(np.float32))
    # How close each golden input brings a membrane to +-threshold in the
    # exported model (float64): below ~1e-5 a float32 implementation that
    # sums in another order may flip a spike there (spec section 4).
    ref = Reference(onnx_path)
    margins = []
    for i in range(8):
        stats = {}
        ref.run(xte[i:i + 1].numpy(), stats=stats)
        margins.append(min(v[2] for v in stats.values()))
    np.save(os.path.join(gdir, "fashion_tsnet.margin.npy"), np.array(margins, np.float32))
    print("golden inputs: smallest | |u| - threshold | per sample: "
          + " ".join(f"{m:.2g}" for m in margins))

    if not args.no_verify:
        # The exported file (BN folded into the convs) run by an independent
        # NumPy interpreter, against PyTorch.
        t2 = time.time()
        out = ref.run(xte[:8].numpy())[0]
        print(f"ONNX reference vs PyTorch on golden inputs: max |diff| "
              f"{np.abs(out - golden_out).max():.3g} (max |logit| {np.abs(golden_out).max():.3g})")
        ref_preds = np.concatenate([ref.run(xte[i:i + 500].numpy())[0].argmax(1)
                                    for i in range(0, len(xte), 500)])
        agree = int((ref_preds == preds.numpy()).sum())
        print(f"ONNX reference predictions equal PyTorch's on {agree}/{len(xte)} test images; "
              f"ONNX reference accuracy {(ref_preds == te_lab).mean():.4f} ({time.time() - t2:.0f} s)")


if __name__ == "__main__":
    main()
