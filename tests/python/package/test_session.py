# SPDX-License-Identifier: Apache-2.0
"""tspike.Session: run, step, reset, readout, stats, profile, observe, and
the input rules (zero copy, conversions, refusals, wrong shapes)."""

import numpy as np
import pytest

import tspike
from conftest import BOOT, DATA, DEMO, SEQUENCE, TWO_OUTPUTS


@pytest.fixture(scope="module")
def boot(demo):
    return tspike.load_image(BOOT, demo)


def test_run_returns_the_single_output_as_an_array(demo, boot):
    y = tspike.Session(demo).run(boot)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (1, 10)
    assert demo.labels[int(np.argmax(y))] == "Ankle boot"
    d = tspike.Session(demo).run(boot, as_dict=True)
    assert list(d) == [demo.info["outputs"][0]["name"]]
    np.testing.assert_array_equal(d[demo.info["outputs"][0]["name"]], y)


def test_run_returns_a_dict_by_name_for_several_outputs():
    model = tspike.Model.load(TWO_OUTPUTS)
    x = np.load(f"{DATA}/shared_weights.input1.npy")
    y = tspike.Session(model).run(x)
    assert isinstance(y, dict) and list(y) == [o["name"] for o in model.info["outputs"]] == ["fc", "spike0"]
    np.testing.assert_allclose(y["fc"], np.load(f"{DATA}/shared_weights.output1.npy"), rtol=0, atol=1e-5)
    assert y["spike0"].shape[0] == x.shape[0]


def test_outputs_are_new_arrays_not_views_of_session_memory(demo, boot):
    s = tspike.Session(demo)
    first = s.run(boot)
    kept = first.copy()
    s.run(np.zeros_like(boot))
    np.testing.assert_array_equal(first, kept)


def test_step_reset_readout_equal_run(demo, boot):
    s = tspike.Session(demo)
    ran = s.run(boot)
    s.reset()
    steps = [s.step(boot) for _ in range(s.timesteps)]
    assert all(st.shape == (1, 10) for st in steps)
    np.testing.assert_allclose(s.readout(), ran, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.mean(steps, axis=0), ran, rtol=0, atol=1e-5)
    assert s.stats["timesteps"] == s.timesteps
    s.reset()
    with pytest.raises(tspike.BadInputError, match="no timestep has run"):
        s.readout()


def test_timesteps_option(demo, boot):
    assert tspike.Session(demo).timesteps == 4
    s = tspike.Session(demo, timesteps=8)
    assert s.timesteps == 8
    s.run(boot)
    assert s.stats["timesteps"] == 8
    with pytest.raises(tspike.BadInputError, match="at least 1"):
        tspike.Session(demo, timesteps=0)
    with pytest.raises(tspike.BadInputError, match="threads"):
        tspike.Session(demo, threads=0)


def test_session_from_a_path_and_with_threads_and_layer_major(demo, boot):
    base = tspike.Session(DEMO).run(boot)
    np.testing.assert_array_equal(tspike.Session(demo, threads=2).run(boot), base)
    lm = tspike.Session(demo, layer_major=True)
    np.testing.assert_array_equal(lm.run(boot), base)
    assert lm.stats["layer_major"] is True


def test_stats_are_plain_python(demo, boot):
    s = tspike.Session(demo)
    s.run(np.repeat(boot, 3, axis=0))
    st = s.stats
    assert st["batch"] == 3 and st["timesteps"] == 4 and st["time_ms"] > 0
    assert list(st["firing_rates"]) == demo.info["spike_nodes"]
    assert all(0 <= r <= 1 for r in st["firing_rates"].values())
    assert list(st["spike_counts"]) == demo.info["spike_nodes"]
    assert all(isinstance(c, int) for c in st["spike_counts"].values())
    assert 0 < st["mean_firing_rate"] < 1


def test_profile(demo, boot):
    s = tspike.Session(demo, profile=True)
    with pytest.raises(tspike.BadInputError, match="nothing has run"):
        s.profile()
    s.run(boot)
    p = s.profile()
    assert p["timesteps"] == 4 and p["batch"] == 1
    names = [n["name"] for n in p["nodes"]]
    assert set(demo.info["spike_nodes"]) <= set(names)
    spikes = [n for n in p["nodes"] if n["op"] == "TernarySpike"]
    assert all(len(n["density"]) == 4 for n in spikes)
    assert sum(n["spikes"] for n in spikes) == sum(s.stats["spike_counts"].values())
    layers = [n for n in p["nodes"] if "synapses" in n]
    assert {n["synapses"] for n in layers} <= {"AC", "MAC"}
    assert p["ac"] == sum(n["ac"] for n in layers) and p["mac"] == sum(n["mac"] for n in layers) > 0
    assert p["energy_pj"] == pytest.approx(p["ac"] * p["pj_per_ac"] + p["mac"] * p["pj_per_mac"])
    assert p["energy_ratio"] == pytest.approx(p["dense_energy_pj"] / p["energy_pj"])
    # The profile follows the run's order: layer by layer when asked for.
    assert p["layer_major"] is False
    by_layer = tspike.Session(demo, profile=True, layer_major=True)
    by_layer.run(boot)
    q = by_layer.profile()
    assert q["layer_major"] is True and by_layer.stats["layer_major"] is True
    assert q["ac"] == p["ac"] and q["mac"] == p["mac"]
    assert [n.get("density") for n in q["nodes"]] == [n.get("density") for n in p["nodes"]]
    with pytest.raises(tspike.BadInputError, match="without SessionOptions::profile"):
        tspike.Session(demo).profile()


def test_observe_gives_every_spike_map_at_every_timestep(demo, boot):
    s = tspike.Session(demo)
    seen = []
    s.observe(seen.append)
    s.run(boot)
    nodes = demo.info["spike_nodes"]
    assert [(o.timestep, o.node) for o in seen] == [(t, n) for t in range(4) for n in nodes]
    for o in seen:
        assert o.op_type == "TernarySpike" and o.data.dtype == np.float32 and o.data.shape[0] == 1
        assert set(np.unique(o.data)) <= {-1.0, 0.0, 1.0}
    # The maps add up to the spike counts of the run.
    counts = s.stats["spike_counts"]
    for n in nodes:
        assert sum(int(np.count_nonzero(o.data)) for o in seen if o.node == n) == counts[n]
    # Chosen nodes; then off.
    first_layer = demo.info["layers"][0]["node"]
    chosen = []
    s.observe(chosen.append, nodes=[first_layer])
    s.run(boot)
    assert {o.node for o in chosen} == {first_layer} and chosen[0].op_type == demo.info["layers"][0]["op"]
    s.observe(None)
    before = len(chosen)
    s.run(boot)
    assert len(chosen) == before
    with pytest.raises(tspike.BadInputError, match="no_such_node"):
        s.observe(print, nodes=["no_such_node"])
    with pytest.raises(TypeError):
        s.observe(42)


def test_an_exception_in_the_observer_propagates_and_the_session_recovers(demo, boot):
    s = tspike.Session(demo)

    def fail(o):
        raise KeyError("from the observer")

    s.observe(fail)
    with pytest.raises(KeyError, match="from the observer"):
        s.run(boot)
    s.observe(None)
    np.testing.assert_array_equal(s.run(boot), tspike.Session(demo).run(boot))


def test_the_observer_may_not_reenter_its_session(demo, boot):
    s = tspike.Session(demo)
    s.observe(lambda o: s.run(boot))
    with pytest.raises(tspike.BadInputError, match="busy"):
        s.run(boot)


# ---- inputs -----------------------------------------------------------------

def test_float32_c_contiguous_input_is_read_in_place_without_a_copy():
    """Sequence encoding copies frame t of the caller's array into the network
    when timestep t starts. An observer that writes into the caller's array
    after timestep 0 changes what the later timesteps read: the run reads
    the caller's memory itself. A float64 array (converted to a float32
    copy first) is immune to the same write."""
    model = tspike.Model.load(SEQUENCE)
    x = np.load(f"{DATA}/binary_sequence.input1.npy")
    assert x.dtype == np.float32 and x.flags.c_contiguous
    plain = tspike.Session(model).run(x)

    def run_writing_into(source):
        s = tspike.Session(model)

        def overwrite(o):
            if o.timestep == 0:
                source[1:] = 3.0  # frames 1..T-1 of the caller's array
        s.observe(overwrite)
        return s.run(source)

    changed_later = x.copy()
    changed_later[1:] = 3.0
    expected_if_read_in_place = tspike.Session(model).run(changed_later)
    assert not np.array_equal(expected_if_read_in_place, plain)

    in_place = run_writing_into(x.copy())
    np.testing.assert_array_equal(in_place, expected_if_read_in_place)
    copied = run_writing_into(x.astype(np.float64))
    np.testing.assert_array_equal(copied, plain)


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(np.float64),
    lambda x: x.astype(np.float16),
    lambda x: np.asfortranarray(x),
    lambda x: np.repeat(x, 2, axis=-1)[..., ::2],  # strided view
    lambda x: x.astype(">f4"),                      # big-endian
    lambda x: x.tolist(),
], ids=["float64", "float16", "fortran", "strided", "big-endian", "list"])
def test_other_layouts_and_dtypes_are_converted_to_float32(demo, boot, convert):
    """The rule: numpy.asarray(x, dtype=float32), C order; then as float32."""
    x = convert(np.repeat(boot, 2, axis=0))
    expected = tspike.Session(demo).run(np.ascontiguousarray(np.asarray(x, dtype=np.float32)))
    np.testing.assert_array_equal(tspike.Session(demo).run(x), expected)
    if isinstance(x, np.ndarray) and x.dtype != np.float16:
        np.testing.assert_array_equal(expected, tspike.Session(demo).run(np.repeat(boot, 2, axis=0)))


def test_integer_and_bool_inputs_are_converted():
    model = tspike.Model.load(SEQUENCE)
    x = np.load(f"{DATA}/binary_sequence.input1.npy")
    binary = (x > 0)
    expected = tspike.Session(model).run(binary.astype(np.float32))
    np.testing.assert_array_equal(tspike.Session(model).run(binary), expected)
    np.testing.assert_array_equal(tspike.Session(model).run(binary.astype(np.int64)), expected)
    np.testing.assert_array_equal(tspike.Session(model).run(binary.astype(np.uint8)), expected)


@pytest.mark.parametrize("bad, dtype", [
    (lambda x: x.astype(np.complex64), "complex64"),
    (lambda x: x.astype(object), "object"),
    (lambda x: x.astype(str), "<U"),
], ids=["complex", "object", "str"])
def test_non_numeric_dtypes_are_refused_naming_the_dtype(demo, boot, bad, dtype):
    with pytest.raises(tspike.BadInputError, match=f"dtype {dtype}.*expected float32"):
        tspike.Session(demo).run(bad(boot))


def test_a_non_array_is_refused():
    with pytest.raises(tspike.BadInputError, match="input"):
        tspike.Session(DEMO).run({"not": "an array"})


def test_a_wrong_shape_names_the_expected_one(demo):
    s = tspike.Session(demo)
    with pytest.raises(tspike.BadInputError) as e:
        s.run(np.zeros((1, 3, 28, 28), np.float32))
    msg = str(e.value)
    assert "[1,3,28,28]" in msg and "[-1,1,28,28]" in msg and "expected [N, ...]" in msg
    assert isinstance(e.value, ValueError) and e.value.code == tspike.ErrorCode.BAD_INPUT
    with pytest.raises(tspike.BadInputError, match="batch size of 0"):
        s.run(np.zeros((0, 1, 28, 28), np.float32))
    with pytest.raises(tspike.BadInputError, match=r"\[-1,1,28,28\]"):
        s.step(np.zeros((28, 28), np.float32))
    # The Session still works.
    assert s.run(np.zeros((1, 28, 28), np.float32)).shape == (1, 10)  # one sample without N


def test_a_sequence_input_must_have_its_time_axis():
    s = tspike.Session(SEQUENCE, timesteps=3)
    x = np.load(f"{DATA}/binary_sequence.input1.npy")
    with pytest.raises(tspike.BadInputError, match="timesteps"):
        s.run(x[:2])


def test_torch_tensors_are_accepted():
    import torch
    model = tspike.Model.load(DEMO)
    x = tspike.load_image(BOOT, model)
    np.testing.assert_array_equal(tspike.Session(model).run(torch.from_numpy(x)), tspike.Session(model).run(x))


def test_a_broadcast_view_beyond_the_limits_is_refused_before_it_is_converted():
    """np.broadcast_to makes a view of any size over a few bytes; converting
    it would allocate all of it. The element limit is checked first."""
    model = tspike.Model.load(f"{DATA}/residual_block.onnx", limits=tspike.Limits(max_tensor_elements=700))
    small = np.load(f"{DATA}/residual_block.input0.npy")
    s = tspike.Session(model)
    s.run(small)
    huge = np.broadcast_to(small[:1], (1 << 40, *small.shape[1:]))  # 2^46 elements, 256 bytes of memory
    with pytest.raises(tspike.ResourceLimitError, match="more than 700 elements"):
        s.run(huge)
    with pytest.raises(tspike.ResourceLimitError, match="more than 700 elements"):
        s.run(np.zeros((100, *small.shape[1:]), np.float32))  # in place: the runtime's own check
    with pytest.raises(tspike.ResourceLimitError):
        tspike.images_to_input(np.broadcast_to(np.zeros((28, 28), np.uint8), (1 << 40, 28, 28)),
                               tspike.Model.load(DEMO))
