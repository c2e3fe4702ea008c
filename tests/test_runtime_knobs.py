"""Knob-conditioned LSTM/GRU: the graph, the engines against Keras with knob values per sample,
the processor's smoothed knobs moved mid-stream against Keras fed the same trajectory, and the
errors. Unconditioned networks are covered by test_runtime_engines/streaming and test_models."""

from __future__ import annotations

import numpy as np
import pytest
from knob_support import keras_with_knobs, stream_with_moves
from weights_support import perturb_weights

from fxlab import runtime
from fxlab.effects import Knob, get_effect
from fxlab.errors import ParameterError, UnknownNameError
from fxlab.models import build_model, config_of, model_config
from fxlab.models.recurrent import rnn_spec
from fxlab.runtime import KNOB_SMOOTHING_S, engines, smooth_knobs

SR = 44100
DRIVE_KNOBS = get_effect("drive").knobs[:2]  # gain_db, tone


@pytest.fixture(scope="module", params=[("lstm", 1), ("gru", 2)], ids=["lstm1", "gru2"])
def cond(request):
    name, layers = request.param
    model = build_model(name, seed=1, units=8, layers=layers, knobs=2)
    return perturb_weights(model, seed=2, scale=0.3)


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(3)
    return (0.5 * rng.standard_normal(200)).astype(np.float32)


_keras = keras_with_knobs


def test_the_conditioned_graph_reads_audio_then_knobs_and_skips_audio_only(cond, signal):
    assert tuple(cond.inputs[0].shape) == (None, None, 3)
    spec = rnn_spec(cond)
    g = 4 if spec.cell == "lstm" else 3
    assert spec.knobs == 2 and spec.kernels[0].shape == (3, g * 8)
    cfg = config_of(cond)
    assert cfg["knobs"] == 2 and cfg == model_config(cfg["name"], units=8, layers=cfg["layers"],
                                                     knobs=2)
    # with the head zeroed, the output is the audio channel alone (not the knob channels)
    head = cond.get_layer("head")
    saved = head.get_weights()
    head.set_weights([np.zeros_like(w) for w in saved])
    try:
        knobs = np.full((signal.size, 2), 0.7, np.float32)
        np.testing.assert_allclose(_keras(cond, signal, knobs), signal, atol=1e-7)
    finally:
        head.set_weights(saved)
    # the knobs change the output
    lo = _keras(cond, signal, np.zeros((signal.size, 2)))
    hi = _keras(cond, signal, np.ones((signal.size, 2)))
    assert np.max(np.abs(lo - hi)) > 1e-2


def test_unconditioned_graph_is_unchanged():
    m = build_model("lstm", seed=0, units=4)
    assert [layer.name for layer in m.layers] == ["audio", "rnn_0", "head", "skip"]
    assert tuple(m.inputs[0].shape) == (None, None, 1)
    assert model_config("lstm")["knobs"] == 0 and rnn_spec(m).knobs == 0


@pytest.mark.parametrize("name", ["numba"] + [pytest.param(n, marks=pytest.mark.slow)
                                  for n in ("keras", "tflite", "xla", "tf_function")])
def test_engines_equal_keras_with_knob_values_per_sample(cond, signal, name):
    rng = np.random.default_rng(4)
    knobs = rng.uniform(0, 1, (signal.size, 2)).astype(np.float32)
    ref = _keras(cond, signal, knobs)
    eng = engines.make_engine(cond, name)
    sizes = [7, 64, 1, 128] if name == "numba" else [7, 64]
    out, i, k = [], 0, 0
    while i < signal.size:
        b = sizes[k % len(sizes)]
        out.append(eng.process(signal[i : i + b], knobs[i : i + b]))
        i, k = i + b, k + 1
    y = np.concatenate(out)
    assert y.dtype == np.float32 and np.max(np.abs(y - ref)) < 1e-5
    # a constant (K,) row is held over the block
    eng.reset()
    np.testing.assert_allclose(eng.process(signal, knobs[0]),
                               _keras(cond, signal, np.tile(knobs[0], (signal.size, 1))), atol=1e-5)


def test_a_knob_moved_mid_stream_glides_and_equals_keras_on_that_glide(cond, signal):
    proc = runtime.make_processor(cond, knobs=DRIVE_KNOBS)
    assert proc.knobs == DRIVE_KNOBS
    proc.set_knobs(gain_db=10.0, tone=0.2)  # before any audio: a jump
    assert proc.knob_values == pytest.approx({"gain_db": 10.0, "tone": 0.2})
    blocks = [(32, {}), (64, {"gain_db": 35.0}), (7, {}), (50, {"tone": 0.9}), (47, {})]
    y, traj = stream_with_moves(proc, signal, blocks, DRIVE_KNOBS, (10.0, 0.2), sr=SR)
    assert np.max(np.abs(y - _keras(cond, signal, traj))) < 1e-5
    # the glide: no step larger than a = 1 - exp(-1/(tau*sr)) of the move, and after 4.6 tau
    # = ln(100) tau (46 ms) within 1 % of the target
    a = 1 - np.exp(-1 / (KNOB_SMOOTHING_S * SR))
    moved = DRIVE_KNOBS[0].normalise(35.0) - DRIVE_KNOBS[0].normalise(10.0)
    assert np.max(np.abs(np.diff(traj[:, 0]))) <= a * moved + 1e-12
    long = smooth_knobs(np.zeros(1), np.ones(1), int(np.ceil(np.log(100) * KNOB_SMOOTHING_S * SR)),
                        sr=SR)
    assert 0.99 <= long[-1, 0] < 1.0
    # reset: the next block starts at the targets, and repeats
    proc.reset()
    first = proc.process(signal[:50])
    proc.reset()
    np.testing.assert_array_equal(proc.process(signal[:50]), first)


def test_render_holds_a_setting_and_default_knobs_are_normalised(cond, signal):
    y = runtime.render(cond, signal, knobs={"knob_0": 0.25, "knob_1": 1.0})
    ref = _keras(cond, signal, np.tile([0.25, 1.0], (signal.size, 1)))
    assert np.max(np.abs(y - ref)) < 1e-5
    # untouched knobs sit at their defaults (0.5 of the generic [0, 1] knobs)
    np.testing.assert_allclose(runtime.render(cond, signal),
                               _keras(cond, signal, np.full((signal.size, 2), 0.5)), atol=1e-5)


@pytest.mark.slow
def test_a_saved_conditioned_model_loads_without_fxlab(cond, signal, tmp_path):
    import keras

    cond.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", compile=False)
    knobs = np.full((signal.size, 2), 0.3, np.float32)
    np.testing.assert_array_equal(_keras(again, signal, knobs), _keras(cond, signal, knobs))


def test_knob_errors(cond, signal):
    proc = runtime.make_processor(cond, knobs=DRIVE_KNOBS)
    with pytest.raises(UnknownNameError, match="gain_db, tone"):
        proc.set_knobs(drive=1.0)
    with pytest.raises(ParameterError, match=r"gain_db=90.*\[0, 40\] dB"):
        proc.set_knobs(gain_db=90.0)
    with pytest.raises(ParameterError, match="2, one per knob input"):
        runtime.make_processor(cond, knobs=get_effect("drive").knobs)
    eng = engines.make_engine(cond, "numba")
    with pytest.raises(ParameterError, match=r"no knob values.*shape \(n, 2\) or \(2,\)"):
        eng.process(signal[:10])
    with pytest.raises(ParameterError, match=r"shape \(10, 2\)"):
        eng.process(signal[:10], np.zeros((10, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        eng.process(signal[:10], np.full(2, np.nan))
    plain = build_model("gru", seed=0, units=4)
    with pytest.raises(ParameterError, match="knobs=K"):
        runtime.make_processor(plain).set_knobs(gain_db=3.0)
    with pytest.raises(ParameterError, match="leave knobs out"):
        engines.make_engine(plain, "numba").process(signal[:5], np.zeros((5, 1)))
    with pytest.raises(ParameterError, match="leave knobs out"):
        runtime.make_processor(build_model("tcn", seed=0, channels=2, layers=2),
                               knobs=[Knob("a", 0.0, 1.0, 0.5)])
    with pytest.raises(ParameterError, match=r"\[0, 8\]"):
        model_config("lstm", knobs=9)
    with pytest.raises(UnknownNameError, match="channels"):
        model_config("tcn", units=1)


def test_stream_file_moves_a_knob_mid_stream(tmp_path):
    import soundfile as sf
    from knob_support import write_conditioned_model

    from fxlab import latency
    from fxlab.training import load_trained

    model = load_trained(write_conditioned_model(tmp_path / "lstm", units=4))
    x = (0.3 * np.random.default_rng(5).standard_normal(1000)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, SR, subtype="FLOAT")
    proc = model.processor()
    sweep = latency.demo_knob_sweep(proc)
    assert sweep == {"gain_db": (0.0, 40.0)}
    info = runtime.stream_file(tmp_path / "in.wav", tmp_path / "out.wav", proc, 64,
                               progress=False, knob_sweep=sweep)
    assert info["knob_sweep"] == {"gain_db": [0.0, 40.0]} and info["n_blocks"] == 16
    assert "`gain_db` from 0 to 40" in latency.sweep_note(info)
    # the same as setting the knob by hand before every block: linear from 0 to 40 dB over the file
    proc.reset()
    want = []
    for i in range(0, x.size, 64):
        proc.set_knobs(gain_db=40.0 * i / (x.size - 1))
        want.append(proc.process(x[i : i + 64]))
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    np.testing.assert_array_equal(y, np.concatenate(want))
    held = runtime.stream_file(tmp_path / "in.wav", tmp_path / "held.wav", proc, 64, progress=False)
    assert held["knob_sweep"] is None and latency.sweep_note(held) == ""
    assert np.max(np.abs(sf.read(tmp_path / "held.wav", dtype="float32")[0] - y)) > 1e-3
    with pytest.raises(UnknownNameError, match="gain_db"):
        runtime.stream_file(tmp_path / "in.wav", tmp_path / "o.wav", proc, 64, progress=False,
                            knob_sweep={"drive": (0, 1)})
    with pytest.raises(ParameterError, match=r"\[0, 40\]"):
        runtime.stream_file(tmp_path / "in.wav", tmp_path / "o.wav", proc, 64, progress=False,
                            knob_sweep={"gain_db": (0, 90)})
    plain = runtime.make_processor(build_model("lstm", seed=0, units=4))
    assert latency.demo_knob_sweep(plain) is None
    with pytest.raises(ParameterError, match="knobs=K"):
        runtime.stream_file(tmp_path / "in.wav", tmp_path / "o.wav", plain, 64, progress=False,
                            knob_sweep={"gain_db": (0, 40)})


def test_after_the_glide_the_knobs_rest_and_the_stream_still_equals_the_glide_fed_in(cond):
    """A move glides, arrives (within 1e-12), then the held values run the fast path: the whole
    stream equals the same network fed the glide and then the held values as input columns
    (``process_inputs``, the engine's checked path; Keras equals it, above)."""
    x = (0.3 * np.random.default_rng(6).standard_normal(16384)).astype(np.float32)
    proc = runtime.make_processor(cond, knobs=DRIVE_KNOBS)
    proc.set_knobs(gain_db=10.0)
    y = [proc.process(x[:64])]
    proc.set_knobs(gain_db=30.0, tone=0.8)
    y += [proc.process(x[i : i + 256]) for i in range(64, x.size, 256)]
    assert proc.knob_values == {"gain_db": 30.0, "tone": 0.8}  # arrived exactly
    start = np.array([DRIVE_KNOBS[0].normalise(10.0), DRIVE_KNOBS[1].normalise(0.5)])
    target = np.array([DRIVE_KNOBS[0].normalise(30.0), DRIVE_KNOBS[1].normalise(0.8)])
    traj = np.concatenate([np.tile(start, (64, 1)),
                           smooth_knobs(start, target, x.size - 64, sr=SR)])
    twin = runtime.make_processor(cond, knobs=DRIVE_KNOBS)
    ref = twin.process_inputs(np.concatenate([x[:, None], traj], axis=1))
    assert np.max(np.abs(np.concatenate(y) - ref)) < 1e-6
