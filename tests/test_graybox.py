"""The gray-box emulator: its filters, its closed-form fit, its Keras and compiled paths, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from fxlab.effects import STUDY_EFFECT, effect_from_spec, get_effect
from fxlab.effects.filters import CookbookBiquad
from fxlab.models import build_model, graybox, graybox_fit, initialise, model_config, structure_of
from fxlab.runtime import GrayboxProcessor, make_processor, render

SR = 44100


def _sos(d):
    return np.array([1 + d[0], d[3] + d[1], d[4] + d[2], 1.0, d[3], d[4]])


@pytest.mark.parametrize(("kind", "cookbook"), [("peak", "peaking"), ("lowshelf", "lowshelf"),
                                                 ("highshelf", "highshelf")])
def test_sections_are_the_cookbook_filters(kind, cookbook):
    for f, g, q in ((0.02, 7.0, 1.3), (0.003, -12.0, 0.5), (0.3, 3.0, 4.0)):
        d = graybox._section(kind, np.float64(f), np.float64(g), np.float64(q))
        ref = CookbookBiquad(cookbook, freq_hz=f * SR, gain_db=g, q=q).sos(SR)[0]
        np.testing.assert_allclose(_sos(d), ref, atol=1e-12)


@pytest.mark.parametrize(("kind", "btype"), [("hp2", "highpass"), ("lp2", "lowpass")])
def test_second_order_passes_are_the_cookbook_filters_at_full_depth(kind, btype):
    f, q = 0.02, 0.9
    d = graybox._section(kind, np.float64(f), np.float64(1.0), np.float64(q))
    w0 = 2 * math.pi * f
    c, alpha = math.cos(w0), math.sin(w0) / (2 * q)
    b = [(1 - c) / 2, 1 - c, (1 - c) / 2] if btype == "lowpass" else [(1 + c) / 2, -(1 + c), (1 + c) / 2]
    a = [1 + alpha, -2 * c, 1 - alpha]
    np.testing.assert_allclose(_sos(d), np.r_[b, a] / a[0], atol=1e-12)
    half = graybox._section(kind, np.float64(f), np.float64(0.0), np.float64(q))
    assert half[0] == 0 and half[1] == 0 and half[2] == 0


@pytest.mark.parametrize(("kind", "btype"), [("hp1", "lowpass"), ("lp1", "highpass")])
def test_first_order_sections_are_butterworth_at_full_depth_and_wires_at_zero(kind, btype):
    # full depth: 1 - (the complementary filter) = the filter itself
    d = graybox._section(kind, np.float64(0.01), np.float64(1.0), np.float64(1.0))
    want = "highpass" if btype == "lowpass" else "lowpass"
    ref = scipy.signal.butter(1, 0.01 * SR, want, fs=SR, output="sos")[0]
    np.testing.assert_allclose(_sos(d), ref, atol=1e-12)
    d0 = graybox._section(kind, np.float64(0.01), np.float64(0.0), np.float64(1.0))
    assert d0[0] == 0 and d0[1] == 0  # depth 0: exactly a wire


def test_registry_knows_the_graybox():
    cfg = model_config("graybox", shaper=4, knobs=1)
    assert cfg["family"] == "sample" and cfg["receptive_field"] is None
    assert structure_of("graybox") == "graybox"
    with pytest.raises(Exception, match="sections"):
        model_config("graybox", sections=2)


def test_default_graybox_is_a_wire():
    m = build_model("graybox", seed=0)
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.3
    np.testing.assert_allclose(m.predict_on_batch(x[None, :, None])[0, :, 0], x, atol=1e-6)
    np.testing.assert_allclose(render(m, x), x, atol=1e-6)


def test_closed_form_fit_finds_the_study_eq():
    eff = effect_from_spec(STUDY_EFFECT)
    x = np.random.default_rng(1).standard_normal(SR * 4).astype(np.float32) * 0.25
    y = eff(x, SR)
    m = build_model("graybox", seed=0)
    info = initialise(m, "graybox", x, y)
    assert info["fit_esr"] < 1e-6
    spec = graybox.spec_of(m)
    hp = spec.readable(sr=SR)["eq"]["sections"][0]
    assert hp["kind"] == "hp1" and abs(hp["freq_hz"] - 440.0) < 1.0 and hp["depth"] > 0.99
    xt = np.random.default_rng(2).standard_normal(SR).astype(np.float32) * 0.25
    yt = eff(xt, SR)
    out = render(m, xt)
    assert np.sum((out - yt) ** 2) / np.sum(yt ** 2) < 1e-7


def _damped(model, rng, *, knobs=False):
    """Random weights whose filters decay within a few hundred samples."""
    layer = model.get_layer("graybox")
    th = layer.theta.numpy()
    s = layer.cfg["sections"]
    n_eq = graybox.n_eq_params(s)
    for start in ((0,) if layer.cfg["shaper"] == 0 else (0, th.size - n_eq)):
        for i, kind in enumerate(graybox.layout(s)):
            j = start + 3 * i
            f = {"hp1": 200.0, "lp1": 9000.0, "hp2": 150.0, "lp2": 12000.0}.get(
                kind, rng.uniform(300.0, 6000.0))
            th[j] = graybox.freq_weight(f / SR)
            th[j + 1] = (rng.uniform(0.5, 1.0) if kind in graybox.DEPTH_KINDS
                         else rng.uniform(-0.3, 0.3))
            th[j + 2] = graybox._logit(math.log(rng.uniform(0.5, 2.0) / graybox.Q_MIN)
                                       / math.log(graybox.Q_MAX / graybox.Q_MIN))
    if layer.cfg["shaper"]:
        e = n_eq
        th[e] = 0.5  # drive 10 dB
        th[e + 2:e + 2 + 3 * layer.cfg["shaper"]] += rng.standard_normal(3 * layer.cfg["shaper"]) * 0.2
    layer.theta.assign(th)
    layer.delay.assign(2.0)  # the delay line too
    if knobs:
        for v in (layer.ctrl_a, layer.ctrl_w2):
            v.assign((rng.standard_normal(v.shape) * 0.1).astype(np.float32))


@pytest.mark.parametrize("params", [{}, {"shaper": 4}, {"shaper": 4, "knobs": 1}])
def test_keras_and_compiled_paths_agree_block_by_block(params):
    rng = np.random.default_rng(3)
    m = build_model("graybox", seed=0, **params)
    _damped(m, rng, knobs=bool(params.get("knobs")))
    x = (rng.standard_normal(20000) * 0.3).astype(np.float32)
    inp = x[:, None]
    setting = None
    if params.get("knobs"):
        inp = np.concatenate([inp, np.full((x.size, 1), 0.3, np.float32)], axis=1)
        setting = {"knob_0": 0.3}
    keras_out = m.predict_on_batch(inp[None])[0, :, 0]
    proc = make_processor(m)
    assert isinstance(proc, GrayboxProcessor) and proc.engine_name == "numba"
    whole = render(proc, x, knobs=setting)
    np.testing.assert_allclose(whole, keras_out, atol=1e-5)
    for size in (1, 7, 64):
        proc.reset()
        if setting:
            proc.set_knobs(**setting)
        blocks = np.concatenate([proc.process(x[i:i + size]) for i in range(0, 2000, size)])
        np.testing.assert_allclose(blocks, whole[:blocks.size], atol=1e-6)


def test_a_moving_knob_changes_the_parameters_mid_stream():
    rng = np.random.default_rng(4)
    m = build_model("graybox", seed=0, shaper=2, knobs=1)
    _damped(m, rng, knobs=True)
    proc = make_processor(m)
    x = (rng.standard_normal(4096) * 0.3).astype(np.float32)
    proc.set_knobs(knob_0=0.0)
    a = proc.process(x)
    proc.set_knobs(knob_0=1.0)
    b = proc.process(x)
    proc.reset()
    proc.set_knobs(knob_0=0.0)
    assert np.array_equal(proc.process(x), a)  # reset forgets the filters' state and the glide
    assert not np.allclose(a, b)


def test_the_fit_finds_the_drives_delay_and_starts_near_it():
    x = np.random.default_rng(7).standard_normal(SR * 2).astype(np.float32) * 0.25
    m = build_model("graybox", seed=0, shaper=4)
    info = initialise(m, "graybox", x, get_effect("drive", gain_db=20.0)(x, SR))
    # its oversampling filters delay it 3-4 samples; without the delay no EQ beat silence
    assert info["applied"] and info["delay"] in (3, 4) and info["fit_esr"] < 0.1
    assert graybox.spec_of(m).delay == info["delay"]


def test_linear_fit_esr_tells_an_eq_from_a_drive():
    x = np.random.default_rng(5).standard_normal(SR * 2).astype(np.float32) * 0.3
    eq = effect_from_spec(STUDY_EFFECT)(x, SR)
    drive = get_effect("drive", gain_db=20.0)(x, SR)
    assert graybox_fit.linear_fit_esr(x, eq) < 1e-6
    assert graybox_fit.linear_fit_esr(x, drive) > 1e-2


def test_silent_input_is_refused_by_the_fit():
    m = build_model("graybox", seed=0)
    z = np.zeros(SR, np.float32)
    with pytest.raises(Exception, match="silence"):
        initialise(m, "graybox", z, z)


def test_training_saves_a_model_that_loads_and_plays(tmp_path):
    from fxlab.training import TrainConfig, load_trained, train
    from fxlab.training.study import GRAYBOX_SEGMENT, GRAYBOX_WARMUP

    eff = effect_from_spec(STUDY_EFFECT)
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(SR * 2) * 0.25).astype(np.float32)
    v = (rng.standard_normal(SR) * 0.25).astype(np.float32)
    cfg = TrainConfig(model="graybox", epochs=2, batch_size=4, learning_rate=1e-4,
                      segment=GRAYBOX_SEGMENT, warmup=GRAYBOX_WARMUP)
    tm = train({"train": (x, eff(x, SR)), "val1": (v, eff(v, SR))}, tmp_path / "graybox", cfg,
               verbose=0)
    assert tm.structure == "graybox" and tm.summary["best_val"] < 1e-6
    again = load_trained(tmp_path / "graybox")
    np.testing.assert_allclose(again.predict(v), tm.predict(v), atol=1e-7)
    assert np.sum((again.predict(v) - eff(v, SR)) ** 2) / np.sum(eff(v, SR) ** 2) < 1e-6
