"""The effect interface: :class:`Effect`, and the checks every effect shares."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.util import check_sr

__all__ = ["Effect"]


def _as_signal(x: object, sr: object, who: str) -> tuple[np.ndarray, int]:
    """Check an effect's input: 1-D finite float array and a positive sample rate."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ParameterError(problem(
            f"{who} input", found=f"an array of shape {arr.shape}",
            expected="a mono signal of shape (n,)",
            fix="pass one channel, e.g. x[0] or x.mean(axis=0) for a (channels, n) array",
        ))
    if not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(problem(
            f"{who} input", found=f"dtype {arr.dtype}", expected="a numeric array",
            fix="pass float samples in [-1, 1]",
        ))
    return arr.astype(np.float32, copy=False), check_sr(sr, name=f"{who}: sr")


def _real(name: str, effect: str, value: object, *, low: float | None = None,
          high: float | None = None, low_open: bool = True, what: str = "") -> float:
    """Check a real-valued parameter in an (open/closed) interval; return it as float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = "(" if low_open or low is None else "["
        close = ")" if high is None else "]"
        raise ParameterError(problem(
            f"{effect}: {name}={value!r}", found=repr(value),
            expected=f"a number in {bracket}{lo}, {hi}{close}{what}",
            fix=f"pass {name} in that range",
        ))
    return float(value)


class Effect:
    """An audio effect: ``y = effect(x, sr)``.

    Subclasses set :attr:`name`, fill :attr:`params` and implement :meth:`process`.

    Attributes
    ----------
    name : str
        The name :func:`get_effect` knows it by.
    params : dict
        Its parameters (JSON-able values).
    is_linear : bool
        True when the output is a linear, time-invariant function of the input at fixed
        parameters (filters, gain, delay, reverb); False for everything else (distortion,
        compression, modulation, unknown plugins).
    """

    name: str = ""
    is_linear: bool = False

    def __init__(self, params: Mapping[str, Any]):
        self.params: dict[str, Any] = dict(params)

    @property
    def spec(self) -> dict[str, Any]:
        """``{"name": ..., "params": {...}}``: JSON-able; ``effect_from_spec(spec)`` rebuilds it."""
        return {"name": self.name, "params": copy.deepcopy(self.params)}

    def describe(self) -> str:
        """One line of human text saying what the effect does."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        """Apply the effect.

        Parameters
        ----------
        x : np.ndarray [shape=(n,)]
            Mono dry signal, linear full scale.
        sr : int > 0
            Sample rate, Hz.

        Returns
        -------
        y : np.ndarray [shape=(n,), dtype=float32]
            The wet signal, same length as ``x`` (processing starts from silence: no state is
            carried between calls).
        """
        arr, sr = _as_signal(x, sr, self.describe())
        if arr.size == 0:
            return np.zeros(0, dtype=np.float32)
        y = np.asarray(self.process(arr, sr), dtype=np.float32).reshape(-1)
        n = arr.shape[0]
        if y.shape[0] > n:
            y = y[:n]
        elif y.shape[0] < n:
            y = np.concatenate([y, np.zeros(n - y.shape[0], dtype=np.float32)])
        return y

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Effect) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(repr(self.spec))
