"""The TCN conditioned on knob values by FiLM: the graph, the numba kernel and the Keras engine
against the Keras model with knob values per sample, a knob moved mid-stream against Keras fed the
same smoothed trajectory, the unconditioned TCN unchanged, a saved model reloading, and the errors.

The toy network has two stacks and odd channel counts (ring-buffer and layout bugs show) and its
weights perturbed (a freshly built one starts with zero FiLM adapters: the knobs would do nothing).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from knob_support import keras_with_knobs, stream_with_moves
from weights_support import perturb_weights

from fxlab import runtime
from fxlab.effects import get_effect
from fxlab.errors import EngineUnavailableError, ParameterError, UnknownNameError
from fxlab.models import build_model, config_of, model_config
from fxlab.models.tcn import FILM_HIDDEN, tcn_spec
from fxlab.runtime.tcn_kernel import TcnKernel

SR = 44100
TOY = {"channels": 5, "layers": 3, "stacks": 2}  # receptive field 29
DRIVE_KNOBS = get_effect("drive").knobs[:2]  # gain_db, tone


@pytest.fixture(scope="module")
def cond():
    return perturb_weights(build_model("tcn", seed=1, knobs=2, **TOY), seed=2, scale=0.3)


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(3)
    return (0.5 * rng.standard_normal(300)).astype(np.float32)


_keras = keras_with_knobs


def test_the_conditioned_graph(cond, signal):
    assert tuple(cond.inputs[0].shape) == (None, None, 3) and cond.inputs[0].name == "audio_knobs"
    cfg = config_of(cond)
    assert cfg == model_config("tcn", knobs=2, **TOY) and cfg["knobs"] == 2
    assert cfg["receptive_field"] == model_config("tcn", **TOY)["receptive_field"] == 29
    spec = tcn_spec(cond, film=True)
    n, c = 6, 5
    assert spec.knobs == 2 and spec.n_layers == n
    assert spec.film.wa.shape == (FILM_HIDDEN[1], n * 4 * c)
    # the parameters the module docstring states: 16 K + 560 + 4 L (32 C + C)
    big = build_model("tcn", seed=0, channels=16, layers=10, knobs=1)
    plain = build_model("tcn", seed=0, channels=16, layers=10)
    assert big.count_params() - plain.count_params() == 16 + 560 + 4 * 10 * 33 * 16 == 21696
    # with the head zeroed the output is the audio channel alone
    head = cond.get_layer("head")
    saved = head.get_weights()
    head.set_weights([np.zeros_like(w) for w in saved])
    try:
        np.testing.assert_allclose(_keras(cond, signal, np.full((signal.size, 2), 0.7)), signal,
                                   atol=1e-7)
    finally:
        head.set_weights(saved)


def test_film_modulates_and_starts_as_the_identity(cond, signal):
    lo = _keras(cond, signal, np.zeros((signal.size, 2)))
    hi = _keras(cond, signal, np.ones((signal.size, 2)))
    assert np.max(np.abs(lo - hi)) > 1e-2
    # freshly built: zero adapter kernels, scales 1, shifts 0 -> the knobs change nothing yet
    fresh = perturb_weights(build_model("tcn", seed=1, knobs=1, **TOY), seed=2, scale=0.3)
    for layer in fresh.layers:
        if layer.name.startswith(("film_filter_", "film_gate_")):
            w, b = layer.get_weights()
            layer.set_weights([np.zeros_like(w), np.ones_like(b) if "_scale_" in layer.name
                               else np.zeros_like(b)])
    np.testing.assert_allclose(_keras(fresh, signal, np.zeros((signal.size, 1))),
                               _keras(fresh, signal, np.ones((signal.size, 1))), atol=1e-7)
    new = build_model("tcn", seed=1, knobs=1, **TOY)
    w, b = new.get_layer("film_gate_scale_3").get_weights()
    assert not w.any() and np.all(b == 1)


def test_knobs_0_is_the_unconditioned_tcn():
    plain = build_model("tcn", seed=5, channels=3, layers=2)
    same = build_model("tcn", seed=5, channels=3, layers=2, knobs=0)
    assert [layer.name for layer in plain.layers] == [
        "audio", "input_proj", "filter_0", "gate_0", "gated_0", "res_0", "residual_0", "filter_1",
        "gate_1", "gated_1", "skip_0", "skip_1", "skip_sum", "head", "skip"]
    assert [layer.name for layer in same.layers] == [layer.name for layer in plain.layers]
    for a, b in zip(plain.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert tuple(plain.inputs[0].shape) == (None, None, 1)
    assert config_of(plain)["knobs"] == 0 and tcn_spec(plain).film is None
    assert tcn_spec(plain).knobs == 0 and TcnKernel(tcn_spec(plain)).knobs == 0


def test_numba_equals_keras_with_knob_values_per_sample(cond, signal):
    rng = np.random.default_rng(4)
    # a slow random walk, steps, and stretches held constant (the generator's cached path)
    knobs = np.clip(np.cumsum(rng.normal(0, 0.05, (signal.size, 2)), axis=0) + 0.5, 0, 1)
    knobs[100:160] = [0.2, 0.9]
    knobs[200:] = rng.uniform(0, 1, (signal.size - 200, 2))
    knobs = knobs.astype(np.float32)
    ref = _keras(cond, signal, knobs)
    kernel = TcnKernel(tcn_spec(cond, film=True))
    sizes, out, i, k = [7, 64, 1, 128], [], 0, 0
    while i < signal.size:
        b = sizes[k % len(sizes)]
        out.append(kernel.process(signal[i : i + b], knobs[i : i + b]))
        i, k = i + b, k + 1
    y = np.concatenate(out)
    assert y.dtype == np.float32 and np.max(np.abs(y - ref)) < 1e-5
    # one (K,) row held over a block; after reset the kernel starts afresh
    kernel.reset()
    np.testing.assert_allclose(kernel.process(signal, knobs[0]),
                               _keras(cond, signal, np.tile(knobs[0], (signal.size, 1))), atol=1e-5)
    # process_inputs (training's rows, no smoothing) on both engines
    rows = np.concatenate([signal[:, None], knobs], axis=1)
    for engine in ("numba", "keras"):
        proc = runtime.make_processor(cond, engine=engine)
        assert proc.engine_name == engine
        y = np.concatenate([proc.process_inputs(rows[i : i + 64])
                            for i in range(0, signal.size, 64)])
        assert np.max(np.abs(y - ref)) < 1e-5, engine


@pytest.mark.parametrize("engine", ["numba", "keras"])
def test_a_knob_moved_mid_stream_glides_and_equals_keras_on_that_glide(cond, signal, engine):
    proc = runtime.make_processor(cond, engine=engine, knobs=DRIVE_KNOBS)
    assert proc.knobs == DRIVE_KNOBS
    proc.set_knobs(gain_db=10.0, tone=0.2)  # before any audio: a jump
    assert proc.knob_values == pytest.approx({"gain_db": 10.0, "tone": 0.2})
    blocks = [(32, {}), (64, {"gain_db": 35.0}), (7, {}), (50, {"tone": 0.9}), (64, {}), (83, {})]
    y, traj = stream_with_moves(proc, signal, blocks, DRIVE_KNOBS, (10.0, 0.2), sr=SR)
    assert np.max(np.abs(y - _keras(cond, signal, traj))) < 1e-5
    assert proc.knob_values["gain_db"] == pytest.approx(
        DRIVE_KNOBS[0].denormalise(traj[-1, 0]))
    # reset: the next block starts at the targets, and repeats
    target = np.array([DRIVE_KNOBS[0].normalise(35.0), DRIVE_KNOBS[1].normalise(0.9)])
    proc.reset()
    first = proc.process(signal[:50])
    proc.reset()
    np.testing.assert_array_equal(proc.process(signal[:50]), first)
    np.testing.assert_allclose(
        first, _keras(cond, signal[:50], np.tile(target, (50, 1))), atol=1e-5)


def test_render_holds_a_setting(cond, signal):
    y = runtime.render(cond, signal, knobs={"knob_0": 0.25, "knob_1": 1.0})
    assert np.max(np.abs(y - _keras(cond, signal, np.tile([0.25, 1.0], (signal.size, 1))))) < 1e-5


def test_a_saved_conditioned_tcn_reloads_bit_exactly(cond, signal, tmp_path):
    import keras

    cond.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", compile=False)
    knobs = np.random.default_rng(5).uniform(0, 1, (signal.size, 2)).astype(np.float32)
    np.testing.assert_array_equal(_keras(again, signal, knobs), _keras(cond, signal, knobs))
    assert config_of(again) == config_of(cond)


_JAX_SCRIPT = """
import sys, numpy as np, keras
m = keras.models.load_model(sys.argv[1], compile=False)
inp = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(m(inp, training=False)))
print(keras.backend.backend())
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_the_saved_conditioned_tcn_computes_the_same_under_jax(cond, signal, tmp_path):
    cond.save(tmp_path / "m.keras")
    knobs = np.random.default_rng(6).uniform(0, 1, (signal.size, 2)).astype(np.float32)
    inp = np.concatenate([signal[:, None], knobs], axis=1)[None]
    np.save(tmp_path / "in.npy", inp)
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, str(tmp_path / "m.keras"),
                           str(tmp_path / "in.npy"), str(tmp_path / "out.npy")],
                          env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("jax"), proc.stderr[-3000:]
    under_jax = np.load(tmp_path / "out.npy").reshape(-1)
    assert np.max(np.abs(under_jax - _keras(cond, signal, knobs))) < 1e-5


def test_errors(cond, signal):
    with pytest.raises(ParameterError, match=r"knobs=9.*\[0, 8\]"):
        model_config("tcn", knobs=9)
    with pytest.raises(ParameterError, match=r"\[0, 8\]"):
        build_model("tcn", knobs=-1)
    # a reader that does not apply FiLM (an exporter) refuses a conditioned TCN
    with pytest.raises(EngineUnavailableError, match="conditioned on 2 knob.*FiLM"):
        tcn_spec(cond)
    proc = runtime.make_processor(cond, knobs=DRIVE_KNOBS)
    with pytest.raises(ParameterError, match=r"shape \(10, 2\)"):
        proc.process_inputs(np.zeros((10, 2), np.float32))  # the audio and one knob: too narrow
    with pytest.raises(ParameterError, match=r"\(n, 3\)"):
        proc.process_inputs(signal[:10])
    with pytest.raises(UnknownNameError, match="gain_db, tone"):
        proc.set_knobs(drive=1.0)
    with pytest.raises(ParameterError, match=r"gain_db=90.*\[0, 40\] dB"):
        proc.set_knobs(gain_db=90.0)
    with pytest.raises(ParameterError, match="2, one per knob input"):
        runtime.make_processor(cond, knobs=get_effect("drive").knobs)
    kernel = TcnKernel(tcn_spec(cond, film=True))
    with pytest.raises(ParameterError, match=r"no knob values.*shape \(n, 2\) or \(2,\)"):
        kernel.process(signal[:10])
    with pytest.raises(ParameterError, match=r"shape \(10, 3\)"):
        kernel.process(signal[:10], np.zeros((10, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        kernel.process(signal[:10], np.full(2, np.nan))
    plain = build_model("tcn", seed=0, channels=2, layers=2)
    with pytest.raises(ParameterError, match="leave knobs out"):
        TcnKernel(tcn_spec(plain)).process(signal[:5], np.zeros((5, 1)))
    with pytest.raises(ParameterError, match="knobs=K"):
        runtime.make_processor(plain).set_knobs(gain_db=3.0)
    with pytest.raises(ParameterError, match=r"\(n, 1\)"):
        runtime.make_processor(plain).process_inputs(np.zeros((5, 2), np.float32))
