"""A parametric drive: input gain into a waveshaper, a tone filter and an output level.

The chain, per sample rate ``sr`` (every stage causal, so the effect adds no look-ahead):

1. input gain ``gain_db``;
2. ``oversample``-times oversampling: zero-stuffing, then an 8th-order elliptic low-pass (0.05 dB
   ripple, 100 dB stop band) at ``0.45 * sr`` run at the high rate (:data:`AA_ORDER`, ...);
3. the waveshaper ``shape``: ``"tanh"`` (symmetric: odd harmonics only) or ``"asymmetric"``
   (``tanh(u + b) - tanh(b)`` with ``b`` = :data:`ASYMMETRY`: even harmonics too, and a DC
   offset that stage 5 removes);
4. the same low-pass again, then every ``oversample``-th sample kept (decimation);
5. a DC blocker (1st-order Butterworth high-pass at :data:`DC_BLOCK_HZ`);
6. the tone filter: a 1st-order low-pass whose cut-off sweeps from 500 Hz (``tone=0``, dark) to
   12 kHz (``tone=1``, bright) on a log scale (capped at ``0.45 * sr``);
7. output level ``level_db``.

Aliasing. A waveshaper makes harmonics above ``sr/2``; without oversampling they fold back to
frequencies that are not harmonics. At ``oversample=4`` (the default) harmonics up to
``4 * sr - 0.45 * sr`` are removed before decimation, and what folds back from beyond is
attenuated by the stop band. Measured (the share of the output's power at non-harmonic
frequencies, ``tests/test_effects_knobs.py`` checks the 1 kHz case): a sine at 0 dBFS driven at
``gain_db=30`` (``tone=1``, nearly a square wave) into ``tanh`` at 44.1 kHz gives

=========== =========== ========= =========
fundamental x1 (none)   x4        x8
=========== =========== ========= =========
1 kHz       -27 dB      -71 dB    -69 dB
5 kHz       -14 dB      -31 dB    -46 dB
=========== =========== ========= =========

(the same for ``"asymmetric"``). Guitar fundamentals sit below 1.3 kHz; choose ``oversample=8``
for bright, high-gain material.

Knobs (:attr:`DriveEffect.KNOBS`): ``gain_db`` in [0, 40] dB, ``tone`` in [0, 1], ``level_db``
in [-24, 6] dB, all linear. ``shape`` and ``oversample`` are choices, not knobs.

- :class:`DriveEffect`  the effect (``get_effect("drive", gain_db=..., tone=..., level_db=...)``)
- :func:`tone_cutoff_hz` the tone filter's cut-off for a ``tone`` value
"""

from __future__ import annotations

import math
import numbers
from typing import ClassVar

import numpy as np
import scipy.signal

from fxlab.effects.base import Effect, Knob, _real
from fxlab.errors import ParameterError, problem, unknown_name

__all__ = ["AA_ORDER", "ASYMMETRY", "DC_BLOCK_HZ", "DriveEffect", "OVERSAMPLE_FACTORS",
           "SHAPES", "tone_cutoff_hz"]

SHAPES = ("tanh", "asymmetric")
OVERSAMPLE_FACTORS = (1, 2, 4, 8)
#: The anti-aliasing low-pass: elliptic, this order, 0.05 dB ripple, 100 dB stop band.
AA_ORDER = 8
#: The bias of the asymmetric waveshaper ``tanh(u + b) - tanh(b)``.
ASYMMETRY = 0.3
#: The DC blocker's cut-off, Hz.
DC_BLOCK_HZ = 10.0
_TONE_LOW_HZ, _TONE_HIGH_HZ = 500.0, 12000.0


def tone_cutoff_hz(tone: float, sr: int | float) -> float:
    """The tone filter's cut-off, Hz: ``500 * 24**tone`` (500 Hz to 12 kHz), at most ``0.45 * sr``."""
    return min(_TONE_LOW_HZ * (_TONE_HIGH_HZ / _TONE_LOW_HZ) ** float(tone), 0.45 * float(sr))


class DriveEffect(Effect):
    """Gain into a waveshaper, a tone filter and an output level (see the module text).

    Parameters
    ----------
    gain_db : float in [0, 40]
        Input gain, dB (the drive).
    tone : float in [0, 1]
        Tone filter: 0 dark (500 Hz low-pass) to 1 bright (12 kHz).
    level_db : float in [-24, 6]
        Output level, dB.
    shape : {"tanh", "asymmetric"}
        The waveshaper.
    oversample : {1, 2, 4, 8}
        Oversampling factor around the waveshaper (1: none, aliasing as measured above).
    """

    name = "drive"
    is_linear = False
    KNOBS: ClassVar[tuple[Knob, ...]] = (
        Knob("gain_db", 0.0, 40.0, 20.0, "dB", "linear"),
        Knob("tone", 0.0, 1.0, 0.5, "", "linear"),
        Knob("level_db", -24.0, 6.0, -6.0, "dB", "linear"),
    )

    def __init__(self, *, gain_db: float = 20.0, tone: float = 0.5, level_db: float = -6.0,
                 shape: str = "tanh", oversample: int = 4):
        params = {k.name: k.check(v, "drive") for k, v in
                  zip(self.KNOBS, (gain_db, tone, level_db), strict=True)}
        if shape not in SHAPES:
            raise unknown_name("drive shape", shape, SHAPES)
        if isinstance(oversample, bool) or not isinstance(oversample, numbers.Integral) \
                or int(oversample) not in OVERSAMPLE_FACTORS:
            raise ParameterError(problem(
                f"drive: oversample={oversample!r}", found=repr(oversample),
                expected=f"one of {', '.join(map(str, OVERSAMPLE_FACTORS))}",
                fix="pass oversample=4 (the default; 1 turns oversampling off)"))
        super().__init__({**params, "shape": shape, "oversample": int(oversample)})

    def _aa_sos(self, factor: int) -> np.ndarray:
        # cut-off 0.45 * sr at the rate factor * sr: 0.9 / factor of that rate's Nyquist
        return scipy.signal.ellip(AA_ORDER, 0.05, 100.0, 0.9 / factor, output="sos")

    def _shape(self, u: np.ndarray) -> np.ndarray:
        if self.params["shape"] == "tanh":
            return np.tanh(u)
        return np.tanh(u + ASYMMETRY) - math.tanh(ASYMMETRY)

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        p = self.params
        _real("sr", "drive", sr, low=2 * DC_BLOCK_HZ)
        u = x.astype(np.float64) * 10.0 ** (p["gain_db"] / 20.0)
        r = p["oversample"]
        if r > 1:
            sos = self._aa_sos(r)
            up = np.zeros(u.size * r)
            up[::r] = u * r
            v = scipy.signal.sosfilt(sos, self._shape(scipy.signal.sosfilt(sos, up)))
            y = v[::r]
        else:
            y = self._shape(u)
        y = scipy.signal.sosfilt(scipy.signal.butter(1, DC_BLOCK_HZ, "highpass", fs=sr,
                                                     output="sos"), y)
        y = scipy.signal.sosfilt(scipy.signal.butter(1, tone_cutoff_hz(p["tone"], sr), "lowpass",
                                                     fs=sr, output="sos"), y)
        return (y * 10.0 ** (p["level_db"] / 20.0)).astype(np.float32)

    def describe(self) -> str:
        p = self.params
        return (f"drive {p['gain_db']:g} dB ({p['shape']}, x{p['oversample']} oversampled), "
                f"tone {p['tone']:g}, level {p['level_db']:+g} dB")
