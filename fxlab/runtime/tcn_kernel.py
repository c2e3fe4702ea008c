"""A compiled streaming engine for the sample-level TCN (``fxlab.models.build_model("tcn")``).

The TCN is stateless in Keras: one output sample is a function of the last ``receptive_field``
input samples. Streaming it by re-running the network over the whole receptive field for every
block (what ``engine="keras"`` in :class:`fxlab.runtime.ConvProcessor` does) costs ``receptive_field / block`` times the work.
This module instead keeps, per dilated layer, a ring buffer of that layer's past *inputs* --
``dilation * (kernel - 1)`` samples of ``channels`` values -- so that every input sample passes
through the network once: the cost per sample is the network's multiply-adds only, whatever the
block size. A signal processed block by block (any block sizes, 1 sample included) gives the
Keras model's output on the whole signal, ``model.predict_on_batch(x[None, :, None])``, to float32
rounding (within 1e-5).

The kernel is numba (``@njit(cache=True, fastmath=True)``), float32, one call per block, with no
allocation per sample; tanh is the float32 rational approximation TensorFlow's CPU kernels use and
sigmoid is ``0.5 * tanh(x / 2) + 0.5``.

Knob-conditioned TCNs (FiLM, :mod:`fxlab.models.tcn`) run on a second kernel that reads a row of
``K`` normalised knob values beside every sample: ``process(block, knobs)``. Their generator (a
per-sample MLP, :attr:`fxlab.models.tcn.FilmSpec.macs` multiply-adds: 21,008 for C=16, 10 layers, as
many as the TCN's own 20,256 per sample) runs only when the knob row differs from the previous
sample's; otherwise the scales and shifts it computed last are reused. That is exact (the same row
gives the same scales) and costs nothing while a knob is held; while a knob glides
(:func:`fxlab.runtime.smooth_knobs`, every sample's row differs) or when training data gives every
sample its own value, it runs every sample: measured (``python -m fxlab.bench film``, C=16, 10
layers, 64-sample blocks) about 25 % more time per sample than the unconditioned kernel, not twice,
as its loops over contiguous outputs vectorise well (held: +3 to +12 %). The unconditioned kernel is
untouched, so unconditioned outputs are bit-identical to before.

Functions and classes
---------------------
The weights come from the model's own module: :func:`fxlab.models.tcn.tcn_spec` reads them by
layer name into a :class:`fxlab.models.tcn.TcnSpec`.

- :class:`TcnKernel`    block-by-block streaming: ``process(block[, knobs]) -> out``, ``reset()``
- :func:`render`        a whole signal from a zero state

Examples
--------
>>> from fxlab.models.tcn import tcn_spec                          # doctest: +SKIP
>>> from fxlab.runtime.tcn_kernel import TcnKernel                 # doctest: +SKIP
>>> k = TcnKernel(tcn_spec(model))                                # doctest: +SKIP
>>> y = np.concatenate([k.process(b) for b in np.split(x, 64)])   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fxlab.errors import ParameterError, problem
from fxlab.models.tcn import TcnSpec
from fxlab.runtime.engines import as_knob_block
from fxlab.runtime.kernels import tanh

__all__ = ["TcnKernel", "render"]


# ---- numba kernel ----------------------------------------------------------------------------
# Per layer l the ring buffer ring[off[l] : off[l] + span[l]] (rows of C values) holds the layer's
# inputs of the last span[l] = dilation * (K - 1) samples; pos[l] is the row the current sample
# will be written to (= the oldest row). Tap m of the dilated convolution reads the input
# (K - 1 - m) * dilation samples ago: the current vector for the last tap, else a ring row.

@njit(cache=True, fastmath=True, error_model="numpy")
def _tcn_block(x, y, input_w, input_b, dilations, conv_w, conv_b, skip_w, skip_b, res_w, res_b,
               head_w, head_b, skip_tanh, ring, off, pos, h, acc, z, s):
    """Run the TCN over ``x`` (float32 ``(n,)``) into ``y``, advancing the ring buffers.

    ``h`` (C,), ``acc`` (2C,), ``z`` (C,), ``s`` (C,) are scratch vectors.
    """
    n_layers, k, c = conv_w.shape[0], conv_w.shape[1], conv_w.shape[2]
    half = np.float32(0.5)
    for t in range(x.shape[0]):
        xt = x[t]
        for j in range(c):
            h[j] = xt * input_w[j] + input_b[j]
            s[j] = skip_b[j]
        for layer in range(n_layers):
            d = dilations[layer]
            span = d * (k - 1)
            base = off[layer]
            p = pos[layer]
            for j in range(2 * c):
                acc[j] = conv_b[layer, j]
            for m in range(k - 1):
                r = p + m * d  # the row written span - m * d samples ago (oldest first)
                if r >= span:
                    r -= span
                row = base + r
                for i in range(c):
                    v = ring[row, i]
                    for j in range(2 * c):
                        acc[j] += v * conv_w[layer, m, i, j]
            for i in range(c):
                v = h[i]
                for j in range(2 * c):
                    acc[j] += v * conv_w[layer, k - 1, i, j]
            for j in range(c):
                z[j] = tanh(acc[j]) * (half * tanh(half * acc[c + j]) + half)
            if span > 0:
                row = base + p
                for i in range(c):
                    ring[row, i] = h[i]
                p += 1
                pos[layer] = 0 if p == span else p
            for i in range(c):
                v = z[i]
                for j in range(c):
                    s[j] += v * skip_w[layer, i, j]
            if layer < n_layers - 1:
                for j in range(c):
                    h[j] += res_b[layer, j]
                for i in range(c):
                    v = z[i]
                    for j in range(c):
                        h[j] += v * res_w[layer, i, j]
        out = head_b
        for j in range(c):
            out += head_w[j] * (tanh(s[j]) if skip_tanh else s[j])
        y[t] = out + xt


# ---- knob-conditioned (FiLM) -------------------------------------------------------------------
# The same network; knobs (n, K) float32. film (L * 4C) holds per layer the filter and gate scales
# then their shifts, for the knob row in last (K,) (valid once have[0] = 1: fastmath assumes no
# NaN, so no NaN marks "none yet"); a row that differs from last runs the generator.

@njit(cache=True, fastmath=True, error_model="numpy")
def _film_update(u, w0, b0, w1, b1, wa, ba, a0, a1, film):
    """``film = relu(relu(u @ w0 + b0) @ w1 + b1) @ wa + ba`` for one knob row ``u``."""
    zero = np.float32(0.0)
    for j in range(a0.shape[0]):
        a0[j] = b0[j]
    for q in range(u.shape[0]):
        v = u[q]
        for j in range(a0.shape[0]):
            a0[j] += v * w0[q, j]
    for j in range(a1.shape[0]):
        a1[j] = b1[j]
    for i in range(a0.shape[0]):
        v = max(a0[i], zero)
        if v != zero:
            for j in range(a1.shape[0]):
                a1[j] += v * w1[i, j]
    for j in range(film.shape[0]):
        film[j] = ba[j]
    for i in range(a1.shape[0]):
        v = max(a1[i], zero)
        if v != zero:  # a ReLU's zeros add nothing: skip their rows
            for j in range(film.shape[0]):
                film[j] += v * wa[i, j]


@njit(cache=True, fastmath=True, error_model="numpy")
def _tcn_block_film(x, knobs, y, input_w, input_b, dilations, conv_w, conv_b, skip_w, skip_b,
                    res_w, res_b, head_w, head_b, skip_tanh, ring, off, pos, h, acc, z, s,
                    w0, b0, w1, b1, wa, ba, last, have, film, a0, a1):
    """:func:`_tcn_block` with FiLM: each layer's pre-activations scaled and shifted per sample."""
    n_layers, k, c = conv_w.shape[0], conv_w.shape[1], conv_w.shape[2]
    n_k = knobs.shape[1]
    half = np.float32(0.5)
    for t in range(x.shape[0]):
        changed = have[0] == 0
        for q in range(n_k):
            if knobs[t, q] != last[q]:
                changed = True
        if changed:
            for q in range(n_k):
                last[q] = knobs[t, q]
            _film_update(last, w0, b0, w1, b1, wa, ba, a0, a1, film)
            have[0] = 1
        xt = x[t]
        for j in range(c):
            h[j] = xt * input_w[j] + input_b[j]
            s[j] = skip_b[j]
        for layer in range(n_layers):
            d = dilations[layer]
            span = d * (k - 1)
            base = off[layer]
            p = pos[layer]
            for j in range(2 * c):
                acc[j] = conv_b[layer, j]
            for m in range(k - 1):
                r = p + m * d
                if r >= span:
                    r -= span
                row = base + r
                for i in range(c):
                    v = ring[row, i]
                    for j in range(2 * c):
                        acc[j] += v * conv_w[layer, m, i, j]
            for i in range(c):
                v = h[i]
                for j in range(2 * c):
                    acc[j] += v * conv_w[layer, k - 1, i, j]
            fo = layer * 4 * c
            for j in range(2 * c):
                acc[j] = acc[j] * film[fo + j] + film[fo + 2 * c + j]
            for j in range(c):
                z[j] = tanh(acc[j]) * (half * tanh(half * acc[c + j]) + half)
            if span > 0:
                row = base + p
                for i in range(c):
                    ring[row, i] = h[i]
                p += 1
                pos[layer] = 0 if p == span else p
            for i in range(c):
                v = z[i]
                for j in range(c):
                    s[j] += v * skip_w[layer, i, j]
            if layer < n_layers - 1:
                for j in range(c):
                    h[j] += res_b[layer, j]
                for i in range(c):
                    v = z[i]
                    for j in range(c):
                        h[j] += v * res_w[layer, i, j]
        out = head_b
        for j in range(c):
            out += head_w[j] * (tanh(s[j]) if skip_tanh else s[j])
        y[t] = out + xt


class TcnKernel:
    """Stream a TCN block by block with per-layer ring buffers (batch 1, float32).

    Parameters
    ----------
    weights : TcnSpec
        From :func:`fxlab.models.tcn.tcn_spec` (``film=True`` for a knob-conditioned TCN).

    Examples
    --------
    >>> k = TcnKernel(tcn_spec(model))   # doctest: +SKIP
    >>> y1 = k.process(x[:64]); y2 = k.process(x[64:128])   # doctest: +SKIP
    >>> kc = TcnKernel(tcn_spec(conditioned, film=True))   # doctest: +SKIP
    >>> y = kc.process(x[:64], np.full(1, 0.3))   # one knob held at 0.3   # doctest: +SKIP
    """

    def __init__(self, weights: TcnSpec):
        if not isinstance(weights, TcnSpec):
            raise ParameterError(problem(
                f"weights={type(weights).__name__}", found="not a TcnSpec",
                expected="the TcnSpec of a TCN", fix="pass tcn_spec(model)"))
        self.weights = w = weights
        c, k = w.channels, w.kernel
        spans = w.dilations * (k - 1)
        self._off = np.concatenate([[0], np.cumsum(spans)[:-1]]).astype(np.int64)
        self._ring = np.zeros((max(int(spans.sum()), 1), c), np.float32)
        self._pos = np.zeros(w.n_layers, np.int64)
        self._h = np.zeros(c, np.float32)
        self._acc = np.zeros(2 * c, np.float32)
        self._z = np.zeros(c, np.float32)
        self._s = np.zeros(c, np.float32)
        f = w.film
        if f is not None:
            self._last = np.zeros(f.knobs, np.float32)
            self._have = np.zeros(1, np.int64)
            self._film = np.zeros(f.ba.shape[0], np.float32)
            self._a0 = np.zeros(f.b0.shape[0], np.float32)
            self._a1 = np.zeros(f.b1.shape[0], np.float32)

    @property
    def knobs(self) -> int:
        """Knob values read per sample beside the audio (0: an unconditioned TCN)."""
        return self.weights.knobs

    @property
    def receptive_field(self) -> int:
        """Input samples one output sample depends on (the current one included)."""
        return self.weights.receptive_field

    def reset(self) -> None:
        """Forget the past: zero every ring buffer (the state of a fresh kernel)."""
        self._ring[:] = 0.0
        self._pos[:] = 0

    def process(self, block: np.ndarray, knobs=None) -> np.ndarray:
        """Process one block, continuing from the previous one.

        Parameters
        ----------
        block : np.ndarray [shape=(n,)]
            Input samples, float (converted to float32), ``n >= 0``.
        knobs : None or np.ndarray [shape=(n, K) or (K,)]
            A conditioned TCN's knob values normalised to [0, 1], per sample or held over the
            block; None (and only None) for an unconditioned TCN.

        Returns
        -------
        np.ndarray [shape=(n,), float32]
            The output samples.

        Raises
        ------
        fxlab.errors.ParameterError
            If ``block`` is not one-dimensional, or ``knobs`` does not fit the network (knobs for
            an unconditioned TCN, none for a conditioned one, a wrong shape, NaN).
        """
        x = np.asarray(block)
        if x.ndim != 1:
            raise ParameterError(problem(
                f"block of shape {x.shape}", found=f"{x.ndim} dimension(s)",
                expected="mono audio of shape (n,)", fix="pass one channel, e.g. block.reshape(-1)"))
        x = np.ascontiguousarray(x, np.float32)
        w = self.weights
        kn = as_knob_block(knobs, x.size, w.knobs)
        y = np.empty_like(x)
        if kn is not None:
            f = w.film
            _tcn_block_film(x, kn, y, w.input_w, w.input_b, w.dilations, w.conv_w, w.conv_b,
                            w.skip_w, w.skip_b, w.res_w, w.res_b, w.head_w, np.float32(w.head_b),
                            w.skip_tanh, self._ring, self._off, self._pos, self._h, self._acc,
                            self._z, self._s, f.w0, f.b0, f.w1, f.b1, f.wa, f.ba, self._last,
                            self._have, self._film, self._a0, self._a1)
            return y
        _tcn_block(x, y, w.input_w, w.input_b, w.dilations, w.conv_w, w.conv_b, w.skip_w,
                   w.skip_b, w.res_w, w.res_b, w.head_w, np.float32(w.head_b), w.skip_tanh,
                   self._ring, self._off, self._pos, self._h, self._acc, self._z, self._s)
        return y


def render(weights: TcnSpec, x: np.ndarray, knobs=None) -> np.ndarray:
    """The TCN's output over a whole signal ``x`` (float32, shape ``(n,)``) from a zero state
    (``knobs``: a conditioned TCN's normalised values, ``(n, K)`` or ``(K,)`` held)."""
    return TcnKernel(weights).process(x, knobs)
