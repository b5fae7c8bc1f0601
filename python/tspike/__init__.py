# SPDX-License-Identifier: Apache-2.0
"""tspike: ternary-spike neural networks in Python.

The runtime (C++, through the compiled module tspike._tspike):

    import tspike
    model = tspike.Model.load("models/fashion_tsnet.onnx")   # immutable, share it
    session = tspike.Session(model)                          # one per thread
    x = tspike.load_image("models/samples/fashion_0_ankle_boot.png", model)
    y = session.run(x)                                       # NumPy [1, 10]
    print(model.labels[y.argmax()])

Training side: `tspike.torch` (TernarySpike for PyTorch, the exporter),
`tspike.from_torch(module, example)` for a ready Model. Data sets on a Dask
cluster: `tspike.dask.classify`. Errors: `tspike.Error` and its subclasses,
one per `tspike.ErrorCode`. Guide: docs/python.md.
"""

from typing import Any, Mapping, Optional

from ._errors import (BadInputError, Error, ErrorCode, FileIOError, InvalidModelError, ParseError,
                      ResourceLimitError, ShapeMismatchError, UnsupportedOpError)

_RUNTIME = ("Model", "Session", "Limits", "NodeOutput", "load_image", "load_npy", "load_idx",
            "load_idx_dir", "images_to_input", "convert", "set_log_level", "FASHION_MNIST_DIR",
            "__version__", "from_torch")

try:
    from ._tspike import (FASHION_MNIST_DIR, Limits, Model, NodeOutput, Session, __version__, convert,
                          images_to_input, load_idx, load_idx_dir, load_image, load_npy, set_log_level)
except ModuleNotFoundError as _e:
    # A source checkout's python/ folder without the build: tspike.torch
    # works (it needs only PyTorch); the runtime needs the compiled module.
    if _e.name != __name__ + "._tspike":
        raise
    _missing_runtime = _e

    def __getattr__(name):
        if name in _RUNTIME:
            raise ImportError(
                f"tspike.{name} needs the compiled module tspike._tspike, which is not next to "
                f"{__file__}: build tspike with CMake (it builds the module when pybind11-dev and "
                "python3-dev are installed) and put build/python on PYTHONPATH, or install it with "
                "cmake --install") from _missing_runtime
        raise AttributeError(f"module 'tspike' has no attribute '{name}'")
else:
    def from_torch(module: Any, example: Any, timesteps: int = 4, *,
                   load_options: Optional[Mapping[str, Any]] = None, **export_options: Any) -> Model:
        """Export a PyTorch network with TernarySpike neurons and load it: a ready
        tspike.Model, no file written.

        module: the network, one timestep per forward (tspike.torch).
        example: one timestep's input, e.g. torch.zeros(1, 1, 28, 28).
        timesteps: T stored in the model (Session's default).
        load_options: Model.load's keyword options, as a dict.
        export_options: tspike.torch.export's (labels, image_scale,
            image_mean, image_std, encoding, readout, fold_batchnorm, ...).
        """
        import io

        from .torch import export_tspike
        buf = io.BytesIO()
        export_tspike(module, example, buf, timesteps=timesteps, **export_options)
        return Model.load(buf.getvalue(), name=f"from_torch({type(module).__name__})", **(load_options or {}))

__all__ = ["Error", "ErrorCode", "ParseError", "InvalidModelError", "UnsupportedOpError", "ShapeMismatchError",
           "ResourceLimitError", "BadInputError", "FileIOError", *_RUNTIME]
