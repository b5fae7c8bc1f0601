# SPDX-License-Identifier: Apache-2.0
"""Export a PyTorch network with TernarySpike neurons to a tspike ONNX file.

The file describes ONE timestep (spec section 2); the runtime runs it T times
and keeps each TernarySpike node's membrane between timesteps.
"""

import contextlib
import copy
import io
import json
import warnings

import onnx
import torch
from onnx import helper, numpy_helper

from .neuron import TernarySpike

DOMAIN = "tspike"
DOMAIN_VERSION = 1
OPSET = 13


@contextlib.contextmanager
def _export_mode(model):
    spikes = [m for m in model.modules() if isinstance(m, TernarySpike)]
    for m in spikes:
        m.exporting = True
    try:
        yield spikes
    finally:
        for m in spikes:
            m.exporting = False


def _float_list(v, name):
    if isinstance(v, (int, float)):
        v = [v]
    v = [float(x) for x in v]
    if not v:
        raise ValueError(f"{name} must not be empty")
    return ",".join(repr(x) for x in v)


def identity_copy(model):
    """A copy of ``model`` with every TernarySpike node replaced by Identity
    (its amplitude input dropped), so that ONNX's checker and shape
    inference, which know no schema for tspike::TernarySpike, can check all
    the rest of the graph in full."""
    m = copy.deepcopy(model)
    for node in m.graph.node:
        if node.domain == DOMAIN and node.op_type == "TernarySpike":
            node.op_type = "Identity"
            node.domain = ""
            del node.input[1:]
            del node.attribute[:]
    return m


def check(model):
    """Run onnx.checker on ``model``.

    onnx 1.12 (Debian 12) cannot register an OpSchema from Python
    (onnx.defs.register_schema arrived in onnx 1.16). Its checker accepts a
    node of a non-ONNX domain that has no schema, provided the domain is in
    opset_import, without checking the node. So: (1) check_model on the
    model itself, (2) check_model with full_check (strict shape inference)
    on the Identity-swapped copy, which checks every other node and that
    the output shapes line up.
    """
    onnx.checker.check_model(model)
    onnx.checker.check_model(identity_copy(model), full_check=True)


def export_tspike(model, example_input, path, timesteps=4, encoding="direct",
                  readout="mean", labels=None, image_scale=1 / 255,
                  image_mean=None, image_std=None, input_name="input",
                  output_name="output", fold_batchnorm=True):
    """Export one timestep of ``model`` to ``path`` as a tspike ONNX model.

    Each TernarySpike becomes a node TernarySpike (domain tspike, version 1)
    with inputs (X, amplitude initializer) and attributes threshold, decay,
    mode. Opset 13, batch axis dynamic and named 'N'. Metadata keys as in
    the spec. ``example_input`` is one timestep's input (for 'sequence'
    encoding: one slice, without the time axis).

    fold_batchnorm: True exports in eval mode, where torch folds each
    BatchNorm into the Conv before it; False keeps BatchNormalization nodes
    (inference form) for the converter to fold.

    Returns the onnx.ModelProto that was written.
    """
    if encoding not in ("direct", "sequence"):
        raise ValueError("encoding must be 'direct' or 'sequence'")
    if readout not in ("mean", "sum", "last"):
        raise ValueError("readout must be 'mean', 'sum' or 'last'")
    if int(timesteps) < 1:
        raise ValueError("timesteps must be >= 1")

    was_training = model.training
    model.eval()
    buf = io.BytesIO()
    try:
        with _export_mode(model), torch.no_grad(), warnings.catch_warnings():
            # torch 1.13 warns that it has no shape inference for the custom
            # op (the symbolic sets the output type itself) and that
            # Graph.op is deprecated (it is what Function.symbolic gets).
            warnings.filterwarnings("ignore", message=".*tspike::TernarySpike.*")
            warnings.filterwarnings("ignore", message=".*_graph_op.*", category=FutureWarning)
            # With fold_batchnorm=False (TrainingMode.PRESERVE) torch advises
            # against constant folding, lest it change parameters that still
            # train; the model is in eval mode here, so nothing trains.
            warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
            torch.onnx.export(
                model, (example_input,), buf,
                opset_version=OPSET,
                input_names=[input_name], output_names=[output_name],
                dynamic_axes={input_name: {0: "N"}, output_name: {0: "N"}},
                custom_opsets={DOMAIN: DOMAIN_VERSION},
                do_constant_folding=True,
                training=(torch.onnx.TrainingMode.EVAL if fold_batchnorm
                          else torch.onnx.TrainingMode.PRESERVE),
            )
    finally:
        model.train(was_training)

    proto = onnx.load_from_string(buf.getvalue())
    _postprocess(proto)

    meta = {
        "tspike.timesteps": str(int(timesteps)),
        "tspike.encoding": encoding,
        "tspike.readout": readout,
        "tspike.image.scale": repr(float(image_scale)),
    }
    if labels is not None:
        meta["tspike.labels"] = json.dumps([str(x) for x in labels])
    if image_mean is not None:
        meta["tspike.image.mean"] = _float_list(image_mean, "image_mean")
    if image_std is not None:
        meta["tspike.image.std"] = _float_list(image_std, "image_std")
    onnx.helper.set_model_props(proto, meta)

    check(proto)
    onnx.save(proto, path)
    return proto


def _constant_value(g, name):
    """Value of tensor ``name`` if it is an initializer or a Constant node's
    output, else None."""
    for t in g.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in g.node:
        if n.op_type == "Constant" and n.output[0] == name:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    return None


def _remove_unused_constants(g):
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    for n in [n for n in g.node if n.op_type == "Constant" and n.output[0] not in used]:
        g.node.remove(n)
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)


def _remove_noop_pads(g):
    """Drop Pad nodes that pad nothing. torch 1.13 puts one (pads all 0)
    before every AvgPool2d with count_include_pad=True, even with padding 0."""
    outputs = {o.name for o in g.output}
    for node in list(g.node):
        if node.op_type != "Pad" or node.domain not in ("", "ai.onnx"):
            continue
        pads = _constant_value(g, node.input[1]) if len(node.input) > 1 else None
        if pads is None or pads.any() or node.output[0] in outputs:
            continue
        for other in g.node:
            for k, name in enumerate(other.input):
                if name == node.output[0]:
                    other.input[k] = node.input[0]
        g.node.remove(node)
    _remove_unused_constants(g)


def _bypass_constant_identities(g):
    """Let the readers of an Identity of an initializer read the initializer.

    torch's exporter stores equal parameters once (all amplitudes 1, zero
    biases, BatchNorms with the same statistics) and feeds every later user
    through an Identity node; the format wants a TernarySpike's amplitude to
    be an initializer, and BatchNorm folding wants constant parameters."""
    inits = {t.name for t in g.initializer}
    outputs = {o.name for o in g.output}
    source = {}
    for node in g.node:
        if (node.op_type == "Identity" and node.domain in ("", "ai.onnx") and len(node.input) == 1
                and node.output[0] not in outputs):
            src = source.get(node.input[0], node.input[0])
            if src in inits:
                source[node.output[0]] = src
    if not source:
        return
    for node in g.node:
        for k, name in enumerate(node.input):
            node.input[k] = source.get(name, name)
    for node in [n for n in g.node if n.op_type == "Identity" and n.output[0] in source]:
        g.node.remove(node)


def _module_path(node):
    """"layer1.0.relu1" for a node named "/layer1/layer1.0/relu1/TernarySpike"
    (torch names each scope after the module's qualified name)."""
    scope = node.name.strip("/").rpartition("/")[0]
    return scope.replace("/", ".") or node.name


def _producer(g, name):
    for n in g.node:
        if name in n.output:
            return n
    return None


def _postprocess(proto):
    """Make sure opset_import lists tspike v1, every amplitude is an
    initializer of its own (not a Constant node, not an Identity of a
    parameter torch merged with an equal one), and no no-op Pad is left."""
    if not any(o.domain == DOMAIN for o in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid(DOMAIN, DOMAIN_VERSION))

    g = proto.graph
    _remove_noop_pads(g)
    _bypass_constant_identities(g)
    inits = {t.name: t for t in g.initializer}
    spikes = [n for n in g.node if n.domain == DOMAIN and n.op_type == "TernarySpike"]
    readers = {}
    for node in spikes:
        if len(node.input) > 1 and node.input[1]:
            readers[node.input[1]] = readers.get(node.input[1], 0) + 1
    taken = set(inits) | {v for n in g.node for v in list(n.input) + list(n.output)}
    for node in spikes:
        if len(node.input) < 2 or not node.input[1]:
            continue
        name = node.input[1]
        wanted = f"{_module_path(node)}.amplitude"
        if name in inits and (readers[name] == 1 or name == wanted):
            continue
        amp = _constant_value(g, name)
        if amp is None:
            producer = _producer(g, name)
            how = f"by a {producer.op_type} node ({producer.name})" if producer else "outside the graph"
            raise RuntimeError(
                f"amplitude of {node.name} ('{name}') is computed {how}, not a constant: "
                "the exporter needs its value (the neuron's amplitude tensor itself)")
        # An amplitude of its own, named after the neuron's module.
        new, k = wanted, 1
        while new in taken:
            new, k = f"{wanted}_{k}", k + 1
        g.initializer.append(numpy_helper.from_array(amp, new))
        node.input[1] = new
        taken.add(new)
    _remove_unused_constants(g)
    _name_initializers(g)
    _infer_shapes(proto)


def _name_initializers(g):
    """Give the initializers that torch names "onnx::Conv_34" (a Conv with
    its BatchNorm folded in) the names of their module: "conv1.weight",
    "conv1.bias"."""
    roles = {"Conv": ["", "weight", "bias"], "Gemm": ["", "weight", "bias"]}
    taken = {t.name for t in g.initializer} | {i.name for i in g.input}
    renamed = {}
    for node in g.node:
        prefix = node.name.strip("/").rpartition("/")[0].replace("/", ".")
        for k, name in enumerate(node.input):
            role = roles.get(node.op_type, [])[k:k + 1]
            if not (name.startswith("onnx::") and prefix and role and role[0]):
                continue
            new = f"{prefix}.{role[0]}"
            if new in taken:
                continue
            renamed[name] = new
            taken.add(new)
    if not renamed:
        return
    for t in g.initializer:
        t.name = renamed.get(t.name, t.name)
    for node in g.node:
        for k, name in enumerate(node.input):
            node.input[k] = renamed.get(name, name)


def _infer_shapes(proto):
    """Replace torch's value_info and output shapes, which lose every size
    behind a custom op ("Gemmlogits_dim_1"), by ONNX shape inference run on
    the Identity-swapped copy (TernarySpike keeps its input's shape, and the
    swap keeps every tensor name)."""
    g = proto.graph
    probe = identity_copy(proto)
    del probe.graph.value_info[:]
    for o in probe.graph.output:
        o.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(probe, strict_mode=True).graph
    del g.value_info[:]
    g.value_info.extend(inferred.value_info)
    for o, io in zip(g.output, inferred.output):
        if io.type.tensor_type.HasField("shape"):   # else keep torch's
            o.type.CopyFrom(io.type)
