# SPDX-License-Identifier: Apache-2.0
"""tspike.dask.classify on a LocalCluster of 2 worker processes: the
Fashion-MNIST test set gets exactly tseval's predictions; each worker
process loads the model once; outputs, firing rates, bags of image paths
and a model shipped as bytes. Throughput is measured by
python/bench/bench_dask.py, not here."""

import glob
import json
import os
import subprocess
import time

import dask.array as da
import dask.bag as db
import numpy as np
import pytest
from distributed import Client, LocalCluster

import tspike
import tspike.dask
from conftest import DEMO, MODELS, run_tool


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def fashion():
    return tspike.load_idx_dir(tspike.FASHION_MNIST_DIR)


def test_predictions_on_the_test_set_equal_tsevals(client, fashion, tmp_path):
    images, labels = fashion
    # Blocks of 4 x 256 images: the batches are tseval's (--batch 256).
    x = da.from_array(images, chunks=(1024, 28, 28))
    result = tspike.dask.classify(x, DEMO, batch=256)
    assert isinstance(result.predictions, da.Array) and result.outputs is None and result.firing_rates is None
    predictions = result.predictions.compute()
    run_tool("tseval", DEMO, "--batch", 256, "--predictions", tmp_path / "p.npy", "--quiet")
    expected = np.load(tmp_path / "p.npy")
    assert predictions.shape == (10000,) and predictions.dtype == np.int64
    np.testing.assert_array_equal(predictions, expected.astype(np.int64))
    assert (predictions == labels).mean() > 0.8

    # Every worker process loaded the model exactly once for its 5 or so blocks.
    loads = client.run(tspike.dask.loaded_models)
    assert len(loads) == 2
    for worker, models in loads.items():
        assert list(models.values()) == [1], (worker, models)


def test_outputs_and_firing_rates(client, fashion, tmp_path):
    images, _ = fashion
    n = 600
    x = da.from_array(images[:n], chunks=(256, 28, 28))
    result = tspike.dask.classify(x, DEMO, outputs=True, firing_rates=True)
    outputs, rates, predictions = client.compute([result.outputs, result.firing_rates, result.predictions], sync=True)
    model = tspike.Model.load(DEMO)
    session = tspike.Session(model)
    expected = np.concatenate([session.run(tspike.images_to_input(images[i:min(i + 256, n)], model))
                               for i in range(0, n, 256)])
    assert outputs.shape == (n, 10) and outputs.dtype == np.float32
    np.testing.assert_array_equal(outputs, expected)
    np.testing.assert_array_equal(predictions, expected.argmax(axis=1))
    j = json.loads(run_tool("tseval", DEMO, "--limit", n, "--batch", 256, "--json"))
    assert list(rates) == list(j["firing_rates"])
    assert rates == pytest.approx(j["firing_rates"], rel=1e-9)


def test_float_input_arrays_are_model_inputs(client, fashion):
    images, _ = fashion
    model = tspike.Model.load(DEMO)
    x = tspike.images_to_input(images[:300], model)
    result = tspike.dask.classify(da.from_array(x, chunks=(100, 1, 28, 28)), DEMO, batch=50)
    expected = np.concatenate([tspike.Session(model).run(x[i:i + 50]) for i in range(0, 300, 50)]).argmax(axis=1)
    np.testing.assert_array_equal(result.predictions.compute(), expected)


def test_a_bag_of_image_paths_and_a_model_shipped_as_bytes(client):
    paths = sorted(glob.glob(os.path.join(MODELS, "samples", "*.png"))) * 3
    with open(DEMO, "rb") as f:
        contents = f.read()
    result = tspike.dask.classify(db.from_sequence(paths, npartitions=2), contents, batch=4, outputs=True,
                                  firing_rates=True)
    assert isinstance(result.predictions, db.Bag)
    predictions, outputs, rates = client.compute([result.predictions, result.outputs, result.firing_rates],
                                                 sync=True)
    model = tspike.Model.load(DEMO)
    session = tspike.Session(model)
    expected = [session.run(tspike.load_image(p, model)) for p in paths]
    assert predictions == [int(y.argmax()) for y in expected]
    assert len(outputs) == len(paths)
    for got, want in zip(outputs, expected):
        np.testing.assert_array_equal(got, want[0])
    assert set(rates) == set(model.info["spike_nodes"])
    loads = client.run(tspike.dask.loaded_models)
    assert any(k[0].startswith("sha256:") for models in loads.values() for k in models)


def test_errors_reach_the_client_as_tspike_errors(client, fashion):
    images, _ = fashion
    x = da.from_array(images[:10], chunks=(5, 28, 28))
    with pytest.raises(tspike.FileIOError, match="no_such_model.onnx"):
        tspike.dask.classify(x, "/nonexistent/no_such_model.onnx").predictions.compute()
    with pytest.raises(tspike.BadInputError, match="batch"):
        tspike.dask.classify(x, DEMO, batch=0)
    with pytest.raises(TypeError, match="dask.array.Array or a dask.bag.Bag"):
        tspike.dask.classify(images, DEMO)


def test_an_existing_cluster_started_with_the_dask_commands(fashion, tmp_path):
    """What docs/python.md says for a cluster of machines, on this one:
    `dask scheduler` and `dask worker` as separate processes, the model
    shipped as bytes."""
    images, _ = fashion
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tspike.__file__))))
    common = ["--scheduler-file", str(scheduler_file)]
    procs = [subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", *common],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        for _ in range(600):
            if scheduler_file.exists():
                break
            time.sleep(0.1)
        procs.append(subprocess.Popen(["dask", "worker", "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                       *common], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      cwd=tmp_path))
        with Client(scheduler_file=str(scheduler_file)) as c:
            c.wait_for_workers(2, timeout=120)
            with open(DEMO, "rb") as f:
                contents = f.read()
            x = da.from_array(images[:2048], chunks=(512, 28, 28))
            predictions = c.compute(tspike.dask.classify(x, contents).predictions, sync=True)
            model = tspike.Model.load(DEMO)
            expected = np.concatenate([tspike.Session(model).run(tspike.images_to_input(images[i:i + 256], model))
                                       for i in range(0, 2048, 256)]).argmax(axis=1)
            np.testing.assert_array_equal(predictions, expected)
            assert len(c.run(tspike.dask.loaded_models)) == 2
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
