"""Perceptual quality: how a model's output would sound to a listener, scored by a model of hearing.

The errors of :mod:`fxlab.metrics` (ESR, MSE, log-spectral distance) weigh every sample or every
frequency bin alike, so they track audibility loosely: an error masked by a loud neighbouring band
counts as much as one heard alone. ViSQOL (Virtual Speech Quality Objective Listener, Hines et al.
2015; v3, Chinen et al. 2020) compares a reference and a degraded signal on a gammatone
spectrogram, pools a neurogram similarity (NSIM) over time-frequency patches and maps it to a
MOS-LQO, a mean opinion score from 1 (bad) to 5 (excellent) as listeners would give it.

- :func:`visqol`         MOS-LQO of a degraded signal against its reference (ViSQOL v3, audio mode)
- :func:`unavailable`    why ViSQOL cannot run here (None when it can)
- :func:`to_visqol_rate` a signal resampled to ViSQOL's 48 kHz, as :func:`visqol` scores it

Constants: :data:`VISQOL_SR`, :data:`MIN_SECONDS`.

Choices
-------
- ViSQOL v3 is computed by the pure-Python ``visqol-python`` package (3.8, a port of Google's C++
  reference that states conformance with it), in **audio mode**, the mode for music and general
  audio (speech mode works at 16 kHz on speech only). Its support-vector regression from NSIM to
  MOS-LQO ships inside the package: nothing is downloaded at run time.
- Audio mode is defined at 48 kHz; fxlab's signals are 44.1 kHz, so both signals are resampled with
  :func:`fxlab.audio.resample` (soxr VHQ, linear phase, no added delay) before scoring.
- In audio mode identical signals score about 4.73, not 5: the regression's ceiling. A score is
  read against that ceiling (the evaluation measures it as a control), not against 5.
- Signals shorter than :data:`MIN_SECONDS` are refused: audio mode compares patches of 30 frames
  of 80 ms windows every 20 ms and needs 1.5 patches of the reference.
- The ``visqol`` package is imported on the first call (it compiles its numba kernels then: about
  20 s once per installation, cached afterwards; 0.2 s per second of audio after that on a 2-core
  CPU), so importing this module stays light.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from fxlab.audio import SILENCE_DB, as_mono, peak_dbfs, resample
from fxlab.errors import (
    EngineUnavailableError,
    LengthMismatchError,
    ParameterError,
    SilenceError,
    problem,
)
from fxlab.util import check_sr

__all__ = ["MIN_SECONDS", "VISQOL_SR", "to_visqol_rate", "unavailable", "visqol"]

VISQOL_SR = 48000
"""The sample rate ViSQOL's audio mode is defined at, Hz."""

_MIN_FRAMES = 45  # 1.5 patches of 30 frames: the fewest frames audio mode scores
_WINDOW = 3840  # 80 ms at 48 kHz
_HOP = 960  # 20 ms at 48 kHz
_MIN_SAMPLES = (_MIN_FRAMES - 1) * _HOP + _WINDOW  # 46,080 samples at 48 kHz

MIN_SECONDS = _MIN_SAMPLES / VISQOL_SR
"""The shortest signal ViSQOL's audio mode scores, seconds (0.96 s; 42,336 samples at 44.1 kHz)."""


def unavailable() -> str | None:
    """Why :func:`visqol` cannot run in this environment, or None when it can.

    ``visqol-python`` is a dependency of fxlab; an environment installed before it was added lacks
    it, and the evaluation then skips ViSQOL with this sentence as the reason.
    """
    try:
        _api()
    except ImportError as e:
        return (f"the visqol-python package is not installed ({e}); install it with "
                "`pip install visqol-python==3.8.0` (a dependency of fxlab)")
    return None


@functools.cache
def _api():
    """One ViSQOL audio-mode instance, made on first use (importing ``visqol`` costs ~2 s)."""
    from visqol.api import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")
    return api


def to_visqol_rate(x, *, sr: int) -> np.ndarray:
    """``x`` at ViSQOL's 48 kHz, as :func:`visqol` scores it.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
    sr : int > 0
        Its sample rate, Hz.

    Returns
    -------
    np.ndarray [shape=(ceil(n * 48000 / sr),), dtype=float64]
        Resampled by :func:`fxlab.audio.resample` (soxr VHQ); a copy when ``sr`` is 48 kHz.
    """
    sr = check_sr(sr)
    a = as_mono(x, name="signal")
    return np.asarray(resample(a, sr, VISQOL_SR), dtype=np.float64)


def visqol(reference, degraded, *, sr: int) -> float:
    """MOS-LQO of ``degraded`` against ``reference`` by ViSQOL v3 in audio mode.

    Measures how close the two would sound: about 4.73 for identical signals (audio mode's
    ceiling), lower as the degradation becomes audible, 1 at worst. The level of ``degraded`` is
    matched to the reference's before comparing (ViSQOL's own step), so a pure gain change costs
    little; a small time offset is aligned away.

    Parameters
    ----------
    reference : np.ndarray [shape=(n,)]
        What it should sound like (the effect's output), linear full scale.
    degraded : np.ndarray [shape=(n,)]
        What is scored (a model's output), same length.
    sr : int > 0
        Sample rate of both, Hz. Both are resampled to 48 kHz (:func:`to_visqol_rate`, soxr VHQ)
        when it differs: audio mode is defined there.

    Returns
    -------
    float in [1, 5]
        MOS-LQO.

    Raises
    ------
    ParameterError
        Not a mono signal, or shorter than :data:`MIN_SECONDS` (0.96 s).
    NonFiniteError
        NaN or infinite samples (a diverged model).
    LengthMismatchError
        Different lengths.
    SilenceError
        A signal whose peak is below -60 dBFS (ViSQOL's similarity is undefined for silence).
    EngineUnavailableError
        ``visqol-python`` is not installed (:func:`unavailable` says so without raising).
    """
    sr = check_sr(sr)
    ref = as_mono(reference, name="reference")
    deg = as_mono(degraded, name="degraded")
    if ref.size != deg.size:
        raise LengthMismatchError(problem(
            "reference and degraded", found=f"lengths {ref.size} and {deg.size} samples",
            expected="the same length",
            fix="trim both to the same stretch (x[a:b]) or render the output from the same input"))
    seconds = ref.size / sr
    if math.ceil(ref.size * VISQOL_SR / sr) < _MIN_SAMPLES:
        raise ParameterError(problem(
            "reference and degraded", found=f"{ref.size} samples ({seconds:.3g} s at {sr} Hz)",
            expected=f"at least {MIN_SECONDS:g} s (ViSQOL's audio mode needs 45 frames of 80 ms "
                     "every 20 ms)",
            fix=f"score a longer stretch (at least {math.ceil(MIN_SECONDS * sr)} samples at {sr} Hz)"))
    for name, a in (("reference", ref), ("degraded", deg)):
        level = peak_dbfs(a)
        if level < SILENCE_DB:
            raise SilenceError(problem(
                name, found=f"a silent signal (peak {level:.1f} dBFS)",
                expected=f"a peak above {SILENCE_DB:g} dBFS (ViSQOL compares sounds, not silence)",
                fix="score a stretch that holds sound; a model whose output is silent has failed"))
    reason = unavailable()
    if reason is not None:
        raise EngineUnavailableError(problem(
            "ViSQOL", found=reason.split(";")[0], expected="visqol-python installed",
            fix="pip install visqol-python==3.8.0"))
    r48, d48 = to_visqol_rate(ref, sr=sr), to_visqol_rate(deg, sr=sr)
    return float(_api().measure_from_arrays(r48, d48, VISQOL_SR).moslqo)
