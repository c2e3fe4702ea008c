"""The compiled streaming engine of the gray-box emulator (``fxlab.models.build_model("graybox")``).

The exact recursive filters the Keras model samples in frequency, behind the emulator's delay
line (its whole-sample delay): every EQ section a biquad in
transposed direct form II, float64, its two state values carried from block to block; the
static curve evaluated per sample between the two EQs. A signal processed block by block (any
sizes, 1 sample included) equals the whole signal processed at once, and equals the Keras model's
output within 1e-5 wherever the filters' impulse responses have decayed within the Keras call's
length (:mod:`fxlab.models.graybox`).

Knobs. A knob-conditioned emulator's parameters come from its controller
(:meth:`fxlab.models.graybox.GrayboxSpec.blocks`); the kernel recomputes them at the start of
every :data:`~fxlab.models.graybox.KNOB_BLOCK` samples whose knob row differs from the one they
were computed for (a held knob costs nothing), keeping the filters' states.

- :class:`GrayboxKernel`  ``process(block[, knobs]) -> out``, ``reset()``
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fxlab.models.graybox import KNOB_BLOCK, GrayboxSpec

__all__ = ["GrayboxKernel"]


@njit(cache=True)
def _cascade(x, sos, gain, state):
    """``x`` through the biquads ``sos [S, 6]`` (TDF-II, ``state [S, 2]`` updated), times ``gain``."""
    n = x.shape[0]
    y = np.empty(n)
    for t in range(n):
        v = x[t]
        for s in range(sos.shape[0]):
            b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
            w = b0 * v + state[s, 0]
            state[s, 0] = b1 * v - a1 * w + state[s, 1]
            state[s, 1] = b2 * v - a2 * w
            v = w
        y[t] = v * gain
    return y


@njit(cache=True)
def _shape(u, drive, lin, c, w, d):
    """The static curve ``l u + sum_k c_k (tanh(w_k u + d_k) - tanh(d_k))`` of ``drive * u``."""
    n = u.shape[0]
    y = np.empty(n)
    off = 0.0
    for k in range(c.shape[0]):
        off += c[k] * np.tanh(d[k])
    for t in range(n):
        v = drive * u[t]
        acc = lin * v - off
        for k in range(c.shape[0]):
            acc += c[k] * np.tanh(w[k] * v + d[k])
        y[t] = acc
    return y


class GrayboxKernel:
    """Streams a gray-box emulator, state carried between blocks (see the module text)."""

    def __init__(self, spec: GrayboxSpec):
        self.spec = spec
        self._eqs = ("eq",) if spec.shaper == 0 else ("pre", "post")
        self._row = None
        self._blocks = spec.blocks() if not spec.knobs else None
        self.reset()

    def reset(self) -> None:
        """Zero every filter's state and the delay line."""
        self._state = {name: np.zeros((self.spec.sections, 2)) for name in self._eqs}
        self._line = np.zeros(self.spec.delay)

    def _params(self, row) -> dict:
        if self._row is None or not np.array_equal(row, self._row):
            self._row = np.array(row, np.float64)
            self._blocks = self.spec.blocks(self._row)
        return self._blocks

    def _delayed(self, x: np.ndarray) -> np.ndarray:
        """``x`` behind the delay line (its last ``delay`` samples kept for the next block)."""
        if not self.spec.delay:
            return x
        ext = np.concatenate([self._line, x])
        self._line = ext[x.size:]
        return ext[:x.size]

    def _run(self, x: np.ndarray, p: dict) -> np.ndarray:
        if self.spec.shaper == 0:
            return _cascade(x, *p["eq"], self._state["eq"])
        u = _cascade(x, *p["pre"], self._state["pre"])
        v = _shape(u, p["drive"], *p["shaper"])
        return _cascade(v, *p["post"], self._state["post"])

    def process(self, block: np.ndarray, knobs: np.ndarray | None = None) -> np.ndarray:
        """The next block (``[n]`` float32) and, for a conditioned emulator, its knob rows
        ``[n, K]`` (normalised); returns ``[n]`` float32."""
        x = self._delayed(np.asarray(block, np.float64))
        if not self.spec.knobs:
            return self._run(x, self._blocks).astype(np.float32)
        if knobs.shape[0] and (knobs == knobs[0]).all():  # held: one setting for the block
            return self._run(x, self._params(knobs[0])).astype(np.float32)
        out = np.empty(x.size, np.float32)
        for i in range(0, x.size, KNOB_BLOCK):
            j = min(i + KNOB_BLOCK, x.size)
            out[i:j] = self._run(x[i:j], self._params(knobs[i]))
        return out
