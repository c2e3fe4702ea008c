"""Effects' knobs: declarations, ``with_knobs``, the parametric drive (harmonics, aliasing,
tone, level), pedalboard knobs, LV2 plugins through lilv, and every bad knob as a clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fxlab import effects, harmonics
from fxlab.effects import Knob
from fxlab.errors import ParameterError, UnknownNameError

SR = 44100
LV2_OVERDRIVE = "http://plugin.org.uk/swh-plugins/foverdrive"
needs_lv2 = pytest.mark.skipif(effects.lv2_available() is not None,
                               reason="lilv's tools absent (.ci/run installs lilv-utils)")


def _sine(f0: float, amp: float = 1.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def _spectrum(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    seg = y[SR // 4 : SR // 4 + SR // 2].astype(np.float64)  # 0.5 s: 2 Hz bins, transient gone
    p = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    return np.fft.rfftfreq(seg.size, 1 / SR), p


def _harmonic_db(y: np.ndarray, f0: float, k: int) -> float:
    """The k-th harmonic of f0 in y relative to the fundamental, dB (``fxlab.harmonics``)."""
    return float(harmonics.analyse_tone(y, sr=SR, f0_hz=f0, settle_s=0.25).harmonic_db[k - 1])


@pytest.mark.parametrize("name", ["highpass", "lowpass", "peaking", "lowshelf", "highshelf",
                                  "drive", "pedalboard.Distortion", "pedalboard.Compressor",
                                  "pedalboard.Chorus", "pedalboard.Clipping"])
def test_every_effect_declares_knobs_whose_defaults_are_its_own(name):
    e = effects.get_effect(name)
    assert e.knobs and all(isinstance(k, Knob) for k in e.knobs)
    for k in e.knobs:
        assert k.low <= e.knob_values[k.name] <= k.high
        assert e.knob_values[k.name] == pytest.approx(k.default, rel=1e-6)
        # every knob moves the effect, and only its own parameter
        other = k.high if k.default != k.high else k.low
        moved = e.with_knobs(**{k.name: other})
        assert type(moved) is type(e) and moved.knob_values[k.name] == pytest.approx(other)
        assert {n: v for n, v in moved.params.items() if n != k.name} == \
            {n: v for n, v in e.params.items() if n != k.name}
        assert effects.effect_from_spec(json.loads(json.dumps(moved.spec))) == moved


def test_declared_knob_names_per_effect():
    def names(name):
        return [k.name for k in effects.get_effect(name).knobs]

    assert names("drive") == ["gain_db", "tone", "level_db"]
    assert names("pedalboard.Distortion") == ["drive_db"]
    assert names("pedalboard.Compressor") == ["threshold_db", "ratio"]
    assert names("pedalboard.Chorus") == ["rate_hz", "depth", "mix"]
    assert names("pedalboard.Clipping") == ["threshold_db"]
    assert names("highpass") == ["cutoff_hz"]
    assert effects.get_effect("pedalboard.Reverb").knobs == ()


def test_knob_scales_normalise_and_grid():
    lin = Knob("gain_db", 0.0, 40.0, 20.0, "dB")
    log = Knob("cutoff_hz", 20.0, 20000.0, 440.0, "Hz", "log")
    assert lin.grid(5) == (0.0, 10.0, 20.0, 30.0, 40.0)
    np.testing.assert_allclose(log.grid(4), [20.0, 200.0, 2000.0, 20000.0])
    assert log.normalise(200.0) == pytest.approx(1 / 3)
    assert lin.normalise(30.0) == pytest.approx(0.75)
    u = np.linspace(0, 1, 7)
    np.testing.assert_allclose(log.normalise(log.denormalise(u)), u, atol=1e-12)
    assert Knob.from_dict(json.loads(json.dumps(log.to_dict()))) == log
    assert "cutoff_hz in [20, 20000] Hz (log, default 440)" == log.describe()


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda: effects.get_effect("drive").with_knobs(gain=3.0), "known drive knobs: gain_db"),
    (lambda: effects.get_effect("drive").with_knobs(gain_db=50.0), r"gain_db=50.0.*\[0, 40\] dB"),
    (lambda: effects.get_effect("drive").with_knobs(tone=float("nan")), r"tone.*\[0, 1\]"),
    (lambda: effects.get_effect("drive").with_knobs(tone="bright"), "tone"),
    (lambda: effects.get_effect("drive", gain_db=-1.0), r"gain_db=-1.0.*\[0, 40\]"),
    (lambda: effects.get_effect("drive", shape="cubic"), "asymmetric, tanh"),
    (lambda: effects.get_effect("drive", oversample=3), "1, 2, 4, 8"),
    (lambda: effects.get_effect("drive", drive=3.0), "gain_db, tone, level_db"),
    (lambda: effects.get_effect("highpass").with_knobs(cutoff_hz=5.0), r"\[20, 20000\] Hz"),
    (lambda: effects.get_effect("highpass").with_knobs(order=2), "known highpass knobs: cutoff_hz"),
    (lambda: effects.get_effect("pedalboard.Distortion").with_knobs(drive_db=99.0), r"\[0, 60\]"),
    (lambda: effects.get_effect("pedalboard.Reverb").with_knobs(room_size=0.5), "(none)"),
    (lambda: Knob("x", 1.0, 0.0, 0.5), "low < high"),
    (lambda: Knob("x", 0.0, 1.0, 0.5, scale="log"), "low > 0"),
    (lambda: Knob("x", 0.0, 1.0, 0.5, scale="exp"), "linear, log"),
    (lambda: Knob("x", 0.0, 1.0, 0.5).grid(1), "n=5"),
])
def test_bad_knobs_are_clear_errors(make, pattern):
    with pytest.raises((ParameterError, UnknownNameError), match=pattern) as info:
        make()
    assert "Fix:" in str(info.value)


def test_drive_is_a_waveshaper_odd_or_even():
    x = _sine(440.0, 0.5)
    sym = effects.get_effect("drive", gain_db=20.0, tone=1.0)(x, SR)
    asym = effects.get_effect("drive", gain_db=20.0, tone=1.0, shape="asymmetric")(x, SR)
    # tanh: odd harmonics strong, even ones absent; asymmetric: a 2nd harmonic too
    assert _harmonic_db(sym, 440.0, 3) > -20
    assert _harmonic_db(sym, 440.0, 2) < -80
    assert _harmonic_db(asym, 440.0, 2) > -40
    # no DC left by the asymmetric shaper (the DC blocker)
    assert abs(float(np.mean(asym[SR // 2 :]))) < 1e-3
    # more drive, more harmonics (a monotone knob)
    h3 = [_harmonic_db(effects.get_effect("drive", gain_db=g, tone=1.0)(x, SR), 440.0, 3)
          for g in (0.0, 10.0, 20.0)]
    assert h3[0] < h3[1] < h3[2]


def test_drive_oversampling_lowers_aliasing():
    def aliasing_db(r):
        drive = effects.get_effect("drive", gain_db=30.0, tone=1.0, level_db=0.0, oversample=r)
        h = harmonics.measure_harmonics(lambda x: drive(x, SR), sr=SR, f0_hz=1000.0,
                                        levels_dbfs=[0.0])
        return float(h.aliasing_db[0])

    aliased = {r: aliasing_db(r) for r in (1, 4)}
    assert aliased[1] > -35  # -27 dB measured
    assert aliased[4] < aliased[1] - 30  # -71 dB measured


def test_drive_tone_and_level():
    x = np.random.default_rng(0).uniform(-0.2, 0.2, SR).astype(np.float32)

    def hf_share(tone):
        f, p = _spectrum(effects.get_effect("drive", tone=tone)(x, SR))
        return p[f > 5000].sum() / p.sum()

    assert hf_share(0.0) < 0.1 * hf_share(1.0)
    loud = effects.get_effect("drive", level_db=0.0)(x, SR)
    quiet = effects.get_effect("drive", level_db=-12.0)(x, SR)
    np.testing.assert_allclose(quiet, loud * 10 ** (-12 / 20), atol=1e-6)
    assert not effects.get_effect("drive").is_linear
    assert effects.get_effect("drive")(x[:0], SR).shape == (0,)


def test_pedalboard_knobs_move_the_sound():
    x = _sine(220.0, 0.3)
    soft = effects.get_effect("pedalboard.Distortion").with_knobs(drive_db=5.0)(x, SR)
    hard = effects.get_effect("pedalboard.Distortion").with_knobs(drive_db=40.0)(x, SR)
    assert _harmonic_db(hard, 220.0, 3) > _harmonic_db(soft, 220.0, 3) + 10


@needs_lv2
def test_lv2_plugin_runs_with_its_knobs():
    plain = effects.get_effect("lv2", uri=LV2_OVERDRIVE)
    assert [k.name for k in plain.knobs] == ["drive"] and plain.knob("drive").high == 3.0
    x = _sine(220.0, 0.5)
    y1 = plain(x, SR)
    y3 = plain.with_knobs(drive=3.0)(x, SR)
    assert y1.shape == x.shape and y1.dtype == np.float32
    assert not np.allclose(y1, y3, atol=1e-3)
    assert _harmonic_db(y3, 220.0, 3) > _harmonic_db(y1, 220.0, 3)
    assert effects.effect_from_spec(plain.with_knobs(drive=2.0).spec).params["drive"] == 2.0


@needs_lv2
@pytest.mark.parametrize(("params", "error", "pattern"), [
    ({}, ParameterError, "uri="),
    ({"uri": "http://example.org/no-such-plugin"}, UnknownNameError, "not installed.*lv2ls"),
    ({"uri": "http://plugin.org.uk/swh-plugins/foverdriv"}, UnknownNameError,
     "closest: http://plugin.org.uk/swh-plugins/foverdrive.*apt-get install swh-lv2"),
    ({"uri": "http://guitarix.sourceforge.net/plugins/gx_nope#nope"}, UnknownNameError,
     "apt-get install guitarix-lv2"),
    ({"uri": LV2_OVERDRIVE, "driv": 2.0}, ParameterError, "control ports: drive"),
    ({"uri": LV2_OVERDRIVE, "drive": 9.0}, ParameterError, r"\[1, 3\]"),
])
def test_lv2_bad_input(params, error, pattern):
    with pytest.raises(error, match=pattern):
        effects.get_effect("lv2", **params)


def test_lv2_absent_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "lv2apply" in effects.lv2_available()
    with pytest.raises(ParameterError, match="apt-get install lilv-utils"):
        effects.get_effect("lv2", uri=LV2_OVERDRIVE)
