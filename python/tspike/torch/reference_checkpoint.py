# SPDX-License-Identifier: Apache-2.0
"""Checkpoints of the Ternary-Spike reference training code, converted in
one step.

    /usr/bin/python3 -m tspike.torch.reference_checkpoint resnet19 ckpt.pth -o trained.onnx
    tsconvert --from-reference resnet19 ckpt.pth -o model.onnx --verify   # this, then tsconvert

The reference's training script saves ``SpikeModel(net).state_dict()``:
every key starts with ``model.``, and each layer sits inside its multi-step
wrapper (a convolution or pool in ``SpikePool``: ``.pool.``, a Linear or a
BatchNorm outside a block in ``SpikeConv``: ``.conv.``, a BatchNorm inside a
block in ``myBatchNorm3d``: ``.bn.``), e.g. ``model.layer1.0.bn1.bn.weight``.
A neuron has no key with the published ``fire_ratio = 1``; with a trainable
one it has ``<neuron>.fire_ratio`` (one value, or ``[1, C, 1, 1]`` per
channel), and a trainable threshold adds ``<neuron>.V_th``.

``load`` builds the architecture from tspike.torch's own definitions
(``reference_nets``), checks the checkpoint against it key by key (missing,
unexpected and misshapen keys are named) and loads it; ``export`` writes the
trained-form tspike ONNX file that ``tsconvert`` converts.

The reference's ``rp=True`` multiplies the pooled features by ``scale``
(``model.scale``) before the classifier; that is folded into the
classifier's weights. A ``scale`` left at 1 (``rp=False``) changes nothing.
"""

import argparse
import json
import sys

import torch
from torch import nn

from . import reference_nets
from .neuron import TernarySpike

PREFIX = "model."
BN_KEYS = ("weight", "bias", "running_mean", "running_var")
CIFAR10_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# Where the reference keeps the first convolution and the classifier
# (the width, input channels and classes are read from them).
FIRST_CONV = {"ResNetCifar": "conv1", "ResNetCifarModified": "conv1.0", "VGG": "features.0"}
CLASSIFIER = {"ResNetCifar": "fc", "ResNetCifarModified": "fc", "VGG": "classifier"}
# The reference's `scale` parameter (rp=True): its shape, whatever the width.
SCALE_SHAPE = {"ResNetCifar": (1, 1, 2048), "ResNetCifarModified": (1, 1, 512)}


class CheckpointError(ValueError):
    """A checkpoint that does not fit the architecture (the message says how)."""


def _inside_block(net, name):
    parts = name.split(".")
    for k in range(1, len(parts)):
        if isinstance(net.get_submodule(".".join(parts[:k])), reference_nets.BasicBlock):
            return True
    return False


def reference_layout(net):
    """The reference state_dict's keys for ``net`` (a reference_nets network):
    {reference key: (module, attribute)} for every parameter and buffer it
    must have, and {reference key: (neuron, "fire_ratio" | "V_th")} for the
    optional neuron keys. The reference's ``model.scale`` is in neither."""
    required, optional = {}, {}
    for name, m in net.named_modules():
        if isinstance(m, (nn.Conv2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            wrapper = "pool"       # SpikePool
        elif isinstance(m, nn.Linear):
            wrapper = "conv"       # SpikeConv
        elif isinstance(m, nn.BatchNorm2d):
            wrapper = "bn" if _inside_block(net, name) else "conv"   # myBatchNorm3d / SpikeConv
        elif isinstance(m, TernarySpike):
            optional[f"{PREFIX}{name}.fire_ratio"] = (m, "fire_ratio")
            optional[f"{PREFIX}{name}.V_th"] = (m, "V_th")
            continue
        else:
            continue
        attrs = [n for n, _ in m.named_parameters(recurse=False)] + [n for n, _ in m.named_buffers(recurse=False)]
        for attr in attrs:
            key = f"{PREFIX}{name}.{wrapper}.{attr}"
            (optional if attr == "num_batches_tracked" else required)[key] = (m, attr)
    return required, optional


def reference_state_dict(net, scale=None):
    """``net``'s state as the reference's training script would save it (for
    tests and examples): reference keys, a trainable amplitude as
    ``fire_ratio`` (per layer: one value of shape []; per channel:
    [1, C, 1, 1]), none for a constant amplitude of 1, and ``model.scale``
    (ones, or ``scale``) for the ResNets."""
    required, optional = reference_layout(net)
    state = {}
    for key, (m, attr) in {**required, **optional}.items():
        if attr == "fire_ratio":
            a = m.amplitude.detach().clone()
            if isinstance(m.amplitude, nn.Parameter):
                state[key] = a.reshape(()) if a.numel() == 1 else a.reshape(1, -1, 1, 1)
            elif not bool((a == 1).all()):
                raise ValueError(f"{key[len(PREFIX):-len('.fire_ratio')]}: a constant amplitude other than 1 "
                                 "has no place in a reference checkpoint")
        elif attr == "V_th":
            if m.threshold != 0.5:
                state[key] = torch.tensor(2.0 * m.threshold)
        else:
            state[key] = getattr(m, attr).detach().clone()
    cls = type(net).__name__
    if cls in SCALE_SHAPE:
        state[PREFIX + "scale"] = torch.ones(SCALE_SHAPE[cls]) if scale is None else scale.detach().clone()
    return state


def read_checkpoint(path):
    """The state_dict in ``path`` (as torch.save wrote it; a dict holding it
    under "state_dict" or "model" also works), DistributedDataParallel's
    "module." prefix removed."""
    try:
        state = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as e:   # pickle, zip and torch errors alike
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(state, dict) and not any(isinstance(v, torch.Tensor) for v in state.values()):
        for k in ("state_dict", "model"):
            if isinstance(state.get(k), dict):
                state = state[k]
                break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state_dict (a dict of tensors)")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _listing(keys, limit=6):
    keys = sorted(keys)
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _shape(t):
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


def _infer(state, cls):
    """Width, input channels and classes from the first conv and the classifier."""
    conv = state.get(f"{PREFIX}{FIRST_CONV[cls]}.pool.weight")
    fc = state.get(f"{PREFIX}{CLASSIFIER[cls]}.conv.weight")
    width = in_channels = classes = None
    if conv is not None and conv.dim() == 4:
        width, in_channels = int(conv.shape[0]), int(conv.shape[1])
    if fc is not None and fc.dim() == 2:
        classes = int(fc.shape[0])
    return width, in_channels, classes


def _fits(arch, state):
    """True when ``state`` has exactly the keys of ``arch`` (for a hint)."""
    cls = reference_nets.ARCHS[arch][0]
    width, cin, classes = _infer(state, cls)
    if width is None:
        return False
    try:
        net = reference_nets.build(arch, width=width, in_channels=cin, num_classes=classes or 10)
    except Exception:
        return False
    required, optional = reference_layout(net)
    keys = set(state) - {PREFIX + "scale"}
    return set(required) <= keys <= set(required) | set(optional)


def _amplitude(key, value, channels):
    """A fire_ratio as a [1] or [C] amplitude; CheckpointError when it does
    not act along the channels of the neuron's [B, C, H, W] input."""
    v = value.detach().to(torch.float32)
    if v.numel() == 1:
        return v.reshape(1)
    dims = list(v.shape)
    per_channel = (len(dims) >= 3 and dims[-3] == channels and v.numel() == channels)
    if not per_channel:
        raise CheckpointError(
            f"{key} has shape {_shape(v)}: the reference multiplies the spikes [B, C, H, W] by it, "
            f"so it must be one value or {channels} values along C ([1, {channels}, 1, 1] or [{channels}, 1, 1])")
    return v.reshape(-1)


def load(arch, checkpoint, width=None):
    """The network ``arch`` (reference_nets.ARCHS or the reference's function
    name) with the weights of ``checkpoint`` (a path or a state_dict in the
    reference's layout), in eval mode. Returns (net, notes): notes say what
    was read (amplitudes, thresholds, rp's scale). Raises CheckpointError
    naming every key that does not fit."""
    arch = reference_nets.arch_name(arch)
    source = checkpoint if isinstance(checkpoint, str) else "the checkpoint"
    state = read_checkpoint(checkpoint) if isinstance(checkpoint, str) else dict(checkpoint)
    cls = reference_nets.ARCHS[arch][0]
    ref_name = reference_nets.ARCHS[arch][2]

    if not any(k.startswith(PREFIX) for k in state):
        raise CheckpointError(
            f"{source}: no key starts with '{PREFIX}' (keys such as {_listing(state, 3)}): the reference's "
            f"training script saves SpikeModel(...).state_dict(), whose keys do")
    found_width, in_channels, classes = _infer(state, cls)
    if width is not None and found_width is not None and width != found_width:
        raise CheckpointError(
            f"{source}: {PREFIX}{FIRST_CONV[cls]}.pool.weight has {found_width} output channels, "
            f"but a width of {width} was asked for")
    w = width or found_width
    net = reference_nets.build(arch, width=w, in_channels=in_channels or 3, num_classes=classes or 10)
    required, optional = reference_layout(net)

    missing = set(required) - set(state)
    unexpected = set(state) - set(required) - set(optional) - {PREFIX + "scale"}
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s): {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} key(s): {_listing(unexpected)}")
        hint = [a for a in reference_nets.ARCHS if a != arch and _fits(a, state)]
        raise CheckpointError(
            f"{source} does not fit {arch} ({ref_name}): " + "; ".join(parts)
            + (f". Its keys are those of {' or '.join(hint)}" if hint else ""))

    wrong = []
    for key, (m, attr) in required.items():
        want = getattr(m, attr)
        if tuple(state[key].shape) != tuple(want.shape):
            wrong.append(f"{key} is {_shape(state[key])}, {arch} expects {_shape(want)}")
    if wrong:
        raise CheckpointError(
            f"{source} does not fit {arch} ({ref_name}) of width {w}, {in_channels} input channels and "
            f"{classes} classes: " + "; ".join(wrong[:6])
            + (f"; ... ({len(wrong) - 6} more)" if len(wrong) > 6 else ""))

    with torch.no_grad():
        for key, (m, attr) in required.items():
            getattr(m, attr).copy_(state[key])
        for key, (m, attr) in optional.items():
            if key in state and attr == "num_batches_tracked":
                m.num_batches_tracked.copy_(state[key])

    notes = [f"{arch} ({ref_name}): width {w}, {in_channels} input channels, {classes} classes, "
             f"{len(required)} tensors"]
    amplitudes = {"constant 1": 0, "per layer": 0, "per channel": 0}
    thresholds = set()
    for name, m in net.named_modules():
        if not isinstance(m, TernarySpike):
            continue
        key = f"{PREFIX}{name}.fire_ratio"
        if key in state:
            a = _amplitude(key, state[key], m.input_channels)
            m.amplitude = nn.Parameter(a.clone())
            amplitudes["per channel" if a.numel() > 1 else "per layer"] += 1
        else:
            amplitudes["constant 1"] += 1
        key = f"{PREFIX}{name}.V_th"
        if key in state:
            if state[key].numel() != 1 or not float(state[key].reshape(())) > 0:
                raise CheckpointError(f"{key} must be one positive value, is {state[key].tolist()}")
            m.threshold = 0.5 * float(state[key].reshape(()))
        thresholds.add(m.threshold)
    notes.append("amplitudes (fire_ratio): " + ", ".join(f"{v} {k}" for k, v in amplitudes.items() if v))
    if thresholds != {0.5}:
        notes.append("thresholds (0.5 V_th): " + ", ".join(f"{t:g}" for t in sorted(thresholds)))

    scale = state.get(PREFIX + "scale")
    if scale is not None and not bool((scale == 1).all()):
        fold_scale(net, scale, PREFIX + "scale")
        notes.append(f"{PREFIX}scale (rp=True) is not 1: folded into the classifier's weights")
    net.eval()
    return net, notes


def fold_scale(net, scale, what="scale"):
    """The reference's rp=True: fc(x * scale) = (fc.weight * scale) x + bias
    for the pooled features x. Raises CheckpointError when ``scale`` does
    not have one value per feature (the reference could not have run it)."""
    fc = net.fc
    if scale.numel() != fc.in_features:
        raise CheckpointError(
            f"{what} has {scale.numel()} values but the classifier has {fc.in_features} input features: "
            "the reference cannot apply it (rp=True fails there), so it was not trained with rp=True")
    with torch.no_grad():
        fc.weight.mul_(scale.reshape(1, -1).to(fc.weight.dtype))


def export(arch, checkpoint, output, width=None, timesteps=4, image_size=32, labels=None,
           image_mean=None, image_std=None, image_scale=1 / 255):
    """``load`` then ``export_tspike`` (BatchNorm kept for tsconvert to fold)
    to ``output``. Returns the notes of ``load``."""
    from .exporter import export_tspike
    from .neuron import reset_net

    net, notes = load(arch, checkpoint, width)
    channels = net.get_submodule(FIRST_CONV[type(net).__name__]).in_channels
    x = torch.zeros(1, channels, image_size, image_size)
    reset_net(net)
    export_tspike(net, x, output, timesteps=timesteps, labels=labels, image_mean=image_mean,
                  image_std=image_std, image_scale=image_scale, fold_batchnorm=False, output_name="logits")
    return notes


def _floats(text):
    return [float(v) for v in text.split(",")]


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m tspike.torch.reference_checkpoint",
        description="Export a checkpoint of the Ternary-Spike reference training code (the state_dict of its "
                    "SpikeModel) as a trained tspike ONNX model, for tsconvert.")
    ap.add_argument("arch", help="architecture: " + ", ".join(
        f"{n} ({r})" for n, (_, _, r) in reference_nets.ARCHS.items()))
    ap.add_argument("checkpoint", help="the .pth file torch.save wrote")
    ap.add_argument("-o", "--output", required=True, help="the trained-form .onnx to write")
    ap.add_argument("--width", type=int, help="channels of the first layer (default: read from the checkpoint)")
    ap.add_argument("--timesteps", type=int, default=4, help="T (default 4, the reference's --step)")
    ap.add_argument("--image-size", type=int, default=32, help="input height and width (default 32, CIFAR)")
    ap.add_argument("--labels", help="class names: comma-separated, or 'cifar10'")
    ap.add_argument("--mean", type=_floats, help="per-channel mean of the input normalization, e.g. "
                    "0.4914,0.4822,0.4465 (tspike.image.mean; images are scaled to 0..1 first)")
    ap.add_argument("--std", type=_floats, help="per-channel std, e.g. 0.2470,0.2435,0.2616 (tspike.image.std)")
    ap.add_argument("--json", action="store_true", help="print the notes as one JSON object")
    args = ap.parse_args(argv)
    labels = CIFAR10_LABELS if args.labels == "cifar10" else args.labels.split(",") if args.labels else None
    try:
        notes = export(args.arch, args.checkpoint, args.output, width=args.width, timesteps=args.timesteps,
                       image_size=args.image_size, labels=labels, image_mean=args.mean, image_std=args.std)
    except (CheckpointError, ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"output": args.output, "notes": notes}))
    else:
        for n in notes:
            print(n)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
