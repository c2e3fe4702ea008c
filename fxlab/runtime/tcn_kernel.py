"""A compiled streaming engine for the sample-level TCN (``fxlab.models.build_model("tcn")``).

The TCN is stateless in Keras: one output sample is a function of the last ``receptive_field``
input samples. Streaming it by re-running the network over the whole receptive field for every
block (what :class:`fxlab.models.Streamer` does) costs ``receptive_field / block`` times the work.
This module instead keeps, per dilated layer, a ring buffer of that layer's past *inputs* --
``dilation * (kernel - 1)`` samples of ``channels`` values -- so that every input sample passes
through the network once: the cost per sample is the network's multiply-adds only, whatever the
block size. A signal processed block by block (any block sizes, 1 sample included) gives the
Keras model's output on the whole signal, ``model.predict_on_batch(x[None, :, None])``, to float32
rounding (within 1e-5).

The kernel is numba (``@njit(cache=True, fastmath=True)``), float32, one call per block, with no
allocation per sample; tanh is the float32 rational approximation TensorFlow's CPU kernels use and
sigmoid is ``0.5 * tanh(x / 2) + 0.5``.

Functions and classes
---------------------
- :class:`TcnWeights`   the weights of one TCN, float32, packed for the kernel (frozen)
- :func:`tcn_weights`   read them from a Keras TCN by its layer names
- :class:`TcnKernel`    block-by-block streaming: ``process(block) -> out``, ``reset()``
- :func:`render`        a whole signal from a zero state

Examples
--------
>>> from fxlab.runtime.tcn_kernel import TcnKernel, tcn_weights   # doctest: +SKIP
>>> k = TcnKernel(tcn_weights(model))                             # doctest: +SKIP
>>> y = np.concatenate([k.process(b) for b in np.split(x, 64)])   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from fxlab.errors import ParameterError, problem

__all__ = ["TcnKernel", "TcnWeights", "render", "tcn_weights"]


@dataclass(frozen=True)
class TcnWeights:
    """The weights of one TCN, float32 numpy arrays laid out for :class:`TcnKernel`.

    ``C`` = channels, ``K`` = kernel size, ``L`` = dilated layers in all (stacks x layers).

    Attributes
    ----------
    input_w, input_b : np.ndarray [shape=(C,)]
        The 1x1 input projection: ``h = x * input_w + input_b``.
    dilations : np.ndarray [shape=(L,), int64]
        Dilation of each layer, in samples.
    conv_w : np.ndarray [shape=(L, K, C, 2C)]
        Per layer and tap, the filter (columns ``:C``) and gate (columns ``C:``) kernels fused;
        tap ``m`` reads the layer input ``(K - 1 - m) * dilation`` samples ago.
    conv_b : np.ndarray [shape=(L, 2C)]
        Filter and gate biases.
    skip_w : np.ndarray [shape=(L, C, C)]
        The 1x1 skip convolutions (input channel, output channel).
    skip_b : np.ndarray [shape=(C,)]
        The sum of the skip convolutions' biases.
    res_w : np.ndarray [shape=(L, C, C)]
        The 1x1 residual convolutions; the last layer's is unused (zeros).
    res_b : np.ndarray [shape=(L, C)]
        Their biases (the last layer's zeros).
    head_w : np.ndarray [shape=(C,)]
        The ``head`` Dense layer's kernel.
    head_b : float
        Its bias.
    skip_tanh : bool
        Whether a tanh follows the skip sum (a ``skip_tanh`` layer in the model).
    receptive_field : int
        Input samples one output sample depends on, the current one included.
    """

    input_w: np.ndarray
    input_b: np.ndarray
    dilations: np.ndarray
    conv_w: np.ndarray
    conv_b: np.ndarray
    skip_w: np.ndarray
    skip_b: np.ndarray
    res_w: np.ndarray
    res_b: np.ndarray
    head_w: np.ndarray
    head_b: float
    skip_tanh: bool
    receptive_field: int

    @property
    def channels(self) -> int:
        """``C``, the width of every layer."""
        return int(self.input_w.shape[0])

    @property
    def kernel(self) -> int:
        """``K``, the taps of every dilated convolution."""
        return int(self.conv_w.shape[1])

    @property
    def n_layers(self) -> int:
        """``L``, the dilated layers in all."""
        return int(self.dilations.shape[0])

    @property
    def macs_per_sample(self) -> int:
        """Multiply-adds per output sample (input projection, dilated, skip, residual, head)."""
        c, k, n = self.channels, self.kernel, self.n_layers
        return c + n * (k * c * 2 * c + c * c) + (n - 1) * c * c + c


def _bad_model(model, found: str) -> ParameterError:
    return ParameterError(problem(
        f"model {getattr(model, 'name', model)!r}", found=found,
        expected="a TCN built by fxlab.models.build_model('tcn', ...) (layers input_proj, "
                 "filter_i, gate_i, skip_i, res_i, head)",
        fix="pass the Keras model of a trained or freshly built 'tcn' (TrainedModel.model)"))


def tcn_weights(keras_model) -> TcnWeights:
    """Read the weights of a TCN built by ``fxlab.models.build_model('tcn', ...)``.

    The layers are found by name; this is the contract with :func:`fxlab.models._build_tcn`:

    - ``input_proj``: ``Conv1D(C, 1)``, kernel ``[1, 1, C]``, bias ``[C]``.
    - ``filter_i``, ``gate_i`` for ``i = 0 .. L-1`` (numbered across stacks): causal
      ``Conv1D(C, K, dilation_rate=d_i)``, kernel ``[K, C, C]``, bias ``[C]``; activations tanh and
      sigmoid, multiplied (``gated_i``).
    - ``skip_i``: ``Conv1D(C, 1)`` of the gated output, kernel ``[1, C, C]``, bias ``[C]``; the skips
      are summed (``skip_sum``).
    - ``res_i``: ``Conv1D(C, 1)`` of the gated output added to the layer's input to give the next
      layer's input; the last layer's may be absent (it feeds nothing).
    - ``skip_tanh`` (optional): a tanh ``Activation`` on the skip sum.
    - ``head``: ``Dense(1)``, kernel ``[C, 1]``, bias ``[1]``; the model's output is
      ``head(...) + x`` (``skip``).

    Parameters
    ----------
    keras_model : keras.Model
        The TCN (``TrainedModel.model`` of a trained one).

    Returns
    -------
    TcnWeights

    Raises
    ------
    fxlab.errors.ParameterError
        If a layer of the contract is missing or has another shape.
    """
    names = {layer.name: layer for layer in keras_model.layers}
    for need in ("input_proj", "filter_0", "gate_0", "skip_0", "head"):
        if need not in names:
            raise _bad_model(keras_model, f"no layer named {need!r}")
    n = sum(1 for name in names if name.startswith("filter_"))
    wi, bi = names["input_proj"].get_weights()
    c = int(wi.shape[-1])
    k = int(names["filter_0"].get_weights()[0].shape[0])
    conv_w = np.zeros((n, k, c, 2 * c), np.float32)
    conv_b = np.zeros((n, 2 * c), np.float32)
    skip_w = np.zeros((n, c, c), np.float32)
    skip_b = np.zeros(c, np.float32)
    res_w = np.zeros((n, c, c), np.float32)
    res_b = np.zeros((n, c), np.float32)
    dilations = np.zeros(n, np.int64)
    for i in range(n):
        try:
            f, g, s = names[f"filter_{i}"], names[f"gate_{i}"], names[f"skip_{i}"]
        except KeyError as e:
            raise _bad_model(keras_model, f"no layer named {e.args[0]!r}") from None
        (fw, fb), (gw, gb), (sw, sb) = f.get_weights(), g.get_weights(), s.get_weights()
        if fw.shape != (k, c, c) or gw.shape != (k, c, c) or sw.shape != (1, c, c):
            raise _bad_model(keras_model, f"layer {i} kernels of shapes {fw.shape}, {gw.shape}, "
                                          f"{sw.shape} (expected {(k, c, c)} and {(1, c, c)})")
        dilations[i] = int(f.dilation_rate[0])
        conv_w[i, :, :, :c], conv_w[i, :, :, c:] = fw, gw
        conv_b[i, :c], conv_b[i, c:] = fb, gb
        skip_w[i], skip_b = sw[0], skip_b + sb
        if f"res_{i}" in names and i < n - 1:
            rw, rb = names[f"res_{i}"].get_weights()
            res_w[i], res_b[i] = rw[0], rb
        elif i < n - 1:
            raise _bad_model(keras_model, f"no layer named 'res_{i}'")
    hw, hb = names["head"].get_weights()
    if hw.shape != (c, 1):
        raise _bad_model(keras_model, f"a head kernel of shape {hw.shape} (expected {(c, 1)})")

    def f32(a):
        return np.ascontiguousarray(a, np.float32)

    return TcnWeights(
        input_w=f32(wi.reshape(c)), input_b=f32(bi), dilations=dilations, conv_w=f32(conv_w),
        conv_b=f32(conv_b), skip_w=f32(skip_w), skip_b=f32(skip_b), res_w=f32(res_w),
        res_b=f32(res_b), head_w=f32(hw.reshape(c)), head_b=float(hb[0]),
        skip_tanh="skip_tanh" in names,
        receptive_field=int(1 + (k - 1) * int(dilations.sum())))


# ---- numba kernel ----------------------------------------------------------------------------
# Per layer l the ring buffer ring[off[l] : off[l] + span[l]] (rows of C values) holds the layer's
# inputs of the last span[l] = dilation * (K - 1) samples; pos[l] is the row the current sample
# will be written to (= the oldest row). Tap m of the dilated convolution reads the input
# (K - 1 - m) * dilation samples ago: the current vector for the last tap, else a ring row.

_CLAMP = np.float32(7.90531110763549805)


@njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _tanh(x):
    # Eigen's float32 rational approximation of tanh (TensorFlow's CPU kernels; |error| < 3e-7)
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


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
                z[j] = _tanh(acc[j]) * (half * _tanh(half * acc[c + j]) + half)
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
            out += head_w[j] * (_tanh(s[j]) if skip_tanh else s[j])
        y[t] = out + xt


class TcnKernel:
    """Stream a TCN block by block with per-layer ring buffers (batch 1, float32).

    Parameters
    ----------
    weights : TcnWeights
        From :func:`tcn_weights`.

    Examples
    --------
    >>> k = TcnKernel(tcn_weights(model))   # doctest: +SKIP
    >>> y1 = k.process(x[:64]); y2 = k.process(x[64:128])   # doctest: +SKIP
    """

    def __init__(self, weights: TcnWeights):
        if not isinstance(weights, TcnWeights):
            raise ParameterError(problem(
                f"weights={type(weights).__name__}", found="not a TcnWeights",
                expected="the TcnWeights of a TCN", fix="pass tcn_weights(model)"))
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

    @property
    def receptive_field(self) -> int:
        """Input samples one output sample depends on (the current one included)."""
        return self.weights.receptive_field

    def reset(self) -> None:
        """Forget the past: zero every ring buffer (the state of a fresh kernel)."""
        self._ring[:] = 0.0
        self._pos[:] = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process one block, continuing from the previous one.

        Parameters
        ----------
        block : np.ndarray [shape=(n,)]
            Input samples, float (converted to float32), ``n >= 0``.

        Returns
        -------
        np.ndarray [shape=(n,), float32]
            The output samples.

        Raises
        ------
        fxlab.errors.ParameterError
            If ``block`` is not one-dimensional.
        """
        x = np.asarray(block)
        if x.ndim != 1:
            raise ParameterError(problem(
                f"block of shape {x.shape}", found=f"{x.ndim} dimension(s)",
                expected="mono audio of shape (n,)", fix="pass one channel, e.g. block.reshape(-1)"))
        x = np.ascontiguousarray(x, np.float32)
        y = np.empty_like(x)
        w = self.weights
        _tcn_block(x, y, w.input_w, w.input_b, w.dilations, w.conv_w, w.conv_b, w.skip_w,
                   w.skip_b, w.res_w, w.res_b, w.head_w, np.float32(w.head_b), w.skip_tanh,
                   self._ring, self._off, self._pos, self._h, self._acc, self._z, self._s)
        return y


def render(weights: TcnWeights, x: np.ndarray) -> np.ndarray:
    """The TCN's output over a whole signal ``x`` (float32, shape ``(n,)``) from a zero state."""
    return TcnKernel(weights).process(x)
