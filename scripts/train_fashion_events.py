#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Train a ternary-spike CNN on simulated event-camera recordings of
Fashion-MNIST (scripts/make_fashion_events.py) and export it.

    /usr/bin/python3 scripts/make_fashion_events.py DATA --splits Test
    /usr/bin/python3 scripts/make_fashion_events.py DATA --splits Train --limit 20000
    /usr/bin/python3 scripts/train_fashion_events.py DATA --limit 20000 --epochs 3 [--frames 6]
    /usr/bin/python3 scripts/train_fashion_events.py DATA --compare-tools build/tools --compare-only

The recordings (N-MNIST format, DATA/Train and DATA/Test) are binned as
the exported model's metadata says: sensor 34 x 34, two polarity channels,
--frames time bins per recording with the bin edges of Tonic's ToFrame
(n_time_bins; docs/events.md), event counts per pixel. The network sees one
frame per timestep (sequence encoding) and its readout is the mean over the
frames. Needs python3-torch, python3-onnx, python3-numpy.

Writes, relative to the repository root:
    models/fashion_events.onnx                          the model
    models/samples/events/fashion_events_<i>_<label>.*  the first 4 test recordings
                                                        (.bin; the first also as .npy, .npz, .raw)
    models/golden/fashion_events.test_predictions.npy   PyTorch's class per test recording, float32 [10000]
    models/golden/fashion_events.running_predictions.npy  PyTorch's class after each frame, float32 [T, 10000]
and prints accuracies. --compare-tools DIR runs `DIR/tsrun --events FILE
--stream --json` on every test recording and compares its prediction after
every frame with PyTorch's.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from tspike.torch import TernarySpike, export_tspike, reset_net, spike_layers  # noqa: E402

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SENSOR = 34


def read_nmnist(path):
    """Events of an N-MNIST file as (t, x, y, p), with the overflow markers
    (y == 240, +2^13 us) of the format."""
    raw = np.fromfile(path, np.uint8).astype(np.int64)
    x, y = raw[0::5], raw[1::5]
    p = raw[2::5] >> 7
    t = ((raw[2::5] & 127) << 16) | (raw[3::5] << 8) | raw[4::5]
    marker = y == 240
    t = t + np.cumsum(marker) * 8192
    keep = ~marker
    return t[keep], x[keep], y[keep], p[keep]


def to_frames(t, x, y, p, bins):
    """Tonic's ToFrame(sensor_size=(34, 34, 2), n_time_bins=bins): window
    (t[-1] - t[0]) // bins, frames [start, start + window) from t[0], counts."""
    frames = np.zeros((bins, 2, SENSOR, SENSOR), np.float32)
    if len(t) == 0:
        return frames
    window = (t[-1] - t[0]) // bins * (1 + 0.0)
    starts = np.arange(bins) * window + t[0]
    first, end = np.searchsorted(t, starts), np.searchsorted(t, starts + window)
    for i in range(bins):
        s = slice(first[i], end[i])
        np.add.at(frames, (i, p[s], y[s], x[s]), 1)
    return frames


def recordings(data, split):
    """(path, label) of every recording of a split, by index."""
    items = []
    for label in range(10):
        d = os.path.join(data, split, str(label))
        for f in os.listdir(d):
            items.append((int(f.split(".")[0]), os.path.join(d, f), label))
    items.sort()
    return [(path, label) for _, path, label in items]


def load_split(data, split, bins):
    """Frames [N, T, 2, 34, 34] (uint8 counts, cached in DATA) and labels."""
    cache = os.path.join(data, f"{split}_frames_{bins}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["frames"], z["labels"]
    items = recordings(data, split)
    frames = np.zeros((len(items), bins, 2, SENSOR, SENSOR), np.uint8)
    for i, (path, _) in enumerate(items):
        f = to_frames(*read_nmnist(path), bins)
        if f.max() > 255:
            raise ValueError(f"{path}: a count above 255")
        frames[i] = f
    labels = np.array([label for _, label in items], np.int64)
    np.savez(cache, frames=frames, labels=labels)
    return frames, labels


class EventTSNet(nn.Module):
    """Conv(2->16, 3x3)+BN -> TS -> AvgPool2 -> Conv(16->32, 3x3, stride 2)+BN
    -> TS -> Flatten -> Linear(2592->10). One call = one frame."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.spike1 = TernarySpike()
        self.pool = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.spike2 = TernarySpike()
        self.fc = nn.Linear(32 * 9 * 9, 10)

    def forward(self, x):
        x = self.pool(self.spike1(self.bn1(self.conv1(x))))
        x = self.spike2(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def run_frames(model, x):
    """Per-frame logits [T, N, 10] of x [N, T, 2, 34, 34]."""
    reset_net(model)
    return torch.stack([model(x[:, t]) for t in range(x.shape[1])])


@torch.no_grad()
def evaluate(model, frames, labels, batch=500):
    """Accuracy and predictions of the readout after each frame: [T] and [T, N]."""
    model.eval()
    for _, m in spike_layers(model):
        m.count_spikes = True
        m.reset_stats()
    running = []
    for i in range(0, len(frames), batch):
        logits = run_frames(model, torch.from_numpy(frames[i:i + batch].astype(np.float32)))
        means = torch.cumsum(logits, 0) / torch.arange(1, logits.shape[0] + 1).view(-1, 1, 1)
        running.append(means.argmax(2))
    rates = {name: m.spike_count / m.element_count for name, m in spike_layers(model)}
    for _, m in spike_layers(model):
        m.count_spikes = False
    running = torch.cat(running, 1).numpy()
    return (running == labels[None]).mean(1), running, rates


def write_samples(data, out_dir, count=4):
    """The first test recordings as shipped samples; the first also as .npy
    (Tonic's structured dtype), .npz (arrays t, x, y, p) and EVT 2.0 .raw."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i, (path, label) in enumerate(recordings(data, "Test")[:count]):
        slug = re.sub(r"[^a-z0-9]+", "_", LABELS[label].lower()).strip("_")
        base = os.path.join(out_dir, f"fashion_events_{i}_{slug}")
        with open(path, "rb") as f, open(base + ".bin", "wb") as g:
            g.write(f.read())
        paths.append(base + ".bin")
        if i == 0:
            t, x, y, p = read_nmnist(path)
            a = np.zeros(len(t), np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
            a["x"], a["y"], a["t"], a["p"] = x, y, t, p
            np.save(base + ".npy", a)
            np.savez_compressed(base + ".npz", t=t, x=x.astype(np.uint16), y=y.astype(np.uint16),
                                p=p.astype(np.uint8))
            words, high = [], None
            for k in range(len(t)):
                if t[k] >> 6 != high:
                    high = int(t[k]) >> 6
                    words.append((8 << 28) | high)
                words.append((int(p[k]) << 28) | ((int(t[k]) & 63) << 22) | (int(x[k]) << 11) | int(y[k]))
            with open(base + ".raw", "wb") as g:
                g.write(b"% format EVT2;height=34;width=34\n% end\n" + np.array(words, "<u4").tobytes())
    return paths


def compare_tools(tools, model_path, data, golden_running, labels):
    """tsrun --events --stream --json on every test recording: its running
    prediction after each frame against PyTorch's."""
    items = recordings(data, "Test")
    tsrun = os.path.join(tools, "tsrun")

    def one(path):
        out = subprocess.run([tsrun, model_path, "--events", path, "--stream", "--json", "--top", "1"],
                             capture_output=True, text=True, check=True).stdout
        return [json.loads(line)["top"][0]["index"] for line in out.splitlines()]

    t0 = time.time()
    with ThreadPoolExecutor(2) as pool:
        running = np.array(list(pool.map(one, [p for p, _ in items]))).T   # [T, N]
    agree = (running == golden_running).all(0)
    print(f"tsrun --stream on {len(items)} test recordings ({time.time() - t0:.0f} s): predictions after "
          f"every frame equal PyTorch's on {int(agree.sum())}/{len(items)} recordings")
    for k, acc in enumerate((running == labels[None]).mean(1)):
        print(f"  tspike accuracy after {k + 1} frame(s): {acc:.4f}")
    return running


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--other-bins", type=int, nargs="*", default=[3, 12],
                    help="also evaluate the model on the test recordings cut into these numbers of frames")
    ap.add_argument("--limit", type=int, default=20000, help="train on the first N recordings (0: all)")
    ap.add_argument("--measure", action="store_true", help="time 20 training batches and stop")
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--compare-tools", default="", help="a folder with tsrun: compare it with PyTorch")
    ap.add_argument("--compare-only", action="store_true",
                    help="no training: compare --compare-tools with the shipped model's golden predictions")
    args = ap.parse_args()
    if args.compare_only:
        running = np.load(os.path.join(args.out, "golden", "fashion_events.running_predictions.npy"))
        labels = np.array([label for _, label in recordings(args.data, "Test")])
        print("PyTorch accuracy after each frame: "
              + " ".join(f"{a:.4f}" for a in (running == labels[None]).mean(1)))
        compare_tools(args.compare_tools, os.path.join(args.out, "fashion_events.onnx"), args.data,
                      running.astype(np.int64), labels)
        return

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)

    t0 = time.time()
    xtr, ytr = load_split(args.data, "Train", args.frames)
    xte, yte = load_split(args.data, "Test", args.frames)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    print(f"frames: train {xtr.shape}, test {xte.shape}, mean events per frame "
          f"{xte[:1000].sum((2, 3, 4)).mean():.0f} ({time.time() - t0:.0f} s)", flush=True)

    model = EventTSNet()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    ytr_t = torch.from_numpy(ytr)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        total, correct, loss_sum = 0, 0, 0.0
        for b, i in enumerate(range(0, len(xtr), args.batch)):
            idx = perm[i:i + args.batch]
            xb = torch.from_numpy(xtr[idx.numpy()].astype(np.float32))
            yb = ytr_t[idx]
            logits = run_frames(model, xb).mean(0)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            loss_sum += loss.item() * len(idx)
            if args.measure and b == 19:
                per = (time.time() - t0) / 20
                print(f"{per:.3f} s per batch of {args.batch}: an epoch of {len(xtr)} takes about "
                      f"{per * len(xtr) / args.batch / 60:.1f} min")
                return
        amps = [round(m.amplitude.item(), 4) for _, m in spike_layers(model)]
        print(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} train acc {correct / total:.4f} "
              f"amplitudes {amps} ({time.time() - t0:.0f} s)", flush=True)

    accs, running, rates = evaluate(model, xte, yte)
    print(f"PyTorch test accuracy {accs[-1]:.4f} over {len(yte)} recordings; after each frame: "
          + " ".join(f"{a:.4f}" for a in accs))
    for name, m in spike_layers(model):
        print(f"  {name}: amplitude {m.amplitude.item():.4f}, firing rate {rates[name]:.4f}")

    # The same model on the recordings cut into more or fewer time bins
    # (each frame then spans a different duration than in training).
    for bins in args.other_bins:
        xo, yo = load_split(args.data, "Test", bins)
        accs_o, _, _ = evaluate(model, xo, yo)
        print(f"  binned into {bins} frames instead of {args.frames}: PyTorch test accuracy {accs_o[-1]:.4f}",
              flush=True)

    onnx_path = os.path.join(args.out, "fashion_events.onnx")
    export_tspike(model, torch.zeros(1, 2, SENSOR, SENSOR), onnx_path, timesteps=args.frames,
                  encoding="sequence", readout="mean", labels=LABELS,
                  input_name="frames", output_name="logits")
    import onnx
    proto = onnx.load(onnx_path)
    meta = {p.key: p.value for p in proto.metadata_props}
    meta.update({"tspike.events.sensor_size": f"{SENSOR},{SENSOR},2",
                 "tspike.events.n_time_bins": str(args.frames),
                 "tspike.events.frame": "counts"})
    del meta["tspike.image.scale"]
    onnx.helper.set_model_props(proto, meta)
    onnx.save(proto, onnx_path)
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")

    gdir = os.path.join(args.out, "golden")
    os.makedirs(gdir, exist_ok=True)
    np.save(os.path.join(gdir, "fashion_events.test_predictions.npy"), running[-1].astype(np.float32))
    np.save(os.path.join(gdir, "fashion_events.running_predictions.npy"), running.astype(np.float32))
    samples = write_samples(args.data, os.path.join(args.out, "samples", "events"))
    print("samples: " + ", ".join(os.path.relpath(p, ROOT) for p in samples))

    if args.compare_tools:
        compare_tools(args.compare_tools, onnx_path, args.data, running, yte)


if __name__ == "__main__":
    main()
