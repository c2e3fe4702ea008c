"""Harmonic and aliasing analysis: sines at several levels through an effect or a model.

The usual measurement for distortion: a sine of frequency ``f0`` at a stated peak level goes
through the processor; after a settling stretch (the processor's transient) a whole number of
periods of the output is analysed. Each harmonic's level is read in dB full scale and in dB
relative to the fundamental, with the total harmonic distortion (THD) and the aliasing: the share
of the output's power at frequencies that are not harmonics. A harmonic at or above Nyquist is not
a harmonic of the sampled output: it folds back to a frequency that is not a multiple of ``f0``
and counts as aliasing.

Method (coherent sampling). ``f0 / sr`` is taken as a fraction ``p / q`` in lowest terms: the
sampled sine repeats exactly every ``q`` samples (``p`` periods), and the output of a
time-invariant processor in its steady state repeats with it. The analysis window is a whole
multiple of ``q`` samples, so every periodic component -- harmonics and their aliases alike --
falls exactly on an FFT bin. A 4-term Blackman-Harris window (periodic form) then confines each
on-bin component to +-3 bins, exactly, and keeps what is not periodic (a transient not fully
settled, a model's noise) within +-4 bins of where it is, 92 dB down further away. A harmonic's
power is the sum over ``+-guard_bins`` bins around it. Where no whole number of periods fits the
requested length (an odd fundamental such as 1000.3 Hz), :func:`measure_harmonics` moves ``f0`` to
the nearest frequency that does (at most half a bin; :attr:`Harmonics.f0_hz` says which) and
:func:`analyse_tone`, which cannot change a recorded signal, falls back to the windowed analysis.

A fundamental whose period is a whole number of samples (``p = 1``: 441 Hz, 4410 Hz at 44.1 kHz)
folds every alias exactly onto a harmonic, where no analysis can tell them apart: the harmonics
then include the aliases and the aliasing reads as none. The default, 1 kHz at 44.1 kHz
(``p / q = 10 / 441``), keeps them apart: its aliases sit on multiples of 100 Hz between the
harmonics.

- :class:`ToneAnalysis`           one output signal analysed: harmonic levels, THD, aliasing, spectrum
- :func:`analyse_tone`            analyse a signal that holds a sine of a known ``f0`` through a system
- :class:`Harmonics`              a measurement over several input levels (arrays, one row per level;
  defined in :mod:`fxlab.harmonics_record`, re-exported here)
- :func:`measure_harmonics`       sines at several levels through a processor ``fn(x) -> y``
- :func:`harmonic_difference`     model minus target, dB, per level and harmonic
- :func:`harmonics_table`         target and models side by side per level, and their differences (HTML)
- :data:`DEFAULT_LEVELS_DBFS`     the input levels measured by default
- :func:`check_levels`            a list of sine levels, refused unless each is <= 0 dBFS
- :func:`checked_output`          a processor's output as float64, refused unless finite and as long

The figure (harmonic level against harmonic number per level, and one level's output spectra
overlaid) is :func:`fxlab.plots.evaluation.plot_harmonics`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.signal

from fxlab.errors import LengthMismatchError, NonFiniteError, ParameterError, problem
from fxlab.harmonics_record import Harmonics, as_models, check_pair
from fxlab.util import Html, check_sr, html_table

__all__ = [
    "DEFAULT_LEVELS_DBFS",
    "Harmonics",
    "ToneAnalysis",
    "analyse_tone",
    "check_levels",
    "checked_output",
    "harmonic_difference",
    "harmonics_table",
    "measure_harmonics",
]

#: Input levels measured by default, dB full scale (peak of the sine).
DEFAULT_LEVELS_DBFS = (-24.0, -12.0, -6.0, 0.0)

_FLOOR_DB = -300.0  # what a level of exactly zero power reads
_MAX_DENOMINATOR = 10**6  # f0 is read as a fraction with at most this denominator (micro-Hz)


@dataclass(frozen=True)
class ToneAnalysis:
    """One output signal analysed at the harmonics of ``f0``.

    Attributes
    ----------
    f0_hz : float
        The fundamental, Hz.
    sr : int
        Sample rate, Hz.
    harmonic_numbers : np.ndarray [shape=(H,), int]
        ``1 .. n_harmonics`` (1 is the fundamental).
    harmonic_dbfs : np.ndarray [shape=(H,)]
        Each harmonic's peak amplitude in dB full scale (a sine of amplitude 1 reads 0 dBFS);
        NaN for a harmonic at or above Nyquist; -300 for exactly nothing.
    harmonic_db : np.ndarray [shape=(H,)]
        The same relative to the fundamental, dB (the first entry is 0).
    thd_percent : float
        ``sqrt(sum_{k>=2} A_k^2) / A_1`` over the harmonics below Nyquist, in %; NaN where none is
        below Nyquist.
    thd_db : float
        The same in dB (``20 log10``).
    aliasing_db : float
        Power at frequencies that are not harmonics (DC and ``+-guard_bins`` bins around every
        harmonic below Nyquist left out) over the output's power without DC, dB; -300 when there
        is none, NaN for a silent output.
    freqs_hz : np.ndarray [shape=(F,)]
        Frequencies of the spectrum's bins, Hz.
    spectrum_dbfs : np.ndarray [shape=(F,)]
        The windowed spectrum scaled so that an on-bin sine's peak reads its level in dBFS.
    n : int
        Samples analysed (after the settling stretch).
    coherent : bool
        Whether ``n`` held a whole number of periods (every harmonic on a bin).
    """

    f0_hz: float
    sr: int
    harmonic_numbers: np.ndarray
    harmonic_dbfs: np.ndarray
    harmonic_db: np.ndarray
    thd_percent: float
    thd_db: float
    aliasing_db: float
    freqs_hz: np.ndarray
    spectrum_dbfs: np.ndarray
    n: int
    coherent: bool


def _real(name: str, value: object, expected: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise ParameterError(problem(name, found=repr(value), expected=expected, fix=fix))
    return float(value)


def _check_f0(f0_hz: object, sr: int) -> float:
    f0 = _real("f0_hz", f0_hz, f"a frequency in Hz between 0 and Nyquist ({sr / 2:g} Hz)",
               "use e.g. f0_hz=1000")
    if not 0 < f0 < sr / 2:
        raise ParameterError(problem(
            "f0_hz", found=f"{f0:g} Hz",
            expected=f"a frequency above 0 and below Nyquist ({sr / 2:g} Hz at sr={sr})",
            fix="use e.g. f0_hz=1000 (its harmonics up to Nyquist are measured)",
        ))
    return f0


def _check_settings(n_harmonics: object, settle_s: object,
                    guard_bins: object) -> tuple[int, float, int]:
    if isinstance(n_harmonics, bool) or not isinstance(n_harmonics, numbers.Integral) \
            or not 2 <= n_harmonics <= 200:
        raise ParameterError(problem(
            "n_harmonics", found=repr(n_harmonics), expected="an integer in [2, 200]",
            fix="use e.g. n_harmonics=10 (the fundamental and 9 harmonics)",
        ))
    settle = _real("settle_s", settle_s, "seconds >= 0", "use e.g. settle_s=0.1")
    if settle < 0:
        raise ParameterError(problem("settle_s", found=repr(settle_s), expected="seconds >= 0",
                                     fix="use e.g. settle_s=0.1"))
    if isinstance(guard_bins, bool) or not isinstance(guard_bins, numbers.Integral) \
            or not 3 <= guard_bins <= 1000:
        raise ParameterError(problem(
            "guard_bins", found=repr(guard_bins),
            expected="an integer >= 3 (the window holds an on-bin sine within +-3 bins)",
            fix="use e.g. guard_bins=4",
        ))
    return int(n_harmonics), settle, int(guard_bins)


def _ratio(f0: float, sr: int) -> Fraction:
    """``f0 / sr`` as a fraction in lowest terms (``f0`` read to a micro-hertz)."""
    return Fraction(f0).limit_denominator(_MAX_DENOMINATOR) / sr


def _db_power(p: float) -> float:
    return float(10.0 * np.log10(p)) if p > 0 else _FLOOR_DB


def _analyse(seg: np.ndarray, *, f0: float, sr: int, n_harmonics: int, guard: int,
             coherent: bool) -> ToneAnalysis:
    n = seg.size
    w = scipy.signal.windows.blackmanharris(n, sym=False)
    spec = np.fft.rfft(seg * w)
    power = np.abs(spec) ** 2
    # a sine of amplitude A on a bin holds A^2 / 4 * n * sum(w^2) over its main lobe (Parseval)
    amp2_scale = 4.0 / (n * float(np.sum(w * w)))
    nyq_bins = power.size  # bins 0 .. n//2
    per_bin = n * f0 / sr  # bins per harmonic step (an integer when coherent)
    harmonic = np.zeros(nyq_bins, bool)
    harmonic[: guard + 1] = True  # DC
    total = float(power[guard + 1:].sum())
    k_max = int(np.ceil(sr / 2 / f0)) - 1  # harmonics strictly below Nyquist
    amp2 = np.full(n_harmonics, np.nan)
    for k in range(1, k_max + 1):
        c = int(round(k * per_bin))
        lo, hi = max(c - guard, 0), min(c + guard + 1, nyq_bins)
        harmonic[lo:hi] = True
        if k <= n_harmonics:
            amp2[k - 1] = float(power[lo:hi].sum()) * amp2_scale
    harmonic_dbfs = np.array([math.nan if math.isnan(a) else _db_power(a) for a in amp2])
    fund = amp2[0]
    rel = harmonic_dbfs - harmonic_dbfs[0] if fund > 0 else np.full(n_harmonics, np.nan)
    rest = amp2[1:][np.isfinite(amp2[1:])]
    if fund > 0 and rest.size:
        ratio = math.sqrt(float(rest.sum()) / fund)
        thd_pct, thd_db = 100.0 * ratio, (20.0 * math.log10(ratio) if ratio > 0 else _FLOOR_DB)
    else:
        thd_pct = thd_db = math.nan
    aliasing = _db_power(float(power[~harmonic].sum()) / total) if total > 0 else math.nan
    coherent_gain = float(w.sum()) / 2.0
    with np.errstate(divide="ignore"):
        spectrum = 20.0 * np.log10(np.maximum(np.abs(spec) / coherent_gain, 10 ** (_FLOOR_DB / 20)))
    return ToneAnalysis(
        f0_hz=float(f0), sr=sr, harmonic_numbers=np.arange(1, n_harmonics + 1),
        harmonic_dbfs=harmonic_dbfs, harmonic_db=rel, thd_percent=thd_pct, thd_db=thd_db,
        aliasing_db=aliasing, freqs_hz=np.fft.rfftfreq(n, 1.0 / sr),
        spectrum_dbfs=spectrum.astype(np.float32), n=n, coherent=coherent,
    )


def _check_resolution(f0: float, sr: int, n: int, guard: int, subject: str) -> None:
    per_bin = n * f0 / sr
    if per_bin < 2 * guard + 2:
        need = (2 * guard + 2) / f0
        raise ParameterError(problem(
            subject, found=f"{n} samples ({n / sr:.3g} s): f0={f0:g} Hz is {per_bin:.3g} bins "
                           f"from its 2nd harmonic",
            expected=f"at least {2 * guard + 2} bins between harmonics (guard_bins={guard})",
            fix=f"analyse at least {need:.3g} s, or use a higher f0_hz",
        ))


def analyse_tone(y, *, sr: int, f0_hz: float, n_harmonics: int = 10, settle_s: float = 0.1,
                 measure_s: float | None = None, guard_bins: int = 4) -> ToneAnalysis:
    """Harmonic levels, THD and aliasing of a signal that holds a sine of ``f0_hz`` through a system.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The system's output, on the [-1, 1] scale.
    sr : int > 0
        Sample rate, Hz.
    f0_hz : float in (0, sr/2)
        The fundamental, Hz.
    n_harmonics : int in [2, 200]
        Harmonics reported, the fundamental included (``10``: up to the 10th).
    settle_s : float >= 0
        Seconds skipped at the start (the system's transient).
    measure_s : float > 0, optional
        Seconds analysed after that; default all that is left. The length used is the largest
        whole number of periods (see the module text) within it; where not even one fits, all of
        it, windowed (``coherent`` is then False).
    guard_bins : int >= 3
        Bins either side of each harmonic (and of DC) counted as that harmonic.

    Returns
    -------
    ToneAnalysis
    """
    sr = check_sr(sr)
    f0 = _check_f0(f0_hz, sr)
    n_harmonics, settle_s, guard = _check_settings(n_harmonics, settle_s, guard_bins)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(problem("y", found=f"shape {y.shape}", expected="a mono signal (n,)",
                                     fix="pass one channel, e.g. y[:, 0]"))
    if not np.all(np.isfinite(y)):
        raise NonFiniteError(problem(
            "y", found=f"{int(np.sum(~np.isfinite(y)))} NaN or infinite samples",
            expected="finite samples", fix="check the system that made it",
        ))
    settle = int(round(settle_s * sr))
    avail = y.size - settle
    if measure_s is not None:
        m = _real("measure_s", measure_s, "seconds > 0", "use e.g. measure_s=0.5")
        if m <= 0:
            raise ParameterError(problem("measure_s", found=repr(measure_s),
                                         expected="seconds > 0", fix="use e.g. measure_s=0.5"))
        avail = min(avail, int(round(m * sr)))
    if avail < 16:
        raise ParameterError(problem(
            "y", found=f"{y.size} samples ({y.size / sr:.3g} s) with settle_s={settle_s:g}",
            expected="a signal longer than the settling stretch",
            fix="pass a longer signal or a shorter settle_s",
        ))
    q = _ratio(f0, sr).denominator
    coherent = q <= avail
    n = q * (avail // q) if coherent else avail
    _check_resolution(f0, sr, n, guard, "y")
    return _analyse(y[settle:settle + n], f0=f0, sr=sr, n_harmonics=n_harmonics, guard=guard,
                    coherent=coherent)


def _sine(ratio: Fraction, n: int, amp: float) -> np.ndarray:
    """``amp * sin(2 pi f0 t)`` for ``n`` samples, exactly periodic in ``ratio.denominator`` samples."""
    i = np.arange(n, dtype=np.int64)
    phase = (ratio.numerator * i) % ratio.denominator
    return (amp * np.sin(2.0 * np.pi * phase / ratio.denominator)).astype(np.float32)


def check_levels(levels_dbfs, name: str = "levels_dbfs") -> list[float]:
    """``levels_dbfs`` as floats, refused unless a non-empty sequence of levels <= 0 dBFS."""
    if isinstance(levels_dbfs, str | bytes) or not isinstance(levels_dbfs, Sequence | np.ndarray) \
            or len(levels_dbfs) == 0:
        raise ParameterError(problem(
            name, found=repr(levels_dbfs), expected="a non-empty list of levels in dBFS",
            fix=f"use e.g. {name}=[-24, -12, -6, 0]",
        ))
    levels = []
    for v in levels_dbfs:
        level = _real(name, v, "levels in dB full scale <= 0",
                      f"use e.g. {name}=[-24, -12, -6, 0]")
        if level > 0:
            raise ParameterError(problem(
                name, found=f"{level:g} dBFS (a sine above full scale)",
                expected="levels <= 0 dBFS (0 dBFS: a sine of amplitude 1)",
                fix=f"lower it, e.g. {name}=[-24, -12, -6, 0] (to drive harder, raise the "
                    "effect's gain)",
            ))
        levels.append(level)
    return levels


def _sine_grid(f0: float, sr: int, n_target: int) -> tuple[Fraction, int]:
    """``(f0 / sr as a fraction, window length)``: a whole number of periods near ``n_target``
    samples, or ``n_target`` with f0 moved onto one of its bins when no such number is near."""
    ratio = _ratio(f0, sr)
    if ratio.denominator <= 2 * n_target:
        n = ratio.denominator * max(1, round(n_target / ratio.denominator))
    else:  # no whole number of periods near n_target: move f0 onto a bin of n_target
        n = n_target
        ratio = Fraction(max(1, round(f0 * n / sr)), n)
        if not 0 < ratio < Fraction(1, 2):
            raise ParameterError(problem(
                "f0_hz", found=f"{f0:g} Hz", expected=f"a frequency at least a bin (sr / {n}) "
                f"from 0 and from Nyquist", fix="use e.g. f0_hz=1000",
            ))
    return ratio, n


def checked_output(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                    level: float) -> np.ndarray:
    """``fn(x)`` as float64 ``(n,)``, refused unless one finite sample per input sample."""
    y = np.asarray(fn(x))
    subject = f"processor output at {level:g} dBFS"
    if y.size != x.size:
        raise LengthMismatchError(problem(
            subject, found=f"shape {y.shape} for an input of shape {x.shape}",
            expected=f"{x.size} samples, one per input sample",
            fix="make fn return one output sample per input sample (shape (n,))",
        ))
    y = y.astype(np.float64).reshape(-1)
    bad = int(np.sum(~np.isfinite(y)))
    if bad:
        raise NonFiniteError(problem(
            subject, found=f"{bad} NaN or infinite samples of {y.size}",
            expected="finite samples",
            fix="check the processor (a model may have diverged in training; an effect may "
                "need a lower gain)",
        ))
    return y


def measure_harmonics(fn: Callable[[np.ndarray], np.ndarray], *, sr: int,
                      f0_hz: float = 1000.0,
                      levels_dbfs: Sequence[float] = DEFAULT_LEVELS_DBFS,
                      n_harmonics: int = 10, settle_s: float = 0.1, measure_s: float = 0.5,
                      guard_bins: int = 4) -> Harmonics:
    """Sines at several levels through a processor: harmonic levels, THD and aliasing per level.

    For each level the processor is called once on a float32 sine of ``settle_s + ~measure_s``
    seconds starting at phase 0; the first ``settle_s`` seconds of its output are skipped, the
    rest (a whole number of periods) is analysed (see the module text).

    Parameters
    ----------
    fn : callable ``x (n,) float32 -> y (n,)``
        E.g. ``lambda x: effect(x, sr)`` or ``lambda x: trained.predict(x, knobs={"gain_db": 20})``.
        Called once per level with a fresh signal (a stateful processor should start from rest).
    sr : int > 0
        Sample rate, Hz.
    f0_hz : float in (0, sr/2)
        The fundamental, Hz. Moved to the nearest frequency with a whole number of periods in the
        window when it has none (at most half a bin, ``1 / (2 measure_s)`` Hz); the result says
        which was used.
    levels_dbfs : sequence of float <= 0
        Peak levels of the sine, dB full scale (0: amplitude 1).
    n_harmonics : int in [2, 200]
        Harmonics reported, the fundamental included.
    settle_s : float >= 0
        Seconds of output skipped (the processor's transient; a conditioned network's state
        settles within tens of milliseconds).
    measure_s : float > 0
        Seconds analysed, about (rounded to a whole number of periods of the sampled sine; 0.5 s:
        2 Hz bins).
    guard_bins : int >= 3
        Bins either side of each harmonic counted as that harmonic.

    Returns
    -------
    Harmonics

    Raises
    ------
    ParameterError
        ``f0_hz`` not below Nyquist, a level above 0 dBFS, other bad settings.
    LengthMismatchError, NonFiniteError
        The processor returned another number of samples, or NaN/inf, at some level.
    """
    if not callable(fn):
        raise ParameterError(problem(
            "fn", found=f"a {type(fn).__name__}", expected="a callable x -> y",
            fix="pass e.g. lambda x: effect(x, sr) or lambda x: trained.predict(x)",
        ))
    sr = check_sr(sr)
    f0 = _check_f0(f0_hz, sr)
    n_harmonics, settle_s, guard = _check_settings(n_harmonics, settle_s, guard_bins)
    m = _real("measure_s", measure_s, "seconds > 0", "use e.g. measure_s=0.5")
    if m <= 0:
        raise ParameterError(problem("measure_s", found=repr(measure_s), expected="seconds > 0",
                                     fix="use e.g. measure_s=0.5"))
    levels = check_levels(levels_dbfs)
    ratio, n = _sine_grid(f0, sr, max(16, int(round(m * sr))))
    f0_used = float(ratio * sr)
    _check_resolution(f0_used, sr, n, guard, "measure_s")
    settle = int(round(settle_s * sr))
    rows = []
    for level in levels:
        x = _sine(ratio, settle + n, 10.0 ** (level / 20.0))
        y = checked_output(fn, x, level)
        rows.append(_analyse(y[settle:], f0=f0_used, sr=sr, n_harmonics=n_harmonics,
                             guard=guard, coherent=True))
    return Harmonics(
        f0_hz=f0_used, sr=sr, levels_dbfs=np.asarray(levels, dtype=float),
        harmonic_numbers=np.arange(1, n_harmonics + 1),
        harmonic_dbfs=np.stack([r.harmonic_dbfs for r in rows]),
        harmonic_db=np.stack([r.harmonic_db for r in rows]),
        thd_percent=np.array([r.thd_percent for r in rows]),
        thd_db=np.array([r.thd_db for r in rows]),
        aliasing_db=np.array([r.aliasing_db for r in rows]),
        freqs_hz=rows[0].freqs_hz, spectrum_dbfs=np.stack([r.spectrum_dbfs for r in rows]),
        settle_s=settle / sr, n=n,
    )


def harmonic_difference(target: Harmonics, model: Harmonics, *,
                        floor_db: float | None = -120.0) -> np.ndarray:
    """``model - target`` of the levels relative to the fundamental, dB.

    Parameters
    ----------
    target, model : Harmonics
        Measured with the same ``f0_hz``, ``sr``, ``levels_dbfs`` and ``n_harmonics``.
    floor_db : float < 0 or None
        Both levels are raised to this floor first (a harmonic one system lacks entirely reads
        -300 dB, and a difference from that says nothing); where both are below it the difference
        is NaN. ``None``: the raw difference.

    Returns
    -------
    np.ndarray [shape=(L, H)]
        Per input level and harmonic (the first column is 0; NaN at or above Nyquist).
    """
    check_pair(target, model, "model")
    if floor_db is None:
        return model.harmonic_db - target.harmonic_db
    floor = _real("floor_db", floor_db, "a level in dB < 0", "use e.g. floor_db=-120")
    t, m = target.harmonic_db, model.harmonic_db
    with np.errstate(invalid="ignore"):
        diff = np.maximum(m, floor) - np.maximum(t, floor)
        return np.where((t < floor) & (m < floor), np.nan, diff)


def _shown(value: float, floor_db: float):
    if not np.isfinite(value):
        return None
    return f"< {floor_db:g}" if value < floor_db else float(value)


def _difference(d: float, t: float, m: float, floor_db: float):
    """A difference for the table: '> d' where the target is under the floor, '< d' the model."""
    if not np.isfinite(d):
        return None
    if t < floor_db:
        return f"> {d:.3g}"
    if m < floor_db:
        return f"< {d:.3g}"
    return float(d)


def harmonics_table(target: Harmonics, models: Harmonics | Mapping[str, Harmonics], *,
                    target_label: str = "target", floor_db: float = -120.0,
                    digits: int = 3) -> Html:
    """Target and models side by side at each input level, and each model's difference (HTML).

    One row per level and system: the fundamental's output level (dBFS), harmonics 2..H (dB
    relative to the fundamental), THD (%) and aliasing (dB); after each model's row, a row of its
    difference from the target (model - target, dB; THD difference in dB). Levels below
    ``floor_db`` read ``< floor_db``, and differences from them are bounds (``> 95``: the
    target's harmonic is under the floor, the model's 95 dB above it); harmonics at or above
    Nyquist read as missing.

    Parameters
    ----------
    target : Harmonics
        The effect's measurement.
    models : Harmonics or mapping name -> Harmonics
        Each model's measurement with the same settings.
    target_label : str
        The target's name in the table.
    floor_db : float < 0
        Lowest level shown as a number, dB.
    digits : int
        Significant digits.

    Returns
    -------
    Html
    """
    models = as_models(models)
    for name, h in models.items():
        check_pair(target, h, name)
    ks = target.harmonic_numbers[1:]
    columns = ["input (dBFS)", "system", "H1 (dBFS)", *[f"H{k} (dB)" for k in ks],
               "THD (%)", "aliasing (dB)"]
    rows = []

    def row(level, label, h: Harmonics, i: int):
        return [level, label, _shown(h.harmonic_dbfs[i, 0], _FLOOR_DB + 1),
                *[_shown(v, floor_db) for v in h.harmonic_db[i, 1:]],
                float(h.thd_percent[i]), _shown(h.aliasing_db[i], floor_db)]

    for i, level in enumerate(target.levels_dbfs):
        rows.append(row(float(level), target_label, target, i))
        for name, h in models.items():
            rows.append(row(float(level), name, h, i))
            diff = [_difference(d, t, m, floor_db) for d, t, m in zip(
                harmonic_difference(target, h, floor_db=floor_db)[i, 1:],
                target.harmonic_db[i, 1:], h.harmonic_db[i, 1:], strict=True)]
            d_alias = h.aliasing_db[i] - target.aliasing_db[i]
            rows.append(["", f"{name} - {target_label}",
                         float(h.harmonic_dbfs[i, 0] - target.harmonic_dbfs[i, 0]), *diff,
                         f"{h.thd_db[i] - target.thd_db[i]:+.2f} dB"
                         if np.isfinite(h.thd_db[i] - target.thd_db[i]) else None,
                         None if max(h.aliasing_db[i], target.aliasing_db[i]) < floor_db
                         or not np.isfinite(d_alias) else float(d_alias)])
    caption = (f"Harmonics of a {target.f0_hz:g} Hz sine at each input level: H1 the "
               f"fundamental's output level, H2.. relative to it; rows '<model> - "
               f"{target_label}' give the differences in dB.")
    return html_table(columns, rows, caption=caption, digits=digits)
