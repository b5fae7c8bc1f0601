# SPDX-License-Identifier: Apache-2.0
"""The reference code's ResNet-19 and ResNet-20 ("modified") topologies as
trainable Fashion-MNIST networks (scripts/train_fashion_variants.py, models
fashion_resnet19 / fashion_resnet20): the layouts of
tools/bench/bench_nets.py at a fraction of the width, with 1-channel input,
a stem padding that fits 28 x 28 images, any neuron mode and one trainable
amplitude per channel. One timestep per call (the neurons keep their
membrane); module names are those the shipped models were exported with."""

import torch
from torch import nn

from tspike.torch import TernarySpike

ARCHS = ("resnet19", "resnet20")


class BasicBlock(nn.Module):
    """conv3x3-BN-spike-conv3x3-BN, plus the shortcut (the input spikes, or
    [AvgPool-]conv1x1-BN of them when the shape changes), then a spike."""

    def __init__(self, cin, cout, stride, neuron, avgdown=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.spike1 = neuron(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.spike2 = neuron(cout)
        self.down = None
        if stride != 1 or cin != cout:
            pool = [nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)] if avgdown else []
            self.down = nn.Sequential(*pool, nn.Conv2d(cin, cout, 1, 1 if avgdown else stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.spike1(self.bn1(self.conv1(x)))))
        res = x if self.down is None else self.down(x)
        return self.spike2(out + res)


class FashionRefResNet(nn.Module):
    """arch resnet19: stem conv (128 w) -> stages 128/256/512 w with 3/3/2
    blocks; resnet20: three stem convs (64 w) -> AvgPool 2 -> stages
    64/128/256/512 w with 2 blocks each and AvgPool shortcuts. Then global
    average pool and Linear. `width` scales every channel count,
    `stem_padding` pads the first conv (3 makes 28 x 28 into 32 x 32, so that
    every AvgPool of ResNet-20 halves an even size), `neuron` holds
    TernarySpike arguments (e.g. {"mode": "binary"}); amplitudes are per
    channel, initialised to 1."""

    def __init__(self, arch, width, num_classes=10, in_channels=1, stem_padding=1, neuron=None):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}")
        neuron = neuron or {}

        def make_neuron(c):
            return TernarySpike(channels=c, **neuron)

        if arch == "resnet20":
            widths, blocks, stem, avgdown = (64, 128, 256, 512), (2, 2, 2, 2), [64, 64, 64], True
        else:
            widths, blocks, stem, avgdown = (128, 256, 512), (3, 3, 2), [128], False
        widths = [max(1, round(w * width)) for w in widths]
        stem = [max(1, round(c * width)) for c in stem]
        self.stem_convs = nn.ModuleList()
        self.stem_bns = nn.ModuleList()
        self.stem_spikes = nn.ModuleList()
        cin = in_channels
        for k, c in enumerate(stem):
            self.stem_convs.append(nn.Conv2d(cin, c, 3, 1, stem_padding if k == 0 else 1, bias=False))
            self.stem_bns.append(nn.BatchNorm2d(c))
            self.stem_spikes.append(make_neuron(c))
            cin = c
        self.stem_pool = nn.AvgPool2d(2) if arch == "resnet20" else None
        layers = []
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1, make_neuron, avgdown))
                cin = w
        self.blocks = nn.ModuleList(layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        for conv, bn, spike in zip(self.stem_convs, self.stem_bns, self.stem_spikes):
            x = spike(bn(conv(x)))
        if self.stem_pool is not None:
            x = self.stem_pool(x)
        for b in self.blocks:
            x = b(x)
        return self.fc(torch.flatten(self.pool(x), 1))
