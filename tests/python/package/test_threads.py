# SPDX-License-Identifier: Apache-2.0
"""Threads: one Model shared by Sessions on several Python threads (the GIL
is released inside run(), so they run at once), and a Session used by two
threads at once refused, not crashed. The speed-up is measured by
python/bench/bench_threads.py, not here."""

import threading

import numpy as np
import pytest

import tspike
from conftest import BOOT, DEMO


def test_sessions_on_threads_sharing_one_model_give_the_serial_outputs():
    model = tspike.Model.load(DEMO)
    rng = np.random.default_rng(7)
    base = tspike.load_image(BOOT, model)
    inputs = [np.clip(base + rng.normal(0, 0.5, base.shape).astype(np.float32), -1, 3) for _ in range(8)]
    serial = [tspike.Session(model).run(x) for x in inputs]
    results = {}
    errors = []

    def work(k):
        try:
            s = tspike.Session(model)
            for rounds in range(5):
                for i, x in enumerate(inputs):
                    y = s.run(x)
                    if rounds == 4:
                        results[(k, i)] = y
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (k, i), y in results.items():
        np.testing.assert_array_equal(y, serial[i])


def test_one_session_entered_by_a_second_thread_is_refused():
    model = tspike.Model.load(DEMO)
    x = tspike.load_image(BOOT, model)
    s = tspike.Session(model)
    inside, release = threading.Event(), threading.Event()

    def hold(o):
        # The first thread is inside run(), its observer waiting (the wait
        # releases the GIL).
        inside.set()
        release.wait(30)

    s.observe(hold)
    outcome = {}

    def first():
        try:
            outcome["first"] = s.run(x)
        except Exception as e:
            outcome["first"] = e

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(30)
    try:
        for call in (lambda: s.run(x), lambda: s.step(x), s.reset, lambda: s.stats, lambda: s.observe(None)):
            with pytest.raises(tspike.BadInputError, match="busy"):
                call()
    finally:
        release.set()
        t.join()
    assert isinstance(outcome["first"], np.ndarray)
    s.observe(None)
    np.testing.assert_array_equal(s.run(x), outcome["first"])


def test_sessions_with_worker_threads_on_python_threads():
    model = tspike.Model.load(DEMO)
    x = np.repeat(tspike.load_image(BOOT, model), 4, axis=0)
    expected = tspike.Session(model).run(x)
    out = [None, None]

    def work(k):
        out[k] = tspike.Session(model, threads=2).run(x)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for y in out:
        np.testing.assert_array_equal(y, expected)
