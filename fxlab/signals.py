"""Seeded test signals: the thesis's training material (section 3.3).

The thesis built its data from six functions -- white, pink, Gaussian and brown noise and a sine
whose frequency rises or falls over time -- plus copies whose amplitude rises, falls or both
("fade in and fade out", section 3.4). This module makes each of them from a seed, so the same
seed always gives the same samples.

Every generator returns ``np.float32`` of shape ``(n,)`` whose peak ``max |x|`` equals
``amplitude`` (linear full-scale units, 1.0 = 0 dBFS). The default ``amplitude=0.5`` puts the peak
at -6.02 dBFS. A high-pass can raise the peak (it removes the slow part a sample rides on): after
the study's 440 Hz high-pass (:mod:`fxlab.effects`, order 1 or 2) the highest peak we measured over
every kind and 30 seeds of one-second chunks was 0.75 (-2.5 dBFS, white noise), so neither the dry
nor the wet file comes near clipping.

Functions
---------
white_noise      uniform distribution, flat spectrum (0 dB/octave)
gaussian_noise   normal distribution, flat spectrum (0 dB/octave)
pink_noise       equal power per octave (-3 dB/octave)
brown_noise      -6 dB/octave without DC drift (spectral shaping, see its docstring)
sine_sweep       exponential (log-frequency) sine sweep, phase-continuous, rising or falling
envelope         amplitude envelopes "flat", "rise", "fall", "rise_fall" (values in [0, 1])
make_chunk       one chunk of the training material by kind name, enveloped

Constants
---------
SIGNAL_KINDS, ENVELOPES, SWEEP_RANGE_HZ, DEFAULT_AMPLITUDE, NOISE_FLOOR_HZ
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.util import check_sr

__all__ = [
    "SIGNAL_KINDS",
    "ENVELOPES",
    "SWEEP_RANGE_HZ",
    "DEFAULT_AMPLITUDE",
    "NOISE_FLOOR_HZ",
    "white_noise",
    "gaussian_noise",
    "pink_noise",
    "brown_noise",
    "sine_sweep",
    "envelope",
    "make_chunk",
]

SIGNAL_KINDS = ("white", "pink", "gaussian", "brown", "sweep_up", "sweep_down")
"""The thesis's six training functions (section 3.3), by the names :func:`make_chunk` takes."""

ENVELOPES = ("flat", "rise", "fall", "rise_fall")
"""Amplitude envelopes: the thesis's copies "in which the amplitude increased, decreased or both"."""

SWEEP_RANGE_HZ = (20.0, 20000.0)
"""The audible band the sweeps cover, Hz (capped at 0.45 x the sample rate below 44.4 kHz)."""

DEFAULT_AMPLITUDE = 0.5
"""Default peak level, linear full scale: 0.5 = -6.02 dBFS."""

NOISE_FLOOR_HZ = 20.0
"""Below this frequency (Hz) the coloured noises stop rising: their spectrum is flat down to it
and zero at DC, so they carry no sub-audible rumble or DC offset."""


# --------------------------------------------------------------------------------------------
# argument checks


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise ParameterError(problem(
            f"n={n!r}", found=f"{type(n).__name__} {n!r}",
            expected="a positive integer number of samples",
            fix="pass n as an int >= 1, e.g. n=44100 for one second at 44.1 kHz",
        ))
    return int(n)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ParameterError(problem(
            f"seed={seed!r}", found=f"{type(seed).__name__} {seed!r}",
            expected="a non-negative integer",
            fix="pass seed as an int >= 0, e.g. seed=0",
        ))
    return int(seed)


def _check_amplitude(amplitude: object) -> float:
    ok = isinstance(amplitude, numbers.Real) and not isinstance(amplitude, bool) \
        and math.isfinite(float(amplitude)) and 0.0 < float(amplitude) <= 1.0
    if not ok:
        raise ParameterError(problem(
            f"amplitude={amplitude!r}", found=repr(amplitude),
            expected="a peak level in (0, 1] (linear full scale; 0.5 = -6 dBFS)",
            fix="pass e.g. amplitude=0.5",
        ))
    return float(amplitude)


def _normalize(x: np.ndarray, amplitude: float) -> np.ndarray:
    """Scale ``x`` so that its peak equals ``amplitude``; return float32."""
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:  # only for n == 1 coloured noise (its single bin is DC); nothing to scale
        return np.zeros(x.shape, dtype=np.float32)
    return (x * (amplitude / peak)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# noises


def white_noise(n: int, *, seed: int, amplitude: float = DEFAULT_AMPLITUDE) -> np.ndarray:
    """White noise: independent samples from a uniform distribution, flat spectrum.

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    seed : int >= 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same samples.
    amplitude : float in (0, 1]
        Peak level, linear full scale (0.5 = -6.02 dBFS).

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Uniform on ``[-amplitude, amplitude]``, rescaled so that ``max |x| == amplitude``.
        Power spectral density flat (0 dB/octave).
    """
    n = _check_n(n)
    amplitude = _check_amplitude(amplitude)
    rng = np.random.default_rng(_check_seed(seed))
    return _normalize(rng.uniform(-1.0, 1.0, n), amplitude)


def gaussian_noise(n: int, *, seed: int, amplitude: float = DEFAULT_AMPLITUDE) -> np.ndarray:
    """Gaussian noise: independent samples from a normal distribution, flat spectrum.

    The thesis's "all samples follow a normal distribution". The standard normal draw is scaled
    so its largest sample reaches ``amplitude``: the shape of the distribution is kept (no
    clipping of the tails), its standard deviation is ``amplitude / max|z|`` (about
    ``amplitude / 4.3`` for one second at 44.1 kHz).

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    seed : int >= 0
        Seed of ``numpy.random.default_rng``.
    amplitude : float in (0, 1]
        Peak level, linear full scale.

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Zero-mean normal samples with ``max |x| == amplitude``; flat spectrum (0 dB/octave).
    """
    n = _check_n(n)
    amplitude = _check_amplitude(amplitude)
    rng = np.random.default_rng(_check_seed(seed))
    return _normalize(rng.standard_normal(n), amplitude)


def _coloured_noise(n: int, seed: int, amplitude: float, exponent: float, sr: int) -> np.ndarray:
    """Gaussian noise whose power spectral density falls as ``f ** -exponent`` above 20 Hz.

    Shaping is done on the whole chunk in the frequency domain: the real FFT of white Gaussian
    noise is multiplied by ``max(f, NOISE_FLOOR_HZ) ** (-exponent / 2)`` and its DC bin set to 0.
    The result is periodic over the chunk (its end joins its start smoothly) and has mean 0.
    ``sr`` only places the 20 Hz floor; the slope does not depend on it.
    """
    n = _check_n(n)
    sr = check_sr(sr)
    amplitude = _check_amplitude(amplitude)
    rng = np.random.default_rng(_check_seed(seed))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=1.0 / sr)
    gain = np.maximum(freqs, NOISE_FLOOR_HZ) ** (-exponent / 2.0)
    gain[0] = 0.0
    x = np.fft.irfft(spectrum * gain, n=n)
    return _normalize(x, amplitude)


def pink_noise(
    n: int, *, seed: int, amplitude: float = DEFAULT_AMPLITUDE, sr: int = 44100
) -> np.ndarray:
    """Pink noise: equal power in every octave, -3 dB/octave (power spectral density ~ 1/f).

    Made by spectral shaping of Gaussian white noise (amplitude spectrum ``f ** -0.5``), flat
    below :data:`NOISE_FLOOR_HZ` (20 Hz) and zero at DC, so it has no offset.

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    seed : int >= 0
        Seed of ``numpy.random.default_rng``.
    amplitude : float in (0, 1]
        Peak level, linear full scale.
    sr : int > 0
        Sample rate, Hz; places the 20 Hz floor (default 44100).

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Mean 0 (exactly, up to float rounding), ``max |x| == amplitude``.
    """
    return _coloured_noise(n, seed, amplitude, exponent=1.0, sr=sr)


def brown_noise(
    n: int, *, seed: int, amplitude: float = DEFAULT_AMPLITUDE, sr: int = 44100
) -> np.ndarray:
    """Brown (red) noise: -6 dB/octave (power spectral density ~ 1/f**2), without DC drift.

    The thesis made brown noise as a random walk ("a random offset is applied to the previous
    sample"). A random walk has the right -6 dB/octave slope but its variance grows without bound:
    over one second it wanders far from zero, so most of its energy is a slow drift below 20 Hz
    (inaudible, and removed entirely by the study's 440 Hz high-pass) and, once the peak is
    normalized, the audible part is quiet and the chunk starts and ends at different offsets.
    Here the same slope is made by spectral shaping instead: Gaussian white noise, amplitude
    spectrum multiplied by ``1/f`` above :data:`NOISE_FLOOR_HZ` (20 Hz), flat below it, DC bin
    zeroed. The result has mean 0, no trend, and the -6 dB/octave slope across the audible band.

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    seed : int >= 0
        Seed of ``numpy.random.default_rng``.
    amplitude : float in (0, 1]
        Peak level, linear full scale.
    sr : int > 0
        Sample rate, Hz; places the 20 Hz floor (default 44100).

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Mean 0, ``max |x| == amplitude``.
    """
    return _coloured_noise(n, seed, amplitude, exponent=2.0, sr=sr)


# --------------------------------------------------------------------------------------------
# sweeps


def sine_sweep(
    n: int,
    *,
    sr: int,
    f_start: float = SWEEP_RANGE_HZ[0],
    f_end: float = SWEEP_RANGE_HZ[1],
    amplitude: float = DEFAULT_AMPLITUDE,
) -> np.ndarray:
    """Exponential (logarithmic) sine sweep from ``f_start`` to ``f_end`` over ``n`` samples.

    The instantaneous frequency is ``f(t) = f_start * (f_end / f_start) ** (t / T)`` with
    ``T = n / sr`` seconds, so every octave lasts equally long; rising when ``f_end > f_start``,
    falling otherwise. The phase is the integral of ``2 pi f(t)``, so the sweep is
    phase-continuous (no jumps), and starts at phase 0 (the first sample is 0).

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    sr : int > 0
        Sample rate, Hz.
    f_start, f_end : float in (0, sr/2)
        Frequencies at the start and at the end, Hz (default 20 Hz -> 20 kHz). They may be equal
        (a constant sine).
    amplitude : float in (0, 1]
        Peak level, linear full scale.

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        ``amplitude * sin(phase)``.
    """
    n = _check_n(n)
    sr = check_sr(sr)
    amplitude = _check_amplitude(amplitude)
    nyquist = sr / 2.0
    for label, f in (("f_start", f_start), ("f_end", f_end)):
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0.0 < float(f) < nyquist:
            raise ParameterError(problem(
                f"{label}={f!r}", found=f"{f!r} Hz",
                expected=f"a frequency in (0, {nyquist:g}) Hz (below Nyquist for sr={sr})",
                fix=f"pass {label} between 0 and {nyquist:g} Hz, or raise sr",
            ))
    f0, f1 = float(f_start), float(f_end)
    duration = n / sr
    t = np.arange(n, dtype=np.float64) / sr
    if f0 == f1:
        phase = 2.0 * np.pi * f0 * t
    else:
        rate = math.log(f1 / f0) / duration  # 1/s
        phase = 2.0 * np.pi * f0 * np.expm1(rate * t) / rate
    return (amplitude * np.sin(phase)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# envelopes and chunks


def envelope(kind: str, n: int) -> np.ndarray:
    """An amplitude envelope of ``n`` samples, values in [0, 1].

    The thesis used copies of each function "in which the amplitude increased, decreased or
    both over time"; it does not give the shape. We use linear ramps (the DAW fade-in/fade-out):

    - ``"flat"``: all ones.
    - ``"rise"``: linear from 0 (first sample) to 1 (last sample).
    - ``"fall"``: linear from 1 to 0 (the time reverse of ``"rise"``).
    - ``"rise_fall"``: a triangle, 0 at both ends and 1 in the middle.

    Parameters
    ----------
    kind : str, one of :data:`ENVELOPES`
    n : int >= 1
        Length in samples.

    Returns
    -------
    env : np.ndarray [shape=(n,), dtype=float32]
    """
    if kind not in ENVELOPES:
        raise unknown_name("envelope", kind, ENVELOPES)
    n = _check_n(n)
    if kind == "flat" or n == 1:
        return np.ones(n, dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, n)
    if kind == "rise":
        env = ramp
    elif kind == "fall":
        env = ramp[::-1]
    else:  # rise_fall
        env = 1.0 - np.abs(2.0 * ramp - 1.0)
    return env.astype(np.float32)


def make_chunk(
    kind: str,
    *,
    n: int,
    sr: int,
    seed: int,
    envelope: str = "flat",
    amplitude: float = DEFAULT_AMPLITUDE,
) -> np.ndarray:
    """One chunk of the training material: a signal of ``kind`` shaped by an ``envelope``.

    Parameters
    ----------
    kind : str, one of :data:`SIGNAL_KINDS`
        ``"white"``, ``"pink"``, ``"gaussian"``, ``"brown"`` (noises, seeded) or ``"sweep_up"``,
        ``"sweep_down"`` (exponential sweeps 20 Hz <-> 20 kHz, capped at 0.45 x ``sr``; the same
        for every seed).
    n : int >= 1
        Length in samples.
    sr : int > 0
        Sample rate, Hz.
    seed : int >= 0
        Seed of the noise generator.
    envelope : str, one of :data:`ENVELOPES`
        Amplitude envelope multiplied onto the signal (see :func:`envelope`).
    amplitude : float in (0, 1]
        Peak level before the envelope, linear full scale (default 0.5 = -6.02 dBFS).

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Peak ``<= amplitude``.
    """
    if kind not in SIGNAL_KINDS:
        raise unknown_name("signal kind", kind, SIGNAL_KINDS)
    if envelope not in ENVELOPES:
        raise unknown_name("envelope", envelope, ENVELOPES)
    n = _check_n(n)
    sr = check_sr(sr)
    seed = _check_seed(seed)
    if kind == "white":
        x = white_noise(n, seed=seed, amplitude=amplitude)
    elif kind == "gaussian":
        x = gaussian_noise(n, seed=seed, amplitude=amplitude)
    elif kind == "pink":
        x = pink_noise(n, seed=seed, amplitude=amplitude, sr=sr)
    elif kind == "brown":
        x = brown_noise(n, seed=seed, amplitude=amplitude, sr=sr)
    else:
        low = SWEEP_RANGE_HZ[0]
        high = min(SWEEP_RANGE_HZ[1], 0.45 * sr)
        f0, f1 = (low, high) if kind == "sweep_up" else (high, low)
        x = sine_sweep(n, sr=sr, f_start=f0, f_end=f1, amplitude=amplitude)
    return (x * _envelope(envelope, n)).astype(np.float32)


_envelope = envelope  # make_chunk's keyword argument shadows the function's name inside it
