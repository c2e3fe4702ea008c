"""Metrics: how far a model's output is from the effect's output.

Every function takes numpy arrays (no TensorFlow) of shape ``(n,)``, time on the last axis, the
*target* (the effect's output) first and the model's *output* second. Numbers are computed in
float64 whatever the input dtype.

Sample-domain errors
    :func:`mse`               mean squared error, the thesis's measure (section 3.5.1)
    :func:`esr`               error-to-signal ratio, ``sum((t - o)**2) / sum(t**2)``
    :func:`snr_db`            signal-to-error ratio in dB, ``-10 log10(esr)``
    :func:`accuracy_12bit`    the thesis's "accuracy": share of samples with ``|error| < 2**-12``

Spectral errors (the comparison the thesis made by eye in its Figs. 12-13)
    :func:`power_spectrum`                long-term (Welch) power spectrum in dB
    :func:`log_spectral_distance`         RMS of the dB difference of the two spectra, 20 Hz-20 kHz
    :func:`third_octave_band_errors`      level difference per third-octave band (dB)
    :func:`multi_resolution_stft_distance` spectral convergence + log-magnitude L1 over 3 STFT sizes

Frequencies
    :func:`third_octave_centers`  the base-10 third-octave centre frequencies (IEC 61260)

A system's magnitude response and its deviation from a reference are :mod:`fxlab.response`'s.

Choices where the thesis is silent are stated in each docstring: the ESR of a silent target raises
:class:`~fxlab.errors.SilenceError` (the ratio is undefined); the log-spectral distance is taken on
long-term spectra, not frame by frame, so silent frames do not dominate it.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy import signal as sps

from fxlab.errors import (
    LengthMismatchError,
    NonFiniteError,
    ParameterError,
    SilenceError,
    problem,
)
from fxlab.util import check_sr

__all__ = [
    "TWELVE_BIT_STEP",
    "check_band",
    "mse",
    "esr",
    "snr_db",
    "accuracy_12bit",
    "power_spectrum",
    "log_spectral_distance",
    "third_octave_centers",
    "BandErrors",
    "third_octave_band_errors",
    "multi_resolution_stft_distance",
]

TWELVE_BIT_STEP = 2.0**-12
"""One step of 12-bit audio on the [-1, 1] scale as the thesis counts it (0.000244, section 3.5.1)."""

_SPECTRUM_FLOOR_DB = -200.0  # power below this (relative to full scale) counts as this level


# ------------------------------------------------------------------ checks


def _pair(target, output, *, names=("target", "output")) -> tuple[np.ndarray, np.ndarray]:
    """Check two signals (1-D, same length, finite, non-empty) and return them as float64."""
    arrays = []
    for name, x in zip(names, (target, output), strict=True):
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 2 and 1 in a.shape:
            a = a.reshape(-1)
        if a.ndim != 1:
            raise ParameterError(problem(
                name, found=f"an array of shape {a.shape}", expected="a mono signal of shape (n,)",
                fix="pass one channel, e.g. x[:, 0], or average the channels",
            ))
        if a.size == 0:
            raise ParameterError(problem(
                name, found="an empty signal", expected="at least one sample",
                fix="check that the file or array holds audio",
            ))
        if not np.all(np.isfinite(a)):
            bad = int(np.count_nonzero(~np.isfinite(a)))
            raise NonFiniteError(problem(
                name, found=f"{bad} NaN or infinite samples", expected="finite samples",
                fix="check the model's output (a diverged model gives NaN) or the file",
            ))
        arrays.append(a)
    t, o = arrays
    if t.shape != o.shape:
        raise LengthMismatchError(problem(
            f"{names[0]} and {names[1]}", found=f"lengths {t.size} and {o.size} samples",
            expected="the same length",
            fix="trim both to the shorter one (x[:n]) or render the output from the same input",
        ))
    return t, o


def check_band(f_lo, f_hi, sr) -> tuple[float, float]:
    """Check a frequency band ``0 < f_lo < f_hi`` [Hz] and clip ``f_hi`` to below Nyquist."""
    nyq = sr / 2.0
    if not (0 < f_lo < f_hi):
        raise ParameterError(problem(
            "frequency band", found=f"f_lo={f_lo!r} Hz, f_hi={f_hi!r} Hz",
            expected="0 < f_lo < f_hi", fix="use e.g. f_lo=20, f_hi=20000",
        ))
    if f_lo >= nyq:
        raise ParameterError(problem(
            "f_lo", found=f"{f_lo} Hz at sr={sr:g} Hz", expected=f"below Nyquist ({nyq:g} Hz)",
            fix="lower f_lo or use a higher sample rate",
        ))
    return float(f_lo), float(min(f_hi, nyq))


# ------------------------------------------------------------------ sample-domain errors


def mse(target, output) -> float:
    """Mean squared error, the thesis's measure (section 3.5.1).

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
        The effect's output and the model's output, on the [-1, 1] scale.

    Returns
    -------
    float >= 0
        ``mean((target - output)**2)`` (full-scale units squared).
    """
    t, o = _pair(target, output)
    return float(np.mean((t - o) ** 2))


def esr(target, output) -> float:
    """Error-to-signal ratio ``sum((target - output)**2) / sum(target**2)``.

    0 is a perfect match; 1 is what silence (an output of zeros) scores. Unlike the MSE it does not
    depend on the level of the material, so clips of different loudness compare.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
        The effect's output and the model's output.

    Returns
    -------
    float >= 0

    Raises
    ------
    SilenceError
        If the target is all zeros: the ratio is undefined there (choice: an error rather than
        ``inf``, so a wrong file does not turn into a table of infinities).
    """
    t, o = _pair(target, output)
    energy = float(np.sum(t**2))
    if energy == 0.0:
        raise SilenceError(problem(
            "target", found="a silent signal (all samples 0)",
            expected="a target with energy (ESR divides by it)",
            fix="check the target file or split; use mse() for silent material",
        ))
    return float(np.sum((t - o) ** 2) / energy)


def snr_db(target, output) -> float:
    """Signal-to-error ratio in dB, ``10 log10(sum(target**2) / sum((target - output)**2))``.

    Equals ``-10 log10(esr(target, output))``: 0 dB for an output of silence, ``inf`` for an exact
    match. Raises :class:`~fxlab.errors.SilenceError` for a silent target, as :func:`esr` does.
    """
    ratio = esr(target, output)
    return float("inf") if ratio == 0.0 else float(-10.0 * np.log10(ratio))


def accuracy_12bit(target, output, *, step: float = TWELVE_BIT_STEP) -> float:
    """The thesis's "accuracy": the share of samples whose error is below one 12-bit step.

    Section 3.5.1: a sample "is considered accurate enough if the difference between the output
    value and the target was less than the minimum difference between two values of a 12 bit
    audio, 0.000244 (1/2**12)". The comparison is strict: an error of exactly ``step`` does not
    count as accurate.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    step : float > 0
        The tolerance on the [-1, 1] scale; ``2**-12`` as the thesis.

    Returns
    -------
    float in [0, 1]
    """
    if not (isinstance(step, int | float) and step > 0):
        raise ParameterError(problem(
            "step", found=repr(step), expected="a tolerance > 0", fix="use the default 2**-12",
        ))
    t, o = _pair(target, output)
    return float(np.mean(np.abs(t - o) < step))


# ------------------------------------------------------------------ spectra


def power_spectrum(x, *, sr: float, n_fft: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Long-term power spectrum (Welch, Hann window, 50 % overlap) in dB.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
    sr : float > 0
        Sample rate in Hz.
    n_fft : int > 0
        Segment length in samples (8192 at 44.1 kHz: bins 5.4 Hz apart). Shorter signals use their
        own length.

    Returns
    -------
    freqs_hz : np.ndarray [shape=(n_fft // 2 + 1,)]
    power_db : np.ndarray [shape=(n_fft // 2 + 1,)]
        ``10 log10`` of the power spectral density (full scale squared per Hz), floored at -200 dB.
    """
    sr = check_sr(sr)
    a, _ = _pair(x, x, names=("x", "x"))
    freqs, psd = _welch(a, sr, n_fft)
    return freqs, _db_power(psd)


def _welch(a: np.ndarray, sr: float, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(n_fft, int | np.integer) and n_fft > 0):
        raise ParameterError(problem(
            "n_fft", found=repr(n_fft), expected="an integer number of samples > 0",
            fix="use e.g. n_fft=8192",
        ))
    nper = int(min(n_fft, a.size))
    return sps.welch(a, fs=sr, window="hann", nperseg=nper, noverlap=nper // 2,
                     detrend=False, scaling="density")


def _db_power(p: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(p, 10.0 ** (_SPECTRUM_FLOOR_DB / 10.0)))


def log_spectral_distance(target, output, *, sr: float, f_lo: float = 20.0,
                          f_hi: float = 20000.0, n_fft: int = 8192,
                          dynamic_range_db: float | None = 80.0) -> float:
    """Log-spectral distance in dB between the long-term spectra of target and output.

    ``sqrt(mean_k (10 log10 P_target(f_k) - 10 log10 P_output(f_k))**2)`` over the Welch bins
    ``f_lo <= f_k <= f_hi`` (20 Hz-20 kHz, capped at Nyquist). A constant gain ``g`` gives
    ``|20 log10 g|`` dB (0.5 -> 6.02 dB). Choice: long-term spectra rather than frame-by-frame,
    so the number answers the thesis's question "is the frequency spectrum preserved"
    (Figs. 12-13) and silent passages do not dominate it. Both spectra are floored at
    ``dynamic_range_db`` below the target's peak bin, so bands where the target holds nothing
    (speech recorded at 16 kHz has nothing above 8 kHz) compare noise floors no more than that.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    sr : float > 0
        Sample rate in Hz.
    f_lo, f_hi : float, Hz
        The band compared.
    n_fft : int
        Welch segment length in samples (see :func:`power_spectrum`).
    dynamic_range_db : float > 0 or None
        Floor of both spectra below the target's peak bin (None: only the -200 dB floor).

    Returns
    -------
    float >= 0, dB
    """
    sr = check_sr(sr)
    f_lo, f_hi = check_band(f_lo, f_hi, sr)
    t, o = _pair(target, output)
    freqs, pt = _welch(t, sr, n_fft)
    _, po = _welch(o, sr, n_fft)
    sel = (freqs >= f_lo) & (freqs <= f_hi)
    if not np.any(sel):
        raise ParameterError(problem(
            "signal length", found=f"{t.size} samples: no spectrum bin between {f_lo:g} and "
            f"{f_hi:g} Hz", expected=f"at least {int(np.ceil(sr / f_lo))} samples",
            fix="compare longer signals or raise f_lo",
        ))
    dt, do = _floored(_db_power(pt[sel]), _db_power(po[sel]), dynamic_range_db)
    return float(np.sqrt(np.mean((dt - do) ** 2)))


def _floored(t_db: np.ndarray, o_db: np.ndarray, dynamic_range_db: float | None):
    if dynamic_range_db is None:
        return t_db, o_db
    if not (isinstance(dynamic_range_db, int | float) and dynamic_range_db > 0):
        raise ParameterError(problem(
            "dynamic_range_db", found=repr(dynamic_range_db), expected="a range in dB > 0 or None",
            fix="use e.g. 80",
        ))
    floor = float(np.nanmax(t_db)) - dynamic_range_db
    return np.maximum(t_db, floor), np.maximum(o_db, floor)


def third_octave_centers(f_lo: float = 20.0, f_hi: float = 20000.0) -> np.ndarray:
    """Exact base-10 third-octave centre frequencies ``1000 * 10**(k/10)`` Hz in [f_lo, f_hi].

    Returns
    -------
    np.ndarray [shape=(n_bands,)], Hz (20 Hz-20 kHz: 31 bands, 19.95 Hz to 19953 Hz)
    """
    k_lo = int(np.ceil(10 * np.log10(f_lo / 1000.0) - 1e-9 - 0.5))
    k_hi = int(np.floor(10 * np.log10(f_hi / 1000.0) + 1e-9 + 0.5))
    centers = 1000.0 * 10.0 ** (np.arange(k_lo, k_hi + 1) / 10.0)
    edge = 10.0 ** (1.0 / 20.0)
    return centers[(centers * edge > f_lo) & (centers / edge < f_hi)]


@dataclass(frozen=True)
class BandErrors:
    """Levels per third-octave band.

    Attributes
    ----------
    centers_hz : np.ndarray [shape=(n_bands,)]
    target_db, output_db : np.ndarray [shape=(n_bands,)]
        Band power in dB (full scale squared), NaN where the band holds no spectrum bin.
    error_db : np.ndarray [shape=(n_bands,)]
        ``output_db - target_db``: positive where the model is too loud in that band.
    """

    centers_hz: np.ndarray
    target_db: np.ndarray
    output_db: np.ndarray
    error_db: np.ndarray

    def as_dict(self) -> dict[str, float]:
        """``{"band_<centre Hz>": error_db}`` with centres rounded to the nominal 3 digits."""
        return {f"band_{c:.3g}Hz": (None if np.isnan(e) else float(e))
                for c, e in zip(self.centers_hz, self.error_db, strict=True)}


def third_octave_band_errors(target, output, *, sr: float, f_lo: float = 20.0,
                             f_hi: float = 20000.0, n_fft: int = 8192,
                             dynamic_range_db: float | None = 80.0) -> BandErrors:
    """Level difference between output and target in each third-octave band.

    Band power is the sum of the Welch power spectral density over the bins inside the band edges
    ``fc * 10**(+-1/20)``. Low bands that hold no bin (short signals) are NaN.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    sr : float > 0, Hz
    f_lo, f_hi : float, Hz
        Bands whose range touches [f_lo, f_hi] are kept (20 Hz-20 kHz: 31 bands).
    n_fft : int
        Welch segment length in samples.
    dynamic_range_db : float > 0 or None
        Band levels are floored this far below the target's loudest band (as in
        :func:`log_spectral_distance`).

    Returns
    -------
    BandErrors
    """
    sr = check_sr(sr)
    f_lo, f_hi = check_band(f_lo, f_hi, sr)
    t, o = _pair(target, output)
    freqs, pt = _welch(t, sr, n_fft)
    _, po = _welch(o, sr, n_fft)
    centers = third_octave_centers(f_lo, f_hi)
    edge = 10.0 ** (1.0 / 20.0)
    tdb, odb = np.full(centers.size, np.nan), np.full(centers.size, np.nan)
    for i, fc in enumerate(centers):
        sel = (freqs >= fc / edge) & (freqs < fc * edge)
        if np.any(sel):
            tdb[i] = _db_power(np.sum(pt[sel]))
            odb[i] = _db_power(np.sum(po[sel]))
    if dynamic_range_db is not None and np.any(np.isfinite(tdb)):
        tdb, odb = _floored(tdb, odb, dynamic_range_db)
    return BandErrors(centers, tdb, odb, odb - tdb)


def _stft_mag(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``|STFT|`` of ``x`` [shape=(1 + n_fft // 2, n_frames)] by :func:`librosa.stft`.

    Periodic Hann window, frames not centred (the first frame starts at sample 0, as
    :func:`fxlab.losses.mrstft`), a signal shorter than ``n_fft`` zero-padded to one frame.
    """
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    return np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop, window="hann", center=False))


def multi_resolution_stft_distance(target, output, *,
                                   fft_sizes: tuple[int, ...] = (512, 1024, 2048),
                                   eps: float = 1e-7) -> float:
    """Multi-resolution STFT distance (as auraloss's ``MultiResolutionSTFTLoss``).

    For each FFT size N (hop N/4, Hann window, frames not centred; :func:`librosa.stft`): spectral
    convergence ``||S_t - S_o||_F / ||S_t||_F`` plus the mean absolute difference of ``log10`` magnitudes
    (``log10(|S| + eps)``); the result is the mean over the sizes. 0 for identical signals.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    fft_sizes : tuple of int
        Frame lengths in samples.
    eps : float > 0
        Magnitude floor of the log term.

    Returns
    -------
    float >= 0 (no unit)
    """
    t, o = _pair(target, output)
    if not fft_sizes or any(not (isinstance(n, int) and n >= 16) for n in fft_sizes):
        raise ParameterError(problem(
            "fft_sizes", found=repr(fft_sizes), expected="a tuple of integers >= 16",
            fix="use e.g. (512, 1024, 2048)",
        ))
    total = 0.0
    for n in fft_sizes:
        st, so = _stft_mag(t, n, n // 4), _stft_mag(o, n, n // 4)
        norm = np.linalg.norm(st)
        sc = np.linalg.norm(st - so) / norm if norm > 0 else float(np.linalg.norm(so) > 0)
        logmag = np.mean(np.abs(np.log10(st + eps) - np.log10(so + eps)))
        total += sc + logmag
    return float(total / len(fft_sizes))
