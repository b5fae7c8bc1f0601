# SPDX-License-Identifier: Apache-2.0
"""The networks of the Ternary-Spike reference training code (Guo et al.,
AAAI 2024; its models/resnet.py and models/vggcifar.py), written for
tspike.torch.

Module for module, these have the names that the reference's state_dict
gives its layers once its multi-step wrappers are left out (the reference's
``model.layer1.0.bn1.bn.weight`` is ``layer1.0.bn1.weight`` here), so that
a checkpoint of the reference maps onto them key by key
(``tspike.torch.reference_checkpoint``). Every ReLU of the reference is a
TernarySpike here, at the same name.

| name here | reference | layout |
|---|---|---|
| ``resnet19`` | ``resnet19_cifar`` | Conv3x3 3->w + BN + neuron; stages of w, 2w, 4w channels with 3, 3, 2 BasicBlocks (first block of stages 2, 3 at stride 2, shortcut Conv1x1 + BN); global average pool; Linear 4w -> classes. w = 128 |
| ``resnet20`` | ``resnet20_cifar`` | the same with 3, 3, 3 blocks |
| ``resnet20_modified`` | ``resnet20_cifar_modified`` | three Conv3x3 + BN + neuron at w; AvgPool 2; stages of w, 2w, 4w, 8w with 2 blocks each (shortcut AvgPool + Conv1x1 + BN); global average pool; Linear 8w -> classes. w = 64 |
| ``vgg16`` | ``vgg16_bn`` | VGG configuration D with BatchNorm (Conv3x3 with bias + BN + neuron; AvgPool 2 for max pooling); global average pool; Linear 8w -> classes. w = 64 |

BasicBlock (the reference's SpikeBasicBlock): conv1 + bn1 -> relu1 ->
conv2 + bn2, + shortcut (downsample), -> output_act.

Each forward takes an ``ops`` object that says how the layers run:
``StepOps`` (the default) runs one timestep per call with stateful neurons,
as tspike.torch exports and as the tspike runtime runs; ``SequenceOps`` runs
the reference's multi-step way on a ``[T, B, ...]`` sequence (convolutions
and pools on the T*B batch, BatchNorm, Linear and the neuron per timestep),
which is what its SpikeModel computes with ``set_spike_state(True)``.
``reference_forward(net, x, T)`` is that SpikeModel's forward: the image
repeated T times, the output averaged over T.
"""

import torch
from torch import nn

from .neuron import TernarySpike

ARCHS = {
    # name: (class, keyword arguments, the reference's function)
    "resnet19": ("ResNetCifar", {"blocks": (3, 3, 2)}, "resnet19_cifar"),
    "resnet20": ("ResNetCifar", {"blocks": (3, 3, 3)}, "resnet20_cifar"),
    "resnet20_modified": ("ResNetCifarModified", {"blocks": (2, 2, 2, 2)}, "resnet20_cifar_modified"),
    "vgg16": ("VGG", {"config": "D"}, "vgg16_bn"),
}
# The reference's function names are accepted as well.
ALIASES = {ref: name for name, (_, _, ref) in ARCHS.items()}

AMPLITUDES = ("constant", "layer", "channel")

VGG_CONFIGS = {
    # channel multiples of w (8 = 512 at w = 64), "M" a 2x2 pool
    "D": [1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M"],
}


def arch_name(name):
    """The architecture's name here for ``name`` or the reference's function
    name; ValueError listing the names otherwise."""
    name = ALIASES.get(name, name)
    if name not in ARCHS:
        raise ValueError(f"unknown architecture {name!r}: one of "
                         + ", ".join(f"{n} ({r})" for n, (_, _, r) in ARCHS.items()))
    return name


def build(arch, width=None, num_classes=10, in_channels=3, amplitude="constant"):
    """The network ``arch`` (a name of ARCHS or the reference's function
    name). width: w above (None: the reference's). amplitude: "constant"
    (the published neuron's fire_ratio = 1, a buffer), "layer" (one
    trainable value per neuron) or "channel" (one per channel)."""
    cls, kwargs, _ = ARCHS[arch_name(arch)]
    return globals()[cls](width=width, num_classes=num_classes, in_channels=in_channels,
                          amplitude=amplitude, **kwargs)


def _neuron(channels, amplitude):
    if amplitude not in AMPLITUDES:
        raise ValueError(f"amplitude must be one of {AMPLITUDES}, got {amplitude!r}")
    # The reference's LIFAct: V_th 1 (threshold 0.5), decay 0.25, ternary.
    neuron = TernarySpike(threshold=0.5, decay=0.25, mode="ternary",
                          channels=channels if amplitude == "channel" else None,
                          trainable_amplitude=amplitude != "constant")
    neuron.input_channels = channels   # for a checkpoint's per-channel fire_ratio
    return neuron


class StepOps:
    """One timestep per call; neurons keep their membrane between calls."""

    def conv(self, m, x):   # convolutions and pools
        return m(x)

    def bn(self, m, x):
        return m(x)

    def spike(self, m, x):
        return m(x)

    def linear(self, m, x):
        return m(x)

    def flatten(self, x):
        return torch.flatten(x, 1)

    def bn_spike(self, bn, neuron, x, residual=None):
        y = self.bn(bn, x)
        return self.spike(neuron, y if residual is None else y + residual)

    # The first Conv + BN sees only the input (constant over time for an
    # image); `stem` computes it, `stem_spike` feeds it to the first neuron.
    def stem(self, conv, bn, x):
        return self.bn(bn, self.conv(conv, x))

    def stem_spike(self, bn, neuron, h):
        return self.spike(neuron, h)


def neuron_sequence(x, neuron):
    """The reference's LIFAct over a [T, ...] sequence for the parameters of
    TernarySpike ``neuron``: mem = mem * decay + x; ternary fire at
    |mem| >= threshold (binary: mem > threshold); hard reset; spike times
    the amplitude (along axis 1 of each timestep)."""
    u = torch.zeros_like(x[0])
    a = neuron.amplitude
    a = a if a.numel() == 1 else a.view((1, -1) + (1,) * (x.dim() - 3))
    out = []
    for t in range(x.shape[0]):
        u = u * neuron.decay + x[t]
        if neuron.mode == "ternary":
            s = (u >= neuron.threshold).to(u.dtype) - (u <= -neuron.threshold).to(u.dtype)
        else:
            s = (u > neuron.threshold).to(u.dtype)
        u = u * (1.0 - s.abs())
        out.append(s * a)
    return torch.stack(out)


class SequenceOps(StepOps):
    """The reference's multi-step execution; x is [T, B, ...]."""

    def conv(self, m, x):   # the reference's SpikePool: one call on the T*B batch
        y = m(x.flatten(0, 1))
        return y.view(x.shape[:2] + y.shape[1:])

    def bn(self, m, x):
        return torch.stack([m(x[t]) for t in range(x.shape[0])])

    def spike(self, m, x):
        return neuron_sequence(x, m)

    def linear(self, m, x):
        return torch.stack([m(x[t]) for t in range(x.shape[0])])

    def flatten(self, x):
        return x.flatten(2)


class BasicBlock(nn.Module):
    """The reference's (Spike)BasicBlock; ``avgdown`` gives the shortcut of
    resnet20_cifar_modified (AvgPool, Conv1x1, BN) instead of Conv1x1
    stride s + BN."""

    def __init__(self, cin, cout, stride, amplitude, avgdown=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = _neuron(cout, amplitude)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            if avgdown:
                self.downsample = nn.Sequential(
                    nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                    nn.Conv2d(cin, cout, 1, 1, bias=False), nn.BatchNorm2d(cout))
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.output_act = _neuron(cout, amplitude)

    def forward(self, x, ops):
        out = ops.bn_spike(self.bn1, self.relu1, ops.conv(self.conv1, x))
        residual = x
        if self.downsample is not None:
            h = x
            for m in self.downsample[:-1]:
                h = ops.conv(m, h)
            residual = ops.bn(self.downsample[-1], h)
        return ops.bn_spike(self.bn2, self.output_act, ops.conv(self.conv2, out), residual)

    def conv_bn_pairs(self):
        pairs = [(self.conv1, self.bn1), (self.conv2, self.bn2)]
        if self.downsample is not None:
            pairs.append((self.downsample[-2], self.downsample[-1]))
        return pairs


class _Net(nn.Module):
    """What the three families share: forward(x, ops) = post(pre(x))."""

    def forward(self, x, ops=None):
        """One timestep (StepOps, the default) or a [T, B, ...] sequence (SequenceOps)."""
        ops = ops or StepOps()
        return self.post(self.pre(x, ops), ops)

    def _stages(self, cin, widths, blocks, amplitude, avgdown):
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layers = []
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1, amplitude, avgdown))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.stages = len(widths)
        return cin

    def blocks(self):
        return [b for i in range(self.stages) for b in getattr(self, f"layer{i + 1}")]

    def _head(self, x, pool, ops):
        x = ops.flatten(ops.conv(pool, x))
        return ops.linear(self.fc, x)


class ResNetCifar(_Net):
    """The reference's ResNet_Cifar (resnet19_cifar, resnet20_cifar)."""

    def __init__(self, blocks=(3, 3, 2), width=None, num_classes=10, in_channels=3, amplitude="constant"):
        super().__init__()
        w = width or 128
        self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = _neuron(w, amplitude)
        cin = self._stages(w, (w, 2 * w, 4 * w), blocks, amplitude, avgdown=False)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def conv_bn_pairs(self):
        return [(self.conv1, self.bn1)] + [p for b in self.blocks() for p in b.conv_bn_pairs()]

    def pre(self, x, ops):
        return ops.stem(self.conv1, self.bn1, x)

    def post(self, h, ops):
        x = ops.stem_spike(self.bn1, self.relu, h)
        for b in self.blocks():
            x = b(x, ops)
        return self._head(x, self.avgpool, ops)


class ResNetCifarModified(_Net):
    """The reference's ResNet_Cifar_Modified (resnet20_cifar_modified)."""

    def __init__(self, blocks=(2, 2, 2, 2), width=None, num_classes=10, in_channels=3, amplitude="constant"):
        super().__init__()
        w = width or 64
        stem = []
        cin = in_channels
        for _ in range(3):
            stem += [nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), _neuron(w, amplitude)]
            cin = w
        self.conv1 = nn.Sequential(*stem)
        self.avgpool = nn.AvgPool2d(2)
        cin = self._stages(w, (w, 2 * w, 4 * w, 8 * w), blocks, amplitude, avgdown=True)
        self.avgpool2 = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def conv_bn_pairs(self):
        stem = [(self.conv1[k], self.conv1[k + 1]) for k in range(0, 9, 3)]
        return stem + [p for b in self.blocks() for p in b.conv_bn_pairs()]

    def pre(self, x, ops):
        return ops.stem(self.conv1[0], self.conv1[1], x)

    def post(self, h, ops):
        x = ops.stem_spike(self.conv1[1], self.conv1[2], h)
        for k in (3, 6):
            x = ops.bn_spike(self.conv1[k + 1], self.conv1[k + 2], ops.conv(self.conv1[k], x))
        x = ops.conv(self.avgpool, x)
        for b in self.blocks():
            x = b(x, ops)
        return self._head(x, self.avgpool2, ops)


class VGG(_Net):
    """The reference's VGG with BatchNorm (vgg16_bn: configuration D);
    its classifier is one Linear after a global average pool."""

    def __init__(self, config="D", width=None, num_classes=10, in_channels=3, amplitude="constant"):
        super().__init__()
        w = width or 64
        layers = []
        cin = in_channels
        for v in VGG_CONFIGS[config]:
            if v == "M":
                layers.append(nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v * w, 3, padding=1), nn.BatchNorm2d(v * w), _neuron(v * w, amplitude)]
                cin = v * w
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)
        self.stages = 0

    @property
    def fc(self):
        return self.classifier

    def conv_bn_pairs(self):
        f = self.features
        return [(f[k], f[k + 1]) for k in range(len(f)) if isinstance(f[k], nn.Conv2d)]

    def pre(self, x, ops):
        return ops.stem(self.features[0], self.features[1], x)

    def post(self, h, ops):
        x = ops.stem_spike(self.features[1], self.features[2], h)
        for m in list(self.features)[3:]:
            if isinstance(m, nn.BatchNorm2d):
                x = ops.bn(m, x)
            elif isinstance(m, TernarySpike):
                x = ops.spike(m, x)
            else:
                x = ops.conv(m, x)
        return self._head(x, self.avgpool, ops)


def reference_forward(net, x, timesteps, ops=None):
    """The reference's SpikeModel forward (with set_spike_state(True)): the
    image repeated T times, the multi-step network, the output averaged
    over T."""
    ops = ops or SequenceOps()
    seq = x.unsqueeze(0).repeat(timesteps, *([1] * x.dim()))
    return net(seq, ops).mean(0)
