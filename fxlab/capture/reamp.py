"""The reamp signal: the dry file a user plays through their gear, with calibration clicks.

Latency measured from arbitrary music through a nonlinear effect is fragile (see
:func:`fxlab.capture.alignment.estimate_latency`): the distortion hides the first taps of the
response, and the best linear fit can even reach into the future. Capture tools sidestep it with
a signal of their own; Neural Amp Modeler's standard input file carries calibration clicks
("blips") at known times. fxlab's reamp signal does the same, and ``fxlab train`` recognises it
by its content (no sidecar file, no metadata that a DAW could strip):

==================== =======================================================================
part                 what it is for
==================== =======================================================================
header (5.5 s)       1 s of digital silence, then :data:`N_CLICKS` single-sample clicks of
                     amplitude :data:`CLICK_AMPLITUDE`, :data:`CLICK_SPACING_S` apart, each with
                     silence around it: the latency, from the first sample of each click's
                     response that rises above the background just before it
training body        log sine sweeps (-18, -6 dBFS), pink noise (-30, -18, -6 dBFS) and the
                     shipped instrument recordings (:data:`REAMP_RECORDINGS`) at peaks of -1,
                     -6, -12 and -24 dBFS, 0.1 s apart, each recording followed by
                     :data:`REST_S` of silence (a network must learn to fall silent when the
                     playing stops), repeated until the body is full
validation, twice    the same 7.8 s stretch (sweep, noise, guitar, tabla) played two times,
                     each after silence: one take is the held-out split, the two together
                     measure the capture's noise floor and drift (as NAM's two validation takes)
tail (0.5 s)         silence, room for the gear's latency and decay
==================== =======================================================================

Alignment (:func:`align_from_clicks`): for each click, the background is the wet signal in the
0.25 s before the searched window (its mean removed, so a DC offset does not count); the onset
is the first sample within +-``max_lag`` of the click that departs from that mean by more than
twice the background's largest departure (by anything at all above a digitally silent
background, :data:`DIGITAL_SILENCE`, so a soft-starting filter's first tap at -130 dB is still
seen). The clicks must agree within :data:`CLICK_AGREEMENT` samples. On a noisy background a response's first taps can hide
under the noise, so the latency is taken :data:`SAFETY_MARGIN` sample earlier (as NAM does):
the model then keeps at most that much delay and never has to predict the future. A
digitally silent background needs no margin: the onset is exact. A click answered before it was
played is refused (a causal effect never answers early: the files are swapped, or a DAW's delay
compensation moved the wet recording).

- :func:`reamp_signal`       the signal and its :class:`ReampLayout`
- :func:`write_reamp_signal` write it as a 24-bit WAV (``fxlab reamp-signal OUT.wav``)
- :func:`layout_for`         the layout of a reamp signal of ``n`` samples at ``sr``
- :func:`recognise`          the layout when a dry signal is fxlab's reamp signal, else ``None``
- :func:`align_from_clicks`  the latency from the clicks -> :class:`ClickAlignment`
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from fxlab.errors import LengthMismatchError, MisalignmentError, ParameterError, problem

__all__ = ["CLICK_AGREEMENT", "CLICK_AMPLITUDE", "CLICK_SPACING_S", "DEFAULT_SECONDS", "MIN_SECONDS",
           "N_CLICKS", "REAMP_RECORDINGS", "SAFETY_MARGIN", "ClickAlignment", "ReampLayout",
           "align_from_clicks", "layout_for", "reamp_signal", "recognise", "write_reamp_signal"]

VERSION = 2
N_CLICKS = 3
CLICK_AMPLITUDE = 0.5
"""Each click is one sample at this value (-6 dBFS), with silence around it."""
CLICK_SPACING_S = 1.5
PRE_S = 1.0
"""Silence before the first click, seconds (the first click's background and search window)."""
BACKGROUND_S = 0.25
"""Length of the background measured before each click's search window, seconds."""
MAX_LAG_S = 0.5
"""The largest latency the clicks can measure, seconds (half the room between clicks)."""
CLICK_AGREEMENT = 2
"""The clicks' latencies may differ by at most this many samples."""
SAFETY_MARGIN = 1
"""Samples taken off the latency when the background is not digital silence."""
DEFAULT_SECONDS = 90.0
MIN_SECONDS = 40.0
REAMP_RECORDINGS = ("guitar_em9", "guitar_fifths", "guitar_slide", "tabla", "drum_roll")
"""The shipped recordings in the training body. Guitar harmonics, piano and the speech are not
used, so they stay unseen material to judge a capture on (``python -m fxlab.bench capture``)."""
_LEVELS_DB = (-1.0, -6.0, -12.0, -24.0)
_GAP_S = 0.1
REST_S = 0.5
"""Silence after each recording in the training body, seconds (version 2; version 1 had 0.1 s,
and an LSTM captured from it held a constant output after a piano chord ended)."""
_TAIL_S = 0.5
DIGITAL_SILENCE = 1e-10
"""A background whose largest departure is below this (-200 dBFS: a filter's tail decaying in
floating point; a 24-bit recording's step is -138 dBFS) is digital silence."""
_MATCH_ESR = 1e-4  # a recognised signal matches this version's within this ESR


@dataclass(frozen=True)
class ReampLayout:
    """Where each part of a reamp signal of ``n`` samples at ``sr`` lies (sample indices).

    Attributes
    ----------
    sr : int [Hz]
    n : int
        Length, samples.
    clicks : tuple of int
        Positions of the clicks.
    train : (int, int)
        The training body, ``[start, end)``.
    takes : ((int, int), (int, int))
        The two takes of the validation stretch, each ``[start, end)``; the first is the
        held-out split.
    version : int
    """

    sr: int
    n: int
    clicks: tuple[int, ...]
    train: tuple[int, int]
    takes: tuple[tuple[int, int], tuple[int, int]]
    version: int = VERSION

    def to_dict(self) -> dict:
        """JSON-able, positions in samples and seconds."""
        return {"version": self.version, "sr": self.sr, "samples": self.n,
                "seconds": self.n / self.sr, "clicks": list(self.clicks),
                "train": list(self.train), "takes": [list(t) for t in self.takes]}


def _fade(x: np.ndarray, sr: int, ms: float = 5.0) -> np.ndarray:
    k = min(int(sr * ms / 1000), x.size // 2)
    if k:
        ramp = np.linspace(0.0, 1.0, k, dtype=np.float32)
        x = x.copy()
        x[:k] *= ramp
        x[-k:] *= ramp[::-1]
    return x


def _peak(x: np.ndarray, db: float) -> np.ndarray:
    m = float(np.max(np.abs(x)))
    return (x * (10.0 ** (db / 20.0) / m)).astype(np.float32) if m > 0 else x


def _sweep(sr: int, seconds: float, db: float) -> np.ndarray:
    from fxlab.signals import sine_sweep

    top = min(20_000.0, 0.45 * sr)
    return _fade(sine_sweep(int(seconds * sr), sr=sr, f_start=20.0, f_end=top,
                            amplitude=10.0 ** (db / 20.0)), sr)


def _noise(sr: int, seconds: float, db: float, seed: int) -> np.ndarray:
    from fxlab.signals import pink_noise

    return _fade(pink_noise(int(seconds * sr), seed=seed, amplitude=10.0 ** (db / 20.0), sr=sr), sr)


@lru_cache(maxsize=4)
def _recordings(sr: int) -> dict[str, np.ndarray]:
    from fxlab.recordings import load_recording

    return {name: load_recording(name, sr=sr) for name in REAMP_RECORDINGS}


def _body_cycle(sr: int) -> list[tuple[np.ndarray, float]]:
    """One cycle of the training body: (block, seconds of silence after it) for sweeps, noise and
    the recordings at four levels."""
    recs = _recordings(sr)
    blocks = [(_sweep(sr, 3.0, -18.0), _GAP_S), (_noise(sr, 2.0, -30.0, seed=1), _GAP_S)]
    for rnd in range(len(_LEVELS_DB)):
        for i, name in enumerate(REAMP_RECORDINGS):
            level = _LEVELS_DB[(i + rnd) % len(_LEVELS_DB)]
            blocks.append((_fade(_peak(recs[name], level), sr), REST_S))
        blocks.append(([_sweep(sr, 3.0, -6.0), _noise(sr, 2.0, -18.0, seed=2),
                        _noise(sr, 2.0, -6.0, seed=3), _sweep(sr, 2.0, -12.0)][rnd], _GAP_S))
    return blocks


def _validation(sr: int) -> np.ndarray:
    """The validation stretch (played twice): silence, sweep, noise, guitar, tabla."""
    recs = _recordings(sr)
    gap = np.zeros(int(_GAP_S * sr), np.float32)
    parts = [np.zeros(int(0.5 * sr), np.float32), _sweep(sr, 1.0, -12.0), gap,
             _noise(sr, 1.0, -12.0, seed=99), gap,
             _fade(_peak(recs["guitar_em9"][2 * sr:5 * sr], -9.0), sr), gap,
             _fade(_peak(recs["tabla"][:2 * sr], -3.0), sr), gap]
    return np.concatenate(parts)


def _check_sr(sr) -> int:
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or not 22_050 <= sr <= 192_000:
        raise ParameterError(problem(
            f"reamp signal rate {sr!r}", found=repr(sr), expected="a sample rate in Hz, 22050 to 192000",
            fix="pass the rate your DAW session runs at, e.g. --rate 48000"))
    return int(sr)


def layout_for(n: int, sr: int) -> ReampLayout:
    """The layout of the reamp signal of ``n`` samples at ``sr`` Hz (``n >= MIN_SECONDS * sr``)."""
    sr = _check_sr(sr)
    if n < int(MIN_SECONDS * sr):
        raise ParameterError(problem(
            f"reamp signal of {n} samples", found=f"{n / sr:.1f} s",
            expected=f"at least {MIN_SECONDS:g} s", fix=f"use --seconds {MIN_SECONDS:g} or more"))
    pre, step = int(PRE_S * sr), int(CLICK_SPACING_S * sr)
    clicks = tuple(pre + k * step for k in range(N_CLICKS))
    body0 = clicks[-1] + step
    take = _validation(sr).size
    end_b = n - int(_TAIL_S * sr)
    start_b = end_b - take
    start_a = start_b - take
    return ReampLayout(sr, int(n), clicks, (body0, start_a), ((start_a, start_b), (start_b, end_b)))


def reamp_signal(*, seconds: float = DEFAULT_SECONDS, sr: int = 48_000) -> tuple[np.ndarray, ReampLayout]:
    """The reamp signal and its layout (see the module text).

    Parameters
    ----------
    seconds : float >= MIN_SECONDS
        Length, seconds (default 90: a minute of training material).
    sr : int [Hz]
        Sample rate: the rate of the DAW session that plays it through the gear.

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Peak -1 dBFS.
    layout : ReampLayout
    """
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) \
            or not math.isfinite(float(seconds)) or seconds < MIN_SECONDS:
        raise ParameterError(problem(
            f"reamp signal seconds={seconds!r}", found=repr(seconds),
            expected=f"a length of at least {MIN_SECONDS:g} s", fix=f"use --seconds {DEFAULT_SECONDS:g}"))
    sr = _check_sr(sr)
    return _signal(int(round(float(seconds) * sr)), sr)


def _signal(n: int, sr: int) -> tuple[np.ndarray, ReampLayout]:
    layout = layout_for(n, sr)
    x = np.zeros(n, np.float32)
    x[list(layout.clicks)] = CLICK_AMPLITUDE
    body: list[np.ndarray] = []
    length, need = 0, layout.train[1] - layout.train[0]
    cycle = _body_cycle(sr)
    while length < need:
        for block, rest in cycle:
            gap = np.zeros(int(rest * sr), np.float32)
            body += [block, gap]
            length += block.size + gap.size
            if length >= need:
                break
    b = np.concatenate(body)[:need]
    x[layout.train[0]:layout.train[1]] = _fade(b, sr, ms=10.0)
    v = _validation(sr)
    for lo, hi in layout.takes:
        x[lo:hi] = v
    return x, layout


def write_reamp_signal(path: str | os.PathLike, *, seconds: float = DEFAULT_SECONDS,
                       sr: int = 48_000) -> ReampLayout:
    """Write the reamp signal to ``path`` as a 24-bit PCM WAV (what DAWs play everywhere)."""
    from fxlab.audio import write_wav

    x, layout = reamp_signal(seconds=seconds, sr=sr)
    write_wav(Path(path), x, sr, subtype="PCM_24")
    return layout


def recognise(dry: np.ndarray, sr: int, *, name: str = "the dry signal") -> ReampLayout | None:
    """The layout when ``dry`` is fxlab's reamp signal (of any length and rate), else ``None``.

    A quick look first (digital silence before and around each click, the clicks where the
    layout puts them), then the whole signal against this version's (ESR below 1e-4: a 24-bit
    file, a resampler's rounding pass).

    Raises
    ------
    fxlab.errors.ParameterError
        The clicks are there but the rest differs: a reamp signal of another fxlab version, or
        one that was edited.
    """
    d = np.asarray(dry, dtype=np.float32).reshape(-1)
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or not 22_050 <= sr <= 192_000 \
            or d.size < int(MIN_SECONDS * sr):
        return None
    pre, step = int(PRE_S * sr), int(CLICK_SPACING_S * sr)
    clicks = [pre + k * step for k in range(N_CLICKS)]
    tol = 1e-6
    if np.any(np.abs(d[:pre]) > tol):
        return None
    for c in clicks:
        if abs(float(d[c]) - CLICK_AMPLITUDE) > 1e-4:
            return None
        if np.any(np.abs(d[c + 1:c + step // 2]) > tol) or np.any(np.abs(d[c - step // 2:c]) > tol):
            return None
    x, layout = _signal(d.size, int(sr))
    err = float(np.sum((d.astype(np.float64) - x) ** 2) / np.sum(x.astype(np.float64) ** 2))
    if err > _MATCH_ESR:
        raise ParameterError(problem(
            name, found=f"fxlab's reamp clicks, but the rest differs from this fxlab's reamp "
                        f"signal (ESR {err:.2g})",
            expected="the reamp signal as `fxlab reamp-signal` writes it, unedited",
            fix="write it again with this fxlab (`fxlab reamp-signal dry.wav --seconds "
                f"{d.size / sr:g} --rate {sr}`) and record the gear with it, or pass "
                "--latency N to train on this pair as arbitrary material"))
    return layout


@dataclass
class ClickAlignment:
    """The latency found from a reamp signal's clicks, and the evidence.

    Attributes
    ----------
    samples : int >= 0
        The latency removed: ``wet[t + samples]`` answers ``dry[t]``.
    per_click : list of int
        Each click's onset, samples after the click.
    margin : int
        Samples taken off for safety (0 on a digitally silent background).
    background : list of float
        Each click's background: the largest departure from its mean, linear full scale.
    thresholds : list of float
        The level each click's response had to exceed.
    responses : list of np.ndarray
        The wet signal around each click, lags ``response_lags``.
    response_lags : np.ndarray
    """

    samples: int
    per_click: list[int]
    margin: int
    background: list[float]
    thresholds: list[float]
    responses: list[np.ndarray]
    response_lags: np.ndarray

    @property
    def clean(self) -> bool:
        """True when every click's background was digital silence (the onset is exact)."""
        return all(b <= DIGITAL_SILENCE for b in self.background)

    def to_dict(self) -> dict:
        return {"latency_samples": int(self.samples), "method": "reamp clicks",
                "per_click": [int(v) for v in self.per_click], "margin": int(self.margin),
                "clean_background": self.clean, "background": [float(b) for b in self.background],
                "thresholds": [float(t) for t in self.thresholds],
                "response_lags": [int(k) for k in self.response_lags],
                "responses": [[float(v) for v in r] for r in self.responses]}


def align_from_clicks(wet: np.ndarray, layout: ReampLayout, *, max_lag: int | None = None,
                      name: str = "the wet signal") -> ClickAlignment:
    """The latency of ``wet`` (the gear's recording of the reamp signal) from its clicks.

    Parameters
    ----------
    wet : np.ndarray [shape=(m,)]
        The recording, from the same start as the reamp signal, at ``layout.sr``.
    layout : ReampLayout
    max_lag : int or None
        Largest latency searched, samples (at most :data:`MAX_LAG_S`; default that).
    name : str
        What to call the recording in messages (its path).

    Raises
    ------
    fxlab.errors.MisalignmentError
        A click got no response, the clicks disagree, or the wet answers before the click.
    fxlab.errors.LengthMismatchError
        The recording stops before the reamp signal's last click.
    """
    sr = layout.sr
    cap = int(MAX_LAG_S * sr)
    lag = cap if max_lag is None else min(int(max_lag), cap)
    bg_n = int(BACKGROUND_S * sr)
    w = np.asarray(wet, dtype=np.float64).reshape(-1)
    if w.size < layout.clicks[-1] + lag + 1:
        raise LengthMismatchError(problem(
            name, found=f"{w.size} samples ({w.size / sr:.2f} s)",
            expected=f"a recording of the whole reamp signal ({layout.n} samples)",
            fix="record (or export) the gear's output over the whole reamp signal, from its start"))
    per, bgs, thrs, views = [], [], [], []
    view_lags = np.arange(-32, 97)
    for k, c in enumerate(layout.clicks):
        bg = w[c - lag - bg_n:c - lag]
        centre = float(np.mean(bg))
        bg_peak = float(np.max(np.abs(bg - centre)))
        thr = 2.0 * bg_peak
        seg = np.abs(w[c - lag:c + lag + 1] - centre)
        above = np.flatnonzero(seg > thr)
        if above.size == 0:
            raise MisalignmentError(problem(
                f"{name}: click {k + 1} of {len(layout.clicks)} (at {c / sr:.2f} s)",
                found=f"no response within +-{lag} samples ({1000 * lag / sr:.0f} ms)",
                expected="the gear's answer to each click of the reamp signal",
                fix="record the gear's output from the very start of the reamp signal, with no "
                    "noise gate in the chain; for more than 0.5 s of latency trim the wet file's "
                    "start by the excess"))
        per.append(int(above[0]) - lag)
        bgs.append(bg_peak)
        thrs.append(thr)
        views.append(w[c + view_lags] - centre)
    spread = max(per) - min(per)
    if spread > CLICK_AGREEMENT:
        raise MisalignmentError(problem(
            name, found=f"the clicks answered at {', '.join(f'{v:+d}' for v in per)} samples",
            expected=f"the same latency for every click (within {CLICK_AGREEMENT} samples)",
            fix="the recording drifts or dropped samples: record again with the interface and "
                "DAW at one sample rate, one clock, and a larger buffer"))
    onset = min(per)
    if onset < 0:
        raise MisalignmentError(problem(
            name, found=f"the gear answered {-onset} samples before each click was played",
            expected="a response that starts at the click or after it (a causal effect never "
                     "answers early)",
            fix="check that --dry is the reamp signal and --wet the gear's recording (not "
                "swapped), and turn off the DAW's delay compensation for the recording; if the "
                f"wet truly was moved {-onset} samples early, pass --latency {onset}"))
    margin = 0 if all(b <= DIGITAL_SILENCE for b in bgs) else SAFETY_MARGIN
    return ClickAlignment(max(onset - margin, 0), per, margin, bgs, thrs, views, view_lags)
