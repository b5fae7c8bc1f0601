#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Train the demo ternary-spike CNN on Fashion-MNIST and export it; the
Fashion-MNIST data, network and training loop every script here shares.

    /usr/bin/python3 scripts/train_fashion.py            # models/fashion_tsnet.onnx, the sparse demo
    /usr/bin/python3 scripts/train_fashion.py --dense    # models/fashion_tsnet_dense.onnx

Needs Debian 12's python3-torch python3-onnx python3-numpy and
dataset-fashion-mnist (IDX files in /usr/share/datasets/fashion-mnist).
FashionTSNet: Conv(1->16)+BN -> TernarySpike -> AvgPool 2 -> Conv(16->32)+BN
-> TernarySpike -> AvgPool 2 -> Flatten -> Linear(1568->10), T = 4.
--dense trains it from scratch (recipe DENSE, below); without it the demo is
fine-tuned from models/fashion_tsnet_dense.onnx with a firing-rate penalty
(recipe DEMO). Writes, relative to the repository root (NAME: fashion_tsnet
or fashion_tsnet_dense):
    models/NAME.onnx                          the exported model (tspike format)
    models/samples/fashion_<i>_<label>.png    the first 4 test images
    models/golden/NAME.input.npy              first 8 test images, preprocessed, float32 [8,1,28,28]
    models/golden/NAME.output.npy             PyTorch mean-over-T logits for them, float32 [8,10]
    models/golden/NAME.test_predictions.npy   PyTorch predicted class of every test image, float32 [10000]
    models/golden/NAME.margin.npy             per golden input, smallest distance of a membrane from
                                              a value where its spike changes (float64), float32 [8]
and prints test accuracy, learned amplitudes, firing rates and timings.
"""

import argparse
import copy
import gzip
import hashlib
import os
import re
import struct
import sys
import time
import warnings
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
# The two recipes of main(). DENSE: the dense-firing model, from scratch
# (first shipped as fashion_tsnet; 89.50 %), one training run. DEMO:
# fashion_tsnet, the demo, fine-tuned from DENSE in stages with a firing-rate
# penalty (models/README.md): BatchNorms frozen, starting as gains of
# 1/bn_gain_divisor; each stage is one train() call on the first `images`
# training images.
DENSE = {"threads": 2, "stages": [{"images": 60000, "epochs": 3, "lr": 2e-3, "rate_penalty": 0.0,
                                   "rate_target": 0.0}]}
DEMO = {"threads": 1, "bn_gain_divisor": (3.0, 1.5),
        "stages": [{"images": 20000, "epochs": 1, "lr": 2e-3, "rate_penalty": 5.0, "rate_target": (0.08, 0.2)},
                   {"images": 60000, "epochs": 1, "lr": 2e-3, "rate_penalty": 5.0, "rate_target": (0.08, 0.18)},
                   {"images": 60000, "epochs": 1, "lr": 1e-3, "rate_penalty": 5.0, "rate_target": (0.10, 0.25)},
                   {"images": 60000, "epochs": 1, "lr": 1e-3, "rate_penalty": 5.0, "rate_target": (0.10, 0.25)},
                   {"images": 60000, "epochs": 5, "lr": 1e-3, "rate_penalty": 5.0, "rate_target": (0.11, 0.21)},
                   {"images": 60000, "epochs": 4, "lr": 5e-4, "rate_penalty": 5.0, "rate_target": (0.11, 0.21)}]}


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
def evaluate(model, x, y, batch=1000, timesteps=T):
    model.eval()
    for _, m in spike_layers(model):
        m.count_spikes = True
        m.reset_stats()
    preds = []
    for i in range(0, len(x), batch):
        preds.append(run_T(model, x[i:i + batch], timesteps).argmax(1))
    rates = {}
    for name, m in spike_layers(model):
        rates[name] = m.spike_count / m.element_count
        m.count_spikes = False
    preds = torch.cat(preds)
    return (preds == y).float().mean().item(), preds, rates


class RatePenalty:
    """A firing-rate penalty: `weight` times the mean over the spike layers
    of each layer's firing rate (nonzero spikes / elements, over the batch
    and the T timesteps) above `target` (0: the whole rate), added to the
    loss: an activity regularizer with an upper bound, as in Zenke and Vogels
    2021 (models/README.md).

    The rate is not differentiable; its gradient is the straight-through one
    the neuron uses for its spikes (tspike_torch.neuron): |s| in the forward
    pass, the gradient of clamp(|u| / (2 theta), 0, 1) (binary:
    clamp(u / (2 theta), 0, 1)) in the backward pass, so it pulls membranes
    inside the surrogate window towards 0 (binary: below 0). It is computed
    by a forward pre-hook on every neuron from the membrane the neuron is
    about to update; the neurons themselves are unchanged."""

    def __init__(self, model, weight, target=0.0):
        self.weight = float(weight)
        self.layers = spike_layers(model)
        self.sums = [0.0] * len(self.layers)
        self.calls = [0] * len(self.layers)
        self.hooks = [m.register_forward_pre_hook(self._hook(k))
                      for k, (_, m) in enumerate(self.layers)] if self.weight else []
        # One target for every layer, or one per layer.
        targets = list(target) if isinstance(target, (list, tuple)) else [float(target)] * len(self.layers)
        if len(targets) != len(self.layers):
            raise ValueError(f"{len(targets)} rate targets for {len(self.layers)} spike layers")
        self.targets = targets

    def _hook(self, k):
        def hook(mod, inputs):
            if not mod.training:
                return
            u = inputs[0] if mod.mem is None else mod.mem * mod.decay + inputs[0]
            v = u / (2.0 * mod.threshold)
            if mod.mode == "ternary":
                fired, window = (u.abs() >= mod.threshold), v.abs().clamp(0.0, 1.0)
            else:
                fired, window = (u > mod.threshold), v.clamp(0.0, 1.0)
            rate, soft = fired.to(u.dtype).mean(), window.mean()
            self.sums[k] = self.sums[k] + (rate - soft).detach() + soft
            self.calls[k] += 1
        return hook

    def loss(self):
        """The penalty for the timesteps run since the last call (0 when off)."""
        if not self.weight:
            return 0.0
        rates = [s / max(c, 1) for s, c in zip(self.sums, self.calls)]
        self.sums = [0.0] * len(self.layers)
        self.calls = [0] * len(self.layers)
        excess = [torch.clamp(r - t, min=0.0) for r, t in zip(rates, self.targets)]
        return self.weight * sum(excess) / len(excess)

    def remove(self):
        for h in self.hooks:
            h.remove()


def load_tsnet_onnx(model, path, calibrate=None):
    """Starts a FashionTSNet from an exported fashion_tsnet file (BatchNorm
    folded into the convs by the export): the convs, the classifier and the
    amplitudes take the file's values and each BatchNorm becomes an exact
    identity in eval mode (mean 0, var + eps = 1, gamma 1, beta 0); train it
    with train(..., freeze_bn=True) so that BatchNorm keeps those statistics
    and only its affine parameters train.

    calibrate: preprocessed images; then each BatchNorm instead gets the
    per-channel mean m and variance v of its input over those images and the
    T timesteps as running statistics, gamma = sqrt(v + eps) and beta = m,
    so that it is still about an identity when it normalizes by batch
    statistics (train mode): the network can then train as it was trained."""
    import onnx
    from onnx import numpy_helper
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    with torch.no_grad():
        for name, p in list(model.named_parameters()):
            if name in weights:
                p.copy_(torch.from_numpy(weights[name].copy()).view_as(p))
            elif name.startswith("bn"):
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                raise ValueError(f"{path} has no initializer for {name}")
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)
        if calibrate is None:
            return
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        sums = {id(m): [0.0, 0.0, 0] for m in bns}

        def hook(mod, inputs):
            z = inputs[0].transpose(0, 1).flatten(1).double()
            acc = sums[id(mod)]
            acc[0], acc[1], acc[2] = acc[0] + z.sum(1), acc[1] + (z * z).sum(1), acc[2] + z.shape[1]

        hooks = [m.register_forward_pre_hook(hook) for m in bns]
        model.eval()
        for i in range(0, len(calibrate), 1000):
            run_T(model, calibrate[i:i + 1000])
        for h in hooks:
            h.remove()
        for m in bns:
            total, squares, n = sums[id(m)]
            mean = total / n
            var = (squares / n - mean * mean).clamp_min(0)
            m.running_mean.copy_(mean.float())
            m.running_var.copy_(var.float())
            m.weight.copy_(torch.sqrt(var + m.eps).float())
            m.bias.copy_(mean.float())


def distillation_loss(student_logits, teacher_logits, temperature):
    """Hinton et al. 2015: KL divergence of the softened distributions, times T^2."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.softmax(teacher_logits / t, 1),
                    reduction="batchmean") * t * t


def train(model, xtr, ytr, epochs=3, batch=128, lr=2e-3, timesteps=T, rate_penalty=0.0,
          log=print, freeze_bn=False, rate_target=0.0, teacher=None, kd_weight=0.0, kd_temperature=2.0):
    """The training loop of every Fashion-MNIST model here: Adam with a
    one-cycle learning rate (max `lr`), cross-entropy on the mean over T of
    the logits, plus RatePenalty(rate_penalty). Returns one dict per epoch.
    With rate_penalty 0 it is the loop fashion_tsnet (89.50 %),
    fashion_tsnet_binary and fashion_resnet were trained with. freeze_bn:
    BatchNorm layers stay in eval mode (their statistics do not change),
    for fine-tuning from load_tsnet_onnx. teacher: a trained network whose
    mean-over-T logits the model also learns from (knowledge distillation,
    weight kd_weight, temperature kd_temperature)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    penalty = RatePenalty(model, rate_penalty, rate_target)
    history = []
    t0 = time.time()
    if teacher is not None:
        teacher.eval()
    for epoch in range(epochs):
        model.train()
        if freeze_bn:
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        perm = torch.randperm(len(xtr))
        total, correct, loss_sum, pen_sum = 0, 0, 0.0, 0.0
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            xb, yb = xtr[idx], ytr[idx]
            logits = run_T(model, xb, timesteps)
            loss = F.cross_entropy(logits, yb)
            if teacher is not None and kd_weight:
                with torch.no_grad():
                    target = run_T(teacher, xb, timesteps)
                loss = (1 - kd_weight) * loss + kd_weight * distillation_loss(logits, target, kd_temperature)
            if penalty.weight:
                pen = penalty.loss()
                pen_sum += float(pen) * len(idx)
                loss = loss + pen
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            loss_sum += loss.item() * len(idx)
        history.append({"epoch": epoch + 1, "loss": loss_sum / total, "train_accuracy": correct / total,
                        "penalty": pen_sum / total, "seconds": time.time() - t0})
        log(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} (rate penalty {pen_sum / total:.4f}) "
            f"train acc {correct / total:.4f} amplitudes {amplitudes_str(model)} "
            f"({time.time() - t0:.0f} s)")
    penalty.remove()
    return history


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
def margins(model, x, timesteps=T):
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
    run_T(m64, x.double(), timesteps)
    for h in hs:
        h.remove()
    return best.numpy()


def export_with_golden(model, name, out_dir, xte, yte, preds, timesteps=T, fold_batchnorm=True,
                       verify=True, log=print):
    """Exports `model` to OUT/<name>.onnx and writes OUT/golden/<name>.*:
    input (first 8 test images), output (PyTorch's logits for them),
    test_predictions (PyTorch's class for every test image) and margin.
    With `verify`, runs the file with the NumPy reference against PyTorch."""
    os.makedirs(os.path.join(out_dir, "golden"), exist_ok=True)
    # torch warns about constant folding with TrainingMode.PRESERVE whatever
    # the mode; the model is in eval mode here, so nothing is mutated.
    warnings.filterwarnings("ignore", message=".*constant folding.*")
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    proto = export_tspike(model, xte[:1], onnx_path, timesteps=timesteps, encoding="direct",
                          readout="mean", labels=LABELS, image_scale=1 / 255,
                          image_mean=[MEAN], image_std=[STD],
                          input_name="input", output_name="logits",
                          fold_batchnorm=fold_batchnorm)
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    log(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {digest[:16]}): "
        + " -> ".join(n.op_type for n in proto.graph.node))

    model.eval()
    with torch.no_grad():
        golden_out = run_T(model, xte[:8], timesteps).numpy().astype(np.float32)
    gdir = os.path.join(out_dir, "golden")
    np.save(os.path.join(gdir, f"{name}.input.npy"), xte[:8].numpy().astype(np.float32))
    np.save(os.path.join(gdir, f"{name}.output.npy"), golden_out)
    np.save(os.path.join(gdir, f"{name}.test_predictions.npy"), preds.numpy().astype(np.float32))
    marg = margins(model, xte[:8], timesteps)
    np.save(os.path.join(gdir, f"{name}.margin.npy"), marg.astype(np.float32))
    log("golden inputs: predicted " + " ".join(str(int(v)) for v in golden_out.argmax(1))
        + ", true " + " ".join(str(int(v)) for v in yte[:8]))
    log("golden inputs: margin per sample " + " ".join(f"{m:.2g}" for m in marg)
        + f"; max |logit| {np.abs(golden_out).max():.3g}")

    if verify:
        # The exported file run by an independent NumPy interpreter, against PyTorch.
        t2 = time.time()
        ref = Reference(onnx_path)
        out = ref.run(xte[:8].numpy())[0]
        log(f"ONNX reference vs PyTorch on golden inputs: max |diff| "
            f"{np.abs(out - golden_out).max():.3g} (max |logit| {np.abs(golden_out).max():.3g})")
        ref_preds = np.concatenate([ref.run(xte[i:i + 500].numpy())[0].argmax(1)
                                    for i in range(0, len(xte), 500)])
        agree = int((ref_preds == preds.numpy()).sum())
        log(f"ONNX reference predictions equal PyTorch's on {agree}/{len(xte)} test images; "
            f"ONNX reference accuracy {(ref_preds == yte).mean():.4f} ({time.time() - t2:.0f} s)")
    return onnx_path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dense", action="store_true",
                    help="train the dense-firing model from scratch (fashion_tsnet_dense) instead")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--no-verify", action="store_true",
                    help="skip checking the ONNX file with the NumPy reference")
    args = ap.parse_args()
    recipe = DENSE if args.dense else DEMO
    name = "fashion_tsnet_dense" if args.dense else "fashion_tsnet"

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(recipe["threads"])

    tr_img, tr_lab = load(args.data, "train")
    te_img, te_lab = load(args.data, "test")
    xtr, ytr = torch.from_numpy(preprocess(tr_img)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_img)), torch.from_numpy(te_lab)

    model = FashionTSNet()
    if not args.dense:
        # The demo starts from the dense-firing model with its BatchNorms
        # frozen as gains of 1/k (membranes k times smaller: as sparse as a
        # k times higher threshold would make it) and learns to classify
        # from sparse spikes, the rate penalty keeping them sparse.
        load_tsnet_onnx(model, os.path.join(args.out, "fashion_tsnet_dense.onnx"))
        with torch.no_grad():
            for bn, k in zip((model.bn1, model.bn2), recipe["bn_gain_divisor"]):
                bn.weight.fill_(1.0 / k)
    t0 = time.time()
    for k, stage in enumerate(recipe["stages"]):
        if k:
            # Each later stage draws the random numbers a separate run of
            # train_fashion_variants.py --init-state would (seed, then the
            # network's initialisation, then the data order), so that the
            # stages as separate runs give this same model.
            torch.manual_seed(0)
            FashionTSNet()
        n = stage["images"]
        train(model, xtr[:n], ytr[:n], stage["epochs"], 128, stage["lr"], T, stage["rate_penalty"],
              log=lambda m: print(m, flush=True), rate_target=stage["rate_target"], freeze_bn=not args.dense)
    train_s = time.time() - t0

    t1 = time.time()
    acc, preds, rates = evaluate(model, xte, yte)
    eval_s = time.time() - t1
    print(f"test accuracy {acc:.4f} (train {train_s:.0f} s, test pass {eval_s:.0f} s)")
    for layer, m in spike_layers(model):
        print(f"  {layer}: amplitude {m.amplitude.item():.4f}, firing rate {rates[layer]:.4f}")

    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    for i in range(4):
        slug = re.sub(r"[^a-z0-9]+", "_", LABELS[te_lab[i]].lower()).strip("_")
        write_png_gray(os.path.join(args.out, "samples", f"fashion_{i}_{slug}.png"), te_img[i])
    export_with_golden(model, name, args.out, xte, te_lab, preds, T, verify=not args.no_verify)


if __name__ == "__main__":
    main()
