"""Aliasing and harmonics over a grid of tones: the field's aliasing-to-signal ratio.

A nonlinear model run at the sample rate makes harmonics above Nyquist, and they fold back to
frequencies that are not harmonics of the input: aliasing. The literature measures it with steady
tones (arXiv 2505.04082; Carson et al., arXiv 2505.11375): the **aliasing-to-signal ratio** (ASR)
is the energy of a steady tone's output outside the harmonic bins over the energy in them, from one
long DFT. This module measures it on a grid of tones at several levels, with each harmonic's level,
for an effect and for the models that emulate it.

Method (exact bins). Every tone has a whole number ``k`` of periods in ``n = 65536`` samples
(``f = k sr / n``; 1.49 s at 44.1 kHz), ``k`` odd. After a settling stretch, one period of the
steady output (``n`` samples) is analysed with a plain DFT: a periodic output puts every component
exactly on a bin, harmonics on the multiples of ``k`` and aliases where harmonics above Nyquist fold
(``m k`` reflected about ``n / 2``). Since ``n`` is a power of two and ``k`` odd, a fold of ``m k``
is never a multiple of ``k`` unless ``m`` reaches ``n`` (harmonic 65536): harmonics and aliases do
not share a bin, and no window or guard band is needed. What is not periodic (a transient not
settled, a model's drift) spreads over every bin and counts as aliasing: the measure errs towards
blaming the model. DC is left out of both sums and reported on its own.

- :data:`DEFAULT_LEVELS_DBFS`  -24, -12, -6, 0 dBFS (peak of the sine)
- :func:`tone_grid`            the tones: ``count`` odd bins near log-spaced frequencies
- :class:`Aliasing`            one system measured over tones x levels
- :func:`measure_aliasing`     tones at levels through a processor ``fn(x) -> y``
- :func:`excess`               the model's aliasing / 2nd harmonic beyond the effect's (dB, worst tone)
- :func:`aliasing_table`       effect and models side by side per level (HTML)

Settings of a run (effect and conditioned models) are measured by
:func:`fxlab.evaluate.aliasing.run_aliasing`; the figure is
:func:`fxlab.plots.evaluation.plot_aliasing`; ``python -m fxlab.bench aliasing`` prints the
issue's figures for the ``pedal`` benchmark's model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.harmonics import DEFAULT_LEVELS_DBFS, check_levels, checked_output
from fxlab.util import Html, check_sr, html_table

__all__ = ["DEFAULT_LEVELS_DBFS", "FLOOR_DB", "Aliasing", "aliasing_table", "excess",
           "measure_aliasing", "tone_grid"]

#: Analysis length, samples (a power of two: see the module text).
N_ANALYSIS = 65536
#: Below this (dB) an aliasing or harmonic level counts as inaudible: the issue's threshold.
FLOOR_DB = -80.0
_ZERO_DB = -300.0  # what exactly nothing reads


def tone_grid(sr: int, *, count: int = 20, lo_hz: float = 50.0, hi_hz: float = 8000.0,
              n: int = N_ANALYSIS) -> np.ndarray:
    """``count`` distinct odd bins ``k`` (tones ``k sr / n``) nearest to log-spaced ``lo_hz .. hi_hz``."""
    sr = check_sr(sr)
    if not (isinstance(count, int) and 2 <= count <= 200):
        raise ParameterError(problem("count", found=repr(count), expected="an integer in [2, 200]",
                                     fix="use e.g. count=20"))
    if not 0 < lo_hz < hi_hz < sr / 4:
        raise ParameterError(problem(
            "tone range", found=f"{lo_hz:g} .. {hi_hz:g} Hz",
            expected=f"0 < lo_hz < hi_hz < sr / 4 ({sr / 4:g} Hz: a 2nd harmonic below Nyquist)",
            fix="use e.g. lo_hz=50, hi_hz=8000"))
    ks: list[int] = []
    for f in np.geomspace(lo_hz, hi_hz, count):
        k = 2 * int(round((f * n / sr - 1) / 2)) + 1  # the nearest odd bin
        while k in ks:
            k += 2
        ks.append(max(k, 1))
    return np.array(ks, dtype=np.int64)


@dataclass(frozen=True)
class Aliasing:
    """One system's aliasing and harmonics over tones x levels.

    Attributes
    ----------
    sr : int
    n : int
        Samples analysed per tone (one period of the steady output).
    tones_hz : np.ndarray [shape=(T,)]
        The tones, Hz (``bins * sr / n``).
    bins : np.ndarray [shape=(T,), int]
    levels_dbfs : np.ndarray [shape=(L,)]
        Peak levels of the input sines.
    asr_db : np.ndarray [shape=(L, T)]
        Aliasing-to-signal ratio, dB: energy outside the harmonic bins (DC left out) over the
        energy in them; -300 for none.
    harmonic_db : np.ndarray [shape=(L, T, H)]
        Harmonics 1..H relative to the fundamental, dB (NaN at or above Nyquist).
    dc_db : np.ndarray [shape=(L, T)]
        The output's DC relative to the fundamental's amplitude, dB.
    """

    sr: int
    n: int
    tones_hz: np.ndarray
    bins: np.ndarray
    levels_dbfs: np.ndarray
    asr_db: np.ndarray
    harmonic_db: np.ndarray
    dc_db: np.ndarray

    def level_index(self, level_dbfs: float) -> int:
        hits = np.flatnonzero(np.isclose(self.levels_dbfs, level_dbfs))
        if not hits.size:
            raise ParameterError(problem(
                f"level {level_dbfs:g} dBFS", found="not measured",
                expected=f"one of {', '.join(f'{v:g}' for v in self.levels_dbfs)} dBFS",
                fix="measure it (levels_dbfs=...) or ask for a measured level"))
        return int(hits[0])

    def to_dict(self) -> dict:
        """JSON-ready: lists, NaN as None."""
        def clean(a):
            return np.where(np.isfinite(a), np.round(a, 2), np.nan).astype(object).tolist()

        return {"sr": self.sr, "n": self.n, "tones_hz": np.round(self.tones_hz, 3).tolist(),
                "levels_dbfs": self.levels_dbfs.tolist(), "asr_db": _none(clean(self.asr_db)),
                "h2_db": _none(clean(self.harmonic_db[..., 1])), "h3_db": _none(clean(self.harmonic_db[..., 2])),
                "dc_db": _none(clean(self.dc_db))}


def _none(v):
    if isinstance(v, list):
        return [_none(u) for u in v]
    return None if isinstance(v, float) and math.isnan(v) else v


def _db(p: float) -> float:
    return float(10.0 * np.log10(p)) if p > 0 else _ZERO_DB


def analyse_period(y: np.ndarray, k: int, n_harmonics: int) -> tuple[float, np.ndarray, float]:
    """``(asr_db, harmonic_db (n_harmonics,), dc_db)`` of one period ``y`` (``n`` samples) of a
    steady output whose fundamental sits on bin ``k``."""
    n = y.size
    power = np.abs(np.fft.rfft(np.asarray(y, np.float64))) ** 2
    harm = np.arange(k, power.size, k)
    if n % 2 == 0 and harm.size and harm[-1] == n // 2:
        harm = harm[:-1]  # Nyquist is no harmonic's own bin
    fund = power[k]
    in_harm = float(power[harm].sum())
    outside = float(power[1:].sum()) - in_harm
    asr = _db(max(outside, 0.0) / in_harm) if in_harm > 0 else math.nan
    levels = np.full(n_harmonics, math.nan)
    for m in range(1, n_harmonics + 1):
        if m * k < n / 2:
            levels[m - 1] = _db(power[m * k] / fund) if fund > 0 else math.nan
    dc = _db(power[0] / (4.0 * fund)) if fund > 0 else math.nan  # DC amplitude^2 vs (A/2)^2 * 4
    return asr, levels, dc


def measure_aliasing(fn: Callable[[np.ndarray], np.ndarray], *, sr: int,
                     levels_dbfs: Sequence[float] = DEFAULT_LEVELS_DBFS, count: int = 20,
                     lo_hz: float = 50.0, hi_hz: float = 8000.0, settle_s: float = 0.3,
                     n_harmonics: int = 5) -> Aliasing:
    """Tones at levels through a processor: aliasing-to-signal ratio and harmonics of each.

    Parameters
    ----------
    fn : callable ``x (n,) float32 -> y (n,)``
        Called once per tone and level with a fresh sine starting at phase 0 (a stateful processor
        should start from rest): ``settle_s`` seconds plus one analysis period (1.49 s at 44.1 kHz).
    sr : int
    levels_dbfs : sequence of float <= 0
    count, lo_hz, hi_hz
        The tone grid (:func:`tone_grid`): 20 tones, 50 Hz to 8 kHz by default.
    settle_s : float >= 0
        Output skipped before the analysed period.
    n_harmonics : int >= 2
        Harmonics reported (the fundamental included).
    """
    sr = check_sr(sr)
    levels = check_levels(levels_dbfs)
    if not (isinstance(n_harmonics, int) and 2 <= n_harmonics <= 50):
        raise ParameterError(problem("n_harmonics", found=repr(n_harmonics),
                                     expected="an integer in [2, 50]", fix="use e.g. n_harmonics=5"))
    if not (isinstance(settle_s, int | float) and 0 <= settle_s <= 10):
        raise ParameterError(problem("settle_s", found=repr(settle_s), expected="seconds in [0, 10]",
                                     fix="use e.g. settle_s=0.3"))
    n = N_ANALYSIS
    bins = tone_grid(sr, count=count, lo_hz=lo_hz, hi_hz=hi_hz, n=n)
    settle = int(round(settle_s * sr))
    i = np.arange(settle + n, dtype=np.int64)
    asr = np.full((len(levels), bins.size), math.nan)
    dc = np.full_like(asr, math.nan)
    harm = np.full((len(levels), bins.size, n_harmonics), math.nan)
    for t, k in enumerate(bins):
        phase = np.sin(2.0 * np.pi * ((int(k) * i) % n) / n)  # exactly periodic in n samples
        for li, level in enumerate(levels):
            x = (10.0 ** (level / 20.0) * phase).astype(np.float32)
            y = checked_output(fn, x, level)
            asr[li, t], harm[li, t], dc[li, t] = analyse_period(y[settle:], int(k), n_harmonics)
    return Aliasing(sr=sr, n=n, tones_hz=bins * sr / n, bins=bins,
                    levels_dbfs=np.asarray(levels, float), asr_db=asr, harmonic_db=harm, dc_db=dc)


def _check_same(target: Aliasing, model: Aliasing, name: str) -> None:
    if not (target.sr == model.sr and np.array_equal(target.bins, model.bins)
            and np.array_equal(target.levels_dbfs, model.levels_dbfs)):
        raise ParameterError(problem(
            f"aliasing of {name!r}", found="measured with other tones, levels or rate than the target",
            expected="the target's measure_aliasing settings", fix="measure both with the same settings"))


def excess(target: Aliasing, model: Aliasing, *, level_dbfs: float = 0.0,
           floor_db: float = FLOOR_DB, name: str = "model") -> dict[str, float]:
    """How far the model's aliasing and 2nd harmonic go beyond the effect's, at one level.

    For each tone: the model's value minus the larger of the effect's and ``floor_db`` (a model
    below the floor, or no louder than the effect, scores <= 0). Returns the worst tone's
    ``asr_excess_db`` and ``h2_excess_db``, the tones where they occur, and the model's and the
    effect's worst ASR (``asr_worst_db_model``, ``asr_worst_db_effect``).
    """
    _check_same(target, model, name)
    li = target.level_index(level_dbfs)
    a = model.asr_db[li] - np.maximum(target.asr_db[li], floor_db)
    h = model.harmonic_db[li, :, 1] - np.maximum(target.harmonic_db[li, :, 1], floor_db)
    ia, ih = int(np.nanargmax(a)), int(np.nanargmax(h))
    return {"asr_excess_db": float(a[ia]), "asr_excess_hz": float(target.tones_hz[ia]),
            "h2_excess_db": float(h[ih]), "h2_excess_hz": float(target.tones_hz[ih]),
            "asr_worst_db_model": float(np.nanmax(model.asr_db[li])),
            "asr_worst_db_effect": float(np.nanmax(target.asr_db[li]))}


def _fmt(v: float) -> str:
    return "—" if not np.isfinite(v) else ("< −120" if v < -120 else f"{v:.1f}")


def aliasing_table(target: Aliasing, models: Mapping[str, Aliasing], *,
                   target_label: str = "effect", floor_db: float = FLOOR_DB) -> Html:
    """Per level: the worst and the median ASR over the tones, the worst 2nd and 3rd harmonic and
    DC (dB re the fundamental), effect first, then each model with its excess over the effect."""
    for name, m in models.items():
        _check_same(target, m, name)
    header = ["level (dBFS)", "system", "ASR worst (dB)", "ASR median (dB)", "at (Hz)",
              "H2 worst (dB)", "H3 worst (dB)", "DC worst (dB)", "ASR excess (dB)", "H2 excess (dB)"]
    rows = []
    for li, level in enumerate(target.levels_dbfs):
        for label, m in [(target_label, target), *models.items()]:
            worst = int(np.nanargmax(m.asr_db[li]))
            if m is target:
                ex = {"asr_excess_db": math.nan, "h2_excess_db": math.nan}
            else:
                ex = excess(target, m, level_dbfs=float(level), floor_db=floor_db, name=label)
            rows.append([f"{level:g}", label, _fmt(m.asr_db[li, worst]), _fmt(float(np.nanmedian(m.asr_db[li]))),
                         f"{m.tones_hz[worst]:.0f}", _fmt(float(np.nanmax(m.harmonic_db[li, :, 1]))),
                         _fmt(float(np.nanmax(m.harmonic_db[li, :, 2]))), _fmt(float(np.nanmax(m.dc_db[li]))),
                         _fmt(ex["asr_excess_db"]), _fmt(ex["h2_excess_db"])])
    return html_table(header, rows)
