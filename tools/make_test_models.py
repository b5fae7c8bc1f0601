#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the small hand-built tspike test models and their golden outputs.

    /usr/bin/python3 tools/make_test_models.py [--out tests/data]

For every model M this writes into the output directory:
    M.onnx                      the model (opset 13 + tspike 1, ir_version 8)
    M.input0.npy, M.input1.npy  inputs: batch 1 and batch 3 (sequence models:
                                [T, 1, ...] and [T, 3, ...])
    M.output0.npy, M.output1.npy  the first graph output after readout, as
                                computed by tools/tspike_ref.py

Everything is deterministic (fixed numpy seeds).  Before writing, each model
is checked with onnx.checker and the reference outputs are self-checked:
    - batch independence: running the batch-3 input equals running its three
      samples one by one (outputs to 1e-6, spike maps exactly);
    - margin: no membrane value lies within 1e-4 of +-threshold, so a float32
      implementation with another summation order cannot flip a spike (input
      seeds are advanced until this holds);
    - firing rates of every spike node are moderate (printed).
The reference's Conv and pooling ops are also cross-checked against naive
loop implementations (see selftest_ops).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tspike_ref  # noqa: E402

OPSETS = [helper.make_opsetid("", 13), helper.make_opsetid("tspike", 1)]
MARGIN = 1e-4
F32 = TensorProto.FLOAT


# --------------------------------------------------------------------------
# building blocks

class G:
    """Tiny graph builder."""

    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = {}

    def _uniq(self, base):
        k = self.count.get(base, 0)
        self.count[base] = k + 1
        return f"{base}{k}" if k else base

    def init(self, name, arr, dtype=np.float32):
        arr = np.asarray(arr, dtype=dtype)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op, inputs, name=None, domain="", n_out=1, **attrs):
        name = name or self._uniq(op.lower())
        outs = [name] if n_out == 1 else [f"{name}_out{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    # convenience layers -----------------------------------------------------
    def conv(self, x, cin, cout, k, name, bias=True, wscale=1.0, group=1, **attrs):
        w = self.rng.normal(0, wscale / np.sqrt(cin // group * k * k), size=(cout, cin // group, k, k))
        ins = [x, self.init(f"{name}.weight", w)]
        if bias:
            ins.append(self.init(f"{name}.bias", self.rng.normal(0, 0.1, size=cout)))
        return self.node("Conv", ins, name=name, kernel_shape=[k, k], group=group, **attrs)

    def bn(self, x, c, name, gamma=(0.6, 1.2), beta=0.1):
        ins = [x,
               self.init(f"{name}.weight", self.rng.uniform(*gamma, size=c)),
               self.init(f"{name}.bias", self.rng.normal(0, beta, size=c)),
               self.init(f"{name}.running_mean", self.rng.normal(0, 0.2, size=c)),
               self.init(f"{name}.running_var", self.rng.uniform(0.5, 1.5, size=c))]
        return self.node("BatchNormalization", ins, name=name, epsilon=1e-5)

    def spike(self, x, name, amplitude=None, **attrs):
        ins = [x]
        if amplitude is not None:
            ins.append(self.init(f"{name}.amplitude", amplitude))
        return self.node("TernarySpike", ins, name=name, domain="tspike", **attrs)

    def gemm(self, x, fin, fout, name, wscale=1.0, transB=1, bias=True, **attrs):
        w = self.rng.normal(0, wscale / np.sqrt(fin), size=(fout, fin) if transB else (fin, fout))
        ins = [x, self.init(f"{name}.weight", w)]
        if bias:
            ins.append(self.init(f"{name}.bias", self.rng.normal(0, 0.1, size=fout)))
        if transB:
            attrs["transB"] = 1
        return self.node("Gemm", ins, name=name, **attrs)

    def model(self, in_name, in_shape, outputs, meta, doc):
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(in_name, F32, in_shape)],
            [helper.make_tensor_value_info(o, F32, s) for o, s in outputs],
            initializer=self.inits)
        m = helper.make_model(graph, opset_imports=OPSETS, ir_version=8,
                              producer_name="tspike-make_test_models", doc_string=doc)
        helper.set_model_props(m, meta)
        return m


# --------------------------------------------------------------------------
# the models.  Each returns (model, per-sample input shape, input scale).

def residual_block():
    g = G("residual_block", 1001)
    x = "input"
    h = g.bn(g.conv(x, 1, 4, 3, "conv1", bias=False, wscale=0.5, pads=[1, 1, 1, 1]), 4, "bn1")
    s1 = g.spike(h, "spike1", amplitude=np.array([0.72, 1.31, -0.63, 1.13]).reshape(1, 4, 1, 1))
    h = g.bn(g.conv(s1, 4, 4, 3, "conv2", bias=True, wscale=0.7, pads=[1, 1, 1, 1]), 4, "bn2")
    s2 = g.spike(h, "spike2", amplitude=np.array(0.8), threshold=0.5, decay=0.25, mode="ternary")
    r = g.node("Add", [s2, s1], name="residual_add")
    s3 = g.spike(r, "spike3", amplitude=np.array([0.9, 1.2, 0.5, 1.0]))
    p = g.node("AveragePool", [s3], name="avgpool", kernel_shape=[2, 2], strides=[2, 2])
    f = g.node("Flatten", [p], name="flatten", axis=1)
    y = g.gemm(f, 64, 10, "fc", wscale=2.0)
    labels = ["zero", "one", "two", 'say "hi"\\', "four", "five", "six", "seven", "eight", "nine"]
    meta = {"tspike.timesteps": "4", "tspike.readout": "mean",
            "tspike.labels": json.dumps(labels)}
    return g.model(x, ["N", 1, 8, 8], [(y, ["N", 10])], meta,
                   "Conv+BN, per-channel/scalar/[C] amplitudes, residual Add of spikes"), (1, 8, 8), 1.0


def binary_sequence():
    g = G("binary_sequence", 1002)
    x = "frames"
    h = g.gemm(x, 6, 8, "fc1", wscale=1.0, transB=0)
    s = g.spike(h, "spike_bin", mode="binary", decay=0.5, threshold=0.3)
    y = g.gemm(s, 8, 3, "fc2", wscale=1.5, transB=1, alpha=0.5, beta=2.0)
    meta = {"tspike.timesteps": "3", "tspike.encoding": "sequence", "tspike.readout": "sum"}
    return g.model(x, ["N", 6], [(y, ["N", 3])], meta,
                   "binary spikes, sequence encoding (input [T,N,6]), readout sum"), (6,), 1.0


def pytorch_flatten():
    g = G("pytorch_flatten", 1003)
    x = "input"
    h = g.conv(x, 2, 3, 3, "conv", pads=[1, 1, 1, 1], wscale=0.5)
    s = g.spike(h, "spike", amplitude=np.array([0.6, 1.4, 1.0]).reshape(3, 1, 1))
    p = g.node("MaxPool", [s], name="maxpool", kernel_shape=[2, 2], strides=[2, 2])
    # what torch.onnx emits for x.view(x.size(0), -1)
    shp = g.node("Shape", [p], name="Shape_0")
    c0 = g.node("Constant", [], name="Constant_1",
                value=numpy_helper.from_array(np.array(0, dtype=np.int64), "c0"))
    n = g.node("Gather", [shp, c0], name="Gather_2", axis=0)
    ax = g.node("Constant", [], name="Constant_3",
                value=numpy_helper.from_array(np.array([0], dtype=np.int64), "c1"))
    nu = g.node("Unsqueeze", [n, ax], name="Unsqueeze_4")
    m1 = g.node("Constant", [], name="Constant_5",
                value=numpy_helper.from_array(np.array([-1], dtype=np.int64), "c2"))
    cat = g.node("Concat", [nu, m1], name="Concat_6", axis=0)
    r = g.node("Reshape", [p, cat], name="Reshape_7")
    y = g.gemm(r, 48, 4, "fc", wscale=2.0)
    meta = {"tspike.timesteps": "5", "tspike.readout": "last"}
    return g.model(x, ["N", 2, 8, 8], [(y, ["N", 4])], meta,
                   "MaxPool of spikes + PyTorch view(N,-1) chain, readout last"), (2, 8, 8), 1.0


def groups_concat():
    g = G("groups_concat", 1004)
    x = "input"
    h = g.conv(x, 3, 4, 3, "conv0", pads=[1, 1, 1, 1], wscale=0.5)
    sa = g.spike(h, "spikeA", amplitude=np.array([1.2, -0.7, 0.9, -1.1]))
    sa = g.node("Identity", [sa], name="identity")
    # grouped conv, dilated
    hg = g.conv(sa, 4, 8, 3, "conv_group", group=2, pads=[2, 2, 2, 2], dilations=[2, 2], wscale=0.7)
    sb = g.spike(hg, "spikeB", amplitude=np.array(0.9), threshold=0.4)
    # depthwise 1x1 conv on the other branch
    hd = g.conv(sa, 4, 4, 1, "conv_dw", group=4, wscale=0.5)
    sc = g.spike(hd, "spikeC", amplitude=np.array([0.5, 1.5, 2.0, 0.8]).reshape(1, 4, 1, 1), decay=0.5)
    sc = g.node("Div", [sc, g.init("two", np.array(2.0))], name="div")
    cat = g.node("Concat", [sb, sc], name="concat", axis=1)
    h = g.conv(cat, 12, 6, 1, "conv_1x1", wscale=1.5)
    p = g.node("GlobalAveragePool", [h], name="gap")
    f = g.node("Flatten", [p], name="flatten")
    mm = g.node("MatMul", [f, g.init("fc.weight", g.rng.normal(0, 1.0, size=(6, 5)))], name="matmul")
    y = g.node("Add", [mm, g.init("fc.bias", g.rng.normal(0, 0.1, size=5))], name="bias_add")
    meta = {"tspike.timesteps": "4", "tspike.readout": "mean"}
    return g.model(x, ["N", 3, 6, 6], [(y, ["N", 5])], meta,
                   "grouped/dilated/depthwise conv of spikes, Concat of spike branches, GAP, MatMul"), \
        (3, 6, 6), 1.0


def unfoldable():
    g = G("unfoldable", 1005)
    x = "input"
    h = g.conv(x, 2, 4, 3, "conv_a", pads=[1, 1, 1, 1], wscale=0.5)
    sa = g.spike(h, "spikeA", amplitude=np.array([0.8, -0.5, 1.2, -1.0]).reshape(1, 4, 1, 1))
    m = g.node("MaxPool", [sa], name="maxpool", kernel_shape=[2, 2], strides=[2, 2])
    r = g.node("Relu", [sa], name="relu")
    rp = g.node("AveragePool", [r], name="avgpool", kernel_shape=[3, 3], strides=[2, 2],
                pads=[1, 1, 1, 1], count_include_pad=0)
    d = g.node("Sub", [m, rp], name="sub")
    hb = g.conv(d, 4, 4, 3, "conv_b", pads=[1, 1, 1, 1], wscale=1.3)
    sb = g.spike(hb, "spikeB", amplitude=np.array(-0.7))
    # spike as MatMul's right operand: L [3,3] @ spikeB [N,4,3,3] (contracts over H)
    mm = g.node("MatMul", [g.init("left", g.rng.normal(0, 1.0, size=(3, 3))), sb], name="matmul_right")
    f = g.node("Flatten", [mm], name="flatten")
    y = g.gemm(f, 36, 6, "fc", wscale=1.5)
    meta = {"tspike.timesteps": "4", "tspike.readout": "mean"}
    return g.model(x, ["N", 2, 6, 6], [(y, ["N", 6])], meta,
                   "negative amplitude into MaxPool/Relu, spike as MatMul right operand"), (2, 6, 6), 1.0


def shared_weights():
    g = G("shared_weights", 1006)
    x = "input"
    s0 = g.spike(g.conv(x, 3, 4, 3, "conv0", pads=[1, 1, 1, 1], wscale=0.5), "spike0",
                 amplitude=np.array([1.1, 0.6, 1.4, 0.9]))
    s1 = g.spike(g.conv(x, 3, 4, 1, "conv1", wscale=0.5), "spike1", amplitude=np.array(1.5))
    wsh = g.init("shared.weight", g.rng.normal(0, 0.6 / np.sqrt(36), size=(4, 4, 3, 3)))
    y1 = g.node("Conv", [s0, wsh], name="conv_shared_a", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    y2 = g.node("Conv", [s1, wsh, g.init("conv_shared_b.bias", g.rng.normal(0, 0.1, size=4))],
                name="conv_shared_b", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    z = g.node("Add", [g.node("Add", [y1, y2], name="add_convs"), s0], name="add_shortcut")
    s2 = g.spike(z, "spike2", amplitude=np.array([0.5, 0.7, 0.9, 1.1]).reshape(1, 4, 1, 1),
                 threshold=1.0)
    s2h = g.node("Mul", [s2, g.init("half", np.array(0.5))], name="mul_half")
    h = g.conv(s2h, 4, 4, 3, "conv3", strides=[2, 2], pads=[1, 1, 1, 1], wscale=2.0)
    p = g.node("GlobalAveragePool", [h], name="gap")
    f = g.node("Flatten", [p], name="flatten")
    y = g.gemm(f, 4, 3, "fc", wscale=2.0)
    meta = {"tspike.timesteps": "4", "tspike.readout": "mean"}
    return g.model(x, ["N", 3, 8, 8], [(y, ["N", 3]), (s0, ["N", 4, 8, 8])], meta,
                   "shared Conv weight fed by two spikes; spike fan-out to Conv, Add and graph output"), \
        (3, 8, 8), 1.0


MODELS = [residual_block, binary_sequence, pytorch_flatten, groups_concat, unfoldable, shared_weights]


# --------------------------------------------------------------------------
# checks

def check(model):
    """onnx.checker, full check.  Returns a note about what was checked."""
    try:
        onnx.checker.check_model(model, full_check=True)
        return "check_model(full_check=True) passed as is"
    except Exception as e:  # noqa: BLE001
        first = str(e).splitlines()[0]
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for n in m.graph.node:
        if n.domain == "tspike":
            n.domain = ""
            n.op_type = "Identity"
            del n.input[1:]
            del n.attribute[:]
    onnx.checker.check_model(m, full_check=True)
    return f"passed only with tspike nodes replaced by Identity (as is: {first})"


def margin(result, model):
    """Smallest distance of a membrane value from a firing threshold."""
    th = {}
    for n in model.graph.node:
        if n.domain == "tspike":
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            mode = a.get("mode", b"ternary")
            th[n.name] = (float(a.get("threshold", 0.5)), mode.decode() if isinstance(mode, bytes) else mode)
    best = np.inf
    for k, u in result["membranes_before_fire"].items():
        theta, mode = th[k]
        d = np.abs(np.abs(u.astype(np.float64)) - theta) if mode == "ternary" else \
            np.abs(u.astype(np.float64) - theta)
        best = min(best, float(d.min()))
    return best


def batch_independent(model, x, sequence):
    full = tspike_ref.run_model(model, x)
    n = x.shape[1] if sequence else x.shape[0]
    for i in range(n):
        xi = x[:, i:i + 1] if sequence else x[i:i + 1]
        one = tspike_ref.run_model(model, xi)
        # after the readout every output is [N, ...], also for sequence input
        for (name, vf), (_, vo) in zip(full["outputs"], one["outputs"]):
            vfi = vf[i:i + 1]
            if not np.allclose(vfi, vo, rtol=1e-6, atol=1e-6):
                raise AssertionError(f"output {name}: sample {i} differs in batch vs alone: "
                                     f"max diff {np.abs(vfi - vo).max()}")
        for k in full["spikes"]:
            if not np.array_equal(full["spikes"][k][:, i:i + 1], one["spikes"][k]):
                raise AssertionError(f"spikes of {k}: sample {i} differs in batch vs alone")


def selftest_ops():
    """Cross-check the reference's Conv / pooling against naive loops."""
    rng = np.random.default_rng(7)

    def naive_conv(x, w, b, s, p, d, g):
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        oh = (h + p[0] + p[2] - (kh - 1) * d[0] - 1) // s[0] + 1
        ow = (wd + p[1] + p[3] - (kw - 1) * d[1] - 1) // s[1] + 1
        y = np.zeros((n, m, oh, ow))
        mg = m // g
        for ni in range(n):
            for mi in range(m):
                gi = mi // mg
                for oy in range(oh):
                    for ox in range(ow):
                        acc = 0.0 if b is None else float(b[mi])
                        for ci in range(cg):
                            for ky in range(kh):
                                for kx in range(kw):
                                    iy = oy * s[0] - p[0] + ky * d[0]
                                    ix = ox * s[1] - p[1] + kx * d[1]
                                    if 0 <= iy < h and 0 <= ix < wd:
                                        acc += float(x[ni, gi * cg + ci, iy, ix]) * float(w[mi, ci, ky, kx])
                        y[ni, mi, oy, ox] = acc
        return y

    def naive_pool(x, k, s, p, d, ceil, kind, cip):
        n, c, h, w = x.shape
        outs = []
        for ax, L in ((0, h), (1, w)):
            span = L + p[ax] + p[ax + 2] - (k[ax] - 1) * d[ax] - 1
            o = (-(-span // s[ax]) if ceil else span // s[ax]) + 1
            if ceil and (o - 1) * s[ax] >= L + p[ax]:
                o -= 1
            outs.append(o)
        y = np.zeros((n, c, outs[0], outs[1]))
        for oy in range(outs[0]):
            for ox in range(outs[1]):
                vals, cnt = [], 0
                for ky in range(k[0]):
                    for kx in range(k[1]):
                        iy = oy * s[0] - p[0] + ky * d[0]
                        ix = ox * s[1] - p[1] + kx * d[1]
                        inside = 0 <= iy < h and 0 <= ix < w
                        in_pad = -p[0] <= iy < h + p[2] and -p[1] <= ix < w + p[3]
                        if inside:
                            vals.append(x[:, :, iy, ix].astype(np.float64))
                        if inside or (cip and in_pad):
                            cnt += 1
                if kind == "max":
                    y[:, :, oy, ox] = np.max(vals, axis=0)
                else:
                    y[:, :, oy, ox] = np.sum(vals, axis=0) / cnt
        return y

    def mk(op, **a):
        return helper.make_node(op, ["x"], ["y"], **a), a

    cases = [
        dict(s=[1, 1], p=[1, 1, 1, 1], d=[1, 1], g=1, c=4, m=6, k=3),
        dict(s=[2, 1], p=[0, 1, 2, 0], d=[1, 2], g=2, c=4, m=6, k=3),
        dict(s=[1, 2], p=[2, 2, 2, 2], d=[2, 2], g=4, c=4, m=8, k=3),
        dict(s=[3, 3], p=[0, 0, 0, 0], d=[1, 1], g=1, c=3, m=2, k=2),
    ]
    for cs in cases:
        x = rng.normal(size=(2, cs["c"], 7, 8)).astype(np.float32)
        w = rng.normal(size=(cs["m"], cs["c"] // cs["g"], cs["k"], cs["k"])).astype(np.float32)
        b = rng.normal(size=cs["m"]).astype(np.float32)
        n = helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=cs["s"], pads=cs["p"],
                             dilations=cs["d"], group=cs["g"])
        got = tspike_ref.op_conv(n, tspike_ref._attrs(n), x, w, b)
        want = naive_conv(x, w, b, cs["s"], cs["p"], cs["d"], cs["g"])
        assert got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5), cs
    pcases = [
        dict(k=[2, 2], s=[2, 2], p=[0, 0, 0, 0], d=[1, 1], ceil=0),
        dict(k=[3, 3], s=[2, 2], p=[1, 1, 1, 1], d=[1, 1], ceil=0),
        dict(k=[3, 2], s=[2, 2], p=[1, 0, 1, 1], d=[1, 1], ceil=1),
        dict(k=[2, 2], s=[3, 2], p=[0, 0, 0, 0], d=[2, 1], ceil=1),
        dict(k=[3, 3], s=[2, 2], p=[1, 1, 1, 1], d=[1, 1], ceil=1),
    ]
    for pc in pcases:
        x = rng.normal(size=(2, 3, 7, 8)).astype(np.float32)
        for kind, op in (("max", "MaxPool"), ("avg", "AveragePool")):
            for cip in ((0,) if kind == "max" else (0, 1)):
                attrs = dict(kernel_shape=pc["k"], strides=pc["s"], pads=pc["p"], ceil_mode=pc["ceil"])
                if kind == "max":
                    attrs["dilations"] = pc["d"]
                elif pc["d"] != [1, 1]:
                    continue
                else:
                    attrs["count_include_pad"] = cip
                n = helper.make_node(op, ["x"], ["y"], **attrs)
                f = tspike_ref.op_maxpool if kind == "max" else tspike_ref.op_avgpool
                got = f(n, tspike_ref._attrs(n), x)
                want = naive_pool(x, pc["k"], pc["s"], pc["p"], pc["d"], pc["ceil"], kind, cip)
                assert got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-6), (op, pc, cip)
    # the neuron, by hand: ternary >= and binary > at exactly theta, reset, decay
    n = helper.make_node("TernarySpike", ["x"], ["y"], domain="tspike", name="t")
    sn = tspike_ref.SpikeNode(n, {"threshold": 0.5, "decay": 0.5}, np.array([2.0, -1.0]))
    y, s, u = sn.step(np.array([[0.5, -0.5], [0.25, 0.0]], dtype=np.float32))
    assert s.tolist() == [[1, -1], [0, 0]] and y.tolist() == [[2, 1], [0, 0]], (s, y)
    y, s, u = sn.step(np.array([[0.0, 0.0], [0.375, -0.5]], dtype=np.float32))
    assert u.tolist() == [[0, 0], [0.5, -0.5]] and s.tolist() == [[0, 0], [1, -1]], (u, s)
    sb = tspike_ref.SpikeNode(n, {"threshold": 0.5, "mode": "binary"}, None)
    _, s, _ = sb.step(np.array([[0.5, 0.51, -3.0]], dtype=np.float32))
    assert s.tolist() == [[0, 1, 0]], s


# --------------------------------------------------------------------------

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    selftest_ops()
    print("reference op self-test passed")
    total = 0
    for k_model, build in enumerate(MODELS):
        model, sample_shape, in_scale = build()
        name = model.graph.name
        note = check(model)
        meta = tspike_ref.metadata(model)
        sequence = meta["tspike.encoding"] == "sequence"
        T = int(meta["tspike.timesteps"])
        print(f"== {name}: {note}")
        path = os.path.join(out, f"{name}.onnx")
        onnx.save(model, path)
        model = onnx.load(path)
        sizes = [os.path.getsize(path)]
        rates_all = {}
        for k, batch in enumerate((1, 3)):
            for attempt in range(100):
                rng = np.random.default_rng(10_000 * (k_model + 1) + 100 * k + attempt)
                shape = ((T,) if sequence else ()) + (batch,) + sample_shape
                x = (rng.normal(0.0, 1.0, size=shape) * in_scale).astype(np.float32)
                r = tspike_ref.run_model(model, x)
                mg = margin(r, model)
                if mg >= MARGIN:
                    break
            else:
                raise AssertionError(f"{name}: no input seed with threshold margin >= {MARGIN}")
            batch_independent(model, x, sequence)
            y = r["outputs"][0][1]
            assert np.all(np.isfinite(y))
            np.save(os.path.join(out, f"{name}.input{k}.npy"), x)
            np.save(os.path.join(out, f"{name}.output{k}.npy"), y)
            sizes += [os.path.getsize(os.path.join(out, f"{name}.{w}{k}.npy")) for w in ("input", "output")]
            for sn, v in r["spikes"].items():
                rates_all.setdefault(sn, []).append(v)
            print(f"   input{k} {list(x.shape)} (seed attempt {attempt}, min |u|-theta margin {mg:.2e})"
                  f" -> output{k} {list(y.shape)}")
        for sn, vs in rates_all.items():
            nz = sum(np.count_nonzero(v) for v in vs)
            el = sum(v.size for v in vs)
            rate = nz / el
            pos = sum(np.count_nonzero(v > 0) for v in vs) / el
            neg = sum(np.count_nonzero(v < 0) for v in vs) / el
            print(f"   firing rate {sn:10s} {rate:6.1%}  (+1: {pos:5.1%}, -1: {neg:5.1%})")
            lo, hi = (0.10, 0.50)
            if not (lo <= rate <= hi):
                raise AssertionError(f"{name}/{sn}: firing rate {rate:.3f} outside [{lo}, {hi}]")
        total += sum(sizes)
        print(f"   {sum(sizes)} bytes")
    print(f"total {total} bytes in {out}")
    assert total < 500_000


if __name__ == "__main__":
    main()
