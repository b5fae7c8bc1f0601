#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Round trip of the PyTorch exporter (tspike.torch): small random
networks are exported, run by the C++ runtime (`tsrun --json`, before and
after `tsconvert`), and compared with PyTorch's mean-over-T outputs and
per-timestep spike maps.

    /usr/bin/python3 tests/python/test_export_roundtrip.py [-v]

Needs Debian 12's python3-torch, python3-onnx, python3-numpy and the built
tools: TSPIKE_TOOLS_DIR (default build/tools of this checkout) must hold
tsrun and tsconvert.

What "equal" means (docs/format.md, last sections): outputs equal to
about 1e-5 of their scale, spike maps identical, except where a
membrane lies within float rounding of the threshold in PyTorch (recorded
with hooks). A flip there is allowed; it changes everything downstream, so
that sample's later spikes and its output are not compared. A flip anywhere
else fails the test.

How the per-timestep spike maps come out of tsrun: a probe copy of the file
lists every TernarySpike output as an extra graph output with readout
"sum"; running it for k = 1..T timesteps (--timesteps k, or the first k
slices of a sequence input) gives cumulative sums whose differences are the
spike maps of timestep k, times the node's amplitude in that file (1 once
tsconvert has folded it).
"""

import copy
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
from tspike.torch import TernarySpike, export_tspike, reset_net, spike_layers  # noqa: E402
from tspike.torch.reference_compat import (from_reference, is_reference_neuron,  # noqa: E402
                                           to_ternary_spike)

TOOLS = os.environ.get("TSPIKE_TOOLS_DIR") or os.path.join(ROOT, "build", "tools")
OUT_RTOL = 1e-5       # outputs: |diff| <= OUT_RTOL * max(1, max |output|)
NEAR_RTOL = 1e-5      # a flip is allowed where | |u| - theta | <= NEAR_RTOL * max(1, max |u| of the layer)


def tool(name):
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not found: build first, or set TSPIKE_TOOLS_DIR")
    return path


# ----------------------------------------------------------------------------
# PyTorch side


class Trace:
    """Runs a one-timestep model for T steps and records, per TernarySpike
    and timestep, the membrane u before the spike and the output a*s."""

    def __init__(self, model):
        self.model = model
        self.layers = spike_layers(model)
        self.order = []                  # layer names in call order (topological)
        self.u = {n: [] for n, _ in self.layers}
        self.y = {n: [] for n, _ in self.layers}
        self._hooks = []
        for name, m in self.layers:
            self._hooks.append(m.register_forward_pre_hook(self._pre(name)))
            self._hooks.append(m.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(mod, inputs):
            x = inputs[0]
            u = x if mod.mem is None else mod.mem * mod.decay + x
            self.u[name].append(u.detach().clone())
            if name not in self.order:
                self.order.append(name)
        return hook

    def _post(self, name):
        def hook(mod, inputs, output):
            self.y[name].append(output.detach().clone())
        return hook

    @torch.no_grad()
    def run(self, x, timesteps, encoding="direct"):
        self.model.eval()
        reset_net(self.model)
        outs = []
        for t in range(timesteps):
            outs.append(self.model(x[t] if encoding == "sequence" else x))
        for h in self._hooks:
            h.remove()
        return torch.stack(outs).mean(0).numpy()


# ----------------------------------------------------------------------------
# tspike side


def tsrun(path, x, timesteps=None):
    """tsrun --json on float32 array x; returns {output name: array}."""
    with tempfile.TemporaryDirectory() as tmp:
        xp = os.path.join(tmp, "x.npy")
        np.save(xp, np.ascontiguousarray(x, np.float32))
        cmd = [tool("tsrun"), path, "--input", xp, "--json"]
        if timesteps is not None:
            cmd += ["--timesteps", str(timesteps)]
        res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:2])} failed ({res.returncode}): {res.stderr.strip()}")
    out = json.loads(res.stdout)
    return {o["name"]: np.array([np.nan if v is None else v for v in o["data"]],
                                np.float32).reshape(o["shape"])
            for o in out["outputs"]}


def tsconvert(src, dst):
    res = subprocess.run([tool("tsconvert"), src, "-o", dst, "--quiet"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError(f"tsconvert {src} failed ({res.returncode}): {res.stderr.strip()}")


def spike_node_names(proto):
    return [n.name for n in proto.graph.node
            if n.domain == "tspike" and n.op_type == "TernarySpike"]


def module_name_of(node_name):
    """The module name torch 1.13 encodes in an ONNX node name:
    "/layer1/spike1/TernarySpike" -> "layer1.spike1", and inside an
    nn.Sequential "/layer1/layer1.0/relu1/TernarySpike" -> "layer1.0.relu1"."""
    acc = ""
    for part in node_name.strip("/").split("/")[:-1]:
        acc = part if (not acc or part.startswith(acc + ".")) else acc + "." + part
    return acc


def probe(src, dst):
    """Copy of model file ``src`` with every TernarySpike output as an extra
    graph output and readout "sum". Returns {node name: (output name,
    amplitude in the file as a broadcastable array)}."""
    m = onnx.load(src)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    info = {}
    for n in g.node:
        if n.domain != "tspike" or n.op_type != "TernarySpike":
            continue
        amp = inits.get(n.input[1]) if len(n.input) > 1 and n.input[1] else None
        amp = np.ones(1, np.float32) if amp is None else amp.reshape(-1)
        info[n.name] = (n.output[0], amp)
        vi = [v for v in g.value_info if v.name == n.output[0]]
        if not vi:
            raise AssertionError(f"{src}: no value_info (shape) for {n.output[0]}")
        g.output.append(copy.deepcopy(vi[0]))
    for p in m.metadata_props:
        if p.key == "tspike.readout":
            p.value = "sum"
    onnx.save(m, dst)
    return info


def tspike_spike_maps(path, x, timesteps, encoding):
    """{node: [per-timestep spike map / amplitude in the file]} and the
    per-timestep outputs, from cumulative sums over k = 1..T."""
    with tempfile.TemporaryDirectory() as tmp:
        pp = os.path.join(tmp, "probe.onnx")
        info = probe(path, pp)
        sums = []
        for k in range(1, timesteps + 1):
            if encoding == "sequence":
                sums.append(tsrun(pp, x[:k]))
            else:
                sums.append(tsrun(pp, x, timesteps=k))
    maps = {}
    for node, (out, amp) in info.items():
        prev = 0
        seq = []
        for k in range(timesteps):
            cur = sums[k][out]
            y = cur - prev
            prev = cur
            a = amp if amp.size == 1 else amp.reshape((1, -1) + (1,) * (y.ndim - 2))
            seq.append(y / a)
        maps[node] = seq
    return maps


# ----------------------------------------------------------------------------
# Comparison


class RoundTrip(unittest.TestCase):
    """Base: export, run, compare."""

    def roundtrip(self, model, x, timesteps=4, encoding="direct", fold_batchnorm=True,
                  min_compared=0.5, reference_out=None, mutate=None, **export_kw):
        """Exports ``model`` (one timestep per call), runs it with tsrun before
        and after tsconvert, and compares with PyTorch. ``x``: [N, ...] for
        direct encoding, [T, N, ...] for sequence. ``reference_out``: another
        PyTorch output the runtime must match too (e.g. the multi-step
        network ``model`` was converted from). ``mutate(proto)``: changes
        the exported file before it is run (to test this harness). Returns
        the per-sample "diverged" flags."""
        model.eval()
        trace = Trace(model)
        want = trace.run(torch.from_numpy(x), timesteps, encoding)
        if reference_out is not None:
            np.testing.assert_allclose(want, reference_out, rtol=0,
                                       atol=OUT_RTOL * max(1.0, np.abs(want).max()))
        example = torch.from_numpy(x[0] if encoding == "sequence" else x[:1])
        n = x.shape[1] if encoding == "sequence" else x.shape[0]
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "model.onnx")
            conv = os.path.join(tmp, "converted.onnx")
            with warnings.catch_warnings():
                # torch warns about constant folding with TrainingMode.PRESERVE
                # (fold_batchnorm=False) even in eval mode, where nothing changes.
                warnings.filterwarnings("ignore", message=".*constant folding.*")
                proto = export_tspike(model, example, raw, timesteps=timesteps,
                                      encoding=encoding, fold_batchnorm=fold_batchnorm,
                                      **export_kw)
            if mutate is not None:
                mutate(proto)
                onnx.save(proto, raw)
            has_bn = any(nd.op_type == "BatchNormalization" for nd in proto.graph.node)
            has_bn_module = any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                for m in model.modules())
            self.assertEqual(has_bn, has_bn_module and not fold_batchnorm,
                             "BatchNormalization nodes kept iff fold_batchnorm=False")
            # Spike nodes in the file are named after their modules.
            names = {nd: module_name_of(nd) for nd in spike_node_names(proto)}
            self.assertEqual(sorted(names.values()), sorted(k for k, _ in trace.layers))
            tsconvert(raw, conv)
            cproto = onnx.load(conv)
            self.assertFalse(any(nd.op_type == "BatchNormalization" for nd in cproto.graph.node),
                             "BatchNormalization left after tsconvert")
            meta = {p.key: p.value for p in cproto.metadata_props}
            self.assertEqual(meta.get("tspike.reparameterized"), "1")

            diverged = None
            for path in (raw, conv):
                tag = os.path.basename(path)
                maps = tspike_spike_maps(path, x, timesteps, encoding)
                div = self.compare_spikes(trace, names, maps, n, timesteps, tag)
                diverged = div if diverged is None else diverged | div
                got = tsrun(path, x)
                out = next(iter(got.values()))
                self.assertEqual(out.shape, want.shape, tag)
                scale = max(1.0, float(np.abs(want).max()))
                for s in range(n):
                    if div[s]:
                        continue
                    err = float(np.abs(out[s] - want[s]).max())
                    self.assertLessEqual(err, OUT_RTOL * scale,
                                         f"{tag}: sample {s} output differs by {err:.3g} "
                                         f"(scale {scale:.3g})")
            compared = int((~diverged).sum())
            self.assertGreaterEqual(compared, min_compared * n,
                                    f"only {compared} of {n} samples free of near-threshold flips")
        return diverged

    def compare_spikes(self, trace, names, maps, n, timesteps, tag):
        """Spike maps equal timestep by timestep, layer by layer, except for
        flips at near-threshold membranes; returns per-sample diverged flags."""
        diverged = np.zeros(n, bool)
        mods = dict(trace.layers)
        node_of = {v: k for k, v in names.items()}
        total_spikes = 0
        for t in range(timesteps):
            for name in trace.order:
                m = mods[name]
                u = trace.u[name][t].numpy()
                y = trace.y[name][t]
                a = m.amplitude.detach()
                a = a if a.numel() == 1 else a.view((1, -1) + (1,) * (y.dim() - 2))
                s_pt = (y / a).numpy()
                s_ts = maps[node_of[name]][t]
                self.assertEqual(s_ts.shape, s_pt.shape, f"{tag}: {name}")
                total_spikes += int(np.count_nonzero(s_pt))
                d = (np.abs(u) if m.mode == "ternary" else u) - m.threshold
                near = np.abs(d) <= NEAR_RTOL * max(1.0, float(np.abs(u).max()))
                bad = np.abs(s_ts - s_pt) > 1e-3
                for s in range(n):
                    if diverged[s] or not bad[s].any():
                        continue
                    unexplained = bad[s] & ~near[s]
                    if unexplained.any():
                        idx = tuple(np.argwhere(unexplained)[0])
                        self.fail(f"{tag}: {name} t={t} sample {s}: spike {s_ts[s][idx]} vs "
                                  f"PyTorch {s_pt[s][idx]} at {idx}, u={u[s][idx]:.9g}, "
                                  f"threshold {m.threshold} ({int(unexplained.sum())} such)")
                    diverged[s] = True
        self.assertGreater(total_spikes, 0, "the network never spikes: test is vacuous")
        return diverged


# ----------------------------------------------------------------------------
# Networks


def randomize(model, gen, amp_range=(0.5, 1.5), negative_amplitudes=False):
    """Random BN statistics and affine parameters, random amplitudes."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 0.8 + 0.6)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
            if isinstance(m, TernarySpike):
                lo, hi = amp_range
                a = torch.rand(m.amplitude.shape, generator=gen) * (hi - lo) + lo
                if negative_amplitudes:
                    a = a * torch.where(torch.rand(a.shape, generator=gen) < 0.3, -1.0, 1.0)
                m.amplitude.copy_(a)
    return model


def spike(mode, channels, per_channel, **kw):
    return TernarySpike(mode=mode, channels=channels if per_channel else None, **kw)


class ConvNet(nn.Module):
    """conv-BN-spike-avgpool-conv-BN-spike-flatten-linear, input [N, 2, 8, 8]."""

    def __init__(self, mode="ternary", per_channel=False, **spike_kw):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.spike1 = spike(mode, 6, per_channel, **spike_kw)
        self.pool = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.spike2 = spike(mode, 8, per_channel, **spike_kw)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = self.pool(self.spike1(self.bn1(self.conv1(x))))
        x = self.spike2(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    """conv-BN-spike-conv-BN + shortcut (identity, or conv1x1-BN), then spike."""

    def __init__(self, cin, cout, stride, mode, per_channel):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.spike1 = spike(mode, cout, per_channel)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))
        self.spike2 = spike(mode, cout, per_channel)

    def forward(self, x):
        out = self.bn2(self.conv2(self.spike1(self.bn1(self.conv1(x)))))
        return self.spike2(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """stem conv-BN-spike, Block(6->6), Block(6->8, stride 2), global
    average pool, flatten, linear; input [N, 2, 8, 8]."""

    def __init__(self, mode="ternary", per_channel=True):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.spike1 = spike(mode, 6, per_channel)
        self.layer1 = Block(6, 6, 1, mode, per_channel)
        self.layer2 = Block(6, 8, 2, mode, per_channel)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.layer2(self.layer1(self.spike1(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MLP(nn.Module):
    """linear-BN1d-spike-linear, for sequence input [T, N, 12]."""

    def __init__(self, mode="ternary", per_channel=True):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.bn1 = nn.BatchNorm1d(16)
        self.spike1 = spike(mode, 16, per_channel)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.spike1(self.bn1(self.fc1(x))))


# The reference training code's structure (multi-step: the neuron and every
# wrapped layer take the whole [T, B, ...] sequence), written here for the
# test: its neuron, per-timestep layer wrappers, a BatchNorm3d wrapper,
# BasicBlock passing (pre-activation, spikes) pairs, and the model wrapper
# that repeats the image T times and averages the output.


class RefLIFAct(nn.Module):
    """Reference-style multi-step neuron: V_th, fire_ratio, step; decay 0.25
    inside forward (no attribute), ternary fire at |mem / V_th| >= 0.5."""

    def __init__(self, step, fire_ratio=1):
        super().__init__()
        self.step = step
        self.V_th = 1.0
        self.temp = 3.0
        self.grad_scale = 0.1
        self.fire_ratio = fire_ratio

    def forward(self, x):
        mem = torch.zeros_like(x[0])
        out = []
        for i in range(self.step):
            mem = mem * 0.25 + x[i]
            v = mem / self.V_th
            s = torch.sign(v)
            s = torch.where(v.abs() < 0.5, torch.zeros_like(s), s)
            bp = torch.clamp(v, -1, 1)
            s = (s - bp).detach() + bp
            mem = mem * (1 - torch.abs(s))
            out.append(s * self.fire_ratio)
        return torch.stack(out)


class RefPerStep(nn.Module):
    """Runs one layer on [T, B, ...] as [T*B, ...] (the reference's SpikePool)."""

    def __init__(self, layer, step):
        super().__init__()
        self.layer = layer
        self.step = step

    def forward(self, x):
        y = self.layer(x.flatten(0, 1))
        return y.view(x.shape[0], x.shape[1], *y.shape[1:])


class RefBN3d(nn.Module):
    """BatchNorm3d over [B, C, T, H, W] (the reference's myBatchNorm3d)."""

    def __init__(self, c, step):
        super().__init__()
        self.bn = nn.BatchNorm3d(c)
        self.step = step

    def forward(self, x):
        return self.bn(x.permute(1, 2, 0, 3, 4)).permute(2, 0, 1, 3, 4).contiguous()


def ref_fire_ratio(c, trainable):
    return nn.Parameter(torch.ones(1, c, 1, 1)) if trainable else 1


class RefBasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, step, trainable):
        super().__init__()
        self.conv1 = RefPerStep(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), step)
        self.bn1 = RefBN3d(cout, step)
        self.relu1 = RefLIFAct(step, ref_fire_ratio(cout, trainable))
        self.conv2 = RefPerStep(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), step)
        self.bn2 = RefBN3d(cout, step)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                RefPerStep(nn.Conv2d(cin, cout, 1, stride, bias=False), step), RefBN3d(cout, step))
        self.output_act = RefLIFAct(step, ref_fire_ratio(cout, trainable))

    def forward(self, s):
        temp, x = s
        residual = x
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return out, self.output_act(out)


class RefResNet(nn.Module):
    def __init__(self, step, trainable, c=6):
        super().__init__()
        self.conv1 = RefPerStep(nn.Conv2d(2, c, 3, 1, 1, bias=False), step)
        self.bn1 = RefBN3d(c, step)
        self.relu = RefLIFAct(step, ref_fire_ratio(c, trainable))
        self.layer1 = nn.Sequential(RefBasicBlock(c, c, 1, step, trainable))
        self.layer2 = nn.Sequential(RefBasicBlock(c, 2 * c, 2, step, trainable))
        self.avgpool = RefPerStep(nn.AdaptiveAvgPool2d(1), step)
        self.fc = RefPerStep(nn.Linear(2 * c, 5), step)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        temp, x = self.layer1((x, x))
        temp, x = self.layer2((temp, x))
        x = self.avgpool(x)
        if x.dim() == 4:                       # one timestep: [B, C, 1, 1]
            x = x.view(x.size(0), -1)
        else:                                  # [T, B, C, 1, 1]
            x = x.view(x.size(0), x.size(1), -1)
        return self.fc(x)


class RefSpikeModel(nn.Module):
    def __init__(self, model, step):
        super().__init__()
        self.model = model
        self.step = step

    def forward(self, x):
        out = self.model(x.unsqueeze(0).repeat(self.step, 1, 1, 1, 1))
        return out.mean(0)


def ref_resnet(step, trainable, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = RefSpikeModel(RefResNet(step, trainable), step)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm3d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 0.8 + 0.6)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
            if isinstance(getattr(m, "fire_ratio", None), nn.Parameter):
                m.fire_ratio.copy_(torch.rand(m.fire_ratio.shape, generator=gen) + 0.5)
    return net.eval()


# ----------------------------------------------------------------------------
# Tests


def image_input(seed, n=6, c=2, hw=8, scale=1.5):
    g = np.random.default_rng(seed)
    return (g.standard_normal((n, c, hw, hw)) * scale).astype(np.float32)


def make(cls, seed, **kw):
    torch.manual_seed(seed)
    model = cls(**kw)
    return randomize(model, torch.Generator().manual_seed(seed + 1000))


class TestConvNets(RoundTrip):
    def test_ternary_scalar_amplitude_bn_folded_by_torch(self):
        self.roundtrip(make(ConvNet, 1, mode="ternary"), image_input(1), fold_batchnorm=True)

    def test_ternary_per_channel_amplitude_bn_kept(self):
        self.roundtrip(make(ConvNet, 2, mode="ternary", per_channel=True), image_input(2),
                       fold_batchnorm=False)

    def test_binary_scalar_amplitude_bn_kept(self):
        self.roundtrip(make(ConvNet, 3, mode="binary"), image_input(3), fold_batchnorm=False)

    def test_binary_per_channel_amplitude_bn_folded_by_torch(self):
        self.roundtrip(make(ConvNet, 4, mode="binary", per_channel=True), image_input(4),
                       fold_batchnorm=True)

    def test_negative_amplitudes_other_threshold_and_decay(self):
        torch.manual_seed(5)
        model = ConvNet(mode="ternary", per_channel=True, threshold=0.3, decay=0.6)
        randomize(model, torch.Generator().manual_seed(1005), negative_amplitudes=True)
        self.assertTrue((model.spike1.amplitude < 0).any())
        self.roundtrip(model, image_input(5), timesteps=6, fold_batchnorm=False)


class TestHarness(RoundTrip):
    """The comparison catches a file that differs from the network."""

    def test_detects_a_wrong_threshold(self):
        def mutate(proto):
            node = [n for n in proto.graph.node if n.op_type == "TernarySpike"][1]
            for a in node.attribute:
                if a.name == "threshold":
                    a.f = 0.55
        with self.assertRaisesRegex(AssertionError, "spike"):
            self.roundtrip(make(ConvNet, 1, mode="ternary"), image_input(1), mutate=mutate)

    def test_detects_a_wrong_amplitude(self):
        def mutate(proto):
            node = [n for n in proto.graph.node if n.op_type == "TernarySpike"][1]
            t = [t for t in proto.graph.initializer if t.name == node.input[1]][0]
            a = numpy_helper.to_array(t).copy()
            a[0] *= 1.01
            t.CopyFrom(numpy_helper.from_array(a, t.name))
        with self.assertRaisesRegex(AssertionError, "output differs"):
            self.roundtrip(make(ConvNet, 2, mode="ternary", per_channel=True), image_input(2),
                           mutate=mutate)


class TestResidual(RoundTrip):
    def test_ternary_per_channel_bn_kept(self):
        self.roundtrip(make(ResNet, 11, mode="ternary", per_channel=True), image_input(11),
                       fold_batchnorm=False)

    def test_binary_scalar_bn_folded_by_torch(self):
        self.roundtrip(make(ResNet, 12, mode="binary", per_channel=False), image_input(12),
                       fold_batchnorm=True)

    # In a residual block the two BatchNorms before the Add get the same
    # gradient for their bias, so from equal initial values (0) they stay
    # exactly equal through training (it happens in
    # models/fashion_resnet.onnx). torch 1.13's exporter then merges the two
    # initializers and feeds the second BatchNormalization its bias through
    # an Identity node; both must still fold.
    def test_equal_batchnorm_biases_bn_kept(self):
        model = make(ResNet, 13, mode="ternary", per_channel=True)
        with torch.no_grad():
            model.layer2.downsample[1].bias.copy_(model.layer2.bn2.bias)
        self.roundtrip(model, image_input(13), fold_batchnorm=False)


class TestSequence(RoundTrip):
    def test_sequence_encoding_mlp_bn_kept(self):
        model = make(MLP, 21, mode="ternary", per_channel=True)
        x = (np.random.default_rng(21).standard_normal((5, 8, 12)) * 1.5).astype(np.float32)
        self.roundtrip(model, x, timesteps=5, encoding="sequence", fold_batchnorm=False)

    def test_sequence_encoding_conv_binary(self):
        model = make(ConvNet, 22, mode="binary", per_channel=True)
        x = (np.random.default_rng(22).standard_normal((3, 4, 2, 8, 8)) * 1.5).astype(np.float32)
        self.roundtrip(model, x, timesteps=3, encoding="sequence", fold_batchnorm=True)


class TestReferenceCompat(RoundTrip):
    """A network in the reference code's multi-step structure, converted by
    tspike.torch.reference_compat.from_reference, then exported."""

    def convert(self, trainable, seed):
        T = 4
        net = ref_resnet(T, trainable, seed)
        # A checkpoint of the reference network, loaded into a fresh copy
        # before conversion (its keys name the wrappers).
        buf = io.BytesIO()
        torch.save(net.state_dict(), buf)
        buf.seek(0)
        fresh = RefSpikeModel(RefResNet(T, trainable), T)
        fresh.load_state_dict(torch.load(buf))
        fresh.eval()
        neurons = [m for m in fresh.modules() if is_reference_neuron(m)]
        model = from_reference(fresh)
        return net, model, neurons

    def check(self, trainable, seed, export=True):
        net, model, neurons = self.convert(trainable, seed)
        self.assertIsInstance(model, RefResNet)
        self.assertFalse(any(is_reference_neuron(m) for m in model.modules()))
        self.assertFalse(any(isinstance(m, (RefPerStep, RefBN3d, nn.BatchNorm3d))
                             for m in model.modules()))
        layers = spike_layers(model)
        self.assertEqual(len(layers), len(neurons))
        for name, m in layers:
            self.assertEqual((m.threshold, m.decay, m.mode), (0.5, 0.25, "ternary"), name)
            self.assertEqual(isinstance(m.amplitude, nn.Parameter), trainable, name)
        x = image_input(seed, n=6)
        with torch.no_grad():
            ref_out = net(torch.from_numpy(x)).numpy()
        if not export:
            want = Trace(model).run(torch.from_numpy(x), 4)
            np.testing.assert_allclose(want, ref_out, rtol=0,
                                       atol=OUT_RTOL * max(1.0, np.abs(want).max()))
            return net, model, None
        return net, model, self.roundtrip(model, x, timesteps=4, fold_batchnorm=False,
                                          reference_out=ref_out)

    def test_trainable_per_channel_fire_ratio(self):
        net, model, _ = self.check(trainable=True, seed=31)
        self.assertEqual(tuple(model.relu.amplitude.shape), (6,))
        np.testing.assert_array_equal(model.layer2[0].output_act.amplitude.detach().numpy(),
                                      net.model.layer2[0].output_act.fire_ratio.detach().numpy().reshape(-1))

    def test_constant_fire_ratio(self):
        _, model, _ = self.check(trainable=False, seed=32, export=False)
        self.assertEqual(model.relu.amplitude.tolist(), [1.0])

    # Every constant fire_ratio is 1: torch 1.13's export merges
    # initializers of equal value and feeds the later TernarySpikes their
    # amplitude through Identity nodes, which the exporter resolves.
    def test_constant_fire_ratio_export(self):
        self.check(trainable=False, seed=32)

    def test_same_gradients_as_the_reference_network(self):
        """The converted network trains like the reference one: same
        surrogate gradient, flowing through the reset."""
        T = 4
        net = ref_resnet(T, True, 33)
        model = from_reference(copy.deepcopy(net))
        x = torch.from_numpy(image_input(33, n=4))
        y = torch.tensor([0, 1, 2, 3])
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        out = 0
        reset_net(model)
        for _ in range(T):
            out = out + model(x)
        loss2 = nn.functional.cross_entropy(out / T, y)
        loss2.backward()
        self.assertAlmostEqual(loss.item(), loss2.item(), places=5)
        g_ref = net.model.layer1[0].conv2.layer.weight.grad
        g_new = model.layer1[0].conv2.weight.grad
        torch.testing.assert_close(g_new, g_ref, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(model.layer1[0].output_act.amplitude.grad,
                                   net.model.layer1[0].output_act.fire_ratio.grad.reshape(-1),
                                   rtol=1e-4, atol=1e-6)

    def test_duck_typing(self):
        class Neuron(nn.Module):          # a single-step reference-style neuron
            def __init__(self):
                super().__init__()
                self.V_th = torch.tensor(0.8)
                self.decay = 0.5
                self.binary = True
                self.fire_ratio = nn.Parameter(torch.tensor(1.3))
        ts = to_ternary_spike(Neuron())
        self.assertAlmostEqual(ts.threshold, 0.4, places=6)     # 0.5 * V_th
        self.assertEqual((ts.decay, ts.mode), (0.5, "binary"))
        self.assertAlmostEqual(ts.amplitude.item(), 1.3, places=6)
        bad = Neuron()
        bad.fire_ratio = nn.Parameter(torch.ones(2, 3))
        with self.assertRaises(ValueError):
            to_ternary_spike(bad)


if __name__ == "__main__":
    torch.set_num_threads(2)
    unittest.main()
