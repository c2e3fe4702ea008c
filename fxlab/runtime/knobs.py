"""Knob values of a conditioned network: their declarations and their smoothing between blocks.

- :data:`KNOB_SMOOTHING_S`  the time constant of the one-pole glide (10 ms)
- :func:`smooth_knobs`      the glide itself, in closed form, for ``n`` samples
- :func:`knobs_of`          the knob declarations of a conditioned network: given, from its
                            ``config["knobs"]``, or ``knob_0`` ... in [0, 1]

:class:`fxlab.runtime.Processor` uses both (``set_knobs``, ``process``); see
:mod:`fxlab.runtime.streaming` for how a moved knob reaches the network.
"""

from __future__ import annotations

import numpy as np

from fxlab.effects.base import Knob
from fxlab.errors import ParameterError, problem

__all__ = ["KNOB_SMOOTHING_S", "knobs_of", "smooth_knobs"]

#: Time constant of the one-pole smoothing of knob values (seconds).
KNOB_SMOOTHING_S = 0.010


def smooth_knobs(start: np.ndarray, target: np.ndarray, n: int, *, sr: int,
                 tau_s: float = KNOB_SMOOTHING_S) -> np.ndarray:
    """``n`` samples of a one-pole glide from ``start`` towards ``target``.

    ``s[t] = s[t-1] + a * (target - s[t-1])`` with ``s[-1] = start`` and
    ``a = 1 - exp(-1 / (tau_s * sr))``, in closed form: ``target + (start - target) * (1-a)**(t+1)``.

    Parameters
    ----------
    start, target : np.ndarray [shape=(K,)]
        Normalised knob values before the block, and the values set.
    n : int >= 0
        Samples.
    sr : int > 0 [Hz]
    tau_s : float > 0 [s]

    Returns
    -------
    traj : np.ndarray [shape=(n, K), float64]
        The values fed with each sample; ``traj[-1]`` is the next block's ``start``.
    """
    r = np.exp(-1.0 / (tau_s * sr))
    start = np.asarray(start, np.float64)
    target = np.asarray(target, np.float64)
    powers = r ** np.arange(1, n + 1, dtype=np.float64)
    return target[None, :] + (start - target)[None, :] * powers[:, None]


def knobs_of(model, n_knobs: int, knobs) -> tuple[Knob, ...]:
    """The knob declarations of a conditioned network (see the module text)."""
    if knobs is None:
        stated = getattr(model, "config", None)
        stated = stated.get("knobs") if isinstance(stated, dict) else None
        if isinstance(stated, list | tuple) and len(stated) == n_knobs:
            knobs = stated
        else:
            knobs = [Knob(f"knob_{i}", 0.0, 1.0, 0.5) for i in range(n_knobs)]
    out = tuple(k if isinstance(k, Knob) else Knob.from_dict(k) for k in knobs)
    if len(out) != n_knobs:
        raise ParameterError(problem(
            "knobs", found=f"{len(out)} knob declarations ({', '.join(k.name for k in out)})",
            expected=f"{n_knobs}, one per knob input of the network, in its input order",
            fix="pass the effect's knobs the model was trained on (effect.knobs)"))
    return out
