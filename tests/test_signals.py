"""fxlab.signals: spectral slopes, sweep frequencies, envelopes, seeding, levels and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from fxlab import signals
from fxlab.effects import get_effect
from fxlab.errors import ParameterError, UnknownNameError

SR = 44100


def _slope_db_per_octave(x: np.ndarray, sr: int = SR) -> float:
    """Slope of the Welch PSD in dB per octave over 100 Hz - 10 kHz (fit on log-spaced bands)."""
    f, p = scipy.signal.welch(x.astype(np.float64), fs=sr, nperseg=8192)
    edges = np.geomspace(100.0, 10000.0, 29)  # 4 bands per octave, equal weight per octave
    centres, levels = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        band = (f >= lo) & (f < hi)
        centres.append(np.sqrt(lo * hi))
        levels.append(10.0 * np.log10(p[band].mean()))
    slope, _ = np.polyfit(np.log2(centres), levels, 1)
    return float(slope)


@pytest.mark.parametrize(
    ("kind", "expected"), [("white", 0.0), ("gaussian", 0.0), ("pink", -3.0), ("brown", -6.0)]
)
def test_noise_spectral_slope(kind, expected):
    x = signals.make_chunk(kind, n=4 * SR, sr=SR, seed=3)
    assert _slope_db_per_octave(x) == pytest.approx(expected, abs=1.0)


def test_white_is_uniform_and_gaussian_is_normal():
    w = signals.white_noise(SR, seed=0).astype(np.float64)
    g = signals.gaussian_noise(SR, seed=0).astype(np.float64)
    # uniform: excess kurtosis -1.2; normal: 0
    def kurt(x):
        return float(np.mean((x - x.mean()) ** 4) / np.var(x) ** 2 - 3.0)
    assert kurt(w) == pytest.approx(-1.2, abs=0.05)
    assert kurt(g) == pytest.approx(0.0, abs=0.1)
    assert np.histogram(w, bins=10)[0].min() > 0.9 * SR / 10  # flat histogram


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brown_has_no_dc_drift(seed):
    x = signals.brown_noise(2 * SR, seed=seed).astype(np.float64)
    assert abs(x.mean()) < 1e-6
    # no trend: a straight-line fit explains almost none of the signal
    t = np.arange(x.size) / SR
    slope, intercept = np.polyfit(t, x, 1)
    trend = slope * t + intercept
    assert np.abs(trend).max() < 0.05
    # the means of the two halves stay near zero (a random walk wanders off)
    halves = x.reshape(2, -1).mean(axis=1)
    assert np.all(np.abs(halves) < 0.05)


def _zero_crossings(x: np.ndarray) -> np.ndarray:
    """Times (in samples, linearly interpolated) where x changes sign upwards or downwards."""
    s = np.signbit(x)
    idx = np.flatnonzero(s[1:] != s[:-1])
    idx = idx[x[idx] != 0] if idx.size else idx
    frac = x[idx] / (x[idx] - x[idx + 1])
    return idx + frac


@pytest.mark.parametrize(("kind", "f_first", "f_last"),
                         [("sweep_up", 20.0, 20000.0), ("sweep_down", 20000.0, 20.0)])
def test_sweep_start_and_end_frequency(kind, f_first, f_last):
    """Measure the frequency from zero crossings at 9 times; it must be exponential in time and
    extrapolate to the requested start and end frequencies."""
    n = 4 * SR
    x = signals.make_chunk(kind, n=n, sr=SR, seed=0).astype(np.float64)
    zc = _zero_crossings(x) / SR
    times, freqs = [], []
    for t in np.linspace(0.05, n / SR - 0.05, 9):
        sel = zc[(zc > t - 0.04) & (zc < t + 0.04)]
        times.append(sel.mean())
        freqs.append((sel.size - 1) / (2.0 * (sel[-1] - sel[0])))
    slope, intercept = np.polyfit(times, np.log(freqs), 1)
    residual = np.log(freqs) - (slope * np.asarray(times) + intercept)
    assert np.abs(residual).max() < 0.02  # an exponential (log-frequency) sweep
    assert np.exp(intercept) == pytest.approx(f_first, rel=0.03)
    assert np.exp(intercept + slope * n / SR) == pytest.approx(f_last, rel=0.03)
    # the first and last measured frequencies are already near the ends
    assert freqs[0] == pytest.approx(f_first, rel=0.12)
    assert freqs[-1] == pytest.approx(f_last, rel=0.12)


def test_sweep_is_phase_continuous_and_at_level():
    x = signals.sine_sweep(SR, sr=SR, f_start=20.0, f_end=2000.0, amplitude=0.25)
    assert x[0] == 0.0
    assert np.abs(x).max() == pytest.approx(0.25, abs=1e-3)
    # no jumps: the largest step is what a 2 kHz sine at 0.25 can do in one sample
    assert np.abs(np.diff(x)).max() <= 0.25 * 2 * np.pi * 2000 / SR * 1.01


def test_sweep_respects_low_sample_rate():
    x = signals.make_chunk("sweep_up", n=16000, sr=16000, seed=0)
    assert np.isfinite(x).all()
    with pytest.raises(ParameterError, match="Nyquist"):
        signals.sine_sweep(16000, sr=16000, f_start=20.0, f_end=20000.0)


@pytest.mark.parametrize("kind", signals.SIGNAL_KINDS)
def test_same_seed_same_signal_different_seed_different(kind):
    a = signals.make_chunk(kind, n=4096, sr=SR, seed=7, envelope="rise")
    b = signals.make_chunk(kind, n=4096, sr=SR, seed=7, envelope="rise")
    assert a.dtype == np.float32 and a.shape == (4096,)
    np.testing.assert_array_equal(a, b)
    c = signals.make_chunk(kind, n=4096, sr=SR, seed=8, envelope="rise")
    if kind.startswith("sweep"):
        np.testing.assert_array_equal(a, c)  # sweeps are deterministic, documented
    else:
        assert not np.array_equal(a, c)


def test_envelope_shapes():
    n = 1001
    flat = signals.envelope("flat", n)
    rise = signals.envelope("rise", n)
    fall = signals.envelope("fall", n)
    both = signals.envelope("rise_fall", n)
    np.testing.assert_array_equal(flat, np.ones(n, np.float32))
    assert rise[0] == 0.0 and rise[-1] == 1.0 and np.all(np.diff(rise) > 0)
    np.testing.assert_allclose(fall, rise[::-1])
    assert both[0] == 0.0 and both[-1] == 0.0 and both[n // 2] == pytest.approx(1.0)
    assert np.all(np.diff(both[: n // 2 + 1]) > 0) and np.all(np.diff(both[n // 2:]) < 0)
    for env in (flat, rise, fall, both):
        assert env.dtype == np.float32 and env.min() >= 0.0 and env.max() <= 1.0


@pytest.mark.parametrize("env", signals.ENVELOPES)
def test_make_chunk_applies_envelope(env):
    raw = signals.make_chunk("white", n=8000, sr=SR, seed=1)
    shaped = signals.make_chunk("white", n=8000, sr=SR, seed=1, envelope=env)
    np.testing.assert_allclose(shaped, raw * signals.envelope(env, 8000), rtol=1e-6)


@pytest.mark.parametrize("kind", signals.SIGNAL_KINDS)
def test_levels_leave_headroom_after_the_study_effect(kind):
    x = signals.make_chunk(kind, n=SR, sr=SR, seed=0)
    assert np.abs(x).max() == pytest.approx(signals.DEFAULT_AMPLITUDE, abs=1e-6)
    for order in (1, 2):
        y = get_effect("highpass", cutoff_hz=440.0, order=order)(x, SR)
        assert np.abs(y).max() < 0.8  # about -2 dBFS at most: no clipping


def test_amplitude_scales_peak():
    x = signals.pink_noise(SR, seed=0, amplitude=0.1)
    assert np.abs(x).max() == pytest.approx(0.1, rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"kind": "violet"}, UnknownNameError, "known signal kinds: brown, gaussian"),
        ({"envelope": "wobble"}, UnknownNameError, "known envelopes: fall, flat, rise"),
        ({"n": 0}, ParameterError, "positive integer"),
        ({"n": 10.5}, ParameterError, "positive integer"),
        ({"sr": -44100}, ParameterError, "positive whole sample rate"),
        ({"sr": 0}, ParameterError, "positive whole sample rate"),
        ({"seed": -1}, ParameterError, "non-negative integer"),
        ({"amplitude": 1.5}, ParameterError, r"\(0, 1\]"),
    ],
)
def test_make_chunk_bad_input(kwargs, error, pattern):
    args = {"kind": "white", "n": 100, "sr": SR, "seed": 0, "envelope": "flat"} | kwargs
    kind = args.pop("kind")
    with pytest.raises(error, match=pattern):
        signals.make_chunk(kind, **args)


def test_envelope_bad_kind():
    with pytest.raises(UnknownNameError, match="'ramp'"):
        signals.envelope("ramp", 10)
