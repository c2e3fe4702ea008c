"""The effect interface: :class:`Effect`, its :class:`Knob` declarations, and shared checks.

A knob is a continuous control of an effect that a network can be conditioned on (a drive, a
cut-off, a threshold): name, range, unit, default and the scale on which its values are spread
(``"linear"`` or ``"log"``). Every effect lists its knobs in ``effect.knobs`` and is moved to other
settings with ``effect.with_knobs(name=value, ...)``, which checks every name and range.

- :class:`Knob`    one knob: ``normalise`` (value -> [0, 1]), ``denormalise``, ``grid(n)``, ``check``
- :class:`Effect`  the interface: ``effect(x, sr)``, ``spec``, ``knobs``, ``knob_values``,
  ``with_knobs``, ``knob``
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.util import check_sr

__all__ = ["KNOB_SCALES", "Effect", "Knob"]

#: How a knob's values are spread between ``low`` and ``high``.
KNOB_SCALES = ("linear", "log")


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


@dataclass(frozen=True)
class Knob:
    """One continuous control of an effect.

    Attributes
    ----------
    name : str
        The effect's parameter it sets (``"gain_db"``, ``"cutoff_hz"``, ...).
    low, high : float, low < high
        The range offered for conditioning and accepted by ``Effect.with_knobs`` (closed).
    default : float in [low, high]
        The value a new effect has.
    unit : str
        ``"dB"``, ``"Hz"``, ``"ms"``, ``""`` (a fraction or ratio), ...
    scale : {"linear", "log"}
        How values are spread: ``"log"`` (needs ``low > 0``) spreads them evenly in ``log(value)``
        -- frequencies, ratios, times --; ``"linear"`` evenly in ``value`` -- dB, fractions.
        :meth:`normalise` and :meth:`grid` follow it.
    """

    name: str
    low: float
    high: float
    default: float
    unit: str = ""
    scale: str = "linear"

    def __post_init__(self) -> None:
        if self.scale not in KNOB_SCALES:
            raise unknown_name("knob scale", self.scale, KNOB_SCALES)
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ParameterError(problem(
                f"knob {self.name!r}", found=f"range [{self.low}, {self.high}]",
                expected="finite low < high", fix="declare the knob with low < high"))
        if self.scale == "log" and self.low <= 0:
            raise ParameterError(problem(
                f"knob {self.name!r}", found=f"a log scale from {self.low}",
                expected="low > 0 on a log scale", fix="use scale='linear' or a positive low"))
        if not self.low <= self.default <= self.high:
            raise ParameterError(problem(
                f"knob {self.name!r}", found=f"default {self.default}",
                expected=f"a default in [{self.low:g}, {self.high:g}]", fix="fix the declaration"))

    def describe(self) -> str:
        """``"gain_db in [0, 40] dB (linear, default 20)"``."""
        unit = f" {self.unit}" if self.unit else ""
        return (f"{self.name} in [{self.low:g}, {self.high:g}]{unit} "
                f"({self.scale}, default {self.default:g})")

    def check(self, value: object, who: str = "effect") -> float:
        """``value`` as a float, or a :class:`~fxlab.errors.ParameterError` naming the knob,
        its range and the fix."""
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(float(value)) and self.low <= float(value) <= self.high
        if not ok:
            raise ParameterError(problem(
                f"{who}: knob {self.name}={value!r}", found=repr(value),
                expected=f"a number in [{self.low:g}, {self.high:g}]"
                         + (f" {self.unit}" if self.unit else ""),
                fix=f"pass {self.name} within that range (default {self.default:g})",
            ))
        return float(value)

    def normalise(self, value: float | np.ndarray) -> float | np.ndarray:
        """Map values in ``[low, high]`` to ``[0, 1]`` on the knob's scale (what a network reads).

        Values outside the range map outside ``[0, 1]``; nothing is clipped here.
        """
        v = np.asarray(value, dtype=np.float64)
        if self.scale == "log":
            u = np.log(v / self.low) / math.log(self.high / self.low)
        else:
            u = (v - self.low) / (self.high - self.low)
        return float(u) if u.ndim == 0 else u

    def denormalise(self, u: float | np.ndarray) -> float | np.ndarray:
        """The inverse of :meth:`normalise`: ``[0, 1]`` -> ``[low, high]``."""
        uu = np.asarray(u, dtype=np.float64)
        if self.scale == "log":
            v = self.low * (self.high / self.low) ** uu
        else:
            v = self.low + uu * (self.high - self.low)
        return float(v) if v.ndim == 0 else v

    def grid(self, n: int = 5) -> tuple[float, ...]:
        """``n >= 2`` values from ``low`` to ``high``, evenly spaced on the knob's scale."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
            raise ParameterError(problem(
                f"knob {self.name!r} grid", found=f"n={n!r}", expected="an integer >= 2",
                fix="pass n=5 (about five values per knob suffice)"))
        return tuple(float(v) for v in self.denormalise(np.linspace(0.0, 1.0, int(n))))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; :meth:`from_dict` rebuilds it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Knob:
        """Rebuild a knob from :meth:`to_dict`'s output."""
        return cls(**dict(d))


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
    #: The effect's knobs (subclasses declare them; see :attr:`knobs`).
    KNOBS: tuple[Knob, ...] = ()

    def __init__(self, params: Mapping[str, Any]):
        self.params: dict[str, Any] = dict(params)

    @property
    def knobs(self) -> tuple[Knob, ...]:
        """The effect's knobs, in a fixed order (the order a conditioned network reads them).

        Empty when the effect has no continuous control declared (e.g. an unknown plugin).
        """
        return tuple(self.KNOBS)

    def knob(self, name: str) -> Knob:
        """The knob called ``name``; an :class:`~fxlab.errors.UnknownNameError` lists the others."""
        for k in self.knobs:
            if k.name == name:
                return k
        raise unknown_name(f"{self.name} knob", name, [k.name for k in self.knobs])

    @property
    def knob_values(self) -> dict[str, float]:
        """``{knob name: current value}`` in :attr:`knobs` order."""
        return {k.name: float(self.params.get(k.name, k.default)) for k in self.knobs}

    def with_knobs(self, **values: float) -> Effect:
        """A new effect of the same kind with the given knobs set (the others unchanged).

        Raises
        ------
        fxlab.errors.UnknownNameError
            A name that is not one of :attr:`knobs` (the message lists them).
        fxlab.errors.ParameterError
            A value outside the knob's range (the message gives the range).
        """
        checked = {name: self.knob(name).check(v, self.name) for name, v in values.items()}
        return self._with_params(copy.deepcopy({**self.params, **checked}))

    def _with_params(self, params: dict[str, Any]) -> Effect:
        """A new effect of this kind made from ``params`` (what ``get_effect`` would pass it).

        An effect whose constructor takes more than its ``params`` as keywords (the EQs' kind, a
        pedalboard plugin's class name) overrides this.
        """
        return type(self)(**params)

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
