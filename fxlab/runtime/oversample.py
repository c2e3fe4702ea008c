"""Running a model at a multiple of the sample rate: the resampling around it, streamed.

A network trained at ``factor`` times the rate it is played at (``fxlab train`` data resampled up, or
the study's data rendered at the higher rate) runs between an up-sampler and a down-sampler. Both
are the drive effect's own anti-aliasing filter (:mod:`fxlab.effects.drive`): zero-stuffing, an
8th-order elliptic low-pass (0.05 dB ripple, 100 dB stop band) with its edge at ``0.45 * sr`` run
at the high rate, the same filter again before keeping every ``factor``-th sample. Causal (no
look-ahead), its state carried from block to block, so the model streams as it does without it;
what the network's nonlinearity makes between ``0.5 sr`` and ``(factor - 0.45) sr`` is removed
instead of folding back as aliasing.

- :data:`FACTORS`        the factors accepted (1, 2, 4)
- :class:`Oversampler`   ``up(x)`` / ``down(y)`` with state; ``reset()``
- :func:`run_oversampled` ``fn`` over a whole signal at ``factor`` times its rate
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.signal

from fxlab.errors import ParameterError, problem

__all__ = ["FACTORS", "Oversampler", "run_oversampled"]

FACTORS = (1, 2, 4)


def _sos(factor: int) -> np.ndarray:
    return scipy.signal.ellip(8, 0.05, 100.0, 0.9 / factor, output="sos")


class Oversampler:
    """Up- and down-sampling by ``factor`` around a model, state carried across blocks."""

    def __init__(self, factor: int):
        if factor not in FACTORS:
            raise ParameterError(problem(
                f"oversampling factor {factor!r}", found=repr(factor), expected=f"one of {FACTORS}",
                fix="use 2 (or 4)"))
        self.factor = int(factor)
        self.sos = _sos(self.factor) if self.factor > 1 else None
        self.reset()

    def reset(self) -> None:
        """Back to rest (silence before)."""
        if self.sos is not None:
            self._zi_up = np.zeros((self.sos.shape[0], 2))
            self._zi_down = np.zeros((self.sos.shape[0], 2))

    def up(self, x: np.ndarray) -> np.ndarray:
        """``x`` (n,) at the base rate -> (factor n,) float32 at the high rate."""
        if self.sos is None:
            return np.asarray(x, np.float32)
        u = np.zeros(x.size * self.factor)
        u[:: self.factor] = np.asarray(x, np.float64) * self.factor
        v, self._zi_up = scipy.signal.sosfilt(self.sos, u, zi=self._zi_up)
        return v.astype(np.float32)

    def down(self, y: np.ndarray) -> np.ndarray:
        """``y`` (factor n,) at the high rate -> (n,) float32 at the base rate."""
        if self.sos is None:
            return np.asarray(y, np.float32)
        v, self._zi_down = scipy.signal.sosfilt(self.sos, np.asarray(y, np.float64), zi=self._zi_down)
        return v[:: self.factor].astype(np.float32)


def run_oversampled(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, factor: int) -> np.ndarray:
    """``fn`` (a model at ``factor`` times the rate) over the whole signal ``x``, from rest."""
    o = Oversampler(factor)
    return o.down(np.asarray(fn(o.up(x))))
