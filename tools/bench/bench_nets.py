"""Benchmark networks in the shapes of the Ternary Spike reference code
(Guo et al., AAAI 2024, models/resnet.py), written once and run three ways.

- ResNet-19 (the reference's resnet19_cifar): Conv 3->128 + BN + neuron,
  stages of 128/256/512 channels with 3, 3, 2 BasicBlocks (the first block of
  stages 2 and 3 at stride 2 with a Conv1x1 + BN shortcut), global average
  pool, Linear 512->10.
- ResNet-20 (the reference's resnet20_cifar_modified): three Conv3x3 + BN +
  neuron stem layers at 64 channels, AvgPool 2, stages of 64/128/256/512 with
  2 blocks each (shortcut: AvgPool, Conv1x1, BN), global average pool,
  Linear 512->10.
- tiny: the ResNet-19 layout at 8/16/32 channels with one block per stage
  (what CI runs).
BasicBlock (reference): Conv3x3 + BN -> neuron -> Conv3x3 + BN, + shortcut,
-> neuron.

Each forward takes an `Ops` object that says how layers run:
- StepOps: one timestep per call, the neurons keep their membrane (what the
  tspike exporter traces, and the unrolled standard-ONNX export);
- SeqOps: the reference code's multi-step way, x is [T, B, ...]: convs and
  pools on the flattened T*B batch, BatchNorm, Linear and the neuron in a
  Python loop over T (the reference's SpikePool / SpikeConv / LIFAct);
  with `calibrate` set it also sets each BatchNorm so that the neuron after
  it fires at a chosen density on that input (see calibrate_bn).
"""

import torch
from torch import nn

from tspike.torch import TernarySpike

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


class StepOps:
    """One timestep per call (stateful neurons)."""

    def conv(self, m, x):
        return m(x)

    def bn(self, m, x):
        return m(x)

    def spike(self, m, x):
        return m(x)

    def bn_spike(self, bn, neuron, x, residual=None):
        y = bn(x)
        return neuron(y if residual is None else y + residual)


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

    def bn_spike(self, bn, neuron, x, residual=None):
        y = bn(x)
        return self.spike(neuron, y if residual is None else y + residual)


class SeqOps:
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

    def conv(self, m, x):   # convs and pools: one call on the T*B batch
        y = m(x.flatten(0, 1))
        return y.view(x.shape[:2] + y.shape[1:])

    def bn(self, m, x):
        if self.calibrate is not None:
            _set_stats(m, x, self.shortcut_gain)
        return torch.stack([m(x[t]) for t in range(x.shape[0])])

    def spike(self, m, x):
        s = neuron_seq(x, m.threshold, m.decay)
        return s * m.amplitude.view((1, 1, -1) + (1,) * (x.dim() - 3)) \
            if m.amplitude.numel() > 1 else s * m.amplitude

    def linear(self, m, x):
        return torch.stack([m(x[t]) for t in range(x.shape[0])])

    def bn_spike(self, bn, neuron, x, residual=None):
        if self.calibrate is not None:
            self.achieved.append((neuron, calibrate_bn(bn, neuron, x, residual, self.calibrate)))
        y = self.bn(bn, x) if self.calibrate is None else \
            torch.stack([bn(x[t]) for t in range(x.shape[0])])
        return self.spike(neuron, y if residual is None else y + residual)


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


class BasicBlock(nn.Module):
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

    def forward(self, x, ops):
        out = ops.bn_spike(self.bn1, self.spike1, ops.conv(self.conv1, x))
        res = x
        if self.down is not None:
            h = x
            for m in self.down[:-1]:
                h = ops.conv(m, h)
            res = ops.bn(self.down[-1], h)
        return ops.bn_spike(self.bn2, self.spike2, ops.conv(self.conv2, out), res)


def _amplitudes():
    """Distinct per-layer amplitudes in [0.25, 0.5), below the threshold: a
    shortcut spike alone never fires the next neuron, so each layer's density
    is set by its BatchNorm; distinct, because torch's exporter merges equal
    initializers (tspike.torch README, known limit); multiples of 2^-7 (see
    make_dyadic)."""
    k = 0
    while True:
        k += 1
        yield 0.25 + ((k * 13) % 32) / 128.0


class BenchNet(nn.Module):
    """The architectures above. The defaults make the benchmark network
    (3 x 32 x 32 input, full width, fixed distinct per-layer amplitudes).
    For training (scripts/train_fashion_variants.py): `width` scales every
    channel count (0.125: ResNet-19 at 16/32/64), `in_channels` and
    `stem_padding` fit the input (padding 3 makes a 28 x 28 image 32 x 32, so
    that every AvgPool of ResNet-20 halves an even size), and `neuron`
    is a dict of TernarySpike arguments (e.g. {"mode": "binary"}) with
    `channelwise` for one trainable amplitude per channel, initialised to 1."""

    def __init__(self, arch, num_classes=10, width=1.0, in_channels=3, stem_padding=1,
                 neuron=None, channelwise=False):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}")
        self.arch = arch
        if neuron is None:
            amp = _amplitudes()

            def make_neuron(_):
                return TernarySpike(amplitude_init=next(amp))
        else:
            def make_neuron(c):
                return TernarySpike(channels=c if channelwise else None, **neuron)
        if arch == "resnet20":
            widths, blocks, stem, avgdown = (64, 128, 256, 512), (2, 2, 2, 2), [64, 64, 64], True
        elif arch == "resnet19":
            widths, blocks, stem, avgdown = (128, 256, 512), (3, 3, 2), [128], False
        else:
            widths, blocks, stem, avgdown = (8, 16, 32), (1, 1, 1), [8], False
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

    def conv_bn_pairs(self):
        pairs = list(zip(self.stem_convs, self.stem_bns))
        for b in self.blocks:
            pairs += [(b.conv1, b.bn1), (b.conv2, b.bn2)]
            if b.down is not None:
                pairs.append((b.down[-2], b.down[-1]))
        return pairs

    # The first Conv + BN sees only the image: constant over time.
    def pre(self, x, ops):
        return ops.bn(self.stem_bns[0], ops.conv(self.stem_convs[0], x)) \
            if not isinstance(ops, SeqOps) or ops.calibrate is None else ops.conv(self.stem_convs[0], x)

    def post(self, h, ops):
        first = True
        x = None
        for conv, bn, sp in zip(self.stem_convs, self.stem_bns, self.stem_spikes):
            if first:
                if isinstance(ops, SeqOps) and ops.calibrate is not None:
                    x = ops.bn_spike(bn, sp, h)    # h is the conv output here
                else:
                    x = ops.spike(sp, h)
                first = False
            else:
                x = ops.bn_spike(bn, sp, ops.conv(conv, x))
        if self.stem_pool is not None:
            x = ops.conv(self.stem_pool, x)
        for b in self.blocks:
            x = b(x, ops)
        x = ops.conv(self.pool, x)
        x = x.flatten(-3) if isinstance(ops, SeqOps) else torch.flatten(x, 1)
        return ops.linear(self.fc, x) if isinstance(ops, SeqOps) else self.fc(x)

    def forward(self, x, ops=None):
        """One timestep (StepOps, the default) or a [T, B, ...] sequence (SeqOps)."""
        ops = ops or StepOps()
        return self.post(self.pre(x, ops), ops)


def run_reference(net, x, timesteps, ops=None):
    """The reference code's SpikeModel: repeat the image T times, run the
    multi-step network, average the output over T."""
    ops = ops or SeqOps()
    seq = x.unsqueeze(0).repeat(timesteps, *([1] * x.dim()))
    return net(seq, ops).mean(0)


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
