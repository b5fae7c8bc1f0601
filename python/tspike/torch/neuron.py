# SPDX-License-Identifier: Apache-2.0
"""The TernarySpike neuron for training in PyTorch.

Semantics follow docs/format.md section 1 (the runtime's
contract); the surrogate gradient follows the reference training code of
Guo et al., "Ternary Spike" (AAAI 2024).

One call of ``forward(x)`` is ONE timestep:

    u = decay * u + x
    ternary: s = +1 if u >= threshold, -1 if u <= -threshold, else 0
    binary:  s =  1 if u >  threshold, else 0
    u = u * (1 - |s|)            # hard reset where a spike fired
    y = amplitude * s            # amplitude per layer or per channel (axis 1)

The membrane u persists between calls until ``reset()``.

Surrogate gradient (straight-through): the spike's backward pass is the
gradient of ``clamp(u / (2 * threshold), -1, 1)`` for ternary and of
``clamp(u / (2 * threshold), 0, 1)`` for binary, i.e. 1 / (2 * threshold)
inside the window and 0 outside. With threshold 0.5 this is exactly the
reference code's ``clamp(mem, -1, 1)`` / ``clamp(mem, 0, 1)``: the binary
window [0, 2 * threshold] is centred on the threshold, the ternary one on 0.
As in the reference code the gradient also flows through the reset.
"""

import math

import torch
from torch import nn

MODES = ("ternary", "binary")


def spike_fn(u, threshold, mode):
    """Spike map of membrane ``u`` with a straight-through surrogate gradient."""
    v = u / (2.0 * threshold)
    if mode == "ternary":
        s = (u >= threshold).to(u.dtype) - (u <= -threshold).to(u.dtype)
        bp = torch.clamp(v, -1.0, 1.0)
    else:
        s = (u > threshold).to(u.dtype)
        bp = torch.clamp(v, 0.0, 1.0)
    return (s - bp).detach() + bp


class _ExportSpike(torch.autograd.Function):
    """Stands for one TernarySpike node while torch.onnx.export traces."""

    @staticmethod
    def forward(ctx, x, amplitude, threshold, decay, mode):
        # Only the shape and type matter while tracing: the spike map of the
        # first timestep (u = x), without the amplitude.
        return spike_fn(x, threshold, mode)

    @staticmethod
    def symbolic(g, x, amplitude, threshold, decay, mode):
        y = g.op("tspike::TernarySpike", x, amplitude,
                 threshold_f=float(threshold), decay_f=float(decay),
                 mode_s=mode)
        y.setType(x.type())
        return y


def _broadcast(amplitude, x):
    """Amplitude of shape [1] or [C] viewed to broadcast along axis 1 of x."""
    if amplitude.numel() == 1:
        return amplitude
    return amplitude.view((1, -1) + (1,) * (x.dim() - 2))


class TernarySpike(nn.Module):
    """Ternary (or binary) spiking neuron with a trainable amplitude.

    Args:
        threshold: firing threshold theta (> 0).
        decay: membrane decay tau in [0, 1].
        mode: "ternary" or "binary".
        channels: None for one amplitude per layer (shape [1]); an int C for
            one amplitude per channel (shape [C], applied along axis 1).
        amplitude_init: initial amplitude.
        trainable_amplitude: make the amplitude an nn.Parameter that trains.
    """

    def __init__(self, threshold=0.5, decay=0.25, mode="ternary",
                 channels=None, amplitude_init=1.0, trainable_amplitude=True):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not (threshold > 0 and math.isfinite(threshold)):
            raise ValueError("threshold must be > 0 and finite")
        if not 0.0 <= decay <= 1.0:
            raise ValueError("decay must be in [0, 1]")
        self.threshold = float(threshold)
        self.decay = float(decay)
        self.mode = mode
        amp = torch.full((1 if channels is None else int(channels),),
                         float(amplitude_init))
        if trainable_amplitude:
            self.amplitude = nn.Parameter(amp)
        else:
            self.register_buffer("amplitude", amp)
        self.mem = None
        self.exporting = False      # set by export_tspike
        # Optional spike statistics (for firing rates); off by default.
        self.count_spikes = False
        self.spike_count = 0
        self.element_count = 0

    def reset(self):
        """Zero the membrane (call before every new input sequence)."""
        self.mem = None

    def reset_stats(self):
        self.spike_count = 0
        self.element_count = 0

    def forward(self, x):
        if self.exporting:
            return _ExportSpike.apply(x, self.amplitude, self.threshold,
                                      self.decay, self.mode)
        u = x if self.mem is None else self.mem * self.decay + x
        s = spike_fn(u, self.threshold, self.mode)
        self.mem = u * (1.0 - s.abs())
        if self.count_spikes:
            self.spike_count += int(torch.count_nonzero(s.detach()))
            self.element_count += s.numel()
        return s * _broadcast(self.amplitude, x)

    def extra_repr(self):
        return (f"threshold={self.threshold}, decay={self.decay}, "
                f"mode={self.mode!r}, amplitude_shape={tuple(self.amplitude.shape)}")


def reset_net(model):
    """Reset every TernarySpike in ``model``."""
    for m in model.modules():
        if isinstance(m, TernarySpike):
            m.reset()


def spike_layers(model):
    """The TernarySpike modules of ``model`` in definition order, with names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, TernarySpike)]
