#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Pure-numpy reference interpreter for tspike ONNX models.

This is the executable form of docs/format.md (sections 1
and 2).  It is deliberately simple: every op is a few lines of plain numpy,
executed node by node in topological order, once per timestep.

Arithmetic:
- The TernarySpike neuron is computed in float32 exactly in the spec's order:
  u = tau*u + x (np.float32 multiply, then np.float32 add), compare, reset,
  y = a*s.
- Linear ops (Conv, Gemm, MatMul, BatchNormalization, pooling averages) are
  accumulated in float64 and rounded once to float32, so the golden outputs
  are as close to the exact result as float32 storage allows.  Elementwise
  Add/Sub/Mul/Div/Relu/MaxPool operate directly on float32.
- The readout accumulates the per-timestep outputs in float32 in timestep
  order (sum), then divides by T in float32 for "mean".

Library use:
    from tspike_ref import run_model
    r = run_model("model.onnx", x)             # x: np.ndarray
    r["outputs"]                # [(name, array)] after readout
    r["spikes"][node]           # [T, ...] spike values s in {-1, 0, 1}
    r["membranes_before_fire"][node]  # [T, ...] u after u = tau*u + x
    r["node_outputs"][node]     # [T, ...] the node's output y = a*s
    r["step_outputs"]           # [(name, [T, ...] array)] graph outputs per timestep

CLI:
    python3 tools/tspike_ref.py model.onnx input.npy [--timesteps T] [--out out.npy]
        [--trace DIR]   # the same files as `tsrun --trace DIR` (spike maps per timestep)
"""

import argparse
import json
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TSPIKE_DOMAIN = "tspike"

META_DEFAULTS = {
    "tspike.timesteps": "4",
    "tspike.encoding": "direct",
    "tspike.readout": "mean",
}


class RefError(Exception):
    pass


# --------------------------------------------------------------------------
# helpers

def _attrs(node):
    out = {}
    for a in node.attribute:
        out[a.name] = onnx.helper.get_attribute_value(a)
        if isinstance(out[a.name], bytes):
            out[a.name] = out[a.name].decode("utf-8")
    return out


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def _onnx_dtype_to_np(t):
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t]


def _check_auto_pad(a, op):
    ap = a.get("auto_pad", "NOTSET")
    if ap not in ("NOTSET", ""):
        raise RefError(f"{op}: auto_pad={ap} not supported (NOTSET only)")


def _pool_out_size(in_size, k, s, d, pb, pe, ceil_mode):
    """Output length of one spatial axis for Conv/pool windows.

    ceil_mode follows PyTorch (and current ONNX Runtime): with ceil, the last
    window must start inside the input or the leading padding, else it is
    dropped.
    """
    eff = (k - 1) * d + 1
    span = in_size + pb + pe - eff
    if span < 0:
        raise RefError("pooling/conv window larger than padded input")
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= in_size + pb:
            out -= 1
    else:
        out = span // s + 1
    return out


# --------------------------------------------------------------------------
# ops

def op_conv(node, a, x, w, b=None):
    _check_auto_pad(a, "Conv")
    if x.ndim != 4:
        raise RefError("Conv: only 2-D convolution (4-D input) is supported")
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    if "kernel_shape" in a and list(a["kernel_shape"]) != [kh, kw]:
        raise RefError("Conv: kernel_shape attribute disagrees with W")
    g = int(a.get("group", 1))
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if c != cg * g or m % g != 0:
        raise RefError(f"Conv: channels {c} / weight {w.shape} / group {g} mismatch")
    oh = _pool_out_size(h, kh, sh, dh, pt, pb, False)
    ow = _pool_out_size(wd, kw, sw, dw, pl, pr, False)
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=np.float64)
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    w64 = w.astype(np.float64)
    out = np.zeros((n, m, oh, ow), dtype=np.float64)
    mg = m // g
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        ws = w64[gi * mg:(gi + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                r0 = i * dh
                c0 = j * dw
                patch = xs[:, :, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw]
                # patch [n, cg, oh, ow], ws[:, :, i, j] [mg, cg]
                out[:, gi * mg:(gi + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        out += b.astype(np.float64).reshape(1, m, 1, 1)
    return _f32(out)


def op_gemm(node, a, A, B, C=None):
    alpha = float(a.get("alpha", 1.0))
    beta = float(a.get("beta", 1.0))
    A = A.astype(np.float64)
    B = B.astype(np.float64)
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = alpha * (A @ B)
    if C is not None:
        y = y + beta * C.astype(np.float64)
    return _f32(y)


def op_matmul(node, a, A, B):
    return _f32(np.matmul(A.astype(np.float64), B.astype(np.float64)))


def _int_div(x, y):
    q = np.abs(x) // np.abs(y)
    return (np.sign(x) * np.sign(y) * q).astype(x.dtype)


def op_binary(node, a, x, y):
    t = node.op_type
    if x.dtype != y.dtype:
        raise RefError(f"{t}: dtype mismatch {x.dtype} vs {y.dtype}")
    if t == "Add":
        return x + y
    if t == "Sub":
        return x - y
    if t == "Mul":
        return x * y
    if t == "Div":
        if np.issubdtype(x.dtype, np.integer):
            return _int_div(x, y)
        return x / y
    raise RefError(t)


def op_batchnorm(node, a, x, scale, bias, mean, var):
    if len([o for o in node.output if o]) > 1:
        raise RefError("BatchNormalization: training outputs not supported")
    if a.get("training_mode", 0):
        raise RefError("BatchNormalization: training_mode=1 not supported")
    eps = float(a.get("epsilon", 1e-5))
    shp = (1, -1) + (1,) * (x.ndim - 2)
    x64 = x.astype(np.float64)
    y = (x64 - mean.astype(np.float64).reshape(shp)) / np.sqrt(var.astype(np.float64).reshape(shp) + eps)
    y = y * scale.astype(np.float64).reshape(shp) + bias.astype(np.float64).reshape(shp)
    return _f32(y)


def op_relu(node, a, x):
    return np.maximum(x, np.zeros((), dtype=x.dtype))


def _pool_geometry(a, x, op):
    _check_auto_pad(a, op)
    if x.ndim != 4:
        raise RefError(f"{op}: only 2-D pooling (4-D input) is supported")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    ceil_mode = int(a.get("ceil_mode", 0))
    h, w = x.shape[2:]
    oh = _pool_out_size(h, kh, sh, dh, pt, pb, ceil_mode)
    ow = _pool_out_size(w, kw, sw, dw, pl, pr, ceil_mode)
    return kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow


def op_maxpool(node, a, x):
    if len([o for o in node.output if o]) > 1:
        raise RefError("MaxPool: Indices output not supported")
    kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow = _pool_geometry(a, x, "MaxPool")
    n, c, h, w = x.shape
    # Pad generously with -inf: windows may run past the explicit padding in ceil mode.
    H = max(h + pt + pb, (oh - 1) * sh + (kh - 1) * dh + 1)
    W = max(w + pl + pr, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.full((n, c, H, W), -np.inf, dtype=np.float32)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    out = np.full((n, c, oh, ow), -np.inf, dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            out = np.maximum(out, xp[:, :, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw])
    return out


def op_avgpool(node, a, x):
    kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow = _pool_geometry(a, x, "AveragePool")
    cip = int(a.get("count_include_pad", 0))
    n, c, h, w = x.shape
    H = max(h + pt + pb, (oh - 1) * sh + (kh - 1) * dh + 1)
    W = max(w + pl + pr, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.zeros((n, c, H, W), dtype=np.float64)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    # what counts in the divisor: real input always; explicit padding if cip;
    # never the overhang past the explicit padding that ceil_mode creates.
    cnt = np.zeros((H, W), dtype=np.float64)
    if cip:
        cnt[:h + pt + pb, :w + pl + pr] = 1.0
    else:
        cnt[pt:pt + h, pl:pl + w] = 1.0
    s = np.zeros((n, c, oh, ow), dtype=np.float64)
    k = np.zeros((oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            s += xp[:, :, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw]
            k += cnt[r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw]
    return _f32(s / k)


def op_gap(node, a, x):
    axes = tuple(range(2, x.ndim))
    return _f32(x.astype(np.float64).mean(axis=axes, keepdims=True))


def op_flatten(node, a, x):
    axis = int(a.get("axis", 1))
    if axis < 0:
        axis += x.ndim
    d0 = int(np.prod(x.shape[:axis], dtype=np.int64))
    d1 = int(np.prod(x.shape[axis:], dtype=np.int64))
    return x.reshape(d0, d1)


def op_reshape(node, a, x, shape):
    if a.get("allowzero", 0):
        raise RefError("Reshape: allowzero=1 not supported")
    shape = [int(v) for v in shape.reshape(-1)]
    new = []
    for i, v in enumerate(shape):
        if v == 0:
            new.append(x.shape[i])
        else:
            new.append(v)
    if new.count(-1) > 1:
        raise RefError("Reshape: more than one -1")
    return x.reshape(new)


def op_identity(node, a, x):
    return x


def op_pad(node, a, x, pads=None, value=None):
    """Pad, constant mode; pads and value as inputs (opset >= 11) or attributes."""
    mode = a.get("mode", "constant")
    if mode != "constant":
        raise RefError(f"Pad: mode {mode} is not supported (only constant)")
    pads = [int(p) for p in (a.get("pads", []) if pads is None else np.asarray(pads).reshape(-1))]
    v = float(a.get("value", 0.0)) if value is None else float(np.asarray(value).reshape(-1)[0])
    r = x.ndim
    if len(pads) != 2 * r:
        raise RefError(f"Pad: {len(pads)} pads for rank {r}")
    begin, end = pads[:r], pads[r:]
    # negative pads crop first, then the positive ones pad
    sl = tuple(slice(max(-b, 0), x.shape[d] - max(-e, 0)) for d, (b, e) in enumerate(zip(begin, end)))
    y = x[sl]
    return np.pad(y, [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)], constant_values=v).astype(x.dtype)


def op_concat(node, a, *xs):
    return np.concatenate(xs, axis=int(a["axis"]))


def op_shape(node, a, x):
    shp = np.array(x.shape, dtype=np.int64)
    start = int(a.get("start", 0))
    end = a.get("end", None)
    return shp[start:(None if end is None else int(end))].copy()


def op_gather(node, a, x, idx):
    axis = int(a.get("axis", 0))
    if axis < 0:
        axis += x.ndim
    idx = np.asarray(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return np.take(x, idx, axis=axis)


def op_unsqueeze(node, a, x, axes=None):
    if axes is None:
        axes = a["axes"]
    axes = [int(v) for v in np.asarray(axes).reshape(-1)]
    r = x.ndim + len(axes)
    axes = sorted(v + r if v < 0 else v for v in axes)
    y = x
    for ax in axes:
        y = np.expand_dims(y, ax)
    return y


def op_squeeze(node, a, x, axes=None):
    if axes is None:
        axes = a.get("axes", None)
    if axes is None:
        return np.squeeze(x)
    axes = tuple(sorted(int(v) + x.ndim if int(v) < 0 else int(v) for v in np.asarray(axes).reshape(-1)))
    return np.squeeze(x, axis=axes)


def op_cast(node, a, x):
    return np.asarray(x).astype(_onnx_dtype_to_np(int(a["to"])))


def op_constant(node, a):
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    if "value_float" in a:
        return np.array(a["value_float"], dtype=np.float32)
    if "value_floats" in a:
        return np.array(a["value_floats"], dtype=np.float32)
    if "value_int" in a:
        return np.array(a["value_int"], dtype=np.int64)
    if "value_ints" in a:
        return np.array(a["value_ints"], dtype=np.int64)
    raise RefError(f"Constant: unsupported attribute(s) {list(a)}")


OPS = {
    "Conv": op_conv, "Gemm": op_gemm, "MatMul": op_matmul,
    "Add": op_binary, "Sub": op_binary, "Mul": op_binary, "Div": op_binary,
    "BatchNormalization": op_batchnorm, "Relu": op_relu,
    "MaxPool": op_maxpool, "AveragePool": op_avgpool, "GlobalAveragePool": op_gap,
    "Flatten": op_flatten, "Reshape": op_reshape, "Identity": op_identity,
    "Concat": op_concat, "Shape": op_shape, "Gather": op_gather,
    "Unsqueeze": op_unsqueeze, "Squeeze": op_squeeze, "Cast": op_cast,
    "Constant": op_constant, "Pad": op_pad,
}


# --------------------------------------------------------------------------
# the neuron (spec section 1)

class SpikeNode:
    def __init__(self, node, attrs, amplitude):
        self.name = node.name or node.output[0]
        self.threshold = float(attrs.get("threshold", 0.5))
        self.decay = float(attrs.get("decay", 0.25))
        self.mode = attrs.get("mode", "ternary")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise RefError(f"{self.name}: threshold must be > 0 and finite")
        if not (0.0 <= self.decay <= 1.0):
            raise RefError(f"{self.name}: decay must be in [0, 1]")
        if self.mode not in ("ternary", "binary"):
            raise RefError(f"{self.name}: mode must be ternary or binary")
        self.amplitude = None if amplitude is None else _f32(amplitude)
        self.u = None

    def _amp_for(self, x):
        a = self.amplitude
        if a is None:
            return np.float32(1.0)
        if a.size == 1:
            return a.reshape(())
        c = x.shape[1]
        if a.size != c or sorted(a.shape, reverse=True)[1:] != [1] * (a.ndim - 1):
            raise RefError(f"{self.name}: amplitude shape {a.shape} does not match C={c}")
        return a.reshape((1, c) + (1,) * (x.ndim - 2))

    def step(self, x):
        if x.dtype != np.float32:
            raise RefError(f"{self.name}: input must be float32")
        if x.ndim < 2:
            raise RefError(f"{self.name}: input must be at least 2-D")
        if self.u is None:
            self.u = np.zeros(x.shape, dtype=np.float32)
        elif self.u.shape != x.shape:
            raise RefError(f"{self.name}: input shape changed between timesteps")
        tau = np.float32(self.decay)
        theta = np.float32(self.threshold)
        u = np.add(np.multiply(tau, self.u, dtype=np.float32), x, dtype=np.float32)
        u_before = u.copy()
        if self.mode == "ternary":
            s = np.where(u >= theta, np.float32(1), np.where(u <= -theta, np.float32(-1), np.float32(0)))
        else:
            s = np.where(u > theta, np.float32(1), np.float32(0))
        s = s.astype(np.float32)
        u = np.multiply(u, np.float32(1) - np.abs(s), dtype=np.float32)
        self.u = u
        y = np.multiply(self._amp_for(x), s, dtype=np.float32)
        return y, s, u_before


# --------------------------------------------------------------------------
# model

def _topo_sort(nodes, available):
    avail = set(available) | {""}
    pending = list(nodes)
    order = []
    while pending:
        progressed = False
        rest = []
        for n in pending:
            if all(i in avail for i in n.input):
                order.append(n)
                avail.update(n.output)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            missing = sorted({i for n in rest for i in n.input if i not in avail})
            raise RefError(f"graph has a cycle or undefined inputs: {missing}")
        pending = rest
    return order


def load(model):
    if isinstance(model, onnx.ModelProto):
        return model
    return onnx.load(model)


def metadata(model):
    meta = dict(META_DEFAULTS)
    for p in model.metadata_props:
        meta[p.key] = p.value
    return meta


def run_model(model, input, timesteps=None):
    model = load(model)
    g = model.graph
    meta = metadata(model)
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    data_inputs = [i.name for i in g.input if i.name not in inits]
    if len(data_inputs) != 1:
        raise RefError(f"graph must have exactly one non-initializer input, has {data_inputs}")
    in_name = data_inputs[0]
    x = np.asarray(input, dtype=np.float32)
    # As the runtime (Session::run): the batch dimension may be left out.
    in_info = next(i for i in g.input if i.name == in_name)
    rank = len(in_info.type.tensor_type.shape.dim)

    encoding = meta["tspike.encoding"]
    readout = meta["tspike.readout"]
    if encoding == "direct":
        if rank and x.ndim == rank - 1:
            x = x[np.newaxis]
        T = int(timesteps) if timesteps is not None else int(meta["tspike.timesteps"])
        frames = lambda t: x
    elif encoding == "sequence":
        if rank and x.ndim == rank:
            x = x[:, np.newaxis]
        if x.ndim < 2:
            raise RefError("sequence encoding needs an input [T, N, ...] or [T, ...]")
        T = x.shape[0]
        if timesteps is not None and int(timesteps) != T:
            raise RefError(f"sequence input has T={T}, caller asked for {timesteps}")
        frames = lambda t: x[t]
    else:
        raise RefError(f"unknown tspike.encoding {encoding!r}")
    if T < 1:
        raise RefError("timesteps must be >= 1")
    if readout not in ("mean", "sum", "last"):
        raise RefError(f"unknown tspike.readout {readout!r}")

    order = _topo_sort(g.node, list(inits) + [in_name])
    spike_nodes = {}
    for n in order:
        if n.domain == TSPIKE_DOMAIN:
            if n.op_type != "TernarySpike":
                raise RefError(f"unknown op tspike::{n.op_type}")
            amp = None
            if len(n.input) > 1 and n.input[1]:
                if n.input[1] not in inits:
                    raise RefError(f"{n.name}: amplitude must be an initializer")
                amp = inits[n.input[1]]
            spike_nodes[id(n)] = SpikeNode(n, _attrs(n), amp)
        elif n.domain not in ("", "ai.onnx"):
            raise RefError(f"unsupported domain {n.domain!r}")
        elif n.op_type not in OPS:
            raise RefError(f"unsupported op {n.op_type}")

    out_names = [o.name for o in g.output]
    acc = {o: None for o in out_names}
    spikes = {sn.name: [] for sn in spike_nodes.values()}
    membr = {sn.name: [] for sn in spike_nodes.values()}
    node_out = {sn.name: [] for sn in spike_nodes.values()}
    steps = {o: [] for o in out_names}

    for t in range(T):
        env = dict(inits)
        env[in_name] = np.asarray(frames(t), dtype=np.float32)
        for n in order:
            args = [env[i] if i else None for i in n.input]
            # drop trailing absent optional inputs
            while args and args[-1] is None:
                args.pop()
            if id(n) in spike_nodes:
                sn = spike_nodes[id(n)]
                y, s, ub = sn.step(args[0])
                spikes[sn.name].append(s)
                membr[sn.name].append(ub)
                node_out[sn.name].append(y)
                res = [y]
            else:
                r = OPS[n.op_type](n, _attrs(n), *args)
                res = [r]
            for name, v in zip(n.output, res):
                if name:
                    env[name] = v
        for o in out_names:
            v = env[o]
            steps[o].append(np.array(v, copy=True))
            if readout == "last":
                acc[o] = v.copy()
            elif acc[o] is None:
                acc[o] = v.copy()
            else:
                acc[o] = np.add(acc[o], v, dtype=acc[o].dtype)
    outputs = []
    for o in out_names:
        v = acc[o]
        if readout == "mean":
            v = (v / np.float32(T)).astype(v.dtype) if v.dtype == np.float32 else v / T
        outputs.append((o, v))
    return dict(
        outputs=outputs,
        spikes={k: np.stack(v) for k, v in spikes.items()},
        membranes_before_fire={k: np.stack(v) for k, v in membr.items()},
        node_outputs={k: np.stack(v) for k, v in node_out.items()},
        step_outputs=[(o, np.stack(steps[o])) for o in out_names],
        timesteps=T,
    )


def firing_rates(result):
    """Spec section 5: nonzero spikes / (elements x T x N)."""
    return {k: float(np.count_nonzero(v)) / v.size for k, v in result["spikes"].items()}


def file_stem(name, used):
    """The file name stem tsrun --trace uses (tools/trace.cpp): only
    [A-Za-z0-9_-], at most 80 characters, unique without case."""
    # Byte by byte, as the C++ does: a non-ASCII character gives one "_" per byte.
    stem = "".join(chr(b) if (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-_")) else "_"
                   for b in name.encode("utf-8"))
    stem = stem[:80] or "unnamed"
    unique, n = stem, 2
    while unique.lower() in used:
        unique, n = f"{stem}_{n}", n + 1
    used.add(unique.lower())
    return unique


def write_trace(result, directory, meta):
    """Writes the layout of tsrun --trace: one [T, N, ...] float32 file per
    TernarySpike node (its spike map s) and per graph output, and trace.json."""
    import os
    os.makedirs(directory, exist_ok=True)
    used = {"trace"}
    T = result["timesteps"]
    j = {"timesteps": T, "encoding": meta["tspike.encoding"], "readout": meta["tspike.readout"],
         "spike_nodes": [], "outputs": []}
    # The spike maps s, as tsrun writes them once the amplitudes are folded
    # (result["node_outputs"] holds a * s).
    for name, y in result["spikes"].items():
        f = file_stem(name, used) + ".npy"
        np.save(os.path.join(directory, f), y.astype(np.float32))
        j["spike_nodes"].append({"node": name, "file": f, "shape": list(y.shape),
                                 "firing_rate": float(np.count_nonzero(y)) / y.size if y.size else 0.0,
                                 "values": "spikes"})
    for name, y in result["step_outputs"]:
        f = file_stem("output_" + name, used) + ".npy"
        np.save(os.path.join(directory, f), np.asarray(y, dtype=np.float32))
        j["outputs"].append({"name": name, "file": f, "shape": list(y.shape)})
    with open(os.path.join(directory, "trace.json"), "w") as out:
        json.dump(j, out, indent=2)


def main(argv=None):
    p = argparse.ArgumentParser(description="numpy reference for tspike ONNX models")
    p.add_argument("model")
    p.add_argument("input", help=".npy file")
    p.add_argument("--timesteps", type=int, default=None)
    p.add_argument("--out", default=None, help="write the first output (after readout) here as .npy")
    p.add_argument("--rates", action="store_true", help="also print firing rates per spike node")
    p.add_argument("--trace", default=None, metavar="DIR",
                   help="write per-timestep spike maps and outputs as tsrun --trace does")
    args = p.parse_args(argv)
    x = np.load(args.input)
    try:
        r = run_model(args.model, x, args.timesteps)
    except RefError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    np.set_printoptions(precision=6, suppress=True, linewidth=120)
    print(f"timesteps: {r['timesteps']}")
    for name, v in r["outputs"]:
        print(f"{name} {list(v.shape)}:")
        print(v)
    if args.rates:
        for k, v in firing_rates(r).items():
            print(f"firing rate {k}: {v:.4f}")
    if args.out:
        np.save(args.out, r["outputs"][0][1])
    if args.trace:
        write_trace(r, args.trace, metadata(load(args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
