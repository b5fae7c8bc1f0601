# SPDX-License-Identifier: Apache-2.0
"""Classify data sets across a Dask cluster (Debian: python3-distributed).

    import dask.array as da, tspike, tspike.dask
    images, labels = tspike.load_idx_dir(tspike.FASHION_MNIST_DIR)
    x = da.from_array(images, chunks=(2560, 28, 28))
    result = tspike.dask.classify(x, "models/fashion_tsnet.onnx")
    predictions = result.predictions.compute()     # int64 [N]

Each worker process loads the Model once (the first task that needs it
loads it, later tasks reuse it), and each worker thread runs its own
Session; a task runs its block in batches of `batch` samples. The model is
a path that every worker can read (shared storage), or the file's bytes,
which Dask ships to each worker once.
"""

import hashlib
import os
import threading
from typing import Any, NamedTuple, Optional

import numpy as np

import tspike

__all__ = ["classify", "Classification", "loaded_models"]


class Classification(NamedTuple):
    """What classify() returns: Dask collections, nothing computed yet.

    predictions: the argmax of the first output per sample (ties: the first
        index, as torch.argmax and tseval), int64; a Dask array [N] for an
        array input, a Dask bag of ints for a bag of paths.
    outputs: with outputs=True, the readout of every sample (as Session.run
        returns it: one array, or a dict by output name when the model has
        several); a Dask array [N, ...] (or a dict of them), or a bag of
        per-sample arrays (or dicts). None otherwise.
    firing_rates: with firing_rates=True, a dask.delayed dict {spike node:
        firing rate over the whole data set}, as tseval prints it. None
        otherwise.
    """

    predictions: Any
    outputs: Any = None
    firing_rates: Any = None


# The Models this process has loaded, by key (path or hash of the bytes, and
# load options), and how many times each was loaded (1: once per process).
_models = {}
_load_counts = {}
_models_lock = threading.Lock()
# One Session per worker thread, per model key and session options.
_thread = threading.local()


def loaded_models():
    """{model key: times loaded} in this process. On a worker:
    client.run(tspike.dask.loaded_models)."""
    with _models_lock:
        return dict(_load_counts)


def _model(source, key, load_options):
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = tspike.Model.load(source, **dict(load_options))
            _models[key] = model
            _load_counts[key] = _load_counts.get(key, 0) + 1
        return model


def _session(source, key, load_options, session_options):
    sessions = getattr(_thread, "sessions", None)
    if sessions is None:
        sessions = _thread.sessions = {}
    skey = (key, session_options)
    session = sessions.get(skey)
    if session is None:
        session = tspike.Session(_model(source, key, load_options), **dict(session_options))
        sessions[skey] = session
    return session


def _run_batches(session, batches):
    """Runs each input of `batches`; returns the predictions, the outputs
    (lists of arrays by output name) and the firing-rate sums."""
    predictions, outputs, rate_sums, samples = [], {}, None, 0
    for x in batches:
        y = session.run(x, as_dict=True)
        first = next(iter(y.values()))
        n = first.shape[0]
        predictions.append(np.argmax(first.reshape(n, -1), axis=1).astype(np.int64))
        for name, value in y.items():
            outputs.setdefault(name, []).append(value)
        stats = session.stats
        # Batches have the same elements per sample and the same T, so
        # sum(rate * n) / sum(n) is total spikes / total elements (tseval).
        rates = np.array(list(stats["firing_rates"].values())) * n
        rate_sums = rates if rate_sums is None else rate_sums + rates
        samples += n
    names = list(session.stats["firing_rates"].keys())
    return predictions, outputs, (names, rate_sums, samples)


def _block(block, source, key, load_options, session_options, batch):
    """One block of a Dask array: uint8 [n, H, W] images or model input [n, ...]."""
    session = _session(source, key, load_options, session_options)
    images = block.dtype == np.uint8 and block.ndim == 3

    def batches():
        for first in range(0, block.shape[0], batch):
            x = block[first:first + batch]
            yield tspike.images_to_input(x, session.model) if images else x

    predictions, outputs, rates = _run_batches(session, batches())
    return (np.concatenate(predictions) if predictions else np.zeros(0, np.int64),
            {name: np.concatenate(parts) for name, parts in outputs.items()}, rates)


def _paths(paths, source, key, load_options, session_options, batch):
    """One partition of a bag of image paths (or image bytes)."""
    session = _session(source, key, load_options, session_options)
    paths = list(paths)

    def batches():
        for first in range(0, len(paths), batch):
            yield np.concatenate([tspike.load_image(p, session.model) for p in paths[first:first + batch]])

    predictions, outputs, rates = _run_batches(session, batches())
    per_sample = [dict(zip(outputs, rows)) for rows in zip(*(np.concatenate(v) for v in outputs.values()))]
    return ([int(p) for part in predictions for p in part], per_sample, rates)


def _combine_rates(parts):
    names, total, samples = None, None, 0
    for part_names, sums, n in parts:
        if n == 0:
            continue
        names = part_names
        total = sums if total is None else total + sums
        samples += n
    return {} if names is None else {name: float(s / samples) for name, s in zip(names, total)}


def _output_shapes(source, key, load_options, session_options, sample):
    """The output shapes for one sample (run on the cluster: the client
    may not be able to read the model's path)."""
    session = _session(source, key, load_options, session_options)
    x = tspike.images_to_input(sample, session.model) if sample.dtype == np.uint8 and sample.ndim == 3 else sample
    return {name: value.shape[1:] for name, value in session.run(x, as_dict=True).items()}


def _single(d):
    return next(iter(d.values())) if len(d) == 1 else d


def classify(data, model, *, batch: int = 256, timesteps: Optional[int] = None, threads: int = 1,
             outputs: bool = False, firing_rates: bool = False, **load_options) -> Classification:
    """Classify a Dask array or a Dask bag of image paths with a tspike model.

    data: a dask.array.Array, split only along axis 0, of either gray uint8
        images [N, H, W] (preprocessed on the workers as tspike.images_to_input
        and tseval do) or the model's input [N, ...] (any real dtype,
        converted as Session.run does); or a dask.bag.Bag of image paths
        (or image bytes), each read with tspike.load_image.
    model: a path every worker can read, or the model file's bytes (shipped
        to each worker once).
    batch: samples per Session.run within a block.
    timesteps, threads: the Session's options (threads: per worker thread).
    outputs, firing_rates: also return the outputs and the firing rates.
    load_options: Model.load's keyword options (engine, isa, ...).

    Returns a Classification of lazy Dask collections. Each worker process
    loads the model once; each worker thread has its own Session.
    """
    import dask
    import dask.array as da
    import dask.bag as db

    if batch < 1:
        raise tspike.BadInputError(f"batch {batch} must be at least 1")
    if isinstance(model, (bytes, bytearray, memoryview)):
        contents = bytes(model)
        key = "sha256:" + hashlib.sha256(contents).hexdigest()
        source = dask.delayed(contents, name="tspike-model-" + key[7:], pure=True)
    else:
        source = key = os.fspath(model)
    load_key = tuple(sorted(load_options.items()))
    session_options = (("threads", threads), ("timesteps", timesteps))
    args = (source, (key, load_key), load_key, session_options, batch)

    if isinstance(data, db.Bag):
        parts = [dask.delayed(_paths, pure=False)(p, *args) for p in data.to_delayed()]
        predictions = db.from_delayed([p[0] for p in parts])
        outs = db.from_delayed([p[1] for p in parts]).map(_single) if outputs else None
    elif isinstance(data, da.Array):
        if data.ndim < 1:
            raise tspike.BadInputError("classify: the array needs a sample axis (axis 0)")
        data = data.rechunk({axis: -1 for axis in range(1, data.ndim)})
        blocks = data.to_delayed().ravel()
        sizes = data.chunks[0]
        # pure=False: a new call classifies again (no result cached from an
        # earlier call with the same arguments).
        parts = [dask.delayed(_block, pure=False)(b, *args) for b in blocks]
        predictions = da.concatenate([da.from_delayed(p[0], shape=(n,), dtype=np.int64)
                                      for p, n in zip(parts, sizes)])
        outs = None
        if outputs:
            shapes = dask.delayed(_output_shapes, pure=True)(source, (key, load_key), load_key,
                                                             session_options, data[:1]).compute()
            outs = _single({name: da.concatenate([da.from_delayed(p[1][name], shape=(n, *shape), dtype=np.float32)
                                                  for p, n in zip(parts, sizes)])
                            for name, shape in shapes.items()})
    else:
        raise TypeError(f"classify: expected a dask.array.Array or a dask.bag.Bag, got {type(data).__name__}")
    rates = dask.delayed(_combine_rates, pure=False)([p[2] for p in parts]) if firing_rates else None
    return Classification(predictions, outs, rates)
