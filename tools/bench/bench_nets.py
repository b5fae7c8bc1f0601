# SPDX-License-Identifier: Apache-2.0
"""Benchmark networks in the shapes of the Ternary Spike reference code
(Guo et al., AAAI 2024, models/resnet.py), run three ways.

The architectures are tspike.torch's (python/tspike/torch/reference_nets.py,
module names as the reference's state_dict):
- resnet19: the reference's resnet19_cifar (w = 128);
- resnet20: the reference's resnet20_cifar_modified (w = 64);
- tiny: the ResNet-19 layout at 8/16/32 channels with one block per stage
  (what CI runs).

Each forward takes an `Ops` object that says how layers run:
- StepOps: one timestep per call, the neurons keep their membrane (what the
  tspike exporter traces); PlainStepOps the same with the neuron in
  standard ops (the unrolled standard-ONNX export);
- SeqOps: the reference code's multi-step way, x is [T, B, ...]
  (reference_nets.SequenceOps); with `calibrate` set it also sets each
  BatchNorm so that the neuron after it fires at a chosen density on that
  input (see calibrate_bn).
"""

import torch
from torch import nn

from tspike.torch import TernarySpike, reference_nets
from tspike.torch.reference_nets import SequenceOps, StepOps, reference_forward

ARCHS = ("resnet19", "resnet20", "tiny")


def neuron_seq(u_in, threshold, decay):
    """Ternary spikes of a [T, ...] input sequence (spec section 1), a = 1."""
    u = torch.zeros_like(u_in[0])
    out = []
    for t in range(u_in.shape[0]):
        u = u * decay + u_in[t]
        s = (u >= threshold).to(u.dtype) - (u <= -threshold).to(u.dtype)
        u = u * (1.0 - s.abs())
        out.append(s)
    return torch.stack(out)


class PlainStepOps(StepOps):
    """StepOps whose neuron is written with standard ops (no custom op, no
    surrogate), for the unrolled ONNX export: the membrane is carried in
    `mem` from one traced timestep to the next."""

    def spike(self, m, x):
        u = x if m.mem is None else m.mem * m.decay + x
        s = (u >= m.threshold).to(u.dtype) - (u <= -m.threshold).to(u.dtype)
        m.mem = u * (1.0 - s.abs())
        return s * m.amplitude.view((1, -1) + (1,) * (x.dim() - 2)) \
            if m.amplitude.numel() > 1 else s * m.amplitude


class SeqOps(SequenceOps):
    """The reference code's multi-step execution; x is [T, B, ...].

    calibrate: None, or the target spike density; then every BatchNorm
    before a neuron is set (running statistics from this input, gamma by
    bisection, beta 0) so that the neuron fires at that density, and every
    other BatchNorm (a shortcut) to unit statistics times `shortcut_gain`.
    """

    def __init__(self, calibrate=None, shortcut_gain=0.3):
        self.calibrate = calibrate
        self.shortcut_gain = shortcut_gain
        self.achieved = []   # (neuron, density) in calibration order

    def bn(self, m, x):
        if self.calibrate is not None:
            _set_stats(m, x, self.shortcut_gain)
        return super().bn(m, x)

    def bn_spike(self, bn, neuron, x, residual=None):
        if self.calibrate is None:
            return super().bn_spike(bn, neuron, x, residual)
        self.achieved.append((neuron, calibrate_bn(bn, neuron, x, residual, self.calibrate)))
        y = torch.stack([bn(x[t]) for t in range(x.shape[0])])
        return self.spike(neuron, y if residual is None else y + residual)

    # Calibrating, the first BatchNorm is set like the others: its neuron
    # then sees the conv output (stem) and bn_spike calibrates it.
    def stem(self, conv, bn, x):
        return self.conv(conv, x) if self.calibrate is not None else super().stem(conv, bn, x)

    def stem_spike(self, bn, neuron, h):
        if self.calibrate is not None:
            return self.bn_spike(bn, neuron, h)
        return super().stem_spike(bn, neuron, h)


def _set_stats(bn, x, gamma):
    """Running statistics of x ([T, B, C, ...]) per channel; affine gamma, 0."""
    dims = [d for d in range(x.dim()) if d != 2]
    bn.running_mean.copy_(x.mean(dims))
    bn.running_var.copy_(x.var(dims, unbiased=False).clamp_min(1e-12))
    bn.weight.fill_(gamma)
    bn.bias.zero_()


def calibrate_bn(bn, neuron, x, residual, density):
    """Sets bn so that `neuron` fed by bn(x) (+ residual) fires at `density`
    (nonzero spikes / elements over the whole sequence): normalise each
    channel, then bisect one gain for the layer. Returns the density reached."""
    _set_stats(bn, x, 1.0)
    xhat = torch.stack([bn(x[t]) for t in range(x.shape[0])])
    res = 0 if residual is None else residual

    def rate(g):
        s = neuron_seq(g * xhat + res, neuron.threshold, neuron.decay)
        return float(torch.count_nonzero(s)) / s.numel()

    lo, hi = 1e-3, 1e3   # the rate grows with the gain
    for _ in range(40):
        mid = (lo * hi) ** 0.5
        if rate(mid) < density:
            lo = mid
        else:
            hi = mid
    g = (lo * hi) ** 0.5
    bn.weight.fill_(g)
    return rate(g)


WEIGHT_BITS = 12   # weights and biases on a grid of 2^-12


def _dyadic(t, bits=WEIGHT_BITS):
    return torch.round(t * 2.0 ** bits) / 2.0 ** bits


def make_dyadic(net):
    """Folds each BatchNorm into its conv's weights, rounds the weights and
    biases to multiples of 2^-12, and leaves the BatchNorm an exact identity
    plus bias (mean 0, var + eps == 1 in float32, gamma 1). With the
    amplitudes on a grid of 2^-7 and the input on 2^-6, every product and
    partial sum of the network is then exact in float32, so the spikes do not
    depend on summation order: every engine and framework must give the same
    spike maps, bit for bit, and logits equal up to the rounding of the
    classifier's sums. (Otherwise a membrane within rounding of the
    threshold, allowed to flip by spec section 4, sends different spikes
    through the 18 layers after it.)"""
    for conv, bn in net.conv_bn_pairs():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv.weight.copy_(_dyadic(conv.weight * scale.view(-1, 1, 1, 1)))
        bn.bias.copy_(_dyadic(bn.bias - bn.running_mean * scale))
        bn.weight.fill_(1.0)
        bn.running_mean.zero_()
        bn.running_var.copy_(torch.ones_like(bn.running_var) - bn.eps)
        assert bool((torch.sqrt(bn.running_var + bn.eps) == 1).all())
    net.fc.weight.copy_(_dyadic(net.fc.weight))
    net.fc.bias.copy_(_dyadic(net.fc.bias))


def dyadic_input(x, bits=6):
    return _dyadic(x, bits)


def _amplitudes():
    """Distinct per-layer amplitudes in [0.25, 0.5), below the threshold: a
    shortcut spike alone never fires the next neuron, so each layer's density
    is set by its BatchNorm; multiples of 2^-7 (see make_dyadic)."""
    k = 0
    while True:
        k += 1
        yield 0.25 + ((k * 13) % 32) / 128.0


def BenchNet(arch, num_classes=10):
    """The benchmark network `arch` (ARCHS), built from tspike.torch's
    definitions of the reference architectures, with per-layer amplitudes."""
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}")
    if arch == "tiny":
        net = reference_nets.ResNetCifar(blocks=(1, 1, 1), width=8, num_classes=num_classes, amplitude="layer")
    else:
        net = reference_nets.build("resnet20_modified" if arch == "resnet20" else arch,
                                   num_classes=num_classes, amplitude="layer")
    net.arch = arch
    amp = _amplitudes()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, TernarySpike):
                m.amplitude.fill_(next(amp))
    return net


def run_reference(net, x, timesteps, ops=None):
    """The reference code's SpikeModel: repeat the image T times, run the
    multi-step network, average the output over T."""
    return reference_forward(net, x, timesteps, ops or SeqOps())


class Unrolled(nn.Module):
    """The network over T timesteps in one graph of standard ops, for ONNX
    Runtime: the first Conv + BN once, the rest T times with the membranes
    carried from one copy to the next, the mean of the T outputs."""

    def __init__(self, net, timesteps):
        super().__init__()
        self.net = net
        self.timesteps = timesteps

    def forward(self, x):
        ops = PlainStepOps()
        for m in self.net.modules():
            if isinstance(m, TernarySpike):
                m.reset()
        h = self.net.pre(x, ops)
        out = None
        for _ in range(self.timesteps):
            y = self.net.post(h, ops)
            out = y if out is None else out + y
        return out / self.timesteps
