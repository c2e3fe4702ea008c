"""fxlab.effects: the study's high-pass against the analog Butterworth design, EQs, pedalboard
effects by name, specs that round-trip, and every bad name / parameter error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal

from fxlab import effects
from fxlab.errors import AudioFileError, ParameterError, UnknownNameError

SR = 44100
FREQS = np.array([110.0, 220.0, 440.0, 880.0])


def _analog_butterworth_db(f: np.ndarray, fc: float, order: int, kind: str) -> np.ndarray:
    """|H(j 2 pi f)| of the analog Butterworth prototype, dB."""
    ratio = (f / fc) ** (2 * order)
    power = ratio / (1 + ratio) if kind == "highpass" else 1 / (1 + ratio)
    return 10.0 * np.log10(power)


def _measured_gain_db(effect, f: float, sr: int = SR) -> float:
    """Filter one second of a sine and compare steady-state RMS of output and input."""
    t = np.arange(sr) / sr
    x = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    y = effect(x, sr).astype(np.float64)
    tail = slice(sr // 2, sr // 2 + int(round(sr / f)) * 20)  # whole periods, transient gone
    return float(20 * np.log10(np.sqrt(np.mean(y[tail] ** 2)) / np.sqrt(np.mean(
        x[tail].astype(np.float64) ** 2))))


def test_study_effect_is_first_order_440_highpass():
    assert effects.STUDY_EFFECT == {"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 1}}
    e = effects.effect_from_spec(effects.STUDY_EFFECT)
    assert e.is_linear
    assert e.describe() == "high-pass 440 Hz, 1st order (6 dB/oct)"
    sos = e.sos(SR)
    b, a = scipy.signal.butter(1, 440.0, "highpass", fs=SR)
    np.testing.assert_allclose(sos[0, :2], b, rtol=1e-12)
    np.testing.assert_allclose(sos[0, 3:5], a, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("kind", ["highpass", "lowpass"])
def test_magnitude_response_matches_analog_butterworth(kind, order):
    e = effects.get_effect(kind, cutoff_hz=440.0, order=order)
    expected = _analog_butterworth_db(FREQS, 440.0, order, kind)
    np.testing.assert_allclose(e.magnitude_response_db(FREQS, sr=SR), expected, atol=0.1)
    # -3 dB at the cutoff; about 6 dB/octave per order in the stop band (the low-pass is a
    # little steeper at high frequencies: the bilinear transform compresses them towards Nyquist)
    assert e.magnitude_response_db([440.0], sr=SR)[0] == pytest.approx(-3.01, abs=0.01)
    far, near = (55.0, 110.0) if kind == "highpass" else (3520.0, 1760.0)
    step = e.magnitude_response_db([far], sr=SR)[0] - e.magnitude_response_db([near], sr=SR)[0]
    analog = np.diff(_analog_butterworth_db(np.array([near, far]), 440.0, order, kind))[0]
    assert step == pytest.approx(analog, abs=0.05 if kind == "highpass" else 0.4)
    assert step == pytest.approx(-6.0 * order, abs=0.5)


@pytest.mark.parametrize("order", [1, 2])
def test_measured_sine_gains_match_analog_butterworth(order):
    e = effects.get_effect("highpass", cutoff_hz=440.0, order=order)
    measured = np.array([_measured_gain_db(e, f) for f in FREQS])
    np.testing.assert_allclose(measured, _analog_butterworth_db(FREQS, 440.0, order, "highpass"),
                               atol=0.1)


@pytest.mark.parametrize("order", [1, 2])
def test_impulse_response_spectrum_matches_analog_butterworth(order):
    e = effects.get_effect("highpass", cutoff_hz=440.0, order=order)
    impulse = np.zeros(SR, np.float32)
    impulse[0] = 1.0
    h = e(impulse, SR).astype(np.float64)
    spectrum = np.fft.rfft(h)
    bins = np.round(FREQS * h.size / SR).astype(int)  # 1 Hz bins: exact at these frequencies
    measured = 20 * np.log10(np.abs(spectrum[bins]))
    np.testing.assert_allclose(measured, _analog_butterworth_db(FREQS, 440.0, order, "highpass"),
                               atol=0.1)


def test_filter_is_causal_same_length_float32():
    e = effects.effect_from_spec(effects.STUDY_EFFECT)
    x = np.zeros(1000, np.float32)
    x[500] = 1.0
    y = e(x, SR)
    assert y.shape == (1000,) and y.dtype == np.float32
    assert np.all(y[:500] == 0.0)  # zero initial state, nothing before the impulse
    assert y[500] != 0.0


def test_pedalboard_highpass_equals_ours():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 8192).astype(np.float32)
    ours = effects.effect_from_spec(effects.STUDY_EFFECT)(x, SR)
    theirs = effects.get_effect("pedalboard.HighpassFilter", cutoff_frequency_hz=440.0)(x, SR)
    assert np.max(np.abs(ours - theirs)) < 1e-3


@pytest.mark.parametrize(
    ("name", "gain_db", "at_f", "far_f"),
    [("peaking", 6.0, 1000.0, 50.0), ("peaking", -9.0, 1000.0, 15000.0),
     ("lowshelf", 6.0, 30.0, 15000.0), ("highshelf", -6.0, 15000.0, 30.0)],
)
def test_cookbook_biquads(name, gain_db, at_f, far_f):
    e = effects.get_effect(name, freq_hz=1000.0, gain_db=gain_db, q=0.7071)
    assert e.is_linear
    at, far = e.magnitude_response_db([at_f, far_f], sr=SR)
    assert at == pytest.approx(gain_db, abs=0.3)
    assert far == pytest.approx(0.0, abs=0.3)
    # half the gain (in dB) at the shelf midpoint
    if name != "peaking":
        assert e.magnitude_response_db([1000.0], sr=SR)[0] == pytest.approx(gain_db / 2, abs=0.05)
    # the response from sosfreqz is what filtering does
    assert _measured_gain_db(e, at_f if at_f < 10000 else 10000.0) == pytest.approx(
        e.magnitude_response_db([at_f if at_f < 10000 else 10000.0], sr=SR)[0], abs=0.05)


@pytest.mark.parametrize("name", ["highpass", "lowpass", "peaking", "lowshelf", "highshelf",
                                  "pedalboard.Reverb", "pedalboard.Distortion",
                                  "pedalboard.Compressor", "pedalboard.Chorus", "pedalboard.Gain",
                                  "pedalboard.LadderFilter"])
def test_spec_round_trips_through_json(name):
    e = effects.get_effect(name)
    spec = json.loads(json.dumps(e.spec))
    again = effects.effect_from_spec(spec)
    assert again == e and again.spec == e.spec
    x = np.random.default_rng(1).uniform(-0.3, 0.3, 4096).astype(np.float32)
    y1, y2 = e(x, SR), again(x, SR)
    assert y1.shape == x.shape and y1.dtype == np.float32
    np.testing.assert_array_equal(y1, y2)  # same spec, same output (no state kept)
    assert isinstance(e.describe(), str) and "\n" not in e.describe()


def test_order_two_is_one_parameter_away():
    spec = {"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 2}}
    e = effects.effect_from_spec(spec)
    assert e.describe() == "high-pass 440 Hz, 2nd order (12 dB/oct)"
    assert e.sos(SR).shape == (1, 6)


def test_list_effects_has_eqs_vst3_and_pedalboard():
    names = effects.list_effects()
    for n in ("highpass", "lowpass", "peaking", "lowshelf", "highshelf", "vst3",
              "pedalboard.Reverb", "pedalboard.Distortion", "pedalboard.Compressor",
              "pedalboard.Chorus", "pedalboard.Gain"):
        assert n in names
    # containers and file-based plugins are not offered by name
    for n in ("pedalboard.Pedalboard", "pedalboard.Chain", "pedalboard.VST3Plugin"):
        assert n not in names


def test_pedalboard_parameters_are_applied():
    quiet = effects.get_effect("pedalboard.Gain", gain_db=-20.0)
    x = np.full(1000, 0.5, np.float32)
    np.testing.assert_allclose(quiet(x, SR), 0.05, rtol=1e-4)
    assert quiet.is_linear
    dist = effects.get_effect("pedalboard.Distortion", drive_db=30.0)
    assert not dist.is_linear
    assert dist.params["drive_db"] == 30.0
    ladder = effects.get_effect("pedalboard.LadderFilter", mode="HPF12")
    assert ladder.spec["params"]["mode"] == "HPF12"
    limiter = effects.get_effect("pedalboard.BrickwallLimiter", true_peak=1)
    assert limiter.spec["params"]["true_peak"] is True
    reverb = effects.get_effect("pedalboard.Reverb", room_size=0.8, wet_level=0.2)
    assert reverb.params["room_size"] == 0.8 and reverb.params["wet_level"] == 0.2
    assert "room_size=0.8" in reverb.describe()


def test_distortion_is_nonlinear_and_gain_is_linear():
    x = np.random.default_rng(2).uniform(-0.3, 0.3, 4096).astype(np.float32)
    for name, linear in (("pedalboard.Gain", True), ("pedalboard.Distortion", False)):
        e = effects.get_effect(name)
        y_double = e(2 * x, SR)
        superposition = np.allclose(y_double, 2 * e(x, SR), atol=1e-4)
        assert superposition == linear == e.is_linear


@pytest.mark.parametrize(
    ("name", "params", "error", "pattern"),
    [
        ("flanger", {}, UnknownNameError, "known effects: .*highpass.*pedalboard.Reverb"),
        ("pedalboard.Flanger", {}, UnknownNameError, "pedalboard.Chorus"),
        ("highpass", {"cutoff_hz": -10.0}, ParameterError, r"\(0, inf\)"),
        ("highpass", {"cutoff_hz": float("nan")}, ParameterError, "cutoff_hz"),
        ("highpass", {"order": 3}, ParameterError, "1 \\(6 dB/octave\\) or 2"),
        ("highpass", {"order": 1.5}, ParameterError, "order"),
        ("highpass", {"cutof_hz": 440.0}, ParameterError, "cutoff_hz, order"),
        ("lowpass", {"cutoff_hz": "440"}, ParameterError, "cutoff_hz"),
        ("peaking", {"q": -1.0}, ParameterError, r"q=-1.0.*\(0, 100\]"),
        ("peaking", {"q": 0.0}, ParameterError, "q=0.0"),
        ("lowshelf", {"gain_db": 60.0}, ParameterError, r"\[-48, 48\]"),
        ("highshelf", {"freq": 1000.0}, ParameterError, "freq_hz, gain_db, q"),
        ("pedalboard.Reverb", {"roomsize": 0.5}, ParameterError,
         "damping, dry_level, freeze_mode, room_size, wet_level, width"),
        ("pedalboard.Distortion", {"drive_db": "loud"}, ParameterError, "drive_db"),
        ("pedalboard.LadderFilter", {"mode": "BANDPASS"}, ParameterError, "HPF12"),
        ("pedalboard.Reverb", {"room_size": 5.0}, ParameterError,
         "rejects: Room Size value must be between 0.0 and 1.0"),
        ("pedalboard.Compressor", {"ratio": 0.5}, ParameterError, "ratio=0.5"),
        ("pedalboard.HighpassFilter", {"cutoff_frequency_hz": -5.0}, ParameterError, "> 0"),
        ("pedalboard.Gain", {"gain_db": float("nan")}, ParameterError, "finite number"),
        ("pedalboard.Gain", {"gain_db": True}, ParameterError, "finite number"),
        ("pedalboard.BrickwallLimiter", {"true_peak": "yes"}, ParameterError, "True or False"),
        ("vst3", {}, ParameterError, "path="),
        ("vst3", {"path": "/no/such/Plugin.vst3"}, AudioFileError, "/no/such/Plugin.vst3"),
    ],
)
def test_bad_names_and_parameters(name, params, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        effects.get_effect(name, **params)
    assert "Fix:" in str(info.value)


def test_cutoff_at_or_above_nyquist_is_refused_when_used():
    e = effects.get_effect("highpass", cutoff_hz=30000.0)
    with pytest.raises(ParameterError, match=r"below Nyquist.*|\(0, 22050\)"):
        e(np.zeros(100, np.float32), SR)
    with pytest.raises(ParameterError, match="22050"):
        effects.get_effect("lowpass", cutoff_hz=22050.0).sos(SR)
    # fine at a higher rate
    assert e.sos(96000).shape == (1, 6)


def test_vst3_path_that_is_not_a_plugin(tmp_path):
    fake = tmp_path / "Fake.vst3"
    fake.write_text("not a plugin")
    with pytest.raises(AudioFileError, match="Fake.vst3"):
        effects.get_effect("vst3", path=str(fake))


@pytest.mark.parametrize("spec", [
    "highpass", {"params": {}}, {"name": "highpass", "params": [440]},
    {"name": "highpass", "parms": {}},
])
def test_bad_spec(spec):
    with pytest.raises(ParameterError, match="STUDY_EFFECT"):
        effects.effect_from_spec(spec)


@pytest.mark.parametrize(("x", "sr", "pattern"), [
    (np.zeros((2, 100), np.float32), SR, r"shape \(2, 100\)"),
    (np.zeros(100, np.float32), 0, "sr=0"),
    (np.zeros(100, np.float32), -1, "sr=-1"),
])
def test_bad_effect_input(x, sr, pattern):
    with pytest.raises(ParameterError, match=pattern):
        effects.effect_from_spec(effects.STUDY_EFFECT)(x, sr)


def test_magnitude_response_rejects_frequencies_above_nyquist():
    e = effects.effect_from_spec(effects.STUDY_EFFECT)
    with pytest.raises(ParameterError, match="22050"):
        e.magnitude_response_db([100.0, 30000.0], sr=SR)


def test_filter_classes_refuse_unknown_types():
    with pytest.raises(UnknownNameError, match="highpass, lowpass"):
        effects.ButterworthFilter("bandpass")
    with pytest.raises(UnknownNameError, match="highshelf, lowshelf, peaking"):
        effects.CookbookBiquad("notch")
