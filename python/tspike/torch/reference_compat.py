# SPDX-License-Identifier: Apache-2.0
"""Bring a network written with the Ternary-Spike reference training code
(Guo et al., AAAI 2024) into tspike.torch, weights and all, for export.

The reference code's neuron ("reference-style" below) runs, per timestep,

    mem   = mem * decay + x
    spike = ternary(mem / V_th)     # sign(mem) where |mem / V_th| >= 0.5, else 0
                                    # (binary variant: 1 where mem / V_th > 0.5)
    mem   = mem * (1 - |spike|)     # hard reset
    out   = spike * fire_ratio

with decay 0.25, V_th 1.0 and ``fire_ratio`` the constant 1, or an
``nn.Parameter`` (one value, or one per channel, e.g. shape [1, C, 1, 1])
in the trainable-amplitude variant. That is tspike's TernarySpike with

    threshold = 0.5 * V_th,  decay = decay,  amplitude = fire_ratio,

and the same surrogate gradient: the reference's backward pass is that of
``clamp(mem / V_th, -1, 1)`` (binary: ``clamp(mem / V_th, 0, 1)``), which is
TernarySpike's ``clamp(u / (2 * threshold), ...)``.

What counts as a reference-style neuron (duck typing): any module that is
not a TernarySpike and has the attributes ``fire_ratio`` and ``V_th``.
Optional attributes: ``decay`` (a number; absent, as in the reference's
LIFAct, which passes 0.25 to its update, means the ``decay`` argument),
``mode`` ("ternary"/"binary") or ``binary`` (bool) (absent: the ``mode``
argument, "ternary" by default). ``V_th`` and ``fire_ratio`` may be numbers,
tensors or parameters; ``V_th`` must be one positive value.

The reference code is multi-step: its neuron takes the whole ``[T, B, ...]``
sequence in one call, and it wraps every other layer so that it runs on
that sequence (a wrapper with a ``step`` attribute around one module: a
conv, linear or pool run per timestep, or a BatchNorm3d over the permuted
sequence), and a top-level wrapper repeats the image T times and averages
the output over T. tspike.torch runs ONE timestep per call.
``unwrap_multistep`` puts each wrapped module in its wrapper's place (a
BatchNorm3d becomes a BatchNorm2d with the same parameters and running
statistics: in eval mode both normalise per channel alike).

Usage, with a checkpoint of the reference network::

    net = build_reference_net()                 # the reference code's classes
    net.load_state_dict(torch.load("ckpt.pth")) # keys name the wrappers: load first
    net.eval()
    model = from_reference(net)                 # one timestep per call now
    export_tspike(model, x[:1], "m.onnx", timesteps=4, fold_batchnorm=False)

``from_reference`` changes ``net`` in place and returns the root to use (the
inner network when the root itself was a wrapper). The exported file, run
for T timesteps with the same input at each, gives the reference network's
mean-over-T output.
"""

import torch
from torch import nn

from .neuron import MODES, TernarySpike

REFERENCE_DECAY = 0.25   # what the reference LIFAct passes to its membrane update


def is_reference_neuron(m):
    """True for a reference-style neuron (has ``fire_ratio`` and ``V_th``)."""
    return (isinstance(m, nn.Module) and not isinstance(m, TernarySpike)
            and hasattr(m, "fire_ratio") and hasattr(m, "V_th"))


def _scalar(v, what):
    t = torch.as_tensor(v.detach() if isinstance(v, torch.Tensor) else v, dtype=torch.float64)
    if t.numel() != 1:
        raise ValueError(f"{what} must be one value, got shape {tuple(t.shape)}")
    return float(t.reshape(()))


def _amplitude(fire_ratio):
    """fire_ratio as a 1-D tensor of 1 or C values (C along axis 1)."""
    if isinstance(fire_ratio, torch.Tensor):
        a = fire_ratio.detach().to(torch.float32)
    else:
        a = torch.tensor([float(fire_ratio)], dtype=torch.float32)
    if a.numel() > 1:
        # Exactly C values along one axis, every other axis 1. The reference
        # multiplies by broadcasting from the right, so that axis must land
        # on axis 1 of the neuron's per-timestep input: [1, C, 1, 1] or
        # [C, 1, 1] after a conv, [1, C] or [C] after a linear layer. (The
        # rank of the input is not known here; that part is the caller's.)
        if sum(d != 1 for d in a.shape) != 1:
            raise ValueError(f"fire_ratio of shape {tuple(a.shape)} is not per channel")
    return a.reshape(-1).clone()


def to_ternary_spike(m, decay=REFERENCE_DECAY, mode="ternary"):
    """The TernarySpike equivalent to reference-style neuron ``m``."""
    v_th = _scalar(m.V_th, "V_th")
    if not v_th > 0:
        raise ValueError(f"V_th must be > 0, got {v_th}")
    if hasattr(m, "decay"):
        decay = _scalar(m.decay, "decay")
    if isinstance(getattr(m, "mode", None), str):
        mode = m.mode
    elif hasattr(m, "binary"):
        mode = "binary" if bool(m.binary) else "ternary"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    amp = _amplitude(m.fire_ratio)
    trainable = isinstance(m.fire_ratio, nn.Parameter)
    ts = TernarySpike(threshold=0.5 * v_th, decay=decay, mode=mode,
                      channels=None if amp.numel() == 1 else amp.numel(),
                      trainable_amplitude=trainable)
    with torch.no_grad():
        ts.amplitude.copy_(amp)
    ts.train(m.training)
    return ts


def replace_reference_neurons(model, decay=REFERENCE_DECAY, mode="ternary"):
    """Replace, in place, every reference-style neuron below ``model`` by an
    equivalent TernarySpike (amplitude carried over; trainable when
    fire_ratio was a Parameter). ``decay`` and ``mode`` apply to neurons
    without a ``decay`` / ``mode`` / ``binary`` attribute of their own.
    Returns the new neurons as a list of (qualified name, TernarySpike)."""
    if is_reference_neuron(model):
        raise ValueError("the model itself is a neuron: use to_ternary_spike")
    done = []
    for parent_name, parent in list(model.named_modules()):
        for name, child in list(parent.named_children()):
            if is_reference_neuron(child):
                ts = to_ternary_spike(child, decay=decay, mode=mode)
                setattr(parent, name, ts)
                done.append((f"{parent_name}.{name}" if parent_name else name, ts))
    return done


def _is_step_wrapper(m):
    """A multi-step wrapper: has ``step``, exactly one child module, and is
    neither a neuron nor a plain torch layer."""
    if not hasattr(m, "step") or is_reference_neuron(m) or isinstance(m, TernarySpike):
        return False
    if type(m).__module__.startswith("torch.nn"):
        return False
    return len(list(m.children())) == 1


def _single_step(inner):
    """The one-timestep version of a wrapped module."""
    if isinstance(inner, nn.BatchNorm3d):
        bn = nn.BatchNorm2d(inner.num_features, eps=inner.eps, momentum=inner.momentum,
                            affine=inner.affine, track_running_stats=inner.track_running_stats)
        bn.load_state_dict(inner.state_dict())
        bn.train(inner.training)
        return bn
    return inner


def unwrap_multistep(model):
    """Put the module inside each multi-step wrapper (a module with a
    ``step`` attribute and a single child, such as the reference code's
    per-timestep conv / linear / pool / BatchNorm3d wrappers and its
    top-level model wrapper) in the wrapper's place, in place. A BatchNorm3d
    becomes a BatchNorm2d with the same state. Returns the new root (the
    inner module when ``model`` itself is a wrapper)."""
    while _is_step_wrapper(model):
        model = _single_step(next(model.children()))
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = child
            while _is_step_wrapper(new):
                new = _single_step(next(new.children()))
            if new is not child:
                setattr(parent, name, new)
    return model


def fold_rp_scale(root):
    """The reference ResNets' ``rp=True``: in the multi-step forward the
    pooled features are multiplied by the parameter ``scale`` before the
    classifier ``fc``, which the one-step forward skips. Folds it into
    ``fc``'s weights (and sets ``rp`` to False), in place; ValueError when
    it cannot be (no Linear ``fc``, or not one value per feature)."""
    if not getattr(root, "rp", False):
        return
    scale = getattr(root, "scale", None)
    fc = getattr(root, "fc", None)
    if not isinstance(scale, torch.Tensor):
        raise ValueError("rp=True but the network has no tensor 'scale' to multiply its features by")
    if not isinstance(fc, nn.Linear) or scale.numel() != fc.in_features:
        raise ValueError(
            f"rp=True: 'scale' ({scale.numel()} values) multiplies the features before the classifier 'fc' "
            f"({fc.in_features if isinstance(fc, nn.Linear) else 'not a Linear'}); it can be folded only into a "
            "Linear 'fc' with one input feature per value")
    with torch.no_grad():
        fc.weight.mul_(scale.detach().reshape(1, -1).to(fc.weight.dtype))
    root.rp = False


def from_reference(model, decay=REFERENCE_DECAY, mode="ternary"):
    """``unwrap_multistep``, ``fold_rp_scale`` and ``replace_reference_neurons``:
    a network of the reference training code, with its weights, as a
    tspike.torch network that runs one timestep per call (reset with
    ``reset_net`` before each input, call T times, average the outputs).
    Returns the root to use."""
    root = unwrap_multistep(model)
    fold_rp_scale(root)
    replace_reference_neurons(root, decay=decay, mode=mode)
    return root
