"""The record of a harmonic measurement, and the checks that pair a target's with a model's.

- :class:`Harmonics`   a measurement over several input levels (arrays, one row per level), made by
  :func:`fxlab.harmonics.measure_harmonics` and re-exported by :mod:`fxlab.harmonics`
- :func:`check_pair`  a model's record was measured with the target's settings (else a
  :class:`~fxlab.errors.ParameterError` saying which)
- :func:`as_models`   a record or a mapping name -> record, as that mapping

Below both :mod:`fxlab.harmonics` (the measurement and its table) and
:mod:`fxlab.plots.evaluation` (its figure, :func:`fxlab.plots.evaluation.plot_harmonics`), which
check their inputs with the same helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.util import jsonable

__all__ = ["Harmonics", "as_models", "check_pair"]


@dataclass(frozen=True)
class Harmonics:
    """A harmonic measurement over several input levels: one row per level.

    Attributes
    ----------
    f0_hz : float
        The fundamental used, Hz (the one asked for, or the nearest with a whole number of periods
        in the window).
    sr : int
        Sample rate, Hz.
    levels_dbfs : np.ndarray [shape=(L,)]
        Input levels, dB full scale (peak of the sine).
    harmonic_numbers : np.ndarray [shape=(H,), int]
        ``1 .. n_harmonics``.
    harmonic_dbfs, harmonic_db : np.ndarray [shape=(L, H)]
        Output level of each harmonic in dBFS, and relative to the fundamental in dB (NaN at or
        above Nyquist); see :class:`fxlab.harmonics.ToneAnalysis`.
    thd_percent, thd_db, aliasing_db : np.ndarray [shape=(L,)]
        Per input level; see :class:`fxlab.harmonics.ToneAnalysis`.
    freqs_hz : np.ndarray [shape=(F,)]
        Frequencies of the spectra's bins, Hz.
    spectrum_dbfs : np.ndarray [shape=(L, F), float32]
        Each level's output spectrum, dBFS (an on-bin sine's peak reads its level).
    settle_s : float
        Seconds of output skipped before the analysis.
    n : int
        Samples analysed per level (a whole number of periods).
    """

    f0_hz: float
    sr: int
    levels_dbfs: np.ndarray
    harmonic_numbers: np.ndarray
    harmonic_dbfs: np.ndarray
    harmonic_db: np.ndarray
    thd_percent: np.ndarray
    thd_db: np.ndarray
    aliasing_db: np.ndarray
    freqs_hz: np.ndarray
    spectrum_dbfs: np.ndarray
    settle_s: float
    n: int

    def level_index(self, level_dbfs: float) -> int:
        """Row of the input level ``level_dbfs`` (dBFS); a :class:`ParameterError` if not measured."""
        hits = np.flatnonzero(np.isclose(self.levels_dbfs, float(level_dbfs), atol=1e-9))
        if not hits.size:
            raise ParameterError(problem(
                "level_dbfs", found=repr(level_dbfs),
                expected=f"one of the measured levels {_levels_text(self.levels_dbfs)} dBFS",
                fix="pick a measured level (or measure that one)",
            ))
        return int(hits[0])

    def to_dict(self, *, spectra: bool = False) -> dict:
        """Plain JSON values (NaN as ``None``); the spectra only with ``spectra=True``."""
        doc = {
            "f0_hz": self.f0_hz, "sr": self.sr, "settle_s": self.settle_s, "n": self.n,
            "levels_dbfs": self.levels_dbfs, "harmonic_numbers": self.harmonic_numbers,
            "harmonic_dbfs": self.harmonic_dbfs, "harmonic_db": self.harmonic_db,
            "thd_percent": self.thd_percent, "thd_db": self.thd_db,
            "aliasing_db": self.aliasing_db,
        }
        if spectra:
            doc.update(freqs_hz=self.freqs_hz, spectrum_dbfs=self.spectrum_dbfs)
        return jsonable(doc)


def _levels_text(levels) -> str:
    return ", ".join(f"{v:g}" for v in np.asarray(levels, dtype=float))


def check_pair(target: Harmonics, model: Harmonics, name: str) -> None:
    """Raise a :class:`~fxlab.errors.ParameterError` unless ``model`` (named ``name``) was measured
    with ``target``'s fundamental, sample rate, number of harmonics and levels."""
    for what, a, b in (("f0_hz", target.f0_hz, model.f0_hz), ("sr", target.sr, model.sr),
                       ("harmonics", target.harmonic_numbers.size, model.harmonic_numbers.size)):
        if not np.isclose(a, b):
            raise ParameterError(problem(
                f"{name} harmonics", found=f"{what}={b:g}", expected=f"the target's {what}={a:g}",
                fix="measure target and model with the same measure_harmonics settings",
            ))
    if target.levels_dbfs.shape != model.levels_dbfs.shape \
            or not np.allclose(target.levels_dbfs, model.levels_dbfs):
        raise ParameterError(problem(
            f"{name} harmonics", found=f"levels {_levels_text(model.levels_dbfs)} dBFS",
            expected=f"the target's levels {_levels_text(target.levels_dbfs)} dBFS",
            fix="measure target and model at the same levels_dbfs",
        ))


def as_models(models) -> dict[str, Harmonics]:
    """``models`` as a mapping name -> :class:`Harmonics` (a single record is named ``"model"``)."""
    if isinstance(models, Harmonics):
        return {"model": models}
    if not isinstance(models, Mapping) or not all(isinstance(h, Harmonics)
                                                  for h in models.values()):
        raise ParameterError(problem(
            "models", found=f"a {type(models).__name__}",
            expected="a Harmonics or a mapping name -> Harmonics",
            fix="pass {'lstm': measure_harmonics(lambda x: trained.predict(x), sr=sr)}",
        ))
    return dict(models)
