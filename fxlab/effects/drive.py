"""A parametric drive pedal: gain into a tanh soft clipper, a tone low-pass, an output level."""

from __future__ import annotations

import numpy as np
import scipy.signal

from fxlab.effects.base import Effect, _real

__all__ = ["Drive"]


class Drive(Effect):
    """Drive pedal ``y = level * lowpass_tone(tanh(gain * x))``: nonlinear, memoryless clipping
    followed by a 1st-order Butterworth tone filter (6 dB/octave).

    Parameters
    ----------
    gain_db : float in [0, 60]
        Gain into the clipper, dB (0: nearly clean at low levels; 30: heavy distortion).
    tone_hz : float > 0
        Cutoff of the tone low-pass after the clipper, Hz; below ``sr / 2`` when used.
    level_db : float in [-60, 12]
        Output level, dB.
    """

    name = "drive"
    is_linear = False

    def __init__(self, *, gain_db: float = 20.0, tone_hz: float = 3000.0, level_db: float = -6.0):
        super().__init__({
            "gain_db": _real("gain_db", "drive", gain_db, low=0.0, high=60.0, low_open=False,
                             what=" dB"),
            "tone_hz": _real("tone_hz", "drive", tone_hz, low=0.0, what=" Hz, below sr/2"),
            "level_db": _real("level_db", "drive", level_db, low=-60.0, high=12.0,
                              low_open=False, what=" dB"),
        })

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        from fxlab.effects.filters import ButterworthFilter

        tone = ButterworthFilter("lowpass", cutoff_hz=self.params["tone_hz"], order=1)
        clipped = np.tanh(10.0 ** (self.params["gain_db"] / 20.0) * x.astype(np.float64))
        y = scipy.signal.sosfilt(tone.sos(sr), clipped)
        return (10.0 ** (self.params["level_db"] / 20.0) * y).astype(np.float32)

    def describe(self) -> str:
        p = self.params
        return (f"drive {p['gain_db']:g} dB into tanh, tone {p['tone_hz']:g} Hz, "
                f"level {p['level_db']:+g} dB")
