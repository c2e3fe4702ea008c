"""The built-in EQ filters: Butterworth high-/low-pass and the RBJ cookbook biquads."""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np
import scipy.signal

from fxlab.effects.base import Effect, Knob, _as_signal, _real
from fxlab.errors import ParameterError, problem, unknown_name

__all__ = ["EQ_EFFECTS", "ButterworthFilter", "CookbookBiquad", "EQFilter"]

EQ_EFFECTS = ("highpass", "lowpass", "peaking", "lowshelf", "highshelf")
"""The built-in EQ filters (names for :func:`get_effect`)."""


class EQFilter(Effect):
    """An IIR filter given as second-order sections; linear and time-invariant."""

    is_linear = True

    def sos(self, sr: int | float) -> np.ndarray:  # pragma: no cover
        """Second-order sections for ``sr`` Hz: shape ``(n_sections, 6)`` (scipy's layout)."""
        raise NotImplementedError

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        return scipy.signal.sosfilt(self.sos(sr), x.astype(np.float64)).astype(np.float32)

    def magnitude_response_db(self, freqs_hz: object, *, sr: int | float) -> np.ndarray:
        """Magnitude response of the digital filter at ``freqs_hz``.

        Parameters
        ----------
        freqs_hz : array_like [shape=(k,)] of float in [0, sr/2]
            Frequencies, Hz.
        sr : int > 0
            Sample rate, Hz.

        Returns
        -------
        mag_db : np.ndarray [shape=(k,), dtype=float64]
            ``20 log10 |H(e^{j 2 pi f / sr})|`` in dB (``-inf`` where the response is exactly 0,
            e.g. a high-pass at DC).
        """
        f = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
        _, sr = _as_signal(np.zeros(1), sr, self.describe())
        if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f > sr / 2):
            raise ParameterError(problem(
                f"{self.describe()}: freqs_hz", found=f"values from {f.min():g} to {f.max():g} Hz",
                expected=f"frequencies in [0, {sr / 2:g}] Hz (sr={sr})",
                fix="pass frequencies between 0 Hz and the Nyquist frequency",
            ))
        _, h = scipy.signal.sosfreqz(self.sos(sr), worN=f, fs=sr)
        with np.errstate(divide="ignore"):
            return 20.0 * np.log10(np.abs(h))

    def _with_params(self, params: dict[str, Any]) -> Effect:
        return type(self)(self.name, **params)

    def _check_below_nyquist(self, label: str, freq: float, sr: int | float) -> None:
        if not freq < sr / 2:
            raise ParameterError(problem(
                f"{self.name}: {label}={freq:g}", found=f"{freq:g} Hz at sr={sr}",
                expected=f"a frequency in (0, {sr / 2:g}) Hz (below Nyquist)",
                fix=f"lower {label} below {sr / 2:g} Hz or use a higher sample rate",
            ))


class ButterworthFilter(EQFilter):
    """Butterworth high-pass or low-pass, order 1 (6 dB/octave) or 2 (12 dB/octave).

    Designed with ``scipy.signal.butter(order, cutoff_hz, btype, fs=sr, output="sos")`` (the
    bilinear transform, prewarped so the -3.01 dB point is exactly at ``cutoff_hz``).

    Knobs: ``cutoff_hz`` in [20, 20000] Hz, log scale (``order`` is a discrete choice, not a knob).

    Parameters
    ----------
    kind : {"highpass", "lowpass"}
    cutoff_hz : float > 0
        -3 dB frequency, Hz; must be below ``sr / 2`` when the filter is used.
    order : {1, 2}
        Slope beyond the cutoff: 1 = 6 dB/octave, 2 = 12 dB/octave.
    """

    ORDERS: ClassVar[tuple[int, ...]] = (1, 2)
    KNOBS: ClassVar[tuple[Knob, ...]] = (
        Knob("cutoff_hz", 20.0, 20000.0, 440.0, "Hz", "log"),
    )

    def __init__(self, kind: str, *, cutoff_hz: float = 440.0, order: int = 1):
        if kind not in ("highpass", "lowpass"):
            raise unknown_name("Butterworth filter type", kind, ["highpass", "lowpass"])
        self.name = kind
        cutoff = _real("cutoff_hz", kind, cutoff_hz, low=0.0, what=" Hz, below sr/2")
        if isinstance(order, bool) or not isinstance(order, numbers.Integral) \
                or int(order) not in self.ORDERS:
            raise ParameterError(problem(
                f"{kind}: order={order!r}", found=repr(order),
                expected="1 (6 dB/octave) or 2 (12 dB/octave)",
                fix="pass order=1 or order=2",
            ))
        super().__init__({"cutoff_hz": cutoff, "order": int(order)})

    def sos(self, sr: int | float) -> np.ndarray:
        cutoff = self.params["cutoff_hz"]
        self._check_below_nyquist("cutoff_hz", cutoff, sr)
        return scipy.signal.butter(self.params["order"], cutoff, self.name, fs=sr, output="sos")

    def describe(self) -> str:
        order = self.params["order"]
        label = "high-pass" if self.name == "highpass" else "low-pass"
        suffix = "st" if order == 1 else "nd"
        return (f"{label} {self.params['cutoff_hz']:g} Hz, {order}{suffix} order "
                f"({6 * order} dB/oct)")


class CookbookBiquad(EQFilter):
    """Peaking or shelving EQ: a biquad from the "Audio EQ Cookbook" (RBJ).

    Knobs: ``freq_hz`` in [20, 20000] Hz (log), ``gain_db`` in [-24, 24] dB (linear), ``q`` in
    [0.1, 10] (log); the constructor accepts wider values, ``with_knobs`` only these ranges.

    Parameters
    ----------
    kind : {"peaking", "lowshelf", "highshelf"}
    freq_hz : float > 0
        Centre frequency (peaking) or shelf midpoint (shelves), Hz; below ``sr / 2`` when used.
    gain_db : float in [-48, 48]
        Boost (> 0) or cut (< 0) in dB at the centre / on the shelf.
    q : float in (0, 100]
        Quality factor: bandwidth of the peak, or shelf slope (0.7071 = the steepest shelf
        without overshoot). Shelves use the cookbook's Q form of ``alpha``.
    """

    KNOBS: ClassVar[tuple[Knob, ...]] = (
        Knob("freq_hz", 20.0, 20000.0, 1000.0, "Hz", "log"),
        Knob("gain_db", -24.0, 24.0, 6.0, "dB", "linear"),
        Knob("q", 0.1, 10.0, 1.0 / math.sqrt(2.0), "", "log"),
    )

    def __init__(self, kind: str, *, freq_hz: float = 1000.0, gain_db: float = 6.0,
                 q: float = 1.0 / math.sqrt(2.0)):
        if kind not in ("peaking", "lowshelf", "highshelf"):
            raise unknown_name("cookbook biquad type", kind, ["peaking", "lowshelf", "highshelf"])
        self.name = kind
        params = {
            "freq_hz": _real("freq_hz", kind, freq_hz, low=0.0, what=" Hz, below sr/2"),
            "gain_db": _real("gain_db", kind, gain_db, low=-48.0, high=48.0, low_open=False,
                             what=" dB"),
            "q": _real("q", kind, q, low=0.0, high=100.0),
        }
        super().__init__(params)

    def sos(self, sr: int | float) -> np.ndarray:
        f0, gain_db, q = self.params["freq_hz"], self.params["gain_db"], self.params["q"]
        self._check_below_nyquist("freq_hz", f0, sr)
        a = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * f0 / sr
        cw, sw = math.cos(w0), math.sin(w0)
        alpha = sw / (2.0 * q)
        if self.name == "peaking":
            b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
            den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
        else:
            sa = 2.0 * math.sqrt(a) * alpha
            if self.name == "lowshelf":
                b = [a * ((a + 1) - (a - 1) * cw + sa), 2 * a * ((a - 1) - (a + 1) * cw),
                     a * ((a + 1) - (a - 1) * cw - sa)]
                den = [(a + 1) + (a - 1) * cw + sa, -2 * ((a - 1) + (a + 1) * cw),
                       (a + 1) + (a - 1) * cw - sa]
            else:  # highshelf
                b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
                     a * ((a + 1) + (a - 1) * cw - sa)]
                den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw),
                       (a + 1) - (a - 1) * cw - sa]
        b_arr = np.asarray(b) / den[0]
        a_arr = np.asarray(den) / den[0]
        return np.concatenate([b_arr, a_arr])[None, :]

    def describe(self) -> str:
        label = {"peaking": "peaking EQ", "lowshelf": "low shelf", "highshelf": "high shelf"}
        p = self.params
        return f"{label[self.name]} {p['freq_hz']:g} Hz, {p['gain_db']:+g} dB, Q {p['q']:.3g}"
