# SPDX-License-Identifier: Apache-2.0
"""A small, slow NumPy interpreter for tspike ONNX files.

It exists to check exported files without onnxruntime (not packaged in
Debian 12): it runs the graph T times, keeps every TernarySpike node's
membrane between timesteps, and reduces the outputs by the readout, as the
spec describes. It covers the ops that the exporter emits for small CNNs
and MLPs; anything else raises NotImplementedError.
"""

import json

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, m, oh, ow), x.dtype)
    mg = m // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]
                y[:, g * mg:(g + 1) * mg] += np.einsum(
                    "nchw,mc->nmhw", patch, w[g * mg:(g + 1) * mg, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _pool(x, a, kind):
    """ONNX AveragePool / MaxPool over NCHW: pads, ceil_mode (a last window
    must start inside the input or its begin padding), count_include_pad.
    Cells outside the input are NaN and left out of the mean / max, except
    explicit pads of an average pool with count_include_pad, which count as 0."""
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    n, c, h, w = x.shape

    def out_size(size, k, s, p0, p1):
        span = size + p0 + p1 - k
        o = (-(-span // s) if a.get("ceil_mode", 0) else span // s) + 1
        return o - 1 if (o - 1) * s >= size + p0 else o

    oh, ow = out_size(h, kh, sh, pt, pb), out_size(w, kw, sw, pl, pr)
    pad_value = 0.0 if kind == "avg" and a.get("count_include_pad", 0) else np.nan
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pad_value)
    eh, ew = max(0, (oh - 1) * sh + kh - xp.shape[2]), max(0, (ow - 1) * sw + kw - xp.shape[3])
    xp = np.pad(xp, ((0, 0), (0, 0), (0, eh), (0, ew)), constant_values=np.nan)
    win = np.stack([xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i in range(kh) for j in range(kw)])
    return np.nanmean(win, axis=0) if kind == "avg" else np.nanmax(win, axis=0)


class Reference:
    def __init__(self, path_or_proto, dtype=np.float64):
        """dtype: the float type to compute in (float64 by default; float32
        shows what rounding alone does near the threshold)."""
        self.dtype = np.dtype(dtype)
        m = path_or_proto if isinstance(path_or_proto, onnx.ModelProto) else onnx.load(path_or_proto)
        self.model = m
        self.meta = {p.key: p.value for p in m.metadata_props}
        self.init = {}
        for t in m.graph.initializer:
            v = numpy_helper.to_array(t)
            self.init[t.name] = v.astype(self.dtype) if v.dtype.kind == "f" else v
        self.input = [i.name for i in m.graph.input if i.name not in self.init][0]
        self.outputs = [o.name for o in m.graph.output]
        self.labels = json.loads(self.meta["tspike.labels"]) if "tspike.labels" in self.meta else None

    def step(self, x, mem, stats=None):
        env = dict(self.init)
        env[self.input] = x
        for node in self.model.graph.node:
            a = _attrs(node)
            ins = [env[i] if i else None for i in node.input]
            op = node.op_type
            if node.domain == "tspike" and op == "TernarySpike":
                amp = ins[1] if len(ins) > 1 and ins[1] is not None else np.ones(1, self.dtype)
                amp = amp.reshape(-1)
                amp = amp if amp.size == 1 else amp.reshape((1, -1) + (1,) * (ins[0].ndim - 2))
                th = a.get("threshold", 0.5)
                tau = a.get("decay", 0.25)
                mode = a.get("mode", b"ternary")
                mode = mode.decode() if isinstance(mode, bytes) else mode
                u = ins[0] if node.name not in mem else tau * mem[node.name] + ins[0]
                if mode == "ternary":
                    s = (u >= th).astype(u.dtype) - (u <= -th)
                else:
                    s = (u > th).astype(u.dtype)
                mem[node.name] = u * (1 - np.abs(s))
                if stats is not None:
                    # [nonzero spikes, elements, smallest ||u| - threshold|]
                    c = stats.setdefault(node.name, [0, 0, np.inf])
                    c[0] += int(np.count_nonzero(s))
                    c[1] += s.size
                    c[2] = min(c[2], float(np.abs(np.abs(u) - th).min()))
                out = amp * s
            elif node.domain not in ("", "ai.onnx"):
                raise NotImplementedError(f"{node.domain}::{op}")
            elif op == "Conv":
                out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
            elif op == "BatchNormalization":
                xx, g, b, mu, var = ins[:5]
                sh = (1, -1) + (1,) * (xx.ndim - 2)
                out = (xx - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5)) \
                    * g.reshape(sh) + b.reshape(sh)
            elif op == "AveragePool":
                out = _pool(ins[0], a, "avg")
            elif op == "MaxPool":
                out = _pool(ins[0], a, "max")
            elif op == "GlobalAveragePool":
                out = ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)
            elif op == "Relu":
                out = np.maximum(ins[0], 0)
            elif op == "Identity":
                out = ins[0]
            elif op == "Flatten":
                ax = a.get("axis", 1)
                out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
            elif op == "Reshape":
                shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(ins[1])]
                out = ins[0].reshape(shape)
            elif op == "Gemm":
                A = ins[0].T if a.get("transA", 0) else ins[0]
                B = ins[1].T if a.get("transB", 0) else ins[1]
                out = a.get("alpha", 1.0) * A @ B
                if len(ins) > 2 and ins[2] is not None:
                    out = out + a.get("beta", 1.0) * ins[2]
            elif op == "MatMul":
                out = ins[0] @ ins[1]
            elif op == "Add":
                out = ins[0] + ins[1]
            elif op == "Mul":
                out = ins[0] * ins[1]
            elif op == "Constant":
                out = numpy_helper.to_array(a["value"]) if "value" in a else None
            elif op == "Shape":
                out = np.array(ins[0].shape, np.int64)
            elif op == "Gather":
                out = np.take(ins[0], ins[1], axis=a.get("axis", 0))
            elif op == "Unsqueeze":
                out = np.expand_dims(ins[0], tuple(ins[1].tolist()))
            elif op == "Concat":
                out = np.concatenate(ins, axis=a["axis"])
            else:
                raise NotImplementedError(op)
            env[node.output[0]] = out
        return [env[o] for o in self.outputs]

    def run(self, x, timesteps=None, stats=None):
        """Run ``x`` (already preprocessed, float) for T timesteps; returns the
        graph outputs reduced by the readout."""
        T = int(timesteps or self.meta.get("tspike.timesteps", 4))
        enc = self.meta.get("tspike.encoding", "direct")
        readout = self.meta.get("tspike.readout", "mean")
        if enc == "sequence":
            T = x.shape[0]
        mem, outs = {}, []
        for t in range(T):
            outs.append(self.step((x[t] if enc == "sequence" else x).astype(self.dtype), mem, stats))
        res = []
        for k in range(len(self.outputs)):
            seq = np.stack([o[k] for o in outs])
            res.append(seq.mean(0) if readout == "mean" else seq.sum(0) if readout == "sum" else seq[-1])
        return res
