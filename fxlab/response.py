"""Magnitude response of a system, measured, and its deviation from a reference.

For linear effects (the study's EQ) and models of them: feed a test signal at a stated level (a
log sweep, or an impulse), read the magnitude response on a log-frequency grid, and compare it with
the effect's own response below and above its cutoff.

- :class:`Response`, :data:`RESPONSE_METHODS`, :func:`measure_response`
- :class:`Deviation`, :func:`response_deviation`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fxlab.errors import (
    LengthMismatchError,
    NonFiniteError,
    ParameterError,
    problem,
    unknown_name,
)
from fxlab.metrics import check_band
from fxlab.util import check_sr

__all__ = ["RESPONSE_METHODS", "Deviation", "Response", "measure_response", "response_deviation"]




@dataclass(frozen=True)
class Response:
    """A measured magnitude response.

    Attributes
    ----------
    freqs_hz : np.ndarray [shape=(n_points,)]
        Log-spaced frequencies in Hz.
    magnitude_db : np.ndarray [shape=(n_points,)]
        Gain in dB (0 dB: the level passes unchanged).
    level_dbfs : float
        Peak level of the test signal in dB full scale.
    method : str
        ``"sweep"`` or ``"impulse"``.
    """

    freqs_hz: np.ndarray
    magnitude_db: np.ndarray
    level_dbfs: float
    method: str

    def at(self, freq_hz: float) -> float:
        """The gain in dB at ``freq_hz``, interpolated on a log-frequency axis."""
        return float(np.interp(np.log(freq_hz), np.log(self.freqs_hz), self.magnitude_db))


RESPONSE_METHODS = ("sweep", "impulse")
"""The test signals :func:`measure_response` knows."""


def _test_signal(method: str, n: int, tail: int, *, sr: float, f_lo: float,
                 amp: float) -> np.ndarray:
    """``n`` samples of the sweep (``f_lo / 2`` to Nyquist, 5 ms fades) or the impulse at peak
    ``amp``, then ``tail`` zeros; float64."""
    x = np.zeros(n + tail, dtype=np.float64)
    if method == "impulse":
        x[0] = amp
    else:
        f1, f2 = f_lo / 2.0, sr / 2.0
        t = np.arange(n) / sr
        dur = n / sr
        k = np.log(f2 / f1)
        x[:n] = np.sin(2 * np.pi * f1 * dur / k * (np.exp(t * k / dur) - 1.0))
        fade = min(int(0.005 * sr), n // 4)
        if fade > 0:
            ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
            x[:fade] *= ramp
            x[n - fade:n] *= ramp[::-1]
        x *= amp
    return x


def _system_output(system: Callable[[np.ndarray], np.ndarray], x32: np.ndarray, *,
                   subtract_idle: bool) -> np.ndarray:
    """The system's output on ``x32`` (float64), refused unless as long and finite; minus its
    output on silence when ``subtract_idle`` (and that is finite)."""
    y = np.asarray(system(x32), dtype=np.float64).reshape(-1)
    if y.size != x32.size:
        raise LengthMismatchError(problem(
            "system output", found=f"{y.size} samples for an input of {x32.size}",
            expected="as many samples as the input",
            fix="make the system return one output sample per input sample",
        ))
    if not np.all(np.isfinite(y)):
        raise NonFiniteError(problem(
            "system output", found="NaN or infinite samples", expected="finite samples",
            fix="check the model (it may have diverged in training)",
        ))
    if subtract_idle:
        idle = np.asarray(system(np.zeros_like(x32)), dtype=np.float64).reshape(-1)
        if idle.shape == y.shape and np.all(np.isfinite(idle)):
            y = y - idle
    return y


def _smoothed_db(x32: np.ndarray, y: np.ndarray, *, sr: float, f_lo: float, f_hi: float,
                 points_per_octave: int) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, dB)``: ``|Y| / |X|`` per FFT bin, smoothed in dB over ``1 / points_per_octave``
    octave and interpolated at log-spaced centres from ``f_lo`` to ``f_hi``."""
    nfft = max(int(2 ** np.ceil(np.log2(x32.size))), 16384)  # zero-padding: a finer grid
    px = np.abs(np.fft.rfft(x32.astype(np.float64), nfft)) ** 2
    py = np.abs(np.fft.rfft(y, nfft)) ** 2
    bins = np.fft.rfftfreq(nfft, 1.0 / sr)
    bin_db = 10.0 * np.log10(np.maximum(py, 1e-30) / np.maximum(px, 1e-30))
    n_oct = np.log2(f_hi / f_lo)
    centers = f_lo * 2.0 ** (np.arange(int(np.floor(n_oct * points_per_octave)) + 1)
                             / points_per_octave)
    # smooth in dB over a window symmetric in bins, +-1/(2 points_per_octave) octave wide (no
    # bias on a response straight in dB), then interpolate on a log-frequency axis
    width = np.floor(bins * (2.0 ** (0.5 / points_per_octave) - 1.0) / (sr / nfft)).astype(int)
    k = np.arange(bins.size)
    width = np.minimum(width, np.minimum(k, bins.size - 1 - k))
    cum = np.concatenate([[0.0], np.cumsum(bin_db)])
    smooth = (cum[k + width + 1] - cum[k - width]) / (2 * width + 1)
    mag_db = np.interp(np.log(centers), np.log(bins[1:]), smooth[1:])
    return centers, mag_db


def measure_response(system: Callable[[np.ndarray], np.ndarray], *, sr: float,
                     level_dbfs: float = -6.0, method: str = "sweep",
                     n: int | None = None, tail: int | None = None,
                     f_lo: float = 20.0, f_hi: float = 20000.0,
                     points_per_octave: int = 12, subtract_idle: bool = True) -> Response:
    """Measure a system's magnitude response from a sweep or an impulse at a stated level.

    The system is called once on a float32 test signal of shape ``(n + tail,)`` and must return
    as many samples. The response is ``|Y(f)| / |X(f)|`` with ``X`` and ``Y`` the FFTs of the
    whole (zero-padded) input and output, in dB per FFT bin, smoothed (mean in dB over a window of bins symmetric around each bin,
    ``1 / points_per_octave`` octave wide) and interpolated at log-spaced centres on a
    log-frequency axis. For a linear time-invariant system whose impulse response
    has decayed within ``tail`` samples this is its exact magnitude response (band-averaged); for
    a network it is the response of its best linear fit at that level -- networks are not linear,
    so the level is part of the result.

    Parameters
    ----------
    system : callable ``x -> y``
        E.g. ``trained.predict`` or ``lambda x: effect(x, sr)``.
    sr : float > 0
        Sample rate in Hz.
    level_dbfs : float <= 0
        Peak amplitude of the test signal in dB full scale (the sweep's amplitude, the impulse's
        height).
    method : {"sweep", "impulse"}
        ``"sweep"``: an exponential sine sweep from ``f_lo / 2`` to Nyquist, 5 ms fades, ``n``
        samples (default 1 s). ``"impulse"``: one sample at the level, then zeros (default
        ``n = 8192``); cheaper for slow models, but drives a network far from the music it learnt.
    n : int, optional
        Test-signal length in samples (before the tail).
    tail : int, optional
        Zeros appended so the response can decay (default ``n // 4``, at least 2048).
    f_lo, f_hi : float, Hz
        The range reported (capped at 0.95 x Nyquist).
    points_per_octave : int
        Resolution of the log-frequency grid.
    subtract_idle : bool
        Also run the system on silence of the same length and subtract that output first, so a
        constant offset (a network's bias) does not read as low-frequency gain. Doubles the cost.

    Returns
    -------
    Response
    """
    sr = check_sr(sr)
    if method not in RESPONSE_METHODS:
        raise unknown_name("response method", method, RESPONSE_METHODS)
    if not (isinstance(level_dbfs, int | float) and np.isfinite(level_dbfs) and level_dbfs <= 0):
        raise ParameterError(problem(
            "level_dbfs", found=repr(level_dbfs), expected="a level in dB full scale <= 0",
            fix="use e.g. -6 (half of full scale) or -20",
        ))
    f_lo, f_hi = check_band(f_lo, min(f_hi, 0.95 * sr / 2.0), sr)
    if n is None:
        n = int(sr) if method == "sweep" else 8192
    if not (isinstance(n, int | np.integer) and n >= 64):
        raise ParameterError(problem(
            "n", found=repr(n), expected="a test-signal length of at least 64 samples",
            fix="use e.g. n=44100 (one second)",
        ))
    n = int(n)
    tail = max(2048, n // 4) if tail is None else int(tail)
    amp = 10.0 ** (level_dbfs / 20.0)
    x = _test_signal(method, n, tail, sr=sr, f_lo=f_lo, amp=amp)
    x32 = x.astype(np.float32)
    y = _system_output(system, x32, subtract_idle=subtract_idle)
    centers, mag_db = _smoothed_db(x32, y, sr=sr, f_lo=f_lo, f_hi=f_hi,
                                   points_per_octave=points_per_octave)
    return Response(centers, mag_db, float(level_dbfs), method)


@dataclass(frozen=True)
class Deviation:
    """Largest absolute deviation of a response from a reference, in dB.

    Attributes
    ----------
    below_db : float
        Over ``f_lo <= f < cutoff_hz`` (the band a high-pass removes).
    above_db : float
        Over ``cutoff_hz <= f <= f_hi`` (the band it passes).
    """

    below_db: float
    above_db: float


def response_deviation(measured: Response, reference_db, *, cutoff_hz: float,
                       f_lo: float = 20.0, f_hi: float = 20000.0) -> Deviation:
    """Largest ``|measured - reference|`` in dB below and above a cutoff.

    Parameters
    ----------
    measured : Response
    reference_db : np.ndarray [shape=(n_points,)] or Response
        The true response in dB at ``measured.freqs_hz`` (e.g. from
        ``Effect.magnitude_response_db(measured.freqs_hz, sr=sr)``), or another Response.
    cutoff_hz : float > 0
        Split frequency in Hz (440 for the study's effect).
    f_lo, f_hi : float, Hz
        Range considered.

    Returns
    -------
    Deviation
        NaN for a side that holds no point.
    """
    ref = reference_db.magnitude_db if isinstance(reference_db, Response) else reference_db
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if ref.shape != measured.magnitude_db.shape:
        raise LengthMismatchError(problem(
            "reference response", found=f"{ref.size} points",
            expected=f"{measured.magnitude_db.size} points, one per measured frequency",
            fix="evaluate the reference at measured.freqs_hz",
        ))
    if not (isinstance(cutoff_hz, int | float) and cutoff_hz > 0):
        raise ParameterError(problem(
            "cutoff_hz", found=repr(cutoff_hz), expected="a frequency in Hz > 0",
            fix="pass the effect's cutoff, e.g. 440",
        ))
    f = measured.freqs_hz
    dev = np.abs(measured.magnitude_db - ref)
    below = (f >= f_lo) & (f < cutoff_hz)
    above = (f >= cutoff_hz) & (f <= f_hi)
    return Deviation(
        float(np.max(dev[below])) if np.any(below) else float("nan"),
        float(np.max(dev[above])) if np.any(above) else float("nan"),
    )
